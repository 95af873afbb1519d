//! Atomic file writes: a temporary file in the same folder, fsync, then rename.
//!
//! A crash at any moment leaves either the old file, or no file, or the whole new file: never
//! a torn one. Checkpoints rely on this: a file that exists is complete.

use crate::ProverError;
use std::{fs, io::Write, path::Path};

/// Writes `bytes` to `path` atomically, creating parent folders.
///
/// # Errors
/// [`ProverError::Io`] naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProverError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(|e| ProverError::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(|e| ProverError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| ProverError::io(&tmp, e))?;
    f.sync_all().map_err(|e| ProverError::io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| ProverError::io(path, e))?;
    Ok(())
}

/// Writes `value` as pretty JSON, atomically.
///
/// # Errors
/// [`ProverError::Io`] naming the path.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ProverError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| ProverError::io(path, std::io::Error::other(e)))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads a file whole.
///
/// # Errors
/// [`ProverError::Io`] naming the path.
pub fn read(path: &Path) -> Result<Vec<u8>, ProverError> {
    fs::read(path).map_err(|e| ProverError::io(path, e))
}
