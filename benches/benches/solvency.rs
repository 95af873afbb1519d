//! Solvency benchmarks (criterion).
//!
//! How to run: `cargo bench -p assay-benches --bench solvency` (minutes; sizes kept small so a
//! run fits a laptop). The figures at B = 1024 and the full-round numbers come from
//! `scripts/bench.sh` and `scripts/figures.sh` (the `side_by_side` binary).

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use assay_benches::batch;
use assay_circuits::{poseidon, Fr};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::{rngs::StdRng, SeedableRng};

fn bench_poseidon(c: &mut Criterion) {
    let mut g = c.benchmark_group("poseidon");
    for n in [2usize, 6] {
        let inputs: Vec<Fr> = (0..n as u64).map(Fr::from).collect();
        g.bench_with_input(BenchmarkId::new("native", n), &inputs, |b, i| {
            b.iter(|| poseidon::hash(i))
        });
    }
    g.finish();
}

fn bench_batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("batch");
    g.sample_size(10);
    let mut rng = StdRng::seed_from_u64(1);
    for (k, b) in [(1usize, 64usize), (4, 64), (4, 256)] {
        let circuit = batch(k, 64, b);
        let inputs = circuit.public.map(|p| p.to_inputs()).unwrap_or_default();
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(circuit.clone(), &mut rng).unwrap();
        let id = format!("K{k}-w64-B{b}");
        g.bench_function(BenchmarkId::new("prove", &id), |bench| {
            bench.iter(|| Groth16::<Bn254>::prove(&pk, circuit.clone(), &mut rng).unwrap())
        });
        let proof = Groth16::<Bn254>::prove(&pk, circuit.clone(), &mut rng).unwrap();
        let pvk = Groth16::<Bn254>::process_vk(&vk).unwrap();
        g.bench_function(BenchmarkId::new("verify", &id), |bench| {
            bench
                .iter(|| Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &proof).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_poseidon, bench_batch);
criterion_main!(benches);
