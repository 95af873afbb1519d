//! The relying party's challenge store (SQLite, WAL): single-use nonces with an expiry.
//!
//! A nonce is spent by one atomic `UPDATE ... WHERE spent_at IS NULL`, after the proof has
//! verified: of two concurrent presentations answering one nonce, exactly one succeeds.

use super::KycError;
use assay_verifier::kyc::formats::{Challenge, KYC_FORMAT_VERSION};
use assay_verifier::kyc::time;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The default lifetime of a challenge, in seconds.
pub const DEFAULT_TTL_SECONDS: i64 = 600;

/// An open challenge store.
#[derive(Debug)]
pub struct ChallengeStore {
    conn: Connection,
}

impl ChallengeStore {
    /// Opens (or creates, when `create`) the store at `path`.
    ///
    /// # Errors
    /// [`KycError::Input`] if it does not exist and `create` is false; database errors.
    pub fn open(path: &Path, create: bool) -> Result<Self, KycError> {
        if !create && !path.exists() {
            return Err(KycError::Input(format!(
                "{}: no challenge store (issue a challenge first with `assay kyc challenge`)",
                path.display()
            )));
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS challenges (
                nonce TEXT PRIMARY KEY,
                scope TEXT NOT NULL,
                issued_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                spent_at INTEGER
            );",
        )?;
        Ok(Self { conn })
    }

    /// Issues a fresh challenge for `scope`, valid for `ttl` seconds from `now`.
    ///
    /// # Errors
    /// [`KycError::Input`] for an empty or overlong scope or a non-positive ttl.
    pub fn issue(&self, scope: &str, ttl: i64, now: i64) -> Result<Challenge, KycError> {
        if scope.is_empty() || scope.len() > assay_circuits::encoding::MAX_ID_BYTES {
            return Err(KycError::Input(format!(
                "scope: 1 to {} bytes",
                assay_circuits::encoding::MAX_ID_BYTES
            )));
        }
        if ttl <= 0 {
            return Err(KycError::Input("ttl: must be positive".into()));
        }
        let mut nonce = [0u8; 31];
        getrandom::fill(&mut nonce).map_err(|e| KycError::Random(e.to_string()))?;
        let hexed = hex::encode(nonce);
        self.conn.execute(
            "INSERT INTO challenges (nonce, scope, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![hexed, scope, now, now + ttl],
        )?;
        Ok(Challenge {
            version: KYC_FORMAT_VERSION,
            scope: scope.into(),
            nonce: hexed,
            issued_at: time::format_rfc3339(now),
            expires_at: time::format_rfc3339(now + ttl),
        })
    }

    /// Checks that `challenge` was issued here (same scope and expiry), is unspent and not
    /// expired at `now`.
    ///
    /// # Errors
    /// A message saying which.
    pub fn check(&self, challenge: &Challenge, now: i64) -> Result<(), String> {
        let row: Option<(String, i64, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT scope, expires_at, spent_at FROM challenges WHERE nonce = ?1",
                params![challenge.nonce],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| format!("challenge store: {e}"))?;
        match row {
            None => Err("this relying party never issued that challenge".into()),
            Some((scope, _, _)) if scope != challenge.scope => {
                Err(format!("the challenge was issued for scope `{scope}`"))
            }
            Some((_, _, Some(_))) => Err("the challenge was used already (replay)".into()),
            Some((_, exp, None)) if now > exp => Err("the challenge expired".into()),
            Some(_) => Ok(()),
        }
    }

    /// Marks the nonce as spent, atomically; fails if it was spent in the meantime.
    ///
    /// # Errors
    /// A message if the nonce is unknown, spent or expired.
    pub fn spend(&self, nonce: &str, now: i64) -> Result<(), String> {
        let n = self
            .conn
            .execute(
                "UPDATE challenges SET spent_at = ?2 WHERE nonce = ?1 AND spent_at IS NULL AND expires_at >= ?2",
                params![nonce, now],
            )
            .map_err(|e| format!("challenge store: {e}"))?;
        if n == 1 {
            Ok(())
        } else {
            Err("the challenge was used already (replay), expired, or never issued".into())
        }
    }
}
