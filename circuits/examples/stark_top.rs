//! What the top proof of a `10^6`-user round costs under each pinned parameter set (feature
//! `stark`): 245 batch children at K = 4 (batches of 4,095 users), one top proof.
//!
//! `cargo --config .cargo/x86-64-v3.toml run --release -p assay-circuits --features stark-parallel
//! --example stark_top --target-dir target/x86-64-v3 [CHILDREN=245] [REPS=21]`
//!
//! Prints, for `AGG_PARAMS` (aggregation proofs since 2026-12-03) and `STARK_PARAMS` (before),
//! the proving wall time, the proof size, the median verification time over REPS runs, and
//! Plonky3's conjectured security level for the shape.

use std::time::Instant;

use assay_circuits::solvency::stark::{
    aggregation_security, child_commitment, prove_aggregation_under, round_digest,
    verify_aggregation_under, AggShape, AggWitness, ChildKind, ChildOpening, ChildPublic,
    TopPublic, Val, AGG_PARAMS, LIMBS, STARK_PARAMS,
};
use p3_field::PrimeCharacteristicRing;

fn main() {
    let mut args = std::env::args().skip(1);
    let children: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(245);
    let reps: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(21)
        .max(1);
    let assets = 4;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut totals = vec![0u128; assets];
    let openings: Vec<ChildOpening> = (0..children)
        .map(|i| {
            // Limb sums of a batch of 4,095 balances below 2^40: each below 4,095 x (2^16 - 1).
            let limbs: Vec<u64> = (0..assets * LIMBS)
                .map(|j| {
                    if j % LIMBS < 3 {
                        next() % (4_095 * 65_535)
                    } else {
                        0
                    }
                })
                .collect();
            for a in 0..assets {
                for l in 0..LIMBS {
                    totals[a] += u128::from(limbs[a * LIMBS + l]) << (16 * l);
                }
            }
            let blind = core::array::from_fn(|k| Val::from_u64(next() % 0x7f00_0001 + k as u64));
            ChildOpening {
                public: ChildPublic {
                    root: core::array::from_fn(|k| Val::from_u32(i as u32 * 8 + k as u32)),
                    commitment: child_commitment(ChildKind::Batch, assets, &blind, &limbs),
                },
                blind,
                limbs,
            }
        })
        .collect();
    let w = AggWitness {
        shape: AggShape::new(assets, children, ChildKind::Batch, true).expect("shape"),
        round: round_digest("stark-top").expect("round id"),
        children: openings,
        blind: core::array::from_fn(|k| Val::from_u32(k as u32 + 1)),
        top: Some(TopPublic {
            previous: [Val::ZERO; 8],
            reserves: totals.iter().map(|t| t + 1).collect(),
        }),
    };
    println!(
        "top proof over {children} batch children, K = {assets}, height 2^{}",
        w.shape.log_height
    );
    for (name, params) in [("AGG_PARAMS", AGG_PARAMS), ("STARK_PARAMS", STARK_PARAMS)] {
        let t = Instant::now();
        let (bytes, public) = prove_aggregation_under(&w, &params).expect("prove");
        let prove = t.elapsed().as_secs_f64();
        let mut times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                verify_aggregation_under(&w.shape, &bytes, &public, &params).expect("verify");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let sec = aggregation_security(&w.shape, &params).expect("security");
        println!(
            "{name:>12} (blowup 2^{}, {} queries, arity 2^{}): prove {prove:.2} s wall, proof {} \
             bytes, verify median {:.2} ms (min {:.2}), {} conjectured bits",
            params.log_blowup,
            params.num_queries,
            params.max_log_arity,
            bytes.len(),
            times[reps / 2],
            times[0],
            sec.conjectured_bits
        );
    }
}
