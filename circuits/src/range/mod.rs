//! Range checks: `0 <= x < 2^n` for a field element read as an integer in `[0, p)`.
//!
//! Native check: [`fits`]. Gadget: [`constraints::enforce_bits`], `n + 1` constraints
//! (`n` booleanity constraints and one recomposition), the floor for a bit decomposition.

pub mod constraints;

use crate::Fr;
use ark_ff::{BigInteger, PrimeField};

/// Whether `x`, as an integer in `[0, p)`, is below `2^n`.
pub fn fits(x: &Fr, n: usize) -> bool {
    let bits = x.into_bigint();
    (n..Fr::MODULUS_BIT_SIZE as usize).all(|i| !bits.get_bit(i))
}
