//! The web page's Halo2 fixtures (`web/fixtures/solvency-halo2/`): the web Groth16 fixture's
//! round (`web/fixtures/solvency/round.json`: the same configuration, round id, customers and
//! balances, and the same test publication key) proven again on Halo2 (compact layout, batches
//! of 4, fan-in 2: every circuit has k = 9, so a browser verifies it in well under a second).
//! The pair is the page's "same round on two backends" (it prefers the Halo2 one).
//!
//! The files are committed. This test checks that they still verify natively and are the
//! same round as the Groth16 fixture; with `ASSAY_REGEN_FIXTURES=1` (or when they are missing)
//! it proves the round again first (Halo2 proofs are randomized: new bytes each time).

mod common;

use assay_prover::solvency::{self, record_path, BackendChoice, ProveOptions};
use assay_verifier::{
    signing,
    solvency::{
        halo2_params_needed, verify_inclusion_with, verify_round, InclusionRecord, RoundBundle,
        RoundOptions, BACKEND_HALO2, RECORD_DOMAIN,
    },
};
use ed25519_dalek::Signer;
use std::{fs, path::PathBuf};

/// The web fixture's customers (`server/tests/fixtures.rs`): user id, BTC, USDT.
const USERS: [(&str, &str, &str); 5] = [
    ("alice", "0.50000000", "1200.00"),
    ("bob", "1.25000000", "0"),
    ("carol", "0", "99.99"),
    ("dave", "0.00012345", "5000000.5"),
    ("erin", "3.14159265", "2718.28"),
];

fn web() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/fixtures")
}

fn dir() -> PathBuf {
    web().join("solvency-halo2")
}

fn groth16_bundle() -> RoundBundle {
    RoundBundle::parse(
        &fs::read(web().join("solvency/round.json")).unwrap(),
        "groth16",
    )
    .unwrap()
}

fn write_json(name: &str, v: &impl serde::Serialize) {
    fs::write(
        dir().join(name),
        serde_json::to_string_pretty(v).unwrap() + "\n",
    )
    .unwrap();
}

fn generate() {
    let tmp = tempfile::tempdir().unwrap();
    let g = groth16_bundle();
    let config = tmp.path().join("config.json");
    fs::write(&config, serde_json::to_vec_pretty(&g.config).unwrap()).unwrap();
    let mut csv = String::from("user_id,BTC,USDT\n");
    for (u, btc, usdt) in USERS {
        csv.push_str(&format!("{u},{btc},{usdt}\n"));
    }
    let balances = tmp.path().join("balances.csv");
    fs::write(&balances, csv).unwrap();
    let out = tmp.path().join("out");
    solvency::prove(
        &ProveOptions {
            balances,
            config,
            out: out.clone(),
            keys: tmp.path().join("params"),
            shard: None,
            resume: false,
            progress: false,
            backend: BackendChoice::Halo2 {
                layout: "compact".into(),
            },
            budget: solvency::budget::Budget::default(),
        },
        Some(&common::test_signer()),
    )
    .unwrap();
    fs::create_dir_all(dir()).unwrap();
    fs::copy(out.join("round.json"), dir().join("round.json")).unwrap();
    for (u, _, _) in USERS {
        fs::copy(
            record_path(&out, u).unwrap(),
            dir().join(format!("record-{u}.json")),
        )
        .unwrap();
    }
    let alice = fs::read(dir().join("record-alice.json")).unwrap();
    // Tampered: alice claims more than the exchange counted (its signature then fails).
    let mut t: serde_json::Value = serde_json::from_slice(&alice).unwrap();
    t["balances"][0]["amount"] = "5.00000000".into();
    write_json("record-alice-tampered.json", &t);
    // Signed by the exchange, but with a balance that is not in the tree.
    let mut w = InclusionRecord::parse(&alice, "alice").unwrap();
    w.balances[1].amount = "1300.00".into();
    w.signature = hex::encode(
        common::test_signer()
            .sign(&signing::message(RECORD_DOMAIN, &w.signed_body()))
            .to_bytes(),
    );
    write_json("record-alice-wrong-balance.json", &w);
}

#[test]
fn web_halo2_fixtures_verify_and_are_the_groth16_fixtures_round() {
    if std::env::var_os("ASSAY_REGEN_FIXTURES").is_some() || !dir().join("round.json").exists() {
        generate();
    }
    let b = RoundBundle::parse(&fs::read(dir().join("round.json")).unwrap(), "round").unwrap();
    assert_eq!(b.backend, BACKEND_HALO2);
    // The same round as the Groth16 fixture: round id, configuration, publication key.
    let g = groth16_bundle();
    assert_eq!(b.config, g.config);
    assert_eq!(b.publication_key, g.publication_key);
    // Small circuits only: the page fetches the parameters of k = 9.
    assert_eq!(halo2_params_needed(&b).unwrap(), vec![9]);
    assert!(halo2_params_needed(&g).unwrap().is_empty());
    let opts = RoundOptions::default();
    verify_round(&b, &opts).unwrap();
    let read =
        |name: &str| InclusionRecord::parse(&fs::read(dir().join(name)).unwrap(), name).unwrap();
    for (u, _, _) in USERS {
        let rep = verify_inclusion_with(&read(&format!("record-{u}.json")), &b, &opts).unwrap();
        assert!(rep.proofs_checked.iter().any(|p| p == "top proof"));
    }
    let e = verify_inclusion_with(&read("record-alice-tampered.json"), &b, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("signature"), "{e}");
    let e = verify_inclusion_with(&read("record-alice-wrong-balance.json"), &b, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("global root"), "{e}");
}
