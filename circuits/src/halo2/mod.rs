//! Halo2 chips over the Pasta field `Fp` (zcash `halo2_proofs`, IPA, transparent setup).
//!
//! Each primitive has its native twin next to its chip, and each chip follows the
//! `...Instructions` trait + `...Config` + `...Chip::{configure, construct}` pattern:
//!
//! * [`poseidon`]: Poseidon `P128Pow5T3` (halo2_gadgets' `Pow5Chip`) as a sponge of any fixed
//!   length, run on several parallel *lanes* of columns;
//! * [`range`]: `0 <= x < 2^n` by a running sum of `L`-bit limbs looked up in a fixed table,
//!   the top limb tightened when `n` is not a multiple of `L`;
//! * [`arith`]: running sums and `a <= b` (a range-checked difference);
//! * [`merkle`]: Merkle roots of `2^k` leaves and Merkle paths (a conditional-swap gate);
//! * [`testing`]: helpers that turn MockProver failures into short, stable strings.
//!
//! The field is `Fp`, the base field of Pallas and scalar field of Vesta: proofs are
//! commitments on Vesta (`EqAffine`). Hash outputs differ from the BN254 backend's.

pub mod arith;
pub mod merkle;
pub mod poseidon;
pub mod range;
pub mod testing;

/// The field every Halo2 statement of Assay is written over.
pub type Fp = pasta_curves::Fp;

/// An assigned cell holding one field element.
pub type Cell = halo2_proofs::circuit::AssignedCell<Fp, Fp>;

/// Maps a short ASCII tag (see [`crate::tags`]) into `Fp`, big-endian, as the BN254 twin does.
///
/// Tags are at most 31 bytes, hence below `2^248 < p`.
pub fn tag(name: &str) -> Fp {
    from_be_bytes(name.as_bytes())
}

/// The integer of at most 31 big-endian bytes as a field element (longer inputs keep their
/// last 31 bytes, which never happens for tags and 31-byte chunks).
pub fn from_be_bytes(bytes: &[u8]) -> Fp {
    use ff::PrimeField;
    let tail = &bytes[bytes.len().saturating_sub(31)..];
    let mut repr = [0u8; 32];
    for (i, b) in tail.iter().rev().enumerate() {
        repr[i] = *b;
    }
    // Below 2^248 < p: always canonical.
    Fp::from_repr(repr).unwrap_or(Fp::zero())
}

/// `x` as an unsigned integer (little-endian bytes of its canonical representative) fits in
/// `n` bits.
pub fn fits(x: &Fp, n: usize) -> bool {
    use ff::PrimeField;
    let repr = x.to_repr();
    (n..256).all(|i| (repr[i / 8] >> (i % 8)) & 1 == 0)
}

/// The field element of a `u128`.
pub fn from_u128(v: u128) -> Fp {
    use ff::PrimeField;
    Fp::from_u128(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_big_endian_integers() {
        assert_eq!(tag("a"), Fp::from(0x61));
        assert_eq!(tag("ab"), Fp::from(0x6162));
        assert_ne!(tag(crate::tags::TAG_LEAF), tag(crate::tags::TAG_SUM));
    }

    #[test]
    fn fits_reads_the_canonical_integer() {
        assert!(fits(&Fp::from(255), 8));
        assert!(!fits(&Fp::from(256), 8));
        assert!(!fits(&-Fp::one(), 254));
        assert!(fits(&-Fp::one(), 255));
    }
}
