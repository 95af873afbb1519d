//! `assay solvency prove`: the steps of a round in order, on the chosen backend.

use super::{
    backend::{Groth16Backend, RoundBackend},
    spool::{self, Prepared},
    workdir::{BackendFile, Config, Work, WorkDir},
    BackendChoice, ProveOptions, Summary,
};
use crate::{fsutil, keys::KeyCache, ProverError};
use ed25519_dalek::SigningKey;
use std::path::Path;

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
    match &opts.backend {
        BackendChoice::Groth16 => {
            let backend = Groth16Backend::new(KeyCache::new(&opts.keys));
            prove_as(&backend, &dir, opts, signer, &chosen)
        }
        BackendChoice::Halo2 { layout } => {
            let backend = halo2_backend(layout, &opts.keys)?;
            prove_as(&backend, &dir, opts, signer, &chosen)
        }
    }
}

/// The Halo2 backend in the named layout, parameters cached in `keys`.
#[cfg(feature = "halo2")]
pub(super) fn halo2_backend(
    layout: &str,
    keys: &Path,
) -> Result<super::backend::Halo2Backend, ProverError> {
    let l = assay_circuits::solvency::halo2::Layout::parse(layout)
        .ok_or_else(|| ProverError::UnknownLayout(layout.to_string()))?;
    Ok(super::backend::Halo2Backend::new(
        l,
        crate::halo2::ParamsCache::new(keys),
    ))
}

#[cfg(not(feature = "halo2"))]
pub(super) fn halo2_backend(_layout: &str, _keys: &Path) -> Result<Groth16Backend, ProverError> {
    Err(ProverError::BackendUnavailable("halo2"))
}

fn prove_as<B: RoundBackend>(
    backend: &B,
    dir: &WorkDir,
    opts: &ProveOptions,
    signer: Option<&SigningKey>,
    chosen: &BackendFile,
) -> Result<Summary, ProverError> {
    let config = Config::<B::F>::read(&opts.config)?;
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
    let (proven, skipped) = work.prove_batches(backend, batches, opts.shard.unwrap_or((0, 1)))?;
    let mut summary = Summary {
        customers: info.customers,
        leaf_count: info.leaf_count,
        batches_proven: proven,
        batches_skipped: skipped,
        aggregations_proven: 0,
        bundle: None,
        records: 0,
    };
    if opts.shard.is_none() {
        let signer = signer.ok_or(ProverError::MissingSigner)?;
        let (aggs, records) = work.publish(backend, &info, signer)?;
        summary.aggregations_proven = aggs;
        summary.records = records;
        summary.bundle = Some(dir.bundle());
    }
    Ok(summary)
}
