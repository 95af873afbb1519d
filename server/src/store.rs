//! Single-use KYC challenges and seen nullifiers: the relying party's store of `assay-rp`
//! (one SQLite schema shared with `assay kyc challenge` / `assay kyc verify`), with the
//! server's Unix-seconds (`u64`) interface.
//!
//! A challenge is issued once, lives for a fixed time, and is consumed by the first valid
//! proof that names it: the consuming `UPDATE` is conditional and transactional, so two
//! concurrent proofs with the same challenge cannot both pass, whether this server or the
//! command line (on the same database file) verifies them.

use std::path::Path;

pub use assay_rp::{ChallengeStore, NullifierUse, RpError as StoreError};
use assay_verifier::Backend;

/// A handle on the database, cheap to clone. Calls block: run them off the async workers.
#[derive(Debug, Clone)]
pub struct Store {
    inner: ChallengeStore,
}

fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (creating if needed) the SQLite file at `path`.
    ///
    /// # Errors
    /// The file cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            inner: ChallengeStore::open(path, true)?,
        })
    }

    /// A private in-memory database (tests, or a server that forgets on restart).
    ///
    /// # Errors
    /// SQLite cannot start.
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            inner: ChallengeStore::in_memory()?,
        })
    }

    /// The shared store underneath.
    pub fn challenges(&self) -> &ChallengeStore {
        &self.inner
    }

    /// Records a new challenge; drops expired ones.
    ///
    /// # Errors
    /// SQLite failed (a duplicate nonce included, which 248 random bits make impossible).
    pub fn issue(
        &self,
        nonce: &str,
        scope: &str,
        backend: Backend,
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.inner
            .record(nonce, scope, backend, secs(now), secs(expires_at))
    }

    /// The issue and expiry times (UNIX seconds) of challenge `nonce` for `scope`, if this
    /// server issued it (used or not).
    ///
    /// # Errors
    /// SQLite failed.
    pub fn challenge(
        &self,
        nonce: &str,
        scope: &str,
    ) -> Result<Option<(u64, u64, Option<Backend>)>, StoreError> {
        Ok(self.inner.challenge(nonce, scope)?.map(|c| {
            (
                c.issued_at.max(0) as u64,
                c.expires_at.max(0) as u64,
                c.backend,
            )
        }))
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
        backend: Backend,
        nullifier: &str,
        unique: bool,
        now: u64,
    ) -> Result<NullifierUse, StoreError> {
        self.inner
            .consume(nonce, scope, backend, nullifier, unique, secs(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Backend = Backend::Groth16;

    #[test]
    fn challenge_is_single_use_and_expires() {
        let s = Store::in_memory().unwrap();
        s.issue("n1", "rp", G, 100, 200).unwrap();
        assert!(matches!(
            s.consume("n0", "rp", G, "x", false, 150),
            Err(StoreError::UnknownChallenge)
        ));
        assert_eq!(s.consume("n1", "rp", G, "x", false, 150).unwrap().uses, 1);
        assert!(matches!(
            s.consume("n1", "rp", G, "x", false, 151),
            Err(StoreError::ChallengeUsed)
        ));
        s.issue("n2", "rp", G, 100, 200).unwrap();
        assert!(matches!(
            s.consume("n2", "rp", G, "x", false, 201),
            Err(StoreError::ChallengeExpired)
        ));
        assert_eq!(s.challenge("n2", "rp").unwrap(), Some((100, 200, Some(G))));
    }

    /// One database file, two surfaces: whichever spends a challenge first, the other
    /// refuses the replay.
    #[test]
    fn a_replay_is_refused_whichever_surface_spent_the_challenge() {
        let dir = std::env::temp_dir().join(format!("assay-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rp.sqlite");
        let _ = std::fs::remove_file(&path);
        let server = Store::open(&path).unwrap();
        // The command line's handle (`assay kyc challenge` / `assay kyc verify`).
        let cli = ChallengeStore::open(&path, false).unwrap();
        // Issued by the command line, spent by the server, replayed on the command line.
        let a = cli.issue("rp", Some(G), 600, 1_000).unwrap();
        server
            .consume(&a.nonce, "rp", G, "nf-a", false, 1_010)
            .unwrap();
        assert!(matches!(
            cli.check(&a, 1_020),
            Err(StoreError::ChallengeUsed)
        ));
        assert!(matches!(
            cli.spend(&a.nonce, "rp", 1_020),
            Err(StoreError::ChallengeUsed)
        ));
        // Issued by the server, spent by the command line, replayed on the server.
        server.issue("b", "rp", G, 1_000, 1_600).unwrap();
        cli.consume("b", "rp", G, "nf-b", false, 1_010).unwrap();
        assert!(matches!(
            server.consume("b", "rp", G, "nf-b", false, 1_020),
            Err(StoreError::ChallengeUsed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
