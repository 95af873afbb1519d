//! Groth16 over BN254: decoding keys and proofs from hex, and verification.
//!
//! Keys and proofs travel as lower-case hex of arkworks' compressed canonical serialization
//! (a proof is 128 bytes). Decoding validates every point: on the curve and in the prime-order
//! subgroup, so a point off the curve is a [`FormatError`], never a panic. A key is named by
//! the SHA-256 of its bytes.
//!
//! The backend `Groth16Backend` verifies both statements: a round's proofs under the keys the
//! bundle carries (checked by hash, and each against the key a pinned [`manifest`] names for
//! the proof's circuit, unless the caller explicitly trusts the bundle's keys) and a KYC
//! presentation under the issuer's verifying key.

mod batch;
mod cache;
mod kyc;
pub mod manifest;
mod solvency;

pub use batch::{verify_all, Claim, Key};
pub use manifest::{KeyManifest, TrustedKeys, TrustedManifest};

use crate::dispatch::{Presentation, RoundProof, VerifyingBackend};
use crate::kyc::{KycOptions, KycVerifyError, VerifiedPresentation};
use crate::solvency::{CheckedConfig, RoundBundle, RoundOptions, Section};
use crate::{Backend, FormatError, VerifyError};
use ark_bn254::Bn254;
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use assay_circuits::Fr;

/// The size of a compressed Groth16 proof on BN254.
pub const PROOF_BYTES: usize = 128;

fn decode_hex(s: &str, field: &str) -> Result<Vec<u8>, FormatError> {
    hex::decode(s).map_err(|e| FormatError::field(field, format!("not hex: {e}")))
}

/// Decodes a verifying key from hex, checking every point.
///
/// # Errors
/// [`FormatError::Field`] naming `field` for bad hex, truncation, or an invalid point.
pub fn decode_vk(s: &str, field: &str) -> Result<VerifyingKey<Bn254>, FormatError> {
    decode_vk_with(s, field, Validate::Yes)
}

/// Decodes a verifying key whose bytes the caller has pinned to a trusted setup's output (by
/// their SHA-256, against a key manifest): every point is decompressed, hence on its curve
/// (BN254's G1 has no cofactor, so its points are in the group), but the G2 points'
/// membership in the prime-order subgroup is not re-checked: the setup that made the key
/// vouches for it as it vouches for the key (whoever made the key can forge proofs anyway).
/// About a fifth of a customer's one-shot check is saved. Never use it on a key the checked
/// party chose.
///
/// # Errors
/// As [`decode_vk`], except for subgroup membership.
pub(crate) fn decode_pinned_vk(s: &str, field: &str) -> Result<VerifyingKey<Bn254>, FormatError> {
    decode_vk_with(s, field, Validate::No)
}

fn decode_vk_with(
    s: &str,
    field: &str,
    validate: Validate,
) -> Result<VerifyingKey<Bn254>, FormatError> {
    let bytes = decode_hex(s, field)?;
    let mut r = bytes.as_slice();
    let vk = VerifyingKey::<Bn254>::deserialize_with_mode(&mut r, Compress::Yes, validate)
        .map_err(|e| FormatError::field(field, format!("not a valid verifying key: {e}")))?;
    if !r.is_empty() {
        return Err(FormatError::field(
            field,
            format!("{} trailing bytes after the key", r.len()),
        ));
    }
    if vk.gamma_abc_g1.is_empty() {
        return Err(FormatError::field(
            field,
            "a verifying key needs at least one input point",
        ));
    }
    Ok(vk)
}

/// Decodes a proof from hex (exactly [`PROOF_BYTES`] bytes), checking every point.
///
/// # Errors
/// [`FormatError::Field`] naming `field` for bad hex, a wrong length, or an invalid point.
pub fn decode_proof(s: &str, field: &str) -> Result<Proof<Bn254>, FormatError> {
    let bytes = decode_hex(s, field)?;
    if bytes.len() != PROOF_BYTES {
        return Err(FormatError::field(
            field,
            format!("a proof is {PROOF_BYTES} bytes, this one {}", bytes.len()),
        ));
    }
    Proof::<Bn254>::deserialize_with_mode(bytes.as_slice(), Compress::Yes, Validate::Yes)
        .map_err(|e| FormatError::field(field, format!("not a valid proof: {e}")))
}

/// Hex of a key's compressed bytes.
pub fn encode_vk(vk: &VerifyingKey<Bn254>) -> String {
    let mut out = Vec::new();
    // Serializing into a Vec cannot fail.
    vk.serialize_compressed(&mut out).expect("writing to a Vec");
    hex::encode(out)
}

/// Hex of a proof's compressed bytes.
pub fn encode_proof(p: &Proof<Bn254>) -> String {
    let mut out = Vec::new();
    // Serializing into a Vec cannot fail.
    p.serialize_compressed(&mut out).expect("writing to a Vec");
    hex::encode(out)
}

/// The name of a key: SHA-256 of its hex-decoded bytes, in hex.
pub fn vk_hash_of_hex(vk_hex: &str) -> Result<String, FormatError> {
    Ok(crate::sha256_hex(&decode_hex(vk_hex, "verifying key")?))
}

/// The Groth16/BN254 backend of the verifier (see the module notes).
pub(crate) struct Groth16Backend;

impl VerifyingBackend for Groth16Backend {
    const BACKEND: Backend = Backend::Groth16;
    type F = Fr;
    type RoundKeys = solvency::Groth16Keys;
    const KYC_KEY: &'static str = "the issuer's verifying key";

    fn open_round(
        b: &RoundBundle,
        _section: Section<'_>,
        cfg: &CheckedConfig<Fr>,
        opts: &RoundOptions<'_>,
    ) -> Result<Self::RoundKeys, VerifyError> {
        refuse_chain_v1(b)?;
        solvency::Groth16Keys::open(b, cfg, opts)
    }

    fn verify_round_proofs(
        keys: &Self::RoundKeys,
        proofs: &[&RoundProof<'_, Fr>],
    ) -> Result<(), VerifyError> {
        keys.verify_all(proofs)
    }

    fn verify_kyc(
        p: &Presentation<'_>,
        opts: &KycOptions<'_>,
    ) -> Result<VerifiedPresentation, KycVerifyError> {
        check_issuer_key(&opts.groth16_keys, &p.issuer.vk_hash)?;
        kyc::verify(p, Self::KYC_KEY)
    }
}

/// Refuses a Groth16 presentation whose issuer key no pinned manifest names for the KYC
/// circuit (issue 11, defect 5: an issuer that made its own keys can forge presentations).
fn check_issuer_key(trusted: &TrustedKeys<'_>, vk_hash: &str) -> Result<(), KycVerifyError> {
    if matches!(trusted, TrustedKeys::Manifests(ms) if ms.is_empty()) {
        return Err(KycVerifyError::UntrustedKey(format!(
            "{vk_hash} (the issuer's Groth16 key): no key manifest is pinned; give the setup's \
             manifest (--trusted-keys MANIFEST.json, from `assay solvency setup --kyc`), or \
             knowingly trust the issuer's own key (--insecure-trust-issuer-keys)"
        )));
    }
    trusted
        .check(
            vk_hash,
            manifest::KYC_SHAPE,
            "the issuer's KYC presentations",
        )
        .map_err(|e| KycVerifyError::UntrustedKey(e.to_string()))
}

/// Bundles before version 3 hashed leaves and sum commitments of `11, 22, 33, ...` assets with
/// Poseidon chain v1, whose last call has the Merkle node's arity (no domain separation between
/// a leaf and a node; issue 11, defect 7). Such a round cannot be checked with this build's
/// hashes and is refused by name; every other asset count hashes identically in v1 and v3.
fn refuse_chain_v1(b: &RoundBundle) -> Result<(), VerifyError> {
    let k = b.config.assets.len();
    if b.version < 3 && k.is_multiple_of(assay_circuits::poseidon::MAX_ARITY - 1) {
        return Err(VerifyError::Structure(format!(
            "bundle version {} with {k} assets: its leaves were hashed with Poseidon chain v1, \
             which ends in the Merkle node's arity (no domain separation); re-prove the round \
             with bundle version 3",
            b.version
        )));
    }
    Ok(())
}
