//! Real Halo2 KYC proofs: an honest presentation verifies; tampered or truncated proof bytes,
//! each changed public input and parameters of another `k` are rejected; each backend's
//! verifier refuses the other's proof with a reason; the parameters cache is rebuilt when
//! corrupt; credentials and epochs without Halo2 fields are refused with a reason.

use super::*;
use crate::keystore::KdfCost;
use crate::kyc::holder::{self, HolderFile};
use crate::kyc::issuer::{Issuer, IssuerKeys};
use crate::kyc::keys;
use crate::kyc::tests::verify;
use assay_circuits::{field::from_decimal, halo2::Fp, kyc::jurisdiction::Jurisdiction};
use assay_rp::ChallengeStore;
use assay_verifier::halo2::{params, write_params, Halo2Error};
use assay_verifier::kyc::formats::{
    from_json, Challenge, Credential, Epoch, Policy, PublishedEpochs,
};
use assay_verifier::kyc::{halo2::verify_with, KycVerifyError};
use ff::Field;
use std::sync::OnceLock;

const PASS: &str = "issuer passphrase";
/// 2025-11-23T12:00:00Z.
const NOW: i64 = 20_415 * 86_400 + 12 * 3600;

struct Shared {
    _dir: tempfile::TempDir,
    prover: KycHalo2Prover,
    verifier: Halo2Verifier,
}

/// One Halo2 key generation (parameters cached in a temporary keys folder) for the module.
fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let prover = KycHalo2Prover::from_cache(dir.path()).unwrap();
        eprintln!(
            "KYC Halo2: params + keygen at k = {} in {:?}",
            kyc_k(),
            t.elapsed()
        );
        let verifier = prover.verifier().unwrap();
        Shared {
            _dir: dir,
            prover,
            verifier,
        }
    })
}

fn sanctions() -> Policy {
    let text = include_str!("../../../../fixtures/kyc/policy-sanctions-example.json");
    from_json("policy", text).unwrap()
}

struct Flow {
    _tmp: tempfile::TempDir,
    issuer: Issuer,
    holder: HolderFile,
    credential: Credential,
    epoch: Epoch,
    store: ChallengeStore,
}

/// An issuer without Groth16 keys' setup cost (a throwaway Groth16 key), three other
/// holders, then this holder with both commitments (or only the BN254 one).
fn flow(code: &str, with_halo2: bool) -> Flow {
    static G: OnceLock<(
        tempfile::TempDir,
        ark_groth16::VerifyingKey<ark_bn254::Bn254>,
    )> = OnceLock::new();
    let (gdir, _) = G.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let vk = crate::kyc::tests::kyc_setup(d.path());
        (d, vk)
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut issuer = Issuer::init_with(
        &tmp.path().join("issuer"),
        "kyc-provider-1",
        PASS,
        KdfCost::MINIMUM,
        IssuerKeys::Setup(gdir.path()),
    )
    .unwrap();
    for _ in 0..3u64 {
        let other = HolderFile::generate().unwrap();
        issuer
            .issue(
                &other.commitments,
                Jurisdiction::parse("DE").unwrap(),
                20_800,
                NOW,
            )
            .unwrap();
    }
    let holder = HolderFile::generate().unwrap();
    let credential = issuer
        .issue(
            &(holder.commitments.clone().into_iter())
                .filter(|(b, _)| with_halo2 || *b != assay_verifier::Backend::Halo2)
                .collect(),
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

fn prove_halo2(f: &Flow, policy: &Policy, ch: &Challenge) -> Result<KycProof, KycError> {
    let path = f.issuer.path(f.credential.serial)?;
    prove(
        &ProveInputs {
            holder: &f.holder,
            credential: &f.credential,
            path: &path,
            epoch: &f.epoch,
            policy,
            challenge: ch,
            expected_scope: &ch.scope,
        },
        &shared().prover,
        NOW,
    )
}

/// The issuer's published epoch chain, as a relying party checks it.
fn published(f: &Flow) -> PublishedEpochs {
    let epochs = f.issuer.epochs().unwrap();
    let named = epochs
        .into_iter()
        .map(|e| (format!("epoch {}", e.epoch), e))
        .collect();
    PublishedEpochs::verify(named, &f.issuer.public().key().unwrap()).unwrap()
}

fn check(f: &Flow, p: &KycProof, policy: &Policy, ch: &Challenge) -> Result<(), KycVerifyError> {
    verify_with(
        p,
        &f.epoch,
        &published(f),
        f.issuer.public(),
        policy,
        ch,
        NOW,
        &shared().verifier,
    )
    .map(|_| ())
}

#[test]
fn halo2_presentation_verifies_and_every_tampering_is_rejected() {
    let f = flow("UA-30", true);
    let policy = sanctions();
    let ch = f
        .store
        .issue("bank-a", Some(assay_verifier::Backend::Halo2), 600, NOW)
        .unwrap();
    let _ = shared();
    let t = std::time::Instant::now();
    let proof = prove_halo2(&f, &policy, &ch).unwrap();
    let proved = t.elapsed();
    let t = std::time::Instant::now();
    check(&f, &proof, &policy, &ch).unwrap();
    let verified = t.elapsed();
    let bytes = hex::decode(&proof.proof).unwrap();
    eprintln!(
        "KYC Halo2: prove {proved:?}, verify (cached key) {verified:?}, proof {} bytes",
        bytes.len()
    );
    // The default entry point (dispatch on the backend, parameters generated in memory).
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

    // Tampered and truncated proof bytes.
    let mut bad = proof.clone();
    let mut b = bytes.clone();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    bad.proof = hex::encode(&b);
    assert!(matches!(
        check(&f, &bad, &policy, &ch),
        Err(KycVerifyError::Halo2Proof(_))
    ));
    bad.proof = hex::encode(&bytes[..bytes.len() - 32]);
    assert!(matches!(
        check(&f, &bad, &policy, &ch),
        Err(KycVerifyError::Halo2Proof(_))
    ));
    bad.proof = String::new();
    assert!(matches!(
        check(&f, &bad, &policy, &ch),
        Err(KycVerifyError::MalformedProof(_))
    ));

    // Each public input changed, on the bare verifier (the presentation checks would refuse
    // most of them earlier, with their own reasons).
    let public = proof
        .public_inputs
        .parse_in::<Fp>()
        .unwrap()
        .public
        .to_inputs();
    let v = &shared().verifier;
    assert_eq!(v.verify(&public, &bytes), Ok(()));
    for row in 0..public.len() {
        let mut p = public.clone();
        p[row] += Fp::ONE;
        assert!(
            matches!(v.verify(&p, &bytes), Err(Halo2Error::InvalidProof(_))),
            "row {row}"
        );
    }
    // ... and through the presentation: another challenge's nonce, another day.
    let ch2 = f
        .store
        .issue("bank-a", Some(assay_verifier::Backend::Halo2), 600, NOW)
        .unwrap();
    let mut replay = proof.clone();
    replay.public_inputs.challenge = ch2.nonce.clone();
    assert!(matches!(
        check(&f, &replay, &policy, &ch2),
        Err(KycVerifyError::Halo2Proof(_))
    ));

    // Parameters of another k: refused by shape, and the key they give does not verify.
    let k = kyc_k();
    assert_eq!(
        Halo2Verifier::new(
            params(k + 1).unwrap(),
            &KycHalo2Circuit::<Compact>::blank(),
            k,
            NUM_PUBLIC_INPUTS
        )
        .unwrap_err(),
        Halo2Error::ParamsK {
            params: k + 1,
            expected: k
        }
    );
    assert!(kyc_verifier(params(k + 1).unwrap()).is_err());
    let other = Halo2Verifier::new(
        params(k + 1).unwrap(),
        &KycHalo2Circuit::<Compact>::blank(),
        k + 1,
        NUM_PUBLIC_INPUTS,
    )
    .unwrap();
    assert!(matches!(
        other.verify(&public, &bytes),
        Err(Halo2Error::InvalidProof(_))
    ));
    // A proof naming another key hash is refused before the cryptography.
    let mut wrong_key = proof.clone();
    wrong_key.vk_hash = "00".repeat(32);
    assert!(matches!(
        check(&f, &wrong_key, &policy, &ch),
        Err(KycVerifyError::VerifyingKey { .. })
    ));

    // Replay is the store's business, as on Groth16.
    f.store.check(&ch, NOW).unwrap();
    f.store.spend(&ok.nonce, &ok.scope, NOW).unwrap();
    assert!(f.store.check(&ch, NOW).is_err());
}

#[test]
fn each_backend_refuses_the_others_proof_with_a_reason() {
    let f = flow("FR", true);
    let policy = sanctions();
    // A version 1 challenge (no backend named): the verifier alone must tell the proofs apart.
    let mut ch = f
        .store
        .issue("bank-a", Some(assay_verifier::Backend::Halo2), 600, NOW)
        .unwrap();
    ch.version = assay_verifier::kyc::formats::KYC_FORMAT_VERSION;
    ch.backend = None;
    let h = prove_halo2(&f, &policy, &ch).unwrap();
    let g = holder::prove(
        &ProveInputs {
            holder: &f.holder,
            credential: &f.credential,
            path: &f.issuer.path(f.credential.serial).unwrap(),
            epoch: &f.epoch,
            policy: &policy,
            challenge: &ch,
            expected_scope: &ch.scope,
        },
        None,
        &keys::load_proving_key(&f.issuer.keys_dir(), &f.issuer.public().vk_hash).unwrap(),
        NOW,
    )
    .unwrap();
    let run = |p: &KycProof| {
        verify(
            p,
            &f.epoch,
            &published(&f),
            f.issuer.public(),
            &policy,
            &ch,
            NOW,
        )
    };
    assert!(run(&g).is_ok() && run(&h).is_ok());
    // The nullifiers of one holder differ per backend (different hashes).
    assert_ne!(g.public_inputs.nullifier, h.public_inputs.nullifier);
    let mut g_as_h = g.clone();
    g_as_h.backend = BACKEND_HALO2.into();
    let e = run(&g_as_h).unwrap_err();
    assert!(matches!(e, KycVerifyError::Backend(_)), "{e}");
    assert!(e.to_string().contains("groth16-bn254"), "{e}");
    let mut h_as_g = h.clone();
    h_as_g.backend = assay_verifier::kyc::formats::BACKEND_GROTH16.into();
    let e = run(&h_as_g).unwrap_err();
    assert!(matches!(e, KycVerifyError::Backend(_)), "{e}");
    assert!(e.to_string().contains("halo2-ipa-pasta"), "{e}");
    // The Halo2 verifier called directly refuses a Groth16-labelled proof.
    assert!(matches!(
        check(&f, &g, &policy, &ch),
        Err(KycVerifyError::Backend(_))
    ));
    let mut unknown = h;
    unknown.backend = "plonk-kzg".into();
    assert!(matches!(run(&unknown), Err(KycVerifyError::Format(_))));
}

#[test]
fn credentials_and_epochs_without_halo2_fields_are_refused_with_a_reason() {
    let f = flow("FR", false);
    let policy = sanctions();
    let ch = f
        .store
        .issue("bank-a", Some(assay_verifier::Backend::Halo2), 600, NOW)
        .unwrap();
    let e = prove_halo2(&f, &policy, &ch).unwrap_err();
    assert!(e.to_string().contains("no Halo2 leaf"), "{e}");
    // An epoch from before Halo2 support (no root_halo2): the signature no longer covers the
    // dropped root, and without it the Halo2 path has nothing to compare with.
    let g = flow("FR", true);
    let proof = prove_halo2(&g, &policy, &ch).unwrap();
    let mut old = g.epoch.clone();
    old.roots.remove(&assay_verifier::Backend::Halo2);
    let e = verify_with(
        &proof,
        &old,
        &published(&g),
        g.issuer.public(),
        &policy,
        &ch,
        NOW,
        &shared().verifier,
    )
    .unwrap_err();
    assert!(matches!(e, KycVerifyError::EpochSignature(_)), "{e}");
    // A restricted holder cannot prove on Halo2 either.
    let r = flow("UA-43", true);
    let e = prove_halo2(&r, &policy, &ch).unwrap_err();
    assert!(matches!(e, KycError::Statement(_)), "{e}");
}

#[test]
fn params_cache_is_written_read_back_and_regenerated_if_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let k = 4;
    let p = load_or_create_params(dir.path(), k).unwrap();
    let path = params_path(dir.path(), k);
    let first = std::fs::read(&path).unwrap();
    assert_eq!(p.k(), k);
    // Read back: the same bytes, not rewritten.
    let again = load_or_create_params(dir.path(), k).unwrap();
    let mut b = Vec::new();
    write_params(&again, &mut b).unwrap();
    assert_eq!(b, first);
    // Corrupt (truncated) and foreign (another k) caches are regenerated.
    std::fs::write(&path, &first[..first.len() / 2]).unwrap();
    assert_eq!(load_or_create_params(dir.path(), k).unwrap().k(), k);
    assert_eq!(std::fs::read(&path).unwrap(), first);
    let other = params(k + 1).unwrap();
    let mut ob = Vec::new();
    write_params(&other, &mut ob).unwrap();
    std::fs::write(&path, &ob).unwrap();
    assert_eq!(load_or_create_params(dir.path(), k).unwrap().k(), k);
    assert_eq!(std::fs::read(&path).unwrap(), first);
    // The cached parameters equal fresh ones.
    assert!(from_decimal::<Fp>("1").is_some());
}

/// Defect 2 of issue 11: one holder, one scope, two backends, one account. The scope is bound
/// to Groth16 by its first challenge; the holder refuses to answer its next challenge with
/// Halo2; a Halo2 proof made anyway (to an edited challenge) is refused by the verifier (the
/// challenge names Groth16) and by the store (the scope is bound): one nullifier recorded.
/// Without the binding the Halo2 nullifier would open a second account.
#[test]
fn one_holder_has_one_account_per_scope_across_backends() {
    use assay_verifier::Backend;
    let f = flow("FR", true);
    let policy = sanctions();
    let chain = published(&f);
    let ch = f
        .store
        .issue("bank-a", Some(Backend::Groth16), 600, NOW)
        .unwrap();
    let path = f.issuer.path(f.credential.serial).unwrap();
    let base = ProveInputs {
        holder: &f.holder,
        credential: &f.credential,
        path: &path,
        epoch: &f.epoch,
        policy: &policy,
        challenge: &ch,
        expected_scope: "bank-a",
    };
    let g_pk = keys::load_proving_key(&f.issuer.keys_dir(), &f.issuer.public().vk_hash).unwrap();
    let g = holder::prove(&base, None, &g_pk, NOW).unwrap();
    let ok = verify(&g, &f.epoch, &chain, f.issuer.public(), &policy, &ch, NOW).unwrap();
    f.store
        .consume(&ok.nonce, "bank-a", ok.backend, &ok.nullifier, true, NOW)
        .unwrap();

    // The next challenge of the scope names Groth16; the holder will not answer with Halo2.
    let ch2 = f.store.issue("bank-a", None, 600, NOW).unwrap();
    assert_eq!(ch2.backend, Some(Backend::Groth16));
    let e = prove(
        &ProveInputs {
            challenge: &ch2,
            ..base
        },
        &shared().prover,
        NOW,
    )
    .unwrap_err();
    assert!(e.to_string().contains("accepts only groth16-bn254"), "{e}");

    // A holder who edits the challenge to make a Halo2 proof anyway.
    let mut edited = ch2.clone();
    edited.backend = Some(Backend::Halo2);
    let h = prove(
        &ProveInputs {
            challenge: &edited,
            ..base
        },
        &shared().prover,
        NOW,
    )
    .unwrap();
    assert_ne!(h.public_inputs.nullifier, g.public_inputs.nullifier);
    let e = verify(&h, &f.epoch, &chain, f.issuer.public(), &policy, &ch2, NOW).unwrap_err();
    assert!(matches!(e, KycVerifyError::Challenge(_)), "{e}");
    assert!(e.to_string().contains("accepts only groth16-bn254"), "{e}");
    // And the store refuses to record a Halo2 nullifier in the Groth16 scope.
    let e = f
        .store
        .consume(
            &ch2.nonce,
            "bank-a",
            Backend::Halo2,
            &h.public_inputs.nullifier,
            true,
            NOW,
        )
        .unwrap_err();
    assert!(matches!(e, assay_rp::RpError::ScopeBackend { .. }), "{e}");
    // The challenge was not spent by the refusal.
    f.store.check(&ch2, NOW).unwrap();
}
