//! Assay's HTTP verification service: a thin shell over `assay-verifier` (DESIGN §4).
//!
//! [`app`] builds the router (tested with `oneshot`), [`serve`] runs it on an address with
//! graceful shutdown, over TLS 1.3 only when given a certificate ([`tls`]). Endpoints:
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/v1/solvency/verify` | an auditor's check of a whole round bundle |
//! | POST | `/v1/solvency/inclusion` | a customer's check: `{record, round}` |
//! | GET | `/v1/solvency/rounds` | the served rounds (configured round folders) |
//! | GET | `/v1/solvency/rounds/{bundle_hash}/round.json` | a served round's bundle (immutable) |
//! | GET | `/v1/solvency/rounds/{bundle_hash}/proofs/{sha256}.bin` | a file its bundle lists (a STARK proof; immutable) |
//! | POST | `/v1/kyc/challenge` | a single-use nonce for a KYC proof |
//! | POST | `/v1/kyc/verify` | a relying party's check of a KYC proof |
//! | GET | `/healthz` | liveness |
//! | GET | `/metrics` | Prometheus text |
//! | GET | `/openapi.json` | the OpenAPI document, generated from this code |
//!
//! A STARK round keeps its proofs in files beside `round.json`: the server verifies the STARK
//! rounds it serves ([`ServerConfig::rounds`], read at start), reading their proofs from their
//! folders; a STARK bundle it does not serve is answered invalid with that reason.
//!
//! Every verification answers `{"valid": true}` or `{"valid": false, "reason": "<exact
//! reason>"}` with status 200; input that cannot be read is a 400 (malformed JSON) or 422
//! (well-formed JSON of the wrong shape, unknown fields included). Limits: a body size per
//! endpoint (413), a request timeout (408), a cap on concurrent verifications run on blocking
//! threads (503 when the queue wait runs out), a per-client token bucket (429), a CORS
//! allow-list and security headers. Logs are JSON lines (tracing) of method, route, status
//! and latency: never a body, so never a secret, salt or balance.
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod backend;
pub mod config;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
mod routes;
pub mod store;
pub mod tls;

pub use backend::{AssayBackend, Backend};
pub use config::ServerConfig;
pub use error::{AppError, StartError};

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::Semaphore;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The service's settings.
    pub config: Arc<ServerConfig>,
    /// What verifies.
    pub backend: Arc<dyn Backend>,
    /// Challenges and nullifiers.
    pub store: store::Store,
    /// Caps concurrent verifications.
    pub verify_slots: Arc<Semaphore>,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Per-client token buckets.
    pub limiter: Arc<ratelimit::RateLimiter>,
    /// The time in UNIX seconds (a fixed clock in tests).
    pub clock: Arc<dyn Fn() -> u64 + Send + Sync>,
}

/// The system clock in UNIX seconds.
pub fn system_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl AppState {
    /// State with the given backend and store.
    pub fn new(config: ServerConfig, backend: Arc<dyn Backend>, store: store::Store) -> Self {
        let limiter = ratelimit::RateLimiter::new(config.rate_per_second, config.rate_burst);
        Self {
            verify_slots: Arc::new(Semaphore::new(config.max_concurrent_verifications.max(1))),
            config: Arc::new(config),
            backend,
            store,
            metrics: Arc::new(metrics::Metrics::default()),
            limiter: Arc::new(limiter),
            clock: Arc::new(system_clock),
        }
    }

    /// The same state with a fixed clock (tests of time-bound proofs).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// State with Assay's verifiers and the store the config names (SQLite file, or memory).
    ///
    /// # Errors
    /// The database cannot be opened or the configured KYC files cannot be read.
    pub fn from_config(config: ServerConfig) -> Result<Self, StartError> {
        let store = match &config.database {
            Some(path) => store::Store::open(path),
            None => store::Store::in_memory(),
        }?;
        let backend = AssayBackend::from_config(&config)?;
        if let (Some(scope), Some(_)) = (&config.kyc_scope, &config.kyc_policy) {
            // One backend per scope: bind it now, or refuse a configuration that changes it.
            match config.kyc_backend {
                Some(b) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64);
                    store.challenges().bind_scope(scope, b, now)?;
                }
                None if store.challenges().scope_backend(scope)?.is_none() => {
                    return Err(StartError::KycSetting(
                        "the one backend its scope accepts (--kyc-backend groth16|halo2|stark) on first start",
                    ))
                }
                None => {}
            }
        }
        Ok(Self::new(config, Arc::new(backend), store))
    }
}

/// The router with every endpoint and limit (see the crate docs).
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Installs the JSON log subscriber (`RUST_LOG` filters; default `info`, without arkworks'
/// never-closed constraint-system spans, target `gr1cs`). Call once.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,gr1cs=off"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .try_init();
}

/// Serves [`app`] on `addr` until Ctrl-C or SIGTERM, then drains in-flight requests; over
/// TLS 1.3 only when `tls` names a certificate and key (plain HTTP otherwise, for a service
/// behind a TLS-terminating proxy).
///
/// # Errors
/// The address cannot be bound, the certificate or key cannot be used, or the state cannot
/// be built (see [`AppState::from_config`]).
pub async fn serve(
    addr: SocketAddr,
    config: ServerConfig,
    tls: Option<tls::TlsFiles>,
) -> Result<(), StartError> {
    let tls = tls.map(|t| t.load()).transpose()?;
    let state = AppState::from_config(config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    match tls {
        Some(tls) => {
            tracing::info!(addr = %local, "assay-server listening (TLS 1.3 only)");
            serve_tls_on(listener, tls, state, shutdown_signal()).await
        }
        None => {
            tracing::info!(addr = %local, "assay-server listening (plain HTTP)");
            serve_on(listener, state, shutdown_signal()).await
        }
    }
}

/// Serves [`app`] over TLS 1.3 only on a bound listener until `shutdown` completes (see
/// [`tls`]).
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve_tls_on(
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    serve_listener(tls::TlsListener::new(listener, tls)?, state, shutdown).await
}

/// Serves [`app`] on a bound listener until `shutdown` completes (graceful: in-flight requests
/// finish, new connections are refused).
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    serve_listener(listener, state, shutdown).await
}

/// Serves [`app`] on any listener whose peers are socket addresses (plain TCP or
/// [`tls::TlsListener`]), with the client address available to the rate limiter, until
/// `shutdown` completes.
async fn serve_listener<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    serve_router(listener, app(state), shutdown).await?;
    tracing::info!("assay-server stopped");
    Ok(())
}

/// Serves `router` on any listener whose peers are socket addresses (plain TCP or
/// [`tls::TlsListener`]), with each request's client address as `ConnectInfo<SocketAddr>`
/// (what the rate limiter reads), until `shutdown` completes (in-flight requests finish).
/// Shared by `assay serve` and the KYC issuer service.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve_router<L>(
    listener: L,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    use axum::serve::ListenerExt;
    axum::serve(
        listener.tap_io(|_| {}),
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested: draining");
}

/// How long a request may wait for a verification slot before a 503.
pub(crate) fn queue_wait(config: &ServerConfig) -> Duration {
    config.queue_wait
}
