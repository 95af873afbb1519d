//! Field elements as text: canonical decimal strings (as snarkjs and circomlibjs print them).

use crate::FormatError;
use ark_ff::{BigInteger, PrimeField};
use assay_circuits::Fr;

/// The canonical decimal string of `x` (no sign, no leading zeros).
pub fn to_dec(x: &Fr) -> String {
    x.into_bigint().to_string()
}

/// Parses a canonical decimal field element: digits only, no leading zero, below the modulus.
///
/// # Errors
/// [`FormatError::Field`] naming `field` when the text is not such a number.
pub fn from_dec(s: &str, field: &str) -> Result<Fr, FormatError> {
    let bad = |m: &str| FormatError::field(field, format!("{m}: {s:?}"));
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a decimal field element"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(bad("leading zero in a field element"));
    }
    // acc = acc * 10 + digit. While acc < 2^252 this cannot overflow 256 bits; once acc reaches
    // 2^252, acc * 10 exceeds p, so the number is out of range anyway.
    let mut acc = <Fr as PrimeField>::BigInt::from(0u64);
    for b in s.bytes() {
        if acc.num_bits() > 252 {
            return Err(bad("field element is not below the field modulus"));
        }
        let mut times8 = acc << 3;
        let times2 = acc << 1;
        times8.add_with_carry(&times2);
        times8.add_with_carry(&<Fr as PrimeField>::BigInt::from(u64::from(b - b'0')));
        acc = times8;
    }
    Fr::from_bigint(acc).ok_or_else(|| bad("field element is not below the field modulus"))
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
    let x = Fr::from_be_bytes_mod_order(&bytes);
    // Canonical: the element's bytes, without leading zeros, are the given ones without
    // theirs (so a value at or above the modulus is refused, not reduced).
    let back = x.into_bigint().to_bytes_be();
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
    Fr::from_be_bytes_mod_order(bytes)
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
    use ark_ff::{Field, One};

    #[test]
    fn round_trips_and_rejects_garbage() {
        for x in [
            Fr::from(0u64),
            Fr::from(12345u64),
            -Fr::one(),
            Fr::from(2u64).pow([200u64]),
        ] {
            assert_eq!(from_dec(&to_dec(&x), "x").unwrap(), x);
        }
        let p = Fr::MODULUS.to_string();
        for bad in ["", "-1", "01", "1e5", "0x10", " 1", &p] {
            assert!(from_dec(bad, "x").is_err(), "{bad:?}");
        }
        assert!(from_dec(&"9".repeat(80), "x").is_err());
    }
}
