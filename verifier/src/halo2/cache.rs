//! IPA parameters cached on disk, for both statements (one `--params-dir`).

use super::{params, read_params, write_params, Halo2Error, Halo2Params, ParamsSource, K_RANGE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// IPA parameters cached on disk: `<dir>/halo2-params-k<k>.bin`, written atomically.
///
/// Parameters are public and deterministic ([`params`]); the cache only saves time
/// (`Params::new(16)` takes minutes on two cores). A missing file is generated and written; a
/// file that does not parse, or is for another `k`, is regenerated and replaced. A corrupt
/// cache cannot make a bad proof verify: it can only give parameters that derive other keys,
/// which the proofs' key hashes then fail to name. One process keeps what it loaded in memory.
#[derive(Debug)]
pub struct ParamsCache {
    dir: PathBuf,
    loaded: Mutex<BTreeMap<u32, Halo2Params>>,
    best_effort: bool,
}

impl ParamsCache {
    /// A cache over `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            loaded: Mutex::new(BTreeMap::new()),
            best_effort: false,
        }
    }

    /// The same cache, except that a folder that cannot be written is not an error: the
    /// parameters are then generated in memory each run (a verifier's choice; they are the
    /// same deterministic parameters).
    pub fn best_effort(mut self) -> Self {
        self.best_effort = true;
        self
    }

    /// The default folder: `$ASSAY_PARAMS_DIR`, else `$XDG_CACHE_HOME/assay/halo2-params`,
    /// else `~/.cache/assay/halo2-params`, else `.assay-params` in the working folder.
    pub fn default_dir() -> PathBuf {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        env("ASSAY_PARAMS_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|c| c.join("assay").join("halo2-params")))
            .or_else(|| env("HOME").map(|h| h.join(".cache").join("assay").join("halo2-params")))
            .unwrap_or_else(|| PathBuf::from(".assay-params"))
    }

    /// A cache over `dir`, or over [`Self::default_dir`] when `None` (`--params-dir`).
    pub fn at(dir: Option<PathBuf>) -> Self {
        Self::new(dir.unwrap_or_else(Self::default_dir))
    }

    /// The cache's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `k`'s parameters.
    pub fn path(&self, k: u32) -> PathBuf {
        self.dir.join(format!("halo2-params-k{k}.bin"))
    }

    fn load_or_make(&self, k: u32) -> Result<Halo2Params, Halo2Error> {
        let path = self.path(k);
        // The file starts with its `k` (u32, little-endian): checked before parsing, since
        // `Params::read` of a garbled `k` overflows instead of failing.
        let file_k = |b: &[u8]| {
            b.get(..4)
                .map(|h| u32::from_le_bytes([h[0], h[1], h[2], h[3]]))
        };
        if let Some(bytes) = std::fs::read(&path).ok().filter(|b| file_k(b) == Some(k)) {
            if let Ok(p) = read_params(&mut bytes.as_slice()) {
                if p.k() == k {
                    return Ok(p);
                }
            }
        }
        let p = params(k)?;
        let mut bytes = Vec::new();
        write_params(&p, &mut bytes)?;
        match crate::fsutil::write_atomic(&path, &bytes) {
            Err(_) if self.best_effort => Ok(p),
            Err(e) => Err(Halo2Error::Io(format!("{}: {e}", path.display()))),
            Ok(()) => Ok(p),
        }
    }
}

impl ParamsSource for ParamsCache {
    fn params(&self, k: u32) -> Result<Halo2Params, Halo2Error> {
        if !K_RANGE.contains(&k) {
            return Err(Halo2Error::BadK(k));
        }
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| Halo2Error::Io("parameter cache lock poisoned".into()))?;
        if let Some(p) = loaded.get(&k) {
            return Ok(p.clone());
        }
        let p = self.load_or_make(k)?;
        loaded.insert(k, p.clone());
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_or_foreign_file_is_replaced_and_a_good_one_read_back() {
        let dir = std::env::temp_dir().join(format!("assay-params-{}", std::process::id()));
        let c = ParamsCache::new(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(c.path(4), b"not parameters").unwrap();
        assert_eq!(c.params(4).unwrap().k(), 4);
        let bytes = std::fs::read(c.path(4)).unwrap();
        assert_ne!(bytes, b"not parameters");
        // Parameters of k = 5 under k = 4's name are regenerated, not used.
        let mut five = Vec::new();
        write_params(&params(5).unwrap(), &mut five).unwrap();
        std::fs::write(c.path(4), &five).unwrap();
        assert_eq!(ParamsCache::new(&dir).params(4).unwrap().k(), 4);
        assert!(matches!(c.params(30), Err(Halo2Error::BadK(30))));
        // A folder that cannot be written: an error, unless best effort.
        let file = dir.join("a-file");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            ParamsCache::new(file.join("sub")).params(4),
            Err(Halo2Error::Io(_))
        ));
        assert_eq!(
            ParamsCache::new(file.join("sub"))
                .best_effort()
                .params(4)
                .unwrap()
                .k(),
            4
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
