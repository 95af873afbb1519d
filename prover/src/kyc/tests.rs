//! End-to-end KYC flow: issuer, holder, relying party, and what each must refuse.

use super::holder::{self, HolderFile, ProveInputs};
use super::issuer::{Issuer, IssuerKeys, KEYSTORE_FILE};
use super::*;
use crate::keystore::{KdfCost, Keystore};
use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use assay_circuits::kyc::jurisdiction::Jurisdiction;
use assay_rp::ChallengeStore;
use assay_verifier::kyc::formats::{
    from_json, verify_epoch_chain, BackendMap, Epoch, EpochChainError, KycProof, Policy,
    PublishedEpochs, KYC_FORMAT_VERSION,
};
use assay_verifier::kyc::{verify_with_options, KycOptions, KycVerifyError};
use assay_verifier::Backend;
use std::sync::OnceLock;

pub(crate) const PASS: &str = "issuer passphrase";

/// The relying party's check, trusting the Groth16 key of the tests' one setup (made by
/// [`shared_keys`], standing in for `assay solvency setup --kyc`; the pinning itself is tested
/// in `tests/kyc_cli.rs` and `tests/frozen_fixtures.rs`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify(
    proof: &KycProof,
    epoch: &Epoch,
    published: &PublishedEpochs,
    issuer: &assay_verifier::kyc::formats::IssuerPublic,
    policy: &Policy,
    challenge: &assay_verifier::kyc::formats::Challenge,
    now: i64,
) -> Result<assay_verifier::kyc::VerifiedPresentation, KycVerifyError> {
    let opts = KycOptions {
        groth16_keys: assay_verifier::groth16::TrustedKeys::InsecureBundleKeys,
        ..KycOptions::default()
    };
    verify_with_options(
        proof, epoch, published, issuer, policy, challenge, now, &opts,
    )
}
/// 2025-11-23T12:00:00Z.
pub(crate) const NOW: i64 = 20_415 * 86_400 + 12 * 3600;

struct SharedKeys {
    dir: tempfile::TempDir,
    pk: ProvingKey<Bn254>,
}

/// One Groth16 setup for every test of this module.
fn shared_keys() -> &'static SharedKeys {
    static K: OnceLock<SharedKeys> = OnceLock::new();
    K.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (_, hash) = keys::vk_bytes_and_hash(&kyc_setup(dir.path()));
        let pk = keys::load_proving_key(dir.path(), &hash).unwrap();
        SharedKeys { dir, pk }
    })
}

/// The setup party's run for the KYC circuit alone (what `assay solvency setup --kyc` does),
/// into `dir`, signed by a test key; returns the verifying key.
pub(crate) fn kyc_setup(dir: &Path) -> VerifyingKey<Bn254> {
    let signer = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let m = crate::keys::setup(
        dir,
        crate::keys::SetupScope {
            solvency: None,
            kyc: true,
        },
        &signer,
        "2025-11-23T12:00:00Z".into(),
    )
    .unwrap();
    let hash = &m.keys[keys::KYC_SHAPE];
    keys::load_proving_key(dir, hash).unwrap().vk
}

pub(crate) fn new_issuer(dir: &Path) -> Issuer {
    let k = shared_keys();
    Issuer::init_with(
        dir,
        "kyc-provider-1",
        PASS,
        KdfCost::MINIMUM,
        IssuerKeys::Setup(k.dir.path()),
    )
    .unwrap()
}

/// A Groth16-only holder commitment.
fn g16(hid: assay_circuits::Fr) -> BackendMap<String> {
    BackendMap::from([(Backend::Groth16, assay_circuits::field::to_decimal(&hid))])
}

pub(crate) fn sanctions() -> Policy {
    let text = include_str!("../../../fixtures/kyc/policy-sanctions-example.json");
    from_json("policy", text).unwrap()
}

struct Flow {
    _tmp: tempfile::TempDir,
    issuer: Issuer,
    holder: HolderFile,
    credential: assay_verifier::kyc::formats::Credential,
    epoch: Epoch,
    store: ChallengeStore,
}

fn flow(code: &str) -> Flow {
    let tmp = tempfile::tempdir().unwrap();
    let mut issuer = new_issuer(&tmp.path().join("issuer"));
    // Other holders first, so the serial is not 0.
    for i in 0..3u64 {
        issuer
            .issue(
                &g16(assay_circuits::Fr::from(100 + i)),
                Jurisdiction::parse("DE").unwrap(),
                20_800,
                NOW,
            )
            .unwrap();
    }
    let holder = HolderFile::generate().unwrap();
    let credential = issuer
        .issue(
            &g16(holder
                .secret()
                .map(assay_circuits::kyc::holder_commitment)
                .unwrap()),
            Jurisdiction::parse(code).unwrap(),
            20_800,
            NOW,
        )
        .unwrap();
    let epoch = issuer.publish(PASS, NOW - 60).unwrap();
    let store = ChallengeStore::open(&tmp.path().join("rp.sqlite"), true).unwrap();
    Flow {
        _tmp: tmp,
        issuer,
        holder,
        credential,
        epoch,
        store,
    }
}

/// The issuer's published epoch chain, as a relying party checks it.
fn published(f: &Flow) -> PublishedEpochs {
    let epochs = f.issuer.epochs().unwrap();
    let named = epochs
        .into_iter()
        .map(|e| (format!("epoch-{}.json", e.epoch), e))
        .collect();
    PublishedEpochs::verify(named, &f.issuer.public().key().unwrap()).unwrap()
}

fn prove_for(
    f: &Flow,
    policy: &Policy,
    challenge: &assay_verifier::kyc::formats::Challenge,
) -> Result<KycProof, KycError> {
    let path = f.issuer.path(f.credential.serial)?;
    holder::prove(
        &ProveInputs {
            holder: &f.holder,
            credential: &f.credential,
            path: &path,
            epoch: &f.epoch,
            policy,
            challenge,
            expected_scope: &challenge.scope,
        },
        Some(f.issuer.public()),
        &shared_keys().pk,
        NOW,
    )
}

#[test]
fn end_to_end_and_replay() {
    let f = flow("UA-30");
    let policy = sanctions();
    let ch = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    let proof = prove_for(&f, &policy, &ch).unwrap();
    // The published leaves give the same path as the issuer.
    let leaves = f.issuer.latest_leaves().unwrap();
    assert_eq!(
        leaves.path(f.credential.serial).unwrap(),
        f.issuer.path(f.credential.serial).unwrap()
    );
    let mut bad = leaves.clone();
    bad.backends.get_mut(&Backend::Groth16).unwrap().leaves[0] = "5".into();
    assert!(bad.path(f.credential.serial).is_err(), "tampered leaves");
    assert!(leaves.path(99).is_err());
    // The proof survives a JSON round trip with unknown fields refused.
    let text = serde_json::to_string(&proof).unwrap();
    let proof: KycProof = from_json("proof", &text).unwrap();
    f.store.check(&ch, NOW).unwrap();
    let ok = verify(
        &proof,
        &f.epoch,
        &published(&f),
        f.issuer.public(),
        &policy,
        &ch,
        NOW,
    )
    .unwrap();
    assert_eq!(ok.nullifier, proof.public_inputs.nullifier);
    f.store.spend(&ok.nonce, &ok.scope, NOW).unwrap();
    // Replay: the proof still verifies cryptographically, but the store refuses the nonce.
    assert!(f
        .store
        .check(&ch, NOW)
        .unwrap_err()
        .to_string()
        .contains("already used"));
    assert!(f.store.spend(&ok.nonce, &ok.scope, NOW).is_err());
    // A challenge this relying party never issued.
    let other = ChallengeStore::open(&f._tmp.path().join("other.sqlite"), true).unwrap();
    let foreign = other
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    assert!(f
        .store
        .check(&foreign, NOW)
        .unwrap_err()
        .to_string()
        .contains("not issued"));
    // An expired one.
    let ch2 = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 10, NOW)
        .unwrap();
    assert!(f
        .store
        .check(&ch2, NOW + 11)
        .unwrap_err()
        .to_string()
        .contains("expired"));
}

#[test]
fn restricted_holders_cannot_prove() {
    let policy = sanctions();
    for code in ["UA-43", "UA", "IR-01", "CU"] {
        let f = flow(code);
        let ch = f
            .store
            .issue("bank-a", Some(Backend::Groth16), 600, NOW)
            .unwrap();
        let err = prove_for(&f, &policy, &ch).unwrap_err();
        assert!(matches!(err, KycError::Statement(_)), "{code}: {err}");
        assert!(err.to_string().contains("restricted"), "{code}: {err}");
    }
}

#[test]
fn verifier_reasons() {
    let f = flow("FR");
    let policy = sanctions();
    let ch = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    let proof = prove_for(&f, &policy, &ch).unwrap();
    let pubf = f.issuer.public();
    let chain = published(&f);
    let v = |p: &KycProof,
             e: &Epoch,
             pol: &Policy,
             c: &assay_verifier::kyc::formats::Challenge,
             now: i64| { verify(p, e, &chain, pubf, pol, c, now) };
    assert!(v(&proof, &f.epoch, &policy, &ch, NOW).is_ok());

    // Epoch signature: a forged epoch (root changed) and an epoch signed by another key.
    let mut forged = f.epoch.clone();
    forged.roots.insert(Backend::Groth16, "1".into());
    assert!(matches!(
        v(&proof, &forged, &policy, &ch, NOW),
        Err(KycVerifyError::EpochSignature(_))
    ));
    let tmp = tempfile::tempdir().unwrap();
    let mut other = new_issuer(tmp.path());
    let mut foreign_epoch = other.publish(PASS, NOW).unwrap();
    foreign_epoch.roots = f.epoch.roots.clone();
    assert!(matches!(
        v(&proof, &foreign_epoch, &policy, &ch, NOW),
        Err(KycVerifyError::EpochSignature(_))
    ));

    // Epoch age.
    let old = NOW + policy.max_epoch_age_seconds as i64 + 1;
    let ch_late = {
        let mut c = ch.clone();
        c.expires_at = assay_verifier::kyc::time::format_rfc3339(old + 10);
        c
    };
    assert!(matches!(
        v(&proof, &f.epoch, &policy, &ch_late, old),
        Err(KycVerifyError::EpochAge(_))
    ));

    // Policy root: the relying party's policy differs.
    let mut strict = policy.clone();
    strict.countries.push("FR".into());
    assert!(matches!(
        v(&proof, &f.epoch, &strict, &ch, NOW),
        Err(KycVerifyError::PolicyRoot { .. })
    ));
    let mut renamed_but_lenient = policy.clone();
    renamed_but_lenient.regions.clear();
    assert!(matches!(
        v(&proof, &f.epoch, &renamed_but_lenient, &ch, NOW),
        Err(KycVerifyError::PolicyRoot { .. })
    ));

    // Today: the next day (with an epoch age the policy still accepts).
    let mut patient = policy.clone();
    patient.max_epoch_age_seconds = 3 * 86_400;
    let ch_next_day = {
        let mut c = ch.clone();
        c.expires_at = assay_verifier::kyc::time::format_rfc3339(NOW + 2 * 86_400);
        c
    };
    let e = v(&proof, &f.epoch, &patient, &ch_next_day, NOW + 86_400).unwrap_err();
    assert!(matches!(e, KycVerifyError::Today { .. }), "{e}");

    // Challenge: another nonce, another scope, expired.
    let ch_other = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    assert!(matches!(
        v(&proof, &f.epoch, &policy, &ch_other, NOW),
        Err(KycVerifyError::Challenge(_))
    ));
    let mut scoped = ch.clone();
    scoped.scope = "bank-b".into();
    assert!(matches!(
        v(&proof, &f.epoch, &policy, &scoped, NOW),
        Err(KycVerifyError::Challenge(_))
    ));
    assert!(matches!(
        v(&proof, &f.epoch, &policy, &ch, NOW + 601),
        Err(KycVerifyError::Challenge(_))
    ));

    // The public inputs edited in the proof file: the Groth16 check refuses them.
    let mut edited = proof.clone();
    edited.public_inputs.nullifier = "12345".into();
    assert!(matches!(
        v(&edited, &f.epoch, &policy, &ch, NOW),
        Err(KycVerifyError::Proof)
    ));
    // And a proof with scope and challenge rewritten to another relying party's.
    let mut moved = proof.clone();
    moved.public_inputs.challenge = ch_other.nonce.clone();
    assert!(matches!(
        v(&moved, &f.epoch, &policy, &ch_other, NOW),
        Err(KycVerifyError::Proof)
    ));

    // Truncated proof, points off the curve, not hex: malformed, no panic.
    let mut truncated = proof.clone();
    truncated.proof.truncate(100);
    let e = v(&truncated, &f.epoch, &policy, &ch, NOW).unwrap_err();
    assert!(
        matches!(e, KycVerifyError::MalformedProof(_)) && e.is_bad_input(),
        "{e}"
    );
    let mut off = proof.clone();
    let mut bytes = hex::decode(&proof.proof).unwrap();
    for b in &mut bytes[..32] {
        *b = 0x11;
    }
    off.proof = hex::encode(&bytes);
    let e = v(&off, &f.epoch, &policy, &ch, NOW).unwrap_err();
    assert!(
        matches!(e, KycVerifyError::MalformedProof(_) | KycVerifyError::Proof),
        "{e}"
    );
    let mut all_ff = proof.clone();
    all_ff.proof = "ff".repeat(128);
    assert!(v(&all_ff, &f.epoch, &policy, &ch, NOW)
        .unwrap_err()
        .is_bad_input());
    let mut not_hex = proof.clone();
    not_hex.proof = "zz".into();
    assert!(v(&not_hex, &f.epoch, &policy, &ch, NOW)
        .unwrap_err()
        .is_bad_input());
    let mut bad_field = proof.clone();
    bad_field.public_inputs.registry_root = "-1".into();
    assert!(v(&bad_field, &f.epoch, &policy, &ch, NOW)
        .unwrap_err()
        .is_bad_input());
}

#[test]
fn revocation_takes_effect_at_the_next_epoch() {
    let mut f = flow("FR");
    let policy = sanctions();
    let ch = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    let old_path = f.issuer.path(f.credential.serial).unwrap();
    let proof = prove_for(&f, &policy, &ch).unwrap();
    f.issuer.revoke(f.credential.serial).unwrap();
    assert!(
        f.issuer.revoke(f.credential.serial).is_err(),
        "revoked twice"
    );
    assert!(f.issuer.revoke(999).is_err());
    // Until the next epoch, the old one stands.
    assert!(f.issuer.path(f.credential.serial).is_ok());
    let new_epoch = f.issuer.publish(PASS, NOW).unwrap();
    assert!(f
        .issuer
        .path(f.credential.serial)
        .unwrap_err()
        .to_string()
        .contains("revoked"));
    // The old proof against the new epoch: wrong registry root.
    let e = verify(
        &proof,
        &new_epoch,
        &published(&f),
        f.issuer.public(),
        &policy,
        &ch,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, KycVerifyError::RegistryRoot { .. }), "{e}");
    // Proving afresh against the new epoch with the old path is refused by the holder.
    let err = holder::prove(
        &ProveInputs {
            holder: &f.holder,
            credential: &f.credential,
            path: &old_path,
            epoch: &new_epoch,
            policy: &policy,
            challenge: &ch,
            expected_scope: &ch.scope,
        },
        None,
        &shared_keys().pk,
        NOW,
    )
    .unwrap_err();
    assert!(err.to_string().contains("not under epoch"), "{err}");
    // The chain of epochs verifies; reordered or forged, it does not.
    f.epoch = new_epoch;
    let epochs = f.issuer.epochs().unwrap();
    let key = f.issuer.public().key().unwrap();
    verify_epoch_chain(&epochs, &key).unwrap();
    let mut reordered = epochs.clone();
    reordered.swap(0, 1);
    assert!(verify_epoch_chain(&reordered, &key).is_err());
    let mut forged = epochs.clone();
    forged[0].time = "2026-11-23T00:00:00Z".into();
    assert!(verify_epoch_chain(&forged, &key)
        .unwrap_err()
        .to_string()
        .contains("signature"));
    let mut dropped = epochs.clone();
    let third = f.issuer.publish(PASS, NOW).unwrap();
    dropped.push(third);
    dropped.remove(1);
    assert!(verify_epoch_chain(&dropped, &key).is_err());
}

#[test]
fn issuing_refuses_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let mut issuer = new_issuer(tmp.path());
    let hid = assay_circuits::Fr::from(5u64);
    let fr = Jurisdiction::parse("FR").unwrap();
    assert!(issuer
        .issue(&g16(hid), fr, 20_415, NOW)
        .unwrap_err()
        .to_string()
        .contains("not after today"));
    assert!(issuer.issue(&g16(hid), fr, 1 << 40, NOW).is_err());
    assert!(issuer.issue(&BackendMap::new(), fr, 20_800, NOW).is_err());
    assert!(Jurisdiction::parse("XX-99").is_err());
    assert_eq!(issuer.issued_count().unwrap(), 0);
    assert!(issuer.path(0).unwrap_err().to_string().contains("no epoch"));
    // A second init in the same place is refused.
    let k = shared_keys();
    assert!(Issuer::init_with(
        tmp.path(),
        "x",
        PASS,
        KdfCost::MINIMUM,
        IssuerKeys::Setup(k.dir.path())
    )
    .is_err());
    // Keys that no signed setup manifest names are refused before anything is written: a
    // folder of keys without a manifest (the issuer's own), a manifest without its key files.
    let own = tempfile::tempdir().unwrap();
    keys::generate(own.path()).unwrap();
    let fresh = tmp.path().join("second");
    let e = Issuer::init_with(
        &fresh,
        "x",
        PASS,
        KdfCost::MINIMUM,
        IssuerKeys::Setup(own.path()),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("manifest"), "{e}");
    assert!(!fresh.exists());
    let no_kyc = tempfile::tempdir().unwrap();
    std::fs::copy(
        k.dir.path().join(crate::keys::MANIFEST_FILE),
        no_kyc.path().join(crate::keys::MANIFEST_FILE),
    )
    .unwrap();
    let e = Issuer::init_with(
        &fresh,
        "x",
        PASS,
        KdfCost::MINIMUM,
        IssuerKeys::Setup(no_kyc.path()),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains(".vk") || e.contains("No such file"), "{e}");
    assert!(!fresh.exists());
    // Wrong passphrase at publish.
    assert!(matches!(
        issuer.publish("nope", NOW),
        Err(KycError::Keystore(_))
    ));
    // Malformed and unknown-field documents.
    let e = from_json::<Policy>("policy", r#"{"version":1,"name":"x","countries":[],"regions":[],"max_epoch_age_seconds":1,"colour":"red"}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = from_json::<Policy>(
        "policy",
        r#"{"version":3,"name":"x","countries":[],"regions":[],"max_epoch_age_seconds":1}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("version"), "{e}");
    let p: Policy = from_json(
        "policy",
        r#"{"version":1,"name":"x","countries":["ZZ"],"regions":[],"max_epoch_age_seconds":1}"#,
    )
    .unwrap();
    assert!(p.tree().unwrap_err().to_string().contains("ZZ"));
    assert!(from_json::<Epoch>("epoch", "{").is_err());
}

#[test]
fn issuer_directory_holds_no_plaintext_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut issuer = new_issuer(tmp.path());
    issuer
        .issue(
            &g16(assay_circuits::Fr::from(9u64)),
            Jurisdiction::parse("FR").unwrap(),
            20_800,
            NOW,
        )
        .unwrap();
    issuer.publish(PASS, NOW).unwrap();
    let key = Keystore::open(&tmp.path().join(KEYSTORE_FILE), PASS).unwrap();
    let secret = key.to_bytes();
    let hexed = hex::encode(secret);
    let mut scanned = 0;
    let mut stack = vec![tmp.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(32).any(|w| w == secret),
                "{} holds the raw key",
                p.display()
            );
            assert!(
                !String::from_utf8_lossy(&bytes)
                    .to_lowercase()
                    .contains(&hexed),
                "{} holds the hex key",
                p.display()
            );
            scanned += 1;
        }
    }
    assert!(scanned >= 5, "scanned {scanned} files");
    // A tampered keystore is refused.
    let ks = tmp.path().join(KEYSTORE_FILE);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ks).unwrap()).unwrap();
    let mut ct = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
    ct[3] ^= 0x80;
    v["ciphertext"] = hex::encode(ct).into();
    std::fs::write(&ks, serde_json::to_string(&v).unwrap()).unwrap();
    assert!(matches!(
        issuer.publish(PASS, NOW),
        Err(KycError::Keystore(crate::keystore::KeystoreError::Unlock(
            _
        )))
    ));
}

/// The child half of [`kill_during_issue_leaves_whole_credentials`]: issues forever into the
/// issuer directory named by `ASSAY_CRASH_DIR` (ignored unless run by the parent).
#[test]
#[ignore = "run by kill_during_issue_leaves_whole_credentials as a child process"]
fn crash_child_issue_forever() {
    let Ok(dir) = std::env::var("ASSAY_CRASH_DIR") else {
        return;
    };
    let mut issuer = Issuer::open(Path::new(&dir)).unwrap();
    let fr = Jurisdiction::parse("FR-20R").unwrap();
    for i in 0u64.. {
        issuer
            .issue(&g16(assay_circuits::Fr::from(i + 1)), fr, 20_800, NOW)
            .unwrap();
    }
}

#[test]
fn kill_during_issue_leaves_whole_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("issuer");
    drop(new_issuer(&dir));
    let exe = std::env::current_exe().unwrap();
    let mut total_before = 0;
    for round in 0..3u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "kyc::tests::crash_child_issue_forever",
                "--ignored",
                "--nocapture",
            ])
            .env("ASSAY_CRASH_DIR", &dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300 + 170 * round));
        child.kill().unwrap(); // SIGKILL on Unix: no destructor, no rollback by the child
        child.wait().unwrap();
        // Every credential present is whole, serials are 0..n without gaps or reuse.
        let mut issuer = Issuer::open(&dir).unwrap();
        let n = issuer.issued_count().unwrap();
        assert!(n >= total_before, "credentials lost");
        let epoch = issuer.publish(PASS, NOW).unwrap();
        let conn = rusqlite::Connection::open(dir.join(super::issuer::REGISTRY_FILE)).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT c.serial, l.leaf, l.holder_commitment, c.jurisdiction, c.expiry_day
                 FROM credentials c JOIN leaves l ON l.serial = c.serial
                 WHERE l.backend = 'groth16-bn254' ORDER BY c.serial",
            )
            .unwrap();
        let rows: Vec<(i64, String, String, String, i64)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len() as u64, n);
        for (i, (serial, leaf, hid, jur, exp)) in rows.iter().enumerate() {
            assert_eq!(*serial, i as i64, "serial gap or reuse");
            let expect = assay_circuits::kyc::credential(
                assay_circuits::field::from_decimal(hid).unwrap(),
                Jurisdiction::parse(jur).unwrap().to_fr(),
                assay_circuits::Fr::from(*exp as u64),
                assay_circuits::Fr::from(*serial as u64),
            );
            assert_eq!(&expect.to_string(), leaf, "torn credential {serial}");
        }
        // The next issue continues the sequence.
        let c = issuer
            .issue(
                &g16(assay_circuits::Fr::from(7u64)),
                Jurisdiction::parse("FR").unwrap(),
                20_800,
                NOW,
            )
            .unwrap();
        assert_eq!(c.serial, n);
        total_before = n + 1;
        assert_eq!(epoch.epoch, round);
    }
    assert!(
        total_before > 3,
        "the child issued nothing ({total_before})"
    );
    let _ = KYC_FORMAT_VERSION;
}

/// Writes the public v1 KYC fixtures (`fixtures/kyc/v1/`) when `ASSAY_WRITE_KYC_V1_FIXTURES`
/// names a folder: a pre-Halo2 epoch 0 (no `root_halo2`), epoch 1 with both roots, its leaves,
/// two credentials (without and with a Halo2 leaf), their paths, and a registry database of
/// the earlier schema (leaf columns in `credentials`) holding the same credentials and epochs.
/// Only public files: the issuer's key and the holder's secret stay in a temporary folder.
/// (The committed files were written by this helper's first version, with the v1 code.)
#[test]
fn write_v1_fixtures() {
    let Some(out) = std::env::var_os("ASSAY_WRITE_KYC_V1_FIXTURES") else {
        return;
    };
    use ed25519_dalek::Signer;
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("issuer");
    let mut issuer = new_issuer(&dir);
    let key = Keystore::open(&dir.join(KEYSTORE_FILE), PASS).unwrap();
    let v1_epoch = |epoch: u64, roots: BackendMap<String>, time: i64, prev: Option<String>| {
        let mut e = Epoch {
            version: KYC_FORMAT_VERSION,
            issuer_id: "kyc-provider-1".into(),
            epoch,
            roots,
            time: assay_verifier::kyc::time::format_rfc3339(time),
            prev_epoch_hash: prev,
            signature: String::new(),
            handover: None,
        };
        e.signature = hex::encode(key.sign(&e.message().unwrap()).to_bytes());
        e
    };
    let roots = |l: &assay_verifier::kyc::formats::EpochLeaves| -> BackendMap<String> {
        l.backends
            .iter()
            .map(|(b, e)| (*b, e.root.clone()))
            .collect()
    };
    // Credential 0: issued before Halo2 support (no Halo2 commitment).
    let mut c0 = issuer
        .issue(
            &g16(assay_circuits::Fr::from(100u64)),
            Jurisdiction::parse("DE").unwrap(),
            20_800,
            NOW,
        )
        .unwrap();
    issuer.publish(PASS, NOW).unwrap();
    let mut r0 = roots(&issuer.latest_leaves().unwrap());
    r0.remove(&Backend::Halo2);
    // Version 1 knows Groth16 and Halo2 only.
    r0.remove(&Backend::Stark);
    let e0 = v1_epoch(0, r0, NOW, None);
    // Credential 1: with both commitments.
    let mut holder = HolderFile::generate().unwrap();
    holder.commitments.remove(&Backend::Stark);
    let mut c1 = issuer
        .issue(
            &holder.commitments,
            Jurisdiction::parse("UA-30").unwrap(),
            20_800,
            NOW,
        )
        .unwrap();
    issuer.publish(PASS, NOW + 3600).unwrap();
    let mut l1 = issuer.latest_leaves().unwrap();
    l1.backends.remove(&Backend::Stark);
    assert_eq!(l1.backends.len(), 2);
    let e1 = v1_epoch(1, roots(&l1), NOW + 3600, Some(e0.hash().unwrap()));
    verify_epoch_chain(&[e0.clone(), e1.clone()], &issuer.public().key().unwrap()).unwrap();
    let (mut p0, mut p1) = (l1.path(0).unwrap(), l1.path(1).unwrap());
    // Version 1 writes the v1 shape.
    (c0.version, c1.version, l1.version, p0.version, p1.version) = (1, 1, 1, 1, 1);
    write_doc(&out.join("issuer-public.json"), issuer.public()).unwrap();
    write_doc(&out.join("epoch-0.json"), &e0).unwrap();
    write_doc(&out.join("epoch-1.json"), &e1).unwrap();
    write_doc(&out.join("leaves-1.json"), &l1).unwrap();
    write_doc(&out.join("credential-0.json"), &c0).unwrap();
    write_doc(&out.join("credential-1.json"), &c1).unwrap();
    write_doc(&out.join("path-0.json"), &p0).unwrap();
    write_doc(&out.join("path-1.json"), &p1).unwrap();
    drop(issuer);
    let db = out.join("registry.sqlite");
    let _ = std::fs::remove_file(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS new",
        [dir.join(super::issuer::REGISTRY_FILE).to_str().unwrap()],
    )
    .unwrap();
    // The schema before per-backend leaves (after the Halo2 columns were added).
    conn.execute_batch(
        "CREATE TABLE main.meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
         CREATE TABLE main.credentials (
             serial INTEGER PRIMARY KEY CHECK (serial >= 0 AND serial < 4294967296),
             leaf TEXT NOT NULL, holder_commitment TEXT NOT NULL, jurisdiction TEXT NOT NULL,
             expiry_day INTEGER NOT NULL, issued_at INTEGER NOT NULL, revoked_from_epoch INTEGER,
             leaf_halo2 TEXT, holder_commitment_halo2 TEXT);
         CREATE TABLE main.epochs (epoch INTEGER PRIMARY KEY, leaf_count INTEGER NOT NULL,
             hash TEXT NOT NULL, json TEXT NOT NULL);
         CREATE TRIGGER main.credentials_never_deleted BEFORE DELETE ON credentials
         BEGIN SELECT RAISE(ABORT, 'credentials are never deleted: serials are never reused'); END;
         CREATE TRIGGER main.epochs_never_deleted BEFORE DELETE ON epochs
         BEGIN SELECT RAISE(ABORT, 'epochs are never deleted'); END;
         INSERT INTO main.meta SELECT * FROM new.meta;
         INSERT INTO main.credentials
             SELECT c.serial, g.leaf, g.holder_commitment, c.jurisdiction, c.expiry_day,
                    c.issued_at, c.revoked_from_epoch, h.leaf, h.holder_commitment
             FROM new.credentials c
             JOIN new.leaves g ON g.serial = c.serial AND g.backend = 'groth16-bn254'
             LEFT JOIN new.leaves h ON h.serial = c.serial AND h.backend = 'halo2-ipa-pasta';",
    )
    .unwrap();
    for (e, count) in [(&e0, 1), (&e1, 2)] {
        conn.execute(
            "INSERT INTO main.epochs (epoch, leaf_count, hash, json) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                e.epoch as i64,
                count,
                e.hash().unwrap(),
                serde_json::to_string(e).unwrap()
            ],
        )
        .unwrap();
    }
}

/// A registry created with the earlier schema (leaf columns in `credentials`, frozen in
/// `fixtures/kyc/v1/registry.sqlite`) is migrated in place: its epochs, leaves and paths are
/// unchanged, and the next epoch (v2) chains to its last (v1) epoch.
#[test]
fn a_registry_of_the_earlier_schema_is_migrated_in_place() {
    use super::issuer::{PUBLIC_FILE, REGISTRY_FILE};
    use assay_verifier::kyc::formats::{EpochLeaves, RegistryPath};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join(REGISTRY_FILE);
    std::fs::write(
        &db,
        include_bytes!("../../../fixtures/kyc/v1/registry.sqlite"),
    )
    .unwrap();
    std::fs::write(
        dir.join(PUBLIC_FILE),
        include_str!("../../../fixtures/kyc/v1/issuer-public.json"),
    )
    .unwrap();
    let columns = || -> Vec<String> {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut st = c
            .prepare("SELECT name FROM pragma_table_info('credentials')")
            .unwrap();
        let names = st.query_map([], |r| r.get(0)).unwrap();
        names.collect::<Result<_, _>>().unwrap()
    };
    assert!(columns().contains(&"leaf_halo2".to_string()));
    let e0: Epoch = from_json(
        "epoch",
        include_str!("../../../fixtures/kyc/v1/epoch-0.json"),
    )
    .unwrap();
    let e1: Epoch = from_json(
        "epoch",
        include_str!("../../../fixtures/kyc/v1/epoch-1.json"),
    )
    .unwrap();
    let leaves: EpochLeaves = from_json(
        "leaves",
        include_str!("../../../fixtures/kyc/v1/leaves-1.json"),
    )
    .unwrap();
    let p0: RegistryPath =
        from_json("path", include_str!("../../../fixtures/kyc/v1/path-0.json")).unwrap();
    let p1: RegistryPath =
        from_json("path", include_str!("../../../fixtures/kyc/v1/path-1.json")).unwrap();

    let mut issuer = Issuer::open(dir).unwrap();
    let cols = columns();
    for gone in [
        "leaf",
        "holder_commitment",
        "leaf_halo2",
        "holder_commitment_halo2",
    ] {
        assert!(!cols.contains(&gone.to_string()), "{gone} left in {cols:?}");
    }
    assert_eq!(issuer.epochs().unwrap(), vec![e0, e1.clone()]);
    assert_eq!(issuer.latest_leaves().unwrap().backends, leaves.backends);
    assert_eq!(issuer.path(0).unwrap().backends, p0.backends);
    assert_eq!(issuer.path(1).unwrap().backends, p1.backends);
    assert_eq!(issuer.issued_count().unwrap(), 2);
    let rows: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM leaves", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3, "two Groth16 leaves and one Halo2 leaf");
    // The next epoch is v2, has the same roots (nothing issued since) and names epoch 1's
    // (v1) hash.
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let e2 = issuer.publish_with_key(&key, NOW + 7200).unwrap();
    assert_eq!(e2.version, assay_verifier::kyc::formats::KYC_FORMAT_V2);
    // Built with the STARK, the next epoch also signs a STARK root: that of a registry
    // whose leaves are all empty (these credentials predate it, no STARK commitment).
    let mut roots = e2.roots.clone();
    if cfg!(feature = "stark") {
        assert!(roots.remove(&Backend::Stark).is_some());
    }
    assert_eq!(roots, e1.roots);
    assert_eq!(e2.prev_epoch_hash, Some(e1.hash().unwrap()));
    assert!(e2.verify_signature(&key.verifying_key()).unwrap());
    // Opening again changes nothing.
    drop(issuer);
    let issuer = Issuer::open(dir).unwrap();
    assert_eq!(issuer.epochs().unwrap().len(), 3);
    assert_eq!(issuer.path(1).unwrap().backends, p1.backends);
}

/// Defect 4 of issue 11: a challenge naming another scope than the one the holder expects is
/// refused before proving (answering it would hand over the holder's nullifier of that other
/// relying party). Without `holder::check_challenge` the proof is made.
#[test]
fn a_foreign_scope_is_refused_before_proving() {
    let f = flow("FR");
    let policy = sanctions();
    let ch = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    let path = f.issuer.path(f.credential.serial).unwrap();
    let inputs = |expected_scope| ProveInputs {
        holder: &f.holder,
        credential: &f.credential,
        path: &path,
        epoch: &f.epoch,
        policy: &policy,
        challenge: &ch,
        expected_scope,
    };
    let e = holder::prove(&inputs("bank-b"), None, &shared_keys().pk, NOW).unwrap_err();
    assert!(matches!(e, KycError::Input(_)), "{e}");
    assert!(
        e.to_string()
            .contains("names scope `bank-a`, but this relying party is `bank-b`"),
        "{e}"
    );
    assert!(holder::prove(&inputs(""), None, &shared_keys().pk, NOW).is_err());
    // A challenge of the right scope but for the other backend is refused too.
    let mut halo2_only = ch.clone();
    halo2_only.backend = Some(Backend::Halo2);
    let e = holder::prove(
        &ProveInputs {
            challenge: &halo2_only,
            ..inputs("bank-a")
        },
        None,
        &shared_keys().pk,
        NOW,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("accepts only halo2-ipa-pasta"),
        "{e}"
    );
    holder::prove(&inputs("bank-a"), None, &shared_keys().pk, NOW).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Defect 6 of issue 11: an epoch the issuer signed but did not publish in its chain (made for
/// one holder's path request, it would tag that holder) is refused by the relying party, and
/// a forked chain (two signed epochs with one number) is reported naming both files. Without
/// the chain check in `verify`, the presentation under the unpublished epoch is accepted.
#[test]
fn an_unpublished_epoch_is_refused_and_a_fork_is_reported() {
    let mut f = flow("FR");
    let policy = sanctions();
    let published_chain = published(&f);
    // The issuer makes a fresh epoch for this holder alone and does not publish it.
    let private_epoch = f.issuer.publish(PASS, NOW - 30).unwrap();
    assert!(!published_chain.contains(&private_epoch));
    f.epoch = private_epoch.clone();
    let ch = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    let proof = prove_for(&f, &policy, &ch).unwrap();
    let e = verify(
        &proof,
        &private_epoch,
        &published_chain,
        f.issuer.public(),
        &policy,
        &ch,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, KycVerifyError::EpochNotPublished(_)), "{e}");
    assert!(
        e.to_string()
            .contains("not the epoch 1 of its published chain"),
        "{e}"
    );
    // Once published (the whole chain), it is accepted.
    verify(
        &proof,
        &private_epoch,
        &published(&f),
        f.issuer.public(),
        &policy,
        &ch,
        NOW,
    )
    .unwrap();

    // A fork: a copy of the issuer publishes another epoch 2 with the same key.
    let dir = f._tmp.path().join("issuer");
    let copy = f._tmp.path().join("issuer-fork");
    copy_dir(&dir, &copy);
    let mut twin = Issuer::open(&copy).unwrap();
    let a = f.issuer.publish(PASS, NOW - 20).unwrap();
    twin.issue(
        &g16(assay_circuits::Fr::from(7u64)),
        Jurisdiction::parse("DE").unwrap(),
        20_800,
        NOW,
    )
    .unwrap();
    let b = twin.publish(PASS, NOW - 20).unwrap();
    assert_eq!((a.epoch, b.epoch), (2, 2));
    let mut named: Vec<(String, Epoch)> = f
        .issuer
        .epochs()
        .unwrap()
        .into_iter()
        .map(|e| (format!("epoch-{}.json", e.epoch), e))
        .collect();
    named.push(("fork/epoch-2.json".into(), b));
    let key = f.issuer.public().key().unwrap();
    let e = PublishedEpochs::verify(named.clone(), &key).unwrap_err();
    assert!(matches!(e, EpochChainError::Fork { epoch: 2, .. }), "{e}");
    assert!(
        e.to_string().contains("epoch-2.json") && e.to_string().contains("fork/epoch-2.json"),
        "{e}"
    );
    // Identical copies of one epoch are one epoch, not a fork.
    named.pop();
    let dup = named[0].clone();
    named.push(("copy.json".into(), dup.1));
    assert_eq!(PublishedEpochs::verify(named, &key).unwrap().len(), 3);
    assert!(matches!(
        PublishedEpochs::verify(Vec::new(), &key),
        Err(EpochChainError::Empty)
    ));
}

/// Key rotation through the issuer: the handover epoch, who may publish after it, and the
/// keystore files of a keystore-to-keystore rotation.
#[test]
fn rotation_hands_over_inside_the_chain() {
    use ed25519_dalek::SigningKey;
    let tmp = tempfile::tempdir().unwrap();
    let mut issuer = new_issuer(&tmp.path().join("issuer"));
    let original = issuer.public().key().unwrap();
    let old = Keystore::open(&tmp.path().join("issuer").join(KEYSTORE_FILE), PASS).unwrap();
    let new = SigningKey::from_bytes(&[42u8; 32]);
    // Nothing published yet: a key hands over after an epoch it signed.
    let e = issuer.rotate(&old, &new, "scheduled", NOW).unwrap_err();
    assert!(e.to_string().contains("no epoch published yet"), "{e}");
    issuer.publish(PASS, NOW - 60).unwrap();
    // Only the key in force hands over.
    let e = issuer.rotate(&new, &old, "x", NOW).unwrap_err();
    assert!(
        e.to_string().contains("only the current key hands over"),
        "{e}"
    );
    let h = issuer.rotate(&old, &new, "scheduled", NOW).unwrap();
    assert_eq!(h.version, 3);
    assert_eq!(
        issuer.current_key().unwrap(),
        hex::encode(new.verifying_key().as_bytes())
    );
    // The old keystore no longer publishes; the new key does; the chain follows from the
    // original key.
    let e = issuer.publish(PASS, NOW).unwrap_err();
    assert!(
        e.to_string().contains("is not the issuer's key in force"),
        "{e}"
    );
    assert!(issuer.publish_with(&old, NOW).is_err());
    issuer.publish_with(&new, NOW).unwrap();
    let epochs = issuer.epochs().unwrap();
    verify_epoch_chain(&epochs, &original).unwrap();
    assert!(verify_epoch_chain(&epochs, &new.verifying_key()).is_ok());
    // A retired key never comes back.
    let e = issuer.rotate(&new, &old, "back", NOW).unwrap_err();
    assert!(
        e.to_string().contains("a retired key never comes back"),
        "{e}"
    );

    // Keystore to keystore: the new file takes the old one's place, which is kept aside.
    let dir = tmp.path().join("issuer2");
    let mut issuer = new_issuer(&dir);
    issuer.publish(PASS, NOW - 60).unwrap();
    issuer
        .rotate_keystore(
            PASS,
            "second passphrase",
            KdfCost::MINIMUM,
            "scheduled",
            NOW,
        )
        .unwrap();
    assert!(dir.join("issuer-key.retired-1.json").exists());
    assert!(!dir.join(super::issuer::NEXT_KEYSTORE_FILE).exists());
    assert!(issuer.publish(PASS, NOW).is_err());
    let e2 = issuer.publish("second passphrase", NOW).unwrap();
    assert_eq!(e2.epoch, 2);
    let key = issuer.public().key().unwrap();
    verify_epoch_chain(&issuer.epochs().unwrap(), &key).unwrap();
}
