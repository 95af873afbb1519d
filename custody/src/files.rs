//! Small file helpers: JSON in and out, never overwriting, private modes, atomic appearance.

use crate::CustodyError;
use serde::{de::DeserializeOwned, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CustodyError + '_ {
    move |source| CustodyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn malformed(
    path: &Path,
    what: &'static str,
    reason: impl Into<String>,
) -> CustodyError {
    CustodyError::Malformed {
        path: path.to_path_buf(),
        what,
        reason: reason.into(),
    }
}

/// Reads and parses a JSON file; errors name the file, and the line and column.
pub(crate) fn read_json<T: DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, CustodyError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|e| malformed(path, what, e.to_string()))
}

/// Decodes hex of exactly `N` bytes.
pub(crate) fn hex_exact<const N: usize>(
    s: &str,
    path: &Path,
    what: &'static str,
    field: &str,
) -> Result<[u8; N], CustodyError> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| malformed(path, what, format!("{field}: expected hex of {N} bytes")))
}

/// Decodes hex of any length.
pub(crate) fn hex_vec(
    s: &str,
    path: &Path,
    what: &'static str,
    field: &str,
) -> Result<Vec<u8>, CustodyError> {
    hex::decode(s).map_err(|_| malformed(path, what, format!("{field}: not hex")))
}

fn temp_beside(path: &Path) -> PathBuf {
    let mut b = [0u8; 8];
    // A collision only makes the write fail (create_new); the name need not be secret.
    let _ = getrandom_fill(&mut b);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", hex::encode(b)))
}

fn getrandom_fill(b: &mut [u8]) -> Result<(), CustodyError> {
    use rand::RngCore;
    rand::rngs::OsRng
        .try_fill_bytes(b)
        .map_err(|e| CustodyError::Random(e.to_string()))
}

fn write_temp(path: &Path, bytes: &[u8], private: bool) -> Result<PathBuf, CustodyError> {
    let tmp = temp_beside(path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    let r = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    Ok(tmp)
}

/// Writes `bytes` to `path`, which must not exist; the file appears whole or not at all
/// (written beside, synced, then hard-linked into place). `private` makes it mode 0600.
pub(crate) fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), CustodyError> {
    if path.exists() {
        return Err(CustodyError::Exists(path.to_path_buf()));
    }
    let tmp = write_temp(path, bytes, private)?;
    let r = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(CustodyError::Exists(path.to_path_buf()))
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes `bytes` to `path`, replacing it atomically if it exists (mode 0600).
pub(crate) fn replace_private(path: &Path, bytes: &[u8]) -> Result<(), CustodyError> {
    let tmp = write_temp(path, bytes, true)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path)(e)
    })
}

/// Pretty JSON of `value` (our own types always serialize).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CustodyError> {
    serde_json::to_vec_pretty(value)
        .map_err(|e| CustodyError::Parameters(format!("serializing: {e}")))
}

/// Writes `value` as JSON to a new file.
pub(crate) fn write_new_json<T: Serialize>(
    path: &Path,
    value: &T,
    private: bool,
) -> Result<(), CustodyError> {
    write_new(path, &to_json(value)?, private)
}

/// Random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], CustodyError> {
    let mut b = [0u8; N];
    getrandom_fill(&mut b)?;
    Ok(b)
}

/// SHA-256 of the parts, each length-prefixed (so that no two lists hash alike).
pub(crate) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}
