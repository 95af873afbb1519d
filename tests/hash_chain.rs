//! Issue 11, defect 7: a Groth16 round of 11 assets, whose leaves `H(TAG_LEAF, id, b_1..b_11)`
//! have 13 inputs, the length at which Poseidon chain v1 ended in the Merkle node's arity.
//! With chain v2 the round proves and verifies (its leaves and sums agree between the circuit
//! and the verifier's native twin); the same round labelled bundle version 2 (chain v1) is
//! refused by name.

mod common;

use assay_prover::solvency::{self, record_path, ProveOptions};
use assay_verifier::{
    groth16::TrustedKeys,
    signing,
    solvency::{verify_inclusion_with, verify_round, InclusionRecord, RoundBundle, RoundOptions},
    VerifyError,
};
use ed25519_dalek::Signer;
use std::fs;

const ASSETS: usize = 11;

#[test]
fn eleven_assets_prove_and_verify_and_chain_v1_bundles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let symbols: Vec<String> = (0..ASSETS).map(|a| format!("A{a}")).collect();
    let mut csv = format!("user_id,{}\n", symbols.join(","));
    for i in 0..5 {
        let row: Vec<String> = (0..ASSETS).map(|a| format!("{}", i * 10 + a)).collect();
        csv.push_str(&format!("user-{i},{}\n", row.join(",")));
    }
    let balances = dir.path().join("balances.csv");
    fs::write(&balances, csv).unwrap();
    let assets: Vec<String> = symbols
        .iter()
        .map(|s| format!(r#"{{"symbol":"{s}","decimals":0,"reserves":"1000"}}"#))
        .collect();
    let config = dir.path().join("round.json");
    fs::write(
        &config,
        format!(
            r#"{{"version":1,"round_id":"eleven","balance_bits":16,"batch_size":4,"fan_in":2,
               "assets":[{}],"previous_round":null}}"#,
            assets.join(",")
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let keys = dir.path().join("keys");
    common::setup_keys(&keys, &config);
    solvency::prove(
        &ProveOptions {
            balances,
            config,
            out: out.clone(),
            keys: keys.clone(),
            shard: None,
            resume: false,
            progress: false,
            backend: solvency::BackendChoice::Groth16,
            budget: solvency::budget::Budget::default(),
        },
        Some(&common::test_signer()),
    )
    .unwrap();

    let mut b = RoundBundle::parse(&fs::read(out.join("round.json")).unwrap(), "round").unwrap();
    assert_eq!(b.version, 3);
    assert_eq!(b.config.assets.len(), ASSETS);
    let pinned = [common::manifest(&keys)];
    let opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        ..Default::default()
    };
    verify_round(&b, &opts).expect("an 11-asset round verifies");
    let record = InclusionRecord::parse(
        &fs::read(record_path(&out, "user-3").unwrap()).unwrap(),
        "record",
    )
    .unwrap();
    verify_inclusion_with(&record, &b, &opts).expect("its leaf is recomputed with the same chain");

    // The same round claiming version 2 (leaves hashed with chain v1) is refused by name.
    b.version = 2;
    let msg = signing::message(assay_verifier::solvency::ROUND_DOMAIN, &b.signed_body());
    b.signature = hex::encode(common::test_signer().sign(&msg).to_bytes());
    match verify_round(&b, &opts) {
        Err(VerifyError::Structure(m)) => assert!(m.contains("chain v1"), "{m}"),
        other => panic!("expected a refusal of chain v1, got {other:?}"),
    }
}
