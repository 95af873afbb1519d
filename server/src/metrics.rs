//! Counters and a latency histogram, rendered as Prometheus text (`GET /metrics`).

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

/// Upper bounds (seconds) of the verification-time histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The service's metrics. Labels are fixed strings (route names, outcomes): never user input.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    verdicts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    verify_seconds: Mutex<BTreeMap<&'static str, Histogram>>,
    in_flight: AtomicU64,
    rate_limited: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a metrics lock leaves only counters behind: keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// Counts one finished request of `route` with `status`.
    pub fn request(&self, route: &'static str, status: u16) {
        *lock(&self.requests).entry((route, status)).or_default() += 1;
    }

    /// Counts one verdict (`valid` / `invalid`) of `kind` and its CPU time.
    pub fn verdict(&self, kind: &'static str, valid: bool, seconds: f64) {
        let outcome = if valid { "valid" } else { "invalid" };
        *lock(&self.verdicts).entry((kind, outcome)).or_default() += 1;
        let mut h = lock(&self.verify_seconds);
        let h = h.entry(kind).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Counts one request refused by the rate limiter.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks a verification as started (`+1`) or finished (`-1`).
    pub fn in_flight(&self, delta: i64) {
        if delta >= 0 {
            self.in_flight.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            self.in_flight
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP assay_http_requests_total HTTP requests by route and status.\n# TYPE assay_http_requests_total counter"
        );
        for ((route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "assay_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP assay_verifications_total Verdicts by kind and outcome.\n# TYPE assay_verifications_total counter"
        );
        for ((kind, outcome), n) in lock(&self.verdicts).iter() {
            let _ = writeln!(
                out,
                "assay_verifications_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP assay_verification_seconds Time spent verifying, by kind.\n# TYPE assay_verification_seconds histogram"
        );
        for (kind, h) in lock(&self.verify_seconds).iter() {
            for (b, c) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(
                    out,
                    "assay_verification_seconds_bucket{{kind=\"{kind}\",le=\"{b}\"}} {c}"
                );
            }
            let _ = writeln!(
                out,
                "assay_verification_seconds_bucket{{kind=\"{kind}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "assay_verification_seconds_sum{{kind=\"{kind}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "assay_verification_seconds_count{{kind=\"{kind}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP assay_verifications_in_flight Verifications running now.\n# TYPE assay_verifications_in_flight gauge\nassay_verifications_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP assay_rate_limited_total Requests refused with 429.\n# TYPE assay_rate_limited_total counter\nassay_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        out
    }
}
