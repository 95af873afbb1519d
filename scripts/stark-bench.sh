#!/usr/bin/env bash
# Batch-proving throughput of the STARK backend (issue 13), generic x86-64 against x86-64-v3
# (AVX2, .cargo/x86-64-v3.toml), measured in one run: user-assets per CPU-second at K = 4 and
# K = 50, w = 64, with the proof size and verification time, under /usr/bin/time -v (wall, CPU,
# peak RSS). Run it with nothing else on the machine.
#
# Usage: scripts/stark-bench.sh [LOG_HEIGHT=12]    (2^LOG_HEIGHT - 1 users per batch)
set -euo pipefail
cd "$(dirname "$0")/.."
h=${1:-12}
grep -qw avx2 /proc/cpuinfo || { echo "this CPU has no AVX2: only the generic build runs"; v3=0; }
v3=${v3:-1}
example=(-p assay-circuits --features stark-parallel --example stark_batch)
cargo build --release -q "${example[@]}"
[ "$v3" = 1 ] && cargo --config .cargo/x86-64-v3.toml build --release -q "${example[@]}" \
  --target-dir target/x86-64-v3
run() {
  local label=$1 bin=$2
  echo "== $label"
  /usr/bin/time -v "$bin" "$h" 2> "target/stark-bench-$label.time"
  grep -E "Elapsed|User time|System time|Maximum resident" "target/stark-bench-$label.time"
}
run generic target/release/examples/stark_batch
[ "$v3" = 1 ] && run x86-64-v3 target/x86-64-v3/release/examples/stark_batch
exit 0
