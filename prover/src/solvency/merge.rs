//! `assay solvency merge`: the batch proofs of shard folders gathered into one folder, which
//! then proves the aggregation levels and publishes the round. Every shard must be of the
//! same backend and round (secret, config, balances), and every batch proof in exactly one
//! shard. The checks and the gathering are shared by every backend; the STARK's own pipeline
//! is reached through the same dispatch (`crate::stark::merge`).

use super::{
    backend::RoundBackend,
    budget::{self, Budget},
    workdir::{read_json, same_folder, BackendFile, SpoolInfo, Work, WorkDir},
    BackendChoice, Summary,
};
use crate::dispatch::{with_round_backend, RoundVisitor};
use crate::{fsutil, ProverError};
use ed25519_dalek::SigningKey;
use std::{
    fs,
    path::{Path, PathBuf},
};

/// `assay solvency merge`: gathers the batch proofs of shard folders into `out`, proves the
/// aggregation levels (at most the `budget`'s jobs in flight) and writes the round.
///
/// # Errors
/// Shards of different rounds, configs, seeds or backends; a batch proof in no shard or in
/// two; a round already published in `out`; a budget below one aggregation proof; I/O.
pub fn merge(
    out: &Path,
    shards: &[PathBuf],
    keys: &Path,
    params: &Path,
    signer: &SigningKey,
    budget: &Budget,
    progress: bool,
) -> Result<Summary, ProverError> {
    let first = shards.first().ok_or(ProverError::NoShards)?;
    let (first_dir, out_dir) = (WorkDir::new(first), WorkDir::new(out));
    // The backend first, so that shards of two proof systems are refused by that name (their
    // spools differ too: a STARK batch holds one user fewer). A shard with no work yet names
    // none; its missing inputs are reported below.
    let mut backend: Option<(BackendFile, &PathBuf)> = None;
    for s in shards {
        let Some(found) = WorkDir::new(s).read_backend()? else {
            continue;
        };
        match &backend {
            Some((b, with)) if *b != found => {
                return Err(ProverError::ShardBackendMismatch {
                    shard: s.clone(),
                    first: (*with).clone(),
                })
            }
            Some(_) => {}
            None => backend = Some((found, s)),
        }
    }
    let (backend_file, backend_path) = match backend {
        Some((f, s)) => (f, WorkDir::new(s).backend()),
        None => (BackendChoice::Groth16.file(), first_dir.backend()),
    };
    let same_inputs = |d: &WorkDir| -> Result<[Vec<u8>; 3], ProverError> {
        Ok([
            fsutil::read(&d.secret())?,
            fsutil::read(&d.config())?,
            fsutil::read(&d.spool_info())?,
        ])
    };
    let inputs = same_inputs(&first_dir)?;
    for s in &shards[1..] {
        if same_inputs(&WorkDir::new(s))? != inputs {
            return Err(ProverError::ShardMismatch {
                shard: s.clone(),
                first: first.clone(),
            });
        }
    }
    if out_dir.bundle().exists() {
        return Err(ProverError::RoundExists {
            folder: out.to_path_buf(),
        });
    }
    let [secret, cfg, spool] = &inputs;
    if !same_folder(out, first) {
        fsutil::write_atomic(&out_dir.secret(), secret)?;
        fsutil::write_atomic(&out_dir.config(), cfg)?;
        fsutil::write_atomic(&out_dir.spool_info(), spool)?;
        let (src, dst) = (first_dir.spool(), out_dir.spool());
        fs::copy(&src, &dst).map_err(|e| ProverError::io(&src, e))?;
        fsutil::write_json(&out_dir.backend(), &backend_file)?;
    }
    let choice = backend_file.choice(&backend_path)?;
    let run = MergeWith {
        out: &out_dir,
        shards,
        signer,
        budget,
        progress,
    };
    with_round_backend(&choice, keys, params, run)
}

/// [`merge_as`] for the backend [`with_round_backend`] picks.
struct MergeWith<'a> {
    out: &'a WorkDir,
    shards: &'a [PathBuf],
    signer: &'a SigningKey,
    budget: &'a Budget,
    progress: bool,
}

impl RoundVisitor for MergeWith<'_> {
    type Output = Summary;
    fn visit<B: RoundBackend>(self, backend: &B) -> Result<Summary, ProverError> {
        merge_as(
            backend,
            self.out,
            self.shards,
            self.signer,
            self.budget,
            self.progress,
        )
    }

    #[cfg(feature = "stark")]
    fn visit_stark(self) -> Result<Summary, ProverError> {
        crate::stark::merge(
            self.out,
            self.shards,
            self.signer,
            self.budget,
            self.progress,
        )
    }
}

fn merge_as<B: RoundBackend>(
    backend: &B,
    out: &WorkDir,
    shards: &[PathBuf],
    signer: &SigningKey,
    budget: &Budget,
    progress: bool,
) -> Result<Summary, ProverError> {
    let work = Work::<B::F>::open(out.out(), &out.config(), progress)?;
    let workers = budget::workers_for(backend, budget, work.shape, &work.cfg)?;
    let info: SpoolInfo = read_json(&out.spool_info())?;
    let batches = (info.leaf_count / work.cfg.batch_size as u64) as usize;
    gather_batches(out, shards, batches, |_, _, _| Ok(()))?;
    let (aggs, records) = work.publish(backend, &workers, &info, signer)?;
    Ok(Summary {
        customers: info.customers,
        leaf_count: info.leaf_count,
        batches_proven: 0,
        batches_skipped: batches,
        aggregations_proven: aggs,
        bundle: Some(out.bundle()),
        records,
        budget: workers,
    })
}

/// Copies into `out` every batch checkpoint `0..batches` it lacks from the one shard that
/// holds it, after `copy_files(shard, j, checkpoint)` copied the files the checkpoint names
/// (none for Groth16 and Halo2; the STARK's proof and leaves files), so that a checkpoint in
/// `out` never precedes its files and a killed merge can run again. `out` may be one of the
/// shards.
///
/// # Errors
/// A batch proof in two shards ([`ProverError::ShardOverlap`]: the same shard twice, or
/// shards of different splits), a batch proof in none ([`ProverError::MissingWork`], naming
/// the batch), `copy_files`' errors, I/O.
pub(crate) fn gather_batches(
    out: &WorkDir,
    shards: &[PathBuf],
    batches: usize,
    copy_files: impl Fn(&WorkDir, usize, &[u8]) -> Result<(), ProverError>,
) -> Result<(), ProverError> {
    for j in 0..batches {
        let mut holders = shards.iter().filter(|s| WorkDir::new(s).batch(j).exists());
        let holder = holders.next();
        if let (Some(first), Some(second)) = (holder, holders.next()) {
            return Err(ProverError::ShardOverlap {
                batch: j,
                first: first.clone(),
                second: second.clone(),
            });
        }
        let dst = out.batch(j);
        if dst.exists() {
            continue;
        }
        let Some(holder) = holder else {
            return Err(ProverError::MissingWork {
                path: dst,
                what: format!(
                    "batch proof {j}: prove every shard first (it is in none of the {} shard folders: a shard that did not run or did not finish; run it again with --resume)",
                    shards.len()
                ),
            });
        };
        let shard = WorkDir::new(holder);
        let bytes = fsutil::read(&shard.batch(j))?;
        copy_files(&shard, j, &bytes)?;
        fsutil::write_atomic(&dst, &bytes)?;
    }
    Ok(())
}
