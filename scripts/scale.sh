#!/usr/bin/env bash
# Rounds at scale: for each size 2^E users × 4 assets, generate the CSV, run
# `assay solvency prove` under /usr/bin/time -v with the default budget, and print wall time,
# CPU time, peak RSS, user-assets per second per core, bundle and record sizes.
#
#   scripts/scale.sh [-b groth16|halo2|stark] [-l LAYOUT] [-B BATCH] [-f FAN_IN] [-u] [-x ASSAY] [-w WORKDIR] [-- PROVE_FLAGS] E...
#   (-u: the sizes are numbers of users, not exponents of 2)
#   scripts/scale.sh 13 16 20                  the issue's rounds (release binary; hours for 2^20)
#   scripts/scale.sh -B 16 -b halo2 -l compact 6   a tiny run that checks the script
#   scripts/scale.sh -b stark -B 4096 -f 256 -u -x target/x86-64-v3/release/assay 1000000
#                                              the STARK's million-user round (x86-64-v3 build:
#                                              cargo --config .cargo/x86-64-v3.toml build
#                                              --release --bin assay --target-dir target/x86-64-v3)
#
# After the prove: the auditor's `solvency verify` and one customer's `inclusion-verify`, each
# timed (wall, CPU, peak RSS), and the sizes a customer downloads.
#
# Run on an otherwise idle machine: the figures are the machine's, not the code's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/scale-inputs.sh
BACKEND=groth16 LAYOUT=balanced BATCH=1024 FAN_IN=16 USERS=0
ASSAY=${CARGO_TARGET_DIR:-$PWD/target}/release/assay
WORK=${TMPDIR:-/tmp}/assay-scale
while getopts "b:l:B:f:ux:w:" o; do
    case $o in
        b) BACKEND=$OPTARG ;; l) LAYOUT=$OPTARG ;; B) BATCH=$OPTARG ;;
        f) FAN_IN=$OPTARG ;; u) USERS=1 ;; x) ASSAY=$OPTARG ;; w) WORK=$OPTARG ;;
        *) sed -n 2,10p "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
EXTRA=()
SIZES=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; EXTRA=("$@"); break; fi
    SIZES+=("$1"); shift
done
[ ${#SIZES[@]} -gt 0 ] || SIZES=(13 16 20)
[ -x "$ASSAY" ] || { echo "no assay binary at $ASSAY: cargo build --release --workspace --bin assay" >&2; exit 2; }
CORES=$(nproc)
mkdir -p "$WORK"
export ASSAY_PASSPHRASE=${ASSAY_PASSPHRASE:-scale test passphrase}
printf '%-8s %-8s %6s %10s %10s %10s %12s %12s %12s\n' users backend batch wall_s cpu_s peak_MiB "ua/s/core" bundle_B record_B
for e in "${SIZES[@]}"; do
    if [ "$USERS" = 1 ]; then n=$e; label=$e; else n=$((1 << e)); label="2^$e"; fi
    d=$WORK/$n-$BACKEND-B$BATCH
    rm -rf "$d"; mkdir -p "$d"
    scale_balances "$n" "$d/balances.csv"
    scale_config "$n" "$BATCH" "$FAN_IN" "$d/round.json"
    flags=(--backend "$BACKEND")
    [ "$BACKEND" = halo2 ] && flags+=(--layout "$LAYOUT" --params-dir "$WORK/params")
    if [ "$BACKEND" = groth16 ]; then
        flags+=(--keys "$WORK/keys-B$BATCH")
        # The setup party's step, once per batch size (its time is not the round's).
        [ -f "$WORK/keys-B$BATCH/manifest.json" ] ||
            "$ASSAY" solvency setup --config "$d/round.json" --out "$WORK/keys-B$BATCH" >/dev/null
    fi
    /usr/bin/time -v -o "$d/time.txt" "$ASSAY" solvency prove --balances "$d/balances.csv" \
        --config "$d/round.json" --out "$d/out" "${flags[@]}" "${EXTRA[@]}" --json > "$d/summary.json"
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
        for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$d/time.txt")
    cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$d/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ { print int($2 / 1024) }' "$d/time.txt")
    rate=$(awk -v n="$n" -v w="$wall" -v c="$CORES" 'BEGIN { printf "%.1f", n * 4 / w / c }')
    bundle=$(stat -c %s "$d/out/round.json")
    # -quit, not `| head`: under pipefail, find killed by SIGPIPE would stop the script.
    rec=$(stat -c %s "$(find "$d/out/inclusion" -name '*.json' -print -quit)")
    printf '%-8s %-8s %6s %10s %10s %10s %12s %12s %12s\n' "$label" "$BACKEND" "$BATCH" "$wall" "$cpu" "$rss" "$rate" "$bundle" "$rec"
    echo "         $(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["budget"]; print("budget: %d job(s) x %d thread(s), %.1f GiB, one proof %.2f GiB" % (b["jobs"], b["threads_per_job"], b["memory"]/2**30, b["per_proof"]/2**30))' "$d/summary.json" 2>/dev/null || true)"
    case $BACKEND in
        groth16) pin=(--trusted-keys "$WORK/keys-B$BATCH/manifest.json") ;;
        halo2) pin=(--params-dir "$WORK/params") ;;
        *) pin=() ;;
    esac
    timed() { # LABEL FILE CMD...: runs CMD under /usr/bin/time -v, prints wall, CPU, peak RSS
        local what=$1 f=$2; shift 2
        /usr/bin/time -v -o "$f" "$@" > /dev/null || { echo "$n users: $what failed" >&2; exit 1; }
        awk -F': ' -v l="$what" '/Elapsed \(wall clock\)/ { w = $2 } /User time/ { u = $2 }
            /System time/ { s = $2 } /Maximum resident/ { r = int($2 / 1024) }
            END { printf "         %s: wall %s, CPU %.2f s, peak %d MiB\n", l, w, u + s, r }' "$f"
    }
    timed "auditor's verify" "$d/verify-time.txt" "$ASSAY" solvency verify "$d/out" "${pin[@]}"
    recfile=$(find "$d/out/inclusion" -name '*.json' -print -quit)
    timed "one customer's inclusion-verify" "$d/inclusion-time.txt" \
        "$ASSAY" solvency inclusion-verify "$recfile" --round "$d/out" "${pin[@]}"
    if [ "$BACKEND" = stark ]; then
        python3 - "$d/out" "$recfile" <<'PY'
import json, os, sys
out, rec = sys.argv[1], sys.argv[2]
b = json.load(open(os.path.join(out, "round.json")))
r = json.load(open(rec))
per = (b["config"]["batch_size"] - 1)
j = r["leaf_index"] // per
size = lambda h: os.path.getsize(os.path.join(out, "proofs", h + ".bin"))
files = [b["batches"][j]["proof"], b["circuits"]["leaves"][j]]
idx = j
for level in b["aggregations"]:
    idx //= b["config"]["fan_in"]
    files.append(level[idx]["proof"])
total = sum(size(h) for h in files) + os.path.getsize(rec) + os.path.getsize(os.path.join(out, "round.json"))
print(f"         a customer downloads {total:,} B: record {os.path.getsize(rec):,}, round.json "
      f"{os.path.getsize(os.path.join(out, 'round.json')):,}, files " + ", ".join(f"{size(h):,}" for h in files))
PY
    fi
    rm -f "$d/balances.csv"
done
