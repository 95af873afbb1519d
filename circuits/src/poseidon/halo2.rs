//! The Poseidon `P128Pow5T3` chip over Pasta `Fp`: it constrains the native hash of
//! [`super::pasta`] on assigned cells.
//!
//! **Proven**: the output cell of [`PoseidonHashInstructions::hash`] holds
//! [`super::pasta::hash`] of the input cells (the same constants, padding and capacity
//! `L * 2^64`, with `L` fixed at synthesis time), and that of
//! [`PoseidonHashInstructions::hash_tagged`] holds [`super::pasta::hash_tagged`], the tag a
//! constant of the circuit.
//!
//! The chip ([`PoseidonChip`]) drives halo2_gadgets' [`Pow5Chip`] (one full round per row,
//! two partial rounds per row): an absorption is 3 rows of `pad-and-add` and 37 rows of
//! permutation, 40 rows for every two inputs. It puts each hash on the least loaded of `lanes`
//! independent copies of the Pow5 columns, which the floor planner stacks side by side.
//!
//! # Layout (one lane)
//! | rows | state_0..2 | partial_sbox | rc_a_0..2, rc_b_0..2 | selectors |
//! |---|---|---|---|---|
//! | 3 per absorption | previous state, input pair, sum | – | padding (rc_b) | `pad-and-add` |
//! | 37 per absorption | permutation rounds | partial S-box | round constants | `full round`, `partial rounds` |
//!
//! Shared column `shared` (equality-enabled): the initial states `[0, 0, L * 2^64]` and the
//! tags, assigned once per synthesis from the constants column and reused by copy.

use super::pasta::{self, capacity, RATE, WIDTH};
use crate::halo2::{Cell, Fp};
use ff::Field;
use halo2_gadgets::poseidon::{
    primitives::{Absorbing, ConstantLength, P128Pow5T3},
    PaddedWord, PoseidonInstructions, PoseidonSpongeInstructions, Pow5Chip, Pow5Config, StateWord,
};
use halo2_proofs::{
    circuit::{Chip, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Error},
};
use std::{cell::RefCell, collections::HashMap};

/// Rows one absorption (two inputs) takes in a lane: 3 (pad-and-add) + 37 (permutation).
pub const ROWS_PER_ABSORPTION: usize = 40;

/// What a circuit asks of a Poseidon chip.
pub trait PoseidonHashInstructions {
    /// `H(inputs)` (untagged, as a Merkle node), constrained in the circuit.
    ///
    /// # Errors
    /// Layout errors of the underlying regions.
    fn hash(&self, layouter: &mut impl Layouter<Fp>, inputs: &[Cell]) -> Result<Cell, Error>;

    /// `H(tag, inputs..)`, the tag fixed by the circuit.
    ///
    /// # Errors
    /// Layout errors of the underlying regions.
    fn hash_tagged(
        &self,
        layouter: &mut impl Layouter<Fp>,
        tag: &str,
        inputs: &[Cell],
    ) -> Result<Cell, Error>;

    /// Assigns a constant (fixed by the circuit) in the shared column, once per value.
    ///
    /// # Errors
    /// Layout errors.
    fn constant(&self, layouter: &mut impl Layouter<Fp>, value: Fp) -> Result<Cell, Error>;
}

/// The columns of a [`PoseidonChip`].
#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    lanes: Vec<Pow5Config<Fp, WIDTH, RATE>>,
    shared: Column<Advice>,
}

impl PoseidonConfig {
    /// The number of parallel lanes.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }
}

/// Poseidon over `lanes` copies of the Pow5 columns (see the module notes).
#[derive(Debug)]
pub struct PoseidonChip {
    config: PoseidonConfig,
    /// Absorptions laid out so far on each lane (a hash goes to the least loaded lane).
    loads: RefCell<Vec<usize>>,
    constants: RefCell<HashMap<[u8; 32], Cell>>,
}

impl Chip<Fp> for PoseidonChip {
    type Config = PoseidonConfig;
    type Loaded = ();
    fn config(&self) -> &PoseidonConfig {
        &self.config
    }
    fn loaded(&self) -> &() {
        &()
    }
}

impl PoseidonChip {
    /// Allocates `lanes` lanes (4 advice and 6 fixed columns each). `shared` must be
    /// equality-enabled and the circuit must have enabled a constants column.
    pub fn configure(
        meta: &mut ConstraintSystem<Fp>,
        lanes: usize,
        shared: Column<Advice>,
    ) -> PoseidonConfig {
        meta.enable_equality(shared);
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let state = [(); WIDTH].map(|_| meta.advice_column());
                let partial = meta.advice_column();
                let rc_a = [(); WIDTH].map(|_| meta.fixed_column());
                let rc_b = [(); WIDTH].map(|_| meta.fixed_column());
                Pow5Chip::configure::<P128Pow5T3>(meta, state, partial, rc_a, rc_b)
            })
            .collect();
        PoseidonConfig { lanes, shared }
    }

    /// A chip over `config`. Build one per synthesis: it caches constants it assigned.
    pub fn construct(config: PoseidonConfig) -> Self {
        let lanes = config.lanes.len();
        Self {
            config,
            loads: RefCell::new(vec![0; lanes]),
            constants: RefCell::new(HashMap::new()),
        }
    }

    /// The least loaded lane, charged with `absorptions`: every lane stays within one hash of
    /// the average, so a lane needs at most `(total / lanes + max per hash) * 40` rows.
    fn lane(&self, absorptions: usize) -> Pow5Chip<Fp, WIDTH, RATE> {
        let mut loads = self.loads.borrow_mut();
        let (i, _) = loads
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| **l)
            .unwrap_or((0, &0));
        loads[i] += absorptions;
        Pow5Chip::construct(self.config.lanes[i].clone())
    }
}

impl PoseidonHashInstructions for PoseidonChip {
    fn constant(&self, layouter: &mut impl Layouter<Fp>, value: Fp) -> Result<Cell, Error> {
        use ff::PrimeField;
        let key = value.to_repr();
        if let Some(c) = self.constants.borrow().get(&key) {
            return Ok(c.clone());
        }
        let cell = layouter.assign_region(
            || "poseidon constant",
            |mut region| {
                region.assign_advice_from_constant(|| "constant", self.config.shared, 0, value)
            },
        )?;
        self.constants.borrow_mut().insert(key, cell.clone());
        Ok(cell)
    }

    fn hash(&self, layouter: &mut impl Layouter<Fp>, inputs: &[Cell]) -> Result<Cell, Error> {
        let chip = self.lane(inputs.len().div_ceil(RATE).max(1));
        let zero = self.constant(layouter, Fp::ZERO)?;
        let cap = self.constant(layouter, capacity(inputs.len()))?;
        let mut state: [StateWord<Fp>; WIDTH] = [zero.clone().into(), zero.into(), cap.into()];
        let mut absorb = |state: &mut [StateWord<Fp>; WIDTH],
                          words: Absorbing<PaddedWord<Fp>, RATE>|
         -> Result<(), Error> {
            let added = <Pow5Chip<Fp, WIDTH, RATE> as PoseidonSpongeInstructions<
                Fp,
                P128Pow5T3,
                ConstantLength<0>,
                WIDTH,
                RATE,
            >>::add_input(&chip, layouter, state, &words)?;
            *state = <Pow5Chip<Fp, WIDTH, RATE> as PoseidonInstructions<
                Fp,
                P128Pow5T3,
                WIDTH,
                RATE,
            >>::permute(&chip, layouter, &added)?;
            Ok(())
        };
        if inputs.is_empty() {
            let mut words = Absorbing::init_empty();
            for _ in 0..RATE {
                let _ = words.absorb(PaddedWord::Padding(Fp::ZERO));
            }
            absorb(&mut state, words)?;
        }
        for pair in inputs.chunks(RATE) {
            let mut words = Absorbing::init_empty();
            for i in 0..RATE {
                let w = pair.get(i).map_or(PaddedWord::Padding(Fp::ZERO), |c| {
                    PaddedWord::Message(c.clone())
                });
                // At most RATE words go into an empty sponge: this never overflows.
                let _ = words.absorb(w);
            }
            absorb(&mut state, words)?;
        }
        let [out, _, _] = state;
        Ok(out.into())
    }

    fn hash_tagged(
        &self,
        layouter: &mut impl Layouter<Fp>,
        tag: &str,
        inputs: &[Cell],
    ) -> Result<Cell, Error> {
        let t = self.constant(layouter, pasta::tag(tag))?;
        let mut all = Vec::with_capacity(inputs.len() + 1);
        all.push(t);
        all.extend_from_slice(inputs);
        self.hash(layouter, &all)
    }
}

/// Witnesses `values` as cells of the shared column (a helper for circuits and tests).
///
/// # Errors
/// Layout errors.
pub fn witness(
    layouter: &mut impl Layouter<Fp>,
    config: &PoseidonConfig,
    name: &str,
    values: &[Value<Fp>],
) -> Result<Vec<Cell>, Error> {
    layouter.assign_region(
        || name.to_string(),
        |mut region| {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    region.assign_advice(|| format!("{name} {i}"), config.shared, i, || *v)
                })
                .collect()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo2::testing::failures;
    use crate::poseidon::pasta::{hash, hash_tagged};
    use halo2_proofs::{
        circuit::SimpleFloorPlanner,
        dev::MockProver,
        plonk::{Circuit, Instance},
    };

    /// Hashes private inputs in-circuit and exposes the digest as instance row 0.
    #[derive(Clone, Default)]
    struct HashCircuit {
        inputs: Vec<Value<Fp>>,
        tag: Option<&'static str>,
    }

    #[derive(Clone)]
    struct HashConfig {
        poseidon: PoseidonConfig,
        instance: Column<Instance>,
    }

    impl Circuit<Fp> for HashCircuit {
        type Config = HashConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            Self {
                inputs: vec![Value::unknown(); self.inputs.len()],
                tag: self.tag,
            }
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> HashConfig {
            let shared = meta.advice_column();
            let constants = meta.fixed_column();
            meta.enable_constant(constants);
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            HashConfig {
                poseidon: PoseidonChip::configure(meta, 2, shared),
                instance,
            }
        }
        fn synthesize(
            &self,
            config: HashConfig,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = PoseidonChip::construct(config.poseidon.clone());
            let cells = witness(&mut layouter, &config.poseidon, "inputs", &self.inputs)?;
            let out = match self.tag {
                Some(t) => chip.hash_tagged(&mut layouter, t, &cells)?,
                None => chip.hash(&mut layouter, &cells)?,
            };
            layouter.constrain_instance(out.cell(), config.instance, 0)
        }
    }

    #[test]
    fn chip_matches_native_for_several_lengths_and_tags() {
        for len in [1usize, 2, 5, 8] {
            let x: Vec<Fp> = (0..len as u64).map(|i| Fp::from(i + 11)).collect();
            let c = HashCircuit {
                inputs: x.iter().map(|v| Value::known(*v)).collect(),
                tag: None,
            };
            let p = MockProver::run(9, &c, vec![vec![hash(&x)]]).unwrap();
            assert_eq!(p.verify(), Ok(()), "length {len}");
        }
        let x = [Fp::from(3), Fp::from(4)];
        let c = HashCircuit {
            inputs: x.iter().map(|v| Value::known(*v)).collect(),
            tag: Some(crate::tags::TAG_SUM),
        };
        let p = MockProver::run(9, &c, vec![vec![hash_tagged(crate::tags::TAG_SUM, &x)]]).unwrap();
        assert_eq!(p.verify(), Ok(()));
    }

    #[test]
    fn wrong_digest_is_rejected_at_the_instance_copy() {
        let x = [Fp::from(1), Fp::from(2), Fp::from(3)];
        let c = HashCircuit {
            inputs: x.iter().map(|v| Value::known(*v)).collect(),
            tag: None,
        };
        let p = MockProver::run(9, &c, vec![vec![hash(&x) + Fp::ONE]]).unwrap();
        let f = failures(&p);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|s| s.starts_with("Permutation")), "{f:?}");
        assert!(f.iter().any(|s| s.contains("'permute state'")), "{f:?}");
    }
}
