//! `assay solvency prove`: the steps of a round in order, on the chosen backend.

use super::{
    backend::RoundBackend,
    budget,
    spool::{self, Prepared},
    workdir::{BackendFile, Config, Work, WorkDir},
    ProveOptions, Summary,
};
use crate::dispatch::{with_round_backend, RoundVisitor};
use crate::{fsutil, ProverError};
use ed25519_dalek::SigningKey;

/// `assay solvency prove`: the whole round, or one shard of its batch proofs.
///
/// # Errors
/// Bad input (naming file, line and column), I/O, or an unsatisfied statement (for example
/// liabilities above reserves). A balances file with a bad row leaves nothing in the output
/// folder; nothing is written as a round unless every check passed.
pub fn prove(opts: &ProveOptions, signer: Option<&SigningKey>) -> Result<Summary, ProverError> {
    let dir = WorkDir::new(&opts.out);
    dir.check_free(opts.resume)?;
    if let Some((index, count)) = opts.shard {
        if count == 0 || index >= count {
            return Err(ProverError::BadShard { index, count });
        }
    }
    let chosen = opts.backend.file();
    if let Some(found) = dir.read_backend()?.filter(|f| f != &chosen) {
        return Err(ProverError::BackendMismatch {
            folder: opts.out.clone(),
            found: found.describe(),
            asked: chosen.describe(),
        });
    }
    // Halo2 parameters are cached in the keys folder given to `prove`.
    let run = ProveWith {
        dir: &dir,
        opts,
        signer,
        chosen: &chosen,
    };
    with_round_backend(&opts.backend, &opts.keys, &opts.keys, run)
}

/// [`prove_as`] for the backend [`with_round_backend`] picks.
struct ProveWith<'a> {
    dir: &'a WorkDir,
    opts: &'a ProveOptions,
    signer: Option<&'a SigningKey>,
    chosen: &'a BackendFile,
}

impl RoundVisitor for ProveWith<'_> {
    type Output = Summary;
    fn visit<B: RoundBackend>(self, backend: &B) -> Result<Summary, ProverError> {
        prove_as(backend, self.dir, self.opts, self.signer, self.chosen)
    }

    #[cfg(feature = "stark")]
    fn visit_stark(self) -> Result<Summary, ProverError> {
        crate::stark::prove(self.dir, self.opts, self.signer)
    }
}

fn prove_as<B: RoundBackend>(
    backend: &B,
    dir: &WorkDir,
    opts: &ProveOptions,
    signer: Option<&SigningKey>,
    chosen: &BackendFile,
) -> Result<Summary, ProverError> {
    let config = Config::<B::F>::read(&opts.config)?;
    // The budget first: a budget below one proof is refused before any work.
    let workers = budget::workers_for(backend, &opts.budget, config.checked.shape, &config.cfg)?;
    // Step 2, first half: the CSV read once and checked whole, before anything is committed.
    let prepared = spool::read_csv(
        dir,
        &opts.balances,
        &config.cfg,
        &config.checked.reserves,
        &config.sha256,
        opts.progress,
    )?;
    // Step 1: the secret, the backend and the config of the work.
    let seed = dir.seed(true)?;
    if !dir.backend().exists() {
        fsutil::write_json(&dir.backend(), chosen)?;
    }
    fsutil::write_atomic(&dir.config(), &config.bytes)?;
    let config_sha = config.sha256.clone();
    let work = Work::new(dir.clone(), config, seed, opts.progress);
    let info = match prepared {
        Prepared::Done(info) => info,
        Prepared::Read(scratch, scan) => work.spool(scratch, scan, &config_sha)?,
    };
    let batches = (info.leaf_count / work.cfg.batch_size as u64) as usize;
    let (proven, skipped) =
        work.prove_batches(backend, &workers, batches, opts.shard.unwrap_or((0, 1)))?;
    let mut summary = Summary {
        customers: info.customers,
        leaf_count: info.leaf_count,
        batches_proven: proven,
        batches_skipped: skipped,
        aggregations_proven: 0,
        bundle: None,
        records: 0,
        budget: workers,
    };
    if opts.shard.is_none() {
        let signer = signer.ok_or(ProverError::MissingSigner)?;
        let (aggs, records) = work.publish(backend, &workers, &info, signer)?;
        summary.aggregations_proven = aggs;
        summary.records = records;
        summary.bundle = Some(dir.bundle());
    }
    Ok(summary)
}
