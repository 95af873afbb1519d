//! The KYC issuer as an HTTP service (`assay kyc issuer serve`): axum over
//! [`assay_prover::kyc::issuer::Issuer`], with roles, API keys stored as Argon2id hashes, a
//! hash-chained audit log of every admin action, rate limits, JSON logs without secrets and
//! TLS 1.3 only when given a certificate (the verification service's listener,
//! [`assay_server::tls`]).
//!
//! It links the prover, so it is its own crate: `assay-server` never links the prover.
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | POST | `/v1/credentials` | admin | issue a credential (one registry transaction) |
//! | POST | `/v1/credentials/{serial}/revoke` | admin | revoke from the next epoch |
//! | POST | `/v1/epochs` | admin | publish a signed epoch |
//! | GET | `/v1/epochs` | auditor | every published epoch |
//! | GET | `/v1/audit` | auditor | the audit log ([`audit::AuditLog`]) |
//! | GET | `/v1/paths/{serial}` | holder of that serial | its registry path under the latest epoch |
//! | GET | `/v1/leaves` | anyone | the latest epoch's leaves (public, as published) |
//! | GET | `/healthz`, `/openapi.json` | anyone | liveness, the OpenAPI document |
//!
//! A call without a key is answered 401; with a valid key of another role (or a holder key
//! of another serial), 403. Keys are `Authorization: Bearer aik_<id>_<secret>`
//! ([`keys`]). Public endpoints ignore credentials.
//!
//! The issuer's signing passphrase is read once at start (`ASSAY_PASSPHRASE` or a prompt, never
//! the command line), checked against the keystore before the service listens, and kept in
//! memory (wiped on exit) to unlock the key for each publish; it is never logged.
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod audit;
pub mod error;
pub mod keys;
mod routes;
pub mod store;

pub use error::{ApiError, StartError};
pub use keys::{KeyCost, Role};
pub use store::Store;

use assay_prover::keystore::Keystore;
use assay_prover::kyc::issuer::{Issuer, KEYSTORE_FILE};
use assay_server::ratelimit::RateLimiter;
use std::{
    future::Future,
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};
use zeroize::Zeroizing;

/// The service's settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Sustained requests per second per client on `/v1/*`.
    pub rate_per_second: f64,
    /// Burst per client.
    pub rate_burst: f64,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// The largest request body in bytes.
    pub max_body: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            rate_per_second: 10.0,
            rate_burst: 20.0,
            trust_forwarded_for: false,
            request_timeout: Duration::from_secs(60),
            max_body: 16 * 1024,
        }
    }
}

/// Everything a handler needs (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub(crate) issuer: Arc<Mutex<Issuer>>,
    pub(crate) passphrase: Arc<Zeroizing<String>>,
    pub(crate) store: Store,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) config: Arc<ServiceConfig>,
}

impl AppState {
    /// Opens the issuer in `issuer_dir` and checks that `passphrase` unlocks its key (the key
    /// in the keystore is the one in the public file) before anything is served.
    ///
    /// # Errors
    /// [`StartError::Issuer`] for a directory that holds no issuer, [`StartError::Passphrase`]
    /// for a passphrase that does not unlock its key.
    pub fn new(
        issuer_dir: &Path,
        passphrase: Zeroizing<String>,
        store: Store,
        config: ServiceConfig,
    ) -> Result<Self, StartError> {
        let issuer = Issuer::open(issuer_dir)?;
        let key = Keystore::open(&issuer_dir.join(KEYSTORE_FILE), &passphrase).map_err(|e| {
            StartError::Passphrase(format!(
                "{}: the passphrase does not unlock the issuer's key ({e})",
                issuer_dir.join(KEYSTORE_FILE).display()
            ))
        })?;
        // The key in force: the public file's, or the latest handover's (key rotation).
        if hex::encode(key.verifying_key().to_bytes()) != issuer.current_key()? {
            return Err(StartError::Passphrase(format!(
                "{}: the keystore's key is not the issuer's key in force",
                issuer_dir.display()
            )));
        }
        drop(key);
        let limiter = RateLimiter::new(config.rate_per_second, config.rate_burst);
        Ok(Self {
            issuer: Arc::new(Mutex::new(issuer)),
            passphrase: Arc::new(passphrase),
            store,
            limiter: Arc::new(limiter),
            config: Arc::new(config),
        })
    }
}

/// The router with every endpoint and limit (see the crate docs).
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// The OpenAPI document as JSON text (served at `/openapi.json`).
pub fn openapi_document() -> String {
    routes::openapi_document()
}

/// Serves [`app`] on `addr` until Ctrl-C or SIGTERM, over TLS 1.3 only when `tls` names a
/// certificate and key (plain HTTP otherwise, for a service behind a TLS-terminating proxy).
///
/// # Errors
/// The address cannot be bound or the certificate or key cannot be used.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    tls: Option<assay_server::tls::TlsFiles>,
) -> Result<(), StartError> {
    let tls = tls
        .map(|t| t.load())
        .transpose()
        .map_err(StartError::Listen)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen(assay_server::StartError::Bind { addr, source }))?;
    let local = listener.local_addr()?;
    match tls {
        Some(tls) => {
            tracing::info!(addr = %local, "assay issuer service listening (TLS 1.3 only)");
            serve_on(
                assay_server::tls::TlsListener::new(listener, tls)?,
                state,
                assay_server::shutdown_signal(),
            )
            .await
        }
        None => {
            tracing::info!(addr = %local, "assay issuer service listening (plain HTTP)");
            serve_on(listener, state, assay_server::shutdown_signal()).await
        }
    }
}

/// Serves [`app`] on a listener whose peers are socket addresses (a `TcpListener` or
/// [`assay_server::tls::TlsListener`]) until `shutdown` completes (in-flight requests finish).
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve_on<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    assay_server::serve_router(listener, app(state), shutdown).await?;
    tracing::info!("assay issuer service stopped");
    Ok(())
}
