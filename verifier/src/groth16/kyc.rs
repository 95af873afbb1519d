//! Groth16 KYC presentations: the proof verifies under the issuer's published verifying key
//! (from the issuer's setup), on the epoch's BN254 registry root.

use crate::dispatch::Presentation;
use crate::kyc::{
    issuer_verifying_key, presentation_checks, verified, KycVerifyError, VerifiedPresentation,
};
use crate::{Backend, VerifyError};
use ark_bn254::Bn254;
use ark_groth16::Proof;
use ark_serialize::CanonicalDeserialize;
use assay_circuits::Fr;

/// Checks 1 to 8 of [`crate::kyc`] for a Groth16 presentation.
pub(crate) fn verify(
    p: &Presentation<'_>,
    key: &'static str,
) -> Result<VerifiedPresentation, KycVerifyError> {
    let (proof, epoch, issuer) = (p.proof, p.epoch, p.issuer);
    // Shapes first, before any cryptography.
    let bytes = hex::decode(&proof.proof)
        .map_err(|e| KycVerifyError::MalformedProof(format!("not hex: {e}")))?;
    if bytes.len() != super::PROOF_BYTES {
        return Err(KycVerifyError::MalformedProof(format!(
            "{} bytes, a compressed Groth16 proof on BN254 has 128",
            bytes.len()
        )));
    }
    let groth = Proof::<Bn254>::deserialize_compressed(&bytes[..])
        .map_err(|e| KycVerifyError::MalformedProof(e.to_string()))?;
    let inputs = presentation_checks::<Fr>(p, || Ok(epoch.root_in::<Fr>(Backend::Groth16)?))?;
    // 7. The verifying key.
    if proof.vk_hash != issuer.vk_hash {
        return Err(KycVerifyError::VerifyingKey {
            proof: proof.vk_hash.clone(),
            issuer: issuer.vk_hash.clone(),
        });
    }
    let vk = issuer_verifying_key(issuer)?;
    // 8. The proof (one Miller loop of four pairs and a final exponentiation: the key is
    // not prepared with a pairing of its own).
    match super::Key::new(&vk).verify(&groth, &inputs.public.to_inputs(), "the KYC proof") {
        Ok(()) => {}
        Err(VerifyError::ProofRejected { .. }) => return Err(KycVerifyError::Proof),
        Err(e) => return Err(KycVerifyError::MalformedProof(e.to_string())),
    }
    Ok(verified(p, &inputs, Backend::Groth16, key))
}
