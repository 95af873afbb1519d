//! What verifies: the [`Backend`] trait and [`AssayBackend`], Assay's verifiers behind it.
//!
//! Handlers hand the raw body to the backend on a blocking thread; the backend parses it
//! (unknown fields refused) and verifies. Parsing errors become 400/422, verification results
//! a [`Verdict`].

use crate::{config::ServerConfig, error::AppError, error::StartError, store::Store};
use assay_verifier::{
    groth16::{TrustedKeys, TrustedManifest},
    kyc::{
        self,
        formats::{
            Challenge, Epoch, IssuerPublic, KycProof, Policy, PublishedEpochs, CHALLENGE_FORMAT_V2,
            KYC_FORMAT_VERSION,
        },
    },
    solvency::{self, InclusionRecord, InclusionReport, RoundBundle},
    Backend as ProofSystem,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The body of `POST /v1/solvency/inclusion`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionBody {
    record: InclusionRecord,
    round: RoundBundle,
}

/// Parses a JSON body; syntax errors are 400, shape errors (unknown fields too) 422.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::from_json(&e))
}

/// What a valid inclusion check established, in words.
pub fn inclusion_checks(r: &InclusionReport) -> Vec<String> {
    let mut v = vec![
        "the round bundle's and the record's signatures under the exchange's publication key"
            .to_string(),
        format!(
            "the leaf of {:?} with {} reaches the global root {} of round {:?}",
            r.user_id,
            r.balances
                .iter()
                .map(|b| format!("{} {}", b.amount, b.symbol))
                .collect::<Vec<_>>()
                .join(", "),
            r.global_root,
            r.round_id
        ),
    ];
    v.extend(
        r.proofs_checked
            .iter()
            .map(|p| format!("{p} verifies ({})", r.backend)),
    );
    v
}

/// The answer of one verification: valid, or invalid with the exact reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether every check passed.
    pub valid: bool,
    /// Why not, when invalid: which proof, which check, which input.
    pub reason: Option<String>,
    /// What was checked, in words (one line per check that ran).
    pub checks: Vec<String>,
}

impl Verdict {
    /// A valid verdict after `checks`.
    pub fn valid(checks: Vec<String>) -> Self {
        Self {
            valid: true,
            reason: None,
            checks,
        }
    }

    /// An invalid verdict.
    pub fn invalid(reason: impl Into<String>, checks: Vec<String>) -> Self {
        Self {
            valid: false,
            reason: Some(reason.into()),
            checks,
        }
    }
}

/// A KYC verdict and, when the proof itself is valid, what the server must still check
/// against its database: the challenge it names and the nullifier it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycVerdict {
    /// The cryptographic and policy checks.
    pub verdict: Verdict,
    /// The challenge (nonce) the proof is bound to, as issued by [`Backend::new_challenge`].
    pub challenge: Option<String>,
    /// The proof's nullifier for this scope.
    pub nullifier: Option<String>,
    /// The backend of the proof: the store records its nullifier only if the scope accepts
    /// that backend (one backend per scope, so one nullifier per person).
    pub backend: Option<ProofSystem>,
}

/// A freshly made challenge: its key in the database and the document sent to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChallenge {
    /// The nonce, as [`KycVerdict::challenge`] will name it.
    pub nonce: String,
    /// The JSON document the holder passes to `assay kyc prove --challenge`.
    pub document: serde_json::Value,
}

/// The verifiers the service calls. Every method runs on a blocking thread.
pub trait Backend: Send + Sync + 'static {
    /// Verifies a whole round bundle (JSON).
    ///
    /// # Errors
    /// The body cannot be read as a round bundle.
    fn verify_round(&self, body: &[u8]) -> Result<Verdict, AppError>;

    /// Verifies `{"record": InclusionRecord, "round": RoundBundle}` (JSON).
    ///
    /// # Errors
    /// The body cannot be read as such a request.
    fn verify_inclusion(&self, body: &[u8]) -> Result<Verdict, AppError>;

    /// Verifies a KYC proof request (JSON) at time `now` (UNIX seconds) against the challenge
    /// this server issued (looked up in `store`), all but the challenge's single use and the
    /// nullifier's novelty, which the server records after.
    ///
    /// # Errors
    /// The body cannot be read, or KYC is not configured.
    fn verify_kyc(
        &self,
        body: &[u8],
        store: &Store,
        scope: &str,
        now: u64,
    ) -> Result<KycVerdict, AppError>;

    /// The rounds this server serves by hash (its configured round folders); none by default.
    fn served_rounds(&self) -> Vec<ServedRoundInfo> {
        Vec::new()
    }

    /// The bytes of the served round `bundle_hash`'s `round.json` as read at start, or `None`
    /// if this server does not serve that round.
    fn served_bundle(&self, bundle_hash: &str) -> Option<std::sync::Arc<Vec<u8>>> {
        let _ = bundle_hash;
        None
    }

    /// The bytes of the file named `hash` (a SHA-256 in hex) of the served round
    /// `bundle_hash`, read from `proofs/<hash>.bin` in its folder and checked to hash to
    /// `hash`; `None` if the round is not served or its bundle does not list that file. Runs
    /// on a blocking thread.
    ///
    /// # Errors
    /// [`AppError::Internal`] if the listed file cannot be read or no longer hashes to its name.
    fn proof_file(&self, bundle_hash: &str, hash: &str) -> Result<Option<Vec<u8>>, AppError> {
        let _ = (bundle_hash, hash);
        Ok(None)
    }

    /// Makes a new single-use challenge for `scope`, naming the one `backend` the scope
    /// accepts, valid until `expires_at`.
    ///
    /// # Errors
    /// No randomness, or KYC is not configured.
    fn new_challenge(
        &self,
        scope: &str,
        backend: ProofSystem,
        now: u64,
        expires_at: u64,
    ) -> Result<NewChallenge, AppError>;
}

/// The body of `POST /v1/kyc/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KycBody {
    proof: KycProof,
    epoch: Epoch,
}

/// What this relying party enforces: its policy, the issuer it trusts and the issuer's
/// published epoch chain.
#[derive(Debug, Clone)]
pub struct KycSettings {
    /// The restricted list and the maximum epoch age.
    pub policy: Policy,
    /// The issuer's public key and verifying key.
    pub issuer: IssuerPublic,
    /// The issuer's published epoch chain, checked: only its epochs are accepted.
    pub published: PublishedEpochs,
    /// The folder the chain is re-read from when a presentation names an epoch the chain
    /// does not hold yet (the issuer published since); `None`: never re-read.
    pub epochs_dir: Option<std::path::PathBuf>,
}

/// Assay's own verifiers (`assay_verifier`).
#[derive(Debug, Default)]
pub struct AssayBackend {
    kyc: Option<KycSettings>,
    /// The latest published chain read (starts as the settings' chain).
    chain: std::sync::RwLock<Option<PublishedEpochs>>,
    /// The pinned Groth16 key manifests (none: Groth16 rounds are refused).
    manifests: Vec<TrustedManifest>,
    /// Trust the keys a bundle carries (insecure, explicit).
    insecure_bundle_keys: bool,
    /// Rounds prepared for customer checks, by bundle hash.
    rounds: PreparedRounds,
    /// Where Halo2 parameters come from (`None`: generated in memory).
    params: Option<assay_verifier::halo2::ParamsCache>,
    /// The largest `k` of a Halo2 round (`None`: the verifier's default).
    halo2_max_k: Option<u32>,
    /// The round folders served, by bundle hash.
    served: std::collections::BTreeMap<String, ServedRound>,
}

/// A round folder this server serves ([`ServerConfig::rounds`]): its bundle as read at start
/// and the files the bundle lists (a STARK round's proofs, `proofs/<sha256>.bin`).
#[derive(Debug, Clone)]
pub struct ServedRound {
    /// The folder of `round.json`.
    pub dir: std::path::PathBuf,
    /// The bundle's hash ([`RoundBundle::hash`]).
    pub hash: String,
    /// The bundle.
    pub bundle: std::sync::Arc<RoundBundle>,
    /// `round.json`'s bytes as read.
    pub text: std::sync::Arc<Vec<u8>>,
    /// The SHA-256 names of the files the bundle keeps beside it (a STARK round's proofs and
    /// leaves files; none for Groth16 and Halo2 rounds, whose proofs are in the bundle).
    pub files: std::collections::BTreeSet<String>,
}

/// What `GET /v1/solvency/rounds` says of a served round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServedRoundInfo {
    /// The bundle's hash: the round's address (`/v1/solvency/rounds/{bundle_hash}/...`).
    pub bundle_hash: String,
    /// The round id.
    pub round_id: String,
    /// The bundle's backend.
    pub backend: String,
    /// How many files the bundle keeps beside it (`proofs/<sha256>.bin`).
    pub files: usize,
}

/// The largest `round.json` a served folder may hold (64 MiB).
pub const MAX_SERVED_BUNDLE_BYTES: u64 = 64 << 20;

/// The SHA-256 names of the files `b` keeps beside it (`proofs/<sha256>.bin`): a STARK
/// bundle's batch and aggregation proofs and, for rounds that publish them, its batches'
/// leaves files (`circuits.leaves`); none for other backends.
pub fn bundle_files(b: &RoundBundle) -> std::collections::BTreeSet<String> {
    if b.backend != ProofSystem::Stark.name() {
        return Default::default();
    }
    let leaves = match &b.circuits {
        Some(solvency::Circuits::Stark(sc)) => sc.leaves.as_slice(),
        _ => &[],
    };
    b.batches
        .iter()
        .chain(b.aggregations.iter().flatten())
        .map(|e| e.proof.clone())
        .chain(leaves.iter().cloned())
        .collect()
}

impl ServedRound {
    /// Reads the round in folder `dir`: its `round.json` (parsed, unknown fields refused) and
    /// the presence of every file it lists (each name a SHA-256; the bytes are checked against
    /// the name when verified or served).
    ///
    /// # Errors
    /// [`StartError::Round`] naming the folder and what is wrong.
    pub fn open(dir: &std::path::Path) -> Result<Self, StartError> {
        let bad = |message: String| StartError::Round {
            path: dir.to_path_buf(),
            message,
        };
        let file = dir.join("round.json");
        let len = std::fs::metadata(&file)
            .map_err(|e| bad(format!("round.json: {e}")))?
            .len();
        if len > MAX_SERVED_BUNDLE_BYTES {
            return Err(bad(format!(
                "round.json: {len} bytes, more than {MAX_SERVED_BUNDLE_BYTES}"
            )));
        }
        let text = std::fs::read(&file).map_err(|e| bad(format!("round.json: {e}")))?;
        let bundle = RoundBundle::parse(&text, "round.json").map_err(|e| bad(e.to_string()))?;
        let files = bundle_files(&bundle);
        for h in &files {
            if !solvency::is_sha256_hex(h) {
                return Err(bad(format!(
                    "round.json names a proof file {h:?}, which is not a SHA-256 in lower-case hex"
                )));
            }
            let rel = solvency::ProofDir::relative(h);
            if !dir.join(&rel).is_file() {
                return Err(bad(format!("{rel}: listed by round.json, missing")));
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            hash: bundle.hash(),
            bundle: std::sync::Arc::new(bundle),
            text: std::sync::Arc::new(text),
            files,
        })
    }

    /// What `GET /v1/solvency/rounds` lists of it.
    pub fn info(&self) -> ServedRoundInfo {
        ServedRoundInfo {
            bundle_hash: self.hash.clone(),
            round_id: self.bundle.config.round_id.clone(),
            backend: self.bundle.backend.clone(),
            files: self.files.len(),
        }
    }
}

/// How many prepared rounds the server keeps (each holds its round's decoded keys and bundle).
pub const PREPARED_ROUNDS: usize = 8;

/// Prepared rounds (keys opened once), the most recently used last; at most
/// [`PREPARED_ROUNDS`]. A bundle is found by its hash, which covers every byte of its canonical
/// form, signature included, so a hit is the very bundle that was checked when prepared.
#[derive(Debug, Default)]
struct PreparedRounds(std::sync::Mutex<Vec<std::sync::Arc<solvency::PreparedRound>>>);

impl PreparedRounds {
    fn get(&self, hash: &str) -> Option<std::sync::Arc<solvency::PreparedRound>> {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let i = v.iter().position(|r| r.bundle_hash() == hash)?;
        let r = v.remove(i);
        v.push(r.clone());
        Some(r)
    }

    fn insert(&self, r: std::sync::Arc<solvency::PreparedRound>) {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|x| x.bundle_hash() != r.bundle_hash());
        v.push(r);
        if v.len() > PREPARED_ROUNDS {
            v.remove(0);
        }
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Reads and checks the published epoch chain in `dir` (every `*.json` file an epoch).
///
/// # Errors
/// A file cannot be read or parsed, or the epochs are not one chain signed by `issuer`.
pub fn read_published_epochs(
    dir: &std::path::Path,
    issuer: &IssuerPublic,
) -> Result<PublishedEpochs, StartError> {
    let bad = |message: String| StartError::KycFile {
        path: dir.to_path_buf(),
        message,
    };
    let mut epochs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| bad(e.to_string()))? {
        let file = entry.map_err(|e| bad(e.to_string()))?.path();
        if file.extension().is_some_and(|x| x == "json") {
            let e: Epoch = read_doc(&file, "epoch")?;
            epochs.push((file.display().to_string(), e));
        }
    }
    let key = issuer.key().map_err(|e| bad(e.to_string()))?;
    PublishedEpochs::verify(epochs, &key).map_err(|e| bad(format!("published epoch chain: {e}")))
}

fn read_doc<T: DeserializeOwned + kyc::formats::Versioned>(
    path: &std::path::Path,
    what: &'static str,
) -> Result<T, StartError> {
    let bad = |message: String| StartError::KycFile {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    kyc::formats::from_json(what, &text).map_err(|e| bad(e.to_string()))
}

impl AssayBackend {
    /// A backend that also verifies KYC proofs under `kyc`.
    pub fn with_kyc(kyc: KycSettings) -> Self {
        Self {
            chain: std::sync::RwLock::new(Some(kyc.published.clone())),
            kyc: Some(kyc),
            ..Self::default()
        }
    }

    /// The chain to check `epoch` against: the cached one, re-read from the folder if it does
    /// not hold that epoch (a newer publication), or an error naming the folder.
    fn chain_for(&self, k: &KycSettings, epoch: &Epoch) -> Result<PublishedEpochs, String> {
        let cached = self
            .chain
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| k.published.clone());
        let Some(dir) = k.epochs_dir.as_deref().filter(|_| !cached.contains(epoch)) else {
            return Ok(cached);
        };
        match read_published_epochs(dir, &k.issuer) {
            Ok(fresh) => {
                *self.chain.write().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) => Err(format!("epoch chain: {e}")),
        }
    }

    /// This backend with Groth16 rounds verified against `manifests` (pinned key manifests).
    pub fn with_trusted_keys(mut self, manifests: Vec<TrustedManifest>) -> Self {
        self.manifests = manifests;
        self
    }

    /// How many rounds are kept prepared for customer checks (at most [`PREPARED_ROUNDS`]).
    pub fn prepared_rounds(&self) -> usize {
        self.rounds.len()
    }

    /// This backend accepting the Groth16 keys a bundle carries. INSECURE (whoever made them
    /// can forge proofs): for tests and operators who knowingly trust the prover.
    pub fn trusting_bundle_keys(mut self) -> Self {
        self.insecure_bundle_keys = true;
        self
    }

    /// This backend with Halo2 parameters cached in `params` and Halo2 rounds bounded to
    /// `max_k`.
    pub fn with_halo2(
        mut self,
        params: Option<assay_verifier::halo2::ParamsCache>,
        max_k: u32,
    ) -> Self {
        self.params = params;
        self.halo2_max_k = Some(max_k);
        self
    }

    /// This backend serving the rounds of `rounds` (see [`ServedRound`]); a later folder with
    /// the same bundle replaces an earlier one.
    pub fn with_served_rounds(mut self, rounds: Vec<ServedRound>) -> Self {
        for r in rounds {
            self.served.insert(r.hash.clone(), r);
        }
        self
    }

    /// The proofs of the served round whose bundle hashes to `hash`: a [`solvency::ProofDir`]
    /// on its folder.
    fn proof_dir(&self, hash: &str) -> Option<solvency::ProofDir> {
        self.served
            .get(hash)
            .map(|r| solvency::ProofDir::new(r.dir.clone()))
    }

    /// Why a STARK bundle is not verified here: it is not one of the served rounds (its
    /// proofs are files this server does not have). `None` for a served round or another
    /// backend.
    fn unserved_stark(&self, bundle: &RoundBundle, hash: &str) -> Option<Verdict> {
        (bundle.backend == ProofSystem::Stark.name() && !self.served.contains_key(hash)).then(
            || {
                Verdict::invalid(
                    format!(
                        "bundle {hash} ({}): a STARK round keeps its proofs in files beside \
                     round.json, and this server verifies only the STARK rounds it serves from \
                     its round folders ({} served; GET /v1/solvency/rounds lists them)",
                        bundle.backend,
                        self.served.len()
                    ),
                    Vec::new(),
                )
            },
        )
    }

    fn round_options<'a>(
        &'a self,
        proofs: Option<&'a solvency::ProofDir>,
    ) -> solvency::RoundOptions<'a> {
        solvency::RoundOptions {
            proofs: proofs.map(|p| p as &dyn solvency::ProofSource),
            trusted_keys: if self.insecure_bundle_keys {
                TrustedKeys::InsecureBundleKeys
            } else {
                TrustedKeys::Manifests(&self.manifests)
            },
            halo2_params: self
                .params
                .as_ref()
                .map(|p| p as &dyn assay_verifier::halo2::ParamsSource),
            halo2_max_k: self.halo2_max_k,
            ..solvency::RoundOptions::default()
        }
    }

    /// The backend for `config` (reads the KYC policy and issuer key files it names).
    ///
    /// # Errors
    /// A configured file cannot be read or parsed.
    pub fn from_config(config: &ServerConfig) -> Result<Self, StartError> {
        let bad = |path: &std::path::Path, e: &dyn std::fmt::Display| StartError::KycFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut manifests = Vec::new();
        for p in &config.trusted_keys {
            let bad = |message: String| StartError::TrustedKeys {
                path: p.clone(),
                message,
            };
            let bytes = std::fs::read(p).map_err(|e| bad(e.to_string()))?;
            manifests.push(
                assay_verifier::groth16::KeyManifest::open(&bytes, "key manifest")
                    .map_err(|e| bad(e.to_string()))?,
            );
        }
        let backend = match (&config.kyc_policy, &config.kyc_issuer_key) {
            (Some(p), Some(k)) => {
                if config.kyc_scope.as_deref().is_none_or(str::is_empty) {
                    return Err(StartError::KycSetting(
                        "a scope (--kyc-scope NAME, the relying party's stable name): there is no default",
                    ));
                }
                let Some(epochs) = &config.kyc_epochs else {
                    return Err(StartError::KycSetting(
                        "the issuer's published epoch chain (--kyc-epochs DIR)",
                    ));
                };
                let policy: Policy = read_doc(p, "policy")?;
                let issuer: IssuerPublic = read_doc(k, "issuer key")?;
                policy.tree().map_err(|e| bad(p, &e))?;
                kyc::issuer_verifying_key(&issuer).map_err(|e| bad(k, &e))?;
                let published = read_published_epochs(epochs, &issuer)?;
                Self::with_kyc(KycSettings {
                    policy,
                    issuer,
                    published,
                    epochs_dir: Some(epochs.clone()),
                })
            }
            (None, None) => Self::default(),
            _ => return Err(StartError::KycIncomplete),
        }
        .with_trusted_keys(manifests)
        .with_halo2(
            config
                .params_dir
                .clone()
                .map(assay_verifier::halo2::ParamsCache::new),
            config.halo2_max_k,
        );
        let rounds = config
            .rounds
            .iter()
            .map(|d| ServedRound::open(d))
            .collect::<Result<Vec<_>, _>>()?;
        let backend = backend.with_served_rounds(rounds);
        Ok(if config.insecure_trust_bundle_keys {
            tracing::warn!(
                "insecure_trust_bundle_keys: Groth16 rounds are checked under the keys their \
                 bundles carry; whoever made those keys can forge every proof"
            );
            backend.trusting_bundle_keys()
        } else {
            backend
        })
    }
}

/// What a valid KYC presentation established, in words.
pub fn kyc_checks(v: &kyc::VerifiedPresentation) -> Vec<String> {
    vec![
        format!(
            "epoch {} is signed by issuer {:?}, in its published chain, and recent enough",
            v.epoch, v.issuer_id
        ),
        format!(
            "the credential is in the registry of epoch {}, unrevoked and unexpired on day {}",
            v.epoch, v.today
        ),
        format!(
            "neither the holder's region nor their country is in policy {:?}",
            v.policy
        ),
        format!(
            "the proof answers challenge {} for scope {:?}",
            v.nonce, v.scope
        ),
        format!(
            "the {} proof verifies under {}",
            v.backend.proof_system(),
            v.verified_under
        ),
    ]
}

/// 31 random bytes (248 bits, below BN254's scalar field), as lower-case hex (62 characters).
pub(crate) fn random_nonce() -> Result<String, AppError> {
    use rand::RngCore;
    let mut b = [0u8; 31];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(b))
}

/// The backends whose solvency rounds this server verifies. A Halo2 round's keys are derived
/// from its circuits once per bundle and kept prepared (see [`PREPARED_ROUNDS`]), its
/// parameters come from the configured cache, and a round needing circuits above the
/// configured `halo2_max_k` is refused before anything is made. A STARK round keeps its proofs
/// in files beside `round.json`: it is verified only if it is one of the served round folders
/// ([`ServerConfig::rounds`]), its proofs read from there (every proof once when the round is
/// first prepared; customer checks then recompute the record's chain path).
pub const SERVED_ROUNDS: &[ProofSystem] =
    &[ProofSystem::Groth16, ProofSystem::Halo2, ProofSystem::Stark];

/// The backends whose KYC presentations this server verifies: every backend its verifier is
/// built with, the STARK included (the KYC circuit is small and fixed, so its Halo2 parameters
/// are generated once per process, `k = 11`; the STARK has no keys).
pub fn served_kyc() -> Vec<ProofSystem> {
    assay_verifier::kyc::verified_backends()
}

/// `None` if the bundle's backend is served, else the verdict refusing it.
fn served(bundle: &RoundBundle) -> Option<Verdict> {
    let ok = ProofSystem::from_name(&bundle.backend).is_some_and(|b| SERVED_ROUNDS.contains(&b));
    (!ok).then(|| {
        Verdict::invalid(
            format!(
                "backend `{}` is not served by this endpoint (only {}): verify it with `assay solvency verify`",
                bundle.backend,
                SERVED_ROUNDS
                    .iter()
                    .map(|b| b.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Vec::new(),
        )
    })
}

impl Backend for AssayBackend {
    fn verify_round(&self, body: &[u8]) -> Result<Verdict, AppError> {
        let bundle: RoundBundle = parse(body)?;
        if let Some(v) = served(&bundle) {
            return Ok(v);
        }
        let hash = bundle.hash();
        if let Some(v) = self.unserved_stark(&bundle, &hash) {
            return Ok(v);
        }
        let dir = self.proof_dir(&hash);
        Ok(
            match solvency::verify_round(&bundle, &self.round_options(dir.as_ref())) {
                Ok(r) => Verdict::valid(vec![
                    "the bundle's signature under its publication key".into(),
                    format!(
                        "{} batch proofs and {} aggregation proofs ({}), every public input",
                        r.batch_proofs, r.aggregation_proofs, r.backend
                    ),
                    format!(
                        "liabilities within reserves ({})",
                        r.reserves
                            .iter()
                            .map(|(a, v)| format!("{v} {a}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!("global root {}", r.global_root),
                ]),
                Err(e) => Verdict::invalid(e.to_string(), Vec::new()),
            },
        )
    }

    fn verify_inclusion(&self, body: &[u8]) -> Result<Verdict, AppError> {
        let req: InclusionBody = parse(body)?;
        if let Some(v) = served(&req.round) {
            return Ok(v);
        }
        let hash = req.round.hash();
        if let Some(v) = self.unserved_stark(&req.round, &hash) {
            return Ok(v);
        }
        let dir = self.proof_dir(&hash);
        let prepared = match self.rounds.get(&hash) {
            Some(p) => p,
            None => match solvency::PreparedRound::prepare(
                std::sync::Arc::new(req.round),
                &self.round_options(dir.as_ref()),
            ) {
                Ok(p) => {
                    let p = std::sync::Arc::new(p);
                    self.rounds.insert(p.clone());
                    p
                }
                Err(e) => return Ok(Verdict::invalid(e.to_string(), Vec::new())),
            },
        };
        Ok(match prepared.verify_inclusion(&req.record) {
            Ok(r) => Verdict::valid(inclusion_checks(&r)),
            Err(e) => Verdict::invalid(e.to_string(), Vec::new()),
        })
    }

    fn served_rounds(&self) -> Vec<ServedRoundInfo> {
        self.served.values().map(ServedRound::info).collect()
    }

    fn served_bundle(&self, bundle_hash: &str) -> Option<std::sync::Arc<Vec<u8>>> {
        self.served.get(bundle_hash).map(|r| r.text.clone())
    }

    fn proof_file(&self, bundle_hash: &str, hash: &str) -> Result<Option<Vec<u8>>, AppError> {
        let Some(r) = self.served.get(bundle_hash) else {
            return Ok(None);
        };
        if !r.files.contains(hash) {
            return Ok(None);
        }
        use solvency::ProofSource;
        solvency::ProofDir::new(r.dir.clone())
            .proof(hash, &format!("served round {bundle_hash}"))
            .map(Some)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    fn verify_kyc(
        &self,
        body: &[u8],
        store: &Store,
        scope: &str,
        now: u64,
    ) -> Result<KycVerdict, AppError> {
        let Some(k) = &self.kyc else {
            return Err(AppError::Unavailable(
                "KYC verification is not configured on this server (start it with --kyc-policy and --kyc-issuer-key)".into(),
            ));
        };
        let req: KycBody = parse(body)?;
        use kyc::formats::Versioned;
        for (what, v, ok) in [
            ("proof", req.proof.version, KycProof::VERSIONS),
            ("epoch", req.epoch.version, Epoch::VERSIONS),
        ] {
            if !ok.contains(&v) {
                return Err(AppError::Invalid(format!(
                    "{what}: version {v} is not supported (expected {ok:?})"
                )));
            }
        }
        let nonce = req.proof.public_inputs.challenge.clone();
        let invalid = |reason: String| KycVerdict {
            verdict: Verdict::invalid(reason, Vec::new()),
            challenge: None,
            nullifier: None,
            backend: None,
        };
        let issued = store
            .challenge(&nonce, scope)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let Some((issued_at, expires_at, backend)) = issued else {
            return Ok(invalid(
                "challenge: this relying party never issued that challenge".into(),
            ));
        };
        let challenge = Challenge {
            version: if backend.is_some() {
                CHALLENGE_FORMAT_V2
            } else {
                KYC_FORMAT_VERSION
            },
            scope: scope.into(),
            backend,
            nonce: nonce.clone(),
            issued_at: kyc::time::format_rfc3339(issued_at as i64),
            expires_at: kyc::time::format_rfc3339(expires_at as i64),
        };
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let published = match self.chain_for(k, &req.epoch) {
            Ok(c) => c,
            Err(reason) => return Ok(invalid(reason)),
        };
        // Pinned key manifests cover the KYC circuit too: the issuer's key must be the one they
        // name (`kyc-groth16`), not a key the issuer made itself.
        let opts = kyc::KycOptions {
            groth16_keys: if self.insecure_bundle_keys {
                TrustedKeys::InsecureBundleKeys
            } else {
                TrustedKeys::Manifests(&self.manifests)
            },
            ..kyc::KycOptions::default()
        };
        match kyc::verify_with_options(
            &req.proof, &req.epoch, &published, &k.issuer, &k.policy, &challenge, now, &opts,
        ) {
            Ok(v) => Ok(KycVerdict {
                verdict: Verdict::valid(kyc_checks(&v)),
                challenge: Some(nonce),
                nullifier: Some(v.nullifier),
                backend: Some(v.backend),
            }),
            Err(e) if e.is_bad_input() => Err(AppError::Invalid(e.to_string())),
            Err(e) => Ok(invalid(e.to_string())),
        }
    }

    fn new_challenge(
        &self,
        scope: &str,
        backend: ProofSystem,
        now: u64,
        expires_at: u64,
    ) -> Result<NewChallenge, AppError> {
        if self.kyc.is_none() {
            return Err(AppError::Unavailable(
                "KYC verification is not configured on this server (start it with --kyc-policy and --kyc-issuer-key)".into(),
            ));
        }
        let nonce = random_nonce()?;
        let doc = Challenge {
            version: CHALLENGE_FORMAT_V2,
            scope: scope.into(),
            backend: Some(backend),
            nonce: nonce.clone(),
            issued_at: kyc::time::format_rfc3339(now as i64),
            expires_at: kyc::time::format_rfc3339(expires_at as i64),
        };
        Ok(NewChallenge {
            document: serde_json::to_value(&doc).map_err(|e| AppError::Internal(e.to_string()))?,
            nonce,
        })
    }
}
