//! Files frozen from earlier releases (`fixtures/solvency/freeze.sh`) must keep verifying on every
//! backend, and tampered copies must not: a Groth16 round, a Halo2 round and a STARK round
//! (bundle + one customer's record; the STARK's proof files beside it), and a KYC presentation per backend (Groth16 and Halo2 in `v1`, the STARK in `v2-stark`) with the epoch, policy, challenge and
//! issuer key it was made against. A change to a circuit, a format or a verifier that would
//! orphan published files fails here.

use assay_verifier::groth16::{KeyManifest, TrustedKeys, TrustedManifest};
use assay_verifier::kyc::{
    self,
    formats::{Challenge, Epoch, IssuerPublic, KycProof, Policy},
    time, KycVerifyError,
};
use assay_verifier::solvency::{
    verify_inclusion, verify_inclusion_with, verify_round, InclusionRecord, PreparedRound,
    RoundBundle, RoundOptions,
};
use serde::de::DeserializeOwned;
use std::{fs, path::PathBuf};

fn read(dir: &str, name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir)
        .join(name);
    fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn frozen(name: &str) -> Vec<u8> {
    read("solvency/frozen/v1", name)
}

/// The frozen Groth16 round's key manifest (`v1-manifest.json`, beside the frozen files and
/// written after them: it names the keys that round was proven under, signed by a setup key
/// generated once and thrown away).
fn frozen_manifest() -> [TrustedManifest; 1] {
    [KeyManifest::open(&read("solvency/frozen", "v1-manifest.json"), "manifest").unwrap()]
}

#[test]
fn frozen_v1_round_and_record_verify() {
    let b = RoundBundle::parse(&frozen("round.json"), "round").unwrap();
    let pinned = frozen_manifest();
    let opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        ..RoundOptions::default()
    };
    let r = verify_round(&b, &opts).unwrap();
    assert_eq!(r.round_id, "demo-2026-11-23");
    let rec = InclusionRecord::parse(&frozen("record-customer-0007.json"), "record").unwrap();
    let ir = verify_inclusion_with(&rec, &b, &opts).unwrap();
    assert_eq!(ir.user_id, "customer-0007");
    // Without a pinned manifest the frozen Groth16 round is refused.
    assert!(verify_inclusion(&rec, &b).is_err());
}

#[test]
fn frozen_round_with_a_flipped_proof_byte_fails() {
    let mut b = RoundBundle::parse(&frozen("round.json"), "round").unwrap();
    let p = &mut b.aggregations.last_mut().unwrap()[0].proof;
    let c = if p.as_bytes()[20] == b'a' { "b" } else { "a" };
    p.replace_range(20..21, c);
    let pinned = frozen_manifest();
    let opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        ..RoundOptions::default()
    };
    assert!(verify_round(&b, &opts).is_err());
}

fn stark_dir(tag: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/solvency/frozen/{tag}"))
}

/// The frozen STARK rounds (their proofs are files next to `round.json`, named by hash) and one
/// record of each verify: v1 (records carry their chain path), v2 (each batch's leaves in a
/// leaves file, records without a path), v3 (2026-12-03: batch proofs under `BATCH_PARAMS`,
/// aggregation proofs under their own pinned parameters, `agg_params`) and v4 (2026-12-04:
/// leaves files ending with the chain's segment states); a copy with one flipped byte in a proof file does
/// not, nor, since v2, one with a flipped byte in the leaves file, nor, since v3, one in the
/// top proof.
#[test]
fn frozen_stark_rounds_and_records_verify() {
    use assay_verifier::solvency::{Circuits, ProofDir};
    for tag in ["v1-stark", "v2-stark", "v3-stark", "v4-stark"] {
        let since_v3 = tag == "v3-stark" || tag == "v4-stark";
        let folder = format!("solvency/frozen/{tag}");
        let b = RoundBundle::parse(&read(&folder, "round.json"), "round").unwrap();
        let proofs = ProofDir::new(stark_dir(tag));
        let opts = RoundOptions {
            proofs: Some(&proofs),
            ..RoundOptions::default()
        };
        let r = verify_round(&b, &opts).unwrap();
        assert_eq!(r.round_id, "frozen-stark");
        let rec =
            InclusionRecord::parse(&read(&folder, "record-customer-0007.json"), "record").unwrap();
        assert_eq!(
            verify_inclusion_with(&rec, &b, &opts).unwrap().user_id,
            "customer-0007"
        );
        let Some(Circuits::Stark(sc)) = &b.circuits else {
            panic!("{tag}: a STARK section")
        };
        assert_eq!(rec.path.is_empty(), tag != "v1-stark", "{tag}");
        assert_eq!(sc.leaves.len(), if tag == "v1-stark" { 0 } else { 1 });
        assert_eq!(sc.agg_params.is_some(), since_v3, "{tag}");
        assert_eq!(sc.params.max_log_arity, if since_v3 { 3 } else { 1 });
        if let Some(l) = sc.leaves.first() {
            // v4: the leaves file carries the chain's 7 segment states after its 127 leaves.
            let len = fs::metadata(stark_dir(tag).join("proofs").join(format!("{l}.bin")))
                .unwrap()
                .len();
            assert_eq!(
                len,
                if tag == "v4-stark" {
                    134 * 32
                } else {
                    127 * 32
                }
            );
        }
        let mut altered: Vec<(&str, String)> = vec![(
            b.batches[0].proof.as_str(),
            "batch proof 0: proof file".to_string(),
        )];
        if since_v3 {
            altered.push((b.aggregations[0][0].proof.as_str(), "top proof".into()));
        }
        if let Some(l) = sc.leaves.first() {
            altered.push((l.as_str(), "leaves of batch 0: proof file".into()));
        }
        for (name, needle) in altered {
            let tmp = tempfile::tempdir().unwrap();
            fs::create_dir_all(tmp.path().join("proofs")).unwrap();
            for e in fs::read_dir(stark_dir(tag).join("proofs")).unwrap() {
                let e = e.unwrap();
                let mut bytes = fs::read(e.path()).unwrap();
                if e.file_name().to_string_lossy().starts_with(name) {
                    bytes[100] ^= 1;
                }
                fs::write(tmp.path().join("proofs").join(e.file_name()), bytes).unwrap();
            }
            let altered = ProofDir::new(tmp.path());
            let e = verify_round(
                &b,
                &RoundOptions {
                    proofs: Some(&altered),
                    ..RoundOptions::default()
                },
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(&needle), "{tag}: {e}");
        }
    }
}

fn halo2_round() -> RoundBundle {
    RoundBundle::parse(&read("solvency/frozen/v1-halo2", "round.json"), "round").unwrap()
}

#[test]
fn frozen_v1_halo2_round_and_record_verify_with_re_derived_keys() {
    let b = halo2_round();
    assert_eq!(b.backend, "halo2-ipa-pasta");
    // Keys are re-derived from today's circuits and must hash to the names the frozen bundle
    // carries: a circuit change that orphans published Halo2 rounds fails here.
    let r = verify_round(&b, &RoundOptions::default()).unwrap();
    assert_eq!(r.round_id, "demo-2026-11-23");
    let rec = InclusionRecord::parse(
        &read("solvency/frozen/v1-halo2", "record-customer-0007.json"),
        "record",
    )
    .unwrap();
    let ir = verify_inclusion_with(&rec, &b, &RoundOptions::default()).unwrap();
    assert_eq!(ir.user_id, "customer-0007");
}

#[test]
fn frozen_halo2_round_with_a_flipped_proof_byte_fails() {
    let mut b = halo2_round();
    let p = &mut b.batches[1].proof;
    let c = if p.as_bytes()[40] == b'a' { "b" } else { "a" };
    p.replace_range(40..41, c);
    // The publisher's signature covers the proofs, so this is refused before any proof is
    // checked; tests/halo2_round.rs re-signs tampered bundles to reach the proof check.
    let e = verify_round(&b, &RoundOptions::default()).unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");
}

/// A prepared round (keys opened once) gives every record the verdict of the one-shot check,
/// on both backends: the frozen record is valid, a record with a changed balance or path is
/// refused with the same reason; the pins (manifest, publication key, bundle hash) are checked
/// when the round is prepared.
#[test]
fn a_prepared_round_answers_like_the_one_shot_check() {
    let pinned = frozen_manifest();
    let groth16 = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        ..RoundOptions::default()
    };
    let cases = [
        (
            RoundBundle::parse(&frozen("round.json"), "round").unwrap(),
            frozen("record-customer-0007.json"),
            groth16.clone(),
        ),
        (
            halo2_round(),
            read("solvency/frozen/v1-halo2", "record-customer-0007.json"),
            RoundOptions::default(),
        ),
    ];
    for (b, record, opts) in cases {
        let rec = InclusionRecord::parse(&record, "record").unwrap();
        let prepared = PreparedRound::prepare(std::sync::Arc::new(b.clone()), &opts).unwrap();
        assert_eq!(prepared.bundle_hash(), b.hash());
        let once = verify_inclusion_with(&rec, &b, &opts).unwrap();
        for _ in 0..3 {
            assert_eq!(prepared.verify_inclusion(&rec).unwrap(), once);
        }
        let mut changed = rec.clone();
        changed.balances[0].amount.push('1');
        let mut moved = rec.clone();
        moved.leaf_index ^= 1;
        for bad in [changed, moved] {
            let a = prepared.verify_inclusion(&bad).unwrap_err().to_string();
            let b1 = verify_inclusion_with(&bad, &b, &opts)
                .unwrap_err()
                .to_string();
            assert_eq!(a, b1);
        }
        // Pins are checked when preparing.
        let wrong_key = "00".repeat(32);
        let e = PreparedRound::prepare(
            std::sync::Arc::new(b.clone()),
            &RoundOptions {
                publication_key: Some(&wrong_key),
                ..opts.clone()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("pinned key"), "{e}");
        let e = PreparedRound::prepare(
            std::sync::Arc::new(b.clone()),
            &RoundOptions {
                bundle_hash: Some(&wrong_key),
                ..opts.clone()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("pinned bundle hash"), "{e}");
    }
    // A Groth16 round without a pinned manifest cannot be prepared.
    let b = RoundBundle::parse(&frozen("round.json"), "round").unwrap();
    assert!(PreparedRound::prepare(std::sync::Arc::new(b), &RoundOptions::default()).is_err());
}

/// One frozen presentation with everything its relying party checked it against.
struct Presentation {
    proof: KycProof,
    epoch: Epoch,
    issuer: IssuerPublic,
    policy: Policy,
    challenge: Challenge,
}

fn doc<T: DeserializeOwned>(name: &str) -> T {
    doc_in("v1", name)
}

fn doc_in<T: DeserializeOwned>(tag: &str, name: &str) -> T {
    serde_json::from_slice(&read(&format!("kyc/frozen/{tag}"), name))
        .unwrap_or_else(|e| panic!("fixtures/kyc/frozen/{tag}/{name}: {e}"))
}

fn presentation(suffix: &str) -> Presentation {
    presentation_in("v1", suffix)
}

fn presentation_in(tag: &str, suffix: &str) -> Presentation {
    Presentation {
        proof: doc_in(tag, &format!("proof{suffix}.json")),
        epoch: doc_in(tag, "epoch.json"),
        issuer: doc_in(tag, "issuer-public.json"),
        policy: doc_in(tag, "policy.json"),
        challenge: doc_in(tag, &format!("challenge{suffix}.json")),
    }
}

impl Presentation {
    /// The relying party's check at the moment the presentation was made (when its challenge
    /// was issued: epochs and challenges age, frozen proofs must not).
    fn verify(&self) -> Result<kyc::VerifiedPresentation, KycVerifyError> {
        let now = time::parse_rfc3339(&self.challenge.issued_at).unwrap() + 1;
        // The frozen folder publishes one epoch: it is the issuer's whole published chain.
        let published = kyc::formats::PublishedEpochs::verify(
            vec![("epoch.json".into(), self.epoch.clone())],
            &self.issuer.key().unwrap(),
        )
        .unwrap();
        // The frozen issuer's Groth16 key is trusted as the frozen folder gives it: these tests
        // keep the format verifying; the pin is tested below
        // (`a_groth16_kyc_presentation_is_checked_against_the_pinned_setup`).
        kyc::verify_with_options(
            &self.proof,
            &self.epoch,
            &published,
            &self.issuer,
            &self.policy,
            &self.challenge,
            now,
            &kyc::KycOptions {
                groth16_keys: TrustedKeys::InsecureBundleKeys,
                ..kyc::KycOptions::default()
            },
        )
    }
}

#[test]
fn frozen_v1_kyc_presentations_verify_on_both_backends() {
    let g = presentation("").verify().unwrap();
    let h = presentation("-halo2").verify().unwrap();
    assert_eq!(g.scope, "demo-bank");
    assert_eq!(h.scope, "demo-bank");
    assert_eq!(g.issuer_id, "demo-kyc-provider");
    // Different fields, different hashes: the same holder has another nullifier per backend.
    assert_ne!(g.nullifier, h.nullifier);
}

#[test]
fn frozen_kyc_presentations_with_a_swapped_input_or_a_flipped_byte_fail() {
    for suffix in ["", "-halo2"] {
        let mut p = presentation(suffix);
        p.proof.public_inputs.today += 1;
        assert!(p.verify().is_err(), "{suffix}: today changed");
        let mut p = presentation(suffix);
        let b = &mut p.proof.proof;
        let c = if b.as_bytes()[30] == b'a' { "b" } else { "a" };
        b.replace_range(30..31, c);
        assert!(p.verify().is_err(), "{suffix}: flipped proof byte");
        // Each backend's proof is refused by the other's challenge (other nonce).
        let mut p = presentation(suffix);
        p.challenge = doc(if suffix.is_empty() {
            "challenge-halo2.json"
        } else {
            "challenge.json"
        });
        assert!(p.verify().is_err(), "{suffix}: other challenge");
    }
}

/// The STARK KYC presentation of 2026-12-02 (`v2-stark`: a version 2 epoch signing the
/// three backends' registry roots) keeps verifying, and tampered copies do not: the proof
/// bytes, a public value, the AIR it names, another challenge.
#[test]
fn frozen_v2_stark_kyc_presentation_verifies_and_tampered_copies_fail() {
    let p = presentation_in("v2-stark", "-stark");
    assert_eq!(p.epoch.roots.len(), 3);
    let v = p.verify().unwrap();
    assert_eq!(v.backend, assay_verifier::Backend::Stark);
    assert_eq!(v.scope, "frozen-bank");
    assert_eq!(v.nullifier, p.proof.public_inputs.nullifier);
    let tampered = |f: &dyn Fn(&mut Presentation)| {
        let mut p = presentation_in("v2-stark", "-stark");
        f(&mut p);
        p.verify()
    };
    let e = tampered(&|p| {
        let mut b = hex::decode(&p.proof.proof).unwrap();
        let i = b.len() / 3;
        b[i] ^= 0x04;
        p.proof.proof = hex::encode(b);
    })
    .unwrap_err();
    assert!(
        matches!(
            e,
            KycVerifyError::StarkProof(_) | KycVerifyError::MalformedProof(_)
        ),
        "{e}"
    );
    let e = tampered(&|p| p.proof.proof.truncate(p.proof.proof.len() - 2)).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    let e = tampered(&|p| p.proof.public_inputs.today += 1).unwrap_err();
    assert!(matches!(e, KycVerifyError::Today { .. }), "{e}");
    let e = tampered(&|p| p.proof.public_inputs.nullifier = "12345".into()).unwrap_err();
    assert!(matches!(e, KycVerifyError::StarkProof(_)), "{e}");
    let e = tampered(&|p| p.proof.vk_hash = "00".repeat(32)).unwrap_err();
    assert!(matches!(e, KycVerifyError::Air { .. }), "{e}");
    // Another nonce, another scope.
    let e = tampered(&|p| p.challenge.nonce = "00".repeat(31)).unwrap_err();
    assert!(matches!(e, KycVerifyError::Challenge(_)), "{e}");
    let e = tampered(&|p| p.challenge.scope = "other-bank".into()).unwrap_err();
    assert!(matches!(e, KycVerifyError::Challenge(_)), "{e}");
}

/// A manifest naming `vk_hash` as the KYC circuit's key, signed by a test setup key.
fn kyc_manifest(vk_hash: &str) -> [TrustedManifest; 1] {
    use ed25519_dalek::Signer;
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
    let mut m = KeyManifest {
        version: assay_verifier::groth16::manifest::MANIFEST_VERSION,
        backend: "groth16-bn254".into(),
        solvency: None,
        keys: [("kyc-groth16".to_string(), vk_hash.to_string())]
            .into_iter()
            .collect(),
        setup_key: hex::encode(sk.verifying_key().to_bytes()),
        created: "2026-12-01T00:00:00Z".into(),
        signature: String::new(),
    };
    let msg = assay_verifier::signing::message(
        assay_verifier::groth16::manifest::MANIFEST_DOMAIN,
        &m.signed_body(),
    );
    m.signature = hex::encode(sk.sign(&msg).to_bytes());
    [KeyManifest::open(&serde_json::to_vec(&m).unwrap(), "manifest").unwrap()]
}

#[test]
fn a_groth16_kyc_presentation_is_checked_against_the_pinned_setup() {
    let p = presentation("");
    let now = time::parse_rfc3339(&p.challenge.issued_at).unwrap() + 1;
    let check = |pinned: &[TrustedManifest]| {
        let published = kyc::formats::PublishedEpochs::verify(
            vec![("epoch.json".into(), p.epoch.clone())],
            &p.issuer.key().unwrap(),
        )
        .unwrap();
        kyc::verify_with_options(
            &p.proof,
            &p.epoch,
            &published,
            &p.issuer,
            &p.policy,
            &p.challenge,
            now,
            &kyc::KycOptions {
                groth16_keys: TrustedKeys::Manifests(pinned),
                ..kyc::KycOptions::default()
            },
        )
    };
    // The setup's manifest names the issuer's key: valid.
    check(&kyc_manifest(&p.issuer.vk_hash)).unwrap();
    // Another setup's key (the issuer's own, say): refused, naming the issuer's key.
    let e = check(&kyc_manifest(&"ab".repeat(32))).unwrap_err();
    assert!(matches!(e, KycVerifyError::UntrustedKey(_)), "{e}");
    assert!(e.to_string().contains(&p.issuer.vk_hash), "{e}");
    // No manifest pinned at all (the default): refused, saying how to pin.
    assert!(check(&[]).is_err());
}

/// The customer's STARK check verifies the bundle's signature beside the proofs: a bundle whose
/// signature fails is refused for it, even when a proof file fails too (the error a check of
/// the signature first would give), and a pinned publication key that is not the round's is
/// refused by name.
#[test]
fn a_stark_customer_check_reports_a_bad_signature_first() {
    use assay_verifier::solvency::ProofDir;
    let folder = "solvency/frozen/v3-stark";
    let mut b = RoundBundle::parse(&read(folder, "round.json"), "round").unwrap();
    let rec = InclusionRecord::parse(&read(folder, "record-customer-0007.json"), "record").unwrap();
    let mut sig = hex::decode(&b.signature).unwrap();
    sig[5] ^= 1;
    b.signature = hex::encode(sig);
    // No proof files at all: the proofs fail too.
    let empty = tempfile::tempdir().unwrap();
    let none = ProofDir::new(empty.path());
    for proofs in [ProofDir::new(stark_dir("v3-stark")), none] {
        let opts = RoundOptions {
            proofs: Some(&proofs),
            ..RoundOptions::default()
        };
        let e = verify_inclusion_with(&rec, &b, &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("signature"), "{e}");
    }
    let b = RoundBundle::parse(&read(folder, "round.json"), "round").unwrap();
    let proofs = ProofDir::new(stark_dir("v3-stark"));
    let pinned = "00".repeat(32);
    let opts = RoundOptions {
        proofs: Some(&proofs),
        publication_key: Some(&pinned),
        ..RoundOptions::default()
    };
    let e = verify_inclusion_with(&rec, &b, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("pinned key"), "{e}");
    // The bundle hash pinned: the round's own passes, any other is refused (the hash and the
    // signed body come from one serialization).
    let own = b.hash();
    for (pin, passes) in [(own.as_str(), true), (pinned.as_str(), false)] {
        let opts = RoundOptions {
            proofs: Some(&proofs),
            bundle_hash: Some(pin),
            publication_key: Some(&b.publication_key),
            ..RoundOptions::default()
        };
        match verify_inclusion_with(&rec, &b, &opts) {
            Ok(_) => assert!(passes, "a wrong pinned hash passed"),
            Err(e) => {
                assert!(!passes, "{e}");
                assert!(e.to_string().contains("pinned bundle hash"), "{e}");
            }
        }
    }
}
