//! TLS for the service: TLS 1.3 only (rustls, the `ring` provider), when given a certificate.
//!
//! [`TlsFiles::load`] reads a PEM certificate chain and its private key and builds a rustls
//! server configuration that offers TLS 1.3 and nothing older: a client limited to TLS 1.2
//! gets a `protocol_version` alert and no connection (tested with OpenSSL's and curl's
//! clients in `tests/tls.rs`). ALPN offers `h2` and `http/1.1`.
//!
//! [`TlsListener`] accepts TCP connections and runs each handshake on its own task (bounded by
//! [`HANDSHAKE_TIMEOUT`]), so a slow or silent client never holds up the others; failed
//! handshakes are logged and dropped. It plugs into `axum::serve` like a `TcpListener`.

use crate::StartError;
use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinHandle,
};
use tokio_rustls::{
    rustls::{
        self,
        pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    },
    server::TlsStream,
    TlsAcceptor,
};

/// How long a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes completed but not yet taken by the server (back-pressure on the accept loop).
const ACCEPTED_QUEUE: usize = 64;

/// Where the service's certificate chain and private key are (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// The private key of the leaf certificate (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files and builds a TLS 1.3-only server configuration.
    ///
    /// # Errors
    /// [`StartError::Tls`] naming the file that cannot be read, holds no certificate or key,
    /// or whose key does not match the certificate.
    pub fn load(&self) -> Result<Arc<rustls::ServerConfig>, StartError> {
        let fail =
            |path: &Path, what: String| StartError::Tls(format!("{}: {what}", path.display()));
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| {
                fail(
                    &self.cert,
                    format!("cannot read a PEM certificate chain ({e})"),
                )
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| fail(&self.cert, format!("not a PEM certificate chain ({e})")))?;
        if certs.is_empty() {
            return Err(fail(&self.cert, "no CERTIFICATE block".into()));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| fail(&self.key, format!("no usable PEM private key ({e})")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| StartError::Tls(format!("TLS 1.3 configuration: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                fail(
                    &self.key,
                    format!("does not match {} ({e})", self.cert.display()),
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A listener that hands out TLS 1.3 streams whose handshake has completed.
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor_task: JoinHandle<()>,
}

impl TlsListener {
    /// Serves TLS with `config` on the connections of `tcp`.
    ///
    /// # Errors
    /// The listener's local address cannot be read.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let acceptor = TlsAcceptor::from(config);
        let acceptor_task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, handed) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = handed.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
                        Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    break;
                }
            }
        });
        Ok(Self {
            local,
            accepted,
            acceptor_task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(c) => c,
            // The accept loop only ends when this receiver is gone, so this cannot happen
            // while `self` exists; wait forever rather than invent a connection.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
