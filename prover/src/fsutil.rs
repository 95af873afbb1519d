//! Atomic file writes: a temporary file in the same folder, fsync, then rename.
//!
//! A crash at any moment leaves either the old file, or no file, or the whole new file: never
//! a torn one. Checkpoints rely on this: a file that exists is complete. The routine is the
//! verifier's ([`assay_verifier::fsutil`], which also writes the public parameter cache);
//! [`write_atomic_with`] lets another error type (the KYC side's) use it.

use crate::ProverError;
use std::{fs, path::Path};

pub use assay_verifier::fsutil::{write_atomic_with, TEMP_SUFFIX};

/// Writes `bytes` to `path` atomically, creating parent folders.
///
/// # Errors
/// [`ProverError::Io`] naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProverError> {
    write_atomic_with(path, bytes, |p, e| ProverError::io(p, e))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.json")]);
    }

    #[test]
    fn a_failed_write_names_the_path_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should go: the rename fails.
        let p = dir.path().join("x");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("inside"), b"kept").unwrap();
        let e = write_atomic(&p, b"new").unwrap_err();
        assert!(
            matches!(&e, ProverError::Io { path, .. } if path == &p),
            "{e}"
        );
        assert_eq!(fs::read(p.join("inside")).unwrap(), b"kept");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary file left"
        );
    }
}
