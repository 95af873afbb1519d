//! The issuer: an encrypted signing key, a registry of credentials in SQLite (WAL), and signed
//! epochs forming a hash chain.
//!
//! # Layout of the issuer directory
//! * `issuer-key.json`: the Ed25519 signing key, encrypted ([`crate::keystore`]);
//! * `issuer-public.json`: the public key and the Groth16 verifying key (for relying parties);
//! * `registry.sqlite`: credentials and epochs;
//! * `keys/kyc-<vk_hash>.pk`, `.vk`: the Groth16 keys (the proving key goes to holders).
//!
//! # Invariants
//! * Issuing or revoking is one `IMMEDIATE` transaction: a crash at any point leaves either
//!   no trace of it or all of it.
//! * Rows are never deleted (a trigger refuses it), so `serial = max(serial) + 1` is never
//!   reused; revocation sets the leaf to `0` from the next epoch on.
//! * Epoch `e` names the hash of epoch `e - 1`; the chain is checked on every publish.
//!
//! # Two backends, two registries
//! `R` is a hash, so each backend has its own registry over the same credentials: BN254
//! leaves `cred` (Groth16) and Pasta leaves `H_pasta(TAG_CRED, hid_pasta, J, expiry, serial)`
//! (Halo2). The issuer cannot derive `hid_pasta = H_pasta(TAG_HOLDER, sk, 0)` (it never sees
//! `sk`), so the holder gives both commitments at issuance; a credential issued with only the
//! BN254 one has an empty Halo2 leaf. Every epoch signs both roots (`root`, `root_halo2`).

use super::{keys, now_unix, read_doc, write_doc, KycError};
use crate::keystore::Keystore;
use assay_circuits::{
    kyc::{credential, jurisdiction::Jurisdiction, Registry},
    Fr,
};
use assay_verifier::kyc::formats::{
    epoch_message, fr_to_string, parse_fr, sha256_hex, Credential, Epoch, EpochFields, EpochLeaves,
    IssuerPublic, RegistryPath, KYC_FORMAT_VERSION,
};
use assay_verifier::kyc::time;
use ed25519_dalek::{Signer, SigningKey};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};

/// The keystore file name in an issuer directory.
pub const KEYSTORE_FILE: &str = "issuer-key.json";
/// The public file name in an issuer directory.
pub const PUBLIC_FILE: &str = "issuer-public.json";
/// The registry database file name.
pub const REGISTRY_FILE: &str = "registry.sqlite";
/// The keys folder.
pub const KEYS_DIR: &str = "keys";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (
    serial INTEGER PRIMARY KEY CHECK (serial >= 0 AND serial < 4294967296),
    leaf TEXT NOT NULL,
    holder_commitment TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    expiry_day INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    revoked_from_epoch INTEGER
);
CREATE TABLE IF NOT EXISTS epochs (
    epoch INTEGER PRIMARY KEY,
    leaf_count INTEGER NOT NULL,
    hash TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS credentials_never_deleted BEFORE DELETE ON credentials
BEGIN SELECT RAISE(ABORT, 'credentials are never deleted: serials are never reused'); END;
CREATE TRIGGER IF NOT EXISTS epochs_never_deleted BEFORE DELETE ON epochs
BEGIN SELECT RAISE(ABORT, 'epochs are never deleted'); END;
";

/// An open issuer directory (the signing key stays locked until [`Issuer::publish`]).
#[derive(Debug)]
pub struct Issuer {
    dir: PathBuf,
    conn: Connection,
    public: IssuerPublic,
}

fn open_db(path: &Path) -> Result<Connection, KycError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;
    // Registries created before Halo2 support get the Halo2 columns (NULL: no Halo2 leaf).
    let has_halo2: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('credentials') WHERE name = 'leaf_halo2'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_halo2 {
        conn.execute_batch(
            "ALTER TABLE credentials ADD COLUMN leaf_halo2 TEXT;
             ALTER TABLE credentials ADD COLUMN holder_commitment_halo2 TEXT;",
        )?;
    }
    Ok(conn)
}

/// The Halo2 leaf `H_pasta(TAG_CRED, hid_pasta, J, expiry_day, serial)` (decimal).
#[cfg(feature = "halo2")]
fn halo2_leaf(hid: &str, j: u64, expiry_day: u64, serial: u64) -> Result<String, KycError> {
    use assay_circuits::{field, halo2::Fp};
    let h = field::from_decimal::<Fp>(hid).ok_or_else(|| {
        KycError::Input(format!("`{hid}` is not a Halo2 (Pasta) holder commitment"))
    })?;
    Ok(field::to_decimal(&credential(
        h,
        Fp::from(j),
        Fp::from(expiry_day),
        Fp::from(serial),
    )))
}

#[cfg(not(feature = "halo2"))]
fn halo2_leaf(_: &str, _: u64, _: u64, _: u64) -> Result<String, KycError> {
    Err(KycError::Input(
        "this build has no Halo2 support: issue without a Halo2 commitment".into(),
    ))
}

/// The Halo2 root of the Halo2 leaves (decimal), `None` without Halo2 support.
#[cfg(feature = "halo2")]
fn halo2_root(leaves: &[String]) -> Result<Option<String>, KycError> {
    use assay_circuits::{field, halo2::Fp};
    let parsed = leaves
        .iter()
        .map(|l| {
            field::from_decimal::<Fp>(l)
                .ok_or_else(|| KycError::Input(format!("registry: `{l}` is not a Halo2 leaf")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(field::to_decimal(&Registry::new(parsed).root())))
}

#[cfg(not(feature = "halo2"))]
fn halo2_root(_: &[String]) -> Result<Option<String>, KycError> {
    Ok(None)
}

impl Issuer {
    /// Creates an issuer directory: a fresh signing key encrypted under `passphrase`, the
    /// Groth16 keys, the public file and an empty registry.
    ///
    /// # Errors
    /// [`KycError::Input`] if `dir` already holds an issuer; keystore, I/O and setup errors.
    pub fn init(dir: &Path, issuer_id: &str, passphrase: &str) -> Result<Self, KycError> {
        Self::init_with(
            dir,
            issuer_id,
            passphrase,
            crate::keystore::KdfCost::DEFAULT,
            None,
        )
    }

    /// [`Self::init`] with explicit keystore costs and, optionally, existing Groth16 keys
    /// (a folder holding `kyc-<hash>.pk`/`.vk` and the verifying key), for tests.
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn init_with(
        dir: &Path,
        issuer_id: &str,
        passphrase: &str,
        cost: crate::keystore::KdfCost,
        existing_keys: Option<(&Path, &ark_groth16::VerifyingKey<ark_bn254::Bn254>)>,
    ) -> Result<Self, KycError> {
        if issuer_id.is_empty() || issuer_id.len() > 256 || issuer_id.chars().any(char::is_control)
        {
            return Err(KycError::Input(format!(
                "issuer id `{issuer_id}`: 1 to 256 printable characters"
            )));
        }
        if dir.join(KEYSTORE_FILE).exists() || dir.join(REGISTRY_FILE).exists() {
            return Err(KycError::Input(format!(
                "{}: an issuer exists there already",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| KycError::io(dir, e))?;
        let key = Keystore::create_with_cost(&dir.join(KEYSTORE_FILE), passphrase, cost)?;
        let keys_dir = dir.join(KEYS_DIR);
        let vk = match existing_keys {
            None => keys::generate(&keys_dir)?,
            Some((src, vk)) => {
                let (_, hash) = keys::vk_bytes_and_hash(vk);
                std::fs::create_dir_all(&keys_dir).map_err(|e| KycError::io(&keys_dir, e))?;
                for ext in ["pk", "vk"] {
                    let name = format!("kyc-{hash}.{ext}");
                    std::fs::copy(src.join(&name), keys_dir.join(&name))
                        .map_err(|e| KycError::io(&src.join(&name), e))?;
                }
                vk.clone()
            }
        };
        let (vkb, vk_hash) = keys::vk_bytes_and_hash(&vk);
        let public = IssuerPublic {
            version: KYC_FORMAT_VERSION,
            issuer_id: issuer_id.to_string(),
            public_key: hex::encode(key.verifying_key().to_bytes()),
            verifying_key: hex::encode(vkb),
            vk_hash,
        };
        write_doc(&dir.join(PUBLIC_FILE), &public)?;
        let conn = open_db(&dir.join(REGISTRY_FILE))?;
        conn.execute(
            "INSERT INTO meta (k, v) VALUES ('issuer_id', ?1)",
            params![issuer_id],
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
            conn,
            public,
        })
    }

    /// Opens an existing issuer directory.
    ///
    /// # Errors
    /// [`KycError::Input`] if `dir` holds no issuer; I/O, format and database errors.
    pub fn open(dir: &Path) -> Result<Self, KycError> {
        let db = dir.join(REGISTRY_FILE);
        if !db.exists() {
            return Err(KycError::Input(format!(
                "{}: no issuer here (run `assay kyc issuer init --dir {}`)",
                dir.display(),
                dir.display()
            )));
        }
        let public: IssuerPublic = read_doc(&dir.join(PUBLIC_FILE), "issuer key")?;
        let conn = open_db(&db)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            conn,
            public,
        })
    }

    /// The issuer's public file.
    pub fn public(&self) -> &IssuerPublic {
        &self.public
    }

    /// The Groth16 keys folder.
    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join(KEYS_DIR)
    }

    /// Issues a credential to the holder commitment `hid` for `jurisdiction`, valid until
    /// `expiry_day` (exclusive: usable while `today < expiry_day`), at Unix time `now`.
    ///
    /// # Errors
    /// [`KycError::Input`] for an expiry not after today; database errors (then nothing was
    /// issued).
    pub fn issue(
        &mut self,
        hid: Fr,
        jurisdiction: Jurisdiction,
        expiry_day: u64,
        now: i64,
    ) -> Result<Credential, KycError> {
        self.issue_both(hid, None, jurisdiction, expiry_day, now)
    }

    /// [`Self::issue`] with the holder's Halo2 commitment `hid_halo2` (decimal) too: the
    /// credential then also enters the Halo2 registry.
    ///
    /// # Errors
    /// As [`Self::issue`]; [`KycError::Input`] for a malformed Halo2 commitment.
    pub fn issue_both(
        &mut self,
        hid: Fr,
        hid_halo2: Option<&str>,
        jurisdiction: Jurisdiction,
        expiry_day: u64,
        now: i64,
    ) -> Result<Credential, KycError> {
        let today = time::day_of(now);
        if i64::try_from(expiry_day).map_or(true, |e| e <= today) {
            return Err(KycError::Input(format!(
                "expiry day {expiry_day} is not after today (day {today}): the credential would be born expired"
            )));
        }
        if expiry_day >= 1 << assay_circuits::kyc::DAY_BITS {
            return Err(KycError::Input(format!(
                "expiry day {expiry_day} is out of range"
            )));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let serial: i64 = tx.query_row(
            "SELECT COALESCE(MAX(serial) + 1, 0) FROM credentials",
            [],
            |r| r.get(0),
        )?;
        let serial_u = serial as u64;
        let leaf = credential(
            hid,
            jurisdiction.to_fr(),
            Fr::from(expiry_day),
            Fr::from(serial_u),
        );
        let leaf_halo2 = hid_halo2
            .map(|h| halo2_leaf(h, jurisdiction.packed(), expiry_day, serial_u))
            .transpose()?;
        tx.execute(
            "INSERT INTO credentials (serial, leaf, holder_commitment, jurisdiction, expiry_day,
                 issued_at, leaf_halo2, holder_commitment_halo2)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                serial,
                fr_to_string(&leaf),
                fr_to_string(&hid),
                jurisdiction.code(),
                expiry_day as i64,
                now,
                leaf_halo2,
                hid_halo2
            ],
        )?;
        tx.commit()?;
        Ok(Credential {
            version: KYC_FORMAT_VERSION,
            issuer_id: self.public.issuer_id.clone(),
            serial: serial_u,
            holder_commitment: fr_to_string(&hid),
            jurisdiction: jurisdiction.code(),
            expiry_day,
            credential: fr_to_string(&leaf),
            holder_commitment_halo2: hid_halo2.map(str::to_string),
            credential_halo2: leaf_halo2,
        })
    }

    /// Revokes `serial`: its leaf is empty from the next published epoch on.
    ///
    /// # Errors
    /// [`KycError::Input`] if there is no such credential or it is revoked already.
    pub fn revoke(&mut self, serial: u64) -> Result<(), KycError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next_epoch: i64 =
            tx.query_row("SELECT COALESCE(MAX(epoch) + 1, 0) FROM epochs", [], |r| {
                r.get(0)
            })?;
        let row: Option<Option<i64>> = tx
            .query_row(
                "SELECT revoked_from_epoch FROM credentials WHERE serial = ?1",
                params![serial as i64],
                |r| r.get(0),
            )
            .optional()?;
        match row {
            None => {
                return Err(KycError::Input(format!(
                    "no credential with serial {serial}"
                )))
            }
            Some(Some(_)) => {
                return Err(KycError::Input(format!(
                    "credential {serial} is revoked already"
                )))
            }
            Some(None) => {}
        }
        tx.execute(
            "UPDATE credentials SET revoked_from_epoch = ?1 WHERE serial = ?2",
            params![next_epoch, serial as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The leaves as of epoch `epoch` (`None`: the current state), revoked ones as `0`.
    fn leaves(&self, epoch: Option<i64>) -> Result<Vec<Fr>, KycError> {
        leaves_at(&self.conn, epoch)
    }
}

/// The leaves as of epoch `epoch` (`None`: the current state), revoked ones as `0`.
fn leaves_at(conn: &Connection, epoch: Option<i64>) -> Result<Vec<Fr>, KycError> {
    column_at(conn, epoch, "leaf")?
        .into_iter()
        .map(|l| match l {
            None => Ok(Fr::from(0u64)),
            Some(l) => parse_fr(&l).map_err(|m| KycError::Input(format!("registry: {m}"))),
        })
        .collect()
}

/// The Halo2 leaves (decimal) as of epoch `epoch`: `0` for revoked credentials and for those
/// issued without a Halo2 commitment.
fn halo2_leaves_at(conn: &Connection, epoch: Option<i64>) -> Result<Vec<String>, KycError> {
    Ok(column_at(conn, epoch, "leaf_halo2")?
        .into_iter()
        .map(|l| l.unwrap_or_else(|| "0".into()))
        .collect())
}

/// The leaf column `column` (`leaf` or `leaf_halo2`) as of epoch `epoch` (`None`: the current
/// state), `None` for revoked or absent leaves.
fn column_at(
    conn: &Connection,
    epoch: Option<i64>,
    column: &str,
) -> Result<Vec<Option<String>>, KycError> {
    let (count, at) = match epoch {
        None => (i64::MAX, i64::MAX),
        Some(e) => (
            conn.query_row(
                "SELECT leaf_count FROM epochs WHERE epoch = ?1",
                params![e],
                |r| r.get(0),
            )?,
            e,
        ),
    };
    // `column` is one of two literals of this module, never user input.
    let mut stmt = conn.prepare(&format!(
        "SELECT serial, {column}, revoked_from_epoch FROM credentials WHERE serial < ?1 ORDER BY serial"
    ))?;
    let rows = stmt.query_map(params![count], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (serial, leaf, revoked) = row?;
        if serial as usize != out.len() {
            return Err(KycError::Input(format!(
                "registry: serial {serial} out of sequence"
            )));
        }
        out.push(if revoked.is_some_and(|r| r <= at) {
            None
        } else {
            leaf
        });
    }
    Ok(out)
}

impl Issuer {
    /// The number of credentials ever issued.
    ///
    /// # Errors
    /// Database errors.
    pub fn issued_count(&self) -> Result<u64, KycError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM credentials", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Publishes a new epoch of the current registry, signed with the key unlocked by
    /// `passphrase`, at Unix time `now`.
    ///
    /// # Errors
    /// Keystore errors (wrong passphrase, tampered file), database errors.
    pub fn publish(&mut self, passphrase: &str, now: i64) -> Result<Epoch, KycError> {
        let key = Keystore::open(&self.dir.join(KEYSTORE_FILE), passphrase)?;
        if hex::encode(key.verifying_key().to_bytes()) != self.public.public_key {
            return Err(KycError::Input(format!(
                "{}: the keystore's key is not the key in {PUBLIC_FILE}",
                self.dir.display()
            )));
        }
        self.publish_with_key(&key, now)
    }

    fn publish_with_key(&mut self, key: &SigningKey, now: i64) -> Result<Epoch, KycError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT epoch, hash, json FROM epochs ORDER BY epoch DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let epoch = last.as_ref().map_or(0, |l| l.0 + 1);
        let mut time = now;
        if let Some((_, _, json)) = &last {
            let prev: Epoch = serde_json::from_str(json)
                .map_err(|e| KycError::Input(format!("registry: stored epoch: {e}")))?;
            let pf = prev.fields().map_err(|e| KycError::Input(e.to_string()))?;
            time = time.max(pf.time);
        }
        let count: i64 = tx.query_row("SELECT COUNT(*) FROM credentials", [], |r| r.get(0))?;
        // Leaves as they will be in this epoch: every revocation so far applied.
        let mut leaves = leaves_at(&tx, None)?;
        leaves.truncate(count as usize);
        let root = Registry::new(leaves).root();
        let mut leaves_halo2 = halo2_leaves_at(&tx, None)?;
        leaves_halo2.truncate(count as usize);
        let root_halo2 = halo2_root(&leaves_halo2)?;
        let fields = EpochFields {
            root_halo2: root_halo2.clone(),
            root,
            time,
            prev: match &last {
                None => [0u8; 32],
                Some((_, h, _)) => hex::decode(h)
                    .ok()
                    .and_then(|v| v.try_into().ok())
                    .ok_or_else(|| KycError::Input("registry: stored epoch hash".into()))?,
            },
        };
        let msg = epoch_message(&self.public.issuer_id, epoch as u64, &fields);
        let doc = Epoch {
            version: KYC_FORMAT_VERSION,
            issuer_id: self.public.issuer_id.clone(),
            epoch: epoch as u64,
            root: fr_to_string(&root),
            root_halo2,
            time: time::format_rfc3339(time),
            prev_epoch_hash: last.as_ref().map(|l| l.1.clone()),
            signature: hex::encode(key.sign(&msg).to_bytes()),
        };
        tx.execute(
            "INSERT INTO epochs (epoch, leaf_count, hash, json) VALUES (?1, ?2, ?3, ?4)",
            params![
                epoch,
                count,
                sha256_hex(&msg),
                serde_json::to_string(&doc).map_err(|e| KycError::Input(e.to_string()))?
            ],
        )?;
        tx.commit()?;
        Ok(doc)
    }

    /// Every published epoch, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub fn epochs(&self) -> Result<Vec<Epoch>, KycError> {
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM epochs ORDER BY epoch")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(
                serde_json::from_str(&r?)
                    .map_err(|e| KycError::Input(format!("registry: stored epoch: {e}")))?,
            );
        }
        Ok(out)
    }

    /// Every leaf of the latest published epoch, for publication.
    ///
    /// # Errors
    /// [`KycError::Input`] if nothing is published yet; database errors.
    pub fn latest_leaves(&self) -> Result<EpochLeaves, KycError> {
        let last: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT epoch, json FROM epochs ORDER BY epoch DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (epoch, json) = last.ok_or_else(|| {
            KycError::Input("no epoch published yet (run `assay kyc publish`)".into())
        })?;
        let doc: Epoch = serde_json::from_str(&json)
            .map_err(|e| KycError::Input(format!("registry: stored epoch: {e}")))?;
        Ok(EpochLeaves {
            version: KYC_FORMAT_VERSION,
            issuer_id: self.public.issuer_id.clone(),
            epoch: epoch as u64,
            root: doc.root,
            leaves: self.leaves(Some(epoch))?.iter().map(fr_to_string).collect(),
            leaves_halo2: match doc.root_halo2 {
                Some(_) => Some(halo2_leaves_at(&self.conn, Some(epoch))?),
                None => None,
            },
            root_halo2: doc.root_halo2,
        })
    }

    /// The path of `serial` under the latest published epoch.
    ///
    /// # Errors
    /// [`KycError::Input`] if nothing is published yet, or the serial is not in that epoch or
    /// is revoked in it.
    pub fn path(&self, serial: u64) -> Result<RegistryPath, KycError> {
        let last: Option<i64> = self
            .conn
            .query_row("SELECT MAX(epoch) FROM epochs", [], |r| r.get(0))?;
        let epoch = last.ok_or_else(|| {
            KycError::Input("no epoch published yet (run `assay kyc publish`)".into())
        })?;
        let leaves = self.leaves(Some(epoch))?;
        match leaves.get(serial as usize) {
            None => {
                return Err(KycError::Input(format!(
                    "serial {serial} is not in epoch {epoch} (publish a new epoch after issuing)"
                )))
            }
            Some(l) if *l == Fr::from(0u64) => {
                return Err(KycError::Input(format!(
                    "credential {serial} is revoked in epoch {epoch}"
                )))
            }
            Some(_) => {}
        }
        // Both backends' paths, checked against the epoch's roots.
        self.latest_leaves()?
            .path(serial)
            .map_err(|e| KycError::Input(format!("registry: {e}")))
    }
}

/// The current Unix time (re-exported for the CLI).
pub fn now() -> i64 {
    now_unix()
}
