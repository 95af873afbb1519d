//! The work folder of a round: where each step leaves its files, the files that tie the work
//! to its inputs (round secret, backend, spool info), the checkpoints, and the checks a
//! resumed, sharded or merged run makes before it adds to earlier work.
//!
//! ```text
//! OUT/round.json                       the bundle (written last)
//! OUT/inclusion/<hash>.json            one record per customer
//! OUT/proofs/<sha256>.bin             the STARK's proof and leaves files (named by hash)
//! OUT/private/round-secret.json        the seed of every salt, blind and the leaf order
//! OUT/private/backend.json             the proof system the work was started with
//! OUT/private/config.json              a copy of the round config
//! OUT/private/work/spool.json          which CSV and config the spool was made from
//! OUT/private/work/leaves.bin          the spool (deleted once the round is written)
//! OUT/private/work/rows.scratch        the CSV's rows in file order, until validated
//! OUT/private/work/batches/…           batch checkpoints
//! OUT/private/work/aggregations/…      aggregation checkpoints
//! ```

use super::BackendChoice;
use crate::{fsutil, ProverError};
use assay_circuits::{solvency::Shape, StatementField};
use assay_verifier::solvency::{
    CheckedConfig, ProofEntry, RoundConfig, BACKEND_GROTH16, BACKEND_HALO2, BACKEND_STARK,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
};

/// The paths of one output folder.
#[derive(Debug, Clone)]
pub(crate) struct WorkDir {
    out: PathBuf,
}

impl WorkDir {
    pub(crate) fn new(out: &Path) -> Self {
        Self {
            out: out.to_path_buf(),
        }
    }
    pub(crate) fn out(&self) -> &Path {
        &self.out
    }
    pub(crate) fn private(&self) -> PathBuf {
        self.out.join("private")
    }
    pub(crate) fn work(&self) -> PathBuf {
        self.private().join("work")
    }
    pub(crate) fn secret(&self) -> PathBuf {
        self.private().join("round-secret.json")
    }
    pub(crate) fn backend(&self) -> PathBuf {
        self.private().join("backend.json")
    }
    pub(crate) fn config(&self) -> PathBuf {
        self.private().join("config.json")
    }
    pub(crate) fn spool(&self) -> PathBuf {
        self.work().join("leaves.bin")
    }
    pub(crate) fn spool_info(&self) -> PathBuf {
        self.work().join("spool.json")
    }
    pub(crate) fn scratch(&self) -> PathBuf {
        self.work().join("rows.scratch")
    }
    pub(crate) fn batches(&self) -> PathBuf {
        self.work().join("batches")
    }
    pub(crate) fn batch(&self, j: usize) -> PathBuf {
        self.batches().join(format!("batch-{j:08}.json"))
    }
    pub(crate) fn aggregation(&self, level: usize, i: usize) -> PathBuf {
        self.work()
            .join("aggregations")
            .join(format!("agg-{level:02}-{i:08}.json"))
    }
    pub(crate) fn bundle(&self) -> PathBuf {
        self.out.join("round.json")
    }
    pub(crate) fn inclusion(&self) -> PathBuf {
        self.out.join("inclusion")
    }

    /// Refuses a folder that holds a finished round, or work that `resume` does not ask to
    /// continue.
    pub(crate) fn check_free(&self, resume: bool) -> Result<(), ProverError> {
        if self.secret().exists() && !resume {
            return Err(ProverError::WorkExists {
                folder: self.out.clone(),
            });
        }
        if self.bundle().exists() {
            return Err(ProverError::RoundExists {
                folder: self.out.clone(),
            });
        }
        Ok(())
    }

    /// The round seed: read from `private/round-secret.json`, or drawn and written there if
    /// the file is absent and `create`.
    pub(crate) fn seed(&self, create: bool) -> Result<[u8; 32], ProverError> {
        let path = self.secret();
        if path.exists() {
            let s: Secret = read_json(&path)?;
            return hex::decode(&s.seed)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| ProverError::Corrupt {
                    file: path,
                    message: "bad seed".into(),
                });
        }
        if !create {
            return Err(ProverError::MissingWork {
                path,
                what: "the round secret (is this a round's work folder?)".into(),
            });
        }
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        fsutil::write_json(
            &path,
            &Secret {
                version: 1,
                seed: hex::encode(seed),
            },
        )?;
        Ok(seed)
    }

    /// The backend this folder's work was started with: `private/backend.json`, or Groth16
    /// for work of builds before that file existed (batch checkpoints but no file); `None`
    /// for no work.
    pub(crate) fn read_backend(&self) -> Result<Option<BackendFile>, ProverError> {
        let path = self.backend();
        if path.exists() {
            return read_json(&path).map(Some);
        }
        let any = fs::read_dir(self.batches()).is_ok_and(|mut d| d.next().is_some());
        Ok(any.then(|| BackendChoice::Groth16.file()))
    }
}

/// Deletes the torn temporary files a killed run left in `dir`: a checkpoint exists only once
/// renamed into place.
pub(crate) fn remove_torn_files(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name()
                .to_string_lossy()
                .ends_with(fsutil::TEMP_SUFFIX)
            {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Whether two paths name the same existing folder.
pub(crate) fn same_folder(a: &Path, b: &Path) -> bool {
    fs::canonicalize(a)
        .ok()
        .zip(fs::canonicalize(b).ok())
        .is_some_and(|(x, y)| x == y)
}

impl BackendChoice {
    pub(crate) fn file(&self) -> BackendFile {
        match self {
            BackendChoice::Groth16 => BackendFile {
                version: 1,
                backend: BACKEND_GROTH16.into(),
                layout: None,
            },
            BackendChoice::Halo2 { layout } => BackendFile {
                version: 1,
                backend: BACKEND_HALO2.into(),
                layout: Some(layout.clone()),
            },
            BackendChoice::Stark => BackendFile {
                version: 1,
                backend: BACKEND_STARK.into(),
                layout: None,
            },
        }
    }
}

/// `private/backend.json`: the proof system a round's work was started with, so that a
/// resumed run or a merge cannot mix proofs of two backends.
#[derive(Serialize, Deserialize, PartialEq, Eq, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackendFile {
    version: u32,
    backend: String,
    #[serde(default)]
    layout: Option<String>,
}

impl BackendFile {
    /// The backend this file names; `file` is where it was read from.
    pub(crate) fn choice(&self, file: &Path) -> Result<BackendChoice, ProverError> {
        match (self.backend.as_str(), &self.layout) {
            (BACKEND_GROTH16, None) => Ok(BackendChoice::Groth16),
            (BACKEND_HALO2, Some(l)) => Ok(BackendChoice::Halo2 { layout: l.clone() }),
            (BACKEND_STARK, None) => Ok(BackendChoice::Stark),
            _ => Err(ProverError::UnknownBackend {
                file: file.to_path_buf(),
                backend: self.backend.clone(),
                layout: self.layout.clone(),
            }),
        }
    }

    /// `backend (layout …)`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("{} (layout {:?})", self.backend, self.layout)
    }
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Secret {
    version: u32,
    /// 32 random bytes, hex: every salt, blind and the order of leaves derive from it.
    seed: String,
}

/// `private/work/spool.json`: the spool is complete, and was made from these inputs.
#[derive(Serialize, Deserialize, PartialEq, Eq, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpoolInfo {
    pub(crate) version: u32,
    pub(crate) balances_sha256: String,
    pub(crate) config_sha256: String,
    pub(crate) customers: u64,
    pub(crate) leaf_count: u64,
}

/// A finished proof with what its parent needs to open it (private: sums and blind).
#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct Checkpoint {
    pub(crate) version: u32,
    pub(crate) index: usize,
    pub(crate) entry: ProofEntry,
    pub(crate) verifying_key: String,
    pub(crate) sums: Vec<String>,
    pub(crate) blind: String,
    /// [`checkpoint_tag`] of the round secret the proof was made with and of the file's name;
    /// absent in checkpoints written before 2026-12-02 (read as before, unchecked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seed_tag: Option<String>,
}

/// The tag binding a checkpoint to the round secret its proof was made with (the salts and
/// blinds of its leaves and sums) and to the name it is kept under (`batch-00000003`): a
/// checkpoint copied from a shard or work folder of another secret, or renamed, would otherwise
/// be taken (its proof verifies; only its customers' records would not, or its parent's
/// opening would be of another child).
pub(crate) fn checkpoint_tag(seed: &[u8; 32], path: &Path) -> String {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(b"assay/checkpoint/v1");
    h.update(seed);
    h.update(name.as_bytes());
    hex::encode(h.finalize())
}

/// A round's work: its folder, its config over the backend's field, and its seed.
pub(crate) struct Work<F: StatementField> {
    pub(crate) dir: WorkDir,
    pub(crate) cfg: RoundConfig,
    pub(crate) shape: Shape,
    pub(crate) round: F,
    pub(crate) reserves: Vec<u128>,
    pub(crate) previous: F,
    pub(crate) seed: [u8; 32],
    pub(crate) progress: bool,
}

impl<F: StatementField> Work<F> {
    pub(crate) fn new(dir: WorkDir, config: Config<F>, seed: [u8; 32], progress: bool) -> Self {
        Self {
            dir,
            shape: config.checked.shape,
            round: config.checked.round,
            reserves: config.checked.reserves,
            previous: config.checked.previous,
            cfg: config.cfg,
            seed,
            progress,
        }
    }

    /// The work in `out` with the config at `config_path`; the seed must exist already.
    pub(crate) fn open(
        out: &Path,
        config_path: &Path,
        progress: bool,
    ) -> Result<Self, ProverError> {
        let dir = WorkDir::new(out);
        let config = Config::read(config_path)?;
        let seed = dir.seed(false)?;
        Ok(Self::new(dir, config, seed, progress))
    }
}

/// A round config, read and checked, with its SHA-256.
pub(crate) struct Config<F: StatementField> {
    pub(crate) cfg: RoundConfig,
    pub(crate) checked: CheckedConfig<F>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) sha256: String,
}

impl<F: StatementField> Config<F> {
    pub(crate) fn read(path: &Path) -> Result<Self, ProverError> {
        let bytes = fsutil::read(path)?;
        let cfg = RoundConfig::parse(&bytes, "round config").map_err(|e| format_err(path, e))?;
        let checked = CheckedConfig::convert::<F>(&cfg).map_err(|e| format_err(path, e))?;
        Ok(Self {
            sha256: hex::encode(Sha256::digest(&bytes)),
            cfg,
            checked,
            bytes,
        })
    }
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, ProverError> {
    let mut f = fs::File::open(path).map_err(|e| ProverError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| ProverError::io(path, e))?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

pub(crate) fn format_err(file: &Path, source: assay_verifier::FormatError) -> ProverError {
    ProverError::Format {
        file: file.display().to_string(),
        source,
    }
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ProverError> {
    serde_json::from_slice(&fsutil::read(path)?).map_err(|e| {
        format_err(
            path,
            assay_verifier::FormatError::Json {
                what: "file".into(),
                message: e.to_string(),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_with_work_or_a_round_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let w = WorkDir::new(d.path());
        w.check_free(false).unwrap();
        let seed = w.seed(true).unwrap();
        assert_eq!(w.seed(false).unwrap(), seed, "the seed is read back");
        assert!(matches!(
            w.check_free(false),
            Err(ProverError::WorkExists { .. })
        ));
        w.check_free(true).unwrap();
        fs::write(w.bundle(), b"{}").unwrap();
        let e = w.check_free(true).unwrap_err();
        assert!(matches!(e, ProverError::RoundExists { .. }), "{e}");
        assert!(e.to_string().contains("already holds a finished round"));
    }

    #[test]
    fn damaged_or_missing_work_files_say_so() {
        let d = tempfile::tempdir().unwrap();
        let w = WorkDir::new(d.path());
        assert!(matches!(
            w.seed(false),
            Err(ProverError::MissingWork { .. })
        ));
        fsutil::write_atomic(&w.secret(), br#"{"version":1,"seed":"00"}"#).unwrap();
        let e = w.seed(false).unwrap_err();
        assert!(
            matches!(&e, ProverError::Corrupt { file, .. } if file == &w.secret()),
            "{e}"
        );
        fsutil::write_atomic(
            &w.backend(),
            br#"{"version":1,"backend":"stark","layout":null}"#,
        )
        .unwrap();
        let f = w.read_backend().unwrap().unwrap();
        let e = f.choice(&w.backend()).unwrap_err();
        assert!(matches!(e, ProverError::UnknownBackend { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("backend.json: unknown backend \"stark\""),
            "{e}"
        );
    }

    #[test]
    fn torn_temporary_files_are_removed_and_checkpoints_kept() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(".batch-00000001.json.77.tmp"), b"{").unwrap();
        fs::write(d.path().join("batch-00000000.json"), b"{}").unwrap();
        remove_torn_files(d.path());
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["batch-00000000.json".to_string()]);
    }
}
