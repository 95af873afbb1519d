#!/usr/bin/env bash
# Installs Debian's SoftHSM2 (a PKCS#11 token in software) when it is missing, for the PKCS#11
# tests (custody/tests/pkcs11.rs and tests/softhsm/run.sh). Needs root and Debian's mirrors.
# Prints the module's path.
set -euo pipefail
if ! command -v softhsm2-util >/dev/null; then
    echo "== installing softhsm2" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends softhsm2 >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends softhsm2 >/dev/null
    }
fi
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
         /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -f "$m" ] && { echo "$m"; exit 0; }
done
echo "softhsm2 is installed but its module was not found (dpkg -L libsofthsm2)" >&2
exit 1
