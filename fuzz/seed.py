#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/<target>/ from the repository's fixtures.

Run from the repository root: `python3 fuzz/seed.py`. The seeds are the fixtures themselves
(or the bytes inside them: proofs and keys hex-decoded), a few small hand-made edge cases, and
the request bodies the server takes, built from the same fixtures. `scripts/fuzz.sh` grows the
corpus from them; `afl-cmin` output may replace them (keep each folder small).
Halo2 parameter seeds come from the harness itself: `assay-fuzz --emit-params 4`.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def load(path):
    return json.loads(read(path))


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    # The CSV reader: the fixture's header and first rows, and edge cases.
    lines = read("fixtures/solvency/balances.csv").splitlines(keepends=True)
    put("csv", "fixture-head.csv", b"".join(lines[:6]))
    put("csv", "reordered.csv", "user_id,USDT,BTC,ETH\nu1,1.5,0.00000001,2\n\"q,uoted\",0,0,0\n")
    put("csv", "bad-amount.csv", "user_id,BTC,ETH,USDT\nu1,1e5,-1,0.1234567\n")
    put("csv", "header-only.csv", "user_id,BTC,ETH,USDT\n")

    put("round_config", "round.json", read("fixtures/solvency/round.json"))

    for name, path in [
        ("groth16-v1.json", "fixtures/solvency/frozen/v1/round.json"),
        ("halo2-v1.json", "fixtures/solvency/frozen/v1-halo2/round.json"),
        ("groth16-web.json", "web/fixtures/solvency/round.json"),
    ]:
        put("round_bundle", name, read(path))
    put("http_round", "groth16-web.json", read("web/fixtures/solvency/round.json"))

    put("inclusion_record", "groth16.json", read("web/fixtures/solvency/record-alice.json"))
    put("inclusion_record", "halo2.json", read("web/fixtures/solvency-halo2/record-bob.json"))
    put("inclusion_record", "v1.json", read("fixtures/solvency/frozen/v1/record-customer-0007.json"))
    for name, folder, record in [
        ("groth16.json", "web/fixtures/solvency", "record-alice.json"),
        ("halo2.json", "web/fixtures/solvency-halo2", "record-carol.json"),
    ]:
        body = {"record": load(f"{folder}/{record}"), "round": load(f"{folder}/round.json")}
        put("http_inclusion", name, json.dumps(body))

    put("key_manifest", "solvency.json", read("web/fixtures/solvency/manifest.json"))
    put("key_manifest", "kyc.json", read("web/fixtures/kyc/manifest.json"))
    put("key_manifest", "frozen-v1.json", read("fixtures/solvency/frozen/v1-manifest.json"))

    put("kyc_issuer", "web.json", read("web/fixtures/kyc/issuer-public.json"))
    put("kyc_issuer", "v1.json", read("fixtures/kyc/v1/issuer-public.json"))
    put("kyc_epoch", "web.json", read("web/fixtures/kyc/epoch.json"))
    put("kyc_epoch", "v1-1.json", read("fixtures/kyc/v1/epoch-1.json"))
    put("kyc_policy", "web.json", read("web/fixtures/kyc/policy.json"))
    put("kyc_policy", "frozen-v1.json", read("fixtures/kyc/frozen/v1/policy.json"))
    put("kyc_challenge", "web.json", read("web/fixtures/kyc/challenge.json"))
    put("kyc_challenge", "frozen-v1.json", read("fixtures/kyc/frozen/v1/challenge.json"))
    put("kyc_credential", "v1-0.json", read("fixtures/kyc/v1/credential-0.json"))
    put("kyc_path", "v1-0.json", read("fixtures/kyc/v1/path-0.json"))
    put("kyc_leaves", "v1-1.json", read("fixtures/kyc/v1/leaves-1.json"))
    put("kyc_proof", "web.json", read("web/fixtures/kyc/proof.json"))
    put("kyc_proof", "halo2-frozen.json", read("fixtures/kyc/frozen/v1/proof-halo2.json"))
    body = {"proof": load("web/fixtures/kyc/proof.json"), "epoch": load("web/fixtures/kyc/epoch.json")}
    put("http_kyc", "web.json", json.dumps(body))

    # Raw bytes of keys and proofs (the targets hex-encode them again).
    issuer = load("web/fixtures/kyc/issuer-public.json")
    put("groth16", "kyc-vk.bin", bytes.fromhex(issuer["verifying_key"]))
    put("groth16", "kyc-proof.bin", bytes.fromhex(load("web/fixtures/kyc/proof.json")["proof"]))
    put("groth16", "proof-hex.txt", load("web/fixtures/kyc/proof.json")["proof"])
    put("halo2_proof", "kyc.bin", bytes.fromhex(load("fixtures/kyc/frozen/v1/proof-halo2.json")["proof"]))
    stark()
    stark_kyc()
    return 0


def stark():
    """The STARK round's files (target stark_round: first byte 0 batch proof, 1 leaves file,
    2 top proof), and its bundle and record for the JSON targets."""
    folder = "fixtures/solvency/frozen/v2-stark"
    bundle = load(f"{folder}/round.json")
    names = [
        bundle["batches"][0]["proof"],
        bundle["circuits"]["leaves"][0],
        bundle["aggregations"][-1][0]["proof"],
    ]
    for i, (label, name) in enumerate(zip(["batch", "leaves", "top"], names)):
        put("stark_round", f"{label}.bin", bytes([i]) + read(f"{folder}/proofs/{name}.bin"))
    put("round_bundle", "stark-v2.json", read(f"{folder}/round.json"))
    put("inclusion_record", "stark-v2.json", read(f"{folder}/record-customer-0007.json"))


def stark_kyc():
    """The frozen STARK KYC presentation (target stark_kyc: first byte 0, the proof's bytes;
    1, the presentation as JSON). The whole proof once (124 KB, so that the fuzzer starts
    inside Plonky3's verifier); the JSON seeds carry a cut proof to stay small."""
    p = load("fixtures/kyc/frozen/v2-stark/proof-stark.json")
    raw = bytes.fromhex(p["proof"])
    put("stark_kyc", "proof.bin", b"\x00" + raw)
    put("stark_kyc", "proof-head.bin", b"\x00" + raw[:512])
    put("stark_kyc", "empty-proof.bin", b"\x00")
    cut = dict(p, proof=p["proof"][:256])
    put("stark_kyc", "presentation-cut.json", b"\x01" + json.dumps(cut, indent=1).encode())
    moved = dict(cut, public_inputs=dict(p["public_inputs"], today=p["public_inputs"]["today"] + 1))
    put("stark_kyc", "presentation-moved-day.json", b"\x01" + json.dumps(moved, indent=1).encode())


if __name__ == "__main__":
    sys.exit(main())
