//! `assay solvency merge`: the batch proofs of shard folders gathered into one folder, which
//! then proves the aggregation levels and publishes the round. Every shard must be of the
//! same round (secret, config, balances) and backend.

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
/// Shards of different rounds, configs, seeds or backends; missing batch proofs; a budget
/// below one aggregation proof; I/O.
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
    }
    let backend_file: BackendFile = first_dir
        .read_backend()?
        .unwrap_or_else(|| BackendChoice::Groth16.file());
    for s in &shards[1..] {
        if WorkDir::new(s)
            .read_backend()?
            .is_some_and(|f| f != backend_file)
        {
            return Err(ProverError::ShardBackendMismatch {
                shard: s.clone(),
                first: first.clone(),
            });
        }
    }
    if !same_folder(out, first) {
        fsutil::write_json(&out_dir.backend(), &backend_file)?;
    }
    let choice = backend_file.choice(&first_dir.backend())?;
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
    for s in shards {
        if same_folder(out.out(), s) {
            continue;
        }
        let shard = WorkDir::new(s);
        for j in 0..batches {
            let src = shard.batch(j);
            if src.exists() && !work.dir.batch(j).exists() {
                fsutil::write_atomic(&work.dir.batch(j), &fsutil::read(&src)?)?;
            }
        }
    }
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
