#!/usr/bin/env bash
# Groth16, Halo2 and the STARK side by side, measured in one run on this machine, at the sizes
# of issue 5: solvency batch B=1024 with K=4 and K=50, top and inner aggregation (fan-in 16,
# K=4), KYC. Prints a markdown table and writes target/figures/side_by_side.json (+ .log).
# On a CPU with AVX2 the binary is the x86-64-v3 build (.cargo/x86-64-v3.toml, in
# target/x86-64-v3; the STARK is about 7 times slower without it); FIGURES_GENERIC=1 builds the
# generic one. `--backend groth16,halo2` (or `both`) leaves the STARK out.
#
# Usage: scripts/figures.sh [side_by_side options...], e.g.
#   scripts/figures.sh                          # everything (hours: K=50 is the long case)
#   scripts/figures.sh --only batch-k4,agg,kyc  # the quick cases
#   scripts/figures.sh --only batch-k50         # the long case alone (many GB, see docs/halo2.md)
# Options given here override the defaults (--help lists them). Halo2 parameters are cached in
# target/halo2-params, so only the first run pays Params::new.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FIGURES_GENERIC:-}" ] && grep -qw avx2 /proc/cpuinfo; then
  cargo --config .cargo/x86-64-v3.toml build --release -q -p assay-benches --bin side_by_side \
    --target-dir target/x86-64-v3
  bin=target/x86-64-v3/release/side_by_side
else
  cargo build --release -q -p assay-benches --bin side_by_side
  bin=target/release/side_by_side
fi
mkdir -p target/figures
tag=${FIGURES_TAG:-side_by_side}
"$bin" --batch 1024 --assets 4,50 --fan-in 16 --agg-assets 4 --kyc \
  --layout auto --params-dir target/halo2-params --json "target/figures/$tag.json" "$@" \
  2>&1 | tee "target/figures/$tag.log"
