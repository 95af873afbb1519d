//! Property tests: every primitive's native twin and its in-circuit version agree on random
//! inputs, on both backends (issue 15, item 6). Each property would fail if a gadget or chip
//! computed anything but its native function: Poseidon of every arity (BN254, with the chain
//! beyond 12 inputs; Pasta), Merkle roots and paths, range checks, and the jurisdiction packing
//! that the KYC circuits rely on.
//!
//! The number of cases is kept small enough for CI (`PROPTEST_CASES` raises it for long runs).

use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar, GR1CSVar};
use ark_relations::gr1cs::ConstraintSystem;
use assay_circuits::{
    kyc::jurisdiction::{all_subdivisions, Jurisdiction},
    merkle, poseidon, range, Fr,
};
use proptest::prelude::*;

fn fr(bytes: &[u8; 32]) -> Fr {
    Fr::from_le_bytes_mod_order(bytes)
}

fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig::with_cases(n)
}

fn witnesses(cs: &ark_relations::gr1cs::ConstraintSystemRef<Fr>, xs: &[Fr]) -> Vec<FpVar<Fr>> {
    xs.iter()
        .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(cases(24))]

    /// BN254 Poseidon: the R1CS gadget equals circomlib's native hash for every length
    /// 1..=40 (direct up to 12, chained beyond), and its constraints are satisfied.
    #[test]
    fn poseidon_bn254_gadget_equals_native(inputs in prop::collection::vec(any::<[u8; 32]>(), 1..=40)) {
        let xs: Vec<Fr> = inputs.iter().map(fr).collect();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let out = poseidon::constraints::hash_var(&witnesses(&cs, &xs)).unwrap();
        prop_assert_eq!(out.value().unwrap(), poseidon::hash(&xs));
        prop_assert!(cs.is_satisfied().unwrap());
    }

    /// BN254 Merkle: the gadget's root over `2^d` leaves equals the native root, and the root
    /// recomputed from any leaf's path (index bits in the circuit) equals it too.
    #[test]
    fn merkle_bn254_root_and_paths_agree(
        leaves in (0usize..=4).prop_flat_map(|d| prop::collection::vec(any::<[u8; 32]>(), 1 << d)),
        pick in any::<prop::sample::Index>(),
    ) {
        let xs: Vec<Fr> = leaves.iter().map(fr).collect();
        let root = merkle::root(&xs);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let vars = witnesses(&cs, &xs);
        prop_assert_eq!(merkle::constraints::root_var(&vars).unwrap().value().unwrap(), root);

        let levels = merkle::levels(&xs);
        let index = pick.index(xs.len());
        let siblings = merkle::path(&levels, index);
        prop_assert_eq!(merkle::root_from_path(xs[index], index as u64, &siblings), root);
        let sib_vars = witnesses(&cs, &siblings);
        let bits: Vec<_> = (0..siblings.len())
            .map(|i| {
                ark_r1cs_std::boolean::Boolean::new_witness(cs.clone(), || Ok((index >> i) & 1 == 1))
                    .unwrap()
            })
            .collect();
        let from_path =
            merkle::constraints::root_from_path_var(&vars[index], &bits, &sib_vars).unwrap();
        prop_assert_eq!(from_path.value().unwrap(), root);
        prop_assert!(cs.is_satisfied().unwrap());
    }

    /// BN254 range check: `enforce_bits(x, n)` is satisfiable exactly when the native
    /// `fits(x, n)` holds, for values below, at and above `2^n` and "negative" values `p - x`.
    #[test]
    fn range_bn254_gadget_agrees_with_fits(
        n in 1usize..=64,
        raw in any::<u64>(),
        kind in 0u8..4,
    ) {
        let x = match kind {
            0 => Fr::from(raw & ((1u128 << n) - 1) as u64),
            1 => Fr::from(1u128 << n),
            2 => Fr::from(raw),
            _ => -Fr::from(raw | 1),
        };
        let cs = ConstraintSystem::<Fr>::new_ref();
        let var = FpVar::new_witness(cs.clone(), || Ok(x)).unwrap();
        let bits = range::constraints::enforce_bits(&var, n).unwrap();
        prop_assert_eq!(bits.len(), n);
        prop_assert_eq!(cs.is_satisfied().unwrap(), range::fits(&x, n), "x = {}, n = {}", x, n);
        if range::fits(&x, n) {
            let le = x.into_bigint().to_bits_le();
            for (i, b) in bits.iter().enumerate() {
                prop_assert_eq!(b.value().unwrap(), le[i]);
            }
        }
    }

    /// Jurisdiction packing (the KYC circuits' `J` and policy keys): every ISO 3166-2 code
    /// round-trips through `J`; clearing the subdivision part gives the country; the policy
    /// keys are `4 J + 1` and `4 C + 2`, inside `(0, 2^36 - 1)`.
    #[test]
    fn jurisdiction_packing_round_trips(pick in any::<prop::sample::Index>()) {
        let codes = all_codes();
        let code = &codes[pick.index(codes.len())];
        let j = Jurisdiction::parse(code).unwrap();
        let back = Jurisdiction::unpack(j.packed()).unwrap();
        prop_assert_eq!(&back.code(), code);
        let country = j.country();
        prop_assert!(country.is_country_only());
        prop_assert_eq!(country.numeric(), j.numeric());
        prop_assert_eq!(&country.code(), code.split('-').next().unwrap());
        prop_assert_eq!(j.exact_key(), 4 * j.packed() + 1);
        prop_assert_eq!(j.whole_key(), 4 * country.packed() + 2);
        for key in [j.exact_key(), j.whole_key()] {
            prop_assert!(key > 0 && key < (1u64 << 36) - 1, "{} key {:#x}", code, key);
        }
        if j.is_country_only() {
            prop_assert_eq!(j.packed(), country.packed());
        } else {
            prop_assert_ne!(j.packed(), country.packed());
        }
    }
}

fn all_codes() -> &'static [String] {
    static CODES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CODES.get_or_init(|| {
        let mut v = all_subdivisions();
        let countries: std::collections::BTreeSet<String> = v
            .iter()
            .map(|c| c.split('-').next().unwrap().to_string())
            .collect();
        v.extend(countries);
        v
    })
}

#[cfg(feature = "halo2")]
mod pasta {
    use super::cases;
    use assay_circuits::poseidon::{
        halo2::{witness, PoseidonChip, PoseidonConfig, PoseidonHashInstructions},
        pasta,
    };
    use assay_circuits::range::{
        self,
        halo2::{RangeCheckChip, RangeCheckConfig, RangeCheckInstructions},
    };
    use assay_circuits::{halo2::Fp, merkle};
    use ff::{FromUniformBytes, PrimeField};
    use halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner, Value},
        dev::MockProver,
        plonk::{Circuit, Column, ConstraintSystem, Error, Instance},
    };
    use proptest::prelude::*;

    fn fp(bytes: &[u8; 32]) -> Fp {
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(bytes);
        Fp::from_uniform_bytes(&wide)
    }

    /// What the circuit computes from its private inputs, exposed as instance row 0.
    #[derive(Clone, Copy)]
    enum Op {
        Hash,
        MerkleRoot,
    }

    #[derive(Clone)]
    struct TwinCircuit {
        inputs: Vec<Value<Fp>>,
        op: Op,
    }

    #[derive(Clone)]
    struct TwinConfig {
        poseidon: PoseidonConfig,
        instance: Column<Instance>,
    }

    impl Circuit<Fp> for TwinCircuit {
        type Config = TwinConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            Self {
                inputs: vec![Value::unknown(); self.inputs.len()],
                op: self.op,
            }
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> TwinConfig {
            let shared = meta.advice_column();
            let constants = meta.fixed_column();
            meta.enable_constant(constants);
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            TwinConfig {
                poseidon: PoseidonChip::configure(meta, 2, shared),
                instance,
            }
        }
        fn synthesize(
            &self,
            config: TwinConfig,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = PoseidonChip::construct(config.poseidon.clone());
            let cells = witness(&mut layouter, &config.poseidon, "inputs", &self.inputs)?;
            let out = match self.op {
                Op::Hash => chip.hash(&mut layouter, &cells)?,
                Op::MerkleRoot => {
                    assay_circuits::merkle::halo2::merkle_root(&chip, &mut layouter, &cells)?
                }
            };
            layouter.constrain_instance(out.cell(), config.instance, 0)
        }
    }

    fn satisfied(inputs: &[Fp], op: Op, claimed: Fp) -> bool {
        let c = TwinCircuit {
            inputs: inputs.iter().map(|v| Value::known(*v)).collect(),
            op,
        };
        MockProver::run(11, &c, vec![vec![claimed]])
            .unwrap()
            .verify()
            .is_ok()
    }

    /// Range-checks one private value to `bits` with the chip (8-bit limbs).
    #[derive(Clone)]
    struct RangeCircuit {
        value: Value<Fp>,
        bits: usize,
    }

    impl Circuit<Fp> for RangeCircuit {
        type Config = RangeCheckConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            Self {
                value: Value::unknown(),
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
            chip.witness_checked(&mut layouter, "value", self.value, self.bits)?;
            Ok(())
        }
    }

    proptest! {
        #![proptest_config(cases(16))]

        /// Halo2 range chip: satisfied exactly when the native `fits(x, n)` holds, for values
        /// below, at and above `2^n` and "negative" values `p - x`.
        #[test]
        fn range_pasta_chip_agrees_with_fits(n in 1usize..=64, raw in any::<u64>(), kind in 0u8..4) {
            let x = match kind {
                0 => Fp::from(raw & ((1u128 << n) - 1) as u64),
                1 => Fp::from_u128(1u128 << n),
                2 => Fp::from(raw),
                _ => -Fp::from(raw | 1),
            };
            let c = RangeCircuit { value: Value::known(x), bits: n };
            let ok = MockProver::run(10, &c, vec![]).unwrap().verify().is_ok();
            prop_assert_eq!(ok, range::fits(&x, n), "x = {:?}, n = {}", x, n);
        }
    }

    proptest! {
        #![proptest_config(cases(8))]

        /// Pasta Poseidon (`P128Pow5T3`, constant-length sponge): the chip accepts exactly the
        /// native digest of 1..=8 inputs, and refuses the digest plus one.
        #[test]
        fn poseidon_pasta_chip_equals_native(inputs in prop::collection::vec(any::<[u8; 32]>(), 1..=8)) {
            let xs: Vec<Fp> = inputs.iter().map(fp).collect();
            let h = pasta::hash(&xs);
            prop_assert!(satisfied(&xs, Op::Hash, h));
            prop_assert!(!satisfied(&xs, Op::Hash, h + Fp::one()));
        }

        /// Pasta Merkle: the chip's root over `2^d` leaves is the native root.
        #[test]
        fn merkle_pasta_chip_equals_native(
            leaves in (0usize..=3).prop_flat_map(|d| prop::collection::vec(any::<[u8; 32]>(), 1 << d)),
        ) {
            let xs: Vec<Fp> = leaves.iter().map(fp).collect();
            let root = merkle::root(&xs);
            prop_assert!(satisfied(&xs, Op::MerkleRoot, root));
            prop_assert!(!satisfied(&xs, Op::MerkleRoot, root + Fp::one()));
        }
    }
}
