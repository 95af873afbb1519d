//! Verification of Halo2 proofs (zcash `halo2_proofs`, IPA over the Pasta curves).
//!
//! Self-contained: a circuit's blank instance (from `assay-circuits`), its public inputs (one
//! instance column) and the IPA parameters. No proving key and no prover code.
//!
//! * Parameters are transparent: [`params`] `(k)` is `Params::new(k)`, deterministic (the
//!   generators are hashed to the curve), so a verifier can regenerate them or read a cached
//!   copy ([`read_params`]); no ceremony.
//! * The verifying key is derived from the blank circuit and the parameters
//!   ([`Halo2Verifier::new`]); [`vk_hash`] names it (SHA-256 of its pinned description).
//! * Shapes are checked before any cryptography: the parameters' `k` against the circuit's,
//!   the number of public inputs against the statement's.
//!
//! Verification costs an MSM of size `2^k` (IPA): keep customer-facing circuits small.
//!
//! The backend `Halo2Backend` verifies both statements: a round's proofs under keys re-derived
//! from the circuits the bundle names ([`crate::solvency::Halo2Circuits`]), and a KYC
//! presentation under the KYC circuit's derived key ([`kyc`]). Parameters come from a
//! [`ParamsSource`]: [`Generate`] (in memory), a [`ParamsCache`] on disk, or
//! [`SuppliedParams`]: bytes handed over by someone else (a browser fetches them), accepted
//! only if they hash to the pinned [`PINNED_PARAMS_SHA256`] of their `k`.

mod cache;
pub mod kyc;
mod pinned;
pub(crate) mod solvency;

pub use cache::ParamsCache;
pub use pinned::{
    params_from_pinned_bytes, pinned_params_sha256, SuppliedParams, PINNED_PARAMS_MAX_K,
    PINNED_PARAMS_SHA256,
};

use crate::dispatch::{Presentation, RoundProof, VerifyingBackend};
use crate::kyc::{KycOptions, KycVerifyError, VerifiedPresentation};
use crate::solvency::{CheckedConfig, RoundBundle, RoundOptions, Section};
use crate::{Backend, VerifyError};

use assay_circuits::halo2::Fp;
use halo2_proofs::{
    plonk::{keygen_vk, verify_proof, Circuit, SingleVerifier, VerifyingKey},
    poly::commitment::Params,
    transcript::{Blake2bRead, Challenge255},
};
use sha2::{Digest, Sha256};
use std::io;

/// The commitment curve: Vesta, whose scalar field is Pasta `Fp`.
pub type Curve = pasta_curves::vesta::Affine;

/// IPA parameters for `2^k` rows.
pub type Halo2Params = Params<Curve>;

/// A Halo2 verifying key.
pub type Halo2VerifyingKey = VerifyingKey<Curve>;

/// The smallest and largest `k` Assay accepts (`Params::new(24)` would take hours here).
pub const K_RANGE: std::ops::RangeInclusive<u32> = 4..=24;

/// The largest `k` a Halo2 round may need by default ([`RoundOptions::halo2_max_k`]): 2^20
/// rows covers batches of 1,024 users of 4 assets in every layout; a verifier that expects larger
/// rounds raises it knowingly (parameters and keys for `k` take time and memory in `2^k`).
///
/// [`RoundOptions::halo2_max_k`]: crate::solvency::RoundOptions::halo2_max_k
pub const DEFAULT_HALO2_MAX_K: u32 = 20;

/// Why Halo2 verification (or the preparation for it) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Halo2Error {
    /// `k` outside [`K_RANGE`].
    #[error("k = {0} is outside {min}..={max}", min = K_RANGE.start(), max = K_RANGE.end())]
    BadK(u32),
    /// The parameters were generated for another `k` than the circuit's.
    #[error("the IPA parameters are for k = {params}, this circuit needs k = {expected}: regenerate them with Params::new({expected})")]
    ParamsK {
        /// The parameters' `k`.
        params: u32,
        /// The circuit's `k`.
        expected: u32,
    },
    /// The number of public inputs does not match the statement.
    #[error("expected {expected} public inputs, got {got}")]
    PublicInputs {
        /// What the statement has.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The circuit could not be laid out (e.g. it does not fit in `2^k` rows).
    #[error("cannot derive the key: {0}")]
    Keygen(String),
    /// The proof does not verify against these public inputs and key.
    #[error("invalid: the proof does not verify against these public inputs ({0})")]
    InvalidProof(String),
    /// Parameters could not be read or written.
    #[error("parameters I/O: {0}")]
    Io(String),
    /// Supplied parameter bytes are not the pinned parameters of their `k`
    /// ([`PINNED_PARAMS_SHA256`]): altered, truncated or made otherwise.
    #[error("the IPA parameters given for k = {k} ({len} bytes, SHA-256 {found}) are not the pinned parameters of k = {k} (SHA-256 {pinned}): refused")]
    ParamsHash {
        /// The `k` they were given for.
        k: u32,
        /// Their length in bytes.
        len: usize,
        /// Their SHA-256 (hex).
        found: String,
        /// The pinned SHA-256 (hex).
        pinned: String,
    },
    /// No pinned hash for this `k` (above [`PINNED_PARAMS_MAX_K`]): supplied parameters of
    /// this size are not accepted.
    #[error("no IPA parameters are pinned for k = {0} (pinned: k <= {max}): a round needing them is refused by this verifier", max = PINNED_PARAMS_MAX_K)]
    UnpinnedK(u32),
    /// The round needs parameters for a `k` that were not supplied.
    #[error("no IPA parameters were given for k = {0}")]
    MissingParams(u32),
}

/// `Params::new(k)`: deterministic, transparent.
///
/// # Errors
/// [`Halo2Error::BadK`] outside [`K_RANGE`].
pub fn params(k: u32) -> Result<Halo2Params, Halo2Error> {
    if !K_RANGE.contains(&k) {
        return Err(Halo2Error::BadK(k));
    }
    Ok(Params::new(k))
}

/// Reads parameters written by [`write_params`]. The file's leading `k` (u32, little-endian)
/// is checked against [`K_RANGE`] before anything else is read: `Params::read` computes
/// `1 << k` unchecked, so a garbled `k` of 64 or more panicked (found by the fuzz target
/// `halo2_params`, `fuzz/crashes/halo2_params/`).
///
/// # Errors
/// [`Halo2Error::BadK`] for a `k` outside [`K_RANGE`]; [`Halo2Error::Io`] on a short or
/// malformed input.
pub fn read_params(reader: &mut impl io::Read) -> Result<Halo2Params, Halo2Error> {
    let mut k = [0u8; 4];
    reader
        .read_exact(&mut k)
        .map_err(|e| Halo2Error::Io(e.to_string()))?;
    let file_k = u32::from_le_bytes(k);
    if !K_RANGE.contains(&file_k) {
        return Err(Halo2Error::BadK(file_k));
    }
    Params::read(&mut io::Read::chain(&k[..], reader)).map_err(|e| Halo2Error::Io(e.to_string()))
}

/// Writes parameters (about `2^k * 32` bytes).
///
/// # Errors
/// [`Halo2Error::Io`] from the writer.
pub fn write_params(params: &Halo2Params, writer: &mut impl io::Write) -> Result<(), Halo2Error> {
    params
        .write(writer)
        .map_err(|e| Halo2Error::Io(e.to_string()))
}

/// Where IPA parameters come from: regenerated ([`Generate`]) or read from a cache the caller
/// keeps (the prover's on-disk cache, say). Parameters are public and deterministic, so a
/// cache can only be wrong by being corrupt, which [`Params::read`] or the `k` check catches.
pub trait ParamsSource: std::fmt::Debug + Sync {
    /// The parameters for `2^k` rows.
    ///
    /// # Errors
    /// [`Halo2Error::BadK`] outside [`K_RANGE`], or the source's own failure.
    fn params(&self, k: u32) -> Result<Halo2Params, Halo2Error>;
}

/// Regenerates parameters with [`params`] every time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Generate;

impl ParamsSource for Generate {
    fn params(&self, k: u32) -> Result<Halo2Params, Halo2Error> {
        params(k)
    }
}

/// SHA-256 of the verifying key's pinned description (domain, fixed commitments, permutation,
/// constraint system): equal keys, equal hashes.
pub fn vk_hash(vk: &Halo2VerifyingKey) -> [u8; 32] {
    Sha256::digest(format!("{:?}", vk.pinned()).as_bytes()).into()
}

/// A verifier for one circuit shape: its parameters, its verifying key, its `k` and its
/// number of public inputs.
#[derive(Debug)]
pub struct Halo2Verifier {
    params: Halo2Params,
    vk: Halo2VerifyingKey,
    num_public: usize,
}

impl Halo2Verifier {
    /// Derives the verifying key of `blank` (a circuit without witness) for `2^k` rows.
    ///
    /// # Errors
    /// [`Halo2Error::ParamsK`] if `params` are not for `k`; [`Halo2Error::Keygen`] if the
    /// circuit does not fit.
    pub fn new<C: Circuit<Fp>>(
        params: Halo2Params,
        blank: &C,
        k: u32,
        num_public: usize,
    ) -> Result<Self, Halo2Error> {
        if params.k() != k {
            return Err(Halo2Error::ParamsK {
                params: params.k(),
                expected: k,
            });
        }
        let vk = keygen_vk(&params, blank).map_err(|e| Halo2Error::Keygen(format!("{e:?}")))?;
        Ok(Self {
            params,
            vk,
            num_public,
        })
    }

    /// The verifying key.
    pub fn vk(&self) -> &Halo2VerifyingKey {
        &self.vk
    }

    /// The parameters' `k`.
    pub fn k(&self) -> u32 {
        self.params.k()
    }

    /// Verifies `proof` against `public` (the instance column, in the statement's order).
    ///
    /// # Errors
    /// [`Halo2Error::PublicInputs`] on a wrong count (checked first);
    /// [`Halo2Error::InvalidProof`] otherwise.
    pub fn verify(&self, public: &[Fp], proof: &[u8]) -> Result<(), Halo2Error> {
        if public.len() != self.num_public {
            return Err(Halo2Error::PublicInputs {
                expected: self.num_public,
                got: public.len(),
            });
        }
        let mut transcript = Blake2bRead::<_, Curve, Challenge255<Curve>>::init(proof);
        let strategy = SingleVerifier::new(&self.params);
        verify_proof(
            &self.params,
            &self.vk,
            strategy,
            &[&[public]],
            &mut transcript,
        )
        .map_err(|e| Halo2Error::InvalidProof(format!("{e:?}")))
    }
}

/// The Halo2 (IPA over Pasta) backend of the verifier (see the module notes).
pub(crate) struct Halo2Backend;

impl VerifyingBackend for Halo2Backend {
    const BACKEND: Backend = Backend::Halo2;
    type F = Fp;
    type RoundKeys = solvency::Halo2Keys;
    const KYC_KEY: &'static str =
        "the KYC circuit's verifying key, re-derived from the public circuit (no setup)";

    fn open_round(
        b: &RoundBundle,
        section: Section<'_>,
        cfg: &CheckedConfig<Fp>,
        opts: &RoundOptions<'_>,
    ) -> Result<Self::RoundKeys, VerifyError> {
        solvency::Halo2Keys::open(b, section, cfg, opts)
    }

    fn verify_round_proofs(
        keys: &Self::RoundKeys,
        proofs: &[&RoundProof<'_, Fp>],
    ) -> Result<(), VerifyError> {
        for p in proofs {
            keys.verify(p.entry, &p.inputs, p.circuit, &p.what)?;
        }
        Ok(())
    }

    fn verify_kyc(
        p: &Presentation<'_>,
        opts: &KycOptions<'_>,
    ) -> Result<VerifiedPresentation, KycVerifyError> {
        kyc::verify_opts(p, opts, Self::KYC_KEY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_params_refuses_a_garbled_k_without_panicking() {
        let mut good = Vec::new();
        write_params(&params(4).unwrap(), &mut good).unwrap();
        assert_eq!(read_params(&mut good.as_slice()).unwrap().k(), 4);
        // The fuzzer's crash: k = 259 (`1 << 259` overflowed inside `Params::read`).
        for k in [259u32, 64, u32::MAX, 0, 3, 25] {
            let mut bad = good.clone();
            bad[..4].copy_from_slice(&k.to_le_bytes());
            assert!(
                matches!(read_params(&mut bad.as_slice()), Err(Halo2Error::BadK(x)) if x == k),
                "k = {k}"
            );
        }
        // Short inputs: an error naming the read, before and after the `k`.
        for len in [0, 3, 4, 100, good.len() - 1] {
            assert!(
                matches!(read_params(&mut &good[..len]), Err(Halo2Error::Io(_))),
                "length {len}"
            );
        }
    }
}
