//! An Ed25519 signing key encrypted at rest: Argon2id derives a key from a passphrase, and
//! AES-256-GCM seals the 32 secret bytes.
//!
//! The file is versioned JSON (unknown fields are refused):
//!
//! ```json
//! { "version": 1, "kind": "assay-ed25519-signing-key",
//!   "kdf": { "algorithm": "argon2id", "m_cost_kib": 65536, "t_cost": 3, "p_cost": 1, "salt": "<hex 16>" },
//!   "aead": { "algorithm": "aes-256-gcm", "nonce": "<hex 12>" },
//!   "public_key": "<hex 32>", "ciphertext": "<hex 48>" }
//! ```
//!
//! Every header field (version, kind, KDF parameters and salt, nonce, public key) is the AEAD's
//! associated data, so changing any byte of the file makes decryption fail; after decryption the
//! public key is recomputed and compared. A wrong passphrase and a tampered file are therefore
//! the same error, [`KeystoreError::Unlock`]: AES-GCM cannot tell them apart, and neither may we.
//!
//! The secret key is never written in plain text: it exists only in memory, in a
//! [`SigningKey`] (which zeroizes itself on drop). Random bytes come from the operating system
//! (`getrandom`), so this module needs no RNG type from either of the workspace's two RNG worlds.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable a passphrase is read from before falling back to a prompt.
pub const PASSPHRASE_ENV: &str = "ASSAY_PASSPHRASE";

/// The keystore format version this code writes and reads.
pub const KEYSTORE_VERSION: u32 = 1;

const KIND: &str = "assay-ed25519-signing-key";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;

/// Why a keystore could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The keystore file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file exists already: refusing to overwrite a key.
    #[error("{0}: a keystore exists already; refusing to overwrite it")]
    Exists(PathBuf),
    /// The file is not a keystore of a known format.
    #[error("{path}: not a valid keystore: {reason}")]
    Malformed {
        /// The keystore file.
        path: PathBuf,
        /// What is wrong (JSON error with line and column, or the offending field).
        reason: String,
    },
    /// The passphrase is wrong, or the file was tampered with (AES-GCM cannot tell which).
    #[error("{0}: cannot unlock the keystore: wrong passphrase, or the file was modified")]
    Unlock(PathBuf),
    /// No passphrase could be had (empty, unset with no terminal, or the prompt failed).
    #[error("passphrase: {0}")]
    Passphrase(String),
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct KdfParams {
    algorithm: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct AeadParams {
    algorithm: String,
    nonce: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct KeystoreFile {
    version: u32,
    kind: String,
    kdf: KdfParams,
    aead: AeadParams,
    public_key: String,
    ciphertext: String,
}

impl KeystoreFile {
    /// The associated data: every field but the ciphertext, in a fixed textual form.
    fn aad(&self) -> Vec<u8> {
        format!(
            "assay-keystore|v{}|{}|{}|m={}|t={}|p={}|salt={}|{}|nonce={}|pk={}",
            self.version,
            self.kind,
            self.kdf.algorithm,
            self.kdf.m_cost_kib,
            self.kdf.t_cost,
            self.kdf.p_cost,
            self.kdf.salt,
            self.aead.algorithm,
            self.aead.nonce,
            self.public_key
        )
        .into_bytes()
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfCost {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfCost {
    /// The default: 64 MiB, 3 passes, 1 lane (a fraction of a second here).
    pub const DEFAULT: Self = Self {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// The cheapest cost [`Keystore::open`] accepts from a file: an attacker who edits the
    /// parameters cannot make the key cheaper to guess than this (the AAD also binds them).
    pub const MINIMUM: Self = Self {
        m_cost_kib: 8 * 1024,
        t_cost: 1,
        p_cost: 1,
    };
}

/// An encrypted keystore on disk.
#[derive(Debug)]
pub struct Keystore;

fn random<const N: usize>() -> Result<[u8; N], KeystoreError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| KeystoreError::Random(e.to_string()))?;
    Ok(b)
}

fn derive(passphrase: &[u8], salt: &[u8], cost: KdfCost) -> Result<Zeroizing<[u8; 32]>, String> {
    let params = argon2::Params::new(cost.m_cost_kib, cost.t_cost, cost.p_cost, Some(32))
        .map_err(|e| format!("Argon2 parameters: {e}"))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    a.hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|e| format!("Argon2: {e}"))?;
    Ok(out)
}

impl Keystore {
    /// Creates a fresh random signing key, writes it encrypted under `passphrase` to `path`
    /// (a new file, mode 0600 on Unix), and returns it.
    ///
    /// # Errors
    /// [`KeystoreError::Exists`] if `path` exists, [`KeystoreError::Passphrase`] if the
    /// passphrase is empty, I/O and random-source errors.
    pub fn create(path: &Path, passphrase: &str) -> Result<SigningKey, KeystoreError> {
        Self::create_with_cost(path, passphrase, KdfCost::DEFAULT)
    }

    /// [`Self::create`] with explicit Argon2id costs (at least [`KdfCost::MINIMUM`]).
    ///
    /// # Errors
    /// As [`Self::create`].
    pub fn create_with_cost(
        path: &Path,
        passphrase: &str,
        cost: KdfCost,
    ) -> Result<SigningKey, KeystoreError> {
        if passphrase.is_empty() {
            return Err(KeystoreError::Passphrase(
                "an empty passphrase is refused".into(),
            ));
        }
        if path.exists() {
            return Err(KeystoreError::Exists(path.to_path_buf()));
        }
        let secret = Zeroizing::new(random::<32>()?);
        let key = SigningKey::from_bytes(&secret);
        Self::write(path, &key, passphrase, cost)?;
        Ok(key)
    }

    /// Encrypts an existing key to a new file `path` (used by tests and key rotation).
    ///
    /// # Errors
    /// As [`Self::create`].
    pub fn write(
        path: &Path,
        key: &SigningKey,
        passphrase: &str,
        cost: KdfCost,
    ) -> Result<(), KeystoreError> {
        if passphrase.is_empty() {
            return Err(KeystoreError::Passphrase(
                "an empty passphrase is refused".into(),
            ));
        }
        let secret = Zeroizing::new(key.to_bytes());
        let sealed = SealedSecret::seal(
            KIND,
            secret.as_ref(),
            &key.verifying_key().to_bytes(),
            passphrase,
            cost,
        )?;
        let json = serde_json::to_string_pretty(&sealed).map_err(|e| KeystoreError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_new_private(path, json.as_bytes())
    }

    /// Opens the keystore at `path` with `passphrase`.
    ///
    /// # Errors
    /// [`KeystoreError::Unlock`] for a wrong passphrase or any modification of the file;
    /// [`KeystoreError::Malformed`] for a file that is not a keystore (unknown field, wrong
    /// version, bad hex, costs below [`KdfCost::MINIMUM`]); I/O errors.
    pub fn open(path: &Path, passphrase: &str) -> Result<SigningKey, KeystoreError> {
        let io = |source| KeystoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bad = |reason: String| KeystoreError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let file: SealedSecret = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let pk = file
            .public_exact::<32>()
            .ok_or_else(|| bad("public_key".into()))?;
        let plain = file.open(KIND, passphrase, path)?;
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
            plain
                .as_slice()
                .try_into()
                .map_err(|_| KeystoreError::Unlock(path.to_path_buf()))?,
        );
        let key = SigningKey::from_bytes(&secret);
        if key.verifying_key().to_bytes() != pk {
            return Err(KeystoreError::Unlock(path.to_path_buf()));
        }
        Ok(key)
    }

    /// The public key recorded in the keystore at `path`, without unlocking it.
    ///
    /// # Errors
    /// I/O or [`KeystoreError::Malformed`].
    pub fn public_key(path: &Path) -> Result<[u8; 32], KeystoreError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeystoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: KeystoreFile =
            serde_json::from_str(&text).map_err(|e| KeystoreError::Malformed {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        hex_exact::<32>(&file.public_key).ok_or_else(|| KeystoreError::Malformed {
            path: path.to_path_buf(),
            reason: "public_key".into(),
        })
    }
}

/// A secret of any length sealed under a passphrase in the keystore's format (the same JSON
/// object as a keystore file, with a caller-chosen `kind`), for other kinds of secret than an
/// Ed25519 signing key: threshold key shares, a protocol's state between rounds.
///
/// Guarantees: the secret is encrypted with AES-256-GCM under a key that Argon2id derives from
/// the passphrase; every header field, the `kind` and the `public` bytes are associated data,
/// so a changed byte anywhere, a wrong passphrase, or opening with another `kind` all fail with
/// [`KeystoreError::Unlock`] and never yield a secret. The `public` bytes are not secret (they
/// are stored in the `public_key` field in hex); the caller decides what they mean and checks
/// them against the secret after opening.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SealedSecret(KeystoreFile);

impl SealedSecret {
    /// Seals `secret` (with `public` bound to it) under `passphrase`, with fresh salt and nonce.
    ///
    /// # Errors
    /// [`KeystoreError::Passphrase`] for an empty passphrase or an empty `kind`, or costs
    /// Argon2 refuses; [`KeystoreError::Random`] if the random source fails.
    pub fn seal(
        kind: &str,
        secret: &[u8],
        public: &[u8],
        passphrase: &str,
        cost: KdfCost,
    ) -> Result<Self, KeystoreError> {
        if passphrase.is_empty() {
            return Err(KeystoreError::Passphrase(
                "an empty passphrase is refused".into(),
            ));
        }
        if kind.is_empty() {
            return Err(KeystoreError::Passphrase("an empty kind is refused".into()));
        }
        let salt = random::<SALT_LEN>()?;
        let nonce = random::<NONCE_LEN>()?;
        let mut file = KeystoreFile {
            version: KEYSTORE_VERSION,
            kind: kind.into(),
            kdf: KdfParams {
                algorithm: "argon2id".into(),
                m_cost_kib: cost.m_cost_kib,
                t_cost: cost.t_cost,
                p_cost: cost.p_cost,
                salt: hex::encode(salt),
            },
            aead: AeadParams {
                algorithm: "aes-256-gcm".into(),
                nonce: hex::encode(nonce),
            },
            public_key: hex::encode(public),
            ciphertext: String::new(),
        };
        let kek = derive(passphrase.as_bytes(), &salt, cost).map_err(KeystoreError::Passphrase)?;
        let cipher = Aes256Gcm::new_from_slice(kek.as_ref())
            .map_err(|e| KeystoreError::Random(e.to_string()))?;
        let aad = file.aad();
        let ct = cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| KeystoreError::Random("AES-GCM encryption failed".into()))?;
        file.ciphertext = hex::encode(ct);
        Ok(Self(file))
    }

    /// The kind recorded in the header (not authenticated until [`Self::open`] succeeds).
    pub fn kind(&self) -> &str {
        &self.0.kind
    }

    /// The public bytes recorded beside the secret, if they are hex of exactly `N` bytes (not
    /// authenticated until [`Self::open`] succeeds).
    pub fn public_exact<const N: usize>(&self) -> Option<[u8; N]> {
        hex_exact::<N>(&self.0.public_key)
    }

    /// Opens the sealed secret with `passphrase`, expecting `kind`; `origin` names the file in
    /// errors.
    ///
    /// # Errors
    /// [`KeystoreError::Malformed`] for another version, kind or algorithm, bad hex, or costs
    /// outside the accepted range (at least [`KdfCost::MINIMUM`]); [`KeystoreError::Unlock`]
    /// for a wrong passphrase or any modification; [`KeystoreError::Passphrase`] for an empty
    /// passphrase.
    pub fn open(
        &self,
        kind: &str,
        passphrase: &str,
        origin: &Path,
    ) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let file = &self.0;
        let bad = |reason: String| KeystoreError::Malformed {
            path: origin.to_path_buf(),
            reason,
        };
        if file.version != KEYSTORE_VERSION {
            return Err(bad(format!(
                "version {} is not supported (expected {KEYSTORE_VERSION})",
                file.version
            )));
        }
        if file.kind != kind
            || file.kdf.algorithm != "argon2id"
            || file.aead.algorithm != "aes-256-gcm"
        {
            return Err(bad("unknown kind or algorithm".into()));
        }
        let cost = KdfCost {
            m_cost_kib: file.kdf.m_cost_kib,
            t_cost: file.kdf.t_cost,
            p_cost: file.kdf.p_cost,
        };
        if cost.m_cost_kib < KdfCost::MINIMUM.m_cost_kib
            || cost.t_cost < KdfCost::MINIMUM.t_cost
            || cost.p_cost < KdfCost::MINIMUM.p_cost
            || cost.m_cost_kib > 4 * 1024 * 1024
            || cost.t_cost > 64
            || cost.p_cost > 64
        {
            return Err(bad("kdf: costs out of the accepted range".into()));
        }
        let salt = hex_exact::<SALT_LEN>(&file.kdf.salt).ok_or_else(|| bad("kdf.salt".into()))?;
        let nonce =
            hex_exact::<NONCE_LEN>(&file.aead.nonce).ok_or_else(|| bad("aead.nonce".into()))?;
        hex::decode(&file.public_key).map_err(|_| bad("public_key: not hex".into()))?;
        let ct = hex::decode(&file.ciphertext).map_err(|_| bad("ciphertext: not hex".into()))?;
        if passphrase.is_empty() {
            return Err(KeystoreError::Passphrase(
                "an empty passphrase is refused".into(),
            ));
        }
        let kek = derive(passphrase.as_bytes(), &salt, cost).map_err(bad)?;
        let cipher = Aes256Gcm::new_from_slice(kek.as_ref()).map_err(|e| bad(e.to_string()))?;
        let aad = file.aad();
        cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &ct,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeystoreError::Unlock(origin.to_path_buf()))
    }
}

fn hex_exact<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// Writes `bytes` to a new file (never overwriting) readable by its owner only, and syncs it.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), KeystoreError> {
    let io = |source| KeystoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeystoreError::Exists(path.to_path_buf())
        } else {
            io(e)
        }
    })?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// The passphrase from [`PASSPHRASE_ENV`] if set, else from a prompt on the terminal (asked
/// twice when `confirm`, for a new keystore).
///
/// # Errors
/// [`KeystoreError::Passphrase`] if it is empty, the two entries differ, or there is no
/// terminal to prompt on.
pub fn passphrase_from_env_or_prompt(
    prompt: &str,
    confirm: bool,
) -> Result<Zeroizing<String>, KeystoreError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        if p.is_empty() {
            return Err(KeystoreError::Passphrase(format!(
                "{PASSPHRASE_ENV} is set but empty"
            )));
        }
        return Ok(Zeroizing::new(p));
    }
    let read = |p: &str| {
        rpassword::prompt_password(p)
            .map(Zeroizing::new)
            .map_err(|e| {
                KeystoreError::Passphrase(format!(
                    "cannot prompt ({e}); set {PASSPHRASE_ENV} instead"
                ))
            })
    };
    let first = read(prompt)?;
    if first.is_empty() {
        return Err(KeystoreError::Passphrase(
            "an empty passphrase is refused".into(),
        ));
    }
    if confirm {
        let again = read("Repeat the passphrase: ")?;
        if *again != *first {
            return Err(KeystoreError::Passphrase("the two entries differ".into()));
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfCost = KdfCost::MINIMUM;

    fn fresh(dir: &Path) -> (PathBuf, SigningKey) {
        let path = dir.join("issuer.key.json");
        let key = Keystore::create_with_cost(&path, "correct horse", CHEAP).unwrap();
        (path, key)
    }

    #[test]
    fn round_trip_and_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (path, key) = fresh(dir.path());
        let again = Keystore::open(&path, "correct horse").unwrap();
        assert_eq!(again.to_bytes(), key.to_bytes());
        assert_eq!(
            Keystore::public_key(&path).unwrap(),
            key.verifying_key().to_bytes()
        );
        let raw = std::fs::read(&path).unwrap();
        let secret = key.to_bytes();
        assert!(
            !raw.windows(32).any(|w| w == secret),
            "raw key bytes on disk"
        );
        let hexed = hex::encode(secret);
        assert!(
            !String::from_utf8_lossy(&raw).contains(&hexed),
            "hex key on disk"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "keystore readable by others");
        }
    }

    #[test]
    fn wrong_passphrase_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = fresh(dir.path());
        let err = Keystore::open(&path, "wrong").unwrap_err();
        assert!(matches!(err, KeystoreError::Unlock(_)), "{err}");
        assert!(err.to_string().contains("wrong passphrase"));
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = fresh(dir.path());
        assert!(matches!(
            Keystore::create_with_cost(&path, "x", CHEAP),
            Err(KeystoreError::Exists(_))
        ));
    }

    #[test]
    fn tampered_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = fresh(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let flip = |s: &str| {
            let mut b = hex::decode(s).unwrap();
            b[0] ^= 1;
            hex::encode(b)
        };
        let mut cases: Vec<(&str, serde_json::Value)> = Vec::new();
        let mut c = v.clone();
        c["ciphertext"] = flip(v["ciphertext"].as_str().unwrap()).into();
        cases.push(("ciphertext", c));
        let mut c = v.clone();
        c["public_key"] = flip(v["public_key"].as_str().unwrap()).into();
        cases.push(("public key", c));
        let mut c = v.clone();
        c["kdf"]["salt"] = flip(v["kdf"]["salt"].as_str().unwrap()).into();
        cases.push(("salt", c));
        let mut c = v.clone();
        c["aead"]["nonce"] = flip(v["aead"]["nonce"].as_str().unwrap()).into();
        cases.push(("nonce", c));
        let mut c = v.clone();
        c["kdf"]["t_cost"] = 2.into();
        cases.push(("cost", c));
        for (what, c) in cases {
            let p = dir.path().join(format!("t-{what}.json"));
            std::fs::write(&p, serde_json::to_string(&c).unwrap()).unwrap();
            let err = Keystore::open(&p, "correct horse").unwrap_err();
            assert!(matches!(err, KeystoreError::Unlock(_)), "{what}: {err}");
        }
        // Structural damage is a format error naming the file.
        let mut c = v.clone();
        c["extra"] = 1.into();
        let p = dir.path().join("unknown-field.json");
        std::fs::write(&p, serde_json::to_string(&c).unwrap()).unwrap();
        let err = Keystore::open(&p, "correct horse").unwrap_err();
        assert!(matches!(err, KeystoreError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("unknown-field.json"));
        let p = dir.path().join("truncated.json");
        std::fs::write(&p, &text[..text.len() / 2]).unwrap();
        assert!(matches!(
            Keystore::open(&p, "correct horse"),
            Err(KeystoreError::Malformed { .. })
        ));
        let mut c = v.clone();
        c["kdf"]["m_cost_kib"] = 8.into();
        let p = dir.path().join("weak.json");
        std::fs::write(&p, serde_json::to_string(&c).unwrap()).unwrap();
        assert!(matches!(
            Keystore::open(&p, "correct horse"),
            Err(KeystoreError::Malformed { .. })
        ));
    }
}
