//! The service's JSON logs never hold a secret: not the API keys presented, not the issuer's
//! passphrase (this binary owns the global log subscriber, so it holds this one test).

mod common;

use axum::http::StatusCode;
use common::{call, fixture, generous, issue_and_publish};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_lines_without_keys_or_the_passphrase() {
    let sink = Sink::default();
    let writer = sink.clone();
    // Everything at TRACE but arkworks' constraint-system spans (`gr1cs`): those are opened
    // once per namespace of every synthesis (the fixture's setup) and never closed.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,gr1cs=off"))
        .with_writer(move || writer.clone())
        .init();
    let f = fixture(generous());
    issue_and_publish(&f, 2).await;
    let _ = call(
        &f.state,
        "POST",
        "/v1/credentials/1/revoke",
        Some(&f.admin),
        "",
    )
    .await;
    let _ = call(&f.state, "GET", "/v1/audit", Some(&f.auditor), "").await;
    let (s, _, _) = call(&f.state, "GET", "/v1/audit", Some(&f.holder0), "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let _ = call(&f.state, "GET", "/v1/paths/0", Some(&f.holder0), "").await;
    let _ = call(&f.state, "GET", "/v1/epochs", Some(&f.revoked), "").await;
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    // The logs were captured: requests, audit entries, a refusal naming the key id.
    assert!(text.contains("audit entry appended"), "{text}");
    assert!(text.contains("forbidden"), "{text}");
    assert!(text.contains(&f.holder0[4..20]), "the key id is logged");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
    }
    for (what, secret) in [
        ("admin key", f.admin.as_str()),
        ("auditor key", f.auditor.as_str()),
        ("holder key", f.holder0.as_str()),
        ("revoked key", f.revoked.as_str()),
        ("passphrase", common::PASS),
    ] {
        let tail = &secret[secret.len().saturating_sub(64)..];
        assert!(!text.contains(tail), "the {what} is in the logs");
    }
}
