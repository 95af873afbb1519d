//! `assay`: zero-knowledge proofs of solvency and of KYC non-residence, from the command line.
//!
//! Exit codes (every subcommand): 0 success (for `verify`: valid), 1 a `verify` subcommand
//! found the input invalid, 2 bad input or usage. See `docs/cli.md`.
#![deny(unsafe_code)]

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: the STARK verifier allocates many small objects
/// (a customer's check spent ~15 % of its time in glibc's malloc; `docs/stark.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
