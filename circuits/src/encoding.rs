//! Injective encodings of bytes into field elements.
//!
//! `hash_to_field(bytes) = H(TAG_UID, len, c_1, ..., c_m)` where `c_i` are the 31-byte chunks of
//! `bytes` read big-endian (the last one zero-padded) and `len` is the byte length. Each chunk is
//! below `2^248 < p` (no field overflow), nothing is truncated, and the length fixes both the
//! padding and the arity, so distinct byte strings hash to distinct inputs and hence (by
//! Poseidon's collision resistance) to distinct field elements.

use crate::{Fr, StatementField};

/// The longest byte string [`hash_to_field`] accepts: 9 chunks, so one Poseidon call.
pub const MAX_ID_BYTES: usize = 256;

/// Bytes per chunk: 31 bytes always fit below the BN254 modulus.
pub const CHUNK_BYTES: usize = 31;

/// An input longer than [`MAX_ID_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identifier is {0} bytes long; at most {MAX_ID_BYTES} are allowed")]
pub struct TooLong(pub usize);

/// The field encoding of `bytes` (see the module notes).
///
/// # Errors
/// [`TooLong`] above [`MAX_ID_BYTES`].
pub fn hash_to_field(bytes: &[u8]) -> Result<Fr, TooLong> {
    hash_to_field_in::<Fr>(bytes)
}

/// [`hash_to_field`] over any statement field, with that field's hash.
///
/// # Errors
/// [`TooLong`] above [`MAX_ID_BYTES`].
pub fn hash_to_field_in<F: StatementField>(bytes: &[u8]) -> Result<F, TooLong> {
    if bytes.len() > MAX_ID_BYTES {
        return Err(TooLong(bytes.len()));
    }
    let mut inputs = vec![F::from_u128(bytes.len() as u128)];
    inputs.extend(bytes.chunks(CHUNK_BYTES).map(|c| {
        let mut buf = [0u8; CHUNK_BYTES];
        buf[..c.len()].copy_from_slice(c);
        F::from_be31(&buf)
    }));
    Ok(F::hash_tagged(crate::tags::TAG_UID, &inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_ids_do_not_collide_even_with_trailing_zeros() {
        let a = hash_to_field(b"alice").unwrap();
        let b = hash_to_field(b"alice\0").unwrap();
        let c = hash_to_field(b"").unwrap();
        let long1 = hash_to_field(&[7u8; 62]).unwrap();
        let long2 = hash_to_field(&[7u8; 63]).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(long1, long2);
        assert_eq!(a, hash_to_field(b"alice").unwrap());
    }

    #[test]
    fn rejects_overlong_ids() {
        assert_eq!(hash_to_field(&[1u8; 257]), Err(TooLong(257)));
        assert!(hash_to_field(&[1u8; 256]).is_ok());
    }
}
