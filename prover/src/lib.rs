//! Assay's provers: witness generation, batching, checkpoints, shards and keys.
//!
//! * [`solvency`]: a round from a balances CSV to `round.json`, inclusion records and the
//!   private folder, with `--resume` and `--shard` support.
//! * [`keys`]: Groth16 keys per circuit shape, cached on disk and named by hash.
//! * [`csv_input`]: the streaming, validating reader of balances files.
//! * [`fsutil`]: atomic writes.
//! * [`kyc`]: the KYC issuer (registry, epochs), holder (proof) and relying-party store.
//! * [`keystore`]: an Ed25519 signing key encrypted at rest (Argon2id + AES-256-GCM).
//! * [`groth16`]: the Groth16 backend (round proofs and the KYC presentation).
//! * [`halo2`] (feature `halo2`, on by default): the Halo2 (IPA over Pasta) backend.
//! * [`dispatch`]: the prover traits and the one place a backend selects its prover.
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod csv_input;
pub mod dispatch;
pub mod error;
pub mod fsutil;
pub mod groth16;
pub mod keys;
pub mod keystore;
pub mod kyc;
pub mod solvency;

/// Halo2 (IPA over Pasta) key generation and proving, for both statements.
#[cfg(feature = "halo2")]
pub mod halo2;
/// The STARK round pipeline (feature `stark`).
#[cfg(feature = "stark")]
pub mod stark;

pub use error::ProverError;
