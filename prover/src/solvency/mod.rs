//! A solvency round, from a balances CSV to `round.json`, inclusion records and `private/`.
//!
//! The run is a pipeline of restartable steps, each leaving complete files behind it
//! (atomic writes), so that `--resume` redoes nothing that was finished:
//!
//! 1. **secret**: `private/round-secret.json`, a random seed from which every salt, blind and
//!    the leaf order are derived (so a resumed run or another shard derives the same ones);
//! 2. **spool**: two streaming passes over the CSV. The first validates every row and counts
//!    them; the second writes each customer's record at a random position of
//!    `private/work/leaves.bin` (fixed-size records; padding positions stay zero). Memory: 4
//!    bytes per leaf for the permutation and 24 bytes per customer for duplicate detection;
//! 3. **batches**: one proof per `B` leaves (Groth16 or Halo2, see [`backend`]; the backend
//!    is recorded in `private/backend.json` so that a resume or merge cannot mix two), in parallel on every core (rayon), each
//!    written to `private/work/batches/` as soon as it is made. `--shard I/N` proves batches
//!    `j ≡ I (mod N)` only;
//! 4. **aggregations**, level by level, also checkpointed;
//! 5. **records** (`inclusion/`), then `round.json` last.

pub mod backend;
mod pipeline;

pub use pipeline::*;
