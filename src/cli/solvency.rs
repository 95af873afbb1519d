//! `assay solvency ...`

use super::{verdict, Failure};
use assay_prover::keys::{SetupScope, MANIFEST_FILE};
use assay_prover::{
    keystore::{passphrase_from_env_or_prompt, Keystore},
    solvency::{self, ProveOptions},
};
use assay_verifier::groth16::manifest::SolvencyShape;
use assay_verifier::groth16::{KeyManifest, TrustedKeys, TrustedManifest};
use assay_verifier::halo2::ParamsCache;
use assay_verifier::solvency::{
    verify_inclusion_with, verify_round, InclusionRecord, ProofDir, RoundBundle, RoundConfig,
    RoundOptions,
};
use assay_verifier::Backend;
use clap::{Args, Subcommand, ValueEnum};
use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
};

#[derive(Debug, Subcommand)]
pub enum SolvencyCommand {
    /// The setup party's step (an auditor or a ceremony coordinator): make the Groth16 keys of
    /// every circuit a round of this configuration can need, and KEYS_DIR/manifest.json, signed.
    Setup(SetupArgs),
    /// Prove a round: DIR/round.json (public), DIR/inclusion/ (one record per customer),
    /// DIR/private/ (salts, sums, work: never publish).
    Prove(ProveArgs),
    /// Combine shard folders and prove the aggregation levels.
    Merge(MergeArgs),
    /// Write what an operator submits to prove a round's shards on a cluster: a Slurm job
    /// array and a dependent merge job, or a Kubernetes Indexed Job and a merge Job.
    Plan(PlanArgs),
    /// The auditor's check of a whole round.
    Verify(VerifyArgs),
    /// A customer's check of their inclusion record against the round.
    InclusionVerify(InclusionArgs),
    /// The exchange's lookup: print the path of a customer's inclusion record. Records are
    /// named by a keyed hash of the user id, so this needs the round's private folder.
    RecordPath(RecordPathArgs),
}

/// The column layout of the Halo2 circuits (see docs/halo2.md).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Layout {
    /// Few columns, small tables: tests and small batches.
    Compact,
    /// About a thousand leaves with few assets.
    Balanced,
    /// Large batches: more columns, lower k.
    Throughput,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Compact => "compact",
            Layout::Balanced => "balanced",
            Layout::Throughput => "throughput",
        }
    }
}

/// Where Halo2 IPA parameters are cached: `--params-dir`, else
/// [`ParamsCache::default_dir`] (`$ASSAY_PARAMS_DIR`, else `$XDG_CACHE_HOME/assay/halo2-params`,
/// else `~/.cache/assay/halo2-params`).
pub fn params_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(ParamsCache::default_dir)
}

/// `--backend`: a backend's command-line or format name.
fn parse_backend(s: &str) -> Result<Backend, String> {
    Backend::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The balances CSV: `user_id,<ASSET>,...`, amounts in display units.
    #[arg(long)]
    balances: PathBuf,
    /// The round configuration (JSON, version 1).
    #[arg(long)]
    config: PathBuf,
    /// The output folder.
    #[arg(long)]
    out: PathBuf,
    /// The proof system: `groth16` (BN254) or `halo2` (IPA over Pasta, no setup).
    #[arg(long, value_parser = parse_backend, default_value = "groth16")]
    backend: Backend,
    /// The column layout of the Halo2 circuits (with --backend halo2).
    #[arg(long, value_enum, default_value = "balanced")]
    layout: Layout,
    /// The keys folder (default: OUT/keys). Shards of one round must share it. Groth16 keys
    /// live there; Halo2 needs none.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Where Halo2 IPA parameters are cached (public and deterministic; see `params_dir`).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Prove only shard I of N (0-based) of the batch proofs.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Continue the work checkpointed in OUT.
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    budget: BudgetArgs,
    /// The exchange's publication key (encrypted keystore; created if missing; default
    /// OUT/private/publication-key.json). Passphrase from ASSAY_PASSPHRASE or a prompt.
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The round configuration (JSON, version 1): its assets, balance_bits, batch_size and
    /// fan_in fix the circuits. May be left out with --kyc (the KYC circuit's keys alone).
    #[arg(long, required_unless_present = "kyc")]
    config: Option<PathBuf>,
    /// The new keys folder (proving keys for the prover, manifest.json for verifiers).
    #[arg(long)]
    out: PathBuf,
    /// The proof system: only `groth16` needs a setup.
    #[arg(long, value_parser = parse_backend, default_value = "groth16")]
    backend: Backend,
    /// Also make the KYC presentation circuit's keys (same manifest).
    #[arg(long)]
    kyc: bool,
    /// The setup party's Ed25519 key that signs the manifest (encrypted keystore; created if
    /// missing; default: OUT.setup-key.json beside the keys folder, never inside it).
    /// Passphrase from ASSAY_PASSPHRASE or a prompt.
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// Print the manifest as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// How a verifier treats Groth16 keys: `--trusted-keys` and `--insecure-trust-bundle-keys`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// A key manifest (KEYS_DIR/manifest.json from `assay solvency setup`, or its folder) whose
    /// keys alone are accepted for Groth16 rounds (repeatable). Halo2 rounds need none.
    #[arg(long)]
    trusted_keys: Vec<PathBuf>,
    /// Accept the Groth16 keys the bundle itself carries. INSECURE: whoever made those keys
    /// (the exchange) can forge every proof. Prints a warning.
    #[arg(long, conflicts_with = "trusted_keys")]
    insecure_trust_bundle_keys: bool,
}

impl TrustArgs {
    /// The pinned manifests, read and checked (a bad manifest is bad input, exit 2).
    pub fn manifests(&self) -> Result<Vec<TrustedManifest>, Failure> {
        self.trusted_keys.iter().map(|p| read_manifest(p)).collect()
    }

    /// The trust rule over `manifests`; warns on stderr for a Groth16 bundle trusted on its
    /// own keys.
    pub fn rule<'a>(
        &self,
        manifests: &'a [TrustedManifest],
        bundle: &RoundBundle,
    ) -> TrustedKeys<'a> {
        if self.insecure_trust_bundle_keys {
            if bundle.backend == Backend::Groth16.name() {
                eprintln!(
                    "WARNING: --insecure-trust-bundle-keys: accepting the Groth16 keys the bundle \
                     carries; whoever made them can forge every proof of this round. Pin the \
                     setup's manifest with --trusted-keys instead."
                );
            }
            TrustedKeys::InsecureBundleKeys
        } else {
            TrustedKeys::Manifests(manifests)
        }
    }
}

/// Reads a key manifest (a file, or a keys folder's manifest.json) and checks its signature.
pub fn read_manifest(p: &Path) -> Result<TrustedManifest, Failure> {
    let f = if p.is_dir() {
        p.join("manifest.json")
    } else {
        p.to_path_buf()
    };
    let bytes = std::fs::read(&f).map_err(|e| Failure::Input(format!("{}: {e}", f.display())))?;
    KeyManifest::open(&bytes, "key manifest")
        .map_err(|e| Failure::Input(format!("{}: {e}", f.display())))
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The output folder (may be one of the shard folders).
    #[arg(long)]
    out: PathBuf,
    /// The keys folder (default: OUT/keys).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Where Halo2 IPA parameters are cached.
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// The publication key (see `prove`).
    #[arg(long)]
    signing_key: Option<PathBuf>,
    #[command(flatten)]
    budget: BudgetArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The shard folders.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
}

/// `--scheduler` of `plan`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchedulerArg {
    /// A job array (`sbatch --array`) and a merge job with `--dependency=afterok`.
    Slurm,
    /// An Indexed Job (`completionMode: Indexed`) and a merge Job.
    Kubernetes,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The scheduler.
    #[arg(long, value_enum)]
    scheduler: SchedulerArg,
    /// N: the shards (array tasks, Job completions), at most the round's batch proofs.
    #[arg(long)]
    shards: usize,
    /// The balances CSV (copied into OUT/inputs/).
    #[arg(long)]
    balances: PathBuf,
    /// The round configuration (copied into OUT/inputs/).
    #[arg(long)]
    config: PathBuf,
    /// The plan's folder, on storage every node mounts at the same path.
    #[arg(long)]
    out: PathBuf,
    /// The proof system.
    #[arg(long, value_parser = parse_backend, default_value = "groth16")]
    backend: Backend,
    /// The column layout of the Halo2 circuits (with --backend halo2).
    #[arg(long, value_enum, default_value = "balanced")]
    layout: Layout,
    /// The Groth16 keys folder on the shared storage (required for Groth16: made once
    /// beforehand, so that every shard proves under the same keys).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The Halo2 parameters cache on the shared storage (default OUT/params).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// The publication key the merge signs with (default OUT/round/private/publication-key.json).
    #[arg(long)]
    signing_key: Option<PathBuf>,
    #[command(flatten)]
    budget: BudgetArgs,
    /// Cores each task asks for.
    #[arg(long)]
    cpus: Option<usize>,
    /// The assay command on the nodes or in the image (default: this executable's path for
    /// Slurm, `assay` for Kubernetes).
    #[arg(long)]
    assay: Option<String>,
    /// The container image (Kubernetes).
    #[arg(long, default_value = "assay:latest")]
    image: String,
    /// The PersistentVolumeClaim holding OUT (Kubernetes), mounted at OUT's path.
    #[arg(long, default_value = "assay-rounds")]
    claim: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A round folder or its round.json.
    round: PathBuf,
    /// The previous round's bundle: also check the chain link.
    #[arg(long)]
    previous: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// The exchange's Ed25519 publication key (hex) the round must be signed by.
    #[arg(long)]
    publication_key: Option<String>,
    /// The bundle's expected hash (hex).
    #[arg(long)]
    bundle_hash: Option<String>,
    /// Where Halo2 IPA parameters are cached (generated there when missing).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// The largest circuit size k a Halo2 round may need (default 20): a larger one is refused
    /// before parameters or keys are made.
    #[arg(long)]
    halo2_max_k: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct InclusionArgs {
    /// The customer's inclusion record.
    record: PathBuf,
    /// The round folder or its round.json.
    #[arg(long)]
    round: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
    /// The customer's pin of the exchange's Ed25519 publication key (hex): a round or record
    /// signed by another key is invalid.
    #[arg(long)]
    publication_key: Option<String>,
    /// The hash of the bundle an auditor verified (hex): another bundle is invalid.
    #[arg(long)]
    bundle_hash: Option<String>,
    /// Where Halo2 IPA parameters are cached (generated there when missing).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// The largest circuit size k a Halo2 round may need (default 20): a larger one is refused
    /// before parameters or keys are made.
    #[arg(long)]
    halo2_max_k: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RecordPathArgs {
    /// The round folder written by `prove` or `merge` (with its private/ folder).
    #[arg(long)]
    round: PathBuf,
    /// The customer's user id, as in the balances file.
    user_id: String,
}

/// `--memory` and `--jobs` of `prove` and `merge`.
#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// The memory budget, e.g. 8GiB (default: 90% of the machine's available memory). A
    /// budget below one proof of the round's shape is refused before any work.
    #[arg(long, value_parser = solvency::budget::parse_size)]
    memory: Option<u64>,
    /// Proofs in flight at once (default: as many as the budget holds, at most one per core);
    /// each proof uses cores / jobs threads.
    #[arg(long)]
    jobs: Option<usize>,
}

impl BudgetArgs {
    fn budget(&self) -> solvency::budget::Budget {
        solvency::budget::Budget {
            memory: self.memory,
            jobs: self.jobs,
        }
    }
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
    let i: usize = i.parse().map_err(|_| format!("{i:?} is not a number"))?;
    let n: usize = n.parse().map_err(|_| format!("{n:?} is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// Opens (or creates) the publication key.
pub fn signing_key(path: &Path) -> Result<ed25519_dalek::SigningKey, Failure> {
    keystore_key(path, "the publication key")
}

/// Opens (or creates) an encrypted Ed25519 key; `what` names it in the passphrase prompt.
pub fn keystore_key(path: &Path, what: &str) -> Result<ed25519_dalek::SigningKey, Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?;
    }
    if path.exists() {
        let pass = passphrase_from_env_or_prompt(&format!("Passphrase of {what}: "), false)?;
        Ok(Keystore::open(path, &pass)
            .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?)
    } else {
        let pass = passphrase_from_env_or_prompt(&format!("New passphrase for {what}: "), true)?;
        Ok(Keystore::create(path, &pass)
            .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?)
    }
}

fn round_file(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("round.json")
    } else {
        p.to_path_buf()
    }
}

/// Reads and parses a bundle; unreadable or malformed is bad input (exit 2).
pub fn read_bundle(p: &Path) -> Result<RoundBundle, Failure> {
    let f = round_file(p);
    let bytes = std::fs::read(&f).map_err(|e| Failure::Input(format!("{}: {e}", f.display())))?;
    RoundBundle::parse(&bytes, "round bundle")
        .map_err(|e| Failure::Input(format!("{}: {e}", f.display())))
}

pub fn run(cmd: SolvencyCommand) -> Result<(), Failure> {
    match cmd {
        SolvencyCommand::Setup(a) => setup(a),
        SolvencyCommand::Prove(a) => {
            let key_path = a
                .signing_key
                .clone()
                .unwrap_or_else(|| a.out.join("private").join("publication-key.json"));
            // Groth16 keys live in the keys folder; Halo2 needs only the public parameters.
            let (backend, keys) = match a.backend {
                Backend::Groth16 => (
                    solvency::BackendChoice::Groth16,
                    a.keys.unwrap_or_else(|| a.out.join("keys")),
                ),
                Backend::Halo2 => (
                    solvency::BackendChoice::Halo2 {
                        layout: a.layout.name().into(),
                    },
                    params_dir(a.params_dir),
                ),
                // No keys and no parameters to cache: the folder is never read.
                Backend::Stark => (
                    solvency::BackendChoice::Stark,
                    a.keys.unwrap_or_else(|| a.out.join("keys")),
                ),
                other => {
                    return Err(Failure::Input(format!(
                        "--backend: {other} does not prove rounds in this build"
                    )))
                }
            };
            let opts = ProveOptions {
                balances: a.balances,
                config: a.config,
                keys,
                backend,
                out: a.out,
                shard: a.shard,
                resume: a.resume,
                progress: std::io::stderr().is_terminal() && !a.json,
                budget: a.budget.budget(),
            };
            // A budget below one proof is refused before the key is opened or created.
            solvency::budget::check(&opts).map_err(|e| Failure::Input(e.to_string()))?;
            // A shard signs nothing: only a whole round or a merge needs the key.
            let signer = if opts.shard.is_none() {
                Some(signing_key(&key_path)?)
            } else {
                None
            };
            let s = solvency::prove(&opts, signer.as_ref())
                .map_err(|e| Failure::Input(e.to_string()))?;
            report(&s, a.json);
            Ok(())
        }
        SolvencyCommand::Merge(a) => {
            let key_path = a
                .signing_key
                .clone()
                .unwrap_or_else(|| a.out.join("private").join("publication-key.json"));
            let signer = signing_key(&key_path)?;
            let keys = a.keys.unwrap_or_else(|| a.out.join("keys"));
            let params = params_dir(a.params_dir);
            let s = solvency::merge(
                &a.out,
                &a.shards,
                &keys,
                &params,
                &signer,
                &a.budget.budget(),
                std::io::stderr().is_terminal() && !a.json,
            )
            .map_err(|e| Failure::Input(e.to_string()))?;
            report(&s, a.json);
            Ok(())
        }
        SolvencyCommand::Plan(a) => {
            let backend = match a.backend {
                Backend::Groth16 => solvency::BackendChoice::Groth16,
                Backend::Halo2 => solvency::BackendChoice::Halo2 {
                    layout: a.layout.name().into(),
                },
                // No keys and no parameters: no keys step before the shards.
                Backend::Stark => solvency::BackendChoice::Stark,
                other => {
                    return Err(Failure::Input(format!(
                        "--backend: {other} does not prove rounds in this build"
                    )))
                }
            };
            let scheduler = match a.scheduler {
                SchedulerArg::Slurm => solvency::plan::Scheduler::Slurm,
                SchedulerArg::Kubernetes => solvency::plan::Scheduler::Kubernetes,
            };
            let assay = a.assay.unwrap_or_else(|| match scheduler {
                solvency::plan::Scheduler::Slurm => std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "assay".into()),
                solvency::plan::Scheduler::Kubernetes => "assay".into(),
            });
            let p = solvency::plan::plan(&solvency::plan::PlanOptions {
                scheduler,
                shards: a.shards,
                balances: a.balances,
                config: a.config,
                out: a.out,
                backend,
                keys: a.keys,
                params_dir: a.params_dir,
                signing_key: a.signing_key,
                budget: a.budget.budget(),
                cpus: a.cpus,
                assay,
                image: a.image,
                claim: a.claim,
            })
            .map_err(|e| Failure::Input(e.to_string()))?;
            if a.json {
                println!("{}", serde_json::to_string(&p).unwrap_or_default());
            } else {
                println!(
                    "plan of {} shards over {} batch proofs in {}; submit with {}",
                    p.shards,
                    p.batches,
                    p.out.display(),
                    p.submit.display()
                );
            }
            Ok(())
        }
        SolvencyCommand::Verify(a) => {
            let bundle = read_bundle(&a.round)?;
            let proofs = ProofDir::beside(&round_file(&a.round));
            let prev = a.previous.as_deref().map(read_bundle).transpose()?;
            let manifests = a.trust.manifests()?;
            let cache = ParamsCache::new(params_dir(a.params_dir));
            let opts = RoundOptions {
                previous: prev.as_ref(),
                trusted_keys: a.trust.rule(&manifests, &bundle),
                publication_key: a.publication_key.as_deref(),
                bundle_hash: a.bundle_hash.as_deref(),
                halo2_params: Some(&cache),
                halo2_max_k: a.halo2_max_k,
                proofs: Some(&proofs),
            };
            let r = verify_round(&bundle, &opts);
            let text = r.as_ref().map(|r| {
                format!(
                    "round {:?} ({}): {} batch proofs and {} aggregation proofs verify; liabilities of {} leaves are within reserves {}{}",
                    r.round_id,
                    r.backend,
                    r.batch_proofs,
                    r.aggregation_proofs,
                    r.leaf_count,
                    r.reserves.iter().map(|(s, v)| format!("{v} {s}")).collect::<Vec<_>>().join(", "),
                    if r.previous_checked { "; follows the given previous round" } else { "" }
                )
            });
            let details = r
                .as_ref()
                .map(|r| serde_json::to_value(r).unwrap_or_default())
                .map_err(|e| e.to_string());
            verdict(a.json, details, text.as_deref().unwrap_or(""))
        }
        SolvencyCommand::InclusionVerify(a) => {
            let bundle = read_bundle(&a.round)?;
            let proofs = ProofDir::beside(&round_file(&a.round));
            let bytes = std::fs::read(&a.record)
                .map_err(|e| Failure::Input(format!("{}: {e}", a.record.display())))?;
            let rec = InclusionRecord::parse(&bytes, "inclusion record")
                .map_err(|e| Failure::Input(format!("{}: {e}", a.record.display())))?;
            let manifests = a.trust.manifests()?;
            let cache = ParamsCache::new(params_dir(a.params_dir));
            let opts = RoundOptions {
                trusted_keys: a.trust.rule(&manifests, &bundle),
                publication_key: a.publication_key.as_deref(),
                bundle_hash: a.bundle_hash.as_deref(),
                halo2_params: Some(&cache),
                halo2_max_k: a.halo2_max_k,
                proofs: Some(&proofs),
                ..Default::default()
            };
            let r = verify_inclusion_with(&rec, &bundle, &opts);
            let text = r.as_ref().map(|r| {
                format!(
                    "{:?} is in round {:?} with {}; checked {}",
                    r.user_id,
                    r.round_id,
                    r.balances
                        .iter()
                        .map(|b| format!("{} {}", b.amount, b.symbol))
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.proofs_checked.join(", ")
                )
            });
            let details = r
                .as_ref()
                .map(|r| serde_json::to_value(r).unwrap_or_default())
                .map_err(|e| e.to_string());
            verdict(a.json, details, text.as_deref().unwrap_or(""))
        }
        SolvencyCommand::RecordPath(a) => {
            let p = solvency::record_path(&a.round, &a.user_id)
                .map_err(|e| Failure::Input(e.to_string()))?;
            if !p.exists() {
                return Err(Failure::Input(format!(
                    "no inclusion record for {:?} in {} (not in this round, or the round is not written yet)",
                    a.user_id,
                    a.round.display()
                )));
            }
            println!("{}", p.display());
            Ok(())
        }
    }
}

/// `assay solvency setup`: reads the config, opens the setup party's key, makes the keys.
fn setup(a: SetupArgs) -> Result<(), Failure> {
    if a.backend == Backend::Stark {
        return Err(Failure::Input(
            "--backend: stark has no keys and needs no setup (its AIRs and FRI parameters are \
             pinned in the verifier)"
                .into(),
        ));
    }
    if a.backend != Backend::Groth16 {
        return Err(Failure::Input(format!(
            "--backend: {} needs no setup (its keys follow from the circuits)",
            a.backend
        )));
    }
    let shape = match &a.config {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
            let cfg = RoundConfig::parse(&bytes, "round config")
                .and_then(|c| c.check().map(|_| c))
                .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
            Some(SolvencyShape {
                num_assets: cfg.assets.len(),
                balance_bits: cfg.balance_bits,
                batch_size: cfg.batch_size,
                fan_in: cfg.fan_in,
            })
        }
    };
    if a.out.join(MANIFEST_FILE).exists() {
        return Err(Failure::Input(format!(
            "{}: already holds a setup; choose a new --out",
            a.out.display()
        )));
    }
    let key_path = a.signing_key.clone().unwrap_or_else(|| {
        let mut name = a.out.file_name().unwrap_or_default().to_os_string();
        name.push(".setup-key.json");
        a.out.with_file_name(name)
    });
    let signer = keystore_key(&key_path, "the setup party's key")?;
    let created = assay_verifier::kyc::time::format_rfc3339(assay_prover::kyc::now_unix());
    let m = assay_prover::keys::setup(
        &a.out,
        SetupScope {
            solvency: shape,
            kyc: a.kyc,
        },
        &signer,
        created,
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    if a.json {
        println!("{}", serde_json::to_string(&m).unwrap_or_default());
    } else {
        for (name, hash) in &m.keys {
            println!("{name}: {hash}");
        }
        println!(
            "wrote {} keys and {} (signed by setup key {}); give the folder to the prover and the manifest to verifiers",
            m.keys.len(),
            a.out.join(MANIFEST_FILE).display(),
            m.setup_key
        );
    }
    Ok(())
}

fn report(s: &solvency::Summary, json: bool) {
    if json {
        println!("{}", serde_json::to_string(s).unwrap_or_default());
        return;
    }
    println!(
        "{} customers in {} leaves; batch proofs: {} made, {} already done; aggregation proofs: {}",
        s.customers, s.leaf_count, s.batches_proven, s.batches_skipped, s.aggregations_proven
    );
    println!("{}", s.budget);
    match &s.bundle {
        Some(b) => println!("wrote {} and {} inclusion records", b.display(), s.records),
        None => println!("shard done: run `assay solvency merge` when every shard is proven"),
    }
}
