//! Publishing a STARK round (a whole round, or a merge of shards): the aggregation levels,
//! every batch's leaves file, the bundle signed and checked as an auditor would check it, one
//! signed record per customer, then `round.json` last; the spool leaves the private folder.

use super::{batch_users, proving, salt, stark, write_proof, Checkpoint, Plan};
use crate::solvency::{
    bar,
    budget::Workers,
    workdir::{SpoolInfo, Work},
    write_record,
};
use crate::{fsutil, ProverError};
use assay_circuits::solvency::stark::{leaf, leaves_file_bytes, Digest, Val, DIGEST_ELEMS};
use assay_circuits::Fr;
use assay_verifier::{
    solvency::{
        verify_round, Circuits, ProofDir, RoundBundle, RoundOptions, BACKEND_STARK, BUNDLE_VERSION,
        ROUND_DOMAIN,
    },
    stark::{digest_hex, parse_element, salt_text},
};
use ed25519_dalek::{Signer, SigningKey};
use p3_field::PrimeCharacteristicRing;
use rayon::prelude::*;
use std::fs;

/// Steps 4–6 over the round's batch checkpoints (all present): the aggregation levels, the
/// leaves files, the bundle, the records, then `round.json`; the spool is deleted once the
/// round is written. Returns the aggregation proofs made now and the records written.
pub(super) fn publish(
    work: &Work<Fr>,
    p: &Plan,
    workers: &Workers,
    info: &SpoolInfo,
    signer: &SigningKey,
) -> Result<(usize, u64), ProverError> {
    let dir = &work.dir;
    let batches = (info.leaf_count / p.users as u64) as usize;
    let batch_cps = proving::batch_checkpoints(work, p, batches)?;
    let leaves = write_leaves(work, p, &batch_cps)?;
    let (levels, aggs) = proving::aggregate(work, p, workers, batch_cps.clone())?;
    let bundle = make_bundle(work, p, info, signer, &batch_cps, &levels, leaves)?;
    let records = write_records(work, p, &bundle, signer, batches)?;
    fsutil::write_json(&dir.bundle(), &bundle)?;
    let _ = fs::remove_file(dir.spool());
    Ok((aggs, records))
}

/// Step 5: every batch's leaves file (its leaves in chain order, content-addressed), as its
/// checkpoint names it (written with the batch proof, by a shard or this run), or computed
/// from the spool for a checkpoint that names none; returns their names (SHA-256 hex), in
/// batch order. The bundle's self-check reruns every batch's chain over its file.
fn write_leaves(
    work: &Work<Fr>,
    p: &Plan,
    batch_cps: &[Checkpoint],
) -> Result<Vec<String>, ProverError> {
    let pb = bar(work.progress, batch_cps.len() as u64, "leaves");
    let names = batch_cps
        .par_iter()
        .enumerate()
        .map(|(j, cp)| -> Result<String, ProverError> {
            if let Some(name) = &cp.leaves {
                // read_checkpoint found the file.
                pb.inc(1);
                return Ok(name.clone());
            }
            let (users, _) = batch_users(work, p, j)?;
            let leaves = users
                .iter()
                .map(|u| leaf(u, &p.batch))
                .collect::<Result<Vec<_>, _>>()
                .map_err(stark)?;
            let name = write_proof(&work.dir, &leaves_file_bytes(&p.round, &leaves))?;
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
