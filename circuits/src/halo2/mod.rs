//! Shared Halo2 plumbing over the Pasta field `Fp` (zcash `halo2_proofs`, IPA, transparent
//! setup). The chips live beside their native and R1CS twins:
//! [`crate::poseidon::halo2`] (with the native sponge [`crate::poseidon::pasta`]),
//! [`crate::merkle::halo2`] and [`crate::range::halo2`]; the circuits in
//! [`crate::solvency::halo2`] and [`crate::kyc::halo2`].
//!
//! Here only what every Halo2 circuit of Assay shares:
//!
//! * [`Fp`] and [`Cell`], the field and the assigned cell of every chip;
//! * [`arith`]: running sums and the comparisons `a <= b`, `a < b`, `low < code < next`
//!   (a range-checked difference), used by both statements;
//! * [`testing`]: helpers that turn MockProver failures into short, stable strings.
//!
//! Each chip follows the `...Instructions` trait + `...Config` + `...Chip::{configure,
//! construct}` pattern. The field is `Fp`, the base field of Pallas and scalar field of Vesta:
//! proofs are commitments on Vesta (`EqAffine`). Hash outputs differ from the BN254 backend's.

pub mod arith;
pub mod testing;

/// The field every Halo2 statement of Assay is written over.
pub type Fp = pasta_curves::Fp;

/// An assigned cell holding one field element.
pub type Cell = halo2_proofs::circuit::AssignedCell<Fp, Fp>;
