//! `assay`: zero-knowledge proofs of solvency and of KYC non-residence, from the command line.
//!
//! Exit codes (every subcommand): 0 success (for `verify`: valid), 1 a `verify` subcommand
//! found the input invalid, 2 bad input or usage. See `docs/cli.md`.
#![deny(unsafe_code)]

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
