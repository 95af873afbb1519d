//! MockProver tests of the Halo2 solvency circuits: honest witnesses pass at `min_k`, and each
//! attack (the same malicious witnesses as the Groth16 tests) fails with the exact lookup,
//! gate or copy it breaks. Binding of inputs that no relation involves (round id, previous
//! round hash) is tested with real proofs in `assay-prover`'s `halo2` tests.

use super::*;
use crate::halo2::testing::failures;
use crate::solvency::pasta::{
    commit_sums, AggregatePublic, BatchPublic, ChildOpening, LeafWitness, TopInputs,
};
use crate::solvency::StatementError;
use halo2_proofs::dev::MockProver;

/// `w = 10` with 8-bit limbs: two limbs per balance, the top one tightened to 2 bits.
const SHAPE: Shape = Shape {
    num_assets: 2,
    balance_bits: 10,
};
const B: usize = 4;

fn honest_batch(seed: u64) -> BatchWitness {
    BatchWitness {
        round: Fp::from(7),
        leaves: (0..B as u64)
            .map(|i| LeafWitness {
                id: Fp::from(1000 * seed + i),
                balances: vec![Fp::from(10 * i + seed), Fp::from(1023 - i)],
            })
            .collect(),
        blind: Fp::from(99 + seed),
    }
}

fn run_batch(w: BatchWitness, public: &BatchPublic) -> Vec<String> {
    let c = BatchCircuit::<Compact>::new(SHAPE, B, Some(w));
    failures(&MockProver::run(c.min_k(), &c, vec![public.to_inputs()]).unwrap())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn honest_batch_is_satisfied_at_min_k() {
    let w = honest_batch(1);
    let e = w.evaluate(&SHAPE).unwrap();
    assert_eq!(run_batch(w, &e.public), Vec::<String>::new());
    assert_eq!(BatchCircuit::<Compact>::new(SHAPE, B, None).min_k(), 9);
}

#[test]
fn batch_of_one_leaf_and_wide_balances_pass() {
    let shape = Shape {
        num_assets: 3,
        balance_bits: 64,
    };
    let w = BatchWitness {
        round: Fp::from(1),
        leaves: vec![LeafWitness {
            id: Fp::from(5),
            balances: vec![Fp::from(u64::MAX), Fp::ZERO, Fp::from(1)],
        }],
        blind: Fp::from(3),
    };
    let e = w.evaluate(&shape).unwrap();
    let c = BatchCircuit::<Compact>::new(shape, 1, Some(w));
    let p = MockProver::run(c.min_k(), &c, vec![e.public.to_inputs()]).unwrap();
    assert_eq!(failures(&p), Vec::<String>::new());
}

#[test]
fn malformed_witnesses_are_synthesis_errors_not_panics() {
    let mut w = honest_batch(1);
    w.leaves.pop();
    let c = BatchCircuit::<Compact>::new(SHAPE, B, Some(w));
    assert!(MockProver::run(10, &c, vec![vec![Fp::ZERO; 3]]).is_err());
    let mut w = honest_batch(1);
    w.leaves[0].balances.push(Fp::ONE);
    let c = BatchCircuit::<Compact>::new(SHAPE, B, Some(w));
    assert!(MockProver::run(10, &c, vec![vec![Fp::ZERO; 3]]).is_err());
    let c = BatchCircuit::<Compact>::new(SHAPE, 3, None);
    assert!(MockProver::run(10, &c, vec![vec![Fp::ZERO; 3]]).is_err());
}

#[test]
fn test_negative_balance_as_p_minus_x() {
    let mut w = honest_batch(1);
    // Balance -5 (p - 5) on leaf 2; add 5 to leaf 3 so the sum is unchanged.
    w.leaves[2].balances[0] = -Fp::from(5);
    w.leaves[3].balances[0] += Fp::from(5);
    assert!(matches!(
        w.evaluate(&SHAPE),
        Err(StatementError::BalanceRange {
            leaf: 2,
            asset: 0,
            ..
        })
    ));
    let public = w.evaluate_unchecked().unwrap().public;
    assert_eq!(
        run_batch(w, &public),
        strings(&[
            "Lookup 0 in ('leaf 2 balance 0') at offset 1",
            "Lookup 1 in ('leaf 2 balance 0') at offset 1",
        ])
    );
}

#[test]
fn test_balance_at_two_to_the_w() {
    let mut w = honest_batch(1);
    w.leaves[0].balances[1] = Fp::from(1 << 10);
    assert!(matches!(
        w.evaluate(&SHAPE),
        Err(StatementError::BalanceRange { .. })
    ));
    let public = w.evaluate_unchecked().unwrap().public;
    // The top limb is 4 (< 2^8, in the table) but not below 2^2: the tightened lookup fails.
    assert_eq!(
        run_batch(w, &public),
        strings(&["Lookup 1 in ('leaf 0 balance 1') at offset 1"])
    );
}

/// The failures of a batch whose claimed instance row `row` differs from what the witness
/// computes: the copy from the last hash's output cell to the instance.
fn instance_copy_failures(row: usize) -> Vec<String> {
    strings(&[
        "Permutation in ('permute state') at offset 36",
        &format!("Permutation outside any region, on row {row}"),
    ])
}

#[test]
fn test_wrong_leaf_hash() {
    // The claimed root commits to a different balance than the witness proves.
    let w = honest_batch(1);
    let mut other = w.clone();
    other.leaves[1].balances[0] += Fp::ONE;
    let mut public = w.evaluate_unchecked().unwrap().public;
    public.root = other.evaluate_unchecked().unwrap().public.root;
    assert_eq!(run_batch(w, &public), instance_copy_failures(IN_ROOT));
}

#[test]
fn test_wrong_batch_sum() {
    let w = honest_batch(1);
    let mut e = w.evaluate_unchecked().unwrap();
    e.sums[0] -= Fp::from(3);
    let mut public = e.public;
    public.commitment = commit_sums(&e.sums, w.blind);
    assert_eq!(run_batch(w, &public), instance_copy_failures(IN_COMMITMENT));
}

#[test]
fn test_wrong_commitment_blind() {
    let w = honest_batch(1);
    let e = w.evaluate_unchecked().unwrap();
    let mut public = e.public;
    public.commitment = commit_sums(&e.sums, w.blind + Fp::ONE);
    assert_eq!(run_batch(w, &public), instance_copy_failures(IN_COMMITMENT));
}

// ---- aggregation -------------------------------------------------------------------------

const F: usize = 2;

fn children() -> Vec<ChildOpening> {
    (1..=F as u64)
        .map(|s| {
            let w = honest_batch(s);
            let e = w.evaluate(&SHAPE).unwrap();
            ChildOpening {
                root: e.public.root,
                sums: e.sums,
                blind: w.blind,
            }
        })
        .collect()
}

fn honest_agg(top: bool) -> AggregateWitness {
    AggregateWitness {
        round: Fp::from(7),
        children: children(),
        blind: Fp::from(5),
        top: top.then(|| TopInputs {
            previous: Fp::from(123),
            reserves: vec![Fp::from(10_000), Fp::from(10_000)],
        }),
    }
}

fn run_agg(w: AggregateWitness, public: &AggregatePublic) -> Vec<String> {
    let c = AggregateCircuit::<Compact>::new(SHAPE, F, public.top.is_some(), Some(w));
    failures(&MockProver::run(c.min_k(), &c, vec![public.to_inputs()]).unwrap())
}

#[test]
fn honest_aggregations_are_satisfied_at_min_k() {
    for top in [false, true] {
        let w = honest_agg(top);
        let e = w.evaluate(&SHAPE).unwrap();
        assert_eq!(run_agg(w, &e.public), Vec::<String>::new(), "top {top}");
    }
}

#[test]
fn test_wrong_child_opening() {
    // The prover opens child 0 with another blind than its published commitment's.
    let w = honest_agg(false);
    let public = w.evaluate(&SHAPE).unwrap().public;
    let mut forged = w.clone();
    forged.children[0].blind += Fp::ONE;
    let mut public_forged = forged.evaluate_unchecked().unwrap().public;
    public_forged.digest = public.digest;
    assert_eq!(
        run_agg(forged, &public_forged),
        instance_copy_failures(IN_DIGEST)
    );
}

#[test]
fn test_child_root_swapped() {
    let w = honest_agg(false);
    let mut public = w.evaluate(&SHAPE).unwrap().public;
    let mut swapped = w.clone();
    swapped.children.swap(0, 1);
    public.root = swapped.evaluate_unchecked().unwrap().public.root;
    assert_eq!(run_agg(w, &public), instance_copy_failures(IN_ROOT));
}

#[test]
fn test_sum_above_reserves() {
    let mut w = honest_agg(true);
    let total = w.evaluate_unchecked().unwrap().sums[0];
    if let Some(t) = w.top.as_mut() {
        t.reserves[0] = total - Fp::ONE;
    }
    assert!(matches!(
        w.evaluate(&SHAPE),
        Err(StatementError::Insolvent { asset: 0 })
    ));
    let public = w.evaluate_unchecked().unwrap().public;
    // reserves - total = p - 1: the top limb of the difference is far outside the table.
    assert_eq!(
        run_agg(w, &public),
        strings(&[
            "Lookup 0 in ('solvency of asset 0: difference range') at offset 5",
            "Lookup 1 in ('solvency of asset 0: difference range') at offset 5",
        ])
    );
}

#[test]
fn test_reserves_exactly_equal_to_liabilities_pass() {
    let mut w = honest_agg(true);
    let sums = w.evaluate_unchecked().unwrap().sums;
    if let Some(t) = w.top.as_mut() {
        t.reserves = sums;
    }
    let public = w.evaluate(&SHAPE).unwrap().public;
    assert_eq!(run_agg(w, &public), Vec::<String>::new());
}

#[test]
fn test_overflow_of_aggregated_sum() {
    // Child 1 claims a sum of p - 100 for asset 0, which wraps the total below the reserves.
    let mut w = honest_agg(true);
    w.children[1].sums[0] = -Fp::from(100);
    assert!(matches!(
        w.evaluate(&SHAPE),
        Err(StatementError::SumRange {
            child: 1,
            asset: 0,
            ..
        })
    ));
    let public = w.evaluate_unchecked().unwrap().public;
    assert_eq!(
        run_agg(w, &public),
        strings(&[
            "Lookup 0 in ('child 1 sum 0') at offset 5",
            "Lookup 1 in ('child 1 sum 0') at offset 5",
        ])
    );
}

#[test]
fn test_sum_just_above_width_fails() {
    let mut w = honest_agg(false);
    w.children[0].sums[1] = Fp::from(1u64 << SHAPE.sum_bits());
    let public = w.evaluate_unchecked().unwrap().public;
    assert_eq!(
        run_agg(w, &public),
        strings(&["Lookup 1 in ('child 0 sum 1') at offset 5"])
    );
}

#[test]
fn test_top_aggregation_needs_its_reserves_rows() {
    // A top proof checked against a non-top instance (no reserves): the missing rows read as
    // zero reserves, and solvency fails for every asset.
    let w = honest_agg(true);
    let mut public = w.evaluate(&SHAPE).unwrap().public;
    let c = AggregateCircuit::<Compact>::new(SHAPE, F, true, Some(w));
    public.top = None;
    let f = failures(&MockProver::run(c.min_k(), &c, vec![public.to_inputs()]).unwrap());
    assert_eq!(
        f,
        strings(&[
            "Lookup 0 in ('solvency of asset 0: difference range') at offset 5",
            "Lookup 0 in ('solvency of asset 1: difference range') at offset 5",
            "Lookup 1 in ('solvency of asset 0: difference range') at offset 5",
            "Lookup 1 in ('solvency of asset 1: difference range') at offset 5",
        ])
    );
}

#[test]
fn min_k_is_enough_for_the_balanced_tuning() {
    use crate::solvency::halo2::Balanced;
    let shape = Shape {
        num_assets: 3,
        balance_bits: 64,
    };
    let w = BatchWitness {
        round: Fp::from(3),
        leaves: (0..32u64)
            .map(|i| LeafWitness {
                id: Fp::from(i),
                balances: vec![Fp::from(u64::MAX - i), Fp::from(i), Fp::ZERO],
            })
            .collect(),
        blind: Fp::from(1),
    };
    let public = w.evaluate(&shape).unwrap().public;
    let c = BatchCircuit::<Balanced>::new(shape, 32, Some(w));
    assert_eq!(c.min_k(), 13, "the 2^12-row table dominates");
    let p = MockProver::run(c.min_k(), &c, vec![public.to_inputs()]).unwrap();
    assert_eq!(failures(&p), Vec::<String>::new());
}

/// Rows and `k` of the circuits at the sizes the closing figures name (analytic, see the
/// layout table in the module docs; `min_k` is checked by keygen in the figures example).
#[test]
fn k_per_circuit_at_reference_sizes() {
    use crate::solvency::halo2::{Balanced, Throughput};
    let s = |k| Shape {
        num_assets: k,
        balance_bits: 64,
    };
    assert_eq!(BatchCircuit::<Balanced>::new(s(4), 1024, None).min_k(), 16);
    assert_eq!(
        BatchCircuit::<Throughput>::new(s(4), 1024, None).min_k(),
        17
    );
    assert_eq!(
        BatchCircuit::<Throughput>::new(s(50), 1024, None).min_k(),
        18
    );
    assert_eq!(BatchCircuit::<Balanced>::new(s(50), 64, None).min_k(), 15);
    assert_eq!(
        AggregateCircuit::<Compact>::new(s(4), 16, true, None).min_k(),
        12
    );
    assert_eq!(
        AggregateCircuit::<Compact>::new(s(50), 16, true, None).min_k(),
        14
    );
}
