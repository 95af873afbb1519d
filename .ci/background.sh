#!/usr/bin/env bash
# CI's background queue (docs/ci.md, "Time"): what later steps of .ci/run install and build,
# started by .ci/run at the lowest CPU priority (nice 19) beside the foreground steps, so that
# it runs on the cores they leave idle (downloads, single-threaded compile tails, test runs,
# browser and network waits) instead of after them. Every item is an idempotent script the
# step that needs it would run anyway; the step waits for its item (.ci/bg.sh) and then finds
# it installed or built. An item that fails is only reported: its step runs it again in the
# foreground and fails there, with its own output, if it fails again.
#
#   nice -n 19 bash .ci/background.sh DIR &     (DIR: ITEM.log, ITEM.done or ITEM.failed with
#                                                the item's seconds, queue.ended at the end)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=$1
mkdir -p "$dir"
trap 'touch "$dir/queue.ended"' EXIT
item() { # NAME COMMAND...
    local name=$1 t=$SECONDS
    shift
    if "$@" >"$dir/$name.log" 2>&1; then
        echo "$((SECONDS - t))" >"$dir/$name.done"
    else
        echo "$((SECONDS - t))" >"$dir/$name.failed"
    fi
}
debian() { # what tests/softhsm, tests/slurm and .ci/web-tests.sh install, as they install it
    local plain=()
    command -v softhsm2-util >/dev/null || plain+=(softhsm2)
    command -v slurmctld >/dev/null || plain+=(slurm-wlm)
    command -v munged >/dev/null || plain+=(munge)
    export DEBIAN_FRONTEND=noninteractive
    if [ ${#plain[@]} -gt 0 ] || ! command -v chromium >/dev/null; then apt-get update -qq; fi
    if [ ${#plain[@]} -gt 0 ]; then
        apt-get install -y -qq --no-install-recommends "${plain[@]}"
    fi
    command -v chromium >/dev/null || apt-get install -y -qq chromium
}
npm_ci() ( # .ci/web-tests.sh's npm packages (playwright-core, snarkjs, binaryen's wasm-opt)
    cd web && npm ci --no-audit --no-fund --loglevel=error
)
# In the order the steps need them: the tests step starts with SoftHSM2 and ends with the web
# tests (npm packages, the wasm packages); detect-secrets is the secrets step's and cargo-deny
# the dependencies step's; the fuzz harness is the fuzzing step's, after the tests, and
# schemathesis the API fuzzing step's, the last.
item debian debian
item npm npm_ci
item detect-secrets bash .ci/secrets.sh --install-only
item cargo-deny bash .ci/deny.sh --install-only
item wasm bash wasm-verifier/build.sh
item fuzz-build bash .ci/fuzz.sh --build-only
item schemathesis bash .ci/api-fuzz.sh --install-only
