#!/usr/bin/env bash
# The verifiers "where people are": the WASM package (node tests), the snarkjs interop check
# and the web page in headless Chromium. Installs what it needs, idempotently, on a fresh
# Debian machine with only Rust, gcc, python3 and node:
#   - Debian's chromium (apt), the wasm32-unknown-unknown target, wasm-bindgen 0.2.130
#     (wasm-verifier/bindgen, built from crates.io);
#   - playwright-core, snarkjs and binaryen (wasm-opt) from npm (web/package-lock.json, npm ci).
# Usage: bash .ci/web-tests.sh        (from anywhere; about 6-9 minutes on 2 cores, cold)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
# Under .ci/run, CI's background queue may be installing Chromium and the npm packages and
# building the wasm packages already: wait for it rather than start the same work twice.
# shellcheck source=bg.sh
source "$root/.ci/bg.sh"

step "install: chromium"
bg_wait debian || true
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
chromium --version

step "install: npm packages (playwright-core, snarkjs, binaryen)"
bg_wait npm || true
if [ ! -x web/node_modules/.bin/snarkjs ] || [ ! -d web/node_modules/playwright-core ] || [ ! -x web/node_modules/.bin/wasm-opt ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

step "build: wasm package (installs the target and builds wasm-bindgen if missing)"
# Built by the background queue from this same tree when it says so; else here.
bg_wait wasm || bash wasm-verifier/build.sh

step "fixtures: the Halo2 IPA parameters the page serves (k = 9 for the rounds, 11 for KYC; checked against the pinned hashes)"
# Parameters are deterministic (re-derived, never committed): the test checks each file's
# SHA-256 against assay-verifier's pin before writing it; the page and the node tests then
# load them as a browser would.
# The workspace's test build (scripts/test.sh's, features unified: no rebuild), filtered to the
# one test that writes the files.
ASSAY_WRITE_PARAMS_DIR="$root/web/fixtures/params" ASSAY_WRITE_PARAMS_K=9,11 \
  cargo test -q --workspace --lib --bins --tests write_params_for_the_web -- --nocapture
test -s "$root/web/fixtures/params/halo2-params-k9.bin"
test -s "$root/web/fixtures/params/halo2-params-k11.bin"

step "test: wasm package in node"
node --test wasm-verifier/tests/

step "test: the npm package, packed and installed into an empty folder"
# What an embedder gets: `npm pack` of wasm-verifier/pkg, installed from the tarball into an
# empty folder; a record verified from node through the installed copy (both entries).
npmdir=$(mktemp -d)
trap 'rm -rf "$npmdir"' EXIT
tarball=$(cd "$npmdir" && npm pack --silent "$root/wasm-verifier/pkg")
(cd "$npmdir" && mkdir app && cd app && npm init -y >/dev/null && \
  npm install --no-audit --no-fund --loglevel=error "$npmdir/$tarball" >/dev/null)
cp wasm-verifier/tests/npm/installed-package.mjs "$npmdir/app/"
(cd "$npmdir/app" && ASSAY_FIXTURES="$root/web/fixtures" node --test installed-package.mjs)
echo "npm package: $tarball ($(stat -c %s "$npmdir/$tarball") bytes) installed and verified"

step "test: snarkjs verifies Assay proofs exported by assay-verifier"
out="$root/target/snarkjs-check"
rm -rf "$out" && mkdir -p "$out"
ASSAY_SNARKJS_DIR="$out" cargo test -q --workspace --test snarkjs_export
snarkjs="$root/web/node_modules/.bin/snarkjs"
checked=0
for d in "$out" "$out"/round-*; do
  "$snarkjs" groth16 verify "$d/verification_key.json" "$d/public.json" "$d/proof.json" | tee "$out/verify.log"
  grep -q "OK" "$out/verify.log" || { echo "snarkjs refused the valid proof in $d"; exit 1; }
  checked=$((checked + 1))
done
if "$snarkjs" groth16 verify "$out/verification_key.json" "$out/public_tampered.json" "$out/proof.json" >"$out/tampered.log" 2>&1; then
  echo "snarkjs accepted a tampered public input"; cat "$out/tampered.log"; exit 1
fi
grep -q "Invalid proof" "$out/tampered.log"
echo "snarkjs: $checked exported proofs verified, the tampered one refused"

step "test: the page in headless Chromium"
ASSAY_SCREENSHOTS="$root/target/web-screenshots" node --test web/tests/
echo "screenshots: $root/target/web-screenshots/"
