use super::*;

#[test]
fn challenge_is_single_use_and_expires() {
    let s = ChallengeStore::in_memory().unwrap();
    s.record("n1", "rp", 100, 200).unwrap();
    assert!(matches!(
        s.consume("n0", "rp", "x", false, 150),
        Err(RpError::UnknownChallenge)
    ));
    assert!(matches!(
        s.consume("n1", "other", "x", false, 150),
        Err(RpError::WrongScope(_))
    ));
    assert_eq!(s.consume("n1", "rp", "x", false, 150).unwrap().uses, 1);
    assert!(matches!(
        s.consume("n1", "rp", "x", false, 151),
        Err(RpError::ChallengeUsed)
    ));
    assert!(matches!(
        s.spend("n1", "rp", 151),
        Err(RpError::ChallengeUsed)
    ));
    s.record("n2", "rp", 100, 200).unwrap();
    assert!(matches!(
        s.consume("n2", "rp", "x", false, 201),
        Err(RpError::ChallengeExpired)
    ));
    s.record("n3", "rp", 100, 200).unwrap();
    assert_eq!(s.consume("n3", "rp", "x", false, 150).unwrap().uses, 2);
    s.record("n4", "rp", 100, 200).unwrap();
    assert!(matches!(
        s.consume("n4", "rp", "x", true, 150),
        Err(RpError::NullifierSeen)
    ));
    // The refused attempt left n4 unspent.
    assert_eq!(s.consume("n4", "rp", "y", true, 150).unwrap().uses, 1);
}

#[test]
fn issued_challenges_check_then_spend_once() {
    let s = ChallengeStore::in_memory().unwrap();
    let ch = s.issue("bank-a", 600, 1_000).unwrap();
    assert_eq!(ch.nonce.len(), 62);
    assert_eq!(
        s.challenge(&ch.nonce, "bank-a").unwrap(),
        Some((1_000, 1_600))
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
        s.issue("", 600, 1_000),
        Err(RpError::BadRequest(_))
    ));
    assert!(matches!(
        s.issue("x", 0, 1_000),
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
        .issue("rp", 60, 10)
        .unwrap();
    // Another handle on the file (another process) sees it, and the spend.
    let a = ChallengeStore::open(&path, false).unwrap();
    let b = ChallengeStore::open(&path, false).unwrap();
    a.spend(&ch.nonce, "rp", 20).unwrap();
    assert!(matches!(
        b.consume(&ch.nonce, "rp", "nf", false, 21),
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
