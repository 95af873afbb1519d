//! Real Halo2 proofs of the solvency circuits at small `k`: honest proofs verify; tampered
//! proof bytes, public inputs (including the round id and the previous round hash, which no
//! relation involves), parameters of another `k` and another circuit's key do not.

use super::*;
use assay_circuits::solvency::{
    halo2::{AggregateCircuit, BatchCircuit, Compact},
    pasta::{AggregateWitness, BatchWitness, ChildOpening, LeafWitness, TopInputs},
    Shape, IN_PREVIOUS, IN_ROOT, IN_ROUND,
};
use assay_verifier::halo2::{params, vk_hash};
use ff::Field;
use rand_10::{rngs::StdRng, SeedableRng};

const SHAPE: Shape = Shape {
    num_assets: 2,
    balance_bits: 10,
};
const B: usize = 4;

fn batch(seed: u64) -> BatchWitness {
    BatchWitness {
        round: Fp::from(7),
        leaves: (0..B as u64)
            .map(|i| LeafWitness {
                id: Fp::from(1000 * seed + i),
                balances: vec![Fp::from(10 * i + seed), Fp::from(1000 - i)],
            })
            .collect(),
        blind: Fp::from(99 + seed),
    }
}

struct Fixture {
    prover: Halo2Prover,
    verifier: Halo2Verifier,
    public: Vec<Fp>,
    proof: Vec<u8>,
    k: u32,
}

fn batch_fixture() -> Fixture {
    let w = batch(1);
    let public = w.evaluate(&SHAPE).unwrap().public.to_inputs();
    let blank = BatchCircuit::<Compact>::new(SHAPE, B, None);
    let k = blank.min_k();
    let prover = Halo2Prover::new(params(k).unwrap(), &blank, k, 3).unwrap();
    let circuit = BatchCircuit::<Compact>::new(SHAPE, B, Some(w));
    let proof = prover
        .prove(circuit, &public, StdRng::seed_from_u64(1))
        .unwrap();
    let verifier = prover.verifier(&blank).unwrap();
    Fixture {
        prover,
        verifier,
        public,
        proof,
        k,
    }
}

#[test]
fn batch_proof_verifies_and_every_tampering_is_rejected() {
    let f = batch_fixture();
    assert_eq!(f.verifier.verify(&f.public, &f.proof), Ok(()));
    assert_eq!(vk_hash(f.verifier.vk()), vk_hash(f.prover.vk()));

    // Tampered proof bytes: a flipped bit in the middle, a truncated proof.
    let mut bad = f.proof.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert!(matches!(
        f.verifier.verify(&f.public, &bad),
        Err(Halo2Error::InvalidProof(_))
    ));
    assert!(matches!(
        f.verifier.verify(&f.public, &f.proof[..f.proof.len() - 32]),
        Err(Halo2Error::InvalidProof(_))
    ));

    // Tampered public inputs: the root, and the round id (bound only by its copy).
    for row in [IN_ROOT, IN_ROUND] {
        let mut public = f.public.clone();
        public[row] += Fp::ONE;
        assert!(
            matches!(
                f.verifier.verify(&public, &f.proof),
                Err(Halo2Error::InvalidProof(_))
            ),
            "row {row}"
        );
    }
    assert_eq!(
        f.verifier.verify(&f.public[..2], &f.proof),
        Err(Halo2Error::PublicInputs {
            expected: 3,
            got: 2
        })
    );

    // Parameters of another k: refused by shape, and a key derived from them does not verify.
    let blank = BatchCircuit::<Compact>::new(SHAPE, B, None);
    assert_eq!(
        Halo2Verifier::new(params(f.k + 1).unwrap(), &blank, f.k, 3).unwrap_err(),
        Halo2Error::ParamsK {
            params: f.k + 1,
            expected: f.k
        }
    );
    let other = Halo2Verifier::new(params(f.k + 1).unwrap(), &blank, f.k + 1, 3).unwrap();
    assert!(matches!(
        other.verify(&f.public, &f.proof),
        Err(Halo2Error::InvalidProof(_))
    ));
}

#[test]
fn proofs_are_randomized_and_a_malicious_witness_does_not_verify() {
    let f = batch_fixture();
    let w = batch(1);
    let again = f
        .prover
        .prove(
            BatchCircuit::<Compact>::new(SHAPE, B, Some(w.clone())),
            &f.public,
            StdRng::seed_from_u64(2),
        )
        .unwrap();
    assert_ne!(again, f.proof);
    assert_eq!(f.verifier.verify(&f.public, &again), Ok(()));

    // Negative balance as p - 5 (sum kept): a limb outside the table cannot be permuted into
    // the lookup argument, so the prover itself refuses (it never yields a proof).
    let mut bad = w;
    bad.leaves[2].balances[0] = -Fp::from(5);
    bad.leaves[3].balances[0] += Fp::from(5);
    let public = bad.evaluate_unchecked().unwrap().public.to_inputs();
    let attempt = f.prover.prove(
        BatchCircuit::<Compact>::new(SHAPE, B, Some(bad)),
        &public,
        StdRng::seed_from_u64(3),
    );
    assert_eq!(
        attempt,
        Err(Halo2ProveError::Prove("ConstraintSystemFailure".into()))
    );

    // A wrong batch sum: the prover runs, the proof is rejected.
    let w = batch(1);
    let mut e = w.evaluate(&SHAPE).unwrap();
    e.sums[0] -= Fp::from(3);
    let mut public = e.public;
    public.commitment = assay_circuits::solvency::pasta::commit_sums(&e.sums, w.blind);
    let public = public.to_inputs();
    let proof = f
        .prover
        .prove(
            BatchCircuit::<Compact>::new(SHAPE, B, Some(w)),
            &public,
            StdRng::seed_from_u64(3),
        )
        .unwrap();
    assert!(matches!(
        f.verifier.verify(&public, &proof),
        Err(Halo2Error::InvalidProof(_))
    ));
}

#[test]
fn top_aggregation_binds_the_round_the_previous_round_hash_and_every_input() {
    let children: Vec<ChildOpening> = (1..=2u64)
        .map(|s| {
            let w = batch(s);
            let e = w.evaluate(&SHAPE).unwrap();
            ChildOpening {
                root: e.public.root,
                sums: e.sums,
                blind: w.blind,
            }
        })
        .collect();
    let w = AggregateWitness {
        round: Fp::from(7),
        children,
        blind: Fp::from(5),
        top: Some(TopInputs {
            previous: Fp::from(123),
            reserves: vec![Fp::from(10_000), Fp::from(10_000)],
        }),
    };
    let public = w.evaluate(&SHAPE).unwrap().public.to_inputs();
    let blank = AggregateCircuit::<Compact>::new(SHAPE, 2, true, None);
    let k = blank.min_k();
    let n = blank.num_public();
    let prover = Halo2Prover::new(params(k).unwrap(), &blank, k, n).unwrap();
    let proof = prover
        .prove(
            AggregateCircuit::<Compact>::new(SHAPE, 2, true, Some(w)),
            &public,
            StdRng::seed_from_u64(4),
        )
        .unwrap();
    let verifier = prover.verifier(&blank).unwrap();
    assert_eq!(verifier.verify(&public, &proof), Ok(()));
    let mut swapped = public.clone();
    swapped[IN_PREVIOUS] = Fp::from(124);
    assert!(matches!(
        verifier.verify(&swapped, &proof),
        Err(Halo2Error::InvalidProof(_))
    ));
    // Every other public input is bound too (issue 11: the round id of aggregation proofs,
    // which no relation involves, the root, the totals' commitment, the digest, the reserves).
    assert_eq!(public.len(), 5 + SHAPE.num_assets);
    for row in 0..public.len() {
        let mut tampered = public.clone();
        tampered[row] += Fp::ONE;
        assert!(
            matches!(
                verifier.verify(&tampered, &proof),
                Err(Halo2Error::InvalidProof(_))
            ),
            "aggregation public input {row} (IN_ROUND = {IN_ROUND}) is not bound"
        );
    }

    // The batch verifier (another key) refuses the aggregation's proof.
    let f = batch_fixture();
    assert!(f.verifier.verify(&public[..3], &proof).is_err());
    assert_ne!(vk_hash(f.verifier.vk()), vk_hash(verifier.vk()));
}

/// The budget's Halo2 estimates against the peaks measured on release builds
/// (`docs/operations.md`, "Per-proof peak"; 256 × 4 batch circuits, 64-bit balances): the
/// per-proof estimate covers each measured peak, and the shared part (counted once for all
/// jobs) stays below the measured proving key, so `shared + j × (per_proof − shared)` never
/// undercounts `j` proofs in flight.
#[test]
fn halo2_memory_estimates_cover_the_measured_peaks() {
    use super::solvency::{halo2_proof_memory, halo2_shared_memory};
    use assay_circuits::solvency::halo2::Layout;
    const MIB: u64 = 1 << 20;
    // (layout, k, measured peak RSS, measured proving key on the heap), MiB.
    for (layout, k, peak, pk) in [
        (Layout::Balanced, 14, 1_013, 376),
        (Layout::Compact, 15, 1_250, 444),
        (Layout::Throughput, 17, 14_824, 0),
    ] {
        let per_proof = halo2_proof_memory(layout, k);
        let shared = halo2_shared_memory(layout, k);
        assert!(
            per_proof >= peak * MIB,
            "{layout:?}: {per_proof} < {peak} MiB"
        );
        assert!(shared < per_proof, "{layout:?}");
        if pk > 0 {
            assert!(
                shared <= pk * MIB,
                "{layout:?}: shared {shared} > key {pk} MiB"
            );
        }
    }
}
