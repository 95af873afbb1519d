//! TLS 1.3 only, with real clients (OpenSSL's `s_client`, `curl`; the test fails, never
//! skips, when they are missing), through the verification service's listener.

mod common;

use assay_server::tls::{TlsFiles, TlsListener};
use std::{path::Path, process::Command, time::Duration};

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

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_3_connects_and_tls_1_2_is_refused() {
    let f = common::fixture(common::generous());
    let files = make_cert(f.tmp.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls = TlsListener::new(listener, files.load().unwrap()).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(assay_issuer_service::serve_on(
        tls,
        f.state.clone(),
        async {
            let _ = rx.await;
        },
    ));
    let (cert, auditor) = (files.cert.clone(), f.auditor.clone());
    let checks = tokio::task::spawn_blocking(move || {
        let s_client = |v: &str| {
            run(tool("openssl")
                .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
                .args(["-servername", "localhost", v, "-brief"]))
        };
        let (ok12, out12) = s_client("-tls1_2");
        assert!(!ok12, "a TLS 1.2 handshake succeeded:\n{out12}");
        let (ok13, out13) = s_client("-tls1_3");
        assert!(
            ok13 && out13.contains("TLSv1.3"),
            "TLS 1.3 refused:\n{out13}"
        );
        let curl = |versions: &[&str], path: &str| {
            run(tool("curl")
                .args(["-sS", "--max-time", "10", "--cacert"])
                .arg(&cert)
                .args(versions)
                .args(["-H", &format!("Authorization: Bearer {auditor}")])
                .args([
                    "--resolve",
                    &format!("localhost:{port}:127.0.0.1"),
                    &format!("https://localhost:{port}{path}"),
                ]))
        };
        // An authenticated request over TLS 1.3, certificate verified.
        let (ok, body) = curl(&["--tlsv1.3"], "/v1/audit");
        assert!(
            ok && body.contains("\"entries\""),
            "curl over TLS 1.3: {body}"
        );
        let (ok, body) = curl(&["--tlsv1.2", "--tls-max", "1.2"], "/healthz");
        assert!(!ok, "curl connected with TLS 1.2: {body}");
    });
    let result = tokio::time::timeout(Duration::from_secs(60), checks).await;
    tx.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    result.expect("clients finished").unwrap();
}
