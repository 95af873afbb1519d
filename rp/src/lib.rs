//! The relying party's challenge store, one SQLite schema for every surface (the HTTP server
//! and `assay kyc challenge` / `assay kyc verify`): single-use KYC challenges with an expiry,
//! and the nullifiers seen per scope.
//!
//! **One backend per scope.** A nullifier is a hash, and each backend hashes in its own field,
//! so one holder has one nullifier per scope *per backend*. The store binds every scope to one
//! backend (on first use, or from configuration with [`ChallengeStore::bind_scope`]) and
//! refuses to issue a challenge for, or accept a presentation of, another backend in that
//! scope ([`RpError::ScopeBackend`]): switching backend cannot yield a second account.
//!
//! A challenge is spent by the first valid presentation that answers it: the check and the
//! conditional `UPDATE ... WHERE spent_at IS NULL` run in one `IMMEDIATE` transaction, so of
//! two concurrent presentations answering one nonce (in one process or several sharing the
//! file) exactly one succeeds, whichever surface verifies it.
//!
//! # Schema
//! * `challenges (nonce PRIMARY KEY, scope, issued_at, expires_at, spent_at, backend)`: Unix
//!   seconds; `spent_at` is `NULL` until the challenge is used; `backend` is the backend's
//!   format name (`NULL` in rows of stores made before it existed);
//! * `nullifiers (scope, nullifier, first_seen, last_seen, uses)`;
//! * `scope_backends (scope PRIMARY KEY, backend, bound_at)`: the one backend of each scope.
//!
//! The server's earlier schema named the spent column `used_at`; it is renamed in place when
//! such a database is opened; a store without the `backend` column gains it.

#![deny(missing_docs)]

use assay_verifier::kyc::formats::{Challenge, CHALLENGE_FORMAT_V2};
use assay_verifier::kyc::time;
use assay_verifier::Backend;
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
    /// The scope is bound to another backend: one person would get a second nullifier.
    #[error(
        "scope `{scope}` accepts only {bound} presentations (one backend per scope, so one \
         nullifier per person); {asked} is refused"
    )]
    ScopeBackend {
        /// The scope.
        scope: String,
        /// The backend it is bound to.
        bound: Backend,
        /// The backend asked for.
        asked: Backend,
    },
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
);
CREATE TABLE IF NOT EXISTS scope_backends (
    scope    TEXT PRIMARY KEY,
    backend  TEXT NOT NULL,
    bound_at INTEGER NOT NULL
);";

/// A challenge as the store recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedChallenge {
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The backend it was issued for (`None` for rows of stores made before backends were
    /// recorded).
    pub backend: Option<Backend>,
}

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
        let has_backend: bool = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('challenges') WHERE name = 'backend'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_backend {
            conn.execute_batch("ALTER TABLE challenges ADD COLUMN backend TEXT")?;
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // SQLite rolls back an interrupted transaction itself; the connection stays usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The backend `scope` is bound to, if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn scope_backend(&self, scope: &str) -> Result<Option<Backend>, RpError> {
        scope_backend_in(&self.conn(), scope)
    }

    /// Binds `scope` to `backend` at `now` if it is unbound (configuration, or first use);
    /// succeeds if it is already bound to `backend`.
    ///
    /// # Errors
    /// [`RpError::ScopeBackend`] if it is bound to another backend; SQLite errors.
    pub fn bind_scope(&self, scope: &str, backend: Backend, now: i64) -> Result<(), RpError> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        bind_in(&tx, scope, backend, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Issues a fresh challenge for `scope` (31 random bytes), valid for `ttl` seconds from
    /// `now`, and records it. The challenge names the scope's backend: `backend` binds an
    /// unbound scope (and must be the bound one otherwise); `None` takes the bound one.
    ///
    /// # Errors
    /// [`RpError::BadRequest`] for an empty or overlong scope, a non-positive `ttl`, or no
    /// backend for an unbound scope; [`RpError::ScopeBackend`]; [`RpError::Random`]; SQLite
    /// errors.
    pub fn issue(
        &self,
        scope: &str,
        backend: Option<Backend>,
        ttl: i64,
        now: i64,
    ) -> Result<Challenge, RpError> {
        if scope.is_empty() || scope.len() > assay_circuits::encoding::MAX_ID_BYTES {
            return Err(RpError::BadRequest(format!(
                "scope: 1 to {} bytes",
                assay_circuits::encoding::MAX_ID_BYTES
            )));
        }
        if ttl <= 0 {
            return Err(RpError::BadRequest("ttl: must be positive".into()));
        }
        let backend = match (backend, self.scope_backend(scope)?) {
            (Some(b), _) => b,
            (None, Some(b)) => b,
            (None, None) => {
                return Err(RpError::BadRequest(format!(
                    "scope `{scope}` is not bound to a backend yet: name the one it accepts \
                     (groth16 or halo2)"
                )))
            }
        };
        let mut nonce = [0u8; 31];
        getrandom::fill(&mut nonce).map_err(|e| RpError::Random(e.to_string()))?;
        let nonce = hex::encode(nonce);
        self.record(&nonce, scope, backend, now, now + ttl)?;
        Ok(Challenge {
            version: CHALLENGE_FORMAT_V2,
            scope: scope.into(),
            backend: Some(backend),
            nonce,
            issued_at: time::format_rfc3339(now),
            expires_at: time::format_rfc3339(now + ttl),
        })
    }

    /// Records a challenge made elsewhere (nonce hex) for `scope` and its `backend` (binding an
    /// unbound scope), and drops every challenge that expired before `issued_at` (a late replay
    /// of one is then refused as unknown).
    ///
    /// # Errors
    /// [`RpError::ScopeBackend`]; SQLite errors (a duplicate nonce included).
    pub fn record(
        &self,
        nonce: &str,
        scope: &str,
        backend: Backend,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<(), RpError> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        bind_in(&tx, scope, backend, issued_at)?;
        tx.execute(
            "DELETE FROM challenges WHERE expires_at < ?1",
            params![issued_at],
        )?;
        tx.execute(
            "INSERT INTO challenges (nonce, scope, issued_at, expires_at, backend)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![nonce, scope, issued_at, expires_at, backend.name()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Challenge `nonce` for `scope` as recorded, if this relying party issued it (spent or
    /// not).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn challenge(&self, nonce: &str, scope: &str) -> Result<Option<IssuedChallenge>, RpError> {
        let row: Option<(i64, i64, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT issued_at, expires_at, backend FROM challenges
                 WHERE nonce = ?1 AND scope = ?2",
                params![nonce, scope],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.map(|(issued_at, expires_at, b)| IssuedChallenge {
            issued_at,
            expires_at,
            backend: b.as_deref().and_then(Backend::from_name),
        }))
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

    /// Spends challenge `nonce` of `scope` as [`Self::spend`] and records `nullifier` of a
    /// presentation made with `backend`, in one transaction. The scope must accept `backend`
    /// (it is bound on first use), and so must the challenge.
    ///
    /// # Errors
    /// As [`Self::spend`], [`RpError::ScopeBackend`] for a presentation of another backend than
    /// the scope's or the challenge's, and [`RpError::NullifierSeen`] if the nullifier was seen
    /// and `unique` is set. Nothing changes on error.
    pub fn consume(
        &self,
        nonce: &str,
        scope: &str,
        backend: Backend,
        nullifier: &str,
        unique: bool,
        now: i64,
    ) -> Result<NullifierUse, RpError> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        spend_in(&tx, nonce, scope, now)?;
        let issued_for: Option<String> = tx.query_row(
            "SELECT backend FROM challenges WHERE nonce = ?1",
            params![nonce],
            |r| r.get(0),
        )?;
        if let Some(b) = issued_for.as_deref().and_then(Backend::from_name) {
            if b != backend {
                return Err(RpError::ScopeBackend {
                    scope: scope.into(),
                    bound: b,
                    asked: backend,
                });
            }
        }
        bind_in(&tx, scope, backend, now)?;
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

fn scope_backend_in(c: &Connection, scope: &str) -> Result<Option<Backend>, RpError> {
    let b: Option<String> = c
        .query_row(
            "SELECT backend FROM scope_backends WHERE scope = ?1",
            params![scope],
            |r| r.get(0),
        )
        .optional()?;
    b.map(|name| {
        Backend::from_name(&name).ok_or_else(|| {
            RpError::BadRequest(format!(
                "scope `{scope}` is bound to `{name}`, a backend this build does not know"
            ))
        })
    })
    .transpose()
}

/// Binds `scope` to `backend` unless it is bound; refuses another backend.
fn bind_in(c: &Connection, scope: &str, backend: Backend, now: i64) -> Result<(), RpError> {
    match scope_backend_in(c, scope)? {
        Some(b) if b == backend => Ok(()),
        Some(bound) => Err(RpError::ScopeBackend {
            scope: scope.into(),
            bound,
            asked: backend,
        }),
        None => {
            c.execute(
                "INSERT INTO scope_backends (scope, backend, bound_at) VALUES (?1, ?2, ?3)",
                params![scope, backend.name(), now],
            )?;
            Ok(())
        }
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
