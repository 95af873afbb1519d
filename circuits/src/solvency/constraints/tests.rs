//! The solvency attacks of [`crate::solvency::attacks`] against the Groth16 circuits: each must
//! leave the constraint system unsatisfied **and** its proof must not verify against the
//! claimed public inputs. Binding of the public inputs that no relation involves (round id,
//! previous round hash) is tested on honest proofs.

use super::*;
use crate::solvency::attacks::{
    assert_attacks_refused, assert_honest_accepted, honest_agg, honest_batch, Case, Clause,
    SolvencyBackend, B, FAN_IN, SHAPE,
};
use ark_bn254::Bn254;
use ark_ff::One;
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::ConstraintSystem;
use ark_snark::SNARK;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::OnceLock;

type Keys = (ProvingKey<Bn254>, VerifyingKey<Bn254>);

fn setup<C: ConstraintSynthesizer<Fr>>(blank: C) -> Keys {
    let mut rng = StdRng::seed_from_u64(42);
    Groth16::<Bn254>::circuit_specific_setup(blank, &mut rng).expect("setup of the blank circuit")
}

fn blank_batch() -> BatchCircuit {
    BatchCircuit {
        shape: SHAPE,
        batch_size: B,
        public: None,
        witness: None,
    }
}

fn blank_agg(top: bool) -> AggregateCircuit {
    AggregateCircuit {
        shape: SHAPE,
        fan_in: FAN_IN,
        top,
        public: None,
        witness: None,
    }
}

/// The keys of the batch circuit and of both aggregation circuits, made once.
fn batch_keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| setup(blank_batch()))
}

fn agg_keys(top: bool) -> &'static Keys {
    static K: [OnceLock<Keys>; 2] = [OnceLock::new(), OnceLock::new()];
    K[usize::from(top)].get_or_init(|| setup(blank_agg(top)))
}

fn batch_circuit(w: BatchWitness, public: BatchPublic) -> BatchCircuit {
    BatchCircuit {
        public: Some(public),
        witness: Some(w),
        ..blank_batch()
    }
}

fn agg_circuit(w: AggregateWitness, public: AggregatePublic) -> AggregateCircuit {
    AggregateCircuit {
        public: Some(public.clone()),
        witness: Some(w),
        ..blank_agg(public.top.is_some())
    }
}

fn satisfied<C: ConstraintSynthesizer<Fr>>(c: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

/// Proves `c` with `keys` and verifies the proof against `inputs`.
fn verifies<C: ConstraintSynthesizer<Fr>>(keys: &Keys, c: C, inputs: &[Fr]) -> bool {
    let mut rng = StdRng::seed_from_u64(7);
    let proof = Groth16::<Bn254>::prove(&keys.0, c, &mut rng).unwrap();
    Groth16::<Bn254>::verify(&keys.1, inputs, &proof).unwrap()
}

/// Groth16 over BN254: (whether the constraint system is satisfied, whether a proof of the
/// witness verifies against the claimed public inputs).
struct Groth16Backend;

impl Groth16Backend {
    fn outcome(case: &Case<Fr>) -> (bool, bool) {
        match case {
            Case::Batch(w, p) => {
                let c = || batch_circuit(w.clone(), *p);
                (satisfied(c()), verifies(batch_keys(), c(), &p.to_inputs()))
            }
            Case::Aggregate(w, p) => {
                let c = || agg_circuit(w.clone(), p.clone());
                let keys = agg_keys(p.top.is_some());
                (satisfied(c()), verifies(keys, c(), &p.to_inputs()))
            }
        }
    }
}

impl SolvencyBackend for Groth16Backend {
    type F = Fr;

    fn accepts(&self, case: &Case<Fr>) -> Result<(), String> {
        match Self::outcome(case) {
            (true, true) => Ok(()),
            (sat, ver) => Err(format!("satisfied: {sat}, proof verifies: {ver}")),
        }
    }

    /// R1CS constraints carry no names here: the clause is only reported; the honest
    /// baseline of the same harness shows that the rest of the witness is accepted.
    fn refuses(&self, case: &Case<Fr>, clause: Clause) -> Result<(), String> {
        match Self::outcome(case) {
            (false, false) => Ok(()),
            (true, _) => Err(format!("the constraint system accepted {clause:?}")),
            (false, true) => Err(format!("a proof breaking {clause:?} verified")),
        }
    }
}

#[test]
fn honest_statements_are_satisfied_and_verify() {
    assert_honest_accepted(&Groth16Backend);
}

#[test]
fn every_attack_is_unsatisfied_and_does_not_verify() {
    assert_attacks_refused(&Groth16Backend);
}

#[test]
fn test_round_id_swapped_does_not_verify() {
    let w = honest_batch::<Fr>(1);
    let public = w.evaluate(&SHAPE).unwrap().public;
    let mut inputs = public.to_inputs();
    inputs[crate::solvency::IN_ROUND] += Fr::one();
    assert!(verifies(
        batch_keys(),
        batch_circuit(w.clone(), public),
        &public.to_inputs()
    ));
    assert!(!verifies(batch_keys(), batch_circuit(w, public), &inputs));
}

#[test]
fn test_previous_round_hash_swapped_does_not_verify() {
    let w = honest_agg::<Fr>(true);
    let public = w.evaluate(&SHAPE).unwrap().public;
    let mut inputs = public.to_inputs();
    inputs[crate::solvency::IN_PREVIOUS] += Fr::one();
    assert!(!verifies(agg_keys(true), agg_circuit(w, public), &inputs));
}

#[test]
fn every_public_input_is_bound() {
    // Changing any single public input of a valid proof makes it fail.
    let w = honest_agg::<Fr>(true);
    let public = w.evaluate(&SHAPE).unwrap().public;
    let (pk, vk) = agg_keys(true);
    let mut rng = StdRng::seed_from_u64(1);
    let proof = Groth16::<Bn254>::prove(pk, agg_circuit(w, public.clone()), &mut rng).unwrap();
    let inputs = public.to_inputs();
    assert!(Groth16::<Bn254>::verify(vk, &inputs, &proof).unwrap());
    for i in 0..inputs.len() {
        let mut bad = inputs.clone();
        bad[i] += Fr::one();
        assert!(
            !Groth16::<Bn254>::verify(vk, &bad, &proof).unwrap(),
            "input {i} unbound"
        );
    }
}
