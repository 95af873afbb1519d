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
    /// The inputs of a resumed, sharded or merged run do not match the earlier work.
    #[error("inconsistent work directory: {0}")]
    Inconsistent(String),
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
