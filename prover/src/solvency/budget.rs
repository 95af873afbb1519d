//! The memory budget of a run: how many proofs are in flight at once, and how many threads
//! each proof uses inside.
//!
//! A proof's memory does not depend on the number of customers, only on its circuit (the
//! batch size, the assets, the backend). So the run's peak is bounded by
//! `jobs × peak of one proof` (plus the spool's few bytes per customer), whatever the round's
//! size, provided no more than `jobs` proofs are ever in flight. That is what [`run_bounded`]
//! guarantees: `jobs` worker threads, each proving one item at a time inside its own rayon pool
//! of `threads` threads. A thread that waits inside a proof only helps that proof (it can
//! never pick up another whole proof, as a thread of one shared pool would).
//!
//! The peak of one proof comes from [`RoundBackend::proof_memory`], a formula fitted to
//! measured peaks (`docs/operations.md`). A budget below one proof is refused before any work.

use super::backend::{CircuitKind, RoundBackend};
use crate::ProverError;
use assay_circuits::solvency::Shape;
use assay_verifier::solvency::RoundConfig;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

const GIB: f64 = (1u64 << 30) as f64;

/// What the operator asked for (`--memory`, `--jobs`); `None` takes the machine's figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    /// Bytes the run may use; default: 90% of `MemAvailable` in `/proc/meminfo`.
    pub memory: Option<u64>,
    /// Proofs in flight at once; default: as many as the memory allows, at most one per core.
    pub jobs: Option<usize>,
}

/// The budget a run chose: reported in the run's summary (`budget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Workers {
    /// The memory budget in bytes.
    pub memory: u64,
    /// Proofs in flight at once.
    pub jobs: usize,
    /// Threads inside each proof.
    pub threads_per_job: usize,
    /// The estimated peak of the largest proof of the round, in bytes (its share of what
    /// every proof shares included).
    pub per_proof: u64,
    /// Of `per_proof`, what is held once whatever the proofs in flight (keys, matrices).
    pub shared: u64,
}

impl std::fmt::Display for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "memory budget {}: {} proof(s) in flight, {} thread(s) each (one proof needs about {}, of which {} shared by all)",
            human(self.memory),
            self.jobs,
            self.threads_per_job,
            human(self.per_proof),
            human(self.shared)
        )
    }
}

/// `bytes` in GiB or MiB, for messages.
pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / GIB)
    } else {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    }
}

/// Parses a size: a number with an optional unit `B`, `K`/`KiB`, `M`/`MiB`, `G`/`GiB`,
/// `T`/`TiB` (powers of 1024; `KB`, `MB`, `GB`, `TB` are powers of 1000), e.g. `8GiB`, `512M`,
/// `1.5G`.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size such as 8GiB or 512MiB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => GIB,
        "t" | "tib" => GIB * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (use KiB, MiB, GiB or TiB)"
            ))
        }
    };
    let bytes = n * mult;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(format!("{s:?}: out of range"));
    }
    Ok(bytes as u64)
}

/// `MemAvailable` of `/proc/meminfo` in bytes, if the machine says.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    mem_available(&text)
}

fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Budget {
    /// The workers for proofs whose largest needs `per_proof` bytes, on a machine with
    /// `cores` cores and `available` bytes of available memory (used when `memory` is not
    /// given). `what` names the proofs in messages.
    ///
    /// # Errors
    /// [`ProverError::Budget`] when the budget is below one proof, or below the `jobs` asked
    /// for; the message gives the figure needed.
    pub fn workers(
        &self,
        per_proof: u64,
        cores: usize,
        available: Option<u64>,
        what: &str,
    ) -> Result<Workers, ProverError> {
        self.workers_sharing(0, per_proof, cores, available, what)
    }

    /// As [`Budget::workers`], for proofs of which `shared` bytes (keys, matrices) are held
    /// once whatever the number in flight: `j` proofs need
    /// `shared + j × (per_proof − shared)`.
    ///
    /// # Errors
    /// As [`Budget::workers`].
    pub fn workers_sharing(
        &self,
        shared: u64,
        per_proof: u64,
        cores: usize,
        available: Option<u64>,
        what: &str,
    ) -> Result<Workers, ProverError> {
        let cores = cores.max(1);
        let shared = shared.min(per_proof);
        let each = (per_proof - shared).max(1);
        let need = |j: u64| shared.saturating_add(each.saturating_mul(j));
        let memory = match (self.memory, available) {
            (Some(m), _) => m,
            (None, Some(a)) => a / 10 * 9,
            (None, None) => {
                return Err(ProverError::Budget(
                    "the machine's available memory is unknown (no MemAvailable in /proc/meminfo): pass --memory".into(),
                ))
            }
        };
        let fits = memory.saturating_sub(shared) / each;
        if fits == 0 || memory < per_proof {
            return Err(ProverError::Budget(format!(
                "a memory budget of {} is below one {what}, which needs about {}: pass --memory {} or more, or use a smaller batch_size",
                human(memory),
                human(per_proof),
                human(per_proof).replace(' ', "")
            )));
        }
        let jobs = match self.jobs {
            Some(0) => return Err(ProverError::Budget("--jobs 0: need at least 1".into())),
            Some(j) if (j as u64) > fits => {
                return Err(ProverError::Budget(format!(
                    "{j} jobs need about {} ({} shared, then {j} × {} per {what}); the memory budget is {}: pass --jobs {fits} or --memory {} or more",
                    human(need(j as u64)),
                    human(shared),
                    human(each),
                    human(memory),
                    human(need(j as u64)).replace(' ', "")
                )))
            }
            Some(j) => j,
            None => (fits.min(cores as u64)) as usize,
        };
        Ok(Workers {
            memory,
            jobs,
            threads_per_job: (cores / jobs).max(1),
            per_proof,
            shared,
        })
    }
}

/// The workers of a round of `cfg` on `backend` under `budget`, with this machine's cores
/// and available memory as defaults.
///
/// # Errors
/// As [`Budget::workers`].
pub(super) fn workers_for<B: RoundBackend>(
    backend: &B,
    budget: &Budget,
    shape: Shape,
    cfg: &RoundConfig,
) -> Result<Workers, ProverError> {
    let (shared, peak) = round_peak(backend, shape, cfg.batch_size, cfg.fan_in);
    let what = format!(
        "{} proof of {} leaves × {} assets",
        backend.name(),
        cfg.batch_size,
        shape.num_assets
    );
    let available = if budget.memory.is_none() {
        available_memory()
    } else {
        None
    };
    budget.workers_sharing(shared, peak, cores(), available, &what)
}

/// The workers a `prove` run with `opts` would choose: call it before asking for a passphrase
/// or creating anything, so that a budget below one proof is refused before any work.
///
/// # Errors
/// The config cannot be read, or as [`Budget::workers`].
pub fn check(opts: &super::ProveOptions) -> Result<Workers, ProverError> {
    struct Check<'a>(&'a super::ProveOptions);
    impl crate::dispatch::RoundVisitor for Check<'_> {
        type Output = Workers;
        fn visit<B: RoundBackend>(self, backend: &B) -> Result<Workers, ProverError> {
            let config = super::workdir::Config::<B::F>::read(&self.0.config)?;
            workers_for(backend, &self.0.budget, config.checked.shape, &config.cfg)
        }
        #[cfg(feature = "stark")]
        fn visit_stark(self) -> Result<Workers, ProverError> {
            crate::stark::workers(self.0)
        }
    }
    crate::dispatch::with_round_backend(&opts.backend, &opts.keys, &opts.keys, Check(opts))
}

/// The largest per-proof peak of a round's circuits (its batch circuit and the aggregation
/// circuits of its levels: `fan_in` children, the top one too), and the largest shared part.
/// Each is the maximum over the circuits, so `shared + j × (peak − shared)` bounds every
/// phase of the round.
fn round_peak<B: RoundBackend>(
    backend: &B,
    shape: Shape,
    batch_size: usize,
    fan_in: usize,
) -> (u64, u64) {
    let kinds = [
        CircuitKind::Batch { batch_size },
        CircuitKind::Aggregation { fan_in, top: false },
        CircuitKind::Aggregation { fan_in, top: true },
    ];
    let shared = kinds
        .iter()
        .map(|k| {
            backend
                .shared_memory(shape, *k)
                .min(backend.proof_memory(shape, *k))
        })
        .max()
        .unwrap_or(0);
    let each = kinds
        .iter()
        .map(|k| {
            backend.proof_memory(shape, *k)
                - backend
                    .shared_memory(shape, *k)
                    .min(backend.proof_memory(shape, *k))
        })
        .max()
        .unwrap_or(0);
    (shared, shared + each)
}

/// Runs `f` on every item with at most `workers.jobs` calls in flight, each inside its own
/// rayon pool of `workers.threads_per_job` threads. Stops starting new items after the first
/// error, which it returns; otherwise the results in the order of `items`.
///
/// # Errors
/// The first error of `f`, or a thread pool that cannot be built.
pub(crate) fn run_bounded<T: Send>(
    workers: &Workers,
    items: &[usize],
    f: impl Fn(usize) -> Result<T, ProverError> + Sync,
) -> Result<Vec<T>, ProverError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let first_error: Mutex<Option<ProverError>> = Mutex::new(None);
    let fail = |e: ProverError| {
        failed.store(true, Ordering::SeqCst);
        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    };
    std::thread::scope(|s| {
        for _ in 0..workers.jobs.min(items.len()) {
            s.spawn(|| {
                let pool = match rayon::ThreadPoolBuilder::new()
                    .num_threads(workers.threads_per_job)
                    .build()
                {
                    Ok(p) => p,
                    Err(e) => return fail(ProverError::Proving(format!("thread pool: {e}"))),
                };
                loop {
                    if failed.load(Ordering::SeqCst) {
                        return;
                    }
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&item) = items.get(n) else { return };
                    match pool.install(|| f(item)) {
                        Ok(v) => {
                            results.lock().unwrap_or_else(|p| p.into_inner())[n] = Some(v);
                        }
                        Err(e) => return fail(e),
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.ok_or_else(|| ProverError::Proving("a proof was not made".into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const G: u64 = 1 << 30;

    #[test]
    fn sizes_parse_with_units_and_bad_ones_are_named() {
        assert_eq!(parse_size("8GiB"), Ok(8 * G));
        assert_eq!(parse_size("8G"), Ok(8 * G));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 * G / 2));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        for bad in ["", "GiB", "8XB", "-1G", "0", "1e99TiB"] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_size("8XB").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn available_memory_is_read_from_meminfo() {
        let m = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(mem_available(m), Some(2 << 20));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn the_budget_bounds_the_jobs_and_refuses_less_than_one_proof() {
        let b = Budget {
            memory: Some(8 * G),
            jobs: None,
        };
        // 3 GiB per proof: 2 fit in 8 GiB; on 16 cores, 8 threads each.
        let w = b.workers(3 * G, 16, None, "batch proof").unwrap();
        assert_eq!((w.jobs, w.threads_per_job), (2, 8));
        // On 1 core, 1 job however much memory.
        assert_eq!(b.workers(G, 1, None, "x").unwrap().jobs, 1);
        // Below one proof: refused, with the figure needed.
        let e = b.workers(9 * G, 4, None, "batch proof").unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("below one batch proof") && m.contains("9.0 GiB"),
            "{m}"
        );
        // More jobs than fit: refused, saying how many fit.
        let j = Budget {
            memory: Some(8 * G),
            jobs: Some(3),
        };
        let m = j
            .workers(3 * G, 4, None, "batch proof")
            .unwrap_err()
            .to_string();
        assert!(m.contains("--jobs 2"), "{m}");
        // Defaults from the machine: 90% of what is available.
        let d = Budget::default();
        let w = d.workers(G, 2, Some(10 * G), "x").unwrap();
        assert_eq!((w.memory, w.jobs, w.threads_per_job), (9 * G, 2, 1));
        assert!(d.workers(G, 2, None, "x").is_err());
        assert!(Budget {
            memory: None,
            jobs: Some(0)
        }
        .workers(G, 2, Some(G * 4), "x")
        .is_err());
    }

    /// What every proof shares (keys, matrices) is counted once: 1 GiB shared and 0.25 GiB
    /// per proof fit 12 proofs in 4 GiB, not 3; the messages give both parts.
    #[test]
    fn shared_memory_is_counted_once() {
        let b = Budget {
            memory: Some(4 * G),
            jobs: None,
        };
        let w = b
            .workers_sharing(G, G + G / 4, 64, None, "batch proof")
            .unwrap();
        assert_eq!((w.jobs, w.shared, w.per_proof), (12, G, G + G / 4));
        // Below the shared part and one proof: refused with the figure.
        let e = Budget {
            memory: Some(G),
            jobs: None,
        }
        .workers_sharing(G, G + G / 4, 64, None, "batch proof")
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("below one batch proof") && e.contains("1.2 GiB"),
            "{e}"
        );
        let e = Budget {
            memory: Some(4 * G),
            jobs: Some(13),
        }
        .workers_sharing(G, G + G / 4, 64, None, "batch proof")
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--jobs 12") && e.contains("1.0 GiB shared"),
            "{e}"
        );
        // Nothing shared: as `workers`.
        assert_eq!(
            b.workers_sharing(0, G, 64, None, "x").unwrap().jobs,
            b.workers(G, 64, None, "x").unwrap().jobs
        );
    }

    #[test]
    fn no_more_than_jobs_items_are_ever_in_flight() {
        let w = Workers {
            memory: 0,
            jobs: 3,
            threads_per_job: 2,
            per_proof: 0,
            shared: 0,
        };
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let items: Vec<usize> = (0..24).collect();
        let out = run_bounded(&w, &items, |i| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            // Inner parallelism, as a prover has: it must stay inside this item's pool.
            let inner = rayon::current_num_threads();
            let sum: usize = rayon::iter::ParallelIterator::sum(
                rayon::iter::IntoParallelIterator::into_par_iter(0..1000usize),
            );
            std::thread::sleep(Duration::from_millis(20));
            now.fetch_sub(1, Ordering::SeqCst);
            Ok((i, inner, sum))
        })
        .unwrap();
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "{most} in flight");
        assert!(out.iter().enumerate().all(|(k, r)| r.0 == k && r.1 == 2));
        // A failure stops the run and is returned.
        let e = run_bounded(&w, &items, |i| {
            if i == 5 {
                Err(ProverError::Proving("five".into()))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert!(e.to_string().contains("five"));
    }
}
