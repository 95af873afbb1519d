//! Poseidon `P128Pow5T3` over Pasta `Fp`: the hash `H` of the Halo2 backend, computed natively.
//!
//! `hash(x_1..x_L)` is exactly halo2_gadgets' `Hash<_, P128Pow5T3, ConstantLength<L>, 3, 2>`
//! (capacity `L * 2^64`, inputs zero-padded to an even length, absorbed two at a time, one
//! permutation per pair, output `state[0]`), but with `L` given at run time rather than in the
//! type, so that a round's number of assets can be a runtime value. The tagged hash
//! `H(tag, x..)` hashes `[tag(tag), x..]`, the tag read as a big-endian integer in `Fp`
//! (see [`crate::tags`]).
//!
//! The chip twin is [`super::halo2`]: it constrains exactly this function (same constants, same
//! padding, same capacity), so a digest computed here is the one a Halo2 proof exposes.

use crate::{halo2::Fp, StatementField};
use ff::Field;
use halo2_gadgets::poseidon::primitives::{Mds, P128Pow5T3, Spec};
use std::sync::OnceLock;

/// The sponge width `t`.
pub const WIDTH: usize = 3;
/// The sponge rate.
pub const RATE: usize = 2;

type Constants = (Vec<[Fp; WIDTH]>, Mds<Fp, WIDTH>, Mds<Fp, WIDTH>);

fn constants() -> &'static Constants {
    static C: OnceLock<Constants> = OnceLock::new();
    C.get_or_init(<P128Pow5T3 as Spec<Fp, WIDTH, RATE>>::constants)
}

/// The `P128Pow5T3` permutation (`R_F = 8`, `R_P = 56`, `x^5`).
pub fn permute(state: &mut [Fp; WIDTH]) {
    let (rc, mds, _) = constants();
    let full = <P128Pow5T3 as Spec<Fp, WIDTH, RATE>>::full_rounds();
    let partial = <P128Pow5T3 as Spec<Fp, WIDTH, RATE>>::partial_rounds();
    let sbox = |x: Fp| x.square().square() * x;
    for (r, rcs) in rc.iter().enumerate().take(full + partial) {
        for (s, c) in state.iter_mut().zip(rcs) {
            *s += c;
        }
        if r < full / 2 || r >= full / 2 + partial {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        let mut next = [Fp::ZERO; WIDTH];
        for (i, n) in next.iter_mut().enumerate() {
            for (j, s) in state.iter().enumerate() {
                *n += mds[i][j] * s;
            }
        }
        *state = next;
    }
}

/// The capacity element of a hash of `len` inputs (`ConstantLength<len>`'s domain).
pub fn capacity(len: usize) -> Fp {
    use ff::PrimeField;
    <Fp as PrimeField>::from_u128((len as u128) << 64)
}

/// `Hash<_, P128Pow5T3, ConstantLength<L>, 3, 2>` of `inputs` with `L = inputs.len()`.
pub fn hash(inputs: &[Fp]) -> Fp {
    let mut state = [Fp::ZERO, Fp::ZERO, capacity(inputs.len())];
    if inputs.is_empty() {
        permute(&mut state);
    }
    for pair in inputs.chunks(RATE) {
        for (s, x) in state.iter_mut().zip(pair) {
            *s += x;
        }
        permute(&mut state);
    }
    state[0]
}

/// The tag `name` (see [`crate::tags`]) as an element of `Fp`: its big-endian integer, as on
/// BN254 (tags are at most 31 bytes, hence below `2^248 < p`).
pub fn tag(name: &str) -> Fp {
    debug_assert!(name.len() <= 31, "tags are at most 31 bytes");
    Fp::from_be31(name.as_bytes())
}

/// The tagged hash `H(tag, inputs..)`.
pub fn hash_tagged(tag: &str, inputs: &[Fp]) -> Fp {
    let mut all = Vec::with_capacity(inputs.len() + 1);
    all.push(self::tag(tag));
    all.extend_from_slice(inputs);
    hash(&all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_gadgets::poseidon::primitives::{ConstantLength, Hash};

    fn reference<const L: usize>(inputs: [Fp; L]) -> Fp {
        Hash::<Fp, P128Pow5T3, ConstantLength<L>, WIDTH, RATE>::init().hash(inputs)
    }

    #[test]
    fn native_matches_the_primitive_for_lengths_1_to_7() {
        let x: Vec<Fp> = (0..7u64).map(|i| Fp::from(i * 31 + 5)).collect();
        assert_eq!(hash(&x[..1]), reference::<1>([x[0]]));
        assert_eq!(hash(&x[..2]), reference::<2>([x[0], x[1]]));
        assert_eq!(hash(&x[..3]), reference::<3>([x[0], x[1], x[2]]));
        assert_eq!(hash(&x[..4]), reference::<4>([x[0], x[1], x[2], x[3]]));
        assert_eq!(
            hash(&x[..5]),
            reference::<5>([x[0], x[1], x[2], x[3], x[4]])
        );
        assert_eq!(
            hash(&x[..6]),
            reference::<6>([x[0], x[1], x[2], x[3], x[4], x[5]])
        );
        assert_eq!(
            hash(&x[..7]),
            reference::<7>([x[0], x[1], x[2], x[3], x[4], x[5], x[6]])
        );
    }

    #[test]
    fn native_matches_the_published_test_vectors() {
        use ff::PrimeField;
        let fp = |b: &[u8; 32]| Fp::from_repr(*b).unwrap();
        for v in halo2_poseidon::test_vectors::fp::permute() {
            let mut state = v.initial_state.map(|b| fp(&b));
            permute(&mut state);
            assert_eq!(state, v.final_state.map(|b| fp(&b)));
        }
        for v in halo2_poseidon::test_vectors::fp::hash() {
            assert_eq!(hash(&v.input.map(|b| fp(&b))), fp(&v.output));
        }
    }

    #[test]
    fn tags_are_big_endian_integers() {
        assert_eq!(tag("a"), Fp::from(0x61));
        assert_eq!(tag("ab"), Fp::from(0x6162));
        assert_ne!(tag(crate::tags::TAG_LEAF), tag(crate::tags::TAG_SUM));
    }
}
