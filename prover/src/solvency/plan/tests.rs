use super::*;
use serde_yaml::Value;
use std::fs;

const CONFIG: &str = r#"{"version":1,"round_id":"Plan Test/1","balance_bits":32,"batch_size":4,"fan_in":2,
    "assets":[{"symbol":"USD","decimals":2,"reserves":"1000000"}],"previous_round":null}"#;

/// 10 customers: 16 leaves, 4 batch proofs of 4.
fn options(dir: &Path, scheduler: Scheduler, shards: usize) -> PlanOptions {
    let mut csv = String::from("user_id,USD\n");
    for i in 0..10 {
        csv += &format!("u{i},{i}\n");
    }
    fs::write(dir.join("balances.csv"), csv).unwrap();
    fs::write(dir.join("round.json"), CONFIG).unwrap();
    PlanOptions {
        scheduler,
        shards,
        balances: dir.join("balances.csv"),
        config: dir.join("round.json"),
        out: dir.join("plan"),
        backend: BackendChoice::Halo2 {
            layout: "compact".into(),
        },
        keys: None,
        params_dir: None,
        signing_key: None,
        budget: Budget {
            memory: Some(2 << 30),
            jobs: Some(1),
        },
        cpus: Some(2),
        assay: "/usr/local/bin/assay".into(),
        image: "registry.example/assay:1".into(),
        claim: "assay-rounds".into(),
    }
}

fn yaml(path: &Path) -> Value {
    serde_yaml::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

#[test]
fn kubernetes_manifests_are_an_indexed_job_and_a_merge_job_on_one_volume() {
    let d = tempfile::tempdir().unwrap();
    let p = plan(&options(d.path(), Scheduler::Kubernetes, 4)).unwrap();
    assert_eq!((p.shards, p.batches), (4, 4));
    let out = p.out.display().to_string();
    let job = yaml(&p.out.join("kubernetes/prove-job.yaml"));
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    assert_eq!(s(&job, &["metadata", "name"]), "assay-prove-plan-test-1");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 4);
    assert_eq!(s(spec, &["template", "spec", "restartPolicy"]), "Never");
    let pod = s(spec, &["template", "spec"]);
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "registry.example/assay:1");
    let script = c["args"][0].as_str().unwrap();
    assert!(script.contains("I=\"${JOB_COMPLETION_INDEX:?"), "{script}");
    for want in [
        "solvency prove",
        "--out \"$ROUND/shards/$I\"",
        "--shard \"$I/4\"",
        "--resume",
        "--backend halo2 --layout compact",
        &format!("--params-dir {out}/params"),
        "--memory 2147483648 --jobs 1",
    ] {
        assert!(script.contains(want), "{want:?} not in {script}");
    }
    assert_eq!(s(c, &["resources", "limits", "memory"]), "2560Mi");
    // The shared volume, mounted where the plan's paths point.
    assert_eq!(c["volumeMounts"][0]["name"], "round");
    assert_eq!(c["volumeMounts"][0]["mountPath"], Value::from(out.clone()));
    assert_eq!(pod["volumes"][0]["name"], "round");
    assert_eq!(
        s(&pod["volumes"][0], &["persistentVolumeClaim", "claimName"]),
        "assay-rounds"
    );

    let merge = yaml(&p.out.join("kubernetes/merge-job.yaml"));
    assert_eq!(merge["kind"], "Job");
    assert!(s(&merge, &["spec", "completionMode"]).is_null());
    let mpod = s(&merge, &["spec", "template", "spec"]);
    let mc = &mpod["containers"][0];
    let mscript = mc["args"][0].as_str().unwrap();
    assert!(
        mscript.contains("solvency merge --out \"$ROUND/round\""),
        "{mscript}"
    );
    assert!(mscript.contains("$(seq 0 3)"), "{mscript}");
    assert_eq!(mc["env"][0]["name"], "ASSAY_PASSPHRASE");
    assert_eq!(
        mpod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "assay-rounds"
    );
    assert_eq!(mc["volumeMounts"][0]["mountPath"], Value::from(out.clone()));
    // The submit script waits for the indexed Job before the merge.
    let submit = fs::read_to_string(&p.submit).unwrap();
    let wait = submit.find("kubectl wait").unwrap();
    assert!(wait < submit.find("merge-job.yaml").unwrap(), "{submit}");
}

#[test]
fn slurm_plan_is_an_array_and_a_dependent_merge_and_every_shard_shares_the_secret() {
    let d = tempfile::tempdir().unwrap();
    let p = plan(&options(d.path(), Scheduler::Slurm, 3)).unwrap();
    let prove = fs::read_to_string(p.out.join("slurm/prove.sbatch")).unwrap();
    assert!(prove.contains("#SBATCH --array=0-2\n"), "{prove}");
    assert!(prove.contains("I=\"${SLURM_ARRAY_TASK_ID:?"), "{prove}");
    assert!(prove.contains("--shard \"$I/3\" --resume"), "{prove}");
    assert!(prove.contains("#SBATCH --mem=2560M\n"), "{prove}");
    let submit = fs::read_to_string(&p.submit).unwrap();
    assert!(
        submit.contains("--dependency=afterok:\"$array\""),
        "{submit}"
    );
    let secret = fs::read(p.out.join("shards/0/private/round-secret.json")).unwrap();
    for i in 1..3 {
        let other = fs::read(p.out.join(format!("shards/{i}/private/round-secret.json")));
        assert_eq!(other.unwrap(), secret, "shard {i}");
    }
    assert_eq!(
        fs::read(p.out.join("inputs/balances.csv")).unwrap(),
        fs::read(d.path().join("balances.csv")).unwrap()
    );
    // The scripts are valid shell.
    let requeue = fs::read_to_string(p.out.join("slurm/requeue.sh")).unwrap();
    assert!(requeue.contains("scontrol requeue"), "{requeue}");
    assert!(requeue.contains("for t in $(seq 0 2)"), "{requeue}");
    for f in ["prove.sbatch", "merge.sbatch", "submit.sh", "requeue.sh"] {
        let ok = std::process::Command::new("sh")
            .arg("-n")
            .arg(p.out.join("slurm").join(f))
            .status()
            .unwrap();
        assert!(ok.success(), "{f}");
    }
    // A second plan into the same folder is refused.
    let e = plan(&options(d.path(), Scheduler::Slurm, 3)).unwrap_err();
    assert!(matches!(e, ProverError::WorkExists { .. }), "{e}");
}

#[test]
fn plans_that_cannot_run_are_refused_with_a_reason() {
    let d = tempfile::tempdir().unwrap();
    let e = plan(&options(d.path(), Scheduler::Slurm, 5)).unwrap_err();
    assert!(e.to_string().contains("only 4 batch proofs"), "{e}");
    let e = plan(&options(d.path(), Scheduler::Slurm, 0)).unwrap_err();
    assert!(e.to_string().contains("--shards 0"), "{e}");
    let mut g = options(d.path(), Scheduler::Kubernetes, 2);
    g.backend = BackendChoice::Groth16;
    let e = plan(&g).unwrap_err();
    assert!(e.to_string().contains("needs --keys"), "{e}");
    // A bad balances file is reported as prove would, before anything is written.
    let o = options(d.path(), Scheduler::Slurm, 2);
    fs::write(&o.balances, "user_id,USD\na,1\na,2\n").unwrap();
    let e = plan(&o).unwrap_err();
    assert!(e.to_string().contains("duplicate user id"), "{e}");
    assert!(!o.out.exists());
}

#[test]
fn labels_and_quoting() {
    assert_eq!(label("Plan Test/1", 40), "plan-test-1");
    assert_eq!(label("***", 40), "round");
    assert_eq!(sh("/a/b c"), "'/a/b c'");
    assert_eq!(sh("it's"), r"'it'\''s'");
    assert_eq!(sh("/plain/path-1.csv"), "/plain/path-1.csv");
}

/// A STARK plan: batches of `batch_size - 1` customers, no keys and no parameters anywhere.
#[cfg(feature = "stark")]
#[test]
fn a_stark_plan_counts_its_own_batches_and_needs_no_keys() {
    let d = tempfile::tempdir().unwrap();
    let mut o = options(d.path(), Scheduler::Slurm, 3);
    // 300 customers in batches of 127: 3 batch proofs.
    let mut csv = String::from("user_id,USD\n");
    for i in 0..300 {
        csv += &format!("u{i},{i}\n");
    }
    fs::write(&o.balances, csv).unwrap();
    fs::write(
        &o.config,
        CONFIG
            .replace("\"balance_bits\":32", "\"balance_bits\":64")
            .replace("\"batch_size\":4", "\"batch_size\":128"),
    )
    .unwrap();
    o.backend = BackendChoice::Stark;
    let mut four = o.clone();
    four.shards = 4;
    let e = plan(&four).unwrap_err();
    assert!(
        e.to_string()
            .contains("only 3 batch proofs (300 customers in batches of 127)"),
        "{e}"
    );
    let p = plan(&o).unwrap();
    assert_eq!((p.shards, p.batches), (3, 3));
    let prove = fs::read_to_string(p.out.join("slurm/prove.sbatch")).unwrap();
    assert!(prove.contains("--backend stark"), "{prove}");
    assert!(prove.contains("--shard \"$I/3\" --resume"), "{prove}");
    let merge = fs::read_to_string(p.out.join("slurm/merge.sbatch")).unwrap();
    for text in [&prove, &merge] {
        assert!(!text.contains("--keys"), "{text}");
        assert!(!text.contains("--params-dir"), "{text}");
    }
    assert!(!p.out.join("params").exists());
    let mut k = o.clone();
    k.scheduler = Scheduler::Kubernetes;
    k.out = d.path().join("k8s");
    let p = plan(&k).unwrap();
    let job = yaml(&p.out.join("kubernetes/prove-job.yaml"));
    let script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(script.contains("--backend stark"), "{script}");
    assert_eq!(job["spec"]["completions"], 3);
}
