//! A solvency round, from a balances CSV to `round.json`, inclusion records and `private/`.
//!
//! The run is a pipeline of restartable steps, each leaving complete files behind it
//! (atomic writes), so that `--resume` redoes nothing that was finished:
//!
//! 1. **secret**: `private/round-secret.json`, a random seed from which every salt, blind and
//!    the leaf order are derived (so a resumed run or another shard derives the same ones);
//! 2. **spool**: one streaming pass over the CSV validates every row (values, unique ids,
//!    liabilities within reserves) and keeps the rows in a scratch file; only then is each
//!    customer's record written at a random position of `private/work/leaves.bin`
//!    (fixed-size records; padding positions stay zero). A bad CSV leaves nothing written;
//! 3. **batches**: one proof per `B` leaves (Groth16 or Halo2, see [`backend`]; the backend
//!    is recorded in `private/backend.json` so that a resume or merge cannot mix two), at most
//!    `jobs` at once, each on its own pool of `cores / jobs` threads ([`budget`]: the memory
//!    budget bounds the proofs in flight), each written to `private/work/batches/` as soon as
//!    it is made. `--shard I/N` proves batches `j ≡ I (mod N)` only;
//! 4. **aggregations**, level by level, also checkpointed and bounded the same way;
//! 5. **records** (`inclusion/`), then `round.json` last.
//!
//! [`merge`] gathers the batch proofs of shards and runs steps 4–5.

pub mod backend;
pub mod budget;
pub(crate) mod merge;
pub mod plan;
mod prove;
mod proving;
mod publishing;
pub(crate) mod spool;
mod witnesses;
pub(crate) mod workdir;

pub use merge::merge;
pub use prove::prove;
#[cfg(feature = "stark")]
pub(crate) use publishing::write_record;
pub use publishing::{record_file_name, record_path};
pub use spool::check_inputs;

use budget::{Budget, Workers};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::PathBuf;

/// What `assay solvency prove` is asked to do.
#[derive(Debug, Clone)]
pub struct ProveOptions {
    /// The balances CSV.
    pub balances: PathBuf,
    /// The round configuration JSON.
    pub config: PathBuf,
    /// The output folder.
    pub out: PathBuf,
    /// The keys folder.
    pub keys: PathBuf,
    /// `Some((i, n))`: prove only shard `i` of `n` of the batch proofs.
    pub shard: Option<(usize, usize)>,
    /// Continue the work checkpointed in `out`.
    pub resume: bool,
    /// Show progress bars on stderr.
    pub progress: bool,
    /// The proof system.
    pub backend: BackendChoice,
    /// The memory budget and the proofs in flight (`--memory`, `--jobs`).
    pub budget: Budget,
}

/// The proof system of a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendChoice {
    /// Groth16 on BN254 (keys from a circuit-specific setup, in the keys folder).
    Groth16,
    /// Halo2, IPA over Pasta, in a column layout (`compact`, `balanced`, `throughput`); IPA
    /// parameters are cached in the keys folder.
    Halo2 {
        /// The layout's name.
        layout: String,
    },
    /// The STARK (Plonky3 over KoalaBear, hiding FRI): no keys, no parameters to cache; its
    /// own pipeline (`crate::stark`, feature `stark`), with shards and merge as the others.
    Stark,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Customers in the file.
    pub customers: u64,
    /// Leaves in the tree, padding included.
    pub leaf_count: u64,
    /// Batch proofs made by this run.
    pub batches_proven: usize,
    /// Batch proofs found already done.
    pub batches_skipped: usize,
    /// Aggregation proofs made by this run.
    pub aggregations_proven: usize,
    /// `round.json`, when the round is complete.
    pub bundle: Option<PathBuf>,
    /// Inclusion records written.
    pub records: u64,
    /// The budget the run chose: proofs in flight, threads in each, the peak of one proof.
    pub budget: Workers,
}

/// A progress bar on stderr, or a hidden one.
pub(crate) fn bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    if let Ok(s) = ProgressStyle::with_template(
        "{msg:>14} [{elapsed_precise}] {wide_bar} {pos}/{len} (ETA {eta})",
    ) {
        b.set_style(s);
    }
    b.set_message(what.to_string());
    b
}
