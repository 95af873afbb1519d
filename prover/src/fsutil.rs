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

/// Writes `value` as pretty JSON atomically (a temporary file renamed over `path`) **without**
/// forcing it to disk: for the many small files of one step (the inclusion records), made
/// durable together by [`sync_folder`] before anything records the step as done. A killed
/// process still leaves each file whole or absent (the rename is atomic and the page cache
/// outlives the process); only a power loss before [`sync_folder`] can lose them, and then the
/// step, not yet marked done, is run again.
///
/// # Errors
/// [`ProverError::Io`] naming the path.
pub fn write_json_unsynced<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ProverError> {
    use std::io::Write;
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| ProverError::io(path, std::io::Error::other(e)))?;
    bytes.push(b'\n');
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(&bytes));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(ProverError::io(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ProverError::io(path, e)
    })
}

/// Forces to disk what was written in the folder `dir` by [`write_json_unsynced`]: one
/// `syncfs(2)` of its file system on Linux (one journal commit instead of one per file), an
/// `fsync` of every file in it elsewhere; then the folder itself.
///
/// # Errors
/// [`ProverError::Io`] naming the folder or file.
pub fn sync_folder(dir: &Path) -> Result<(), ProverError> {
    let folder = fs::File::open(dir).map_err(|e| ProverError::io(dir, e))?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(&folder).map_err(|e| ProverError::io(dir, e.into()))?;
    #[cfg(not(target_os = "linux"))]
    for e in fs::read_dir(dir).map_err(|e| ProverError::io(dir, e))? {
        let p = e.map_err(|e| ProverError::io(dir, e))?.path();
        if p.is_file() {
            fs::File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(|e| ProverError::io(&p, e))?;
        }
    }
    folder.sync_all().map_err(|e| ProverError::io(dir, e))
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
