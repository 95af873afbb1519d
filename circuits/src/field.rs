//! The fields Assay's statements are written over, each with the hash its backend uses.
//!
//! A statement (solvency, KYC) is the same on every backend: the same integers, the same tagged
//! hashes, the same public-input order. Only the field and the hash `H` differ:
//!
//! | backend | field | `H` |
//! |---|---|---|
//! | Groth16 | BN254 `Fr` | circomlib Poseidon, one parameter set per arity ([`crate::poseidon`]) |
//! | Halo2 | Pasta `Fp` | Poseidon `P128Pow5T3`, `ConstantLength` sponge ([`crate::poseidon::pasta`]) |
//!
//! Hence balances, sums, days and jurisdiction codes are equal integers on both backends, while
//! every hash output (leaves, roots, commitments, nullifiers) differs.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// A prime field of at least 254 bits together with the hash `H` of one backend.
///
/// Integers below `2^128` embed without reduction; [`StatementField::fits`] reads an element as
/// its canonical integer in `[0, p)`.
pub trait StatementField:
    Copy
    + Debug
    + Default
    + Eq
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + for<'a> AddAssign<&'a Self>
{
    /// The backend's name for this field and hash (`"bn254-circom-poseidon"`, ...).
    const NAME: &'static str;

    /// `0`.
    fn zero() -> Self;
    /// `1`.
    fn one() -> Self;
    /// The element of an unsigned integer.
    fn from_u128(v: u128) -> Self;
    /// The element of at most 31 big-endian bytes (always below `p`, never reduced).
    fn from_be31(bytes: &[u8]) -> Self;
    /// The canonical integer of `self`, little-endian.
    fn to_le_bytes(&self) -> [u8; 32];
    /// The element whose canonical integer is `bytes` (little-endian); `None` if not below `p`.
    fn from_le_bytes(bytes: &[u8; 32]) -> Option<Self>;
    /// The big-endian integer of 32 bytes reduced modulo `p` (for hashes of files).
    fn from_be_bytes_mod_order(bytes: &[u8; 32]) -> Self;
    /// The untagged 2-to-1 hash `H(left, right)` of Merkle nodes.
    fn hash2(left: Self, right: Self) -> Self;
    /// The tagged hash `H(tag, inputs...)` (see [`crate::tags`]).
    fn hash_tagged(tag: &str, inputs: &[Self]) -> Self;

    /// Whether `self`, as an integer in `[0, p)`, is below `2^n`.
    fn fits(&self, n: usize) -> bool {
        let b = self.to_le_bytes();
        (n..256).all(|i| (b[i / 8] >> (i % 8)) & 1 == 0)
    }

    /// The integer of `self` if it is below `2^128`.
    fn to_u128(&self) -> Option<u128> {
        if !self.fits(128) {
            return None;
        }
        let b = self.to_le_bytes();
        let mut lo = [0u8; 16];
        lo.copy_from_slice(&b[..16]);
        Some(u128::from_le_bytes(lo))
    }

    /// The element of 64 uniform bytes: `lo + hi * 2^256 mod p` over two big-endian halves,
    /// statistically uniform (for blinds, salts and keys drawn from a seeded stream).
    fn from_uniform_bytes(bytes: &[u8; 64]) -> Self {
        let mut hi = [0u8; 32];
        let mut lo = [0u8; 32];
        hi.copy_from_slice(&bytes[..32]);
        lo.copy_from_slice(&bytes[32..]);
        let two128 = Self::from_u128(1 << 64) * Self::from_u128(1 << 64);
        let two256 = two128 * two128;
        Self::from_be_bytes_mod_order(&lo) + Self::from_be_bytes_mod_order(&hi) * two256
    }
}

impl StatementField for crate::Fr {
    const NAME: &'static str = "bn254-circom-poseidon";

    fn zero() -> Self {
        <Self as ark_ff::Zero>::zero()
    }
    fn one() -> Self {
        <Self as ark_ff::One>::one()
    }
    fn from_u128(v: u128) -> Self {
        Self::from(v)
    }
    fn from_be31(bytes: &[u8]) -> Self {
        use ark_ff::PrimeField;
        debug_assert!(bytes.len() <= 31);
        <Self as PrimeField>::from_be_bytes_mod_order(bytes)
    }
    fn to_le_bytes(&self) -> [u8; 32] {
        use ark_ff::{BigInteger, PrimeField};
        let v = self.into_bigint().to_bytes_le();
        let mut out = [0u8; 32];
        out[..v.len()].copy_from_slice(&v);
        out
    }
    fn from_le_bytes(bytes: &[u8; 32]) -> Option<Self> {
        use ark_ff::PrimeField;
        let mut limbs = [0u64; 4];
        for (i, l) in limbs.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[8 * i..8 * i + 8]);
            *l = u64::from_le_bytes(w);
        }
        Self::from_bigint(ark_ff::BigInt::<4>::new(limbs))
    }
    fn from_be_bytes_mod_order(bytes: &[u8; 32]) -> Self {
        <Self as ark_ff::PrimeField>::from_be_bytes_mod_order(bytes)
    }
    fn hash2(left: Self, right: Self) -> Self {
        crate::poseidon::hash(&[left, right])
    }
    fn hash_tagged(tag: &str, inputs: &[Self]) -> Self {
        crate::poseidon::hash_tagged(tag, inputs)
    }
}

#[cfg(feature = "halo2")]
impl StatementField for crate::halo2::Fp {
    const NAME: &'static str = "pasta-p128pow5t3";

    fn zero() -> Self {
        <Self as ff::Field>::ZERO
    }
    fn one() -> Self {
        <Self as ff::Field>::ONE
    }
    fn from_u128(v: u128) -> Self {
        <Self as ff::PrimeField>::from_u128(v)
    }
    fn from_be31(bytes: &[u8]) -> Self {
        debug_assert!(bytes.len() <= 31);
        // The last 31 bytes (all of them, for tags and 31-byte chunks), little-endian in the
        // low 31 bytes of the representation: below 2^248 < p, always canonical.
        let tail = &bytes[bytes.len().saturating_sub(31)..];
        let mut repr = [0u8; 32];
        for (i, b) in tail.iter().rev().enumerate() {
            repr[i] = *b;
        }
        Option::from(<Self as ff::PrimeField>::from_repr(repr)).unwrap_or(<Self as ff::Field>::ZERO)
    }
    fn to_le_bytes(&self) -> [u8; 32] {
        ff::PrimeField::to_repr(self)
    }
    fn from_le_bytes(bytes: &[u8; 32]) -> Option<Self> {
        Option::from(<Self as ff::PrimeField>::from_repr(*bytes))
    }
    fn from_be_bytes_mod_order(bytes: &[u8; 32]) -> Self {
        // hi * 2^128 + lo over two 16-byte halves, each below p.
        let mut hi = [0u8; 16];
        let mut lo = [0u8; 16];
        hi.copy_from_slice(&bytes[..16]);
        lo.copy_from_slice(&bytes[16..]);
        let two64 = Self::from_u128(1 << 64);
        Self::from_u128(u128::from_be_bytes(hi)) * two64 * two64
            + Self::from_u128(u128::from_be_bytes(lo))
    }
    fn hash2(left: Self, right: Self) -> Self {
        crate::poseidon::pasta::hash(&[left, right])
    }
    fn hash_tagged(tag: &str, inputs: &[Self]) -> Self {
        crate::poseidon::pasta::hash_tagged(tag, inputs)
    }
}

/// The canonical decimal string of `x` (no sign, no leading zeros), as snarkjs prints it.
pub fn to_decimal<F: StatementField>(x: &F) -> String {
    // Repeated division of the little-endian 256-bit integer by 10^19.
    let b = x.to_le_bytes();
    let mut limbs: Vec<u64> = b
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let mut parts = Vec::new();
    const BASE: u128 = 10_000_000_000_000_000_000;
    while limbs.iter().any(|&l| l != 0) {
        let mut rem: u128 = 0;
        for l in limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*l);
            *l = (cur / BASE) as u64;
            rem = cur % BASE;
        }
        parts.push(rem as u64);
    }
    match parts.split_last() {
        None => "0".into(),
        Some((top, rest)) => {
            let mut s = top.to_string();
            for p in rest.iter().rev() {
                s.push_str(&format!("{p:019}"));
            }
            s
        }
    }
}

/// Parses a canonical decimal field element: digits only, no leading zero, below `p`.
/// `None` otherwise.
pub fn from_decimal<F: StatementField>(s: &str) -> Option<F> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    // Little-endian 64-bit limbs with one spare limb to detect overflow of 256 bits.
    let mut limbs = [0u64; 5];
    for d in s.bytes() {
        let mut carry = u128::from(d - b'0');
        for l in limbs.iter_mut() {
            let cur = u128::from(*l) * 10 + carry;
            *l = cur as u64;
            carry = cur >> 64;
        }
        if limbs[4] != 0 {
            return None;
        }
    }
    let mut bytes = [0u8; 32];
    for (i, l) in limbs[..4].iter().enumerate() {
        bytes[8 * i..8 * i + 8].copy_from_slice(&l.to_le_bytes());
    }
    F::from_le_bytes(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fr;

    fn round_trip<F: StatementField>() {
        let two128 = F::from_u128(1 << 64) * F::from_u128(1 << 64);
        for x in [
            F::zero(),
            F::one(),
            F::from_u128(12345),
            F::from_u128(u128::MAX),
            two128 * two128 * F::from_u128(3),
            -F::one(),
        ] {
            let s = to_decimal(&x);
            assert_eq!(from_decimal::<F>(&s), Some(x), "{s}");
            assert_eq!(F::from_le_bytes(&x.to_le_bytes()), Some(x));
        }
        assert_eq!(
            to_decimal(&F::from_u128(10_000_000_000_000_000_000)),
            "10000000000000000000"
        );
        assert_eq!(F::from_u128(u128::MAX).to_u128(), Some(u128::MAX));
        assert_eq!((-F::one()).to_u128(), None);
        assert!(F::from_u128(255).fits(8) && !F::from_u128(256).fits(8));
        // p itself and garbage are refused.
        let p_minus_1 = to_decimal(&-F::one());
        let mut p = p_minus_1.into_bytes();
        *p.last_mut().unwrap() += 1; // p - 1 ends in an even digit below 9 for both fields
        let p = String::from_utf8(p).unwrap();
        for bad in ["", "-1", "01", "1e5", "0x10", " 1", &p, &"9".repeat(80)] {
            assert_eq!(from_decimal::<F>(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn decimal_and_byte_codecs_round_trip_on_bn254() {
        round_trip::<Fr>();
        use ark_ff::PrimeField;
        assert_eq!(
            to_decimal(&-<Fr as StatementField>::one()),
            (-Fr::from(1u64)).into_bigint().to_string()
        );
    }

    #[cfg(feature = "halo2")]
    #[test]
    fn decimal_and_byte_codecs_round_trip_on_pasta() {
        round_trip::<crate::halo2::Fp>();
    }

    #[cfg(feature = "halo2")]
    #[test]
    fn hashes_of_files_reduce_the_same_integer_on_both_fields() {
        let mut h = [0u8; 32];
        h[31] = 7;
        h[15] = 1;
        let a = to_decimal(&<Fr as StatementField>::from_be_bytes_mod_order(&h));
        let b = to_decimal(&<crate::halo2::Fp as StatementField>::from_be_bytes_mod_order(&h));
        assert_eq!(a, b, "below both moduli, the same integer");
    }
}
