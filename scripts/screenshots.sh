#!/usr/bin/env bash
# Screenshots of the customer page (web/) in each verdict state, taken by headless Chromium
# while the browser test drives the page through them (web/tests/browser.test.mjs; every file
# is a full-page PNG):
#   inclusion-valid.png            a valid inclusion record (Groth16 round): yes, what was checked
#   inclusion-invalid.png          a record with a wrong balance: no, with the reason
#   inclusion-foreign-keys.png     a round under another setup's keys: no, naming the key
#   publication-key-changed.png    a valid record whose round is signed by another key than the
#                                  one this page remembered: the warning
#   inclusion-halo2-valid.png      a Halo2 round: yes, no trusted setup
#   inclusion-prefers-halo2.png    one round on Groth16 and Halo2: the page checked Halo2, says why
#   kyc-valid.png / kyc-refused.png                 a Groth16 KYC presentation, valid / tampered
#   kyc-unpublished-epoch.png      a presentation against an epoch the issuer did not publish
#   kyc-halo2-valid.png / kyc-halo2-refused.png     a Halo2 KYC presentation, valid / tampered
#
# Usage: bash scripts/screenshots.sh [OUT_DIR]     (default: /tmp/assay-screenshots)
# Needs what .ci/web-tests.sh prepares: the built package (wasm-verifier/build.sh -> web/pkg),
# web/node_modules (cd web && npm ci), Debian's chromium (or CHROMIUM=path) and the Halo2
# parameter files web/fixtures/params/halo2-params-k{9,11}.bin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-/tmp/assay-screenshots}" && cd "${1:-/tmp/assay-screenshots}" && pwd)
for f in web/pkg/assay_wasm_verifier_bg.wasm web/pkg/assay_wasm_verifier_halo2_bg.wasm \
  web/node_modules/playwright-core/package.json web/fixtures/params/halo2-params-k9.bin \
  web/fixtures/params/halo2-params-k11.bin; do
  [ -e "$root/$f" ] || { echo "missing $f: run .ci/web-tests.sh once (or its build and fixture steps)" >&2; exit 1; }
done
cd "$root"
ASSAY_SCREENSHOTS="$out" node --test web/tests/browser.test.mjs
echo "screenshots in $out:"
ls -1 "$out"
