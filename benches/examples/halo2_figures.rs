//! One-shot figures for the Halo2 solvency batch: rows/k, keygen, prove and verify time,
//! proof size, user-assets per second.
//!
//! How to run (release, from the workspace root):
//! `cargo run --release -p assay-benches --example halo2_figures -- <B> <K> <compact|balanced|throughput> [w]`
//! or, for the top aggregation: `... --example halo2_figures -- agg <f> <K>`.
//! Parameters are generated with `Params::new(k)` (deterministic) and cached in
//! `target/halo2-params/k<k>.bin`.

use assay_circuits::{
    halo2::Fp,
    solvency::{
        halo2::{Balanced, BatchCircuit, Compact, Throughput, Tuning},
        pasta::{BatchWitness, LeafWitness},
        Shape,
    },
};
use assay_prover::halo2::Halo2Prover;
use assay_verifier::halo2::{params, read_params, write_params, Halo2Params};
use std::{path::PathBuf, time::Instant};

fn cached_params(k: u32) -> Halo2Params {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/halo2-params");
    let path = dir.join(format!("k{k}.bin"));
    if let Ok(mut f) = std::fs::File::open(&path) {
        if let Ok(p) = read_params(&mut std::io::BufReader::new(&mut f)) {
            return p;
        }
    }
    let t = Instant::now();
    let p = params(k).expect("k in range");
    eprintln!("Params::new({k}): {:.1} s", t.elapsed().as_secs_f64());
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(f) = std::fs::File::create(&path) {
        let _ = write_params(&p, &mut std::io::BufWriter::new(f));
    }
    p
}

/// This process's CPU seconds (user + system) from `/proc/self/stat`, so that figures stay
/// meaningful on a machine shared with other jobs (0 where unavailable).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of the stat line (utime, stime) are at 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn witness(b: usize, k: usize, w: usize) -> BatchWitness {
    let cap = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
    BatchWitness {
        round: Fp::from(1),
        leaves: (0..b as u64)
            .map(|i| LeafWitness {
                id: Fp::from(i * 7919 + 1),
                balances: (0..k as u64)
                    .map(|a| Fp::from((i * 1_000_003 + a * 17) % cap))
                    .collect(),
            })
            .collect(),
        blind: Fp::from(42),
    }
}

fn run<T: Tuning>(b: usize, k: usize, w: usize, name: &str) {
    let shape = Shape {
        num_assets: k,
        balance_bits: w,
    };
    let wit = witness(b, k, w);
    let public = wit
        .evaluate(&shape)
        .expect("honest witness")
        .public
        .to_inputs();
    let blank = BatchCircuit::<T>::new(shape, b, None);
    let kk = blank.min_k();
    let p = cached_params(kk);
    let (t, c) = (Instant::now(), cpu_seconds());
    let prover = Halo2Prover::new(p, &blank, kk, 3).expect("keygen");
    let (keygen, keygen_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let proof = prover
        .prove_os_rng(BatchCircuit::<T>::new(shape, b, Some(wit)), &public)
        .expect("prove");
    let (prove, prove_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let verifier = prover.verifier(&blank).expect("vk");
    let (t, c) = (Instant::now(), cpu_seconds());
    verifier.verify(&public, &proof).expect("verifies");
    let (verify, verify_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    println!(
        "halo2 batch B={b} K={k} w={w} tuning={name} k={kk} | keygen {keygen:.1} s wall, {keygen_cpu:.1} s CPU | prove {prove:.1} s wall, {prove_cpu:.1} s CPU | verify {:.0} ms wall, {:.0} ms CPU | proof {} B | user-assets per CPU-second {:.0}",
        verify * 1e3,
        verify_cpu * 1e3,
        proof.len(),
        (b * k) as f64 / prove_cpu.max(1e-9)
    );
}

/// The top aggregation over `f` honest children with `K` assets.
fn run_agg(f: usize, k: usize) {
    use assay_circuits::solvency::{
        halo2::AggregateCircuit,
        pasta::{AggregateWitness, ChildOpening, TopInputs},
    };
    let shape = Shape {
        num_assets: k,
        balance_bits: 64,
    };
    let children: Vec<ChildOpening> = (0..f as u64)
        .map(|i| ChildOpening {
            root: Fp::from(i + 100),
            sums: (0..k as u64).map(|a| Fp::from(i * 1000 + a)).collect(),
            blind: Fp::from(i + 7),
        })
        .collect();
    let w = AggregateWitness {
        round: Fp::from(1),
        children,
        blind: Fp::from(3),
        top: Some(TopInputs {
            previous: Fp::from(9),
            reserves: vec![Fp::from(u64::MAX); k],
        }),
    };
    let public = w.evaluate(&shape).expect("honest").public.to_inputs();
    let blank = AggregateCircuit::<Compact>::new(shape, f, true, None);
    let kk = blank.min_k();
    let p = cached_params(kk);
    let (t, c) = (Instant::now(), cpu_seconds());
    let prover = Halo2Prover::new(p, &blank, kk, blank.num_public()).expect("keygen");
    let (keygen, keygen_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let proof = prover
        .prove_os_rng(
            AggregateCircuit::<Compact>::new(shape, f, true, Some(w)),
            &public,
        )
        .expect("prove");
    let (prove, prove_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let verifier = prover.verifier(&blank).expect("vk");
    let (t, c) = (Instant::now(), cpu_seconds());
    verifier.verify(&public, &proof).expect("verifies");
    let (verify, verify_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    println!(
        "halo2 top aggregation f={f} K={k} tuning=compact k={kk} | keygen {keygen:.1} s wall, {keygen_cpu:.1} s CPU | prove {prove:.1} s wall, {prove_cpu:.1} s CPU | verify {:.0} ms wall, {:.0} ms CPU | proof {} B",
        verify * 1e3,
        verify_cpu * 1e3,
        proof.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("agg") {
        let f = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
        let k = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(4);
        return run_agg(f, k);
    }
    let b: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(16);
    let k: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    let tuning = args.get(3).map_or("compact", String::as_str);
    let w: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(64);
    match tuning {
        "balanced" => run::<Balanced>(b, k, w, tuning),
        "throughput" => run::<Throughput>(b, k, w, tuning),
        _ => run::<Compact>(b, k, w, "compact"),
    }
}
