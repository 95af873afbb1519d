#!/usr/bin/env bash
# Reproducible figures for the solvency closing note, measured in one run on this machine:
#   1. constraints per user, batch prove time at B=1024, users/s/core, verify time;
#   2. a full round of N users x 4 assets through the CLI (wall time, peak memory, sizes).
# Usage: scripts/bench.sh [N_USERS=65536] [B=1024]. Criterion benches: cargo bench -p assay-benches.
# Both backends side by side (issue 5's sizes): scripts/figures.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-65536}
B=${2:-1024}
cargo build --release -q -p assay-benches --bin side_by_side
cargo build --release -q
./target/release/side_by_side --batch "$B" --assets 1,4 --only batch --backend groth16 --no-estimates

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$N" "$work/balances.csv" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
with open(path, "w") as f:
    f.write("user_id,BTC,ETH,USDT,USDC\n")
    for i in range(n):
        f.write(f"u{i},{rng.randint(0,10**8)/10**8:.8f},{rng.randint(0,10**12)/10**9:.9f},"
                f"{rng.randint(0,10**9)/10**6:.6f},{rng.randint(0,10**9)/10**6:.6f}\n")
PY
cat > "$work/round.json" <<JSON
{"version":1,"round_id":"bench","balance_bits":64,"batch_size":$B,"fan_in":64,
 "assets":[{"symbol":"BTC","decimals":8,"reserves":"100000000"},{"symbol":"ETH","decimals":9,"reserves":"100000000"},
           {"symbol":"USDT","decimals":6,"reserves":"100000000000"},{"symbol":"USDC","decimals":6,"reserves":"100000000000"}],
 "previous_round":null}
JSON
export ASSAY_PASSPHRASE=bench
# The setup party's step (not timed as proving): keys and the signed manifest.
./target/release/assay solvency setup --config "$work/round.json" --out "$work/keys" > /dev/null
/usr/bin/time -v ./target/release/assay solvency prove --balances "$work/balances.csv" \
  --config "$work/round.json" --keys "$work/keys" --out "$work/out" --json 2> "$work/time.txt"
grep -E "Elapsed|Maximum resident" "$work/time.txt"
echo "bundle size: $(stat -c %s "$work/out/round.json") bytes"
rec=$(ls "$work/out/inclusion" | head -1)
echo "inclusion record size: $(stat -c %s "$work/out/inclusion/$rec") bytes"
/usr/bin/time -f "verify round: %e s" ./target/release/assay solvency verify "$work/out" \
  --trusted-keys "$work/keys/manifest.json" > /dev/null
/usr/bin/time -f "inclusion check (process): %e s" ./target/release/assay solvency inclusion-verify \
  "$work/out/inclusion/$rec" --round "$work/out" --trusted-keys "$work/keys/manifest.json"
