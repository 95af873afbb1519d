//! Assay's public formats and their verification.
//!
//! Everything an auditor, a customer or a relying party needs to check a proof, and nothing a
//! prover needs to make one: no proving keys, no witness code. Every check answers `Ok(..)`
//! ("valid") or an error that says exactly which proof, which check and which input failed.
//!
//! * [`backend`]: the proof systems ([`Backend`]), named once for every crate.
//! * [`solvency`]: the round bundle, inclusion records, and the auditor's and customer's checks.
//! * [`groth16`]: decoding of Groth16/BN254 keys and proofs (points checked on the curve and in
//!   the subgroup) and verification.
//! * [`field`], [`amount`]: the text encodings of field elements and amounts used in every
//!   format.
//! * [`kyc`]: the KYC formats (epoch, policy, challenge, credential, path, proof) and the
//!   relying party's verification.
//! * [`signing`]: Ed25519 signatures of the publisher over bundles and records.
//! * [`snarkjs`]: export of a Groth16 proof, key and inputs to snarkjs's JSON formats.
//! * [`halo2`] (feature `halo2`): Halo2 (IPA over Pasta) verification, and the on-disk cache
//!   of its public parameters ([`halo2::ParamsCache`]).
//! * [`stark`] (feature `stark`): STARK rounds (Plonky3, KoalaBear, Poseidon2): the round
//!   and inclusion checks, digests and the proofs kept in files next to the bundle.
//! * [`fsutil`]: atomic file writes.
//!
//! Each backend is one module (`groth16`, `halo2`) verifying both statements behind one
//! trait; the backend a file names selects its module in one place ([`verified_backends`]
//! lists what this build verifies).
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod amount;
pub mod backend;
mod dispatch;
pub mod error;
pub mod field;
pub mod fsutil;
pub mod groth16;
pub mod kyc;
pub mod signing;
pub mod snarkjs;
pub mod solvency;

/// Verification of Halo2 (IPA over Pasta) proofs.
#[cfg(feature = "halo2")]
pub mod halo2;

/// Verification of STARK rounds (Plonky3 over KoalaBear with Poseidon2).
#[cfg(feature = "stark")]
pub mod stark;

pub use backend::{Backend, UnknownBackend};
pub use dispatch::{verified_backends, with_field, FieldVisitor};
pub use error::{FormatError, VerifyError};

/// The scalar field of BN254 (re-exported from `assay-circuits`).
pub use assay_circuits::Fr;

/// SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
