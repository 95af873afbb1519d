//! Shared inputs of Assay's benchmarks and figures: honest solvency batches of any shape.
#![deny(missing_docs)]

use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use assay_circuits::{
    solvency::{constraints::BatchCircuit, BatchWitness, LeafWitness, Shape},
    Fr,
};

/// An honest batch of `b` leaves with `k` assets of width `w`, with its circuit.
pub fn batch(k: usize, w: usize, b: usize) -> BatchCircuit {
    let shape = Shape {
        num_assets: k,
        balance_bits: w,
    };
    let leaves = (0..b as u64)
        .map(|i| LeafWitness {
            id: Fr::from(i * 7919 + 1),
            balances: (0..k as u64)
                .map(|a| Fr::from((i * 31 + a * 17) % (1 << 20)))
                .collect(),
        })
        .collect();
    let witness = BatchWitness {
        round: Fr::from(1u64),
        leaves,
        blind: Fr::from(5u64),
    };
    let public = witness.evaluate(&shape).map(|e| e.public).ok();
    BatchCircuit {
        shape,
        batch_size: b,
        public,
        witness: Some(witness),
    }
}

/// The number of R1CS constraints of a circuit (synthesized in setup mode: no witness work).
pub fn constraints<C: ConstraintSynthesizer<Fr>>(c: C) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    // Only counting: a synthesis error means no count.
    c.generate_constraints(cs.clone())
        .map(|_| cs.num_constraints())
        .unwrap_or(0)
}
