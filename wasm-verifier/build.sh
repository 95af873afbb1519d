#!/usr/bin/env bash
# Builds the WebAssembly packages of Assay's verifiers, as one npm package with three entry
# points:
#
#   wasm-verifier/build.sh            # -> wasm-verifier/pkg/ (ES modules + .wasm + .d.ts +
#                                     #    package.json + README.md: the npm package
#                                     #    @assay/wasm-verifier), its packed content in web/pkg/
#
#   assay_wasm_verifier.js        + _bg.wasm   Groth16 rounds and KYC presentations (the crate
#                                              without features): what every page loads.
#   assay_wasm_verifier_halo2.js  + _bg.wasm   Groth16 and Halo2 (feature `halo2`): about ten
#                                              times larger, loaded only for a Halo2 round.
#   assay_wasm_verifier_stark.js  + _bg.wasm   Groth16 and STARK rounds (feature `stark`:
#                                              Plonky3's verifier), loaded only for a STARK
#                                              round.
#
# Installs what is missing, idempotently: the wasm32-unknown-unknown target, and builds
# wasm-verifier/bindgen, wasm-bindgen's own library (wasm-bindgen-cli-support) pinned to the
# crate's wasm-bindgen (0.2.130), as `wasm-bindgen --target web` runs it: the command's
# package would also compile its test runner's HTTP server and client. No wasm-pack: it
# downloads binaries. Binaryen's wasm-opt (npm `binaryen`, pinned in web/package.json) shrinks each
# .wasm further when web/node_modules has it (`cd web && npm ci`); without it the packages are
# built unoptimised by it, and the script says so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# The wasm-bindgen the crate pins (wasm-verifier/Cargo.toml); the bindgen tool must pin the same.
WB_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$here/Cargo.toml")
# Installed and built as the background queue of .ci/run does it: without clippy as the
# workspace's compiler, which .ci/run sets for the host's build (here it would rebuild the
# crates, and lint the bindgen tool's dependencies as it builds them).
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
# wasm-bindgen's step, by the library behind the command at the same pinned version
# (wasm-verifier/bindgen: its own lock file; cargo builds it once, then finds it fresh).
[ -n "$WB_VERSION" ] || { echo "wasm-verifier/Cargo.toml pins no exact wasm-bindgen (wasm-bindgen = \"=X.Y.Z\")" >&2; exit 1; }
if ! grep -qx "wasm-bindgen-cli-support = \"=$WB_VERSION\"" "$here/bindgen/Cargo.toml"; then
  echo "wasm-verifier/bindgen does not pin wasm-bindgen-cli-support $WB_VERSION (the crate's wasm-bindgen)" >&2
  exit 1
fi
tool_dir="${CARGO_TARGET_DIR:-$root/target}/wasm-bindgen-tool"
bindgen="$tool_dir/release/assay-wasm-bindgen"
CARGO_INCREMENTAL=0 cargo build --release --locked --quiet --manifest-path "$here/bindgen/Cargo.toml" \
  --target-dir "$tool_dir"

# Size matters on the web: LTO, one codegen unit, optimised for size (opt-level "s": "z" is a
# few per cent smaller and slower; see README.md), set for this build only. Panics already
# abort on wasm32-unknown-unknown.
cd "$root"
export CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${ASSAY_WASM_OPT_LEVEL:-s}"
export CARGO_PROFILE_RELEASE_PANIC=abort
wasm="${CARGO_TARGET_DIR:-$root/target}/wasm32-unknown-unknown/release/assay_wasm_verifier.wasm"
wasm_opt="$root/web/node_modules/.bin/wasm-opt"

rm -rf "$here/pkg"
build() { # OUT-NAME [CARGO ARGS...]
  local name=$1
  shift
  cargo build -p assay-wasm-verifier --release --target wasm32-unknown-unknown "$@"
  "$bindgen" "$wasm" "$here/pkg" "$name"
  local out="$here/pkg/${name}_bg.wasm"
  if [ -x "$wasm_opt" ]; then
    # -Oz, keeping the features rustc's wasm32 target enables by default.
    "$wasm_opt" -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
      --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
      "$out" -o "$out.opt"
    mv "$out.opt" "$out"
  else
    echo "wasm-opt not found ($wasm_opt): $name left as wasm-bindgen wrote it (cd web && npm ci)" >&2
  fi
}
build assay_wasm_verifier
build assay_wasm_verifier_halo2 --features halo2
build assay_wasm_verifier_stark --features stark

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
cat > "$here/pkg/package.json" <<JSON
{
  "name": "@assay/wasm-verifier",
  "version": "$version",
  "description": "Assay's verifiers in WebAssembly: a customer's inclusion check and a relying party's KYC check, returning {valid, reason, ms, checks}. Groth16 in the main entry; Groth16 and Halo2 in ./halo2; Groth16 and STARK rounds in ./stark.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "assay_wasm_verifier.js",
  "module": "assay_wasm_verifier.js",
  "types": "assay_wasm_verifier.d.ts",
  "exports": {
    ".": { "types": "./assay_wasm_verifier.d.ts", "default": "./assay_wasm_verifier.js" },
    "./halo2": { "types": "./assay_wasm_verifier_halo2.d.ts", "default": "./assay_wasm_verifier_halo2.js" },
    "./stark": { "types": "./assay_wasm_verifier_stark.d.ts", "default": "./assay_wasm_verifier_stark.js" },
    "./package.json": "./package.json",
    "./assay_wasm_verifier_bg.wasm": "./assay_wasm_verifier_bg.wasm",
    "./assay_wasm_verifier_halo2_bg.wasm": "./assay_wasm_verifier_halo2_bg.wasm",
    "./assay_wasm_verifier_stark_bg.wasm": "./assay_wasm_verifier_stark_bg.wasm"
  },
  "files": [
    "assay_wasm_verifier.js", "assay_wasm_verifier.d.ts", "assay_wasm_verifier_bg.wasm", "assay_wasm_verifier_bg.wasm.d.ts",
    "assay_wasm_verifier_halo2.js", "assay_wasm_verifier_halo2.d.ts", "assay_wasm_verifier_halo2_bg.wasm", "assay_wasm_verifier_halo2_bg.wasm.d.ts",
    "assay_wasm_verifier_stark.js", "assay_wasm_verifier_stark.d.ts", "assay_wasm_verifier_stark_bg.wasm", "assay_wasm_verifier_stark_bg.wasm.d.ts",
    "README.md"
  ],
  "sideEffects": false
}
JSON
cp "$here/README.md" "$here/pkg/README.md"
# The page loads the npm package itself: web/pkg/ is the packed tarball's content (what
# `npm pack` ships under package.json's "files"), or a copy of pkg/ without npm.
rm -rf "$root/web/pkg"
if command -v npm >/dev/null 2>&1; then
  packdir=$(mktemp -d)
  tgz=$(cd "$packdir" && npm pack --silent "$here/pkg")
  mkdir -p "$root/web/pkg"
  tar -xzf "$packdir/$tgz" -C "$root/web/pkg" --strip-components=1
  rm -rf "$packdir"
else
  cp -r "$here/pkg" "$root/web/pkg"
fi
for name in assay_wasm_verifier assay_wasm_verifier_halo2 assay_wasm_verifier_stark; do
  f="$here/pkg/${name}_bg.wasm"
  echo "built $f: $(stat -c %s "$f") bytes ($(gzip -9 -c "$f" | wc -c) gzipped)"
done
