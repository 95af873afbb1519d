//! Field elements as text: canonical decimal strings (as snarkjs and circomlibjs print them).
//!
//! The codec is `assay_circuits::field` (one for every backend's field); this module names the
//! document field in errors.

use crate::FormatError;
pub use assay_circuits::field::{from_decimal, to_decimal};
use assay_circuits::{Fr, StatementField};

/// The canonical decimal string of `x` (no sign, no leading zeros).
pub fn to_dec<F: StatementField>(x: &F) -> String {
    to_decimal(x)
}

/// Parses a canonical decimal field element: digits only, no leading zero, below the modulus.
///
/// # Errors
/// [`FormatError::Field`] naming `field` when the text is not such a number.
pub fn from_dec<F: StatementField>(s: &str, field: &str) -> Result<F, FormatError> {
    from_decimal(s).ok_or_else(|| {
        FormatError::field(
            field,
            format!("not a canonical decimal field element below the modulus: {s:?}"),
        )
    })
}

/// Parses a BN254 field element typed by a person (a holder's commitment, say): canonical
/// decimal, or `0x`-hex of its big-endian bytes (at most 32 bytes, below the modulus).
///
/// # Errors
/// [`FormatError::Field`] naming `field` when the text is neither.
pub fn parse_commitment(s: &str, field: &str) -> Result<Fr, FormatError> {
    let Some(h) = s.strip_prefix("0x") else {
        return from_dec(s, field);
    };
    let bad = || {
        FormatError::field(
            field,
            format!("`{s}` is not a field element (decimal or 0x-hex)"),
        )
    };
    let bytes = hex::decode(h).map_err(|_| bad())?;
    if bytes.len() > 32 {
        return Err(bad());
    }
    let x = <Fr as ark_ff::PrimeField>::from_be_bytes_mod_order(&bytes);
    // Canonical: the element's bytes, without leading zeros, are the given ones without
    // theirs (so a value at or above the modulus is refused, not reduced).
    let back = ark_ff::BigInteger::to_bytes_be(&ark_ff::PrimeField::into_bigint(x));
    let strip = |b: &[u8]| {
        b.iter()
            .skip_while(|&&v| v == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    if strip(&back) != strip(&bytes) {
        return Err(bad());
    }
    Ok(x)
}

/// The field image of a 32-byte hash: its big-endian integer reduced modulo `p`.
pub fn from_hash(bytes: &[u8; 32]) -> Fr {
    <Fr as StatementField>::from_be_bytes_mod_order(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitments_parse_as_decimal_or_canonical_hex() {
        assert_eq!(parse_commitment("255", "c").unwrap(), Fr::from(255u64));
        assert_eq!(parse_commitment("0xff", "c").unwrap(), Fr::from(255u64));
        assert_eq!(parse_commitment("0x00ff", "c").unwrap(), Fr::from(255u64));
        for bad in [
            "0xzz",
            "-1",
            "0255",
            &format!("0x{}", "ff".repeat(32)),
            &format!("0x{}", "00".repeat(33)),
        ] {
            let e = parse_commitment(bad, "--holder-commitment").unwrap_err();
            assert!(e.to_string().contains("--holder-commitment"), "{bad}: {e}");
        }
    }
    use ark_ff::{Field, One, PrimeField};

    #[test]
    fn round_trips_and_names_the_field() {
        for x in [
            Fr::from(0u64),
            Fr::from(12345u64),
            -<Fr as One>::one(),
            Fr::from(2u64).pow([200u64]),
        ] {
            assert_eq!(from_dec::<Fr>(&to_dec(&x), "x").unwrap(), x);
        }
        let p = Fr::MODULUS.to_string();
        for bad in ["", "-1", "01", "1e5", "0x10", " 1", &p] {
            let e = from_dec::<Fr>(bad, "public_inputs[3]").unwrap_err();
            assert!(e.to_string().contains("public_inputs[3]"), "{e}");
        }
        assert!(from_dec::<Fr>(&"9".repeat(80), "x").is_err());
        let mut h = [0u8; 32];
        h[31] = 7;
        assert_eq!(from_hash(&h), Fr::from(7u64));
    }
}
