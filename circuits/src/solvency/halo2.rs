//! The solvency circuits on Halo2 (IPA over Pasta): [`BatchCircuit`] and [`AggregateCircuit`].
//!
//! They prove the statement of [`super`] with the Pasta twin [`super::pasta`]: the same
//! clauses as the Groth16 circuits of [`super::constraints`], each cited where it is enforced.
//! The instance column holds the public inputs in the order of [`super`]
//! (`[round, root, commitment]`; aggregations `[round, root, commitment, digest, previous?,
//! reserves..]`): rows [`IN_ROUND`], [`IN_ROOT`], ... Every instance row is copied into the
//! circuit (the round and the previous hash into a cell of their own), so every public input
//! is bound by the permutation argument and not only by the transcript.
//!
//! The circuits are generic over a [`Tuning`]: the limb width of the range table and the
//! number of parallel Poseidon and range lanes. [`Compact`] suits tests and small batches,
//! [`Balanced`] batches of ~1000 leaves with few assets;
//! [`Throughput`] spreads a large batch over more columns to keep `k` (and verification) low.
//!
//! # Layout (batch of `B` leaves, `K` assets, width `w`; `a = ceil((K + 2) / 2)` absorptions
//! per leaf hash, `m = ceil(w / L)` limbs per balance)
//! | columns | rows |
//! |---|---|
//! | `P` Poseidon lanes × (3 state + 1 partial S-box advice, 6 fixed) | `40 ((B a + B - 1 + a) / P + a)` per lane |
//! | `R` range lanes × (1 advice `z`, 1 fixed `tight`), 1 table column | `B K m / R`; table `2^L` |
//! | sum chip: 2 advice (`x`, `acc`) | `K (B + 1)` |
//! | shared advice (ids, blind, round, constants), constants fixed, instance | `B + 2 + 8` |
//!
//! An aggregation over `f` children uses the same chips: `f` openings and `f` digest steps
//! (`a + 2` absorptions each), `f - 1` nodes; `f K` sums checked to `w + 32` bits (and `K`
//! differences at the top); see [`AggregateCircuit::min_k`].

use super::{
    pasta::{AggregateWitness, BatchWitness},
    Shape, IN_COMMITMENT, IN_DIGEST, IN_PREVIOUS, IN_RESERVES, IN_ROOT, IN_ROUND,
};
use crate::halo2::{
    arith::{enforce_leq, SumChip, SumConfig, SumInstructions},
    Cell, Fp,
};
use crate::merkle::halo2::merkle_root;
use crate::poseidon::halo2::{
    witness, PoseidonChip, PoseidonConfig, PoseidonHashInstructions, ROWS_PER_ABSORPTION,
};
use crate::range::halo2::{RangeCheckChip, RangeCheckConfig, RangeCheckInstructions};
use crate::tags;
use ff::Field;
use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance},
};
use std::marker::PhantomData;

/// How a circuit is spread over columns (fixed at key generation).
pub trait Tuning: Clone + std::fmt::Debug + Default {
    /// `L`: the range table holds `0..2^L`, so `k > L`.
    const LIMB_BITS: usize;
    /// `P`: parallel Poseidon lanes.
    const POSEIDON_LANES: usize;
    /// `R`: parallel range-check lanes.
    const RANGE_LANES: usize;
}

/// 8-bit limbs, 2 Poseidon lanes, 1 range lane: small circuits (tests, `k >= 9`).
#[derive(Clone, Debug, Default)]
pub struct Compact;
impl Tuning for Compact {
    const LIMB_BITS: usize = 8;
    const POSEIDON_LANES: usize = 2;
    const RANGE_LANES: usize = 1;
}

/// 12-bit limbs, 4 Poseidon lanes, 1 range lane: batches of about a thousand leaves with few
/// assets (`k >= 13`).
#[derive(Clone, Debug, Default)]
pub struct Balanced;
impl Tuning for Balanced {
    const LIMB_BITS: usize = 12;
    const POSEIDON_LANES: usize = 4;
    const RANGE_LANES: usize = 1;
}

/// 16-bit limbs, 8 Poseidon lanes, 2 range lanes: large batches (`k >= 17`).
#[derive(Clone, Debug, Default)]
pub struct Throughput;
impl Tuning for Throughput {
    const LIMB_BITS: usize = 16;
    const POSEIDON_LANES: usize = 8;
    const RANGE_LANES: usize = 2;
}

/// The column layouts by name, for formats and command lines: each names a [`Tuning`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// [`Compact`].
    Compact,
    /// [`Balanced`].
    Balanced,
    /// [`Throughput`].
    Throughput,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 3] = [Layout::Compact, Layout::Balanced, Layout::Throughput];

    /// The name used in bundles and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Compact => "compact",
            Layout::Balanced => "balanced",
            Layout::Throughput => "throughput",
        }
    }

    /// The layout of a name; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }

    /// `min_k` of the batch circuit of `B` leaves in this layout.
    pub fn batch_k(self, shape: Shape, batch_size: usize) -> u32 {
        crate::with_tuning!(self, T => BatchCircuit::<T>::new(shape, batch_size, None).min_k())
    }

    /// `min_k` of the aggregation circuit over `fan_in` children in this layout.
    pub fn aggregate_k(self, shape: Shape, fan_in: usize, top: bool) -> u32 {
        crate::with_tuning!(self, T => AggregateCircuit::<T>::new(shape, fan_in, top, None).min_k())
    }
}

/// Runs `$body` with the type `$T` bound to the [`Tuning`] a [`Layout`] value names, so that
/// code generic over the tuning can be chosen at run time.
#[macro_export]
macro_rules! with_tuning {
    ($layout:expr, $T:ident => $body:expr) => {
        match $layout {
            $crate::solvency::halo2::Layout::Compact => {
                type $T = $crate::solvency::halo2::Compact;
                $body
            }
            $crate::solvency::halo2::Layout::Balanced => {
                type $T = $crate::solvency::halo2::Balanced;
                $body
            }
            $crate::solvency::halo2::Layout::Throughput => {
                type $T = $crate::solvency::halo2::Throughput;
                $body
            }
        }
    };
}

/// The columns shared by both solvency circuits.
#[derive(Clone, Debug)]
pub struct SolvencyConfig {
    poseidon: PoseidonConfig,
    range: RangeCheckConfig,
    sum: SumConfig,
    shared: Column<Advice>,
    instance: Column<Instance>,
}

fn configure<T: Tuning>(meta: &mut ConstraintSystem<Fp>) -> SolvencyConfig {
    let constants = meta.fixed_column();
    meta.enable_constant(constants);
    let instance = meta.instance_column();
    meta.enable_equality(instance);
    let shared = meta.advice_column();
    SolvencyConfig {
        poseidon: PoseidonChip::configure(meta, T::POSEIDON_LANES, shared),
        range: RangeCheckChip::configure(meta, T::RANGE_LANES, T::LIMB_BITS),
        sum: SumChip::configure(meta),
        shared,
        instance,
    }
}

/// Copies instance row `row` into the shared column: the public input is now a cell.
fn public_cell(
    layouter: &mut impl Layouter<Fp>,
    config: &SolvencyConfig,
    name: &str,
    row: usize,
) -> Result<Cell, Error> {
    layouter.assign_region(
        || name.to_string(),
        |mut region| {
            region.assign_advice_from_instance(
                || name.to_string(),
                config.instance,
                row,
                config.shared,
                0,
            )
        },
    )
}

/// Rows the busiest Poseidon lane needs: `total` absorptions spread over `lanes`, each hash
/// on the least loaded lane, the largest hash `max` absorptions (see `PoseidonChip`).
fn lane_rows(total: usize, max: usize, lanes: usize) -> usize {
    (total.div_ceil(lanes) + max) * ROWS_PER_ABSORPTION
}

/// The smallest `k` with room for `rows` rows, the table and the blinding rows.
fn k_for(rows: usize, limb_bits: usize) -> u32 {
    let need = rows.max(1 << limb_bits) + 16;
    need.next_power_of_two().trailing_zeros()
}

/// The batch proof: `B` leaves, every balance in `[0, 2^w)`, hashing to the batch root, with
/// the per-asset sums committed. Public: `[round, r_j, c_j]`.
#[derive(Clone, Debug)]
pub struct BatchCircuit<T: Tuning = Compact> {
    /// The round's dimensions.
    pub shape: Shape,
    /// `B`, a power of two.
    pub batch_size: usize,
    /// The witness (`None` for key generation).
    pub witness: Option<BatchWitness>,
    _tuning: PhantomData<T>,
}

impl<T: Tuning> BatchCircuit<T> {
    /// A batch circuit; `witness = None` gives the blank circuit for key generation.
    pub fn new(shape: Shape, batch_size: usize, witness: Option<BatchWitness>) -> Self {
        Self {
            shape,
            batch_size,
            witness,
            _tuning: PhantomData,
        }
    }

    /// The smallest `k` this circuit fits in (see the module's layout table).
    pub fn min_k(&self) -> u32 {
        let (b, k) = (self.batch_size, self.shape.num_assets);
        let a = (k + 2).div_ceil(2);
        let p = T::POSEIDON_LANES;
        let poseidon = lane_rows(b * a + b.saturating_sub(1) + a, a, p);
        let m = self.shape.balance_bits.div_ceil(T::LIMB_BITS);
        let range = (b * k).div_ceil(T::RANGE_LANES) * m;
        let sums = k * (b + 1);
        let shared = b + 16;
        k_for(poseidon.max(range).max(sums).max(shared), T::LIMB_BITS)
    }

    fn value(&self, f: impl Fn(&BatchWitness) -> Fp) -> Value<Fp> {
        self.witness
            .as_ref()
            .map_or(Value::unknown(), |w| Value::known(f(w)))
    }
}

impl<T: Tuning> Circuit<Fp> for BatchCircuit<T> {
    type Config = SolvencyConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::new(self.shape, self.batch_size, None)
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> SolvencyConfig {
        configure::<T>(meta)
    }

    fn synthesize(
        &self,
        config: SolvencyConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let (b, k, w) = (
            self.batch_size,
            self.shape.num_assets,
            self.shape.balance_bits,
        );
        // `u64`: on 32-bit targets (wasm32) a `usize` cannot exceed 2^32 anyway.
        if self.shape.validate().is_err() || !b.is_power_of_two() || b as u64 > 1 << 32 {
            return Err(Error::Synthesis);
        }
        if let Some(wit) = &self.witness {
            if wit.leaves.len() != b || wit.leaves.iter().any(|l| l.balances.len() != k) {
                return Err(Error::Synthesis);
            }
        }
        let poseidon = PoseidonChip::construct(config.poseidon.clone());
        let range = RangeCheckChip::construct(config.range.clone());
        let sums = SumChip::construct(config.sum.clone());
        range.load_table(&mut layouter)?;
        // The round id has no other relation: a cell bound to instance row IN_ROUND.
        public_cell(&mut layouter, &config, "round", IN_ROUND)?;

        let mut columns: Vec<Vec<Cell>> = vec![Vec::with_capacity(b); k];
        let mut leaves = Vec::with_capacity(b);
        for i in 0..b {
            let id = witness(
                &mut layouter,
                &config.poseidon,
                &format!("leaf {i} id"),
                &[self.value(|w| w.leaves[i].id)],
            )?;
            let mut inputs = id;
            for (a, column) in columns.iter_mut().enumerate() {
                // §1 batch: every balance is in [0, 2^w).
                let cell = range.witness_checked(
                    &mut layouter,
                    &format!("leaf {i} balance {a}"),
                    self.value(|w| w.leaves[i].balances[a]),
                    w,
                )?;
                column.push(cell.clone());
                inputs.push(cell);
            }
            // §1 leaves: leaf = H(TAG_LEAF, id, b_1..b_K).
            leaves.push(poseidon.hash_tagged(&mut layouter, tags::TAG_LEAF, &inputs)?);
        }
        // §1 batch: the leaves hash to the batch root r_j.
        let root = merkle_root(&poseidon, &mut layouter, &leaves)?;
        layouter.constrain_instance(root.cell(), config.instance, IN_ROOT)?;
        // §1 batch: S_{j,a} = sum of the balances (below 2^{w+32} < p: B <= 2^32).
        let mut opening = columns
            .iter()
            .enumerate()
            .map(|(a, c)| sums.sum(&mut layouter, &format!("sum of asset {a}"), c))
            .collect::<Result<Vec<_>, _>>()?;
        let blind = witness(
            &mut layouter,
            &config.poseidon,
            "blind",
            &[self.value(|w| w.blind)],
        )?;
        opening.extend(blind);
        // §1 batch: c_j = H(TAG_SUM, S_j, blind_j).
        let c = poseidon.hash_tagged(&mut layouter, tags::TAG_SUM, &opening)?;
        layouter.constrain_instance(c.cell(), config.instance, IN_COMMITMENT)
    }
}

/// An aggregation proof over `f` children: opens each child's commitment, checks every child
/// sum below `2^{w+32}`, hashes the child roots into the group root, commits to the group
/// sums, publishes the children digest; at the top also `sum_a <= reserves_a` and the
/// previous round's hash. Public: `[round, root, commitment, digest]` (+ `[previous,
/// reserves_1..K]` at the top).
#[derive(Clone, Debug)]
pub struct AggregateCircuit<T: Tuning = Compact> {
    /// The round's dimensions.
    pub shape: Shape,
    /// `f`, a power of two.
    pub fan_in: usize,
    /// Whether this is the top aggregation.
    pub top: bool,
    /// The witness (`None` for key generation).
    pub witness: Option<AggregateWitness>,
    _tuning: PhantomData<T>,
}

impl<T: Tuning> AggregateCircuit<T> {
    /// An aggregation circuit; `witness = None` gives the blank circuit for key generation.
    pub fn new(shape: Shape, fan_in: usize, top: bool, witness: Option<AggregateWitness>) -> Self {
        Self {
            shape,
            fan_in,
            top,
            witness,
            _tuning: PhantomData,
        }
    }

    /// The number of instance rows: 4, plus `1 + K` at the top.
    pub fn num_public(&self) -> usize {
        if self.top {
            IN_RESERVES + self.shape.num_assets
        } else {
            IN_PREVIOUS
        }
    }

    /// The smallest `k` this circuit fits in.
    pub fn min_k(&self) -> u32 {
        let (f, k) = (self.fan_in, self.shape.num_assets);
        let a = (k + 2).div_ceil(2);
        let p = T::POSEIDON_LANES;
        let poseidon = lane_rows(f * (a + 2) + f.saturating_sub(1) + a, a, p);
        let m = self.shape.sum_bits().div_ceil(T::LIMB_BITS);
        let checks = f * k + if self.top { k } else { 0 };
        let range = checks.div_ceil(T::RANGE_LANES) * m;
        let sums = k * (f + 1) + 2 * k;
        let shared = 2 * f + 2 * k + 16;
        k_for(poseidon.max(range).max(sums).max(shared), T::LIMB_BITS)
    }

    fn value(&self, f: impl Fn(&AggregateWitness) -> Fp) -> Value<Fp> {
        self.witness
            .as_ref()
            .map_or(Value::unknown(), |w| Value::known(f(w)))
    }
}

impl<T: Tuning> Circuit<Fp> for AggregateCircuit<T> {
    type Config = SolvencyConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::new(self.shape, self.fan_in, self.top, None)
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> SolvencyConfig {
        configure::<T>(meta)
    }

    fn synthesize(
        &self,
        config: SolvencyConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let (f, k, sb) = (self.fan_in, self.shape.num_assets, self.shape.sum_bits());
        if self.shape.validate().is_err() || !f.is_power_of_two() || f > 1 << 16 {
            return Err(Error::Synthesis);
        }
        if let Some(wit) = &self.witness {
            if wit.children.len() != f
                || wit.children.iter().any(|c| c.sums.len() != k)
                || wit.top.is_some() != self.top
                || wit.top.as_ref().is_some_and(|t| t.reserves.len() != k)
            {
                return Err(Error::Synthesis);
            }
        }
        let poseidon = PoseidonChip::construct(config.poseidon.clone());
        let range = RangeCheckChip::construct(config.range.clone());
        let sums = SumChip::construct(config.sum.clone());
        range.load_table(&mut layouter)?;
        public_cell(&mut layouter, &config, "round", IN_ROUND)?;

        let mut digest = poseidon.constant(&mut layouter, Fp::ZERO)?;
        let mut roots = Vec::with_capacity(f);
        let mut columns: Vec<Vec<Cell>> = vec![Vec::with_capacity(f); k];
        for i in 0..f {
            let root = witness(
                &mut layouter,
                &config.poseidon,
                &format!("child {i} root"),
                &[self.value(|w| w.children[i].root)],
            )?
            .remove(0);
            let mut opening = Vec::with_capacity(k + 1);
            for (a, column) in columns.iter_mut().enumerate() {
                // §1 aggregation: the circuit checks the widths (S_{i,a} < 2^{w+32}).
                let s = range.witness_checked(
                    &mut layouter,
                    &format!("child {i} sum {a}"),
                    self.value(|w| w.children[i].sums[a]),
                    sb,
                )?;
                column.push(s.clone());
                opening.push(s);
            }
            opening.extend(witness(
                &mut layouter,
                &config.poseidon,
                &format!("child {i} blind"),
                &[self.value(|w| w.children[i].blind)],
            )?);
            // §1 aggregation: opens each child's c_i = H(TAG_SUM, S_i, blind_i).
            let c = poseidon.hash_tagged(&mut layouter, tags::TAG_SUM, &opening)?;
            // §1 aggregation: the digest d_i = H(TAG_DIGEST, d_{i-1}, r_i, c_i) is public.
            digest = poseidon.hash_tagged(
                &mut layouter,
                tags::TAG_DIGEST,
                &[digest, root.clone(), c],
            )?;
            roots.push(root);
        }
        layouter.constrain_instance(digest.cell(), config.instance, IN_DIGEST)?;
        // §1 aggregation: hashes the child roots into the group root.
        let root = merkle_root(&poseidon, &mut layouter, &roots)?;
        layouter.constrain_instance(root.cell(), config.instance, IN_ROOT)?;
        let mut totals = columns
            .iter()
            .enumerate()
            .map(|(a, c)| sums.sum(&mut layouter, &format!("total of asset {a}"), c))
            .collect::<Result<Vec<_>, _>>()?;
        if self.top {
            // The previous round's hash has no other relation: a cell bound to its row.
            public_cell(&mut layouter, &config, "previous", IN_PREVIOUS)?;
            for (a, total) in totals.iter().enumerate() {
                let reserve = public_cell(
                    &mut layouter,
                    &config,
                    &format!("reserve {a}"),
                    IN_RESERVES + a,
                )?;
                // §1 top: sum_a <= reserves_a, as reserves_a - sum_a in [0, 2^{w+32}).
                enforce_leq(
                    &sums,
                    &range,
                    &mut layouter,
                    &format!("solvency of asset {a}"),
                    total,
                    &reserve,
                    sb,
                )?;
            }
        }
        totals.extend(witness(
            &mut layouter,
            &config.poseidon,
            "blind",
            &[self.value(|w| w.blind)],
        )?);
        // §1 aggregation: commits to the group sums the same way.
        let c = poseidon.hash_tagged(&mut layouter, tags::TAG_SUM, &totals)?;
        layouter.constrain_instance(c.cell(), config.instance, IN_COMMITMENT)
    }
}

#[cfg(test)]
mod tests;
