//! A solvency round on the STARK (Plonky3 over KoalaBear, Poseidon2, hiding FRI): the pipeline
//! of `assay solvency prove --backend stark`, its shards and `assay solvency merge`.
//!
//! It reuses what does not depend on the proof system: the work folder and its checks
//! (`private/round-secret.json`, `backend.json`, `config.json`), the CSV read once and checked
//! whole (liabilities within reserves), the random order of leaves from the round seed, the
//! spool, the memory budget with [`run_bounded`](crate::solvency::budget) and atomic
//! checkpoints: a batch or aggregation proof whose checkpoint exists is never proven again
//! (`--resume`). It is reached through the one dispatch of the other backends
//! ([`crate::dispatch::with_round_backend`], whose STARK arm calls
//! [`RoundVisitor::visit_stark`](crate::dispatch::RoundVisitor::visit_stark)). What differs:
//! * a batch proves `batch_size - 1` users (the batch AIR's last row holds the sum commitment),
//!   so a round has `ceil(customers / (batch_size - 1))` batches, the last padded with
//!   zero-balance users whose salts are as random as anyone's;
//! * the aggregation levels take `fan_in` children each (at most 511), the last of a level the
//!   rest: no padding proofs;
//! * proofs are written to `OUT/proofs/<sha256>.bin` and named by that hash in `round.json`;
//! * every batch's leaves are published in a leaves file (`OUT/proofs/<sha256>.bin`, named in
//!   the bundle's STARK section), and a record carries its 4-element salt and no path: the
//!   customer reruns its batch's chain from the leaves file (`docs/formats.md`).
//!
//! Shards: `--shard I/N` proves batches `j ≡ I (mod N)` only, as the other backends split
//! them, each with its proof file, its leaves file and its checkpoint (which names both), and
//! signs nothing. [`merge`] takes the shards the shared merge checked (same secret, config,
//! spool and backend), copies every batch's files and checkpoint into the output folder
//! ([`gather_batches`](crate::solvency::merge::gather_batches): each batch in exactly one
//! shard) and publishes as a whole round does ([`publishing::publish`]). Salts, blinds and the
//! order derive from the shared secret, so a sharded round has the same public values (roots,
//! commitments, leaves files) as the same round proven whole; only the (randomised, zero-knowledge)
//! proof bytes differ.

mod proving;
mod publishing;

pub mod kyc;

use crate::solvency::{
    budget::{self, Budget, Workers},
    merge::gather_batches,
    spool::{self, Prepared},
    workdir::{read_json, Config, SpoolInfo, Work, WorkDir},
    ProveOptions, Summary,
};
use crate::{fsutil, ProverError};
use assay_circuits::solvency::stark::{
    aggregation_trace_cells, batch_trace_cells, round_digest, user_id_digest, AggShape, BatchShape,
    Blind, ChildKind, ChildOpening, ChildPublic, Digest, Salt, StarkUser, Val, AGG_PARAMS,
    BLIND_ELEMS, DIGEST_ELEMS, MAX_FAN_IN, SALT_ELEMS, STARK_PARAMS,
};
use assay_circuits::Fr;
use assay_verifier::{
    solvency::{is_sha256_hex, ProofDir, ProofEntry, RoundConfig},
    stark::{element_text, parse_element},
};
use ed25519_dalek::SigningKey;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::{
    fs,
    path::{Path, PathBuf},
};

/// The balance width of every STARK round.
const BITS: usize = 64;

/// The version of the checkpoints this build writes: 2 since 2026-12-03, when batch proofs moved
/// to `BATCH_PARAMS` and aggregation proofs to `AGG_PARAMS`. A version 1 checkpoint names a proof
/// under `STARK_PARAMS`, which a bundle of this build would declare wrongly: a resumed run
/// proves that batch or aggregation again, and a merge refuses the shard.
const CHECKPOINT_VERSION: u32 = 2;

/// A batch or aggregation checkpoint: the bundle entry and what the parent needs to open the
/// proof's commitment (private: the committed limbs and the blind).
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    version: u32,
    index: usize,
    entry: ProofEntry,
    /// The committed limbs, asset-major (`4K` limb sums of a batch, `6K` limbs of an aggregate).
    limbs: Vec<u64>,
    /// The commitment's blind (12 elements).
    blind: Vec<u32>,
    /// A batch's leaves file (its SHA-256 hex, under `proofs/`), written with the proof, so
    /// that a merge gathers it from the shard; absent in aggregation checkpoints and in batch
    /// checkpoints of builds before shards (the leaves are then computed when publishing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaves: Option<String>,
    /// A batch's tag of the round secret it was proven with ([`seed_tag`]); absent like
    /// `leaves`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed_tag: Option<String>,
}

/// The round's shapes, checked against what the STARK proves.
struct Plan {
    batch: BatchShape,
    users: usize,
    fan_in: usize,
    round: Digest,
}

fn refused(m: impl Into<String>) -> ProverError {
    ProverError::Refused(m.into())
}

fn stark(e: impl std::fmt::Display) -> ProverError {
    ProverError::Proving(e.to_string())
}

fn plan(cfg: &RoundConfig) -> Result<Plan, ProverError> {
    if cfg.balance_bits != BITS {
        return Err(refused(format!(
            "balance_bits {}: the STARK proves balances of exactly {BITS} bits",
            cfg.balance_bits
        )));
    }
    let log = cfg.batch_size.trailing_zeros() as usize;
    let batch = BatchShape::new(cfg.assets.len(), log)
        .map_err(|e| refused(format!("batch_size {}: {e}", cfg.batch_size)))?;
    if cfg.fan_in > MAX_FAN_IN {
        return Err(refused(format!(
            "fan_in {}: a STARK aggregation has at most {MAX_FAN_IN} children",
            cfg.fan_in
        )));
    }
    let round = round_digest(&cfg.round_id).map_err(|e| refused(format!("round_id: {e}")))?;
    Ok(Plan {
        users: batch.users(),
        batch,
        fan_in: cfg.fan_in,
        round,
    })
}

/// The estimated peak memory of one STARK proof of the round's largest circuit: the trace and
/// its low-degree extension (doubled by the hiding PCS, times the blowup: 4 for batches, 32 for
/// aggregations), the quotient and the Merkle trees, with a margin. Not fitted to measurements
/// yet (`docs/stark.md`).
fn proof_memory(p: &Plan, assets: usize) -> u64 {
    let batch = (batch_trace_cells(&p.batch) as u64) << STARK_PARAMS.log_blowup;
    let agg = AggShape::new(assets, p.fan_in, ChildKind::Aggregate, true)
        .map(|s| (aggregation_trace_cells(&s) as u64) << AGG_PARAMS.log_blowup)
        .unwrap_or(0);
    // 4 bytes a cell; x2 (hiding) for the extension, x3 for the trace, the extension's copy in
    // the tree and the quotient; 64 MiB for everything else.
    batch.max(agg) * 4 * 2 * 3 + (64 << 20)
}

/// The workers of a STARK round under `opts.budget` (each proof runs on one thread; the budget
/// bounds the proofs in flight).
///
/// # Errors
/// The config cannot be read or is not a STARK round's, or as [`budget::Budget::workers`].
pub fn workers(opts: &ProveOptions) -> Result<Workers, ProverError> {
    let config = Config::<Fr>::read(&opts.config)?;
    workers_of(&plan(&config.cfg)?, &config.cfg, &opts.budget)
}

fn workers_of(p: &Plan, cfg: &RoundConfig, b: &Budget) -> Result<Workers, ProverError> {
    let available = if b.memory.is_none() {
        budget::available_memory()
    } else {
        None
    };
    b.workers(
        proof_memory(p, cfg.assets.len()),
        budget::cores(),
        available,
        &format!(
            "STARK proof of {} users × {} assets",
            p.users,
            cfg.assets.len()
        ),
    )
}

/// The batch proofs of a STARK round of `customers` customers: `2^k - 1` users each, at least
/// one (what `prove` spools and `plan` splits into shards).
///
/// # Errors
/// The config is not a STARK round's.
pub(crate) fn batch_count(cfg: &RoundConfig, customers: u64) -> Result<usize, ProverError> {
    Ok((customers as usize).div_ceil(plan(cfg)?.users).max(1))
}

/// Field elements drawn from the round seed under a label: salts and blinds are derived, so a
/// resumed run derives the same ones.
fn derive<const N: usize>(seed: &[u8; 32], label: &str, a: u64, b: u64) -> [Val; N] {
    let mut h = Sha256::new();
    h.update(b"assay/stark/");
    h.update(label.as_bytes());
    h.update(b"/v1");
    h.update(seed);
    h.update(a.to_le_bytes());
    h.update(b.to_le_bytes());
    let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
    core::array::from_fn(|_| loop {
        // Uniform below p by rejection on 31 bits.
        let v = rng.next_u32() >> 1;
        if v < Val::ORDER_U32 {
            break Val::from_u32(v);
        }
    })
}

fn salt(seed: &[u8; 32], pos: u64) -> Salt {
    derive::<SALT_ELEMS>(seed, "salt", pos, 0)
}

fn blind(seed: &[u8; 32], level: u64, index: u64) -> Blind {
    derive::<BLIND_ELEMS>(seed, "blind", level, index)
}

fn blind_u32(b: &Blind) -> Vec<u32> {
    b.iter().map(PrimeField32::as_canonical_u32).collect()
}

fn blind_of(v: &[u32], file: &Path) -> Result<Blind, ProverError> {
    if v.len() != BLIND_ELEMS || v.iter().any(|x| *x >= Val::ORDER_U32) {
        return Err(ProverError::Corrupt {
            file: file.to_path_buf(),
            message: "bad blind".into(),
        });
    }
    Ok(core::array::from_fn(|i| Val::from_u32(v[i])))
}

/// The users of batch `j`, in order: spooled customers, then zero-balance padding.
fn batch_users(
    work: &Work<Fr>,
    p: &Plan,
    j: usize,
) -> Result<(Vec<StarkUser>, Vec<Option<spool::Customer>>), ProverError> {
    let start = (j * p.users) as u64;
    let rows = work.read_spool(start, p.users)?;
    let mut users = Vec::with_capacity(p.users);
    for (i, row) in rows.iter().enumerate() {
        let pos = start + i as u64;
        let (id, balances) = match row {
            Some((uid, bal)) => (
                user_id_digest(uid).map_err(stark)?,
                // Each balance was checked below 2^64 when the CSV was read (w = 64).
                bal.iter().map(|b| *b as u64).collect(),
            ),
            None => ([Val::ZERO; DIGEST_ELEMS], vec![0; p.batch.assets]),
        };
        users.push(StarkUser {
            id,
            salt: salt(&work.seed, pos),
            balances,
        });
    }
    Ok((users, rows))
}

fn proofs_dir(dir: &WorkDir) -> std::path::PathBuf {
    dir.out().join("proofs")
}

/// Writes the proof file and returns its name (SHA-256 hex).
fn write_proof(dir: &WorkDir, bytes: &[u8]) -> Result<String, ProverError> {
    let hash = assay_verifier::sha256_hex(bytes);
    let pd = proofs_dir(dir);
    fs::create_dir_all(&pd).map_err(|e| ProverError::io(&pd, e))?;
    fsutil::write_atomic(&dir.out().join(ProofDir::relative(&hash)), bytes)?;
    Ok(hash)
}

/// What a checkpoint must belong to: the proof's index, the round's digest and its secret.
struct Expect<'a> {
    index: usize,
    round: &'a Digest,
    seed: &'a [u8; 32],
}

/// The tag binding a batch checkpoint to the round secret it was proven with (its salts and
/// blinds): a leaves file taken from a checkpoint must hold the leaves this secret makes, and
/// a shard's checkpoint copied into another round's shard folder would otherwise merge
/// unnoticed (its proofs verify; only its customers' records would not).
fn seed_tag(seed: &[u8; 32], index: usize) -> String {
    let mut h = Sha256::new();
    h.update(b"assay/stark/checkpoint/v1");
    h.update(seed);
    h.update((index as u64).to_le_bytes());
    hex::encode(h.finalize())
}

/// The checkpoint `bytes` (read from `path`), checked to be proof `e.index` of the round whose
/// digest is `e.round`, a batch's made with the secret `e.seed` (when it carries the tag:
/// checkpoints of builds before shards do not, and their leaves are computed again), naming
/// files by SHA-256.
fn parse_checkpoint(bytes: &[u8], path: &Path, e: &Expect<'_>) -> Result<Checkpoint, ProverError> {
    let corrupt = |m: String| ProverError::Corrupt {
        file: path.to_path_buf(),
        message: m,
    };
    let mismatch = |m: &str| ProverError::WorkMismatch {
        file: path.to_path_buf(),
        message: m.into(),
    };
    let mut c: Checkpoint = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if c.version != CHECKPOINT_VERSION {
        return Err(mismatch(&format!(
            "a version {} checkpoint: made by a build whose proofs use other parameters (this \
             build writes version {CHECKPOINT_VERSION}: batches under BATCH_PARAMS, aggregations \
             under AGG_PARAMS); prove it again with this build (--resume proves it again)",
            c.version
        )));
    }
    if c.index != e.index {
        return Err(corrupt(format!(
            "holds proof #{}, not #{}",
            c.index, e.index
        )));
    }
    let [proven_for, _, _] = public_digests(&c, path)?;
    if &proven_for != e.round {
        return Err(mismatch("proven for another round"));
    }
    match &c.seed_tag {
        Some(t) if *t != seed_tag(e.seed, e.index) => {
            return Err(mismatch("proven with another round secret"))
        }
        Some(_) => {}
        // Without the tag nothing vouches for a leaves file: it is made again.
        None => c.leaves = None,
    }
    for name in std::iter::once(&c.entry.proof).chain(c.leaves.as_ref()) {
        if !is_sha256_hex(name) {
            return Err(corrupt(format!(
                "{name:?} is not a file name (SHA-256 hex)"
            )));
        }
    }
    Ok(c)
}

/// The checkpoint at `path`, if there is one: as [`parse_checkpoint`], with its files present.
fn read_checkpoint(
    dir: &WorkDir,
    path: &Path,
    e: &Expect<'_>,
) -> Result<Option<Checkpoint>, ProverError> {
    if !path.exists() {
        return Ok(None);
    }
    let bytes = fsutil::read(path)?;
    if older_checkpoint(&bytes) {
        // Made by an earlier build, under other parameters: proven again, and overwritten.
        return Ok(None);
    }
    let c = parse_checkpoint(&bytes, path, e)?;
    for name in std::iter::once(&c.entry.proof).chain(c.leaves.as_ref()) {
        let file = dir.out().join(ProofDir::relative(name));
        if !file.exists() {
            return Err(ProverError::Corrupt {
                file: path.to_path_buf(),
                message: format!("its file {} is missing", file.display()),
            });
        }
    }
    Ok(Some(c))
}

/// Whether `bytes` are a checkpoint of an earlier version (its other fields are not read).
fn older_checkpoint(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    serde_json::from_slice::<Version>(bytes).is_ok_and(|v| v.version < CHECKPOINT_VERSION)
}

/// The first three digests of a checkpoint's public values: `(round, root, commitment)`.
fn public_digests(c: &Checkpoint, file: &Path) -> Result<[Digest; 3], ProverError> {
    let corrupt = |m: String| ProverError::Corrupt {
        file: file.to_path_buf(),
        message: m,
    };
    let v = c
        .entry
        .public_inputs
        .iter()
        .take(3 * DIGEST_ELEMS)
        .map(|s| parse_element(s, "public_inputs"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(e.to_string()))?;
    if v.len() != 3 * DIGEST_ELEMS {
        return Err(corrupt("too few public values".into()));
    }
    Ok(core::array::from_fn(|d| {
        core::array::from_fn(|i| v[d * DIGEST_ELEMS + i])
    }))
}

fn values_text(v: &[Val]) -> Vec<String> {
    v.iter().map(element_text).collect()
}

fn child_of(c: &Checkpoint, file: &Path) -> Result<ChildOpening, ProverError> {
    let [_, root, commitment] = public_digests(c, file)?;
    Ok(ChildOpening {
        public: ChildPublic { root, commitment },
        blind: blind_of(&c.blind, file)?,
        limbs: c.limbs.clone(),
    })
}

/// `assay solvency prove --backend stark` in `dir`, whose emptiness (or `--resume`), shard
/// and backend [`crate::solvency::prove`] checked: the whole round, or with `opts.shard` only
/// that shard's batch proofs (signing nothing).
///
/// # Errors
/// As [`crate::solvency::prove`].
pub(crate) fn prove(
    dir: &WorkDir,
    opts: &ProveOptions,
    signer: Option<&SigningKey>,
) -> Result<Summary, ProverError> {
    let config = Config::<Fr>::read(&opts.config)?;
    let p = plan(&config.cfg)?;
    let workers = workers_of(&p, &config.cfg, &opts.budget)?;
    let signer = match opts.shard {
        None => Some(signer.ok_or(ProverError::MissingSigner)?),
        Some(_) => None,
    };
    let prepared = spool::read_csv(
        dir,
        &opts.balances,
        &config.cfg,
        &config.checked.reserves,
        &config.sha256,
        opts.progress,
    )?;
    let seed = dir.seed(true)?;
    if !dir.backend().exists() {
        fsutil::write_json(&dir.backend(), &opts.backend.file())?;
    }
    fsutil::write_atomic(&dir.config(), &config.bytes)?;
    let config_sha = config.sha256.clone();
    let cfg = config.cfg.clone();
    let work = Work::new(dir.clone(), config, seed, opts.progress);
    let info = match prepared {
        Prepared::Done(info) => info,
        Prepared::Read(scratch, mut scan) => {
            // A STARK batch holds 2^k - 1 users: as many batches as the customers need.
            scan.leaf_count = (batch_count(&cfg, scan.customers)? * p.users) as u64;
            work.spool(scratch, scan, &config_sha)?
        }
    };
    let batches = batches_of(&p, &info, &dir.spool_info())?;
    let (proven, skipped) =
        proving::prove_batches(&work, &p, &workers, batches, opts.shard.unwrap_or((0, 1)))?;
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
    if let Some(signer) = signer {
        let (aggs, records) = publishing::publish(&work, &p, &summary.budget, &info, signer)?;
        summary.aggregations_proven = aggs;
        summary.records = records;
        summary.bundle = Some(dir.bundle());
    }
    Ok(summary)
}

/// The batch proofs of the spool `info` (read from `file`).
fn batches_of(p: &Plan, info: &SpoolInfo, file: &Path) -> Result<usize, ProverError> {
    if !info.leaf_count.is_multiple_of(p.users as u64) || info.leaf_count == 0 {
        return Err(ProverError::WorkMismatch {
            file: file.to_path_buf(),
            message: "the spool was not made for a STARK round of this batch size".into(),
        });
    }
    Ok((info.leaf_count / p.users as u64) as usize)
}

/// `assay solvency merge` of STARK shards into `out`, after the shared merge checked the
/// shards (one round, one backend) and copied the round's secret, config and spool into
/// `out`: every batch's checkpoint, proof file and leaves file gathered from the one shard
/// that holds it, then the aggregation levels (checkpointed: a killed merge resumes), the
/// bundle, the records and `round.json`, as a whole round.
///
/// # Errors
/// A batch in no shard or in two, a damaged or foreign checkpoint or file, a budget below one
/// proof, I/O; as [`crate::solvency::merge`].
pub(crate) fn merge(
    out: &WorkDir,
    shards: &[PathBuf],
    signer: &SigningKey,
    budget: &Budget,
    progress: bool,
) -> Result<Summary, ProverError> {
    let config = Config::<Fr>::read(&out.config())?;
    let p = plan(&config.cfg)?;
    let workers = workers_of(&p, &config.cfg, budget)?;
    let info: SpoolInfo = read_json(&out.spool_info())?;
    let batches = batches_of(&p, &info, &out.spool_info())?;
    let seed = out.seed(false)?;
    gather_batches(out, shards, batches, |shard, index, bytes| {
        let e = Expect {
            index,
            round: &p.round,
            seed: &seed,
        };
        copy_batch_files(shard, out, bytes, &e)
    })?;
    let work = Work::new(out.clone(), config, seed, progress);
    let (aggs, records) = publishing::publish(&work, &p, &workers, &info, signer)?;
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

/// Copies the proof file and leaves file that `shard`'s checkpoint of batch `j` (`bytes`)
/// names into `out`, after checking the checkpoint ([`parse_checkpoint`]) and each file against
/// its name (SHA-256).
fn copy_batch_files(
    shard: &WorkDir,
    out: &WorkDir,
    bytes: &[u8],
    e: &Expect<'_>,
) -> Result<(), ProverError> {
    let c = parse_checkpoint(bytes, &shard.batch(e.index), e)?;
    for name in std::iter::once(&c.entry.proof).chain(c.leaves.as_ref()) {
        let (src, dst) = (
            shard.out().join(ProofDir::relative(name)),
            out.out().join(ProofDir::relative(name)),
        );
        if dst.exists() {
            continue;
        }
        let data = fsutil::read(&src)?;
        if assay_verifier::sha256_hex(&data) != *name {
            return Err(ProverError::Corrupt {
                file: src,
                message: "its content does not have the SHA-256 it is named by".into(),
            });
        }
        write_proof(out, &data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_salts_and_blinds_are_fixed_by_the_seed_and_distinct() {
        let seed = [7u8; 32];
        assert_eq!(salt(&seed, 3), salt(&seed, 3));
        assert_ne!(salt(&seed, 3), salt(&seed, 4));
        assert_ne!(salt(&seed, 3), salt(&[8u8; 32], 3));
        assert_ne!(blind(&seed, 0, 1), blind(&seed, 1, 0));
        let b = blind(&seed, 2, 5);
        assert_eq!(blind_of(&blind_u32(&b), Path::new("x")).unwrap(), b);
        assert!(blind_of(&[Val::ORDER_U32; BLIND_ELEMS], Path::new("x")).is_err());
        assert_ne!(seed_tag(&seed, 1), seed_tag(&seed, 2));
        assert_ne!(seed_tag(&seed, 1), seed_tag(&[8u8; 32], 1));
    }
}
