//! The service through its router (`oneshot`), with the real solvency verifiers and the
//! committed fixtures of `web/fixtures/solvency/` (see `tests/fixtures.rs`), plus loopback
//! tests of graceful shutdown and a bounded load test.
//!
//! KYC verification is exercised through a test backend that delegates solvency to the real
//! one and reads a stand-in proof `{challenge, nullifier, ok}`: what is under test there is the
//! server's part (single-use challenges, nullifiers, limits), not the proof system.

use assay_server::{
    app,
    backend::{KycVerdict, NewChallenge, Verdict},
    store::Store,
    AppError, AppState, AssayBackend, Backend, ServerConfig,
};
use assay_verifier::Backend as ProofSystem;
use axum::{
    body::{Body, Bytes},
    extract::ConnectInfo,
    http::{header, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use tower::ServiceExt;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/fixtures/solvency")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The fixture round's pinned key manifest.
fn pinned() -> assay_verifier::groth16::TrustedManifest {
    assay_verifier::groth16::KeyManifest::open(fixture("manifest.json").as_bytes(), "manifest")
        .unwrap()
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/fixtures/solvency")
        .join(name)
}

fn inclusion_body(record: &str) -> String {
    format!(
        "{{\"record\": {}, \"round\": {}}}",
        fixture(record),
        fixture("round.json")
    )
}

/// A backend for the KYC flow: solvency is the real one; a KYC "proof" is
/// `{"proof": {"challenge", "nullifier", "ok"}, "epoch": {}}`.
struct TestBackend {
    real: AssayBackend,
    delay: Duration,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FakeKyc {
    proof: FakeProof,
    #[allow(dead_code)]
    epoch: Value,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FakeProof {
    challenge: String,
    nullifier: String,
    ok: bool,
    #[serde(default)]
    backend: Option<ProofSystem>,
}

impl Backend for TestBackend {
    fn verify_round(&self, body: &[u8]) -> Result<Verdict, AppError> {
        std::thread::sleep(self.delay);
        self.real.verify_round(body)
    }
    fn verify_inclusion(&self, body: &[u8]) -> Result<Verdict, AppError> {
        std::thread::sleep(self.delay);
        self.real.verify_inclusion(body)
    }
    fn verify_kyc(
        &self,
        body: &[u8],
        _store: &Store,
        _scope: &str,
        _now: u64,
    ) -> Result<KycVerdict, AppError> {
        let k: FakeKyc = serde_json::from_slice(body).map_err(|e| AppError::from_json(&e))?;
        Ok(if k.proof.ok {
            KycVerdict {
                verdict: Verdict::valid(vec!["the proof".into()]),
                challenge: Some(k.proof.challenge),
                nullifier: Some(k.proof.nullifier),
                backend: Some(k.proof.backend.unwrap_or(ProofSystem::Groth16)),
            }
        } else {
            KycVerdict {
                verdict: Verdict::invalid("the Groth16 proof does not verify", vec![]),
                challenge: None,
                nullifier: None,
                backend: None,
            }
        })
    }
    fn new_challenge(
        &self,
        scope: &str,
        _backend: ProofSystem,
        now: u64,
        exp: u64,
    ) -> Result<NewChallenge, AppError> {
        use rand::RngCore;
        let mut b = [0u8; 31];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let nonce = hex::encode(b);
        Ok(NewChallenge {
            document: json!({"scope": scope, "challenge": nonce, "issued_at": now, "expires_at": exp}),
            nonce,
        })
    }
}

fn state_with(config: ServerConfig, delay: Duration) -> AppState {
    AppState::new(
        config,
        Arc::new(TestBackend {
            real: AssayBackend::default().with_trusted_keys(vec![pinned()]),
            delay,
        }),
        Store::in_memory().unwrap(),
    )
}

fn test_config() -> ServerConfig {
    ServerConfig {
        kyc_scope: Some("test-rp".into()),
        kyc_backend: Some(ProofSystem::Groth16),
        rate_per_second: 1000.0,
        rate_burst: 1000.0,
        cors_origins: vec!["https://exchange.example".into()],
        trusted_keys: vec![fixture_path("manifest.json")],
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn groth16_rounds_need_the_pinned_setup() {
    // No manifest pinned: refused, saying how to pin.
    let unpinned = app(AppState::new(
        test_config(),
        Arc::new(AssayBackend::default()),
        Store::in_memory().unwrap(),
    ));
    let (s, v) = send(
        &unpinned,
        "POST",
        "/v1/solvency/verify",
        fixture("round.json"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["valid"], false, "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("--trusted-keys"),
        "{v}"
    );
    // A manifest of another setup (same circuits, other keys): refused, the key named.
    let mut other: Value = serde_json::from_str(&fixture("manifest.json")).unwrap();
    let round: Value = serde_json::from_str(&fixture("round.json")).unwrap();
    let batch_key = round["batches"][0]["key"].as_str().unwrap().to_string();
    other["keys"]["solvency-batch-K2-w64-B4"] = "ab".repeat(32).into();
    let mut m: assay_verifier::groth16::KeyManifest = serde_json::from_value(other).unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(&[12u8; 32]);
    m.setup_key = hex::encode(sk.verifying_key().as_bytes());
    m.signature.clear();
    let msg = assay_verifier::signing::message(
        assay_verifier::groth16::manifest::MANIFEST_DOMAIN,
        &m.signed_body(),
    );
    m.signature = hex::encode(ed25519_dalek::Signer::sign(&sk, &msg).to_bytes());
    let foreign =
        assay_verifier::groth16::KeyManifest::open(&serde_json::to_vec(&m).unwrap(), "manifest")
            .unwrap();
    let app_foreign = app(AppState::new(
        test_config(),
        Arc::new(AssayBackend::default().with_trusted_keys(vec![foreign])),
        Store::in_memory().unwrap(),
    ));
    for (path, body) in [
        ("/v1/solvency/verify", fixture("round.json")),
        (
            "/v1/solvency/inclusion",
            inclusion_body("record-alice.json"),
        ),
    ] {
        let (s, v) = send(&app_foreign, "POST", path, body.clone()).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["valid"], false, "{v}");
        assert!(v["reason"].as_str().unwrap().contains(&batch_key), "{v}");
        // The insecure opt-in accepts it.
        let insecure = app(AppState::new(
            test_config(),
            Arc::new(AssayBackend::default().trusting_bundle_keys()),
            Store::in_memory().unwrap(),
        ));
        let (_, v) = send(&insecure, "POST", path, body).await;
        assert_eq!(v["valid"], true, "{v}");
    }
    // The server's configuration reads the pinned manifests, and refuses a bad one at start.
    assert!(AssayBackend::from_config(&test_config()).is_ok());
    let bad = ServerConfig {
        trusted_keys: vec![fixture_path("round.json")],
        ..test_config()
    };
    assert!(AssayBackend::from_config(&bad).is_err());
}

fn router() -> Router {
    app(state_with(test_config(), Duration::ZERO))
}

async fn send(app: &Router, method: &str, uri: &str, body: impl Into<Body>) -> (StatusCode, Value) {
    let (s, _, b) = send_raw(app, method, uri, body, [127, 0, 0, 1]).await;
    let v = serde_json::from_slice(&b).unwrap_or(Value::String(String::from_utf8_lossy(&b).into()));
    (s, v)
}

async fn send_raw(
    app: &Router,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
    ip: [u8; 4],
) -> (StatusCode, axum::http::HeaderMap, Bytes) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}

// ---- solvency ---------------------------------------------------------------------------

#[tokio::test]
async fn round_valid() {
    let (s, v) = send(
        &router(),
        "POST",
        "/v1/solvency/verify",
        fixture("round.json"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert!(v["reason"].is_null());
    assert!(v["ms"].as_f64().unwrap() > 0.0);
    assert!(v["checks"].as_array().unwrap().len() >= 3);
}

#[tokio::test]
async fn round_invalid_names_the_reason() {
    let mut b: Value = serde_json::from_str(&fixture("round.json")).unwrap();
    b["batches"][1]["public_inputs"][1] = "12345".into();
    let (s, v) = send(&router(), "POST", "/v1/solvency/verify", b.to_string()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("signature"), "{v}");
}

#[tokio::test]
async fn round_malformed_unknown_field_oversized() {
    let app = router();
    let (s, v) = send(&app, "POST", "/v1/solvency/verify", "{\"version\": 1,").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "malformed_json");
    let mut b: Value = serde_json::from_str(&fixture("round.json")).unwrap();
    b["surprise"] = 1.into();
    let (s, v) = send(&app, "POST", "/v1/solvency/verify", b.to_string()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap().contains("surprise"), "{v}");
    let small = app_with(ServerConfig {
        max_round_body: 1000,
        ..test_config()
    });
    let (s, v) = send(&small, "POST", "/v1/solvency/verify", fixture("round.json")).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"], "too_large");
}

fn app_with(config: ServerConfig) -> Router {
    app(state_with(config, Duration::ZERO))
}

#[tokio::test]
async fn inclusion_valid() {
    let (s, v) = send(
        &router(),
        "POST",
        "/v1/solvency/inclusion",
        inclusion_body("record-alice.json"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    let checks = v["checks"].to_string();
    assert!(checks.contains("top proof verifies"), "{checks}");
}

/// Customer checks of one round prepare its keys once (issue 14): five customers' records
/// against the same bundle leave one prepared round, each verdict the one-shot check's; a
/// bundle that fails its checks is not kept, and a record refused against a prepared round
/// still names its reason.
#[test]
fn inclusion_checks_share_one_prepared_round() {
    let backend = AssayBackend::default().with_trusted_keys(vec![pinned()]);
    for who in ["alice", "bob", "carol", "dave", "erin"] {
        let body = inclusion_body(&format!("record-{who}.json"));
        let v = backend.verify_inclusion(body.as_bytes()).unwrap();
        assert!(v.valid, "{who}: {v:?}");
    }
    assert_eq!(backend.prepared_rounds(), 1);
    let v = backend
        .verify_inclusion(inclusion_body("record-alice-wrong-balance.json").as_bytes())
        .unwrap();
    assert!(
        !v.valid && v.reason.as_deref().unwrap().contains("global root"),
        "{v:?}"
    );
    // Another bundle (the round with another leaf count: its checks fail) is not kept.
    let mut round: Value = serde_json::from_str(&fixture("round.json")).unwrap();
    round["leaf_count"] = json!(round["leaf_count"].as_u64().unwrap() * 2);
    let body = format!(
        "{{\"record\": {}, \"round\": {}}}",
        fixture("record-alice.json"),
        round
    );
    let v = backend.verify_inclusion(body.as_bytes()).unwrap();
    assert!(!v.valid, "{v:?}");
    assert_eq!(backend.prepared_rounds(), 1);
}

#[tokio::test]
async fn inclusion_invalid_names_the_reason() {
    let app = router();
    let (s, v) = send(
        &app,
        "POST",
        "/v1/solvency/inclusion",
        inclusion_body("record-alice-wrong-balance.json"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("global root"), "{v}");
    let (_, v) = send(
        &app,
        "POST",
        "/v1/solvency/inclusion",
        inclusion_body("record-alice-tampered.json"),
    )
    .await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("signature"), "{v}");
}

#[tokio::test]
async fn inclusion_malformed_unknown_field_oversized() {
    let app = router();
    let (s, _) = send(&app, "POST", "/v1/solvency/inclusion", "not json").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let body = format!(
        "{{\"record\": {}, \"round\": {}, \"extra\": true}}",
        fixture("record-bob.json"),
        fixture("round.json")
    );
    let (s, v) = send(&app, "POST", "/v1/solvency/inclusion", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Unknown field inside the record, too.
    let mut r: Value = serde_json::from_str(&fixture("record-bob.json")).unwrap();
    r["note"] = "hi".into();
    let body = format!("{{\"record\": {r}, \"round\": {}}}", fixture("round.json"));
    let (s, _) = send(&app, "POST", "/v1/solvency/inclusion", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = send(
        &app,
        "POST",
        "/v1/solvency/inclusion",
        vec![b' '; ServerConfig::default().max_inclusion_body + 1],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

// ---- KYC --------------------------------------------------------------------------------

async fn challenge(app: &Router) -> String {
    let (s, v) = send(app, "POST", "/v1/kyc/challenge", "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["challenge"].as_str().unwrap().to_string()
}

fn kyc_body(challenge: &str, nullifier: &str, ok: bool) -> String {
    json!({"proof": {"challenge": challenge, "nullifier": nullifier, "ok": ok}, "epoch": {}})
        .to_string()
}

#[tokio::test]
async fn kyc_challenge_endpoint() {
    let app = router();
    let a = challenge(&app).await;
    let b = challenge(&app).await;
    assert_ne!(a, b);
    assert_eq!(a.len(), 62);
    let (s, _) = send(&app, "POST", "/v1/kyc/challenge", "{}").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(&app, "POST", "/v1/kyc/challenge", "{\"scope\": \"x\"}").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = send(&app, "POST", "/v1/kyc/challenge", "{").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The challenge route's own limit (4 KiB), far below a presentation's (512 KiB).
    let (s, _) = send(&app, "POST", "/v1/kyc/challenge", vec![b' '; 5_000]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn kyc_verify_valid_then_replay_refused() {
    let app = router();
    let c = challenge(&app).await;
    let (s, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body(&c, "n1", true)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["nullifier"], "n1");
    assert_eq!(v["nullifier_uses"], 1);
    // The same proof again: the challenge is spent.
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body(&c, "n1", true)).await;
    assert_eq!(v["valid"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("already used"),
        "{v}"
    );
    // A challenge this server never issued.
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body("1234", "n1", true)).await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("not issued"), "{v}");
    // Same person, new challenge: valid, and the nullifier is recognised.
    let c2 = challenge(&app).await;
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body(&c2, "n1", true)).await;
    assert_eq!(v["valid"], true);
    assert_eq!(v["nullifier_uses"], 2);
}

#[tokio::test]
async fn kyc_verify_invalid_does_not_spend_the_challenge() {
    let app = router();
    let c = challenge(&app).await;
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body(&c, "n", false)).await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("does not verify"));
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body(&c, "n", true)).await;
    assert_eq!(v["valid"], true, "{v}");
}

#[tokio::test]
async fn kyc_unique_nullifiers_refuse_a_second_account() {
    let app = app_with(ServerConfig {
        unique_nullifiers: true,
        ..test_config()
    });
    let c = challenge(&app).await;
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body(&c, "n", true)).await;
    assert_eq!(v["valid"], true);
    let c = challenge(&app).await;
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", kyc_body(&c, "n", true)).await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("nullifier"), "{v}");
}

#[tokio::test]
async fn kyc_verify_malformed_unknown_field_oversized() {
    let app = router();
    let (s, _) = send(&app, "POST", "/v1/kyc/verify", "{\"proof\": ").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = send(
        &app,
        "POST",
        "/v1/kyc/verify",
        json!({"proof": {}, "epoch": {}, "x": 1}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = send(&app, "POST", "/v1/kyc/verify", vec![b'{'; 600_000]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn kyc_real_backend_is_explicit_until_configured() {
    let app = app(AppState::new(
        test_config(),
        Arc::new(AssayBackend::default()),
        Store::in_memory().unwrap(),
    ));
    let (s, v) = send(&app, "POST", "/v1/kyc/verify", "{}").await;
    assert!(
        s == StatusCode::NOT_IMPLEMENTED || s == StatusCode::UNPROCESSABLE_ENTITY,
        "{s} {v}"
    );
}

// ---- limits and operations --------------------------------------------------------------

#[tokio::test]
async fn rate_limit_is_per_client() {
    let app = app_with(ServerConfig {
        rate_per_second: 0.01,
        rate_burst: 3.0,
        ..test_config()
    });
    for _ in 0..3 {
        let (s, _, _) = send_raw(&app, "POST", "/v1/kyc/challenge", "", [10, 0, 0, 1]).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, h, b) = send_raw(&app, "POST", "/v1/kyc/challenge", "", [10, 0, 0, 1]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.get(header::RETRY_AFTER).is_some());
    assert!(String::from_utf8_lossy(&b).contains("rate_limited"));
    // Another client still gets through; health checks are not limited.
    let (s, _, _) = send_raw(&app, "POST", "/v1/kyc/challenge", "", [10, 0, 0, 2]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = send_raw(&app, "GET", "/healthz", "", [10, 0, 0, 1]).await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, m) = send_raw(&app, "GET", "/metrics", "", [10, 0, 0, 1]).await;
    assert!(String::from_utf8_lossy(&m).contains("assay_rate_limited_total 1"));
}

#[tokio::test]
async fn request_timeout_is_408() {
    let app = app(state_with(
        ServerConfig {
            request_timeout: Duration::from_millis(200),
            ..test_config()
        },
        Duration::from_millis(1500),
    ));
    let (s, _) = send(&app, "POST", "/v1/solvency/verify", fixture("round.json")).await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT);
}

#[tokio::test]
async fn verification_cap_answers_busy() {
    let app = app(state_with(
        ServerConfig {
            max_concurrent_verifications: 1,
            queue_wait: Duration::from_millis(100),
            ..test_config()
        },
        Duration::from_millis(800),
    ));
    let body = fixture("round.json");
    let (a, b) = tokio::join!(
        send(&app, "POST", "/v1/solvency/verify", body.clone()),
        send(&app, "POST", "/v1/solvency/verify", body)
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE]);
}

#[tokio::test]
async fn health_metrics_openapi_and_headers() {
    let app = router();
    let (s, h, b) = send_raw(&app, "GET", "/healthz", "", [127, 0, 0, 1]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&b).contains("\"ok\""));
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "referrer-policy",
        "cache-control",
    ] {
        assert!(h.get(name).is_some(), "missing {name}");
    }
    send(&app, "POST", "/v1/solvency/verify", fixture("round.json")).await;
    let (_, _, m) = send_raw(&app, "GET", "/metrics", "", [127, 0, 0, 1]).await;
    let m = String::from_utf8_lossy(&m);
    assert!(
        m.contains("assay_verifications_total{kind=\"round\",outcome=\"valid\"} 1"),
        "{m}"
    );
    assert!(m.contains("assay_http_requests_total{route=\"healthz\",status=\"200\"} 1"));
    assert!(m.contains("assay_verification_seconds_count{kind=\"round\"} 1"));
    let (s, v) = send(&app, "GET", "/openapi.json", "").await;
    assert_eq!(s, StatusCode::OK);
    for p in [
        "/v1/solvency/verify",
        "/v1/solvency/inclusion",
        "/v1/kyc/challenge",
        "/v1/kyc/verify",
        "/healthz",
        "/metrics",
    ] {
        assert!(v["paths"][p].is_object(), "openapi lacks {p}");
    }
    assert!(v["components"]["schemas"]["VerifyResponse"].is_object());
    let (s, _) = send(&app, "GET", "/nope", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cors_allow_list() {
    let app = router();
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/v1/solvency/inclusion")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let r = app
        .clone()
        .oneshot(preflight("https://exchange.example"))
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "https://exchange.example"
    );
    let r = app
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(r
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
}

// ---- loopback: graceful shutdown and load ------------------------------------------------

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<Bytes>,
>;

fn client(max_idle: usize) -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(max_idle)
        .build_http()
}

async fn post(c: &Client, url: &str, body: Bytes) -> Result<(StatusCode, Bytes), String> {
    let req = Request::builder()
        .method("POST")
        .uri(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(http_body_util::Full::new(body))
        .map_err(|e| e.to_string())?;
    let resp = c.request(req).await.map_err(|e| e.to_string())?;
    let s = resp.status();
    let b = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((s, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_in_flight_requests() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(assay_server::serve_on(
        listener,
        state_with(test_config(), Duration::from_millis(500)),
        async {
            let _ = rx.await;
        },
    ));
    let c = client(1);
    let url = format!("http://{addr}/v1/solvency/verify");
    let body = Bytes::from(fixture("round.json"));
    let req = tokio::spawn(async move { post(&c, &url, body).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    tx.send(()).unwrap();
    let (s, b) = req.await.unwrap().unwrap();
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stopped")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Runs `total` inclusion checks over `conns` keep-alive connections on loopback; returns
/// (requests per second, p50 ms, p99 ms). Panics if any request failed.
async fn load(kind: &str, total: usize, conns: usize, limit: Duration) -> (f64, f64, f64) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        rate_per_second: 1e9,
        rate_burst: 1e9,
        queue_wait: Duration::from_secs(60),
        ..ServerConfig::default()
    };
    let server = tokio::spawn(assay_server::serve_on(
        listener,
        state_with(config, Duration::ZERO),
        async {
            let _ = rx.await;
        },
    ));
    let (path, body) = match kind {
        "inclusion" => (
            "/v1/solvency/inclusion",
            inclusion_body("record-alice.json"),
        ),
        _ => ("/v1/solvency/verify", fixture("round.json")),
    };
    let url = format!("http://{addr}{path}");
    let body = Bytes::from(body);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + limit;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (url, body, next) = (url.clone(), body.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let c = client(1);
            let mut lat = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                assert!(
                    Instant::now() < deadline,
                    "load test exceeded its time bound"
                );
                let t = Instant::now();
                let (s, b) = post(&c, &url, body.clone()).await.expect("request failed");
                assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
                assert!(
                    b.starts_with(b"{\"valid\":true"),
                    "{}",
                    String::from_utf8_lossy(&b)
                );
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.expect("a load task failed"));
    }
    let secs = t0.elapsed().as_secs_f64();
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert_eq!(all.len(), total, "every request answered");
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| all[((all.len() as f64 * p).ceil() as usize).min(all.len()) - 1];
    let r = (total as f64 / secs, pct(0.50), pct(0.99));
    println!(
        "load {kind}: {total} requests, {conns} connections, {secs:.2} s: {:.0} verifications/s, p50 {:.1} ms, p99 {:.1} ms",
        r.0, r.1, r.2
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_small_inclusion() {
    load("inclusion", 200, 16, Duration::from_secs(60)).await;
}

/// The full figure: `cargo test -p assay-server --release --test api -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn load_full_inclusion_2000_x_64() {
    load("inclusion", 2000, 64, Duration::from_secs(60)).await;
}

// ---- KYC with the real verifier (web/fixtures/kyc, made by its gen.sh) --------------------

fn kyc_fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/fixtures/kyc")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A server configured with the fixture's policy and issuer, its clock at the fixture's time,
/// and the fixture's challenge issued by it.
/// The setup's manifest naming the KYC fixture's Groth16 key (web/fixtures/kyc/gen.sh).
fn kyc_pinned() -> assay_verifier::groth16::TrustedManifest {
    assay_verifier::groth16::KeyManifest::open(
        kyc_fixture("manifest.json").as_bytes(),
        "kyc manifest",
    )
    .unwrap()
}

fn real_kyc_app(issue_challenge: bool) -> Router {
    real_kyc_app_pinning(issue_challenge, true)
}

/// The real KYC app; `pin` pins the setup's manifest of the fixture's KYC key.
fn real_kyc_app_pinning(issue_challenge: bool, pin: bool) -> Router {
    use assay_verifier::kyc::{formats, time};
    let challenge: formats::Challenge =
        formats::from_json("challenge", &kyc_fixture("challenge.json")).unwrap();
    let issuer: formats::IssuerPublic =
        formats::from_json("issuer key", &kyc_fixture("issuer-public.json")).unwrap();
    let epoch: formats::Epoch = formats::from_json("epoch", &kyc_fixture("epoch.json")).unwrap();
    // The fixture's folder publishes one epoch: the issuer's whole published chain.
    let published = formats::PublishedEpochs::verify(
        vec![("epoch.json".into(), epoch)],
        &issuer.key().unwrap(),
    )
    .unwrap();
    let settings = assay_server::backend::KycSettings {
        policy: formats::from_json("policy", &kyc_fixture("policy.json")).unwrap(),
        issuer,
        published,
        epochs_dir: None,
    };
    let now: u64 = kyc_fixture("now.txt").trim().parse().unwrap();
    let store = Store::in_memory().unwrap();
    if issue_challenge {
        store
            .issue(
                &challenge.nonce,
                &challenge.scope,
                ProofSystem::Groth16,
                time::parse_rfc3339(&challenge.issued_at).unwrap() as u64,
                time::parse_rfc3339(&challenge.expires_at).unwrap() as u64,
            )
            .unwrap();
    }
    let config = ServerConfig {
        kyc_scope: Some(challenge.scope.clone()),
        ..test_config()
    };
    let mut backend = AssayBackend::with_kyc(settings);
    if pin {
        backend = backend.with_trusted_keys(vec![kyc_pinned()]);
    }
    app(AppState::new(config, Arc::new(backend), store).with_clock(move || now))
}

/// The KYC proving key is not the issuer's to make (issue 11, defect 5): a server that pins no
/// setup manifest refuses the Groth16 presentation, naming the key, and leaves the challenge
/// unspent; pinning the setup's manifest accepts it.
#[tokio::test]
async fn kyc_real_presentation_needs_a_pinned_setup() {
    let (_, v) = send(
        &real_kyc_app_pinning(true, false),
        "POST",
        "/v1/kyc/verify",
        real_kyc_body("proof.json"),
    )
    .await;
    assert_eq!(v["valid"], false, "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("no key manifest is pinned"), "{v}");
    let (_, v) = send(
        &real_kyc_app(true),
        "POST",
        "/v1/kyc/verify",
        real_kyc_body("proof.json"),
    )
    .await;
    assert_eq!(v["valid"], true, "{v}");
}

/// One holder, one account per scope (issue 11, defect 2): the scope is bound to Groth16, so a
/// presentation of the same holder on Halo2 (another nullifier) is refused with the reason and
/// no second nullifier is recorded. Without the store's binding it would be a second account.
#[tokio::test]
async fn kyc_a_scope_accepts_one_backend() {
    let app = router();
    let c = challenge(&app).await;
    let body = |c: &str, nf: &str, backend: &str| {
        json!({"proof": {"challenge": c, "nullifier": nf, "ok": true, "backend": backend},
               "epoch": {}})
        .to_string()
    };
    let (_, v) = send(
        &app,
        "POST",
        "/v1/kyc/verify",
        body(&c, "nf-g", "groth16-bn254"),
    )
    .await;
    assert_eq!(v["valid"], true, "{v}");
    let c = challenge(&app).await;
    let (_, v) = send(
        &app,
        "POST",
        "/v1/kyc/verify",
        body(&c, "nf-h", "halo2-ipa-pasta"),
    )
    .await;
    assert_eq!(v["valid"], false, "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("scope `test-rp` accepts only groth16-bn254"),
        "{v}"
    );
    // The refusal left the challenge unspent: the Groth16 presentation still answers it, and
    // its nullifier is the one account's (second use).
    let (_, v) = send(
        &app,
        "POST",
        "/v1/kyc/verify",
        body(&c, "nf-g", "groth16-bn254"),
    )
    .await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["nullifier_uses"], 2);
}

/// There is no default scope: a server configured for KYC without one (or without the
/// issuer's published epoch chain, or without the backend of a fresh scope) refuses to start,
/// and a configuration changing a scope's backend is refused too.
#[test]
fn kyc_needs_a_scope_a_chain_and_a_backend() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/kyc");
    let tmp = std::env::temp_dir().join(format!("assay-kyc-start-{}", std::process::id()));
    let chain = tmp.join("chain");
    std::fs::create_dir_all(&chain).unwrap();
    std::fs::copy(dir.join("epoch.json"), chain.join("epoch-00000000.json")).unwrap();
    let db = tmp.join("rp.sqlite");
    let _ = std::fs::remove_file(&db);
    let base = ServerConfig {
        kyc_policy: Some(dir.join("policy.json")),
        kyc_issuer_key: Some(dir.join("issuer-public.json")),
        kyc_scope: Some("bank-a".into()),
        kyc_epochs: Some(chain.clone()),
        kyc_backend: Some(ProofSystem::Groth16),
        database: Some(db.clone()),
        ..ServerConfig::default()
    };
    let start = |c: ServerConfig| {
        AppState::from_config(c)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let e = start(ServerConfig {
        kyc_scope: None,
        ..base.clone()
    })
    .unwrap_err();
    assert!(e.contains("scope") && e.contains("no default"), "{e}");
    let e = start(ServerConfig {
        kyc_epochs: None,
        ..base.clone()
    })
    .unwrap_err();
    assert!(e.contains("published epoch chain"), "{e}");
    let e = start(ServerConfig {
        kyc_backend: None,
        ..base.clone()
    })
    .unwrap_err();
    assert!(e.contains("--kyc-backend"), "{e}");
    start(base.clone()).unwrap();
    // Bound now: restarting without --kyc-backend keeps Groth16; switching is refused.
    start(ServerConfig {
        kyc_backend: None,
        ..base.clone()
    })
    .unwrap();
    let e = start(ServerConfig {
        kyc_backend: Some(ProofSystem::Halo2),
        ..base
    })
    .unwrap_err();
    assert!(e.contains("accepts only groth16-bn254"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Epochs are accepted only from the issuer's published chain (issue 11, defect 6). The
/// fixture's registry root is re-signed by a test issuer key: as the published epoch it is
/// accepted; as a later epoch the issuer signed but did not publish (one made for a single
/// holder), it is refused, naming the chain. Without the chain check it would be accepted.
#[tokio::test]
async fn kyc_an_epoch_outside_the_published_chain_is_refused() {
    use assay_verifier::kyc::formats;
    use ed25519_dalek::{Signer, SigningKey};
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let sign = |mut e: formats::Epoch| {
        e.signature = hex::encode(key.sign(&e.message().unwrap()).to_bytes());
        e
    };
    let mut issuer: formats::IssuerPublic =
        formats::from_json("issuer key", &kyc_fixture("issuer-public.json")).unwrap();
    issuer.public_key = hex::encode(key.verifying_key().to_bytes());
    let base: formats::Epoch = formats::from_json("epoch", &kyc_fixture("epoch.json")).unwrap();
    let published_epoch = sign(base.clone());
    let mut unpublished = base.clone();
    unpublished.epoch += 1;
    unpublished.prev_epoch_hash = Some(published_epoch.hash().unwrap());
    let unpublished = sign(unpublished);
    let published = formats::PublishedEpochs::verify(
        vec![("epoch-0.json".into(), published_epoch.clone())],
        &key.verifying_key(),
    )
    .unwrap();
    let challenge: formats::Challenge =
        formats::from_json("challenge", &kyc_fixture("challenge.json")).unwrap();
    let now: u64 = kyc_fixture("now.txt").trim().parse().unwrap();
    let make = || {
        let store = Store::in_memory().unwrap();
        store
            .issue(
                &challenge.nonce,
                &challenge.scope,
                ProofSystem::Groth16,
                assay_verifier::kyc::time::parse_rfc3339(&challenge.issued_at).unwrap() as u64,
                assay_verifier::kyc::time::parse_rfc3339(&challenge.expires_at).unwrap() as u64,
            )
            .unwrap();
        let settings = assay_server::backend::KycSettings {
            policy: formats::from_json("policy", &kyc_fixture("policy.json")).unwrap(),
            issuer: issuer.clone(),
            published: published.clone(),
            epochs_dir: None,
        };
        let config = ServerConfig {
            kyc_scope: Some(challenge.scope.clone()),
            ..test_config()
        };
        let backend = AssayBackend::with_kyc(settings).with_trusted_keys(vec![kyc_pinned()]);
        app(AppState::new(config, Arc::new(backend), store).with_clock(move || now))
    };
    let body = |e: &formats::Epoch| {
        format!(
            "{{\"proof\": {}, \"epoch\": {}}}",
            kyc_fixture("proof.json"),
            serde_json::to_string(e).unwrap()
        )
    };
    let (_, v) = send(&make(), "POST", "/v1/kyc/verify", body(&unpublished)).await;
    assert_eq!(v["valid"], false, "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("is signed by the issuer but is not the epoch")
            && reason.contains("published chain"),
        "{reason}"
    );
    let (_, v) = send(&make(), "POST", "/v1/kyc/verify", body(&published_epoch)).await;
    assert_eq!(v["valid"], true, "{v}");
}

fn real_kyc_body(proof: &str) -> String {
    format!(
        "{{\"proof\": {}, \"epoch\": {}}}",
        kyc_fixture(proof),
        kyc_fixture("epoch.json")
    )
}

#[tokio::test]
async fn kyc_real_presentation_valid_then_replay_refused() {
    let app = real_kyc_app(true);
    let (s, v) = send(&app, "POST", "/v1/kyc/verify", real_kyc_body("proof.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert!(v["nullifier"].as_str().unwrap().len() > 10);
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", real_kyc_body("proof.json")).await;
    assert_eq!(v["valid"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("already used"),
        "{v}"
    );
}

#[tokio::test]
async fn kyc_real_tampered_and_unissued_are_refused() {
    let app = real_kyc_app(true);
    let (_, v) = send(
        &app,
        "POST",
        "/v1/kyc/verify",
        real_kyc_body("proof-tampered.json"),
    )
    .await;
    assert_eq!(v["valid"], false, "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("does not verify"),
        "{v}"
    );
    // The tampered attempt did not spend the challenge: the honest proof still passes.
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", real_kyc_body("proof.json")).await;
    assert_eq!(v["valid"], true, "{v}");
    // A server that never issued this challenge refuses the proof.
    let (_, v) = send(
        &real_kyc_app(false),
        "POST",
        "/v1/kyc/verify",
        real_kyc_body("proof.json"),
    )
    .await;
    assert_eq!(v["valid"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("never issued"),
        "{v}"
    );
    // A real challenge document comes from a configured server.
    let (s, v) = send(&app, "POST", "/v1/kyc/challenge", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["version"], 2);
    assert_eq!(v["backend"], "groth16-bn254");
    assert_eq!(v["nonce"].as_str().unwrap().len(), 62);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn load_full_kyc_2000_x_64() {
    // One fixed proof answers one challenge: the first request is accepted and the other
    // 1,999 run the whole verification (epoch, policy, Groth16) and are then refused as
    // replays by the store. So this measures the full verification path through the router.
    let app = real_kyc_app(true);
    let body = real_kyc_body("proof.json");
    let t = Instant::now();
    let n = 2000;
    let mut lat = Vec::with_capacity(n);
    let mut handles = Vec::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    for _ in 0..n {
        let (app, body, sem) = (app.clone(), body.clone(), sem.clone());
        handles.push(tokio::spawn(async move {
            let _p = sem.acquire().await.unwrap();
            let t = Instant::now();
            let (s, _) = send(&app, "POST", "/v1/kyc/verify", body).await;
            assert_eq!(s, StatusCode::OK);
            t.elapsed().as_secs_f64() * 1e3
        }));
    }
    for h in handles {
        lat.push(h.await.unwrap());
    }
    let secs = t.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "load kyc (router, 64 in flight): {n} verifications in {secs:.2} s: {:.0}/s, p99 {:.1} ms",
        n as f64 / secs,
        lat[(n * 99) / 100 - 1]
    );
}

/// The server crate alone (its own Cargo features, not the workspace's unification with the
/// prover) verifies Halo2 KYC presentations: a Halo2-labelled presentation reaches the Halo2
/// verifier, which refuses this one by name (its registry root is the epoch's Groth16 root),
/// instead of answering that the build does not support the backend.
#[tokio::test]
async fn kyc_halo2_presentations_reach_the_halo2_verifier() {
    use assay_verifier::Backend as ProofSystem;
    // Every backend that proves KYC presentations (the STARK too, since issue 13 item 7) is
    // compiled into the server's verifier.
    assert_eq!(
        assay_server::backend::served_kyc(),
        ProofSystem::ALL.to_vec(),
        "every KYC backend is compiled into the server's verifier"
    );
    let mut p: Value = serde_json::from_str(&kyc_fixture("proof.json")).unwrap();
    p["backend"] = ProofSystem::Halo2.name().into();
    let body = format!(
        "{{\"proof\": {p}, \"epoch\": {}}}",
        kyc_fixture("epoch.json")
    );
    let (s, v) = send(&real_kyc_app(true), "POST", "/v1/kyc/verify", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], false, "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("a Groth16 presentation labelled halo2-ipa-pasta"),
        "{reason}"
    );
    // A Halo2 proof for another registry root: the Halo2 checks run (the root is not this
    // epoch's Halo2 root).
    p["public_inputs"]["registry_root"] = "5".into();
    let body = format!(
        "{{\"proof\": {p}, \"epoch\": {}}}",
        kyc_fixture("epoch.json")
    );
    let (_, v) = send(&real_kyc_app(true), "POST", "/v1/kyc/verify", body).await;
    assert_eq!(v["valid"], false, "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("the proof's root is not the root of epoch"),
        "{reason}"
    );
    // The valid Groth16 presentation's check list names the backend that verified it.
    let (_, v) = send(
        &real_kyc_app(true),
        "POST",
        "/v1/kyc/verify",
        real_kyc_body("proof.json"),
    )
    .await;
    assert_eq!(v["valid"], true, "{v}");
    let checks = v["checks"].to_string();
    assert!(
        checks.contains("the Groth16 proof verifies under the issuer's verifying key"),
        "{checks}"
    );
}

fn frozen_halo2(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/solvency/frozen/v1-halo2")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Halo2 rounds are served (issue 14): the frozen Halo2 round and a customer's record verify
/// through both endpoints, the keys derived once for the bundle and kept prepared; a server
/// whose bound on `k` is below the round's circuits refuses it before making anything, naming
/// the bound; a Groth16 bundle relabelled as Halo2 is refused with the reason.
#[tokio::test]
async fn halo2_rounds_are_served_prepared_once_and_bounded_in_k() {
    let round = frozen_halo2("round.json");
    let body = format!(
        "{{\"record\": {}, \"round\": {round}}}",
        frozen_halo2("record-customer-0007.json")
    );
    let backend = AssayBackend::default().with_halo2(None, 16);
    for _ in 0..2 {
        let v = backend.verify_inclusion(body.as_bytes()).unwrap();
        assert!(v.valid, "{v:?}");
        assert!(
            v.checks.iter().any(|c| c.contains("(halo2-ipa-pasta)")),
            "{v:?}"
        );
    }
    assert_eq!(backend.prepared_rounds(), 1);
    let v = backend.verify_round(round.as_bytes()).unwrap();
    assert!(v.valid, "{v:?}");
    let tight = AssayBackend::default().with_halo2(None, 5);
    let v = tight.verify_inclusion(body.as_bytes()).unwrap();
    assert!(!v.valid);
    assert!(
        v.reason
            .as_deref()
            .unwrap()
            .contains("above this verifier's bound k <= 5"),
        "{v:?}"
    );
    assert_eq!(tight.prepared_rounds(), 0);
    // A Groth16 bundle relabelled as Halo2 is refused (no Halo2 section).
    let app = router();
    let mut relabelled: Value = serde_json::from_str(&fixture("round.json")).unwrap();
    relabelled["backend"] = "halo2-ipa-pasta".into();
    let (s, v) = send(&app, "POST", "/v1/solvency/verify", relabelled.to_string()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], false, "{v}");
}

fn frozen_stark(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/kyc/frozen/v2-stark")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The server's KYC route verifies STARK presentations (issue 13, item 7): the frozen STARK
/// presentation, its challenge issued by this server (scope bound to the STARK) and its clock
/// at the challenge's time, is valid once (a STARK body is about 250 kB, within the KYC body
/// limit); a replay, and a copy with a flipped proof byte, are refused with a reason.
#[tokio::test]
async fn kyc_stark_presentations_verify_over_http() {
    use assay_verifier::kyc::{formats, time};
    let challenge: formats::Challenge =
        formats::from_json("challenge", &frozen_stark("challenge-stark.json")).unwrap();
    let issuer: formats::IssuerPublic =
        formats::from_json("issuer key", &frozen_stark("issuer-public.json")).unwrap();
    let epoch: formats::Epoch = formats::from_json("epoch", &frozen_stark("epoch.json")).unwrap();
    let published = formats::PublishedEpochs::verify(
        vec![("epoch.json".into(), epoch)],
        &issuer.key().unwrap(),
    )
    .unwrap();
    let settings = assay_server::backend::KycSettings {
        policy: formats::from_json("policy", &frozen_stark("policy.json")).unwrap(),
        issuer,
        published,
        epochs_dir: None,
    };
    let issued = time::parse_rfc3339(&challenge.issued_at).unwrap() as u64;
    let store = Store::in_memory().unwrap();
    store
        .issue(
            &challenge.nonce,
            &challenge.scope,
            ProofSystem::Stark,
            issued,
            time::parse_rfc3339(&challenge.expires_at).unwrap() as u64,
        )
        .unwrap();
    let config = ServerConfig {
        kyc_scope: Some(challenge.scope.clone()),
        ..test_config()
    };
    let backend = AssayBackend::with_kyc(settings);
    let app = app(AppState::new(config, Arc::new(backend), store).with_clock(move || issued + 1));
    let body = |proof: &str| {
        format!(
            "{{\"proof\": {proof}, \"epoch\": {}}}",
            frozen_stark("epoch.json")
        )
    };
    let proof = frozen_stark("proof-stark.json");
    let mut flipped: Value = serde_json::from_str(&proof).unwrap();
    let mut bytes = hex::decode(flipped["proof"].as_str().unwrap()).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    flipped["proof"] = hex::encode(bytes).into();
    let (s, v) = send(&app, "POST", "/v1/kyc/verify", body(&flipped.to_string())).await;
    assert!(
        v["valid"] == false
            || s == StatusCode::UNPROCESSABLE_ENTITY
            || s == StatusCode::BAD_REQUEST,
        "{s} {v}"
    );
    let (s, v) = send(&app, "POST", "/v1/kyc/verify", body(&proof)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert!(v["nullifier"].is_string(), "{v}");
    let (_, v) = send(&app, "POST", "/v1/kyc/verify", body(&proof)).await;
    assert_eq!(v["valid"], false, "{v}");
}
