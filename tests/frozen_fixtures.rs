//! Bundles and records frozen from earlier releases (`fixtures/solvency/freeze.sh`) must keep
//! verifying, and tampered copies must not.

use assay_verifier::solvency::{
    verify_inclusion, verify_round, InclusionRecord, RoundBundle, RoundOptions,
};
use std::{fs, path::PathBuf};

fn frozen(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/solvency/frozen/v1")
        .join(name);
    fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn frozen_v1_round_and_record_verify() {
    let b = RoundBundle::parse(&frozen("round.json"), "round").unwrap();
    let r = verify_round(&b, &RoundOptions::default()).unwrap();
    assert_eq!(r.round_id, "demo-2026-11-23");
    let rec = InclusionRecord::parse(&frozen("record-customer-0007.json"), "record").unwrap();
    let ir = verify_inclusion(&rec, &b).unwrap();
    assert_eq!(ir.user_id, "customer-0007");
}

#[test]
fn frozen_round_with_a_flipped_proof_byte_fails() {
    let mut b = RoundBundle::parse(&frozen("round.json"), "round").unwrap();
    let p = &mut b.aggregations.last_mut().unwrap()[0].proof;
    let c = if p.as_bytes()[20] == b'a' { "b" } else { "a" };
    p.replace_range(20..21, c);
    assert!(verify_round(&b, &RoundOptions::default()).is_err());
}
