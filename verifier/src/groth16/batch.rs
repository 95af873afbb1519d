//! Groth16 verification, one proof or several at once.
//!
//! A proof `(A, B, C)` of public inputs `x` verifies under a key `(α, β, γ, δ, IC)` when
//! `e(A, B) = e(α, β) · e(L, γ) · e(C, δ)` with `L = IC₀ + Σ xⱼ ICⱼ₊₁`, that is when
//! `e(A, B) · e(−α, β) · e(L, −γ) · e(C, −δ) = 1`.
//!
//! Several proofs are checked together ([`verify_all`]) by raising proof `i`'s equation to a
//! weight `rᵢ` and multiplying them: `Πᵢ e(rᵢAᵢ, Bᵢ) · Π_keys e(−(Σrᵢ)α, β) · e(ΣrᵢLᵢ, −γ) ·
//! e(ΣrᵢCᵢ, −δ) = 1`, where the sums run over the proofs under that key. That is one Miller
//! loop per proof plus three per key, and a single final exponentiation, against three Miller
//! loops, a final exponentiation and (for a key not prepared before) one more pairing per proof
//! when each is checked alone.
//!
//! **Soundness.** If some proof's equation fails, its factor `Xᵢ ≠ 1` lies in the target
//! group of prime order `q ≈ 2^254`, and the product is 1 for at most one value of `rᵢ` mod
//! `q` once the others are fixed: for weights drawn from `2^128` values, with probability at
//! most `2^-128`. The weights are derived (Fiat–Shamir) from SHA-256 of everything checked:
//! every key (by the SHA-256 of its compressed bytes), every proof's bytes and every public
//! input, in order; so a prover who wants a false proof accepted must find, by trial, a batch
//! whose hash gives cancelling weights: about `2^128` hash evaluations. `r₀ = 1` (scaling
//! every weight by the same nonzero factor changes nothing). A batch that fails is checked
//! again proof by proof so that the error names the first proof, in order, that does not
//! verify.
//!
//! The argument needs bilinearity, hence every point in its prime-order group: a proof's
//! points are checked when decoded ([`super::decode_proof`]: on the curve, in the subgroup); a
//! key's points are either checked ([`super::decode_vk`]) or pinned to a trusted setup's output
//! by hash ([`super::decode_pinned_vk`]: the setup vouches for them, as it vouches for the key).
//!
//! Keys prepared once are kept per process by their hash ([`super::cache`]).

use crate::VerifyError;
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{
    pairing::{Pairing, PairingOutput},
    AffineRepr, CurveGroup,
};
use ark_ff::{AdditiveGroup, BigInteger, PrimeField, Zero};
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::CanonicalSerialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

type G2Prepared = <Bn254 as Pairing>::G2Prepared;

/// A verifying key ready for repeated verification: decoded, its G2 points prepared for the
/// Miller loop (no pairing is computed until a proof is checked).
pub struct Key {
    vk: VerifyingKey<Bn254>,
    beta: G2Prepared,
    gamma_neg: G2Prepared,
    delta_neg: G2Prepared,
    num_inputs: usize,
    /// SHA-256 of the key's compressed bytes: what the batch weights bind the key by; computed
    /// on the first batch of several proofs (a single proof needs no weights).
    digest: OnceLock<[u8; 32]>,
}

impl Key {
    /// Prepares a decoded key.
    pub fn new(vk: &VerifyingKey<Bn254>) -> Self {
        let neg = |p: G2Affine| G2Prepared::from((-p.into_group()).into_affine());
        Self {
            digest: OnceLock::new(),
            beta: G2Prepared::from(vk.beta_g2),
            gamma_neg: neg(vk.gamma_g2),
            delta_neg: neg(vk.delta_g2),
            // decode_vk refuses keys without input points; never underflow all the same.
            num_inputs: vk.gamma_abc_g1.len().saturating_sub(1),
            vk: vk.clone(),
        }
    }

    /// How many public inputs this key's circuit takes.
    pub fn num_inputs(&self) -> usize {
        self.num_inputs
    }

    /// SHA-256 of the key's compressed bytes.
    fn digest(&self) -> &[u8; 32] {
        self.digest.get_or_init(|| {
            let mut bytes = Vec::with_capacity(1024);
            // Serializing into a Vec cannot fail.
            self.vk
                .serialize_compressed(&mut bytes)
                .expect("writing to a Vec");
            Sha256::digest(&bytes).into()
        })
    }

    /// Verifies `proof` on `inputs`; `what` names the proof in the error.
    ///
    /// # Errors
    /// [`VerifyError::Structure`] if the input count is wrong (checked before any pairing),
    /// [`VerifyError::ProofRejected`] if the pairing check fails.
    pub fn verify(
        &self,
        proof: &Proof<Bn254>,
        inputs: &[Fr],
        what: &str,
    ) -> Result<(), VerifyError> {
        verify_all(&[Claim {
            key: self,
            proof,
            inputs,
            what,
        }])
    }
}

/// One proof to check: `proof` under `key` on `inputs`; `what` names it in errors.
pub struct Claim<'a> {
    /// The key the proof must verify under.
    pub key: &'a Key,
    /// The proof.
    pub proof: &'a Proof<Bn254>,
    /// Its public inputs.
    pub inputs: &'a [Fr],
    /// Its name in errors (`batch proof 3`).
    pub what: &'a str,
}

/// Verifies every claim, in one batched pairing check (see the module notes): `Ok` exactly
/// when each proof verifies under its key on its inputs, except with probability at most
/// `2^-128`.
///
/// # Errors
/// [`VerifyError::Structure`] for the first claim whose input count is not its key's (before
/// any pairing); [`VerifyError::ProofRejected`] naming the first claim, in order, whose proof
/// does not verify.
pub fn verify_all(claims: &[Claim<'_>]) -> Result<(), VerifyError> {
    for c in claims {
        if c.inputs.len() != c.key.num_inputs {
            return Err(VerifyError::Structure(format!(
                "{}: {} public inputs given, its key takes {}",
                c.what,
                c.inputs.len(),
                c.key.num_inputs
            )));
        }
    }
    if claims.is_empty() || product_is_one(claims) {
        return Ok(());
    }
    let rejected = |c: &Claim<'_>| VerifyError::ProofRejected {
        proof: c.what.into(),
        backend: "Groth16",
    };
    if claims.len() == 1 {
        return Err(rejected(&claims[0]));
    }
    // Which one: each alone, in order.
    for c in claims {
        if !product_is_one(std::slice::from_ref(c)) {
            return Err(rejected(c));
        }
    }
    // Every proof verifies alone, so the batch cannot fail but with a negligible chance; say
    // so rather than accept.
    Err(VerifyError::ProofRejected {
        proof: format!(
            "the batch of {} proofs from {}",
            claims.len(),
            claims[0].what
        ),
        backend: "Groth16",
    })
}

/// The weights `r₀ = 1, r₁, …`: 128-bit, from SHA-256 of every key, proof and input.
fn weights(claims: &[Claim<'_>]) -> Vec<u128> {
    if claims.len() == 1 {
        return vec![1];
    }
    let mut h = Sha256::new();
    h.update(b"assay/groth16-batch/v1");
    h.update((claims.len() as u64).to_le_bytes());
    let mut buf = Vec::with_capacity(512);
    for c in claims {
        buf.clear();
        // The key by the SHA-256 of its bytes (computed once per prepared key).
        buf.extend_from_slice(c.key.digest());
        // Serializing into a Vec cannot fail.
        c.proof
            .serialize_compressed(&mut buf)
            .expect("writing to a Vec");
        (c.inputs.len() as u64)
            .serialize_compressed(&mut buf)
            .expect("writing to a Vec");
        for x in c.inputs {
            x.serialize_compressed(&mut buf).expect("writing to a Vec");
        }
        h.update((buf.len() as u64).to_le_bytes());
        h.update(&buf);
    }
    let seed = h.finalize();
    (0..claims.len())
        .map(|i| {
            if i == 0 {
                return 1;
            }
            let d = Sha256::new()
                .chain_update(seed)
                .chain_update((i as u64).to_le_bytes())
                .finalize();
            let mut r = [0u8; 16];
            r.copy_from_slice(&d[..16]);
            // Never zero: a zero weight would drop that proof from the check.
            u128::from_le_bytes(r) | 1
        })
        .collect()
}

/// `[r]P` for a 128-bit `r` (half the doublings of a full scalar).
fn mul128(p: &G1Affine, r: u128) -> G1Projective {
    if r == 1 {
        return p.into_group();
    }
    p.mul_bigint([r as u64, (r >> 64) as u64])
}

/// `Σⱼ sⱼPⱼ` by double-and-add with the doublings shared between the terms (Straus): one
/// doubling per bit of the longest scalar instead of one per bit of every scalar.
fn lincomb(bases: &[G1Affine], scalars: &[<Fr as PrimeField>::BigInt]) -> G1Projective {
    let bits = scalars.iter().map(|s| s.num_bits()).max().unwrap_or(0);
    let mut acc = G1Projective::zero();
    for i in (0..bits).rev() {
        acc.double_in_place();
        for (p, s) in bases.iter().zip(scalars) {
            if s.get_bit(i as usize) {
                acc += p;
            }
        }
    }
    acc
}

/// Whether the weighted product of the claims' pairing equations is 1.
fn product_is_one(claims: &[Claim<'_>]) -> bool {
    let r = weights(claims);
    let mut g1: Vec<G1Projective> = Vec::with_capacity(claims.len() + 3);
    let mut g2: Vec<G2Prepared> = Vec::with_capacity(claims.len() + 3);
    for (c, ri) in claims.iter().zip(&r) {
        g1.push(mul128(&c.proof.a, *ri));
        g2.push(G2Prepared::from(c.proof.b));
    }
    // Per key (by identity): the weights summed per IC base (rᵢ, whose sum Σ rᵢ also weighs
    // α, and rᵢxᵢⱼ), Σ rᵢCᵢ.
    // Double-and-add (shared between a key's IC bases), no MSM: the wasm package stays small.
    struct PerKey<'k> {
        key: &'k Key,
        coefs: Vec<Fr>,
        c: G1Projective,
    }
    let mut keys: Vec<PerKey<'_>> = Vec::new();
    for (claim, ri) in claims.iter().zip(&r) {
        let at = match keys.iter().position(|k| std::ptr::eq(k.key, claim.key)) {
            Some(at) => at,
            None => {
                keys.push(PerKey {
                    key: claim.key,
                    coefs: vec![Fr::zero(); claim.key.vk.gamma_abc_g1.len()],
                    c: G1Projective::zero(),
                });
                keys.len() - 1
            }
        };
        let k = &mut keys[at];
        k.c += mul128(&claim.proof.c, *ri);
        let ri = Fr::from(*ri);
        k.coefs[0] += ri;
        for (coef, x) in k.coefs[1..].iter_mut().zip(claim.inputs) {
            *coef += ri * x;
        }
    }
    for k in keys {
        let coefs: Vec<_> = k.coefs.iter().map(|c| c.into_bigint()).collect();
        g1.extend([
            // −(Σrᵢ)α as −((Σrᵢ)α): Σrᵢ is short (a few 128-bit weights), −Σrᵢ is not.
            -k.key.vk.alpha_g1.mul_bigint(coefs[0]),
            lincomb(&k.key.vk.gamma_abc_g1, &coefs),
            k.c,
        ]);
        g2.extend([
            k.key.beta.clone(),
            k.key.gamma_neg.clone(),
            k.key.delta_neg.clone(),
        ]);
    }
    let g1 = G1Projective::normalize_batch(&g1);
    let ml = Bn254::multi_miller_loop(g1, g2);
    Bn254::final_exponentiation(ml).is_some_and(|out: PairingOutput<Bn254>| out.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groth16::{decode_proof, decode_vk};
    use crate::solvency::RoundBundle;
    use ark_ff::One;
    use std::collections::BTreeMap;

    /// A proof's name, its key's hash, the proof and its public inputs.
    type Named = (String, String, Proof<Bn254>, Vec<Fr>);

    /// The frozen Groth16 round's keys and proofs: 4 batch proofs under one key, 2
    /// aggregation proofs under another, the top proof under a third.
    fn frozen() -> (BTreeMap<String, Key>, Vec<Named>) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/solvency/frozen/v1/round.json"
        );
        let b = RoundBundle::parse(&std::fs::read(path).unwrap(), "round").unwrap();
        let keys = b
            .verifying_keys
            .iter()
            .map(|(h, k)| (h.clone(), Key::new(&decode_vk(k, h).unwrap())))
            .collect();
        let entries = b.batches.iter().chain(b.aggregations.iter().flatten());
        let proofs = entries
            .enumerate()
            .map(|(i, e)| {
                let inputs = e
                    .public_inputs
                    .iter()
                    .map(|s| assay_circuits::field::from_decimal::<Fr>(s).unwrap())
                    .collect();
                (
                    format!("proof {i}"),
                    e.key.clone(),
                    decode_proof(&e.proof, "p").unwrap(),
                    inputs,
                )
            })
            .collect();
        (keys, proofs)
    }

    fn claims<'a>(keys: &'a BTreeMap<String, Key>, proofs: &'a [Named]) -> Vec<Claim<'a>> {
        proofs
            .iter()
            .map(|(what, key, proof, inputs)| Claim {
                key: &keys[key],
                proof,
                inputs,
                what,
            })
            .collect()
    }

    fn rejected(r: Result<(), VerifyError>) -> String {
        match r {
            Err(VerifyError::ProofRejected { proof, .. }) => proof,
            other => panic!("expected a rejected proof, got {other:?}"),
        }
    }

    #[test]
    fn the_frozen_rounds_proofs_verify_together_and_alone() {
        let (keys, proofs) = frozen();
        let all = claims(&keys, &proofs);
        assert_eq!(all.len(), 7);
        verify_all(&all).unwrap();
        for c in &all {
            verify_all(std::slice::from_ref(c)).unwrap();
            c.key.verify(c.proof, c.inputs, c.what).unwrap();
        }
    }

    #[test]
    fn one_false_input_fails_the_batch_and_is_named() {
        let (keys, mut proofs) = frozen();
        for bad in [0, 3, 4, 6] {
            let saved = proofs[bad].3[0];
            proofs[bad].3[0] += Fr::one();
            let all = claims(&keys, &proofs);
            assert_eq!(rejected(verify_all(&all)), format!("proof {bad}"));
            proofs[bad].3[0] = saved;
        }
        verify_all(&claims(&keys, &proofs)).unwrap();
    }

    #[test]
    fn swapped_proofs_fail_even_when_each_is_valid_for_the_other() {
        // Batch proofs 1 and 2 swapped: each is a valid proof, of the other's inputs.
        let (keys, mut proofs) = frozen();
        let p1 = proofs[1].2.clone();
        proofs[1].2 = proofs[2].2.clone();
        proofs[2].2 = p1;
        assert_eq!(rejected(verify_all(&claims(&keys, &proofs))), "proof 1");
        // Batch proof 0's bytes offered as a proof of aggregation proof 0's claim.
        let (keys, mut proofs) = frozen();
        proofs[0].1 = proofs[4].1.clone();
        proofs[0].3 = proofs[4].3.clone();
        assert_eq!(rejected(verify_all(&claims(&keys, &proofs))), "proof 0");
    }

    #[test]
    fn a_wrong_input_count_is_a_structure_error_before_any_pairing() {
        let (keys, mut proofs) = frozen();
        proofs[5].3.push(Fr::one());
        match verify_all(&claims(&keys, &proofs)) {
            Err(VerifyError::Structure(m)) => assert!(m.starts_with("proof 5: "), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_weights_bind_every_proof_and_input() {
        let (keys, mut proofs) = frozen();
        let w = weights(&claims(&keys, &proofs));
        assert_eq!(w[0], 1);
        assert!(w[1..].iter().all(|r| *r != 0 && *r != 1));
        proofs[6].3[0] += Fr::one();
        let w2 = weights(&claims(&keys, &proofs));
        assert_eq!(w2[0], 1);
        assert!(w[1..].iter().zip(&w2[1..]).all(|(a, b)| a != b));
    }

    #[test]
    fn lincomb_is_the_sum_of_the_scalar_multiples() {
        use ark_std::UniformRand;
        let mut rng = ark_std::test_rng();
        for n in [0usize, 1, 2, 9] {
            let bases: Vec<G1Affine> = (0..n).map(|_| G1Affine::rand(&mut rng)).collect();
            // Full-width, short, zero and one scalars, as the batched check produces them.
            let scalars: Vec<Fr> = (0..n)
                .map(|i| match i % 4 {
                    0 => Fr::rand(&mut rng),
                    1 => Fr::from(u128::MAX),
                    2 => Fr::zero(),
                    _ => Fr::one(),
                })
                .collect();
            let want: G1Projective = bases.iter().zip(&scalars).map(|(p, s)| *p * s).sum();
            let big: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
            assert_eq!(lincomb(&bases, &big), want, "{n} terms");
        }
    }
}
