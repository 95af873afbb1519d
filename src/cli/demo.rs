//! `assay demo`: the main job end to end on the shipped fixtures.

use super::Failure;
use assay_prover::{keystore::Keystore, solvency};
use assay_verifier::solvency::{verify_inclusion, verify_round, InclusionRecord, RoundOptions};
use clap::Args;
use std::{fs, path::PathBuf, time::Instant};

const BALANCES: &str = include_str!("../../fixtures/solvency/balances.csv");
const CONFIG: &str = include_str!("../../fixtures/solvency/round.json");
const MARKER: &str = ".assay-demo";
/// The demo's keystore passphrase: a demo key protects nothing.
const DEMO_PASSPHRASE: &str = "assay-demo (not a secret)";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write everything (replaced if it holds an earlier demo).
    #[arg(long, default_value = "assay-demo")]
    out: PathBuf,
}

pub fn run(a: DemoArgs) -> Result<(), Failure> {
    let out = a.out;
    if out.exists() {
        if !out.join(MARKER).exists() {
            return Err(Failure::Input(format!(
                "{} exists and is not an earlier demo: choose another --out",
                out.display()
            )));
        }
        fs::remove_dir_all(&out).map_err(|e| Failure::Input(format!("{}: {e}", out.display())))?;
    }
    let io = |e: std::io::Error| Failure::Input(format!("{}: {e}", out.display()));
    fs::create_dir_all(out.join("inputs")).map_err(io)?;
    fs::write(out.join(MARKER), "written by `assay demo`\n").map_err(io)?;
    fs::write(out.join("inputs/balances.csv"), BALANCES).map_err(io)?;
    fs::write(out.join("inputs/round.json"), CONFIG).map_err(io)?;

    println!("== Proof of solvency (Groth16 on BN254) ==");
    let round_dir = out.join("solvency-round");
    let signer = Keystore::create(&out.join("publication-key.json"), DEMO_PASSPHRASE)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let t = Instant::now();
    let s = solvency::prove(
        &solvency::ProveOptions {
            balances: out.join("inputs/balances.csv"),
            config: out.join("inputs/round.json"),
            out: round_dir.clone(),
            keys: out.join("keys"),
            shard: None,
            resume: false,
            progress: false,
        },
        Some(&signer),
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    println!(
        "proved: {} customers in {} leaves, {} batch proofs, {} aggregation proofs ({:.1} s, keys generated on first use)",
        s.customers,
        s.leaf_count,
        s.batches_proven,
        s.aggregations_proven,
        t.elapsed().as_secs_f64()
    );
    println!(
        "  public bundle:      {}",
        round_dir.join("round.json").display()
    );
    println!(
        "  inclusion records:  {}",
        round_dir.join("inclusion").display()
    );
    println!(
        "  private material:   {} (never publish)",
        round_dir.join("private").display()
    );

    let bundle = super::solvency::read_bundle(&round_dir)?;
    let t = Instant::now();
    let r = verify_round(&bundle, &RoundOptions::default())
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "auditor: valid — {} batch + {} aggregation proofs verify in {:.1} ms; liabilities <= reserves for {}",
        r.batch_proofs,
        r.aggregation_proofs,
        t.elapsed().as_secs_f64() * 1e3,
        r.reserves.iter().map(|(s, v)| format!("{s} ({v})")).collect::<Vec<_>>().join(", ")
    );
    let rec_path = round_dir
        .join("inclusion")
        .join(solvency::record_file_name("customer-0007"));
    let rec = InclusionRecord::parse(&fs::read(&rec_path).map_err(io)?, "inclusion record")
        .map_err(|e| Failure::Input(e.to_string()))?;
    let t = Instant::now();
    let ir = verify_inclusion(&rec, &bundle).map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "customer {:?}: included with {} — checked {} in {:.1} ms ({})",
        ir.user_id,
        ir.balances
            .iter()
            .map(|b| format!("{} {}", b.amount, b.symbol))
            .collect::<Vec<_>>()
            .join(", "),
        ir.proofs_checked.len(),
        t.elapsed().as_secs_f64() * 1e3,
        rec_path.display()
    );
    Ok(())
}
