//! Single-use KYC challenges and seen nullifiers, in SQLite (a file, or memory).
//!
//! A challenge is issued once, lives for a fixed time, and is consumed by the first valid
//! proof that names it: the consuming `UPDATE` is conditional, so two concurrent proofs with
//! the same challenge cannot both pass.

use rusqlite::{params, Connection, OptionalExtension};
use std::{
    path::Path,
    sync::{Arc, Mutex},
};

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The challenge was never issued by this server (or to another scope).
    #[error("challenge was not issued by this relying party")]
    UnknownChallenge,
    /// The challenge was already used by an accepted proof: a replay.
    #[error("challenge was already used (replayed proof)")]
    ChallengeUsed,
    /// The challenge's lifetime is over.
    #[error("challenge has expired; request a new one")]
    ChallengeExpired,
    /// The nullifier was already seen and this server requires unique ones.
    #[error("nullifier already registered with this relying party")]
    NullifierSeen,
    /// SQLite failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
}

/// A handle on the database, cheap to clone. Calls block: run them off the async workers.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS challenges (
    nonce      TEXT PRIMARY KEY,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX IF NOT EXISTS challenges_expiry ON challenges(expires_at);
CREATE TABLE IF NOT EXISTS nullifiers (
    scope      TEXT NOT NULL,
    nullifier  TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    uses       INTEGER NOT NULL,
    PRIMARY KEY (scope, nullifier)
);";

/// What the store knows of a nullifier after recording a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NullifierUse {
    /// How many accepted proofs carried it, this one included.
    pub uses: u64,
}

impl Store {
    /// Opens (creating if needed) the SQLite file at `path`.
    ///
    /// # Errors
    /// The file cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    /// A private in-memory database (tests, or a server that forgets on restart).
    ///
    /// # Errors
    /// SQLite cannot start.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // SQLite rolls back an interrupted transaction itself; the connection stays usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new challenge; drops expired ones.
    ///
    /// # Errors
    /// SQLite failed (a duplicate nonce included, which 248 random bits make impossible).
    pub fn issue(
        &self,
        nonce: &str,
        scope: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let c = self.conn();
        c.execute(
            "DELETE FROM challenges WHERE expires_at < ?1",
            params![now as i64],
        )?;
        c.execute(
            "INSERT INTO challenges (nonce, scope, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![nonce, scope, now as i64, expires_at as i64],
        )?;
        Ok(())
    }

    /// The issue and expiry times (UNIX seconds) of challenge `nonce` for `scope`, if this
    /// server issued it (used or not).
    ///
    /// # Errors
    /// SQLite failed.
    pub fn challenge(&self, nonce: &str, scope: &str) -> Result<Option<(u64, u64)>, StoreError> {
        let c = self.conn();
        let row: Option<(i64, i64)> = c
            .query_row(
                "SELECT issued_at, expires_at FROM challenges WHERE nonce = ?1 AND scope = ?2",
                params![nonce, scope],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(i, e)| (i as u64, e as u64)))
    }

    /// Consumes `nonce` for `scope` and records `nullifier`, in one transaction.
    ///
    /// # Errors
    /// The challenge is unknown, used or expired; the nullifier is already seen and `unique`
    /// is set; or SQLite failed. Nothing is changed on error.
    pub fn consume(
        &self,
        nonce: &str,
        scope: &str,
        nullifier: &str,
        unique: bool,
        now: u64,
    ) -> Result<NullifierUse, StoreError> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let row: Option<(i64, Option<i64>)> = tx
            .query_row(
                "SELECT expires_at, used_at FROM challenges WHERE nonce = ?1 AND scope = ?2",
                params![nonce, scope],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => return Err(StoreError::UnknownChallenge),
            Some((_, Some(_))) => return Err(StoreError::ChallengeUsed),
            Some((exp, None)) if (exp as u64) < now => return Err(StoreError::ChallengeExpired),
            Some(_) => {}
        }
        let changed = tx.execute(
            "UPDATE challenges SET used_at = ?1 WHERE nonce = ?2 AND used_at IS NULL",
            params![now as i64, nonce],
        )?;
        if changed != 1 {
            return Err(StoreError::ChallengeUsed);
        }
        let uses: Option<i64> = tx
            .query_row(
                "SELECT uses FROM nullifiers WHERE scope = ?1 AND nullifier = ?2",
                params![scope, nullifier],
                |r| r.get(0),
            )
            .optional()?;
        if uses.is_some() && unique {
            return Err(StoreError::NullifierSeen);
        }
        tx.execute(
            "INSERT INTO nullifiers (scope, nullifier, first_seen, last_seen, uses)
             VALUES (?1, ?2, ?3, ?3, 1)
             ON CONFLICT(scope, nullifier) DO UPDATE SET last_seen = ?3, uses = uses + 1",
            params![scope, nullifier, now as i64],
        )?;
        tx.commit()?;
        Ok(NullifierUse {
            uses: uses.unwrap_or(0) as u64 + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_single_use_and_expires() {
        let s = Store::in_memory().unwrap();
        s.issue("n1", "rp", 100, 200).unwrap();
        assert!(matches!(
            s.consume("n0", "rp", "x", false, 150),
            Err(StoreError::UnknownChallenge)
        ));
        assert!(matches!(
            s.consume("n1", "other", "x", false, 150),
            Err(StoreError::UnknownChallenge)
        ));
        assert_eq!(s.consume("n1", "rp", "x", false, 150).unwrap().uses, 1);
        assert!(matches!(
            s.consume("n1", "rp", "x", false, 151),
            Err(StoreError::ChallengeUsed)
        ));
        s.issue("n2", "rp", 100, 200).unwrap();
        assert!(matches!(
            s.consume("n2", "rp", "x", false, 201),
            Err(StoreError::ChallengeExpired)
        ));
        s.issue("n3", "rp", 100, 200).unwrap();
        assert_eq!(s.consume("n3", "rp", "x", false, 150).unwrap().uses, 2);
        s.issue("n4", "rp", 100, 200).unwrap();
        assert!(matches!(
            s.consume("n4", "rp", "x", true, 150),
            Err(StoreError::NullifierSeen)
        ));
        // The refused attempt left n4 unused.
        assert_eq!(s.consume("n4", "rp", "y", true, 150).unwrap().uses, 1);
    }

    #[test]
    fn file_database_persists() {
        let dir = std::env::temp_dir().join(format!("assay-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        let _ = std::fs::remove_file(&path);
        Store::open(&path)
            .unwrap()
            .issue("n", "rp", 1, 1000)
            .unwrap();
        let s = Store::open(&path).unwrap();
        assert!(s.consume("n", "rp", "z", false, 2).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
