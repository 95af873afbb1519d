use super::formats::*;
use crate::dispatch::{dispatch, CircuitId, RoundProof, VerifyingBackend, Visitor};
pub use crate::groth16::manifest::TrustedKeys;
use crate::{amount, signing, Backend, FormatError, VerifyError};
use assay_circuits::{
    encoding,
    field::{from_decimal, to_decimal},
    merkle,
    solvency::{self as st, Shape},
    StatementField,
};

/// What a valid round establishes, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoundReport {
    /// The round.
    pub round_id: String,
    /// The proof system (`groth16-bn254`, `halo2-ipa-pasta`).
    pub backend: String,
    /// The bundle's hash.
    pub bundle_hash: String,
    /// Leaves in the tree (customers plus padding).
    pub leaf_count: u64,
    /// Batch proofs verified.
    pub batch_proofs: usize,
    /// Aggregation proofs verified.
    pub aggregation_proofs: usize,
    /// The global root.
    pub global_root: String,
    /// Assets and reserves proven to cover liabilities.
    pub reserves: Vec<(String, String)>,
    /// Whether the link to a given previous round was checked.
    pub previous_checked: bool,
}

impl RoundReport {
    /// The report of bundle `b`, once every one of its proofs verified with `backend`'s
    /// verifier (and its link to a previous round if `previous_checked`).
    pub(crate) fn of(b: &RoundBundle, backend: Backend, previous_checked: bool) -> Self {
        Self {
            round_id: b.config.round_id.clone(),
            backend: backend.name().into(),
            bundle_hash: b.hash(),
            leaf_count: b.leaf_count,
            batch_proofs: b.batches.len(),
            aggregation_proofs: b.aggregations.iter().map(Vec::len).sum(),
            global_root: b.global_root.clone(),
            reserves: b
                .config
                .assets
                .iter()
                .map(|a| (a.symbol.clone(), a.reserves.clone()))
                .collect(),
            previous_checked,
        }
    }
}

/// What a valid inclusion record establishes, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InclusionReport {
    /// The round.
    pub round_id: String,
    /// The customer.
    pub user_id: String,
    /// The proof system whose verifier checked the proofs (`groth16-bn254`, `halo2-ipa-pasta`).
    pub backend: String,
    /// The balances proven to be counted.
    pub balances: Vec<BalanceEntry>,
    /// The proofs checked on the record's path.
    pub proofs_checked: Vec<String>,
    /// The global root reached.
    pub global_root: String,
}

/// Options of [`verify_round`] and [`verify_inclusion_with`].
#[derive(Debug, Clone, Default)]
pub struct RoundOptions<'a> {
    /// The previous round's bundle: check that this round names it and proves the link.
    pub previous: Option<&'a RoundBundle>,
    /// Which Groth16 verifying keys are accepted: those pinned key manifests name for each
    /// proof's circuit (the default pins none, so a Groth16 round is refused), or, knowingly,
    /// the bundle's own ([`TrustedKeys::InsecureBundleKeys`]; whoever made them can forge
    /// proofs). Halo2 rounds ignore it (their keys are re-derived). See `docs/solvency.md`.
    pub trusted_keys: TrustedKeys<'a>,
    /// The customer's pin of the exchange's Ed25519 publication key (hex): a bundle signed by
    /// another key is refused.
    pub publication_key: Option<&'a str>,
    /// The hash of the bundle an auditor verified (hex, [`RoundBundle::hash`]): another bundle
    /// is refused.
    pub bundle_hash: Option<&'a str>,
    /// Where Halo2 IPA parameters come from (a cache on disk, say); `None` regenerates them
    /// (deterministic, but slow for large `k`).
    #[cfg(feature = "halo2")]
    pub halo2_params: Option<&'a dyn crate::halo2::ParamsSource>,
    /// The largest circuit size `k` a Halo2 round may need (its batch size and fan-in decide
    /// it): a larger one is refused before any parameter or key is made, so that a bundle
    /// cannot make a verifier spend minutes and gigabytes. `None`:
    /// [`DEFAULT_HALO2_MAX_K`](crate::halo2::DEFAULT_HALO2_MAX_K).
    #[cfg(feature = "halo2")]
    pub halo2_max_k: Option<u32>,
    /// Where the proofs a bundle keeps in files come from (STARK rounds: `proofs/<sha256>.bin`
    /// next to `round.json`, see [`ProofDir`]); `None` refuses such a bundle with a reason.
    pub proofs: Option<&'a dyn ProofSource>,
}

/// The largest proof file read ([`ProofDir`]): 64 MiB (a STARK batch proof of the largest
/// shape is a few MB).
pub const MAX_PROOF_FILE_BYTES: u64 = 64 << 20;

/// A source of proofs that a bundle names by the SHA-256 of their bytes.
pub trait ProofSource: std::fmt::Debug + Sync {
    /// The bytes of the proof whose SHA-256 is `hash` (64 lower-case hex digits); `what` names
    /// the proof in errors. An implementation must return only bytes that hash to `hash`.
    ///
    /// # Errors
    /// [`VerifyError::ProofFile`]: unreadable, missing, too large, or another hash.
    fn proof(&self, hash: &str, what: &str) -> Result<Vec<u8>, VerifyError>;
}

/// Proofs in the folder of a bundle: `DIR/proofs/<sha256>.bin`. The name is checked to be a
/// SHA-256 in hex before any path is formed (no traversal), the file's size is bounded by
/// [`MAX_PROOF_FILE_BYTES`], and its bytes must hash to its name.
#[derive(Debug, Clone)]
pub struct ProofDir {
    dir: std::path::PathBuf,
}

impl ProofDir {
    /// The proofs of the bundle in folder `dir` (the folder of `round.json`).
    pub fn new(dir: impl Into<std::path::PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The proofs next to the bundle file `round_json` (its parent folder; `.` for a bare
    /// file name).
    pub fn beside(round_json: &std::path::Path) -> Self {
        let dir = round_json
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        Self::new(dir)
    }

    /// The path of the proof named `hash`, relative to the folder: `proofs/<hash>.bin`.
    pub fn relative(hash: &str) -> String {
        format!("proofs/{hash}.bin")
    }
}

/// Whether `s` is a SHA-256 in lower-case hex.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ProofSource for ProofDir {
    fn proof(&self, hash: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
        if !is_sha256_hex(hash) {
            return Err(VerifyError::ProofFile {
                proof: what.into(),
                file: format!("{hash:?}"),
                message: "the bundle's proof name is not a SHA-256 in lower-case hex".into(),
            });
        }
        let file = Self::relative(hash);
        let err = |m: String| VerifyError::ProofFile {
            proof: what.into(),
            file: file.clone(),
            message: m,
        };
        let path = self.dir.join(&file);
        let meta = std::fs::metadata(&path).map_err(|e| err(format!("cannot read: {e}")))?;
        if meta.len() > MAX_PROOF_FILE_BYTES {
            return Err(err(format!(
                "{} bytes, more than the {MAX_PROOF_FILE_BYTES} a proof may have",
                meta.len()
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| err(format!("cannot read: {e}")))?;
        let actual = crate::sha256_hex(&bytes);
        if actual != hash {
            return Err(err(format!(
                "its bytes hash to {actual}, not to the name the bundle gives it (altered or swapped file)"
            )));
        }
        Ok(bytes)
    }
}

/// A proof of the round to verify and its index in [`Round::verified`].
struct Pending<'a, F> {
    at: usize,
    proof: RoundProof<'a, F>,
}

impl<'a, F> Pending<'a, F> {
    /// Proof `at` of the round: `entry`, its public inputs (checked against the bundle), its
    /// circuit and its name in errors.
    fn new(
        at: usize,
        entry: &'a ProofEntry,
        inputs: Vec<F>,
        circuit: CircuitId,
        what: String,
    ) -> Self {
        Self {
            at,
            proof: RoundProof {
                entry,
                inputs,
                circuit,
                what,
            },
        }
    }
}

/// A bundle with its configuration checked and its keys decoded; `D` holds the bundle (a
/// borrow for one check, an `Arc` for a [`PreparedRound`]).
struct Round<D: std::ops::Deref<Target = RoundBundle>, B: VerifyingBackend> {
    b: D,
    cfg: CheckedConfig<B::F>,
    keys: B::RoundKeys,
    /// Proof counts per aggregation level.
    depth_batch: u32,
    /// Which proofs already verified (batch proofs, then each aggregation level in order):
    /// the bundle is immutable and every proof's public inputs are derived from it alone, so
    /// a prepared round verifies each proof once, whichever records reach it.
    verified: Box<[std::sync::atomic::AtomicBool]>,
    /// The bundle's hash ([`RoundBundle::hash`]), computed once.
    hash: String,
    /// The bytes its signature covers ([`RoundBundle::signed_body`]), from the same
    /// serialization; taken (and freed) by [`Self::check_signature`], so a prepared round does
    /// not keep a second copy of its bundle.
    body: Vec<u8>,
}

fn name_batch(j: usize) -> String {
    format!("batch proof {j}")
}
fn name_agg(level: usize, i: usize, top: bool) -> String {
    if top {
        "top proof".into()
    } else {
        format!("aggregation proof (level {}, #{i})", level + 1)
    }
}

/// A canonical decimal field element of the backend's field.
pub(crate) fn dec<F: StatementField>(s: &str, field: &str) -> Result<F, FormatError> {
    from_decimal::<F>(s).ok_or_else(|| {
        FormatError::field(
            field,
            format!(
                "{s:?} is not a canonical decimal element of the {} field",
                F::NAME
            ),
        )
    })
}

fn inputs_of<F: StatementField>(e: &ProofEntry, what: &str) -> Result<Vec<F>, FormatError> {
    e.public_inputs
        .iter()
        .enumerate()
        .map(|(i, s)| dec::<F>(s, &format!("{what}.public_inputs[{i}]")))
        .collect()
}

fn expect_input<F: StatementField>(
    what: &str,
    name: &str,
    found: &F,
    expected: &F,
) -> Result<(), VerifyError> {
    if found != expected {
        return Err(VerifyError::PublicInput {
            proof: what.into(),
            input: name.into(),
            found: to_decimal(found),
            expected: to_decimal(expected),
        });
    }
    Ok(())
}

impl<D: std::ops::Deref<Target = RoundBundle>, B: VerifyingBackend> Round<D, B> {
    fn open(b: D, opts: &RoundOptions<'_>) -> Result<Self, VerifyError> {
        let section = b.section()?;
        let cfg = CheckedConfig::convert::<B::F>(&b.config)?;
        let bsz = b.config.batch_size as u64;
        if !b.leaf_count.is_power_of_two() || b.leaf_count < bsz || b.leaf_count > 1 << 32 {
            return Err(VerifyError::Structure(format!(
                "leaf_count {} is not a power of two from batch_size to 2^32",
                b.leaf_count
            )));
        }
        let batches = (b.leaf_count / bsz) as usize;
        if b.batches.len() != batches {
            return Err(VerifyError::Structure(format!(
                "{} leaves in batches of {bsz} make {batches} batch proofs, the bundle has {}",
                b.leaf_count,
                b.batches.len()
            )));
        }
        let expected = level_sizes(batches, b.config.fan_in);
        let found: Vec<usize> = b.aggregations.iter().map(Vec::len).collect();
        if found != expected {
            return Err(VerifyError::Structure(format!(
                "aggregation levels hold {found:?} proofs, {batches} batches with fan-in {} need {expected:?}",
                b.config.fan_in
            )));
        }
        if let Some(c) = section.circuits {
            if c.backend() != B::BACKEND {
                return Err(VerifyError::Structure(format!(
                    "a {} bundle carries a `{}` section for {}: mislabelled or mixed bundle",
                    B::BACKEND,
                    section.field,
                    c.backend()
                )));
            }
        }
        let keys = B::open_round(&b, section, &cfg, opts)?;
        let (hash, body) = b.hash_and_signed_body();
        let depth_batch = b.config.batch_size.trailing_zeros();
        let proofs = b.batches.len() + found.iter().sum::<usize>();
        Ok(Self {
            cfg,
            keys,
            depth_batch,
            verified: (0..proofs)
                .map(|_| std::sync::atomic::AtomicBool::new(false))
                .collect(),
            hash,
            body,
            b,
        })
    }

    /// The index of aggregation `(level, i)` in [`Self::verified`].
    fn agg_index(&self, level: usize, i: usize) -> usize {
        self.b.batches.len()
            + self.b.aggregations[..level]
                .iter()
                .map(Vec::len)
                .sum::<usize>()
            + i
    }

    /// Verifies the proofs not verified before, together where the backend can; remembers
    /// them once they have.
    fn verify_once(&self, proofs: &[Pending<'_, B::F>]) -> Result<(), VerifyError> {
        use std::sync::atomic::Ordering;
        let pending: Vec<&Pending<'_, B::F>> = proofs
            .iter()
            .filter(|p| !self.verified[p.at].load(Ordering::Acquire))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let batch: Vec<&RoundProof<'_, B::F>> = pending.iter().map(|p| &p.proof).collect();
        B::verify_round_proofs(&self.keys, &batch)?;
        for p in pending {
            self.verified[p.at].store(true, Ordering::Release);
        }
        Ok(())
    }

    fn shape(&self) -> Shape {
        self.cfg.shape
    }

    fn top_level(&self) -> usize {
        self.b.aggregations.len() - 1
    }

    /// Public inputs of the children of aggregation `(level, i)`.
    fn children(&self, level: usize, i: usize) -> (Vec<&ProofEntry>, bool) {
        let below: Vec<&ProofEntry> = if level == 0 {
            self.b.batches.iter().collect()
        } else {
            self.b.aggregations[level - 1].iter().collect()
        };
        let f = self.b.config.fan_in.min(below.len());
        (below[i * f..(i + 1) * f].to_vec(), level == 0)
    }

    /// Checks everything about batch proof `j` except the pairing; returns its inputs.
    fn check_batch(&self, j: usize) -> Result<Vec<B::F>, VerifyError> {
        let what = name_batch(j);
        let e = &self.b.batches[j];
        let inputs = inputs_of(e, &what)?;
        if inputs.len() != 3 {
            return Err(VerifyError::Structure(format!(
                "{what}: {} public inputs, not 3",
                inputs.len()
            )));
        }
        expect_input(&what, "round", &inputs[st::IN_ROUND], &self.cfg.round)?;
        if j > 0 && e.key != self.b.batches[0].key {
            return Err(VerifyError::Structure(format!(
                "{what}: a different key than batch proof 0"
            )));
        }
        Ok(inputs)
    }

    /// Checks aggregation `(level, i)` against its children's public inputs; returns its inputs.
    fn check_aggregation(&self, level: usize, i: usize) -> Result<Vec<B::F>, VerifyError> {
        let top = level == self.top_level();
        let what = name_agg(level, i, top);
        let e = &self.b.aggregations[level][i];
        let inputs = inputs_of(e, &what)?;
        let k = self.shape().num_assets;
        let n = if top { st::IN_RESERVES + k } else { 4 };
        if inputs.len() != n {
            return Err(VerifyError::Structure(format!(
                "{what}: {} public inputs, not {n}",
                inputs.len()
            )));
        }
        expect_input(&what, "round", &inputs[st::IN_ROUND], &self.cfg.round)?;
        let (children, from_batches) = self.children(level, i);
        let mut pairs = Vec::with_capacity(children.len());
        for (c, ce) in children.iter().enumerate() {
            let cwhat = if from_batches {
                name_batch(i * self.b.config.fan_in + c)
            } else {
                name_agg(level - 1, i * self.b.config.fan_in + c, false)
            };
            let ci = inputs_of::<B::F>(ce, &cwhat)?;
            if ci.len() <= st::IN_COMMITMENT {
                return Err(VerifyError::Structure(format!(
                    "{cwhat}: too few public inputs"
                )));
            }
            pairs.push((ci[st::IN_ROOT], ci[st::IN_COMMITMENT]));
        }
        expect_input(
            &what,
            "digest",
            &inputs[st::IN_DIGEST],
            &st::children_digest(&pairs),
        )?;
        if top {
            expect_input(
                &what,
                "previous_round",
                &inputs[st::IN_PREVIOUS],
                &self.cfg.previous,
            )?;
            for (a, r) in self.cfg.reserves.iter().enumerate() {
                let name = format!("reserves[{}]", self.b.config.assets[a].symbol);
                expect_input(
                    &what,
                    &name,
                    &inputs[st::IN_RESERVES + a],
                    &B::F::from_u128(*r),
                )?;
            }
            let root = dec::<B::F>(&self.b.global_root, "global_root")?;
            expect_input(&what, "root (global_root)", &inputs[st::IN_ROOT], &root)?;
        }
        Ok(inputs)
    }

    /// The bundle's signature, and the caller's pins of its publication key and hash.
    fn check_signature(&mut self, opts: &RoundOptions<'_>) -> Result<(), VerifyError> {
        let body = std::mem::take(&mut self.body);
        check_bundle_signature(&self.b, opts, &self.hash, &body)
    }
}

/// The bundle's signature, and the caller's pins of its publication key and hash (every
/// backend), given the bundle's hash (`actual`) and signed body (`body`), both from
/// [`RoundBundle::hash_and_signed_body`], computed once by the caller.
pub(crate) fn check_bundle_signature(
    b: &RoundBundle,
    opts: &RoundOptions<'_>,
    actual: &str,
    body: &[u8],
) -> Result<(), VerifyError> {
    if let Some(pk) = opts.publication_key {
        if !pk.eq_ignore_ascii_case(&b.publication_key) {
            return Err(VerifyError::Untrusted(format!(
                "the round is signed by publication key {}, not by the pinned key {pk}",
                b.publication_key
            )));
        }
    }
    if let Some(h) = opts.bundle_hash {
        if !h.eq_ignore_ascii_case(actual) {
            return Err(VerifyError::Untrusted(format!(
                "the bundle hashes to {actual}, not to the pinned bundle hash {h}"
            )));
        }
    }
    let key = signing::decode_public_key(&b.publication_key, "publication_key")?;
    signing::verify(&key, ROUND_DOMAIN, body, &b.signature, "round bundle")
}

/// The checks of a record that do not depend on the backend: version, round, bundle hash
/// (`bundle_hash`: `b`'s, computed once by the caller), publication key and signature, and the
/// balances (one per asset, in order, each below `2^w`); returns the balances in smallest
/// units.
pub(crate) fn check_record(
    r: &InclusionRecord,
    b: &RoundBundle,
    bundle_hash: &str,
) -> Result<Vec<u128>, VerifyError> {
    let inc = |m: String| VerifyError::Inclusion(m);
    if r.version != ROUND_VERSION {
        return Err(FormatError::Version {
            what: "inclusion record".into(),
            found: r.version,
            supported: ROUND_VERSION,
        }
        .into());
    }
    if r.round_id != b.config.round_id {
        return Err(inc(format!(
            "the record is for round {:?}, the bundle is round {:?}",
            r.round_id, b.config.round_id
        )));
    }
    if r.bundle_hash != bundle_hash {
        return Err(inc(
            "the record names another bundle (bundle_hash differs)".into()
        ));
    }
    if r.publication_key != b.publication_key {
        return Err(inc(
            "the record is signed by another key than the round's".into()
        ));
    }
    let key = signing::decode_public_key(&b.publication_key, "publication_key")?;
    signing::verify(
        &key,
        RECORD_DOMAIN,
        &r.signed_body(),
        &r.signature,
        "inclusion record",
    )?;

    // The leaf, from what the customer knows.
    let assets = &b.config.assets;
    if r.balances.len() != assets.len() {
        return Err(inc(format!(
            "{} balances for {} assets",
            r.balances.len(),
            assets.len()
        )));
    }
    let mut balances = Vec::with_capacity(assets.len());
    for (i, (be, a)) in r.balances.iter().zip(assets).enumerate() {
        if be.symbol != a.symbol {
            return Err(inc(format!(
                "balances[{i}] is {:?}, the round's asset {i} is {:?}",
                be.symbol, a.symbol
            )));
        }
        let u = amount::parse_units(&be.amount, a.decimals, b.config.balance_bits)
            .map_err(|e| FormatError::field(format!("balances[{i}].amount"), e.to_string()))?;
        balances.push(u);
    }
    Ok(balances)
}

/// Proof counts per aggregation level for `batches` batches and fan-in `f`: at least one level
/// (the top), each level `ceil(n / f)` proofs, until one remains.
pub fn level_sizes(batches: usize, f: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut n = batches;
    loop {
        n = n.div_ceil(f);
        out.push(n);
        if n <= 1 {
            return out;
        }
    }
}

/// The auditor's check: every proof of the round, every public input, the signature, and
/// (with [`RoundOptions::previous`]) the link to the previous round.
///
/// # Errors
/// The first failed check, naming the proof and input.
pub fn verify_round(b: &RoundBundle, opts: &RoundOptions<'_>) -> Result<RoundReport, VerifyError> {
    #[cfg(feature = "stark")]
    if b.backend == crate::Backend::Stark.name() {
        return crate::stark::round::verify_round(b, opts);
    }
    struct V<'a>(&'a RoundBundle, &'a RoundOptions<'a>);
    impl Visitor for V<'_> {
        type Output = Result<RoundReport, VerifyError>;
        fn visit<B: VerifyingBackend>(self) -> Self::Output {
            verify_round_as::<B>(self.0, self.1)
        }
    }
    with_backend(b, V(b, opts))
}

/// Runs `v` with the verifier of the bundle's backend.
fn with_backend<V: Visitor<Output = Result<T, VerifyError>>, T>(
    b: &RoundBundle,
    v: V,
) -> Result<T, VerifyError> {
    let unsupported = || VerifyError::Backend(b.backend.clone());
    let backend = Backend::from_name(&b.backend).ok_or_else(unsupported)?;
    dispatch(backend, v).unwrap_or_else(|| Err(unsupported()))
}

/// A round prepared once for many customer checks: its structure and configuration checked,
/// its verifying keys opened once (Groth16: decoded, prepared and checked against the pinned
/// manifests; Halo2: re-derived from the circuits and their parameters), its signature and the
/// caller's pins (publication key, bundle hash) checked. Each
/// [`verify_inclusion`](PreparedRound::verify_inclusion) then establishes exactly what
/// [`verify_inclusion_with`] does under the options the round was prepared with, without
/// opening the keys again. Cheap to share between threads (`Arc`).
pub struct PreparedRound {
    backend: Backend,
    inner: Box<dyn PreparedInclusion>,
}

impl std::fmt::Debug for PreparedRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedRound")
            .field("bundle_hash", &self.bundle_hash())
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

pub(crate) trait PreparedInclusion: Send + Sync {
    fn inclusion(&self, r: &InclusionRecord) -> Result<InclusionReport, VerifyError>;
    fn bundle(&self) -> &RoundBundle;
    /// The bundle's hash ([`RoundBundle::hash`]), computed when the round was opened.
    fn bundle_hash(&self) -> &str;
    /// Verifies ahead of any record what every record's check shares (see
    /// [`PreparedRound::verify_shared_proofs`]); nothing where preparing already did.
    fn shared(&self) -> Result<(), VerifyError> {
        Ok(())
    }
}

impl<B: VerifyingBackend> PreparedInclusion for Round<std::sync::Arc<RoundBundle>, B> {
    fn inclusion(&self, r: &InclusionRecord) -> Result<InclusionReport, VerifyError> {
        Round::inclusion(self, r)
    }
    fn bundle(&self) -> &RoundBundle {
        &self.b
    }
    fn bundle_hash(&self) -> &str {
        &self.hash
    }
    fn shared(&self) -> Result<(), VerifyError> {
        self.verify_shared_proofs()
    }
}

impl PreparedRound {
    /// Checks the bundle and opens its keys once (see the type).
    ///
    /// # Errors
    /// The first failed check of the bundle, its keys, its signature or the caller's pins.
    pub fn prepare(
        bundle: std::sync::Arc<RoundBundle>,
        opts: &RoundOptions<'_>,
    ) -> Result<Self, VerifyError> {
        struct V<'a>(std::sync::Arc<RoundBundle>, &'a RoundOptions<'a>);
        impl Visitor for V<'_> {
            type Output = Result<Box<dyn PreparedInclusion>, VerifyError>;
            fn visit<B: VerifyingBackend>(self) -> Self::Output {
                let mut round = Round::<_, B>::open(self.0, self.1)?;
                round.check_signature(self.1)?;
                Ok(Box::new(round))
            }
        }
        let backend = Backend::from_name(&bundle.backend)
            .ok_or_else(|| VerifyError::Backend(bundle.backend.clone()))?;
        #[cfg(feature = "stark")]
        if backend == Backend::Stark {
            let round = crate::stark::round::StarkRound::open(bundle, opts)?;
            return Ok(Self {
                backend,
                inner: Box::new(round),
            });
        }
        let inner = with_backend(&bundle.clone(), V(bundle, opts))?;
        Ok(Self { backend, inner })
    }

    /// The customer's check of one record against the prepared round (as
    /// [`verify_inclusion_with`]).
    ///
    /// # Errors
    /// The first failed check.
    pub fn verify_inclusion(&self, r: &InclusionRecord) -> Result<InclusionReport, VerifyError> {
        self.inner.inclusion(r)
    }

    /// Verifies, before any record is given, the proofs that every record's path shares: the
    /// aggregation proofs of every level, the top proof included (a STARK round verified every
    /// proof when it was prepared). They are remembered as verified, so a record then costs its
    /// own batch proof, leaf and path. Time spent here is time a page can spend while its
    /// customer looks for the record file; nothing is decided by it: a proof that fails is not
    /// remembered, and a record's check that reaches it reports the same error.
    ///
    /// # Errors
    /// The first shared proof, in order, whose public inputs or proof do not check.
    pub fn verify_shared_proofs(&self) -> Result<(), VerifyError> {
        self.inner.shared()
    }

    /// The prepared bundle's hash ([`RoundBundle::hash`]).
    pub fn bundle_hash(&self) -> &str {
        self.inner.bundle_hash()
    }

    /// The prepared bundle's backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The prepared bundle.
    pub fn bundle(&self) -> &RoundBundle {
        self.inner.bundle()
    }
}

/// The link to the previous round given in `opts` (if any): `b` names its hash, and it is
/// another round.
pub(crate) fn check_previous(b: &RoundBundle, opts: &RoundOptions<'_>) -> Result<(), VerifyError> {
    if let Some(prev) = opts.previous {
        let h = prev.hash();
        if b.config.previous_round.as_deref() != Some(h.as_str()) {
            return Err(VerifyError::Chain(format!(
                "this round names previous_round {:?}; the given previous bundle hashes to {h}",
                b.config.previous_round
            )));
        }
        if prev.config.round_id == b.config.round_id {
            return Err(VerifyError::Chain(
                "the previous round has the same round_id".into(),
            ));
        }
    }
    Ok(())
}

impl<D: std::ops::Deref<Target = RoundBundle>, B: VerifyingBackend> Round<D, B> {
    /// The proofs every customer's path shares (each aggregation level's, the top's included):
    /// their public inputs checked against the bundle, then the proofs verified together and
    /// remembered. The first failure, in order, is reported and nothing failed is remembered.
    fn verify_shared_proofs(&self) -> Result<(), VerifyError> {
        let mut shared = Vec::new();
        self.pending_aggregations(&mut shared)?;
        self.verify_in_chunks(&shared)
    }

    /// The auditor's part: every proof's public inputs checked against the bundle, then every
    /// proof verified (the first failure, in order, reported).
    fn verify_every_proof(&self) -> Result<(), VerifyError> {
        let b: &RoundBundle = &self.b;
        // Every proof's public inputs first, then the proofs.
        let mut all = Vec::with_capacity(self.verified.len());
        for j in 0..b.batches.len() {
            all.push(Pending::new(
                j,
                &b.batches[j],
                self.check_batch(j)?,
                CircuitId::Batch,
                name_batch(j),
            ));
        }
        self.pending_aggregations(&mut all)?;
        self.verify_in_chunks(&all)
    }

    /// Appends every aggregation proof, level by level, with its public inputs checked.
    fn pending_aggregations<'s>(
        &'s self,
        to: &mut Vec<Pending<'s, B::F>>,
    ) -> Result<(), VerifyError> {
        let b: &'s RoundBundle = &self.b;
        for (level, proofs) in b.aggregations.iter().enumerate() {
            for (i, entry) in proofs.iter().enumerate() {
                to.push(Pending::new(
                    self.agg_index(level, i),
                    entry,
                    self.check_aggregation(level, i)?,
                    CircuitId::Aggregation(level),
                    name_agg(level, i, level == self.top_level()),
                ));
            }
        }
        Ok(())
    }

    /// Verifies `proofs` a chunk at a time (batched where the backend can; a chunk bounds the
    /// memory a batch check holds).
    fn verify_in_chunks(&self, proofs: &[Pending<'_, B::F>]) -> Result<(), VerifyError> {
        for chunk in proofs.chunks(AUDIT_CHUNK) {
            self.verify_once(chunk)?;
        }
        Ok(())
    }
}

/// Proofs checked together by the auditor's check (one batched pairing check on Groth16).
const AUDIT_CHUNK: usize = 256;

fn verify_round_as<B: VerifyingBackend>(
    b: &RoundBundle,
    opts: &RoundOptions<'_>,
) -> Result<RoundReport, VerifyError> {
    let mut round = Round::<_, B>::open(b, opts)?;
    round.check_signature(opts)?;
    check_previous(b, opts)?;
    round.verify_every_proof()?;
    Ok(RoundReport::of(b, B::BACKEND, opts.previous.is_some()))
}

/// The customer's check: the record is signed by the round's publisher, its leaf (recomputed
/// from the balances, user id and salt) reaches the round's global root through its path, and
/// every proof on that path verifies (the batch proof and one aggregation per level).
/// With the default options no Groth16 key is pinned, so only Halo2 rounds pass here; use
/// [`verify_inclusion_with`] and [`RoundOptions::trusted_keys`] for Groth16.
///
/// # Errors
/// The first failed check.
pub fn verify_inclusion(
    r: &InclusionRecord,
    b: &RoundBundle,
) -> Result<InclusionReport, VerifyError> {
    verify_inclusion_with(r, b, &RoundOptions::default())
}

/// [`verify_inclusion`] with options (trusted keys, the pinned publication key or bundle
/// hash, a source of Halo2 parameters; `previous` is ignored).
///
/// # Errors
/// The first failed check.
pub fn verify_inclusion_with(
    r: &InclusionRecord,
    b: &RoundBundle,
    opts: &RoundOptions<'_>,
) -> Result<InclusionReport, VerifyError> {
    #[cfg(feature = "stark")]
    if b.backend == crate::Backend::Stark.name() {
        return crate::stark::round::verify_inclusion(r, b, opts);
    }
    struct V<'a>(&'a InclusionRecord, &'a RoundBundle, &'a RoundOptions<'a>);
    impl Visitor for V<'_> {
        type Output = Result<InclusionReport, VerifyError>;
        fn visit<B: VerifyingBackend>(self) -> Self::Output {
            verify_inclusion_as::<B>(self.0, self.1, self.2)
        }
    }
    with_backend(b, V(r, b, opts))
}

fn verify_inclusion_as<B: VerifyingBackend>(
    r: &InclusionRecord,
    b: &RoundBundle,
    opts: &RoundOptions<'_>,
) -> Result<InclusionReport, VerifyError> {
    let mut round = Round::<_, B>::open(b, opts)?;
    round.check_signature(opts)?;
    round.inclusion(r)
}

impl<D: std::ops::Deref<Target = RoundBundle>, B: VerifyingBackend> Round<D, B> {
    /// Everything of the customer's check after the bundle's keys and signature.
    fn inclusion(&self, r: &InclusionRecord) -> Result<InclusionReport, VerifyError> {
        let round = self;
        let b: &RoundBundle = &self.b;
        let inc = |m: String| VerifyError::Inclusion(m);
        let balances: Vec<B::F> = check_record(r, b, &self.hash)?
            .into_iter()
            .map(B::F::from_u128)
            .collect();
        let uid = encoding::hash_to_field_in::<B::F>(r.user_id.as_bytes())
            .map_err(|e| FormatError::field("user_id", e.to_string()))?;
        let salt = dec::<B::F>(&r.salt, "salt")?;
        let leaf = st::leaf(st::account_id(uid, salt), &balances);

        // The path, keeping every node on the way up.
        let depth = b.leaf_count.trailing_zeros() as usize;
        if r.path.len() != depth {
            return Err(inc(format!(
                "the path has {} siblings, the tree depth is {depth}",
                r.path.len()
            )));
        }
        if r.leaf_index >= b.leaf_count {
            return Err(inc(format!(
                "leaf_index {} is outside the tree of {}",
                r.leaf_index, b.leaf_count
            )));
        }
        let mut nodes = vec![leaf];
        for (h, s) in r.path.iter().enumerate() {
            let s = dec::<B::F>(s, &format!("path[{h}]"))?;
            let cur = nodes[h];
            nodes.push(if (r.leaf_index >> h) & 1 == 1 {
                merkle::node(s, cur)
            } else {
                merkle::node(cur, s)
            });
        }
        let root = dec::<B::F>(&b.global_root, "global_root")?;
        if nodes[depth] != root {
            return Err(inc("the leaf and path do not lead to the round's global root: these balances, this user id and salt, or this position are not in the tree".into()));
        }

        // The proofs on the path: each one's public inputs (its root the path's node at its
        // height), then the proofs together (each verified once in a prepared round).
        let mut path = Vec::with_capacity(1 + b.aggregations.len());
        let j = (r.leaf_index >> round.depth_batch) as usize;
        let inputs = round.check_batch(j)?;
        let what = name_batch(j);
        expect_input(
            &what,
            "root",
            &inputs[st::IN_ROOT],
            &nodes[round.depth_batch as usize],
        )?;
        path.push(Pending::new(
            j,
            &b.batches[j],
            inputs,
            CircuitId::Batch,
            what,
        ));
        let f = b.config.fan_in;
        let mut idx = j;
        let mut height = round.depth_batch as usize;
        for level in 0..b.aggregations.len() {
            let below = if level == 0 {
                b.batches.len()
            } else {
                b.aggregations[level - 1].len()
            };
            let group = f.min(below);
            idx /= group;
            height += group.trailing_zeros() as usize;
            let top = level == round.top_level();
            let what = name_agg(level, idx, top);
            let inputs = round.check_aggregation(level, idx)?;
            expect_input(&what, "root", &inputs[st::IN_ROOT], &nodes[height])?;
            path.push(Pending::new(
                round.agg_index(level, idx),
                &b.aggregations[level][idx],
                inputs,
                CircuitId::Aggregation(level),
                what,
            ));
        }
        round.verify_once(&path)?;
        let checked = path.into_iter().map(|p| p.proof.what).collect();
        Ok(InclusionReport {
            round_id: r.round_id.clone(),
            user_id: r.user_id.clone(),
            backend: B::BACKEND.name().into(),
            balances: r.balances.clone(),
            proofs_checked: checked,
            global_root: b.global_root.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groth16::Groth16Backend;
    use std::sync::atomic::Ordering;

    fn frozen_v1() -> RoundBundle {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/solvency/frozen/v1/round.json"
        );
        RoundBundle::parse(&std::fs::read(path).unwrap(), "round").unwrap()
    }

    fn opts() -> RoundOptions<'static> {
        RoundOptions {
            trusted_keys: TrustedKeys::InsecureBundleKeys,
            ..RoundOptions::default()
        }
    }

    fn batch(round: &Round<&RoundBundle, Groth16Backend>, j: usize) -> Result<(), VerifyError> {
        let inputs = round.check_batch(j)?;
        let what = name_batch(j);
        round.verify_once(&[Pending::new(
            j,
            &round.b.batches[j],
            inputs,
            CircuitId::Batch,
            what,
        )])
    }

    /// A round verifies each proof once: a proof that verified is remembered, one that did
    /// not is checked again each time (and still fails), and the others are not affected.
    #[test]
    fn a_round_remembers_only_the_proofs_that_verified() {
        let mut b = frozen_v1();
        // Batch proofs 1 and 2 swapped: each a valid proof of the other's public inputs.
        let p1 = b.batches[1].proof.clone();
        b.batches[1].proof = std::mem::replace(&mut b.batches[2].proof, p1);
        let round = Round::<_, Groth16Backend>::open(&b, &opts()).unwrap();
        let seen = |i: usize| round.verified[i].load(Ordering::Acquire);
        assert_eq!(round.verified.len(), 7);
        assert!((0..7).all(|i| !seen(i)));
        batch(&round, 0).unwrap();
        assert!(seen(0));
        for _ in 0..2 {
            let e = batch(&round, 1).unwrap_err().to_string();
            assert!(
                e.starts_with("batch proof 1: the Groth16 proof does not verify"),
                "{e}"
            );
            assert!(!seen(1));
        }
        batch(&round, 0).unwrap();
        batch(&round, 3).unwrap();
        assert!(seen(3) && !seen(2));
        assert_eq!(round.agg_index(0, 1), 5);
        assert_eq!(round.agg_index(1, 0), 6);
        // The auditor's check names the first false proof, in order.
        let fresh = Round::<_, Groth16Backend>::open(&b, &opts()).unwrap();
        let e = fresh.verify_every_proof().unwrap_err();
        assert!(e.to_string().starts_with("batch proof 1: "), "{e}");
    }

    /// The shared proofs (every aggregation level) are verified and remembered ahead of any
    /// record; batch proofs are left to the records; a false shared proof is named and never
    /// remembered, and the record's check still reports it.
    #[test]
    fn a_prepared_round_verifies_the_shared_proofs_ahead_of_the_records() {
        let b = frozen_v1();
        let round = Round::<_, Groth16Backend>::open(&b, &opts()).unwrap();
        let seen = |r: &Round<_, Groth16Backend>, i: usize| r.verified[i].load(Ordering::Acquire);
        round.verify_shared_proofs().unwrap();
        assert!(
            (0..4).all(|i| !seen(&round, i)),
            "batch proofs are the records'"
        );
        assert!(
            (4..7).all(|i| seen(&round, i)),
            "every aggregation proof remembered"
        );

        // The two level-1 aggregation proofs swapped: each valid for the other's inputs.
        let mut bad = frozen_v1();
        let a0 = bad.aggregations[0][0].proof.clone();
        bad.aggregations[0][0].proof = std::mem::replace(&mut bad.aggregations[0][1].proof, a0);
        let round = Round::<_, Groth16Backend>::open(&bad, &opts()).unwrap();
        let e = round.verify_shared_proofs().unwrap_err().to_string();
        assert!(e.starts_with("aggregation proof (level 1, #0): "), "{e}");
        assert!(
            (0..7).all(|i| !seen(&round, i)),
            "nothing failed is remembered"
        );
        let e = batch(&round, 0).and_then(|()| round.verify_shared_proofs());
        assert!(e
            .unwrap_err()
            .to_string()
            .starts_with("aggregation proof (level 1, #0): "));
    }
}
