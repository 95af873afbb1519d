//! The KYC circuit on Halo2 (IPA over Pasta, no trusted setup): the prover and the holder's
//! Halo2 presentation (re-exported as `assay_prover::kyc::halo2`).
//!
//! The IPA parameters are deterministic ([`assay_verifier::halo2::params`]); generating them
//! takes a while, so they are cached as `halo2-params-k{K}.bin` in the parameters folder
//! (`--params-dir`, shared with the solvency rounds: [`ParamsCache`]), written atomically
//! and read back; a missing, unreadable or corrupt file (or one for another `k`) is
//! regenerated. A corrupt cache cannot make a bad proof verify: the relying party's verifying
//! key is derived from its own copy of the parameters.

use crate::dispatch::KycProver;
use crate::halo2::{Halo2Prover, ParamsCache};
use crate::kyc::{
    holder::{witness_halo2, ProveInputs},
    KycError,
};
use assay_circuits::kyc::{
    halo2::{Compact, KycHalo2Circuit},
    NUM_PUBLIC_INPUTS,
};
use assay_verifier::halo2::{Halo2Params, Halo2Verifier};
use assay_verifier::kyc::{
    formats::{KycProof, BACKEND_HALO2},
    halo2::{kyc_k, kyc_verifier, kyc_vk_hash},
};
use assay_verifier::Backend;
use std::path::{Path, PathBuf};

/// The cache file of the parameters for `k` in `dir` (see [`ParamsCache`]).
pub fn params_path(dir: &Path, k: u32) -> PathBuf {
    ParamsCache::new(dir).path(k)
}

/// The IPA parameters for `k`, read from `dir`'s cache or generated and cached there (the
/// same cache as the solvency rounds': [`ParamsCache`]).
///
/// # Errors
/// [`KycError::Proving`] for an unusable `k` or a cache that cannot be written.
pub fn load_or_create_params(dir: &Path, k: u32) -> Result<Halo2Params, KycError> {
    from_source(&ParamsCache::new(dir), k)
}

fn from_source(source: &ParamsCache, k: u32) -> Result<Halo2Params, KycError> {
    use assay_verifier::halo2::ParamsSource;
    source.params(k).map_err(|e| {
        KycError::Proving(format!("IPA parameters in {}: {e}", source.dir().display()))
    })
}

/// The KYC Halo2 prover: proving key of [`KycHalo2Circuit`] at `k =` [`kyc_k`].
#[derive(Debug)]
pub struct KycHalo2Prover {
    inner: Halo2Prover,
}

impl KycHalo2Prover {
    /// Generates the proving key for `params` (which must be for [`kyc_k`]).
    ///
    /// # Errors
    /// [`KycError::Proving`] for parameters of another `k`.
    pub fn new(params: Halo2Params) -> Result<Self, KycError> {
        let inner = Halo2Prover::new(
            params,
            &KycHalo2Circuit::<Compact>::blank(),
            kyc_k(),
            NUM_PUBLIC_INPUTS,
        )
        .map_err(|e| KycError::Proving(e.to_string()))?;
        Ok(Self { inner })
    }

    /// [`Self::new`] with the parameters cached in `dir`.
    ///
    /// # Errors
    /// As [`load_or_create_params`] and [`Self::new`].
    pub fn from_cache(dir: &Path) -> Result<Self, KycError> {
        Self::new(load_or_create_params(dir, kyc_k())?)
    }

    /// [`Self::new`] with the parameters of `cache`.
    ///
    /// # Errors
    /// As [`load_or_create_params`] and [`Self::new`].
    pub fn from_params(cache: &ParamsCache) -> Result<Self, KycError> {
        Self::new(from_source(cache, kyc_k())?)
    }

    /// The underlying prover.
    pub fn inner(&self) -> &Halo2Prover {
        &self.inner
    }

    /// A verifier re-deriving the key from the same parameters (as a relying party does).
    ///
    /// # Errors
    /// [`KycError::Proving`] if the key cannot be derived.
    pub fn verifier(&self) -> Result<Halo2Verifier, KycError> {
        kyc_verifier(self.inner.params().clone()).map_err(|e| KycError::Proving(e.to_string()))
    }

    /// The verifying key's hash (hex), as written in proofs.
    ///
    /// # Errors
    /// As [`Self::verifier`].
    pub fn vk_hash(&self) -> Result<String, KycError> {
        Ok(kyc_vk_hash(&self.verifier()?))
    }
}

/// Proves the holder's statement on Halo2 (fresh OS randomness) and writes the presentation.
///
/// # Errors
/// As [`witness_halo2`], and proving errors.
pub fn prove(
    inp: &ProveInputs<'_>,
    prover: &KycHalo2Prover,
    now: i64,
) -> Result<KycProof, KycError> {
    let (w, public) = witness_halo2(inp, now)?;
    let proof = prover
        .inner
        .prove_os_rng(
            KycHalo2Circuit::<Compact>::new(Some(w)),
            &public.to_inputs(),
        )
        .map_err(|e| KycError::Proving(e.to_string()))?;
    Ok(crate::kyc::holder::presentation(
        BACKEND_HALO2,
        prover.vk_hash()?,
        inp,
        &public,
        &proof,
    ))
}

impl KycProver for KycHalo2Prover {
    fn backend(&self) -> Backend {
        Backend::Halo2
    }

    fn prove(&self, inp: &ProveInputs<'_>, now: i64) -> Result<KycProof, KycError> {
        prove(inp, self, now)
    }
}
