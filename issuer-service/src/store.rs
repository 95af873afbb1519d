//! The service's own state in SQLite (WAL, `synchronous = FULL`, as the issuer's registry):
//! API key hashes and the audit log. Both tables are append-only for the service (triggers
//! refuse deleting keys and changing or deleting audit entries); someone who edits the file
//! directly is caught by the audit chain ([`crate::audit::verify`]).

use crate::audit::{self, AuditEntry, Head, GENESIS};
use crate::keys::{self, KeyCost, PresentedKey, Role};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use zeroize::Zeroizing;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'holder')),
    serial INTEGER CHECK ((role = 'holder') = (serial IS NOT NULL)),
    label TEXT NOT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    m_cost_kib INTEGER NOT NULL,
    t_cost INTEGER NOT NULL,
    p_cost INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER NOT NULL UNIQUE,
    time TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_key_id TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS api_keys_never_deleted BEFORE DELETE ON api_keys
BEGIN SELECT RAISE(ABORT, 'API keys are never deleted: revoke them'); END;
CREATE TRIGGER IF NOT EXISTS audit_never_changed BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are never changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_never_deleted BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are never deleted'); END;
";

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("service database: {0}")]
    Db(#[from] rusqlite::Error),
    /// Bad input (an unknown key id, a holder key without a serial).
    #[error("{0}")]
    Input(String),
    /// Hashing or the random source failed.
    #[error("{0}")]
    Crypto(String),
}

/// Who made a request: a verified key's id, role and (holders) serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The key id (public).
    pub key_id: String,
    /// The key's role.
    pub role: Role,
    /// The credential a holder key is bound to.
    pub serial: Option<u64>,
}

/// A key made by [`Store::add_key`]: the whole key is in `key`, shown once.
pub struct CreatedKey {
    /// The key id (public).
    pub id: String,
    /// The whole key (`aik_<id>_<secret>`): print it once, store it nowhere.
    pub key: Zeroizing<String>,
}

/// One row of [`Store::list_keys`] (no hash, no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// A holder key's serial.
    pub serial: Option<u64>,
    /// A free label.
    pub label: String,
    /// When it was made.
    pub created_at: String,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// The service database (cheap to clone; one connection behind a mutex).
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

fn now_rfc3339() -> String {
    assay_verifier::kyc::time::format_rfc3339(assay_prover::kyc::now_unix())
}

impl Store {
    /// Opens (creating) the database at `path` in WAL mode.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock: the connection itself is fine (every write is one transaction).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a key for `role` (`serial` for holders, only for holders), records `key-add` in
    /// the audit log as `operator`/`cli`, and returns the key (shown once).
    ///
    /// # Errors
    /// [`StoreError::Input`] for a holder key without a serial or another key with one.
    pub fn add_key(
        &self,
        role: Role,
        serial: Option<u64>,
        label: &str,
        cost: KeyCost,
    ) -> Result<CreatedKey, StoreError> {
        match (role, serial) {
            (Role::Holder, None) => {
                return Err(StoreError::Input(
                    "a holder key is bound to one credential: give its --serial".into(),
                ))
            }
            (Role::Admin | Role::Auditor, Some(_)) => {
                return Err(StoreError::Input(format!(
                    "--serial is for holder keys only, not {role}"
                )))
            }
            _ => {}
        }
        if label.len() > 200 || label.chars().any(char::is_control) {
            return Err(StoreError::Input(
                "--label: at most 200 printable characters".into(),
            ));
        }
        let k = keys::new_key(cost).map_err(StoreError::Crypto)?;
        let now = now_rfc3339();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO api_keys (key_id, role, serial, label, salt, hash, m_cost_kib, t_cost, p_cost, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                k.id,
                role.name(),
                serial.map(|s| s as i64),
                label,
                k.salt,
                k.hash,
                cost.m_cost_kib,
                cost.t_cost,
                cost.p_cost,
                now
            ],
        )?;
        let p = serde_json::json!({ "key_id": k.id, "role": role.name(), "serial": serial, "label": label });
        append_in(&tx, "operator", "cli", "key-add", &p.to_string())?;
        tx.commit()?;
        Ok(CreatedKey {
            id: k.id,
            key: k.key,
        })
    }

    /// Revokes key `id` (it answers 401 from now on) and records `key-revoke`.
    ///
    /// # Errors
    /// [`StoreError::Input`] if there is no such key or it is revoked already.
    pub fn revoke_key(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE api_keys SET revoked_at = ?1 WHERE key_id = ?2 AND revoked_at IS NULL",
            params![now_rfc3339(), id],
        )?;
        if n == 0 {
            return Err(StoreError::Input(format!(
                "no unrevoked API key with id `{id}`"
            )));
        }
        let p = serde_json::json!({ "key_id": id });
        append_in(&tx, "operator", "cli", "key-revoke", &p.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Every key, oldest first (ids, roles, serials, labels, dates; never a hash).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT key_id, role, serial, label, created_at, revoked_at FROM api_keys ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, role, serial, label, created_at, revoked_at) = row?;
            out.push(KeyInfo {
                id,
                role: Role::parse(&role).map_err(StoreError::Input)?,
                serial: serial.map(|s| s as u64),
                label,
                created_at,
                revoked_at,
            });
        }
        Ok(out)
    }

    /// The actor a presented key belongs to, or `None` (unknown id, revoked key, wrong secret,
    /// a stored row with costs below [`KeyCost::MINIMUM`]). Runs Argon2id: call it off the
    /// async threads.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn authenticate(&self, key: &PresentedKey) -> Result<Option<Actor>, StoreError> {
        type Row = (String, Option<i64>, String, String, u32, u32, u32);
        let row: Option<Row> = self
            .conn()
            .query_row(
                "SELECT role, serial, salt, hash, m_cost_kib, t_cost, p_cost FROM api_keys
                 WHERE key_id = ?1 AND revoked_at IS NULL",
                params![key.id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((role, serial, salt, hash, m, t, p)) = row else {
            return Ok(None);
        };
        let min = KeyCost::MINIMUM;
        if m < min.m_cost_kib || t < min.t_cost || p < min.p_cost {
            tracing::warn!(key_id = %key.id, "API key row with costs below the minimum: refused");
            return Ok(None);
        }
        let cost = KeyCost {
            m_cost_kib: m,
            t_cost: t,
            p_cost: p,
        };
        let Ok(computed) = keys::hash_secret(&key.secret, &salt, cost) else {
            return Ok(None);
        };
        if !keys::constant_time_eq(&computed, &hash) {
            return Ok(None);
        }
        let Ok(role) = Role::parse(&role) else {
            return Ok(None);
        };
        Ok(Some(Actor {
            key_id: key.id.clone(),
            role,
            serial: serial.map(|s| s as u64),
        }))
    }

    /// Appends an entry for an action by `actor`; returns the new head.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn append(&self, actor: &Actor, action: &str, params: &str) -> Result<Head, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head = append_in(&tx, actor.role.name(), &actor.key_id, action, params)?;
        tx.commit()?;
        Ok(head)
    }

    /// Every audit entry in stored (insertion) order.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, time, actor_role, actor_key_id, action, params, prev_hash, hash
             FROM audit ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AuditEntry {
                seq: r.get::<_, i64>(0)? as u64,
                time: r.get(1)?,
                actor_role: r.get(2)?,
                actor_key_id: r.get(3)?,
                action: r.get(4)?,
                params: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Every audit entry of the database file at `path` in stored order, read without changing
/// the file (for `assay kyc issuer audit verify --db`).
///
/// # Errors
/// [`StoreError::Input`] if the file does not exist; [`StoreError::Db`] if it is not a service
/// database.
pub fn read_audit_file(path: &Path) -> Result<Vec<AuditEntry>, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Input(format!(
            "{}: no such file",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Store {
        conn: Arc::new(Mutex::new(conn)),
    }
    .audit_entries()
}

/// Appends one entry inside `tx`, chained to the newest stored one.
fn append_in(
    tx: &rusqlite::Transaction<'_>,
    role: &str,
    key_id: &str,
    action: &str,
    params: &str,
) -> Result<Head, StoreError> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s as u64 + 1, h),
        None => (1, GENESIS.to_string()),
    };
    let time = now_rfc3339();
    let hash = audit::entry_hash(seq, &time, role, key_id, action, params, &prev);
    tx.execute(
        "INSERT INTO audit (seq, time, actor_role, actor_key_id, action, params, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq as i64, time, role, key_id, action, params, prev, hash],
    )?;
    tracing::info!(audit_seq = seq, audit_hash = %hash, action, actor_role = role, actor_key_id = key_id, "audit entry appended");
    Ok(Head { seq, hash })
}
