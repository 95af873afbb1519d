//! The KYC presentation on Groth16: the issuer's proving key, picked by its verifying key's
//! hash.

use crate::dispatch::KycProver;
use crate::kyc::{holder, holder::ProveInputs, keys, KycError};
use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use assay_verifier::groth16::TrustedKeys;
use assay_verifier::kyc::formats::{IssuerPublic, KycProof};
use assay_verifier::Backend;
use std::path::Path;

/// A Groth16 KYC prover: the issuer's proving key, and the issuer's public file if known (the
/// key must then be the one it publishes).
pub struct Groth16KycProver {
    pk: ProvingKey<Bn254>,
    issuer: Option<IssuerPublic>,
}

impl Groth16KycProver {
    /// A prover with `pk`, checked against `issuer`'s published key when proving.
    pub fn new(pk: ProvingKey<Bn254>, issuer: Option<IssuerPublic>) -> Self {
        Self { pk, issuer }
    }

    /// Loads the proving key from the keys folder `dir`: the issuer's (by its `vk_hash`), or
    /// the only one there; its verifying key must be the KYC key that `trusted` names (the
    /// holder's pin of the setup: an issuer that made its own keys could forge presentations
    /// for credentials it never registered, so a holder does not lend it a proof either).
    ///
    /// # Errors
    /// As [`keys::find_single`] and [`keys::load_proving_key`]; [`KycError::Input`] if the
    /// key is not pinned.
    pub fn from_keys(
        dir: &Path,
        issuer: Option<&IssuerPublic>,
        trusted: &TrustedKeys<'_>,
    ) -> Result<Self, KycError> {
        let vk_hash = match issuer {
            Some(i) => i.vk_hash.clone(),
            None => keys::find_single(dir)?,
        };
        if matches!(trusted, TrustedKeys::Manifests(ms) if ms.is_empty()) {
            return Err(KycError::Input(format!(
                "the issuer's Groth16 key {vk_hash}: no key manifest is pinned; give the \
                 setup's manifest (--trusted-keys MANIFEST.json, from `assay solvency setup \
                 --kyc`), or knowingly trust the issuer's own key \
                 (--insecure-trust-issuer-keys)"
            )));
        }
        trusted
            .check(&vk_hash, keys::KYC_SHAPE, "the issuer's KYC proving key")
            .map_err(|e| KycError::Input(e.to_string()))?;
        let pk = keys::load_proving_key(dir, &vk_hash)?;
        Ok(Self::new(pk, issuer.cloned()))
    }
}

impl KycProver for Groth16KycProver {
    fn backend(&self) -> Backend {
        Backend::Groth16
    }

    fn prove(&self, inp: &ProveInputs<'_>, now: i64) -> Result<KycProof, KycError> {
        holder::prove(inp, self.issuer.as_ref(), &self.pk, now)
    }
}
