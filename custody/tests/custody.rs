//! Threshold custody end to end: DKG (in one process and step by step over files), signing by
//! every pair, one share refused, tampered signature shares, wrong passphrases, the lock-out.

use assay_custody::dkg::{self, DkgLayout, DkgParams, DkgProgress};
use assay_custody::sign::{self, Ceremony, Signed};
use assay_custody::vault::{self, GroupPublicKey, VaultPolicy};
use assay_custody::{CustodyError, KdfCost};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const CHEAP: KdfCost = KdfCost::MINIMUM;
const P: DkgParams = DkgParams {
    participants: 3,
    threshold: 2,
};
const PASS: [&str; 3] = ["pass one", "pass two", "pass three"];

fn policy() -> VaultPolicy {
    VaultPolicy::default()
}

fn dkg_dir() -> (tempfile::TempDir, GroupPublicKey) {
    let dir = tempfile::tempdir().unwrap();
    let g = dkg::run_in_process(dir.path(), P, &PASS, CHEAP).unwrap();
    (dir, g)
}

fn share(dir: &Path, i: u16) -> PathBuf {
    DkgLayout::new(dir).share(i)
}

fn dalek_verify(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    let vk = ed25519_dalek::VerifyingKey::from_bytes(pk).unwrap();
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
        .is_ok()
}

#[test]
fn dkg_in_one_process_then_every_pair_signs() {
    let (dir, g) = dkg_dir();
    let l = DkgLayout::new(dir.path());
    assert_eq!(GroupPublicKey::read(&l.public_key()).unwrap(), g);
    assert_eq!((g.threshold, g.participants), (2, 3));
    // No DKG state is left behind.
    for i in 1..=3 {
        assert!(!l.state(i).exists());
        let (n, g2) = vault::read_share_public(&share(dir.path(), i)).unwrap();
        assert_eq!((n, &g2), (i, &g));
    }
    let msg = b"epoch 7 root";
    for pair in [[1u16, 2], [1, 3], [2, 3]] {
        let shares: Vec<_> = pair
            .iter()
            .map(|i| {
                vault::open_share(&share(dir.path(), *i), PASS[usize::from(*i) - 1], policy())
                    .unwrap()
            })
            .collect();
        let s = sign::sign_in_process(&shares, msg).unwrap();
        assert_eq!(s.signers, pair.to_vec());
        assert_eq!(s.public_key, g.public_key);
        assert!(dalek_verify(&g.public_key, msg, &s.signature), "{pair:?}");
        assert!(!dalek_verify(&g.public_key, b"another", &s.signature));
    }
    // All three sign too.
    let all: Vec<_> = (1..=3)
        .map(|i| {
            vault::open_share(&share(dir.path(), i), PASS[usize::from(i) - 1], policy()).unwrap()
        })
        .collect();
    let s = sign::sign_in_process(&all, msg).unwrap();
    assert!(dalek_verify(&g.public_key, msg, &s.signature));
}

#[test]
fn one_share_alone_cannot_sign() {
    let (dir, _) = dkg_dir();
    let one = vault::open_share(&share(dir.path(), 2), PASS[1], policy()).unwrap();
    let err = sign::sign_in_process(std::slice::from_ref(&one), b"m").unwrap_err();
    assert!(
        matches!(
            err,
            CustodyError::NotEnoughShares {
                given: 1,
                threshold: 2
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("one share alone cannot sign"),
        "{err}"
    );
    // The same share twice is not two shares.
    let again = vault::open_share(&share(dir.path(), 2), PASS[1], policy()).unwrap();
    let err = sign::sign_in_process(&[one, again], b"m").unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    // Nor does one share sign through a ceremony: the coordinator refuses the package.
    let c = tempfile::tempdir().unwrap();
    let cer = Ceremony::new(c.path());
    sign::commit(&cer, &share(dir.path(), 1), PASS[0], policy(), b"m", CHEAP).unwrap();
    let g = GroupPublicKey::read(&DkgLayout::new(dir.path()).public_key()).unwrap();
    let err = sign::prepare(&cer, &g, b"m").unwrap_err();
    assert!(
        matches!(err, CustodyError::NotEnoughShares { given: 1, .. }),
        "{err}"
    );
}

#[test]
fn dkg_step_by_step_over_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let st = |i: u16| dkg::step(d, P, i, PASS[usize::from(i) - 1], CHEAP).unwrap();
    assert_eq!(st(1), DkgProgress::Round1Published);
    // Participant 1 must wait for the others' round-1 files.
    match st(1) {
        DkgProgress::Waiting { missing } => assert_eq!(missing.len(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(st(3), DkgProgress::Round1Published);
    assert_eq!(st(2), DkgProgress::Round1Published);
    assert_eq!(st(2), DkgProgress::Round2Published);
    assert_eq!(st(1), DkgProgress::Round2Published);
    // Participant 2 waits for participant 3's round-2 package.
    match st(2) {
        DkgProgress::Waiting { missing } => {
            assert_eq!(missing, vec![DkgLayout::new(d).round2(3, 2)])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(st(3), DkgProgress::Round2Published);
    let mut fingerprints = Vec::new();
    let mut keys = Vec::new();
    for i in [2, 3, 1] {
        match st(i) {
            DkgProgress::Finished {
                group, fingerprint, ..
            } => {
                fingerprints.push(fingerprint);
                keys.push(group.public_key);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(fingerprints.windows(2).all(|w| w[0] == w[1]));
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
    // Round-2 files are encrypted: no share's hex appears anywhere in the folder in clear.
    let g = GroupPublicKey::read(&DkgLayout::new(d).public_key()).unwrap();
    let s = vec![
        vault::open_share(&share(d, 1), PASS[0], policy()).unwrap(),
        vault::open_share(&share(d, 3), PASS[2], policy()).unwrap(),
    ];
    let signed = sign::sign_in_process(&s, b"hello").unwrap();
    assert!(dalek_verify(&g.public_key, b"hello", &signed.signature));
    // Stepping a finished participant again is refused, not redone.
    let err = dkg::step(d, P, 1, PASS[0], CHEAP).unwrap_err();
    assert!(matches!(err, CustodyError::Exists(_)), "{err}");
}

#[test]
fn dkg_round2_tampering_names_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for i in 1..=3 {
        dkg::step(d, P, i, PASS[usize::from(i) - 1], CHEAP).unwrap();
    }
    for i in 1..=3 {
        dkg::step(d, P, i, PASS[usize::from(i) - 1], CHEAP).unwrap();
    }
    let path = DkgLayout::new(d).round2(3, 1);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut ct = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
    ct[5] ^= 1;
    v["ciphertext"] = hex::encode(ct).into();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let err = dkg::step(d, P, 1, PASS[0], CHEAP).unwrap_err();
    match err {
        CustodyError::Dkg { culprits, .. } => assert_eq!(culprits, vec![3]),
        other => panic!("{other}"),
    }
    // A replaced round-1 file is noticed by its owner.
    let r1 = DkgLayout::new(d).round1(2);
    let text = std::fs::read_to_string(&r1)
        .unwrap()
        .replace("\"participant\": 2", "\"participant\":  2");
    std::fs::write(&r1, text).unwrap();
    let err = dkg::step(d, P, 2, PASS[1], CHEAP).unwrap_err();
    assert!(err.to_string().contains("not the round-1 package"), "{err}");
}

fn ceremony(dir: &Path, signers: &[u16], msg: &[u8]) -> (tempfile::TempDir, Ceremony) {
    let c = tempfile::tempdir().unwrap();
    let cer = Ceremony::new(c.path());
    let g = GroupPublicKey::read(&DkgLayout::new(dir).public_key()).unwrap();
    for i in signers {
        let n = sign::commit(
            &cer,
            &share(dir, *i),
            PASS[usize::from(*i) - 1],
            policy(),
            msg,
            CHEAP,
        )
        .unwrap();
        assert_eq!(n, *i);
    }
    assert_eq!(sign::prepare(&cer, &g, msg).unwrap(), signers.to_vec());
    for i in signers {
        sign::respond(
            &cer,
            &share(dir, *i),
            PASS[usize::from(*i) - 1],
            policy(),
            msg,
        )
        .unwrap();
    }
    (c, cer)
}

#[test]
fn ceremony_over_files_every_pair() {
    let (dir, g) = dkg_dir();
    let msg = b"round bundle digest";
    for pair in [[1u16, 2], [1, 3], [2, 3]] {
        let (c, cer) = ceremony(dir.path(), &pair, msg);
        let s = sign::aggregate(&cer, &g, msg).unwrap();
        assert!(dalek_verify(&g.public_key, msg, &s.signature));
        let out = c.path().join("sig.json");
        s.write_new(&out).unwrap();
        let back = Signed::read(&out).unwrap();
        assert_eq!(back, s);
        back.verify(msg).unwrap();
        assert!(back.verify(b"other").is_err());
        // The nonces are gone: a second response is refused (never reuse nonces).
        let err = sign::respond(
            &cer,
            &share(dir.path(), pair[0]),
            PASS[usize::from(pair[0]) - 1],
            policy(),
            msg,
        )
        .unwrap_err();
        assert!(err.to_string().contains("no nonces"), "{err}");
    }
}

#[test]
fn a_tampered_signature_share_is_detected_and_named() {
    let (dir, g) = dkg_dir();
    let msg = b"epoch";
    let (_c, cer) = ceremony(dir.path(), &[2, 3], msg);
    let path = cer.signature_share(3);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut b = hex::decode(v["signature_share"].as_str().unwrap()).unwrap();
    b[0] ^= 1; // still a canonical scalar, but the wrong one
    v["signature_share"] = hex::encode(b).into();
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    match sign::aggregate(&cer, &g, msg).unwrap_err() {
        CustodyError::InvalidSignatureShare { culprits } => assert_eq!(culprits, vec![3]),
        other => panic!("{other}"),
    }
}

#[test]
fn a_signer_refuses_a_package_for_another_message() {
    let (dir, g) = dkg_dir();
    let c = tempfile::tempdir().unwrap();
    let cer = Ceremony::new(c.path());
    for i in [1u16, 2] {
        sign::commit(
            &cer,
            &share(dir.path(), i),
            PASS[usize::from(i) - 1],
            policy(),
            b"pay 1",
            CHEAP,
        )
        .unwrap();
    }
    // The coordinator cannot even prepare another message: the commitments name theirs.
    assert!(sign::prepare(&cer, &g, b"pay 1000").is_err());
    sign::prepare(&cer, &g, b"pay 1").unwrap();
    let err =
        sign::respond(&cer, &share(dir.path(), 1), PASS[0], policy(), b"pay 1000").unwrap_err();
    assert!(err.to_string().contains("another message"), "{err}");
    // A second commitment while one is pending is refused.
    let err =
        sign::commit(&cer, &share(dir.path(), 1), PASS[0], policy(), b"x", CHEAP).unwrap_err();
    assert!(
        err.to_string().contains("committed to a ceremony already"),
        "{err}"
    );
}

#[test]
fn wrong_passphrase_fails_cleanly() {
    let (dir, _) = dkg_dir();
    let err = vault::open_share(&share(dir.path(), 1), "not it", policy()).unwrap_err();
    assert!(
        matches!(
            err,
            CustodyError::Unlock {
                failures: 1,
                max: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    // The right one still works and clears the count.
    vault::open_share(&share(dir.path(), 1), PASS[0], policy()).unwrap();
    let err = vault::open_share(&share(dir.path(), 1), "not it", policy()).unwrap_err();
    assert!(
        matches!(err, CustodyError::Unlock { failures: 1, .. }),
        "{err}"
    );
    // Through signing with files, too.
    let err = sign::sign_with_share_files(
        &[
            (
                share(dir.path(), 1),
                zeroize::Zeroizing::new(PASS[0].to_string()),
            ),
            (
                share(dir.path(), 2),
                zeroize::Zeroizing::new("nope".to_string()),
            ),
        ],
        b"m",
        policy(),
    )
    .unwrap_err();
    assert!(matches!(err, CustodyError::Unlock { .. }), "{err}");
}

#[test]
fn modified_share_files_do_not_unlock() {
    let (dir, _) = dkg_dir();
    let p = share(dir.path(), 1);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    // Claiming to be participant 2 (the clear fields are bound to the sealed share).
    let mut c = v.clone();
    c["participant"] = 2.into();
    let q = dir.path().join("relabelled.json");
    std::fs::write(&q, serde_json::to_string(&c).unwrap()).unwrap();
    let err = vault::open_share(&q, PASS[0], policy()).unwrap_err();
    assert!(matches!(err, CustodyError::Unlock { .. }), "{err}");
    // A higher threshold claimed.
    let mut c = v.clone();
    c["threshold"] = 3.into();
    let q = dir.path().join("threshold.json");
    std::fs::write(&q, serde_json::to_string(&c).unwrap()).unwrap();
    assert!(vault::open_share(&q, PASS[0], policy()).is_err());
    // An unknown field is a format error naming the file.
    let mut c = v.clone();
    c["extra"] = 1.into();
    let q = dir.path().join("unknown.json");
    std::fs::write(&q, serde_json::to_string(&c).unwrap()).unwrap();
    let err = vault::open_share(&q, PASS[0], policy()).unwrap_err();
    assert!(matches!(err, CustodyError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("unknown.json"), "{err}");
    // No share in clear on disk: the share file holds no 32-byte run of its signing share.
    let raw = std::fs::read_to_string(&p).unwrap();
    assert!(raw.contains("\"sealed\""));
}

#[test]
fn five_failures_lock_the_vault_with_back_off() {
    let (dir, _) = dkg_dir();
    let p = share(dir.path(), 3);
    let pol = VaultPolicy {
        max_failures: 5,
        lockout: Duration::from_secs(600),
    };
    let t0 = SystemTime::now();
    for k in 1..=4u32 {
        match vault::open_share_at(&p, "guess", pol, t0).unwrap_err() {
            CustodyError::Unlock { failures, then, .. } => {
                assert_eq!(failures, k);
                assert!(then.is_empty());
            }
            other => panic!("{other}"),
        }
    }
    let err = vault::open_share_at(&p, "guess", pol, t0).unwrap_err();
    assert!(err.to_string().contains("now locked for 600 s"), "{err}");
    // Locked: even the right passphrase is refused, and the lock is on disk (a new process
    // reads the same counter).
    let later = t0 + Duration::from_secs(599);
    let err = vault::open_share_at(&p, PASS[2], pol, later).unwrap_err();
    match &err {
        CustodyError::Locked {
            failures,
            retry_in_secs,
            ..
        } => {
            assert_eq!(*failures, 5);
            assert!(*retry_in_secs <= 1, "{err}");
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().contains("locked after 5 failed unlocks"),
        "{err}"
    );
    assert!(vault::attempts_path(&p).exists());
    // After the lock-out, five more failures lock for twice as long (back-off).
    let t1 = t0 + Duration::from_secs(601);
    for _ in 1..=4 {
        vault::open_share_at(&p, "guess", pol, t1).unwrap_err();
    }
    let err = vault::open_share_at(&p, "guess", pol, t1).unwrap_err();
    assert!(err.to_string().contains("now locked for 1200 s"), "{err}");
    let t2 = t1 + Duration::from_secs(1201);
    // The right passphrase after the lock-out works and clears everything.
    vault::open_share_at(&p, PASS[2], pol, t2).unwrap();
    for _ in 1..=4 {
        vault::open_share_at(&p, "guess", pol, t2).unwrap_err();
    }
    let err = vault::open_share_at(&p, "guess", pol, t2).unwrap_err();
    assert!(err.to_string().contains("now locked for 600 s"), "{err}");
}

#[test]
fn a_corrupt_counter_fails_closed() {
    let (dir, _) = dkg_dir();
    let p = share(dir.path(), 1);
    std::fs::write(vault::attempts_path(&p), "{ not json").unwrap();
    let err = vault::open_share(&p, PASS[0], policy()).unwrap_err();
    assert!(matches!(err, CustodyError::Malformed { .. }), "{err}");
}

#[test]
fn bad_parameters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (n, t) in [(3u16, 1u16), (2, 3), (1, 1), (300, 2)] {
        let err = dkg::run_in_process(
            dir.path(),
            DkgParams {
                participants: n,
                threshold: t,
            },
            &["a"; 3],
            CHEAP,
        )
        .unwrap_err();
        assert!(matches!(err, CustodyError::Parameters(_)), "{n},{t}: {err}");
    }
    let err = dkg::step(dir.path(), P, 4, "a", CHEAP).unwrap_err();
    assert!(err.to_string().contains("participant 4"), "{err}");
    let mut v = serde_json::json!({});
    v["x"] = 1.into();
    let pk = dir.path().join("public-key.json");
    std::fs::write(&pk, v.to_string()).unwrap();
    assert!(matches!(
        GroupPublicKey::read(&pk),
        Err(CustodyError::Malformed { .. })
    ));
}

#[test]
fn a_replaced_verifying_share_is_refused() {
    let (dir, _) = dkg_dir();
    let l = DkgLayout::new(dir.path());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(l.public_key()).unwrap()).unwrap();
    // Share 3's verifying key replaced by share 1's: a valid point, but off the polynomial.
    let mut c = v.clone();
    c["verifying_shares"]["3"] = v["verifying_shares"]["1"].clone();
    let q = dir.path().join("pk-bad-share.json");
    std::fs::write(&q, serde_json::to_string(&c).unwrap()).unwrap();
    let err = GroupPublicKey::read(&q).unwrap_err();
    assert!(err.to_string().contains("verifying share 3"), "{err}");
    // The group key replaced by a verifying share.
    let mut c = v.clone();
    c["group_public_key"] = v["verifying_shares"]["2"].clone();
    std::fs::write(&q, serde_json::to_string(&c).unwrap()).unwrap();
    let err = GroupPublicKey::read(&q).unwrap_err();
    assert!(err.to_string().contains("group key"), "{err}");
}

#[test]
fn a_planted_round2_file_is_refused_by_its_supposed_sender() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for i in 1..=3 {
        dkg::step(d, P, i, PASS[usize::from(i) - 1], CHEAP).unwrap();
    }
    dkg::step(d, P, 3, PASS[2], CHEAP).unwrap();
    let l = DkgLayout::new(d);
    // Someone writes "1 to 2" before participant 1 does (here: a copy of 3's package to 2).
    let text = std::fs::read_to_string(l.round2(3, 2)).unwrap();
    std::fs::write(l.round2(1, 2), text.replace("\"from\": 3", "\"from\": 1")).unwrap();
    let err = dkg::step(d, P, 1, PASS[0], CHEAP).unwrap_err();
    assert!(
        err.to_string().contains("not written by this participant"),
        "{err}"
    );
}
