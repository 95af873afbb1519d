//! A whole round through the library: it verifies, and every tampering is refused with a
//! reason naming what failed.

mod common;

use assay_prover::solvency::{record_file_name, record_path};
use assay_verifier::{
    signing,
    solvency::{
        verify_inclusion, verify_round, InclusionRecord, RoundBundle, RoundOptions, RECORD_DOMAIN,
    },
    VerifyError,
};
use ed25519_dalek::Signer;
use std::{fs, path::PathBuf, sync::OnceLock};

struct Fixture {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        // 13 customers → 16 leaves → 4 batches of 4 → 2 aggregations → top.
        let out = common::prove_round(dir.path(), &dir.path().join("keys"), 13);
        Fixture { _dir: dir, out }
    })
}

fn bundle() -> RoundBundle {
    RoundBundle::parse(
        &fs::read(fixture().out.join("round.json")).unwrap(),
        "round",
    )
    .unwrap()
}

fn record(user: &str) -> InclusionRecord {
    let p = record_path(&fixture().out, user).unwrap();
    InclusionRecord::parse(&fs::read(p).unwrap(), "record").unwrap()
}

/// Re-signs a bundle as the exchange would: isolates the check under test from the signature.
fn resign(b: &mut RoundBundle) {
    let msg = signing::message(assay_verifier::solvency::ROUND_DOMAIN, &b.signed_body());
    b.signature = hex::encode(common::test_signer().sign(&msg).to_bytes());
}

fn resign_record(r: &mut InclusionRecord) {
    let msg = signing::message(RECORD_DOMAIN, &r.signed_body());
    r.signature = hex::encode(common::test_signer().sign(&msg).to_bytes());
}

fn flip_hex(s: &mut String, i: usize) {
    let mut b = s.clone().into_bytes();
    b[i] = if b[i] == b'0' { b'1' } else { b'0' };
    *s = String::from_utf8(b).unwrap();
}

#[test]
fn the_round_verifies_and_has_the_expected_shape() {
    let b = bundle();
    let r = verify_round(&b, &RoundOptions::default()).unwrap();
    assert_eq!(
        (r.leaf_count, r.batch_proofs, r.aggregation_proofs),
        (16, 4, 3)
    );
    assert_eq!(
        fs::read_dir(fixture().out.join("inclusion"))
            .unwrap()
            .count(),
        13
    );
    assert!(fixture().out.join("private/round-secret.json").exists());
    assert!(
        !fixture().out.join("private/work/leaves.bin").exists(),
        "the spool is removed"
    );
}

#[test]
fn every_customer_record_verifies() {
    let b = bundle();
    for i in 0..13 {
        let r = verify_inclusion(&record(&format!("user-{i}")), &b).unwrap();
        assert_eq!(r.proofs_checked.len(), 3, "batch + two aggregation levels");
    }
}

#[test]
fn flipping_any_proof_byte_is_refused() {
    let b = bundle();
    // Every 16th hex digit of a batch proof and of the top proof.
    fn proof_of(b: &mut RoundBundle, top: bool) -> &mut String {
        if top {
            &mut b.aggregations[1][0].proof
        } else {
            &mut b.batches[2].proof
        }
    }
    for (which, top) in [("batch proof 2", false), ("top proof", true)] {
        for i in (0..256).step_by(16) {
            let mut t = b.clone();
            flip_hex(proof_of(&mut t, top), i);
            resign(&mut t);
            let e = verify_round(&t, &RoundOptions::default()).unwrap_err();
            assert!(e.to_string().contains(which), "byte {i}: {e}");
        }
    }
}

#[test]
fn truncated_proof_is_a_clear_error() {
    let mut b = bundle();
    b.batches[0].proof.truncate(100);
    resign(&mut b);
    let e = verify_round(&b, &RoundOptions::default()).unwrap_err();
    assert!(e.to_string().contains("a proof is 128 bytes"), "{e}");
}

#[test]
fn tampered_verifying_key_is_refused() {
    let b = bundle();
    let (hash, key) = b
        .verifying_keys
        .iter()
        .next()
        .map(|(h, k)| (h.clone(), k.clone()))
        .unwrap();
    for i in [0usize, 70, 200, key.len() - 2] {
        let mut t = b.clone();
        let mut k = key.clone();
        flip_hex(&mut k, i);
        t.verifying_keys.insert(hash.clone(), k);
        resign(&mut t);
        assert!(
            matches!(
                verify_round(&t, &RoundOptions::default()),
                Err(VerifyError::Key { .. })
            ),
            "byte {i}"
        );
    }
}

#[test]
fn swapped_key_under_a_fresh_name_is_refused() {
    // An attacker renames a tampered key with its correct hash: the proofs then fail.
    let b = bundle();
    let batch_key = b.batches[0].key.clone();
    let mut k = b.verifying_keys[&batch_key].clone();
    // Replace the key by the top key's bytes (a valid key of another circuit).
    let top_key = b.aggregations[1][0].key.clone();
    k.clone_from(&b.verifying_keys[&top_key]);
    let mut t = b.clone();
    t.verifying_keys.insert(batch_key, k);
    resign(&mut t);
    assert!(verify_round(&t, &RoundOptions::default()).is_err());
}

#[test]
fn changing_any_public_input_is_refused() {
    let b = bundle();
    for (level, i, input) in [
        (None, 1, 0),
        (None, 1, 1),
        (None, 3, 2),
        (Some(0), 1, 3),
        (Some(1), 0, 4),
        (Some(1), 0, 5),
    ] {
        let mut t = b.clone();
        let e = match level {
            None => &mut t.batches[i],
            Some(l) => &mut t.aggregations[l][i],
        };
        e.public_inputs[input] = "12345".into();
        resign(&mut t);
        let err = verify_round(&t, &RoundOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::PublicInput { .. } | VerifyError::ProofRejected { .. }
            ),
            "{level:?}/{i}/{input}: {err}"
        );
    }
}

#[test]
fn altered_reserves_in_the_config_are_refused() {
    let mut b = bundle();
    b.config.assets[0].reserves = "2000000".into();
    resign(&mut b);
    let e = verify_round(&b, &RoundOptions::default()).unwrap_err();
    assert!(e.to_string().contains("reserves[USD]"), "{e}");
}

#[test]
fn an_unsigned_change_is_refused_by_the_signature() {
    let mut b = bundle();
    b.config.round_id = "another-round".into();
    assert!(matches!(
        verify_round(&b, &RoundOptions::default()),
        Err(VerifyError::Signature { .. })
    ));
}

#[test]
fn a_record_moved_to_another_user_is_refused() {
    let b = bundle();
    let mut r = record("user-3");
    r.user_id = "user-4".into();
    resign_record(&mut r);
    let e = verify_inclusion(&r, &b).unwrap_err();
    assert!(
        e.to_string()
            .contains("do not lead to the round's global root"),
        "{e}"
    );
}

#[test]
fn a_record_with_another_balance_is_refused() {
    let b = bundle();
    let mut r = record("user-5");
    r.balances[0].amount = "999.99".into();
    resign_record(&mut r);
    assert!(matches!(
        verify_inclusion(&r, &b),
        Err(VerifyError::Inclusion(_))
    ));
    // Unsigned: the signature check refuses it first.
    let mut r = record("user-5");
    r.balances[1].amount = "0.00000002".into();
    assert!(matches!(
        verify_inclusion(&r, &b),
        Err(VerifyError::Signature { .. })
    ));
}

#[test]
fn a_record_at_another_position_or_with_another_salt_is_refused() {
    let b = bundle();
    let mut r = record("user-6");
    r.leaf_index ^= 1;
    resign_record(&mut r);
    assert!(verify_inclusion(&r, &b).is_err());
    let mut r = record("user-6");
    r.salt = "42".into();
    resign_record(&mut r);
    assert!(verify_inclusion(&r, &b).is_err());
}

#[test]
fn a_record_against_a_tampered_path_proof_is_refused() {
    let mut b = bundle();
    let r = record("user-2");
    let j = (r.leaf_index / 4) as usize;
    flip_hex(&mut b.batches[j].proof, 10);
    resign(&mut b);
    let mut r = r;
    r.bundle_hash = b.hash();
    resign_record(&mut r);
    let e = verify_inclusion(&r, &b).unwrap_err();
    assert!(e.to_string().contains(&format!("batch proof {j}")), "{e}");
}

#[test]
fn trusted_keys_pin_the_setup() {
    let b = bundle();
    let mut trusted: std::collections::BTreeSet<String> =
        b.verifying_keys.keys().cloned().collect();
    assert!(verify_round(
        &b,
        &RoundOptions {
            trusted_keys: Some(&trusted),
            ..Default::default()
        }
    )
    .is_ok());
    trusted.pop_first();
    assert!(matches!(
        verify_round(
            &b,
            &RoundOptions {
                trusted_keys: Some(&trusted),
                ..Default::default()
            }
        ),
        Err(VerifyError::Key { .. })
    ));
}

#[test]
fn unknown_fields_are_refused() {
    let text = fs::read_to_string(fixture().out.join("round.json")).unwrap();
    let bad = text.replacen("\"version\": 3", "\"version\": 3, \"extra\": true", 1);
    assert_ne!(bad, text, "a version 3 bundle");
    let e = RoundBundle::parse(bad.as_bytes(), "round").unwrap_err();
    assert!(e.to_string().contains("unknown field `extra`"), "{e}");
}

/// Issue 11, defect 9: record names are keyed by the round secret. Without it, the unkeyed
/// name of a guessed id (SHA-256 of the id, the old rule) or the name under another round's
/// secret finds no file; with it, every customer's record is found.
#[test]
fn record_names_are_keyed_by_the_round_secret() {
    use sha2::{Digest, Sha256};
    let inclusion = fixture().out.join("inclusion");
    let names: std::collections::BTreeSet<String> = fs::read_dir(&inclusion)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 13);
    for i in 0..13 {
        let user = format!("user-{i}");
        let found = record_path(&fixture().out, &user).unwrap();
        assert!(found.exists(), "{user}");
        assert_eq!(record(&user).user_id, user);
        let unkeyed = format!(
            "{}.json",
            &hex::encode(Sha256::digest(user.as_bytes()))[..32]
        );
        assert!(
            !names.contains(&unkeyed),
            "{user}: a guess by unkeyed hash finds the record"
        );
        assert!(
            !names.contains(&record_file_name(&[0u8; 32], &user)),
            "{user}: another secret names it"
        );
    }
    // The exchange's lookup needs the round secret: without it, a clear error.
    let copy = tempfile::tempdir().unwrap();
    let e = record_path(copy.path(), "user-1").unwrap_err();
    assert!(e.to_string().contains("round secret"), "{e}");
}
