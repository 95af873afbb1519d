//! Verification of STARK rounds (Plonky3 over KoalaBear with Poseidon2, hiding FRI): feature
//! `stark`.
//!
//! The STARK does not fit [`VerifyingBackend`](crate::dispatch)'s mould (one field element per
//! public input, a Merkle tree of leaves, verifying keys): its digests are 8 KoalaBear elements,
//! a batch root is a hash chain, and there are no keys, only the pinned AIRs and parameters.
//! So the round verifier dispatches on the bundle's backend once
//! ([`verify_round`](crate::solvency::verify_round),
//! [`verify_inclusion_with`](crate::solvency::verify_inclusion_with),
//! [`PreparedRound`](crate::solvency::PreparedRound)) and the STARK's checks live in
//! [`round`]; everything else (configuration, signatures, records' balances) is shared.
//!
//! Encodings (`docs/formats.md`, "STARK rounds"):
//! * a digest is 64 hex digits, its 8 elements each as 8 big-endian hex digits ([`digest_hex`]);
//! * public values are decimal KoalaBear elements, in the AIR's order;
//! * the previous round's SHA-256 becomes a digest by reading its 32 bytes as 8 big-endian
//!   `u32`s, each reduced modulo `p` ([`previous_digest`]); a first round has the zero digest;
//! * a record's salt is its 4 elements in decimal, joined by commas.

pub mod kyc;
pub mod round;

pub use round::inclusion_files;

use crate::solvency::{StarkCircuits, StarkParamsSection};
use crate::FormatError;
use assay_circuits::solvency::stark::{
    Digest, Salt, StarkParams, Val, AGG_PARAMS, BATCH_PARAMS, DIGEST_ELEMS, SALT_ELEMS,
};
use p3_field::{PrimeCharacteristicRing, PrimeField32};

/// KoalaBear's modulus `p = 2^31 - 2^24 + 1`.
pub const MODULUS: u32 = Val::ORDER_U32;

/// A digest as 64 hex digits (8 elements, each 8 big-endian hex digits).
pub fn digest_hex(d: &Digest) -> String {
    d.iter()
        .map(|v| format!("{:08x}", v.as_canonical_u32()))
        .collect()
}

/// Parses [`digest_hex`]'s encoding: 64 lower-case hex digits, every element below `p`.
///
/// # Errors
/// [`FormatError::Field`] naming `field`.
pub fn parse_digest(s: &str, field: &str) -> Result<Digest, FormatError> {
    let bad = |m: &str| FormatError::field(field, format!("{s:?}: {m}"));
    if s.len() != 8 * DIGEST_ELEMS
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad("not a digest (64 lower-case hex digits)"));
    }
    let mut d = [Val::ZERO; DIGEST_ELEMS];
    for (i, e) in d.iter_mut().enumerate() {
        let v = u32::from_str_radix(&s[8 * i..8 * i + 8], 16)
            .map_err(|_| bad("not a digest (64 lower-case hex digits)"))?;
        if v >= MODULUS {
            return Err(bad("an element is not below the KoalaBear modulus"));
        }
        *e = Val::from_u32(v);
    }
    Ok(d)
}

/// A canonical decimal KoalaBear element (no sign, no leading zeros, below `p`).
///
/// # Errors
/// [`FormatError::Field`] naming `field`.
pub fn parse_element(s: &str, field: &str) -> Result<Val, FormatError> {
    let canonical = !s.is_empty()
        && s.len() <= 10
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    match s.parse::<u64>() {
        Ok(v) if canonical && v < u64::from(MODULUS) => Ok(Val::from_u32(v as u32)),
        _ => Err(FormatError::field(
            field,
            format!("{s:?} is not a canonical decimal element of the KoalaBear field"),
        )),
    }
}

/// The decimal text of an element.
pub fn element_text(v: &Val) -> String {
    v.as_canonical_u32().to_string()
}

/// The previous round's bundle hash as the top proof's `previous` digest: the SHA-256's 32
/// bytes read as 8 big-endian `u32`s, each reduced modulo `p`; the zero digest for a first
/// round. The reduction loses under one bit per element, so two hashes with the same digest
/// are a collision of a 248-bit truncation of SHA-256 (about 124-bit security, as the
/// digests themselves).
///
/// # Errors
/// [`FormatError::Field`] if `hash_hex` is not 64 lower-case hex digits.
pub fn previous_digest(hash_hex: Option<&str>, field: &str) -> Result<Digest, FormatError> {
    let Some(h) = hash_hex else {
        return Ok([Val::ZERO; DIGEST_ELEMS]);
    };
    if !crate::solvency::is_sha256_hex(h) {
        return Err(FormatError::field(field, "not a lower-case hex SHA-256"));
    }
    let bytes = hex::decode(h).map_err(|e| FormatError::field(field, e.to_string()))?;
    Ok(core::array::from_fn(|i| {
        let w = u32::from_be_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]);
        Val::from_u32(w % MODULUS)
    }))
}

/// A salt's text: its 4 elements in decimal, joined by commas.
pub fn salt_text(s: &Salt) -> String {
    s.iter().map(element_text).collect::<Vec<_>>().join(",")
}

/// Parses [`salt_text`]'s encoding.
///
/// # Errors
/// [`FormatError::Field`] naming `field`.
pub fn parse_salt(s: &str, field: &str) -> Result<Salt, FormatError> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != SALT_ELEMS {
        return Err(FormatError::field(
            field,
            format!(
                "a STARK salt is {SALT_ELEMS} decimal elements joined by commas, found {}",
                parts.len()
            ),
        ));
    }
    let mut out = [Val::ZERO; SALT_ELEMS];
    for (i, p) in parts.iter().enumerate() {
        out[i] = parse_element(p, &format!("{field}[{i}]"))?;
    }
    Ok(out)
}

/// The bundle's declaration of `params`.
pub fn params_section(params: &StarkParams) -> StarkParamsSection {
    StarkParamsSection {
        log_blowup: params.log_blowup,
        num_queries: params.num_queries,
        query_pow_bits: params.query_pow_bits,
        commit_pow_bits: params.commit_pow_bits,
        num_random_codewords: params.num_random_codewords,
        ood_pow_bits: params.ood_pow_bits,
        batch_pow_bits: params.batch_pow_bits,
        max_log_arity: params.max_log_arity,
    }
}

/// Children of every aggregation proof, level by level from the bottom: `fan_in` each, the
/// last proof of a level the rest, until one proof (the top) remains. At least one level.
pub fn level_children(batches: usize, fan_in: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut n = batches;
    loop {
        let mut level = Vec::new();
        let mut left = n;
        while left > 0 {
            let c = left.min(fan_in);
            level.push(c);
            left -= c;
        }
        n = level.len();
        out.push(level);
        if n <= 1 {
            return out;
        }
    }
}

/// The `circuits` section of a STARK round of `batches` batch proofs of height
/// `2^batch_log_height`, with the pinned parameters and, per batch, the SHA-256 of its leaves
/// file (`leaves`, one per batch; empty for a round whose records carry chain paths).
pub fn stark_circuits(
    batch_log_height: usize,
    batches: usize,
    fan_in: usize,
    leaves: Vec<String>,
) -> StarkCircuits {
    StarkCircuits {
        params: params_section(&BATCH_PARAMS),
        agg_params: Some(params_section(&AGG_PARAMS)),
        batch_log_height,
        levels: level_children(batches, fan_in),
        leaves,
    }
}

#[cfg(test)]
mod tests;
