#!/usr/bin/env bash
# Fuzzing smoke step (docs/ci.md, "Fuzzing"): installs cargo-afl (which builds AFL++), builds
# the one instrumented harness fuzz/ (every target in one binary, chosen by argv), then runs
# afl-fuzz for a few seconds per target from its committed corpus. Fails on any crash, printing
# how to reproduce it. The corpus and the crash files are also replayed on stable without AFL
# by the workspace test tests/fuzz_corpus.rs. Long runs: scripts/fuzz.sh TARGET [SECONDS].
#
#   bash .ci/fuzz.sh                 every target, ASSAY_FUZZ_SECS seconds each (default 3)
#   bash .ci/fuzz.sh csv groth16     those targets only
#   bash .ci/fuzz.sh --build-only    install and build, no run (scripts/fuzz.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
# The harness's own workspace, built as the background queue of .ci/run builds it (without the
# clippy-driver wrapper that .ci/run sets for the host's build of Assay's workspace).
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
AFL_VERSION=0.18.2
secs="${ASSAY_FUZZ_SECS:-3}"
start=$SECONDS

# 1. cargo-afl, pinned (its build compiles AFL++ from the crate's bundled sources).
if ! cargo afl --version 2>/dev/null | grep -q "$AFL_VERSION"; then
    t=$SECONDS
    cargo install cargo-afl --version "=$AFL_VERSION" --locked --quiet
    echo "fuzz: installed cargo-afl $AFL_VERSION in $((SECONDS - t)) s"
fi
# The AFL++ runtime for this rustc (built by the install; built here if the toolchain moved).
cargo afl config --build >/dev/null 2>&1 || true

# 2. The instrumented harness (its own workspace and lock file, release profile at opt-level 1).
t=$SECONDS
(cd fuzz && cargo afl build --release --locked --quiet)
echo "fuzz: instrumented build in $((SECONDS - t)) s"
bin=fuzz/target/release/assay-fuzz
[ "${1:-}" = "--build-only" ] && exit 0

# 3. A few seconds of afl-fuzz per target.
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <("$bin" --list); fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    AFL_NO_UI=1 AFL_FAST_CAL=1 AFL_QUIET=1
# Targets run side by side, one afl-fuzz per core (afl-fuzz uses one core; ASSAY_FUZZ_JOBS
# changes it), each writing its verdict to $out/TARGET.result, printed in order at the end.
one() { # TARGET
    local target=$1 t=$SECONDS
    if ! cargo afl fuzz -V "$secs" -t 5000 -i "fuzz/corpus/$target" -o "$out/$target" \
        -- "$bin" "$target" >"$out/$target.log" 2>&1; then
        { echo "fuzz: $target: afl-fuzz failed (a seed crashes or hangs?):"
          tail -20 "$out/$target.log"; } >"$out/$target.result"
        echo 1 >"$out/$target.rc"
        return 0
    fi
    local stats="$out/$target/default/fuzzer_stats" execs crashes
    execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats" 2>/dev/null || echo "?")
    crashes=$(find "$out/$target" -path '*/crashes/id*' | wc -l)
    echo "fuzz: $target: $execs runs in $((SECONDS - t)) s, $crashes crashes" >"$out/$target.result"
    echo 0 >"$out/$target.rc"
    if [ "$crashes" -gt 0 ]; then
        echo 1 >"$out/$target.rc"
        mkdir -p "fuzz/out/ci-crashes/$target"
        cp "$out/$target"/default/crashes/id* "fuzz/out/ci-crashes/$target/"
        { echo "fuzz: $target crashed; inputs kept in fuzz/out/ci-crashes/$target/; reproduce:"
          echo "      $bin $target < FILE   (then add FILE to fuzz/crashes/$target/ and fix)"; } \
            >>"$out/$target.result"
    fi
    return 0
}
jobs_max="${ASSAY_FUZZ_JOBS:-$(nproc)}"
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
    one "$target" &
done
wait
failed=0
for target in "${targets[@]}"; do
    cat "$out/$target.result" 2>/dev/null || echo "fuzz: $target: no verdict (the run did not finish)"
    [ "$(cat "$out/$target.rc" 2>/dev/null || echo 1)" = 0 ] || failed=1
done
echo "fuzz: the step took $((SECONDS - start)) s wall; CPU user and system, of this script then of its children:"
times
exit $failed
