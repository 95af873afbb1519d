//! `assay serve` as a relying party follows the issuer's published epoch chain (issue 11,
//! defect 6): an epoch published after the server started is accepted once it is in the
//! chain's folder (the server re-reads the folder when a presentation names an epoch it does
//! not hold), and an epoch the issuer signed but did not publish there is refused, even after
//! the re-read.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASS: &str = "test passphrase";
const SCOPE: &str = "bank-serve";

fn assay(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(dir)
        .env("ASSAY_PASSPHRASE", PASS)
        .env("ASSAY_PARAMS_DIR", dir.join("params"))
        .output()
        .expect("the assay binary runs")
}

fn ok(o: Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The server process, killed when dropped (also when an assertion fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request to the server; the status and the body.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(d: &Path, policy: &str) -> (Server, u16) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "serve",
            "--addr",
            &addr,
            "--in-memory",
            "--kyc-policy",
            policy,
            "--kyc-issuer-key",
            "iss/issuer-public.json",
            "--kyc-scope",
            SCOPE,
            "--kyc-backend",
            "groth16",
            "--kyc-epochs",
            "chain",
            "--trusted-keys",
            "setup/manifest.json",
        ])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("assay serve starts");
    let server = Server(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "assay serve did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

/// The holder's presentation of serial `serial` under `epoch` (with that epoch's `leaves`),
/// answering a fresh challenge of the server; the body of `POST /v1/kyc/verify`.
fn present(d: &Path, port: u16, policy: &str, serial: &str, epoch: &str, leaves: &str) -> String {
    let (status, challenge) = http(port, "POST", "/v1/kyc/challenge", "");
    assert_eq!(status, 200, "{challenge}");
    let tag = format!("{serial}-{}", epoch.trim_end_matches(".json"));
    let ch = format!("ch-{tag}.json");
    std::fs::write(d.join(&ch), &challenge).unwrap();
    let path = format!("path-{tag}.json");
    let out = format!("proof-{tag}.json");
    ok(assay(
        d,
        &[
            "kyc", "path", "--leaves", leaves, "--serial", serial, "--out", &path,
        ],
    ));
    ok(assay(
        d,
        &[
            "kyc",
            "prove",
            "--holder",
            "holder.json",
            "--credential",
            &format!("cred-{serial}.json"),
            "--path",
            &path,
            "--epoch",
            epoch,
            "--policy",
            policy,
            "--challenge",
            &ch,
            "--issuer-key",
            "iss/issuer-public.json",
            "--expect-scope",
            SCOPE,
            "--trusted-keys",
            "setup/manifest.json",
            "--out",
            &out,
        ],
    ));
    let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    format!(r#"{{"proof": {}, "epoch": {}}}"#, read(&out), read(epoch))
}

fn verdict(port: u16, body: &str) -> serde_json::Value {
    let (status, answer) = http(port, "POST", "/v1/kyc/verify", body);
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(&answer).unwrap()
}

#[test]
fn the_server_follows_the_published_chain_and_refuses_unpublished_epochs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kyc/policy-sanctions-example.json");
    let policy = policy.to_str().unwrap();
    ok(assay(
        d,
        &[
            "solvency",
            "setup",
            "--kyc",
            "--out",
            "setup",
            "--signing-key",
            "setup-key.json",
        ],
    ));
    ok(assay(
        d,
        &[
            "kyc",
            "issuer",
            "init",
            "--dir",
            "iss",
            "--id",
            "serve-test",
            "--keys",
            "setup",
        ],
    ));
    ok(assay(d, &["kyc", "holder", "init", "--out", "holder.json"]));
    let holder: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("holder.json")).unwrap()).unwrap();
    let hid = holder["commitments"]["groth16-bn254"]
        .as_str()
        .unwrap()
        .to_string();
    let issue = |serial: u32| {
        ok(assay(
            d,
            &[
                "kyc",
                "issue",
                "--issuer",
                "iss",
                "--holder-commitment",
                &hid,
                "--country",
                "FR",
                "--expires",
                "2099-01-01T00:00:00Z",
                "--out",
                &format!("cred-{serial}.json"),
            ],
        ))
    };
    let publish = |epoch: &str, leaves: &str, chain: &str| {
        ok(assay(
            d,
            &[
                "kyc", "publish", "--issuer", "iss", "--out", epoch, "--leaves", leaves, "--chain",
                chain,
            ],
        ))
    };
    // Epoch 0 is the whole published chain when the server starts.
    issue(0);
    publish("e0.json", "leaves0.json", "chain");
    let (_server, port) = start_server(d, policy);
    let body = present(d, port, policy, "0", "e0.json", "leaves0.json");
    let v = verdict(port, &body);
    assert_eq!(v["valid"], true, "{v}");

    // Epoch 1 is published into the server's folder after it started: the presentation names
    // an epoch the server's chain does not hold, so it re-reads the folder and accepts.
    issue(1);
    publish("e1.json", "leaves1.json", "chain");
    let body = present(d, port, policy, "1", "e1.json", "leaves1.json");
    let v = verdict(port, &body);
    assert_eq!(v["valid"], true, "{v}");

    // Epoch 2 is signed by the issuer but published elsewhere (a tagging epoch, handed to one
    // holder): refused after the re-read, as not in the published chain.
    issue(2);
    publish("e2.json", "leaves2.json", "elsewhere");
    let body = present(d, port, policy, "2", "e2.json", "leaves2.json");
    let v = verdict(port, &body);
    assert_eq!(v["valid"], false, "{v}");
    let reason = v["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("publish"), "{v}");

    // Once the issuer publishes it into the chain's folder, the same presentation's epoch is
    // accepted (with a fresh challenge: the refused one was not spent, but proofs name theirs).
    std::fs::copy(d.join("e2.json"), d.join("chain/epoch-00000002.json")).unwrap();
    let body = present(d, port, policy, "2", "e2.json", "leaves2.json");
    let v = verdict(port, &body);
    assert_eq!(v["valid"], true, "{v}");
}
