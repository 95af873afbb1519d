//! The service's settings, with safe defaults.

use std::{path::PathBuf, time::Duration};

/// Settings of the HTTP service. `Default` gives the production defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest body of `POST /v1/solvency/verify` (a whole round bundle), in bytes.
    pub max_round_body: usize,
    /// Largest body of `POST /v1/solvency/inclusion` (a record and its round), in bytes.
    pub max_inclusion_body: usize,
    /// Largest body of `POST /v1/kyc/verify` (a presentation: about 250 kB of JSON on the
    /// STARK, a few kB on Groth16 and Halo2), in bytes.
    pub max_kyc_body: usize,
    /// Largest body of `POST /v1/kyc/challenge` (an optional small JSON object), in bytes.
    pub max_challenge_body: usize,
    /// Time limit of one request, end to end (408 past it).
    pub request_timeout: Duration,
    /// Verifications running at once (on blocking threads).
    pub max_concurrent_verifications: usize,
    /// How long a request may wait for a verification slot (503 past it).
    pub queue_wait: Duration,
    /// Sustained requests per second per client on `/v1/*`.
    pub rate_per_second: f64,
    /// Burst size per client on `/v1/*`.
    pub rate_burst: f64,
    /// Take the client from the first `X-Forwarded-For` address (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Origins allowed by CORS (exact `scheme://host[:port]`); empty allows none.
    pub cors_origins: Vec<String>,
    /// SQLite file of challenges and nullifiers; `None` keeps them in memory.
    pub database: Option<PathBuf>,
    /// This relying party's scope (the KYC nullifier's domain). There is no default: a server
    /// configured for KYC refuses to start without one.
    pub kyc_scope: Option<String>,
    /// The one backend the scope accepts (bound in the database on first start; afterwards it
    /// may be omitted, and another one is refused at start).
    pub kyc_backend: Option<assay_verifier::Backend>,
    /// The issuer's published epoch chain (a folder of EPOCH.json files): only its epochs are
    /// accepted; it is re-read when a presentation names an epoch it does not hold yet.
    pub kyc_epochs: Option<PathBuf>,
    /// Lifetime of a KYC challenge.
    pub challenge_ttl: Duration,
    /// Refuse a KYC proof whose nullifier was already seen (one person, one account).
    pub unique_nullifiers: bool,
    /// The KYC policy file this relying party enforces (`POLICY.json`).
    pub kyc_policy: Option<PathBuf>,
    /// The issuer's public key file (`ISSUER_PUBLIC.json`).
    pub kyc_issuer_key: Option<PathBuf>,
    /// Pinned Groth16 key manifests (`KEYS_DIR/manifest.json` of `assay solvency setup`): a
    /// Groth16 round (or KYC presentation) is valid only under keys one of them names for each
    /// proof's circuit. None pinned refuses every Groth16 round and presentation (unless
    /// `insecure_trust_bundle_keys`).
    pub trusted_keys: Vec<PathBuf>,
    /// Accept the Groth16 keys a bundle carries and the KYC issuer's own key. INSECURE:
    /// whoever made them can forge proofs; logged as a warning at start.
    pub insecure_trust_bundle_keys: bool,
    /// Where Halo2 IPA parameters are cached (`None`: generated in memory for each round
    /// prepared). Parameters for large `k` take minutes to generate: an operator fills the
    /// folder once (`assay solvency verify --params-dir` of a round does).
    pub params_dir: Option<PathBuf>,
    /// The largest circuit size `k` a Halo2 round may need here: a bundle needing more is
    /// refused before any parameter or key is made.
    pub halo2_max_k: u32,
    /// Round folders this server serves (each the folder of a `round.json`, with a STARK
    /// round's proof files in its `proofs/`): read at start; a STARK round is verified only if
    /// it is one of them (its proofs are files, read through a `ProofDir` on its folder), and
    /// their bundles and proof files are served by hash (`GET /v1/solvency/rounds/...`).
    pub rounds: Vec<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_round_body: 16 * 1024 * 1024,
            max_inclusion_body: 256 * 1024,
            max_kyc_body: 512 * 1024,
            max_challenge_body: 4 * 1024,
            request_timeout: Duration::from_secs(30),
            max_concurrent_verifications: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            queue_wait: Duration::from_secs(10),
            rate_per_second: 20.0,
            rate_burst: 40.0,
            trust_forwarded_for: false,
            cors_origins: Vec::new(),
            database: None,
            kyc_scope: None,
            kyc_backend: None,
            kyc_epochs: None,
            challenge_ttl: Duration::from_secs(300),
            unique_nullifiers: false,
            kyc_policy: None,
            kyc_issuer_key: None,
            trusted_keys: Vec::new(),
            insecure_trust_bundle_keys: false,
            params_dir: None,
            halo2_max_k: 16,
            rounds: Vec::new(),
        }
    }
}
