#!/usr/bin/env bash
# Loopback load test of `assay serve` (issue 14's goal: >= 400 inclusion verifications/s at 64
# connections, p99 <= 50 ms, no errors). Bounded in time: DURATION seconds of load after one
# warm-up request. Measure with nothing else running on the machine.
# Usage: scripts/load.sh [CONNECTIONS=64] [DURATION=15]
# Needs wrk (Debian's package `wrk`; installed if missing and apt-get is available).
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-64}
D=${2:-15}
if ! command -v wrk >/dev/null; then
  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
fi
cargo build --release -q --bin assay
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
fx=web/fixtures/solvency
# One request body per customer of the web fixture's round (5 customers in 3 of its 4 batches):
# wrk sends them in turn, so the server answers different records on different paths.
python3 - "$fx" "$work" <<'PY'
import json, sys
fx, out = sys.argv[1], sys.argv[2]
rnd = json.load(open(f"{fx}/round.json"))
for i, who in enumerate(["alice", "bob", "carol", "dave", "erin"]):
    body = {"record": json.load(open(f"{fx}/record-{who}.json")), "round": rnd}
    open(f"{out}/body-{i}.json", "w").write(json.dumps(body))
PY
port=$((20000 + RANDOM % 20000))
# Rate limiting is per client address: loopback is one client, so the limit is raised here.
# Its KYC store in the temporary folder (the load test leaves nothing behind).
./target/release/assay serve --addr "127.0.0.1:$port" --trusted-keys "$fx/manifest.json" \
  --db "$work/server.sqlite" --rate 1000000 --burst 1000000 > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
url="http://127.0.0.1:$port/v1/solvency/inclusion"
first=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'content-type: application/json' \
  --data-binary @"$work/body-0.json" "$url")
echo "first request (prepares the round): HTTP ${first% *}, ${first#* } s"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
for i = 0, 4 do
  local f = io.open("$work/body-" .. i .. ".json", "rb"); bodies[#bodies + 1] = f:read("*a"); f:close()
end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end
local bad = 0
response = function(status, headers, body)
  if status ~= 200 or not body:find('"valid":true', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors %d (non-2xx %d, socket %d)\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
/usr/bin/time -v -o "$work/wrk-time.txt" wrk -t2 -c"$C" -d"${D}s" --latency -s "$work/post.lua" "$url" | tee "$work/wrk.txt"
echo "server: $(grep -c . "$work/serve.log" || true) log lines; peak RSS of the server:"
grep VmHWM "/proc/$pid/status" || true
