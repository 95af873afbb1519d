//! `assay export snarkjs`: one Groth16 proof in snarkjs's JSON formats.

use super::Failure;
use assay_verifier::{snarkjs, solvency::RoundBundle};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// Formats to export to.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write DIR/proof.json, DIR/verification_key.json and DIR/public.json for one Groth16
    /// proof, so that `snarkjs groth16 verify` checks it.
    Snarkjs(SnarkjsArgs),
}

/// Arguments of `assay export snarkjs`.
#[derive(Debug, Args)]
pub struct SnarkjsArgs {
    /// A round folder, or its round.json.
    #[arg(long)]
    from: PathBuf,
    /// Which proof of the round: `top`, `batch:J` or `aggregation:L:I` (0-based).
    #[arg(long, default_value = "top")]
    proof: String,
    /// The output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

fn write_json<T: serde::Serialize>(dir: &Path, name: &str, v: &T) -> Result<(), Failure> {
    let p = dir.join(name);
    let text = serde_json::to_string_pretty(v).map_err(|e| Failure::Input(e.to_string()))?;
    std::fs::write(&p, text + "\n").map_err(|e| Failure::Input(format!("{}: {e}", p.display())))
}

/// Runs `assay export ...`.
///
/// # Errors
/// [`Failure::Input`] for unreadable or malformed input, an unknown proof name, or an output
/// folder that cannot be written.
pub fn run(c: ExportCommand) -> Result<(), Failure> {
    let ExportCommand::Snarkjs(a) = c;
    let path = if a.from.is_dir() {
        a.from.join("round.json")
    } else {
        a.from.clone()
    };
    let what = path.display().to_string();
    let bundle =
        RoundBundle::parse(&read(&path)?, &what).map_err(|e| Failure::Input(e.to_string()))?;
    let out = snarkjs::export_round_proof(&bundle, &a.proof)
        .map_err(|e| Failure::Input(format!("{what}: {e}")))?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Failure::Input(format!("{}: {e}", a.out.display())))?;
    write_json(&a.out, "verification_key.json", &out.verification_key)?;
    write_json(&a.out, "proof.json", &out.proof)?;
    write_json(&a.out, "public.json", &out.public)?;
    println!(
        "wrote {0}/verification_key.json, {0}/proof.json, {0}/public.json ({1} proof, {2} public inputs); check with: snarkjs groth16 verify {0}/verification_key.json {0}/public.json {0}/proof.json",
        a.out.display(),
        a.proof,
        out.public.len()
    );
    Ok(())
}
