//! Poseidon `P128Pow5T3` over Pasta `Fp`: the native sponge and its chip.
//!
//! `hash(x_1..x_L)` is exactly halo2_gadgets' `Hash<_, P128Pow5T3, ConstantLength<L>, 3, 2>`
//! (capacity `L * 2^64`, inputs zero-padded to an even length, absorbed two at a time, one
//! permutation per pair, output `state[0]`), but with `L` fixed at synthesis time rather than
//! in the type, so that a round's number of assets can be a runtime value. The tagged hash
//! `H(tag, x..)` hashes `[tag(tag), x..]` (see [`crate::tags`]).
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

use super::{Cell, Fp};
use ff::Field;
use halo2_gadgets::poseidon::{
    primitives::{Absorbing, ConstantLength, Mds, P128Pow5T3, Spec},
    PaddedWord, PoseidonInstructions, PoseidonSpongeInstructions, Pow5Chip, Pow5Config, StateWord,
};
use halo2_proofs::{
    circuit::{Chip, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Error},
};
use std::{cell::RefCell, collections::HashMap, sync::OnceLock};

/// The sponge width `t`.
pub const WIDTH: usize = 3;
/// The sponge rate.
pub const RATE: usize = 2;
/// Rows one absorption (two inputs) takes in a lane: 3 (pad-and-add) + 37 (permutation).
pub const ROWS_PER_ABSORPTION: usize = 40;

type Constants = (Vec<[Fp; WIDTH]>, Mds<Fp, WIDTH>, Mds<Fp, WIDTH>);

fn constants() -> &'static Constants {
    static C: OnceLock<Constants> = OnceLock::new();
    C.get_or_init(<P128Pow5T3 as Spec<Fp, WIDTH, RATE>>::constants)
}

/// The `P128Pow5T3` permutation (`R_F = 8`, `R_P = 56`, `x^5`).
pub fn permute(state: &mut [Fp; WIDTH]) {
    let (rc, mds, _) = constants();
    let full = <P128Pow5T3 as Spec<Fp, WIDTH, RATE>>::full_rounds();
    let partial = <P128Pow5T3 as Spec<Fp, WIDTH, RATE>>::partial_rounds();
    let sbox = |x: Fp| x.square().square() * x;
    for (r, rcs) in rc.iter().enumerate().take(full + partial) {
        for (s, c) in state.iter_mut().zip(rcs) {
            *s += c;
        }
        if r < full / 2 || r >= full / 2 + partial {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        let mut next = [Fp::ZERO; WIDTH];
        for (i, n) in next.iter_mut().enumerate() {
            for (j, s) in state.iter().enumerate() {
                *n += mds[i][j] * s;
            }
        }
        *state = next;
    }
}

/// The capacity element of a hash of `len` inputs (`ConstantLength<len>`'s domain).
pub fn capacity(len: usize) -> Fp {
    use ff::PrimeField;
    Fp::from_u128((len as u128) << 64)
}

/// `Hash<_, P128Pow5T3, ConstantLength<L>, 3, 2>` of `inputs` with `L = inputs.len()`.
pub fn hash(inputs: &[Fp]) -> Fp {
    let mut state = [Fp::ZERO, Fp::ZERO, capacity(inputs.len())];
    if inputs.is_empty() {
        permute(&mut state);
    }
    for pair in inputs.chunks(RATE) {
        for (s, x) in state.iter_mut().zip(pair) {
            *s += x;
        }
        permute(&mut state);
    }
    state[0]
}

/// The tagged hash `H(tag, inputs..)`.
pub fn hash_tagged(tag: &str, inputs: &[Fp]) -> Fp {
    let mut all = Vec::with_capacity(inputs.len() + 1);
    all.push(super::tag(tag));
    all.extend_from_slice(inputs);
    hash(&all)
}

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
        let t = self.constant(layouter, super::tag(tag))?;
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
    use halo2_gadgets::poseidon::primitives::Hash;
    use halo2_proofs::{
        circuit::SimpleFloorPlanner,
        dev::MockProver,
        plonk::{Circuit, Instance},
    };

    fn reference<const L: usize>(inputs: [Fp; L]) -> Fp {
        Hash::<Fp, P128Pow5T3, ConstantLength<L>, WIDTH, RATE>::init().hash(inputs)
    }

    #[test]
    fn native_matches_the_primitive_for_lengths_1_to_7() {
        let x: Vec<Fp> = (0..7u64).map(|i| Fp::from(i * 31 + 5)).collect();
        assert_eq!(hash(&x[..1]), reference::<1>([x[0]]));
        assert_eq!(hash(&x[..2]), reference::<2>([x[0], x[1]]));
        assert_eq!(hash(&x[..3]), reference::<3>([x[0], x[1], x[2]]));
        assert_eq!(hash(&x[..4]), reference::<4>([x[0], x[1], x[2], x[3]]));
        assert_eq!(
            hash(&x[..5]),
            reference::<5>([x[0], x[1], x[2], x[3], x[4]])
        );
        assert_eq!(
            hash(&x[..6]),
            reference::<6>([x[0], x[1], x[2], x[3], x[4], x[5]])
        );
        assert_eq!(
            hash(&x[..7]),
            reference::<7>([x[0], x[1], x[2], x[3], x[4], x[5], x[6]])
        );
    }

    #[test]
    fn native_matches_the_published_test_vectors() {
        use ff::PrimeField;
        let fp = |b: &[u8; 32]| Fp::from_repr(*b).unwrap();
        for v in halo2_poseidon::test_vectors::fp::permute() {
            let mut state = v.initial_state.map(|b| fp(&b));
            permute(&mut state);
            assert_eq!(state, v.final_state.map(|b| fp(&b)));
        }
        for v in halo2_poseidon::test_vectors::fp::hash() {
            assert_eq!(hash(&v.input.map(|b| fp(&b))), fp(&v.output));
        }
    }

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
