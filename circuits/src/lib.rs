//! The statements Assay proves, each with its native twin, its R1CS circuit over BN254
//! (Groth16) and its Halo2 circuit over Pasta.
//!
//! Every primitive keeps its twins together: `mod.rs` the native function, `constraints.rs`
//! the R1CS gadget, `halo2.rs` the Halo2 chip (feature `halo2`); each gadget and chip proves
//! that its output is the native function of its inputs.
//!
//! * [`poseidon`]: the hash `H`: circomlib Poseidon on BN254, and `P128Pow5T3` on Pasta
//!   ([`poseidon::pasta`]).
//! * [`merkle`]: binary Poseidon Merkle trees (roots, paths).
//! * [`range`]: range checks (`0 <= x < 2^n`).
//! * [`field`]: the fields statements are written over, each with its backend's hash.
//! * [`encoding`]: injective encodings of bytes and strings into field elements.
//! * [`kyc`]: the KYC statement of DESIGN §2: jurisdictions, policy trees, the registry and
//!   the Groth16 circuit.
//! * [`solvency`]: the solvency statement of DESIGN §1: leaves, batch and aggregation circuits.
//!
//! * [`halo2`] (feature `halo2`, on by default): plumbing shared by the Halo2 chips and
//!   circuits (the field `Fp`, comparisons, MockProver helpers).
//!
//! This crate knows nothing of files, formats or HTTP: it defines what is proven.
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod encoding;
pub mod field;
#[cfg(test)]
mod harness;
pub mod kyc;
pub mod merkle;
pub mod poseidon;
pub mod range;
pub mod solvency;
pub mod tags;

/// The scalar field of BN254, over which every Groth16 statement of Assay is written.
pub type Fr = ark_bn254::Fr;

pub use field::StatementField;

/// The error of gadget construction: re-exported so that callers need not depend on
/// `ark-relations` to name it.
pub use ark_relations::gr1cs::SynthesisError;

#[cfg(feature = "halo2")]
pub mod halo2;
