//! The STARK's proofs: batch proofs (with `--shard I/N` those `j ≡ I (mod N)` only), each
//! written with its leaves file and checkpointed as soon as it is made, then the aggregation
//! levels up to the top, bounded and checkpointed the same way.

use super::{
    batch_users, blind, blind_u32, child_of, read_checkpoint, refused, seed_tag, stark,
    values_text, write_proof, Checkpoint, Expect, Plan, CHECKPOINT_VERSION,
};
use crate::solvency::{
    bar,
    budget::{run_bounded, Workers},
    workdir::{remove_torn_files, Work},
};
use crate::{fsutil, ProverError};
use assay_circuits::solvency::stark::{
    aggregate_statement, batch_statement, leaves_file_bytes, prove_aggregation, prove_batch,
    AggShape, AggWitness, ChildKind, ChildOpening, StarkBatch, TopPublic,
};
use assay_circuits::Fr;
use assay_verifier::{solvency::ProofEntry, stark::previous_digest};
use std::fs;

/// Step 3: the batch proofs `j` with `j % n == i` (`shard = (i, n)`; `(0, 1)` for a whole
/// round) not checkpointed yet, at most `workers.jobs` at once. Returns how many were proven
/// and how many were found done.
pub(super) fn prove_batches(
    work: &Work<Fr>,
    p: &Plan,
    workers: &Workers,
    batches: usize,
    shard: (usize, usize),
) -> Result<(usize, usize), ProverError> {
    let dir = &work.dir;
    let bdir = dir.batches();
    fs::create_dir_all(&bdir).map_err(|e| ProverError::io(&bdir, e))?;
    remove_torn_files(&bdir);
    let mine: Vec<usize> = (0..batches).filter(|j| j % shard.1 == shard.0).collect();
    let mut todo = Vec::new();
    for &j in &mine {
        let e = Expect {
            index: j,
            round: &p.round,
            seed: &work.seed,
        };
        if read_checkpoint(dir, &dir.batch(j), &e)?.is_none() {
            todo.push(j);
        }
    }
    let pb = bar(work.progress, todo.len() as u64, "batch proofs");
    run_bounded(workers, &todo, |j| -> Result<(), ProverError> {
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
        // Both files before the checkpoint that names them.
        let hash = write_proof(dir, &bytes)?;
        let leaves = write_proof(dir, &leaves_file_bytes(&p.round, &st.leaves))?;
        let cp = Checkpoint {
            version: CHECKPOINT_VERSION,
            index: j,
            entry: ProofEntry {
                key: String::new(),
                proof: hash,
                public_inputs: values_text(&public.to_values()),
            },
            limbs: ChildOpening::from_batch(&st, b).limbs,
            blind: blind_u32(&b),
            leaves: Some(leaves),
            seed_tag: Some(seed_tag(&work.seed, j)),
        };
        fsutil::write_json(&dir.batch(j), &cp)?;
        pb.inc(1);
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok((todo.len(), mine.len() - todo.len()))
}

/// Every batch checkpoint of the round, in order: all must be there (a whole round proved
/// them; a merge gathered them from the shards).
pub(super) fn batch_checkpoints(
    work: &Work<Fr>,
    p: &Plan,
    batches: usize,
) -> Result<Vec<Checkpoint>, ProverError> {
    let dir = &work.dir;
    (0..batches)
        .map(|j| {
            let e = Expect {
                index: j,
                round: &p.round,
                seed: &work.seed,
            };
            read_checkpoint(dir, &dir.batch(j), &e)?.ok_or_else(|| ProverError::MissingWork {
                path: dir.batch(j),
                what: format!("batch proof {j}: prove every shard first"),
            })
        })
        .collect()
}

/// Step 4: the aggregation levels up to the top, checkpointed.
pub(super) fn aggregate(
    work: &Work<Fr>,
    p: &Plan,
    workers: &Workers,
    batch_cps: Vec<Checkpoint>,
) -> Result<(Vec<Vec<Checkpoint>>, usize), ProverError> {
    let dir = &work.dir;
    let reserves = &work.reserves;
    let shapes = assay_verifier::stark::level_children(batch_cps.len(), p.fan_in);
    let previous = previous_digest(work.cfg.previous_round.as_deref(), "previous_round")
        .map_err(|e| refused(e.to_string()))?;
    let adir = dir.aggregation(0, 0);
    if let Some(parent) = adir.parent() {
        fs::create_dir_all(parent).map_err(|e| ProverError::io(parent, e))?;
        remove_torn_files(parent);
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
            let e = Expect {
                index: i,
                round: &p.round,
                seed: &work.seed,
            };
            done.push(read_checkpoint(dir, &dir.aggregation(level, i), &e)?);
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
                    reserves: reserves.clone(),
                }),
            };
            // The native twin refuses an insolvent or overflowing aggregate with its reason.
            let st = aggregate_statement(&w).map_err(|e| refused(e.to_string()))?;
            let (bytes, public) = prove_aggregation(&w).map_err(stark)?;
            let hash = write_proof(dir, &bytes)?;
            let cp = Checkpoint {
                version: CHECKPOINT_VERSION,
                index: i,
                entry: ProofEntry {
                    key: String::new(),
                    proof: hash,
                    public_inputs: values_text(&public.to_values()),
                },
                limbs: ChildOpening::from_aggregate(&st, b).limbs,
                blind: blind_u32(&b),
                leaves: None,
                seed_tag: None,
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
