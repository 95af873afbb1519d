//! The KYC roles that hold state or secrets (DESIGN §2): the issuer (registry, epochs) and the
//! holder (secret, proof). Verification itself lives in `assay_verifier::kyc`, the relying
//! party's challenge store in `assay-rp`.
//!
//! * [`issuer`]: the issuer's directory: encrypted signing key, SQLite registry, epochs.
//! * [`holder`]: the holder's secret and the proof.
//! * [`keys`]: the Groth16 keys of the KYC circuit.
//! * [`halo2`] (feature `halo2`): the KYC circuit on Halo2: cached parameters and proving.

#[cfg(feature = "halo2")]
pub mod halo2;
pub mod holder;
pub mod issuer;
pub mod keys;

use assay_verifier::Backend;
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};

/// The backends this build issues credentials and proves for (Halo2 with the `halo2`
/// feature, the STARK with the `stark` feature), in [`Backend::ALL`]'s order.
pub fn backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|b| cfg!(feature = "halo2") || *b != Backend::Halo2)
        .filter(|b| cfg!(feature = "stark") || *b != Backend::Stark)
        .collect()
}

/// The error for a backend this build does not compile.
pub(crate) fn unsupported(backend: Backend) -> KycError {
    KycError::Input(format!("backend {backend} is not supported by this build"))
}

/// Why a KYC operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KycError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A document is malformed.
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: assay_verifier::kyc::formats::FormatError,
    },
    /// An input value is refused (unknown code, expiry in the past, inconsistent files).
    #[error("{0}")]
    Input(String),
    /// The keystore refused (wrong passphrase, tampered file).
    #[error(transparent)]
    Keystore(#[from] crate::keystore::KeystoreError),
    /// The registry database failed.
    #[error("registry database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The holder's jurisdiction is restricted by the policy, or the credential expired.
    #[error("cannot prove: {0}")]
    Statement(String),
    /// Key generation or proving failed.
    #[error("proving: {0}")]
    Proving(String),
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
}

impl KycError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads and parses a versioned KYC document.
///
/// # Errors
/// [`KycError::Io`] or [`KycError::Format`] naming the file.
pub fn read_doc<T>(path: &Path, what: &'static str) -> Result<T, KycError>
where
    T: DeserializeOwned + assay_verifier::kyc::formats::Versioned,
{
    let text = std::fs::read_to_string(path).map_err(|e| KycError::io(path, e))?;
    assay_verifier::kyc::formats::from_json(what, &text).map_err(|source| KycError::Format {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a document as pretty JSON (atomically: a temporary file renamed into place).
///
/// # Errors
/// [`KycError::Io`].
pub fn write_doc<T: Serialize>(path: &Path, doc: &T) -> Result<(), KycError> {
    let mut text = serde_json::to_string_pretty(doc).map_err(|e| KycError::Input(e.to_string()))?;
    text.push('\n');
    write_file(path, text.as_bytes())
}

/// Writes bytes atomically (temporary file, fsync, rename).
///
/// # Errors
/// [`KycError::Io`].
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), KycError> {
    crate::fsutil::write_atomic_with(path, bytes, KycError::io)
}

/// Writes a secret document to a new file readable by its owner only.
///
/// # Errors
/// [`KycError::Io`], or [`KycError::Input`] if the file exists.
pub fn write_private_doc<T: Serialize>(path: &Path, doc: &T) -> Result<(), KycError> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(doc).map_err(|e| KycError::Input(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KycError::Input(format!(
                "{}: exists already; refusing to overwrite a secret",
                path.display()
            ))
        } else {
            KycError::io(path, e)
        }
    })?;
    f.write_all(text.as_bytes())
        .map_err(|e| KycError::io(path, e))?;
    f.write_all(b"\n").map_err(|e| KycError::io(path, e))?;
    f.sync_all().map_err(|e| KycError::io(path, e))
}

/// The current Unix time in seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests;
