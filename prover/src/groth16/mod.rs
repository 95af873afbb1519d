//! The Groth16/BN254 backend of the prover, for both statements: [`Groth16Backend`] proves a
//! round's batches and aggregations ([`crate::solvency::backend::RoundBackend`]) under keys
//! from a circuit-specific setup cached in the keys folder, and [`Groth16KycProver`] the KYC
//! presentation ([`crate::dispatch::KycProver`]) under the issuer's proving key.

mod kyc;
pub mod lean;
mod solvency;

pub use kyc::Groth16KycProver;
pub use solvency::{Groth16Backend, Groth16Key};
