//! Handlers and the router's layers.

use crate::{backend::Verdict, error::AppError, AppState};
use axum::{
    body::Bytes,
    extract::Path,
    extract::{
        rejection::BytesRejection, ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State,
    },
    http::{header, HeaderName, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Instant,
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use utoipa::ToSchema;

/// The answer of every verification endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// Whether every check passed.
    pub valid: bool,
    /// Why not (which proof, which check, which input); `null` when valid.
    pub reason: Option<String>,
    /// What was checked, in words.
    pub checks: Vec<String>,
    /// Time spent verifying, in milliseconds (queueing excluded).
    pub ms: f64,
}

/// The answer of `POST /v1/kyc/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KycVerifyResponse {
    /// Whether every check passed, the challenge's freshness included.
    pub valid: bool,
    /// Why not; `null` when valid.
    pub reason: Option<String>,
    /// What was checked, in words.
    pub checks: Vec<String>,
    /// Time spent verifying, in milliseconds.
    pub ms: f64,
    /// The holder's nullifier for this relying party (stable per person), when valid.
    pub nullifier: Option<String>,
    /// How many accepted proofs have carried this nullifier, this one included.
    pub nullifier_uses: Option<u64>,
}

/// The body of `POST /v1/solvency/inclusion` (documentation shape; the backend parses it).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct InclusionRequest {
    /// The customer's inclusion record.
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
    /// The round bundle (`round.json`).
    #[schema(value_type = Object)]
    pub round: serde_json::Value,
}

/// The body of `POST /v1/kyc/verify` (documentation shape; the backend parses it).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct KycVerifyRequest {
    /// The holder's proof (`PROOF.json`).
    #[schema(value_type = Object)]
    pub proof: serde_json::Value,
    /// The issuer's signed epoch the proof was made against (`EPOCH.json`).
    #[schema(value_type = Object)]
    pub epoch: serde_json::Value,
}

/// The optional body of `POST /v1/kyc/challenge`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `"ok"` while the process serves.
    pub status: &'static str,
    /// The server's version.
    pub version: &'static str,
}

/// Whether a route accepts an empty body (only the challenge route: its body is optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Empty {
    Refused,
    Allowed,
}

/// Reads a body extracted under a [`DefaultBodyLimit`] of `limit` bytes. Every request body of
/// the API is a JSON object, so anything else is refused here, before a handler parses it
/// (serde would read a struct from a JSON array of its fields): malformed JSON is a 400, JSON
/// of another type a 422. With [`Empty::Allowed`] an empty (or all-whitespace) body passes and
/// is returned as is.
fn body(b: Result<Bytes, BytesRejection>, limit: usize, empty: Empty) -> Result<Bytes, AppError> {
    let b = match b {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(AppError::TooLarge(limit))
        }
        Err(r) => return Err(AppError::Malformed(r.body_text())),
    };
    if !(empty == Empty::Allowed && b.iter().all(u8::is_ascii_whitespace)) {
        AppError::require_object(&b)?;
    }
    Ok(b)
}

/// Runs `f` on a blocking thread once a verification slot is free; returns its result and
/// the time it took.
async fn verify_blocking<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<(T, f64), AppError> {
    let permit = tokio::time::timeout(
        crate::queue_wait(&s.config),
        s.verify_slots.clone().acquire_owned(),
    )
    .await
    .map_err(|_| AppError::Busy)?
    .map_err(|_| AppError::Internal("verification semaphore closed".into()))?;
    let metrics = s.metrics.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        metrics.in_flight(1);
        let t = Instant::now();
        let r = f();
        metrics.in_flight(-1);
        r.map(|v| (v, t.elapsed().as_secs_f64()))
    })
    .await
    .map_err(|e| AppError::Internal(format!("verification task failed: {e}")))?
}

fn respond(s: &AppState, kind: &'static str, v: Verdict, secs: f64) -> Json<VerifyResponse> {
    s.metrics.verdict(kind, v.valid, secs);
    Json(VerifyResponse {
        valid: v.valid,
        reason: v.reason,
        checks: v.checks,
        ms: secs * 1e3,
    })
}

/// An auditor's check of a whole round.
#[utoipa::path(post, path = "/v1/solvency/verify", tag = "solvency",
    request_body(content = Object, description = "The round bundle (round.json)"),
    responses(
        (status = 200, description = "Verdict", body = VerifyResponse),
        (status = 400, description = "Malformed JSON", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 422, description = "Not a round bundle (unknown field, wrong type)", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody),
        (status = 503, description = "Busy", body = crate::error::ErrorBody)))]
pub(crate) async fn solvency_verify(
    State(s): State<AppState>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<VerifyResponse>, AppError> {
    let b = body(b, s.config.max_round_body, Empty::Refused)?;
    let backend = s.backend.clone();
    let (v, secs) = verify_blocking(&s, move || backend.verify_round(&b)).await?;
    Ok(respond(&s, "round", v, secs))
}

/// A customer's check: their record is in the round and the proofs on its path verify.
#[utoipa::path(post, path = "/v1/solvency/inclusion", tag = "solvency",
    request_body = InclusionRequest,
    responses(
        (status = 200, description = "Verdict", body = VerifyResponse),
        (status = 400, description = "Malformed JSON", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 422, description = "Not a record and round", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody),
        (status = 503, description = "Busy", body = crate::error::ErrorBody)))]
pub(crate) async fn solvency_inclusion(
    State(s): State<AppState>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<VerifyResponse>, AppError> {
    let b = body(b, s.config.max_inclusion_body, Empty::Refused)?;
    let backend = s.backend.clone();
    let (v, secs) = verify_blocking(&s, move || backend.verify_inclusion(&b)).await?;
    Ok(respond(&s, "inclusion", v, secs))
}

/// This relying party's scope: none configured means KYC is off (there is no default scope).
fn kyc_scope(s: &AppState) -> Result<String, AppError> {
    s.config.kyc_scope.clone().ok_or_else(|| {
        AppError::Unavailable(
            "KYC verification is not configured on this server (no --kyc-scope)".into(),
        )
    })
}

/// A new single-use challenge for this relying party's scope.
#[utoipa::path(post, path = "/v1/kyc/challenge", tag = "kyc",
    request_body(content = Option<ChallengeRequest>, description = "Optional: no body, or `{}`"),
    responses(
        (status = 200, description = "The challenge document (CHALLENGE.json)", body = Object),
        (status = 400, description = "Malformed JSON", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 422, description = "Unknown field", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody),
        (status = 501, description = "KYC not configured", body = crate::error::ErrorBody)))]
pub(crate) async fn kyc_challenge(
    State(s): State<AppState>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, AppError> {
    let b = body(b, s.config.max_challenge_body, Empty::Allowed)?;
    if !b.iter().all(u8::is_ascii_whitespace) {
        let _: ChallengeRequest =
            serde_json::from_slice(&b).map_err(|e| AppError::from_json(&e))?;
    }
    let now = (s.clock)();
    let expires = now + s.config.challenge_ttl.as_secs();
    let scope = kyc_scope(&s)?;
    let configured = s.config.kyc_backend;
    let (backend, store) = (s.backend.clone(), s.store.clone());
    let doc = tokio::task::spawn_blocking(move || {
        let bound = store
            .challenges()
            .scope_backend(&scope)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let Some(proof_system) = bound.or(configured) else {
            return Err(AppError::Unavailable(format!(
                "KYC scope `{scope}` accepts no backend yet: start the server with --kyc-backend"
            )));
        };
        let c = backend.new_challenge(&scope, proof_system, now, expires)?;
        store
            .issue(&c.nonce, &scope, proof_system, now, expires)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok::<_, AppError>(c.document)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(doc))
}

/// A relying party's check of a KYC proof: epoch, policy, proof, then the challenge is
/// consumed (single use) and the nullifier recorded.
#[utoipa::path(post, path = "/v1/kyc/verify", tag = "kyc",
    request_body = KycVerifyRequest,
    responses(
        (status = 200, description = "Verdict", body = KycVerifyResponse),
        (status = 400, description = "Malformed JSON", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 422, description = "Not a proof request", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody),
        (status = 501, description = "KYC not configured", body = crate::error::ErrorBody),
        (status = 503, description = "Busy", body = crate::error::ErrorBody)))]
pub(crate) async fn kyc_verify(
    State(s): State<AppState>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<KycVerifyResponse>, AppError> {
    let b = body(b, s.config.max_kyc_body, Empty::Refused)?;
    let now = (s.clock)();
    let scope = kyc_scope(&s)?;
    let unique = s.config.unique_nullifiers;
    let (backend, store) = (s.backend.clone(), s.store.clone());
    let ((mut v, nullifier, uses), secs) = verify_blocking(&s, move || {
        let k = backend.verify_kyc(&b, &store, &scope, now)?;
        let mut v = k.verdict;
        if !v.valid {
            return Ok((v, None, None));
        }
        let (Some(challenge), Some(nullifier), Some(proof_system)) =
            (k.challenge, k.nullifier, k.backend)
        else {
            return Err(AppError::Internal(
                "valid KYC verdict without challenge".into(),
            ));
        };
        match store.consume(&challenge, &scope, proof_system, &nullifier, unique, now) {
            Ok(u) => {
                v.checks
                    .push("challenge issued by this server, unexpired, first use".into());
                Ok((v, Some(nullifier), Some(u.uses)))
            }
            Err(crate::store::StoreError::Db(e)) => Err(AppError::Internal(e.to_string())),
            Err(e) => Ok((Verdict::invalid(e.to_string(), v.checks), None, None)),
        }
    })
    .await?;
    s.metrics.verdict("kyc", v.valid, secs);
    Ok(Json(KycVerifyResponse {
        valid: v.valid,
        reason: v.reason.take(),
        checks: v.checks,
        ms: secs * 1e3,
        nullifier,
        nullifier_uses: uses,
    }))
}

/// `GET /v1/solvency/rounds`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundsResponse {
    /// The rounds this server serves (its configured round folders).
    pub rounds: Vec<crate::backend::ServedRoundInfo>,
}

/// The rounds this server serves: their bundles and proof files are under
/// `/v1/solvency/rounds/{bundle_hash}/`, and STARK rounds are verified only if served.
#[utoipa::path(get, path = "/v1/solvency/rounds", tag = "solvency",
    responses(
        (status = 200, description = "The served rounds", body = RoundsResponse),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody)))]
pub(crate) async fn solvency_rounds(State(s): State<AppState>) -> Json<RoundsResponse> {
    Json(RoundsResponse {
        rounds: s.backend.served_rounds(),
    })
}

/// Whether `s` is a SHA-256 in lower-case hex (64 digits).
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An immutable, content-addressed body: cached for a year by anyone (its address names its
/// hash), with the hash as its entity tag; `304` if the client already holds it.
fn immutable(
    req_headers: &axum::http::HeaderMap,
    etag: &str,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let tag = format!("\"{etag}\"");
    let cached = req_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let headers = [
        (
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable".to_string(),
        ),
        (header::ETAG, tag),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn round_not_served(hash: &str) -> AppError {
    AppError::NotFound(format!(
        "no served round has bundle hash {hash:?} (GET /v1/solvency/rounds lists them)"
    ))
}

/// A served round's bundle (`round.json`, as published), by its hash: immutable.
#[utoipa::path(get, path = "/v1/solvency/rounds/{bundle_hash}/round.json", tag = "solvency",
    params(("bundle_hash" = String, Path, description = "The bundle's SHA-256 (64 lower-case hex digits)")),
    responses(
        (status = 200, description = "The bundle; `cache-control: public, max-age=31536000, immutable`, entity tag the bundle hash", body = Object),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "Not a served round", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody)))]
pub(crate) async fn solvency_round_bundle(
    State(s): State<AppState>,
    Path(hash): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    if !is_sha256_hex(&hash) {
        return Err(round_not_served(&hash));
    }
    let text = s
        .backend
        .served_bundle(&hash)
        .ok_or_else(|| round_not_served(&hash))?;
    Ok(immutable(
        &headers,
        &hash,
        "application/json",
        text.to_vec(),
    ))
}

/// A proof file of a served round, by its SHA-256 (content-addressed, immutable): only a name
/// `<64 lower-case hex>.bin` that the round's bundle lists; anything else is a 404. The bytes
/// are checked to hash to the name before they are sent.
#[utoipa::path(get, path = "/v1/solvency/rounds/{bundle_hash}/proofs/{file}", tag = "solvency",
    params(
        ("bundle_hash" = String, Path, description = "The bundle's SHA-256 (64 lower-case hex digits)"),
        ("file" = String, Path, description = "`<sha256>.bin`: a file the bundle lists (a STARK round's batch or aggregation proof, or a batch's leaves file)")),
    responses(
        (status = 200, description = "The file's bytes (application/octet-stream); `cache-control: public, max-age=31536000, immutable`, entity tag its hash", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "Not a served round, not a file name of the form <sha256>.bin, or not listed by the bundle", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody),
        (status = 500, description = "The listed file cannot be read or no longer hashes to its name", body = crate::error::ErrorBody)))]
pub(crate) async fn solvency_round_proof(
    State(s): State<AppState>,
    Path((bundle, file)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let not_listed = || {
        AppError::NotFound(format!(
            "{file:?} is not a file of served round {bundle:?} (names are <sha256>.bin, as its bundle lists them)"
        ))
    };
    let hash = match file.strip_suffix(".bin") {
        Some(h) if is_sha256_hex(h) && is_sha256_hex(&bundle) => h.to_string(),
        _ => return Err(not_listed()),
    };
    let backend = s.backend.clone();
    let (b, h) = (bundle.clone(), hash.clone());
    let bytes = tokio::task::spawn_blocking(move || backend.proof_file(&b, &h))
        .await
        .map_err(|e| AppError::Internal(format!("file task failed: {e}")))??;
    let bytes = bytes.ok_or_else(not_listed)?;
    Ok(immutable(
        &headers,
        &hash,
        "application/octet-stream",
        bytes,
    ))
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Serving", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(),
    )
        .into_response()
}

/// The client's address: the peer, or the first `X-Forwarded-For` hop when trusted.
fn client_ip(s: &AppState, req: &Request) -> IpAddr {
    if s.config.trust_forwarded_for {
        if let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

async fn rate_limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    match s.limiter.check(client_ip(&s, &req)) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            s.metrics.rate_limited();
            AppError::RateLimited(wait.as_secs_f64().ceil() as u64).into_response()
        }
    }
}

fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/solvency/verify" => "solvency_verify",
        "/v1/solvency/inclusion" => "solvency_inclusion",
        "/v1/solvency/rounds" => "solvency_rounds",
        "/v1/solvency/rounds/{bundle_hash}/round.json" => "solvency_round_bundle",
        "/v1/solvency/rounds/{bundle_hash}/proofs/{file}" => "solvency_round_proof",
        "/v1/kyc/challenge" => "kyc_challenge",
        "/v1/kyc/verify" => "kyc_verify",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        "/openapi.json" => "openapi",
        _ => "other",
    }
}

async fn count(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| route_name(p.as_str()))
        .unwrap_or("other");
    let resp = next.run(req).await;
    s.metrics.request(route, resp.status().as_u16());
    resp
}

fn cors(origins: &[String]) -> CorsLayer {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}

fn security_headers(router: Router) -> Router {
    let h = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    router
        .layer(h("x-content-type-options", "nosniff"))
        .layer(h("x-frame-options", "DENY"))
        .layer(h(
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .layer(h("referrer-policy", "no-referrer"))
        .layer(h("cache-control", "no-store"))
        .layer(h(
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ))
        .layer(h("cross-origin-resource-policy", "same-origin"))
}

pub(crate) fn router(state: AppState) -> Router {
    let c = state.config.clone();
    let v1 = Router::new()
        .route(
            "/v1/solvency/verify",
            post(solvency_verify).layer(DefaultBodyLimit::max(c.max_round_body)),
        )
        .route(
            "/v1/solvency/inclusion",
            post(solvency_inclusion).layer(DefaultBodyLimit::max(c.max_inclusion_body)),
        )
        .route("/v1/solvency/rounds", get(solvency_rounds))
        .route(
            "/v1/solvency/rounds/{bundle_hash}/round.json",
            get(solvency_round_bundle),
        )
        .route(
            "/v1/solvency/rounds/{bundle_hash}/proofs/{file}",
            get(solvency_round_proof),
        )
        .route(
            "/v1/kyc/challenge",
            post(kyc_challenge).layer(DefaultBodyLimit::max(c.max_challenge_body)),
        )
        .route(
            "/v1/kyc/verify",
            post(kyc_verify).layer(DefaultBodyLimit::max(c.max_kyc_body)),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi));
    let router = v1
        .merge(ops)
        .route_layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            c.request_timeout,
        ))
        .layer(cors(&c.cors_origins));
    security_headers(router).layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &Request| {
                // Method and path only: never the query, headers or body.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            })
            .on_request(())
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
}
