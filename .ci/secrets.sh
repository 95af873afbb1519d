#!/usr/bin/env bash
# Secrets gate: detect-secrets (PyPI, pinned) over the tracked tree against the reviewed
# baseline (.secrets.baseline), then over every blob of the history (.ci/secrets_check.py).
# A new finding fails CI. After reviewing a finding that is not a secret (a public hash, key,
# proof or signature of a fixture): `detect-secrets scan --baseline .secrets.baseline` to add
# it to the baseline (history: `python3 .ci/secrets_check.py --update`). See docs/ci.md.
# `.ci/secrets.sh --install-only`: detect-secrets only (CI's background queue).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import detect_secrets' 2>/dev/null || [ "$(detect-secrets --version)" != "1.5.0" ]; then
  python3 -m pip install --quiet --disable-pip-version-check 'detect-secrets==1.5.0'
fi
[ "${1:-}" = "--install-only" ] && exit 0 # CI's background queue: the install only
python3 .ci/secrets_check.py
