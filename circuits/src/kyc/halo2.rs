//! The KYC circuit on Halo2 (IPA over Pasta, no trusted setup): [`KycHalo2Circuit`].
//!
//! It proves the statement of [`super`] (items 1–6) with the Pasta instance of the native twin
//! ([`KycWitness<Fp>`], `H` = Poseidon `P128Pow5T3`): the same integers (`J`, days, serial,
//! policy keys) and the same public-input order as the Groth16 circuit of
//! [`super::constraints`]; every hash output (`hid`, `cred`, `R`, `P`, `nf`) differs.
//!
//! **Public** (one instance column, rows `IN_*`): `R, P, today, scope, challenge, nf`. Every
//! instance row is first copied into a cell of the shared column (region `public <name>`), and
//! every relation uses that cell: each public input is bound by the permutation argument,
//! including `challenge`, which no other relation involves (item 6).
//!
//! # Clauses and where they are enforced
//! | item | clause | how |
//! |---|---|---|
//! | 1 | `J < 2^34`, with country part | `J = n·2^24 + s`, `n < 2^10`, `s < 2^24` (lookups), gate `jurisdiction keys` |
//! | 1 | `serial < 2^32` | 32 boolean path bits (gate `merkle swap`) recomposed by gate `serial bits` |
//! | 1 | `expiry_day, today < 2^32` | range lookups (`today` copied from its public cell) |
//! | 2 | `hid = H(TAG_HOLDER, sk, 0)`, `cred = H(TAG_CRED, hid, J, expiry_day, serial)` | Poseidon chip |
//! | 2 | `cred` is leaf `serial` under `R` | Merkle path chip, depth 32, index bits = `serial`'s bits; root copied to `public R` |
//! | 3 | `x_e = 4J + 1`, `x_w = 4·n·2^24 + 2` | gate `jurisdiction keys` |
//! | 3 | `low < x < next` for both keys | `enforce_strictly_between`: `x - low - 1`, `next - x - 1 < 2^36` |
//! | 3 | `H(TAG_POLICY, low, next)` is a leaf under `P` | Poseidon chip + Merkle path chip, depth 16; root copied to `public P` |
//! | 4 | `expiry_day > today` | `enforce_lt`: `expiry_day - today - 1 < 2^32` |
//! | 5 | `nf = H(TAG_NULL, sk, scope)` | Poseidon chip; output copied to `public nf` |
//! | 6 | `challenge` bound | copied into `public challenge` (permutation) |
//!
//! # Layout (tuning `T`: `L`-bit limbs, `P` Poseidon lanes, `R` range lanes)
//! | columns | rows |
//! |---|---|
//! | `P` Poseidon lanes × (3 state + 1 partial S-box advice, 6 fixed) | 75 absorptions (3 + 2 + 2 + 2·2 leaf, 32 + 2·16 nodes): `40 (ceil(75 / P) + 3)` per lane |
//! | `R` range lanes × (1 advice, 1 fixed), 1 table column | `ceil(10/L) + ceil(24/L) + 3 ceil(32/L) + 4 ceil(36/L)` (37 at `L = 8`); table `2^L` |
//! | sum chip: 2 advice | 15 (five strict comparisons) |
//! | Merkle path chip: 5 advice (`bit, cur, sib, left, right`) | 64 (32 registry + 2 × 16 policy levels) |
//! | KYC gates: 5 advice (`n, s, J, x_e, x_w` / `bit, acc`) | 1 (`jurisdiction keys`) + 33 (`serial bits`) |
//! | shared advice (public cells, `sk`, `serial`, neighbours, constants), constants fixed, instance | ≈ 25 |
//!
//! With [`Compact`] (`L = 8`, `P = 2`, `R = 1`) the Poseidon lanes dominate: 1,640 rows,
//! `k = 11` ([`KycHalo2Circuit::min_k`]).

use super::{
    jurisdiction::{COUNTRY_BITS, KEY_BITS, SUFFIX_BITS, TAG_EXACT, TAG_WHOLE},
    policy::{NonMembership, POLICY_DEPTH},
    KycWitness, DAY_BITS, IN_CHALLENGE, IN_NULLIFIER, IN_POLICY_ROOT, IN_REGISTRY_ROOT, IN_SCOPE,
    IN_TODAY, NUM_PUBLIC_INPUTS, REGISTRY_DEPTH,
};
use crate::halo2::{
    arith::{enforce_lt, enforce_strictly_between, SumChip, SumConfig},
    Cell, Fp,
};
use crate::merkle::halo2::{MerklePathChip, MerklePathConfig, MerklePathInstructions};
use crate::poseidon::halo2::{
    witness, PoseidonChip, PoseidonConfig, PoseidonHashInstructions, ROWS_PER_ABSORPTION,
};
use crate::range::halo2::{RangeCheckChip, RangeCheckConfig, RangeCheckInstructions};
pub use crate::solvency::halo2::{Balanced, Compact, Throughput, Tuning};
use crate::tags;
use ff::Field;
use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    plonk::{
        Advice, Circuit, Column, ConstraintSystem, Constraints, Error, Expression, Instance,
        Selector,
    },
    poly::Rotation,
};
use std::marker::PhantomData;

/// The KYC witness over Pasta `Fp` (the Halo2 instance of [`KycWitness`]).
pub type PastaKycWitness = KycWitness<Fp>;

/// Poseidon absorptions of one proof: `hid` 2, `cred` 3, `nf` 2, two policy leaves 2 each,
/// 32 registry and 2 × 16 policy nodes 1 each.
const ABSORPTIONS: usize = 2 + 3 + 2 + 2 * 2 + REGISTRY_DEPTH + 2 * POLICY_DEPTH;
/// The largest hash (`cred`, 5 inputs) in absorptions.
const MAX_ABSORPTIONS: usize = 3;

/// The columns of the KYC circuit.
#[derive(Clone, Debug)]
pub struct KycHalo2Config {
    poseidon: PoseidonConfig,
    range: RangeCheckConfig,
    sum: SumConfig,
    path: MerklePathConfig,
    /// `n, s, J, x_e, x_w` (gate `jurisdiction keys`); `bit, acc` (gate `serial bits`).
    kyc: [Column<Advice>; 5],
    q_keys: Selector,
    q_bits: Selector,
    shared: Column<Advice>,
    instance: Column<Instance>,
}

/// The KYC proof on Halo2 (see the module notes): a holder's credential under `R` is valid
/// today, its jurisdiction and country are outside the policy `P`, and `nf` is the holder's
/// nullifier for `scope`; `challenge` is bound to the proof.
#[derive(Clone, Debug, Default)]
pub struct KycHalo2Circuit<T: Tuning = Compact> {
    /// The witness (`None` for key generation).
    pub witness: Option<PastaKycWitness>,
    /// A malicious prover's deviation from the honest assignment (tests of single gates).
    #[cfg(test)]
    forge: Forge,
    _tuning: PhantomData<T>,
}

/// What a test's malicious prover assigns differently from the honest synthesis.
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default)]
enum Forge {
    #[default]
    Nothing,
    /// Registry path bits of this index instead of `serial`'s.
    Index(u64),
    /// This value in the `x_e` cell instead of `4·J + 1`.
    ExactKey(u64),
    /// This value in the `x_w` cell instead of `4·C + 2`.
    WholeKey(u64),
}

impl<T: Tuning> KycHalo2Circuit<T> {
    /// A circuit proving `witness`; `None` gives the blank circuit for key generation.
    pub fn new(witness: Option<PastaKycWitness>) -> Self {
        Self {
            witness,
            #[cfg(test)]
            forge: Forge::Nothing,
            _tuning: PhantomData,
        }
    }

    /// The blank circuit, for key generation.
    pub fn blank() -> Self {
        Self::new(None)
    }

    /// The number of public inputs (instance rows).
    pub fn num_public() -> usize {
        NUM_PUBLIC_INPUTS
    }

    /// The rows the busiest column needs (see the module's layout table).
    pub fn rows() -> usize {
        let p = T::POSEIDON_LANES;
        let poseidon = (ABSORPTIONS.div_ceil(p) + MAX_ABSORPTIONS) * ROWS_PER_ABSORPTION;
        let l = T::LIMB_BITS;
        let limbs = COUNTRY_BITS.div_ceil(l)
            + SUFFIX_BITS.div_ceil(l)
            + 3 * DAY_BITS.div_ceil(l)
            + 4 * KEY_BITS.div_ceil(l);
        let range = limbs.div_ceil(T::RANGE_LANES) + KEY_BITS.div_ceil(l);
        let path = REGISTRY_DEPTH + 2 * POLICY_DEPTH;
        let shared = 32;
        poseidon.max(range).max(path).max(shared)
    }

    /// The smallest `k` this circuit fits in: room for [`Self::rows`], the `2^L` table and
    /// the blinding rows.
    pub fn min_k() -> u32 {
        let need = Self::rows().max(1 << T::LIMB_BITS) + 16;
        need.next_power_of_two().trailing_zeros()
    }

    fn value<V>(&self, f: impl Fn(&PastaKycWitness) -> V) -> Value<V> {
        self.witness
            .as_ref()
            .map_or(Value::unknown(), |w| Value::known(f(w)))
    }
}

fn fe(v: u64) -> Fp {
    Fp::from(v)
}

/// Copies instance row `row` into the shared column: the public input is now a cell.
fn public_cell(
    layouter: &mut impl Layouter<Fp>,
    config: &KycHalo2Config,
    name: &str,
    row: usize,
) -> Result<Cell, Error> {
    layouter.assign_region(
        || format!("public {name}"),
        |mut region| {
            region.assign_advice_from_instance(|| name, config.instance, row, config.shared, 0)
        },
    )
}

/// Constrains two cells to be equal (a copy constraint).
fn equal(layouter: &mut impl Layouter<Fp>, name: &str, a: &Cell, b: &Cell) -> Result<(), Error> {
    layouter.assign_region(
        || name,
        |mut region| region.constrain_equal(a.cell(), b.cell()),
    )
}

impl<T: Tuning> Circuit<Fp> for KycHalo2Circuit<T> {
    type Config = KycHalo2Config;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::blank()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> KycHalo2Config {
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let shared = meta.advice_column();
        let kyc = [(); 5].map(|_| {
            let c = meta.advice_column();
            meta.enable_equality(c);
            c
        });
        let (q_keys, q_bits) = (meta.selector(), meta.selector());
        let two24 = Fp::from(1u64 << SUFFIX_BITS);
        meta.create_gate("jurisdiction keys", |meta| {
            let q = meta.query_selector(q_keys);
            let [n, s, j, xe, xw] = kyc.map(|c| meta.query_advice(c, Rotation::cur()));
            let four = Fp::from(4);
            Constraints::with_selector(
                q,
                [
                    // Item 1: J = n·2^24 + s (with n < 2^10, s < 2^24: J < 2^34, C = n·2^24).
                    ("J = n 2^24 + s", j.clone() - (n.clone() * two24 + s)),
                    // Item 3: x_e = 4·J + 1.
                    (
                        "x_e = 4 J + 1",
                        xe - (j * four + Expression::Constant(fe(TAG_EXACT))),
                    ),
                    // Item 3: x_w = 4·C + 2 with C = n·2^24.
                    (
                        "x_w = 4 n 2^24 + 2",
                        xw - (n * (two24 * four) + Expression::Constant(fe(TAG_WHOLE))),
                    ),
                ],
            )
        });
        meta.create_gate("serial bits", |meta| {
            let q = meta.query_selector(q_bits);
            let bit = meta.query_advice(kyc[0], Rotation::cur());
            let acc = meta.query_advice(kyc[1], Rotation::cur());
            let next = meta.query_advice(kyc[1], Rotation::next());
            // Item 1/2: serial = sum b_i 2^i, most significant bit first.
            Constraints::with_selector(
                q,
                [("acc' = 2 acc + bit", next - (acc * Fp::from(2) + bit))],
            )
        });
        KycHalo2Config {
            poseidon: PoseidonChip::configure(meta, T::POSEIDON_LANES, shared),
            range: RangeCheckChip::configure(meta, T::RANGE_LANES, T::LIMB_BITS),
            sum: SumChip::configure(meta),
            path: MerklePathChip::configure(meta),
            kyc,
            q_keys,
            q_bits,
            shared,
            instance,
        }
    }

    fn synthesize(
        &self,
        config: KycHalo2Config,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        if let Some(w) = &self.witness {
            if w.registry_path.len() != REGISTRY_DEPTH
                || w.exact.siblings.len() != POLICY_DEPTH
                || w.whole.siblings.len() != POLICY_DEPTH
            {
                return Err(Error::Synthesis);
            }
        }
        let layouter = &mut layouter;
        let poseidon = PoseidonChip::construct(config.poseidon.clone());
        let range = RangeCheckChip::construct(config.range.clone());
        let sums = SumChip::construct(config.sum.clone());
        let path = MerklePathChip::construct(config.path.clone());
        range.load_table(layouter)?;

        // The public inputs, each copied into a cell (order of super::IN_*).
        let names = ["R", "P", "today", "scope", "challenge", "nf"];
        let mut public = Vec::with_capacity(NUM_PUBLIC_INPUTS);
        for (row, name) in names.iter().enumerate() {
            public.push(public_cell(layouter, &config, name, row)?);
        }
        // Item 6: `challenge` is bound by its copy; no other relation involves it.
        let _ = &public[IN_CHALLENGE];

        let sk = witness(layouter, &config.poseidon, "sk", &[self.value(|w| w.sk)])?.remove(0);
        let serial = witness(
            layouter,
            &config.poseidon,
            "serial",
            &[self.value(|w| fe(w.serial))],
        )?
        .remove(0);

        // Item 1: J = n·2^24 + s with n < 2^10 and s < 2^24, hence J < 2^34.
        let n = range.witness_checked(
            layouter,
            "J: country part n < 2^10",
            self.value(|w| fe(w.jurisdiction >> SUFFIX_BITS)),
            COUNTRY_BITS,
        )?;
        let s = range.witness_checked(
            layouter,
            "J: subdivision part s < 2^24",
            self.value(|w| fe(w.jurisdiction & ((1 << SUFFIX_BITS) - 1))),
            SUFFIX_BITS,
        )?;
        // Items 1, 3: J, x_e = 4·J + 1 and x_w = 4·C + 2 from (n, s).
        let (j, x_exact, x_whole) = layouter.assign_region(
            || "jurisdiction keys",
            |mut region| {
                config.q_keys.enable(&mut region, 0)?;
                let [cn, cs, cj, ce, cw] = config.kyc;
                let n = n.copy_advice(|| "n", &mut region, cn, 0)?;
                let s = s.copy_advice(|| "s", &mut region, cs, 0)?;
                let two24 = Fp::from(1u64 << SUFFIX_BITS);
                let jv = n.value().zip(s.value()).map(|(n, s)| *n * two24 + s);
                let j = region.assign_advice(|| "J", cj, 0, || jv)?;
                #[allow(unused_mut)]
                let mut xe = jv.map(|j| j * Fp::from(4) + fe(TAG_EXACT));
                #[cfg(test)]
                if let Forge::ExactKey(x) = self.forge {
                    xe = Value::known(fe(x));
                }
                let xe = region.assign_advice(|| "x_e", ce, 0, || xe)?;
                #[allow(unused_mut)]
                let mut xw = n.value().map(|n| *n * two24 * Fp::from(4) + fe(TAG_WHOLE));
                #[cfg(test)]
                if let Forge::WholeKey(x) = self.forge {
                    xw = Value::known(fe(x));
                }
                let xw = region.assign_advice(|| "x_w", cw, 0, || xw)?;
                Ok((j, xe, xw))
            },
        )?;

        // Item 1: expiry_day < 2^32, today < 2^32.
        let expiry = range.witness_checked(
            layouter,
            "expiry_day < 2^32",
            self.value(|w| fe(w.expiry_day)),
            DAY_BITS,
        )?;
        range.copy_checked(layouter, "today < 2^32", &public[IN_TODAY], DAY_BITS)?;
        // Item 4: expiry_day > today, as expiry_day - today - 1 in [0, 2^32).
        enforce_lt(
            &sums,
            &range,
            layouter,
            "expiry_day > today",
            &public[IN_TODAY],
            &expiry,
            DAY_BITS,
        )?;

        // Item 2: hid = H(TAG_HOLDER, sk, 0); cred = H(TAG_CRED, hid, J, expiry_day, serial).
        let zero = poseidon.constant(layouter, Fp::ZERO)?;
        let hid = poseidon.hash_tagged(layouter, tags::TAG_HOLDER, &[sk.clone(), zero])?;
        let cred =
            poseidon.hash_tagged(layouter, tags::TAG_CRED, &[hid, j, expiry, serial.clone()])?;
        // Item 2: cred is leaf `serial` of the registry of root R (the index bits are
        // boolean by the `merkle swap` gate).
        #[allow(unused_mut)]
        let mut index = self.value(|w| w.serial);
        #[cfg(test)]
        if let Forge::Index(i) = self.forge {
            index = Value::known(i);
        }
        let bits: Vec<Value<bool>> = (0..REGISTRY_DEPTH)
            .map(|h| index.map(|i| (i >> h) & 1 == 1))
            .collect();
        let siblings: Vec<Value<Fp>> = (0..REGISTRY_DEPTH)
            .map(|h| self.value(|w| w.registry_path[h]))
            .collect();
        let (root, bit_cells) = path.path_root(&poseidon, layouter, &cred, &bits, &siblings)?;
        equal(
            layouter,
            "registry root = R",
            &root,
            &public[IN_REGISTRY_ROOT],
        )?;
        // Items 1, 2: the path bits are serial's bits: serial = sum b_i 2^i (< 2^32).
        layouter.assign_region(
            || "serial bits",
            |mut region| {
                let [cb, ca, ..] = config.kyc;
                let mut acc = region.assign_advice_from_constant(|| "acc_0", ca, 0, Fp::ZERO)?;
                for (i, b) in bit_cells.iter().rev().enumerate() {
                    config.q_bits.enable(&mut region, i)?;
                    let b = b.copy_advice(|| format!("bit {i}"), &mut region, cb, i)?;
                    let v = acc
                        .value()
                        .zip(b.value())
                        .map(|(a, b)| *a * Fp::from(2) + b);
                    acc = region.assign_advice(|| format!("acc_{}", i + 1), ca, i + 1, || v)?;
                }
                region.constrain_equal(acc.cell(), serial.cell())
            },
        )?;

        // Item 3: x_e and x_w each strictly between the keys of a leaf under P.
        for (name, x, nm) in [
            ("exact", &x_exact, self.witness.as_ref().map(|w| &w.exact)),
            ("whole", &x_whole, self.witness.as_ref().map(|w| &w.whole)),
        ] {
            let pick = |f: &dyn Fn(&NonMembership<Fp>) -> Fp| {
                nm.map_or(Value::unknown(), |n| Value::known(f(n)))
            };
            let pair = witness(
                layouter,
                &config.poseidon,
                &format!("{name}: neighbours"),
                &[pick(&|n| fe(n.low)), pick(&|n| fe(n.next))],
            )?;
            enforce_strictly_between(
                &sums,
                &range,
                layouter,
                name,
                (&pair[0], x, &pair[1]),
                KEY_BITS,
            )?;
            let leaf = poseidon.hash_tagged(layouter, tags::TAG_POLICY, &pair)?;
            let bits: Vec<Value<bool>> = (0..POLICY_DEPTH)
                .map(|h| nm.map_or(Value::unknown(), |n| Value::known((n.index >> h) & 1 == 1)))
                .collect();
            let siblings: Vec<Value<Fp>> = (0..POLICY_DEPTH)
                .map(|h| pick(&|n| n.siblings[h]))
                .collect();
            let (root, _) = path.path_root(&poseidon, layouter, &leaf, &bits, &siblings)?;
            equal(
                layouter,
                &format!("{name}: policy root = P"),
                &root,
                &public[IN_POLICY_ROOT],
            )?;
        }

        // Item 5: nf = H(TAG_NULL, sk, scope).
        let nf = poseidon.hash_tagged(layouter, tags::TAG_NULL, &[sk, public[IN_SCOPE].clone()])?;
        equal(layouter, "nullifier = nf", &nf, &public[IN_NULLIFIER])
    }
}

#[cfg(test)]
mod tests;
