#!/usr/bin/env bash
# A round proven in shards under a real Slurm cluster against the same round in one process,
# on this machine: both walls, each under the same default budget per process, then both
# bundles verified (and one record of each). Issue 12's "4-shard round under Slurm here".
#
#   scripts/slurm-scale.sh [-b groth16|stark] [-B BATCH] [-f FAN_IN] [-s SHARDS] [-c CPUS]
#                          [-u] [-x ASSAY] [-w WORKDIR] E
#   (-u: E is a number of users, not an exponent of 2)
#   scripts/slurm-scale.sh -B 256 13             2^13 users, Groth16, 4 shards (minutes)
#   scripts/slurm-scale.sh -b stark -B 4096 -f 256 -x target/x86-64-v3/release/assay 16
#
# Each array task asks Slurm for CPUS cores (default 1) and proves its shard with one job;
# the one-process round uses the default budget (on 2 cores: 2 jobs of 1 thread), so both
# keep every core busy. The Slurm wall runs from submit.sh to the merge job's end (the
# scheduler's latency, the shards, the merge's copying, aggregation and records). Starts its
# own one-node cluster (tests/slurm/cluster.sh; installs slurm-wlm and munge when missing,
# as root). Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/scale-inputs.sh
. tests/slurm/cluster.sh
BACKEND=groth16 BATCH=256 FAN_IN=16 SHARDS=4 CPUS=1 USERS=0
ASSAY=${CARGO_TARGET_DIR:-$PWD/target}/release/assay
WORK=${TMPDIR:-/tmp}/assay-slurm-scale
while getopts "b:B:f:s:c:ux:w:" o; do
    case $o in
        b) BACKEND=$OPTARG ;; B) BATCH=$OPTARG ;; f) FAN_IN=$OPTARG ;; s) SHARDS=$OPTARG ;;
        c) CPUS=$OPTARG ;; u) USERS=1 ;; x) ASSAY=$OPTARG ;; w) WORK=$OPTARG ;;
        *) sed -n 2,10p "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || { sed -n 2,10p "$0"; exit 2; }
case $BACKEND in groth16 | stark) ;; *) echo "backend: groth16 or stark" >&2; exit 2 ;; esac
[ -x "$ASSAY" ] || { echo "no assay binary at $ASSAY: cargo build --release --bin assay" >&2; exit 2; }
ASSAY=$(readlink -f "$ASSAY")
if [ "$USERS" = 1 ]; then n=$1; else n=$((1 << $1)); fi
TIMEOUT=${SLURM_SCALE_TIMEOUT:-86400}

slurm_install
mkdir -p "$WORK"
WORK=$(readlink -f "$WORK")
d=$WORK/$n-$BACKEND-B$BATCH
rm -rf "$d"
mkdir -p "$d"
chmod 755 "$d"
scale_balances "$n" "$d/balances.csv"
scale_config "$n" "$BATCH" "$FAN_IN" "$d/round.json"
export ASSAY_PASSPHRASE=${ASSAY_PASSPHRASE:-scale test passphrase}
keys=()
pin=()
if [ "$BACKEND" = groth16 ]; then
    # The setup party's step, once per batch size (its time is in neither figure).
    [ -f "$WORK/keys-B$BATCH/manifest.json" ] ||
        "$ASSAY" solvency setup --config "$d/round.json" --out "$WORK/keys-B$BATCH" >/dev/null
    keys=(--keys "$WORK/keys-B$BATCH")
    pin=(--trusted-keys "$WORK/keys-B$BATCH/manifest.json")
fi

echo "== one process: $n users x 4 assets, $BACKEND, batch $BATCH, default budget"
/usr/bin/time -v -o "$d/one-time.txt" "$ASSAY" solvency prove --balances "$d/balances.csv" \
    --config "$d/round.json" --out "$d/one" --backend "$BACKEND" "${keys[@]}" --json > "$d/one.json"
one_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$d/one-time.txt")
one_cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$d/one-time.txt")
one_rss=$(awk -F': ' '/Maximum resident set size/ { print int($2 / 1024) }' "$d/one-time.txt")
"$ASSAY" solvency verify "$d/one" "${pin[@]}" > /dev/null

echo "== Slurm: $SHARDS shards ($CPUS core(s) each, one job each), then the merge"
C=$d/cluster
cleanup() { slurm_stop "$C"; }
trap 'rc=$?; cleanup; exit $rc' EXIT
slurm_start "$C"
"$ASSAY" solvency plan --scheduler slurm --shards "$SHARDS" --balances "$d/balances.csv" \
    --config "$d/round.json" --out "$d/plan" --backend "$BACKEND" "${keys[@]}" \
    --cpus "$CPUS" --jobs 1 --assay "$ASSAY" > /dev/null
start=$(date +%s.%N)
ids=$("$d/plan/slurm/submit.sh")
merge=$(echo "$ids" | awk '/^merge/ {print $2}')
while :; do
    s=$(slurm_job_state "$merge")
    case "$s" in
        COMPLETED) break ;;
        FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL)
            tail -n 20 "$d"/plan/logs/*.out >&2 || true
            echo "merge job $s" >&2
            exit 1 ;;
    esac
    if (( $(date +%s) - ${start%.*} > TIMEOUT )); then
        echo "not done after ${TIMEOUT}s" >&2
        exit 1
    fi
    sleep 1
done
slurm_wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
"$ASSAY" solvency verify "$d/plan/round" "${pin[@]}" > /dev/null
rec=$(find "$d/plan/round/inclusion" -name '*.json' -print -quit)
"$ASSAY" solvency inclusion-verify "$rec" --round "$d/plan/round" "${pin[@]}" > /dev/null
printf '%-10s %-8s %6s %7s %10s %10s %10s\n' users backend batch shards wall_s cpu_s peak_MiB
printf '%-10s %-8s %6s %7s %10s %10s %10s\n' "$n" "$BACKEND" "$BATCH" 1 "$one_wall" "$one_cpu" "$one_rss"
printf '%-10s %-8s %6s %7s %10s %10s %10s\n' "$n" "$BACKEND" "$BATCH" "$SHARDS" "$slurm_wall" - -
echo "both rounds verified (and one record of the Slurm round); Slurm/one-process wall: $(awk -v a="$slurm_wall" -v b="$one_wall" 'BEGIN { printf "%.2f", a / b }')"
