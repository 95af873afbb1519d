//! The issuer: an encrypted signing key, a registry of credentials in SQLite (WAL), and signed
//! epochs forming a hash chain.
//!
//! # Layout of the issuer directory
//! * `issuer-key.json`: the Ed25519 signing key, encrypted ([`crate::keystore`]);
//! * `issuer-public.json`: the public key and the Groth16 verifying key (for relying parties);
//! * `registry.sqlite`: credentials and epochs;
//! * `keys/`: the Groth16 keys (`index.json`, `<vk_hash>.pk`, `<vk_hash>.vk`: the layout of
//!   [`crate::keys::KeyCache`]; the folder goes to holders), and the cached IPA parameters.
//!
//! # Invariants
//! * Issuing or revoking is one `IMMEDIATE` transaction: a crash at any point leaves either
//!   no trace of it or all of it.
//! * Rows are never deleted (a trigger refuses it), so `serial = max(serial) + 1` is never
//!   reused; revocation sets the leaf to `0` from the next epoch on.
//! * Epoch `e` names the hash of epoch `e - 1`; the chain is checked on every publish.
//!
//! # One registry per backend
//! `R` is a hash, so each backend has its own registry over the same credentials: leaf
//! `H(TAG_CRED, hid, J, expiry, serial)` with that backend's field and hash (BN254 circomlib
//! Poseidon for Groth16, Pasta `P128Pow5T3` for Halo2, KoalaBear Poseidon2 for the STARK, whose
//! values are 8-element digests, `crate::stark::kyc`). The issuer cannot derive a holder's
//! `hid = H(TAG_HOLDER, sk, 0)` on another backend (it never sees `sk`), so the holder gives
//! one commitment per backend at issuance; a credential is empty (`0`) in the registries of
//! the backends it has no commitment for. Every epoch signs the root of every backend this
//! build supports (`roots`).
//!
//! # Schema
//! `credentials (serial, jurisdiction, expiry_day, issued_at, revoked_from_epoch)`, and the
//! per-backend `leaves (serial, backend, leaf, holder_commitment)`. A registry of the earlier
//! schema (`leaf`, `holder_commitment`, `leaf_halo2`, `holder_commitment_halo2` columns in
//! `credentials`) is migrated in place when opened, in one transaction.

use super::{keys, now_unix, read_doc, unsupported, write_doc, KycError};
use crate::keystore::Keystore;
use assay_circuits::{
    field::{from_decimal, to_decimal},
    kyc::{credential, jurisdiction::Jurisdiction, Registry},
    StatementField,
};
use assay_verifier::kyc::formats::{
    sha256_hex, verify_epoch_chain, BackendMap, Credential, CredentialEntry, Epoch, EpochLeaves,
    Handover, IssuerPublic, LeavesEntry, RegistryPath, EPOCH_FORMAT_V3, KYC_FORMAT_V2,
    KYC_FORMAT_VERSION,
};
use assay_verifier::kyc::time;
use assay_verifier::{with_field, Backend, FieldVisitor};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
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
    jurisdiction TEXT NOT NULL,
    expiry_day INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    revoked_from_epoch INTEGER
);
CREATE TABLE IF NOT EXISTS leaves (
    serial INTEGER NOT NULL REFERENCES credentials (serial),
    backend TEXT NOT NULL,
    leaf TEXT NOT NULL,
    holder_commitment TEXT NOT NULL,
    PRIMARY KEY (serial, backend)
);
CREATE TABLE IF NOT EXISTS epochs (
    epoch INTEGER PRIMARY KEY,
    leaf_count INTEGER NOT NULL,
    hash TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS credentials_never_deleted BEFORE DELETE ON credentials
BEGIN SELECT RAISE(ABORT, 'credentials are never deleted: serials are never reused'); END;
CREATE TRIGGER IF NOT EXISTS leaves_never_deleted BEFORE DELETE ON leaves
BEGIN SELECT RAISE(ABORT, 'leaves are never deleted'); END;
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

fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, KycError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        params![table, column],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?)
}

fn open_db(path: &Path) -> Result<Connection, KycError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    migrate_leaf_columns(&mut conn)?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Moves the leaves of a registry of the earlier schema (leaf and holder-commitment columns
/// in `credentials`, the Halo2 ones possibly absent) into the `leaves` table, in one
/// transaction. A registry of the current schema, or a new one, is left alone.
fn migrate_leaf_columns(conn: &mut Connection) -> Result<(), KycError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !has_column(&tx, "credentials", "leaf")? {
        return Ok(());
    }
    tx.execute_batch(SCHEMA)?;
    tx.execute(
        "INSERT INTO leaves (serial, backend, leaf, holder_commitment)
         SELECT serial, ?1, leaf, holder_commitment FROM credentials",
        params![Backend::Groth16.name()],
    )?;
    let mut dropped = vec!["leaf", "holder_commitment"];
    if has_column(&tx, "credentials", "leaf_halo2")? {
        tx.execute(
            "INSERT INTO leaves (serial, backend, leaf, holder_commitment)
             SELECT serial, ?1, leaf_halo2, holder_commitment_halo2 FROM credentials
             WHERE leaf_halo2 IS NOT NULL AND holder_commitment_halo2 IS NOT NULL",
            params![Backend::Halo2.name()],
        )?;
        dropped.extend(["leaf_halo2", "holder_commitment_halo2"]);
    }
    for c in dropped {
        // `c` is one of the literals above, never input.
        tx.execute_batch(&format!("ALTER TABLE credentials DROP COLUMN {c}"))?;
    }
    tx.commit()?;
    Ok(())
}

/// The leaf `H(TAG_CRED, hid, J, expiry_day, serial)` over `F` (decimal) of the holder
/// commitment `hid` (decimal).
fn leaf_over<F: StatementField>(
    backend: Backend,
    hid: &str,
    j: u64,
    expiry_day: u64,
    serial: u64,
) -> Result<String, KycError> {
    let h = from_decimal::<F>(hid)
        .ok_or_else(|| KycError::Input(format!("`{hid}` is not a {backend} holder commitment")))?;
    Ok(to_decimal(&credential(
        h,
        F::from_u128(j.into()),
        F::from_u128(expiry_day.into()),
        F::from_u128(serial.into()),
    )))
}

/// The leaf of `hid` in `backend`'s registry (decimal).
fn leaf_on(
    backend: Backend,
    hid: &str,
    j: u64,
    expiry_day: u64,
    serial: u64,
) -> Result<String, KycError> {
    if backend == Backend::Stark {
        #[cfg(feature = "stark")]
        return crate::stark::kyc::leaf(hid, j, expiry_day, serial);
    }
    struct Leaf<'a>(Backend, &'a str, u64, u64, u64);
    impl FieldVisitor for Leaf<'_> {
        type Output = Result<String, KycError>;
        fn visit<F: StatementField>(self) -> Self::Output {
            leaf_over::<F>(self.0, self.1, self.2, self.3, self.4)
        }
    }
    with_field(backend, Leaf(backend, hid, j, expiry_day, serial))
        .unwrap_or_else(|| Err(unsupported(backend)))
}

/// The root of `backend`'s registry of `leaves` (decimal).
fn root_on(backend: Backend, leaves: &[String]) -> Result<String, KycError> {
    fn over<F: StatementField>(leaves: &[String]) -> Result<String, KycError> {
        let parsed = leaves
            .iter()
            .map(|l| {
                from_decimal::<F>(l)
                    .ok_or_else(|| KycError::Input(format!("registry: `{l}` is not a leaf")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(to_decimal(&Registry::new(parsed).root()))
    }
    if backend == Backend::Stark {
        #[cfg(feature = "stark")]
        return crate::stark::kyc::root(leaves);
    }
    struct Root<'a>(&'a [String]);
    impl FieldVisitor for Root<'_> {
        type Output = Result<String, KycError>;
        fn visit<F: StatementField>(self) -> Self::Output {
            over::<F>(self.0)
        }
    }
    with_field(backend, Root(leaves)).unwrap_or_else(|| Err(unsupported(backend)))
}

/// Where an issuer's Groth16 keys of the KYC circuit come from (issue 11, defect 5: whoever
/// makes them can forge presentations for credentials that are in no registry).
#[derive(Debug, Clone, Copy)]
pub enum IssuerKeys<'a> {
    /// A keys folder written by a setup the issuer does not run alone
    /// (`assay solvency setup --kyc`): its signed manifest names the KYC key, which is checked
    /// (verifying key against its name, proving key against the verifying key) and copied
    /// into the issuer's `keys/` with the manifest.
    Setup(&'a Path),
    /// The issuer runs the setup itself. INSECURE: the issuer can then forge presentations;
    /// verifiers and holders that pin a setup's manifest refuse its key.
    InsecureOwnSetup,
}

/// The KYC key of the setup folder `src`: its signed manifest's `kyc-groth16` entry, the key
/// files checked against it. Returns the folder, the key's hash and the verifying key.
fn setup_kyc_key(
    src: &Path,
) -> Result<(&Path, String, ark_groth16::VerifyingKey<ark_bn254::Bn254>), KycError> {
    let cache = crate::keys::KeyCache::new(src);
    let manifest = cache
        .manifest()
        .map_err(|e| KycError::Input(format!("--keys {}: {e}", src.display())))?;
    let hash = manifest.key_for(keys::KYC_SHAPE).ok_or_else(|| {
        KycError::Input(format!(
            "--keys {}: the setup made no KYC key (run `assay solvency setup --kyc`)",
            src.display()
        ))
    })?;
    let pk = keys::load_proving_key(src, hash)?;
    Ok((src, hash.to_string(), pk.vk))
}

impl Issuer {
    /// Creates an issuer directory: a fresh signing key encrypted under `passphrase`, the
    /// Groth16 keys from `keys`, the public file and an empty registry.
    ///
    /// # Errors
    /// [`KycError::Input`] if `dir` already holds an issuer or the setup folder has no valid
    /// KYC key; keystore, I/O and setup errors.
    pub fn init(
        dir: &Path,
        issuer_id: &str,
        passphrase: &str,
        keys: IssuerKeys<'_>,
    ) -> Result<Self, KycError> {
        Self::init_with(
            dir,
            issuer_id,
            passphrase,
            crate::keystore::KdfCost::DEFAULT,
            keys,
        )
    }

    /// [`Self::init`] with explicit keystore costs (lower ones for tests).
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn init_with(
        dir: &Path,
        issuer_id: &str,
        passphrase: &str,
        cost: crate::keystore::KdfCost,
        keys_from: IssuerKeys<'_>,
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
        // The setup folder is checked before anything is written.
        let setup = match keys_from {
            IssuerKeys::Setup(src) => Some(setup_kyc_key(src)?),
            IssuerKeys::InsecureOwnSetup => None,
        };
        std::fs::create_dir_all(dir).map_err(|e| KycError::io(dir, e))?;
        let key = Keystore::create_with_cost(&dir.join(KEYSTORE_FILE), passphrase, cost)?;
        let keys_dir = dir.join(KEYS_DIR);
        let vk = match setup {
            None => keys::generate(&keys_dir)?,
            Some((src, hash, vk)) => {
                std::fs::create_dir_all(&keys_dir).map_err(|e| KycError::io(&keys_dir, e))?;
                let [pk_file, vk_file] = keys::key_files(&hash);
                for name in [pk_file, vk_file, crate::keys::MANIFEST_FILE.into()] {
                    std::fs::copy(src.join(&name), keys_dir.join(&name))
                        .map_err(|e| KycError::io(&src.join(&name), e))?;
                }
                let index = std::collections::BTreeMap::from([(keys::KYC_SHAPE, hash.as_str())]);
                crate::fsutil::write_json(&keys_dir.join("index.json"), &index)
                    .map_err(|e| KycError::Input(e.to_string()))?;
                vk
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

    /// Issues a credential for `jurisdiction`, valid until `expiry_day` (exclusive: usable
    /// while `today < expiry_day`), at Unix time `now`, to the holder's commitments
    /// (decimal, one per backend): the credential enters the registry of each of those
    /// backends, and no other.
    ///
    /// # Errors
    /// [`KycError::Input`] for an expiry not after today, no commitment, a malformed one or
    /// one for a backend this build does not support; database errors (then nothing was
    /// issued).
    pub fn issue(
        &mut self,
        holder_commitments: &BackendMap<String>,
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
        if holder_commitments.is_empty() {
            return Err(KycError::Input(
                "no holder commitment: give one per backend".into(),
            ));
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
        let mut backends = BackendMap::new();
        for (b, hid) in holder_commitments {
            let leaf = leaf_on(*b, hid, jurisdiction.packed(), expiry_day, serial_u)?;
            backends.insert(
                *b,
                CredentialEntry {
                    holder_commitment: hid.clone(),
                    leaf,
                },
            );
        }
        tx.execute(
            "INSERT INTO credentials (serial, jurisdiction, expiry_day, issued_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![serial, jurisdiction.code(), expiry_day as i64, now],
        )?;
        for (b, e) in &backends {
            tx.execute(
                "INSERT INTO leaves (serial, backend, leaf, holder_commitment)
                 VALUES (?1, ?2, ?3, ?4)",
                params![serial, b.name(), e.leaf, e.holder_commitment],
            )?;
        }
        tx.commit()?;
        Ok(Credential {
            version: KYC_FORMAT_V2,
            issuer_id: self.public.issuer_id.clone(),
            serial: serial_u,
            jurisdiction: jurisdiction.code(),
            expiry_day,
            backends,
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
}

/// `backend`'s leaves (decimal) as of epoch `epoch` (`None`: the current state): `0` for
/// revoked credentials and for those issued without a commitment on that backend.
fn leaves_at(
    conn: &Connection,
    epoch: Option<i64>,
    backend: Backend,
) -> Result<Vec<String>, KycError> {
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
    let mut stmt = conn.prepare(
        "SELECT c.serial, l.leaf, c.revoked_from_epoch FROM credentials c
         LEFT JOIN leaves l ON l.serial = c.serial AND l.backend = ?2
         WHERE c.serial < ?1 ORDER BY c.serial",
    )?;
    let rows = stmt.query_map(params![count, backend.name()], |r| {
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
        out.push(match leaf {
            Some(l) if revoked.is_none_or(|r| r > at) => l,
            _ => "0".into(),
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
        let key = self.open_keystore(passphrase)?;
        self.publish_with_key(&key, now)
    }

    /// Opens `issuer-key.json` and checks that its key is the one in force
    /// ([`Self::current_key`]).
    fn open_keystore(&self, passphrase: &str) -> Result<SigningKey, KycError> {
        let key = Keystore::open(&self.dir.join(KEYSTORE_FILE), passphrase)?;
        let current = self.current_key()?;
        if hex::encode(key.verifying_key().to_bytes()) != current {
            let hint = if self.dir.join(NEXT_KEYSTORE_FILE).exists() {
                format!(
                    " (a key rotation was interrupted after its epoch was recorded: move \
                     {NEXT_KEYSTORE_FILE} to {KEYSTORE_FILE})"
                )
            } else {
                String::new()
            };
            return Err(KycError::Input(format!(
                "{}: the keystore's key is not the issuer's key in force ({current}){hint}",
                self.dir.display()
            )));
        }
        Ok(key)
    }

    /// The issuer's key in force (hex): the key of [`PUBLIC_FILE`] (the one relying parties
    /// pin), or the new key of the latest handover recorded in the published epochs.
    ///
    /// # Errors
    /// Database errors, a stored epoch that does not parse.
    pub fn current_key(&self) -> Result<String, KycError> {
        let mut key = self.public.public_key.clone();
        for e in self.epochs()? {
            if let Some(h) = e.handover {
                key = h.new_key;
            }
        }
        Ok(key)
    }

    /// Appends an epoch signed by `key` without checking that it is the key in force (the
    /// caller did, or a test wants a foreign key).
    pub(crate) fn publish_with_key(
        &mut self,
        key: &SigningKey,
        now: i64,
    ) -> Result<Epoch, KycError> {
        self.append_epoch(key, None, now)
    }

    /// Publishes a new epoch signed by `signer`, which must be the key in force
    /// ([`Self::current_key`]): a keystore key, or a threshold group's key.
    ///
    /// # Errors
    /// [`KycError::Input`] if `signer` is not the key in force, or its signature does not
    /// verify; database errors.
    pub fn publish_with(&mut self, signer: &dyn EpochSigner, now: i64) -> Result<Epoch, KycError> {
        let current = self.current_key()?;
        if hex::encode(signer.public_key().to_bytes()) != current {
            return Err(KycError::Input(format!(
                "the signer's key {} is not the issuer's key in force ({current})",
                hex::encode(signer.public_key().to_bytes())
            )));
        }
        self.append_epoch(signer, None, now)
    }

    /// Hands the issuer's signing over from `old` (the key in force) to `new`, recorded in the
    /// epoch chain: publishes a version 3 epoch of the current registry that carries the
    /// [`Handover`] (signed by `old`) and is signed by `new` (its proof of possession). Every
    /// later epoch must be signed by `new` ([`Self::publish_with`]).
    ///
    /// # Errors
    /// [`KycError::Input`] if no epoch is published yet (a key hands over after an epoch it
    /// signed), `old` is not the key in force, `new` is a key the chain has already used, the
    /// reason is too long, or a signature does not verify; database errors (then nothing was
    /// recorded).
    pub fn rotate(
        &mut self,
        old: &dyn EpochSigner,
        new: &dyn EpochSigner,
        reason: &str,
        now: i64,
    ) -> Result<Epoch, KycError> {
        let epochs = self.epochs()?;
        if epochs.is_empty() {
            return Err(KycError::Input(
                "no epoch published yet: publish one with the current key first (a key hands \
                 over after an epoch it signed)"
                    .into(),
            ));
        }
        let current = self.current_key()?;
        let old_hex = hex::encode(old.public_key().to_bytes());
        let new_hex = hex::encode(new.public_key().to_bytes());
        if old_hex != current {
            return Err(KycError::Input(format!(
                "the old key {old_hex} is not the issuer's key in force ({current}): only the \
                 current key hands over"
            )));
        }
        let mut used = vec![self.public.public_key.clone()];
        used.extend(
            epochs
                .iter()
                .filter_map(|e| e.handover.as_ref())
                .map(|h| h.new_key.clone()),
        );
        if used.contains(&new_hex) {
            return Err(KycError::Input(format!(
                "the new key {new_hex} has signed this chain before: a retired key never comes back"
            )));
        }
        if reason.len() > 256 || reason.chars().any(char::is_control) {
            return Err(KycError::Input(
                "--reason: at most 256 bytes, no control characters".into(),
            ));
        }
        let handover = Handover {
            old_key: old_hex,
            new_key: new_hex,
            reason: reason.to_string(),
            time: String::new(),
            signature: "00".repeat(64),
        };
        self.append_epoch(new, Some((old, handover)), now)
    }

    /// Appends the next epoch, signed by `signer`; with a handover, `old` signs it first.
    fn append_epoch(
        &mut self,
        signer: &dyn EpochSigner,
        handover: Option<(&dyn EpochSigner, Handover)>,
        now: i64,
    ) -> Result<Epoch, KycError> {
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
        let mut roots = BackendMap::new();
        for b in super::backends() {
            let mut leaves = leaves_at(&tx, None, b)?;
            leaves.truncate(count as usize);
            roots.insert(b, root_on(b, &leaves)?);
        }
        let bad = |e: assay_verifier::kyc::formats::FormatError| KycError::Input(e.to_string());
        let mut doc = Epoch {
            version: KYC_FORMAT_V2,
            issuer_id: self.public.issuer_id.clone(),
            epoch: epoch as u64,
            roots,
            time: time::format_rfc3339(time),
            prev_epoch_hash: last.as_ref().map(|l| l.1.clone()),
            signature: String::new(),
            handover: None,
        };
        if let Some((old, mut h)) = handover {
            doc.version = EPOCH_FORMAT_V3;
            h.time = doc.time.clone();
            doc.handover = Some(h);
            let hm = doc.handover_message().map_err(bad)?;
            let sig = old.sign_message(&hm)?;
            if let Some(h) = doc.handover.as_mut() {
                h.signature = hex::encode(sig);
            }
            doc.verify_handover()
                .map_err(|e| KycError::Input(format!("the old key's handover signature: {e}")))?;
        }
        let msg = doc.message().map_err(bad)?;
        doc.signature = hex::encode(signer.sign_message(&msg)?);
        if !doc.verify_signature(&signer.public_key()).map_err(bad)? {
            return Err(KycError::Input(format!(
                "the signature of epoch {epoch} does not verify under the signer's key"
            )));
        }
        if doc.handover.is_some() {
            // Before anything is recorded: the whole chain with the handover, followed from
            // the key relying parties pin, as they will check it.
            let mut all = Vec::new();
            {
                let mut stmt = tx.prepare("SELECT json FROM epochs ORDER BY epoch")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                for r in rows {
                    all.push(
                        serde_json::from_str::<Epoch>(&r?)
                            .map_err(|e| KycError::Input(format!("registry: stored epoch: {e}")))?,
                    );
                }
            }
            all.push(doc.clone());
            let pinned = self.public.key().map_err(bad)?;
            verify_epoch_chain(&all, &pinned).map_err(|e| {
                KycError::Input(format!("registry: the chain with the handover: {e}"))
            })?;
        }
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
        let mut backends = BackendMap::new();
        for (b, root) in doc.roots {
            let leaves = leaves_at(&self.conn, Some(epoch), b)?;
            backends.insert(b, LeavesEntry { root, leaves });
        }
        Ok(EpochLeaves {
            version: KYC_FORMAT_V2,
            issuer_id: self.public.issuer_id.clone(),
            epoch: epoch as u64,
            backends,
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
        let leaves = self.latest_leaves()?;
        let empty = |l: &String| l == "0";
        let mut lists = leaves.backends.values().map(|e| &e.leaves);
        match lists.clone().next().map(|l| l.get(serial as usize)) {
            None | Some(None) => {
                return Err(KycError::Input(format!(
                    "serial {serial} is not in epoch {epoch} (publish a new epoch after issuing)"
                )))
            }
            Some(Some(_)) if lists.all(|l| l.get(serial as usize).is_some_and(empty)) => {
                return Err(KycError::Input(format!(
                    "credential {serial} is revoked in epoch {epoch}"
                )))
            }
            Some(Some(_)) => {}
        }
        // Every backend's path, checked against the epoch's roots.
        leaves
            .path(serial)
            .map_err(|e| KycError::Input(format!("registry: {e}")))
    }
}

/// What signs an issuer's epochs and handovers: a keystore key held in memory
/// ([`SigningKey`]), or a threshold group whose shares sign together (the CLI's signer over
/// `assay-custody`). The signature is ordinary Ed25519 either way; callers verify it before
/// they record anything.
pub trait EpochSigner {
    /// The Ed25519 public key the signatures verify under.
    fn public_key(&self) -> VerifyingKey;
    /// An Ed25519 signature (64 bytes) on `message`.
    ///
    /// # Errors
    /// [`KycError`] if the signer cannot sign (a share that does not unlock, too few shares).
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], KycError>;
}

impl EpochSigner for SigningKey {
    fn public_key(&self) -> VerifyingKey {
        self.verifying_key()
    }
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], KycError> {
        Ok(self.sign(message).to_bytes())
    }
}

/// Where [`Issuer::rotate_keystore`] makes the new key before the handover is recorded.
pub const NEXT_KEYSTORE_FILE: &str = "issuer-key.next.json";

impl Issuer {
    /// [`Issuer::rotate`] from the keystore key (unlocked by `passphrase`) to a new keystore
    /// key made here under `new_passphrase`: the new key is made as [`NEXT_KEYSTORE_FILE`],
    /// the handover epoch recorded, then the old file is kept as
    /// `issuer-key.retired-<N>.json` (N: the handover's epoch; destroy it once the rotation is
    /// published) and the new one becomes [`KEYSTORE_FILE`].
    ///
    /// # Errors
    /// As [`Issuer::rotate`]; keystore errors; [`KycError::Input`] if a
    /// [`NEXT_KEYSTORE_FILE`] exists from an earlier attempt.
    pub fn rotate_keystore(
        &mut self,
        passphrase: &str,
        new_passphrase: &str,
        cost: crate::keystore::KdfCost,
        reason: &str,
        now: i64,
    ) -> Result<Epoch, KycError> {
        let old = self.open_keystore(passphrase)?;
        let next = self.dir.join(NEXT_KEYSTORE_FILE);
        if next.exists() {
            return Err(KycError::Input(format!(
                "{}: exists from an earlier rotation; if no epoch names its key, remove it",
                next.display()
            )));
        }
        let new = Keystore::create_with_cost(&next, new_passphrase, cost)?;
        let epoch = match self.rotate(&old, &new, reason, now) {
            Ok(e) => e,
            Err(e) => {
                // Nothing was recorded: the new key is not used.
                let _ = std::fs::remove_file(&next);
                return Err(e);
            }
        };
        let current = self.dir.join(KEYSTORE_FILE);
        let retired = self
            .dir
            .join(format!("issuer-key.retired-{}.json", epoch.epoch));
        std::fs::rename(&current, &retired).map_err(|e| KycError::io(&current, e))?;
        std::fs::rename(&next, &current).map_err(|e| KycError::io(&next, e))?;
        Ok(epoch)
    }
}

/// The current Unix time (re-exported for the CLI).
pub fn now() -> i64 {
    now_unix()
}
