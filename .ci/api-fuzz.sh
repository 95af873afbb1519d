#!/usr/bin/env bash
# The HTTP API fuzzed from its own OpenAPI document (issue 15, item 4): schemathesis (PyPI,
# pinned) against a running `assay serve` configured with the web fixtures (a pinned Groth16
# setup, the demo KYC policy, issuer, scope and epoch). Every check of schemathesis runs (no
# 5xx, every status code, content type and body as documented, schema-invalid input refused)
# but one: `positive_data_acceptance`. The request bodies are Assay's versioned formats
# (docs/formats.md), which the document describes as JSON objects, not as full JSON Schemas;
# an arbitrary object is not a round bundle, and the server must answer 422 naming the first
# missing or unknown field, which is what that check calls a failure (docs/ci.md).
#
# Then the same against the KYC issuer service (`assay kyc issuer serve`), once per role.
#
# Usage: bash .ci/api-fuzz.sh [--max-examples N] [--seed S] [more `st run` options]
#        bash .ci/api-fuzz.sh --install-only    (schemathesis's venv, nothing run)
#   Environment: ASSAY_BIN (default target/debug/assay, built if missing),
#   ASSAY_FUZZ_MAX_TIME (seconds of the fuzzing phase; default 60),
#   ASSAY_FUZZ_ISSUER_MAX_TIME (seconds per role against the issuer service; default 20).
# Long runs: ASSAY_FUZZ_MAX_TIME=3600 bash .ci/api-fuzz.sh --max-examples 10000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=4.32.5
venv="$root/target/schemathesis-venv"
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version"
fi
"$venv/bin/st" --version
[ "${1:-}" = "--install-only" ] && exit 0 # CI's background queue: the venv only

# One worker: CPython 3.11 keeps the AST constructor's recursion depth in the interpreter, not in
# the thread (python/cpython#106905), so two hypothesis threads describing their lambdas at once
# (`ast.parse`) can make one of them fail with "AST constructor recursion depth mismatch", which
# schemathesis reports as a "Runtime Error" of one operation: a crash of the tool, not a finding
# about the API (seen twice, both on the issuer service's revoke route with two workers: here
# on 2026-12-02 with Python 3.11.7, and on CI on 2026-12-03, where the rerun below did not
# save the run). With one worker nothing parses concurrently.
#
# st_run ARGS...: `st run ARGS...`, run once more when its only trouble was that crash anyway.
# Retried only when every error is that one and nothing failed; the rerun's verdict stands.
st_run() {
  local out rc=0
  out=$(mktemp)
  "$venv/bin/st" run "$@" 2>&1 | tee "$out" || rc=$?
  if [ "$rc" != 0 ] && tool_crash_only "$out"; then
    echo "api-fuzz: schemathesis stopped on CPython's AST recursion-depth bug (not an API finding); running it once more"
    rc=0
    "$venv/bin/st" run "$@" || rc=$?
  fi
  rm -f "$out"
  return "$rc"
}
tool_crash_only() { # LOG: the summary lists no failure, and its only errors are that crash
  local summary errors runtime ast
  summary=$(grep -E '^=+ .* in [0-9.]+s =+$' "$1" | tail -1)
  errors=$(awk '/^Errors:$/ {f = 1; next} f && /^$/ {f = 0} f' "$1")
  runtime=$(printf '%s\n' "$errors" | sed -n 's/^  🚫 Runtime Error: \([0-9]*\)$/\1/p' | awk '{n += $1} END {print n + 0}')
  ast=$(grep -c '^AST constructor recursion depth mismatch' "$1" || true)
  [ -n "$summary" ] && ! printf '%s' "$summary" | grep -qi 'fail' &&
    [ "$runtime" -gt 0 ] && [ "$runtime" -eq "$ast" ] &&
    [ "$(printf '%s\n' "$errors" | grep -c '🚫')" -eq "$(printf '%s\n' "$errors" | grep -c '🚫 Runtime Error: ')" ]
}

bin=${ASSAY_BIN:-"$root/target/debug/assay"}
if [ ! -x "$bin" ]; then
  cargo build -q --bin assay
fi

work=$(mktemp -d)
parts=()
cleanup() {
  local p
  for p in "${parts[@]}"; do kill "$p" 2>/dev/null || true; done
  # A part killed before its own trap ran leaves its server: stopped here by its pid file.
  for p in "$work"/*.pid; do [ -e "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# Whether the part's server ($base) answers.
up() { python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$base/healthz" >/dev/null 2>&1; }
# wait_up WHAT LOG: waits until the part's server ($pid, $base) answers; ends the part if it
# dies first or never answers, printing its log.
wait_up() {
  for _ in $(seq 1 150); do
    if up; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then cat "$2"; echo "$1 did not start"; exit 1; fi
    sleep 0.2
  done
  up || { cat "$2"; echo "$1 does not answer /healthz"; exit 1; }
}
# after_run WHAT LOG: ends the part if its server ($pid) died or panicked during the run.
after_run() {
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "$1 died during the run:"; tail -50 "$2"; exit 1
  fi
  if grep -q "panicked" "$2"; then
    echo "$1 panicked:"; grep -B2 -A5 "panicked" "$2" | head -40; exit 1
  fi
}
# Each part runs in a subshell of its own (its server's pid, its port, its schemathesis folder)
# and stops its server when it ends, whatever the outcome.
stop_server() { if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }

# --- `assay serve` -------------------------------------------------------------------------
serve_part() (
  pid=""
  trap stop_server EXIT
  mkdir -p "$work/epochs"
  cp web/fixtures/kyc/chain/*.json "$work/epochs/"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  # Rate limits high enough not to answer 429 to the fuzzer (the limiter has its own tests).
  "$bin" serve --addr "127.0.0.1:$port" --in-memory --rate 100000 --burst 100000 \
    --trusted-keys web/fixtures/solvency/manifest.json --trusted-keys web/fixtures/kyc/manifest.json \
    --kyc-policy web/fixtures/kyc/policy.json --kyc-issuer-key web/fixtures/kyc/issuer-public.json \
    --kyc-scope assay-demo-rp --kyc-backend groth16 --kyc-epochs "$work/epochs" \
    >"$work/server.log" 2>&1 &
  pid=$!
  echo "$pid" >"$work/serve.pid"
  wait_up "assay serve" "$work/server.log"

  status=0
  # schemathesis keeps its cache in the working folder: one of its own per part.
  mkdir -p "$work/st-serve" && cd "$work/st-serve"
  st_run "$base/openapi.json" \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --workers 1 \
    --max-time "${ASSAY_FUZZ_MAX_TIME:-60}" \
    --max-examples 50 \
    --seed 20261201 \
    --request-timeout 30 \
    --no-color \
    "$@" || status=$?

  cd "$root"
  after_run "assay serve" "$work/server.log"
  exit "$status"
)

# --- the issuer service ----------------------------------------------------------------------
issuer_part() (
  pid=""
  status=0
  trap stop_server EXIT
  # The issuer service (`assay kyc issuer serve`), fuzzed the same way, once per role with that
  # role's API key: admin (issue, revoke, publish, and the public routes), auditor (epochs, audit
  # log), holder (its own path; the key is bound to a credential issued before the run). A wrong
  # role's 403 is tested elsewhere (issuer-service/tests/api.rs); here every generated request
  # reaches the handler behind the key check. The issuer makes its own KYC setup: a throwaway
  # issuer for fuzzing only (`--insecure-own-setup`).
  export ASSAY_PASSPHRASE="api-fuzz-$$"
  iss="$work/issuer"
  "$bin" kyc issuer init --dir "$iss" --insecure-own-setup >"$work/init.log" 2>&1 \
    || { cat "$work/init.log"; echo "kyc issuer init failed"; exit 1; }
  "$bin" kyc holder init --out "$work/holder.json" >/dev/null 2>&1
  key() { "$bin" kyc issuer key add --db "$iss/service.sqlite" "$@" 2>&1 | grep -o 'aik_[0-9a-f_]*'; }
  admin=$(key --role admin --label api-fuzz)
  auditor=$(key --role auditor --label api-fuzz)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  "$bin" kyc issuer serve --issuer "$iss" --addr "127.0.0.1:$port" --rate 100000 --burst 100000 \
    >"$work/issuer.log" 2>&1 &
  pid=$!
  echo "$pid" >"$work/issuer.pid"
  wait_up "the issuer service" "$work/issuer.log"
  # A credential issued through the API, and a holder key bound to its serial: the path exists.
  serial=$(python3 - "$base" "$admin" "$work/holder.json" <<'PY'
import json, sys, urllib.request
base, key, holder = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
body = json.dumps({"holder_commitments": holder["commitments"], "country": "FR",
                   "expires": "2099-01-01T00:00:00Z"}).encode()
req = urllib.request.Request(base + "/v1/credentials", data=body, method="POST",
                             headers={"Authorization": "Bearer " + key,
                                      "Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as r:
    assert r.status == 200, r.status
    print(json.load(r)["credential"]["serial"])
PY
  )
  holder=$(key --role holder --serial "$serial" --label api-fuzz)
  mkdir -p "$work/st-issuer" && cd "$work/st-issuer"
  fuzz_role() {
    local role=$1 key=$2; shift 2
    echo "-- as $role"
    st_run "$base/openapi.json" \
      --checks all \
      --exclude-checks positive_data_acceptance \
      --workers 1 \
      --max-time "${ASSAY_FUZZ_ISSUER_MAX_TIME:-20}" \
      --max-examples 50 \
      --seed 20261202 \
      --request-timeout 30 \
      --no-color \
      -H "Authorization: Bearer $key" \
      "$@"
  }
  # The OpenAPI tags are the roles (public and ops routes need no key).
  fuzz_role admin "$admin" --include-tag admin --include-tag public --include-tag ops || status=$?
  fuzz_role auditor "$auditor" --include-tag auditor || status=$?
  fuzz_role holder "$holder" --include-tag holder || status=$?
  cd "$root"
  after_run "the issuer service" "$work/issuer.log"
  "$bin" kyc issuer audit verify --db "$iss/service.sqlite" \
    || { echo "the audit log does not verify after the run"; exit 1; }
  exit "$status"
)

# The two parts side by side: each is one schemathesis worker (one Python thread) against its
# own server, so together they keep both cores busy for the time one of them takes (docs/ci.md,
# "Time"). Their outputs are printed one after the other when both have ended.
serve_part "$@" >"$work/serve.out" 2>&1 &
parts+=($!)
issuer_part "$@" >"$work/issuer.out" 2>&1 &
parts+=($!)
serve_rc=0 issuer_rc=0
wait "${parts[0]}" || serve_rc=$?
wait "${parts[1]}" || issuer_rc=$?
parts=()
echo "== assay serve"
cat "$work/serve.out"
echo "== the issuer service"
cat "$work/issuer.out"
[ "$serve_rc" = 0 ] || exit "$serve_rc"
exit "$issuer_rc"
