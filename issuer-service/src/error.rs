//! [`ApiError`]: every failure a client can see, as a JSON body with a stable code.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// A request that was not served. Internal details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or a path parameter is not what it must be: 400.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// No credentials, or a key that is unknown, revoked or wrong: 401.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A valid key of a role this endpoint does not serve, or a holder asking for another
    /// holder's path: 403.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Nothing there (no epoch published yet, a serial not in the latest epoch): 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// The body exceeds the limit: 413.
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    /// Well-formed JSON of the wrong shape (unknown or missing field, bad value), or an
    /// action the registry refuses (expired date, unknown or revoked serial): 422.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The client exceeded its rate: 429.
    #[error("rate limit exceeded: retry in {0} s")]
    RateLimited(u64),
    /// A bug or an I/O failure: 500 (the detail is logged, not sent).
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `malformed`, `unauthorized`, `forbidden`, `not_found`, `too_large`,
    /// `invalid_input`, `rate_limited`, `internal`.
    pub error: &'static str,
    /// What went wrong and what to do, in words.
    pub message: String,
}

impl ApiError {
    /// The HTTP status and stable code.
    pub fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// Classifies a serde_json error: syntax → 400, shape → 422.
    pub fn from_json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Self::Invalid(e.to_string()),
            Category::Syntax | Category::Eof | Category::Io => Self::Malformed(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        if let Self::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
        };
        let mut resp = (status, Json(body)).into_response();
        match &self {
            Self::RateLimited(s) => {
                if let Ok(v) = HeaderValue::from_str(&s.max(&1).to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Self::Unauthorized(_) => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"assay-issuer\""),
                );
            }
            _ => {}
        }
        resp
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The issuer directory cannot be opened.
    #[error("issuer: {0}")]
    Issuer(#[from] assay_prover::kyc::KycError),
    /// The passphrase does not unlock the issuer's key.
    #[error("{0}")]
    Passphrase(String),
    /// The service database cannot be opened.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// TLS, binding or listening (from the verification service's listener).
    #[error("{0}")]
    Listen(#[from] assay_server::StartError),
    /// An I/O error of the listener.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
