//! Verification of a KYC presentation (DESIGN §2): what a relying party checks.
//!
//! [`verify`] checks, in this order, and stops at the first failure with its exact reason:
//! 1. the epoch names the issuer and carries the issuer's Ed25519 signature;
//! 2. the epoch is not older than the policy's `max_epoch_age_seconds` (nor in the future);
//! 3. the proof's registry root is the epoch's root;
//! 4. the proof's policy root is the root of the relying party's policy file;
//! 5. the proof's `today` is the current UTC day;
//! 6. the proof answers the relying party's challenge (same scope and nonce, not expired);
//! 7. the proof was made for the issuer's verifying key (Groth16) or for the KYC circuit's
//!    key derived from the deterministic IPA parameters (Halo2);
//! 8. the proof verifies on the public inputs `R, P, today, scope, challenge, nf`.
//!
//! The proof names its backend ([`formats::BACKEND_GROTH16`], [`formats::BACKEND_HALO2`]);
//! `R`, `P` and `nf` are hashes, so each backend has its own: `R` is the epoch's `root` or
//! `root_halo2`, and `P` is recomputed from the policy file over the backend's field. Halo2
//! verification needs the crate feature `halo2` (off in the wasm build, which answers
//! "backend halo2-ipa-pasta is not supported by this build").
//!
//! That the challenge is used once is the relying party's store's business (it records the
//! nonce as spent after a successful verification): this crate holds no state.

pub mod formats;
#[cfg(feature = "halo2")]
pub mod halo2;
pub mod time;

use ark_bn254::Bn254;
use ark_groth16::{Groth16, Proof, VerifyingKey};
use ark_serialize::CanonicalDeserialize;
use ark_snark::SNARK;
use assay_circuits::{Fr, StatementField};
use formats::{
    Challenge, Epoch, IssuerPublic, KycProof, ParsedInputs, Policy, BACKEND_GROTH16, BACKEND_HALO2,
};

/// How far in the future an epoch's time may be (clock skew), in seconds.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// Why a presentation is refused. Every variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KycVerifyError {
    /// A file is malformed (bad input rather than an invalid proof).
    #[error("malformed input: {0}")]
    Format(#[from] formats::FormatError),
    /// The epoch is signed by another issuer, or not at all.
    #[error("epoch signature: {0}")]
    EpochSignature(String),
    /// The epoch is too old (revocations after it would be ignored) or in the future.
    #[error("epoch age: {0}")]
    EpochAge(String),
    /// The proof is for another registry root than the epoch's.
    #[error("registry root: the proof's root is not the root of epoch {epoch}")]
    RegistryRoot {
        /// The epoch number.
        epoch: u64,
    },
    /// The proof is for another policy.
    #[error("policy root: the proof is for another policy than `{policy}`")]
    PolicyRoot {
        /// The relying party's policy name.
        policy: String,
    },
    /// The proof's day is not today.
    #[error("today: the proof is for day {proof_day}, today is day {today} (UTC)")]
    Today {
        /// The day in the proof.
        proof_day: u64,
        /// The verifier's current day.
        today: i64,
    },
    /// The proof does not answer this challenge (scope, nonce or expiry).
    #[error("challenge: {0}")]
    Challenge(String),
    /// The proof was made for another verifying key.
    #[error("verifying key: the proof names key {proof}, the issuer publishes {issuer}")]
    VerifyingKey {
        /// The proof's `vk_hash`.
        proof: String,
        /// The issuer's `vk_hash`.
        issuer: String,
    },
    /// The proof bytes are not a Groth16 proof (truncated, points off the curve).
    #[error("proof: malformed proof bytes: {0}")]
    MalformedProof(String),
    /// The Groth16 verification equation fails.
    #[error("proof: the Groth16 proof does not verify for these public inputs")]
    Proof,
    /// The backend cannot verify here: not compiled in, or the epoch has no root for it.
    #[error("backend {0}")]
    Backend(String),
    /// The Halo2 proof does not verify (including truncated or altered transcripts).
    #[error("proof: the Halo2 proof does not verify for these public inputs ({0})")]
    Halo2Proof(String),
}

impl KycVerifyError {
    /// Whether this is a malformed input (CLI exit code 2) rather than an invalid
    /// presentation (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::Format(_) | Self::MalformedProof(_))
    }
}

/// What a valid presentation establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPresentation {
    /// The holder's nullifier for this scope (decimal): one per person per relying party.
    pub nullifier: String,
    /// The relying party's scope.
    pub scope: String,
    /// The issuer.
    pub issuer_id: String,
    /// The registry epoch.
    pub epoch: u64,
    /// The policy name.
    pub policy: String,
    /// The day (UTC days).
    pub today: u64,
    /// The challenge nonce (hex), for the relying party's store to mark as spent.
    pub nonce: String,
}

/// Reads the issuer's verifying key.
///
/// # Errors
/// [`KycVerifyError::Format`] if it is not hex of a valid key or its hash differs.
pub fn issuer_verifying_key(issuer: &IssuerPublic) -> Result<VerifyingKey<Bn254>, KycVerifyError> {
    let bad = |m: String| formats::FormatError::Field {
        what: "issuer key",
        field: "verifying_key",
        message: m,
    };
    let bytes = hex::decode(&issuer.verifying_key).map_err(|e| bad(e.to_string()))?;
    if formats::sha256_hex(&bytes) != issuer.vk_hash {
        return Err(bad("does not hash to vk_hash".into()).into());
    }
    let vk = VerifyingKey::<Bn254>::deserialize_compressed(&bytes[..])
        .map_err(|e| bad(e.to_string()))?;
    if vk.gamma_abc_g1.len() != assay_circuits::kyc::NUM_PUBLIC_INPUTS + 1 {
        return Err(bad("not a key for the KYC circuit (wrong number of inputs)".into()).into());
    }
    Ok(vk)
}

/// Verifies a presentation at Unix time `now` (see the module notes for the checks), with
/// the backend the proof names.
///
/// # Errors
/// The first failed check, as a [`KycVerifyError`].
pub fn verify(
    proof: &KycProof,
    epoch: &Epoch,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    now: i64,
) -> Result<VerifiedPresentation, KycVerifyError> {
    match proof.backend.as_str() {
        BACKEND_GROTH16 => verify_groth16(proof, epoch, issuer, policy, challenge, now),
        BACKEND_HALO2 => {
            #[cfg(feature = "halo2")]
            {
                let v = halo2::default_verifier()?;
                halo2::verify_with(proof, epoch, issuer, policy, challenge, now, v)
            }
            #[cfg(not(feature = "halo2"))]
            {
                Err(KycVerifyError::Backend(format!(
                    "{BACKEND_HALO2} is not supported by this build"
                )))
            }
        }
        other => Err(formats::FormatError::Field {
            what: "proof",
            field: "backend",
            message: format!(
                "`{other}` is not a backend (expected {BACKEND_GROTH16} or {BACKEND_HALO2})"
            ),
        }
        .into()),
    }
}

/// Checks 1–6 of the module notes over the backend's field `F`, `registry_root` being the
/// epoch's root for that backend; returns the parsed public inputs.
pub(crate) fn presentation_checks<F: StatementField>(
    proof: &KycProof,
    epoch: &Epoch,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    now: i64,
    registry_root: impl FnOnce() -> Result<F, KycVerifyError>,
) -> Result<ParsedInputs<F>, KycVerifyError> {
    let key = issuer.key()?;
    let ef = epoch.fields()?;
    let cf = challenge.fields()?;
    let inputs = proof.public_inputs.parse_in::<F>()?;
    let tree = policy.tree_in::<F>()?;

    // 1. The epoch's signature.
    if epoch.issuer_id != issuer.issuer_id {
        return Err(KycVerifyError::EpochSignature(format!(
            "the epoch is from `{}`, the issuer key is `{}`",
            epoch.issuer_id, issuer.issuer_id
        )));
    }
    if !epoch.verify_signature(&key)? {
        return Err(KycVerifyError::EpochSignature(format!(
            "epoch {} is not signed by the issuer's key",
            epoch.epoch
        )));
    }
    // 2. Its age.
    let age = now - ef.time;
    if age > policy.max_epoch_age_seconds.min(i64::MAX as u64) as i64 {
        return Err(KycVerifyError::EpochAge(format!(
            "epoch {} is {age} s old; the policy accepts at most {} s",
            epoch.epoch, policy.max_epoch_age_seconds
        )));
    }
    if age < -MAX_CLOCK_SKEW_SECONDS {
        return Err(KycVerifyError::EpochAge(format!(
            "epoch {} is dated {} s in the future",
            epoch.epoch, -age
        )));
    }
    // 3. The registry root (of this backend).
    if inputs.public.registry_root != registry_root()? || proof.epoch != epoch.epoch {
        return Err(KycVerifyError::RegistryRoot { epoch: epoch.epoch });
    }
    // 4. The policy root, recomputed over this backend's field.
    if inputs.public.policy_root != tree.root() {
        return Err(KycVerifyError::PolicyRoot {
            policy: policy.name.clone(),
        });
    }
    // 5. Today.
    let today = time::day_of(now);
    if i64::try_from(inputs.public.today).ok() != Some(today) {
        return Err(KycVerifyError::Today {
            proof_day: inputs.public.today,
            today,
        });
    }
    // 6. The challenge.
    if proof.public_inputs.scope != challenge.scope {
        return Err(KycVerifyError::Challenge(format!(
            "the proof is for scope `{}`, the challenge for `{}`",
            proof.public_inputs.scope, challenge.scope
        )));
    }
    if inputs.nonce != cf.nonce {
        return Err(KycVerifyError::Challenge(
            "the proof answers another nonce".into(),
        ));
    }
    if now > cf.expires_at {
        return Err(KycVerifyError::Challenge(format!(
            "the challenge expired at {}",
            challenge.expires_at
        )));
    }
    Ok(inputs)
}

/// What a valid presentation establishes, from its checked inputs.
pub(crate) fn verified<F: StatementField>(
    proof: &KycProof,
    epoch: &Epoch,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    inputs: &ParsedInputs<F>,
) -> VerifiedPresentation {
    VerifiedPresentation {
        nullifier: proof.public_inputs.nullifier.clone(),
        scope: challenge.scope.clone(),
        issuer_id: issuer.issuer_id.clone(),
        epoch: epoch.epoch,
        policy: policy.name.clone(),
        today: inputs.public.today,
        nonce: challenge.nonce.clone(),
    }
}

/// The Groth16 path of [`verify`].
fn verify_groth16(
    proof: &KycProof,
    epoch: &Epoch,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    now: i64,
) -> Result<VerifiedPresentation, KycVerifyError> {
    // A Halo2 presentation relabelled: its registry root is the epoch's Pasta root.
    if epoch.root_for(crate::Backend::Halo2) == Some(proof.public_inputs.registry_root.as_str()) {
        return Err(KycVerifyError::Backend(format!(
            "mismatch: the proof's registry root is epoch {}'s {BACKEND_HALO2} root: a Halo2 \
             presentation labelled {BACKEND_GROTH16}",
            epoch.epoch
        )));
    }
    // Shapes first, before any cryptography.
    let bytes = hex::decode(&proof.proof)
        .map_err(|e| KycVerifyError::MalformedProof(format!("not hex: {e}")))?;
    if bytes.len() != 128 {
        return Err(KycVerifyError::MalformedProof(format!(
            "{} bytes, a compressed Groth16 proof on BN254 has 128",
            bytes.len()
        )));
    }
    let groth = Proof::<Bn254>::deserialize_compressed(&bytes[..])
        .map_err(|e| KycVerifyError::MalformedProof(e.to_string()))?;
    let inputs = presentation_checks::<Fr>(proof, epoch, issuer, policy, challenge, now, || {
        Ok(epoch.root_in::<Fr>(crate::Backend::Groth16)?)
    })?;
    // 7. The verifying key.
    if proof.vk_hash != issuer.vk_hash {
        return Err(KycVerifyError::VerifyingKey {
            proof: proof.vk_hash.clone(),
            issuer: issuer.vk_hash.clone(),
        });
    }
    let vk = issuer_verifying_key(issuer)?;
    // 8. The proof.
    let ok = Groth16::<Bn254>::verify(&vk, &inputs.public.to_inputs(), &groth)
        .map_err(|e| KycVerifyError::MalformedProof(e.to_string()))?;
    if !ok {
        return Err(KycVerifyError::Proof);
    }
    Ok(verified(proof, epoch, issuer, policy, challenge, &inputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::{KycPublicInputs, KYC_FORMAT_VERSION};

    fn docs(backend: &str) -> (KycProof, Epoch, IssuerPublic, Policy, Challenge) {
        let s = String::new;
        let proof = KycProof {
            version: KYC_FORMAT_VERSION,
            backend: backend.into(),
            vk_hash: s(),
            issuer_id: s(),
            epoch: 0,
            policy: s(),
            public_inputs: KycPublicInputs {
                registry_root: "1".into(),
                policy_root: "2".into(),
                today: 0,
                scope: "bank-a".into(),
                challenge: "00".repeat(31),
                nullifier: "3".into(),
            },
            proof: "00".into(),
        };
        let epoch = Epoch {
            version: KYC_FORMAT_VERSION,
            issuer_id: s(),
            epoch: 0,
            roots: [(crate::Backend::Groth16, "1".to_string())].into(),
            time: s(),
            prev_epoch_hash: None,
            signature: s(),
        };
        let issuer = IssuerPublic {
            version: KYC_FORMAT_VERSION,
            issuer_id: s(),
            public_key: s(),
            verifying_key: s(),
            vk_hash: s(),
        };
        let policy = Policy {
            version: KYC_FORMAT_VERSION,
            name: "p".into(),
            note: None,
            countries: vec![],
            regions: vec![],
            max_epoch_age_seconds: 1,
        };
        let challenge = Challenge {
            version: KYC_FORMAT_VERSION,
            scope: "bank-a".into(),
            nonce: "00".repeat(31),
            issued_at: s(),
            expires_at: s(),
        };
        (proof, epoch, issuer, policy, challenge)
    }

    #[test]
    fn unknown_backend_is_bad_input() {
        let (p, e, i, pol, c) = docs("plonk-kzg");
        let err = verify(&p, &e, &i, &pol, &c, 0).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains("plonk-kzg"), "{err}");
    }

    /// The wasm build (feature `halo2` off) answers with a reason, not a panic.
    #[cfg(not(feature = "halo2"))]
    #[test]
    fn halo2_proofs_are_refused_by_a_build_without_halo2() {
        let (p, e, i, pol, c) = docs(formats::BACKEND_HALO2);
        let err = verify(&p, &e, &i, &pol, &c, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backend halo2-ipa-pasta is not supported by this build"
        );
        assert!(!err.is_bad_input());
    }

    /// A Halo2 presentation relabelled as Groth16 is refused by name before its bytes are
    /// read as a Groth16 proof.
    #[test]
    fn halo2_root_under_a_groth16_label_is_a_backend_mismatch() {
        let (mut p, mut e, i, pol, c) = docs(BACKEND_GROTH16);
        e.roots.insert(crate::Backend::Halo2, "1".into());
        p.public_inputs.registry_root = "1".into();
        let err = verify(&p, &e, &i, &pol, &c, 0).unwrap_err();
        assert!(matches!(err, KycVerifyError::Backend(_)), "{err}");
        assert!(err.to_string().contains("labelled groth16-bn254"), "{err}");
    }
}
