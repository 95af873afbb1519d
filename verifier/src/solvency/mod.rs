//! The solvency round: its public formats and the auditor's and customer's checks.
//!
//! * [`RoundConfig`]: the round's configuration (input of the prover, public part of the bundle).
//! * [`RoundBundle`]: `round.json`, every proof of the round with its public inputs.
//! * [`InclusionRecord`]: one customer's record (balances, salt, path), signed.
//! * [`verify_round`]: the auditor's check of a whole round (optionally against the previous).
//! * [`verify_inclusion`]: the customer's check of one record against the round.
//!
//! The formats are documented in `docs/formats.md`; the protocol in `docs/solvency.md`.

mod formats;
mod verify;

pub use formats::*;
pub use verify::*;
