use super::*;

const G: Backend = Backend::Groth16;
const H: Backend = Backend::Halo2;

#[test]
fn challenge_is_single_use_and_expires() {
    let s = ChallengeStore::in_memory().unwrap();
    s.record("n1", "rp", G, 100, 200).unwrap();
    assert!(matches!(
        s.consume("n0", "rp", G, "x", false, 150),
        Err(RpError::UnknownChallenge)
    ));
    assert!(matches!(
        s.consume("n1", "other", G, "x", false, 150),
        Err(RpError::WrongScope(_))
    ));
    assert_eq!(s.consume("n1", "rp", G, "x", false, 150).unwrap().uses, 1);
    assert!(matches!(
        s.consume("n1", "rp", G, "x", false, 151),
        Err(RpError::ChallengeUsed)
    ));
    assert!(matches!(
        s.spend("n1", "rp", 151),
        Err(RpError::ChallengeUsed)
    ));
    s.record("n2", "rp", G, 100, 200).unwrap();
    assert!(matches!(
        s.consume("n2", "rp", G, "x", false, 201),
        Err(RpError::ChallengeExpired)
    ));
    s.record("n3", "rp", G, 100, 200).unwrap();
    assert_eq!(s.consume("n3", "rp", G, "x", false, 150).unwrap().uses, 2);
    s.record("n4", "rp", G, 100, 200).unwrap();
    assert!(matches!(
        s.consume("n4", "rp", G, "x", true, 150),
        Err(RpError::NullifierSeen)
    ));
    // The refused attempt left n4 unspent.
    assert_eq!(s.consume("n4", "rp", G, "y", true, 150).unwrap().uses, 1);
}

#[test]
fn issued_challenges_check_then_spend_once() {
    let s = ChallengeStore::in_memory().unwrap();
    let ch = s.issue("bank-a", Some(G), 600, 1_000).unwrap();
    assert_eq!(ch.nonce.len(), 62);
    assert_eq!(
        s.challenge(&ch.nonce, "bank-a").unwrap(),
        Some(IssuedChallenge {
            issued_at: 1_000,
            expires_at: 1_600,
            backend: Some(G)
        })
    );
    s.check(&ch, 1_100).unwrap();
    assert!(matches!(
        s.check(&ch, 1_601),
        Err(RpError::ChallengeExpired)
    ));
    s.spend(&ch.nonce, "bank-a", 1_100).unwrap();
    let e = s.check(&ch, 1_100).unwrap_err();
    assert!(matches!(e, RpError::ChallengeUsed));
    assert!(e.to_string().contains("already used"), "{e}");
    assert!(s.spend(&ch.nonce, "bank-a", 1_100).is_err());
    assert!(matches!(
        s.issue("", Some(G), 600, 1_000),
        Err(RpError::BadRequest(_))
    ));
    assert!(matches!(
        s.issue("x", Some(G), 0, 1_000),
        Err(RpError::BadRequest(_))
    ));
}

#[test]
fn a_missing_file_is_refused_unless_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rp.sqlite");
    assert!(matches!(
        ChallengeStore::open(&path, false),
        Err(RpError::NoStore(_))
    ));
    let ch = ChallengeStore::open(&path, true)
        .unwrap()
        .issue("rp", Some(G), 60, 10)
        .unwrap();
    // Another handle on the file (another process) sees it, and the spend.
    let a = ChallengeStore::open(&path, false).unwrap();
    let b = ChallengeStore::open(&path, false).unwrap();
    a.spend(&ch.nonce, "rp", 20).unwrap();
    assert!(matches!(
        b.consume(&ch.nonce, "rp", G, "nf", false, 21),
        Err(RpError::ChallengeUsed)
    ));
}

/// A database of the server's earlier schema (`used_at`) keeps its spent challenges spent.
#[test]
fn the_servers_earlier_schema_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.sqlite");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE challenges (nonce TEXT PRIMARY KEY, scope TEXT NOT NULL,
                 issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER);
             INSERT INTO challenges VALUES ('spent', 'rp', 1, 1000, 5);
             INSERT INTO challenges VALUES ('fresh', 'rp', 1, 1000, NULL);",
        )
        .unwrap();
    }
    let s = ChallengeStore::open(&path, false).unwrap();
    assert!(matches!(
        s.spend("spent", "rp", 10),
        Err(RpError::ChallengeUsed)
    ));
    s.spend("fresh", "rp", 10).unwrap();
}

/// One backend per scope (issue 11, defect 2): the scope is bound on first use, a
/// presentation of the other backend is refused with the reason, and the refused attempt
/// leaves its challenge unspent. Without the binding, the Halo2 presentation would be recorded
/// as a second nullifier (a second account) in the scope.
#[test]
fn a_scope_accepts_one_backend() {
    let s = ChallengeStore::in_memory().unwrap();
    assert!(matches!(
        s.issue("bank-a", None, 600, 1_000),
        Err(RpError::BadRequest(_))
    ));
    let c1 = s.issue("bank-a", Some(G), 600, 1_000).unwrap();
    assert_eq!(c1.backend, Some(G));
    assert_eq!(c1.version, CHALLENGE_FORMAT_V2);
    assert_eq!(s.scope_backend("bank-a").unwrap(), Some(G));
    // A challenge without naming the backend takes the bound one; the other is refused.
    assert_eq!(
        s.issue("bank-a", None, 600, 1_000).unwrap().backend,
        Some(G)
    );
    let e = s.issue("bank-a", Some(H), 600, 1_000).unwrap_err();
    assert!(matches!(e, RpError::ScopeBackend { .. }), "{e}");
    assert!(e.to_string().contains("accepts only groth16"), "{e}");
    s.consume(&c1.nonce, "bank-a", G, "nf-groth16", false, 1_001)
        .unwrap();
    // The same holder, on Halo2, answering a challenge of the scope: refused, nothing spent.
    let c2 = s.issue("bank-a", None, 600, 1_000).unwrap();
    let e = s
        .consume(&c2.nonce, "bank-a", H, "nf-halo2", false, 1_002)
        .unwrap_err();
    assert!(matches!(e, RpError::ScopeBackend { .. }), "{e}");
    s.check(&c2, 1_002).unwrap();
    // A challenge recorded for Halo2 elsewhere cannot enter the Groth16 scope either.
    assert!(matches!(
        s.record("n-h", "bank-a", H, 1_000, 1_600),
        Err(RpError::ScopeBackend { .. })
    ));
    // Configuration binds a fresh scope; another scope may use another backend.
    s.bind_scope("bank-b", H, 1_000).unwrap();
    s.bind_scope("bank-b", H, 1_000).unwrap();
    assert!(s.bind_scope("bank-b", G, 1_000).is_err());
    assert_eq!(
        s.issue("bank-b", None, 600, 1_000).unwrap().backend,
        Some(H)
    );
}

/// A challenge issued for one backend is not answered with another even in an unbound scope
/// of an old store (rows without a backend are checked by the scope alone).
#[test]
fn a_challenge_names_its_backend() {
    let s = ChallengeStore::in_memory().unwrap();
    s.record("n1", "rp", G, 100, 200).unwrap();
    assert_eq!(s.challenge("n1", "rp").unwrap().unwrap().backend, Some(G));
    assert!(matches!(
        s.consume("n1", "rp", H, "x", false, 150),
        Err(RpError::ScopeBackend { .. })
    ));
}
