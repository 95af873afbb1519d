//! `assay kyc issuer serve | key | audit`: the issuer as an HTTP service
//! (crate `assay-issuer-service`), its API keys and its audit log.

use super::Failure;
use assay_issuer_service::{
    audit::{self, AuditLog},
    store::read_audit_file,
    AppState, KeyCost, Role, ServiceConfig, Store,
};
use assay_prover::keystore::{passphrase_from_env_or_prompt, PASSPHRASE_ENV};
use clap::{Args, Subcommand};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// The service database's file name in the issuer directory (the default of `--db`).
pub const SERVICE_DB: &str = "service.sqlite";

/// Arguments of `assay kyc issuer serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The issuer directory (`assay kyc issuer init`).
    #[arg(long)]
    issuer: PathBuf,
    /// The service database (API key hashes, audit log); default ISSUER_DIR/service.sqlite.
    #[arg(long)]
    db: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// Serve over TLS 1.3 only with this certificate chain (PEM, leaf first); plain HTTP
    /// without it (behind a TLS-terminating proxy).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Sustained requests per second per client on /v1/*.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Burst size per client on /v1/*.
    #[arg(long, default_value_t = 20.0)]
    burst: f64,
    /// Take the client address from X-Forwarded-For (only behind a trusted proxy).
    #[arg(long)]
    trust_forwarded_for: bool,
}

/// `assay kyc issuer key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make an API key and print it once (only its Argon2id hash is stored).
    Add {
        /// The service database (ISSUER_DIR/service.sqlite by default for `serve`).
        #[arg(long)]
        db: PathBuf,
        /// `admin` (issue, revoke, publish), `auditor` (epochs, audit log) or `holder` (its
        /// own path).
        #[arg(long)]
        role: String,
        /// The credential serial a holder key is bound to (holder keys only).
        #[arg(long)]
        serial: Option<u64>,
        /// A note on whose key this is (stored and shown by `key list`).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke an API key (401 from then on).
    Revoke {
        /// The service database.
        #[arg(long)]
        db: PathBuf,
        /// The key id (`key list`).
        #[arg(long)]
        id: String,
    },
    /// List the API keys (ids, roles, serials, labels, dates; never a key or hash).
    List {
        /// The service database.
        #[arg(long)]
        db: PathBuf,
    },
}

/// `assay kyc issuer audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exit 0 intact, 1 broken (the entry where it breaks is
    /// named), 2 bad input.
    Verify {
        /// The service database.
        #[arg(long, required_unless_present = "log", conflicts_with = "log")]
        db: Option<PathBuf>,
        /// An exported log (the body of `GET /v1/audit`).
        #[arg(long)]
        log: Option<PathBuf>,
        /// A head kept elsewhere (`SEQ:HASH`, from an admin response or the service's log):
        /// it must be in the chain, so dropped newest entries are caught.
        #[arg(long)]
        head: Option<String>,
    },
}

fn service_error(e: impl std::fmt::Display) -> Failure {
    Failure::Input(e.to_string())
}

/// Runs the service until Ctrl-C or SIGTERM. The passphrase comes from ASSAY_PASSPHRASE or a
/// prompt, is checked before listening, and is removed from the environment.
///
/// # Errors
/// [`Failure::Input`] for a bad setting, a wrong passphrase or an address in use.
pub fn serve(a: ServeArgs) -> Result<(), Failure> {
    if !(a.rate > 0.0 && a.burst >= 1.0) {
        return Err(Failure::Input(
            "--rate must be positive and --burst at least 1".into(),
        ));
    }
    let pass = passphrase_from_env_or_prompt("Issuer passphrase: ", false)?;
    // Single-threaded still (no runtime yet): nothing else reads the environment now.
    std::env::remove_var(PASSPHRASE_ENV);
    let db = a.db.clone().unwrap_or_else(|| a.issuer.join(SERVICE_DB));
    let store = Store::open(&db).map_err(service_error)?;
    let config = ServiceConfig {
        rate_per_second: a.rate,
        rate_burst: a.burst,
        trust_forwarded_for: a.trust_forwarded_for,
        request_timeout: Duration::from_secs(60),
        ..ServiceConfig::default()
    };
    let state = AppState::new(&a.issuer, pass, store, config).map_err(service_error)?;
    assay_server::init_logging();
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(assay_server::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Input(format!("cannot start the runtime: {e}")))?;
    rt.block_on(assay_issuer_service::serve(a.addr, state, tls))
        .map_err(service_error)
}

/// Runs `assay kyc issuer key ...`.
///
/// # Errors
/// [`Failure::Input`] for a bad role, serial or key id.
pub fn key(cmd: KeyCommand) -> Result<(), Failure> {
    match cmd {
        KeyCommand::Add {
            db,
            role,
            serial,
            label,
        } => {
            let role = Role::parse(&role).map_err(|e| Failure::Input(format!("--role: {e}")))?;
            let store = Store::open(&db).map_err(service_error)?;
            let k = store
                .add_key(role, serial, &label, KeyCost::DEFAULT)
                .map_err(service_error)?;
            match serial {
                Some(s) => println!("key id: {} (role {role}, serial {s})", k.id),
                None => println!("key id: {} (role {role})", k.id),
            }
            println!("API key (shown once; only its hash is stored):");
            println!("{}", &*k.key);
            Ok(())
        }
        KeyCommand::Revoke { db, id } => {
            Store::open(&db)
                .map_err(service_error)?
                .revoke_key(&id)
                .map_err(service_error)?;
            println!("revoked API key {id}");
            Ok(())
        }
        KeyCommand::List { db } => {
            for k in Store::open(&db)
                .map_err(service_error)?
                .list_keys()
                .map_err(service_error)?
            {
                println!(
                    "{}  {:<7}  serial {:<10}  created {}  {}  {}",
                    k.id,
                    k.role.name(),
                    k.serial.map_or("-".into(), |s| s.to_string()),
                    k.created_at,
                    k.revoked_at
                        .map_or("active".into(), |r| format!("revoked {r}")),
                    k.label
                );
            }
            Ok(())
        }
    }
}

/// Runs `assay kyc issuer audit verify`.
///
/// # Errors
/// [`Failure::Invalid`] naming the entry where the chain breaks (exit 1); [`Failure::Input`]
/// for an unreadable file (exit 2).
pub fn audit(cmd: AuditCommand) -> Result<(), Failure> {
    let AuditCommand::Verify { db, log, head } = cmd;
    let head = head
        .as_deref()
        .map(audit::parse_head)
        .transpose()
        .map_err(|e| Failure::Input(format!("--head: {e}")))?;
    let entries = match (db, log) {
        (Some(db), _) => read_audit_file(&db).map_err(service_error)?,
        (None, Some(file)) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::Input(format!("{}: {e}", file.display())))?;
            let doc: AuditLog = serde_json::from_str(&text).map_err(|e| {
                Failure::Input(format!("{}: not an audit log: {e}", file.display()))
            })?;
            if doc.version != audit::AUDIT_FORMAT_VERSION {
                return Err(Failure::Input(format!(
                    "{}: audit log version {} (this build reads {})",
                    file.display(),
                    doc.version,
                    audit::AUDIT_FORMAT_VERSION
                )));
            }
            doc.entries
        }
        (None, None) => return Err(Failure::Input("give --db FILE or --log FILE".into())),
    };
    let tip = audit::verify(&entries).map_err(|e| Failure::Invalid(e.to_string()))?;
    if let Some(h) = &head {
        audit::check_head(&entries, h).map_err(|e| Failure::Invalid(format!("--head: {e}")))?;
    }
    println!(
        "valid: {} entries, chain intact; head {}:{}",
        tip.seq, tip.seq, tip.hash
    );
    Ok(())
}
