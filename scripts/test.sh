#!/usr/bin/env bash
# The test command of the README: every test of the workspace, then the verifiers "where people
# are" (WASM package in node, snarkjs interop, the web page in headless Chromium), which
# .ci/web-tests.sh installs on a fresh machine (Debian chromium, npm packages, wasm-bindgen-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --lib --bins --tests "$@"
# The STARK backend (issue 13) is behind the circuits feature `stark`, off by default.
cargo test -p assay-circuits --features stark --lib "$@" stark
# A 4-shard round under a real one-node Slurm cluster (installs slurm-wlm and munge when missing).
bash tests/slurm/run.sh
bash .ci/web-tests.sh
