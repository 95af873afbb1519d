//! The checks themselves, in plain Rust (testable natively): parse, call `assay-verifier`,
//! and turn the answer into an [`Outcome`].

use assay_verifier::{
    groth16::{KeyManifest, TrustedKeys, TrustedManifest},
    kyc::{
        formats::{from_json, Challenge, Epoch, IssuerPublic, KycProof, Policy, PublishedEpochs},
        verify_with_options, KycOptions,
    },
    solvency::{InclusionRecord, InclusionReport, PreparedRound, RoundBundle, RoundOptions},
};

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
}

impl Outcome {
    fn invalid(reason: impl Into<String>) -> Self {
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
    let list: Vec<serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| format!("trusted key manifests: not a JSON array: {e}"))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
            KeyManifest::open(&bytes, &format!("trusted key manifest {i}"))
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
}

/// Prepares `round` (see [`Prepared`]): Groth16 keys must be the ones a manifest of
/// `manifests_json` names; `publication_key` (hex, if given) must sign the round.
pub fn prepare(round: &str, manifests_json: &str, publication_key: Option<&str>) -> Prepared {
    let failed = |e: String| Prepared {
        round: Err(e),
        publication_key: None,
        bundle_hash: None,
    };
    let pinned = match manifests(manifests_json) {
        Ok(m) => m,
        Err(e) => return failed(e),
    };
    let b = match RoundBundle::parse(round.as_bytes(), "round bundle") {
        Ok(b) => b,
        Err(e) => return failed(e.to_string()),
    };
    let opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        publication_key,
        ..RoundOptions::default()
    };
    let publication_key = Some(b.publication_key.clone());
    let bundle_hash = Some(b.hash());
    Prepared {
        round: PreparedRound::prepare(std::sync::Arc::new(b), &opts).map_err(|e| e.to_string()),
        publication_key,
        bundle_hash,
    }
}

impl Prepared {
    /// Checks one customer's inclusion record against the prepared round.
    pub fn inclusion(&self, record: &str) -> Outcome {
        let seen = |o: Outcome| Outcome {
            publication_key: self.publication_key.clone(),
            bundle_hash: self.bundle_hash.clone(),
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
) -> Outcome {
    prepare(round, manifests_json, publication_key).inclusion(record)
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
    /// `EPOCH.json`.
    pub epoch: &'a str,
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
}

/// The KYC check (see [`crate::verify_kyc`]). Whether the challenge was already used, and
/// whether the epoch is in the issuer's published chain, are not checked here (a page has no
/// memory of either): the relying party's server does that.
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
    let pinned = match manifests(i.manifests) {
        Ok(m) => m,
        Err(e) => return Outcome::invalid(e),
    };
    let now = i64::try_from(i.now).unwrap_or(i64::MAX);
    // The page is given one epoch, not the issuer's published chain: like the challenge's
    // single use, that the epoch is in the chain is the relying party's server's check.
    let key = match issuer.key() {
        Ok(k) => k,
        Err(e) => return Outcome::invalid(e.to_string()),
    };
    let published = match PublishedEpochs::verify(vec![("epoch".into(), epoch.clone())], &key) {
        Ok(p) => p,
        Err(e) => return Outcome::invalid(format!("epoch: {e}")),
    };
    let opts = KycOptions {
        groth16_keys: TrustedKeys::Manifests(&pinned),
        ..KycOptions::default()
    };
    match verify_with_options(
        &proof, &epoch, &published, &issuer, &policy, &challenge, now, &opts,
    ) {
        Ok(v) => Outcome {
            reason: None,
            checks: vec![
                format!("epoch {} is signed by issuer {:?} and recent enough", v.epoch, v.issuer_id),
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
            ..Outcome::default()
        },
        Err(e) => Outcome::invalid(e.to_string()),
    }
}
