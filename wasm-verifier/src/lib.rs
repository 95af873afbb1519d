//! Assay's verifiers compiled to WebAssembly, for browsers and Node.js (DESIGN §4).
//!
//! Two checks, each returning a [`VerifyResult`] `{valid, reason, ms, checks}`:
//!
//! * [`verify_inclusion`] (`verifyInclusion(recordJson, roundJson, manifestsJson,
//!   publicationKey)` in JS): a customer's inclusion record against the round bundle, Groth16
//!   keys checked against the pinned key manifests (a JSON array; `[]` refuses Groth16 rounds),
//!   and the round's publication key against the customer's pin (`""` for none);
//! * [`PreparedRound`] (`prepareRound(roundJson, manifestsJson, publicationKey)`, then
//!   `.verifyInclusion(recordJson)` per record): the same check with the round's keys opened
//!   once, for a page or a service that checks many records of one round;
//! * [`verify_kyc`] (`verifyKyc(proofJson, epochJson, policyJson, challengeJson,
//!   issuerKeyJson, manifestsJson, nowSeconds)` in JS): a relying party's check of a KYC
//!   proof, a Groth16 proof only under the KYC key a pinned manifest names (`[]` refuses).
//!
//! No prover code and no proving key are linked: the crate depends on `assay-verifier` only.
//! Malformed input is an invalid verdict with the parser's message, never a panic or a throw.
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod checks;

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
}

#[wasm_bindgen]
impl VerifyResult {
    /// The result as a plain JSON string (`{"valid":…,"reason":…,"ms":…,"checks":[…]}`).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> JsValue {
        let v = serde_json::json!({
            "valid": self.valid,
            "reason": self.reason,
            "ms": self.ms,
            "checks": self.checks,
            "publication_key": self.publication_key,
            "bundle_hash": self.bundle_hash,
        });
        js_sys::JSON::parse(&v.to_string()).unwrap_or(JsValue::NULL)
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
    }
}

/// Checks a customer's inclusion record (`record_json`) against the round bundle
/// (`round_json`): the leaf from the balances and salt, the path to the global root, and the
/// proofs on that path. A Groth16 round must use the keys a manifest of `manifests_json` (a
/// JSON array of `assay solvency setup` manifests) names; `publication_key` (hex; `""` for
/// none) is the customer's pin of the exchange's key.
#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion(
    record_json: &str,
    round_json: &str,
    manifests_json: &str,
    publication_key: &str,
) -> VerifyResult {
    let pin = (!publication_key.is_empty()).then_some(publication_key);
    timed(|| checks::inclusion(record_json, round_json, manifests_json, pin))
}

/// A round prepared once for many inclusion checks (`prepareRound(roundJson, manifestsJson,
/// publicationKey)` in JS): the bundle parsed, its keys opened and checked against the pinned
/// manifests, its signature and the publication-key pin checked, once. A page keeps it for the
/// session and calls `verifyInclusion(recordJson)` per record; a bundle that failed is kept as
/// its reason, which every check answers (never a throw).
#[wasm_bindgen]
pub struct PreparedRound(checks::Prepared);

/// Prepares `round_json` for inclusion checks (see [`PreparedRound`]).
#[wasm_bindgen(js_name = prepareRound)]
pub fn prepare_round(
    round_json: &str,
    manifests_json: &str,
    publication_key: &str,
) -> PreparedRound {
    let pin = (!publication_key.is_empty()).then_some(publication_key);
    PreparedRound(checks::prepare(round_json, manifests_json, pin))
}

#[wasm_bindgen]
impl PreparedRound {
    /// Checks one customer's inclusion record against the prepared round (as
    /// `verifyInclusion`, without opening the round's keys again).
    #[wasm_bindgen(js_name = verifyInclusion)]
    pub fn verify_inclusion(&self, record_json: &str) -> VerifyResult {
        timed(|| self.0.inclusion(record_json))
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
}

/// Checks a KYC proof as a relying party would: the epoch's signature and age, the policy,
/// the challenge it names, and the proof, at `now_seconds` (UNIX time); a Groth16 proof only
/// under the KYC circuit's key that a manifest of `manifests_json` (a JSON array of
/// `assay solvency setup --kyc` manifests) names, never under a key the issuer made itself.
#[wasm_bindgen(js_name = verifyKyc)]
pub fn verify_kyc(
    proof_json: &str,
    epoch_json: &str,
    policy_json: &str,
    challenge_json: &str,
    issuer_key_json: &str,
    manifests_json: &str,
    now_seconds: f64,
) -> VerifyResult {
    timed(|| {
        checks::kyc(&checks::KycInputs {
            proof: proof_json,
            epoch: epoch_json,
            policy: policy_json,
            challenge: challenge_json,
            issuer_key: issuer_key_json,
            manifests: manifests_json,
            now: if now_seconds.is_finite() && now_seconds > 0.0 {
                now_seconds as u64
            } else {
                0
            },
        })
    })
}

/// The package's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
