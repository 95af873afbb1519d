//! Range checks: `0 <= x < 2^n` for a field element read as an integer in `[0, p)`.
//!
//! * Native check: [`fits`], on any [`StatementField`].
//! * [`constraints`]: the R1CS gadget over BN254, [`constraints::enforce_bits`], `n + 1`
//!   constraints (`n` booleanity constraints and one recomposition), the floor for a bit
//!   decomposition.
//! * [`halo2`] (feature `halo2`): the Halo2 chip over Pasta `Fp`, a running sum of limbs looked
//!   up in a fixed table (the top limb tightened when `n` is not a multiple of the limb width).
//!
//! Each proves exactly `fits(x, n)`: a "negative" `p - y` or a value `>= 2^n` is refused.

pub mod constraints;
#[cfg(feature = "halo2")]
pub mod halo2;

use crate::StatementField;

/// Whether `x`, as an integer in `[0, p)`, is below `2^n`.
pub fn fits<F: StatementField>(x: &F, n: usize) -> bool {
    x.fits(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_reads_the_canonical_integer_on_bn254() {
        let x = crate::Fr::from(255u64);
        assert!(fits(&x, 8) && !fits(&(x + crate::Fr::from(1u64)), 8));
        // p - 1 has 254 bits.
        assert!(!fits(&-crate::Fr::from(1u64), 253) && fits(&-crate::Fr::from(1u64), 254));
    }

    #[cfg(feature = "halo2")]
    #[test]
    fn fits_reads_the_canonical_integer_on_pasta() {
        use crate::halo2::Fp;
        assert!(fits(&Fp::from(255), 8));
        assert!(!fits(&Fp::from(256), 8));
        assert!(!fits(&-Fp::one(), 254));
        assert!(fits(&-Fp::one(), 255));
    }
}
