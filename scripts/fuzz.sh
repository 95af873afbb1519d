#!/usr/bin/env bash
# A long fuzzing run of one target: scripts/fuzz.sh TARGET [SECONDS]   (default 3600 s)
#
# Builds the instrumented harness (fuzz/, `cargo afl`, stable Rust), seeds AFL with
# fuzz/corpus/TARGET/ and runs `afl-fuzz` for SECONDS. Findings land in fuzz/out/TARGET/
# (not committed). Afterwards:
#   - every crash: copy it to fuzz/crashes/TARGET/ (a regression test replays it:
#     tests/fuzz_corpus.rs), fix the bug in its crate with a test;
#   - the queue: `cargo afl cmin` it into fuzz/corpus/TARGET/ if it found new paths (keep the
#     folder small).
# `scripts/fuzz.sh --list` prints the targets. docs/ci.md, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0

target="${1:?usage: scripts/fuzz.sh TARGET [SECONDS] (scripts/fuzz.sh --list)}"
secs="${2:-3600}"

bash .ci/fuzz.sh --build-only
bin=fuzz/target/release/assay-fuzz
if [ "$target" = "--list" ]; then
    "$bin" --list
    exit 0
fi
targets=$("$bin" --list)
grep -qx -- "$target" <<<"$targets" || { echo "unknown target $target; targets:" >&2; echo "$targets" >&2; exit 2; }

out="fuzz/out/$target"
mkdir -p "$out"
# Resume a previous run of this target if there is one ("-i -" continues from its queue).
input="fuzz/corpus/$target"
[ -d "$out/default/queue" ] && input=-
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
# Proof verification is slow: inputs may take up to 5 s (the round bundles, the Halo2 proofs).
cargo afl fuzz -V "$secs" -t 5000 -i "$input" -o "$out" -- "$bin" "$target"
echo "crashes: $(find "$out" -path '*crashes/id*' | wc -l), hangs: $(find "$out" -path '*hangs/id*' | wc -l) (in $out)"
