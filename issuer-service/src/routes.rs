//! Handlers, authorisation, the router's layers and the OpenAPI document.

use crate::audit::{AuditLog, Head, AUDIT_FORMAT_VERSION};
use crate::error::{ApiError, ErrorBody};
use crate::keys::{PresentedKey, Role};
use crate::store::Actor;
use crate::AppState;
use assay_circuits::kyc::jurisdiction::Jurisdiction;
use assay_prover::kyc::{issuer::Issuer, now_unix, KycError};
use assay_verifier::kyc::{formats::BackendMap, time};
use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, ConnectInfo, DefaultBodyLimit, Path, Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tower_http::{
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    OpenApi, ToSchema,
};

/// The body of `POST /v1/credentials`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The holder's commitment per backend (decimal; keys `groth16`, `halo2`, `stark` or their
    /// format names), as printed by `assay kyc holder init`.
    #[schema(value_type = Object)]
    pub holder_commitments: BackendMap<String>,
    /// ISO 3166-1 alpha-2 country (`UA`).
    pub country: String,
    /// ISO 3166-2 subdivision (`UA-30`); absent for a country-only credential.
    #[serde(default)]
    pub region: Option<String>,
    /// Expiry (RFC 3339): usable until the start of that day (UTC).
    pub expires: String,
}

/// The optional body of the revoke and publish endpoints: nothing, or `{}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

/// The answer of `POST /v1/credentials`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueResponse {
    /// The credential (CREDENTIAL.json) for the holder.
    #[schema(value_type = Object)]
    pub credential: assay_verifier::kyc::formats::Credential,
    /// The audit log's head after this action (keep it to detect a truncated log).
    pub audit: Head,
}

/// The answer of `POST /v1/credentials/{serial}/revoke`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokeResponse {
    /// The revoked serial.
    pub serial: u64,
    /// Always true: the leaf is empty from the next published epoch on.
    pub revoked: bool,
    /// The audit log's head after this action.
    pub audit: Head,
}

/// The answer of `POST /v1/epochs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishResponse {
    /// The signed epoch (EPOCH.json).
    #[schema(value_type = Object)]
    pub epoch: assay_verifier::kyc::formats::Epoch,
    /// The audit log's head after this action.
    pub audit: Head,
}

/// The answer of `GET /v1/epochs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpochsResponse {
    /// Every published epoch, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub epochs: Vec<assay_verifier::kyc::formats::Epoch>,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `"ok"` while serving.
    pub status: &'static str,
    /// The version.
    pub version: &'static str,
}

fn body(b: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    match b {
        Ok(b) => Ok(b),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge(limit)),
        Err(r) => Err(ApiError::Malformed(r.body_text())),
    }
}

/// Parses a body that must be one JSON object of type `T` (an array, string or number is
/// refused, so serde cannot read a struct from an array of its fields).
fn json_object<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, ApiError> {
    if b.iter().find(|c| !c.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(b) {
            Err(e) => ApiError::from_json(&e),
            Ok(_) => ApiError::Invalid("the body must be a JSON object".into()),
        });
    }
    serde_json::from_slice(b).map_err(|e| ApiError::from_json(&e))
}

/// An optional body: empty, or `{}`.
fn empty_or_object(b: &[u8]) -> Result<(), ApiError> {
    if !b.iter().all(u8::is_ascii_whitespace) {
        let _: EmptyRequest = json_object(b)?;
    }
    Ok(())
}

fn parse_serial(text: &str) -> Result<u64, ApiError> {
    text.parse::<u64>()
        .ok()
        .filter(|s| *s < 1 << 32)
        .ok_or_else(|| {
            ApiError::Malformed(format!(
                "serial `{text}` is not a credential serial (0 to 4294967295)"
            ))
        })
}

/// The verified caller, if it has the role `allowed`: 401 without a valid key, 403 with
/// another role's.
async fn authorize(s: &AppState, headers: &HeaderMap, allowed: Role) -> Result<Actor, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "no credentials: send `Authorization: Bearer <API key>`".into(),
        ));
    };
    let key = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|k| PresentedKey::parse(k.trim()))
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header holds no Bearer API key".into())
        })?;
    let store = s.store.clone();
    let actor = tokio::task::spawn_blocking(move || store.authenticate(&key))
        .await
        .map_err(|e| ApiError::Internal(format!("authentication task: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::Unauthorized("unknown, revoked or wrong API key".into()))?;
    if actor.role != allowed {
        tracing::info!(key_id = %actor.key_id, role = %actor.role, needed = %allowed, "forbidden");
        return Err(ApiError::Forbidden(format!(
            "this endpoint is for the {allowed} role; key {} is {}",
            actor.key_id, actor.role
        )));
    }
    Ok(actor)
}

/// Runs `f` on the issuer on a blocking thread.
async fn with_issuer<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&mut Issuer) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let issuer = s.issuer.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = issuer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("issuer task: {e}")))?
}

/// An issuer error on an admin action: bad input → 422, the rest → 500.
fn admin_error(e: KycError) -> ApiError {
    match e {
        KycError::Input(m) => ApiError::Invalid(m),
        other => ApiError::Internal(other.to_string()),
    }
}

/// An issuer error on a read: nothing there → 404, the rest → 500.
fn read_error(e: KycError) -> ApiError {
    match e {
        KycError::Input(m) => ApiError::NotFound(m),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Appends the audit entry of a done action (the issuer lock is still held, so entries are in
/// the order of the actions).
fn audit(
    store: &crate::Store,
    actor: &Actor,
    action: &str,
    params: serde_json::Value,
) -> Result<Head, ApiError> {
    store
        .append(actor, action, &params.to_string())
        .map_err(|e| {
            ApiError::Internal(format!(
                "{action} was done but its audit entry could not be written: {e}"
            ))
        })
}

const E400: &str = "Malformed JSON or path parameter";
const E401: &str = "No credentials, or an unknown, revoked or wrong API key";
const E403: &str = "A valid key of another role";
const E413: &str = "Body too large";
const E422: &str = "Well-formed JSON of the wrong shape (unknown or missing field, bad value), or an action the registry refuses";
const E429: &str = "Rate limited (Retry-After)";
const E500: &str = "Internal error (logged, not sent)";

/// Issue a credential (admin).
#[utoipa::path(post, path = "/v1/credentials", tag = "admin",
    request_body = IssueRequest, security(("api_key" = [])),
    responses(
        (status = 200, description = "Issued (publish an epoch to make it usable)", body = IssueResponse),
        (status = 400, description = E400, body = ErrorBody),
        (status = 401, description = E401, body = ErrorBody),
        (status = 403, description = E403, body = ErrorBody),
        (status = 413, description = E413, body = ErrorBody),
        (status = 422, description = E422, body = ErrorBody),
        (status = 429, description = E429, body = ErrorBody),
        (status = 500, description = E500, body = ErrorBody)))]
pub(crate) async fn issue(
    State(s): State<AppState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<IssueResponse>, ApiError> {
    let actor = authorize(&s, &headers, Role::Admin).await?;
    let b = body(b, s.config.max_body)?;
    let req: IssueRequest = json_object(&b)?;
    let jur = Jurisdiction::from_country_region(&req.country, req.region.as_deref())
        .map_err(|e| ApiError::Invalid(format!("country/region: {e}")))?;
    let expires = time::parse_rfc3339(&req.expires)
        .map_err(|e| ApiError::Invalid(format!("expires: {e}")))?;
    let expiry_day = u64::try_from(time::day_of(expires))
        .map_err(|_| ApiError::Invalid("expires: before 1970".into()))?;
    if req.holder_commitments.is_empty() {
        return Err(ApiError::Invalid(
            "holder_commitments: give one commitment per backend".into(),
        ));
    }
    let store = s.store.clone();
    let (credential, head) = with_issuer(&s, move |issuer| {
        let c = issuer
            .issue(&req.holder_commitments, jur, expiry_day, now_unix())
            .map_err(admin_error)?;
        let backends: Vec<&str> = c.backends.keys().map(|b| b.name()).collect();
        let head = audit(
            &store,
            &actor,
            "issue",
            serde_json::json!({
                "serial": c.serial,
                "jurisdiction": c.jurisdiction,
                "expiry_day": c.expiry_day,
                "backends": backends,
            }),
        )?;
        Ok((c, head))
    })
    .await?;
    Ok(Json(IssueResponse {
        credential,
        audit: head,
    }))
}

/// Revoke a credential from the next epoch on (admin).
#[utoipa::path(post, path = "/v1/credentials/{serial}/revoke", tag = "admin",
    params(("serial" = u64, Path, description = "The credential's serial")),
    request_body(content = Option<EmptyRequest>, description = "Optional: no body, or `{}`"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Revoked", body = RevokeResponse),
        (status = 400, description = E400, body = ErrorBody),
        (status = 401, description = E401, body = ErrorBody),
        (status = 403, description = E403, body = ErrorBody),
        (status = 413, description = E413, body = ErrorBody),
        (status = 422, description = "Unknown field, no such credential, or revoked already", body = ErrorBody),
        (status = 429, description = E429, body = ErrorBody),
        (status = 500, description = E500, body = ErrorBody)))]
pub(crate) async fn revoke(
    State(s): State<AppState>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<RevokeResponse>, ApiError> {
    let actor = authorize(&s, &headers, Role::Admin).await?;
    let serial = parse_serial(&serial)?;
    empty_or_object(&body(b, s.config.max_body)?)?;
    let store = s.store.clone();
    let head = with_issuer(&s, move |issuer| {
        issuer.revoke(serial).map_err(admin_error)?;
        audit(
            &store,
            &actor,
            "revoke",
            serde_json::json!({ "serial": serial }),
        )
    })
    .await?;
    Ok(Json(RevokeResponse {
        serial,
        revoked: true,
        audit: head,
    }))
}

/// Publish a signed epoch of the current registry (admin).
#[utoipa::path(post, path = "/v1/epochs", tag = "admin",
    request_body(content = Option<EmptyRequest>, description = "Optional: no body, or `{}`"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Published", body = PublishResponse),
        (status = 400, description = E400, body = ErrorBody),
        (status = 401, description = E401, body = ErrorBody),
        (status = 403, description = E403, body = ErrorBody),
        (status = 413, description = E413, body = ErrorBody),
        (status = 422, description = "Unknown field", body = ErrorBody),
        (status = 429, description = E429, body = ErrorBody),
        (status = 500, description = E500, body = ErrorBody)))]
pub(crate) async fn publish(
    State(s): State<AppState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<PublishResponse>, ApiError> {
    let actor = authorize(&s, &headers, Role::Admin).await?;
    empty_or_object(&body(b, s.config.max_body)?)?;
    let (store, pass) = (s.store.clone(), s.passphrase.clone());
    let (epoch, head) = with_issuer(&s, move |issuer| {
        // The passphrase was checked at start: any failure here is the server's.
        let e = issuer
            .publish(&pass, now_unix())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let head = audit(
            &store,
            &actor,
            "publish",
            serde_json::json!({ "epoch": e.epoch, "roots": e.roots }),
        )?;
        Ok((e, head))
    })
    .await?;
    Ok(Json(PublishResponse { epoch, audit: head }))
}

/// Every published epoch (auditor).
#[utoipa::path(get, path = "/v1/epochs", tag = "auditor", security(("api_key" = [])),
    responses(
        (status = 200, description = "Every epoch, oldest first", body = EpochsResponse),
        (status = 401, description = E401, body = ErrorBody),
        (status = 403, description = E403, body = ErrorBody),
        (status = 429, description = E429, body = ErrorBody),
        (status = 500, description = E500, body = ErrorBody)))]
pub(crate) async fn epochs(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<EpochsResponse>, ApiError> {
    authorize(&s, &headers, Role::Auditor).await?;
    let epochs = with_issuer(&s, |i| {
        i.epochs().map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    Ok(Json(EpochsResponse { epochs }))
}

/// The audit log (auditor); check it with `assay kyc issuer audit verify --json FILE`.
#[utoipa::path(get, path = "/v1/audit", tag = "auditor", security(("api_key" = [])),
    responses(
        (status = 200, description = "Every entry, oldest first", body = AuditLog),
        (status = 401, description = E401, body = ErrorBody),
        (status = 403, description = E403, body = ErrorBody),
        (status = 429, description = E429, body = ErrorBody),
        (status = 500, description = E500, body = ErrorBody)))]
pub(crate) async fn audit_log(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<AuditLog>, ApiError> {
    authorize(&s, &headers, Role::Auditor).await?;
    let store = s.store.clone();
    let entries = tokio::task::spawn_blocking(move || store.audit_entries())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(AuditLog {
        version: AUDIT_FORMAT_VERSION,
        entries,
    }))
}

/// The holder's own registry path under the latest epoch (holder key of that serial).
#[utoipa::path(get, path = "/v1/paths/{serial}", tag = "holder",
    params(("serial" = u64, Path, description = "The credential's serial")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The path (PATH.json)", body = Object),
        (status = 400, description = "The serial is not a number", body = ErrorBody),
        (status = 401, description = E401, body = ErrorBody),
        (status = 403, description = "Not a holder key, or a holder key of another serial", body = ErrorBody),
        (status = 404, description = "No epoch yet, or the serial is not in the latest epoch or revoked in it", body = ErrorBody),
        (status = 429, description = E429, body = ErrorBody),
        (status = 500, description = E500, body = ErrorBody)))]
pub(crate) async fn holder_path(
    State(s): State<AppState>,
    Path(serial): Path<String>,
    headers: HeaderMap,
) -> Result<Json<assay_verifier::kyc::formats::RegistryPath>, ApiError> {
    let actor = authorize(&s, &headers, Role::Holder).await?;
    let serial = parse_serial(&serial)?;
    if actor.serial != Some(serial) {
        return Err(ApiError::Forbidden(format!(
            "key {} reads the path of its own credential only",
            actor.key_id
        )));
    }
    let p = with_issuer(&s, move |i| i.path(serial).map_err(read_error)).await?;
    Ok(Json(p))
}

/// The latest epoch's leaves (public).
#[utoipa::path(get, path = "/v1/leaves", tag = "public",
    responses(
        (status = 200, description = "The leaves (LEAVES.json)", body = Object),
        (status = 404, description = "No epoch published yet", body = ErrorBody),
        (status = 429, description = E429, body = ErrorBody),
        (status = 500, description = E500, body = ErrorBody)))]
pub(crate) async fn leaves(
    State(s): State<AppState>,
) -> Result<Json<assay_verifier::kyc::formats::EpochLeaves>, ApiError> {
    let l = with_issuer(&s, |i| i.latest_leaves().map_err(read_error)).await?;
    Ok(Json(l))
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

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi_document(),
    )
        .into_response()
}

struct BearerKey;

impl utoipa::Modify for BearerKey {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("aik_<key id>_<secret>")
                    .build(),
            ),
        );
    }
}

/// The service's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Assay KYC issuer service",
        description = "Issues and revokes KYC credentials and publishes signed epochs (admin), shows epochs and the hash-chained audit log (auditor), a holder's own registry path (holder) and the public leaves."
    ),
    modifiers(&BearerKey),
    paths(issue, revoke, publish, epochs, audit_log, holder_path, leaves, healthz, openapi),
    components(schemas(
        IssueRequest, EmptyRequest, IssueResponse, RevokeResponse, PublishResponse,
        EpochsResponse, Health, ErrorBody, Head, AuditLog, crate::audit::AuditEntry
    ))
)]
struct ApiDoc;

pub(crate) fn openapi_document() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

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
        Err(wait) => ApiError::RateLimited(wait.as_secs_f64().ceil() as u64).into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint (see /openapi.json)".into())
}

pub(crate) fn router(state: AppState) -> Router {
    let c = state.config.clone();
    let limit = DefaultBodyLimit::max(c.max_body);
    let v1 = Router::new()
        .route("/v1/credentials", post(issue).layer(limit))
        .route("/v1/credentials/{serial}/revoke", post(revoke).layer(limit))
        .route("/v1/epochs", post(publish).layer(limit).get(epochs))
        .route("/v1/audit", get(audit_log))
        .route("/v1/paths/{serial}", get(holder_path))
        .route("/v1/leaves", get(leaves))
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi));
    let h = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    v1.merge(ops)
        .fallback(not_found)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            c.request_timeout,
        ))
        .layer(h("x-content-type-options", "nosniff"))
        .layer(h("cache-control", "no-store"))
        .layer(h("x-frame-options", "DENY"))
        .layer(h(
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .layer(h("referrer-policy", "no-referrer"))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // Method and path only: never the query, headers (the API key) or body.
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}
