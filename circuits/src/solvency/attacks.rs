//! The malicious solvency witnesses, written once over any [`StatementField`] and run against
//! every backend (as arkworks' groth16 runs one generic test per curve).
//!
//! Each attack is a mutation of an honest witness (or of its claimed public inputs) that breaks
//! exactly one clause of the statement, named by its [`Clause`]. A backend implements
//! [`SolvencyBackend`]: it accepts a statement (`accepts`) or refuses it *by the constraint of
//! that clause* (`refuses`); [`assert_honest_accepted`] and [`assert_attacks_refused`] run the
//! one list against it. The native twin's verdict on every attack is tested here.

use super::{
    AggregatePublic, AggregateWitness, BatchPublic, BatchWitness, ChildOpening, LeafWitness, Shape,
    StatementError, TopInputs, IN_COMMITMENT, IN_DIGEST, IN_ROOT,
};
use crate::harness::{assert_all_ok, assert_named_once};
use crate::StatementField;

/// `K = 2`, `w = 10`: with 8-bit limbs a balance has two limbs, the top one tightened.
pub(crate) const SHAPE: Shape = Shape {
    num_assets: 2,
    balance_bits: 10,
};
/// Leaves per batch.
pub(crate) const B: usize = 4;
/// Children per aggregation.
pub(crate) const FAN_IN: usize = 2;

fn fe<F: StatementField>(v: u64) -> F {
    F::from_u128(v.into())
}

/// An honest batch: leaf `i` holds `10 i + seed` and `2^w - 1 - i`.
pub(crate) fn honest_batch<F: StatementField>(seed: u64) -> BatchWitness<F> {
    let top = (1u64 << SHAPE.balance_bits) - 1;
    BatchWitness {
        round: fe(7),
        leaves: (0..B as u64)
            .map(|i| LeafWitness {
                id: fe(1000 * seed + i),
                balances: vec![fe(10 * i + seed), fe(top - i)],
            })
            .collect(),
        blind: fe(99 + seed),
    }
}

/// The honest aggregation of the batches of seeds `1..=FAN_IN` (with reserves of 10,000 per
/// asset at the top).
pub(crate) fn honest_agg<F: StatementField>(top: bool) -> AggregateWitness<F> {
    let children = (1..=FAN_IN as u64)
        .map(|s| {
            let w = honest_batch::<F>(s);
            let e = w.evaluate(&SHAPE).expect("an honest batch");
            ChildOpening {
                root: e.public.root,
                sums: e.sums,
                blind: w.blind,
            }
        })
        .collect();
    AggregateWitness {
        round: fe(7),
        children,
        blind: fe(5),
        top: top.then(|| TopInputs {
            previous: fe(123),
            reserves: vec![fe(10_000); SHAPE.num_assets],
        }),
    }
}

/// A statement of either circuit with its claimed public inputs.
#[derive(Clone, Debug)]
pub(crate) enum Case<F: StatementField> {
    /// A batch proof.
    Batch(BatchWitness<F>, BatchPublic<F>),
    /// An aggregation proof (the top one when the public inputs carry reserves).
    Aggregate(AggregateWitness<F>, AggregatePublic<F>),
}

impl<F: StatementField> Case<F> {
    fn batch(w: BatchWitness<F>) -> Self {
        let public = w.evaluate_unchecked().expect("well-sized").public;
        Case::Batch(w, public)
    }

    fn aggregate(w: AggregateWitness<F>) -> Self {
        let public = w.evaluate_unchecked().expect("well-sized").public;
        Case::Aggregate(w, public)
    }

    /// The native twin's verdict: `Ok` iff the witness satisfies the statement and evaluates to
    /// exactly the claimed public inputs.
    fn native(&self) -> Result<(), Native> {
        match self {
            Case::Batch(w, p) => match w.evaluate(&SHAPE) {
                Ok(e) if e.public == *p => Ok(()),
                Ok(_) => Err(Native::OtherPublic),
                Err(e) => Err(Native::Refused(e)),
            },
            Case::Aggregate(w, p) => match w.evaluate(&SHAPE) {
                Ok(e) if e.public == *p => Ok(()),
                Ok(_) => Err(Native::OtherPublic),
                Err(e) => Err(Native::Refused(e)),
            },
        }
    }
}

/// Why the native twin refuses an attack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Native {
    /// The witness is refused.
    Refused(StatementError),
    /// The witness is valid but evaluates to other public inputs than the claimed ones.
    OtherPublic,
}

/// What a bounded value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bounded {
    /// Balance `asset` of leaf `leaf`, below `2^w`.
    Balance { leaf: usize, asset: usize },
    /// Sum `asset` opened from child `child`, below `2^{w+32}`.
    ChildSum { child: usize, asset: usize },
    /// `reserves - S` of `asset` at the top, in `[0, 2^{w+32})`.
    Solvency { asset: usize },
}

/// The clause an attack breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clause {
    /// A bounded value is out of range: `negative` for `p - x` (every limb above the range),
    /// else exactly `2^n` (only the top limb too large).
    Range { value: Bounded, negative: bool },
    /// The public input at this row (root, commitment, digest) is not what the witness
    /// computes.
    Public(usize),
}

/// One malicious witness.
#[derive(Clone, Debug)]
pub(crate) struct Attack<F: StatementField> {
    /// What it tries.
    pub name: String,
    /// The clause it breaks.
    pub clause: Clause,
    /// The statement it claims.
    pub case: Case<F>,
    /// Why the native twin refuses it.
    pub native: Native,
}

/// The statements every backend must accept: honest batches and aggregations, and reserves
/// exactly equal to liabilities.
pub(crate) fn honest<F: StatementField>() -> Vec<(String, Case<F>)> {
    let mut v = vec![("batch".to_string(), Case::batch(honest_batch(1)))];
    for top in [false, true] {
        v.push((
            format!("aggregation, top {top}"),
            Case::aggregate(honest_agg(top)),
        ));
    }
    let mut w = honest_agg::<F>(true);
    let sums = w.evaluate_unchecked().expect("well-sized").sums;
    if let Some(t) = w.top.as_mut() {
        t.reserves = sums;
    }
    v.push((
        "reserves exactly equal to liabilities".into(),
        Case::aggregate(w),
    ));
    v
}

/// Every malicious witness, each breaking one clause.
pub(crate) fn attacks<F: StatementField>() -> Vec<Attack<F>> {
    let one = F::one();
    let mut v = Vec::new();
    let mut push = |name: String, clause, case: Case<F>, native| {
        v.push(Attack {
            name,
            clause,
            case,
            native,
        })
    };
    let bits = SHAPE.balance_bits;

    // Batch: balance -5 (p - 5) on leaf 2; 5 added to leaf 3 so that the sum is unchanged.
    let mut w = honest_batch::<F>(1);
    w.leaves[2].balances[0] = -fe::<F>(5);
    w.leaves[3].balances[0] += fe::<F>(5);
    push(
        "negative balance as p - x".into(),
        Clause::Range {
            value: Bounded::Balance { leaf: 2, asset: 0 },
            negative: true,
        },
        Case::batch(w),
        Native::Refused(StatementError::BalanceRange {
            leaf: 2,
            asset: 0,
            bits,
        }),
    );

    let mut w = honest_batch::<F>(1);
    w.leaves[0].balances[1] = fe(1u64 << bits);
    push(
        "balance at 2^w".into(),
        Clause::Range {
            value: Bounded::Balance { leaf: 0, asset: 1 },
            negative: false,
        },
        Case::batch(w),
        Native::Refused(StatementError::BalanceRange {
            leaf: 0,
            asset: 1,
            bits,
        }),
    );

    // The claimed root commits to a different balance than the witness proves.
    let w = honest_batch::<F>(1);
    let mut other = w.clone();
    other.leaves[1].balances[0] += one;
    let mut public = w.evaluate_unchecked().expect("well-sized").public;
    public.root = other.evaluate_unchecked().expect("well-sized").public.root;
    push(
        "wrong leaf hash".into(),
        Clause::Public(IN_ROOT),
        Case::Batch(w, public),
        Native::OtherPublic,
    );

    let w = honest_batch::<F>(1);
    let mut e = w.evaluate_unchecked().expect("well-sized");
    e.sums[0] = e.sums[0] - fe(3);
    let mut public = e.public;
    public.commitment = super::commit_sums(&e.sums, w.blind);
    push(
        "wrong batch sum".into(),
        Clause::Public(IN_COMMITMENT),
        Case::Batch(w, public),
        Native::OtherPublic,
    );

    let w = honest_batch::<F>(1);
    let e = w.evaluate_unchecked().expect("well-sized");
    let mut public = e.public;
    public.commitment = super::commit_sums(&e.sums, w.blind + one);
    push(
        "wrong commitment blind".into(),
        Clause::Public(IN_COMMITMENT),
        Case::Batch(w, public),
        Native::OtherPublic,
    );

    // Aggregation: child 0 opened to other sums, or with another blind, than its published
    // commitment's; the digest is the one the verifier computes from the published c_0.
    let honest_digest = honest_agg::<F>(false)
        .evaluate(&SHAPE)
        .expect("honest")
        .public
        .digest;
    type Forge<F> = fn(&mut ChildOpening<F>);
    let forgeries: [(&str, Forge<F>); 2] = [
        ("smaller sums", |c| c.sums[0] = c.sums[0] - F::one()),
        ("another blind", |c| c.blind += F::one()),
    ];
    for (what, forge) in forgeries {
        let mut w = honest_agg::<F>(false);
        forge(&mut w.children[0]);
        let mut public = w.evaluate_unchecked().expect("well-sized").public;
        public.digest = honest_digest;
        push(
            format!("child opened to {what}"),
            Clause::Public(IN_DIGEST),
            Case::Aggregate(w, public),
            Native::OtherPublic,
        );
    }

    // Aggregation output: the commitment to the totals `H(TAG_SUM, S_1..S_K, blind)` claims
    // other totals, or the right totals under another blind, than the children add up to; on
    // an inner aggregation and on the top one (whose totals the reserves are checked against).
    for top in [false, true] {
        let level = if top { "top" } else { "inner" };
        let w = honest_agg::<F>(top);
        let e = w.evaluate_unchecked().expect("well-sized");
        let mut smaller = e.sums.clone();
        smaller[1] = smaller[1] - fe(3);
        let mut public = e.public.clone();
        public.commitment = super::commit_sums(&smaller, w.blind);
        push(
            format!("{level} aggregation commits to smaller totals"),
            Clause::Public(IN_COMMITMENT),
            Case::Aggregate(w.clone(), public),
            Native::OtherPublic,
        );
        let mut public = e.public;
        public.commitment = super::commit_sums(&e.sums, w.blind + one);
        push(
            format!("{level} aggregation commits under another blind"),
            Clause::Public(IN_COMMITMENT),
            Case::Aggregate(w, public),
            Native::OtherPublic,
        );
    }

    let w = honest_agg::<F>(false);
    let mut public = w.evaluate_unchecked().expect("well-sized").public;
    let mut swapped = w.clone();
    swapped.children.swap(0, 1);
    public.root = swapped
        .evaluate_unchecked()
        .expect("well-sized")
        .public
        .root;
    push(
        "child roots swapped".into(),
        Clause::Public(IN_ROOT),
        Case::Aggregate(w, public),
        Native::OtherPublic,
    );

    // Liabilities one unit above the reserves: reserves - S = p - 1.
    for asset in 0..SHAPE.num_assets {
        let mut w = honest_agg::<F>(true);
        let total = w.evaluate_unchecked().expect("well-sized").sums[asset];
        if let Some(t) = w.top.as_mut() {
            t.reserves[asset] = total - one;
        }
        push(
            format!("sum above reserves, asset {asset}"),
            Clause::Range {
                value: Bounded::Solvency { asset },
                negative: true,
            },
            Case::aggregate(w),
            Native::Refused(StatementError::Insolvent { asset }),
        );
    }

    // A child claims a "negative" sum p - x that wraps the total below the reserves.
    for (child, x) in [(0usize, 1000u64), (1, 100)] {
        let mut w = honest_agg::<F>(true);
        w.children[child].sums[0] = -fe::<F>(x);
        push(
            format!("overflow of the aggregated sum: child {child} sums p - {x}"),
            Clause::Range {
                value: Bounded::ChildSum { child, asset: 0 },
                negative: true,
            },
            Case::aggregate(w),
            Native::Refused(StatementError::SumRange {
                child,
                asset: 0,
                bits: SHAPE.sum_bits(),
            }),
        );
    }

    for child in 0..FAN_IN {
        let mut w = honest_agg::<F>(false);
        w.children[child].sums[1] = fe(1u64 << SHAPE.sum_bits());
        push(
            format!("sum of child {child} at 2^(w+32)"),
            Clause::Range {
                value: Bounded::ChildSum { child, asset: 1 },
                negative: false,
            },
            Case::aggregate(w),
            Native::Refused(StatementError::SumRange {
                child,
                asset: 1,
                bits: SHAPE.sum_bits(),
            }),
        );
    }
    v
}

/// A proving backend under test.
pub(crate) trait SolvencyBackend {
    /// The backend's field.
    type F: StatementField;
    /// `Ok` if the backend accepts `case` (its circuit is satisfied, and proofs verify where
    /// the backend makes them); else what went wrong.
    fn accepts(&self, case: &Case<Self::F>) -> Result<(), String>;
    /// `Ok` if the backend refuses `case` by the constraint of `clause` (and no proof of it
    /// verifies, where the backend makes them); else what went wrong.
    fn refuses(&self, case: &Case<Self::F>, clause: Clause) -> Result<(), String>;
}

/// Panics unless `backend` accepts every honest statement.
pub(crate) fn assert_honest_accepted<B: SolvencyBackend>(backend: &B) {
    let verdicts = honest::<B::F>()
        .into_iter()
        .map(|(name, case)| (name, backend.accepts(&case)));
    assert_all_ok("honest statements refused", verdicts);
}

/// Panics unless `backend` accepts the honest batch and aggregation (the baseline of the same
/// harness) and refuses every attack by the constraint it targets.
pub(crate) fn assert_attacks_refused<B: SolvencyBackend>(backend: &B) {
    for (name, case) in honest::<B::F>().iter().take(2) {
        backend
            .accepts(case)
            .unwrap_or_else(|e| panic!("the baseline {name} is refused: {e}"));
    }
    let verdicts = attacks::<B::F>()
        .into_iter()
        .map(|a| (a.name, backend.refuses(&a.case, a.clause)));
    assert_all_ok("attacks not refused as expected", verdicts);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native_verdicts<F: StatementField>() {
        for (name, case) in honest::<F>() {
            assert_eq!(case.native(), Ok(()), "{name}");
        }
        let list = attacks::<F>();
        assert_named_once(list.iter().map(|a| a.name.as_str()), 18);
        for a in &list {
            assert_eq!(a.case.native(), Err(a.native.clone()), "{}", a.name);
        }
    }

    #[test]
    fn the_native_twin_refuses_every_attack_on_bn254() {
        native_verdicts::<crate::Fr>();
    }

    #[cfg(feature = "halo2")]
    #[test]
    fn the_native_twin_refuses_every_attack_on_pasta() {
        native_verdicts::<crate::halo2::Fp>();
    }
}
