//! `assay solvency plan`: what an operator submits to run a round's shards on a cluster — a
//! Slurm job array and a merge job that depends on it, or a Kubernetes Indexed Job and a merge
//! Job — written into a folder on the storage every node shares.
//!
//! The folder `OUT` (absolute, the same path on every node):
//!
//! | path | what |
//! |---|---|
//! | `inputs/balances.csv`, `inputs/round.json` | copies of the inputs, so every shard reads the same bytes |
//! | `shards/I/` | shard `I`'s work folder; `private/round-secret.json` is written here by `plan`, the same secret in every shard |
//! | `round/` | the merged round (`round.json`, `inclusion/`, `private/`) |
//! | `params/` | the Halo2 parameters cache shared by the tasks (Halo2 rounds, unless `--params-dir`) |
//! | `round/proofs/` | the STARK's proof and leaves files of the merged round (STARK rounds; each shard has its own `proofs/` until the merge copies them) |
//! | `logs/` | the tasks' output (Slurm) |
//! | `slurm/prove.sbatch`, `slurm/merge.sbatch`, `slurm/submit.sh`, `slurm/requeue.sh` | Slurm (`submit.sh` keeps the job ids in `slurm/jobs.env`) |
//! | `kubernetes/prove-job.yaml`, `kubernetes/merge-job.yaml`, `kubernetes/submit.sh` | Kubernetes |
//!
//! Every task runs `prove --shard I/N --resume` in `shards/I`: a task that failed or was
//! preempted and is run again continues from its checkpoints. The merge refuses shards of
//! another round and names the batch proof a missing shard did not make.

use super::{
    budget::Budget,
    spool,
    workdir::{Config, WorkDir},
    BackendChoice,
};
use crate::{fsutil, ProverError};
use assay_circuits::Fr;
use std::path::{Path, PathBuf};

/// The scheduler a plan is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// Slurm: `sbatch --array=0-(N-1)` and a merge job with `--dependency=afterok`.
    Slurm,
    /// Kubernetes: an Indexed Job (`completionMode: Indexed`) and a merge Job.
    Kubernetes,
}

/// What `assay solvency plan` is asked to write.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The scheduler.
    pub scheduler: Scheduler,
    /// `N`: the shards (array tasks, Job completions).
    pub shards: usize,
    /// The balances CSV (copied into `OUT/inputs/`).
    pub balances: PathBuf,
    /// The round configuration (copied into `OUT/inputs/`).
    pub config: PathBuf,
    /// The plan's folder, on storage every node mounts at the same path.
    pub out: PathBuf,
    /// The proof system.
    pub backend: BackendChoice,
    /// The Groth16 keys folder (required for Groth16: every shard must prove under the same
    /// keys, made beforehand), on the shared storage.
    pub keys: Option<PathBuf>,
    /// The Halo2 parameters cache (default `OUT/params`).
    pub params_dir: Option<PathBuf>,
    /// The publication key the merge signs with (default `OUT/round/private/publication-key.json`).
    pub signing_key: Option<PathBuf>,
    /// Each task's memory budget and proofs in flight (passed to `prove` and `merge`; the
    /// memory is also what each task asks the scheduler for).
    pub budget: Budget,
    /// Cores each task asks the scheduler for.
    pub cpus: Option<usize>,
    /// The `assay` command on the nodes (Slurm) or in the image (Kubernetes).
    pub assay: String,
    /// The container image (Kubernetes).
    pub image: String,
    /// The PersistentVolumeClaim holding `OUT` (Kubernetes), mounted at `OUT`'s path.
    pub claim: String,
}

/// What a plan wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// The plan's folder (absolute).
    pub out: PathBuf,
    /// The shards.
    pub shards: usize,
    /// The batch proofs of the round.
    pub batches: usize,
    /// The script that submits everything.
    pub submit: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Writes the plan of a round into `opts.out`: the inputs, one work folder per shard with the
/// round's secret, and the scheduler's files. The inputs are checked whole first (as `prove`
/// would), so that nothing is submitted that cannot be proven.
///
/// # Errors
/// Bad input (naming file, line and column), `N` of 0 or above the round's batch proofs, a
/// Groth16 plan without `--keys`, a folder that already holds a plan, I/O.
pub fn plan(opts: &PlanOptions) -> Result<Plan, ProverError> {
    let bad = |m: String| ProverError::Plan(m);
    if opts.shards == 0 {
        return Err(bad("--shards 0: need at least 1".into()));
    }
    if opts.backend == BackendChoice::Groth16 && opts.keys.is_none() {
        return Err(bad(
            "a Groth16 plan needs --keys DIR: the round's keys, made once beforehand on the shared storage (shards that made their own keys would prove under different keys)".into(),
        ));
    }
    // The config's field does not matter for counting rows.
    let config = Config::<Fr>::read(&opts.config)?;
    let scan = spool::scan_inputs(&opts.balances, &config)?;
    let (batches, per_batch) = match opts.backend {
        // A STARK batch proves `batch_size - 1` users (its last row holds the commitment).
        #[cfg(feature = "stark")]
        BackendChoice::Stark => (
            crate::stark::batch_count(&config.cfg, scan.customers)?,
            format!(
                "{} customers in batches of {}",
                scan.customers,
                config.cfg.batch_size - 1
            ),
        ),
        #[cfg(not(feature = "stark"))]
        BackendChoice::Stark => return Err(ProverError::BackendUnavailable("stark")),
        _ => (
            (scan.leaf_count / config.cfg.batch_size as u64) as usize,
            format!("{} leaves of {}", scan.leaf_count, config.cfg.batch_size),
        ),
    };
    if opts.shards > batches {
        return Err(bad(format!(
            "--shards {}: the round has only {batches} batch proofs ({per_batch}): use at most {batches} shards",
            opts.shards
        )));
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| ProverError::io(&opts.out, e))?;
    let out = std::fs::canonicalize(&opts.out).map_err(|e| ProverError::io(&opts.out, e))?;
    let shard_dir = |i: usize| out.join("shards").join(i.to_string());
    if shard_dir(0).exists() || out.join("round").exists() {
        return Err(ProverError::WorkExists {
            folder: out.clone(),
        });
    }
    let mut files = Vec::new();
    let mut put = |path: PathBuf, bytes: &[u8]| -> Result<(), ProverError> {
        fsutil::write_atomic(&path, bytes)?;
        files.push(path);
        Ok(())
    };
    put(
        out.join("inputs/balances.csv"),
        &fsutil::read(&opts.balances)?,
    )?;
    put(out.join("inputs/round.json"), &config.bytes)?;
    // One secret for every shard: the salts, blinds and leaf order derive from it.
    WorkDir::new(&shard_dir(0)).seed(true)?;
    let secret = fsutil::read(&WorkDir::new(&shard_dir(0)).secret())?;
    for i in 1..opts.shards {
        put(WorkDir::new(&shard_dir(i)).secret(), &secret)?;
    }
    std::fs::create_dir_all(out.join("logs")).map_err(|e| ProverError::io(out.join("logs"), e))?;
    let cmd = Commands::new(opts, &out, &config.cfg.round_id);
    let submit = match opts.scheduler {
        Scheduler::Slurm => {
            let d = out.join("slurm");
            put(d.join("prove.sbatch"), cmd.slurm_prove().as_bytes())?;
            put(d.join("merge.sbatch"), cmd.slurm_merge().as_bytes())?;
            put(d.join("submit.sh"), cmd.slurm_submit().as_bytes())?;
            put(d.join("requeue.sh"), cmd.slurm_requeue().as_bytes())?;
            executable(&d.join("requeue.sh"))?;
            d.join("submit.sh")
        }
        Scheduler::Kubernetes => {
            let d = out.join("kubernetes");
            put(d.join("prove-job.yaml"), cmd.k8s_prove().as_bytes())?;
            put(d.join("merge-job.yaml"), cmd.k8s_merge().as_bytes())?;
            put(d.join("submit.sh"), cmd.k8s_submit().as_bytes())?;
            d.join("submit.sh")
        }
    };
    executable(&submit)?;
    Ok(Plan {
        out,
        shards: opts.shards,
        batches,
        submit,
        files,
    })
}

fn executable(path: &Path) -> Result<(), ProverError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| ProverError::io(path, e))
}

/// `s` quoted for a POSIX shell.
fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `s` as a YAML double-quoted scalar (JSON string syntax, which YAML accepts).
fn yq(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A DNS-1123 label from a round id: lowercase letters, digits and `-`, at most `max` long.
fn label(s: &str, max: usize) -> String {
    let mut l: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    l.truncate(max);
    let l = l.trim_matches('-').to_string();
    if l.is_empty() {
        "round".into()
    } else {
        l
    }
}

/// The commands of a plan's tasks, as shell text.
struct Commands<'a> {
    opts: &'a PlanOptions,
    out: String,
    name: String,
    /// Flags of `prove` after the fixed ones, quoted.
    prove_flags: String,
    /// Flags of `merge`, quoted.
    merge_flags: String,
}

impl<'a> Commands<'a> {
    fn new(opts: &'a PlanOptions, out: &Path, round_id: &str) -> Self {
        let p = |p: &Path| sh(&p.display().to_string());
        let params = opts
            .params_dir
            .clone()
            .unwrap_or_else(|| out.join("params"));
        let mut prove = Vec::new();
        let mut merge = Vec::new();
        match &opts.backend {
            BackendChoice::Groth16 => prove.push("--backend groth16".to_string()),
            // No keys, no parameters: the merge needs no backend flag (the shards name it).
            BackendChoice::Stark => prove.push("--backend stark".to_string()),
            BackendChoice::Halo2 { layout } => {
                prove.push(format!("--backend halo2 --layout {}", sh(layout)));
                prove.push(format!("--params-dir {}", p(&params)));
                merge.push(format!("--params-dir {}", p(&params)));
            }
        }
        if let Some(k) = &opts.keys {
            prove.push(format!("--keys {}", p(k)));
            merge.push(format!("--keys {}", p(k)));
        }
        let key = opts
            .signing_key
            .clone()
            .unwrap_or_else(|| out.join("round/private/publication-key.json"));
        merge.push(format!("--signing-key {}", p(&key)));
        for flags in [&mut prove, &mut merge] {
            if let Some(m) = opts.budget.memory {
                flags.push(format!("--memory {m}"));
            }
            if let Some(j) = opts.budget.jobs {
                flags.push(format!("--jobs {j}"));
            }
        }
        Self {
            opts,
            out: out.display().to_string(),
            name: label(round_id, 40),
            prove_flags: prove.join(" "),
            merge_flags: merge.join(" "),
        }
    }

    /// The shell body of shard `$I`'s task.
    fn prove_body(&self, index: &str) -> String {
        format!(
            "ROUND={round}\nI=\"${{{index}:?this task has no shard index}}\"\nexec {assay} solvency prove --balances \"$ROUND/inputs/balances.csv\" --config \"$ROUND/inputs/round.json\" --out \"$ROUND/shards/$I\" --shard \"$I/{n}\" --resume {flags} --json\n",
            round = sh(&self.out),
            assay = sh(&self.opts.assay),
            n = self.opts.shards,
            flags = self.prove_flags,
        )
    }

    /// The shell body of the merge.
    fn merge_body(&self) -> String {
        format!(
            "ROUND={round}\nset --\nfor i in $(seq 0 {last}); do set -- \"$@\" \"$ROUND/shards/$i\"; done\nexec {assay} solvency merge --out \"$ROUND/round\" {flags} --json \"$@\"\n",
            round = sh(&self.out),
            last = self.opts.shards - 1,
            assay = sh(&self.opts.assay),
            flags = self.merge_flags,
        )
    }

    fn slurm_resources(&self) -> String {
        let mut r = String::new();
        if let Some(c) = self.opts.cpus {
            r += &format!("#SBATCH --cpus-per-task={c}\n");
        }
        if let Some(m) = self.opts.budget.memory {
            // The budget, plus room for the binary and the page cache of the spool.
            r += &format!("#SBATCH --mem={}M\n", (m >> 20) + 512);
        }
        r
    }

    fn slurm_prove(&self) -> String {
        format!(
            "#!/bin/sh\n# Shard $SLURM_ARRAY_TASK_ID of {n} of round {id:?}: written by `assay solvency plan`.\n# A failed task is run again with `{out}/slurm/requeue.sh <task>` (scontrol requeue, and the\n# merge re-armed): it resumes from its checkpoints.\n#SBATCH --job-name=assay-prove-{name}\n#SBATCH --array=0-{last}\n#SBATCH --output={out}/logs/prove-%a.out\n#SBATCH --requeue\n{res}set -eu\n{body}",
            n = self.opts.shards,
            id = self.name,
            out = self.out,
            name = self.name,
            last = self.opts.shards - 1,
            res = self.slurm_resources(),
            body = self.prove_body("SLURM_ARRAY_TASK_ID"),
        )
    }

    fn slurm_merge(&self) -> String {
        format!(
            "#!/bin/sh\n# The merge of the {n} shards: submitted by submit.sh with --dependency=afterok on the array.\n# The passphrase of the publication key comes from ASSAY_PASSPHRASE (sbatch exports the\n# submitting shell's environment).\n#SBATCH --job-name=assay-merge-{name}\n#SBATCH --output={out}/logs/merge.out\n{res}set -eu\n{body}",
            n = self.opts.shards,
            name = self.name,
            out = self.out,
            res = self.slurm_resources(),
            body = self.merge_body(),
        )
    }

    fn slurm_submit(&self) -> String {
        format!(
            "#!/bin/sh\n# Submits the shards as a job array, then the merge, which runs once every task succeeded.\n# Prints the two job ids and keeps them in jobs.env (for requeue.sh).\nset -eu\nD={d}\narray=$(sbatch --parsable \"$D/prove.sbatch\")\narray=${{array%%;*}}\nmerge=$(sbatch --parsable --dependency=afterok:\"$array\" \"$D/merge.sbatch\")\nmerge=${{merge%%;*}}\nprintf 'ARRAY=%s\\nMERGE=%s\\n' \"$array\" \"$merge\" > \"$D/jobs.env\"\necho \"array $array\"\necho \"merge $merge\"\n",
            d = sh(&format!("{}/slurm", self.out)),
        )
    }

    fn slurm_requeue(&self) -> String {
        format!(
            "#!/bin/sh\n# Runs failed array tasks again (a node lost, a task killed): each resumes from its\n# checkpoints. Once a task failed, Slurm never meets the merge's afterok on the whole array,\n# so the merge is made to wait for every task by id instead (finished ones count as met).\n#   requeue.sh TASK [TASK...]\nset -eu\nD={d}\n[ $# -gt 0 ] || {{ echo \"usage: $0 TASK [TASK...]\" >&2; exit 2; }}\n. \"$D/jobs.env\"\nfor t in \"$@\"; do\n    scontrol requeue \"${{ARRAY}}_$t\"\n    scontrol update JobId=\"${{ARRAY}}_$t\" StartTime=now\ndone\ndep=afterok\nfor t in $(seq 0 {last}); do dep=\"$dep:${{ARRAY}}_$t\"; done\nscontrol update JobId=\"$MERGE\" Dependency=\"$dep\"\n",
            d = sh(&format!("{}/slurm", self.out)),
            last = self.opts.shards - 1,
        )
    }

    fn k8s_volume(&self, resources: &str) -> String {
        format!(
            "{resources}          volumeMounts:\n            - name: round\n              mountPath: {mount}\n      volumes:\n        - name: round\n          persistentVolumeClaim:\n            claimName: {claim}\n",
            mount = yq(&self.out),
            claim = yq(&self.opts.claim),
        )
    }

    fn k8s_resources(&self) -> String {
        let mut items = Vec::new();
        if let Some(m) = self.opts.budget.memory {
            items.push(format!("memory: {}", yq(&format!("{}Mi", (m >> 20) + 512))));
        }
        if let Some(c) = self.opts.cpus {
            items.push(format!("cpu: {}", yq(&c.to_string())));
        }
        if items.is_empty() {
            return String::new();
        }
        let block = |what: &str| {
            format!(
                "            {what}:\n{}",
                items
                    .iter()
                    .map(|i| format!("              {i}\n"))
                    .collect::<String>()
            )
        };
        format!(
            "          resources:\n{}{}",
            block("requests"),
            block("limits")
        )
    }

    fn k8s_prove(&self) -> String {
        format!(
            "# Shards of round {id:?}: written by `assay solvency plan`. Each index I runs\n# `prove --shard I/{n} --resume`; a failed pod is retried (backoffLimitPerIndex) and resumes\n# from its checkpoints on the shared volume.\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  completionMode: Indexed\n  completions: {n}\n  parallelism: {n}\n  backoffLimitPerIndex: 3\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: prove\n          image: {image}\n          command: [\"/bin/sh\", \"-c\"]\n          args:\n            - {body}\n{vol}",
            id = self.name,
            n = self.opts.shards,
            name = yq(&format!("assay-prove-{}", self.name)),
            image = yq(&self.opts.image),
            body = yq(&format!("set -eu\n{}", self.prove_body("JOB_COMPLETION_INDEX"))),
            vol = self.k8s_volume(&self.k8s_resources()),
        )
    }

    fn k8s_merge(&self) -> String {
        format!(
            "# The merge of the {n} shards of round {id:?}: apply once the prove Job is complete\n# (submit.sh waits for it). The publication key's passphrase comes from the Secret\n# assay-publication-key (key: passphrase).\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  completions: 1\n  backoffLimit: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: merge\n          image: {image}\n          command: [\"/bin/sh\", \"-c\"]\n          args:\n            - {body}\n          env:\n            - name: ASSAY_PASSPHRASE\n              valueFrom:\n                secretKeyRef:\n                  name: assay-publication-key\n                  key: passphrase\n{vol}",
            n = self.opts.shards,
            id = self.name,
            name = yq(&format!("assay-merge-{}", self.name)),
            image = yq(&self.opts.image),
            body = yq(&format!("set -eu\n{}", self.merge_body())),
            vol = self.k8s_volume(&self.k8s_resources()),
        )
    }

    fn k8s_submit(&self) -> String {
        format!(
            "#!/bin/sh\n# Applies the prove Job, waits until every index succeeded, then applies the merge Job.\nset -eu\nD={d}\nkubectl apply -f \"$D/prove-job.yaml\"\nkubectl wait --for=condition=complete --timeout=-1s job/assay-prove-{name}\nkubectl apply -f \"$D/merge-job.yaml\"\nkubectl wait --for=condition=complete --timeout=-1s job/assay-merge-{name}\n",
            d = sh(&format!("{}/kubernetes", self.out)),
            name = self.name,
        )
    }
}

#[cfg(test)]
mod tests;
