//! The solvency circuits for Groth16: [`BatchCircuit`] and [`AggregateCircuit`].
//!
//! Every constraint block cites the clause of the statement (module [`super`]) it enforces.
//! The circuit's shape depends only on the [`Shape`], the batch size or fan-in, and whether the
//! aggregation is the top: the witness is optional so that keys can be generated without one.

use super::{AggregatePublic, AggregateWitness, BatchPublic, BatchWitness, Shape};
use crate::{
    merkle::constraints::root_var, poseidon::constraints::hash_tagged_var,
    range::constraints::enforce_bits, tags, Fr, SynthesisError,
};
use ark_ff::Zero;
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef};

/// Allocates a witness from an optional value (`None` during key generation).
fn witness(cs: &ConstraintSystemRef<Fr>, v: Option<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || v.ok_or(SynthesisError::AssignmentMissing))
}

fn input(cs: &ConstraintSystemRef<Fr>, v: Option<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_input(cs.clone(), || v.ok_or(SynthesisError::AssignmentMissing))
}

/// Puts a public input that no relation involves into a constraint (`x * x = x^2`), so that
/// the circuit itself, and not only the proof system, binds the proof to its value.
fn bind(x: &FpVar<Fr>) -> Result<(), SynthesisError> {
    let _ = x.square()?;
    Ok(())
}

/// The batch proof: `B` leaves, all balances in `[0, 2^w)`, hashing to `r_j`, with sums
/// committed in `c_j`. Public: `[round, r_j, c_j]`.
#[derive(Debug, Clone)]
pub struct BatchCircuit {
    /// The round's dimensions.
    pub shape: Shape,
    /// `B`, a power of two.
    pub batch_size: usize,
    /// The claimed public inputs (`None` for key generation).
    pub public: Option<BatchPublic>,
    /// The witness (`None` for key generation).
    pub witness: Option<BatchWitness>,
}

impl ConstraintSynthesizer<Fr> for BatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let k = self.shape.num_assets;
        let w = self.witness.as_ref();
        if !self.batch_size.is_power_of_two()
            || w.is_some_and(|w| w.leaves.len() != self.batch_size)
        {
            return Err(SynthesisError::Unsatisfiable);
        }
        let public = self.public;
        let round = input(&cs, public.map(|p| p.round))?;
        let root_pub = input(&cs, public.map(|p| p.root))?;
        let commitment_pub = input(&cs, public.map(|p| p.commitment))?;
        // The round id has no other relation: bind it.
        bind(&round)?;

        let mut sums = vec![FpVar::Constant(Fr::zero()); k];
        let mut leaves = Vec::with_capacity(self.batch_size);
        for i in 0..self.batch_size {
            let lw = w.map(|w| &w.leaves[i]);
            let id = witness(&cs, lw.map(|l| l.id))?;
            let mut inputs = Vec::with_capacity(k + 1);
            inputs.push(id);
            for (a, sum) in sums.iter_mut().enumerate() {
                let b = witness(&cs, lw.and_then(|l| l.balances.get(a).copied()))?;
                // §1 batch: every balance is in [0, 2^w).
                enforce_bits(&b, self.shape.balance_bits)?;
                *sum += &b;
                inputs.push(b);
            }
            // §1 leaves: leaf = H(TAG_LEAF, id, b_1..b_K).
            leaves.push(hash_tagged_var(tags::TAG_LEAF, &inputs)?);
        }
        // §1 batch: the leaves hash to the batch root r_j.
        root_var(&leaves)?.enforce_equal(&root_pub)?;
        // §1 batch: c_j = H(TAG_SUM, S_j, blind_j).
        sums.push(witness(&cs, w.map(|w| w.blind))?);
        hash_tagged_var(tags::TAG_SUM, &sums)?.enforce_equal(&commitment_pub)?;
        Ok(())
    }
}

/// An aggregation proof over `f` children (see [`super`]). Public:
/// `[round, root, commitment, digest]`, and at the top `[previous, reserves_1..K]` after them.
#[derive(Debug, Clone)]
pub struct AggregateCircuit {
    /// The round's dimensions.
    pub shape: Shape,
    /// `f`, the number of children, a power of two.
    pub fan_in: usize,
    /// Whether this is the top aggregation (reserves and previous round).
    pub top: bool,
    /// The claimed public inputs (`None` for key generation).
    pub public: Option<AggregatePublic>,
    /// The witness (`None` for key generation).
    pub witness: Option<AggregateWitness>,
}

impl ConstraintSynthesizer<Fr> for AggregateCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let k = self.shape.num_assets;
        let sum_bits = self.shape.sum_bits();
        let w = self.witness.as_ref();
        if !self.fan_in.is_power_of_two() || w.is_some_and(|w| w.children.len() != self.fan_in) {
            return Err(SynthesisError::Unsatisfiable);
        }
        let public = self.public.as_ref();
        if public.is_some_and(|p| p.top.is_some() != self.top) {
            return Err(SynthesisError::Unsatisfiable);
        }
        let round = input(&cs, public.map(|p| p.round))?;
        let root_pub = input(&cs, public.map(|p| p.root))?;
        let commitment_pub = input(&cs, public.map(|p| p.commitment))?;
        let digest_pub = input(&cs, public.map(|p| p.digest))?;
        bind(&round)?;
        let top_w = public.and_then(|p| p.top.as_ref());
        let mut reserves = Vec::new();
        if self.top {
            let previous = input(&cs, top_w.map(|t| t.previous))?;
            // The previous round's hash has no other relation: bind it.
            bind(&previous)?;
            for a in 0..k {
                reserves.push(input(&cs, top_w.and_then(|t| t.reserves.get(a).copied()))?);
            }
        }

        let mut totals = vec![FpVar::Constant(Fr::zero()); k];
        let mut roots = Vec::with_capacity(self.fan_in);
        let mut digest = FpVar::Constant(Fr::zero());
        for i in 0..self.fan_in {
            let cw = w.map(|w| &w.children[i]);
            let root = witness(&cs, cw.map(|c| c.root))?;
            let mut opening = Vec::with_capacity(k + 1);
            for (a, total) in totals.iter_mut().enumerate() {
                let s = witness(&cs, cw.and_then(|c| c.sums.get(a).copied()))?;
                // §1 aggregation: the circuit checks the widths (no overflow of the sums).
                enforce_bits(&s, sum_bits)?;
                *total += &s;
                opening.push(s);
            }
            opening.push(witness(&cs, cw.map(|c| c.blind))?);
            // §1 aggregation: opens each child's c = H(TAG_SUM, S, blind).
            let c = hash_tagged_var(tags::TAG_SUM, &opening)?;
            // §1 aggregation: a digest of the children's (r, c) is public.
            digest = hash_tagged_var(tags::TAG_DIGEST, &[digest, root.clone(), c])?;
            roots.push(root);
        }
        digest.enforce_equal(&digest_pub)?;
        // §1 aggregation: hashes the child roots into the group root.
        root_var(&roots)?.enforce_equal(&root_pub)?;
        // §1 top: sum_a <= reserves_a, as reserves_a - sum_a in [0, 2^{w+32}).
        for (total, reserve) in totals.iter().zip(&reserves) {
            enforce_bits(&(reserve - total), sum_bits)?;
        }
        // §1 aggregation: commits to the group sums the same way.
        totals.push(witness(&cs, w.map(|w| w.blind))?);
        hash_tagged_var(tags::TAG_SUM, &totals)?.enforce_equal(&commitment_pub)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
