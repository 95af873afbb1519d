//! Running sums and the comparisons `a <= b`, `a < b` and `low < code < next` over Pasta `Fp`,
//! shared by the Halo2 circuits of both statements (the R1CS circuits compare with
//! [`crate::range::constraints::enforce_bits`] directly).
//!
//! **Proven**: the cell [`SumInstructions::sum`] returns holds the sum of its input cells (in
//! `Fp`); after [`enforce_leq`], [`enforce_lt`] or [`enforce_strictly_between`] the compared
//! cells, integers below `2^n`, are ordered as integers.
//!
//! One gate, `running sum`: `acc_{i+1} = acc_i + x_i` on rows where `q_add` is on.
//! * [`SumInstructions::sum`] lays `acc_0 = 0` (a constant), `x_i = t_i` (copies) and returns
//!   `acc_n = sum t_i`;
//! * [`SumInstructions::sub`] witnesses `d` with `a + d = b` (one row), so `d = b - a`;
//! * [`enforce_lt`] and [`enforce_strictly_between`] (`low < code < next`, sorted-tree
//!   non-membership) check `b - a - 1` the same way;
//! * [`enforce_leq`] adds a range check `d in [0, 2^n)`: with `a, b < 2^n` this is exactly
//!   `a <= b` as integers (no wrap-around: if `a > b`, `d = p - (a - b) >= 2^n`).
//!
//! # Layout
//! | row | `x` (advice, eq.) | `acc` (advice, eq.) | `q_add` |
//! |---|---|---|---|
//! | 0 | `t_0` | `0` | 1 |
//! | i | `t_i` | `t_0 + .. + t_{i-1}` | 1 |
//! | n | – | `sum t_i` | 0 |

use super::{Cell, Fp};
use crate::range::halo2::{RangeCheckChip, RangeCheckInstructions};
use ff::Field;
use halo2_proofs::{
    circuit::{Chip, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Selector},
    poly::Rotation,
};

/// The columns of a [`SumChip`].
#[derive(Clone, Debug)]
pub struct SumConfig {
    x: Column<Advice>,
    acc: Column<Advice>,
    q_add: Selector,
}

/// What a circuit asks of a sum chip.
pub trait SumInstructions {
    /// `sum terms` (0 for no terms), constrained.
    ///
    /// # Errors
    /// Layout errors.
    fn sum(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        terms: &[Cell],
    ) -> Result<Cell, Error>;

    /// `b - a`, constrained by `a + d = b`.
    ///
    /// # Errors
    /// Layout errors.
    fn sub(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        b: &Cell,
        a: &Cell,
    ) -> Result<Cell, Error>;
}

/// The running-sum chip (see the module notes).
#[derive(Debug)]
pub struct SumChip {
    config: SumConfig,
}

impl Chip<Fp> for SumChip {
    type Config = SumConfig;
    type Loaded = ();
    fn config(&self) -> &SumConfig {
        &self.config
    }
    fn loaded(&self) -> &() {
        &()
    }
}

impl SumChip {
    /// Allocates two equality-enabled advice columns and the `running sum` gate. The circuit
    /// must have enabled a constants column.
    pub fn configure(meta: &mut ConstraintSystem<Fp>) -> SumConfig {
        let x = meta.advice_column();
        let acc = meta.advice_column();
        meta.enable_equality(x);
        meta.enable_equality(acc);
        let q_add = meta.selector();
        meta.create_gate("running sum", |meta| {
            let q = meta.query_selector(q_add);
            let x = meta.query_advice(x, Rotation::cur());
            let cur = meta.query_advice(acc, Rotation::cur());
            let next = meta.query_advice(acc, Rotation::next());
            Constraints::with_selector(q, [("acc_next = acc + x", cur + x - next)])
        });
        SumConfig { x, acc, q_add }
    }

    /// A chip over `config`.
    pub fn construct(config: SumConfig) -> Self {
        Self { config }
    }
}

impl SumInstructions for SumChip {
    fn sum(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        terms: &[Cell],
    ) -> Result<Cell, Error> {
        let c = &self.config;
        layouter.assign_region(
            || name.to_string(),
            |mut region| {
                let mut acc = region.assign_advice_from_constant(|| "acc_0", c.acc, 0, Fp::ZERO)?;
                for (i, t) in terms.iter().enumerate() {
                    c.q_add.enable(&mut region, i)?;
                    let x = t.copy_advice(|| format!("x_{i}"), &mut region, c.x, i)?;
                    let v = acc.value().copied() + x.value();
                    acc = region.assign_advice(|| format!("acc_{}", i + 1), c.acc, i + 1, || v)?;
                }
                Ok(acc)
            },
        )
    }

    fn sub(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        b: &Cell,
        a: &Cell,
    ) -> Result<Cell, Error> {
        let c = &self.config;
        layouter.assign_region(
            || name.to_string(),
            |mut region| {
                c.q_add.enable(&mut region, 0)?;
                a.copy_advice(|| "a", &mut region, c.acc, 0)?;
                let d: Value<Fp> = b.value().copied() - a.value();
                let d = region.assign_advice(|| "d = b - a", c.x, 0, || d)?;
                b.copy_advice(|| "b", &mut region, c.acc, 1)?;
                Ok(d)
            },
        )
    }
}

/// Constrains `a < b` for `a, b` already known to be below `2^bits`: `d = b - a - 1` with
/// `a + 1 + d = b` (two `running sum` rows, the 1 a constant) and `d in [0, 2^bits)`.
///
/// # Errors
/// Layout errors; [`Error::Synthesis`] for an unusable `bits`.
pub fn enforce_lt(
    sums: &SumChip,
    range: &RangeCheckChip,
    layouter: &mut impl Layouter<Fp>,
    name: &str,
    a: &Cell,
    b: &Cell,
    bits: usize,
) -> Result<(), Error> {
    let c = &sums.config;
    let d = layouter.assign_region(
        || format!("{name}: difference"),
        |mut region| {
            c.q_add.enable(&mut region, 0)?;
            c.q_add.enable(&mut region, 1)?;
            let a = a.copy_advice(|| "a", &mut region, c.acc, 0)?;
            region.assign_advice_from_constant(|| "1", c.x, 0, Fp::ONE)?;
            let a1 = a.value().map(|v| *v + Fp::ONE);
            region.assign_advice(|| "a + 1", c.acc, 1, || a1)?;
            let d = b.value().copied() - a1;
            let d = region.assign_advice(|| "d = b - a - 1", c.x, 1, || d)?;
            b.copy_advice(|| "b", &mut region, c.acc, 2)?;
            Ok(d)
        },
    )?;
    range.copy_checked(layouter, &format!("{name}: difference range"), &d, bits)
}

/// Sorted-tree non-membership (DESIGN §2): `low < code < next`, all three below `2^bits`
/// (the caller range-checks them or takes them from a tree whose leaves are).
///
/// # Errors
/// As [`enforce_lt`].
pub fn enforce_strictly_between(
    sums: &SumChip,
    range: &RangeCheckChip,
    layouter: &mut impl Layouter<Fp>,
    name: &str,
    (low, code, next): (&Cell, &Cell, &Cell),
    bits: usize,
) -> Result<(), Error> {
    enforce_lt(
        sums,
        range,
        layouter,
        &format!("{name}: low < code"),
        low,
        code,
        bits,
    )?;
    enforce_lt(
        sums,
        range,
        layouter,
        &format!("{name}: code < next"),
        code,
        next,
        bits,
    )
}

/// Constrains `a <= b` for `a, b` already known to be below `2^bits`: `b - a in [0, 2^bits)`.
///
/// # Errors
/// Layout errors; [`Error::Synthesis`] for an unusable `bits`.
pub fn enforce_leq(
    sums: &SumChip,
    range: &RangeCheckChip,
    layouter: &mut impl Layouter<Fp>,
    name: &str,
    a: &Cell,
    b: &Cell,
    bits: usize,
) -> Result<(), Error> {
    let d = sums.sub(layouter, &format!("{name}: difference"), b, a)?;
    range.copy_checked(layouter, &format!("{name}: difference range"), &d, bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo2::testing::failures;
    use crate::range::halo2::{RangeCheckConfig, RangeCheckInstructions};
    use halo2_proofs::{
        circuit::SimpleFloorPlanner,
        dev::MockProver,
        plonk::{Circuit, Instance},
    };

    #[derive(Clone)]
    struct Config {
        sum: SumConfig,
        range: RangeCheckConfig,
        instance: Column<Instance>,
    }

    /// Sums `terms` (public result in instance row 0) and checks `a <= b` on 16 bits.
    #[derive(Clone)]
    struct ArithCircuit {
        terms: Vec<Value<Fp>>,
        a: Value<Fp>,
        b: Value<Fp>,
        forge_sum: bool,
    }

    impl Circuit<Fp> for ArithCircuit {
        type Config = Config;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            Self {
                terms: vec![Value::unknown(); self.terms.len()],
                a: Value::unknown(),
                b: Value::unknown(),
                forge_sum: self.forge_sum,
            }
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
            let constants = meta.fixed_column();
            meta.enable_constant(constants);
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            Config {
                sum: SumChip::configure(meta),
                range: RangeCheckChip::configure(meta, 1, 8),
                instance,
            }
        }
        fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
            let sums = SumChip::construct(config.sum.clone());
            let range = RangeCheckChip::construct(config.range);
            range.load_table(&mut layouter)?;
            let cells = self
                .terms
                .iter()
                .enumerate()
                .map(|(i, t)| range.witness_checked(&mut layouter, &format!("term {i}"), *t, 16))
                .collect::<Result<Vec<_>, _>>()?;
            let total = if self.forge_sum {
                // A prover who writes acc_1 = t_0 + 1.
                let c = &config.sum;
                layouter.assign_region(
                    || "forged sum",
                    |mut region| {
                        c.q_add.enable(&mut region, 0)?;
                        region.assign_advice_from_constant(|| "acc_0", c.acc, 0, Fp::ZERO)?;
                        cells[0].copy_advice(|| "x_0", &mut region, c.x, 0)?;
                        let v = cells[0].value().map(|v| *v + Fp::ONE);
                        region.assign_advice(|| "acc_1", c.acc, 1, || v)
                    },
                )?
            } else {
                sums.sum(&mut layouter, "total", &cells)?
            };
            layouter.constrain_instance(total.cell(), config.instance, 0)?;
            let a = range.witness_checked(&mut layouter, "a", self.a, 16)?;
            let b = range.witness_checked(&mut layouter, "b", self.b, 16)?;
            enforce_leq(&sums, &range, &mut layouter, "a <= b", &a, &b, 16)
        }
    }

    fn run(terms: &[u64], a: u64, b: u64, claimed: u64, forge_sum: bool) -> Vec<String> {
        let c = ArithCircuit {
            terms: terms.iter().map(|t| Value::known(Fp::from(*t))).collect(),
            a: Value::known(Fp::from(a)),
            b: Value::known(Fp::from(b)),
            forge_sum,
        };
        failures(&MockProver::run(10, &c, vec![vec![Fp::from(claimed)]]).unwrap())
    }

    /// `low < code < next` on 16 bits.
    #[derive(Clone)]
    struct Between([u64; 3]);

    impl Circuit<Fp> for Between {
        type Config = Config;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            self.clone()
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
            ArithCircuit::configure(meta)
        }
        fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
            let sums = SumChip::construct(config.sum.clone());
            let range = RangeCheckChip::construct(config.range);
            range.load_table(&mut layouter)?;
            let [l, c, n] = ["low", "code", "next"].map(|name| name.to_string());
            let cells = [l, c, n]
                .iter()
                .zip(self.0)
                .map(|(name, v)| {
                    range.witness_checked(&mut layouter, name, Value::known(Fp::from(v)), 16)
                })
                .collect::<Result<Vec<_>, _>>()?;
            enforce_strictly_between(
                &sums,
                &range,
                &mut layouter,
                "policy",
                (&cells[0], &cells[1], &cells[2]),
                16,
            )
        }
    }

    fn between(v: [u64; 3]) -> Vec<String> {
        failures(&MockProver::run(10, &Between(v), vec![vec![]]).unwrap())
    }

    #[test]
    fn code_strictly_between_neighbours_passes() {
        assert!(between([3, 4, 5]).is_empty());
        assert!(between([0, 1000, 65535]).is_empty());
    }

    #[test]
    fn test_code_equal_to_low_neighbour_fails() {
        assert_eq!(
            between([4, 4, 9]),
            vec![
                "Lookup 0 in ('policy: low < code: difference range') at offset 1".to_string(),
                "Lookup 1 in ('policy: low < code: difference range') at offset 1".to_string(),
            ]
        );
    }

    #[test]
    fn test_code_equal_to_next_neighbour_fails() {
        assert_eq!(
            between([1, 9, 9]),
            vec![
                "Lookup 0 in ('policy: code < next: difference range') at offset 1".to_string(),
                "Lookup 1 in ('policy: code < next: difference range') at offset 1".to_string(),
            ]
        );
    }

    #[test]
    fn honest_sum_and_comparison_pass() {
        assert!(run(&[1, 2, 3, 65535], 7, 7, 65541, false).is_empty());
        assert!(run(&[0], 0, 65535, 0, false).is_empty());
    }

    #[test]
    fn forged_running_sum_fails_the_gate() {
        assert_eq!(
            run(&[5], 1, 2, 6, true),
            vec!["Constraint 0 ('acc_next = acc + x') in gate 0 ('running sum') is not satisfied in ('forged sum') at offset 0".to_string()]
        );
    }

    #[test]
    fn wrong_claimed_sum_fails_the_instance_copy() {
        assert_eq!(
            run(&[5, 6], 1, 2, 12, false),
            vec![
                "Permutation in ('total') at offset 2".to_string(),
                "Permutation outside any region, on row 0".to_string()
            ]
        );
    }

    #[test]
    fn a_above_b_fails_the_difference_range() {
        let f = run(&[1], 9, 8, 1, false);
        assert_eq!(
            f,
            vec![
                "Lookup 0 in ('a <= b: difference range') at offset 1".to_string(),
                "Lookup 1 in ('a <= b: difference range') at offset 1".to_string()
            ]
        );
    }
}
