//! The hash `H` of every statement, one instance per backend, each beside its circuit twin.
//!
//! * This module: Poseidon over BN254 with circomlib's parameters (x^5 S-box, `t = n + 1`,
//!   state[0] out), the `H` of the Groth16 backend. [`constraints`] is its R1CS gadget.
//! * [`pasta`] (feature `halo2`): Poseidon `P128Pow5T3` over Pasta `Fp` as a `ConstantLength`
//!   sponge, the `H` of the Halo2 backend. [`halo2`] is its chip.
//!
//! Each gadget or chip proves that its output is the native function of its inputs, so a
//! digest computed natively (by a prover, a verifier or anyone with the published parameters)
//! is the one the proof binds.
//!
//! # BN254 (circomlib)
//! `hash(&[x_1, ..., x_n])` for `1 <= n <= 12` is exactly circomlib's `Poseidon(n)`
//! (`poseidon([1, 2]) = 78532001...13530`), so anyone can recompute a leaf with circomlibjs.
//! For `n > 12` (many assets), inputs are absorbed in a chain that stays within circomlib's
//! widths: `h_1 = Poseidon(x_1..x_m)`, then `h_{i+1} = Poseidon(h_i, next <= 11 inputs)`
//! ([`chain_blocks`]). The first block takes `m = 12` inputs, except when that would leave a
//! last block of a single input: then it takes `m = 11`, so the last call has arity 3. A chain
//! therefore never ends in a call of arity 2, the arity of the untagged Merkle node
//! `H(left, right)` (see [`crate::tags`]): a chained hash can never equal a Merkle node.
//! (Chain v1, before bundle format 3, always took 12 first and ended in arity 2 for
//! `n = 13, 24, 35, ...`, i.e. leaves and sum commitments of rounds with 11, 22, 33, ... assets.)
//! The arity of every hash is fixed by its context (the number of assets of a round), so
//! chained and direct hashes of different lengths are never compared.
//!
//! The gadget [`constraints`] runs the same permutation code path on the same parameters:
//! circomlib's, derived at first use by the Poseidon paper's reference generator ([`grain`]),
//! and checked equal to the tables `light-poseidon` ships.

pub mod constraints;
pub mod grain;
#[cfg(feature = "halo2")]
pub mod halo2;
#[cfg(feature = "halo2")]
pub mod pasta;

use crate::Fr;
use ark_ff::Zero;
use light_poseidon::PoseidonParameters;
use std::sync::OnceLock;

/// The most inputs one circomlib Poseidon instance takes here (`t <= 13`).
pub const MAX_ARITY: usize = 12;

static PARAMS: [OnceLock<PoseidonParameters<Fr>>; MAX_ARITY + 1] =
    [const { OnceLock::new() }; MAX_ARITY + 1];

/// circomlib's parameters for `arity` inputs (`1..=MAX_ARITY`), built once per process.
///
/// # Panics
/// If `arity` is 0 or above [`MAX_ARITY`]: callers split longer inputs with [`hash`].
pub fn params(arity: usize) -> &'static PoseidonParameters<Fr> {
    assert!(
        (1..=MAX_ARITY).contains(&arity),
        "Poseidon arity {arity} out of 1..=12"
    );
    // Derived by the reference generator ([`grain`]), equal to light-poseidon's shipped tables
    // (tested), which are not linked: 1.5 MB of code in the wasm verifier.
    PARAMS[arity].get_or_init(|| grain::circom_parameters(arity + 1))
}

/// The circomlib Poseidon permutation on `state` (`state.len() == params.width`).
pub fn permute(state: &mut [Fr], p: &PoseidonParameters<Fr>) {
    let t = p.width;
    let half = p.full_rounds / 2;
    let rounds = p.full_rounds + p.partial_rounds;
    let mut next = vec![Fr::zero(); t];
    for round in 0..rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s += p.ark[round * t + i];
        }
        let full = round < half || round >= half + p.partial_rounds;
        let sbox_count = if full { t } else { 1 };
        for s in state.iter_mut().take(sbox_count) {
            let x2 = s.square_in_place_copy();
            *s *= x2.square_in_place_copy();
        }
        for (i, n) in next.iter_mut().enumerate() {
            *n = state
                .iter()
                .zip(&p.mds[i])
                .fold(Fr::zero(), |acc, (a, m)| acc + *a * m);
        }
        state.copy_from_slice(&next);
    }
}

trait SquareCopy {
    fn square_in_place_copy(&self) -> Self;
}
impl SquareCopy for Fr {
    #[inline]
    fn square_in_place_copy(&self) -> Self {
        use ark_ff::Field;
        self.square()
    }
}

/// circomlib `Poseidon(n)` of `1..=12` inputs.
fn hash_direct(inputs: &[Fr]) -> Fr {
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width);
    state.push(Fr::zero());
    state.extend_from_slice(inputs);
    permute(&mut state, p);
    state[0]
}

/// Poseidon of any non-empty input (see the module notes for `n > 12`).
///
/// # Panics
/// On an empty input: every hash of Assay has at least one input.
pub fn hash(inputs: &[Fr]) -> Fr {
    assert!(!inputs.is_empty(), "Poseidon of nothing");
    let mut acc: Option<Fr> = None;
    let mut at = 0;
    for block in chain_blocks(inputs.len()) {
        let mut call = Vec::with_capacity(block + 1);
        call.extend(acc);
        call.extend_from_slice(&inputs[at..at + block]);
        acc = Some(hash_direct(&call));
        at += block;
    }
    acc.expect("at least one block")
}

/// How [`hash`] (and its gadget) splits `n >= 1` inputs: the number of *new* inputs each
/// Poseidon call absorbs, in order. The first call takes its block alone; every later call
/// takes the previous output followed by its block, so its arity is `block + 1`.
///
/// Guarantees (tested for every `n` up to 80): the blocks sum to `n`; every arity is within
/// `1..=12`; for `n > 12` the last call's arity is at least 3, never the Merkle node's 2.
pub fn chain_blocks(n: usize) -> Vec<usize> {
    if n <= MAX_ARITY {
        return vec![n];
    }
    let step = MAX_ARITY - 1;
    // A first block of 12 leaves `n - 12`; if that would end in a block of one input (an
    // arity-2 call), the first block gives one input to the last block.
    let first = if (n - MAX_ARITY) % step == 1 {
        MAX_ARITY - 1
    } else {
        MAX_ARITY
    };
    let mut blocks = vec![first];
    let mut rest = n - first;
    while rest > 0 {
        let b = rest.min(step);
        blocks.push(b);
        rest -= b;
    }
    blocks
}

/// The tagged hash `H(tag, inputs...)` (see [`crate::tags`]).
pub fn hash_tagged(tag: &str, inputs: &[Fr]) -> Fr {
    let mut all = Vec::with_capacity(inputs.len() + 1);
    all.push(crate::tags::tag(tag));
    all.extend_from_slice(inputs);
    hash(&all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::PrimeField;
    use light_poseidon::{Poseidon, PoseidonHasher};
    use std::str::FromStr;

    fn fr(s: &str) -> Fr {
        Fr::from_str(s).unwrap()
    }

    /// circomlibjs vectors, regenerated by `fixtures/poseidon/gen.mjs` (npm `circomlibjs`).
    #[test]
    fn matches_circomlib_vectors() {
        let text = include_str!("../../../fixtures/poseidon/circomlib-vectors.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let vectors = v["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 12, "every arity 1..=12 is covered");
        for case in vectors {
            let inputs: Vec<Fr> = case["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| fr(x.as_str().unwrap()))
                .collect();
            let expected = fr(case["output"].as_str().unwrap());
            assert_eq!(hash(&inputs), expected, "inputs {:?}", case["inputs"]);
        }
    }

    #[test]
    fn known_vector_from_stack_notes() {
        assert_eq!(
            hash(&[Fr::from(1u64), Fr::from(2u64)]),
            fr("7853200120776062878684798364095072458815029376092732009249414926327459813530")
        );
    }

    #[test]
    fn agrees_with_light_poseidon_for_every_arity() {
        for n in 1..=MAX_ARITY {
            let inputs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 7 + 3)).collect();
            let mut reference = Poseidon::<Fr>::new_circom(n).unwrap();
            assert_eq!(hash(&inputs), reference.hash(&inputs).unwrap(), "arity {n}");
        }
    }

    /// Issue 11, defect 7: no chained hash ends in the Merkle node's arity (2). Fails with the
    /// v1 chain (first block always 12) at n = 13, 24, 35, ... (11, 22, 33, ... assets).
    #[test]
    fn chain_never_ends_in_the_merkle_arity() {
        for n in 1..=80usize {
            let blocks = chain_blocks(n);
            assert_eq!(blocks.iter().sum::<usize>(), n, "n = {n}");
            let arities: Vec<usize> = blocks
                .iter()
                .enumerate()
                .map(|(i, b)| if i == 0 { *b } else { b + 1 })
                .collect();
            assert!(
                arities.iter().all(|a| (1..=MAX_ARITY).contains(a)),
                "n = {n}: {arities:?}"
            );
            if n > MAX_ARITY {
                assert!(*arities.last().unwrap() >= 3, "n = {n}: {arities:?}");
            }
        }
        // Every leaf `H(TAG_LEAF, id, b_1..b_K)` and sum commitment `H(TAG_SUM, S_1..S_K, blind)`
        // of K = 1..=64 assets: n = K + 2.
        for k in 1..=64usize {
            let last = chain_blocks(k + 2).len();
            let arity = if last == 1 {
                k + 2
            } else {
                chain_blocks(k + 2)[last - 1] + 1
            };
            assert_ne!(arity, 2, "K = {k}");
        }
        // Lengths whose split is unchanged from v1 hash as before (n = 14: 12 + 2).
        assert_eq!(chain_blocks(14), vec![12, 2]);
        assert_eq!(chain_blocks(13), vec![11, 2]);
        assert_eq!(chain_blocks(24), vec![11, 11, 2]);
    }

    #[test]
    fn chaining_beyond_twelve_inputs_is_position_sensitive() {
        let a: Vec<Fr> = (0..30u64).map(Fr::from).collect();
        let mut b = a.clone();
        b.swap(13, 14);
        assert_ne!(hash(&a), hash(&b));
        let mut c = a.clone();
        c[29] += Fr::from(1u64);
        assert_ne!(hash(&a), hash(&c));
        assert_eq!(hash(&a), hash(&a.clone()));
        let _ = Fr::MODULUS_BIT_SIZE;
    }
}
