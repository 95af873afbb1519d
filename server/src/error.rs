//! [`AppError`]: every failure a client can see, as a JSON body with a stable code.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// A request that did not produce a verdict. Internal details are logged once, never sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The body is not JSON (syntax error, truncated, not UTF-8): 400.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// The body is JSON of the wrong shape (missing or unknown field, bad value): 422.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The body exceeds this endpoint's limit: 413.
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    /// The client exceeded its rate: 429.
    #[error("rate limit exceeded: retry in {0} s")]
    RateLimited(u64),
    /// No verification slot freed up in time: 503.
    #[error("server busy: retry shortly")]
    Busy,
    /// Nothing is served at this address (an unknown round, a file its bundle does not list,
    /// a name that is not a SHA-256 file name): 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// The feature is not configured on this server: 501.
    #[error("not available: {0}")]
    Unavailable(String),
    /// A bug or an I/O failure on the server: 500 (the detail is logged, not sent).
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code (`malformed_json`, `invalid_input`, `too_large`,
    /// `rate_limited`, `busy`, `not_found`, `unavailable`, `internal`).
    pub error: &'static str,
    /// What went wrong and what to do, in words.
    pub message: String,
}

impl AppError {
    /// The HTTP status and stable code of this error.
    pub fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unavailable(_) => (StatusCode::NOT_IMPLEMENTED, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// Refuses a body that is not a JSON object: malformed JSON → [`AppError::Malformed`],
    /// well-formed JSON of another type (an array, a string, a number) →
    /// [`AppError::Invalid`]. Every request body of the API is an object; without this check
    /// serde would read a struct from a JSON array of its fields.
    pub fn require_object(body: &[u8]) -> Result<(), Self> {
        if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Ok(());
        }
        match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(e) => Err(Self::from_json(&e)),
            Ok(_) => Err(Self::Invalid("the body must be a JSON object".into())),
        }
    }

    /// Classifies a serde_json error: syntax → [`AppError::Malformed`], shape →
    /// [`AppError::Invalid`].
    pub fn from_json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Self::Invalid(e.to_string()),
            Category::Syntax | Category::Eof | Category::Io => Self::Malformed(e.to_string()),
        }
    }
}

impl IntoResponse for AppError {
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
        let retry = match &self {
            Self::RateLimited(s) => Some(*s),
            Self::Busy => Some(1),
            _ => None,
        };
        if let Some(s) = retry {
            if let Ok(v) = HeaderValue::from_str(&s.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// Why the server could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened.
    #[error("database: {0}")]
    Database(#[from] crate::store::StoreError),
    /// A configured KYC file (policy, issuer key) cannot be read or is not valid.
    #[error("{path}: {message}")]
    KycFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A pinned key manifest cannot be read, does not parse or its signature fails.
    #[error("trusted keys {path}: {message}")]
    TrustedKeys {
        /// The manifest file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Only one of the KYC policy and the issuer's public key is configured.
    #[error("KYC needs both a policy and the issuer's public key")]
    KycIncomplete,
    /// KYC is configured without what a relying party must name (its scope, the backend
    /// the scope accepts, the issuer's published epoch chain).
    #[error("KYC needs {0}")]
    KycSetting(&'static str),
    /// A served round folder cannot be read, its bundle does not parse, or a file it lists is
    /// missing.
    #[error("round folder {path}: {message}")]
    Round {
        /// The folder.
        path: std::path::PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The TLS certificate or key cannot be used (names the file and why).
    #[error("TLS: {0}")]
    Tls(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// An I/O error of the listener.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
