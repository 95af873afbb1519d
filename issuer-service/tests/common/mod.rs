//! Shared fixtures: one issuer made once per test binary (its Groth16 keys take a while), then
//! copied into a fresh folder per test with its own service database and keys.
#![allow(dead_code)]

use assay_issuer_service::{app, AppState, KeyCost, Role, ServiceConfig, Store};
use assay_prover::keystore::KdfCost;
use assay_prover::kyc::holder::HolderFile;
use assay_prover::kyc::issuer::{Issuer, IssuerKeys};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tower::ServiceExt;
use zeroize::Zeroizing;

/// The test issuer's passphrase (a test value, not a secret).
pub const PASS: &str = "issuer service test passphrase";

fn template() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        Issuer::init_with(
            &d.path().join("issuer"),
            "service-test-issuer",
            PASS,
            KdfCost::MINIMUM,
            IssuerKeys::InsecureOwnSetup,
        )
        .unwrap();
        d
    })
    .path()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// A fresh issuer, its service database and one key per role.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub db: PathBuf,
    pub store: Store,
    pub state: AppState,
    pub admin: String,
    pub auditor: String,
    /// Bound to serial 0.
    pub holder0: String,
    /// Bound to serial 1.
    pub holder1: String,
    /// A revoked admin key.
    pub revoked: String,
}

pub fn fixture(config: ServiceConfig) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("issuer");
    copy_dir(&template().join("issuer"), &dir);
    let db = tmp.path().join("service.sqlite");
    let store = Store::open(&db).unwrap();
    let key = |role, serial| {
        store
            .add_key(role, serial, "test", KeyCost::MINIMUM)
            .unwrap()
            .key
            .to_string()
    };
    let admin = key(Role::Admin, None);
    let auditor = key(Role::Auditor, None);
    let holder0 = key(Role::Holder, Some(0));
    let holder1 = key(Role::Holder, Some(1));
    let revoked_key = store
        .add_key(Role::Admin, None, "old", KeyCost::MINIMUM)
        .unwrap();
    store.revoke_key(&revoked_key.id).unwrap();
    let state = AppState::new(&dir, Zeroizing::new(PASS.into()), store.clone(), config).unwrap();
    Fixture {
        tmp,
        dir,
        db,
        store,
        state,
        admin,
        auditor,
        holder0,
        holder1,
        revoked: revoked_key.key.to_string(),
    }
}

/// Limits high enough that no test but the rate-limit test meets them.
pub fn generous() -> ServiceConfig {
    ServiceConfig {
        rate_per_second: 10_000.0,
        rate_burst: 10_000.0,
        ..ServiceConfig::default()
    }
}

/// One request; returns the status, the headers and the body as JSON (`Null` if not JSON).
pub async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    if !body.is_empty() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let resp = app(state.clone())
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

/// An issue request for a fresh holder, expiring far in the future.
pub fn issue_body() -> String {
    let h = HolderFile::generate().unwrap();
    serde_json::json!({
        "holder_commitments": h.commitments,
        "country": "UA",
        "region": "UA-30",
        "expires": "2099-01-01T00:00:00Z",
    })
    .to_string()
}

/// Issues `n` credentials (serials 0..n) and publishes an epoch, as the admin.
pub async fn issue_and_publish(f: &Fixture, n: usize) {
    for _ in 0..n {
        let (s, _, b) = call(
            &f.state,
            "POST",
            "/v1/credentials",
            Some(&f.admin),
            &issue_body(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, _, b) = call(&f.state, "POST", "/v1/epochs", Some(&f.admin), "").await;
    assert_eq!(s, StatusCode::OK, "{b}");
}
