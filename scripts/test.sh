#!/usr/bin/env bash
# The test command of the README: every test of the workspace, then the verifiers "where people
# are" (WASM package in node, snarkjs interop, the web page in headless Chromium), which
# .ci/web-tests.sh installs on a fresh machine (Debian chromium, npm packages, wasm-bindgen).
set -euo pipefail
cd "$(dirname "$0")/.."
# SoftHSM2 (a PKCS#11 token) for custody/tests/pkcs11.rs: installed when missing, and required
# (the tests fail rather than skip without it).
echo "-- test.sh: SoftHSM2 install ($(date -u +%H:%M:%S))"
bash tests/softhsm/install.sh >/dev/null
export ASSAY_REQUIRE_SOFTHSM=1
# The STARK backend's tests (issue 13) are among them: the root crate turns on the circuits'
# feature `stark`, so the workspace's build of assay-circuits has it.
echo "-- test.sh: the workspace's tests ($(date -u +%H:%M:%S))"
cargo test --workspace --lib --bins --tests "$@"
# `assay keys hsm ...` and a token share in `assay keys sign`, against a real SoftHSM2 token.
echo "-- test.sh: SoftHSM2 CLI tests ($(date -u +%H:%M:%S))"
bash tests/softhsm/run.sh
# A 4-shard round under a real one-node Slurm cluster (installs slurm-wlm and munge when missing).
echo "-- test.sh: Slurm ($(date -u +%H:%M:%S))"
bash tests/slurm/run.sh
echo "-- test.sh: web ($(date -u +%H:%M:%S))"
bash .ci/web-tests.sh
