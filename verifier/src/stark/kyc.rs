//! Verification of STARK KYC presentations (backend `stark-koalabear-poseidon2`, feature
//! `stark`): the KYC AIR of `assay_circuits::kyc::stark` under the pinned [`STARK_PARAMS`].
//!
//! The presentation is the same `PROOF.json` as on the other backends; its digests (`R`, `P`,
//! `nf`) are written as [`digest_text`] (`docs/formats.md`), its `vk_hash` names the AIR and
//! its parameters ([`kyc_air_id`]: the STARK has no keys), its `proof` is the hex of the
//! postcard proof bytes. A relying party checks it with [`crate::kyc::verify`], which runs
//! checks 1 to 6 of [`crate::kyc`] as on every backend, then here: 7. the proof names this
//! AIR; 8. the proof verifies for the 42 public values **the relying party derives itself**:
//! `R` the epoch's STARK root, `P` the root of its own policy file over KoalaBear, `today` its
//! own day, `scope` and `challenge` the digests of its own challenge's scope and nonce; only
//! the nullifier `nf` comes from the presentation (it is what the proof establishes).
//! Shapes are checked before the proof reaches Plonky3 (whose verifier can panic on malformed
//! input): the hex, the size, then the decoded proof's degree, widths and FRI shape
//! (`assay_circuits`' `verify_air`), so bad input is an error with a reason.

use crate::dispatch::Presentation;
use crate::kyc::formats::{field_err, FormatError, LeavesEntry, PathEntry, Policy};
use crate::kyc::stark_text::{digest_decimal, parse_digest_decimal};
use crate::kyc::{checks_1_to_6, time, verified_on, KycVerifyError, VerifiedPresentation};
use crate::Backend;
use assay_circuits::kyc::stark::{
    challenge_digest, scope_digest, verify_kyc, KycStarkPublic, StarkPolicyTree, StarkRegistry,
    EMPTY, KYC_LOG_HEIGHT, KYC_PUBLIC_VALUES, KYC_WIDTH,
};
use assay_circuits::solvency::stark::{Digest, StarkError, Val, DIGEST_ELEMS, STARK_PARAMS};
use p3_field::{PrimeCharacteristicRing, PrimeField32};

/// What a valid STARK presentation verified under, in words.
pub const KYC_KEY: &str = "the KYC AIR and the pinned STARK parameters (no keys)";

/// The largest proof accepted, in bytes (a KYC proof is about 125 kB).
pub const MAX_PROOF_BYTES: usize = 1 << 20;

/// A digest's text in the KYC formats: [`crate::kyc::stark_text`].
pub fn digest_text(d: &Digest) -> String {
    digest_decimal(&d.map(|v| v.as_canonical_u32()))
}

/// Parses [`digest_text`].
///
/// # Errors
/// [`FormatError::Field`] naming the document and field.
pub fn parse_digest_text(
    s: &str,
    what: &'static str,
    field: &'static str,
) -> Result<Digest, FormatError> {
    let w = parse_digest_decimal(s).ok_or_else(|| {
        field_err(
            what,
            field,
            format!("`{s}` is not a STARK digest (the decimal of 8 KoalaBear elements)"),
        )
    })?;
    Ok(w.map(Val::from_u32))
}

/// The identifier a STARK presentation names as its `vk_hash`: the hex SHA-256 of
/// `"assay/kyc/stark-air/v1\0"` followed by the AIR's trace width, `log2` height and number of
/// public values and the pinned FRI parameters (each as u64 big-endian). It names the
/// statement's shape and parameters, so that a proof of another AIR or under other parameters
/// is refused with that reason before verification; the verification itself always runs this
/// build's AIR with [`STARK_PARAMS`].
pub fn kyc_air_id() -> String {
    let p = super::params_section(&STARK_PARAMS);
    let mut m = b"assay/kyc/stark-air/v1\0".to_vec();
    for v in [
        KYC_WIDTH,
        KYC_LOG_HEIGHT,
        KYC_PUBLIC_VALUES,
        p.log_blowup,
        p.num_queries,
        p.query_pow_bits,
        p.commit_pow_bits,
        p.num_random_codewords,
        p.ood_pow_bits,
        p.batch_pow_bits,
    ] {
        m.extend_from_slice(&(v as u64).to_be_bytes());
    }
    crate::kyc::formats::sha256_hex(&m)
}

/// The relying party's policy as the STARK's policy tree (the same keys as on the other
/// backends, hashed with Poseidon2 over KoalaBear).
///
/// # Errors
/// [`FormatError`] for a bad code or a list too large.
pub fn policy_tree(policy: &Policy) -> Result<StarkPolicyTree, FormatError> {
    StarkPolicyTree::from_jurisdictions(&policy.jurisdictions()?)
        .map_err(|e| field_err("policy", "regions", e.to_string()))
}

/// Parses a registry's leaves ([`digest_text`], `0` for empty).
///
/// # Errors
/// [`FormatError`] naming the bad leaf.
pub fn parse_leaves(leaves: &[String]) -> Result<Vec<Digest>, FormatError> {
    leaves
        .iter()
        .map(|l| parse_digest_text(l, "leaves", "leaves"))
        .collect()
}

/// The path of `serial` in the STARK registry of `e`, checked against its root; `None` if the
/// leaf is empty (revoked, or issued without a STARK commitment).
pub(crate) fn path_in(e: &LeavesEntry, serial: u64) -> Result<Option<PathEntry>, FormatError> {
    let reg = StarkRegistry::new(parse_leaves(&e.leaves)?);
    if reg.root() != parse_digest_text(&e.root, "leaves", "root")? {
        return Err(field_err(
            "leaves",
            "root",
            "the STARK leaves do not hash to the root",
        ));
    }
    if reg.leaf(serial) == EMPTY {
        return Ok(None);
    }
    Ok(Some(PathEntry {
        root: e.root.clone(),
        siblings: reg.path(serial).iter().map(digest_text).collect(),
    }))
}

/// Checks 1 to 8 of [`crate::kyc`] for a presentation labelled STARK (the label was already
/// checked against the epoch's roots).
pub(crate) fn verify(p: &Presentation<'_>) -> Result<VerifiedPresentation, KycVerifyError> {
    let (proof, epoch, policy, challenge) = (p.proof, p.epoch, p.policy, p.challenge);
    // Shapes first, before any cryptography.
    if proof.proof.len() > 2 * MAX_PROOF_BYTES {
        return Err(KycVerifyError::MalformedProof(format!(
            "{} hex digits, a KYC STARK proof has at most {MAX_PROOF_BYTES} bytes",
            proof.proof.len()
        )));
    }
    let bytes = hex::decode(&proof.proof)
        .map_err(|e| KycVerifyError::MalformedProof(format!("not hex: {e}")))?;
    if bytes.is_empty() {
        return Err(KycVerifyError::MalformedProof("no proof bytes".into()));
    }
    // Everything the relying party derives itself, parsed before any check (bad input first).
    p.issuer.key()?;
    p.epoch.fields()?;
    let cf = challenge.fields()?;
    let pi = &proof.public_inputs;
    let proof_r = parse_digest_text(&pi.registry_root, "proof", "public_inputs.registry_root")?;
    let proof_p = parse_digest_text(&pi.policy_root, "proof", "public_inputs.policy_root")?;
    let nullifier = parse_digest_text(&pi.nullifier, "proof", "public_inputs.nullifier")?;
    let proof_nonce = crate::kyc::formats::parse_nonce(&pi.challenge)?;
    let own_p = policy_tree(policy)?.root();
    let scope = scope_digest(&challenge.scope)
        .map_err(|e| field_err("challenge", "scope", e.to_string()))?;
    let mut own_r = None;
    checks_1_to_6(
        p,
        || {
            let r = epoch.root_for(Backend::Stark).ok_or_else(|| {
                KycVerifyError::Backend(format!(
                    "epoch {} publishes no {} registry root (the issuer does not support the \
                     STARK, or the epoch predates it)",
                    epoch.epoch,
                    Backend::Stark
                ))
            })?;
            let r = parse_digest_text(r, "epoch", "roots")?;
            own_r = Some(r);
            Ok(r == proof_r)
        },
        own_p == proof_p,
        pi.today,
        &proof_nonce,
    )?;
    let registry_root = own_r.ok_or(KycVerifyError::RegistryRoot { epoch: epoch.epoch })?;
    // 7. The AIR and parameters the proof names.
    let expected = kyc_air_id();
    if proof.vk_hash != expected {
        return Err(KycVerifyError::Air {
            proof: proof.vk_hash.clone(),
            expected,
        });
    }
    // 8. The proof, for the public values the relying party derived (checks 3 to 6 showed the
    // presentation's own values equal them; they are not used).
    let today = u64::try_from(time::day_of(p.now)).map_err(|_| KycVerifyError::Today {
        proof_day: pi.today,
        today: time::day_of(p.now),
    })?;
    let public = KycStarkPublic {
        registry_root,
        policy_root: own_p,
        today,
        scope,
        challenge: challenge_digest(&cf.nonce),
        nullifier,
    };
    verify_kyc(&bytes, &public).map_err(|e| match e {
        StarkError::Rejected(why) => KycVerifyError::StarkProof(why),
        other => KycVerifyError::MalformedProof(other.to_string()),
    })?;
    Ok(verified_on(p, today, Backend::Stark, KYC_KEY))
}

/// The zero digest's text (an empty registry leaf).
pub fn empty_leaf_text() -> String {
    digest_text(&[Val::ZERO; DIGEST_ELEMS])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_air_id_is_stable_and_digests_round_trip() {
        assert_eq!(kyc_air_id(), kyc_air_id());
        assert_eq!(kyc_air_id().len(), 64);
        assert_eq!(empty_leaf_text(), "0");
        let d: Digest = core::array::from_fn(|i| Val::from_u32(0x7f00_0000 - i as u32));
        assert_eq!(parse_digest_text(&digest_text(&d), "t", "f").unwrap(), d);
        // The same integer as the rounds' 64 hex digits.
        let hex = super::super::digest_hex(&d);
        let words: [u32; 8] =
            core::array::from_fn(|i| u32::from_str_radix(&hex[8 * i..8 * i + 8], 16).unwrap());
        assert_eq!(digest_decimal(&words), digest_text(&d));
    }
}
