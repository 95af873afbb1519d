//! MockProver tests of the Halo2 solvency circuits: the attacks of
//! [`crate::solvency::attacks`] each fail with the exact lookup or copy of the clause they
//! break, and honest witnesses pass at `min_k`. Binding of inputs that no relation involves
//! (round id, previous round hash) is tested with real proofs in `assay-prover`'s `halo2`
//! tests.

use super::*;
use crate::halo2::testing::failures;
use crate::solvency::attacks::{
    assert_attacks_refused, assert_honest_accepted, honest_agg, honest_batch, Bounded, Case,
    Clause, SolvencyBackend, B, FAN_IN, SHAPE,
};
use crate::solvency::pasta::{AggregatePublic, BatchPublic, LeafWitness};
use halo2_proofs::dev::MockProver;

fn run_batch(w: BatchWitness, public: &BatchPublic) -> Vec<String> {
    let c = BatchCircuit::<Compact>::new(SHAPE, B, Some(w));
    failures(&MockProver::run(c.min_k(), &c, vec![public.to_inputs()]).unwrap())
}

fn run_agg(w: AggregateWitness, public: &AggregatePublic) -> Vec<String> {
    let c = AggregateCircuit::<Compact>::new(SHAPE, FAN_IN, public.top.is_some(), Some(w));
    failures(&MockProver::run(c.min_k(), &c, vec![public.to_inputs()]).unwrap())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The failures of a claimed instance row `row` that differs from what the witness computes:
/// the copy from the last hash's output cell to the instance.
fn instance_copy_failures(row: usize) -> Vec<String> {
    strings(&[
        "Permutation in ('permute state') at offset 36",
        &format!("Permutation outside any region, on row {row}"),
    ])
}

/// The lookups that refuse `value` out of its range, on the last limb row of its region:
/// both (limb and tightened top limb) for a "negative" value or a width that is a multiple of
/// the limb, else only the tightened top limb.
fn range_failures(value: Bounded, negative: bool) -> Vec<String> {
    let (region, bits) = match value {
        Bounded::Balance { leaf, asset } => {
            (format!("leaf {leaf} balance {asset}"), SHAPE.balance_bits)
        }
        Bounded::ChildSum { child, asset } => {
            (format!("child {child} sum {asset}"), SHAPE.sum_bits())
        }
        Bounded::Solvency { asset } => (
            format!("solvency of asset {asset}: difference range"),
            SHAPE.sum_bits(),
        ),
    };
    let limb = Compact::LIMB_BITS;
    let last = bits.div_ceil(limb) - 1;
    let mut v = Vec::new();
    if negative || bits % limb == 0 {
        v.push(format!("Lookup 0 in ('{region}') at offset {last}"));
    }
    v.push(format!("Lookup 1 in ('{region}') at offset {last}"));
    v
}

/// Halo2 (MockProver, [`Compact`] tuning, at `min_k`): the failures name the constraint.
struct MockBackend;

impl MockBackend {
    fn failures(case: &Case<Fp>) -> Vec<String> {
        match case {
            Case::Batch(w, p) => run_batch(w.clone(), p),
            Case::Aggregate(w, p) => run_agg(w.clone(), p),
        }
    }
}

impl SolvencyBackend for MockBackend {
    type F = Fp;

    fn accepts(&self, case: &Case<Fp>) -> Result<(), String> {
        match Self::failures(case) {
            f if f.is_empty() => Ok(()),
            f => Err(format!("{f:?}")),
        }
    }

    fn refuses(&self, case: &Case<Fp>, clause: Clause) -> Result<(), String> {
        let expected = match clause {
            Clause::Range { value, negative } => range_failures(value, negative),
            Clause::Public(row) => instance_copy_failures(row),
        };
        match Self::failures(case) {
            f if f == expected => Ok(()),
            f => Err(format!("expected {expected:?}, got {f:?}")),
        }
    }
}

#[test]
fn honest_statements_are_satisfied_at_min_k() {
    assert_honest_accepted(&MockBackend);
    assert_eq!(BatchCircuit::<Compact>::new(SHAPE, B, None).min_k(), 9);
}

#[test]
fn every_attack_fails_the_constraint_it_targets() {
    assert_attacks_refused(&MockBackend);
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
fn test_top_aggregation_needs_its_reserves_rows() {
    // A top proof checked against a non-top instance (no reserves): the missing rows read as
    // zero reserves, and solvency fails for every asset.
    let w = honest_agg(true);
    let mut public = w.evaluate(&SHAPE).unwrap().public;
    let c = AggregateCircuit::<Compact>::new(SHAPE, FAN_IN, true, Some(w));
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
