#!/usr/bin/env bash
# Builds the WebAssembly package of Assay's verifiers.
#
#   wasm-verifier/build.sh            # -> wasm-verifier/pkg/ (ES module + .wasm + .d.ts +
#                                     #    package.json), copied to web/pkg/ for the page
#
# Installs what is missing, idempotently: the wasm32-unknown-unknown target and
# wasm-bindgen-cli pinned to the crate's wasm-bindgen (0.2.130; installed without --locked,
# whose lockfile names a crate version the registry here lacks). No wasm-pack: it downloads
# binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
WB_VERSION=0.2.130

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if ! command -v wasm-bindgen >/dev/null 2>&1 || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WB_VERSION" ]; then
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# Size matters on the web: LTO and one codegen unit, set for this build only.
cd "$root"
CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
  cargo build -p assay-wasm-verifier --release --target wasm32-unknown-unknown
wasm="${CARGO_TARGET_DIR:-$root/target}/wasm32-unknown-unknown/release/assay_wasm_verifier.wasm"

rm -rf "$here/pkg"
wasm-bindgen --target web --out-dir "$here/pkg" --out-name assay_wasm_verifier "$wasm"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
cat > "$here/pkg/package.json" <<JSON
{
  "name": "@assay/wasm-verifier",
  "version": "$version",
  "description": "Assay's verifiers in WebAssembly: a customer's inclusion check and a relying party's KYC check, returning {valid, reason, ms, checks}.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "assay_wasm_verifier.js",
  "module": "assay_wasm_verifier.js",
  "types": "assay_wasm_verifier.d.ts",
  "exports": {
    ".": { "types": "./assay_wasm_verifier.d.ts", "default": "./assay_wasm_verifier.js" },
    "./assay_wasm_verifier_bg.wasm": "./assay_wasm_verifier_bg.wasm"
  },
  "files": ["assay_wasm_verifier.js", "assay_wasm_verifier.d.ts", "assay_wasm_verifier_bg.wasm", "assay_wasm_verifier_bg.wasm.d.ts", "README.md"],
  "sideEffects": false
}
JSON
cp "$here/README.md" "$here/pkg/README.md"
rm -rf "$root/web/pkg" && cp -r "$here/pkg" "$root/web/pkg"
size=$(stat -c %s "$here/pkg/assay_wasm_verifier_bg.wasm")
gz=$(gzip -9 -c "$here/pkg/assay_wasm_verifier_bg.wasm" | wc -c)
echo "built $here/pkg: assay_wasm_verifier_bg.wasm $size bytes ($gz gzipped)"
