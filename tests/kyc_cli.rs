//! The `assay kyc` command line end to end: issue, publish, prove, verify, and the exit codes
//! of refusals (1: invalid presentation, 2: bad input).

use std::path::Path;
use std::process::{Command, Output};

const PASS: &str = "test passphrase";

fn assay(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(dir)
        .env("ASSAY_PASSPHRASE", PASS)
        // Halo2 parameters: one cache for both statements, here inside the test's folder.
        .env("ASSAY_PARAMS_DIR", dir.join("params"))
        .output()
        .expect("the assay binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn ok(o: Output) -> String {
    assert_eq!(
        code(&o),
        0,
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn kyc_flow_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kyc/policy-sanctions-example.json");
    let policy = policy.to_str().unwrap();
    ok(assay(
        d,
        &[
            "kyc",
            "issuer",
            "init",
            "--dir",
            "iss",
            "--id",
            "test-issuer",
        ],
    ));
    ok(assay(d, &["kyc", "holder", "init", "--out", "holder.json"]));
    let holder: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("holder.json")).unwrap()).unwrap();
    let hid = holder["commitments"]["groth16-bn254"].as_str().unwrap();
    let issue = |region: Option<&str>, out: &str| {
        let mut args = vec![
            "kyc",
            "issue",
            "--issuer",
            "iss",
            "--holder-commitment",
            hid,
            "--country",
            "UA",
            "--expires",
            "2099-01-01T00:00:00Z",
            "--out",
            out,
        ];
        if let Some(r) = region {
            args.extend(["--region", r]);
        }
        assay(d, &args)
    };
    ok(issue(Some("UA-30"), "cred.json"));
    ok(issue(None, "cred-ua.json"));
    ok(assay(
        d,
        &[
            "kyc",
            "publish",
            "--issuer",
            "iss",
            "--out",
            "epoch.json",
            "--leaves",
            "leaves.json",
        ],
    ));
    ok(assay(
        d,
        &[
            "kyc",
            "path",
            "--leaves",
            "leaves.json",
            "--serial",
            "1",
            "--out",
            "path-leaves.json",
        ],
    ));
    ok(assay(
        d,
        &[
            "kyc",
            "path",
            "--issuer",
            "iss",
            "--serial",
            "0",
            "--out",
            "path.json",
        ],
    ));
    ok(assay(
        d,
        &[
            "kyc",
            "path",
            "--issuer",
            "iss",
            "--serial",
            "1",
            "--out",
            "path-ua.json",
        ],
    ));
    ok(assay(
        d,
        &["kyc", "challenge", "--scope", "bank-a", "--out", "ch.json"],
    ));
    let prove = |cred: &str, path: &str, out: &str| {
        assay(
            d,
            &[
                "kyc",
                "prove",
                "--holder",
                "holder.json",
                "--credential",
                cred,
                "--path",
                path,
                "--epoch",
                "epoch.json",
                "--policy",
                policy,
                "--challenge",
                "ch.json",
                "--issuer-key",
                "iss/issuer-public.json",
                "--out",
                out,
            ],
        )
    };
    ok(prove("cred.json", "path.json", "proof.json"));
    // The holder's own path from the published leaves equals the issuer's.
    assert_eq!(
        std::fs::read_to_string(d.join("path-leaves.json")).unwrap(),
        std::fs::read_to_string(d.join("path-ua.json")).unwrap()
    );
    // A country-only UA credential cannot prove under a policy restricting UA-43.
    let o = prove("cred-ua.json", "path-ua.json", "proof-ua.json");
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("restricted"));

    let verify = |proof: &str, ch: &str| {
        assay(
            d,
            &[
                "kyc",
                "verify",
                proof,
                "--epoch",
                "epoch.json",
                "--policy",
                policy,
                "--challenge",
                ch,
                "--issuer-key",
                "iss/issuer-public.json",
                "--json",
            ],
        )
    };
    // A truncated proof is bad input, and does not spend the challenge.
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("proof.json")).unwrap()).unwrap();
    let full = p["proof"].as_str().unwrap().to_string();
    p["proof"] = full[..64].into();
    std::fs::write(d.join("trunc.json"), p.to_string()).unwrap();
    assert_eq!(code(&verify("trunc.json", "ch.json")), 2);
    // Edited nullifier: invalid.
    p["proof"] = full.into();
    p["public_inputs"]["nullifier"] = "7".into();
    std::fs::write(d.join("edited.json"), p.to_string()).unwrap();
    let o = verify("edited.json", "ch.json");
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().starts_with("proof"));

    let o = verify("proof.json", "ch.json");
    let v: serde_json::Value = serde_json::from_str(&ok(o)).unwrap();
    assert_eq!(v["valid"], true);
    assert!(v["nullifier"].as_str().unwrap().len() > 10);
    // Replay: the challenge is spent.
    let o = verify("proof.json", "ch.json");
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("already used"));

    // Bad input: unknown code, expiry in the past, wrong passphrase.
    let o = assay(
        d,
        &[
            "kyc",
            "issue",
            "--issuer",
            "iss",
            "--holder-commitment",
            hid,
            "--country",
            "ZZ",
            "--expires",
            "2099-01-01T00:00:00Z",
            "--out",
            "x.json",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("ZZ"));
    let o = assay(
        d,
        &[
            "kyc",
            "issue",
            "--issuer",
            "iss",
            "--holder-commitment",
            hid,
            "--country",
            "FR",
            "--expires",
            "2001-01-01T00:00:00Z",
            "--out",
            "x.json",
        ],
    );
    assert_eq!(code(&o), 2);
    let o = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["kyc", "publish", "--issuer", "iss", "--out", "e2.json"])
        .current_dir(d)
        .env("ASSAY_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong passphrase"));
}

#[test]
fn kyc_halo2_flow_replay_and_relabelled_proof() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kyc/policy-sanctions-example.json");
    let policy = policy.to_str().unwrap();
    ok(assay(d, &["kyc", "issuer", "init", "--dir", "iss"]));
    let out = ok(assay(d, &["kyc", "holder", "init", "--out", "holder.json"]));
    assert!(out.contains("halo2 commitment:"), "{out}");
    let holder: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("holder.json")).unwrap()).unwrap();
    let hid = holder["commitments"]["groth16-bn254"].as_str().unwrap();
    let hid2 = holder["commitments"]["halo2-ipa-pasta"].as_str().unwrap();
    ok(assay(
        d,
        &[
            "kyc",
            "issue",
            "--issuer",
            "iss",
            "--holder-commitment",
            hid,
            "--holder-commitment-halo2",
            hid2,
            "--country",
            "UA",
            "--region",
            "UA-30",
            "--expires",
            "2099-01-01T00:00:00Z",
            "--out",
            "cred.json",
        ],
    ));
    ok(assay(
        d,
        &[
            "kyc",
            "publish",
            "--issuer",
            "iss",
            "--out",
            "epoch.json",
            "--leaves",
            "leaves.json",
        ],
    ));
    let epoch: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("epoch.json")).unwrap()).unwrap();
    assert_eq!(epoch["version"], 2);
    assert!(epoch["roots"]["groth16-bn254"].is_string());
    assert!(epoch["roots"]["halo2-ipa-pasta"].is_string());
    // The holder computes both paths from the published leaves.
    ok(assay(
        d,
        &[
            "kyc",
            "path",
            "--leaves",
            "leaves.json",
            "--serial",
            "0",
            "--out",
            "path.json",
        ],
    ));
    let challenge = |out: &str| {
        ok(assay(
            d,
            &["kyc", "challenge", "--scope", "bank-a", "--out", out],
        ))
    };
    challenge("ch.json");
    challenge("ch2.json");
    let prove = |backend: &str, ch: &str, out: &str| {
        assay(
            d,
            &[
                "kyc",
                "prove",
                "--holder",
                "holder.json",
                "--credential",
                "cred.json",
                "--path",
                "path.json",
                "--epoch",
                "epoch.json",
                "--policy",
                policy,
                "--challenge",
                ch,
                "--issuer-key",
                "iss/issuer-public.json",
                "--backend",
                backend,
                "--out",
                out,
            ],
        )
    };
    ok(prove("halo2", "ch.json", "proof.json"));
    // The parameters are cached in the parameters folder (`$ASSAY_PARAMS_DIR`), not beside the
    // issuer's keys.
    assert!(d.join("params").join("halo2-params-k11.bin").exists());
    assert!(!d.join("iss/keys").join("halo2-params-k11.bin").exists());
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("proof.json")).unwrap()).unwrap();
    assert_eq!(p["backend"], "halo2-ipa-pasta");
    let verify = |proof: &str, ch: &str| {
        assay(
            d,
            &[
                "kyc",
                "verify",
                proof,
                "--epoch",
                "epoch.json",
                "--policy",
                policy,
                "--challenge",
                ch,
                "--issuer-key",
                "iss/issuer-public.json",
                "--json",
            ],
        )
    };
    let v: serde_json::Value = serde_json::from_str(&ok(verify("proof.json", "ch.json"))).unwrap();
    assert_eq!(v["valid"], true);
    // Replay: the challenge is spent.
    let o = verify("proof.json", "ch.json");
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("already used"));
    // A Groth16 proof relabelled as Halo2: refused, naming the mismatch; the challenge stays.
    ok(prove("groth16", "ch2.json", "g.json"));
    let mut g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("g.json")).unwrap()).unwrap();
    g["backend"] = "halo2-ipa-pasta".into();
    std::fs::write(d.join("g-as-h.json"), g.to_string()).unwrap();
    let o = verify("g-as-h.json", "ch2.json");
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("backend mismatch") && reason.contains("groth16-bn254"),
        "{reason}"
    );
    let v: serde_json::Value = serde_json::from_str(&ok(verify("g.json", "ch2.json"))).unwrap();
    assert_eq!(v["valid"], true);
    // An unknown backend is bad input.
    let o = prove("plonk", "ch2.json", "x.json");
    assert_eq!(code(&o), 2);
}
