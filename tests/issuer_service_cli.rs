//! `assay kyc issuer key | audit | serve` through the binary: keys printed once and listed
//! without secrets, the audit chain verified from the database and from an exported log, a
//! tampered or truncated log refused naming the entry (exit 1), bad input exit 2, and a
//! service that will not start under a wrong passphrase.

use assay_issuer_service::audit::AuditLog;
use std::path::Path;
use std::process::{Command, Output};

fn assay(dir: &Path, args: &[&str], pass: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_assay"));
    c.args(args).current_dir(dir).env_remove("ASSAY_PASSPHRASE");
    if let Some(p) = pass {
        c.env("ASSAY_PASSPHRASE", p);
    }
    c.stdin(std::process::Stdio::null())
        .output()
        .expect("the assay binary runs")
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

#[test]
fn keys_and_the_audit_chain_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let db = "service.sqlite";
    let o = assay(
        d,
        &[
            "kyc", "issuer", "key", "add", "--db", db, "--role", "admin", "--label", "ops",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", out(&o));
    let text = out(&o);
    let key = text
        .lines()
        .find(|l| l.starts_with("aik_"))
        .expect("the key is printed")
        .to_string();
    let id = &key[4..20];
    let o = assay(
        d,
        &[
            "kyc", "issuer", "key", "add", "--db", db, "--role", "holder", "--serial", "3",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", out(&o));
    // Refused: a holder key without a serial, an unknown role, a serial on an admin key.
    for args in [
        &["--role", "holder"][..],
        &["--role", "root"][..],
        &["--role", "admin", "--serial", "1"][..],
    ] {
        let mut a = vec!["kyc", "issuer", "key", "add", "--db", db];
        a.extend_from_slice(args);
        let o = assay(d, &a, None);
        assert_eq!(code(&o), 2, "{args:?}: {}", out(&o));
    }
    let o = assay(
        d,
        &["kyc", "issuer", "key", "revoke", "--db", db, "--id", id],
        None,
    );
    assert_eq!(code(&o), 0, "{}", out(&o));
    let o = assay(
        d,
        &["kyc", "issuer", "key", "revoke", "--db", db, "--id", id],
        None,
    );
    assert_eq!(code(&o), 2, "revoked twice: {}", out(&o));
    let o = assay(d, &["kyc", "issuer", "key", "list", "--db", db], None);
    let list = out(&o);
    assert!(
        list.contains(id) && list.contains("revoked") && list.contains("ops"),
        "{list}"
    );
    assert!(!list.contains(&key[21..]), "the list shows a secret");

    // The chain: key-add, key-add, key-revoke.
    let o = assay(d, &["kyc", "issuer", "audit", "verify", "--db", db], None);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(out(&o).contains("valid: 3 entries"), "{}", out(&o));
    let entries = assay_issuer_service::store::read_audit_file(&d.join(db)).unwrap();
    let head = format!("3:{}", entries[2].hash);
    let o = assay(
        d,
        &[
            "kyc", "issuer", "audit", "verify", "--db", db, "--head", &head,
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", out(&o));

    // An exported log: intact, then entry 2 changed, then truncated under a pinned head.
    let write = |name: &str, e: &[assay_issuer_service::audit::AuditEntry]| {
        let log = AuditLog {
            version: 1,
            entries: e.to_vec(),
        };
        std::fs::write(d.join(name), serde_json::to_string(&log).unwrap()).unwrap();
    };
    write("log.json", &entries);
    let o = assay(
        d,
        &["kyc", "issuer", "audit", "verify", "--log", "log.json"],
        None,
    );
    assert_eq!(code(&o), 0, "{}", out(&o));
    let mut changed = entries.clone();
    changed[1].params = changed[1].params.replace("\"serial\":3", "\"serial\":4");
    assert_ne!(changed[1].params, entries[1].params);
    write("changed.json", &changed);
    let o = assay(
        d,
        &["kyc", "issuer", "audit", "verify", "--log", "changed.json"],
        None,
    );
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(out(&o).contains("breaks at entry 2"), "{}", out(&o));
    write("truncated.json", &entries[..2]);
    let o = assay(
        d,
        &[
            "kyc",
            "issuer",
            "audit",
            "verify",
            "--log",
            "truncated.json",
            "--head",
            &head,
        ],
        None,
    );
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(out(&o).contains("removed"), "{}", out(&o));
    // Bad input: not a log, an unknown field, a missing database, a malformed head.
    std::fs::write(
        d.join("bad.json"),
        "{\"version\": 1, \"entries\": [], \"x\": 1}",
    )
    .unwrap();
    for args in [
        &["--log", "bad.json"][..],
        &["--log", "nope.json"][..],
        &["--db", "nope.sqlite"][..],
        &["--db", db, "--head", "3"][..],
    ] {
        let mut a = vec!["kyc", "issuer", "audit", "verify"];
        a.extend_from_slice(args);
        let o = assay(d, &a, None);
        assert_eq!(code(&o), 2, "{args:?}: {}", out(&o));
    }
    assert!(!d.join("nope.sqlite").exists(), "verify created a database");
}

#[test]
fn the_service_does_not_start_under_a_wrong_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let o = assay(
        d,
        &[
            "kyc",
            "issuer",
            "init",
            "--dir",
            "issuer",
            "--insecure-own-setup",
        ],
        Some("the right passphrase"),
    );
    assert_eq!(code(&o), 0, "{}", out(&o));
    let o = assay(
        d,
        &[
            "kyc",
            "issuer",
            "serve",
            "--issuer",
            "issuer",
            "--addr",
            "127.0.0.1:0",
        ],
        Some("a wrong passphrase"),
    );
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(out(&o).contains("does not unlock"), "{}", out(&o));
    assert!(!out(&o).contains("a wrong passphrase"));
    // No passphrase and no terminal: refused before anything is opened.
    let o = assay(d, &["kyc", "issuer", "serve", "--issuer", "issuer"], None);
    assert_eq!(code(&o), 2, "{}", out(&o));
}
