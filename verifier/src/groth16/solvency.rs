//! Groth16 rounds: the verifying keys are in the bundle, each named by the SHA-256 of its
//! bytes (checked), and each proof's key must be the one a pinned key manifest names for the
//! proof's circuit ([`TrustedKeys`]), unless the caller explicitly trusts the bundle's keys.

use crate::dispatch::RoundProof;
use crate::groth16::manifest::{aggregation_shape_name, batch_shape_name, TrustedKeys};
use crate::groth16::{cache, decode_proof, verify_all, Claim, Key};
use crate::solvency::{CheckedConfig, RoundBundle, RoundOptions};
use crate::VerifyError;
use assay_circuits::Fr;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The keys of a Groth16 round, by hash.
pub(crate) struct Groth16Keys {
    keys: BTreeMap<String, Arc<Key>>,
}

impl Groth16Keys {
    /// Checks that every proof names the key the pinned manifests give its circuit
    /// ([`TrustedKeys::check`]), then decodes every key of the bundle, checking its name
    /// (hash). The keys' bytes are pinned by then, so their G2 points' subgroup membership is
    /// the setup's to vouch for ([`super::decode_pinned_vk`]); a key prepared for an earlier
    /// round of this process is reused ([`cache`]); with
    /// [`TrustedKeys::InsecureBundleKeys`] the caller trusts whoever made them anyway.
    pub(crate) fn open(
        b: &RoundBundle,
        cfg: &CheckedConfig<Fr>,
        opts: &RoundOptions<'_>,
    ) -> Result<Self, VerifyError> {
        let (k, w) = (cfg.shape.num_assets, cfg.shape.balance_bits);
        let trusted: TrustedKeys<'_> = opts.trusted_keys;
        let batch = batch_shape_name(k, w, b.config.batch_size);
        for (j, e) in b.batches.iter().enumerate() {
            trusted.check(&e.key, &batch, &format!("batch proof {j}"))?;
        }
        let mut below = b.batches.len();
        for (l, level) in b.aggregations.iter().enumerate() {
            let top = l + 1 == b.aggregations.len();
            let shape = aggregation_shape_name(k, w, b.config.fan_in.min(below), top);
            for (i, e) in level.iter().enumerate() {
                let role = if top {
                    "the top proof".to_string()
                } else {
                    format!("aggregation proof (level {}, #{i})", l + 1)
                };
                trusted.check(&e.key, &shape, &role)?;
            }
            below = level.len();
        }
        let mut keys = BTreeMap::new();
        for (hash, hexkey) in &b.verifying_keys {
            let key = cache::prepared(hash, hexkey, &format!("verifying_keys.{hash}"))?;
            keys.insert(hash.clone(), key);
        }
        Ok(Self { keys })
    }

    /// Verifies several proofs in one batched pairing check ([`verify_all`]): decodes each
    /// (errors in order), then `Ok` exactly when every one verifies under the key it names.
    pub(crate) fn verify_all(&self, proofs: &[&RoundProof<'_, Fr>]) -> Result<(), VerifyError> {
        let mut decoded = Vec::with_capacity(proofs.len());
        for p in proofs {
            let key = self
                .keys
                .get(&p.entry.key)
                .ok_or_else(|| VerifyError::Key {
                    hash: p.entry.key.clone(),
                    message: format!("named by {} but not in the bundle", p.what),
                })?;
            let proof = decode_proof(&p.entry.proof, &format!("{}.proof", p.what))?;
            decoded.push((key, proof));
        }
        let claims: Vec<Claim<'_>> = proofs
            .iter()
            .zip(&decoded)
            .map(|(p, (key, proof))| Claim {
                key,
                proof,
                inputs: &p.inputs,
                what: &p.what,
            })
            .collect();
        verify_all(&claims)
    }
}
