//! Halo2 key generation and proving (zcash `halo2_proofs`, IPA over the Pasta curves).
//!
//! Self-contained: a circuit (from `assay-circuits`), its public inputs (one instance column)
//! and the IPA parameters ([`assay_verifier::halo2::params`], deterministic; the caller caches
//! them on disk with `write_params`/`read_params`). The proof is the transcript's bytes.
//! Proving randomness is this crate's own RNG world (rand 0.10): pass a `CryptoRng`, or use
//! [`Halo2Prover::prove_os_rng`].
//!
//! The Halo2 backend of the prover, for both statements: [`Halo2Backend`] proves a round's
//! batches and aggregations ([`crate::solvency::backend::RoundBackend`]) and [`kyc`] the KYC
//! presentation ([`crate::dispatch::KycProver`]). Parameters are public: they come from the
//! verifier's [`ParamsCache`] (one `--params-dir` for both statements).

pub mod kyc;
mod solvency;

/// The on-disk cache of IPA parameters (the verifier's: parameters are public).
pub use assay_verifier::halo2::ParamsCache;
pub use solvency::{Halo2Backend, Halo2Key};

use assay_circuits::halo2::Fp;
use assay_verifier::halo2::{Curve, Halo2Error, Halo2Params, Halo2Verifier, Halo2VerifyingKey};
use halo2_proofs::{
    plonk::{create_proof, keygen_pk, keygen_vk, Circuit, ProvingKey},
    transcript::{Blake2bWrite, Challenge255},
};
use rand_10::CryptoRng;

/// Why key generation or proving failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Halo2ProveError {
    /// The parameters do not fit the circuit (see [`Halo2Error`]).
    #[error(transparent)]
    Setup(#[from] Halo2Error),
    /// Synthesis or the proof system failed (a malformed witness, too few rows).
    #[error("halo2 proving failed: {0}")]
    Prove(String),
}

/// A prover for one circuit shape: parameters and proving key.
#[derive(Debug)]
pub struct Halo2Prover {
    params: Halo2Params,
    pk: ProvingKey<Curve>,
    num_public: usize,
}

impl Halo2Prover {
    /// Generates the keys of `blank` (a circuit without witness) for `params`' `k`, which
    /// must equal `k`.
    ///
    /// # Errors
    /// [`Halo2Error::ParamsK`] for parameters of another `k`; [`Halo2ProveError::Prove`] if
    /// the circuit does not fit in `2^k` rows.
    pub fn new<C: Circuit<Fp>>(
        params: Halo2Params,
        blank: &C,
        k: u32,
        num_public: usize,
    ) -> Result<Self, Halo2ProveError> {
        if params.k() != k {
            return Err(Halo2Error::ParamsK {
                params: params.k(),
                expected: k,
            }
            .into());
        }
        let vk = keygen_vk(&params, blank).map_err(|e| Halo2ProveError::Prove(format!("{e:?}")))?;
        let pk =
            keygen_pk(&params, vk, blank).map_err(|e| Halo2ProveError::Prove(format!("{e:?}")))?;
        Ok(Self {
            params,
            pk,
            num_public,
        })
    }

    /// The verifying key (equal to the one [`Halo2Verifier::new`] derives).
    pub fn vk(&self) -> &Halo2VerifyingKey {
        self.pk.get_vk()
    }

    /// The parameters.
    pub fn params(&self) -> &Halo2Params {
        &self.params
    }

    /// Proves `circuit` (with its witness) for the instance column `public`.
    ///
    /// Halo2 does not check the witness while proving: an unsatisfied circuit gives a proof
    /// that does not verify. Evaluate the statement natively first.
    ///
    /// # Errors
    /// [`Halo2Error::PublicInputs`] on a wrong count; [`Halo2ProveError::Prove`] from synthesis.
    pub fn prove<C: Circuit<Fp>>(
        &self,
        circuit: C,
        public: &[Fp],
        rng: impl CryptoRng,
    ) -> Result<Vec<u8>, Halo2ProveError> {
        if public.len() != self.num_public {
            return Err(Halo2Error::PublicInputs {
                expected: self.num_public,
                got: public.len(),
            }
            .into());
        }
        let mut transcript = Blake2bWrite::<_, Curve, Challenge255<Curve>>::init(vec![]);
        create_proof(
            &self.params,
            &self.pk,
            &[circuit],
            &[&[public]],
            rng,
            &mut transcript,
        )
        .map_err(|e| Halo2ProveError::Prove(format!("{e:?}")))?;
        Ok(transcript.finalize())
    }

    /// [`Self::prove`] with the operating system's randomness (via rand's thread RNG).
    ///
    /// # Errors
    /// As [`Self::prove`].
    pub fn prove_os_rng<C: Circuit<Fp>>(
        &self,
        circuit: C,
        public: &[Fp],
    ) -> Result<Vec<u8>, Halo2ProveError> {
        self.prove(circuit, public, rand_10::rng())
    }

    /// A verifier for the same shape (re-derives the verifying key from `blank`, as a
    /// third party would).
    ///
    /// # Errors
    /// As [`Halo2Verifier::new`].
    pub fn verifier<C: Circuit<Fp>>(&self, blank: &C) -> Result<Halo2Verifier, Halo2Error> {
        Halo2Verifier::new(self.params.clone(), blank, self.params.k(), self.num_public)
    }
}

#[cfg(test)]
mod tests;
