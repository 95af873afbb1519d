//! The prover's error type.

use std::path::PathBuf;

/// Why a prover run stopped. Input errors name the file, line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProverError {
    /// A bad value in an input file.
    #[error("{file}:{line}:{column}: {message}")]
    Input {
        /// The file.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column, with its header name when known (`3 (BTC)`).
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A whole-file problem (empty file, bad header, no rows).
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A malformed format (JSON config, bundle, checkpoint).
    #[error("{file}: {source}")]
    Format {
        /// The file.
        file: String,
        /// The format error.
        source: assay_verifier::FormatError,
    },
    /// An I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The witness does not satisfy the statement (for example liabilities above reserves).
    #[error("the statement does not hold: {0}")]
    Statement(#[from] assay_circuits::solvency::StatementError),
    /// Proving or key generation failed.
    #[error("proving failed: {0}")]
    Proving(String),
    /// A file of the work folder or key cache that Assay wrote is damaged: it does not parse
    /// as what it should hold (a seed, a spool record, a checkpoint's field element) or does
    /// not match its name (a key file).
    #[error("{}: damaged: {message}", file.display())]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The work already in a folder was made from other inputs than this run's: another
    /// balances file or config, another round, another seed or another backend.
    #[error("{}: {message}", file.display())]
    WorkMismatch {
        /// The file (or folder) of the earlier work that does not match.
        file: PathBuf,
        /// What differs.
        message: String,
    },
    /// A step needs earlier work that is not there (a batch proof of a shard not yet proven,
    /// the round secret of a folder with no work).
    #[error("{} is missing: {what}", path.display())]
    MissingWork {
        /// The file that should exist.
        path: PathBuf,
        /// What it is and what to do.
        what: String,
    },
    /// The output folder already holds a round's work, and `--resume` was not given.
    #[error("{} already holds a round's work: pass --resume to continue it, or choose another --out", folder.display())]
    WorkExists {
        /// The output folder.
        folder: PathBuf,
    },
    /// The output folder already holds a finished round (`round.json`).
    #[error("{} already holds a finished round", folder.display())]
    RoundExists {
        /// The output folder.
        folder: PathBuf,
    },
    /// `private/backend.json` names a proof system this build does not know.
    #[error("{}: unknown backend {backend:?} (layout {layout:?})", file.display())]
    UnknownBackend {
        /// The backend file.
        file: PathBuf,
        /// The backend named.
        backend: String,
        /// The layout named.
        layout: Option<String>,
    },
    /// An unknown Halo2 column layout.
    #[error("unknown Halo2 layout {0:?} (compact, balanced, throughput)")]
    UnknownLayout(String),
    /// The operation is not available for this input, with the reason.
    #[error("{0}")]
    Refused(String),
    /// The proof system was left out of this build (a cargo feature).
    #[error("this build of assay-prover has no {0} backend (feature `{0}`)")]
    BackendUnavailable(&'static str),
    /// A shard `I/N` outside `0 <= I < N`.
    #[error("shard {index}/{count}: need 0 <= I < N")]
    BadShard {
        /// `I`.
        index: usize,
        /// `N`.
        count: usize,
    },
    /// The folder holds work of another proof system or layout than this run asks for.
    #[error("{} holds work of backend {found}; this run asks for {asked}: resume with the same --backend and --layout", folder.display())]
    BackendMismatch {
        /// The output folder.
        folder: PathBuf,
        /// The backend (and layout) of the earlier work.
        found: String,
        /// The backend (and layout) asked for.
        asked: String,
    },
    /// A whole round (not a shard) was asked for without the publication key that signs it.
    #[error("a whole round needs the publication key")]
    MissingSigner,
    /// The keys folder has no Groth16 key for a circuit the round needs. Keys are made only
    /// by the setup party's `assay solvency setup`, never by the prover.
    #[error("{}: no Groth16 key for circuit {shape}: make the keys with `assay solvency setup --config ROUND.json --out KEYS_DIR` (the auditor's or ceremony coordinator's step) and pass --keys KEYS_DIR", dir.display())]
    MissingKey {
        /// The keys folder.
        dir: PathBuf,
        /// The circuit's shape name.
        shape: String,
    },
    /// `merge` was given no shard folder.
    #[error("no shard folders given")]
    NoShards,
    /// A shard folder of `merge` belongs to another round than the first one: its secret,
    /// config or balances differ.
    #[error("{} is a shard of another round (secret, config or balances differ from {})", shard.display(), first.display())]
    ShardMismatch {
        /// The shard folder.
        shard: PathBuf,
        /// The first shard folder.
        first: PathBuf,
    },
    /// A shard folder of `merge` was proven with another proof system than the first one.
    #[error("{} was proven with another backend than {}", shard.display(), first.display())]
    ShardBackendMismatch {
        /// The shard folder.
        shard: PathBuf,
        /// The first shard folder.
        first: PathBuf,
    },
    /// Two shard folders of `merge` hold the same batch proof: the same shard given twice, or
    /// shards of different splits (`--shard I/N` with different `N`).
    #[error("batch proof {batch} is in two shard folders, {} and {} (the same shard twice, or shards of different --shard I/N splits)", first.display(), second.display())]
    ShardOverlap {
        /// The batch.
        batch: usize,
        /// The first shard folder holding it.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// The memory budget (`--memory`, `--jobs`) cannot hold the proofs asked for; refused
    /// before any work, the message giving the figure needed.
    #[error("{0}")]
    Budget(String),
    /// `assay solvency plan` cannot write a plan for these options.
    #[error("plan: {0}")]
    Plan(String),
}

impl ProverError {
    /// An I/O error at `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
