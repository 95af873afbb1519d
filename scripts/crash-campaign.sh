#!/usr/bin/env bash
# Crash campaigns (issue 15, item 5): SIGKILL `assay solvency prove` and `assay kyc issue` at
# random, seeded moments, resume, and check that the round verifies with no batch proven twice,
# and that every credential is whole or absent with no serial reused. scripts/crash_campaign.py
# says exactly what each trial checks; docs/ci.md has the figures.
#
#   scripts/crash-campaign.sh [--trials N] [--seed S] [--only solvency|kyc] [--work DIR] [--verbose]
#
# Defaults: 20 trials of each, seed 1. Builds target/debug/assay (the test profile's build, as
# the tests use it) unless $ASSAY_BIN names a binary. Exit 0 when every trial passed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${ASSAY_BIN:-}" ]; then
    bin=$ASSAY_BIN
    [ -x "$bin" ] || { echo "error: ASSAY_BIN=$bin is not an executable" >&2; exit 2; }
else
    cargo build --quiet --bin assay || { echo "error: cargo build --bin assay failed" >&2; exit 2; }
    bin=${CARGO_TARGET_DIR:-target}/debug/assay
fi
exec python3 scripts/crash_campaign.py --assay "$bin" "$@"
