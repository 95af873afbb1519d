//! Atomic file writes: a temporary file in the same folder, fsync, then rename.
//!
//! A crash at any moment leaves either the old file, or no file, or the whole new file: never
//! a torn one.

use std::{fs, io, io::Write, path::Path};

/// The suffix of the temporary files of [`write_atomic`]: a file ending with it is the torn
/// remains of a killed write, never a finished one.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `path` atomically, creating parent folders; an I/O failure is reported
/// through `err` with the path it happened on (the temporary file or `path`).
///
/// # Errors
/// What `err` makes of the first I/O failure.
pub fn write_atomic_with<E>(
    path: &Path,
    bytes: &[u8],
    err: impl Fn(&Path, std::io::Error) -> E,
) -> Result<(), E> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(err(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        err(path, e)
    })
}

/// Writes `bytes` to `path` atomically, creating parent folders.
///
/// # Errors
/// The I/O error of the step that failed (the temporary file is removed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, |_, e| e)
}
