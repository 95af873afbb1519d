//! `assay demo`: the main job end to end on the shipped fixtures.

use super::Failure;
use assay_prover::{keystore::Keystore, solvency};
use assay_verifier::groth16::TrustedKeys;
use assay_verifier::solvency::{
    verify_inclusion_with, verify_round, InclusionRecord, RoundOptions,
};
use clap::Args;
use std::{fs, path::PathBuf, time::Instant};

const BALANCES: &str = include_str!("../../fixtures/solvency/balances.csv");
const CONFIG: &str = include_str!("../../fixtures/solvency/round.json");
const POLICY: &str = include_str!("../../fixtures/kyc/policy-sanctions-example.json");
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
    // The auditor's step: the setup, whose manifest customers and auditors pin.
    let keys = out.join("keys");
    let setup_signer = Keystore::create(&out.join("auditor-setup-key.json"), DEMO_PASSPHRASE)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let cfg = assay_verifier::solvency::RoundConfig::parse(CONFIG.as_bytes(), "round config")
        .map_err(|e| Failure::Input(e.to_string()))?;
    let t = Instant::now();
    let m = assay_prover::keys::setup(
        &keys,
        assay_prover::keys::SetupScope {
            solvency: Some(assay_verifier::groth16::manifest::SolvencyShape {
                num_assets: cfg.assets.len(),
                balance_bits: cfg.balance_bits,
                batch_size: cfg.batch_size,
                fan_in: cfg.fan_in,
            }),
            kyc: false,
        },
        &setup_signer,
        assay_verifier::kyc::time::format_rfc3339(assay_prover::kyc::now_unix()),
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    let manifest_path = keys.join(assay_prover::keys::MANIFEST_FILE);
    println!(
        "auditor (setup): {} Groth16 keys in {:.1} s; manifest {} signed by setup key {}",
        m.keys.len(),
        t.elapsed().as_secs_f64(),
        manifest_path.display(),
        &m.setup_key[..16]
    );
    let pinned = [super::solvency::read_manifest(&manifest_path)?];
    let pinned_opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        ..RoundOptions::default()
    };

    let round_dir = out.join("solvency-round");
    let signer = Keystore::create(&out.join("publication-key.json"), DEMO_PASSPHRASE)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let t = Instant::now();
    let s = solvency::prove(
        &solvency::ProveOptions {
            balances: out.join("inputs/balances.csv"),
            config: out.join("inputs/round.json"),
            out: round_dir.clone(),
            keys: keys.clone(),
            shard: None,
            resume: false,
            progress: false,
            backend: solvency::BackendChoice::Groth16,
            budget: solvency::budget::Budget::default(),
        },
        Some(&signer),
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    println!(
        "exchange (prove): {} customers in {} leaves, {} batch proofs, {} aggregation proofs ({:.1} s, with the auditor's keys)",
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
    let r = verify_round(&bundle, &pinned_opts).map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "auditor (verify against the pinned manifest): valid — {} batch + {} aggregation proofs verify in {:.1} ms; liabilities <= reserves for {}",
        r.batch_proofs,
        r.aggregation_proofs,
        t.elapsed().as_secs_f64() * 1e3,
        r.reserves.iter().map(|(s, v)| format!("{s} ({v})")).collect::<Vec<_>>().join(", ")
    );
    let rec_path = solvency::record_path(&round_dir, "customer-0007")
        .map_err(|e| Failure::Input(e.to_string()))?;
    let rec = InclusionRecord::parse(&fs::read(&rec_path).map_err(io)?, "inclusion record")
        .map_err(|e| Failure::Input(e.to_string()))?;
    let t = Instant::now();
    let customer_opts = RoundOptions {
        publication_key: Some(&bundle.publication_key),
        ..pinned_opts.clone()
    };
    let ir = verify_inclusion_with(&rec, &bundle, &customer_opts)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "customer {:?} (against the pinned manifest and publication key): included with {} — checked {} in {:.1} ms ({})",
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
    let halo2 = halo2_round(&out, &signer, &bundle)?;
    stark_round(&out, &signer, &bundle, &halo2)?;
    kyc(&out)?;
    Ok(())
}

/// The same round on Halo2 (no trusted setup), verified the same way, side by side.
fn halo2_round(
    out: &std::path::Path,
    signer: &ed25519_dalek::SigningKey,
    groth16: &assay_verifier::solvency::RoundBundle,
) -> Result<assay_verifier::solvency::RoundBundle, Failure> {
    use assay_verifier::halo2::ParamsCache;
    println!();
    println!("== The same round on Halo2 (IPA over Pasta: no trusted setup) ==");
    let round_dir = out.join("solvency-round-halo2");
    let params = super::solvency::params_dir(None);
    let t = Instant::now();
    let s = solvency::prove(
        &solvency::ProveOptions {
            balances: out.join("inputs/balances.csv"),
            config: out.join("inputs/round.json"),
            out: round_dir.clone(),
            keys: params.clone(),
            shard: None,
            resume: false,
            progress: false,
            backend: solvency::BackendChoice::Halo2 {
                layout: "compact".into(),
            },
            budget: solvency::budget::Budget::default(),
        },
        Some(signer),
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    println!(
        "proved: {} batch proofs, {} aggregation proofs ({:.1} s; IPA parameters cached in {})",
        s.batches_proven,
        s.aggregations_proven,
        t.elapsed().as_secs_f64(),
        params.display()
    );
    let bundle = super::solvency::read_bundle(&round_dir)?;
    let cache = ParamsCache::new(&params);
    let opts = RoundOptions {
        halo2_params: Some(&cache),
        ..Default::default()
    };
    audit_and_customer(
        &round_dir,
        &bundle,
        &opts,
        "keys re-derived from the circuits",
    )?;
    let size =
        |b: &assay_verifier::solvency::RoundBundle| serde_json::to_vec(b).map_or(0, |v| v.len());
    let proof_bytes = |b: &assay_verifier::solvency::RoundBundle| {
        b.batches.first().map_or(0, |e| e.proof.len() / 2)
    };
    println!(
        "side by side: bundle {} B (Groth16) vs {} B (Halo2); one batch proof {} B vs {} B",
        size(groth16),
        size(&bundle),
        proof_bytes(groth16),
        proof_bytes(&bundle)
    );
    Ok(bundle)
}

/// The auditor's check of the round in `round_dir` and the customer's check of one record,
/// printed with their times; `how` says what the auditor's check trusted.
fn audit_and_customer(
    round_dir: &std::path::Path,
    bundle: &assay_verifier::solvency::RoundBundle,
    opts: &RoundOptions<'_>,
    how: &str,
) -> Result<(), Failure> {
    let t = Instant::now();
    let r = verify_round(bundle, opts).map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "auditor: valid — {} batch + {} aggregation proofs verify in {:.1} ms ({how})",
        r.batch_proofs,
        r.aggregation_proofs,
        t.elapsed().as_secs_f64() * 1e3,
    );
    let rec_path = solvency::record_path(round_dir, "customer-0007")
        .map_err(|e| Failure::Input(e.to_string()))?;
    let rec = InclusionRecord::parse(
        &fs::read(&rec_path).map_err(|e| Failure::Input(e.to_string()))?,
        "inclusion record",
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    let t = Instant::now();
    let ir =
        verify_inclusion_with(&rec, bundle, opts).map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "customer {:?}: included — checked {} in {:.1} ms",
        ir.user_id,
        ir.proofs_checked.len(),
        t.elapsed().as_secs_f64() * 1e3,
    );
    Ok(())
}

/// The same customers on the STARK (Plonky3, KoalaBear and Poseidon2: no trusted setup, hash
/// functions only), verified the same way: its batch AIR holds `2^k - 1` customers, so its
/// config asks for batches of 128 (the other backends' config has 64).
fn stark_round(
    out: &std::path::Path,
    signer: &ed25519_dalek::SigningKey,
    groth16: &assay_verifier::solvency::RoundBundle,
    halo2: &assay_verifier::solvency::RoundBundle,
) -> Result<(), Failure> {
    use assay_verifier::solvency::{ProofDir, RoundConfig};
    println!();
    println!(
        "== The same customers on the STARK (Plonky3, KoalaBear + Poseidon2: no trusted setup) =="
    );
    let io = |e: std::io::Error| Failure::Input(e.to_string());
    let mut cfg = RoundConfig::parse(CONFIG.as_bytes(), "demo config")
        .map_err(|e| Failure::Input(e.to_string()))?;
    cfg.batch_size = 128;
    let config = out.join("inputs/round-stark.json");
    fs::write(
        &config,
        serde_json::to_vec_pretty(&cfg).map_err(|e| Failure::Input(e.to_string()))?,
    )
    .map_err(io)?;
    let round_dir = out.join("solvency-round-stark");
    let t = Instant::now();
    let s = solvency::prove(
        &solvency::ProveOptions {
            balances: out.join("inputs/balances.csv"),
            config,
            out: round_dir.clone(),
            keys: round_dir.join("no-keys"),
            shard: None,
            resume: false,
            progress: false,
            backend: solvency::BackendChoice::Stark,
            budget: solvency::budget::Budget::default(),
        },
        Some(signer),
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    println!(
        "proved: {} batch proofs, {} aggregation proofs ({:.1} s; proofs in {})",
        s.batches_proven,
        s.aggregations_proven,
        t.elapsed().as_secs_f64(),
        round_dir.join("proofs").display()
    );
    let bundle = super::solvency::read_bundle(&round_dir)?;
    let proofs = ProofDir::new(&round_dir);
    let opts = RoundOptions {
        proofs: Some(&proofs),
        ..Default::default()
    };
    audit_and_customer(
        &round_dir,
        &bundle,
        &opts,
        "parameters pinned, nothing from the bundle trusted",
    )?;
    let proof_file = |b: &assay_verifier::solvency::RoundBundle| {
        b.batches.first().map_or(0, |e| {
            fs::metadata(round_dir.join("proofs").join(format!("{}.bin", e.proof)))
                .map_or(0, |m| m.len())
        })
    };
    println!(
        "side by side: one batch proof {} B (Groth16) vs {} B (Halo2) vs {} B (STARK, a file beside round.json)",
        groth16.batches.first().map_or(0, |e| e.proof.len() / 2),
        halo2.batches.first().map_or(0, |e| e.proof.len() / 2),
        proof_file(&bundle)
    );
    Ok(())
}

/// The KYC flow, through the same commands a user would type (printed as they run).
fn kyc(out: &std::path::Path) -> Result<(), Failure> {
    println!();
    println!("== Zero-knowledge KYC (Groth16 on BN254, then Halo2, then the STARK) ==");
    let dir = out.join("kyc");
    fs::create_dir_all(&dir).map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?;
    fs::write(dir.join("policy.json"), POLICY).map_err(|e| Failure::Input(e.to_string()))?;
    let exe = std::env::current_exe().map_err(|e| Failure::Input(e.to_string()))?;
    let run = |args: &[&str]| -> Result<String, Failure> {
        let o = std::process::Command::new(&exe)
            .args(args)
            .current_dir(&dir)
            .env("ASSAY_PASSPHRASE", DEMO_PASSPHRASE)
            .output()
            .map_err(|e| Failure::Input(e.to_string()))?;
        let stdout = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !o.status.success() {
            return Err(Failure::Input(format!(
                "assay {} failed: {}{}",
                args.join(" "),
                stdout,
                String::from_utf8_lossy(&o.stderr).trim()
            )));
        }
        Ok(stdout)
    };
    let step = |what: &str, args: &[&str]| -> Result<String, Failure> {
        println!("{what:<22} $ assay {}", args.join(" "));
        run(args)
    };
    // The KYC circuit's Groth16 keys come from a setup the issuer does not run alone; holders
    // and relying parties pin its signed manifest.
    step(
        "setup (KYC circuit)",
        &[
            "solvency",
            "setup",
            "--kyc",
            "--out",
            "kyc-keys",
            "--signing-key",
            "setup-key.json",
        ],
    )?;
    step(
        "issuer key + registry",
        &[
            "kyc",
            "issuer",
            "init",
            "--dir",
            "issuer",
            "--id",
            "demo-kyc-provider",
            "--keys",
            "kyc-keys",
        ],
    )?;
    step(
        "holder secret",
        &["kyc", "holder", "init", "--out", "holder.json"],
    )?;
    let holder: serde_json::Value = serde_json::from_slice(
        &fs::read(dir.join("holder.json")).map_err(|e| Failure::Input(e.to_string()))?,
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    let hid = holder["commitments"]["groth16-bn254"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let hid_halo2 = holder["commitments"]["halo2-ipa-pasta"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let hid_stark = holder["commitments"]["stark-koalabear-poseidon2"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    step(
        "issue (DE-BY)",
        &[
            "kyc",
            "issue",
            "--issuer",
            "issuer",
            "--holder-commitment",
            &hid,
            "--holder-commitment-halo2",
            &hid_halo2,
            "--holder-commitment-stark",
            &hid_stark,
            "--country",
            "DE",
            "--region",
            "DE-BY",
            "--expires",
            "2099-01-01T00:00:00Z",
            "--out",
            "credential.json",
        ],
    )?;
    step(
        "publish epoch",
        &[
            "kyc",
            "publish",
            "--issuer",
            "issuer",
            "--out",
            "epoch.json",
            "--chain",
            "epochs",
            "--leaves",
            "leaves.json",
        ],
    )?;
    step(
        "holder's path",
        &[
            "kyc",
            "path",
            "--leaves",
            "leaves.json",
            "--serial",
            "0",
            "--out",
            "path.json",
        ],
    )?;
    // One presentation per backend, each to its own relying party (a scope accepts one
    // backend): a fresh nonce, the proof, the relying party's check.
    for (backend, suffix, first_use, scope) in [
        ("groth16", "", "loading the proving key", "demo-bank"),
        ("halo2", "-halo2", "IPA parameters", "demo-exchange"),
        ("stark", "-stark", "nothing: no keys", "demo-market"),
    ] {
        match backend {
            "halo2" => {
                println!();
                println!("-- the same presentation on Halo2 (no trusted setup) --");
            }
            "stark" => {
                println!();
                println!("-- the same presentation on the STARK (no setup, no keys) --");
            }
            _ => {}
        }
        let challenge = format!("challenge{suffix}.json");
        let proof = format!("proof{suffix}.json");
        step(
            "relying party nonce",
            &[
                "kyc",
                "challenge",
                "--scope",
                scope,
                "--backend",
                backend,
                "--out",
                &challenge,
            ],
        )?;
        let t = Instant::now();
        step(
            &format!("prove ({backend})"),
            &[
                "kyc",
                "prove",
                "--backend",
                backend,
                "--holder",
                "holder.json",
                "--credential",
                "credential.json",
                "--path",
                "path.json",
                "--epoch",
                "epoch.json",
                "--policy",
                "policy.json",
                "--challenge",
                &challenge,
                "--issuer-key",
                "issuer/issuer-public.json",
                "--trusted-keys",
                "kyc-keys/manifest.json",
                "--expect-scope",
                scope,
                "--out",
                &proof,
            ],
        )?;
        println!(
            "{:<22}   ({:.1} s, including {first_use} on first use)",
            "",
            t.elapsed().as_secs_f64()
        );
        let v = step(
            &format!("verify ({backend})"),
            &[
                "kyc",
                "verify",
                &proof,
                "--epoch",
                "epoch.json",
                "--epochs",
                "epochs",
                "--policy",
                "policy.json",
                "--challenge",
                &challenge,
                "--issuer-key",
                "issuer/issuer-public.json",
                "--trusted-keys",
                "kyc-keys/manifest.json",
            ],
        )?;
        println!("relying party: {v}");
    }
    // The holder checks whom it is talking to: a wallet connected to demo-exchange refuses a
    // challenge naming demo-bank's scope (which would link the holder's two accounts).
    println!();
    let args = [
        "kyc",
        "prove",
        "--holder",
        "holder.json",
        "--credential",
        "credential.json",
        "--path",
        "path.json",
        "--epoch",
        "epoch.json",
        "--policy",
        "policy.json",
        "--challenge",
        "challenge.json",
        "--issuer-key",
        "issuer/issuer-public.json",
        "--trusted-keys",
        "kyc-keys/manifest.json",
        "--expect-scope",
        "demo-exchange",
        "--out",
        "proof-foreign.json",
    ];
    println!("{:<22} $ assay {}", "foreign scope", args.join(" "));
    match run(&args) {
        Ok(_) => {
            return Err(Failure::Invalid(
                "the holder proved for a challenge naming another scope".into(),
            ))
        }
        Err(Failure::Input(m)) => println!(
            "holder: refused, as it must: {}",
            m.lines().last().unwrap_or("")
        ),
        Err(e) => return Err(e),
    }
    let size = |f: &str| fs::metadata(dir.join(f)).map_or(0, |m| m.len());
    println!(
        "side by side: PROOF.json {} B (Groth16) vs {} B (Halo2) vs {} B (STARK)",
        size("proof.json"),
        size("proof-halo2.json"),
        size("proof-stark.json")
    );
    println!(
        "policy: fixtures/kyc/policy-sanctions-example.json (an example, not legal advice); files in {}",
        dir.display()
    );
    Ok(())
}
