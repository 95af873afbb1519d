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

/// The field image of a 32-byte hash: its big-endian integer reduced modulo `p`.
pub fn from_hash(bytes: &[u8; 32]) -> Fr {
    <Fr as StatementField>::from_be_bytes_mod_order(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
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
