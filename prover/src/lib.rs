//! prover

/// Halo2 (IPA over Pasta) key generation and proving.
#[cfg(feature = "halo2")]
pub mod halo2;
