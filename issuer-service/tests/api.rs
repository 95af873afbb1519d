//! The issuer service over HTTP (in process, `oneshot`): the role × endpoint matrix, request
//! validation, rate limits, the audit log and its tampering, the OpenAPI document.

mod common;

use assay_issuer_service::{audit, store::read_audit_file, ServiceConfig};
use axum::http::{header, StatusCode};
use common::{call, fixture, generous, issue_and_publish, issue_body, Fixture};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Nobody,
    Admin,
    Auditor,
    /// Holder of serial 0.
    Holder0,
    /// Holder of serial 1.
    Holder1,
    /// A well-formed key that was never made.
    Unknown,
    /// A revoked admin key.
    Revoked,
}

const CALLERS: [Caller; 7] = [
    Caller::Nobody,
    Caller::Admin,
    Caller::Auditor,
    Caller::Holder0,
    Caller::Holder1,
    Caller::Unknown,
    Caller::Revoked,
];

const UNKNOWN_KEY: &str =
    "aik_0000000000000000_0000000000000000000000000000000000000000000000000000000000000000";

fn key(f: &Fixture, c: Caller) -> Option<&str> {
    match c {
        Caller::Nobody => None,
        Caller::Admin => Some(&f.admin),
        Caller::Auditor => Some(&f.auditor),
        Caller::Holder0 => Some(&f.holder0),
        Caller::Holder1 => Some(&f.holder1),
        Caller::Unknown => Some(UNKNOWN_KEY),
        Caller::Revoked => Some(&f.revoked),
    }
}

/// Who may call an endpoint.
#[derive(Clone, Copy)]
enum Allowed {
    Public,
    Admin,
    Auditor,
    /// The holder of serial 0 (the path asked for is serial 0's).
    HolderOf0,
}

fn expected(a: Allowed, c: Caller) -> StatusCode {
    use Caller::*;
    match (a, c) {
        (Allowed::Public, _) => StatusCode::OK,
        (_, Nobody | Unknown | Revoked) => StatusCode::UNAUTHORIZED,
        (Allowed::Admin, Admin) | (Allowed::Auditor, Auditor) | (Allowed::HolderOf0, Holder0) => {
            StatusCode::OK
        }
        _ => StatusCode::FORBIDDEN,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_endpoint_matrix_every_cell() {
    let f = fixture(generous());
    // Serials 0, 1 (holders' own) and 2 (revoked by the matrix), published.
    issue_and_publish(&f, 3).await;
    let issue = issue_body();
    let endpoints: [(&str, &str, &str, Allowed); 8] = [
        ("POST", "/v1/credentials", &issue, Allowed::Admin),
        ("POST", "/v1/credentials/2/revoke", "", Allowed::Admin),
        ("POST", "/v1/epochs", "{}", Allowed::Admin),
        ("GET", "/v1/epochs", "", Allowed::Auditor),
        ("GET", "/v1/audit", "", Allowed::Auditor),
        ("GET", "/v1/paths/0", "", Allowed::HolderOf0),
        ("GET", "/v1/leaves", "", Allowed::Public),
        ("GET", "/healthz", "", Allowed::Public),
    ];
    let mut cells = 0;
    for (method, uri, body, allowed) in endpoints {
        for c in CALLERS {
            let (status, headers, json) = call(&f.state, method, uri, key(&f, c), body).await;
            let want = expected(allowed, c);
            assert_eq!(status, want, "{method} {uri} as {c:?}: {json}");
            match status {
                StatusCode::UNAUTHORIZED => {
                    assert_eq!(json["error"], "unauthorized", "{json}");
                    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
                }
                StatusCode::FORBIDDEN => assert_eq!(json["error"], "forbidden", "{json}"),
                _ => {}
            }
            cells += 1;
        }
    }
    assert_eq!(cells, 56);
    // The one allowed revoke happened exactly once; the holder of serial 1 reads its own path.
    let (s, _, _) = call(&f.state, "GET", "/v1/paths/1", Some(&f.holder1), "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(&f.state, "GET", "/v1/paths/1", Some(&f.holder0), "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Auth comes before validation: a malformed body without a key is a 401, not a 400.
    let (s, _, _) = call(&f.state, "POST", "/v1/credentials", None, "{").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call(&f.state, "POST", "/v1/credentials", Some(&f.auditor), "{").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn authorization_headers_that_are_not_a_valid_bearer_key_are_401() {
    let f = fixture(generous());
    let admin_secret_changed = {
        let mut k = f.admin.clone();
        let last = k.pop().unwrap();
        k.push(if last == '0' { '1' } else { '0' });
        k
    };
    for value in [
        format!("Basic {}", f.admin),
        format!("bearer {}", f.admin),
        "Bearer ".to_string(),
        "Bearer not-a-key".to_string(),
        format!("Bearer {admin_secret_changed}"),
        format!("Bearer {}x", f.admin),
    ] {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/epochs")
            .header(header::AUTHORIZATION, value.clone())
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(assay_issuer_service::app(f.state.clone()), req)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{value}");
    }
}

#[tokio::test]
async fn request_validation_answers_clear_4xx() {
    let f = fixture(generous());
    issue_and_publish(&f, 1).await;
    let a = Some(f.admin.as_str());
    let h = common::issue_body();
    let good: serde_json::Value = serde_json::from_str(&h).unwrap();
    let with = |k: &str, v: serde_json::Value| {
        let mut g = good.clone();
        g[k] = v;
        g.to_string()
    };
    let without = |k: &str| {
        let mut g = good.clone();
        g.as_object_mut().unwrap().remove(k);
        g.to_string()
    };
    let big = format!("{{\"country\": \"{}\"}}", "A".repeat(20_000));
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "POST /v1/credentials",
            "{".into(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "POST /v1/credentials",
            "".into(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "POST /v1/credentials",
            "[]".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "JSON object",
        ),
        (
            "POST /v1/credentials",
            "\"x\"".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "JSON object",
        ),
        (
            "POST /v1/credentials",
            with("extra", 1.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `extra`",
        ),
        (
            "POST /v1/credentials",
            without("country"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field `country`",
        ),
        (
            "POST /v1/credentials",
            with("country", "XX".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "country",
        ),
        (
            "POST /v1/credentials",
            with("region", "PL-02".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "country/region",
        ),
        (
            "POST /v1/credentials",
            with("expires", "tomorrow".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires",
        ),
        (
            "POST /v1/credentials",
            with("expires", "2001-01-01T00:00:00Z".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not after today",
        ),
        (
            "POST /v1/credentials",
            with("holder_commitments", serde_json::json!({})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "holder_commitments",
        ),
        (
            "POST /v1/credentials",
            with(
                "holder_commitments",
                serde_json::json!({"groth16": "not a number"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "holder commitment",
        ),
        (
            "POST /v1/credentials",
            with("holder_commitments", serde_json::json!({"plonk": "1"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown backend",
        ),
        (
            "POST /v1/credentials",
            with("country", 7.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid type",
        ),
        (
            "POST /v1/credentials",
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "exceeds",
        ),
        (
            "POST /v1/credentials/abc/revoke",
            "".into(),
            StatusCode::BAD_REQUEST,
            "serial `abc`",
        ),
        (
            "POST /v1/credentials/-1/revoke",
            "".into(),
            StatusCode::BAD_REQUEST,
            "serial",
        ),
        (
            "POST /v1/credentials/4294967296/revoke",
            "".into(),
            StatusCode::BAD_REQUEST,
            "serial",
        ),
        (
            "POST /v1/credentials/99/revoke",
            "".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no credential with serial 99",
        ),
        (
            "POST /v1/credentials/0/revoke",
            "{\"why\": 1}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `why`",
        ),
        (
            "POST /v1/credentials/0/revoke",
            "[]".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "JSON object",
        ),
        (
            "POST /v1/epochs",
            "{\"epoch\": 5}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `epoch`",
        ),
        (
            "POST /v1/epochs",
            "nonsense".into(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "GET /v1/nothing",
            "".into(),
            StatusCode::NOT_FOUND,
            "no such endpoint",
        ),
    ];
    for (route, body, want, needle) in cases {
        let (method, uri) = route.split_once(' ').unwrap();
        let (s, _, json) = call(&f.state, method, uri, a, &body).await;
        assert_eq!(s, want, "{route} {body:.80}: {json}");
        let msg = json["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(needle) || json["error"] == needle,
            "{route} {body:.80}: `{msg}` lacks `{needle}`"
        );
    }
    // Revoking twice: the second is refused, naming why.
    let (s, _, _) = call(&f.state, "POST", "/v1/credentials/0/revoke", a, "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, json) = call(&f.state, "POST", "/v1/credentials/0/revoke", a, "{}").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json["message"]
        .as_str()
        .unwrap()
        .contains("revoked already"));
    // A holder's path: a bad serial is 400, a revoked credential's path 404.
    let (s, _, _) = call(&f.state, "GET", "/v1/paths/zero", Some(&f.holder0), "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = call(&f.state, "POST", "/v1/epochs", a, "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, json) = call(&f.state, "GET", "/v1/paths/0", Some(&f.holder0), "").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("revoked"),
        "{json}"
    );
    // None of the refused requests was audited: 1 issue, 2 publishes, 1 revoke, plus the
    // fixture's key-add (5) and key-revoke (1) entries.
    let entries = f.store.audit_entries().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "key-add",
            "key-add",
            "key-add",
            "key-add",
            "key-add",
            "key-revoke",
            "issue",
            "publish",
            "revoke",
            "publish"
        ]
    );
}

#[tokio::test]
async fn nothing_published_yet_is_404() {
    let f = fixture(generous());
    let (s, _, json) = call(&f.state, "GET", "/v1/leaves", None, "").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{json}");
    let (s, _, _) = call(
        &f.state,
        "POST",
        "/v1/credentials",
        Some(&f.admin),
        &issue_body(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, json) = call(&f.state, "GET", "/v1/paths/0", Some(&f.holder0), "").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{json}");
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after() {
    let f = fixture(ServiceConfig {
        rate_per_second: 0.01,
        rate_burst: 2.0,
        ..ServiceConfig::default()
    });
    for _ in 0..2 {
        let (s, _, _) = call(&f.state, "GET", "/v1/epochs", Some(&f.auditor), "").await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, h, json) = call(&f.state, "GET", "/v1/epochs", Some(&f.auditor), "").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{json}");
    assert!(h.contains_key(header::RETRY_AFTER));
    // Unauthenticated calls are limited too (they would otherwise cost an Argon2 hash each).
    let (s, _, _) = call(&f.state, "POST", "/v1/epochs", Some(common::PASS), "").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // The health check is not limited.
    let (s, _, _) = call(&f.state, "GET", "/healthz", None, "").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_audit_log_chains_every_admin_action_and_matches_the_heads_returned() {
    let f = fixture(generous());
    let a = Some(f.admin.as_str());
    let (_, _, issued) = call(&f.state, "POST", "/v1/credentials", a, &issue_body()).await;
    let (_, _, revoked) = call(&f.state, "POST", "/v1/credentials/0/revoke", a, "").await;
    let (_, _, published) = call(&f.state, "POST", "/v1/epochs", a, "").await;
    assert_eq!(issued["audit"]["seq"], 7, "{issued}");
    assert_eq!(revoked["audit"]["seq"], 8);
    assert_eq!(published["audit"]["seq"], 9);
    let (s, _, log) = call(&f.state, "GET", "/v1/audit", Some(&f.auditor), "").await;
    assert_eq!(s, StatusCode::OK);
    let log: audit::AuditLog = serde_json::from_value(log).unwrap();
    let head = audit::verify(&log.entries).unwrap();
    assert_eq!(head.seq, 9);
    assert_eq!(serde_json::json!(head.hash), published["audit"]["hash"]);
    let e = &log.entries[6];
    assert_eq!(
        (e.action.as_str(), e.actor_role.as_str()),
        ("issue", "admin")
    );
    assert_eq!(e.actor_key_id, f.admin[4..20]);
    let p: serde_json::Value = serde_json::from_str(&e.params).unwrap();
    assert_eq!(p["serial"], 0);
    assert_eq!(p["jurisdiction"], "UA-30");
    // No secret is in the log: neither a key nor the passphrase.
    let text = serde_json::to_string(&log).unwrap();
    for secret in [
        f.admin.as_str(),
        f.auditor.as_str(),
        f.holder0.as_str(),
        f.holder1.as_str(),
        common::PASS,
    ] {
        assert!(!text.contains(secret));
        assert!(!text.contains(&secret[secret.len() - 64.min(secret.len())..]));
    }
    // The file read read-only gives the same chain.
    assert_eq!(read_audit_file(&f.db).unwrap(), log.entries);
}

/// Tampering the database directly (the service's triggers dropped first, as an attacker with
/// the file would) is caught at the exact entry.
#[tokio::test]
async fn a_tampered_audit_database_is_caught_at_the_exact_entry() {
    let f = fixture(generous());
    issue_and_publish(&f, 2).await; // entries 7, 8 (issue), 9 (publish)
    let base = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let p = base.path().join(name);
        // A consistent copy of the WAL database.
        let c = rusqlite::Connection::open(&f.db).unwrap();
        c.execute("VACUUM INTO ?1", [p.to_str().unwrap()]).unwrap();
        let c = rusqlite::Connection::open(&p).unwrap();
        // The service never changes or deletes an entry.
        assert!(c
            .execute("UPDATE audit SET action = 'x' WHERE seq = 1", [])
            .is_err());
        assert!(c.execute("DELETE FROM audit WHERE seq = 1", []).is_err());
        c.execute_batch("DROP TRIGGER audit_never_changed; DROP TRIGGER audit_never_deleted;")
            .unwrap();
        (p, c)
    };
    assert_eq!(
        audit::verify(&read_audit_file(&f.db).unwrap()).unwrap().seq,
        9
    );

    // Changed: the serial of entry 7.
    let (p, c) = copy("changed.sqlite");
    c.execute(
        "UPDATE audit SET params = replace(params, '\"serial\":0', '\"serial\":5') WHERE seq = 7",
        [],
    )
    .unwrap();
    let b = audit::verify(&read_audit_file(&p).unwrap()).unwrap_err();
    assert_eq!((b.seq, b.position), (7, 7), "{b}");
    assert!(b.reason.contains("changed"), "{b}");

    // Changed and re-hashed: the next entry's link breaks.
    let (p, c) = copy("rehashed.sqlite");
    let mut e = read_audit_file(&p).unwrap()[6].clone();
    e.actor_key_id = "someone-else".into();
    e.hash = e.expected_hash();
    c.execute(
        "UPDATE audit SET actor_key_id = ?1, hash = ?2 WHERE seq = 7",
        [&e.actor_key_id, &e.hash],
    )
    .unwrap();
    let b = audit::verify(&read_audit_file(&p).unwrap()).unwrap_err();
    assert_eq!(b.seq, 8, "{b}");
    assert!(b.reason.contains("prev_hash"), "{b}");

    // Deleted: entry 8.
    let (p, c) = copy("deleted.sqlite");
    c.execute("DELETE FROM audit WHERE seq = 8", []).unwrap();
    let b = audit::verify(&read_audit_file(&p).unwrap()).unwrap_err();
    assert_eq!((b.seq, b.position), (8, 8), "{b}");
    assert!(b.reason.contains("missing"), "{b}");

    // Reordered: the rows of entries 7 and 8 swap places.
    let (p, c) = copy("reordered.sqlite");
    let rowid = |seq: i64| -> i64 {
        c.query_row("SELECT rowid FROM audit WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let (r7, r8) = (rowid(7), rowid(8));
    c.execute_batch(&format!(
        "UPDATE audit SET rowid = -1 WHERE seq = 7;
         UPDATE audit SET rowid = {r7} WHERE seq = 8;
         UPDATE audit SET rowid = {r8} WHERE seq = 7;"
    ))
    .unwrap();
    let b = audit::verify(&read_audit_file(&p).unwrap()).unwrap_err();
    assert_eq!((b.seq, b.position), (7, 7), "{b}");
    assert!(b.reason.contains("reordered"), "{b}");

    // The newest entry dropped: the chain alone holds, the head kept from the response does not.
    let (p, c) = copy("truncated.sqlite");
    let head = audit::verify(&read_audit_file(&f.db).unwrap()).unwrap();
    c.execute("DELETE FROM audit WHERE seq = 9", []).unwrap();
    let entries = read_audit_file(&p).unwrap();
    assert!(audit::verify(&entries).is_ok());
    assert!(audit::check_head(&entries, &head)
        .unwrap_err()
        .contains("removed"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_with_every_status() {
    let f = fixture(generous());
    let (s, _, doc) = call(&f.state, "GET", "/openapi.json", None, "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let authed = ["401", "403", "429", "500"];
    let with_body = ["400", "413", "422"];
    let want: [(&str, &str, &[&str]); 9] = [
        (
            "/v1/credentials",
            "post",
            &["200", "400", "401", "403", "413", "422", "429", "500"],
        ),
        (
            "/v1/credentials/{serial}/revoke",
            "post",
            &["200", "400", "401", "403", "413", "422", "429", "500"],
        ),
        (
            "/v1/epochs",
            "post",
            &["200", "400", "401", "403", "413", "422", "429", "500"],
        ),
        ("/v1/epochs", "get", &["200", "401", "403", "429", "500"]),
        ("/v1/audit", "get", &["200", "401", "403", "429", "500"]),
        (
            "/v1/paths/{serial}",
            "get",
            &["200", "400", "401", "403", "404", "429", "500"],
        ),
        ("/v1/leaves", "get", &["200", "404", "429", "500"]),
        ("/healthz", "get", &["200"]),
        ("/openapi.json", "get", &["200"]),
    ];
    for (path, method, statuses) in want {
        let op = &doc["paths"][path][method];
        let got: Vec<&str> = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} missing"))
            .keys()
            .map(String::as_str)
            .collect();
        let mut got_sorted = got.clone();
        got_sorted.sort_unstable();
        assert_eq!(got_sorted, statuses, "{method} {path}");
        if got.contains(&"401") {
            assert!(authed.iter().all(|s| got.contains(s)));
            assert!(
                op["security"].is_array(),
                "{method} {path} names no security"
            );
        }
        if method == "post" {
            assert!(with_body.iter().all(|s| got.contains(s)), "{method} {path}");
        }
    }
    assert_eq!(doc["paths"].as_object().unwrap().len(), 8);
}
