//! The command line: parse, call the libraries, format. No logic of its own.

pub mod demo;
pub mod export;
pub mod issuer;
pub mod keys;
pub mod kyc;
pub mod serve;
pub mod solvency;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Zero-knowledge proofs of solvency and of KYC non-residence.
#[derive(Debug, Parser)]
#[command(name = "assay", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job end to end on the shipped fixtures: a solvency round (prove, verify, one
    /// customer's inclusion check) and a KYC flow (issue, prove, verify).
    Demo(demo::DemoArgs),
    /// Proof of solvency: prove a round, merge shards, verify a round or an inclusion record.
    #[command(subcommand)]
    Solvency(solvency::SolvencyCommand),
    /// Export a proof to another tool's formats (snarkjs).
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Run the HTTP verification service.
    Serve(serve::ServeArgs),
    /// Zero-knowledge KYC: issuer, holder and relying party.
    #[command(subcommand)]
    Kyc(kyc::KycCommand),
    /// Threshold Ed25519 keys (FROST): distributed key generation and signing by shares.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

/// How a command ended.
#[derive(Debug)]
pub enum Failure {
    /// A check found the input invalid (exit 1); the reason, printed by [`run`].
    Invalid(String),
    /// A `verify` found the input invalid (exit 1) and has printed its verdict.
    Reported,
    /// Bad input or usage (exit 2); the message names file, line and field where they apply.
    Input(String),
}

impl<E: std::fmt::Display> From<E> for Failure
where
    E: Into<Box<dyn std::error::Error>>,
{
    fn from(e: E) -> Self {
        Failure::Input(e.to_string())
    }
}

/// Runs a parsed command line and maps the outcome to the documented exit code.
pub fn run(cli: Cli) -> ExitCode {
    let r = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Solvency(c) => solvency::run(c),
        Command::Export(c) => export::run(c),
        Command::Serve(a) => serve::run(a),
        Command::Kyc(c) => kyc::run(c),
        Command::Keys(c) => keys::run(c),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(reason)) => {
            println!("invalid: {reason}");
            ExitCode::from(1)
        }
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
    }
}

/// Prints a verification verdict (text or one JSON object) and returns its exit status.
pub fn verdict(
    json: bool,
    result: Result<serde_json::Value, String>,
    valid_text: &str,
) -> Result<(), Failure> {
    match result {
        Ok(details) => {
            if json {
                let mut v = serde_json::json!({ "valid": true, "reason": null });
                if let (Some(o), serde_json::Value::Object(d)) = (v.as_object_mut(), details) {
                    o.extend(d);
                }
                println!("{v}");
            } else {
                println!("valid: {valid_text}");
            }
            Ok(())
        }
        Err(reason) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "reason": reason })
                );
            } else {
                println!("invalid: {reason}");
            }
            Err(Failure::Reported)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
