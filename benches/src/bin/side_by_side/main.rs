//! Groth16 (BN254), Halo2 (IPA over Pasta) and the STARK (Plonky3 over KoalaBear) side by side,
//! measured in one run on this machine: circuit size, key generation, IPA parameters, prove,
//! verify, proof size, peak memory, and user-assets proven per second per core, for the
//! solvency batch, the aggregations and the KYC circuit.
//!
//! Every case builds one deterministic witness from a seed (the same integer balances for every
//! backend; the STARK's differences are in [`stark`]), checks the statements natively, proves,
//! and verifies every proof it makes (a proof that does not verify aborts the run). Times are
//! wall and process CPU (user + system, all threads): on a shared machine CPU seconds are the
//! comparable number.
//!
//! `cargo run --release -p assay-benches --bin side_by_side -- --help`; `scripts/figures.sh`
//! runs the sizes of issue 5. Nothing printed is a constant: every figure is measured, and the
//! estimates printed before expensive steps are scaled from a calibration run measured at
//! start.

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use assay_benches::{constraints, constraints_floor_per_user, cpu_seconds};
use assay_circuits::{
    halo2::Fp,
    kyc::{
        challenge_to_field_in, constraints::KycCircuit, credential, halo2::KycHalo2Circuit,
        holder_commitment, jurisdiction::Jurisdiction, policy::PolicyTree, scope_to_field_in,
        KycContext, KycWitness, Registry,
    },
    solvency::{
        self,
        halo2::{Balanced, Compact, Throughput},
        AggregateWitness, BatchWitness, ChildOpening, LeafWitness, Shape, TopInputs,
    },
    Fr, StatementField,
};
use assay_prover::halo2::Halo2Prover;
use assay_verifier::halo2::{params, read_params, write_params, Halo2Params};
use halo2_proofs::{dev::CircuitCost, plonk::Circuit};
use rand::{rngs::StdRng, SeedableRng};
use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::exit,
    time::Instant,
};

mod stark;

// ---------------------------------------------------------------------------------------------
// Clocks and process figures

/// Wall and CPU seconds of one step.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    wall: f64,
    cpu: f64,
}

impl Span {
    fn json(&self) -> Value {
        json!({ "wall_s": self.wall, "cpu_s": self.cpu })
    }
}

/// Runs `f`, returning its result with the wall and CPU time it took.
fn timed<R>(f: impl FnOnce() -> R) -> (R, Span) {
    let (t, c) = (Instant::now(), cpu_seconds());
    let r = f();
    (
        r,
        Span {
            wall: t.elapsed().as_secs_f64(),
            cpu: cpu_seconds() - c,
        },
    )
}

/// Resets the peak RSS (`VmHWM`) of this process, so the next reading covers one step
/// (Linux `clear_refs` 5; a no-op where unavailable).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `VmHWM` of this process in MiB, if readable.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unavailable".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Set after the calibration by `--estimate-only`: print sizes and estimates, prove nothing.
static ESTIMATE_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn estimate_only() -> bool {
    ESTIMATE_ONLY.load(std::sync::atomic::Ordering::Relaxed)
}

/// Stops the run: a figure of a broken proof, or of a false statement, is worthless.
fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("\n*** ABORT: {msg}");
    exit(2)
}

// ---------------------------------------------------------------------------------------------
// Arguments

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Compact,
    Balanced,
    Throughput,
    /// The tuning with the smallest `k` (ties: the fewer columns).
    Auto,
}

#[derive(Debug)]
struct Args {
    batch: usize,
    assets: Vec<usize>,
    fan_in: usize,
    agg_assets: usize,
    width: usize,
    kyc: bool,
    layout: Layout,
    params_dir: PathBuf,
    json: Option<PathBuf>,
    only: Vec<String>,
    groth16: bool,
    halo2: bool,
    stark: bool,
    verify_reps: usize,
    seed: u64,
    estimates: bool,
    estimate_only: bool,
}

const USAGE: &str = "\
side_by_side: Groth16, Halo2 and the STARK measured side by side in one run.

Options (defaults = the sizes of issue 5):
  --batch B            leaves per batch proof, a power of two            [1024]
  --assets K1,K2,..    assets per batch case, one case `batch-k<K>` each  [4,50]
  --fan-in F           children per aggregation, a power of two          [16]
  --agg-assets K       assets of the aggregation cases                   [4]
  --width W            balance width in bits                             [64]
  --kyc / --no-kyc     measure the KYC circuit (case `kyc`)               [--kyc]
  --layout L           Halo2 tuning: compact|balanced|throughput|auto    [auto]
  --params-dir DIR     cache of Halo2 IPA parameters (k<k>.bin)           [target/halo2-params]
  --json OUT           also write every figure as JSON to OUT
  --only C1,C2,..      run only these cases: batch-k<K>, agg-top, agg-inner, kyc
                       (a prefix before '-' selects a family: --only batch,agg)
  --backend B1,B2,..   groth16, halo2, stark, both (= groth16,halo2), all  [all]
  --verify-reps N      verifications per proof (median reported)         [10]
  --seed S             seed of the balances, ids and blinds              [1]
  --no-estimates       skip the calibration run and the time estimates
  --estimate-only      print sizes and estimates of the selected cases, prove nothing
";

fn parse_args() -> Args {
    let mut a = Args {
        batch: 1024,
        assets: vec![4, 50],
        fan_in: 16,
        agg_assets: 4,
        width: 64,
        kyc: true,
        layout: Layout::Auto,
        params_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/halo2-params"),
        json: None,
        only: vec![],
        groth16: true,
        halo2: true,
        stark: true,
        verify_reps: 10,
        seed: 1,
        estimates: true,
        estimate_only: false,
    };
    let mut it = std::env::args().skip(1);
    let num = |name: &str, v: Option<String>| -> usize {
        v.and_then(|s| s.replace('_', "").parse().ok())
            .unwrap_or_else(|| die(format!("{name} needs a number\n{USAGE}")))
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--batch" => a.batch = num("--batch", it.next()),
            "--assets" => {
                a.assets = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| num("--assets", Some(s.to_string())))
                    .collect()
            }
            "--fan-in" => a.fan_in = num("--fan-in", it.next()),
            "--agg-assets" => a.agg_assets = num("--agg-assets", it.next()),
            "--width" => a.width = num("--width", it.next()),
            "--kyc" => a.kyc = true,
            "--no-kyc" => a.kyc = false,
            "--layout" => {
                a.layout = match it.next().as_deref() {
                    Some("compact") => Layout::Compact,
                    Some("balanced") => Layout::Balanced,
                    Some("throughput") => Layout::Throughput,
                    Some("auto") => Layout::Auto,
                    _ => die(format!(
                        "--layout: compact|balanced|throughput|auto\n{USAGE}"
                    )),
                }
            }
            "--params-dir" => {
                a.params_dir = it.next().map(PathBuf::from).unwrap_or_else(|| die(USAGE))
            }
            "--json" => a.json = Some(it.next().map(PathBuf::from).unwrap_or_else(|| die(USAGE))),
            "--only" => {
                a.only = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--backend" => {
                use assay_verifier::Backend;
                let (mut g, mut h, mut st) = (false, false, false);
                for name in it.next().unwrap_or_default().split(',') {
                    match name {
                        "all" => (g, h, st) = (true, true, true),
                        "both" => (g, h) = (true, true),
                        _ => match Backend::parse(name) {
                            Ok(Backend::Groth16) => g = true,
                            Ok(Backend::Halo2) => h = true,
                            Ok(Backend::Stark) => st = true,
                            _ => die(format!(
                                "--backend: {name:?} is none of groth16, halo2, stark, both, \
                                 all\n{USAGE}"
                            )),
                        },
                    }
                }
                (a.groth16, a.halo2, a.stark) = (g, h, st);
            }
            "--verify-reps" => a.verify_reps = num("--verify-reps", it.next()).max(1),
            "--seed" => a.seed = num("--seed", it.next()) as u64,
            "--no-estimates" => a.estimates = false,
            "--estimate-only" => a.estimate_only = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                exit(0)
            }
            other => die(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.estimate_only && !a.estimates {
        die("--estimate-only needs the calibration (drop --no-estimates)");
    }
    if !a.batch.is_power_of_two() || !a.fan_in.is_power_of_two() {
        die("--batch and --fan-in must be powers of two");
    }
    a
}

impl Args {
    fn selected(&self, case: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|f| case == f || case.starts_with(&format!("{f}-")))
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic witnesses: the same integers for both fields

/// SplitMix64 of `(seed, a, b)`: deterministic, well mixed, no RNG-world dependency.
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(b.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 128-bit value below `2^bits` (`bits <= 128`).
fn value(seed: u64, a: u64, b: u64, bits: usize) -> u128 {
    let v = (u128::from(mix(seed, a, b)) << 64) | u128::from(mix(seed ^ 0x5555, a, b));
    if bits >= 128 {
        v
    } else {
        v & ((1u128 << bits) - 1)
    }
}

/// The integers of one batch: ids, balances (`b x k`, each below `2^w`), blind.
struct BatchInts {
    ids: Vec<u128>,
    balances: Vec<Vec<u128>>,
    blind: u128,
}

fn batch_ints(seed: u64, b: usize, k: usize, w: usize) -> BatchInts {
    BatchInts {
        ids: (0..b as u64).map(|i| value(seed, 1, i, 128)).collect(),
        balances: (0..b as u64)
            .map(|i| (0..k as u64).map(|a| value(seed, 2 + a, i, w)).collect())
            .collect(),
        blind: value(seed, 0, 3, 128),
    }
}

fn batch_witness<F: StatementField>(ints: &BatchInts) -> BatchWitness<F> {
    BatchWitness {
        round: F::one(),
        leaves: ints
            .ids
            .iter()
            .zip(&ints.balances)
            .map(|(id, bal)| LeafWitness {
                id: F::from_u128(*id),
                balances: bal.iter().map(|b| F::from_u128(*b)).collect(),
            })
            .collect(),
        blind: F::from_u128(ints.blind),
    }
}

/// The integers of one aggregation: each child opens sums that `b - 1` balances below `2^w`
/// can add up to (`b - 1`: a STARK batch of height `b` holds `b - 1` users, and its children
/// must open the same integers as the other backends').
struct AggInts {
    roots: Vec<u128>,
    sums: Vec<Vec<u128>>,
    blinds: Vec<u128>,
    blind: u128,
    top: Option<(u128, Vec<u128>)>,
}

fn agg_ints(seed: u64, f: usize, k: usize, w: usize, b: usize, top: bool) -> AggInts {
    let sum_bits = w + b.trailing_zeros() as usize;
    // At most (b - 1)(2^w - 1), where that fits in 128 bits (else below 2^(w + log b)).
    let most = (b as u128)
        .checked_sub(1)
        .zip(1u128.checked_shl(w as u32))
        .and_then(|(users, top)| users.checked_mul(top - 1));
    let sums: Vec<Vec<u128>> = (0..f as u64)
        .map(|i| {
            (0..k as u64)
                .map(|a| {
                    let v = value(seed, 100 + a, i, sum_bits);
                    most.map_or(v, |m| v % (m + 1))
                })
                .collect()
        })
        .collect();
    let top = top.then(|| {
        // Reserves cover the total with a margin below 2^w.
        let reserves = (0..k)
            .map(|a| sums.iter().map(|s| s[a]).sum::<u128>() + value(seed, 200, a as u64, w))
            .collect();
        (value(seed, 300, 0, 128), reserves)
    });
    AggInts {
        roots: (0..f as u64).map(|i| value(seed, 10, i, 128)).collect(),
        sums,
        blinds: (0..f as u64).map(|i| value(seed, 11, i, 128)).collect(),
        blind: value(seed, 12, 0, 128),
        top,
    }
}

fn agg_witness<F: StatementField>(ints: &AggInts) -> AggregateWitness<F> {
    AggregateWitness {
        round: F::one(),
        children: (0..ints.roots.len())
            .map(|i| ChildOpening {
                root: F::from_u128(ints.roots[i]),
                sums: ints.sums[i].iter().map(|s| F::from_u128(*s)).collect(),
                blind: F::from_u128(ints.blinds[i]),
            })
            .collect(),
        blind: F::from_u128(ints.blind),
        top: ints.top.as_ref().map(|(prev, res)| TopInputs {
            previous: F::from_u128(*prev),
            reserves: res.iter().map(|r| F::from_u128(*r)).collect(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// Which backend measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    Groth16,
    Halo2,
    Stark,
}

/// Everything measured for one circuit on one backend.
#[derive(Debug, Default)]
struct Measure {
    kind: Kind,
    /// Human-readable size: constraints, or `k`, rows and columns.
    size: String,
    size_json: Value,
    /// Halo2 only: `Params::new(k)` or its load from the cache.
    params: Option<(Span, &'static str)>,
    /// Setup or key generation; `None` for the STARK (no keys).
    keygen: Option<Span>,
    prove: Span,
    verify_wall_ms_median: f64,
    verify_cpu_ms_mean: f64,
    verify_reps: usize,
    proof_bytes: usize,
    vk_bytes: Option<usize>,
    peak_rss_mib: Option<f64>,
    /// Batch cases: the user-assets one proof covers (`B·K`; the STARK's `(B - 1)·K`).
    user_assets: Option<usize>,
}

impl Measure {
    fn json(&self, cores: usize) -> Value {
        let mut v = json!({
            "size": self.size_json,
            "keygen": self.keygen.map(|k| k.json()),
            "prove": self.prove.json(),
            "verify_wall_ms_median": self.verify_wall_ms_median,
            "verify_cpu_ms_mean": self.verify_cpu_ms_mean,
            "verify_reps": self.verify_reps,
            "proof_bytes": self.proof_bytes,
            "vk_bytes": self.vk_bytes,
            "peak_rss_mib": self.peak_rss_mib,
        });
        if let Some((s, how)) = self.params {
            v["params"] = json!({ "source": how, "wall_s": s.wall, "cpu_s": s.cpu });
        }
        if let Some(n) = self.user_assets {
            v["user_assets"] = json!(n);
            v["user_assets_per_cpu_second"] = json!(n as f64 / self.prove.cpu);
            v["user_assets_per_core_second_wall"] =
                json!(n as f64 / (self.prove.wall * cores as f64));
        }
        v
    }
}

/// Times measured at small sizes in this run, scaled to predict the expensive steps.
#[derive(Debug, Clone, Copy)]
struct Calibration {
    /// Groth16: constraints, setup CPU, prove CPU, peak RSS (MiB) above the baseline.
    g_n: f64,
    g_setup: f64,
    g_prove: f64,
    g_rss: f64,
    /// Halo2: `k`, advice columns, `Params::new` CPU, keygen CPU, prove CPU, RSS above baseline.
    h_k: u32,
    h_params_k: u32,
    h_cols: f64,
    h_params: f64,
    h_keygen: f64,
    h_prove: f64,
    h_rss: f64,
    /// RSS before any proving (MiB).
    base_rss: f64,
    /// STARK (if measured): trace cells, prove CPU, peak RSS (MiB) above the baseline.
    stark: Option<(f64, f64, f64)>,
}

impl Calibration {
    /// Takes a larger measurement of this run as the new basis, so that the long cases are
    /// estimated from the largest case measured before them (batch-k4 before batch-k50).
    fn absorb(&mut self, row: &Row) {
        if let Some(m) = &row.groth16 {
            if let Some(n) = m.size_json["constraints"].as_u64() {
                if n as f64 > self.g_n {
                    self.g_n = n as f64;
                    self.g_setup = m.keygen.map_or(0.0, |k| k.cpu);
                    self.g_prove = m.prove.cpu;
                    if let Some(p) = m.peak_rss_mib {
                        self.g_rss = (p - self.base_rss).max(1.0);
                    }
                }
            }
        }
        if let Some(m) = &row.halo2 {
            let k = m.size_json["k"].as_u64().unwrap_or(0) as u32;
            if k > self.h_k {
                self.h_k = k;
                self.h_cols = m.size_json["advice_columns"]
                    .as_f64()
                    .unwrap_or(self.h_cols);
                self.h_keygen = m.keygen.map_or(0.0, |k| k.cpu);
                self.h_prove = m.prove.cpu;
                if let Some(p) = m.peak_rss_mib {
                    self.h_rss = (p - self.base_rss).max(1.0);
                }
                if let Some((s, "generated")) = m.params {
                    self.h_params = s.cpu;
                    self.h_params_k = k;
                }
            }
        }
        if let (Some(m), Some((cells, _, _))) = (&row.stark, self.stark) {
            if let Some(n) = m.size_json["trace_cells"].as_f64() {
                if n > cells && m.prove.cpu > 0.0 {
                    let rss = m.peak_rss_mib.map_or(1.0, |p| (p - self.base_rss).max(1.0));
                    self.stark = Some((n, m.prove.cpu, rss));
                }
            }
        }
    }
}

/// `n log n` scaling from `n0` to `n`.
fn nlogn(n: f64, n0: f64) -> f64 {
    (n / n0) * (n.max(2.0).log2() / n0.max(2.0).log2())
}

fn fmt_secs(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.0} min", s / 60.0)
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

fn estimate_groth16(cal: Option<&Calibration>, n: usize, cores: usize) {
    if let Some(c) = cal {
        let r = nlogn(n as f64, c.g_n);
        let setup = c.g_setup * r;
        let prove = c.g_prove * r;
        println!(
            "  estimate Groth16 ({n} constraints, scaled n·log n from a {:.0}-constraint \
             measurement of this run; rough): setup ≈ {} CPU, prove ≈ {} CPU \
             (wall ≥ CPU / {cores} cores), peak RSS ≈ {:.0} MiB",
            c.g_n,
            fmt_secs(setup),
            fmt_secs(prove),
            c.base_rss + c.g_rss * (n as f64 / c.g_n)
        );
    }
}

fn estimate_halo2(cal: Option<&Calibration>, k: u32, cols: usize, cached: bool, cores: usize) {
    if let Some(c) = cal {
        let n = f64::from(1u32 << k);
        let rp = nlogn(n, f64::from(1u32 << c.h_params_k));
        let r = nlogn(n, f64::from(1u32 << c.h_k)) * (cols as f64 / c.h_cols).max(1.0);
        let params = if cached {
            "cached on disk".to_string()
        } else {
            format!("≈ {} CPU", fmt_secs(c.h_params * rp))
        };
        println!(
            "  estimate Halo2 (k={k}, {cols} advice columns, scaled from a k={} measurement \
             of this run; rough): Params::new {params}, keygen ≈ {} CPU, prove ≈ {} CPU \
             (wall ≥ CPU / {cores} cores), peak RSS ≈ {:.0} MiB",
            c.h_k,
            fmt_secs(c.h_keygen * r),
            fmt_secs(c.h_prove * r),
            c.base_rss
                + c.h_rss * (n / f64::from(1u32 << c.h_k)) * (cols as f64 / c.h_cols).max(1.0)
        );
    }
}

/// Groth16: setup on the blank circuit (of `n` constraints), prove the full one, verify
/// `reps` times.
fn measure_groth16<C: ConstraintSynthesizer<Fr>>(
    label: &str,
    n: usize,
    blank: C,
    full: C,
    inputs: &[Fr],
    reps: usize,
    seed: u64,
) -> Measure {
    let mut rng = StdRng::seed_from_u64(seed);
    if estimate_only() {
        return Measure {
            size: format!("{n} constraints"),
            ..Measure::default()
        };
    }
    reset_peak_rss();
    let ((pk, vk), keygen) = timed(|| {
        Groth16::<Bn254>::circuit_specific_setup(blank, &mut rng)
            .unwrap_or_else(|e| die(format!("{label}: Groth16 setup failed: {e:?}")))
    });
    println!(
        "  groth16 {label}: setup {:.2} s CPU ({:.2} s wall)",
        keygen.cpu, keygen.wall
    );
    let (proof, prove) = timed(|| {
        Groth16::<Bn254>::prove(&pk, full, &mut rng)
            .unwrap_or_else(|e| die(format!("{label}: Groth16 prove failed: {e:?}")))
    });
    println!(
        "  groth16 {label}: prove {:.2} s CPU ({:.2} s wall)",
        prove.cpu, prove.wall
    );
    let peak = peak_rss_mib();
    drop(pk);
    let pvk = Groth16::<Bn254>::process_vk(&vk).unwrap_or_else(|e| die(format!("{e:?}")));
    let mut walls = Vec::with_capacity(reps);
    let mut cpu = 0.0;
    for _ in 0..reps {
        let (ok, s) = timed(|| Groth16::<Bn254>::verify_with_processed_vk(&pvk, inputs, &proof));
        if !matches!(ok, Ok(true)) {
            die(format!(
                "{label}: the Groth16 proof does not verify ({ok:?})"
            ));
        }
        walls.push(s.wall * 1e3);
        cpu += s.cpu * 1e3;
    }
    Measure {
        kind: Kind::Groth16,
        size: format!("{n} constraints"),
        size_json: json!({ "constraints": n }),
        params: None,
        keygen: Some(keygen),
        prove,
        verify_wall_ms_median: median(walls),
        verify_cpu_ms_mean: cpu / reps as f64,
        verify_reps: reps,
        proof_bytes: proof.compressed_size(),
        vk_bytes: Some(vk.compressed_size()),
        peak_rss_mib: peak,
        user_assets: None,
    }
}

/// Halo2 IPA parameters for `k`: read from `dir/k<k>.bin`, or generated and written there.
fn halo2_params(dir: &Path, k: u32) -> (Halo2Params, Span, &'static str) {
    let path = dir.join(format!("k{k}.bin"));
    if let Ok(f) = std::fs::File::open(&path) {
        let (p, s) = timed(|| read_params(&mut std::io::BufReader::new(f)));
        match p {
            Ok(p) if p.k() == k => return (p, s, "loaded"),
            _ => eprintln!("  {} unreadable: regenerating", path.display()),
        }
    }
    let (p, s) = timed(|| params(k).unwrap_or_else(|e| die(format!("Params::new({k}): {e}"))));
    let written = std::fs::create_dir_all(dir).is_ok()
        && std::fs::File::create(&path)
            .ok()
            .is_some_and(|f| write_params(&p, &mut std::io::BufWriter::new(f)).is_ok());
    if !written {
        eprintln!("  could not cache the parameters in {}", path.display());
    }
    (p, s, "generated")
}

/// Rows and columns of a Halo2 circuit at `k` (from the layouter, on the blank circuit).
struct Halo2Size {
    rows: usize,
    advice_rows: usize,
    advice: usize,
    fixed: usize,
    instance: usize,
    lookups: usize,
}

fn halo2_size<C: Circuit<Fp> + std::fmt::Debug>(blank: &C, k: u32) -> Halo2Size {
    let cost = CircuitCost::<pasta_curves::vesta::Point, C>::measure(k, blank);
    // CircuitCost keeps its fields private; its Debug output names them.
    let dbg = format!("{cost:?}");
    let field = |name: &str| -> usize {
        dbg.split(&format!("{name}: "))
            .nth(1)
            .and_then(|r| r.split([',', ' ', '}']).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Halo2Size {
        rows: field("max_rows"),
        advice_rows: field("max_advice_rows"),
        advice: field("num_advice_columns"),
        fixed: field("num_fixed_columns"),
        instance: field("num_instance_columns"),
        lookups: field("lookups"),
    }
}

/// The inputs of one Halo2 measurement.
struct Halo2Case<'a, C> {
    label: &'a str,
    tuning: &'a str,
    blank: C,
    full: C,
    k: u32,
    public: Vec<Fp>,
}

/// Halo2: parameters (cached), keygen, prove, verify `reps` times.
fn measure_halo2<C: Circuit<Fp> + std::fmt::Debug>(
    case: Halo2Case<'_, C>,
    dir: &Path,
    reps: usize,
    cal: Option<&Calibration>,
    cores: usize,
) -> Measure {
    let Halo2Case {
        label,
        tuning,
        blank,
        full,
        k,
        public,
    } = case;
    let size = halo2_size(&blank, k);
    let cached = dir.join(format!("k{k}.bin")).exists();
    estimate_halo2(cal, k, size.advice, cached, cores);
    if estimate_only() {
        return Measure {
            kind: Kind::Halo2,
            ..Measure::default()
        };
    }
    reset_peak_rss();
    let (p, params_span, how) = halo2_params(dir, k);
    println!(
        "  halo2 {label}: params k={k} {how} in {:.2} s CPU ({:.2} s wall)",
        params_span.cpu, params_span.wall
    );
    let (prover, keygen) = timed(|| {
        Halo2Prover::new(p, &blank, k, public.len())
            .unwrap_or_else(|e| die(format!("{label}: Halo2 keygen failed: {e}")))
    });
    println!(
        "  halo2 {label}: keygen {:.2} s CPU ({:.2} s wall)",
        keygen.cpu, keygen.wall
    );
    let (proof, prove) = timed(|| {
        prover
            .prove_os_rng(full, &public)
            .unwrap_or_else(|e| die(format!("{label}: Halo2 prove failed: {e}")))
    });
    println!(
        "  halo2 {label}: prove {:.2} s CPU ({:.2} s wall)",
        prove.cpu, prove.wall
    );
    let peak = peak_rss_mib();
    let verifier = prover
        .verifier(&blank)
        .unwrap_or_else(|e| die(format!("{label}: Halo2 verifying key: {e}")));
    drop(prover);
    let mut walls = Vec::with_capacity(reps);
    let mut cpu = 0.0;
    for _ in 0..reps {
        let (ok, s) = timed(|| verifier.verify(&public, &proof));
        if let Err(e) = ok {
            die(format!("{label}: the Halo2 proof does not verify: {e}"));
        }
        walls.push(s.wall * 1e3);
        cpu += s.cpu * 1e3;
    }
    Measure {
        kind: Kind::Halo2,
        size: format!(
            "k={k} ({tuning}): {} rows used ({} advice), {} advice / {} fixed / {} instance cols, {} lookups",
            size.rows, size.advice_rows, size.advice, size.fixed, size.instance, size.lookups
        ),
        size_json: json!({
            "k": k, "tuning": tuning, "rows_used": size.rows, "advice_rows_used": size.advice_rows,
            "advice_columns": size.advice, "fixed_columns": size.fixed,
            "instance_columns": size.instance, "lookups": size.lookups,
        }),
        params: Some((params_span, how)),
        keygen: Some(keygen),
        prove,
        verify_wall_ms_median: median(walls),
        verify_cpu_ms_mean: cpu / reps as f64,
        verify_reps: reps,
        proof_bytes: proof.len(),
        vk_bytes: None,
        peak_rss_mib: peak,
        user_assets: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

/// One circuit measured on every selected backend.
struct Row {
    case: String,
    title: String,
    groth16: Option<Measure>,
    halo2: Option<Measure>,
    stark: Option<Measure>,
    /// Extra figures or reasons (Groth16's constraints per user against the floor, why the
    /// STARK column is empty), if any.
    note: Option<String>,
}

impl Row {
    fn measures(&self) -> [Option<&Measure>; 3] {
        [
            self.groth16.as_ref(),
            self.halo2.as_ref(),
            self.stark.as_ref(),
        ]
    }
}

/// Appends `more` to a row's note.
fn add_note(note: &mut Option<String>, more: String) {
    *note = Some(match note.take() {
        Some(n) => format!("{n}; {more}"),
        None => more,
    });
}

/// Index of the tuning to use: the forced one, or the smallest `k` (ties: fewer columns).
fn pick_tuning(layout: Layout, ks: [u32; 3]) -> usize {
    match layout {
        Layout::Compact => 0,
        Layout::Balanced => 1,
        Layout::Throughput => 2,
        Layout::Auto => (0..3).min_by_key(|&i| (ks[i], i)).unwrap_or(0),
    }
}

/// Runs `$body` with `$T` the Halo2 tuning of index `$i` (0 Compact, 1 Balanced, 2 Throughput).
macro_rules! with_tuning {
    ($i:expr, $T:ident, $name:ident => $body:expr) => {
        match $i {
            0 => {
                type $T = Compact;
                let $name = "compact";
                $body
            }
            1 => {
                type $T = Balanced;
                let $name = "balanced";
                $body
            }
            _ => {
                type $T = Throughput;
                let $name = "throughput";
                $body
            }
        }
    };
}

struct Ctx<'a> {
    args: &'a Args,
    cal: Option<Calibration>,
    cores: usize,
}

fn batch_row(ctx: &Ctx<'_>, b: usize, k: usize, seed: u64) -> Row {
    let a = ctx.args;
    let label = format!("batch B={b} K={k} w={}", a.width);
    println!("\n## {label}");
    let shape = Shape {
        num_assets: k,
        balance_bits: a.width,
    };
    let ints = batch_ints(seed, b, k, a.width);
    let (wr, wp) = (batch_witness::<Fr>(&ints), batch_witness::<Fp>(&ints));
    let er = wr
        .evaluate(&shape)
        .unwrap_or_else(|e| die(format!("{label}: BN254 statement is false: {e}")));
    let ep = wp
        .evaluate(&shape)
        .unwrap_or_else(|e| die(format!("{label}: Pasta statement is false: {e}")));
    let int_sums: Vec<u128> = (0..k)
        .map(|j| ints.balances.iter().map(|u| u[j]).sum())
        .collect();
    let bytes = |v: &[u128]| -> Vec<[u8; 32]> {
        v.iter().map(|s| Fr::from_u128(*s).to_le_bytes()).collect()
    };
    if er.sums.iter().map(|s| s.to_le_bytes()).collect::<Vec<_>>()
        != ep.sums.iter().map(|s| s.to_le_bytes()).collect::<Vec<_>>()
        || er.sums.iter().map(|s| s.to_le_bytes()).collect::<Vec<_>>() != bytes(&int_sums)
    {
        die(format!(
            "{label}: the backends' sums differ from the integer sums"
        ));
    }
    println!("  statement checked natively on both fields (the integer sums)");
    let mut note = None;
    // The STARK: the first B - 1 users (127 if B < 128) of the same balances.
    let stark_batch = a.stark.then(|| {
        if let Some(n) = stark::width_note(a.width) {
            return Err(n);
        }
        let h = stark::batch_log_height(b).ok_or_else(|| {
            format!("STARK: not measured at B = {b} (a STARK batch has at most 2^14 rows)")
        })?;
        let shape = assay_circuits::solvency::stark::BatchShape::new(k, h)
            .map_err(|e| format!("STARK: {e}"))?;
        let sints = batch_ints(seed, shape.users(), k, a.width);
        let sb = stark::batch(&sints, shape, seed);
        stark::check_batch(&label, &sb, &sints);
        println!(
            "  STARK statement checked natively: {} users, the integer sums of the same balances",
            shape.users()
        );
        Ok(sb)
    });
    let groth16 = a.groth16.then(|| {
        use solvency::constraints::BatchCircuit;
        let blank = BatchCircuit {
            shape,
            batch_size: b,
            public: None,
            witness: None,
        };
        let n = constraints(blank.clone());
        let floor = constraints_floor_per_user(k, a.width);
        let per_user = n as f64 / b as f64;
        note = Some(format!(
            "Groth16 {per_user:.1} constraints per user; floor {floor} (range + leaf hash + one node), ratio {:.3}",
            per_user / floor as f64
        ));
        estimate_groth16(ctx.cal.as_ref(), n, ctx.cores);
        let full = BatchCircuit {
            witness: Some(wr),
            public: Some(er.public),
            ..blank.clone()
        };
        let mut m = measure_groth16(
            &label,
            n,
            blank,
            full,
            &er.public.to_inputs(),
            a.verify_reps,
            seed,
        );
        m.size = format!("{n} constraints ({per_user:.1} per user)");
        m.size_json["per_user"] = json!(per_user);
        m.size_json["floor_per_user"] = json!(floor);
        m.user_assets = Some(b * k);
        m
    });
    let halo2 = a.halo2.then(|| {
        use solvency::halo2::BatchCircuit;
        let ks = [
            BatchCircuit::<Compact>::new(shape, b, None).min_k(),
            BatchCircuit::<Balanced>::new(shape, b, None).min_k(),
            BatchCircuit::<Throughput>::new(shape, b, None).min_k(),
        ];
        let public = ep.public.to_inputs();
        with_tuning!(pick_tuning(a.layout, ks), T, name => {
            let blank = BatchCircuit::<T>::new(shape, b, None);
            let k2 = blank.min_k();
            measure_halo2(
                Halo2Case {
                    label: &label,
                    tuning: name,
                    full: BatchCircuit::<T>::new(shape, b, Some(wp)),
                    blank,
                    k: k2,
                    public,
                },
                &a.params_dir,
                a.verify_reps,
                ctx.cal.as_ref(),
                ctx.cores,
            )
        })
    });
    let halo2 = halo2.map(|mut m| {
        m.user_assets = Some(b * k);
        m
    });
    let stark = match stark_batch {
        Some(Ok(sb)) => Some(stark::measure_batch(
            &label,
            &sb,
            a.verify_reps,
            ctx.cal.as_ref(),
            ctx.cores,
        )),
        Some(Err(why)) => {
            add_note(&mut note, why);
            None
        }
        None => None,
    };
    Row {
        case: format!("batch-k{k}"),
        title: label,
        groth16,
        halo2,
        stark,
        note,
    }
}

fn agg_row(ctx: &Ctx<'_>, top: bool, seed: u64) -> Row {
    let a = ctx.args;
    let (f, k) = (a.fan_in, a.agg_assets);
    let label = format!(
        "{} aggregation f={f} K={k}",
        if top { "top" } else { "inner" }
    );
    println!("\n## {label}");
    let shape = Shape {
        num_assets: k,
        balance_bits: a.width,
    };
    let ints = agg_ints(seed, f, k, a.width, a.batch, top);
    let (wr, wp) = (agg_witness::<Fr>(&ints), agg_witness::<Fp>(&ints));
    let er = wr
        .evaluate(&shape)
        .unwrap_or_else(|e| die(format!("{label}: BN254 statement is false: {e}")));
    let ep = wp
        .evaluate(&shape)
        .unwrap_or_else(|e| die(format!("{label}: Pasta statement is false: {e}")));
    println!("  statement checked natively on both fields");
    let groth16 = a.groth16.then(|| {
        use solvency::constraints::AggregateCircuit;
        let blank = AggregateCircuit {
            shape,
            fan_in: f,
            top,
            public: None,
            witness: None,
        };
        let n = constraints(blank.clone());
        estimate_groth16(ctx.cal.as_ref(), n, ctx.cores);
        let inputs = er.public.to_inputs();
        let full = AggregateCircuit {
            public: Some(er.public),
            witness: Some(wr),
            ..blank.clone()
        };
        measure_groth16(&label, n, blank, full, &inputs, a.verify_reps, seed)
    });
    let halo2 = a.halo2.then(|| {
        use solvency::halo2::AggregateCircuit;
        let ks = [
            AggregateCircuit::<Compact>::new(shape, f, top, None).min_k(),
            AggregateCircuit::<Balanced>::new(shape, f, top, None).min_k(),
            AggregateCircuit::<Throughput>::new(shape, f, top, None).min_k(),
        ];
        let public = ep.public.to_inputs();
        with_tuning!(pick_tuning(a.layout, ks), T, name => {
            let blank = AggregateCircuit::<T>::new(shape, f, top, None);
            let k2 = blank.min_k();
            measure_halo2(
                Halo2Case {
                    label: &label,
                    tuning: name,
                    full: AggregateCircuit::<T>::new(shape, f, top, Some(wp)),
                    blank,
                    k: k2,
                    public,
                },
                &a.params_dir,
                a.verify_reps,
                ctx.cal.as_ref(),
                ctx.cores,
            )
        })
    });
    // The STARK: children are batch proofs of the round's batch height.
    let mut note = None;
    let stark = a.stark.then(|| {
        if let Some(n) = stark::width_note(a.width) {
            return Err(n);
        }
        let h = stark::batch_log_height(a.batch).ok_or_else(|| {
            format!(
                "STARK: not measured at B = {} (a STARK batch has at most 2^14 rows)",
                a.batch
            )
        })?;
        let w = stark::aggregation(&ints, k, (1 << h) - 1, top, seed)
            .map_err(|e| format!("STARK: {e}"))?;
        Ok(stark::measure_aggregation(
            &label,
            &w,
            &ints,
            a.verify_reps,
            ctx.cal.as_ref(),
            ctx.cores,
        ))
    });
    let stark = match stark {
        Some(Ok(m)) => Some(m),
        Some(Err(why)) => {
            add_note(&mut note, why);
            None
        }
        None => None,
    };
    Row {
        case: if top { "agg-top" } else { "agg-inner" }.into(),
        title: label,
        groth16,
        halo2,
        stark,
        note,
    }
}

/// The KYC statement for one holder of an allowed jurisdiction, under a sanctions-like policy.
/// The same holder, credential, registry and policy over the field of either backend: equal
/// integers (day numbers, jurisdiction, serial, secret key), backend-specific hashes.
fn kyc_witness<F: StatementField>(seed: u64) -> (KycWitness<F>, KycContext<F>) {
    let j = |c: &str| Jurisdiction::parse(c).unwrap_or_else(|e| die(format!("{c}: {e:?}")));
    let policy = PolicyTree::<F>::from_jurisdictions_in(
        &["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"].map(j),
    )
    .unwrap_or_else(|e| die(format!("policy: {e:?}")));
    let (today, expiry, serial) = (20_415u64, 20_800u64, 5u64);
    let int = |v: u64| F::from_u128(u128::from(v));
    let sk = int(mix(seed, 500, 0));
    let holder = j("FR");
    let mut leaves: Vec<F> = (0..8u64)
        .map(|i| {
            credential(
                holder_commitment(int(mix(seed, 501, i))),
                int(j("DE").packed()),
                int(expiry),
                int(i),
            )
        })
        .collect();
    leaves[serial as usize] = credential(
        holder_commitment(sk),
        int(holder.packed()),
        int(expiry),
        int(serial),
    );
    let reg = Registry::new(leaves);
    let nm = |key| {
        policy
            .non_membership(key)
            .unwrap_or_else(|e| die(format!("policy non-membership: {e:?}")))
    };
    let w = KycWitness {
        sk,
        jurisdiction: holder.packed(),
        expiry_day: expiry,
        serial,
        registry_path: reg.path(serial),
        exact: nm(holder.exact_key()),
        whole: nm(holder.whole_key()),
    };
    let ctx = KycContext {
        today,
        scope: scope_to_field_in::<F>("bench.example").unwrap_or_else(|e| die(format!("{e:?}"))),
        challenge: challenge_to_field_in::<F>(&[7; 31]),
    };
    (w, ctx)
}

fn kyc_row(ctx: &Ctx<'_>, seed: u64) -> Row {
    let a = ctx.args;
    let label = "KYC non-residence (registry depth 32)".to_string();
    println!("\n## {label}");
    let (w, kctx) = kyc_witness::<Fr>(seed);
    let public = w
        .evaluate(&kctx)
        .unwrap_or_else(|e| die(format!("KYC statement is false: {e:?}")));
    println!("  statement checked natively");
    let groth16 = a.groth16.then(|| {
        let blank = KycCircuit::blank();
        let n = constraints(KycCircuit::blank());
        estimate_groth16(ctx.cal.as_ref(), n, ctx.cores);
        let full = KycCircuit {
            public: Some(public),
            witness: Some(w.clone()),
        };
        measure_groth16(
            &label,
            n,
            blank,
            full,
            &public.to_inputs(),
            a.verify_reps,
            seed,
        )
    });
    let halo2 = a.halo2.then(|| {
        let (wp, cp) = kyc_witness::<Fp>(seed);
        let public_p = wp
            .evaluate(&cp)
            .unwrap_or_else(|e| die(format!("KYC statement is false over Pasta: {e:?}")));
        measure_halo2(
            Halo2Case {
                label: &label,
                tuning: "compact",
                blank: KycHalo2Circuit::<Compact>::blank(),
                full: KycHalo2Circuit::<Compact>::new(Some(wp)),
                k: KycHalo2Circuit::<Compact>::min_k(),
                public: public_p.to_inputs(),
            },
            &a.params_dir,
            a.verify_reps,
            ctx.cal.as_ref(),
            ctx.cores,
        )
    });
    let stark = a
        .stark
        .then(|| stark::measure_kyc(&label, seed, a.verify_reps, ctx.cal.as_ref(), ctx.cores));
    Row {
        case: "kyc".into(),
        title: label,
        groth16,
        halo2,
        stark,
        note: None,
    }
}

/// Small runs of the backends (the STARK if selected), measured now, to scale the estimates of
/// the big steps.
fn calibrate(args: &Args) -> Calibration {
    println!(
        "calibrating (small Groth16 batch, Halo2 k-small params and batch{}) ...",
        if args.stark {
            ", STARK 127-user batch"
        } else {
            ""
        }
    );
    let base_rss = peak_rss_mib().unwrap_or(0.0);
    let shape = Shape {
        num_assets: 4,
        balance_bits: 64,
    };
    let ints = batch_ints(99, 16, 4, 64);
    let (wr, wp) = (batch_witness::<Fr>(&ints), batch_witness::<Fp>(&ints));
    let er = wr.evaluate(&shape).unwrap_or_else(|e| die(e));
    let ep = wp.evaluate(&shape).unwrap_or_else(|e| die(e));
    let blank = solvency::constraints::BatchCircuit {
        shape,
        batch_size: 16,
        public: None,
        witness: None,
    };
    let g_n = constraints(blank.clone()) as f64;
    let full = solvency::constraints::BatchCircuit {
        public: Some(er.public),
        witness: Some(wr),
        ..blank.clone()
    };
    let g = measure_groth16(
        "calibration",
        g_n as usize,
        blank,
        full,
        &er.public.to_inputs(),
        1,
        99,
    );
    let g_rss = g.peak_rss_mib.unwrap_or(base_rss) - base_rss;
    // Params of a k not used by the cases would pollute the cache: generate in memory.
    let h_params_k = 12;
    let (_, ps) = timed(|| params(h_params_k).unwrap_or_else(|e| die(e)));
    let blank = solvency::halo2::BatchCircuit::<Compact>::new(shape, 16, None);
    let h_k = blank.min_k();
    let h = measure_halo2(
        Halo2Case {
            label: "calibration",
            tuning: "compact",
            full: solvency::halo2::BatchCircuit::<Compact>::new(shape, 16, Some(wp)),
            blank: blank.clone(),
            k: h_k,
            public: ep.public.to_inputs(),
        },
        &args.params_dir,
        1,
        None,
        1,
    );
    let cols = halo2_size(&blank, h_k).advice;
    Calibration {
        g_n,
        g_setup: g.keygen.map_or(0.0, |k| k.cpu),
        g_prove: g.prove.cpu,
        g_rss: g_rss.max(1.0),
        h_k,
        h_params_k,
        h_cols: cols as f64,
        h_params: ps.cpu,
        h_keygen: h.keygen.map_or(0.0, |k| k.cpu),
        h_prove: h.prove.cpu,
        h_rss: (h.peak_rss_mib.unwrap_or(base_rss) - base_rss).max(1.0),
        base_rss,
        stark: args.stark.then(|| stark::calibrate(base_rss)),
    }
}

// ---------------------------------------------------------------------------------------------
// Output

fn cell(m: Option<&Measure>, f: impl Fn(&Measure) -> String) -> String {
    m.map_or_else(|| "–".to_string(), f)
}

fn span_cell(s: Span) -> String {
    format!("{} CPU ({} wall)", fmt_secs(s.cpu), fmt_secs(s.wall))
}

fn print_table(args: &Args, rows: &[Row], cores: usize) {
    // The selected backends' columns: (index in `Row::measures`, header).
    let cols: Vec<(usize, &str)> = [
        (args.groth16, "Groth16 (BN254)"),
        (args.halo2, "Halo2 (IPA, Pasta)"),
        (args.stark, "STARK (Plonky3, KoalaBear)"),
    ]
    .into_iter()
    .enumerate()
    .filter(|(_, (on, _))| *on)
    .map(|(i, (_, h))| (i, h))
    .collect();
    println!(
        "\n| circuit | figure | {} |",
        cols.iter().map(|c| c.1).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|---|{}", "---|".repeat(cols.len()));
    for r in rows {
        let ms = r.measures();
        let line = |name: &str, f: &dyn Fn(&Measure) -> String| {
            let cells: Vec<String> = cols.iter().map(|(i, _)| cell(ms[*i], f)).collect();
            println!("| {} | {name} | {} |", r.title, cells.join(" | "));
        };
        line("size", &|m| m.size.clone());
        line("IPA params (Halo2)", &|m| match (m.kind, m.params) {
            (_, Some((s, how))) => format!("{how}: {}", span_cell(s)),
            (Kind::Stark, None) => "none (transparent)".into(),
            (_, None) => "none (circuit-specific setup)".into(),
        });
        line("keygen / setup", &|m| {
            m.keygen
                .map_or("none (pinned AIR and parameters)".into(), span_cell)
        });
        line("prove", &|m| span_cell(m.prove));
        line("verify", &|m| {
            format!(
                "{:.2} ms median wall of {}, {:.2} ms CPU each",
                m.verify_wall_ms_median, m.verify_reps, m.verify_cpu_ms_mean
            )
        });
        line("proof size", &|m| format!("{} B", m.proof_bytes));
        line("verifying key", &|m| match (m.kind, m.vk_bytes) {
            (_, Some(b)) => format!("{b} B"),
            (Kind::Halo2, None) => "re-derived from the circuit".into(),
            (_, None) => "none".into(),
        });
        line("peak RSS (keygen + prove)¹", &|m| {
            m.peak_rss_mib.map_or("–".into(), |p| format!("{p:.0} MiB"))
        });
        if ms.iter().flatten().any(|m| m.user_assets.is_some()) {
            line("user-assets per proof", &|m| {
                m.user_assets.map_or("–".into(), |n| n.to_string())
            });
            line("user-assets / s / core (CPU)", &|m| {
                m.user_assets
                    .map_or("–".into(), |n| format!("{:.1}", n as f64 / m.prove.cpu))
            });
            line(&format!("user-assets / s / core (wall × {cores})"), &|m| {
                m.user_assets.map_or("–".into(), |n| {
                    format!("{:.1}", n as f64 / (m.prove.wall * cores as f64))
                })
            });
        }
    }
    println!(
        "\n¹ VmHWM of the process, reset before each backend's keygen (the STARK's prove): it \
         includes heap the allocator kept from earlier steps; run a case alone (--only) for a \
         clean figure."
    );
    if args.stark {
        println!(
            "A STARK batch of height 2^h proves 2^h - 1 users (the last row holds the sum \
             commitment): compare user-assets per CPU-second. STARK proofs are postcard bytes."
        );
    }
    for r in rows {
        if let Some(n) = &r.note {
            println!("\n{}: {n}", r.title);
        }
    }
}

fn main() {
    let args = parse_args();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_start = load_average();
    println!(
        "side_by_side: {cores} cores, load average {load_start} (start); B={} K={:?} fan-in {} \
         (K={}) w={} kyc={} layout={:?}; params cache {}",
        args.batch,
        args.assets,
        args.fan_in,
        args.agg_assets,
        args.width,
        args.kyc,
        args.layout,
        args.params_dir.display()
    );
    let mut cases: Vec<String> = args.assets.iter().map(|k| format!("batch-k{k}")).collect();
    cases.extend(["agg-top".into(), "agg-inner".into()]);
    if args.kyc {
        cases.push("kyc".into());
    }
    cases.retain(|c| args.selected(c));
    if cases.is_empty() {
        die(format!("no case selected by --only {:?}", args.only));
    }
    println!("cases: {}", cases.join(", "));
    let (build_text, stark_build) = stark::build_features();
    if args.stark {
        println!("{build_text}");
    }
    let cal = args.estimates.then(|| calibrate(&args));
    ESTIMATE_ONLY.store(args.estimate_only, std::sync::atomic::Ordering::Relaxed);
    let mut ctx = Ctx {
        args: &args,
        cal,
        cores,
    };
    let started = Instant::now();
    let mut rows = Vec::new();
    for c in &cases {
        let row = match c.as_str() {
            "agg-top" => agg_row(&ctx, true, args.seed),
            "agg-inner" => agg_row(&ctx, false, args.seed),
            "kyc" => kyc_row(&ctx, args.seed),
            batch => {
                let k = batch
                    .trim_start_matches("batch-k")
                    .parse()
                    .unwrap_or_else(|_| die(format!("case {batch}")));
                batch_row(&ctx, args.batch, k, args.seed)
            }
        };
        if let Some(c) = ctx.cal.as_mut() {
            c.absorb(&row);
        }
        rows.push(row);
    }
    let load_end = load_average();
    if args.estimate_only {
        println!("\n--estimate-only: nothing was proven; load average {load_end}");
        return;
    }
    print_table(&args, &rows, cores);
    println!(
        "\n{cores} cores; load average {load_start} at start, {load_end} at end; {} total wall",
        fmt_secs(started.elapsed().as_secs_f64())
    );
    if let Some(path) = &args.json {
        let v = json!({
            "cores": cores,
            "load_average_start": load_start,
            "load_average_end": load_end,
            "args": {
                "batch": args.batch, "assets": args.assets, "fan_in": args.fan_in,
                "agg_assets": args.agg_assets, "width": args.width, "seed": args.seed,
                "layout": format!("{:?}", args.layout).to_lowercase(),
                "backends": {
                    "groth16": args.groth16, "halo2": args.halo2, "stark": args.stark,
                },
            },
            "stark_build": stark_build,
            "cases": rows.iter().map(|r| json!({
                "case": r.case,
                "title": r.title,
                "note": r.note,
                "groth16": r.groth16.as_ref().map(|m| m.json(cores)),
                "halo2": r.halo2.as_ref().map(|m| m.json(cores)),
                "stark": r.stark.as_ref().map(|m| m.json(cores)),
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&v).unwrap_or_else(|e| die(e));
        std::fs::write(path, text + "\n")
            .unwrap_or_else(|e| die(format!("{}: {e}", path.display())));
        println!("JSON written to {}", path.display());
    }
}
