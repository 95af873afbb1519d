//! The STARK package's checks, natively (`cargo test -p assay-wasm-verifier --features stark`):
//! the web STARK fixture (`web/fixtures/solvency-stark`, written by `cargo test -p
//! assay-server --test stark`) checked with the files its records' checks read; every refusal
//! (changed balance, tampered record, missing, altered, truncated, swapped or misnamed file,
//! a wrong pin) is an invalid verdict naming what failed.
#![cfg(feature = "stark")]

use assay_verifier::solvency::{ProofSource, RoundBundle};
use assay_wasm_verifier::{
    checks,
    stark::{files_needed, inclusion, FileMap},
};
use std::{fs, path::PathBuf};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/solvency-stark")
}

fn read(name: &str) -> String {
    let p = dir().join(name);
    fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (run the server's stark test)", p.display()))
}

fn file(hash: &str) -> Vec<u8> {
    fs::read(dir().join(format!("proofs/{hash}.bin"))).unwrap()
}

/// The files the check of `record` reads, as the page fetches them.
fn files_for(record: &str) -> FileMap {
    let mut m = FileMap::new();
    for h in files_needed(record, &read("round.json")).unwrap() {
        m.insert(&h, file(&h));
    }
    m
}

fn check(record: &str, files: FileMap, pin: Option<&str>) -> checks::Outcome {
    inclusion(&read(record), &read("round.json"), &Ok(files), pin)
}

#[test]
fn files_needed_are_the_batch_proof_its_leaves_and_the_top_proof() {
    let b = RoundBundle::parse(read("round.json").as_bytes(), "round").unwrap();
    let Some(assay_verifier::solvency::Circuits::Stark(sc)) = &b.circuits else {
        panic!("not a STARK section")
    };
    let names = files_needed(&read("record-alice.json"), &read("round.json")).unwrap();
    assert_eq!(
        names,
        [
            b.batches[0].proof.clone(),
            sc.leaves[0].clone(),
            b.aggregations[0][0].proof.clone()
        ]
    );
    // Not a STARK round; not a record; a position outside the round.
    let g16 = fs::read_to_string(dir().join("../solvency/round.json")).unwrap();
    let e = files_needed(&read("record-alice.json"), &g16).unwrap_err();
    assert!(e.contains("not a STARK round"), "{e}");
    assert!(files_needed("{", &read("round.json")).is_err());
    let mut far: serde_json::Value = serde_json::from_str(&read("record-alice.json")).unwrap();
    far["leaf_index"] = 127.into();
    assert!(files_needed(&far.to_string(), &read("round.json")).is_err());
}

#[test]
fn every_record_verifies_with_the_files_on_its_path() {
    for who in ["alice", "bob", "carol", "dave", "erin"] {
        let name = format!("record-{who}.json");
        let o = check(&name, files_for(&read(&name)), None);
        assert_eq!(o.reason, None, "{who}");
        assert_eq!(o.backend.as_deref(), Some("stark-koalabear-poseidon2"));
        assert!(o
            .checks
            .iter()
            .any(|c| c == "top proof: verified (stark-koalabear-poseidon2)"));
        assert!(o.trust.unwrap().contains("no trusted setup"));
    }
    let b = RoundBundle::parse(read("round.json").as_bytes(), "round").unwrap();
    let o = check(
        "record-bob.json",
        files_for(&read("record-bob.json")),
        Some(&b.publication_key),
    );
    assert_eq!(o.reason, None);
}

#[test]
fn wrong_records_and_pins_are_refused_with_the_reason() {
    let reason = |name: &str, pin: Option<&str>| {
        check(name, files_for(&read(name)), pin)
            .reason
            .unwrap_or_else(|| panic!("{name} accepted"))
    };
    let r = reason("record-alice-wrong-balance.json", None);
    assert!(
        r.contains(
            "these balances, this user id and salt, or this position are not in batch proof 0"
        ),
        "{r}"
    );
    let r = reason("record-alice-tampered.json", None);
    assert!(r.contains("signature"), "{r}");
    let pin = "cd".repeat(32);
    let r = reason("record-alice.json", Some(&pin));
    assert!(r.contains("not by the pinned key"), "{r}");
    // A record of another position (moved to position 1 of the batch): refused.
    let mut moved: serde_json::Value = serde_json::from_str(&read("record-alice.json")).unwrap();
    moved["leaf_index"] = (moved["leaf_index"].as_u64().unwrap() ^ 1).into();
    let o = inclusion(
        &moved.to_string(),
        &read("round.json"),
        &Ok(files_for(&read("record-alice.json"))),
        None,
    );
    assert!(o.reason.is_some());
    // Files the caller could not give: the reason is the answer.
    let o = inclusion(
        &read("record-alice.json"),
        &read("round.json"),
        &Err("files: not bytes".into()),
        None,
    );
    assert_eq!(o.reason.as_deref(), Some("files: not bytes"));
    // A Groth16 round is not checked here.
    let g16 = fs::read_to_string(dir().join("../solvency/round.json")).unwrap();
    let o = inclusion(&read("record-alice.json"), &g16, &Ok(FileMap::new()), None);
    assert!(o.reason.unwrap().contains("not a STARK round"));
}

#[test]
fn missing_altered_truncated_swapped_and_misnamed_files_are_refused() {
    let alice = read("record-alice.json");
    let names = files_needed(&alice, &read("round.json")).unwrap();
    assert_eq!(names.len(), 3);
    let run = |m: FileMap| check("record-alice.json", m, None).reason.unwrap();
    let all_but = |skip: &str, replace: Option<Vec<u8>>| {
        let mut m = FileMap::new();
        for h in &names {
            if h != skip {
                m.insert(h, file(h));
            } else if let Some(b) = &replace {
                m.insert(h, b.clone());
            }
        }
        m
    };
    // Missing: none given, then each file in turn.
    let r = run(FileMap::new());
    assert!(
        r.contains(&format!(
            "batch proof 0: proof file proofs/{}.bin: not among the files given",
            names[0]
        )),
        "{r}"
    );
    for h in &names {
        let r = run(all_but(h, None));
        assert!(
            r.contains(&format!("proofs/{h}.bin: not among the files given")),
            "{r}"
        );
    }
    // Altered, truncated, swapped, empty: each file in turn.
    for (i, h) in names.iter().enumerate() {
        let other = &names[(i + 1) % names.len()];
        let mut flipped = file(h);
        flipped[100] ^= 1;
        for bytes in [flipped, file(h)[..100].to_vec(), file(other), Vec::new()] {
            let r = run(all_but(h, Some(bytes)));
            assert!(
                r.contains(&format!(
                    "proof file proofs/{h}.bin: the bytes given for it hash to"
                )),
                "{r}"
            );
        }
    }
    // A name that is not a SHA-256 never matches, and says so if asked for.
    let mut m = FileMap::new();
    m.insert("../round.json", file(&names[0]));
    assert_eq!(m.len(), 1);
    let e = m.proof("../round.json", "a proof").unwrap_err().to_string();
    assert!(e.contains("not a SHA-256 in lower-case hex"), "{e}");
    let e = m
        .proof(&names[0].to_uppercase(), "a proof")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a SHA-256 in lower-case hex"), "{e}");
}

/// The STARK package's `verifyKyc` verifies STARK KYC presentations (issue 13, item 7): the
/// frozen presentation (`fixtures/kyc/frozen/v2-stark`) is valid at its challenge's time;
/// copies with flipped, truncated or garbage proof bytes are invalid verdicts with a reason
/// (the shape checks stand before Plonky3's verifier: in a browser a panic would abort).
#[test]
fn the_stark_package_verifies_a_stark_kyc_presentation() {
    let fx = |name: &str| {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/kyc/frozen/v2-stark")
            .join(name);
        fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let challenge: serde_json::Value = serde_json::from_str(&fx("challenge-stark.json")).unwrap();
    let now = assay_verifier::kyc::time::parse_rfc3339(challenge["issued_at"].as_str().unwrap())
        .unwrap() as u64
        + 1;
    let chain = format!("[{}]", fx("epoch.json"));
    let h = checks::Halo2Input::default();
    let check = |proof: &str| {
        checks::kyc(&checks::KycInputs {
            proof,
            epoch: &fx("epoch.json"),
            epochs: &chain,
            policy: &fx("policy.json"),
            challenge: &fx("challenge-stark.json"),
            issuer_key: &fx("issuer-public.json"),
            manifests: "[]",
            now,
            halo2: &h,
        })
    };
    let proof = fx("proof-stark.json");
    let ok = check(&proof);
    assert_eq!(ok.reason, None, "{ok:?}");
    assert_eq!(ok.backend.as_deref(), Some("stark-koalabear-poseidon2"));
    let mut v: serde_json::Value = serde_json::from_str(&proof).unwrap();
    let hex_proof = v["proof"].as_str().unwrap().to_string();
    for (what, bytes) in [
        ("flipped", {
            let mut b = hex_proof.clone().into_bytes();
            let i = b.len() / 2;
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            String::from_utf8(b).unwrap()
        }),
        ("truncated", hex_proof[..hex_proof.len() / 3].to_string()),
        ("garbage", "ff".repeat(4096)),
    ] {
        v["proof"] = bytes.into();
        let o = check(&v.to_string());
        assert!(o.reason.is_some(), "{what}: {o:?}");
    }
}
