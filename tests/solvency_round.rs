//! A whole round through the library: it verifies, and every tampering is refused with a
//! reason naming what failed.

mod common;

use assay_prover::solvency::{record_file_name, record_path};
use assay_verifier::{
    groth16::{KeyManifest, TrustedKeys, TrustedManifest},
    signing,
    solvency::{
        verify_inclusion, verify_inclusion_with, verify_round, InclusionRecord, RoundBundle,
        RoundOptions, RECORD_DOMAIN,
    },
    VerifyError,
};
use ed25519_dalek::{Signer, SigningKey};
use std::{fs, path::PathBuf, sync::OnceLock};

struct Fixture {
    _dir: tempfile::TempDir,
    out: PathBuf,
    /// The setup's manifest, as an auditor pins it.
    pinned: Vec<TrustedManifest>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        // 13 customers → 16 leaves → 4 batches of 4 → 2 aggregations → top.
        let keys = dir.path().join("keys");
        let out = common::prove_round(dir.path(), &keys, 13);
        let pinned = vec![common::manifest(&keys)];
        Fixture {
            _dir: dir,
            out,
            pinned,
        }
    })
}

/// The same round's inputs proven under keys of a second, independent setup (another setup
/// party, fresh randomness): valid proofs under their own keys, hashes consistent.
fn substitute() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let (_, config) = common::write_inputs(dir.path(), 13, 4);
        common::setup_keys_with(&keys, &config, &SigningKey::from_bytes(&[42u8; 32]));
        let out = common::prove_round(dir.path(), &keys, 13);
        let pinned = vec![common::manifest(&keys)];
        Fixture {
            _dir: dir,
            out,
            pinned,
        }
    })
}

/// Options pinning the first setup's manifest.
fn opts() -> RoundOptions<'static> {
    RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&fixture().pinned),
        ..RoundOptions::default()
    }
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
    let r = verify_round(&b, &opts()).unwrap();
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
        let r = verify_inclusion_with(&record(&format!("user-{i}")), &b, &opts()).unwrap();
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
            let e = verify_round(&t, &opts()).unwrap_err();
            assert!(e.to_string().contains(which), "byte {i}: {e}");
        }
    }
}

#[test]
fn truncated_proof_is_a_clear_error() {
    let mut b = bundle();
    b.batches[0].proof.truncate(100);
    resign(&mut b);
    let e = verify_round(&b, &opts()).unwrap_err();
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
            matches!(verify_round(&t, &opts()), Err(VerifyError::Key { .. })),
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
    assert!(verify_round(&t, &opts()).is_err());
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
        let err = verify_round(&t, &opts()).unwrap_err();
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
    let e = verify_round(&b, &opts()).unwrap_err();
    assert!(e.to_string().contains("reserves[USD]"), "{e}");
}

#[test]
fn an_unsigned_change_is_refused_by_the_signature() {
    let mut b = bundle();
    b.config.round_id = "another-round".into();
    assert!(matches!(
        verify_round(&b, &opts()),
        Err(VerifyError::Signature { .. })
    ));
}

#[test]
fn a_record_moved_to_another_user_is_refused() {
    let b = bundle();
    let mut r = record("user-3");
    r.user_id = "user-4".into();
    resign_record(&mut r);
    let e = verify_inclusion_with(&r, &b, &opts()).unwrap_err();
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
        verify_inclusion_with(&r, &b, &opts()),
        Err(VerifyError::Inclusion(_))
    ));
    // Unsigned: the signature check refuses it first.
    let mut r = record("user-5");
    r.balances[1].amount = "0.00000002".into();
    assert!(matches!(
        verify_inclusion_with(&r, &b, &opts()),
        Err(VerifyError::Signature { .. })
    ));
}

#[test]
fn a_record_at_another_position_or_with_another_salt_is_refused() {
    let b = bundle();
    let mut r = record("user-6");
    r.leaf_index ^= 1;
    resign_record(&mut r);
    assert!(verify_inclusion_with(&r, &b, &opts()).is_err());
    let mut r = record("user-6");
    r.salt = "42".into();
    resign_record(&mut r);
    assert!(verify_inclusion_with(&r, &b, &opts()).is_err());
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
    let e = verify_inclusion_with(&r, &b, &opts()).unwrap_err();
    assert!(e.to_string().contains(&format!("batch proof {j}")), "{e}");
}

fn sub_bundle() -> RoundBundle {
    let out = &substitute().out;
    RoundBundle::parse(&fs::read(out.join("round.json")).unwrap(), "round").unwrap()
}

fn sub_record(user: &str) -> InclusionRecord {
    let p = record_path(&substitute().out, user).unwrap();
    InclusionRecord::parse(&fs::read(p).unwrap(), "record").unwrap()
}

#[test]
fn a_self_consistent_substitute_setup_is_refused_under_the_pinned_manifest() {
    let b = sub_bundle();
    let r = sub_record("user-3");
    // Valid under its own setup's manifest, and consistent: its keys hash to their names.
    let own = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&substitute().pinned),
        ..RoundOptions::default()
    };
    verify_round(&b, &own).unwrap();
    verify_inclusion_with(&r, &b, &own).unwrap();
    // Under the first setup's manifest: refused, naming the key and its circuit.
    let batch_key = &b.batches[0].key;
    for e in [
        verify_round(&b, &opts()).unwrap_err(),
        verify_inclusion_with(&r, &b, &opts()).unwrap_err(),
    ] {
        match &e {
            VerifyError::Key { hash, message } => {
                assert_eq!(hash, batch_key);
                assert!(message.contains("solvency-batch-K2-w32-B4"), "{e}");
                assert!(message.contains("another setup"), "{e}");
            }
            other => panic!("expected a key refusal, got {other}"),
        }
    }
    // Accepted only when the caller knowingly trusts the bundle's keys.
    let insecure = RoundOptions {
        trusted_keys: TrustedKeys::InsecureBundleKeys,
        ..RoundOptions::default()
    };
    verify_round(&b, &insecure).unwrap();
    verify_inclusion_with(&r, &b, &insecure).unwrap();
}

#[test]
fn no_pinned_manifest_refuses_a_groth16_round() {
    let b = bundle();
    let e = verify_round(&b, &RoundOptions::default()).unwrap_err();
    assert!(e.to_string().contains("--trusted-keys"), "{e}");
    let e = verify_inclusion(&record("user-2"), &b).unwrap_err();
    assert!(matches!(e, VerifyError::Key { .. }), "{e}");
}

/// The first setup's manifest, edited by `f` and re-signed by its setup key.
fn edited_manifest(f: impl FnOnce(&mut KeyManifest)) -> Vec<u8> {
    let mut m = fixture().pinned[0].manifest().clone();
    f(&mut m);
    m.signature.clear();
    let msg = signing::message(
        assay_verifier::groth16::manifest::MANIFEST_DOMAIN,
        &m.signed_body(),
    );
    m.signature = hex::encode(common::test_setup_signer().sign(&msg).to_bytes());
    serde_json::to_vec(&m).unwrap()
}

#[test]
fn a_manifest_whose_signature_fails_is_refused() {
    let mut m = fixture().pinned[0].manifest().clone();
    let sub_batch = sub_bundle().batches[0].key.clone();
    m.keys.insert("solvency-batch-K2-w32-B4".into(), sub_batch);
    let e = KeyManifest::open(&serde_json::to_vec(&m).unwrap(), "manifest").unwrap_err();
    assert!(matches!(e, VerifyError::Signature { .. }), "{e}");
    // Unknown fields are refused too.
    let text = String::from_utf8(edited_manifest(|_| {})).unwrap();
    let bad = text.replacen("{", "{\"extra\":1,", 1);
    assert!(KeyManifest::open(bad.as_bytes(), "manifest")
        .unwrap_err()
        .to_string()
        .contains("unknown field"));
}

#[test]
fn a_manifest_for_another_round_shape_is_refused() {
    // Signed and well formed, but for three assets: it names none of this round's circuits.
    let other = edited_manifest(|m| {
        let shape = m.solvency.as_mut().unwrap();
        shape.num_assets = 3;
        m.keys = std::mem::take(&mut m.keys)
            .into_iter()
            .map(|(k, v)| (k.replace("-K2-", "-K3-"), v))
            .collect();
    });
    let pinned = [KeyManifest::open(&other, "manifest").unwrap()];
    let e = verify_round(
        &bundle(),
        &RoundOptions {
            trusted_keys: TrustedKeys::Manifests(&pinned),
            ..RoundOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no pinned key manifest has a key for this circuit"),
        "{e}"
    );
}

#[test]
fn a_pinned_key_in_another_role_is_refused() {
    // The manifest names the setup's keys, but the batch circuit's name points at the top key:
    // a proof is accepted only under the key pinned for its own circuit.
    let b = bundle();
    let top = b.aggregations.last().unwrap()[0].key.clone();
    let swapped = edited_manifest(|m| {
        m.keys
            .insert("solvency-batch-K2-w32-B4".into(), top.clone());
    });
    let pinned = [KeyManifest::open(&swapped, "manifest").unwrap()];
    let e = verify_round(
        &b,
        &RoundOptions {
            trusted_keys: TrustedKeys::Manifests(&pinned),
            ..RoundOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("batch proof 0"), "{e}");
}

#[test]
fn the_publication_key_and_bundle_hash_pins_are_checked() {
    let b = bundle();
    let r = record("user-2");
    let good = RoundOptions {
        publication_key: Some(&b.publication_key),
        ..opts()
    };
    verify_inclusion_with(&r, &b, &good).unwrap();
    let hash = b.hash();
    let with_hash = RoundOptions {
        bundle_hash: Some(&hash),
        ..opts()
    };
    verify_inclusion_with(&r, &b, &with_hash).unwrap();
    let other_key = hex::encode(
        SigningKey::from_bytes(&[8u8; 32])
            .verifying_key()
            .to_bytes(),
    );
    let e = verify_inclusion_with(
        &r,
        &b,
        &RoundOptions {
            publication_key: Some(&other_key),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::Untrusted(_)), "{e}");
    assert!(e.to_string().contains(&other_key), "{e}");
    let e = verify_round(
        &b,
        &RoundOptions {
            bundle_hash: Some(&"00".repeat(32)),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::Untrusted(_)), "{e}");
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
