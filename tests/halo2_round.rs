//! A whole round on the Halo2 backend, through the library: it verifies like a Groth16 round,
//! every tampering is refused with a reason, and neither backend's verifier accepts the
//! other's bundle or proofs.

mod common;

use assay_prover::solvency::{record_path, BackendChoice};
use assay_verifier::{
    halo2::ParamsCache,
    signing,
    solvency::{
        verify_inclusion_with, verify_round, Circuits, Halo2Circuits, InclusionRecord, RoundBundle,
        RoundOptions, BACKEND_GROTH16, BACKEND_HALO2, BUNDLE_VERSION, ROUND_DOMAIN,
    },
    FormatError, VerifyError,
};
use ed25519_dalek::Signer;
use std::{fs, path::PathBuf, sync::OnceLock};

struct Fixture {
    _dir: tempfile::TempDir,
    halo2: PathBuf,
    groth16: PathBuf,
    params: ParamsCache,
    /// The Groth16 round's setup manifest (its relabelled copies are checked under it).
    pinned: Vec<assay_verifier::groth16::TrustedManifest>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let params = dir.path().join("params");
        // 13 customers → 16 leaves → 4 batches of 4 → 2 aggregations → top; the same
        // customers and balances on both backends.
        let halo2 = common::prove_round_with(
            &dir.path().join("h"),
            &params,
            13,
            BackendChoice::Halo2 {
                layout: "compact".into(),
            },
        );
        let groth16 = common::prove_round(&dir.path().join("g"), &dir.path().join("keys"), 13);
        let pinned = vec![common::manifest(&dir.path().join("keys"))];
        Fixture {
            _dir: dir,
            halo2,
            groth16,
            params: ParamsCache::new(params),
            pinned,
        }
    })
}

fn read_bundle(dir: &std::path::Path) -> RoundBundle {
    RoundBundle::parse(&fs::read(dir.join("round.json")).unwrap(), "round").unwrap()
}

fn halo2_bundle() -> RoundBundle {
    read_bundle(&fixture().halo2)
}

fn groth16_bundle() -> RoundBundle {
    read_bundle(&fixture().groth16)
}

fn opts() -> RoundOptions<'static> {
    RoundOptions {
        halo2_params: Some(&fixture().params),
        trusted_keys: assay_verifier::groth16::TrustedKeys::Manifests(&fixture().pinned),
        ..Default::default()
    }
}

fn record(dir: &std::path::Path, user: &str) -> InclusionRecord {
    let p = record_path(dir, user).unwrap();
    InclusionRecord::parse(&fs::read(p).unwrap(), "record").unwrap()
}

fn resign(b: &mut RoundBundle) {
    let msg = signing::message(ROUND_DOMAIN, &b.signed_body());
    b.signature = hex::encode(common::test_signer().sign(&msg).to_bytes());
}

/// The Halo2 section of a (version 2) Halo2 bundle.
fn h2(b: &mut RoundBundle) -> &mut Halo2Circuits {
    match b.circuits.as_mut() {
        Some(Circuits::Halo2(h)) => h,
        other => panic!("not a Halo2 section: {other:?}"),
    }
}

/// The same bundle in the version 1 shape (a `halo2` field for Halo2, nothing for Groth16),
/// signed again, as a build before version 2 would have written it.
fn to_v1(b: &mut RoundBundle) {
    b.version = 1;
    b.halo2 = match b.circuits.take() {
        Some(Circuits::Halo2(h)) => Some(h),
        _ => None,
    };
    resign(b);
}

fn flip_hex(s: &mut String, i: usize) {
    let mut b = s.clone().into_bytes();
    b[i] = if b[i] == b'0' { b'1' } else { b'0' };
    *s = String::from_utf8(b).unwrap();
}

#[test]
fn a_halo2_round_verifies_with_its_circuits_named() {
    let b = halo2_bundle();
    assert_eq!(b.backend, BACKEND_HALO2);
    assert_eq!(b.version, BUNDLE_VERSION);
    let h = h2(&mut b.clone()).clone();
    assert_eq!(h.layout, "compact");
    assert_eq!(h.aggregation_k.len(), 2);
    assert_eq!(
        b.verifying_keys.len(),
        3,
        "batch, aggregation and top circuits"
    );
    let r = verify_round(&b, &opts()).unwrap();
    assert_eq!(
        (r.leaf_count, r.batch_proofs, r.aggregation_proofs),
        (16, 4, 3)
    );
    // Every customer's record verifies, through the batch proof and both aggregation levels.
    for u in ["user-0", "user-7", "user-12"] {
        let ir = verify_inclusion_with(&record(&fixture().halo2, u), &b, &opts()).unwrap();
        assert_eq!(ir.proofs_checked.len(), 3);
    }
    // Parameters were cached on disk by the prover and read back by the verifier.
    assert!(fixture().params.path(h.batch_k).exists());
}

#[test]
fn the_same_balances_give_the_same_integers_on_both_backends() {
    let (h, g) = (halo2_bundle(), groth16_bundle());
    // Statement-level integers agree: configuration, reserves, tree size, proof counts.
    assert_eq!(h.config, g.config);
    assert_eq!(h.leaf_count, g.leaf_count);
    let top = |b: &RoundBundle| b.aggregations.last().unwrap()[0].public_inputs.clone();
    let (th, tg) = (top(&h), top(&g));
    assert_eq!(th.len(), tg.len());
    assert_eq!(th[5..], tg[5..], "reserves are the same integers");
    assert_eq!(th[4], "0", "no previous round on either");
    assert_eq!(tg[4], "0");
    // Hash outputs (round id image, roots) differ: another field, another Poseidon.
    assert_ne!(th[0], tg[0]);
    assert_ne!(h.global_root, g.global_root);
    // A customer's record states the same balances on both.
    let (rh, rg) = (
        record(&fixture().halo2, "user-5"),
        record(&fixture().groth16, "user-5"),
    );
    assert_eq!(rh.balances, rg.balances);
    assert_eq!(rh.leaf_index < 16, rg.leaf_index < 16);
}

#[test]
fn tampered_halo2_proofs_are_rejected() {
    for (which, pos) in [(0usize, 10usize), (1, 200), (3, 2000)] {
        let mut b = halo2_bundle();
        flip_hex(&mut b.batches[which].proof, pos);
        resign(&mut b);
        match verify_round(&b, &opts()) {
            Err(VerifyError::ProofRejected { proof, backend }) => {
                assert_eq!(proof, format!("batch proof {which}"));
                assert_eq!(backend, "Halo2");
            }
            other => panic!("flipped byte {pos} of batch {which}: {other:?}"),
        }
    }
    let mut b = halo2_bundle();
    let p = &mut b.aggregations[1][0].proof;
    p.truncate(p.len() / 2);
    resign(&mut b);
    assert!(matches!(
        verify_round(&b, &opts()),
        Err(VerifyError::ProofRejected { .. })
    ));
    let mut b = halo2_bundle();
    b.batches[1].proof = "zz".into();
    resign(&mut b);
    assert!(matches!(
        verify_round(&b, &opts()),
        Err(VerifyError::Format(FormatError::Field { .. }))
    ));
}

#[test]
fn changed_public_inputs_are_rejected() {
    // The root of batch 2 swapped for batch 3's: the digest of the aggregation above it no
    // longer matches (checked before any proof), and with the digest fixed the proof fails.
    let mut b = halo2_bundle();
    b.batches[2].public_inputs[1] = b.batches[3].public_inputs[1].clone();
    resign(&mut b);
    // (Every public input is checked before any proof is verified.)
    match verify_round(&b, &opts()) {
        Err(VerifyError::PublicInput { proof, input, .. }) => {
            assert_eq!(
                (proof.as_str(), input.as_str()),
                ("aggregation proof (level 1, #1)", "digest")
            )
        }
        other => panic!("{other:?}"),
    }
    let mut b = halo2_bundle();
    b.config.assets[0].reserves = "999999".into();
    resign(&mut b);
    match verify_round(&b, &opts()) {
        Err(VerifyError::PublicInput { input, .. }) => assert_eq!(input, "reserves[USD]"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_bundle_must_name_the_circuits_it_was_proven_with() {
    // Another k for the batch circuit: refused before any parameter is generated.
    let mut b = halo2_bundle();
    h2(&mut b).batch_k += 8;
    resign(&mut b);
    match verify_round(&b, &opts()) {
        Err(VerifyError::Format(FormatError::Field { field, .. })) => {
            assert_eq!(field, "circuits.batch_k")
        }
        other => panic!("{other:?}"),
    }
    // ... and in a version 1 bundle, named by its version 1 field.
    to_v1(&mut b);
    match verify_round(&b, &opts()) {
        Err(VerifyError::Format(FormatError::Field { field, .. })) => {
            assert_eq!(field, "halo2.batch_k")
        }
        other => panic!("{other:?}"),
    }
    // Another layout: other circuits, other keys, other k.
    let mut b = halo2_bundle();
    h2(&mut b).layout = "balanced".into();
    resign(&mut b);
    assert!(matches!(
        verify_round(&b, &opts()),
        Err(VerifyError::Format(FormatError::Field { .. }))
    ));
    let mut b = halo2_bundle();
    h2(&mut b).layout = "fastest".into();
    resign(&mut b);
    match verify_round(&b, &opts()) {
        Err(VerifyError::Format(FormatError::Field { field, .. })) => {
            assert_eq!(field, "circuits.layout")
        }
        other => panic!("{other:?}"),
    }
    // A proof naming a key that is not its circuit's.
    let mut b = halo2_bundle();
    b.batches[0].key = b.aggregations[0][0].key.clone();
    resign(&mut b);
    // Refused before any proof: batch proof 1 names another key than batch proof 0.
    assert!(matches!(
        verify_round(&b, &opts()),
        Err(VerifyError::Structure(m)) if m.contains("a different key than batch proof 0")
    ));
    // An extra, unused key in the bundle.
    let mut b = halo2_bundle();
    b.verifying_keys
        .insert("00".repeat(32), "an extra key".into());
    resign(&mut b);
    assert!(matches!(
        verify_round(&b, &opts()),
        Err(VerifyError::Key { .. })
    ));
}

#[test]
fn neither_backend_accepts_the_other() {
    // A Halo2 bundle relabelled as Groth16: its section names Halo2, in either version.
    let mut b = halo2_bundle();
    b.backend = BACKEND_GROTH16.into();
    resign(&mut b);
    let e = verify_round(&b, &opts()).unwrap_err().to_string();
    assert!(e.contains("mislabelled") && e.contains("`circuits`"), "{e}");
    let mut v1 = b.clone();
    to_v1(&mut v1);
    let e = verify_round(&v1, &opts()).unwrap_err().to_string();
    assert!(e.contains("mislabelled") && e.contains("`halo2`"), "{e}");
    // ... and with a Groth16 section, its keys are not Groth16 keys.
    b.circuits = Some(Circuits::Groth16(Default::default()));
    resign(&mut b);
    assert!(verify_round(&b, &opts()).is_err());
    v1.halo2 = None;
    resign(&mut v1);
    assert!(verify_round(&v1, &opts()).is_err());
    // A Groth16 bundle relabelled as Halo2: its section names Groth16 (version 2), or it
    // names no circuits (version 1).
    let mut g = groth16_bundle();
    g.backend = BACKEND_HALO2.into();
    resign(&mut g);
    let e = verify_round(&g, &opts()).unwrap_err().to_string();
    assert!(
        e.contains("mislabelled") && e.contains("groth16-bn254"),
        "{e}"
    );
    let mut g1 = g.clone();
    to_v1(&mut g1);
    let e = verify_round(&g1, &opts()).unwrap_err().to_string();
    assert!(e.contains("needs its `halo2` section"), "{e}");
    // ... and with the Halo2 round's section added, the keys are not the circuits' keys.
    g.circuits = halo2_bundle().circuits;
    resign(&mut g);
    assert!(matches!(
        verify_round(&g, &opts()),
        Err(VerifyError::Key { .. } | VerifyError::Format(_))
    ));
    // A Halo2 proof spliced into a Groth16 bundle does not decode as a Groth16 proof.
    let mut g = groth16_bundle();
    g.batches[0].proof = halo2_bundle().batches[0].proof.clone();
    resign(&mut g);
    assert!(matches!(
        verify_round(&g, &opts()),
        Err(VerifyError::Format(_))
    ));
    // A Groth16 record checked against the Halo2 round: another bundle.
    let r = record(&fixture().groth16, "user-3");
    assert!(matches!(
        verify_inclusion_with(&r, &halo2_bundle(), &opts()),
        Err(VerifyError::Inclusion(_))
    ));
    // Unknown backends are named.
    let mut b = halo2_bundle();
    b.backend = "plonky9".into();
    assert_eq!(
        verify_round(&b, &opts()).unwrap_err().to_string(),
        "backend `plonky9` is not supported by this verifier"
    );
}

#[test]
fn v2_bundles_round_trip_and_verify_and_their_v1_shape_still_verifies() {
    for b in [halo2_bundle(), groth16_bundle()] {
        let name = b.backend.clone();
        assert_eq!(b.version, BUNDLE_VERSION, "{name}");
        assert!(b.halo2.is_none(), "{name}: no version 1 field");
        let section = b.circuits.clone().expect("a circuits section");
        assert_eq!(section.backend().name(), name);
        // Round trip: the same bundle, the same hash, and it verifies.
        let text = serde_json::to_string_pretty(&b).unwrap();
        assert!(
            text.contains(&format!("\"circuits\": {{\n    \"backend\": \"{name}\"")),
            "{text}"
        );
        let back = RoundBundle::parse(text.as_bytes(), "round").unwrap();
        assert_eq!(back, b);
        assert_eq!(back.hash(), b.hash());
        assert_eq!(verify_round(&back, &opts()).unwrap().backend, name);
        // The version 1 shape of the same round: written and read as version 1, it verifies.
        let mut v1 = b.clone();
        to_v1(&mut v1);
        let text = serde_json::to_string(&v1).unwrap();
        assert!(text.starts_with("{\"version\":1,"), "{text}");
        assert!(!text.contains("circuits"), "{text}");
        assert_eq!(text.contains("\"halo2\":"), name == BACKEND_HALO2, "{text}");
        let v1 = RoundBundle::parse(text.as_bytes(), "round").unwrap();
        assert_eq!(verify_round(&v1, &opts()).unwrap().backend, name);
        // A version 2 bundle whose section names the other backend: refused, with the reason.
        let mut x = b.clone();
        x.circuits = Some(match section {
            Circuits::Halo2(_) => Circuits::Groth16(Default::default()),
            _ => halo2_bundle().circuits.unwrap(),
        });
        resign(&mut x);
        let other = x.circuits.as_ref().unwrap().backend().name();
        match verify_round(&x, &opts()) {
            Err(VerifyError::Structure(m)) => assert_eq!(
                m,
                format!(
                    "a {name} bundle carries a `circuits` section for {other}: mislabelled or mixed bundle"
                )
            ),
            other => panic!("{other:?}"),
        }
        // A version 2 bundle without its section, or with version 1's field: refused.
        let mut x = b.clone();
        x.circuits = None;
        resign(&mut x);
        match verify_round(&x, &opts()) {
            Err(VerifyError::Format(FormatError::Field { field, .. })) => {
                assert_eq!(field, "circuits")
            }
            other => panic!("{other:?}"),
        }
        let mut x = b.clone();
        x.halo2 = halo2_bundle().circuits.and_then(|c| match c {
            Circuits::Halo2(h) => Some(h),
            _ => None,
        });
        resign(&mut x);
        match verify_round(&x, &opts()) {
            Err(VerifyError::Format(FormatError::Field { field, .. })) => {
                assert_eq!(field, "halo2")
            }
            other => panic!("{other:?}"),
        }
    }
}
