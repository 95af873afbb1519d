//! TLS 1.3 only, checked with real clients: OpenSSL's `s_client` and `curl` (both in Debian's
//! base system; the test fails, never skips, when they are missing). A certificate is made
//! per run with `openssl req`; nothing is committed.

use assay_server::{
    config::ServerConfig, store::Store, tls::TlsFiles, AppState, AssayBackend, StartError,
};
use std::{path::Path, process::Command, sync::Arc, time::Duration};

fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is needed by this test (Debian package {name})"
    );
    Command::new(name)
}

/// A self-signed P-256 certificate for localhost and 127.0.0.1, valid one day.
fn make_cert(dir: &Path) -> TlsFiles {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = tool("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    TlsFiles { cert, key }
}

fn state() -> AppState {
    AppState::new(
        ServerConfig::default(),
        Arc::new(AssayBackend::default()),
        Store::in_memory().unwrap(),
    )
}

/// `openssl s_client` with one protocol version forced; returns (success, output).
fn s_client(port: u16, version_flag: &str) -> (bool, String) {
    let out = tool("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost", version_flag, "-brief"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn curl(port: u16, cert: &Path, versions: &[&str]) -> (bool, String) {
    let out = tool("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(cert)
        .args(versions)
        .args([
            "--resolve",
            &format!("localhost:{port}:127.0.0.1"),
            &format!("https://localhost:{port}/healthz"),
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_3_connects_and_tls_1_2_is_refused() {
    let dir = tempdir();
    let files = make_cert(&dir);
    let config = files.load().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(assay_server::serve_tls_on(
        listener,
        config,
        state(),
        async {
            let _ = rx.await;
        },
    ));
    let cert = files.cert.clone();
    let checks = tokio::task::spawn_blocking(move || {
        // A TLS 1.2-only client first: refused, and the server keeps serving.
        let (ok12, out12) = s_client(port, "-tls1_2");
        assert!(!ok12, "a TLS 1.2 handshake succeeded:\n{out12}");
        assert!(
            out12.contains("protocol version") || out12.contains("alert"),
            "expected a protocol_version alert:\n{out12}"
        );
        let (ok13, out13) = s_client(port, "-tls1_3");
        assert!(ok13, "TLS 1.3 refused:\n{out13}");
        assert!(out13.contains("TLSv1.3"), "{out13}");
        // An HTTP request over TLS 1.3 with certificate verification on.
        let (ok, body) = curl(port, &cert, &["--tlsv1.3"]);
        assert!(ok, "curl over TLS 1.3 failed: {body}");
        assert!(body.contains("\"status\":\"ok\""), "{body}");
        // curl capped at TLS 1.2 cannot connect.
        let (ok, body) = curl(port, &cert, &["--tlsv1.2", "--tls-max", "1.2"]);
        assert!(!ok, "curl connected with TLS 1.2: {body}");
    });
    let result = tokio::time::timeout(Duration::from_secs(60), checks).await;
    tx.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    result.expect("clients finished").unwrap();
}

#[tokio::test]
async fn a_silent_client_does_not_hold_up_others() {
    let dir = tempdir();
    let files = make_cert(&dir);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(assay_server::serve_tls_on(
        listener,
        files.load().unwrap(),
        state(),
        std::future::pending(),
    ));
    // A client that connects and never speaks.
    let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let cert = files.cert.clone();
    let (ok, body) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || curl(port, &cert, &["--tlsv1.3"])),
    )
    .await
    .expect("a second client was served while the first one stayed silent")
    .unwrap();
    assert!(ok, "{body}");
    server.abort();
}

#[test]
fn bad_certificate_files_are_errors_naming_the_file() {
    let dir = tempdir();
    let files = make_cert(&dir);
    let missing = TlsFiles {
        cert: dir.join("nope.pem"),
        key: files.key.clone(),
    };
    let e = missing.load().unwrap_err();
    assert!(
        matches!(e, StartError::Tls(_)) && e.to_string().contains("nope.pem"),
        "{e}"
    );

    std::fs::write(dir.join("garbage.pem"), "not a certificate").unwrap();
    let garbage = TlsFiles {
        cert: dir.join("garbage.pem"),
        key: files.key.clone(),
    };
    let e = garbage.load().unwrap_err();
    assert!(e.to_string().contains("garbage.pem"), "{e}");

    // A key that does not belong to the certificate.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other = make_cert(&other);
    let mismatched = TlsFiles {
        cert: files.cert.clone(),
        key: other.key,
    };
    let e = mismatched.load().unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "assay-tls-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
