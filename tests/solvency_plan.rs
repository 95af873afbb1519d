//! `assay solvency plan` run the way a scheduler runs it, without the scheduler: each array
//! task's script with its index in the environment, a failed task run again, the merge
//! refusing a missing shard and then publishing a round that verifies. (The same plan under a
//! real Slurm cluster: `tests/slurm/run.sh`.) Also the memory budget on the command line.

mod common;

use std::{
    fs,
    path::Path,
    process::{Command, Output},
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

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs a Slurm script of the plan as an array task `index` would run.
fn task(script: &Path, index: Option<usize>) -> Output {
    let mut c = Command::new("sh");
    c.arg(script).env("ASSAY_PASSPHRASE", "test passphrase");
    if let Some(i) = index {
        c.env("SLURM_ARRAY_TASK_ID", i.to_string());
    }
    c.output().unwrap()
}

#[test]
fn a_planned_round_runs_shard_by_shard_and_the_merge_refuses_a_missing_shard() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 10, 4); // 16 leaves, 4 batch proofs
    let out = dir.path().join("plan");
    let params = dir.path().join("params");
    let o = assay(&[
        "solvency",
        "plan",
        "--scheduler",
        "slurm",
        "--shards",
        "4",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&out),
        "--backend",
        "halo2",
        "--layout",
        "compact",
        "--params-dir",
        s(&params),
        "--memory",
        "4GiB",
        "--jobs",
        "1",
    ]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("submit with"));
    let slurm = out.join("slurm");
    let prove = fs::read_to_string(slurm.join("prove.sbatch")).unwrap();
    assert!(prove.contains(env!("CARGO_BIN_EXE_assay")), "{prove}");
    for i in 0..3 {
        ok(&task(&slurm.join("prove.sbatch"), Some(i)));
    }
    // Shard 3 never ran: the merge refuses, naming the shard's missing work.
    let m = task(&slurm.join("merge.sbatch"), None);
    assert_eq!(m.status.code(), Some(2));
    let err = String::from_utf8_lossy(&m.stderr);
    assert!(err.contains("shards/3/private/config.json"), "{err}");
    assert!(!out.join("round/round.json").exists());
    // A task with no index refuses to run.
    let t = task(&slurm.join("prove.sbatch"), None);
    assert_ne!(t.status.code(), Some(0));
    // Shard 3 runs (again: a requeued task), shard 0 too: it resumes, nothing is redone.
    ok(&task(&slurm.join("prove.sbatch"), Some(3)));
    let again = task(&slurm.join("prove.sbatch"), Some(0));
    ok(&again);
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["batches_proven"], 0, "{summary}");
    assert_eq!(summary["batches_skipped"], 1, "{summary}");
    assert_eq!(summary["budget"]["jobs"], 1, "{summary}");
    ok(&task(&slurm.join("merge.sbatch"), None));
    ok(&assay(&[
        "solvency",
        "verify",
        s(&out.join("round")),
        "--params-dir",
        s(&params),
    ]));
    assert_eq!(
        fs::read_dir(out.join("round/inclusion")).unwrap().count(),
        10
    );
    // A shard of another round (its own secret) is refused by the merge.
    let other = dir.path().join("other");
    let mut a = vec![
        "solvency",
        "prove",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&other),
        "--backend",
        "halo2",
        "--layout",
        "compact",
        "--params-dir",
        s(&params),
    ];
    a.extend(["--shard", "1/4"]);
    ok(&assay(&a));
    let s0 = out.join("shards/0");
    let o = assay(&[
        "solvency",
        "merge",
        "--out",
        s(&dir.path().join("m2")),
        "--params-dir",
        s(&params),
        s(&s0),
        s(&other),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard of another round"));
}

#[test]
fn a_budget_below_one_proof_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = common::write_inputs(dir.path(), 10, 4);
    let out = dir.path().join("out");
    let o = assay(&[
        "solvency",
        "prove",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&out),
        "--memory",
        "1MiB",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("a memory budget of 1 MiB is below one groth16-bn254 proof of 4 leaves"),
        "{err}"
    );
    assert!(err.contains("needs about"), "{err}");
    assert!(!out.exists(), "work was done");
    let o = assay(&[
        "solvency",
        "prove",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&out),
        "--memory",
        "eight",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected a size"));
}

#[test]
fn a_planned_stark_round_runs_shard_by_shard_and_merges_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    // 260 customers in STARK batches of 127: 3 batch proofs.
    let mut csv = String::from("user_id,USD\n");
    for i in 0..260 {
        csv += &format!("u{i},{i}.{:02}\n", i % 100);
    }
    let b = dir.path().join("balances.csv");
    fs::write(&b, csv).unwrap();
    let c = dir.path().join("round.json");
    fs::write(
        &c,
        r#"{"version":1,"round_id":"stark-plan","balance_bits":64,"batch_size":128,"fan_in":2,
            "assets":[{"symbol":"USD","decimals":2,"reserves":"1000000"}],"previous_round":null}"#,
    )
    .unwrap();
    let out = dir.path().join("plan");
    let o = assay(&[
        "solvency",
        "plan",
        "--scheduler",
        "slurm",
        "--shards",
        "2",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&out),
        "--backend",
        "stark",
        "--json",
    ]);
    ok(&o);
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["batches"], 3, "{p}");
    let slurm = out.join("slurm");
    ok(&task(&slurm.join("prove.sbatch"), Some(0)));
    // Shard 1 never ran: the merge refuses, naming its missing work.
    let m = task(&slurm.join("merge.sbatch"), None);
    assert_eq!(m.status.code(), Some(2));
    let err = String::from_utf8_lossy(&m.stderr);
    assert!(err.contains("shards/1/private/config.json"), "{err}");
    let t = task(&slurm.join("prove.sbatch"), Some(1));
    ok(&t);
    let summary: serde_json::Value = serde_json::from_slice(&t.stdout).unwrap();
    assert_eq!(summary["batches_proven"], 1, "{summary}");
    let m = task(&slurm.join("merge.sbatch"), None);
    ok(&m);
    let summary: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap();
    assert_eq!(summary["records"], 260, "{summary}");
    let round = out.join("round");
    ok(&assay(&["solvency", "verify", s(&round)]));
    let o = assay(&["solvency", "record-path", "--round", s(&round), "u259"]);
    ok(&o);
    let rec = String::from_utf8_lossy(&o.stdout).trim().to_string();
    ok(&assay(&[
        "solvency",
        "inclusion-verify",
        &rec,
        "--round",
        s(&round),
    ]));
}
