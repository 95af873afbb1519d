#!/usr/bin/env bash
# Checks too slow for CI's test command, run before a release: the Halo2 verifying-key pins of
# the throughput layout (parameters of k = 17), and every other ignored test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --release --test halo2_vk_pins -- --include-ignored
