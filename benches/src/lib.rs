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

/// The R1CS constraints of one Poseidon hash of `arity` inputs (tagged with `tag` if given).
pub fn constraints_of_hash(arity: usize, tag: Option<&str>) -> usize {
    use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar};
    let cs = ConstraintSystem::<Fr>::new_ref();
    let v: Vec<FpVar<Fr>> = (0..arity)
        .map(|i| FpVar::new_witness(cs.clone(), || Ok(Fr::from(i as u64 + 1))).expect("alloc"))
        .collect();
    let _ = match tag {
        Some(t) => assay_circuits::poseidon::constraints::hash_tagged_var(t, &v).expect("hash"),
        None => assay_circuits::poseidon::constraints::hash_var(&v).expect("hash"),
    };
    cs.num_constraints()
}

/// The floor of a batch's R1CS cost per user with `k` assets of width `w`: `w + 1` per balance
/// (range check), the leaf hash, and the leaf's share of the tree (one node hash). Measured by
/// synthesizing those gadgets, not assumed.
pub fn constraints_floor_per_user(k: usize, w: usize) -> usize {
    let leaf = constraints_of_hash(k + 1, Some(assay_circuits::tags::TAG_LEAF));
    let node = constraints_of_hash(2, None);
    k * (w + 1) + leaf + node
}

/// This process's CPU seconds (user + system, every thread), from `getrusage`; 0 if it fails.
pub fn cpu_seconds() -> f64 {
    // SAFETY: `getrusage` writes into the zeroed struct we own; RUSAGE_SELF is always valid.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(u.ru_utime) + tv(u.ru_stime)
}
