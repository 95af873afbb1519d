//! The range-check chip over Pasta `Fp`, the Halo2 twin of [`super::fits`]: `0 <= x < 2^n` by
//! a running sum of `L`-bit limbs looked up in a fixed table.
//!
//! **Proven**: every cell passed to [`RangeCheckInstructions::witness_checked`] or
//! [`RangeCheckInstructions::copy_checked`] with `bits = n` holds an integer in `[0, 2^n)`.
//!
//! With `m = ceil(n / L)` limbs, the chip writes `z_0 = x` and `z_{i+1} = (z_i - l_i) / 2^L`
//! down one column, so that `x = sum_i l_i 2^{L i}` as integers, and looks up
//! * `l_i = z_i - 2^L z_{i+1}` in the table `[0, 2^L)` on rows `0..m-1` (`q_step`),
//! * the top limb `l_{m-1} = z_{m-1}` in the table on row `m-1` (`q_last`, so `z_m = 0`), and
//! * `z_{m-1} * 2^{L-r}` in the table on the same row, `r = n - L (m-1)`: the top limb is
//!   below `2^r`. Since `z_{m-1} < 2^L`, the product is below `2^{2L} < p` and cannot wrap.
//!
//! Hence `x < 2^n` as an integer in `[0, p)`. A value `p - x` ("negative") or `>= 2^n` leaves
//! a non-zero top limb above `2^r` or a limb outside the table, and a lookup fails.
//! The tightening factor sits in a fixed column, so that `n` is a synthesis-time value.
//!
//! # Layout (one lane; `m` rows per checked value; values stack down the lane)
//! | row | `z` (advice, equality) | `tight` (fixed) | `q_step` | `q_last` |
//! |---|---|---|---|---|
//! | 0 | `z_0 = x` | 0 | 1 | 0 |
//! | i | `z_i` | 0 | 1 | 0 |
//! | m-1 | `z_{m-1}` (top limb) | `2^{L-r}` | 0 | 1 |
//!
//! The table column holds `0..2^L`, so the circuit needs `k > L`.

use crate::halo2::{Cell, Fp};
use ff::{Field, PrimeField};
use halo2_proofs::{
    circuit::{Chip, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector, TableColumn},
    poly::Rotation,
};
use std::cell::Cell as StdCell;

/// The widest range this chip checks (far below the field size).
pub const MAX_BITS: usize = 128;

/// One column of running sums with its selectors.
#[derive(Clone, Debug)]
struct Lane {
    z: Column<Advice>,
    tight: Column<Fixed>,
    q_step: Selector,
    q_last: Selector,
}

/// The columns of a [`RangeCheckChip`].
#[derive(Clone, Debug)]
pub struct RangeCheckConfig {
    lanes: Vec<Lane>,
    table: TableColumn,
    limb_bits: usize,
}

impl RangeCheckConfig {
    /// `L`, the limb width.
    pub fn limb_bits(&self) -> usize {
        self.limb_bits
    }
}

/// What a circuit asks of a range-check chip.
pub trait RangeCheckInstructions {
    /// Fills the lookup table with `0..2^L`. Call once per synthesis.
    ///
    /// # Errors
    /// Layout errors (e.g. `k <= L`).
    fn load_table(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error>;

    /// Witnesses `value` and constrains it to `[0, 2^bits)`; returns its cell.
    ///
    /// # Errors
    /// [`Error::Synthesis`] if `bits` is 0 or above [`MAX_BITS`]; layout errors.
    fn witness_checked(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        value: Value<Fp>,
        bits: usize,
    ) -> Result<Cell, Error>;

    /// Constrains an assigned `cell` to `[0, 2^bits)` (by copying it into a lane).
    ///
    /// # Errors
    /// As [`Self::witness_checked`].
    fn copy_checked(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        cell: &Cell,
        bits: usize,
    ) -> Result<(), Error>;
}

/// The range-check chip (see the module notes).
#[derive(Debug)]
pub struct RangeCheckChip {
    config: RangeCheckConfig,
    next_lane: StdCell<usize>,
}

impl Chip<Fp> for RangeCheckChip {
    type Config = RangeCheckConfig;
    type Loaded = ();
    fn config(&self) -> &RangeCheckConfig {
        &self.config
    }
    fn loaded(&self) -> &() {
        &()
    }
}

/// `x >> shift` on the canonical integer of `x`.
pub fn shr(x: &Fp, shift: usize) -> Fp {
    let repr = x.to_repr();
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&repr[8 * i..8 * i + 8]);
        *l = u64::from_le_bytes(b);
    }
    let (words, bits) = (shift / 64, shift % 64);
    let mut out = [0u64; 4];
    for (i, o) in out.iter_mut().enumerate() {
        let src = i + words;
        if src < 4 {
            *o = limbs[src] >> bits;
            if bits > 0 && src + 1 < 4 {
                *o |= limbs[src + 1] << (64 - bits);
            }
        }
    }
    let mut bytes = [0u8; 32];
    for (i, l) in out.iter().enumerate() {
        bytes[8 * i..8 * i + 8].copy_from_slice(&l.to_le_bytes());
    }
    // A right shift of a canonical value stays canonical.
    Fp::from_repr(bytes).unwrap_or(Fp::ZERO)
}

impl RangeCheckChip {
    /// Allocates `lanes` lanes (one advice and one fixed column each) and one table column of
    /// `limb_bits`-bit entries (`1 <= limb_bits <= 20`).
    pub fn configure(
        meta: &mut ConstraintSystem<Fp>,
        lanes: usize,
        limb_bits: usize,
    ) -> RangeCheckConfig {
        let limb_bits = limb_bits.clamp(1, 20);
        let table = meta.lookup_table_column();
        let radix = Fp::from(1u64 << limb_bits);
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let z = meta.advice_column();
                meta.enable_equality(z);
                let tight = meta.fixed_column();
                let q_step = meta.complex_selector();
                let q_last = meta.complex_selector();
                meta.lookup(|meta| {
                    let q_step = meta.query_selector(q_step);
                    let q_last = meta.query_selector(q_last);
                    let z_cur = meta.query_advice(z, Rotation::cur());
                    let z_next = meta.query_advice(z, Rotation::next());
                    let limb = q_step * (z_cur.clone() - Expression::Constant(radix) * z_next)
                        + q_last * z_cur;
                    vec![(limb, table)]
                });
                meta.lookup(|meta| {
                    let q_last = meta.query_selector(q_last);
                    let z_cur = meta.query_advice(z, Rotation::cur());
                    let tight = meta.query_fixed(tight);
                    vec![(q_last * z_cur * tight, table)]
                });
                Lane {
                    z,
                    tight,
                    q_step,
                    q_last,
                }
            })
            .collect();
        RangeCheckConfig {
            lanes,
            table,
            limb_bits,
        }
    }

    /// A chip over `config`.
    pub fn construct(config: RangeCheckConfig) -> Self {
        Self {
            config,
            next_lane: StdCell::new(0),
        }
    }

    fn check(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        source: Result<&Cell, Value<Fp>>,
        bits: usize,
    ) -> Result<Cell, Error> {
        if bits == 0 || bits > MAX_BITS {
            return Err(Error::Synthesis);
        }
        let l = self.config.limb_bits;
        let m = bits.div_ceil(l);
        let r = bits - l * (m - 1);
        let lane = self.config.lanes[self.next_lane.get()].clone();
        self.next_lane
            .set((self.next_lane.get() + 1) % self.config.lanes.len());
        let value = match source {
            Ok(c) => c.value().copied(),
            Err(v) => v,
        };
        layouter.assign_region(
            || name.to_string(),
            |mut region| {
                let first = match source {
                    Ok(c) => c.copy_advice(|| "z_0", &mut region, lane.z, 0)?,
                    Err(v) => region.assign_advice(|| "z_0", lane.z, 0, || v)?,
                };
                for i in 0..m {
                    if i + 1 < m {
                        lane.q_step.enable(&mut region, i)?;
                        region.assign_fixed(
                            || "tight",
                            lane.tight,
                            i,
                            || Value::known(Fp::ZERO),
                        )?;
                    } else {
                        lane.q_last.enable(&mut region, i)?;
                        region.assign_fixed(
                            || "tight",
                            lane.tight,
                            i,
                            || Value::known(Fp::from(1u64 << (l - r))),
                        )?;
                    }
                    if i > 0 {
                        region.assign_advice(
                            || format!("z_{i}"),
                            lane.z,
                            i,
                            || value.map(|v| shr(&v, l * i)),
                        )?;
                    }
                }
                Ok(first)
            },
        )
    }
}

impl RangeCheckInstructions for RangeCheckChip {
    fn load_table(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        let table = self.config.table;
        let size = 1u64 << self.config.limb_bits;
        layouter.assign_table(
            || "range table",
            |mut t| {
                for i in 0..size {
                    t.assign_cell(|| "limb", table, i as usize, || Value::known(Fp::from(i)))?;
                }
                Ok(())
            },
        )
    }

    fn witness_checked(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        value: Value<Fp>,
        bits: usize,
    ) -> Result<Cell, Error> {
        self.check(layouter, name, Err(value), bits)
    }

    fn copy_checked(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        cell: &Cell,
        bits: usize,
    ) -> Result<(), Error> {
        self.check(layouter, name, Ok(cell), bits).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo2::testing::failures;
    use halo2_proofs::{circuit::SimpleFloorPlanner, dev::MockProver, plonk::Circuit};

    #[derive(Clone)]
    struct RangeCircuit {
        values: Vec<Value<Fp>>,
        bits: usize,
    }

    impl Circuit<Fp> for RangeCircuit {
        type Config = RangeCheckConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            Self {
                values: vec![Value::unknown(); self.values.len()],
                bits: self.bits,
            }
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> RangeCheckConfig {
            RangeCheckChip::configure(meta, 1, 8)
        }
        fn synthesize(
            &self,
            config: RangeCheckConfig,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = RangeCheckChip::construct(config);
            chip.load_table(&mut layouter)?;
            for (i, v) in self.values.iter().enumerate() {
                chip.witness_checked(&mut layouter, &format!("value {i}"), *v, self.bits)?;
            }
            Ok(())
        }
    }

    fn run(values: &[Fp], bits: usize) -> Vec<String> {
        let c = RangeCircuit {
            values: values.iter().map(|v| Value::known(*v)).collect(),
            bits,
        };
        failures(&MockProver::run(10, &c, vec![]).unwrap())
    }

    #[test]
    fn shr_shifts_the_integer() {
        assert_eq!(shr(&Fp::from(0x1234_5678), 8), Fp::from(0x12_3456));
        assert_eq!(shr(&Fp::from_u128(1 << 100), 99), Fp::from(2));
        assert_eq!(shr(&-Fp::ONE, 256), Fp::ZERO);
    }

    #[test]
    fn values_in_range_pass_at_every_width() {
        for bits in [1, 7, 8, 9, 13, 16, 20, 64] {
            let top = Fp::from_u128((1u128 << bits) - 1);
            assert_eq!(
                run(&[Fp::ZERO, Fp::ONE, top], bits),
                Vec::<String>::new(),
                "{bits}"
            );
        }
    }

    #[test]
    fn value_equal_to_2_pow_n_fails_the_tightened_top_limb() {
        // n = 13, L = 8: two limbs, the top one below 2^5; 2^13 has top limb 2^5.
        assert_eq!(
            run(&[Fp::from(1 << 13)], 13),
            vec!["Lookup 1 in ('value 0') at offset 1".to_string()]
        );
    }

    #[test]
    fn value_equal_to_2_pow_n_fails_when_n_is_a_multiple_of_the_limb() {
        // n = 16: the top limb would be 256, outside the table.
        assert_eq!(
            run(&[Fp::from(1 << 16)], 16),
            vec![
                "Lookup 0 in ('value 0') at offset 1".to_string(),
                "Lookup 1 in ('value 0') at offset 1".to_string()
            ]
        );
    }

    #[test]
    fn negative_value_as_p_minus_x_fails() {
        let f = run(&[-Fp::from(5)], 64);
        assert_eq!(
            f,
            vec![
                "Lookup 0 in ('value 0') at offset 7".to_string(),
                "Lookup 1 in ('value 0') at offset 7".to_string()
            ]
        );
    }

    #[test]
    fn forged_limb_decomposition_fails() {
        // A prover who writes z_1 so that l_0 = z_0 - 2^8 z_1 wraps to p - 1.
        #[derive(Clone)]
        struct Forged;
        impl Circuit<Fp> for Forged {
            type Config = RangeCheckConfig;
            type FloorPlanner = SimpleFloorPlanner;
            fn without_witnesses(&self) -> Self {
                Forged
            }
            fn configure(meta: &mut ConstraintSystem<Fp>) -> RangeCheckConfig {
                RangeCheckChip::configure(meta, 1, 8)
            }
            fn synthesize(
                &self,
                config: RangeCheckConfig,
                mut layouter: impl Layouter<Fp>,
            ) -> Result<(), Error> {
                let chip = RangeCheckChip::construct(config.clone());
                chip.load_table(&mut layouter)?;
                let lane = &config.lanes[0];
                layouter.assign_region(
                    || "forged",
                    |mut region| {
                        lane.q_step.enable(&mut region, 0)?;
                        lane.q_last.enable(&mut region, 1)?;
                        region.assign_fixed(|| "t", lane.tight, 0, || Value::known(Fp::ZERO))?;
                        region.assign_fixed(|| "t", lane.tight, 1, || Value::known(Fp::ONE))?;
                        // x = 255 claims z_1 = 1, so l_0 = 255 - 256 = p - 1.
                        region.assign_advice(|| "z0", lane.z, 0, || Value::known(Fp::from(255)))?;
                        region.assign_advice(|| "z1", lane.z, 1, || Value::known(Fp::ONE))?;
                        Ok(())
                    },
                )
            }
        }
        let f = failures(&MockProver::run(10, &Forged, vec![]).unwrap());
        assert_eq!(f, vec!["Lookup 0 in ('forged') at offset 0".to_string()]);
    }

    #[test]
    fn zero_or_oversized_widths_are_errors_not_panics() {
        let c = RangeCircuit {
            values: vec![Value::known(Fp::ONE)],
            bits: 0,
        };
        assert!(MockProver::run(10, &c, vec![]).is_err());
        let c = RangeCircuit {
            values: vec![Value::known(Fp::ONE)],
            bits: MAX_BITS + 1,
        };
        assert!(MockProver::run(10, &c, vec![]).is_err());
    }
}
