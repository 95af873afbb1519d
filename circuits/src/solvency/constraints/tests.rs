//! Honest and malicious witnesses for the solvency circuits. Each attack violates exactly one
//! clause: it must leave the constraint system unsatisfied and its proof must not verify.

use super::*;
use crate::solvency::{
    commit_sums, AggregatePublic, ChildOpening, LeafWitness, StatementError, TopInputs,
};
use ark_bn254::Bn254;
use ark_ff::{Field, One};
use ark_groth16::Groth16;
use ark_relations::gr1cs::ConstraintSystem;
use ark_snark::SNARK;
use rand::{rngs::StdRng, SeedableRng};

const SHAPE: Shape = Shape {
    num_assets: 2,
    balance_bits: 8,
};
const B: usize = 4;

fn honest_batch(seed: u64) -> BatchWitness {
    let leaves = (0..B as u64)
        .map(|i| LeafWitness {
            id: Fr::from(1000 * seed + i),
            balances: vec![Fr::from(10 * i + seed), Fr::from(255u64 - i)],
        })
        .collect();
    BatchWitness {
        round: Fr::from(7u64),
        leaves,
        blind: Fr::from(99 + seed),
    }
}

fn batch_circuit(w: BatchWitness, public: BatchPublic) -> BatchCircuit {
    BatchCircuit {
        shape: SHAPE,
        batch_size: B,
        public: Some(public),
        witness: Some(w),
    }
}

fn satisfied<C: ConstraintSynthesizer<Fr>>(c: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

/// Proves `c` with freshly generated keys (for the shape of `blank`) and verifies against
/// `public`: the second line of defence behind `is_satisfied`.
fn verifies<C: ConstraintSynthesizer<Fr> + Clone>(blank: C, c: C, public: &[Fr]) -> bool {
    let mut rng = StdRng::seed_from_u64(42);
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank, &mut rng).unwrap();
    let proof = Groth16::<Bn254>::prove(&pk, c, &mut rng).unwrap();
    Groth16::<Bn254>::verify(&vk, public, &proof).unwrap()
}

fn blank_batch() -> BatchCircuit {
    BatchCircuit {
        shape: SHAPE,
        batch_size: B,
        public: None,
        witness: None,
    }
}

fn assert_batch_attack_fails(w: BatchWitness, public: BatchPublic) {
    assert!(
        !satisfied(batch_circuit(w.clone(), public)),
        "constraint system accepted the attack"
    );
    assert!(
        !verifies(blank_batch(), batch_circuit(w, public), &public.to_inputs()),
        "a proof of the attack verified"
    );
}

#[test]
fn honest_batch_is_satisfied_and_verifies() {
    let w = honest_batch(1);
    let e = w.evaluate(&SHAPE).unwrap();
    assert!(satisfied(batch_circuit(w.clone(), e.public)));
    assert!(verifies(
        blank_batch(),
        batch_circuit(w, e.public),
        &e.public.to_inputs()
    ));
}

#[test]
fn test_negative_balance_as_p_minus_x() {
    let mut w = honest_batch(1);
    // Balance -5 (p - 5) on leaf 2; add 5 to leaf 3 so the sum is unchanged.
    w.leaves[2].balances[0] = -Fr::from(5u64);
    w.leaves[3].balances[0] += Fr::from(5u64);
    assert!(w.evaluate(&SHAPE).is_err());
    let public = w.evaluate_unchecked().unwrap().public;
    assert_batch_attack_fails(w, public);
}

#[test]
fn test_balance_at_two_to_the_w() {
    let mut w = honest_batch(1);
    w.leaves[0].balances[1] = Fr::from(256u64);
    assert!(matches!(
        w.evaluate(&SHAPE),
        Err(StatementError::BalanceRange { .. })
    ));
    let public = w.evaluate_unchecked().unwrap().public;
    assert_batch_attack_fails(w, public);
}

#[test]
fn test_wrong_leaf_hash() {
    // The claimed root commits to a different balance than the witness proves.
    let w = honest_batch(1);
    let mut other = w.clone();
    other.leaves[1].balances[0] += Fr::one();
    let mut public = w.evaluate_unchecked().unwrap().public;
    public.root = other.evaluate_unchecked().unwrap().public.root;
    assert_batch_attack_fails(w, public);
}

#[test]
fn test_wrong_batch_sum() {
    let w = honest_batch(1);
    let mut e = w.evaluate_unchecked().unwrap();
    e.sums[0] -= Fr::from(3u64);
    let mut public = e.public;
    public.commitment = commit_sums(&e.sums, w.blind);
    assert_batch_attack_fails(w, public);
}

#[test]
fn test_wrong_commitment_blind() {
    let w = honest_batch(1);
    let e = w.evaluate_unchecked().unwrap();
    let mut public = e.public;
    public.commitment = commit_sums(&e.sums, w.blind + Fr::one());
    assert_batch_attack_fails(w, public);
}

#[test]
fn test_round_id_swapped_does_not_verify() {
    let w = honest_batch(1);
    let public = w.evaluate(&SHAPE).unwrap().public;
    let mut inputs = public.to_inputs();
    inputs[IN_ROUND_TEST] += Fr::one();
    assert!(!verifies(blank_batch(), batch_circuit(w, public), &inputs));
}
const IN_ROUND_TEST: usize = crate::solvency::IN_ROUND;

// ---- aggregation -------------------------------------------------------------------------

const F: usize = 2;

fn children() -> Vec<ChildOpening> {
    (1..=F as u64)
        .map(|s| {
            let w = honest_batch(s);
            let e = w.evaluate(&SHAPE).unwrap();
            ChildOpening {
                root: e.public.root,
                sums: e.sums,
                blind: w.blind,
            }
        })
        .collect()
}

fn reserves_ok() -> Vec<Fr> {
    vec![Fr::from(10_000u64), Fr::from(10_000u64)]
}

fn honest_agg(top: bool) -> AggregateWitness {
    AggregateWitness {
        round: Fr::from(7u64),
        children: children(),
        blind: Fr::from(5u64),
        top: top.then(|| TopInputs {
            previous: Fr::from(123u64),
            reserves: reserves_ok(),
        }),
    }
}

fn agg_circuit(w: AggregateWitness, public: AggregatePublic) -> AggregateCircuit {
    AggregateCircuit {
        shape: SHAPE,
        fan_in: F,
        top: public.top.is_some(),
        public: Some(public),
        witness: Some(w),
    }
}

fn blank_agg(top: bool) -> AggregateCircuit {
    AggregateCircuit {
        shape: SHAPE,
        fan_in: F,
        top,
        public: None,
        witness: None,
    }
}

fn assert_agg_attack_fails(w: AggregateWitness, public: AggregatePublic) {
    let top = public.top.is_some();
    assert!(
        !satisfied(agg_circuit(w.clone(), public.clone())),
        "constraint system accepted"
    );
    assert!(
        !verifies(
            blank_agg(top),
            agg_circuit(w, public.clone()),
            &public.to_inputs()
        ),
        "a proof of the attack verified"
    );
}

#[test]
fn honest_aggregations_are_satisfied_and_verify() {
    for top in [false, true] {
        let w = honest_agg(top);
        let e = w.evaluate(&SHAPE).unwrap();
        assert!(
            satisfied(agg_circuit(w.clone(), e.public.clone())),
            "top={top}"
        );
        assert!(verifies(
            blank_agg(top),
            agg_circuit(w, e.public.clone()),
            &e.public.to_inputs()
        ));
    }
}

#[test]
fn test_wrong_child_opening() {
    // The prover opens child 0 to smaller sums than it committed to.
    let mut w = honest_agg(false);
    let honest_public = w.evaluate(&SHAPE).unwrap().public;
    w.children[0].sums[0] -= Fr::one();
    let mut public = w.evaluate_unchecked().unwrap().public;
    public.digest = honest_public.digest; // the digest the verifier computes from c_0
    assert_agg_attack_fails(w, public);
}

#[test]
fn test_child_root_swapped() {
    let w = honest_agg(false);
    let mut public = w.evaluate_unchecked().unwrap().public;
    let mut swapped = w.clone();
    swapped.children.swap(0, 1);
    public.root = swapped.evaluate_unchecked().unwrap().public.root;
    assert_agg_attack_fails(w, public);
}

#[test]
fn test_sum_above_reserves() {
    let mut w = honest_agg(true);
    let e = w.evaluate(&SHAPE).unwrap();
    let mut t = w.top.clone().unwrap();
    t.reserves[1] = e.sums[1] - Fr::one();
    w.top = Some(t);
    assert!(matches!(
        w.evaluate(&SHAPE),
        Err(StatementError::Insolvent { asset: 1 })
    ));
    let public = w.evaluate_unchecked().unwrap().public;
    assert_agg_attack_fails(w, public);
}

#[test]
fn test_reserves_exactly_equal_to_liabilities_pass() {
    let mut w = honest_agg(true);
    let sums = w.evaluate(&SHAPE).unwrap().sums;
    w.top.as_mut().unwrap().reserves = sums;
    let e = w.evaluate(&SHAPE).unwrap();
    assert!(satisfied(agg_circuit(w, e.public)));
}

#[test]
fn test_overflow_of_aggregated_sum() {
    // Child 0 claims a "negative" sum p - 1000 that wraps the total below the reserves.
    let mut w = honest_agg(true);
    w.children[0].sums[0] = -Fr::from(1000u64);
    assert!(matches!(
        w.evaluate(&SHAPE),
        Err(StatementError::SumRange { .. })
    ));
    let public = w.evaluate_unchecked().unwrap().public;
    assert_agg_attack_fails(w, public);
}

#[test]
fn test_sum_just_above_width_fails() {
    let mut w = honest_agg(false);
    w.children[1].sums[1] = Fr::from(2u64).pow([SHAPE.sum_bits() as u64]);
    let public = w.evaluate_unchecked().unwrap().public;
    assert_agg_attack_fails(w, public);
}

#[test]
fn test_previous_round_hash_swapped_does_not_verify() {
    let w = honest_agg(true);
    let public = w.evaluate(&SHAPE).unwrap().public;
    let mut inputs = public.to_inputs();
    inputs[crate::solvency::IN_PREVIOUS] += Fr::one();
    assert!(!verifies(blank_agg(true), agg_circuit(w, public), &inputs));
}

#[test]
fn every_public_input_is_bound() {
    // Changing any single public input of a valid proof makes it fail.
    let w = honest_agg(true);
    let public = w.evaluate(&SHAPE).unwrap().public;
    let mut rng = StdRng::seed_from_u64(1);
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank_agg(true), &mut rng).unwrap();
    let proof = Groth16::<Bn254>::prove(&pk, agg_circuit(w, public.clone()), &mut rng).unwrap();
    let inputs = public.to_inputs();
    assert!(Groth16::<Bn254>::verify(&vk, &inputs, &proof).unwrap());
    for i in 0..inputs.len() {
        let mut bad = inputs.clone();
        bad[i] += Fr::one();
        assert!(
            !Groth16::<Bn254>::verify(&vk, &bad, &proof).unwrap(),
            "input {i} unbound"
        );
    }
}
