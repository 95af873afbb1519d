//! Publishing a round: the bundle signed with the publication key and checked as an auditor
//! would before anything is published, one signed inclusion record per customer, then
//! `round.json` last; the spool, no longer needed, leaves the private folder.

use super::{
    backend::RoundBackend,
    bar,
    budget::Workers,
    proving::Proofs,
    workdir::{SpoolInfo, Work, WorkDir},
};
use crate::{fsutil, ProverError};
use assay_circuits::{
    field::to_decimal,
    merkle,
    solvency::{self as st, LeafWitness},
    StatementField,
};
use assay_verifier::{
    amount,
    solvency::{
        BalanceEntry, InclusionRecord, RoundBundle, BUNDLE_VERSION, RECORD_DOMAIN, ROUND_DOMAIN,
        ROUND_VERSION,
    },
};
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::{
    fs,
    path::{Path, PathBuf},
};

/// The file name of a customer's inclusion record in `inclusion/`: the first 32 hex digits of
/// `HMAC-SHA256(k, user_id)`, with `k = SHA-256("assay/record-name/v1" || seed)` from the
/// round's secret seed. Names are safe file names for ids of any characters, and say nothing
/// about the id to whoever lacks the round secret: a folder of records served by name cannot
/// be probed with guessed ids (an unkeyed hash of the id could).
pub fn record_file_name(seed: &[u8; 32], user_id: &str) -> String {
    let key = Sha256::new()
        .chain_update(b"assay/record-name/v1")
        .chain_update(seed)
        .finalize();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key size");
    mac.update(user_id.as_bytes());
    format!("{}.json", &hex::encode(mac.finalize().into_bytes())[..32])
}

/// One customer's inclusion record, signed and written (not yet synced: see
/// [`fsutil::sync_folder`]) into `dir` under its keyed name: the part every backend shares;
/// `salt`, `leaf_index` and `path` are the backend's.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_record(
    dir: &Path,
    seed: &[u8; 32],
    cfg: &assay_verifier::solvency::RoundConfig,
    bundle: &RoundBundle,
    bundle_hash: &str,
    signer: &SigningKey,
    user_id: &str,
    balances: &[u128],
    salt: String,
    leaf_index: u64,
    path: Vec<String>,
) -> Result<(), ProverError> {
    let mut rec = InclusionRecord {
        version: ROUND_VERSION,
        round_id: cfg.round_id.clone(),
        bundle_hash: bundle_hash.to_string(),
        user_id: user_id.to_string(),
        balances: cfg
            .assets
            .iter()
            .zip(balances)
            .map(|(a, u)| BalanceEntry {
                symbol: a.symbol.clone(),
                amount: amount::Display {
                    units: *u,
                    decimals: a.decimals,
                }
                .to_string(),
            })
            .collect(),
        salt,
        leaf_index,
        path,
        publication_key: bundle.publication_key.clone(),
        signature: String::new(),
    };
    let msg = assay_verifier::signing::message(RECORD_DOMAIN, &rec.signed_body());
    rec.signature = hex::encode(signer.sign(&msg).to_bytes());
    fsutil::write_json_unsynced(&dir.join(record_file_name(seed, user_id)), &rec)
}

/// Where the inclusion record of `user_id` is in the round folder `out` (the exchange's side:
/// it reads the round secret from `out/private/round-secret.json`). The file exists if the
/// customer is in the round and the round is written.
///
/// # Errors
/// A missing or malformed round secret.
pub fn record_path(out: &Path, user_id: &str) -> Result<PathBuf, ProverError> {
    let dir = WorkDir::new(out);
    let seed = dir.seed(false)?;
    Ok(out.join("inclusion").join(record_file_name(&seed, user_id)))
}

impl<F: StatementField> Work<F> {
    /// Steps 4–5: the aggregation levels, the bundle, the records, then `round.json`; the
    /// spool is deleted once the round is written. Returns the aggregation proofs made now
    /// and the records written.
    pub(super) fn publish<B: RoundBackend<F = F>>(
        &self,
        backend: &B,
        workers: &Workers,
        info: &SpoolInfo,
        signer: &SigningKey,
    ) -> Result<(usize, u64), ProverError> {
        let batches = (info.leaf_count / self.cfg.batch_size as u64) as usize;
        let proofs = self.aggregate(backend, workers, batches)?;
        let bundle = self.bundle(backend, info, signer, &proofs)?;
        let records = self.write_records(&bundle, signer, &proofs.batch_roots)?;
        fsutil::write_json(&self.dir.bundle(), &bundle)?;
        let _ = fs::remove_file(self.dir.spool());
        Ok((proofs.proven, records))
    }

    /// The signed bundle, verified as an auditor would verify it.
    fn bundle<B: RoundBackend<F = F>>(
        &self,
        backend: &B,
        info: &SpoolInfo,
        signer: &SigningKey,
        proofs: &Proofs<F>,
    ) -> Result<RoundBundle, ProverError> {
        let batches = proofs.batches.len();
        let mut verifying_keys = std::collections::BTreeMap::new();
        for cp in proofs.batches.iter().chain(proofs.levels.iter().flatten()) {
            verifying_keys.insert(cp.entry.key.clone(), cp.verifying_key.clone());
        }
        let top = proofs
            .levels
            .last()
            .and_then(|l| l.first())
            .ok_or_else(|| ProverError::Proving("no top proof".into()))?;
        let global_root = top.entry.public_inputs[st::IN_ROOT].clone();
        let mut bundle = RoundBundle {
            version: BUNDLE_VERSION,
            backend: backend.name().into(),
            halo2: None,
            circuits: Some(backend.circuits(self.shape, &self.cfg, batches)),
            config: self.cfg.clone(),
            leaf_count: info.leaf_count,
            global_root,
            verifying_keys,
            batches: proofs.batches.iter().map(|c| c.entry.clone()).collect(),
            aggregations: proofs
                .levels
                .iter()
                .map(|l| l.iter().map(|c| c.entry.clone()).collect())
                .collect(),
            publication_key: hex::encode(signer.verifying_key().to_bytes()),
            signature: String::new(),
        };
        let msg = assay_verifier::signing::message(ROUND_DOMAIN, &bundle.signed_body());
        bundle.signature = hex::encode(signer.sign(&msg).to_bytes());
        // The auditor's check, run by the prover before anything is published.
        assay_verifier::solvency::verify_round(&bundle, &backend.check_options())
            .map_err(|e| ProverError::Proving(format!("the round does not verify: {e}")))?;
        Ok(bundle)
    }

    /// One signed record per customer, each batch's leaves read from the spool once.
    fn write_records(
        &self,
        bundle: &RoundBundle,
        signer: &SigningKey,
        batch_roots: &[F],
    ) -> Result<u64, ProverError> {
        let bundle_hash = bundle.hash();
        let upper = merkle::levels(batch_roots);
        let dir = self.dir.inclusion();
        fs::create_dir_all(&dir).map_err(|e| ProverError::io(&dir, e))?;
        let batches = batch_roots.len();
        let pb = bar(self.progress, batches as u64, "records");
        let b = self.cfg.batch_size;
        let counts: Vec<u64> = (0..batches)
            .into_par_iter()
            .map(|j| -> Result<u64, ProverError> {
                let start = (j * b) as u64;
                let rows = self.read_spool(start, b)?;
                let leaves = self.leaves(start, &rows)?;
                let hashes: Vec<F> = leaves.iter().map(LeafWitness::<F>::hash).collect();
                let lv = merkle::levels(&hashes);
                let upper_path = merkle::path(&upper, j);
                let mut n = 0;
                for (i, row) in rows.into_iter().enumerate() {
                    let Some((user_id, bal)) = row else { continue };
                    let pos = start + i as u64;
                    let mut path: Vec<String> =
                        merkle::path(&lv, i).iter().map(to_decimal).collect();
                    path.extend(upper_path.iter().map(to_decimal));
                    write_record(
                        &dir,
                        &self.seed,
                        &self.cfg,
                        bundle,
                        &bundle_hash,
                        signer,
                        &user_id,
                        &bal,
                        to_decimal(&self.salt(pos)),
                        pos,
                        path,
                    )?;
                    n += 1;
                }
                pb.inc(1);
                Ok(n)
            })
            .collect::<Result<_, _>>()?;
        pb.finish_and_clear();
        // Every record on disk before round.json, which marks the round as done, is written.
        fsutil::sync_folder(&dir)?;
        Ok(counts.iter().sum())
    }
}
