//! Verification of Halo2 KYC presentations (backend [`BACKEND_HALO2`]).
//!
//! Re-exported as `assay_verifier::kyc::halo2`.
//!
//! The circuit is [`KycHalo2Circuit`] with the [`Compact`] tuning at `k =`
//! [`kyc_k`]. There is no setup: the verifying key is derived from the public circuit and the
//! deterministic IPA parameters ([`crate::halo2::params`]), so a relying party needs nothing
//! from the issuer but its signed epoch, which carries the Halo2 registry root (its `roots` entry `halo2-ipa-pasta`).

use crate::dispatch::Presentation;
use crate::halo2::{params, vk_hash, Halo2Error, Halo2Params, Halo2Verifier};
use crate::kyc::{
    check_label, epoch_root,
    formats::{Challenge, Epoch, IssuerPublic, KycProof, Policy, BACKEND_HALO2},
    presentation_checks, verified, KycOptions, KycVerifyError, VerifiedPresentation,
};
use crate::Backend;
use assay_circuits::{
    field::from_decimal,
    halo2::Fp,
    kyc::{
        halo2::{Compact, KycHalo2Circuit},
        NUM_PUBLIC_INPUTS,
    },
};
use std::sync::OnceLock;

/// The `k` of the KYC Halo2 circuit (`2^k` rows).
pub fn kyc_k() -> u32 {
    KycHalo2Circuit::<Compact>::min_k()
}

/// The verifier of the KYC Halo2 circuit for `params` (which must be for [`kyc_k`]).
///
/// # Errors
/// [`Halo2Error::ParamsK`] for parameters of another `k`.
pub fn kyc_verifier(params: Halo2Params) -> Result<Halo2Verifier, Halo2Error> {
    Halo2Verifier::new(
        params,
        &KycHalo2Circuit::<Compact>::blank(),
        kyc_k(),
        NUM_PUBLIC_INPUTS,
    )
}

/// The hex SHA-256 of the KYC Halo2 verifying key, as written in a proof's `vk_hash`.
pub fn kyc_vk_hash(verifier: &Halo2Verifier) -> String {
    hex::encode(vk_hash(verifier.vk()))
}

/// A process-wide verifier from parameters generated in memory (callers that cache the
/// parameters on disk use [`verify_with`] instead).
///
/// # Errors
/// [`KycVerifyError::Backend`] if the key cannot be derived.
pub fn default_verifier() -> Result<&'static Halo2Verifier, KycVerifyError> {
    static V: OnceLock<Result<Halo2Verifier, Halo2Error>> = OnceLock::new();
    V.get_or_init(|| kyc_verifier(params(kyc_k())?))
        .as_ref()
        .map_err(|e| KycVerifyError::Backend(format!("{BACKEND_HALO2}: {e}")))
}

/// Verifies a Halo2 presentation with `verifier` (see [`crate::kyc::verify`] for the checks).
///
/// # Errors
/// The first failed check.
#[allow(clippy::too_many_arguments)]
pub fn verify_with(
    proof: &KycProof,
    epoch: &Epoch,
    published: &crate::kyc::formats::PublishedEpochs,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    now: i64,
    verifier: &Halo2Verifier,
) -> Result<VerifiedPresentation, KycVerifyError> {
    if proof.backend != BACKEND_HALO2 {
        return Err(KycVerifyError::Backend(format!(
            "the proof is for `{}`, this verifier checks {BACKEND_HALO2}",
            proof.backend
        )));
    }
    let p = Presentation {
        proof,
        epoch,
        published,
        issuer,
        policy,
        challenge,
        now,
    };
    check_label(&p, Backend::Halo2)?;
    verify_presentation(
        &p,
        verifier,
        <super::Halo2Backend as crate::dispatch::VerifyingBackend>::KYC_KEY,
    )
}

/// The verifier of the KYC circuit: from `opts`' parameters if given, else the process-wide
/// [`default_verifier`].
pub(crate) fn verify_opts(
    p: &Presentation<'_>,
    opts: &KycOptions<'_>,
    key: &'static str,
) -> Result<VerifiedPresentation, KycVerifyError> {
    match opts.halo2_params {
        Some(source) => {
            let v = source
                .params(kyc_k())
                .and_then(kyc_verifier)
                .map_err(|e| KycVerifyError::Backend(format!("{BACKEND_HALO2}: {e}")))?;
            verify_presentation(p, &v, key)
        }
        None => verify_presentation(p, default_verifier()?, key),
    }
}

/// Checks 1 to 8 for a presentation whose label was checked.
fn verify_presentation(
    p: &Presentation<'_>,
    verifier: &Halo2Verifier,
    key: &'static str,
) -> Result<VerifiedPresentation, KycVerifyError> {
    let (proof, epoch) = (p.proof, p.epoch);
    // Shapes first, before any cryptography.
    let bytes = hex::decode(&proof.proof)
        .map_err(|e| KycVerifyError::MalformedProof(format!("not hex: {e}")))?;
    if bytes.is_empty() || bytes.len() > 1 << 16 {
        return Err(KycVerifyError::MalformedProof(format!(
            "{} bytes is not the size of a KYC Halo2 proof",
            bytes.len()
        )));
    }
    let inputs = presentation_checks::<Fp>(p, || {
        let r = epoch_root(epoch, Backend::Halo2).ok_or_else(|| {
            KycVerifyError::Backend(format!(
                "epoch {} publishes no {BACKEND_HALO2} registry root (the issuer does not \
                 support Halo2, or the epoch predates it)",
                epoch.epoch
            ))
        })?;
        from_decimal::<Fp>(r).ok_or_else(|| {
            crate::kyc::formats::FormatError::Field {
                what: "epoch",
                field: "roots",
                message: format!("`{r}` is not a Pasta field element"),
            }
            .into()
        })
    })?;
    // 7. The key: derived from the public circuit, not published by the issuer.
    let expected = kyc_vk_hash(verifier);
    if proof.vk_hash != expected {
        return Err(KycVerifyError::VerifyingKey {
            proof: proof.vk_hash.clone(),
            issuer: expected,
        });
    }
    // 8. The proof.
    verifier
        .verify(&inputs.public.to_inputs(), &bytes)
        .map_err(|e| {
            KycVerifyError::Halo2Proof(match e {
                // The reason alone: the variant already says the proof does not verify.
                Halo2Error::InvalidProof(why) => why,
                other => other.to_string(),
            })
        })?;
    Ok(verified(p, &inputs, Backend::Halo2, key))
}
