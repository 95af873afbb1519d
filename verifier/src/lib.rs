//! verifier

/// Verification of Halo2 (IPA over Pasta) proofs.
#[cfg(feature = "halo2")]
pub mod halo2;
