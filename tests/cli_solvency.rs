//! The `assay` binary: exit codes, bad input, crash and resume, shards and merge, the chain of
//! rounds.

mod common;

use std::{
    fs,
    path::Path,
    process::{Command, Output},
    time::{Duration, Instant},
};

fn assay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .env("ASSAY_PASSPHRASE", "test passphrase")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `solvency prove` arguments; the setup party's step (keys and manifest in `keys`) is run
/// first if `keys` holds no setup yet.
fn prove_args<'a>(b: &'a Path, c: &'a Path, out: &'a Path, keys: &'a Path) -> Vec<&'a str> {
    let shaped = fs::read(c).ok().and_then(|t| {
        assay_verifier::solvency::RoundConfig::parse(&t, "config")
            .ok()?
            .check()
            .ok()
    });
    if shaped.is_some() {
        common::setup_keys(keys, c);
    }
    vec![
        "solvency",
        "prove",
        "--balances",
        s(b),
        "--config",
        s(c),
        "--out",
        s(out),
        "--keys",
        s(keys),
    ]
}

#[test]
fn bad_balances_exit_2_name_the_place_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, config) = common::write_inputs(dir.path(), 3, 4);
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "negative",
            b"user_id,USD,BTC\na,1,0\nb,-2,0\n",
            "balances.csv:3:2 (USD): negative amount",
        ),
        (
            "decimals",
            b"user_id,USD,BTC\na,1.001,0\n",
            ":2:2 (USD): 3 decimals",
        ),
        (
            "too big",
            b"user_id,USD,BTC\na,42949672.96,0\n",
            ":2:2 (USD): \"42949672.96\" is at or above 2^32",
        ),
        (
            "unknown asset",
            b"user_id,USD,BTC,ETH\n",
            ":1:4 (ETH): unknown asset",
        ),
        (
            "missing asset",
            b"user_id,USD\na,1\n",
            "missing column for asset \"BTC\"",
        ),
        (
            "duplicate",
            b"user_id,USD,BTC\na,1,0\nb,1,0\na,2,0\n",
            ":4:1 (user_id): duplicate user id \"a\" (first on line 2)",
        ),
        ("ragged", b"user_id,USD,BTC\na,1,0,5\n", ":2:"),
        (
            "non-utf8",
            b"user_id,USD,BTC\n\xff\xfe,1,0\n",
            ":2:1 (user_id): not valid UTF-8",
        ),
        ("empty", b"", "empty file"),
        ("no rows", b"user_id,USD,BTC\n", "no customer rows"),
        (
            "insolvent",
            b"user_id,USD,BTC\na,999999,0\nb,1.01,0\n",
            "liabilities in USD (1000000.01) exceed the declared reserves",
        ),
    ];
    for (name, content, expected) in cases {
        let b = dir
            .path()
            .join(format!("{}-balances.csv", name.replace(' ', "_")));
        fs::write(&b, content).unwrap();
        let out = dir.path().join(format!("out-{}", name.replace(' ', "_")));
        let o = assay(&prove_args(&b, &config, &out, &dir.path().join("keys")));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err:?} lacks {expected:?}");
        assert!(!err.contains("panicked"), "{name}");
        assert!(
            !out.join("round.json").exists() && !out.join("inclusion").exists(),
            "{name}"
        );
    }
}

#[test]
fn bad_configs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (b, config) = common::write_inputs(dir.path(), 3, 4);
    let good = fs::read_to_string(&config).unwrap();
    for (name, text, expected) in [
        (
            "unknown field",
            good.replacen("\"version\":1", "\"version\":1,\"colour\":\"red\"", 1),
            "unknown field `colour`",
        ),
        (
            "batch size",
            good.replacen("\"batch_size\":4", "\"batch_size\":6", 1),
            "batch_size",
        ),
        (
            "width",
            good.replacen("\"balance_bits\":32", "\"balance_bits\":200", 1),
            "balance_bits",
        ),
        (
            "version",
            good.replacen("\"version\":1", "\"version\":9", 1),
            "version 9 is not supported",
        ),
        ("not json", "{".to_string(), "EOF while parsing"),
    ] {
        let c = dir.path().join("bad.json");
        fs::write(&c, text).unwrap();
        let o = assay(&prove_args(
            &b,
            &c,
            &dir.path().join("out"),
            &dir.path().join("keys"),
        ));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }
}

#[test]
fn verify_exit_codes_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 5, 4);
    let out = dir.path().join("out");
    let o = assay(&prove_args(&b, &c, &out, &dir.path().join("keys")));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let tk = dir.path().join("keys").join("manifest.json");
    let o = assay(&[
        "solvency",
        "verify",
        s(&out),
        "--json",
        "--trusted-keys",
        s(&tk),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);

    // Tamper with one public input: exit 1 and the reason.
    let text = fs::read_to_string(out.join("round.json")).unwrap();
    let root: serde_json::Value = serde_json::from_str(&text).unwrap();
    let r0 = root["batches"][0]["public_inputs"][1]
        .as_str()
        .unwrap()
        .to_string();
    let bad = dir.path().join("bad-round.json");
    fs::write(&bad, text.replacen(&r0, "7", 1)).unwrap();
    let o = assay(&[
        "solvency",
        "verify",
        s(&bad),
        "--json",
        "--trusted-keys",
        s(&tk),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("signature"), "{v}");

    // A customer's check, valid and against another round's bundle.
    let rec = fs::read_dir(out.join("inclusion"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let o = assay(&[
        "solvency",
        "inclusion-verify",
        s(&rec),
        "--round",
        s(&out),
        "--trusted-keys",
        s(&tk),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("valid: "));
    let o = assay(&[
        "solvency",
        "inclusion-verify",
        s(&rec),
        "--round",
        s(&bad),
        "--trusted-keys",
        s(&tk),
    ]);
    assert_eq!(o.status.code(), Some(1));

    // Malformed input is exit 2, not 1.
    let junk = dir.path().join("junk.json");
    fs::write(&junk, "{\"version\":1}").unwrap();
    assert_eq!(
        assay(&["solvency", "verify", s(&junk)]).status.code(),
        Some(2)
    );
    assert_eq!(
        assay(&["solvency", "verify", "/nonexistent"]).status.code(),
        Some(2)
    );
    assert_eq!(
        assay(&["solvency", "prove"]).status.code(),
        Some(2),
        "usage error"
    );

    // Proving again into a finished round is refused; nothing is lost.
    let o = assay(&prove_args(&b, &c, &out, &dir.path().join("keys")));
    assert_eq!(o.status.code(), Some(2));
    assert!(out.join("round.json").exists());
}

#[test]
fn killed_run_resumes_without_redoing_work() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 120, 4); // 128 leaves, 32 batch proofs
    let out = dir.path().join("out");
    let keys = dir.path().join("keys");
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(prove_args(&b, &c, &out, &keys))
        .env("ASSAY_PASSPHRASE", "test passphrase")
        .spawn()
        .unwrap();
    let batches = out.join("private/work/batches");
    let finished = |d: &Path| {
        fs::read_dir(d)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("batch-"))
                })
                .count()
            })
            .unwrap_or(0)
    };
    let start = Instant::now();
    loop {
        let n = finished(&batches);
        if n >= 2 || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().ok();
    child.wait().unwrap();
    let done_before = finished(&batches);
    assert!(
        done_before >= 2 || out.join("round.json").exists(),
        "killed before any checkpoint"
    );
    if out.join("round.json").exists() {
        eprintln!("the run finished before it could be killed; resume is still checked below");
    }
    // No torn checkpoint: every file present parses.
    for f in fs::read_dir(&batches).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            let _: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        }
    }
    let mut args = prove_args(&b, &c, &out, &keys);
    args.extend(["--resume", "--json"]);
    let o = assay(&args);
    if !out.join("round.json").exists() || o.status.code() != Some(0) {
        panic!("resume failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    if !v.is_null() {
        assert!(
            v["batches_skipped"].as_u64().unwrap() >= done_before as u64,
            "{v}"
        );
        assert_eq!(
            v["batches_skipped"].as_u64().unwrap() + v["batches_proven"].as_u64().unwrap(),
            32
        );
    }
    assert_eq!(
        assay(&["solvency", "verify", s(&out), "--trusted-keys", s(&keys)])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn shards_proven_apart_and_merged_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 30, 4); // 32 leaves, 8 batches
    let keys = dir.path().join("keys");
    let s0 = dir.path().join("shard0");
    let s1 = dir.path().join("shard1");
    let mut a0 = prove_args(&b, &c, &s0, &keys);
    a0.extend(["--shard", "0/2"]);
    assert_eq!(assay(&a0).status.code(), Some(0));
    // The second machine gets the round secret from the first.
    fs::create_dir_all(s1.join("private")).unwrap();
    fs::copy(
        s0.join("private/round-secret.json"),
        s1.join("private/round-secret.json"),
    )
    .unwrap();
    let mut a1 = prove_args(&b, &c, &s1, &keys);
    a1.extend(["--shard", "1/2", "--resume"]);
    let o = assay(&a1);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!s0.join("round.json").exists());
    let merged = dir.path().join("merged");
    let o = assay(&[
        "solvency",
        "merge",
        "--out",
        s(&merged),
        "--keys",
        s(&keys),
        s(&s0),
        s(&s1),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        assay(&["solvency", "verify", s(&merged), "--trusted-keys", s(&keys)])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(fs::read_dir(merged.join("inclusion")).unwrap().count(), 30);

    // A shard of another round is refused.
    let other = dir.path().join("other");
    let mut a2 = prove_args(&b, &c, &other, &keys);
    a2.extend(["--shard", "1/2"]);
    assert_eq!(assay(&a2).status.code(), Some(0));
    let o = assay(&[
        "solvency",
        "merge",
        "--out",
        s(&dir.path().join("m2")),
        "--keys",
        s(&keys),
        s(&s0),
        s(&other),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard of another round"));

    // A batch checkpoint of that other secret copied into a shard of this one (same round id,
    // so its proof verifies; its customers' records would not): the merge refuses it, naming
    // the file. A checkpoint renamed to another batch's name is refused the same way.
    let cp = |d: &Path, j: usize| d.join(format!("private/work/batches/batch-{j:08}.json"));
    let s1b = dir.path().join("shard1-copy");
    copy_tree(&s1, &s1b);
    let j = (4..8)
        .find(|&j| cp(&other, j).exists())
        .expect("a batch of shard 1/2");
    fs::copy(cp(&other, j), cp(&s1b, j)).unwrap();
    let merge = |shard: &Path, out: &str| {
        assay(&[
            "solvency",
            "merge",
            "--out",
            s(&dir.path().join(out)),
            "--keys",
            s(&keys),
            s(&s0),
            s(shard),
        ])
    };
    let o = merge(&s1b, "m3");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("proven with another round secret"), "{err}");
    assert!(err.contains(&format!("batch-{j:08}.json")), "{err}");
    copy_tree(&s1, &s1b);
    let k = (j + 1..8)
        .find(|&k| cp(&s1, k).exists())
        .expect("another batch of shard 1/2");
    fs::copy(cp(&s1, j), cp(&s1b, k)).unwrap();
    let o = merge(&s1b, "m4");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("kept under another proof's name"), "{err}");
}

/// Copies the files of folder `from` into `to` (created), overwriting.
fn copy_tree(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            fs::create_dir_all(to).unwrap();
            fs::copy(e.path(), dst).unwrap();
        }
    }
}

#[test]
fn rounds_form_a_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 5, 4);
    let keys = dir.path().join("keys");
    let r1 = dir.path().join("r1");
    assert_eq!(
        assay(&prove_args(&b, &c, &r1, &keys)).status.code(),
        Some(0)
    );
    let bundle1: assay_verifier::solvency::RoundBundle =
        serde_json::from_slice(&fs::read(r1.join("round.json")).unwrap()).unwrap();
    let cfg2 = fs::read_to_string(&c)
        .unwrap()
        .replace("\"test-round\"", "\"test-round-2\"")
        .replace(
            "\"previous_round\":null",
            &format!("\"previous_round\":\"{}\"", bundle1.hash()),
        );
    let c2 = dir.path().join("round2.json");
    fs::write(&c2, cfg2).unwrap();
    let r2 = dir.path().join("r2");
    assert_eq!(
        assay(&prove_args(&b, &c2, &r2, &keys)).status.code(),
        Some(0)
    );
    let prev = r1.join("round.json");
    assert_eq!(
        assay(&[
            "solvency",
            "verify",
            s(&r2),
            "--previous",
            s(&prev),
            "--trusted-keys",
            s(&keys)
        ])
        .status
        .code(),
        Some(0)
    );
    // Round 1 does not follow round 2.
    let o = assay(&[
        "solvency",
        "verify",
        s(&r1),
        "--previous",
        s(&r2.join("round.json")),
        "--trusted-keys",
        s(&keys),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("round chain"));
}

#[test]
fn halo2_rounds_prove_in_shards_merge_and_verify_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 10, 4); // 16 leaves, 4 batches
    let params = dir.path().join("params");
    let keys = dir.path().join("keys");
    let halo2 = ["--backend", "halo2", "--layout", "compact", "--params-dir"];
    let s0 = dir.path().join("shard0");
    let s1 = dir.path().join("shard1");
    let mut a0 = prove_args(&b, &c, &s0, &keys);
    a0.extend(halo2);
    a0.extend([s(&params), "--shard", "0/2"]);
    let o = assay(&a0);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Resuming that work with the other backend would mix proofs: refused.
    let mut mixed = prove_args(&b, &c, &s0, &keys);
    mixed.extend(["--shard", "0/2", "--resume"]);
    let o = assay(&mixed);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("holds work of backend halo2-ipa-pasta"),
        "{err}"
    );
    // The second machine, with the same secret.
    fs::create_dir_all(s1.join("private")).unwrap();
    fs::copy(
        s0.join("private/round-secret.json"),
        s1.join("private/round-secret.json"),
    )
    .unwrap();
    let mut a1 = prove_args(&b, &c, &s1, &keys);
    a1.extend(halo2);
    a1.extend([s(&params), "--shard", "1/2", "--resume"]);
    let o = assay(&a1);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A Groth16 shard of the same round cannot be merged with Halo2 shards.
    let g1 = dir.path().join("g1");
    fs::create_dir_all(g1.join("private")).unwrap();
    fs::copy(
        s0.join("private/round-secret.json"),
        g1.join("private/round-secret.json"),
    )
    .unwrap();
    let mut ag = prove_args(&b, &c, &g1, &keys);
    ag.extend(["--shard", "1/2", "--resume"]);
    assert_eq!(assay(&ag).status.code(), Some(0));
    let merge = |out: &Path, shards: [&Path; 2]| {
        assay(&[
            "solvency",
            "merge",
            "--out",
            s(out),
            "--params-dir",
            s(&params),
            s(shards[0]),
            s(shards[1]),
        ])
    };
    let o = merge(&dir.path().join("bad"), [&s0, &g1]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another backend"));
    let merged = dir.path().join("merged");
    let o = merge(&merged, [&s0, &s1]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The auditor's and a customer's checks, with the parameters cached by the prover.
    let o = assay(&[
        "solvency",
        "verify",
        s(&merged),
        "--params-dir",
        s(&params),
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let rec = assay_prover::solvency::record_path(&merged, "user-4").unwrap();
    let o = assay(&[
        "solvency",
        "inclusion-verify",
        s(&rec),
        "--round",
        s(&merged),
        "--params-dir",
        s(&params),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A tampered Halo2 proof: exit 1, with the proof named.
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&fs::read(merged.join("round.json")).unwrap()).unwrap();
    let p = bundle["batches"][2]["proof"].as_str().unwrap().to_string();
    let flipped = format!("{}{}", if p.starts_with('0') { "1" } else { "0" }, &p[1..]);
    bundle["batches"][2]["proof"] = flipped.into();
    let bad = dir.path().join("bad-round.json");
    fs::write(&bad, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let o = assay(&["solvency", "verify", s(&bad), "--params-dir", s(&params)]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn setup_then_verifiers_refuse_keys_of_another_setup() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 5, 4);
    // The auditor's setup, through the command line.
    let keys = dir.path().join("auditor-keys");
    let o = assay(&["solvency", "setup", "--config", s(&c), "--out", s(&keys)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let manifest = keys.join("manifest.json");
    assert!(manifest.exists());
    assert!(dir.path().join("auditor-keys.setup-key.json").exists());
    // A setup is never redone in place.
    let o = assay(&["solvency", "setup", "--config", s(&c), "--out", s(&keys)]);
    assert_eq!(o.status.code(), Some(2));
    // Every circuit's R1CS matrices beside its keys (provers read them instead of building
    // them: issue 12); a damaged one is refused by name, before any proof.
    let index: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&fs::read(keys.join("index.json")).unwrap()).unwrap();
    assert!(!index.is_empty());
    for hash in index.values() {
        assert!(keys.join(format!("{hash}.r1cs")).exists(), "{hash}.r1cs");
    }
    let damaged = dir.path().join("damaged-keys");
    fs::create_dir(&damaged).unwrap();
    for e in fs::read_dir(&keys).unwrap() {
        let p = e.unwrap().path();
        let mut bytes = fs::read(&p).unwrap();
        if p.extension().is_some_and(|x| x == "r1cs") {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x20;
        }
        fs::write(damaged.join(p.file_name().unwrap()), bytes).unwrap();
    }
    let o = assay(&[
        "solvency",
        "prove",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&dir.path().join("damaged-round")),
        "--keys",
        s(&damaged),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(".r1cs") && err.contains("damaged") && err.contains("delete it"),
        "{err}"
    );
    // `prove` never makes keys: an empty keys folder is refused, naming the setup.
    let o = assay(&[
        "solvency",
        "prove",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&dir.path().join("nokeys-round")),
        "--keys",
        s(&dir.path().join("empty")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("assay solvency setup"));

    // The exchange proves with its own setup instead (self-consistent, valid proofs).
    let own = dir.path().join("exchange-keys");
    let out = dir.path().join("round");
    let o = assay(&prove_args(&b, &c, &out, &own));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rec = fs::read_dir(out.join("inclusion"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bundle: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("round.json")).unwrap()).unwrap();
    let batch_key = bundle["batches"][0]["key"].as_str().unwrap().to_string();

    for args in [
        vec!["solvency", "verify", s(&out)],
        vec!["solvency", "inclusion-verify", s(&rec), "--round", s(&out)],
    ] {
        // Pinned to the auditor's manifest: invalid, the key and its circuit named.
        let mut a = args.clone();
        a.extend(["--trusted-keys", s(&manifest)]);
        let o = assay(&a);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains(&batch_key), "{stdout}");
        assert!(stdout.contains("solvency-batch-K2-w32-B4"), "{stdout}");
        // No pin at all: refused too, saying how to pin.
        let o = assay(&args);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stdout).contains("--trusted-keys"));
        // The loud opt-in accepts it, with a warning.
        let mut a = args.clone();
        a.push("--insecure-trust-bundle-keys");
        let o = assay(&a);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("WARNING"));
        // Its own manifest accepts it.
        let mut a = args.clone();
        a.extend(["--trusted-keys", s(&own)]);
        assert_eq!(assay(&a).status.code(), Some(0));
    }

    // The customer's pin of the publication key.
    let pk = bundle["publication_key"].as_str().unwrap();
    let base = [
        "solvency",
        "inclusion-verify",
        s(&rec),
        "--round",
        s(&out),
        "--trusted-keys",
        s(&own),
    ];
    let mut a = base.to_vec();
    a.extend(["--publication-key", pk]);
    assert_eq!(assay(&a).status.code(), Some(0));
    let other = "ab".repeat(32);
    let mut a = base.to_vec();
    a.extend(["--publication-key", &other]);
    let o = assay(&a);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("pinned key"));
    let mut a = base.to_vec();
    a.extend(["--bundle-hash", &other]);
    assert_eq!(assay(&a).status.code(), Some(1));

    // A manifest edited to name the exchange's key: its signature fails, bad input.
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    m["keys"]["solvency-batch-K2-w32-B4"] = batch_key.clone().into();
    let forged = dir.path().join("forged.json");
    fs::write(&forged, serde_json::to_vec(&m).unwrap()).unwrap();
    let o = assay(&["solvency", "verify", s(&out), "--trusted-keys", s(&forged)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("signature"));
}
