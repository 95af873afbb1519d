//! A solvency round on the STARK (Plonky3 over KoalaBear, Poseidon2, hiding FRI): the pipeline
//! of `assay solvency prove --backend stark`.
//!
//! It reuses what does not depend on the proof system: the work folder and its checks
//! (`private/round-secret.json`, `backend.json`, `config.json`), the CSV read once and checked
//! whole (liabilities within reserves), the random order of leaves from the round seed, the
//! spool, the memory budget with [`run_bounded`](crate::solvency::budget) and atomic
//! checkpoints: a batch or aggregation proof whose checkpoint exists is never proven again
//! (`--resume`). What differs:
//! * a batch proves `batch_size - 1` users (the batch AIR's last row holds the sum commitment),
//!   so a round has `ceil(customers / (batch_size - 1))` batches, the last padded with
//!   zero-balance users whose salts are as random as anyone's;
//! * the aggregation levels take `fan_in` children each (at most 255), the last of a level the
//!   rest: no padding proofs;
//! * proofs are written to `OUT/proofs/<sha256>.bin` and named by that hash in `round.json`;
//! * every batch's leaves are published in a leaves file (`OUT/proofs/<sha256>.bin`, named in
//!   the bundle's STARK section), and a record carries its 4-element salt and no path: the
//!   customer reruns its batch's chain from the leaves file (`docs/formats.md`).
//!
//! Shards and merge are not implemented for the STARK yet: `--shard` is refused with that
//! reason.

pub mod kyc;

use crate::solvency::{
    bar,
    budget::{self, run_bounded, Workers},
    spool::{self, Prepared},
    workdir::{BackendFile, Config, SpoolInfo, Work, WorkDir},
    write_record, BackendChoice, ProveOptions, Summary,
};
use crate::{fsutil, ProverError};
use assay_circuits::solvency::stark::{
    aggregate_statement, aggregation_trace_cells, batch_statement, batch_trace_cells, leaf,
    leaves_to_bytes, prove_aggregation, prove_batch, round_digest, user_id_digest, AggShape,
    AggWitness, BatchShape, Blind, ChildKind, ChildOpening, ChildPublic, Digest, Salt, StarkBatch,
    StarkUser, TopPublic, Val, BLIND_ELEMS, DIGEST_ELEMS, MAX_FAN_IN, SALT_ELEMS,
};
use assay_circuits::Fr;
use assay_verifier::{
    solvency::{
        verify_round, Circuits, ProofDir, ProofEntry, RoundBundle, RoundOptions, BACKEND_STARK,
        BUNDLE_VERSION, ROUND_DOMAIN,
    },
    stark::{digest_hex, element_text, parse_element, previous_digest, salt_text},
};
use ed25519_dalek::{Signer, SigningKey};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::{fs, path::Path};

/// The balance width of every STARK round.
const BITS: usize = 64;

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

fn plan(cfg: &assay_verifier::solvency::RoundConfig) -> Result<Plan, ProverError> {
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
/// its low-degree extension (doubled by the hiding PCS, times the blowup 4), the quotient and
/// the Merkle trees, with a margin. Not fitted to measurements yet (`docs/stark.md`).
fn proof_memory(p: &Plan, assets: usize) -> u64 {
    let batch = batch_trace_cells(&p.batch) as u64;
    let agg = AggShape::new(assets, p.fan_in, ChildKind::Aggregate, true)
        .map(|s| aggregation_trace_cells(&s) as u64)
        .unwrap_or(0);
    // 4 bytes a cell; x2 (hiding) x4 (blowup) for the extension, x3 for the trace, the
    // extension's copy in the tree and the quotient; 64 MiB for everything else.
    batch.max(agg) * 4 * 8 * 3 + (64 << 20)
}

/// The workers of a STARK round under `opts.budget` (each proof runs on one thread; the budget
/// bounds the proofs in flight).
///
/// # Errors
/// The config cannot be read or is not a STARK round's, or as [`budget::Budget::workers`].
pub fn workers(opts: &ProveOptions) -> Result<Workers, ProverError> {
    let config = Config::<Fr>::read(&opts.config)?;
    let p = plan(&config.cfg)?;
    let available = if opts.budget.memory.is_none() {
        budget::available_memory()
    } else {
        None
    };
    opts.budget.workers(
        proof_memory(&p, config.cfg.assets.len()),
        budget::cores(),
        available,
        &format!(
            "STARK proof of {} users × {} assets",
            p.users,
            config.cfg.assets.len()
        ),
    )
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

fn read_checkpoint(dir: &WorkDir, path: &Path) -> Result<Option<Checkpoint>, ProverError> {
    if !path.exists() {
        return Ok(None);
    }
    let c: Checkpoint =
        serde_json::from_slice(&fsutil::read(path)?).map_err(|e| ProverError::Corrupt {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let proof = dir.out().join(ProofDir::relative(&c.entry.proof));
    if !proof.exists() {
        return Err(ProverError::Corrupt {
            file: path.to_path_buf(),
            message: format!("its proof file {} is missing", proof.display()),
        });
    }
    Ok(Some(c))
}

fn values_text(v: &[Val]) -> Vec<String> {
    v.iter().map(element_text).collect()
}

fn child_of(c: &Checkpoint, file: &Path) -> Result<ChildOpening, ProverError> {
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
    let d = |at: usize| -> Digest { core::array::from_fn(|i| v[at + i]) };
    Ok(ChildOpening {
        public: ChildPublic {
            root: d(DIGEST_ELEMS),
            commitment: d(2 * DIGEST_ELEMS),
        },
        blind: blind_of(&c.blind, file)?,
        limbs: c.limbs.clone(),
    })
}

/// `assay solvency prove --backend stark`: the whole round (no shards yet).
///
/// # Errors
/// As [`crate::solvency::prove`]; `--shard` is refused.
pub fn prove(opts: &ProveOptions, signer: Option<&SigningKey>) -> Result<Summary, ProverError> {
    if opts.shard.is_some() {
        return Err(refused(
            "--shard: the STARK pipeline has no shards or merge yet; prove the round whole",
        ));
    }
    let dir = WorkDir::new(&opts.out);
    dir.check_free(opts.resume)?;
    let chosen: BackendFile = BackendChoice::Stark.file();
    if let Some(found) = dir.read_backend()?.filter(|f| f != &chosen) {
        return Err(ProverError::BackendMismatch {
            folder: opts.out.clone(),
            found: found.describe(),
            asked: chosen.describe(),
        });
    }
    let config = Config::<Fr>::read(&opts.config)?;
    let p = plan(&config.cfg)?;
    let workers = workers(opts)?;
    let signer = signer.ok_or(ProverError::MissingSigner)?;
    let prepared = spool::read_csv(
        &dir,
        &opts.balances,
        &config.cfg,
        &config.checked.reserves,
        &config.sha256,
        opts.progress,
    )?;
    let seed = dir.seed(true)?;
    if !dir.backend().exists() {
        fsutil::write_json(&dir.backend(), &chosen)?;
    }
    fsutil::write_atomic(&dir.config(), &config.bytes)?;
    let config_sha = config.sha256.clone();
    let reserves = config.checked.reserves.clone();
    let work = Work::new(dir.clone(), config, seed, opts.progress);
    let info = match prepared {
        Prepared::Done(info) => info,
        Prepared::Read(scratch, mut scan) => {
            // A STARK batch holds 2^k - 1 users: as many batches as the customers need.
            let batches = (scan.customers as usize).div_ceil(p.users).max(1);
            scan.leaf_count = (batches * p.users) as u64;
            work.spool(scratch, scan, &config_sha)?
        }
    };
    if !info.leaf_count.is_multiple_of(p.users as u64) {
        return Err(ProverError::WorkMismatch {
            file: dir.spool_info(),
            message: "the spool was not made for a STARK round of this batch size".into(),
        });
    }
    let batches = (info.leaf_count / p.users as u64) as usize;
    let (batch_cps, proven, skipped) = prove_batches(&work, &p, &workers, batches)?;
    let (levels, aggs) = aggregate(&work, &p, &workers, &reserves, batch_cps.clone())?;
    let leaves = write_leaves(&work, &p, batches)?;
    let bundle = make_bundle(&work, &p, &info, signer, &batch_cps, &levels, leaves)?;
    let records = write_records(&work, &p, &bundle, signer, batches)?;
    fsutil::write_json(&dir.bundle(), &bundle)?;
    let _ = fs::remove_file(dir.spool());
    Ok(Summary {
        customers: info.customers,
        leaf_count: info.leaf_count,
        batches_proven: proven,
        batches_skipped: skipped,
        aggregations_proven: aggs,
        bundle: Some(dir.bundle()),
        records,
        budget: workers,
    })
}

/// Step 3: every batch proof not checkpointed yet, at most `workers.jobs` at once.
fn prove_batches(
    work: &Work<Fr>,
    p: &Plan,
    workers: &Workers,
    batches: usize,
) -> Result<(Vec<Checkpoint>, usize, usize), ProverError> {
    let dir = &work.dir;
    let bdir = dir.batches();
    fs::create_dir_all(&bdir).map_err(|e| ProverError::io(&bdir, e))?;
    crate::solvency::workdir::remove_torn_files(&bdir);
    let mut done: Vec<Option<Checkpoint>> = Vec::with_capacity(batches);
    for j in 0..batches {
        done.push(read_checkpoint(dir, &dir.batch(j))?);
    }
    let todo: Vec<usize> = (0..batches).filter(|j| done[*j].is_none()).collect();
    let pb = bar(work.progress, todo.len() as u64, "batch proofs");
    let made = run_bounded(workers, &todo, |j| {
        let (users, _) = batch_users(work, p, j)?;
        let b = blind(&work.seed, 0, j as u64);
        let batch = StarkBatch {
            shape: p.batch,
            round: p.round,
            users,
            blind: b,
        };
        let st = batch_statement(&batch).map_err(stark)?;
        let (bytes, public) = prove_batch(&batch).map_err(stark)?;
        if public != st.public {
            return Err(stark(format!(
                "batch {j}: the proof's public values are not the statement's"
            )));
        }
        let hash = write_proof(dir, &bytes)?;
        let cp = Checkpoint {
            version: 1,
            index: j,
            entry: ProofEntry {
                key: String::new(),
                proof: hash,
                public_inputs: values_text(&public.to_values()),
            },
            limbs: ChildOpening::from_batch(&st, b).limbs,
            blind: blind_u32(&b),
        };
        fsutil::write_json(&dir.batch(j), &cp)?;
        pb.inc(1);
        Ok(cp)
    })?;
    pb.finish_and_clear();
    let proven = made.len();
    for cp in made {
        let j = cp.index;
        done[j] = Some(cp);
    }
    let all = done
        .into_iter()
        .map(|c| c.ok_or_else(|| stark("a batch proof was not made")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((all, proven, batches - proven))
}

/// Step 4: the aggregation levels up to the top, checkpointed.
fn aggregate(
    work: &Work<Fr>,
    p: &Plan,
    workers: &Workers,
    reserves: &[u128],
    batch_cps: Vec<Checkpoint>,
) -> Result<(Vec<Vec<Checkpoint>>, usize), ProverError> {
    let dir = &work.dir;
    let shapes = assay_verifier::stark::level_children(batch_cps.len(), p.fan_in);
    let previous = previous_digest(work.cfg.previous_round.as_deref(), "previous_round")
        .map_err(|e| refused(e.to_string()))?;
    let adir = dir.aggregation(0, 0);
    if let Some(parent) = adir.parent() {
        fs::create_dir_all(parent).map_err(|e| ProverError::io(parent, e))?;
        crate::solvency::workdir::remove_torn_files(parent);
    }
    let mut below = batch_cps;
    let mut levels: Vec<Vec<Checkpoint>> = Vec::new();
    let mut proven = 0;
    let top_level = shapes.len() - 1;
    for (level, sizes) in shapes.iter().enumerate() {
        let kind = if level == 0 {
            ChildKind::Batch
        } else {
            ChildKind::Aggregate
        };
        let top = level == top_level;
        let mut done: Vec<Option<Checkpoint>> = Vec::with_capacity(sizes.len());
        for i in 0..sizes.len() {
            done.push(read_checkpoint(dir, &dir.aggregation(level, i))?);
        }
        let todo: Vec<usize> = (0..sizes.len()).filter(|i| done[*i].is_none()).collect();
        let starts: Vec<usize> = sizes
            .iter()
            .scan(0, |acc, n| {
                let s = *acc;
                *acc += n;
                Some(s)
            })
            .collect();
        let below_ref = &below;
        let made = run_bounded(workers, &todo, |i| {
            let shape = AggShape::new(p.batch.assets, sizes[i], kind, top).map_err(stark)?;
            let children = below_ref[starts[i]..starts[i] + sizes[i]]
                .iter()
                .enumerate()
                .map(|(c, cp)| {
                    let file = if level == 0 {
                        dir.batch(starts[i] + c)
                    } else {
                        dir.aggregation(level - 1, starts[i] + c)
                    };
                    child_of(cp, &file)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let b = blind(&work.seed, level as u64 + 1, i as u64);
            let w = AggWitness {
                shape,
                round: p.round,
                children,
                blind: b,
                top: top.then(|| TopPublic {
                    previous,
                    reserves: reserves.to_vec(),
                }),
            };
            // The native twin refuses an insolvent or overflowing aggregate with its reason.
            let st = aggregate_statement(&w).map_err(|e| refused(e.to_string()))?;
            let (bytes, public) = prove_aggregation(&w).map_err(stark)?;
            let hash = write_proof(dir, &bytes)?;
            let cp = Checkpoint {
                version: 1,
                index: i,
                entry: ProofEntry {
                    key: String::new(),
                    proof: hash,
                    public_inputs: values_text(&public.to_values()),
                },
                limbs: ChildOpening::from_aggregate(&st, b).limbs,
                blind: blind_u32(&b),
            };
            fsutil::write_json(&dir.aggregation(level, i), &cp)?;
            Ok(cp)
        })?;
        proven += made.len();
        for cp in made {
            let i = cp.index;
            done[i] = Some(cp);
        }
        let all = done
            .into_iter()
            .map(|c| c.ok_or_else(|| stark("an aggregation proof was not made")))
            .collect::<Result<Vec<_>, _>>()?;
        levels.push(all.clone());
        below = all;
    }
    Ok((levels, proven))
}

/// Step 5: every batch's leaves file (its leaves in chain order; content-addressed, so a
/// resumed run rewrites the same files); returns their names (SHA-256 hex), in batch order.
fn write_leaves(work: &Work<Fr>, p: &Plan, batches: usize) -> Result<Vec<String>, ProverError> {
    use rayon::prelude::*;
    let pb = bar(work.progress, batches as u64, "leaves");
    let names = (0..batches)
        .into_par_iter()
        .map(|j| -> Result<String, ProverError> {
            let (users, _) = batch_users(work, p, j)?;
            let leaves = users
                .iter()
                .map(|u| leaf(u, &p.batch))
                .collect::<Result<Vec<_>, _>>()
                .map_err(stark)?;
            let name = write_proof(&work.dir, &leaves_to_bytes(&leaves))?;
            pb.inc(1);
            Ok(name)
        })
        .collect::<Result<Vec<_>, _>>()?;
    pb.finish_and_clear();
    Ok(names)
}

/// The signed bundle, checked as an auditor would check it (every proof and leaves file,
/// through the files).
fn make_bundle(
    work: &Work<Fr>,
    p: &Plan,
    info: &SpoolInfo,
    signer: &SigningKey,
    batches: &[Checkpoint],
    levels: &[Vec<Checkpoint>],
    leaves: Vec<String>,
) -> Result<RoundBundle, ProverError> {
    let top = levels
        .last()
        .and_then(|l| l.first())
        .ok_or_else(|| stark("no top proof"))?;
    let root: Digest = core::array::from_fn(|i| {
        parse_element(&top.entry.public_inputs[DIGEST_ELEMS + i], "root").unwrap_or(Val::ZERO)
    });
    let mut bundle = RoundBundle {
        version: BUNDLE_VERSION,
        backend: BACKEND_STARK.into(),
        halo2: None,
        circuits: Some(Circuits::Stark(assay_verifier::stark::stark_circuits(
            p.batch.log_height,
            batches.len(),
            p.fan_in,
            leaves,
        ))),
        config: work.cfg.clone(),
        leaf_count: info.leaf_count,
        global_root: digest_hex(&root),
        verifying_keys: Default::default(),
        batches: batches.iter().map(|c| c.entry.clone()).collect(),
        aggregations: levels
            .iter()
            .map(|l| l.iter().map(|c| c.entry.clone()).collect())
            .collect(),
        publication_key: hex::encode(signer.verifying_key().to_bytes()),
        signature: String::new(),
    };
    let msg = assay_verifier::signing::message(ROUND_DOMAIN, &bundle.signed_body());
    bundle.signature = hex::encode(signer.sign(&msg).to_bytes());
    let proofs = ProofDir::new(work.dir.out());
    let opts = RoundOptions {
        proofs: Some(&proofs),
        ..RoundOptions::default()
    };
    verify_round(&bundle, &opts)
        .map_err(|e| ProverError::Proving(format!("the round does not verify: {e}")))?;
    Ok(bundle)
}

/// Step 6: one signed record per customer (its salt; no path: see [`write_leaves`]).
fn write_records(
    work: &Work<Fr>,
    p: &Plan,
    bundle: &RoundBundle,
    signer: &SigningKey,
    batches: usize,
) -> Result<u64, ProverError> {
    let hash = bundle.hash();
    let dir = work.dir.inclusion();
    fs::create_dir_all(&dir).map_err(|e| ProverError::io(&dir, e))?;
    use rayon::prelude::*;
    let pb = bar(work.progress, batches as u64, "records");
    let counts = (0..batches)
        .into_par_iter()
        .map(|j| -> Result<u64, ProverError> {
            let start = (j * p.users) as u64;
            let rows = work.read_spool(start, p.users)?;
            let mut n = 0;
            for (i, row) in rows.into_iter().enumerate() {
                let Some((user_id, bal)) = row else { continue };
                write_record(
                    &dir,
                    &work.seed,
                    &work.cfg,
                    bundle,
                    &hash,
                    signer,
                    &user_id,
                    &bal,
                    salt_text(&salt(&work.seed, start + i as u64)),
                    (j * p.users + i) as u64,
                    Vec::new(),
                )?;
                n += 1;
            }
            pb.inc(1);
            Ok(n)
        })
        .collect::<Result<Vec<_>, _>>()?;
    pb.finish_and_clear();
    // Every record on disk before round.json, which marks the round as done, is written.
    fsutil::sync_folder(&dir)?;
    Ok(counts.iter().sum())
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
    }
}
