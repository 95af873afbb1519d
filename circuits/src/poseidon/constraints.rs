//! The R1CS twin of [`super::hash`]: the same permutation on `FpVar`s.
//!
//! Cost: 3 constraints per S-box (`x^2`, `x^4`, `x^5`); round constants and the MDS matrix are
//! linear and free. The first S-box layer acts on a constant capacity element for free: two inputs (`t = 3`)
//! cost 240 constraints.

use super::{chain_blocks, params};
use crate::{Fr, SynthesisError};
use ark_ff::Zero;
use ark_r1cs_std::fields::{fp::FpVar, FieldVar};
use light_poseidon::PoseidonParameters;

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// The Poseidon permutation on a state of variables; mirrors [`super::permute`].
pub fn permute_var(
    state: &mut Vec<FpVar<Fr>>,
    p: &PoseidonParameters<Fr>,
) -> Result<(), SynthesisError> {
    let t = p.width;
    let half = p.full_rounds / 2;
    let rounds = p.full_rounds + p.partial_rounds;
    for round in 0..rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s += p.ark[round * t + i];
        }
        let full = round < half || round >= half + p.partial_rounds;
        let sbox_count = if full { t } else { 1 };
        for s in state.iter_mut().take(sbox_count) {
            *s = sbox(s)?;
        }
        let next: Vec<FpVar<Fr>> = (0..t)
            .map(|i| {
                state
                    .iter()
                    .zip(&p.mds[i])
                    .fold(FpVar::Constant(Fr::zero()), |acc, (a, m)| acc + a * *m)
            })
            .collect();
        *state = next;
    }
    Ok(())
}

fn hash_direct_var(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width);
    state.push(FpVar::Constant(Fr::zero()));
    state.extend_from_slice(inputs);
    permute_var(&mut state, p)?;
    Ok(state.swap_remove(0))
}

/// In-circuit [`super::hash`] of any non-empty input.
///
/// # Errors
/// [`SynthesisError::Unsatisfiable`] on an empty input; otherwise only the constraint system's
/// own errors.
pub fn hash_var(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    if inputs.is_empty() {
        return Err(SynthesisError::Unsatisfiable);
    }
    let mut acc: Option<FpVar<Fr>> = None;
    let mut at = 0;
    for block in chain_blocks(inputs.len()) {
        let mut call = Vec::with_capacity(block + 1);
        call.extend(acc);
        call.extend_from_slice(&inputs[at..at + block]);
        acc = Some(hash_direct_var(&call)?);
        at += block;
    }
    acc.ok_or(SynthesisError::Unsatisfiable)
}

/// In-circuit [`super::hash_tagged`].
pub fn hash_tagged_var(tag: &str, inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut all = Vec::with_capacity(inputs.len() + 1);
    all.push(FpVar::Constant(crate::tags::tag(tag)));
    all.extend_from_slice(inputs);
    hash_var(&all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn gadget_equals_native_for_every_arity_and_chains() {
        for n in [1usize, 2, 3, 5, 12, 13, 24, 30] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let inputs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 31 + 1)).collect();
            let vars: Vec<FpVar<Fr>> = inputs
                .iter()
                .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
                .collect();
            let out = hash_var(&vars).unwrap();
            assert_eq!(
                out.value().unwrap(),
                super::super::hash(&inputs),
                "arity {n}"
            );
            let expected =
                FpVar::new_input(cs.clone(), || Ok(super::super::hash(&inputs))).unwrap();
            out.enforce_equal(&expected).unwrap();
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn wrong_claimed_output_is_unsatisfied() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(2u64))).unwrap();
        let out = hash_var(&[a, b]).unwrap();
        let wrong = FpVar::new_input(cs.clone(), || Ok(Fr::from(3u64))).unwrap();
        out.enforce_equal(&wrong).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn two_input_cost_is_240_constraints() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(2u64))).unwrap();
        let _ = hash_var(&[a, b]).unwrap();
        assert_eq!(cs.num_constraints(), 240);
    }
}
