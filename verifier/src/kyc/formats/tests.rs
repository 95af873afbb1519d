//! The per-backend documents: v1 files (frozen in `fixtures/kyc/v1/`) still read and verify,
//! v2 epochs sign their whole map, and the two chain.

use super::*;
use ed25519_dalek::{Signer, SigningKey};

/// A fixed test key (its bytes are public: it signs only these tests' epochs).
fn test_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn signed(mut e: Epoch, key: &SigningKey) -> Epoch {
    e.signature = hex::encode(key.sign(&e.message().unwrap()).to_bytes());
    e
}

fn epoch(version: u32, n: u64, roots: &[(Backend, &str)], prev: Option<String>) -> Epoch {
    Epoch {
        version,
        issuer_id: "issuer-1".into(),
        epoch: n,
        roots: roots.iter().map(|(b, r)| (*b, r.to_string())).collect(),
        time: time::format_rfc3339(1_700_000_000 + 60 * n as i64),
        prev_epoch_hash: prev,
        signature: String::new(),
        handover: None,
    }
}

#[test]
fn the_v1_message_is_unchanged() {
    let e = epoch(
        1,
        3,
        &[(Backend::Groth16, "12345"), (Backend::Halo2, "678")],
        Some("ab".repeat(32)),
    );
    // Built by hand, as the v1 code did.
    let mut m = b"assay/kyc/epoch/v1\0".to_vec();
    m.extend_from_slice(&8u32.to_be_bytes());
    m.extend_from_slice(b"issuer-1");
    m.extend_from_slice(&3u64.to_be_bytes());
    let mut root = [0u8; 32];
    root[..2].copy_from_slice(&12345u16.to_le_bytes());
    m.extend_from_slice(&root);
    m.extend_from_slice(&(1_700_000_180i64).to_be_bytes());
    m.extend_from_slice(&[0xab; 32]);
    let without_halo2 = m.clone();
    m.extend_from_slice(b"\0halo2-ipa-pasta\0");
    m.extend_from_slice(&3u32.to_be_bytes());
    m.extend_from_slice(b"678");
    assert_eq!(e.message().unwrap(), m);
    let mut g = e.clone();
    g.roots.remove(&Backend::Halo2);
    assert_eq!(g.message().unwrap(), without_halo2);
    // v2 signs another message, under another domain.
    let mut v2 = e.clone();
    v2.version = KYC_FORMAT_V2;
    let m2 = v2.message().unwrap();
    assert!(m2.starts_with(b"assay/kyc/epoch/v2\0"), "{m2:?}");
    assert_ne!(v2.hash().unwrap(), e.hash().unwrap());
}

#[test]
fn a_v2_epoch_signs_every_entry_of_its_map() {
    let key = test_key();
    let e = signed(
        epoch(
            2,
            0,
            &[(Backend::Groth16, "11"), (Backend::Halo2, "22")],
            None,
        ),
        &key,
    );
    let vk = key.verifying_key();
    assert!(e.verify_signature(&vk).unwrap());
    let tamper: [&dyn Fn(&mut Epoch); 4] = [
        &|e| {
            e.roots.insert(Backend::Halo2, "23".into());
        },
        &|e| {
            e.roots.insert(Backend::Groth16, "12".into());
        },
        &|e| {
            e.roots.remove(&Backend::Halo2);
        },
        &|e| e.version = 1,
    ];
    for (i, t) in tamper.iter().enumerate() {
        let mut bad = e.clone();
        t(&mut bad);
        assert!(
            !bad.verify_signature(&vk).unwrap(),
            "tampering #{i} verified"
        );
        assert!(matches!(
            verify_epoch_chain(&[bad], &vk),
            Err(EpochChainError::Signature(0))
        ));
    }
    // Through JSON: a tampered map entry in the file fails the signature.
    let text = serde_json::to_string(&e).unwrap();
    assert!(
        text.contains(r#""roots":{"groth16-bn254":"11","halo2-ipa-pasta":"22"}"#),
        "{text}"
    );
    let forged: Epoch = from_json("epoch", &text.replace("\"22\"", "\"21\"")).unwrap();
    assert!(!forged.verify_signature(&vk).unwrap());
}

#[test]
fn v1_epochs_chain_into_v2_epochs() {
    let key = test_key();
    let vk = key.verifying_key();
    let e0 = signed(epoch(1, 0, &[(Backend::Groth16, "5")], None), &key);
    let e1 = signed(
        epoch(
            1,
            1,
            &[(Backend::Groth16, "6"), (Backend::Halo2, "7")],
            Some(e0.hash().unwrap()),
        ),
        &key,
    );
    let e2 = signed(
        epoch(
            2,
            2,
            &[(Backend::Groth16, "8"), (Backend::Halo2, "9")],
            Some(e1.hash().unwrap()),
        ),
        &key,
    );
    let e3 = signed(
        epoch(2, 3, &[(Backend::Groth16, "8")], Some(e2.hash().unwrap())),
        &key,
    );
    let chain = [e0, e1, e2, e3];
    verify_epoch_chain(&chain, &vk).unwrap();
    // Each file keeps its version's shape through JSON.
    for e in &chain {
        let text = serde_json::to_string(e).unwrap();
        assert_eq!(text.contains("\"roots\""), e.version == 2, "{text}");
        assert_eq!(&from_json::<Epoch>("epoch", &text).unwrap(), e);
    }
    // A v2 epoch naming the v1 predecessor's hash under the v2 message does not link.
    let mut relinked = chain.clone();
    let mut as_v2 = chain[1].clone();
    as_v2.version = 2;
    relinked[2] = signed(
        Epoch {
            prev_epoch_hash: Some(as_v2.hash().unwrap()),
            ..chain[2].clone()
        },
        &key,
    );
    assert!(matches!(
        verify_epoch_chain(&relinked[..3], &vk),
        Err(EpochChainError::PrevHash { epoch: 2, prev: 1 })
    ));
}

#[test]
fn each_version_refuses_the_other_versions_fields() {
    let v1 = r#"{"version":1,"issuer_id":"i","epoch":0,"roots":{"groth16-bn254":"1"},"time":"2026-11-23T00:00:00Z","prev_epoch_hash":null,"signature":""}"#;
    let e = from_json::<Epoch>("epoch", v1).unwrap_err().to_string();
    assert!(e.contains("v2 field"), "{e}");
    let v2 = r#"{"version":2,"issuer_id":"i","epoch":0,"root":"1","time":"2026-11-23T00:00:00Z","prev_epoch_hash":null,"signature":""}"#;
    let e = from_json::<Epoch>("epoch", v2).unwrap_err().to_string();
    assert!(e.contains("v1 field"), "{e}");
    let empty = r#"{"version":2,"issuer_id":"i","epoch":0,"roots":{},"time":"2026-11-23T00:00:00Z","prev_epoch_hash":null,"signature":""}"#;
    assert!(from_json::<Epoch>("epoch", empty).is_err());
    let unknown = r#"{"version":2,"issuer_id":"i","epoch":0,"roots":{"plonk":"1"},"time":"2026-11-23T00:00:00Z","prev_epoch_hash":null,"signature":""}"#;
    let e = from_json::<Epoch>("epoch", unknown)
        .unwrap_err()
        .to_string();
    assert!(e.contains("plonk"), "{e}");
    let v3 = r#"{"version":3,"issuer_id":"i","epoch":0,"roots":{"groth16-bn254":"1"},"time":"2026-11-23T00:00:00Z","prev_epoch_hash":null,"signature":""}"#;
    let e = from_json::<Epoch>("epoch", v3).unwrap_err().to_string();
    assert!(e.contains("version"), "{e}");
    // Policies and challenges read versions 1 and 2 (their own version 2, below), not 3.
    let p = r#"{"version":3,"name":"x","countries":[],"regions":[],"max_epoch_age_seconds":1}"#;
    assert!(from_json::<Policy>("policy", p).is_err());
    let c = r#"{"version":1,"issuer_id":"i","serial":0,"holder_commitment":"1","jurisdiction":"FR","expiry_day":1,"credential":"2","holder_commitment_halo2":"3"}"#;
    let e = from_json::<Credential>("credential", c)
        .unwrap_err()
        .to_string();
    assert!(e.contains("come together"), "{e}");
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../fixtures/kyc/v1/", $name))
    };
}

/// Parses a frozen v1 file and checks that writing it back gives the same JSON.
fn v1<T: serde::de::DeserializeOwned + Serialize + Versioned>(what: &'static str, text: &str) -> T {
    let doc: T = from_json(what, text).unwrap();
    assert_eq!(doc.version(), 1);
    let back = serde_json::to_value(&doc).unwrap();
    let orig: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(back, orig, "{what} does not round-trip");
    doc
}

#[test]
fn frozen_v1_files_still_read_and_verify() {
    let issuer: IssuerPublic = from_json("issuer key", fixture!("issuer-public.json")).unwrap();
    let key = issuer.key().unwrap();
    let e0: Epoch = v1("epoch", fixture!("epoch-0.json"));
    let e1: Epoch = v1("epoch", fixture!("epoch-1.json"));
    assert_eq!(e0.roots.len(), 1, "epoch 0 predates Halo2");
    assert_eq!(e1.roots.len(), 2);
    // Their signatures (over the unchanged v1 message) and their chain.
    assert!(e0.verify_signature(&key).unwrap() && e1.verify_signature(&key).unwrap());
    verify_epoch_chain(&[e0.clone(), e1.clone()], &key).unwrap();
    // A v2 successor links to the v1 epoch.
    let other = test_key();
    let e2 = signed(
        Epoch {
            version: KYC_FORMAT_V2,
            epoch: 2,
            prev_epoch_hash: Some(e1.hash().unwrap()),
            ..e1.clone()
        },
        &other,
    );
    assert_eq!(
        e2.prev_epoch_hash.as_deref(),
        Some(e1.hash().unwrap().as_str())
    );
    assert!(e2.verify_signature(&other.verifying_key()).unwrap());

    let leaves: EpochLeaves = v1("leaves", fixture!("leaves-1.json"));
    let c0: Credential = v1("credential", fixture!("credential-0.json"));
    let c1: Credential = v1("credential", fixture!("credential-1.json"));
    let p0: RegistryPath = v1("path", fixture!("path-0.json"));
    let p1: RegistryPath = v1("path", fixture!("path-1.json"));
    assert_eq!(c0.backends.len(), 1, "credential 0 has no Halo2 leaf");
    assert_eq!(c1.backends.len(), 2);
    assert_eq!(p0.backends.len(), 1);
    assert_eq!(p1.backends.len(), 2);
    for (b, r) in &e1.roots {
        assert_eq!(leaves.root_for(*b), Some(r.as_str()));
        assert_eq!(p1.root_for(*b), Some(r.as_str()));
    }
    // The published leaves give the frozen paths again (the backends this build computes).
    for (serial, frozen) in [(0, &p0), (1, &p1)] {
        let p = leaves.path(serial).unwrap();
        assert_eq!(p.version, KYC_FORMAT_V2);
        assert!(!p.backends.is_empty());
        for (b, entry) in &p.backends {
            assert_eq!(frozen.backends.get(b), Some(entry), "{b} path of {serial}");
        }
    }
    // Each credential's fields hash to its Groth16 leaf, which is in the published leaves
    // and under the epoch's root by the frozen path.
    for c in [&c0, &c1] {
        let j = Jurisdiction::parse(&c.jurisdiction).unwrap();
        let hid: Fr = from_decimal(c.holder_commitment_for(Backend::Groth16).unwrap()).unwrap();
        let leaf = assay_circuits::kyc::credential(
            hid,
            j.to_fr(),
            Fr::from(c.expiry_day),
            Fr::from(c.serial),
        );
        assert_eq!(
            c.leaf_for(Backend::Groth16),
            Some(to_decimal(&leaf).as_str())
        );
        let published = leaves.leaves_for(Backend::Groth16).unwrap();
        assert_eq!(published[c.serial as usize], to_decimal(&leaf));
    }
    let siblings: Vec<Fr> = p1
        .siblings_for(Backend::Groth16)
        .unwrap()
        .iter()
        .map(|s| from_decimal(s).unwrap())
        .collect();
    let leaf: Fr = from_decimal(c1.leaf_for(Backend::Groth16).unwrap()).unwrap();
    assert_eq!(
        assay_circuits::merkle::root_from_path(leaf, 1, &siblings),
        e1.root_in::<Fr>(Backend::Groth16).unwrap()
    );
    // A v1 epoch whose map is tampered with fails its signature.
    let mut bad = e1.clone();
    bad.roots.insert(Backend::Halo2, "1".into());
    assert!(!bad.verify_signature(&key).unwrap());
}

fn policy_json(version: u32, countries: &[&str], regions: &[&str], dual: &str) -> String {
    let q = |v: &[&str]| {
        v.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let dual = if dual.is_empty() {
        String::new()
    } else {
        format!(", \"dual_codes\": {dual}")
    };
    format!(
        "{{\"version\": {version}, \"name\": \"p\", \"countries\": [{}], \"regions\": [{}], \
         \"max_epoch_age_seconds\": 60{dual}}}",
        q(countries),
        q(regions)
    )
}

/// Whether a credential for `code` passes both policy checks.
fn passes(p: &Policy, code: &str) -> bool {
    let t = p.tree().unwrap();
    let j = Jurisdiction::parse(code).unwrap();
    t.non_membership(j.exact_key()).is_ok() && t.non_membership(j.whole_key()).is_ok()
}

/// Codes ISO lists both as a country and as another country's subdivision are the policy
/// author's explicit choice (issue 11, defect 3): restricting one form without a choice is
/// refused naming the code and the choice; `every-form` restricts the other forms,
/// `listed-only` does not; the field needs version 2 and must name a listed dual code.
#[test]
fn dual_codes_are_an_explicit_choice() {
    let read = |t: &str| from_json::<Policy>("policy", t).unwrap();
    for (countries, regions, code, other) in [
        (&["TW"][..], &[][..], "TW", "CN-TW"),
        (&[][..], &["CN-TW"][..], "CN-TW", "TW"),
        (&["PR"][..], &[][..], "PR", "US-PR"),
        (&[][..], &["NL-AW"][..], "NL-AW", "AW"),
        (&["GF"][..], &[][..], "GF", "FR-GF"),
    ] {
        let p = read(&policy_json(1, countries, regions, ""));
        let e = p.tree().unwrap_err().to_string();
        assert!(
            e.contains(&format!("`{code}` is also listed by ISO as `{other}`"))
                && e.contains("every-form")
                && e.contains("listed-only"),
            "{e}"
        );
        let every = read(&policy_json(
            2,
            countries,
            regions,
            &format!("{{\"{code}\": \"every-form\"}}"),
        ));
        assert!(!passes(&every, code) && !passes(&every, other), "{code}");
        let only = read(&policy_json(
            2,
            countries,
            regions,
            &format!("{{\"{code}\": \"listed-only\"}}"),
        ));
        assert!(!passes(&only, code) && passes(&only, other), "{code}");
    }
    // Every form of TW also covers TW's own subdivisions (the whole country).
    let p = read(&policy_json(
        2,
        &[],
        &["CN-TW"],
        "{\"CN-TW\": \"every-form\"}",
    ));
    assert!(!passes(&p, "TW-TPE"));
    assert!(passes(&p, "CN-BJ"), "other provinces of CN pass");
    // The field is version 2, and names a listed dual code.
    let e = read(&policy_json(1, &["TW"], &[], "{\"TW\": \"every-form\"}"))
        .tree()
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 2 field"), "{e}");
    let e = read(&policy_json(
        2,
        &["TW"],
        &[],
        "{\"TW\": \"listed-only\", \"FR\": \"listed-only\"}",
    ))
    .tree()
    .unwrap_err()
    .to_string();
    assert!(e.contains("`FR` is not a restricted code"), "{e}");
    assert!(from_json::<Policy>(
        "policy",
        &policy_json(2, &["TW"], &[], "{\"TW\": \"sometimes\"}")
    )
    .is_err());
    // A policy without dual codes compiles as before under either version.
    let frozen = read(include_str!(
        "../../../../fixtures/kyc/frozen/v1/policy.json"
    ));
    let mut v2 = frozen.clone();
    v2.version = 2;
    assert_eq!(frozen.tree().unwrap().root(), v2.tree().unwrap().root());
}

/// Challenges: version 1 names no backend (the frozen presentations), version 2 must.
#[test]
fn a_v2_challenge_names_its_backend() {
    let text = |version: u32, backend: &str| {
        format!(
            "{{\"version\": {version}, \"scope\": \"bank-a\",{backend} \"nonce\": \"{}\", \
             \"issued_at\": \"2026-12-01T00:00:00Z\", \"expires_at\": \"2026-12-01T00:10:00Z\"}}",
            "00".repeat(31)
        )
    };
    let c: Challenge =
        from_json("challenge", &text(2, " \"backend\": \"halo2-ipa-pasta\",")).unwrap();
    assert_eq!(c.backend, Some(Backend::Halo2));
    c.fields().unwrap();
    let c: Challenge = from_json("challenge", &text(1, "")).unwrap();
    c.fields().unwrap();
    let c: Challenge = from_json("challenge", &text(2, "")).unwrap();
    assert!(c.fields().unwrap_err().to_string().contains("backend"));
    let c: Challenge =
        from_json("challenge", &text(1, " \"backend\": \"groth16-bn254\",")).unwrap();
    assert!(c.fields().is_err());
    assert!(from_json::<Challenge>("challenge", &text(3, "")).is_err());
}

/// A published chain: an epoch of the chain is contained, one signed by the same key but not
/// published is not, and a fork (two signed epochs with one number) is reported with both
/// sources.
#[test]
fn published_chains_contain_their_epochs_and_report_forks() {
    let k = test_key();
    let e0 = signed(epoch(2, 0, &[(Backend::Groth16, "1")], None), &k);
    let e1 = signed(
        epoch(2, 1, &[(Backend::Groth16, "2")], Some(e0.hash().unwrap())),
        &k,
    );
    let e1b = signed(
        epoch(2, 1, &[(Backend::Groth16, "3")], Some(e0.hash().unwrap())),
        &k,
    );
    let chain = PublishedEpochs::verify(
        vec![("b.json".into(), e1.clone()), ("a.json".into(), e0.clone())],
        &k.verifying_key(),
    )
    .unwrap();
    assert!(chain.contains(&e0) && chain.contains(&e1) && !chain.contains(&e1b));
    assert_eq!(chain.range(), (0, 1));
    assert!(chain.signed_by(&k.verifying_key()));
    let e = PublishedEpochs::verify(
        vec![
            ("a.json".into(), e0.clone()),
            ("b.json".into(), e1),
            ("c.json".into(), e1b),
        ],
        &k.verifying_key(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "epoch 1: fork: `b.json` and `c.json` are two different signed epochs with this number"
    );
    let other = SigningKey::from_bytes(&[8u8; 32]);
    assert!(PublishedEpochs::verify(vec![("a.json".into(), e0)], &other.verifying_key()).is_err());
}

// ---- Key rotation: handovers recorded in the epoch chain ----

fn key(b: u8) -> SigningKey {
    SigningKey::from_bytes(&[b; 32])
}

/// Epoch `n` after `prev`, version 2, signed by `k`.
fn next(prev: &Epoch, root: &str, k: &SigningKey) -> Epoch {
    signed(
        epoch(
            2,
            prev.epoch + 1,
            &[(Backend::Groth16, root)],
            Some(prev.hash().unwrap()),
        ),
        k,
    )
}

/// Epoch `prev + 1` carrying a handover from `old` (which signs it) to `new` (which signs the
/// epoch); `handover_signer` signs the handover (normally `old`).
fn handover_after(
    prev: &Epoch,
    old: &SigningKey,
    new: &SigningKey,
    handover_signer: &SigningKey,
    epoch_signer: &SigningKey,
) -> Epoch {
    let mut e = epoch(
        EPOCH_FORMAT_V3,
        prev.epoch + 1,
        &[(Backend::Groth16, "77")],
        Some(prev.hash().unwrap()),
    );
    e.handover = Some(Handover {
        old_key: hex::encode(old.verifying_key().as_bytes()),
        new_key: hex::encode(new.verifying_key().as_bytes()),
        reason: "scheduled".into(),
        time: e.time.clone(),
        signature: "00".repeat(64),
    });
    let sig = handover_signer.sign(&e.handover_message().unwrap());
    e.handover.as_mut().unwrap().signature = hex::encode(sig.to_bytes());
    signed(e, epoch_signer)
}

/// Epochs 0 and 1 by key 1, epoch 2 hands over to key 2, epoch 3 by key 2.
fn rotated() -> Vec<Epoch> {
    let (k1, k2) = (key(1), key(2));
    let e0 = signed(epoch(2, 0, &[(Backend::Groth16, "1")], None), &k1);
    let e1 = next(&e0, "2", &k1);
    let e2 = handover_after(&e1, &k1, &k2, &k1, &k2);
    let e3 = next(&e2, "3", &k2);
    vec![e0, e1, e2, e3]
}

fn named(epochs: &[Epoch]) -> Vec<(String, Epoch)> {
    epochs
        .iter()
        .map(|e| (format!("epoch-{}.json", e.epoch), e.clone()))
        .collect()
}

/// The chain is followed from the pinned original key through the handover: epochs after it
/// are signed by the new key; pinning the new key accepts the same chain; the v3 epoch reads
/// back; an unrotated chain still verifies under its one key.
#[test]
fn a_rotated_chain_is_followed_from_the_pinned_key() {
    let chain = rotated();
    let (k1, k2) = (key(1).verifying_key(), key(2).verifying_key());
    let p = PublishedEpochs::verify(named(&chain), &k1).unwrap();
    assert_eq!(p.range(), (0, 3));
    assert!(p.signed_by(&k1) && !p.signed_by(&k2));
    assert_eq!(p.key_for(0), Some(k1));
    assert_eq!(p.key_for(1), Some(k1));
    assert_eq!(p.key_for(2), Some(k2));
    assert_eq!(p.key_for(9), Some(k2));
    assert_eq!(p.schedule().handover_epochs(), vec![2]);
    assert!(chain.iter().all(|e| p.contains(e)));
    // Pinning the new key: it countersigned the handover, which names the chain so far.
    assert!(PublishedEpochs::verify(named(&chain), &k2).is_ok());
    // The v3 epoch round-trips and its JSON carries the handover.
    let text = serde_json::to_string(&chain[2]).unwrap();
    assert!(text.contains("\"handover\"") && text.contains("\"version\":3"));
    assert_eq!(from_json::<Epoch>("epoch", &text).unwrap(), chain[2]);
    // Without a handover, nothing changes: one key, v2 epochs.
    verify_epoch_chain(&chain[..2], &k1).unwrap();
    assert!(!serde_json::to_string(&chain[1])
        .unwrap()
        .contains("handover"));
}

/// The old key's signature on an epoch after its handover is refused, naming the handover.
#[test]
fn an_epoch_signed_by_the_retired_key_is_refused() {
    let mut chain = rotated();
    chain[3] = next(&chain[2], "3", &key(1));
    let e = verify_epoch_chain(&chain, &key(1).verifying_key()).unwrap_err();
    assert!(
        matches!(
            e,
            EpochChainError::RetiredKey {
                epoch: 3,
                handover_epoch: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e
        .to_string()
        .contains("handed over to another key from epoch 2"));
    // The handover epoch itself signed by the old key instead of the new one: refused too.
    let mut chain = rotated();
    chain[2] = handover_after(&chain[1], &key(1), &key(2), &key(1), &key(1));
    chain.truncate(3);
    assert!(matches!(
        verify_epoch_chain(&chain, &key(1).verifying_key()),
        Err(EpochChainError::RetiredKey { epoch: 2, .. })
    ));
    // Signed by neither: a plain bad signature.
    let mut chain = rotated();
    chain[3] = next(&chain[2], "3", &key(9));
    assert_eq!(
        verify_epoch_chain(&chain, &key(1).verifying_key()),
        Err(EpochChainError::Signature(3))
    );
}

/// A handover not signed by the key it names, or by a key that is not the one in force.
#[test]
fn a_handover_not_signed_by_the_current_key_is_refused() {
    let (k1, k2, k3, k4) = (key(1), key(2), key(3), key(4));
    // Names key 1 as the old key but is signed by key 3.
    let mut chain = rotated();
    chain[2] = handover_after(&chain[1], &k1, &k2, &k3, &k2);
    chain.truncate(3);
    let e = verify_epoch_chain(&chain, &k1.verifying_key()).unwrap_err();
    assert!(matches!(e, EpochChainError::HandoverSignature(_)), "{e}");
    assert!(e
        .to_string()
        .contains("not signed by the key it hands over from"));
    // A valid handover from key 3, which is not the key in force (key 2).
    let mut chain = rotated();
    let e4 = handover_after(&chain[3], &k3, &k4, &k3, &k4);
    chain.push(e4);
    let e = verify_epoch_chain(&chain, &k1.verifying_key()).unwrap_err();
    assert!(
        matches!(e, EpochChainError::HandoverNotCurrent { epoch: 4, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("only the current key hands over"));
    // A handover's fields changed after signing: the old key's signature fails.
    let mut chain = rotated();
    chain[2].handover.as_mut().unwrap().reason = "compromise".into();
    chain[2] = signed(chain[2].clone(), &k2);
    assert!(matches!(
        verify_epoch_chain(&chain, &k1.verifying_key()),
        Err(EpochChainError::HandoverSignature(_))
    ));
}

/// Two different handovers from one key: in one linear chain, and as two epochs with one
/// number (each branch signed).
#[test]
fn a_forked_handover_is_refused() {
    let (k1, k2, k3) = (key(1), key(2), key(3));
    // Key 1 hands over again at epoch 4 (to key 3), after its handover at epoch 2.
    let mut chain = rotated();
    let e4 = handover_after(&chain[3], &k1, &k3, &k1, &k3);
    chain.push(e4);
    let e = verify_epoch_chain(&chain, &k1.verifying_key()).unwrap_err();
    assert_eq!(
        e,
        EpochChainError::HandoverFork {
            key: hex::encode(k1.verifying_key().as_bytes()),
            first: 2,
            second: 4
        }
    );
    // Two epochs 2: key 1 hands over to key 2 in one and to key 3 in the other.
    let chain = rotated();
    let fork = handover_after(&chain[1], &k1, &k3, &k1, &k3);
    let mut files = named(&chain);
    files.push(("z-thief.json".into(), fork));
    let e = PublishedEpochs::verify(files, &k1.verifying_key()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "epoch 2: fork: `epoch-2.json` and `z-thief.json` are two different signed epochs with this number"
    );
    // A retired key's second epoch 3 beside the real one: a fork too.
    let thief3 = next(&chain[2], "666", &k1);
    let mut files = named(&chain);
    files.push(("z-thief.json".into(), thief3));
    assert!(matches!(
        PublishedEpochs::verify(files, &k1.verifying_key()),
        Err(EpochChainError::Fork { epoch: 3, .. })
    ));
    // A key that comes back is refused.
    let mut chain = rotated();
    let back = handover_after(&chain[3], &k2, &k1, &k2, &k1);
    chain.push(back);
    assert!(matches!(
        verify_epoch_chain(&chain, &k1.verifying_key()),
        Err(EpochChainError::KeyReused { epoch: 4, .. })
    ));
}

/// A chain that does not start at the pinned key (or pass through it) is refused.
#[test]
fn a_chain_from_another_key_is_refused() {
    let (k1, k3, k4) = (key(1), key(3), key(4));
    // Rotated from key 3 to key 4: the pinned key 1 is none of its keys.
    let e0 = signed(epoch(2, 0, &[(Backend::Groth16, "1")], None), &k3);
    let e1 = handover_after(&e0, &k3, &k4, &k3, &k4);
    let e = PublishedEpochs::verify(named(&[e0.clone(), e1]), &k1.verifying_key()).unwrap_err();
    assert!(matches!(e, EpochChainError::UntrustedStart { .. }), "{e}");
    let pinned = hex::encode(k1.verifying_key().as_bytes());
    assert!(e
        .to_string()
        .contains(&format!("the pinned issuer key {pinned} is none of them")));
    // Without a handover: the first epoch's signature is refused.
    assert_eq!(
        PublishedEpochs::verify(named(&[e0]), &k1.verifying_key()),
        Err(EpochChainError::Signature(0))
    );
    // Only the rotated part of a chain pinned at key 1: followed from its handover.
    let chain = rotated();
    assert!(PublishedEpochs::verify(named(&chain[2..]), &k1.verifying_key()).is_ok());
    // But without the handover epoch, key 2's epochs are not key 1's.
    assert_eq!(
        PublishedEpochs::verify(named(&chain[3..]), &k1.verifying_key()),
        Err(EpochChainError::Signature(3))
    );
}

/// The format: a handover only in a version 3 epoch, never in epoch 0, two different keys.
#[test]
fn handovers_are_version_3_only() {
    let chain = rotated();
    let mut v = serde_json::to_value(&chain[2]).unwrap();
    v["version"] = 2.into();
    let err = from_json::<Epoch>("epoch", &v.to_string()).unwrap_err();
    assert!(
        err.to_string().contains("`handover` is a version 3 field"),
        "{err}"
    );
    let mut v = serde_json::to_value(&chain[1]).unwrap();
    v["version"] = 3.into();
    let err = from_json::<Epoch>("epoch", &v.to_string()).unwrap_err();
    assert!(
        err.to_string().contains("missing field `handover`"),
        "{err}"
    );
    let mut v = serde_json::to_value(&chain[2]).unwrap();
    v["handover"]["extra"] = 1.into();
    assert!(from_json::<Epoch>("epoch", &v.to_string()).is_err());
    // Epoch 0 cannot carry one; the new key must differ from the old.
    let mut e0 = chain[2].clone();
    e0.epoch = 0;
    e0.prev_epoch_hash = None;
    assert!(e0
        .fields()
        .unwrap_err()
        .to_string()
        .contains("epoch 0 cannot carry"));
    let mut same = chain[2].clone();
    same.handover.as_mut().unwrap().new_key = same.handover.as_ref().unwrap().old_key.clone();
    assert!(same
        .fields()
        .unwrap_err()
        .to_string()
        .contains("handover.new_key"));
    // The v3 message covers the handover: changing its time changes the epoch's hash.
    let mut later = chain[2].clone();
    later.handover.as_mut().unwrap().time = time::format_rfc3339(1_800_000_000);
    assert_ne!(later.hash().unwrap(), chain[2].hash().unwrap());
}
