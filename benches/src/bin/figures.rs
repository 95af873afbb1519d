//! Prints the figures of the solvency closing note, measured in one run on this machine:
//! constraints per user against the floor, batch proving time at B = 1024, users per second
//! per core, and verify time. `cargo run --release -p assay-benches --bin figures [B]`.

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use assay_benches::{batch, constraints};
use rand::{rngs::StdRng, SeedableRng};
use std::time::Instant;

fn main() {
    let b: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores; batch size B = {b}");
    for k in [1usize, 4] {
        let w = 64;
        let n = constraints(batch(k, w, b));
        let per_user = n as f64 / b as f64;
        // Floor: w + 1 per balance, the leaf hash, and the leaf's share of the tree (one node).
        let leaf = constraints_of_hash(k + 1, Some(assay_circuits::tags::TAG_LEAF));
        let node = constraints_of_hash(2, None);
        let floor = (k * (w + 1) + leaf + node) as f64;
        println!(
            "K={k} w={w}: {n} constraints, {per_user:.1} per user; floor {floor:.0} \
             (range {} + leaf hash {leaf} + tree share {node}); ratio {:.3}",
            k * (w + 1),
            per_user / floor
        );
    }
    let mut rng = StdRng::seed_from_u64(1);
    let circuit = batch(4, 64, b);
    let inputs = circuit.public.map(|p| p.to_inputs()).unwrap_or_default();
    let t = Instant::now();
    let (pk, vk) =
        Groth16::<Bn254>::circuit_specific_setup(circuit.clone(), &mut rng).expect("setup");
    println!("K=4 B={b}: setup {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let proof = Groth16::<Bn254>::prove(&pk, circuit, &mut rng).expect("prove");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "K=4 B={b}: prove {secs:.2} s, {:.1} users/s, {:.1} users/s/core",
        b as f64 / secs,
        b as f64 / secs / cores as f64
    );
    let pvk = Groth16::<Bn254>::process_vk(&vk).expect("vk");
    let t = Instant::now();
    let reps = 200;
    for _ in 0..reps {
        assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &proof).expect("verify"));
    }
    println!(
        "verify (prepared key): {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
}

fn constraints_of_hash(arity: usize, tag: Option<&str>) -> usize {
    use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar};
    use ark_relations::gr1cs::ConstraintSystem;
    let cs = ConstraintSystem::<assay_circuits::Fr>::new_ref();
    let v: Vec<FpVar<_>> = (0..arity)
        .map(|i| {
            FpVar::new_witness(cs.clone(), || Ok(assay_circuits::Fr::from(i as u64 + 1)))
                .expect("alloc")
        })
        .collect();
    let _ = match tag {
        Some(t) => assay_circuits::poseidon::constraints::hash_tagged_var(t, &v).expect("hash"),
        None => assay_circuits::poseidon::constraints::hash_var(&v).expect("hash"),
    };
    cs.num_constraints()
}
