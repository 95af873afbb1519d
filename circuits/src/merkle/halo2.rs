//! The Merkle chips over Pasta `Fp`: the Halo2 twins of [`super::root`] and
//! [`super::root_from_path`], with the node hash `H(left, right)` of [`crate::poseidon::pasta`]
//! (untagged Poseidon of 2), as [`crate::StatementField::hash2`] computes it natively.
//!
//! **Proven**:
//! * [`merkle_root`]: the output cell holds the root of the `2^k` leaf cells (`2^k - 1` node
//!   hashes in the Poseidon chip);
//! * [`MerklePathChip`]: the output cell holds the root reached from the leaf cell through the
//!   siblings, bit `i` of the index saying whether the node at height `i` is a right child;
//!   each returned bit cell is boolean. The `merkle swap` gate orders each pair: `bit`
//!   boolean, `left = cur + bit (sib - cur)`, `right = sib + bit (cur - sib)`.
//!
//! # Layout (`merkle swap`, one row per level, then the node hash in the Poseidon lanes)
//! | `bit` | `cur` | `sib` | `left` | `right` | `q_swap` |
//! |---|---|---|---|---|---|
//! | `b_i` | `n_i` | `s_i` | `b_i ? s_i : n_i` | `b_i ? n_i : s_i` | 1 |

use crate::halo2::{Cell, Fp};
use crate::poseidon::halo2::PoseidonHashInstructions;
use ff::Field;
use halo2_proofs::{
    circuit::{Chip, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};

/// The root of assigned `leaves` (a power of two), constrained with the Poseidon chip.
///
/// # Errors
/// [`Error::Synthesis`] if the number of leaves is not a power of two; layout errors.
pub fn merkle_root(
    poseidon: &impl PoseidonHashInstructions,
    layouter: &mut impl Layouter<Fp>,
    leaves: &[Cell],
) -> Result<Cell, Error> {
    if !leaves.len().is_power_of_two() {
        return Err(Error::Synthesis);
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| poseidon.hash(layouter, p))
            .collect::<Result<_, _>>()?;
    }
    Ok(level.remove(0))
}

/// The columns of a [`MerklePathChip`].
#[derive(Clone, Debug)]
pub struct MerklePathConfig {
    bit: Column<Advice>,
    cur: Column<Advice>,
    sib: Column<Advice>,
    left: Column<Advice>,
    right: Column<Advice>,
    q_swap: Selector,
}

/// What a circuit asks of a Merkle path chip.
pub trait MerklePathInstructions {
    /// The root reached from `leaf` through `siblings` with index bits `bits` (bottom up);
    /// returns the root and the assigned bits (which the caller may bind to an index).
    ///
    /// # Errors
    /// [`Error::Synthesis`] if `bits` and `siblings` differ in length; layout errors.
    fn path_root(
        &self,
        poseidon: &impl PoseidonHashInstructions,
        layouter: &mut impl Layouter<Fp>,
        leaf: &Cell,
        bits: &[Value<bool>],
        siblings: &[Value<Fp>],
    ) -> Result<(Cell, Vec<Cell>), Error>;
}

/// The Merkle path chip (see the module notes).
#[derive(Debug)]
pub struct MerklePathChip {
    config: MerklePathConfig,
}

impl Chip<Fp> for MerklePathChip {
    type Config = MerklePathConfig;
    type Loaded = ();
    fn config(&self) -> &MerklePathConfig {
        &self.config
    }
    fn loaded(&self) -> &() {
        &()
    }
}

impl MerklePathChip {
    /// Allocates five equality-enabled advice columns and the `merkle swap` gate.
    pub fn configure(meta: &mut ConstraintSystem<Fp>) -> MerklePathConfig {
        let cols = [(); 5].map(|_| {
            let c = meta.advice_column();
            meta.enable_equality(c);
            c
        });
        let [bit, cur, sib, left, right] = cols;
        let q_swap = meta.selector();
        meta.create_gate("merkle swap", |meta| {
            let q = meta.query_selector(q_swap);
            let b = meta.query_advice(bit, Rotation::cur());
            let c = meta.query_advice(cur, Rotation::cur());
            let s = meta.query_advice(sib, Rotation::cur());
            let l = meta.query_advice(left, Rotation::cur());
            let r = meta.query_advice(right, Rotation::cur());
            let one = Expression::Constant(Fp::ONE);
            Constraints::with_selector(
                q,
                [
                    ("bit is boolean", b.clone() * (one - b.clone())),
                    (
                        "left = cur + bit (sib - cur)",
                        c.clone() + b.clone() * (s.clone() - c.clone()) - l,
                    ),
                    ("right = sib + bit (cur - sib)", s.clone() + b * (c - s) - r),
                ],
            )
        });
        MerklePathConfig {
            bit,
            cur,
            sib,
            left,
            right,
            q_swap,
        }
    }

    /// A chip over `config`.
    pub fn construct(config: MerklePathConfig) -> Self {
        Self { config }
    }
}

impl MerklePathInstructions for MerklePathChip {
    fn path_root(
        &self,
        poseidon: &impl PoseidonHashInstructions,
        layouter: &mut impl Layouter<Fp>,
        leaf: &Cell,
        bits: &[Value<bool>],
        siblings: &[Value<Fp>],
    ) -> Result<(Cell, Vec<Cell>), Error> {
        if bits.len() != siblings.len() {
            return Err(Error::Synthesis);
        }
        let c = &self.config;
        let mut cur = leaf.clone();
        let mut bit_cells = Vec::with_capacity(bits.len());
        for (h, (bit, sib)) in bits.iter().zip(siblings).enumerate() {
            let (l, r, b) = layouter.assign_region(
                || format!("merkle level {h}"),
                |mut region| {
                    c.q_swap.enable(&mut region, 0)?;
                    let bv = bit.map(|b| if b { Fp::ONE } else { Fp::ZERO });
                    let b = region.assign_advice(|| "bit", c.bit, 0, || bv)?;
                    let n = cur.copy_advice(|| "cur", &mut region, c.cur, 0)?;
                    region.assign_advice(|| "sib", c.sib, 0, || *sib)?;
                    let (lv, rv) = n
                        .value()
                        .zip(*sib)
                        .zip(*bit)
                        .map(|((n, s), b)| if b { (s, *n) } else { (*n, s) })
                        .unzip();
                    let l = region.assign_advice(|| "left", c.left, 0, || lv)?;
                    let r = region.assign_advice(|| "right", c.right, 0, || rv)?;
                    Ok((l, r, b))
                },
            )?;
            cur = poseidon.hash(layouter, &[l, r])?;
            bit_cells.push(b);
        }
        Ok((cur, bit_cells))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo2::testing::failures;
    use crate::merkle::{levels, path};
    use crate::poseidon::halo2::{witness, PoseidonChip, PoseidonConfig};
    use halo2_proofs::{
        circuit::SimpleFloorPlanner,
        dev::MockProver,
        plonk::{Circuit, Instance},
    };

    #[derive(Clone)]
    struct Config {
        poseidon: PoseidonConfig,
        path: MerklePathConfig,
        instance: Column<Instance>,
    }

    /// Instance: `[root of leaves, root from path of leaf `index`]`.
    #[derive(Clone)]
    struct TreeCircuit {
        leaves: Vec<Value<Fp>>,
        leaf: Value<Fp>,
        bits: Vec<Value<bool>>,
        siblings: Vec<Value<Fp>>,
        forge_bit: bool,
    }

    impl Circuit<Fp> for TreeCircuit {
        type Config = Config;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            Self {
                leaves: vec![Value::unknown(); self.leaves.len()],
                leaf: Value::unknown(),
                bits: vec![Value::unknown(); self.bits.len()],
                siblings: vec![Value::unknown(); self.siblings.len()],
                forge_bit: self.forge_bit,
            }
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
            let constants = meta.fixed_column();
            meta.enable_constant(constants);
            let shared = meta.advice_column();
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            Config {
                poseidon: PoseidonChip::configure(meta, 2, shared),
                path: MerklePathChip::configure(meta),
                instance,
            }
        }
        fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
            let poseidon = PoseidonChip::construct(config.poseidon.clone());
            let leaves = witness(&mut layouter, &config.poseidon, "leaves", &self.leaves)?;
            let r = merkle_root(&poseidon, &mut layouter, &leaves)?;
            layouter.constrain_instance(r.cell(), config.instance, 0)?;
            let leaf = witness(&mut layouter, &config.poseidon, "leaf", &[self.leaf])?;
            let r2 = if self.forge_bit {
                // A prover who sets bit = 2 and follows the swap formulas: left = 2 sib - cur,
                // right = 2 cur - sib, a pair that is neither (cur, sib) nor (sib, cur).
                let c = &config.path;
                let (l, r) = layouter.assign_region(
                    || "forged level",
                    |mut region| {
                        c.q_swap.enable(&mut region, 0)?;
                        region.assign_advice(|| "bit", c.bit, 0, || Value::known(Fp::from(2)))?;
                        leaf[0].copy_advice(|| "cur", &mut region, c.cur, 0)?;
                        region.assign_advice(|| "sib", c.sib, 0, || self.siblings[0])?;
                        let (n, s) = (leaf[0].value().copied(), self.siblings[0]);
                        let l = region.assign_advice(|| "l", c.left, 0, || s + s - n)?;
                        let r = region.assign_advice(|| "r", c.right, 0, || n + n - s)?;
                        Ok((l, r))
                    },
                )?;
                poseidon.hash(&mut layouter, &[l, r])?
            } else {
                MerklePathChip::construct(config.path.clone())
                    .path_root(
                        &poseidon,
                        &mut layouter,
                        &leaf[0],
                        &self.bits,
                        &self.siblings,
                    )?
                    .0
            };
            layouter.constrain_instance(r2.cell(), config.instance, 1)
        }
    }

    fn tree_case(index: usize, forge_bit: bool, claimed_index: usize) -> (TreeCircuit, Vec<Fp>) {
        let leaves: Vec<Fp> = (0..4u64).map(|i| Fp::from(100 + i)).collect();
        let lv = levels(&leaves);
        let sib = path(&lv, index);
        let c = TreeCircuit {
            leaves: leaves.iter().map(|v| Value::known(*v)).collect(),
            leaf: Value::known(leaves[index]),
            bits: (0..2)
                .map(|h| Value::known((claimed_index >> h) & 1 == 1))
                .collect(),
            siblings: sib.iter().map(|v| Value::known(*v)).collect(),
            forge_bit,
        };
        (c, vec![lv[2][0], lv[2][0]])
    }

    #[test]
    fn root_and_path_match_native() {
        for i in 0..4 {
            let (c, inst) = tree_case(i, false, i);
            let p = MockProver::run(10, &c, vec![inst]).unwrap();
            assert_eq!(p.verify(), Ok(()), "leaf {i}");
        }
    }

    #[test]
    fn path_with_the_wrong_index_fails_the_root_copy() {
        let (c, inst) = tree_case(1, false, 0);
        let f = failures(&MockProver::run(10, &c, vec![inst]).unwrap());
        assert!(
            f.contains(&"Permutation outside any region, on row 1".to_string()),
            "{f:?}"
        );
    }

    #[test]
    fn non_boolean_index_bit_fails_the_swap_gate() {
        let (c, inst) = tree_case(1, true, 1);
        let f = failures(&MockProver::run(10, &c, vec![inst]).unwrap());
        assert_eq!(
            f,
            vec![
                "Constraint 0 ('bit is boolean') in gate 6 ('merkle swap') is not satisfied in ('forged level') at offset 0".to_string(),
                "Permutation in ('permute state') at offset 36".to_string(),
                "Permutation outside any region, on row 1".to_string(),
            ]
        );
    }
}
