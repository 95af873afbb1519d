//! Atomic file writes: a temporary file in the same folder, fsync, then rename.
//!
//! A crash at any moment leaves either the old file, or no file, or the whole new file: never
//! a torn one.

use std::{fs, io, io::Write, path::Path};

/// Writes `bytes` to `path` atomically, creating parent folders.
///
/// # Errors
/// The I/O error of the step that failed (the temporary file is left behind only if the
/// rename fails).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)
}
