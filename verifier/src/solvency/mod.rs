//! The solvency round: its public formats and the auditor's and customer's checks.
//!
//! * [`RoundConfig`]: the round's configuration (input of the prover, public part of the bundle).
//! * [`RoundBundle`]: `round.json`, every proof of the round with its public inputs.
//! * [`InclusionRecord`]: one customer's record (balances, salt, path), signed.
//! * [`verify_round`]: the auditor's check of a whole round (optionally against the previous).
//! * [`verify_inclusion`]: the customer's check of one record against the round.
//!
//! Both backends are checked by the same code: [`RoundBundle::backend`] selects Groth16 on BN254
//! (keys in the bundle) or Halo2 (keys re-derived from the circuits named in the bundle's
//! [`Circuits`] section and deterministic IPA parameters); a bundle whose proofs, keys or
//! sections do not match its backend is refused with the reason.
//!
//! The formats are documented in `docs/formats.md`; the protocol in `docs/solvency.md`.

mod formats;
mod verify;

#[cfg(feature = "halo2")]
pub use crate::halo2::solvency::{
    halo2_circuits, halo2_key_description, halo2_params_needed, MAX_HALO2_PROOF_BYTES,
};
pub use formats::*;
pub use verify::*;
