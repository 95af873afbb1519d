//! Criterion benchmarks of the Halo2 solvency batch: prove and verify at small sizes.
//!
//! How to run (from the workspace root):
//! `cargo bench -p assay-benches --bench halo2`
//! For one-shot figures at B = 1024 (K = 4 or 50), side by side with Groth16, use
//! `scripts/figures.sh` (the `side_by_side` binary; `--only batch-k4 --backend halo2`).
//! Parameters come from `Params::new(k)` (deterministic); proving randomness is seeded.

use assay_circuits::{
    halo2::Fp,
    solvency::{
        halo2::{BatchCircuit, Compact},
        pasta::{BatchWitness, LeafWitness},
        Shape,
    },
};
use assay_prover::halo2::Halo2Prover;
use assay_verifier::halo2::params;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand_10::{rngs::StdRng, SeedableRng};

fn witness(b: usize, k: usize) -> BatchWitness {
    BatchWitness {
        round: Fp::from(1),
        leaves: (0..b as u64)
            .map(|i| LeafWitness {
                id: Fp::from(i + 1),
                balances: (0..k as u64).map(|a| Fp::from(i * 1_000_003 + a)).collect(),
            })
            .collect(),
        blind: Fp::from(42),
    }
}

fn batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("halo2 batch");
    group.sample_size(10);
    for (b, k) in [(16usize, 4usize), (64, 4)] {
        let shape = Shape {
            num_assets: k,
            balance_bits: 64,
        };
        let wit = witness(b, k);
        let public = wit.evaluate(&shape).expect("honest").public.to_inputs();
        let blank = BatchCircuit::<Compact>::new(shape, b, None);
        let kk = blank.min_k();
        let prover = Halo2Prover::new(params(kk).expect("k"), &blank, kk, 3).expect("keygen");
        let id = format!("B={b} K={k} k={kk}");
        let mut rng = StdRng::seed_from_u64(7);
        group.bench_function(BenchmarkId::new("prove", &id), |bench| {
            bench.iter(|| {
                prover
                    .prove(
                        BatchCircuit::<Compact>::new(shape, b, Some(wit.clone())),
                        &public,
                        &mut rng,
                    )
                    .expect("prove")
            })
        });
        let proof = prover
            .prove(
                BatchCircuit::<Compact>::new(shape, b, Some(wit.clone())),
                &public,
                &mut rng,
            )
            .expect("prove");
        let verifier = prover.verifier(&blank).expect("vk");
        group.bench_function(BenchmarkId::new("verify", &id), |bench| {
            bench.iter(|| verifier.verify(&public, &proof).expect("verifies"))
        });
    }
    group.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
