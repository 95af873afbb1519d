//! The relying party's challenge store, one SQLite schema for every surface (the HTTP server
//! and `assay kyc challenge` / `assay kyc verify`): single-use KYC challenges with an expiry,
//! and the nullifiers seen per scope.
//!
//! A challenge is spent by the first valid presentation that answers it: the check and the
//! conditional `UPDATE ... WHERE spent_at IS NULL` run in one `IMMEDIATE` transaction, so of
//! two concurrent presentations answering one nonce (in one process or several sharing the
//! file) exactly one succeeds, whichever surface verifies it.
//!
//! # Schema
//! * `challenges (nonce PRIMARY KEY, scope, issued_at, expires_at, spent_at)`: Unix seconds;
//!   `spent_at` is `NULL` until the challenge is used;
//! * `nullifiers (scope, nullifier, first_seen, last_seen, uses)`.
//!
//! The server's earlier schema named the spent column `used_at`; it is renamed in place when
//! such a database is opened.

#![deny(missing_docs)]

use assay_verifier::kyc::formats::{Challenge, KYC_FORMAT_VERSION};
use assay_verifier::kyc::time;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

/// The default lifetime of a challenge, in seconds.
pub const DEFAULT_TTL_SECONDS: i64 = 600;

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpError {
    /// This relying party never issued the challenge (for that scope).
    #[error("the challenge was not issued by this relying party")]
    UnknownChallenge,
    /// The challenge was issued for another scope.
    #[error("the challenge was issued for scope `{0}`")]
    WrongScope(String),
    /// The challenge was already used by an accepted presentation: a replay.
    #[error("the challenge was already used (replay)")]
    ChallengeUsed,
    /// The challenge's lifetime is over.
    #[error("the challenge has expired; request a new one")]
    ChallengeExpired,
    /// The nullifier was seen before and the relying party requires unique ones.
    #[error("nullifier already registered with this relying party")]
    NullifierSeen,
    /// A request the store refuses (empty scope, non-positive lifetime).
    #[error("{0}")]
    BadRequest(String),
    /// The store file does not exist and was not to be created.
    #[error("{}: no challenge store (issue a challenge first with `assay kyc challenge`)", .0.display())]
    NoStore(PathBuf),
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// SQLite failed.
    #[error("challenge store: {0}")]
    Db(#[from] rusqlite::Error),
}

/// What the store knows of a nullifier after recording a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NullifierUse {
    /// How many accepted presentations carried it, this one included.
    pub uses: u64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS challenges (
    nonce      TEXT PRIMARY KEY,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER
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

/// A handle on the store, cheap to clone (one connection behind a mutex). Calls block: an
/// async server runs them off its workers.
#[derive(Debug, Clone)]
pub struct ChallengeStore {
    conn: Arc<Mutex<Connection>>,
}

impl ChallengeStore {
    /// Opens the store file at `path`, creating it when `create` is set.
    ///
    /// # Errors
    /// [`RpError::NoStore`] if it does not exist and `create` is false; SQLite errors.
    pub fn open(path: &Path, create: bool) -> Result<Self, RpError> {
        if !create && !path.exists() {
            return Err(RpError::NoStore(path.to_path_buf()));
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    /// A private in-memory store (tests, or a server that forgets on restart).
    ///
    /// # Errors
    /// SQLite cannot start.
    pub fn in_memory() -> Result<Self, RpError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, RpError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let old_server_schema: bool = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('challenges') WHERE name = 'used_at'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if old_server_schema {
            conn.execute_batch("ALTER TABLE challenges RENAME COLUMN used_at TO spent_at")?;
        }
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // SQLite rolls back an interrupted transaction itself; the connection stays usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a fresh challenge for `scope` (31 random bytes), valid for `ttl` seconds from
    /// `now`, and records it.
    ///
    /// # Errors
    /// [`RpError::BadRequest`] for an empty or overlong scope or a non-positive `ttl`;
    /// [`RpError::Random`]; SQLite errors.
    pub fn issue(&self, scope: &str, ttl: i64, now: i64) -> Result<Challenge, RpError> {
        if scope.is_empty() || scope.len() > assay_circuits::encoding::MAX_ID_BYTES {
            return Err(RpError::BadRequest(format!(
                "scope: 1 to {} bytes",
                assay_circuits::encoding::MAX_ID_BYTES
            )));
        }
        if ttl <= 0 {
            return Err(RpError::BadRequest("ttl: must be positive".into()));
        }
        let mut nonce = [0u8; 31];
        getrandom::fill(&mut nonce).map_err(|e| RpError::Random(e.to_string()))?;
        let nonce = hex::encode(nonce);
        self.record(&nonce, scope, now, now + ttl)?;
        Ok(Challenge {
            version: KYC_FORMAT_VERSION,
            scope: scope.into(),
            nonce,
            issued_at: time::format_rfc3339(now),
            expires_at: time::format_rfc3339(now + ttl),
        })
    }

    /// Records a challenge made elsewhere (nonce hex) and drops every challenge that expired
    /// before `issued_at` (a late replay of one is then refused as unknown).
    ///
    /// # Errors
    /// SQLite errors (a duplicate nonce included).
    pub fn record(
        &self,
        nonce: &str,
        scope: &str,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<(), RpError> {
        let c = self.conn();
        c.execute(
            "DELETE FROM challenges WHERE expires_at < ?1",
            params![issued_at],
        )?;
        c.execute(
            "INSERT INTO challenges (nonce, scope, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![nonce, scope, issued_at, expires_at],
        )?;
        Ok(())
    }

    /// The issue and expiry times (Unix seconds) of challenge `nonce` for `scope`, if this
    /// relying party issued it (spent or not).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn challenge(&self, nonce: &str, scope: &str) -> Result<Option<(i64, i64)>, RpError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT issued_at, expires_at FROM challenges WHERE nonce = ?1 AND scope = ?2",
                params![nonce, scope],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Checks that `challenge` was issued here for its scope, is unspent and not expired at
    /// `now` (without spending it).
    ///
    /// # Errors
    /// The [`RpError`] saying which check failed.
    pub fn check(&self, challenge: &Challenge, now: i64) -> Result<(), RpError> {
        let c = self.conn();
        state(&c, &challenge.nonce, &challenge.scope, now)
    }

    /// Spends challenge `nonce` of `scope` at `now`, atomically: exactly one of several
    /// concurrent calls succeeds.
    ///
    /// # Errors
    /// [`RpError::UnknownChallenge`], [`RpError::WrongScope`], [`RpError::ChallengeUsed`],
    /// [`RpError::ChallengeExpired`]; SQLite errors. Nothing changes on error.
    pub fn spend(&self, nonce: &str, scope: &str, now: i64) -> Result<(), RpError> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        spend_in(&tx, nonce, scope, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Spends challenge `nonce` of `scope` as [`Self::spend`] and records `nullifier`, in one
    /// transaction.
    ///
    /// # Errors
    /// As [`Self::spend`], and [`RpError::NullifierSeen`] if the nullifier was seen and
    /// `unique` is set. Nothing changes on error.
    pub fn consume(
        &self,
        nonce: &str,
        scope: &str,
        nullifier: &str,
        unique: bool,
        now: i64,
    ) -> Result<NullifierUse, RpError> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        spend_in(&tx, nonce, scope, now)?;
        let uses: Option<i64> = tx
            .query_row(
                "SELECT uses FROM nullifiers WHERE scope = ?1 AND nullifier = ?2",
                params![scope, nullifier],
                |r| r.get(0),
            )
            .optional()?;
        if uses.is_some() && unique {
            return Err(RpError::NullifierSeen);
        }
        tx.execute(
            "INSERT INTO nullifiers (scope, nullifier, first_seen, last_seen, uses)
             VALUES (?1, ?2, ?3, ?3, 1)
             ON CONFLICT(scope, nullifier) DO UPDATE SET last_seen = ?3, uses = uses + 1",
            params![scope, nullifier, now],
        )?;
        tx.commit()?;
        Ok(NullifierUse {
            uses: uses.unwrap_or(0) as u64 + 1,
        })
    }
}

/// Whether challenge `nonce` of `scope` may be spent at `now`.
fn state(c: &Connection, nonce: &str, scope: &str, now: i64) -> Result<(), RpError> {
    let row: Option<(String, i64, Option<i64>)> = c
        .query_row(
            "SELECT scope, expires_at, spent_at FROM challenges WHERE nonce = ?1",
            params![nonce],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        None => Err(RpError::UnknownChallenge),
        Some((s, _, _)) if s != scope => Err(RpError::WrongScope(s)),
        Some((_, _, Some(_))) => Err(RpError::ChallengeUsed),
        Some((_, exp, None)) if now > exp => Err(RpError::ChallengeExpired),
        Some(_) => Ok(()),
    }
}

fn spend_in(c: &Connection, nonce: &str, scope: &str, now: i64) -> Result<(), RpError> {
    state(c, nonce, scope, now)?;
    let n = c.execute(
        "UPDATE challenges SET spent_at = ?2 WHERE nonce = ?1 AND spent_at IS NULL",
        params![nonce, now],
    )?;
    if n == 1 {
        Ok(())
    } else {
        Err(RpError::ChallengeUsed)
    }
}

#[cfg(test)]
mod tests;
