//! The checks themselves, in plain Rust (testable natively): parse, call `assay-verifier`,
//! and turn the answer into an [`Outcome`].

use assay_verifier::{
    groth16::{KeyManifest, TrustedKeys, TrustedManifest},
    kyc::{
        formats::{from_json, Challenge, Epoch, IssuerPublic, KycProof, Policy, PublishedEpochs},
        verify_with_options, KycOptions,
    },
    solvency::{InclusionRecord, InclusionReport, PreparedRound, RoundBundle, RoundOptions},
    Backend,
};
#[cfg(feature = "halo2")]
use assay_verifier::{
    halo2::{SuppliedParams, PINNED_PARAMS_MAX_K},
    solvency::halo2_params_needed,
};
use serde::Serialize;
use serde_json::value::RawValue;

/// The backends this build verifies (format names): Groth16 always, Halo2 with the crate
/// feature `halo2` (the second package, `assay_wasm_verifier_halo2`), the STARK with the
/// feature `stark` (the third, `assay_wasm_verifier_stark`).
pub fn backends() -> Vec<String> {
    let mut v = vec![Backend::Groth16.name().to_string()];
    if cfg!(feature = "halo2") {
        v.push(Backend::Halo2.name().to_string());
    }
    if cfg!(feature = "stark") {
        v.push(Backend::Stark.name().to_string());
    }
    v
}

/// Why a round or presentation on `backend` is not verified by this build (the Groth16
/// package, built without Halo2), naming the package that verifies it; `None` if this build
/// verifies it.
pub fn not_in_this_package(backend: &str) -> Option<String> {
    if backends().iter().any(|b| b == backend) {
        return None;
    }
    Some(if backend == Backend::Halo2.name() {
        format!(
            "backend {backend}: this is the {} ({}), which does not verify Halo2; the Halo2 \
             package (assay_wasm_verifier_halo2) does",
            if cfg!(feature = "stark") {
                "STARK package"
            } else {
                "Groth16 package"
            },
            this_package()
        )
    } else if backend == Backend::Stark.name() {
        format!(
            "backend {backend}: this package ({}) does not verify STARK rounds or KYC \
             presentations; the STARK package (assay_wasm_verifier_stark: verifyStarkInclusion, \
             verifyKyc) does",
            this_package()
        )
    } else {
        format!("backend {backend} is not verified by this package")
    })
}

/// The name of this build's package.
pub fn this_package() -> &'static str {
    if cfg!(feature = "halo2") {
        "assay_wasm_verifier_halo2"
    } else if cfg!(feature = "stark") {
        "assay_wasm_verifier_stark"
    } else {
        "assay_wasm_verifier"
    }
}

/// What a check found: `reason` is `None` when valid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Why the input is invalid, or `None`.
    pub reason: Option<String>,
    /// What was checked, in words.
    pub checks: Vec<String>,
    /// The round's publication key (hex), once the bundle parsed: for the page to show and
    /// remember.
    pub publication_key: Option<String>,
    /// The bundle's hash (hex), once it parsed.
    pub bundle_hash: Option<String>,
    /// The bundle's backend (`groth16-bn254`, `halo2-ipa-pasta`), once it parsed.
    pub backend: Option<String>,
    /// Who must be trusted for this verdict to mean what it says, in one sentence (the
    /// backend's trust statement; for Groth16, naming the pinned manifest whose keys were
    /// used), once the round was prepared.
    pub trust: Option<String>,
}

impl Outcome {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Self::default()
        }
    }
}

/// Parses the pinned key manifests: a JSON array of manifests (`[]` pins none, and a Groth16
/// round is then refused), each checked against its signature.
///
/// # Errors
/// The first manifest that does not parse or whose signature fails, by index.
pub fn manifests(json: &str) -> Result<Vec<TrustedManifest>, String> {
    // Each element's own text, passed through unparsed: the manifest parses it.
    let list: Vec<&RawValue> = serde_json::from_slice(json.as_bytes())
        .map_err(|e| format!("trusted key manifests: not a JSON array: {e}"))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            KeyManifest::open(v.get().as_bytes(), &format!("trusted key manifest {i}"))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// A round bundle prepared once for many inclusion checks (the page keeps one per round for
/// the session): parsed, its keys opened and checked against the pinned manifests, its
/// signature and the customer's pin of the publication key checked. A bundle that fails any
/// of these is kept as its reason, which every check then answers.
#[derive(Debug)]
pub struct Prepared {
    round: Result<PreparedRound, String>,
    /// The round's publication key (hex), if the bundle parsed.
    pub publication_key: Option<String>,
    /// The bundle's hash (hex), if the bundle parsed.
    pub bundle_hash: Option<String>,
    /// The bundle's backend name, if the bundle parsed.
    pub backend: Option<String>,
    /// The trust statement of the verdicts (see [`Outcome::trust`]), if the round prepared.
    pub trust: Option<String>,
}

/// What a Halo2 round is prepared with: the IPA parameters the page supplied (each checked
/// against its pinned hash, `assay_verifier::halo2::SuppliedParams::add`) and the largest `k`
/// accepted. Ignored by the Groth16 package (built without the feature `halo2`), which refuses
/// Halo2 rounds naming the Halo2 package.
#[derive(Debug, Clone)]
pub struct Halo2Input {
    /// `(k, bytes)` of each supplied parameter file, or why the caller's value could not be
    /// read as such (a reason every check then answers).
    pub params: Result<Vec<(u32, Vec<u8>)>, String>,
    /// The largest `k` a round may need; `None` or anything above
    /// `assay_verifier::halo2::PINNED_PARAMS_MAX_K` means that bound (the largest `k` whose
    /// parameters are pinned).
    pub max_k: Option<u32>,
}

impl Default for Halo2Input {
    /// No parameters (a Groth16 round needs none; a Halo2 round is then refused, naming the
    /// missing `k`) and the default bound.
    fn default() -> Self {
        Self {
            params: Ok(Vec::new()),
            max_k: None,
        }
    }
}

/// The bound on `k` a prepared round applies: the caller's, never above
/// [`PINNED_PARAMS_MAX_K`].
#[cfg(feature = "halo2")]
pub fn halo2_max_k(requested: Option<u32>) -> u32 {
    requested.map_or(PINNED_PARAMS_MAX_K, |k| k.min(PINNED_PARAMS_MAX_K))
}

/// The `k` of every IPA parameter file a round needs (see
/// [`assay_verifier::solvency::halo2_params_needed`]): empty for a Groth16 round.
///
/// # Errors
/// The bundle does not parse, or its Halo2 section is inconsistent with its configuration.
#[cfg(feature = "halo2")]
pub fn params_needed(round: &str) -> Result<Vec<u32>, String> {
    let b = RoundBundle::parse(round.as_bytes(), "round bundle").map_err(|e| e.to_string())?;
    halo2_params_needed(&b).map_err(|e| e.to_string())
}

/// What a bundle says about itself, unverified (see [`round_info`]): serialized as
/// `{round_id, publication_key, backend, bundle_hash}`, or `{error}` if it does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RoundInfo {
    /// The bundle parsed: what it claims (nothing verified yet).
    Parsed {
        /// The round's id.
        round_id: String,
        /// The round's publication key (hex).
        publication_key: String,
        /// The bundle's backend name.
        backend: String,
        /// The bundle's hash (hex).
        bundle_hash: String,
    },
    /// The bundle does not parse: the parser's message.
    Error {
        /// Why.
        error: String,
    },
}

/// What a page needs to know of a bundle before choosing which to check: `{round_id,
/// publication_key, backend, bundle_hash}` as parsed (nothing verified yet), or `{error}` if
/// it does not parse.
pub fn round_info(round: &str) -> RoundInfo {
    match RoundBundle::parse(round.as_bytes(), "round bundle") {
        Ok(b) => {
            let bundle_hash = b.hash();
            RoundInfo::Parsed {
                round_id: b.config.round_id,
                publication_key: b.publication_key,
                backend: b.backend,
                bundle_hash,
            }
        }
        Err(e) => RoundInfo::Error {
            error: e.to_string(),
        },
    }
}

/// Prepares `round` (see [`Prepared`]): Groth16 keys must be the ones a manifest of
/// `manifests_json` names; Halo2 keys are re-derived from the circuits with the parameters of
/// `halo2` (each accepted only as the pinned bytes of its `k`), for a round whose circuits
/// need at most `halo2_max_k` (Halo2 package only: the Groth16 package refuses a Halo2 round,
/// naming the package that verifies it); `publication_key` (hex, if given) must sign the round.
pub fn prepare(
    round: &str,
    manifests_json: &str,
    publication_key: Option<&str>,
    halo2: &Halo2Input,
) -> Prepared {
    let failed = |e: String| Prepared {
        round: Err(e),
        publication_key: None,
        bundle_hash: None,
        backend: None,
        trust: None,
    };
    let pinned = match manifests(manifests_json) {
        Ok(m) => m,
        Err(e) => return failed(e),
    };
    let b = match RoundBundle::parse(round.as_bytes(), "round bundle") {
        Ok(b) => b,
        Err(e) => return failed(e.to_string()),
    };
    let publication_key_seen = Some(b.publication_key.clone());
    let bundle_hash = Some(b.hash());
    let backend = Some(b.backend.clone());
    let seen = |round: Result<PreparedRound, String>, trust: Option<String>| Prepared {
        round,
        publication_key: publication_key_seen.clone(),
        bundle_hash: bundle_hash.clone(),
        backend: backend.clone(),
        trust,
    };
    if let Some(why) = not_in_this_package(&b.backend) {
        return seen(Err(why), None);
    }
    if b.backend == Backend::Stark.name() {
        // A prepared round verifies every proof of the round once: a STARK round's proofs are
        // files, and a customer needs only those on their path (verifyStarkInclusion).
        return seen(
            Err(format!(
                "backend {}: a STARK round's proofs are files beside round.json; check a record \
                 with verifyStarkInclusion(record, round, files), the files listed by \
                 starkFilesNeeded(record, round)",
                b.backend
            )),
            None,
        );
    }
    #[cfg(feature = "halo2")]
    let supplied = match supplied_params(halo2) {
        Ok(s) => s,
        Err(e) => return seen(Err(e), None),
    };
    #[cfg(not(feature = "halo2"))]
    let _ = halo2;
    let opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        publication_key,
        #[cfg(feature = "halo2")]
        halo2_params: Some(&supplied),
        #[cfg(feature = "halo2")]
        halo2_max_k: Some(halo2_max_k(halo2.max_k)),
        ..RoundOptions::default()
    };
    let keys: Vec<String> = b
        .batches
        .iter()
        .chain(b.aggregations.iter().flatten())
        .map(|e| e.key.clone())
        .collect();
    match PreparedRound::prepare(std::sync::Arc::new(b), &opts) {
        Ok(r) => {
            let trust = trust_statement(r.backend(), &pinned, &keys);
            seen(Ok(r), Some(trust))
        }
        Err(e) => seen(Err(e.to_string()), None),
    }
}

/// The trust statement of a prepared round's verdicts: the backend's
/// ([`Backend::trust_statement`]); for Groth16 it names the pinned manifest(s) whose keys the
/// round's proofs use (their setup must have been honest).
pub fn trust_statement(backend: Backend, pinned: &[TrustedManifest], keys: &[String]) -> String {
    match backend {
        Backend::Groth16 => {
            let named: Vec<String> = pinned
                .iter()
                .map(TrustedManifest::manifest)
                .filter(|m| keys.iter().any(|k| m.keys.values().any(|v| v == k)))
                .map(|m| {
                    format!(
                        "key manifest {} (setup key {}, created {})",
                        m.hash(),
                        m.setup_key,
                        m.created
                    )
                })
                .collect();
            format!(
                "Groth16: sound only if the setup of the pinned {} was honest (whoever kept its \
                 randomness could forge these proofs).",
                if named.is_empty() {
                    "key manifest".to_string()
                } else {
                    named.join(" and ")
                }
            )
        }
        other => other.trust_statement().to_string(),
    }
}

impl Prepared {
    /// Why the round could not be prepared, if it could not.
    pub fn error(&self) -> Option<String> {
        self.round.as_ref().err().cloned()
    }

    /// Verifies the proofs every record's path shares ahead of any record
    /// ([`PreparedRound::verify_shared_proofs`]); `None` when they verified (or the round did
    /// not prepare: its records answer why), else the reason, which a record reaching that
    /// proof then answers too.
    pub fn shared(&self) -> Option<String> {
        let round = self.round.as_ref().ok()?;
        round.verify_shared_proofs().err().map(|e| e.to_string())
    }

    /// Checks one customer's inclusion record against the prepared round.
    pub fn inclusion(&self, record: &str) -> Outcome {
        let seen = |o: Outcome| Outcome {
            publication_key: self.publication_key.clone(),
            bundle_hash: self.bundle_hash.clone(),
            backend: self.backend.clone(),
            trust: self.trust.clone(),
            ..o
        };
        let round = match &self.round {
            Ok(r) => r,
            Err(e) => return seen(Outcome::invalid(e.clone())),
        };
        let r = match InclusionRecord::parse(record.as_bytes(), "inclusion record") {
            Ok(r) => r,
            Err(e) => return seen(Outcome::invalid(e.to_string())),
        };
        match round.verify_inclusion(&r) {
            Ok(rep) => seen(Outcome {
                reason: None,
                checks: inclusion_checks(&rep),
                ..Outcome::default()
            }),
            Err(e) => seen(Outcome::invalid(e.to_string())),
        }
    }
}

/// The inclusion check (see [`crate::verify_inclusion`]) in one call: [`prepare`] then
/// [`Prepared::inclusion`].
pub fn inclusion(
    record: &str,
    round: &str,
    manifests_json: &str,
    publication_key: Option<&str>,
    halo2: &Halo2Input,
) -> Outcome {
    prepare(round, manifests_json, publication_key, halo2).inclusion(record)
}

/// What a valid inclusion check established, in words.
pub fn inclusion_checks(r: &InclusionReport) -> Vec<String> {
    let mut v = vec![
        "the round bundle and your record are signed by the exchange's publication key".to_string(),
        format!(
            "your leaf (user id {:?}, {}, your salt) is in the tree of round {:?} at the global root",
            r.user_id,
            r.balances
                .iter()
                .map(|b| format!("{} {}", b.amount, b.symbol))
                .collect::<Vec<_>>()
                .join(", "),
            r.round_id
        ),
    ];
    v.extend(
        r.proofs_checked
            .iter()
            .map(|p| format!("{p}: verified ({})", r.backend)),
    );
    v
}

/// The inputs of the KYC check.
#[derive(Debug, Clone, Copy)]
pub struct KycInputs<'a> {
    /// `PROOF.json`.
    pub proof: &'a str,
    /// `EPOCH.json`: the epoch the holder proved against.
    pub epoch: &'a str,
    /// The issuer's published epoch chain: a JSON array of the epoch files `kyc publish
    /// --chain DIR` writes (in any order). The presentation's epoch must be one of them.
    pub epochs: &'a str,
    /// `POLICY.json`.
    pub policy: &'a str,
    /// `CHALLENGE.json`.
    pub challenge: &'a str,
    /// `ISSUER_PUBLIC.json`.
    pub issuer_key: &'a str,
    /// A JSON array of pinned key manifests (`assay solvency setup --kyc`): a Groth16
    /// presentation verifies only under the KYC key one of them names.
    pub manifests: &'a str,
    /// UNIX seconds.
    pub now: u64,
    /// Halo2 package: the IPA parameters a Halo2 presentation is checked with (the KYC
    /// circuit's `k`, [`kyc_halo2_k`]), each accepted only as the pinned bytes of its `k`;
    /// without them a Halo2 presentation is refused naming the missing `k` (parameters are
    /// never generated here). Ignored for Groth16 presentations and by the Groth16 package.
    pub halo2: &'a Halo2Input,
}

/// The circuit size `k` of the KYC Halo2 circuit: the IPA parameter file a Halo2 presentation
/// needs.
#[cfg(feature = "halo2")]
pub fn kyc_halo2_k() -> u32 {
    assay_verifier::kyc::halo2::kyc_k()
}

#[cfg(feature = "halo2")]
thread_local! {
    /// The KYC Halo2 circuit's verifier, derived once per session (a page, a node process):
    /// its key depends only on the public circuit and the pinned parameters of its `k`, so every
    /// later derivation would give the same key. Filled only by a successful derivation.
    static KYC_HALO2: std::cell::OnceCell<std::rc::Rc<assay_verifier::halo2::Halo2Verifier>> =
        const { std::cell::OnceCell::new() };
}

/// The KYC Halo2 circuit's verifier: the parameters of its `k` must be among `supplied` (each
/// already checked against its pinned hash) on every call, as without the cache; the key is
/// derived from them on the first call only, then reused (seconds saved per presentation).
///
/// # Errors
/// The parameters of the KYC circuit's `k` are missing, or the key cannot be derived.
#[cfg(feature = "halo2")]
fn kyc_halo2_verifier(
    supplied: &SuppliedParams,
) -> Result<std::rc::Rc<assay_verifier::halo2::Halo2Verifier>, assay_verifier::kyc::KycVerifyError>
{
    use assay_verifier::{halo2::ParamsSource, kyc::halo2 as kh, kyc::KycVerifyError};
    let backend = |e: assay_verifier::halo2::Halo2Error| {
        KycVerifyError::Backend(format!("{}: {e}", Backend::Halo2.name()))
    };
    let params = supplied.params(kh::kyc_k()).map_err(backend)?;
    if let Some(v) = KYC_HALO2.with(|c| c.get().cloned()) {
        return Ok(v);
    }
    let v = std::rc::Rc::new(kh::kyc_verifier(params).map_err(backend)?);
    KYC_HALO2.with(|c| c.get_or_init(|| v.clone()).clone());
    Ok(v)
}

/// The caller's parameters, each checked against its pinned hash.
///
/// # Errors
/// The caller's value was not parameters, or a file is not the pinned bytes of its `k`.
#[cfg(feature = "halo2")]
fn supplied_params(h: &Halo2Input) -> Result<SuppliedParams, String> {
    let mut supplied = SuppliedParams::new();
    for (k, bytes) in h.params.as_ref().map_err(Clone::clone)? {
        supplied
            .add(*k, bytes)
            .map_err(|e| format!("IPA parameters: {e}"))?;
    }
    Ok(supplied)
}

/// Reads and checks the issuer's published epoch chain (`json`: a JSON array of epoch
/// objects, as `kyc publish --chain DIR` writes them, in any order) against the key of
/// `issuer`: one unbroken chain, every epoch signed by the issuer, no fork
/// ([`PublishedEpochs::verify`], as `kyc verify --epochs` and the server's `--kyc-epochs`).
/// Element `i` is named `epoch chain[i]` in every reason (a fork names both elements).
///
/// # Errors
/// Not a JSON array, an element that is not an epoch (with the parser's line and column), an
/// empty, broken, forked or mis-signed chain: the reason, prefixed `published epoch chain`.
pub fn published_epochs(json: &str, issuer: &IssuerPublic) -> Result<PublishedEpochs, String> {
    let key = issuer.key().map_err(|e| format!("issuer key: {e}"))?;
    let list: Vec<&RawValue> = serde_json::from_slice(json.as_bytes()).map_err(|e| {
        format!("published epoch chain: not a JSON array of the issuer's epoch files: {e}")
    })?;
    let mut epochs = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        // The element's own text, as given: serde's message names the field; a line and
        // column in it are within this element.
        let name = format!("epoch chain[{i}]");
        let e =
            from_json::<Epoch>("epoch", v.get()).map_err(|e| format!("published {name}: {e}"))?;
        epochs.push((name, e));
    }
    PublishedEpochs::verify(epochs, &key).map_err(|e| format!("published epoch chain: {e}"))
}

/// The KYC check (see [`crate::verify_kyc`]): the presentation's epoch must be in the issuer's
/// published chain ([`published_epochs`]), as the CLI and the server require, so an issuer
/// cannot tag a holder with an epoch made for one path request. Whether the challenge was
/// already used is not checked here (a page has no memory of it): the relying party's server
/// does that.
pub fn kyc(i: &KycInputs<'_>) -> Outcome {
    let parsed = (|| {
        Ok::<_, String>((
            from_json::<KycProof>("proof", i.proof).map_err(|e| e.to_string())?,
            from_json::<Epoch>("epoch", i.epoch).map_err(|e| e.to_string())?,
            from_json::<Policy>("policy", i.policy).map_err(|e| e.to_string())?,
            from_json::<Challenge>("challenge", i.challenge).map_err(|e| e.to_string())?,
            from_json::<IssuerPublic>("issuer key", i.issuer_key).map_err(|e| e.to_string())?,
        ))
    })();
    let (proof, epoch, policy, challenge, issuer) = match parsed {
        Ok(p) => p,
        Err(e) => return Outcome::invalid(e),
    };
    if let Some(why) = not_in_this_package(&proof.backend) {
        return Outcome::invalid(why);
    }
    let pinned = match manifests(i.manifests) {
        Ok(m) => m,
        Err(e) => return Outcome::invalid(e),
    };
    let now = i64::try_from(i.now).unwrap_or(i64::MAX);
    let published = match published_epochs(i.epochs, &issuer) {
        Ok(p) => p,
        Err(e) => return Outcome::invalid(e),
    };
    #[cfg(feature = "halo2")]
    let supplied = match supplied_params(i.halo2) {
        Ok(s) => s,
        Err(e) => return Outcome::invalid(e),
    };
    let opts = KycOptions {
        groth16_keys: TrustedKeys::Manifests(&pinned),
        // Never `None` here: `None` would generate the parameters in the page (minutes).
        #[cfg(feature = "halo2")]
        halo2_params: Some(&supplied),
        ..KycOptions::default()
    };
    // Halo2: the KYC circuit's key is derived once per session (see [`kyc_halo2_verifier`]);
    // the same checks as `verify_with_options` (label, checks 1 to 8), with that verifier.
    #[cfg(feature = "halo2")]
    let result = if proof.backend == Backend::Halo2.name() {
        kyc_halo2_verifier(&supplied).and_then(|v| {
            assay_verifier::kyc::halo2::verify_with(
                &proof, &epoch, &published, &issuer, &policy, &challenge, now, &v,
            )
        })
    } else {
        verify_with_options(
            &proof, &epoch, &published, &issuer, &policy, &challenge, now, &opts,
        )
    };
    #[cfg(not(feature = "halo2"))]
    let result = verify_with_options(
        &proof, &epoch, &published, &issuer, &policy, &challenge, now, &opts,
    );
    match result {
        Ok(v) => Outcome {
            reason: None,
            checks: vec![
                format!(
                    "epoch {} is signed by issuer {:?}, is in its published chain (epochs {}..={}) and is recent enough",
                    v.epoch, v.issuer_id, published.range().0, published.range().1
                ),
                format!(
                    "the holder's credential is in the registry of epoch {}, unrevoked and unexpired on day {}",
                    v.epoch, v.today
                ),
                format!("neither the holder's region nor their country is in policy {:?}", v.policy),
                format!("the proof answers your challenge for scope {:?}", v.scope),
                format!(
                    "the {} proof verifies under {}",
                    v.backend.proof_system(),
                    v.verified_under
                ),
                format!("the holder's pseudonym for your service (nullifier): {}", v.nullifier),
            ],
            backend: Some(v.backend.name().to_string()),
            trust: Some(trust_statement(
                v.backend,
                &pinned,
                std::slice::from_ref(&issuer.vk_hash),
            )),
            ..Outcome::default()
        },
        // The backend the presentation was checked on, and what it trusts, as for a valid one.
        Err(e) => {
            let backend = Backend::from_name(&proof.backend);
            Outcome {
                backend: backend.map(|b| b.name().to_string()),
                trust: backend.map(|b| {
                    trust_statement(b, &pinned, std::slice::from_ref(&issuer.vk_hash))
                }),
                ..Outcome::invalid(e.to_string())
            }
        }
    }
}
