#!/usr/bin/env bash
# `assay keys` with a real PKCS#11 token (SoftHSM2, installed when missing): a 2-of-3 DKG, share 3
# moved into the token (`keys hsm import`), signing with the token share and a file share, the
# token share alone refused, a wrong PIN refused, the share nowhere in plain text; a plain
# Ed25519 key in the token (`keys hsm ed25519-keygen|ed25519-sign`), checked by `keys verify`.
# A private SOFTHSM2_CONF and token folder under a temporary folder. Called by scripts/test.sh.
#
#   tests/softhsm/run.sh [ASSAY_BINARY]      default: $CARGO_TARGET_DIR or target, debug/assay
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ASSAY=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/assay}
[ -x "$ASSAY" ] || { echo "softhsm test: no assay binary at $ASSAY (cargo build first)" >&2; exit 1; }
MODULE=$(bash tests/softhsm/install.sh)

W=$(mktemp -d /tmp/assay-softhsm.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/tokens"
cat > "$W/softhsm2.conf" <<CONF
directories.tokendir = $W/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF=$W/softhsm2.conf
# Obviously test-only PINs of a throw-away token.
softhsm2-util --init-token --free --label assay-cli-test --so-pin test-so-5678 --pin test-user-1234 >/dev/null
export ASSAY_PKCS11_MODULE=$MODULE
export TEST_TOKEN_PIN=test-user-1234
export ASSAY_PASSPHRASE_1="cli pass one" ASSAY_PASSPHRASE_2="cli pass two" ASSAY_PASSPHRASE_3="cli pass three"
unset ASSAY_PASSPHRASE ASSAY_PKCS11_PIN
fail() { echo "softhsm test FAILED: $*" >&2; exit 1; }

K=$W/keys
"$ASSAY" keys dkg --out "$K" >/dev/null
"$ASSAY" keys hsm import --share "$K/share-3.json" --token-label assay-cli-test \
    --pin-env TEST_TOKEN_PIN --out "$K/share-3.pkcs11.json" >/dev/null
echo "epoch 12 root" > "$W/msg"
"$ASSAY" keys sign --message "$W/msg" --share "$K/share-1.json" --share "$K/share-3.pkcs11.json" \
    --pin-env TEST_TOKEN_PIN --out "$W/sig13.json" >/dev/null
"$ASSAY" keys verify --message "$W/msg" --signature "$W/sig13.json" --public-key "$K/public-key.json" >/dev/null \
    || fail "token share + file share: the signature does not verify"
"$ASSAY" keys sign --message "$W/msg" --share "$K/share-3.pkcs11.json" --share "$K/share-2.json" \
    --pin-env TEST_TOKEN_PIN --out "$W/sig23.json" >/dev/null
"$ASSAY" keys verify --message "$W/msg" --signature "$W/sig23.json" --public-key "$K/public-key.json" >/dev/null \
    || fail "shares 2 and 3: the signature does not verify"
set +e
"$ASSAY" keys sign --message "$W/msg" --share "$K/share-3.pkcs11.json" --pin-env TEST_TOKEN_PIN \
    --out "$W/alone.json" 2>"$W/err"; rc=$?
[ $rc = 2 ] && grep -q "one share alone cannot sign" "$W/err" || fail "the token share alone: exit $rc, $(cat "$W/err")"
WRONG_PIN=not-the-pin "$ASSAY" keys sign --message "$W/msg" --share "$K/share-1.json" \
    --share "$K/share-3.pkcs11.json" --pin-env WRONG_PIN --out "$W/wrong.json" 2>"$W/err"; rc=$?
[ $rc = 2 ] && grep -q "wrong user PIN" "$W/err" || fail "a wrong PIN: exit $rc, $(cat "$W/err")"
"$ASSAY" keys sign --message "$W/msg" --share "$K/share-1.json" \
    --share "$K/share-3.pkcs11.json" --pin-env UNSET_PIN_VARIABLE --out "$W/wrong.json" 2>"$W/err"; rc=$?
[ $rc = 2 ] && grep -q "UNSET_PIN_VARIABLE is not set" "$W/err" || fail "an unset PIN variable: exit $rc, $(cat "$W/err")"
set -e

"$ASSAY" keys hsm ed25519-keygen --token-label assay-cli-test --key-label issuer \
    --pin-env TEST_TOKEN_PIN --out "$W/issuer.json" >/dev/null
"$ASSAY" keys hsm ed25519-sign --key "$W/issuer.json" --message "$W/msg" \
    --pin-env TEST_TOKEN_PIN --out "$W/issuer-sig.json" >/dev/null
"$ASSAY" keys verify --message "$W/msg" --signature "$W/issuer-sig.json" >/dev/null \
    || fail "CKM_EDDSA: the signature does not verify"
echo "epoch 13 root" > "$W/msg2"
set +e
"$ASSAY" keys verify --message "$W/msg2" --signature "$W/issuer-sig.json" >/dev/null 2>&1; rc=$?
set -e
[ $rc = 1 ] || fail "CKM_EDDSA: a tampered message verified (exit $rc)"
echo "softhsm test: ok (token share signs with either file share; alone, wrong PIN refused; CKM_EDDSA verifies)"
