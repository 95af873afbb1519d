//! `assay serve`: the HTTP verification service (crate `assay-server`).

use super::Failure;
use assay_server::ServerConfig;
use clap::Args;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Arguments of `assay serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Serve over TLS 1.3 only with this certificate chain (PEM, leaf first); plain HTTP
    /// without it (behind a TLS-terminating proxy).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The SQLite file of KYC challenges and seen nullifiers.
    #[arg(
        long,
        default_value = "assay-server.sqlite",
        conflicts_with = "in_memory"
    )]
    db: PathBuf,
    /// Keep challenges and nullifiers in memory only (lost on restart).
    #[arg(long)]
    in_memory: bool,
    /// An origin allowed by CORS (`https://exchange.example`); repeat for more. None by default.
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// Sustained requests per second per client on /v1/*.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Burst size per client on /v1/*.
    #[arg(long, default_value_t = 40.0)]
    burst: f64,
    /// Take the client address from X-Forwarded-For (only behind a trusted proxy).
    #[arg(long)]
    trust_forwarded_for: bool,
    /// Verifications running at once (default: the number of cores).
    #[arg(long)]
    max_concurrent: Option<usize>,
    /// Where Halo2 IPA parameters are cached for Halo2 rounds (default: generated in memory
    /// per round; fill a folder once with `assay solvency verify --params-dir` for large k).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// The largest circuit size k a Halo2 round may need (larger rounds are refused before
    /// anything is made; parameters and keys cost time and memory in 2^k).
    #[arg(long, default_value_t = 16)]
    halo2_max_k: u32,
    /// Time limit of one request, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// This relying party's scope (KYC nullifiers are per scope); no default: required with
    /// --kyc-policy.
    #[arg(long)]
    kyc_scope: Option<String>,
    /// The one backend the scope accepts (`groth16`, `halo2` or `stark`): bound in the database on
    /// first start; another one is refused afterwards.
    #[arg(long)]
    kyc_backend: Option<String>,
    /// The issuer's published epoch chain (a folder of EPOCH.json files, `kyc publish
    /// --chain`): only its epochs are accepted.
    #[arg(long)]
    kyc_epochs: Option<PathBuf>,
    /// The KYC policy to enforce (POLICY.json); KYC verification is off without it.
    #[arg(long, requires_all = ["kyc_issuer_key", "kyc_scope", "kyc_epochs"])]
    kyc_policy: Option<PathBuf>,
    /// The issuer's public key (ISSUER_PUBLIC.json).
    #[arg(long, requires = "kyc_policy")]
    kyc_issuer_key: Option<PathBuf>,
    /// Refuse a KYC proof whose nullifier was already seen (one person, one account).
    #[arg(long)]
    unique_nullifiers: bool,
    /// A Groth16 key manifest (KEYS_DIR/manifest.json of `assay solvency setup [--kyc]`) whose
    /// keys alone are accepted for Groth16 rounds and Groth16 KYC presentations (repeatable).
    /// Without one, both are refused.
    #[arg(long)]
    trusted_keys: Vec<PathBuf>,
    /// Accept the Groth16 keys a bundle carries and the KYC issuer's own key. INSECURE:
    /// whoever made them (the exchange, the issuer) can forge every proof. Logged as a warning.
    #[arg(long, conflicts_with = "trusted_keys")]
    insecure_trust_bundle_keys: bool,
    /// A round folder to serve (its round.json and proofs/): its bundle and files are served by
    /// hash (`GET /v1/solvency/rounds/...`), and a STARK round is verified only if served, from
    /// its folder's files (repeatable).
    #[arg(long = "round")]
    rounds: Vec<PathBuf>,
}

impl ServeArgs {
    /// The validated server configuration.
    ///
    /// # Errors
    /// [`Failure::Input`] for a rate, burst or concurrency that is not positive.
    pub fn config(&self) -> Result<ServerConfig, Failure> {
        if !(self.rate > 0.0 && self.burst >= 1.0) {
            return Err(Failure::Input(
                "--rate must be positive and --burst at least 1".into(),
            ));
        }
        let d = ServerConfig::default();
        Ok(ServerConfig {
            request_timeout: Duration::from_secs(self.timeout_secs.max(1)),
            max_concurrent_verifications: match self.max_concurrent {
                Some(0) => {
                    return Err(Failure::Input("--max-concurrent must be at least 1".into()))
                }
                Some(n) => n,
                None => d.max_concurrent_verifications,
            },
            rate_per_second: self.rate,
            rate_burst: self.burst,
            trust_forwarded_for: self.trust_forwarded_for,
            cors_origins: self.cors_origins.clone(),
            database: (!self.in_memory).then(|| self.db.clone()),
            kyc_scope: self.kyc_scope.clone(),
            kyc_backend: self
                .kyc_backend
                .as_deref()
                .map(|b| {
                    assay_verifier::Backend::parse(b).map_err(|e| {
                        Failure::Input(format!("--kyc-backend: {e} (groth16, halo2 or stark)"))
                    })
                })
                .transpose()?,
            kyc_epochs: self.kyc_epochs.clone(),
            unique_nullifiers: self.unique_nullifiers,
            kyc_policy: self.kyc_policy.clone(),
            kyc_issuer_key: self.kyc_issuer_key.clone(),
            trusted_keys: self
                .trusted_keys
                .iter()
                .map(|p| {
                    if p.is_dir() {
                        p.join("manifest.json")
                    } else {
                        p.clone()
                    }
                })
                .collect(),
            insecure_trust_bundle_keys: self.insecure_trust_bundle_keys,
            rounds: self.rounds.clone(),
            params_dir: self.params_dir.clone(),
            halo2_max_k: self.halo2_max_k,
            ..d
        })
    }
}

/// Runs the service until Ctrl-C or SIGTERM (graceful shutdown).
///
/// # Errors
/// [`Failure::Input`] for a bad configuration, an address in use, or an unreadable file.
pub fn run(a: ServeArgs) -> Result<(), Failure> {
    let config = a.config()?;
    if config.insecure_trust_bundle_keys {
        eprintln!(
            "WARNING: --insecure-trust-bundle-keys: Groth16 rounds are checked under the keys \
             their bundles carry and KYC presentations under the issuer's own key; whoever made \
             those keys can forge every proof"
        );
    }
    assay_server::init_logging();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Input(format!("cannot start the runtime: {e}")))?;
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(assay_server::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    rt.block_on(assay_server::serve(a.addr, config, tls))
        .map_err(|e| Failure::Input(e.to_string()))
}
