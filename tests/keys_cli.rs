//! `assay keys` end to end through the binary: a 2-of-3 DKG (in one process, and one
//! participant per process over files), every pair signs, `ed25519-dalek` verifies the result
//! against the group key, one share alone is refused, a wrong passphrase is exit 2, and the
//! signing ceremony between separate processes.

use std::path::Path;
use std::process::{Command, Output};

const PASS: [&str; 3] = ["first share pass", "second share pass", "third share pass"];

fn assay(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_assay"));
    c.args(args)
        .current_dir(dir)
        .env_remove("ASSAY_PASSPHRASE")
        .env("ASSAY_PASSPHRASE_1", PASS[0])
        .env("ASSAY_PASSPHRASE_2", PASS[1])
        .env("ASSAY_PASSPHRASE_3", PASS[2]);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the assay binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn ok(o: Output) -> String {
    assert_eq!(
        code(&o),
        0,
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn group_key(dir: &Path) -> [u8; 32] {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("keys/public-key.json")).unwrap())
            .unwrap();
    hex::decode(v["group_public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn dalek_verifies(pk: &[u8; 32], msg: &[u8], sig_json: &Path) -> bool {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sig_json).unwrap()).unwrap();
    let sig: [u8; 64] = hex::decode(v["signature"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(pk).unwrap();
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

#[test]
fn dkg_then_every_pair_signs_and_one_share_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = ok(assay(
        d,
        &[
            "keys",
            "dkg",
            "--participants",
            "3",
            "--threshold",
            "2",
            "--out",
            "keys",
        ],
        &[],
    ));
    assert!(out.contains("group public key"), "{out}");
    let pk = group_key(d);
    for i in 1..=3 {
        assert!(d.join(format!("keys/share-{i}.json")).exists());
    }
    let msg = b"epoch 12: root 0x1234";
    std::fs::write(d.join("msg.bin"), msg).unwrap();
    for (a, b) in [(1, 2), (1, 3), (2, 3)] {
        let sig = format!("sig-{a}{b}.json");
        ok(assay(
            d,
            &[
                "keys",
                "sign",
                "--message",
                "msg.bin",
                "--share",
                &format!("keys/share-{a}.json"),
                "--share",
                &format!("keys/share-{b}.json"),
                "--out",
                &sig,
            ],
            &[],
        ));
        assert!(dalek_verifies(&pk, msg, &d.join(&sig)), "pair {a},{b}");
        assert!(!dalek_verifies(&pk, b"another message", &d.join(&sig)));
        ok(assay(
            d,
            &[
                "keys",
                "verify",
                "--message",
                "msg.bin",
                "--signature",
                &sig,
                "--public-key",
                "keys/public-key.json",
            ],
            &[],
        ));
    }
    // One share alone: refused (exit 2), no signature written.
    let o = assay(
        d,
        &[
            "keys",
            "sign",
            "--message",
            "msg.bin",
            "--share",
            "keys/share-1.json",
            "--out",
            "alone.json",
        ],
        &[],
    );
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("one share alone cannot sign"));
    assert!(!d.join("alone.json").exists());
    // The same share twice is one share.
    let o = assay(
        d,
        &[
            "keys",
            "sign",
            "--message",
            "msg.bin",
            "--share",
            "keys/share-1.json",
            "--share",
            "keys/share-1.json",
            "--out",
            "twice.json",
        ],
        &[],
    );
    assert_eq!(code(&o), 2);
    // A wrong passphrase: exit 2 with a clear message, counted.
    let o = assay(
        d,
        &[
            "keys",
            "sign",
            "--message",
            "msg.bin",
            "--share",
            "keys/share-1.json",
            "--share",
            "keys/share-2.json",
            "--out",
            "wrong.json",
        ],
        &[("ASSAY_PASSPHRASE_2", "not the passphrase")],
    );
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("wrong passphrase") && err.contains("1 of 5"),
        "{err}"
    );
    // A signature on another message is invalid (exit 1).
    std::fs::write(d.join("other.bin"), b"other").unwrap();
    let o = assay(
        d,
        &[
            "keys",
            "verify",
            "--message",
            "other.bin",
            "--signature",
            "sig-12.json",
        ],
        &[],
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn dkg_one_participant_per_process_and_a_ceremony_over_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dkg = |i: &str| {
        ok(assay(
            d,
            &[
                "keys",
                "dkg",
                "--participants",
                "3",
                "--threshold",
                "2",
                "--out",
                "keys",
                "--participant",
                i,
            ],
            &[],
        ))
    };
    for _ in 0..2 {
        for i in ["1", "2", "3"] {
            dkg(i);
        }
    }
    let mut prints = Vec::new();
    for i in ["1", "2", "3"] {
        let out = dkg(i);
        let fp = out
            .lines()
            .find(|l| l.starts_with("transcript fingerprint"))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string();
        prints.push(fp);
    }
    assert!(prints.windows(2).all(|w| w[0] == w[1]));
    let pk = group_key(d);
    let msg = b"round bundle 2026-12";
    std::fs::write(d.join("msg.bin"), msg).unwrap();
    std::fs::create_dir(d.join("c")).unwrap();
    for i in ["2", "3"] {
        ok(assay(
            d,
            &[
                "keys",
                "ceremony",
                "commit",
                "--ceremony",
                "c",
                "--message",
                "msg.bin",
                "--share",
                &format!("keys/share-{i}.json"),
            ],
            &[],
        ));
    }
    ok(assay(
        d,
        &[
            "keys",
            "ceremony",
            "prepare",
            "--ceremony",
            "c",
            "--message",
            "msg.bin",
            "--public-key",
            "keys/public-key.json",
        ],
        &[],
    ));
    for i in ["2", "3"] {
        ok(assay(
            d,
            &[
                "keys",
                "ceremony",
                "respond",
                "--ceremony",
                "c",
                "--message",
                "msg.bin",
                "--share",
                &format!("keys/share-{i}.json"),
            ],
            &[],
        ));
    }
    ok(assay(
        d,
        &[
            "keys",
            "ceremony",
            "aggregate",
            "--ceremony",
            "c",
            "--message",
            "msg.bin",
            "--public-key",
            "keys/public-key.json",
            "--out",
            "sig.json",
        ],
        &[],
    ));
    assert!(dalek_verifies(&pk, msg, &d.join("sig.json")));
}

#[test]
fn five_failed_unlocks_lock_the_share_across_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(assay(
        d,
        &[
            "keys",
            "dkg",
            "--participants",
            "3",
            "--threshold",
            "2",
            "--out",
            "keys",
        ],
        &[],
    ));
    std::fs::write(d.join("msg.bin"), b"m").unwrap();
    let sign = |pass2: &str| {
        assay(
            d,
            &[
                "keys",
                "sign",
                "--message",
                "msg.bin",
                "--share",
                "keys/share-1.json",
                "--share",
                "keys/share-2.json",
                "--out",
                "sig.json",
                "--lockout-secs",
                "3600",
            ],
            &[("ASSAY_PASSPHRASE_2", pass2)],
        )
    };
    // Each attempt is a new process: the count lives on disk.
    for k in 1..=5 {
        let o = sign("guess");
        assert_eq!(code(&o), 2);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains(&format!("{k} of 5 failed attempts")), "{err}");
    }
    let o = sign(PASS[1]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("locked after 5 failed unlocks"), "{err}");
    assert!(!d.join("sig.json").exists());
    // The other shares are not affected: 1 and 3 still sign.
    ok(assay(
        d,
        &[
            "keys",
            "sign",
            "--message",
            "msg.bin",
            "--share",
            "keys/share-1.json",
            "--share",
            "keys/share-3.json",
            "--out",
            "sig13.json",
        ],
        &[],
    ));
}
