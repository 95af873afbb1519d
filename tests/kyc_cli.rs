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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn kyc_flow_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kyc/policy-sanctions-example.json");
    let policy = policy.to_str().unwrap();
    // The KYC circuit's Groth16 keys come from a setup, never from the issuer alone (issue
    // 11, defect 5): an issuer without one is refused before anything is written.
    let o = assay(d, &["kyc", "issuer", "init", "--dir", "iss"]);
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--insecure-own-setup"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!d.join("iss").exists());
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
            "test-issuer",
            "--keys",
            "setup",
        ],
    ));
    // A second issuer that made its own keys: its key is not the pinned setup's.
    let o = assay(
        d,
        &[
            "kyc",
            "issuer",
            "init",
            "--dir",
            "own",
            "--insecure-own-setup",
        ],
    );
    ok(o.clone());
    assert!(String::from_utf8_lossy(&o.stderr).contains("WARNING: --insecure-own-setup"));
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
            "--chain",
            "chain",
        ],
    ));
    // A copy of the issuer's folder (same key, same epoch 0): it will fork the chain.
    copy_dir(&d.join("iss"), &d.join("iss-fork"));
    let issue_by = |iss: &str, out: &str| {
        assay(
            d,
            &[
                "kyc",
                "issue",
                "--issuer",
                iss,
                "--holder-commitment",
                hid,
                "--country",
                "FR",
                "--expires",
                "2099-01-01T00:00:00Z",
                "--out",
                out,
            ],
        )
    };
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
        &[
            "kyc",
            "challenge",
            "--scope",
            "bank-a",
            "--backend",
            "groth16",
            "--out",
            "ch.json",
        ],
    ));
    let prove_pinned =
        |cred: &str, path: &str, out: &str, epoch: &str, ch: &str, scope: &str, pin: &[&str]| {
            let mut args = vec![
                "kyc",
                "prove",
                "--holder",
                "holder.json",
                "--credential",
                cred,
                "--path",
                path,
                "--epoch",
                epoch,
                "--policy",
                policy,
                "--challenge",
                ch,
                "--issuer-key",
                "iss/issuer-public.json",
                "--expect-scope",
                scope,
                "--out",
                out,
            ];
            args.extend(pin);
            assay(d, &args)
        };
    let pinned = ["--trusted-keys", "setup/manifest.json"];
    let prove_as = |cred: &str, path: &str, out: &str, epoch: &str, ch: &str, scope: &str| {
        prove_pinned(cred, path, out, epoch, ch, scope, &pinned)
    };
    // The holder checks the issuer's proving key against the pinned setup before proving:
    // nothing pinned, or a manifest that does not name the issuer's key, is refused.
    let o = prove_pinned(
        "cred.json",
        "path.json",
        "x.json",
        "epoch.json",
        "ch.json",
        "bank-a",
        &[],
    );
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no key manifest is pinned"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    ok(assay(
        d,
        &[
            "solvency",
            "setup",
            "--kyc",
            "--out",
            "other-setup",
            "--signing-key",
            "setup-key.json",
        ],
    ));
    let o = prove_pinned(
        "cred.json",
        "path.json",
        "x.json",
        "epoch.json",
        "ch.json",
        "bank-a",
        &["--trusted-keys", "other-setup/manifest.json"],
    );
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not the pinned one"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!d.join("x.json").exists());
    let prove = |cred: &str, path: &str, out: &str| {
        prove_as(cred, path, out, "epoch.json", "ch.json", "bank-a")
    };
    // A challenge for another scope than the holder's relying party: refused before proving.
    let o = prove_as(
        "cred.json",
        "path.json",
        "x.json",
        "epoch.json",
        "ch.json",
        "bank-b",
    );
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("names scope `bank-a`, but this relying party is `bank-b`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!d.join("x.json").exists());
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

    let verify_pinned = |proof: &str, ch: &str, epoch: &str, pin: &[&str]| {
        let mut args = vec![
            "kyc",
            "verify",
            proof,
            "--epoch",
            epoch,
            "--epochs",
            "chain",
            "--policy",
            policy,
            "--challenge",
            ch,
            "--issuer-key",
            "iss/issuer-public.json",
            "--json",
        ];
        args.extend(pin);
        assay(d, &args)
    };
    let verify_in = |proof: &str, ch: &str, epoch: &str| verify_pinned(proof, ch, epoch, &pinned);
    let verify = |proof: &str, ch: &str| verify_in(proof, ch, "epoch.json");
    // The relying party pins the setup too: nothing pinned, or another setup's manifest, is an
    // invalid presentation naming the issuer's key (and the challenge is not spent).
    let issuer_vk = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(d.join("iss/issuer-public.json")).unwrap(),
    )
    .unwrap()["vk_hash"]
        .as_str()
        .unwrap()
        .to_string();
    for pin in [
        &[][..],
        &["--trusted-keys", "other-setup/manifest.json"][..],
    ] {
        let o = verify_pinned("proof.json", "ch.json", "epoch.json", pin);
        assert_eq!(code(&o), 1);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let reason = v["reason"].as_str().unwrap();
        assert!(reason.contains(&issuer_vk), "{reason}");
    }
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

    // An epoch the issuer signed for this holder alone (not in its published chain): the
    // presentation under it is refused, naming the chain.
    ok(assay(
        d,
        &[
            "kyc",
            "publish",
            "--issuer",
            "iss",
            "--out",
            "private-epoch.json",
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
            "path-private.json",
        ],
    ));
    ok(assay(
        d,
        &[
            "kyc",
            "challenge",
            "--scope",
            "bank-a",
            "--out",
            "ch-private.json",
        ],
    ));
    ok(prove_as(
        "cred.json",
        "path-private.json",
        "proof-private.json",
        "private-epoch.json",
        "ch-private.json",
        "bank-a",
    ));
    let o = verify_in(
        "proof-private.json",
        "ch-private.json",
        "private-epoch.json",
    );
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("is signed by the issuer but is not the epoch 1 of its published chain"),
        "{v}"
    );
    // The published chain checks; a fork (another epoch 1 signed by the same key, from a copy
    // of the issuer's folder) is reported with both files.
    let epochs_verify = |dir: &str| {
        assay(
            d,
            &[
                "kyc",
                "epochs",
                "verify",
                dir,
                "--issuer-key",
                "iss/issuer-public.json",
                "--json",
            ],
        )
    };
    let v: serde_json::Value = serde_json::from_str(&ok(epochs_verify("chain"))).unwrap();
    assert_eq!(
        (v["valid"].clone(), v["epochs"].clone()),
        (true.into(), 1.into())
    );
    std::fs::copy(
        d.join("private-epoch.json"),
        d.join("chain/epoch-00000001.json"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(epochs_verify("chain"))).unwrap();
    assert_eq!(v["last"], 1);
    ok(issue_by("iss-fork", "cred-fork.json"));
    ok(assay(
        d,
        &[
            "kyc",
            "publish",
            "--issuer",
            "iss-fork",
            "--out",
            "fork.json",
            "--chain",
            "fork",
        ],
    ));
    std::fs::copy(
        d.join("fork/epoch-00000001.json"),
        d.join("chain/epoch-00000001-other.json"),
    )
    .unwrap();
    let o = epochs_verify("chain");
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("fork") && reason.contains("epoch-00000001-other.json"),
        "{reason}"
    );

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
    // This issuer made its own Groth16 keys: holder and relying party trust them knowingly.
    ok(assay(
        d,
        &[
            "kyc",
            "issuer",
            "init",
            "--dir",
            "iss",
            "--insecure-own-setup",
        ],
    ));
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
            "--chain",
            "chain",
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
    // Each scope accepts one backend: bank-h Halo2, bank-g Groth16.
    let challenge = |scope: &str, backend: Option<&str>, out: &str| {
        let mut args = vec!["kyc", "challenge", "--scope", scope, "--out", out];
        if let Some(b) = backend {
            args.extend(["--backend", b]);
        }
        assay(d, &args)
    };
    ok(challenge("bank-h", Some("halo2"), "ch.json"));
    ok(challenge("bank-g", Some("groth16"), "ch2.json"));
    let scope_of = |ch: &str| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join(ch)).unwrap()).unwrap();
        v["scope"].as_str().unwrap().to_string()
    };
    let prove = |backend: &str, ch: &str, out: &str| {
        let scope = scope_of(ch);
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
                "--expect-scope",
                &scope,
                "--insecure-trust-issuer-keys",
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
                "--epochs",
                "chain",
                "--policy",
                policy,
                "--challenge",
                ch,
                "--issuer-key",
                "iss/issuer-public.json",
                "--insecure-trust-issuer-keys",
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

    // One holder, one account per scope (issue 11, defect 2): the holder's Groth16 account in
    // bank-g exists (g.json); Halo2 in bank-g is refused at every step, with the reason.
    let o = challenge("bank-g", Some("halo2"), "x.json");
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("accepts only groth16-bn254"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    ok(challenge("bank-g", None, "ch3.json"));
    let o = prove("halo2", "ch3.json", "h3.json");
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("accepts only groth16-bn254"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A holder who edits the challenge to prove with Halo2 anyway: the relying party's
    // verifier (with its own challenge) and its store (with the edited one) both refuse.
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ch3.json")).unwrap()).unwrap();
    edited["backend"] = "halo2-ipa-pasta".into();
    std::fs::write(d.join("ch3-edited.json"), edited.to_string()).unwrap();
    ok(prove("halo2", "ch3-edited.json", "h3.json"));
    let o = verify("h3.json", "ch3.json");
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("accepts only groth16-bn254"));
    let o = verify("h3.json", "ch3-edited.json");
    assert_eq!(code(&o), 1);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("scope `bank-g` accepts only groth16-bn254"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The challenge was not spent: the holder's Groth16 presentation still answers it, with
    // the same nullifier as its first one (one account).
    ok(prove("groth16", "ch3.json", "g3.json"));
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("g.json")).unwrap()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(verify("g3.json", "ch3.json"))).unwrap();
    assert_eq!(v["nullifier"], first["public_inputs"]["nullifier"]);
}

/// Key rotation recorded in the epoch chain (issue 16, item 3): issue and publish under key 1,
/// `kyc issuer rotate` to key 2 (the handover epoch), publish under key 2; a holder proves
/// under the latest epoch and the relying party, pinning the ORIGINAL issuer key, accepts it.
/// An epoch that the retired key 1 signs after the handover is refused, by the relying party
/// and by `kyc epochs verify`; the issuer's own tool refuses to publish with it.
#[test]
fn kyc_key_rotation_in_the_epoch_chain() {
    use assay_verifier::kyc::formats::{from_json, Epoch};
    use ed25519_dalek::Signer;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kyc/policy-sanctions-example.json");
    let policy = policy.to_str().unwrap();
    let run = |args: &[&str]| ok(assay(d, args));
    run(&[
        "solvency",
        "setup",
        "--kyc",
        "--out",
        "setup",
        "--signing-key",
        "setup-key.json",
    ]);
    run(&[
        "kyc",
        "issuer",
        "init",
        "--dir",
        "iss",
        "--id",
        "rot-issuer",
        "--keys",
        "setup",
    ]);
    // The relying party pins the original key: a copy of the public file as it is now.
    std::fs::copy(
        d.join("iss/issuer-public.json"),
        d.join("pinned-issuer.json"),
    )
    .unwrap();
    run(&["kyc", "holder", "init", "--out", "holder.json"]);
    let holder: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("holder.json")).unwrap()).unwrap();
    let hid = holder["commitments"]["groth16-bn254"].as_str().unwrap();
    run(&[
        "kyc",
        "issue",
        "--issuer",
        "iss",
        "--holder-commitment",
        hid,
        "--country",
        "UA",
        "--region",
        "UA-30",
        "--expires",
        "2099-01-01T00:00:00Z",
        "--out",
        "cred.json",
    ]);
    run(&[
        "kyc", "publish", "--issuer", "iss", "--out", "e0.json", "--chain", "chain",
    ]);
    let key1 = std::fs::read_to_string(d.join("iss/issuer-key.json")).unwrap();
    // The handover: key 1 signs it, a new keystore key 2 signs the epoch carrying it.
    let o = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "kyc",
            "issuer",
            "rotate",
            "--dir",
            "iss",
            "--reason",
            "scheduled",
            "--out",
            "e1.json",
            "--chain",
            "chain",
        ])
        .current_dir(d)
        .env("ASSAY_PASSPHRASE", PASS)
        .env("ASSAY_NEW_PASSPHRASE", PASS)
        .output()
        .unwrap();
    let out = ok(o);
    assert!(out.contains("key handover recorded in epoch 1"), "{out}");
    let e1: Epoch = from_json(
        "epoch",
        &std::fs::read_to_string(d.join("e1.json")).unwrap(),
    )
    .unwrap();
    let h = e1.handover.clone().expect("the handover epoch carries it");
    let pinned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("pinned-issuer.json")).unwrap())
            .unwrap();
    assert_eq!(e1.version, 3);
    assert_eq!(h.old_key, pinned["public_key"].as_str().unwrap());
    assert_ne!(h.new_key, h.old_key);
    // The old keystore is kept aside, the new one is in force; the public file is unchanged.
    assert_eq!(
        std::fs::read_to_string(d.join("iss/issuer-key.retired-1.json")).unwrap(),
        key1
    );
    assert_ne!(
        std::fs::read_to_string(d.join("iss/issuer-key.json")).unwrap(),
        key1
    );
    // Epoch 2, signed by key 2 (the same passphrase here), with the leaves.
    run(&[
        "kyc",
        "publish",
        "--issuer",
        "iss",
        "--out",
        "e2.json",
        "--chain",
        "chain",
        "--leaves",
        "leaves.json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run(&[
        "kyc",
        "epochs",
        "verify",
        "chain",
        "--issuer-key",
        "pinned-issuer.json",
        "--json",
    ]))
    .unwrap();
    assert_eq!(
        (v["valid"].clone(), v["last"].clone()),
        (true.into(), 2.into())
    );
    assert_eq!(v["handovers"], serde_json::json!([1]));
    assert_eq!(v["keys"][0], pinned["public_key"]);
    assert_eq!(v["keys"][1].as_str(), Some(h.new_key.as_str()));
    // The issuer's tool refuses the retired key for a new epoch.
    copy_dir(&d.join("iss"), &d.join("iss-old"));
    std::fs::write(d.join("iss-old/issuer-key.json"), &key1).unwrap();
    let o = assay(
        d,
        &["kyc", "publish", "--issuer", "iss-old", "--out", "x.json"],
    );
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not the issuer's key in force"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The holder proves under epoch 2; the relying party pins the original key.
    run(&[
        "kyc",
        "path",
        "--leaves",
        "leaves.json",
        "--serial",
        "0",
        "--out",
        "path.json",
    ]);
    run(&[
        "kyc",
        "challenge",
        "--scope",
        "bank-r",
        "--backend",
        "groth16",
        "--out",
        "ch.json",
    ]);
    run(&[
        "kyc",
        "prove",
        "--holder",
        "holder.json",
        "--credential",
        "cred.json",
        "--path",
        "path.json",
        "--epoch",
        "e2.json",
        "--policy",
        policy,
        "--challenge",
        "ch.json",
        "--issuer-key",
        "pinned-issuer.json",
        "--keys",
        "iss/keys",
        "--expect-scope",
        "bank-r",
        "--trusted-keys",
        "setup/manifest.json",
        "--out",
        "proof.json",
    ]);
    let verify = |epoch: &str, epochs: &str| {
        assay(
            d,
            &[
                "kyc",
                "verify",
                "proof.json",
                "--epoch",
                epoch,
                "--epochs",
                epochs,
                "--policy",
                policy,
                "--challenge",
                "ch.json",
                "--issuer-key",
                "pinned-issuer.json",
                "--trusted-keys",
                "setup/manifest.json",
                "--json",
            ],
        )
    };
    // A thief with the retired key 1 signs an epoch 3 after the handover (same roots as epoch
    // 2, linked to it).
    let e2: Epoch = from_json(
        "epoch",
        &std::fs::read_to_string(d.join("e2.json")).unwrap(),
    )
    .unwrap();
    let old =
        assay_prover::keystore::Keystore::open(&d.join("iss/issuer-key.retired-1.json"), PASS)
            .unwrap();
    let mut e3 = e2.clone();
    e3.epoch = 3;
    e3.prev_epoch_hash = Some(e2.hash().unwrap());
    e3.signature = hex::encode(old.sign(&e3.message().unwrap()).to_bytes());
    std::fs::write(d.join("e3-thief.json"), serde_json::to_string(&e3).unwrap()).unwrap();
    copy_dir(&d.join("chain"), &d.join("chain-thief"));
    std::fs::copy(
        d.join("e3-thief.json"),
        d.join("chain-thief/epoch-00000003.json"),
    )
    .unwrap();
    let o = assay(
        d,
        &[
            "kyc",
            "epochs",
            "verify",
            "chain-thief",
            "--issuer-key",
            "pinned-issuer.json",
            "--json",
        ],
    );
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("which handed over to another key from epoch 1"),
        "{v}"
    );
    // The relying party refuses it: the chain holding it is broken (exit 2), and against the
    // real chain its signature is not the key in force at epoch 3 (exit 1). Neither spends the
    // challenge.
    let o = verify("e3-thief.json", "chain-thief");
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("handed over"));
    let o = verify("e3-thief.json", "chain");
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("is not signed by the issuer's key in force at that epoch"),
        "{v}"
    );
    // A second rotation, from the keystore key 2 to a 2-of-3 threshold group (FROST): two of
    // its shares sign the handover epoch 3, two others publish epoch 4.
    run(&[
        "keys",
        "dkg",
        "--participants",
        "3",
        "--threshold",
        "2",
        "--out",
        "grp",
    ]);
    let out = run(&[
        "kyc",
        "issuer",
        "rotate",
        "--dir",
        "iss",
        "--reason",
        "moved to a 2-of-3 group",
        "--out",
        "e3.json",
        "--chain",
        "chain",
        "--new-share",
        "grp/share-1.json",
        "--new-share",
        "grp/share-2.json",
    ]);
    assert!(out.contains("key handover recorded in epoch 3"), "{out}");
    // One share alone cannot publish; the keystore key 2 no longer can.
    let o = assay(
        d,
        &[
            "kyc",
            "publish",
            "--issuer",
            "iss",
            "--out",
            "x.json",
            "--share",
            "grp/share-3.json",
        ],
    );
    assert_eq!(code(&o), 2);
    let o = assay(d, &["kyc", "publish", "--issuer", "iss", "--out", "x.json"]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not the issuer's key in force"));
    run(&[
        "kyc",
        "publish",
        "--issuer",
        "iss",
        "--out",
        "e4.json",
        "--chain",
        "chain",
        "--share",
        "grp/share-2.json",
        "--share",
        "grp/share-3.json",
    ]);
    let group: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("grp/public-key.json")).unwrap())
            .unwrap();
    let v: serde_json::Value = serde_json::from_str(&run(&[
        "kyc",
        "epochs",
        "verify",
        "chain",
        "--issuer-key",
        "pinned-issuer.json",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["last"], 4, "{v}");
    assert_eq!(v["handovers"], serde_json::json!([1, 3]));
    assert_eq!(v["keys"][2], group["group_public_key"], "{v}");
    // The real presentation under epoch 2 is valid with the original key pinned.
    let v: serde_json::Value = serde_json::from_str(&ok(verify("e2.json", "chain"))).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["epoch"], 2);
}

/// KYC on the STARK end to end (issue 13, item 7): one issuer serves the three backends
/// (its epoch signs a STARK root, its credential and leaves carry STARK values); the holder
/// proves with `--backend stark`, the relying party verifies with the same checks as the other
/// backends: replay, another scope, a restricted residence, tampered bytes, a relabelled
/// presentation and revocation are refused with their reasons.
#[test]
fn kyc_stark_flow_and_refusals() {
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
            "--insecure-own-setup",
        ],
    ));
    let out = ok(assay(d, &["kyc", "holder", "init", "--out", "holder.json"]));
    assert!(out.contains("stark commitment:"), "{out}");
    let holder: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("holder.json")).unwrap()).unwrap();
    let hid = holder["commitments"]["groth16-bn254"].as_str().unwrap();
    let hid_s = holder["commitments"]["stark-koalabear-poseidon2"]
        .as_str()
        .unwrap();
    let issue = |country: &str, region: &str, out: &str| {
        ok(assay(
            d,
            &[
                "kyc",
                "issue",
                "--issuer",
                "iss",
                "--holder-commitment",
                hid,
                "--holder-commitment-stark",
                hid_s,
                "--country",
                country,
                "--region",
                region,
                "--expires",
                "2099-01-01T00:00:00Z",
                "--out",
                out,
            ],
        ))
    };
    issue("UA", "UA-30", "cred.json");
    issue("IR", "IR-01", "cred-ir.json");
    let publish = |out: &str| {
        ok(assay(
            d,
            &[
                "kyc",
                "publish",
                "--issuer",
                "iss",
                "--out",
                out,
                "--leaves",
                "leaves.json",
                "--chain",
                "chain",
            ],
        ))
    };
    publish("epoch.json");
    let epoch: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("epoch.json")).unwrap()).unwrap();
    assert!(epoch["roots"]["stark-koalabear-poseidon2"].is_string());
    let path = |serial: &str, out: &str| {
        assay(
            d,
            &[
                "kyc",
                "path",
                "--leaves",
                "leaves.json",
                "--serial",
                serial,
                "--out",
                out,
            ],
        )
    };
    ok(path("0", "path.json"));
    ok(path("1", "path-ir.json"));
    let challenge = |scope: &str, out: &str| {
        ok(assay(
            d,
            &[
                "kyc",
                "challenge",
                "--scope",
                scope,
                "--backend",
                "stark",
                "--out",
                out,
            ],
        ))
    };
    let prove = |cred: &str, path: &str, epoch: &str, ch: &str, scope: &str, out: &str| {
        assay(
            d,
            &[
                "kyc",
                "prove",
                "--backend",
                "stark",
                "--holder",
                "holder.json",
                "--credential",
                cred,
                "--path",
                path,
                "--epoch",
                epoch,
                "--policy",
                policy,
                "--challenge",
                ch,
                "--expect-scope",
                scope,
                "--out",
                out,
            ],
        )
    };
    let verify = |proof: &str, ch: &str, epoch: &str| {
        assay(
            d,
            &[
                "kyc",
                "verify",
                proof,
                "--epoch",
                epoch,
                "--epochs",
                "chain",
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
    let reason = |o: &Output| -> String {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        format!(
            "{}{}",
            v["reason"].as_str().unwrap_or_default(),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    challenge("bank-s", "ch.json");
    ok(prove(
        "cred.json",
        "path.json",
        "epoch.json",
        "ch.json",
        "bank-s",
        "proof.json",
    ));
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("proof.json")).unwrap()).unwrap();
    assert_eq!(p["backend"], "stark-koalabear-poseidon2");
    let v: serde_json::Value =
        serde_json::from_str(&ok(verify("proof.json", "ch.json", "epoch.json"))).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["nullifier"], p["public_inputs"]["nullifier"]);
    // Replay.
    let o = verify("proof.json", "ch.json", "epoch.json");
    assert_eq!(code(&o), 1);
    assert!(reason(&o).contains("already used"), "{}", reason(&o));
    // Another relying party's scope: refused by the holder before proving.
    challenge("bank-s", "ch2.json");
    let o = prove(
        "cred.json",
        "path.json",
        "epoch.json",
        "ch2.json",
        "bank-x",
        "x.json",
    );
    assert_eq!(code(&o), 2);
    assert!(!d.join("x.json").exists());
    // A restricted residence (IR-01): the holder cannot prove.
    let o = prove(
        "cred-ir.json",
        "path-ir.json",
        "epoch.json",
        "ch2.json",
        "bank-s",
        "x.json",
    );
    assert_eq!(code(&o), 2);
    assert!(reason(&o).contains("restricted"), "{}", reason(&o));
    // Tampered proof bytes: refused with a reason; the challenge is not spent.
    ok(prove(
        "cred.json",
        "path.json",
        "epoch.json",
        "ch2.json",
        "bank-s",
        "p2.json",
    ));
    let mut t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("p2.json")).unwrap()).unwrap();
    let mut bytes = hex::decode(t["proof"].as_str().unwrap()).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    t["proof"] = hex::encode(bytes).into();
    std::fs::write(d.join("p2-tampered.json"), t.to_string()).unwrap();
    let o = verify("p2-tampered.json", "ch2.json", "epoch.json");
    assert!(matches!(code(&o), 1 | 2), "{}", reason(&o));
    assert!(reason(&o).contains("proof"), "{}", reason(&o));
    // Relabelled as Groth16: refused by name.
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("p2.json")).unwrap()).unwrap();
    r["backend"] = "groth16-bn254".into();
    std::fs::write(d.join("p2-relabelled.json"), r.to_string()).unwrap();
    let o = verify("p2-relabelled.json", "ch2.json", "epoch.json");
    assert_eq!(code(&o), 1);
    assert!(
        reason(&o).contains("a STARK presentation labelled groth16-bn254"),
        "{}",
        reason(&o)
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(verify("p2.json", "ch2.json", "epoch.json"))).unwrap();
    assert_eq!(v["valid"], true);
    // The same holder in the same scope: the same nullifier (one account per scope).
    assert_eq!(v["nullifier"], p["public_inputs"]["nullifier"]);
    // Revocation: from the next epoch the credential has no path, and a presentation under
    // the old path's epoch does not match the new one.
    ok(assay(
        d,
        &["kyc", "revoke", "--issuer", "iss", "--serial", "0"],
    ));
    publish("epoch2.json");
    let o = path("0", "path2.json");
    assert_eq!(code(&o), 2);
    assert!(reason(&o).contains("revoked"), "{}", reason(&o));
    challenge("bank-s", "ch3.json");
    let o = prove(
        "cred.json",
        "path.json",
        "epoch2.json",
        "ch3.json",
        "bank-s",
        "x.json",
    );
    assert_eq!(code(&o), 2);
    assert!(reason(&o).contains("not under epoch"), "{}", reason(&o));
}
