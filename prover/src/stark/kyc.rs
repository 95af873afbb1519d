//! The KYC statement on the STARK (feature `stark`): the issuer's registry over KoalaBear with
//! Poseidon2 (holder commitments, leaves, roots as [`digest_text`]) and the holder's prover
//! ([`StarkKycProver`], the [`KycProver`] of backend `stark-koalabear-poseidon2`).
//!
//! The AIR, its native twin and the proof are `assay_circuits::kyc::stark`; what a relying
//! party checks is `assay_verifier::stark::kyc`. The holder's secret is the same 31 bytes on
//! every backend; on the STARK it becomes 8 elements by `secret_from_bytes`.

use crate::dispatch::KycProver;
use crate::kyc::holder::{check_challenge, presentation_of, HolderFile, ProveInputs};
use crate::kyc::KycError;
use assay_circuits::kyc::jurisdiction::Jurisdiction;
use assay_circuits::kyc::stark::{
    challenge_digest, credential, exact_key, holder_commitment, prove_kyc, scope_digest,
    secret_from_bytes, whole_key, KycStarkContext, KycStarkError, KycStarkWitness, StarkRegistry,
};
use assay_circuits::kyc::REGISTRY_DEPTH;
use assay_circuits::solvency::stark::Digest;
use assay_circuits::{Fr, StatementField};
use assay_verifier::kyc::formats::KycProof;
use assay_verifier::kyc::time;
pub use assay_verifier::stark::kyc::digest_text;
use assay_verifier::stark::kyc::{kyc_air_id, parse_digest_text, parse_leaves, policy_tree};
use assay_verifier::Backend;

/// The holder's secret `sk` (an integer below `2^248`, the 31 random bytes of
/// [`HolderFile::generate`]) as the STARK's 8-element secret.
///
/// # Errors
/// [`KycError::Input`] for a secret of 248 bits or more (not a holder file of this tool).
pub fn stark_secret(sk: Fr) -> Result<Digest, KycError> {
    let le = sk.to_le_bytes();
    if le[31] != 0 {
        return Err(KycError::Input(
            "holder: the secret is not below 2^248 (31 bytes): not usable on the STARK".into(),
        ));
    }
    let mut be = [0u8; 31];
    for (i, b) in be.iter_mut().enumerate() {
        *b = le[30 - i];
    }
    Ok(secret_from_bytes(&be))
}

/// The STARK holder commitment `hid` of `sk` ([`digest_text`]).
///
/// # Errors
/// As [`stark_secret`].
pub fn commitment(sk: Fr) -> Result<String, KycError> {
    Ok(digest_text(&holder_commitment(&stark_secret(sk)?)))
}

/// The STARK registry leaf of the holder commitment `hid` ([`digest_text`]).
///
/// # Errors
/// [`KycError::Input`] if `hid` is not a STARK digest.
pub fn leaf(hid: &str, j: u64, expiry_day: u64, serial: u64) -> Result<String, KycError> {
    let h = parse_digest_text(hid, "holder", "commitment").map_err(|_| {
        KycError::Input(format!(
            "`{hid}` is not a {} holder commitment",
            Backend::Stark
        ))
    })?;
    Ok(digest_text(&credential(&h, j, expiry_day, serial)))
}

/// The root of the STARK registry of `leaves` ([`digest_text`], `0` for empty).
///
/// # Errors
/// [`KycError::Input`] for a leaf that is not a STARK digest.
pub fn root(leaves: &[String]) -> Result<String, KycError> {
    let parsed = parse_leaves(leaves).map_err(|e| KycError::Input(format!("registry: {e}")))?;
    Ok(digest_text(&StarkRegistry::new(parsed).root()))
}

/// The holder's prover on the STARK: no keys, no parameters to load.
#[derive(Debug, Clone, Copy, Default)]
pub struct StarkKycProver;

impl KycProver for StarkKycProver {
    fn backend(&self) -> Backend {
        Backend::Stark
    }

    fn prove(&self, inp: &ProveInputs<'_>, now: i64) -> Result<KycProof, KycError> {
        let (w, ctx) = witness(inp, now)?;
        let (bytes, public) = prove_kyc(&w, &ctx).map_err(|e| match e {
            KycStarkError::Statement(s) => KycError::Statement(s.to_string()),
            KycStarkError::Stark(s) => KycError::Proving(s.to_string()),
        })?;
        let digests = [
            digest_text(&public.registry_root),
            digest_text(&public.policy_root),
            digest_text(&public.nullifier),
        ];
        Ok(presentation_of(
            Backend::Stark.name(),
            kyc_air_id(),
            inp,
            digests,
            public.today,
            &bytes,
        ))
    }
}

/// The holder's STARK witness and the relying party's context, every input checked first (the
/// same checks and messages as the other backends' `holder::witness`).
///
/// # Errors
/// [`KycError::Input`] for inconsistent files (naming the missing STARK field),
/// [`KycError::Statement`] if the holder cannot truthfully prove (restricted jurisdiction,
/// expired credential).
pub fn witness(
    inp: &ProveInputs<'_>,
    now: i64,
) -> Result<(KycStarkWitness, KycStarkContext), KycError> {
    let b = Backend::Stark;
    let bad = KycError::Input;
    let missing = |what: &str| bad(format!("{what} has no {b} field"));
    check_challenge(inp, b)?;
    let holder: &HolderFile = inp.holder;
    let hid = holder.commitment_for(b)?;
    let cred = inp.credential;
    if cred.holder_commitment_for(b) != Some(hid.as_str()) {
        return Err(bad(
            "the credential has no STARK leaf for this holder: it was issued without \
             `--holder-commitment-stark` (ask the issuer for a new credential)"
                .into(),
        ));
    }
    let sk = stark_secret(holder.secret()?)?;
    let jur = Jurisdiction::parse(&cred.jurisdiction)
        .map_err(|e| bad(format!("credential: jurisdiction: {e}")))?;
    let j = jur.packed();
    if Some(leaf(&hid, j, cred.expiry_day, cred.serial)?.as_str()) != cred.leaf_for(b) {
        return Err(bad(
            "credential: the fields do not hash to its STARK leaf".into()
        ));
    }
    if inp.path.serial != cred.serial || inp.path.issuer_id != cred.issuer_id {
        return Err(bad("the path is for another credential".into()));
    }
    if inp.epoch.issuer_id != cred.issuer_id {
        return Err(bad("the epoch is from another issuer".into()));
    }
    let epoch_root = inp.epoch.root_for(b).ok_or_else(|| missing("the epoch"))?;
    if inp.path.root_for(b).ok_or_else(|| missing("the path"))? != epoch_root {
        return Err(bad(format!(
            "the path is not under epoch {} (fetch a fresh path)",
            inp.epoch.epoch
        )));
    }
    let siblings = inp
        .path
        .siblings_for(b)
        .ok_or_else(|| missing("the path"))?
        .iter()
        .map(|s| parse_digest_text(s, "path", "siblings"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if siblings.len() != REGISTRY_DEPTH {
        return Err(bad(format!(
            "path: {} STARK siblings, the registry has depth {REGISTRY_DEPTH}",
            siblings.len()
        )));
    }
    let tree = policy_tree(inp.policy).map_err(|e| bad(e.to_string()))?;
    let exact = tree.non_membership(exact_key(j)).map_err(|_| {
        KycError::Statement(if jur.is_country_only() {
            format!(
                "the credential names only the country {}, and policy `{}` has restricted subdivisions of it",
                jur.code(),
                inp.policy.name
            )
        } else {
            format!("{} is restricted by policy `{}`", jur.code(), inp.policy.name)
        })
    })?;
    let whole = tree.non_membership(whole_key(j)).map_err(|_| {
        KycError::Statement(format!(
            "{} is restricted by policy `{}`",
            jur.country().code(),
            inp.policy.name
        ))
    })?;
    let cf = inp.challenge.fields().map_err(|e| bad(e.to_string()))?;
    let ctx = KycStarkContext {
        today: u64::try_from(time::day_of(now))
            .map_err(|_| bad("the clock is before 1970".into()))?,
        scope: scope_digest(&inp.challenge.scope)
            .map_err(|e| bad(format!("challenge: scope: {e}")))?,
        challenge: challenge_digest(&cf.nonce),
    };
    let w = KycStarkWitness {
        sk,
        jurisdiction: j,
        expiry_day: cred.expiry_day,
        serial: cred.serial,
        registry_path: siblings,
        exact,
        whole,
    };
    // The native twin: an expired credential is refused here with its reason.
    let public = assay_circuits::kyc::stark::kyc_statement(&w, &ctx)
        .map_err(|e| KycError::Statement(e.to_string()))?;
    if digest_text(&public.registry_root) != epoch_root {
        return Err(bad(format!(
            "the path does not lead to the root of epoch {}",
            inp.epoch.epoch
        )));
    }
    Ok((w, ctx))
}

#[cfg(test)]
mod tests;
