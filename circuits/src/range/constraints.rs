//! The range-check gadget.

use crate::{Fr, SynthesisError};
use ark_ff::PrimeField;
use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar};

/// Enforces `0 <= x < 2^n` and returns the `n` little-endian bits of `x`.
///
/// A malicious prover cannot pass a "negative" `p - y`: its bits above `n` are not all zero, so
/// the recomposition of `n` bits cannot equal it (`n < 253`).
///
/// # Errors
/// [`SynthesisError::Unsatisfiable`] if `n` is not below the field's bit size minus one.
pub fn enforce_bits(x: &FpVar<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    if n + 1 >= Fr::MODULUS_BIT_SIZE as usize {
        return Err(SynthesisError::Unsatisfiable);
    }
    let (bits, _rest) = x.to_bits_le_with_top_bits_zero(n)?;
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, One};
    use ark_r1cs_std::alloc::AllocVar;
    use ark_relations::gr1cs::ConstraintSystem;

    fn check(x: Fr, n: usize) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let v = FpVar::new_witness(cs.clone(), || Ok(x)).unwrap();
        enforce_bits(&v, n).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn accepts_in_range_and_costs_n_plus_one() {
        assert_eq!(check(Fr::from(u64::MAX), 64), (true, 65));
        assert!(check(Fr::from(0u64), 64).0);
        assert!(super::super::fits(&Fr::from(u64::MAX), 64));
    }

    #[test]
    fn rejects_two_to_the_n() {
        let x = Fr::from(2u64).pow([64u64]);
        assert!(!check(x, 64).0);
        assert!(!super::super::fits(&x, 64));
    }

    #[test]
    fn rejects_negative_as_p_minus_one() {
        let x = -Fr::one();
        assert!(!check(x, 64).0);
        assert!(!super::super::fits(&x, 64));
    }
}
