//! The KYC presentation on Groth16: the issuer's proving key, picked by its verifying key's
//! hash.

use crate::dispatch::KycProver;
use crate::kyc::{holder, holder::ProveInputs, keys, KycError};
use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use assay_verifier::kyc::formats::{IssuerPublic, KycProof};
use assay_verifier::Backend;
use std::path::Path;

/// The hash of the only KYC proving key (`kyc-<hash>.pk`) in `dir`.
///
/// # Errors
/// [`KycError::Io`] if the folder cannot be read; [`KycError::Input`] if it holds no proving
/// key or several.
pub fn find_single_pk(dir: &Path) -> Result<String, KycError> {
    let rd = std::fs::read_dir(dir).map_err(|source| KycError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(h) = name
            .strip_prefix("kyc-")
            .and_then(|n| n.strip_suffix(".pk"))
        {
            found.push(h.to_string());
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(KycError::Input(format!(
            "{}: no kyc-<hash>.pk proving key",
            dir.display()
        ))),
        _ => Err(KycError::Input(format!(
            "{}: several proving keys; pass --issuer-key to pick the issuer's",
            dir.display()
        ))),
    }
}

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
    /// the only one there.
    ///
    /// # Errors
    /// As [`find_single_pk`] and [`keys::load_proving_key`].
    pub fn from_keys(dir: &Path, issuer: Option<&IssuerPublic>) -> Result<Self, KycError> {
        let vk_hash = match issuer {
            Some(i) => i.vk_hash.clone(),
            None => find_single_pk(dir)?,
        };
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
