//! The STARK KYC flow through the library: issuer (STARK registry beside the others), holder
//! (`StarkKycProver`), relying party (`assay_verifier::kyc::verify`), and what each refuses.

use super::*;
use crate::kyc::issuer::Issuer;
use crate::kyc::tests::{new_issuer, sanctions, verify, NOW, PASS};
use assay_rp::ChallengeStore;
use assay_verifier::kyc::formats::{
    BackendMap, Challenge, Credential, Epoch, PublishedEpochs, RegistryPath,
};
use assay_verifier::kyc::KycVerifyError;
use p3_field::PrimeCharacteristicRing;

struct Flow {
    _tmp: tempfile::TempDir,
    issuer: Issuer,
    holder: HolderFile,
    credential: Credential,
    epoch: Epoch,
    store: ChallengeStore,
}

/// An issuer with two other credentials (one Groth16-only), then the holder's credential for
/// `code` on every backend, and a published epoch.
fn flow(code: &str) -> Flow {
    let tmp = tempfile::tempdir().unwrap();
    let mut issuer = new_issuer(&tmp.path().join("issuer"));
    let other = HolderFile::generate().unwrap();
    let g16_only = BackendMap::from([(
        Backend::Groth16,
        other.commitments[&Backend::Groth16].clone(),
    )]);
    let de = || Jurisdiction::parse("DE").unwrap();
    issuer.issue(&g16_only, de(), 20_800, NOW).unwrap();
    issuer.issue(&other.commitments, de(), 20_800, NOW).unwrap();
    let holder = HolderFile::generate().unwrap();
    assert!(holder.commitments.contains_key(&Backend::Stark));
    let credential = issuer
        .issue(
            &holder.commitments,
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

fn published(f: &Flow) -> PublishedEpochs {
    let named = f
        .issuer
        .epochs()
        .unwrap()
        .into_iter()
        .map(|e| (format!("epoch-{}.json", e.epoch), e))
        .collect();
    PublishedEpochs::verify(named, &f.issuer.public().key().unwrap()).unwrap()
}

fn inputs<'a>(
    f: &'a Flow,
    path: &'a RegistryPath,
    challenge: &'a Challenge,
    policy: &'a assay_verifier::kyc::formats::Policy,
) -> ProveInputs<'a> {
    ProveInputs {
        holder: &f.holder,
        credential: &f.credential,
        path,
        epoch: &f.epoch,
        policy,
        challenge,
        expected_scope: &challenge.scope,
    }
}

fn prove(f: &Flow, challenge: &Challenge, now: i64) -> Result<KycProof, KycError> {
    let path = f.issuer.path(f.credential.serial)?;
    let policy = sanctions();
    StarkKycProver.prove(&inputs(f, &path, challenge, &policy), now)
}

fn check(f: &Flow, proof: &KycProof, challenge: &Challenge) -> Result<String, KycVerifyError> {
    verify(
        proof,
        &f.epoch,
        &published(f),
        f.issuer.public(),
        &sanctions(),
        challenge,
        NOW,
    )
    .map(|v| v.nullifier)
}

#[test]
fn stark_presentations_verify_and_every_tampering_is_refused() {
    let f = flow("UA-30");
    // The epoch signs a STARK root; the published leaves give the issuer's path.
    let root = f.epoch.root_for(Backend::Stark).unwrap();
    assert!(parse_digest_text(root, "epoch", "roots").is_ok());
    let leaves = f.issuer.latest_leaves().unwrap();
    let path = f.issuer.path(f.credential.serial).unwrap();
    assert_eq!(leaves.path(f.credential.serial).unwrap(), path);
    assert_eq!(path.root_for(Backend::Stark), Some(root));
    // The Groth16-only credential (serial 0) has no STARK path, the others have one.
    assert!(leaves.path(0).unwrap().root_for(Backend::Stark).is_none());
    assert!(leaves.path(1).unwrap().root_for(Backend::Stark).is_some());
    let mut bad = leaves.clone();
    bad.backends.get_mut(&Backend::Stark).unwrap().leaves[1] = "5".into();
    assert!(bad.path(1).is_err(), "tampered STARK leaves");

    let ch = f
        .store
        .issue("bank-s", Some(Backend::Stark), 600, NOW)
        .unwrap();
    let proof = prove(&f, &ch, NOW).unwrap();
    assert_eq!(proof.backend, Backend::Stark.name());
    assert_eq!(proof.vk_hash, kyc_air_id());
    let text = serde_json::to_string(&proof).unwrap();
    let proof: KycProof = assay_verifier::kyc::formats::from_json("proof", &text).unwrap();
    let nf = check(&f, &proof, &ch).unwrap();
    assert_eq!(nf, proof.public_inputs.nullifier);

    // The same holder in another scope: another nullifier (unlinkable across verifiers); and
    // the Groth16 nullifier of the same scope differs too (one backend per scope).
    let ch_b = f
        .store
        .issue("bank-t", Some(Backend::Stark), 600, NOW)
        .unwrap();
    let nf_b = check(&f, &prove(&f, &ch_b, NOW).unwrap(), &ch_b).unwrap();
    assert_ne!(nf, nf_b);

    // Another challenge of the same scope (another nonce), and another scope's challenge.
    let ch2 = f
        .store
        .issue("bank-s", Some(Backend::Stark), 600, NOW)
        .unwrap();
    let e = check(&f, &proof, &ch2).unwrap_err();
    assert!(matches!(e, KycVerifyError::Challenge(_)), "{e}");
    let e = check(&f, &proof, &ch_b).unwrap_err();
    assert!(e.to_string().contains("scope"), "{e}");
    // An expired challenge.
    let e = verify(
        &proof,
        &f.epoch,
        &published(&f),
        f.issuer.public(),
        &sanctions(),
        &ch,
        NOW + 601,
    )
    .unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");

    // Public values that disagree with what the relying party derives.
    let other_digest = digest_text(&[assay_circuits::solvency::stark::Val::from_u32(7); 8]);
    let mut p = proof.clone();
    p.public_inputs.registry_root = other_digest.clone();
    let e = check(&f, &p, &ch).unwrap_err();
    assert!(matches!(e, KycVerifyError::RegistryRoot { .. }), "{e}");
    let mut p = proof.clone();
    p.public_inputs.policy_root = other_digest.clone();
    let e = check(&f, &p, &ch).unwrap_err();
    assert!(matches!(e, KycVerifyError::PolicyRoot { .. }), "{e}");
    let mut p = proof.clone();
    p.public_inputs.today += 1;
    let e = check(&f, &p, &ch).unwrap_err();
    assert!(matches!(e, KycVerifyError::Today { .. }), "{e}");
    let mut p = proof.clone();
    p.public_inputs.nullifier = other_digest.clone();
    let e = check(&f, &p, &ch).unwrap_err();
    assert!(matches!(e, KycVerifyError::StarkProof(_)), "{e}");
    let mut p = proof.clone();
    p.public_inputs.nullifier = "not a digest".into();
    assert!(check(&f, &p, &ch).unwrap_err().is_bad_input());
    // Another AIR or parameters named.
    let mut p = proof.clone();
    p.vk_hash = "ab".repeat(32);
    let e = check(&f, &p, &ch).unwrap_err();
    assert!(matches!(e, KycVerifyError::Air { .. }), "{e}");

    // Tampered, truncated and garbage proof bytes: errors with a reason, never a panic.
    let n = proof.proof.len();
    for (what, bytes) in [
        ("flipped", {
            let mut b = hex::decode(&proof.proof).unwrap();
            let i = b.len() / 2;
            b[i] ^= 1;
            hex::encode(b)
        }),
        ("truncated", proof.proof[..n / 2].to_string()),
        ("one byte", "00".to_string()),
        ("empty", String::new()),
        ("not hex", "zz".repeat(10)),
        ("huge", "00".repeat(MAX_PROOF_BYTES_FOR_TESTS + 1)),
    ] {
        let mut p = proof.clone();
        p.proof = bytes;
        let e = check(&f, &p, &ch).unwrap_err();
        assert!(
            matches!(
                e,
                KycVerifyError::MalformedProof(_) | KycVerifyError::StarkProof(_)
            ),
            "{what}: {e}"
        );
    }

    // Relabelled: a STARK presentation under the Groth16 or Halo2 label, and a Groth16
    // presentation's values under the STARK label, are refused by name.
    for other in [Backend::Groth16, Backend::Halo2] {
        let mut p = proof.clone();
        p.backend = other.name().into();
        let e = check(&f, &p, &ch).unwrap_err();
        assert!(
            e.to_string().contains("labelled") || matches!(e, KycVerifyError::Backend(_)),
            "{other}: {e}"
        );
    }
    let mut p = proof.clone();
    p.public_inputs.registry_root = f.epoch.root_for(Backend::Groth16).unwrap().into();
    let e = check(&f, &p, &ch).unwrap_err();
    assert!(
        e.to_string()
            .contains("a Groth16 presentation labelled stark-koalabear-poseidon2"),
        "{e}"
    );
    // The proof still verifies once nothing is tampered with (nothing above spent it).
    assert_eq!(check(&f, &proof, &ch).unwrap(), nf);
}

/// `MAX_PROOF_BYTES` of the verifier, for the size test.
const MAX_PROOF_BYTES_FOR_TESTS: usize = assay_verifier::stark::kyc::MAX_PROOF_BYTES;

#[test]
fn the_holder_refuses_what_it_cannot_or_must_not_prove() {
    let f = flow("UA-30");
    let ch = f
        .store
        .issue("bank-s", Some(Backend::Stark), 600, NOW)
        .unwrap();
    // Expired: on the credential's expiry day, the twin refuses before proving.
    let e = prove(&f, &ch, 20_800 * 86_400 + 10).unwrap_err();
    assert!(matches!(e, KycError::Statement(_)), "{e}");
    // Another relying party's scope than the one the holder is talking to.
    let path = f.issuer.path(f.credential.serial).unwrap();
    let policy = sanctions();
    let mut inp = inputs(&f, &path, &ch, &policy);
    inp.expected_scope = "bank-x";
    let e = StarkKycProver.prove(&inp, NOW).unwrap_err();
    assert!(e.to_string().contains("bank-x"), "{e}");
    // A scope bound to Groth16: the STARK would give a second nullifier there.
    let g = f
        .store
        .issue("bank-g", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    let e = prove(&f, &g, NOW).unwrap_err();
    assert!(e.to_string().contains("accepts only groth16-bn254"), "{e}");
    // A credential without a STARK leaf.
    let mut cred = f.credential.clone();
    cred.backends.remove(&Backend::Stark);
    let mut inp = inputs(&f, &path, &ch, &policy);
    inp.credential = &cred;
    let e = StarkKycProver.prove(&inp, NOW).unwrap_err();
    assert!(e.to_string().contains("--holder-commitment-stark"), "{e}");

    // Restricted residence: the holder cannot prove.
    for code in ["UA-43", "IR-01"] {
        let r = flow(code);
        let ch = r
            .store
            .issue("bank-s", Some(Backend::Stark), 600, NOW)
            .unwrap();
        let e = prove(&r, &ch, NOW).unwrap_err();
        assert!(
            matches!(e, KycError::Statement(_)) && e.to_string().contains("restricted"),
            "{code}: {e}"
        );
    }
}

#[test]
fn revocation_empties_the_stark_leaf_from_the_next_epoch() {
    let mut f = flow("FR");
    let ch = f
        .store
        .issue("bank-s", Some(Backend::Stark), 600, NOW)
        .unwrap();
    let old_path = f.issuer.path(f.credential.serial).unwrap();
    let proof = prove(&f, &ch, NOW).unwrap();
    f.issuer.revoke(f.credential.serial).unwrap();
    let next = f.issuer.publish(PASS, NOW - 30).unwrap();
    assert_ne!(
        next.root_for(Backend::Stark),
        f.epoch.root_for(Backend::Stark)
    );
    let e = f.issuer.path(f.credential.serial).unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    let leaves = f.issuer.latest_leaves().unwrap();
    assert_eq!(
        leaves.leaves_for(Backend::Stark).unwrap()[f.credential.serial as usize],
        "0"
    );
    // The old presentation against the new epoch: another registry root.
    let e = verify(
        &proof,
        &next,
        &published(&f),
        f.issuer.public(),
        &sanctions(),
        &ch,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, KycVerifyError::RegistryRoot { .. }), "{e}");
    // The holder with the old path under the new epoch: refused before proving.
    f.epoch = next;
    let policy = sanctions();
    let e = StarkKycProver
        .prove(&inputs(&f, &old_path, &ch, &policy), NOW)
        .unwrap_err();
    assert!(e.to_string().contains("not under epoch"), "{e}");
}
