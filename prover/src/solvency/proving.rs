//! The proofs: batch proofs, at most `jobs` in flight ([`run_bounded`]), each checkpointed
//! as soon as it is made, finished ones skipped, `--shard I/N` proving `j ≡ I (mod N)` only;
//! then the aggregation levels, bounded and checkpointed the same way, up to the top proof.

use super::{
    backend::{CircuitKind, RoundBackend},
    bar,
    budget::{run_bounded, Workers},
    workdir::{checkpoint_tag, read_json, remove_torn_files, Checkpoint, Work},
};
use crate::{fsutil, ProverError};
use assay_circuits::{
    field::{from_decimal, to_decimal},
    solvency::{self as st, ChildOpening},
    StatementField,
};
use assay_verifier::solvency::level_sizes;
use std::path::Path;

/// Every proof of a round, as checkpoints.
pub(super) struct Proofs<F> {
    /// The batch proofs, in order.
    pub(super) batches: Vec<Checkpoint>,
    /// The batch proofs' roots (the leaves of the upper tree), in order.
    pub(super) batch_roots: Vec<F>,
    /// The aggregation levels, bottom up; the last holds the top proof alone.
    pub(super) levels: Vec<Vec<Checkpoint>>,
    /// Aggregation proofs made by this run (the others were checkpointed).
    pub(super) proven: usize,
}

impl<F: StatementField> Work<F> {
    /// Step 3: batch proofs `j` with `j % n == i`, skipping finished ones. Returns how many
    /// were proven and how many skipped.
    pub(super) fn prove_batches<B: RoundBackend<F = F>>(
        &self,
        backend: &B,
        workers: &Workers,
        batches: usize,
        shard: (usize, usize),
    ) -> Result<(usize, usize), ProverError> {
        remove_torn_files(&self.dir.batches());
        let mine: Vec<usize> = (0..batches).filter(|j| j % shard.1 == shard.0).collect();
        let todo: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|j| !self.dir.batch(*j).exists())
            .collect();
        let skipped = mine.len() - todo.len();
        if todo.is_empty() {
            return Ok((0, skipped));
        }
        let shape = self.shape;
        let key = backend.key(
            shape,
            CircuitKind::Batch {
                batch_size: self.cfg.batch_size,
            },
        )?;
        let (_, key_value) = backend.key_entry(&key);
        let pb = bar(self.progress, todo.len() as u64, "batch proofs");
        run_bounded(workers, &todo, |j| -> Result<(), ProverError> {
            let witness = self.batch_witness(j)?;
            let eval = witness.evaluate(&self.shape)?;
            let entry =
                backend.prove_batch(&key, shape, &witness, &eval, &format!("batch proof {j}"))?;
            let cp = Checkpoint {
                version: 1,
                index: j,
                entry,
                verifying_key: key_value.clone(),
                sums: eval.sums.iter().map(to_decimal).collect(),
                blind: to_decimal(&witness.blind),
                seed_tag: Some(checkpoint_tag(&self.seed, &self.dir.batch(j))),
            };
            fsutil::write_json(&self.dir.batch(j), &cp)?;
            pb.inc(1);
            Ok(())
        })?;
        pb.finish_and_clear();
        Ok((todo.len(), skipped))
    }

    /// A checkpoint and the opening its parent proof needs, checked to be of this round.
    fn read_checkpoint(&self, path: &Path) -> Result<(Checkpoint, ChildOpening<F>), ProverError> {
        let cp: Checkpoint = read_json(path)?;
        let bad = |m: String| ProverError::Corrupt {
            file: path.to_path_buf(),
            message: m,
        };
        let f = |s: &str| {
            from_decimal::<F>(s).ok_or_else(|| bad(format!("{s:?} is not a field element")))
        };
        let input = |i: usize, name: &str| {
            cp.entry
                .public_inputs
                .get(i)
                .ok_or_else(|| bad(format!("no {name}")))
        };
        let root = f(input(st::IN_ROOT, "root")?)?;
        let round = f(input(st::IN_ROUND, "round")?)?;
        if round != self.round {
            return Err(ProverError::WorkMismatch {
                file: path.to_path_buf(),
                message: "proven for another round".into(),
            });
        }
        if cp
            .seed_tag
            .as_ref()
            .is_some_and(|t| *t != checkpoint_tag(&self.seed, path))
        {
            return Err(ProverError::WorkMismatch {
                file: path.to_path_buf(),
                message: "proven with another round secret, or kept under another proof's name \
                          (a checkpoint copied from another shard or work folder): delete it to \
                          prove that proof again"
                    .into(),
            });
        }
        let opening = ChildOpening {
            root,
            sums: cp.sums.iter().map(|s| f(s)).collect::<Result<_, _>>()?,
            blind: f(&cp.blind)?,
        };
        Ok((cp, opening))
    }

    /// Aggregation proof `i` of `level` over `children`, checkpointed.
    fn prove_aggregation<B: RoundBackend<F = F>>(
        &self,
        backend: &B,
        key: &B::Key,
        key_value: &str,
        (level, i): (usize, usize),
        children: Vec<ChildOpening<F>>,
        top: bool,
    ) -> Result<(Checkpoint, ChildOpening<F>), ProverError> {
        let witness = self.aggregate_witness(level, i, children, top);
        let eval = witness.evaluate(&self.shape)?;
        let what = if top {
            "top proof".to_string()
        } else {
            format!("aggregation proof (level {}, #{i})", level + 1)
        };
        let entry = backend.prove_aggregate(key, self.shape, &witness, &eval, &what)?;
        let cp = Checkpoint {
            version: 1,
            index: i,
            entry,
            verifying_key: key_value.to_string(),
            sums: eval.sums.iter().map(to_decimal).collect(),
            blind: to_decimal(&witness.blind),
            seed_tag: Some(checkpoint_tag(&self.seed, &self.dir.aggregation(level, i))),
        };
        fsutil::write_json(&self.dir.aggregation(level, i), &cp)?;
        let opening = ChildOpening {
            root: eval.public.root,
            sums: eval.sums,
            blind: witness.blind,
        };
        Ok((cp, opening))
    }

    /// Step 4: the aggregation levels over the `batches` batch proofs (which must all be
    /// there), skipping checkpointed ones.
    pub(super) fn aggregate<B: RoundBackend<F = F>>(
        &self,
        backend: &B,
        workers: &Workers,
        batches: usize,
    ) -> Result<Proofs<F>, ProverError> {
        let mut below: Vec<(Checkpoint, ChildOpening<F>)> = (0..batches)
            .map(|j| {
                let p = self.dir.batch(j);
                if !p.exists() {
                    return Err(ProverError::MissingWork {
                        path: p,
                        what: format!("batch proof {j}: prove every shard first"),
                    });
                }
                self.read_checkpoint(&p)
            })
            .collect::<Result<_, _>>()?;
        let batch_cps: Vec<Checkpoint> = below.iter().map(|(c, _)| c.clone()).collect();
        let batch_roots: Vec<F> = below.iter().map(|(_, o)| o.root).collect();
        let sizes = level_sizes(batches, self.cfg.fan_in);
        let mut levels = Vec::new();
        let mut proven = 0;
        let pb = bar(
            self.progress,
            sizes.iter().sum::<usize>() as u64,
            "aggregations",
        );
        for (level, &count) in sizes.iter().enumerate() {
            let top = level + 1 == sizes.len();
            let g = self.cfg.fan_in.min(below.len());
            let shape = self.shape;
            let key = backend.key(shape, CircuitKind::Aggregation { fan_in: g, top })?;
            let (_, key_value) = backend.key_entry(&key);
            let items: Vec<usize> = (0..count).collect();
            let results: Vec<(Checkpoint, ChildOpening<F>, bool)> =
                run_bounded(workers, &items, |i| -> Result<_, ProverError> {
                    let path = self.dir.aggregation(level, i);
                    if path.exists() {
                        let (cp, o) = self.read_checkpoint(&path)?;
                        return Ok((cp, o, false));
                    }
                    let children: Vec<ChildOpening<F>> = below[i * g..(i + 1) * g]
                        .iter()
                        .map(|(_, o)| o.clone())
                        .collect();
                    let (cp, opening) = self.prove_aggregation(
                        backend,
                        &key,
                        &key_value,
                        (level, i),
                        children,
                        top,
                    )?;
                    pb.inc(1);
                    Ok((cp, opening, true))
                })?;
            proven += results.iter().filter(|r| r.2).count();
            levels.push(results.iter().map(|r| r.0.clone()).collect::<Vec<_>>());
            below = results.into_iter().map(|(c, o, _)| (c, o)).collect();
        }
        pb.finish_and_clear();
        Ok(Proofs {
            batches: batch_cps,
            batch_roots,
            levels,
            proven,
        })
    }
}
