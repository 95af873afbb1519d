//! The customer's check, timed alone (criterion): one inclusion record against its round, the
//! files in memory (no process start, no disk), on each backend.
//!
//! How to run (from the workspace root; minutes: the Halo2 check takes about a second each):
//! `cargo bench -p assay-benches --bench customer` (for the STARK's figure, the x86-64-v3 build:
//! `cargo --config .cargo/x86-64-v3.toml bench -p assay-benches --bench customer --target-dir
//! target/x86-64-v3`). `-- stark` runs the STARK's cases only.
//!
//! One iteration is what a customer's verifier does with the files it holds: parse the round
//! bundle and the record, then `verify_inclusion_with` (the record's signature, its leaf, its
//! path, and every proof on the path to the top; the STARK's proof and leaves files are read
//! from a map and their SHA-256 checked against the names the bundle gives, as `ProofDir` does
//! on disk). The rounds:
//! * `stark/frozen-v2`: `fixtures/solvency/frozen/v2-stark` (one batch of 127 users, 2 assets,
//!   and the top proof);
//! * `stark/frozen-v3`: `fixtures/solvency/frozen/v3-stark`, the same round made on
//!   2026-12-03 with the aggregation proofs under `AGG_PARAMS` (v2's top: `STARK_PARAMS`);
//! * `stark/frozen-v4`: `fixtures/solvency/frozen/v4-stark`, the same round made on
//!   2026-12-04 with the leaves file ending with the chain's segment states;
//! * `stark/4095x4`: a round proven in the set-up with the prover's pipeline (one batch of
//!   4,095 users with 4 assets, the batch size of the 10^6-user round, and the top proof; the
//!   set-up proves it once, seconds to a minute);
//! * `stark/external`: with `ASSAY_BENCH_STARK_ROUND=DIR`, a round folder made elsewhere, such
//!   as `scripts/scale.sh`'s million-user round (245 batches of 4,095 users with 4 assets
//!   under one top), and its first record (`inclusion/`, in name order); the files are read
//!   into memory first. This is the customer's check at the 10^6-user round's real shape: its
//!   top has 245 children where `4095x4`'s has one.
//! * `groth16/frozen-v1`, `halo2/frozen-v1`: the frozen Groth16 round (keys pinned by
//!   `v1-manifest.json`) and Halo2 round; the Halo2 parameters come from a cache that keeps
//!   them in memory after the first check (the keys are re-derived at every check, as the
//!   customer's one-shot check does).

/// The `assay` binary's allocator (`src/main.rs`), so that the check is timed as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use assay_benches::cpu_seconds;
use assay_prover::solvency::{self as prover, record_path, BackendChoice, ProveOptions};
use assay_verifier::{
    groth16::{KeyManifest, TrustedKeys},
    halo2::ParamsCache,
    solvency::{
        verify_inclusion_with, InclusionRecord, PreparedRound, ProofSource, RoundBundle,
        RoundOptions,
    },
    VerifyError,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::{collections::HashMap, fs, path::Path};

/// Proof and leaves files by name (their SHA-256), in memory.
#[derive(Debug, Default)]
struct Files(HashMap<String, Vec<u8>>);

impl Files {
    /// Every `proofs/<sha256>.bin` of a round folder.
    fn of_round(dir: &Path) -> Self {
        let mut m = HashMap::new();
        for e in fs::read_dir(dir.join("proofs")).expect("proofs folder") {
            let p = e.expect("entry").path();
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a file name")
                .to_string();
            m.insert(name, fs::read(&p).expect("proof file"));
        }
        Self(m)
    }
}

impl ProofSource for Files {
    fn proof(&self, hash: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
        let err = |m: &str| VerifyError::ProofFile {
            proof: what.into(),
            file: format!("proofs/{hash}.bin"),
            message: m.into(),
        };
        let bytes = self.0.get(hash).ok_or_else(|| err("not given"))?;
        if assay_verifier::sha256_hex(bytes) != hash {
            return Err(err("its bytes hash to another name"));
        }
        Ok(bytes.clone())
    }
}

/// A round's bundle and one record, as bytes, and its files.
struct Round {
    bundle: Vec<u8>,
    record: Vec<u8>,
    files: Files,
}

/// What one iteration does: parse, then the customer's check.
fn check(r: &Round, opts: &RoundOptions<'_>) {
    let b = RoundBundle::parse(&r.bundle, "round").expect("bundle");
    let rec = InclusionRecord::parse(&r.record, "record").expect("record");
    verify_inclusion_with(&rec, &b, opts).expect("the customer's check passes");
}

fn fixtures(dir: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/solvency/frozen")
        .join(dir)
}

fn frozen(dir: &str, files: bool) -> Round {
    let d = fixtures(dir);
    Round {
        bundle: fs::read(d.join("round.json")).expect("round.json"),
        record: fs::read(d.join("record-customer-0007.json")).expect("record"),
        files: if files {
            Files::of_round(&d)
        } else {
            Files::default()
        },
    }
}

/// A STARK round of `users` users with 4 assets in one batch, proven now with the prover's
/// pipeline (signed with a fixed bench key), read back into memory.
fn proven_stark_round(users: usize) -> Round {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut csv = String::from("user_id,USD,BTC,ETH,EUR\n");
    for i in 0..users {
        csv.push_str(&format!(
            "user-{i},{}.{:02},0.{:08},{}.{:018},{}\n",
            i * 7,
            i % 100,
            i * 1000 + 1,
            i % 5,
            i * 31,
            i % 3
        ));
    }
    let balances = dir.path().join("balances.csv");
    fs::write(&balances, csv).expect("write balances");
    let config = dir.path().join("round-config.json");
    fs::write(
        &config,
        format!(
            r#"{{"version":1,"round_id":"bench-customer","balance_bits":64,
               "batch_size":{},"fan_in":16,
               "assets":[{{"symbol":"USD","decimals":2,"reserves":"100000000"}},
                         {{"symbol":"BTC","decimals":8,"reserves":"210000"}},
                         {{"symbol":"ETH","decimals":18,"reserves":"50000"}},
                         {{"symbol":"EUR","decimals":0,"reserves":"100000000"}}],
               "previous_round":null}}"#,
            (users + 1).next_power_of_two()
        ),
    )
    .expect("write config");
    let opts = ProveOptions {
        balances,
        config,
        out: dir.path().join("out"),
        keys: dir.path().join("keys"),
        shard: None,
        resume: false,
        progress: false,
        backend: BackendChoice::Stark,
        budget: prover::budget::Budget::default(),
    };
    let signer = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    prover::prove(&opts, Some(&signer)).expect("the set-up round proves");
    let user = format!("user-{}", users / 2);
    Round {
        bundle: fs::read(opts.out.join("round.json")).expect("round.json"),
        record: fs::read(record_path(&opts.out, &user).expect("record path")).expect("record"),
        files: Files::of_round(&opts.out),
    }
}

/// Whether the command line's filter (criterion's first free argument, a substring of the
/// case's id) can match a case of `backend`: the set-ups of the other backends are skipped
/// (the STARK's proves a round, the Halo2 one derives keys), so that `-- groth16` runs and
/// profiles the Groth16 cases alone.
fn wanted(backend: &str) -> bool {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && a != "customer");
    filter.is_none_or(|f| f.contains(backend) || backend.contains(&f) || f.contains('|'))
}

/// A round folder made elsewhere (`ASSAY_BENCH_STARK_ROUND`) and its first record.
fn external_round(dir: &Path) -> Round {
    let mut records: Vec<_> = fs::read_dir(dir.join("inclusion"))
        .expect("the round folder's inclusion/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    records.sort();
    Round {
        bundle: fs::read(dir.join("round.json")).expect("round.json"),
        record: fs::read(records.first().expect("a record")).expect("record"),
        files: Files::of_round(dir),
    }
}

/// Prints the CPU time per check (all threads) beside the wall time, over `n` checks: the
/// customer's check uses both cores, so its wall time is not its cost.
fn cpu_per_check(name: &str, round: &Round, opts: &RoundOptions<'_>, n: u32) {
    let (c0, w0) = (cpu_seconds(), std::time::Instant::now());
    for _ in 0..n {
        check(round, opts);
    }
    let (cpu, wall) = (cpu_seconds() - c0, w0.elapsed().as_secs_f64());
    println!(
        "stark/{name}: {:.2} ms CPU and {:.2} ms wall per check ({n} checks)",
        cpu * 1e3 / f64::from(n),
        wall * 1e3 / f64::from(n)
    );
}

fn stark(c: &mut Criterion) {
    if !wanted("stark") {
        return;
    }
    let mut g = c.benchmark_group("customer check");
    g.sample_size(20);
    let mut rounds = vec![
        ("frozen-v2 127x2", frozen("v2-stark", true)),
        ("frozen-v3 127x2", frozen("v3-stark", true)),
        ("frozen-v4 127x2", frozen("v4-stark", true)),
        ("4095x4", proven_stark_round(4_095)),
    ];
    if let Some(dir) = std::env::var_os("ASSAY_BENCH_STARK_ROUND") {
        rounds.push(("external", external_round(Path::new(&dir))));
    }
    for (name, round) in rounds {
        let opts = RoundOptions {
            proofs: Some(&round.files),
            ..RoundOptions::default()
        };
        check(&round, &opts);
        cpu_per_check(name, &round, &opts, 100);
        g.bench_function(BenchmarkId::new("stark", name), |b| {
            b.iter(|| check(&round, &opts))
        });
        // What parsing the bundle and the record alone costs (a share of every check).
        g.bench_function(BenchmarkId::new("stark", format!("{name} parse")), |b| {
            b.iter(|| {
                let b = RoundBundle::parse(&round.bundle, "round").expect("bundle");
                let rec = InclusionRecord::parse(&round.record, "record").expect("record");
                (b, rec)
            })
        });
    }
    g.finish();
}

fn groth16_and_halo2(c: &mut Criterion) {
    let mut g = c.benchmark_group("customer check");
    g.sample_size(10);
    if wanted("groth16") {
        let manifest = fs::read(fixtures("v1-manifest.json")).expect("manifest");
        let pinned = [KeyManifest::open(&manifest, "manifest").expect("manifest")];
        let round = frozen("v1", false);
        let opts = RoundOptions {
            trusted_keys: TrustedKeys::Manifests(&pinned),
            ..RoundOptions::default()
        };
        check(&round, &opts);
        g.bench_function(BenchmarkId::new("groth16", "frozen-v1"), |b| {
            b.iter(|| check(&round, &opts))
        });
        // A server's or the page's way: the round prepared once (keys decoded and prepared),
        // then one record checked per iteration; and what preparing costs.
        let bundle =
            std::sync::Arc::new(RoundBundle::parse(&round.bundle, "round").expect("bundle"));
        g.bench_function(BenchmarkId::new("groth16", "frozen-v1 prepare"), |b| {
            b.iter(|| PreparedRound::prepare(bundle.clone(), &opts).expect("prepared"))
        });
        let prepared = PreparedRound::prepare(bundle, &opts).expect("prepared");
        g.bench_function(BenchmarkId::new("groth16", "frozen-v1 prepared"), |b| {
            b.iter(|| {
                let rec = InclusionRecord::parse(&round.record, "record").expect("record");
                prepared
                    .verify_inclusion(&rec)
                    .expect("the customer's check passes")
            })
        });
    }
    if !wanted("halo2") {
        g.finish();
        return;
    }
    let params_dir = tempfile::tempdir().expect("temp dir");
    let cache = ParamsCache::new(params_dir.path());
    let round = frozen("v1-halo2", false);
    let opts = RoundOptions {
        halo2_params: Some(&cache),
        ..RoundOptions::default()
    };
    check(&round, &opts);
    g.bench_function(BenchmarkId::new("halo2", "frozen-v1"), |b| {
        b.iter(|| check(&round, &opts))
    });
    g.finish();
}

criterion_group!(benches, stark, groth16_and_halo2);
criterion_main!(benches);
