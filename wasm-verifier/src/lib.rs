//! Assay's verifiers compiled to WebAssembly, for browsers and Node.js (DESIGN §4).
//!
//! Two checks, each returning a [`VerifyResult`] `{valid, reason, ms, checks, backend, trust}`:
//!
//! * [`verify_inclusion`] (`verifyInclusion(recordJson, roundJson, manifestsJson,
//!   publicationKey, paramsByK?, halo2MaxK?)` in JS): a customer's inclusion record against the
//!   round bundle (the leaf from the balances and salt, the path to the global root, the proofs
//!   on that path), Groth16 keys checked against the pinned key manifests (a JSON array; `[]`
//!   refuses Groth16 rounds), and the round's publication key against the customer's pin (`""`
//!   for none);
//! * [`PreparedRound`] (`prepareRound(roundJson, manifestsJson, publicationKey, paramsByK?,
//!   halo2MaxK?)`, then `.verifyInclusion(recordJson)` per record): the same check with the
//!   round's keys opened once, for a page or a service that checks many records of one round;
//! * Halo2 rounds (no trusted setup): their verifying keys are re-derived from the public
//!   circuits, which needs the IPA parameters of each circuit size `k`. Making them
//!   (`Params::new(k)`) takes seconds to minutes, so the page fetches the files and passes
//!   them as `paramsByK` (`{9: Uint8Array}` or a `Map`); `halo2_params_needed`
//!   (`halo2ParamsNeeded(roundJson)`) says which `k`s. Each file is accepted only if its SHA-256
//!   is the hash pinned for its `k` in `assay-verifier` (parameters are deterministic: anyone
//!   re-derives them), never because of where it came from; a round needing `k` above
//!   `halo2MaxK` (at most `halo2_max_k()`, the largest pinned `k`) is refused before any key is
//!   derived. Bad parameters (altered, truncated, another `k`, missing) are an invalid verdict
//!   with the reason;
//! * [`verify_kyc`] (`verifyKyc(proofJson, epochJson, epochChainJson, policyJson,
//!   challengeJson, issuerKeyJson, manifestsJson, nowSeconds)` in JS): a relying party's check
//!   of a KYC proof, whose epoch must be in the issuer's published epoch chain (a JSON array of
//!   the issuer's epoch files), a Groth16 proof only under the KYC key a pinned manifest names
//!   (`[]` refuses); in the Halo2 package, a last optional `paramsByK` (the IPA parameters of
//!   `kycHalo2K()`, hash-checked as for rounds) for Halo2 presentations.
//!
//! Two packages from this crate (`build.sh`): `assay_wasm_verifier`, built without the crate
//! feature `halo2`, verifies Groth16 rounds and presentations (what every page loads; a Halo2
//! round or presentation is an invalid verdict naming the other package), and
//! `assay_wasm_verifier_halo2`, built with it, verifies both backends and adds `paramsByK`,
//! `halo2MaxK` and `halo2ParamsNeeded` (about ten times larger: halo2_proofs, the Pasta curves
//! and the circuits' configuration code, needed to derive the keys). [`backends`] says which.
//!
//! A third package, `assay_wasm_verifier_stark` (crate feature `stark`: Plonky3's verifier,
//! KoalaBear and Poseidon2, built without Plonky3's `parallel` feature), verifies Groth16
//! rounds and STARK rounds: [`verify_stark_inclusion`] (`verifyStarkInclusion(recordJson,
//! roundJson, files, publicationKey)`) checks a record with the proof files the page fetched
//! (`files`: a `Map` or object from each file's SHA-256 to its bytes, each accepted only if it
//! hashes to its name), and [`stark_files_needed`] (`starkFilesNeeded(recordJson, roundJson)`)
//! lists the files a record's check reads, so the page fetches only those (see [`stark`]).
//!
//! No prover code and no proving key are linked: the crate depends on `assay-verifier` only.
//! Malformed input is an invalid verdict with the parser's message, never a panic or a throw.
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod checks;
#[cfg(feature = "stark")]
pub mod stark;

use wasm_bindgen::prelude::*;

/// The answer of a check.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyResult {
    /// Whether every check passed.
    pub valid: bool,
    /// Why not (which proof, which check, which input); `undefined` when valid.
    pub reason: Option<String>,
    /// Time spent in the check, in milliseconds.
    pub ms: f64,
    /// What was checked, in words.
    pub checks: Vec<String>,
    /// The round's publication key (hex), when the bundle parsed (for the page to show and
    /// remember).
    pub publication_key: Option<String>,
    /// The bundle's hash (hex), when the bundle parsed.
    pub bundle_hash: Option<String>,
    /// The proof system the round's proofs were checked with (`groth16-bn254`,
    /// `halo2-ipa-pasta`), when the bundle parsed.
    pub backend: Option<String>,
    /// Who must be trusted for a valid verdict to mean what it says, in one sentence (Groth16:
    /// the setup of the pinned manifest it names; Halo2: no trusted setup), once the round was
    /// prepared.
    pub trust: Option<String>,
}

#[wasm_bindgen]
impl VerifyResult {
    /// The result as a plain object (`{valid, reason, ms, checks, publication_key,
    /// bundle_hash, backend, trust}`).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> JsValue {
        // Built in place (no JSON text in between): `null` for an absent string, as JSON had.
        let o = js_sys::Object::new();
        let text = |s: &Option<String>| s.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        let checks: js_sys::Array = self.checks.iter().map(|c| JsValue::from_str(c)).collect();
        for (k, v) in [
            ("valid", JsValue::from_bool(self.valid)),
            ("reason", text(&self.reason)),
            ("ms", JsValue::from_f64(self.ms)),
            ("checks", checks.into()),
            ("publication_key", text(&self.publication_key)),
            ("bundle_hash", text(&self.bundle_hash)),
            ("backend", text(&self.backend)),
            ("trust", text(&self.trust)),
        ] {
            // Setting a property of a fresh plain object cannot fail.
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &v);
        }
        o.into()
    }
}

/// Milliseconds from `performance.now()` (browsers, Node.js), or `Date.now()` without it.
fn now_ms() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .filter(|p| !p.is_undefined() && !p.is_null());
    if let Some(p) = perf {
        if let Ok(f) = js_sys::Reflect::get(&p, &JsValue::from_str("now")) {
            if let Some(f) = f.dyn_ref::<js_sys::Function>() {
                if let Some(t) = f.call0(&p).ok().and_then(|v| v.as_f64()) {
                    return t;
                }
            }
        }
    }
    js_sys::Date::now()
}

fn timed(f: impl FnOnce() -> checks::Outcome) -> VerifyResult {
    let t = now_ms();
    let o = f();
    VerifyResult {
        valid: o.reason.is_none(),
        reason: o.reason,
        ms: now_ms() - t,
        checks: o.checks,
        publication_key: o.publication_key,
        bundle_hash: o.bundle_hash,
        backend: o.backend,
        trust: o.trust,
    }
}

/// Reads the caller's `paramsByK`: a plain object or a `Map` from `k` (a number, or its
/// decimal string as object keys are) to the parameter file's bytes (`Uint8Array` or
/// `ArrayBuffer`); `undefined`/`null` is none.
#[cfg(feature = "halo2")]
fn params_by_k(v: Option<js_sys::Object>) -> Result<Vec<(u32, Vec<u8>)>, String> {
    let Some(obj) = v.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(Vec::new());
    };
    let mut entries: Vec<(JsValue, JsValue)> = Vec::new();
    if let Some(m) = obj.dyn_ref::<js_sys::Map>() {
        m.for_each(&mut |v, k| entries.push((k, v)));
    } else {
        for e in js_sys::Object::entries(&obj).iter() {
            let pair = js_sys::Array::from(&e);
            entries.push((pair.get(0), pair.get(1)));
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let key = k
            .as_f64()
            .or_else(|| k.as_string().and_then(|s| s.trim().parse::<f64>().ok()))
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
            .ok_or_else(|| {
                format!("paramsByK: the key {k:?} is not a circuit size k (a whole number)")
            })? as u32;
        let bytes = if let Some(u) = v.dyn_ref::<js_sys::Uint8Array>() {
            u.to_vec()
        } else if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
            js_sys::Uint8Array::new(b).to_vec()
        } else {
            return Err(format!(
                "paramsByK[{key}]: not the parameter file's bytes (a Uint8Array or ArrayBuffer)"
            ));
        };
        out.push((key, bytes));
    }
    Ok(out)
}

#[cfg(feature = "halo2")]
fn halo2_input(params: Option<js_sys::Object>, max_k: Option<u32>) -> checks::Halo2Input {
    checks::Halo2Input {
        params: params_by_k(params),
        max_k,
    }
}

/// Checks a customer's inclusion record (`record_json`) against the round bundle
/// (`round_json`): the leaf from the balances and salt, the path to the global root, and the
/// proofs on that path. A Groth16 round must use the keys a manifest of `manifests_json` (a
/// JSON array of `assay solvency setup` manifests) names; a Halo2 round's keys are re-derived
/// from its circuits with the IPA parameters of `params_by_k` (each accepted only as the bytes
/// pinned for its `k`), for circuits of at most `halo2_max_k` (default and ceiling:
/// [`halo2_max_k`]); `publication_key` (hex; `""` for none) is the customer's pin of the
/// exchange's key.
#[cfg(feature = "halo2")]
#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion(
    record_json: &str,
    round_json: &str,
    manifests_json: &str,
    publication_key: &str,
    #[wasm_bindgen(js_name = paramsByK)] params_by_k: Option<js_sys::Object>,
    #[wasm_bindgen(js_name = halo2MaxK)] halo2_max_k: Option<u32>,
) -> VerifyResult {
    let pin = (!publication_key.is_empty()).then_some(publication_key);
    let h = halo2_input(params_by_k, halo2_max_k);
    timed(|| checks::inclusion(record_json, round_json, manifests_json, pin, &h))
}

/// Checks a customer's inclusion record (`record_json`) against the round bundle
/// (`round_json`): the leaf from the balances and salt, the path to the global root, and the
/// proofs on that path, which must be under the keys a manifest of `manifests_json` (a JSON
/// array of `assay solvency setup` manifests) names; `publication_key` (hex; `""` for none) is
/// the customer's pin of the exchange's key. This is the Groth16 package: a Halo2 round is an
/// invalid verdict naming the Halo2 package (`assay_wasm_verifier_halo2`), which verifies it.
#[cfg(not(feature = "halo2"))]
#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion(
    record_json: &str,
    round_json: &str,
    manifests_json: &str,
    publication_key: &str,
) -> VerifyResult {
    let pin = (!publication_key.is_empty()).then_some(publication_key);
    let h = checks::Halo2Input::default();
    timed(|| checks::inclusion(record_json, round_json, manifests_json, pin, &h))
}

/// A round prepared once for many inclusion checks (`prepareRound(roundJson, manifestsJson,
/// publicationKey, paramsByK?, halo2MaxK?)` in JS): the bundle parsed, its keys opened once
/// (Groth16: checked against the pinned manifests; Halo2: re-derived from the circuits with the
/// supplied, hash-checked IPA parameters, and required to be the keys every proof names), its
/// signature and the publication-key pin checked. A page keeps it for the session and calls
/// `verifyInclusion(recordJson)` per record; a bundle that failed is kept as its reason, which
/// every check answers (never a throw).
#[wasm_bindgen]
pub struct PreparedRound(checks::Prepared);

/// Prepares `round_json` for inclusion checks (see [`PreparedRound`] and
/// [`verify_inclusion`] for the arguments).
#[cfg(feature = "halo2")]
#[wasm_bindgen(js_name = prepareRound)]
pub fn prepare_round(
    round_json: &str,
    manifests_json: &str,
    publication_key: &str,
    #[wasm_bindgen(js_name = paramsByK)] params_by_k: Option<js_sys::Object>,
    #[wasm_bindgen(js_name = halo2MaxK)] halo2_max_k: Option<u32>,
) -> PreparedRound {
    let pin = (!publication_key.is_empty()).then_some(publication_key);
    let h = halo2_input(params_by_k, halo2_max_k);
    PreparedRound(checks::prepare(round_json, manifests_json, pin, &h))
}

/// Prepares `round_json` for inclusion checks (see [`PreparedRound`] and
/// [`verify_inclusion`] for the arguments). Groth16 package: a Halo2 round prepares as its
/// reason, naming the Halo2 package.
#[cfg(not(feature = "halo2"))]
#[wasm_bindgen(js_name = prepareRound)]
pub fn prepare_round(
    round_json: &str,
    manifests_json: &str,
    publication_key: &str,
) -> PreparedRound {
    let pin = (!publication_key.is_empty()).then_some(publication_key);
    PreparedRound(checks::prepare(
        round_json,
        manifests_json,
        pin,
        &checks::Halo2Input::default(),
    ))
}

/// The circuit sizes `k` whose IPA parameter files a Halo2 round needs (`halo2ParamsNeeded(
/// roundJson)` in JS), smallest first, each once; `[]` for a Groth16 round or a bundle that does
/// not parse (preparing it then gives the reason). Every `k` is checked against the round's
/// configuration first, so a bundle cannot make the page fetch other sizes; compare them with
/// [`halo2_max_k`] before fetching.
#[cfg(feature = "halo2")]
#[wasm_bindgen(js_name = halo2ParamsNeeded)]
pub fn halo2_params_needed(round_json: &str) -> Vec<u32> {
    checks::params_needed(round_json).unwrap_or_default()
}

/// What a bundle says about itself, unverified (`roundInfo(roundJson)` in JS): `{round_id,
/// publication_key, backend, bundle_hash}`, or `{error}` if it does not parse. A page given
/// several bundles uses it to check that they are one round (same round id, same publication
/// key) and to match each inclusion record (its `bundle_hash`) to its bundle before preparing
/// any; nothing it returns is a verdict.
#[wasm_bindgen(js_name = roundInfo)]
pub fn round_info(round_json: &str) -> JsValue {
    serde_json::to_string(&checks::round_info(round_json))
        .ok()
        .and_then(|t| js_sys::JSON::parse(&t).ok())
        .unwrap_or(JsValue::NULL)
}

/// The largest circuit size `k` this package verifies Halo2 rounds of (`halo2MaxK()` in JS):
/// the largest `k` whose IPA parameters are pinned (`2^16` rows, a 4 MiB parameter file).
#[cfg(feature = "halo2")]
#[wasm_bindgen(js_name = halo2MaxK)]
pub fn halo2_max_k() -> u32 {
    checks::halo2_max_k(None)
}

#[wasm_bindgen]
impl PreparedRound {
    /// Checks one customer's inclusion record against the prepared round (as
    /// `verifyInclusion`, without opening the round's keys again).
    #[wasm_bindgen(js_name = verifyInclusion)]
    pub fn verify_inclusion(&self, record_json: &str) -> VerifyResult {
        timed(|| self.0.inclusion(record_json))
    }

    /// Verifies the proofs that every record's path shares (the aggregation proofs, the top
    /// included) before any record is given, so that the first record then costs its own batch
    /// proof only: a page calls it while its customer looks for the record file. Returns
    /// `undefined` when they verified (or the round did not prepare), else the reason; nothing
    /// is decided by it: a record whose path reaches a false proof answers the same reason.
    #[wasm_bindgen(js_name = verifySharedProofs)]
    pub fn verify_shared_proofs(&self) -> Option<String> {
        self.0.shared()
    }

    /// The bundle's hash (hex), or `undefined` if it did not parse.
    #[wasm_bindgen(getter, js_name = bundleHash)]
    pub fn bundle_hash(&self) -> Option<String> {
        self.0.bundle_hash.clone()
    }

    /// The round's publication key (hex), or `undefined` if the bundle did not parse.
    #[wasm_bindgen(getter, js_name = publicationKey)]
    pub fn publication_key(&self) -> Option<String> {
        self.0.publication_key.clone()
    }

    /// The bundle's backend (`groth16-bn254`, `halo2-ipa-pasta`), or `undefined` if the bundle
    /// did not parse.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> Option<String> {
        self.0.backend.clone()
    }

    /// Who must be trusted for this round's verdicts, in one sentence, or `undefined` if the
    /// round did not prepare.
    #[wasm_bindgen(getter)]
    pub fn trust(&self) -> Option<String> {
        self.0.trust.clone()
    }

    /// Why the round could not be prepared, or `undefined` if it was (every record check then
    /// answers this reason).
    #[wasm_bindgen(getter)]
    pub fn error(&self) -> Option<String> {
        self.0.error()
    }
}

/// Checks a KYC proof as a relying party would: the epoch's signature and age, that the epoch
/// is one of the issuer's published chain `epoch_chain_json` (a JSON array of the epoch files
/// `kyc publish --chain DIR` writes, any order: checked as one unbroken chain signed by the
/// issuer, a fork or a bad signature refused), the policy, the challenge it names, and the
/// proof, at `now_seconds` (UNIX time); a Groth16 proof only under the KYC circuit's key that a
/// manifest of `manifests_json` (a JSON array of `assay solvency setup --kyc` manifests) names,
/// never under a key the issuer made itself. An epoch the issuer signed but did not publish
/// (one made for a single holder's path request, which would tag that holder) is refused with
/// the reason `kyc verify --epochs` gives. Groth16 package: a Halo2 presentation is an invalid
/// verdict naming the Halo2 package.
#[cfg(not(feature = "halo2"))]
#[wasm_bindgen(js_name = verifyKyc)]
#[allow(clippy::too_many_arguments)]
pub fn verify_kyc(
    proof_json: &str,
    epoch_json: &str,
    #[wasm_bindgen(js_name = epochChainJson)] epoch_chain_json: &str,
    policy_json: &str,
    challenge_json: &str,
    issuer_key_json: &str,
    manifests_json: &str,
    now_seconds: f64,
) -> VerifyResult {
    let h = checks::Halo2Input::default();
    timed(|| {
        checks::kyc(&kyc_inputs(
            [
                proof_json,
                epoch_json,
                epoch_chain_json,
                policy_json,
                challenge_json,
                issuer_key_json,
                manifests_json,
            ],
            now_seconds,
            &h,
        ))
    })
}

/// Checks a KYC proof as a relying party would (see the Groth16 package's `verifyKyc` for the
/// checks). A Halo2 presentation (no trusted setup) is checked with the KYC circuit's key
/// re-derived from the circuit and the IPA parameters of `params_by_k` (`{11: Uint8Array}` or a
/// `Map`; the `k` is [`kyc_halo2_k`]), accepted only as the bytes pinned for that `k`; without
/// them it is refused naming the missing `k` (parameters are never generated in the page).
#[cfg(feature = "halo2")]
#[wasm_bindgen(js_name = verifyKyc)]
#[allow(clippy::too_many_arguments)]
pub fn verify_kyc(
    proof_json: &str,
    epoch_json: &str,
    #[wasm_bindgen(js_name = epochChainJson)] epoch_chain_json: &str,
    policy_json: &str,
    challenge_json: &str,
    issuer_key_json: &str,
    manifests_json: &str,
    now_seconds: f64,
    #[wasm_bindgen(js_name = paramsByK)] params_by_k: Option<js_sys::Object>,
) -> VerifyResult {
    let h = halo2_input(params_by_k, None);
    timed(|| {
        checks::kyc(&kyc_inputs(
            [
                proof_json,
                epoch_json,
                epoch_chain_json,
                policy_json,
                challenge_json,
                issuer_key_json,
                manifests_json,
            ],
            now_seconds,
            &h,
        ))
    })
}

/// The circuit size `k` of the KYC Halo2 circuit (`kycHalo2K()` in JS): the IPA parameter
/// file a Halo2 presentation needs (pass it to `verifyKyc` as `paramsByK`).
#[cfg(feature = "halo2")]
#[wasm_bindgen(js_name = kycHalo2K)]
pub fn kyc_halo2_k() -> u32 {
    checks::kyc_halo2_k()
}

fn kyc_inputs<'a>(
    [proof, epoch, epochs, policy, challenge, issuer_key, manifests]: [&'a str; 7],
    now_seconds: f64,
    halo2: &'a checks::Halo2Input,
) -> checks::KycInputs<'a> {
    checks::KycInputs {
        proof,
        epoch,
        epochs,
        policy,
        challenge,
        issuer_key,
        manifests,
        now: if now_seconds.is_finite() && now_seconds > 0.0 {
            now_seconds as u64
        } else {
            0
        },
        halo2,
    }
}

/// The backends this package verifies (`backends()` in JS): `["groth16-bn254"]` for the
/// Groth16 package (`assay_wasm_verifier`), `["groth16-bn254", "halo2-ipa-pasta"]` for the
/// Halo2 package (`assay_wasm_verifier_halo2`), `["groth16-bn254",
/// "stark-koalabear-poseidon2"]` for the STARK package (`assay_wasm_verifier_stark`). A page
/// loads the Groth16 package and, only for a Halo2 or STARK round, the package that verifies
/// it.
#[wasm_bindgen]
pub fn backends() -> Vec<String> {
    checks::backends()
}

/// Reads the caller's `files` for a STARK check: a `Map` or plain object from each file's
/// SHA-256 (hex) to its bytes (`Uint8Array` or `ArrayBuffer`); `undefined`/`null` is none.
#[cfg(feature = "stark")]
fn stark_files(v: Option<js_sys::Object>) -> Result<stark::FileMap, String> {
    let mut out = stark::FileMap::new();
    let Some(obj) = v.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(out);
    };
    let mut entries: Vec<(JsValue, JsValue)> = Vec::new();
    if let Some(m) = obj.dyn_ref::<js_sys::Map>() {
        m.for_each(&mut |v, k| entries.push((k, v)));
    } else {
        for e in js_sys::Object::entries(&obj).iter() {
            let pair = js_sys::Array::from(&e);
            entries.push((pair.get(0), pair.get(1)));
        }
    }
    for (k, v) in entries {
        let name = k
            .as_string()
            .ok_or_else(|| format!("files: the key {k:?} is not a file's SHA-256 (a string)"))?;
        let bytes = if let Some(u) = v.dyn_ref::<js_sys::Uint8Array>() {
            u.to_vec()
        } else if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
            js_sys::Uint8Array::new(b).to_vec()
        } else {
            return Err(format!(
                "files[{name}]: not the file's bytes (a Uint8Array or ArrayBuffer)"
            ));
        };
        out.insert(&name, bytes);
    }
    Ok(out)
}

/// Checks a customer's inclusion record (`record_json`) against a STARK round bundle
/// (`round_json`, backend `stark-koalabear-poseidon2`) with the proof files in `files` (a `Map`
/// or object from each file's SHA-256 to its bytes, as fetched from beside `round.json`; each
/// accepted only if its bytes hash to its name, so their origin is not trusted): the record's
/// and the bundle's signatures (under `publication_key`, hex, if not `""`), the record's leaf
/// (user id, salt, balances) chained to its batch proof's public root, the batch proof, and
/// every aggregation proof up to the top, whose root must be the round's global root. A
/// missing, altered or truncated file is an invalid verdict naming it.
#[cfg(feature = "stark")]
#[wasm_bindgen(js_name = verifyStarkInclusion)]
pub fn verify_stark_inclusion(
    record_json: &str,
    round_json: &str,
    files: Option<js_sys::Object>,
    publication_key: &str,
) -> VerifyResult {
    let pin = (!publication_key.is_empty()).then_some(publication_key);
    timed(|| stark::inclusion(record_json, round_json, &stark_files(files), pin))
}

/// The SHA-256 names of the files a STARK record's check reads (`starkFilesNeeded(
/// recordJson, roundJson)` in JS), in the order read: its batch proof, its batch's leaves file
/// (rounds that publish them), then one aggregation proof per level up to the top. Fetch each from `proofs/<name>.bin` beside `round.json` (or
/// the server's `/v1/solvency/rounds/{bundle_hash}/proofs/<name>.bin`). `[]` if the record or
/// bundle does not parse or is not a STARK round's (the check then gives the reason).
#[cfg(feature = "stark")]
#[wasm_bindgen(js_name = starkFilesNeeded)]
pub fn stark_files_needed(record_json: &str, round_json: &str) -> Vec<String> {
    stark::files_needed(record_json, round_json).unwrap_or_default()
}

/// The package's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
