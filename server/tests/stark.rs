//! STARK rounds on the server (issue 13 item 4, issue 14): a round served from its folder is
//! verified by the auditor's and the customer's endpoints with its proofs read through a
//! `ProofDir` on that folder; a STARK bundle the server does not serve is answered invalid
//! with the reason; the served round's bundle and proof files are served by hash (immutable,
//! content-addressed), and nothing else is.
//!
//! The round is the web page's STARK fixture, `web/fixtures/solvency-stark/`: the web
//! Groth16 fixture's customers and assets (and the same test publication key) proven on the
//! STARK backend with the prover's round pipeline, in batches of 127 users (the STARK's
//! smallest, height 2^7), so one batch proof, its leaves file and the top proof (records carry
//! no chain path); five records, a tampered one
//! (balance edited: its signature fails) and one signed by the exchange with a balance that is
//! not in the batch. The files are committed; this test checks that they verify, and with
//! `ASSAY_REGEN_FIXTURES=1` (or when they are missing) proves the round again first
//! (STARK proofs are randomized and salts come from a fresh round secret: new bytes each
//! time). Regenerate: `ASSAY_REGEN_FIXTURES=1 cargo test -p assay-server --test stark`.

use assay_prover::solvency::{self, record_path, BackendChoice, ProveOptions};
use assay_server::{
    app,
    backend::{bundle_files, ServedRound},
    store::Store,
    AppState, AssayBackend, Backend, ServerConfig, StartError,
};
use assay_verifier::{
    signing,
    solvency::{
        verify_inclusion_with, verify_round, InclusionRecord, ProofDir, RoundBundle, RoundOptions,
        BACKEND_STARK, RECORD_DOMAIN,
    },
};
use axum::{
    body::{Body, Bytes},
    extract::ConnectInfo,
    http::{header, HeaderMap, Request, StatusCode},
    Router,
};
use ed25519_dalek::{Signer, SigningKey};
use http_body_util::BodyExt;
use serde_json::Value;
use std::{
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};
use tower::ServiceExt;

/// The web fixtures' customers (`tests/fixtures.rs`): user id, BTC, USDT.
const USERS: [(&str, &str, &str); 5] = [
    ("alice", "0.50000000", "1200.00"),
    ("bob", "1.25000000", "0"),
    ("carol", "0", "99.99"),
    ("dave", "0.00012345", "5000000.5"),
    ("erin", "3.14159265", "2718.28"),
];

/// The fixture round's id.
const ROUND_ID: &str = "2026-12-02-demo-stark";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/solvency-stark")
}

/// The web fixtures' test publication key (never a real one).
fn signer() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn write_json(name: &str, v: &impl serde::Serialize) {
    fs::write(
        dir().join(name),
        serde_json::to_string_pretty(v).unwrap() + "\n",
    )
    .unwrap();
}

fn generate() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.json");
    fs::write(
        &config,
        format!(
            r#"{{"version":1,"round_id":"{ROUND_ID}","balance_bits":64,"batch_size":128,"fan_in":2,
               "assets":[{{"symbol":"BTC","decimals":8,"reserves":"10"}},
                         {{"symbol":"USDT","decimals":6,"reserves":"6000000"}}],
               "previous_round":null}}"#
        ),
    )
    .unwrap();
    let mut csv = String::from("user_id,BTC,USDT\n");
    for (u, btc, usdt) in USERS {
        csv.push_str(&format!("{u},{btc},{usdt}\n"));
    }
    let balances = tmp.path().join("balances.csv");
    fs::write(&balances, csv).unwrap();
    let out = tmp.path().join("out");
    solvency::prove(
        &ProveOptions {
            balances,
            config,
            out: out.clone(),
            keys: tmp.path().join("keys"),
            shard: None,
            resume: false,
            progress: false,
            backend: BackendChoice::Stark,
            budget: solvency::budget::Budget::default(),
        },
        Some(&signer()),
    )
    .unwrap();
    let _ = fs::remove_dir_all(dir());
    fs::create_dir_all(dir().join("proofs")).unwrap();
    fs::copy(out.join("round.json"), dir().join("round.json")).unwrap();
    let b = bundle();
    for h in bundle_files(&b) {
        let rel = ProofDir::relative(&h);
        fs::copy(out.join(&rel), dir().join(&rel)).unwrap();
    }
    for (u, _, _) in USERS {
        fs::copy(
            record_path(&out, u).unwrap(),
            dir().join(format!("record-{u}.json")),
        )
        .unwrap();
    }
    let alice = fs::read(dir().join("record-alice.json")).unwrap();
    // Tampered: alice claims more than the exchange counted (its signature then fails).
    let mut t: Value = serde_json::from_slice(&alice).unwrap();
    t["balances"][0]["amount"] = "5.00000000".into();
    write_json("record-alice-tampered.json", &t);
    // Signed by the exchange, but with a balance that is not in the batch.
    let mut w = InclusionRecord::parse(&alice, "alice").unwrap();
    w.balances[1].amount = "1300.00".into();
    w.signature = hex::encode(
        signer()
            .sign(&signing::message(RECORD_DOMAIN, &w.signed_body()))
            .to_bytes(),
    );
    write_json("record-alice-wrong-balance.json", &w);
}

/// The fixture, proven first if asked or missing (once per test binary).
fn fixture() -> PathBuf {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if std::env::var_os("ASSAY_REGEN_FIXTURES").is_some() || !dir().join("round.json").exists()
        {
            generate();
        }
    });
    dir()
}

fn read(name: &str) -> String {
    let p = fixture().join(name);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn bundle() -> RoundBundle {
    RoundBundle::parse(&fs::read(dir().join("round.json")).unwrap(), "round").unwrap()
}

fn record(name: &str) -> InclusionRecord {
    InclusionRecord::parse(read(name).as_bytes(), name).unwrap()
}

fn inclusion_body(record: &str) -> String {
    format!(
        "{{\"record\": {}, \"round\": {}}}",
        read(record),
        read("round.json")
    )
}

fn serving(dirs: &[&Path]) -> AssayBackend {
    AssayBackend::default()
        .with_served_rounds(dirs.iter().map(|d| ServedRound::open(d).unwrap()).collect())
}

fn router_with(backend: AssayBackend) -> Router {
    app(AppState::new(
        ServerConfig {
            rate_per_second: 1000.0,
            rate_burst: 1000.0,
            ..ServerConfig::default()
        },
        Arc::new(backend),
        Store::in_memory().unwrap(),
    ))
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    let mut req = req.body(body.into()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}

async fn post(app: &Router, uri: &str, body: String) -> Value {
    let (s, _, b) = send(app, "POST", uri, body, &[]).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).unwrap()
}

#[test]
fn the_stark_web_fixture_verifies_natively() {
    let d = fixture();
    let b = bundle();
    assert_eq!(b.backend, BACKEND_STARK);
    assert_eq!(b.config.round_id, ROUND_ID);
    assert_eq!(
        b.publication_key,
        hex::encode(signer().verifying_key().as_bytes())
    );
    // One batch (127 user positions) and the top over it: two proof files and the batch's
    // leaves file; records carry no chain path (the leaves file replaces it).
    assert_eq!((b.batches.len(), b.aggregations.len()), (1, 1));
    assert_eq!(bundle_files(&b).len(), 3);
    for (u, _, _) in USERS {
        assert!(record(&format!("record-{u}.json")).path.is_empty());
    }
    let proofs = ProofDir::new(&d);
    let opts = RoundOptions {
        proofs: Some(&proofs),
        ..RoundOptions::default()
    };
    verify_round(&b, &opts).unwrap();
    for (u, _, _) in USERS {
        let rep = verify_inclusion_with(&record(&format!("record-{u}.json")), &b, &opts).unwrap();
        assert_eq!(
            rep.proofs_checked,
            ["batch proof 0", "leaves of batch 0", "top proof"]
        );
    }
    let e = verify_inclusion_with(&record("record-alice-tampered.json"), &b, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("signature"), "{e}");
    let e = verify_inclusion_with(&record("record-alice-wrong-balance.json"), &b, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("are not in batch proof 0"), "{e}");
}

/// A served STARK round: the auditor's check and the customers' checks pass through the
/// endpoints, the round prepared once; a changed balance and a tampered record are refused
/// with their reasons; a server that does not serve the round refuses it, saying why.
#[tokio::test]
async fn a_served_stark_round_is_verified_from_its_folder() {
    let d = fixture();
    let backend = serving(&[&d]);
    let app = router_with(backend);
    let v = post(&app, "/v1/solvency/verify", read("round.json")).await;
    assert_eq!(v["valid"], true, "{v}");
    assert!(
        v["checks"]
            .to_string()
            .contains("1 batch proofs and 1 aggregation proofs (stark-koalabear-poseidon2)"),
        "{v}"
    );
    for (u, _, _) in USERS {
        let v = post(
            &app,
            "/v1/solvency/inclusion",
            inclusion_body(&format!("record-{u}.json")),
        )
        .await;
        assert_eq!(v["valid"], true, "{u}: {v}");
        let checks = v["checks"].to_string();
        assert!(
            checks.contains("top proof verifies (stark-koalabear-poseidon2)"),
            "{checks}"
        );
    }
    let v = post(
        &app,
        "/v1/solvency/inclusion",
        inclusion_body("record-alice-wrong-balance.json"),
    )
    .await;
    assert_eq!(v["valid"], false, "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "these balances, this user id and salt, or this position are not in batch proof 0"
        ),
        "{reason}"
    );
    let v = post(
        &app,
        "/v1/solvency/inclusion",
        inclusion_body("record-alice-tampered.json"),
    )
    .await;
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("signature"), "{v}");

    // The customer checks prepared the round once (every proof verified then).
    let backend = serving(&[&d]);
    for _ in 0..3 {
        let v = backend
            .verify_inclusion(inclusion_body("record-bob.json").as_bytes())
            .unwrap();
        assert!(v.valid, "{v:?}");
    }
    assert_eq!(backend.prepared_rounds(), 1);

    // Not served here: refused with the reason, before anything is read.
    let bare = router_with(AssayBackend::default());
    for (uri, body) in [
        ("/v1/solvency/verify", read("round.json")),
        (
            "/v1/solvency/inclusion",
            inclusion_body("record-alice.json"),
        ),
    ] {
        let v = post(&bare, uri, body).await;
        assert_eq!(v["valid"], false, "{v}");
        let reason = v["reason"].as_str().unwrap();
        assert!(
            reason.contains("verifies only the STARK rounds it serves"),
            "{reason}"
        );
        assert!(reason.contains(&bundle().hash()), "{reason}");
    }
}

/// A proof file altered on the server's disk: the auditor's check names the file, the file is
/// not served (500, never the altered bytes), and a folder missing a listed file does not
/// start.
#[tokio::test]
async fn an_altered_or_missing_proof_file_is_caught() {
    let d = fixture();
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("proofs")).unwrap();
    fs::copy(d.join("round.json"), tmp.path().join("round.json")).unwrap();
    let b = bundle();
    let files: Vec<String> = bundle_files(&b).into_iter().collect();
    for h in &files {
        let rel = ProofDir::relative(h);
        fs::copy(d.join(&rel), tmp.path().join(&rel)).unwrap();
    }
    let batch = &b.batches[0].proof;
    let path = tmp.path().join(ProofDir::relative(batch));
    let mut bytes = fs::read(&path).unwrap();
    bytes[1000] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let app = router_with(serving(&[tmp.path()]));
    let v = post(&app, "/v1/solvency/verify", read("round.json")).await;
    assert_eq!(v["valid"], false, "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "batch proof 0: proof file proofs/{batch}.bin: its bytes hash to"
        )),
        "{reason}"
    );
    let v = post(
        &app,
        "/v1/solvency/inclusion",
        inclusion_body("record-alice.json"),
    )
    .await;
    assert_eq!(v["valid"], false, "{v}");
    let (s, _, body) = send(
        &app,
        "GET",
        &format!("/v1/solvency/rounds/{}/proofs/{batch}.bin", b.hash()),
        "",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.windows(64).any(|w| w == &bytes[..64]));
    fs::remove_file(&path).unwrap();
    match ServedRound::open(tmp.path()) {
        Err(e @ StartError::Round { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains(&format!(
                    "proofs/{batch}.bin: listed by round.json, missing"
                )),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    match ServedRound::open(&tmp.path().join("nowhere")) {
        Err(e @ StartError::Round { .. }) => assert!(e.to_string().contains("round.json")),
        other => panic!("{other:?}"),
    }
    // Through the configuration, as `assay serve` starts.
    let e = AssayBackend::from_config(&ServerConfig {
        rounds: vec![tmp.path().to_path_buf()],
        ..ServerConfig::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
    let ok = AssayBackend::from_config(&ServerConfig {
        rounds: vec![d.clone()],
        ..ServerConfig::default()
    })
    .unwrap();
    assert_eq!(ok.served_rounds().len(), 1);
}

/// The served round's files by hash: listed, immutable, checked; anything else a 404.
#[tokio::test]
async fn served_files_are_content_addressed_and_nothing_else_is_served() {
    let d = fixture();
    let b = bundle();
    let hash = b.hash();
    let app = router_with(serving(&[&d]));
    let (s, _, body) = send(&app, "GET", "/v1/solvency/rounds", "", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["rounds"][0]["bundle_hash"], hash.as_str(), "{v}");
    assert_eq!(v["rounds"][0]["backend"], BACKEND_STARK);
    assert_eq!(v["rounds"][0]["round_id"], ROUND_ID);
    assert_eq!(v["rounds"][0]["files"], 3);

    let base = format!("/v1/solvency/rounds/{hash}");
    let (s, h, body) = send(&app, "GET", &format!("{base}/round.json"), "", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        RoundBundle::parse(&body, "served").unwrap().hash(),
        hash,
        "the served bundle is the round"
    );
    assert_eq!(
        h[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    for file in bundle_files(&b) {
        let uri = format!("{base}/proofs/{file}.bin");
        let (s, h, body) = send(&app, "GET", &uri, "", &[]).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert_eq!(assay_verifier::sha256_hex(&body), file);
        assert_eq!(
            h[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
        let etag = h[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"{file}\""));
        let (s, _, body) = send(
            &app,
            "GET",
            &uri,
            "",
            &[(header::IF_NONE_MATCH, etag.as_str())],
        )
        .await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
    }

    let listed = bundle_files(&b).into_iter().next().unwrap();
    let unlisted = assay_verifier::sha256_hex(b"not a file of the round");
    let other_round = "ab".repeat(32);
    let not_found = [
        format!("{base}/proofs/{unlisted}.bin"),
        format!("{base}/proofs/{}.bin", listed.to_uppercase()),
        format!("{base}/proofs/{listed}"),
        format!("{base}/proofs/{listed}.BIN"),
        format!("{base}/proofs/{listed}.bin.bak"),
        format!("{base}/proofs/{}.bin", &listed[..63]),
        format!("{base}/proofs/..%2Fround.json"),
        format!("{base}/proofs/..%2F..%2F..%2Fround.json"),
        format!("{base}/proofs/{hash}.bin"),
        format!("/v1/solvency/rounds/{other_round}/proofs/{listed}.bin"),
        format!("/v1/solvency/rounds/{other_round}/round.json"),
        format!("/v1/solvency/rounds/{}/round.json", hash.to_uppercase()),
        "/v1/solvency/rounds/..%2F/round.json".to_string(),
    ];
    for uri in not_found {
        let (s, _, body) = send(&app, "GET", &uri, "", &[]).await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if !v.is_null() {
            assert_eq!(v["error"], "not_found", "{uri}: {v}");
        }
    }
    // A server with no round folders serves no file, and lists none.
    let bare = router_with(AssayBackend::default());
    let (s, _, _) = send(
        &bare,
        "GET",
        &format!("{base}/proofs/{listed}.bin"),
        "",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, body) = send(&bare, "GET", "/v1/solvency/rounds", "", &[]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["rounds"],
        Value::Array(vec![])
    );

    // Documented.
    let (_, _, body) = send(&app, "GET", "/openapi.json", "", &[]).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    for p in [
        "/v1/solvency/rounds",
        "/v1/solvency/rounds/{bundle_hash}/round.json",
        "/v1/solvency/rounds/{bundle_hash}/proofs/{file}",
    ] {
        assert!(v["paths"][p]["get"].is_object(), "openapi lacks {p}");
    }
    // Counted under their route names.
    let (_, _, m) = send(&app, "GET", "/metrics", "", &[]).await;
    let m = String::from_utf8_lossy(&m);
    assert!(
        m.contains("route=\"solvency_round_proof\",status=\"200\""),
        "{m}"
    );
}

/// Both STARK formats are served: the frozen round whose records carry their chain path
/// (`v1-stark`) and the one with a leaves file per batch (`v2-stark`); a record of one is not
/// valid against the other.
#[tokio::test]
async fn frozen_stark_rounds_of_both_formats_are_served() {
    let frozen = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/solvency/frozen");
    let (v1, v2) = (frozen.join("v1-stark"), frozen.join("v2-stark"));
    let app = router_with(serving(&[&v1, &v2]));
    let text = |d: &Path, f: &str| fs::read_to_string(d.join(f)).unwrap();
    for d in [&v1, &v2] {
        let v = post(&app, "/v1/solvency/verify", text(d, "round.json")).await;
        assert_eq!(v["valid"], true, "{}: {v}", d.display());
        let body = format!(
            "{{\"record\": {}, \"round\": {}}}",
            text(d, "record-customer-0007.json"),
            text(d, "round.json")
        );
        let v = post(&app, "/v1/solvency/inclusion", body).await;
        assert_eq!(v["valid"], true, "{}: {v}", d.display());
    }
    let crossed = format!(
        "{{\"record\": {}, \"round\": {}}}",
        text(&v1, "record-customer-0007.json"),
        text(&v2, "round.json")
    );
    let v = post(&app, "/v1/solvency/inclusion", crossed).await;
    assert_eq!(v["valid"], false, "{v}");
    let (_, _, body) = send(&app, "GET", "/v1/solvency/rounds", "", &[]).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    let mut files: Vec<u64> = v["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["files"].as_u64().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, [2, 3], "{v}");
}
