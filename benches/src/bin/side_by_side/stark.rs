//! The STARK column (Plonky3 over KoalaBear, Poseidon2, hiding FRI): the same integers as the
//! other two backends, in the STARK's own witnesses, and one measurement per case.
//!
//! What differs from the other backends, and how the cases still compare:
//! * a STARK batch of height `2^h` holds `2^h - 1` users (the last row holds the sum
//!   commitment), and `h` is between 7 and 14: the batch case proves the first `B - 1` users of
//!   the same balances (127 when `B < 128`), and the comparable figure is user-assets per
//!   CPU-second;
//! * ids, salts, blinds and roots are digests of 8 KoalaBear elements: an id is the digest of
//!   the other backends' id integer written in decimal ([`user_id_digest`], as the prover
//!   does), the rest are drawn from the same seed;
//! * aggregation children are batch proofs ([`ChildKind::Batch`], the level above the
//!   batches): a child opens its per-asset sums as four 16-bit limb sums, so each sum is
//!   written as such limb sums ([`batch_limbs`]); the totals are the same integers;
//! * there is no setup and no verifying key: the AIRs and their parameters are pinned.

use super::{
    die, estimate_only, fmt_secs, median, peak_rss_mib, reset_peak_rss, timed, AggInts, BatchInts,
    Calibration, Kind, Measure,
};
use assay_circuits::{
    kyc::{
        jurisdiction::Jurisdiction,
        stark::{
            challenge_digest, credential, exact_key, holder_commitment, kyc_security,
            kyc_statement, kyc_trace_shape, prove_kyc, scope_digest, secret_from_bytes, verify_kyc,
            whole_key, KycStarkContext, KycStarkPublic, KycStarkWitness, StarkPolicyTree,
            StarkRegistry,
        },
    },
    solvency::stark::{
        aggregate_statement, aggregation_security, aggregation_trace_cells, batch_statement,
        batch_trace_cells, child_commitment, prove_aggregation, prove_batch, round_digest,
        security, user_id_digest, verify_aggregation, verify_batch, AggPublic, AggShape,
        AggWitness, BatchPublic, BatchShape, Blind, ChildKind, ChildOpening, ChildPublic, Digest,
        StarkBatch, StarkSecurity, StarkUser, TopPublic, Val, AGG_PARAMS, BATCH_PARAMS,
        BLIND_ELEMS, DIGEST_ELEMS, LIMBS, MAX_LOG_HEIGHT, MIN_LOG_HEIGHT, SALT_ELEMS, STARK_PARAMS,
    },
};
use p3_field::{Field, PackedValue, PrimeCharacteristicRing};
use serde_json::{json, Value};

/// KoalaBear's modulus.
const P: u64 = 0x7f00_0001;

/// The round id every STARK proof of the run is bound to.
const ROUND_ID: &str = "side-by-side";

/// An element drawn from the seed (uniform enough: 64 bits reduced modulo `p`).
fn element(seed: u64, a: u64, b: u64) -> Val {
    Val::from_u64(super::mix(seed, a, b) % P)
}

fn elements<const N: usize>(seed: u64, a: u64, b: u64) -> [Val; N] {
    core::array::from_fn(|j| element(seed, a, b * N as u64 + j as u64))
}

fn digest(seed: u64, a: u64, b: u64) -> Digest {
    elements::<DIGEST_ELEMS>(seed, a, b)
}

fn blind(seed: u64, a: u64, b: u64) -> Blind {
    elements::<BLIND_ELEMS>(seed, a, b)
}

fn round() -> Digest {
    round_digest(ROUND_ID).unwrap_or_else(|e| die(format!("round digest: {e}")))
}

/// What the STARK build's field arithmetic uses: Plonky3 picks KoalaBear's packed field at
/// compile time (8 lanes with AVX2, 16 with AVX-512, 1 without either), so the packing width
/// says whether this binary is the fast one. Also whether this CPU has AVX2 (a generic build
/// on an AVX2 CPU leaves about a factor 7 on the table: build with `.cargo/x86-64-v3.toml`).
pub(super) fn build_features() -> (String, Value) {
    let width = <<Val as Field>::Packing as PackedValue>::WIDTH;
    let (avx2, avx512) = (
        cfg!(target_feature = "avx2"),
        cfg!(target_feature = "avx512f"),
    );
    #[cfg(target_arch = "x86_64")]
    let cpu_avx2 = Some(std::arch::is_x86_feature_detected!("avx2"));
    #[cfg(not(target_arch = "x86_64"))]
    let cpu_avx2: Option<bool> = None;
    let hint = if cpu_avx2 == Some(true) && !avx2 {
        " — this CPU has AVX2 but the build does not use it: build with \
         `cargo --config .cargo/x86-64-v3.toml build --release -p assay-benches --bin side_by_side \
         --target-dir target/x86-64-v3`"
    } else {
        ""
    };
    (
        format!(
            "STARK build: KoalaBear packing width {width} (compiled with AVX2: {avx2}, \
             AVX-512: {avx512}); CPU has AVX2: {}{hint}",
            cpu_avx2.map_or("unknown".into(), |b| b.to_string())
        ),
        json!({
            "packing_width": width,
            "target_feature_avx2": avx2,
            "target_feature_avx512f": avx512,
            "cpu_avx2": cpu_avx2,
        }),
    )
}

/// `log2` of the STARK batch height for a batch case of `b` leaves: `log2 b`, at least the
/// smallest height the hiding PCS allows. `None` above the largest (limb sums must not wrap).
pub(super) fn batch_log_height(b: usize) -> Option<usize> {
    let h = (b.trailing_zeros() as usize).max(MIN_LOG_HEIGHT);
    (h <= MAX_LOG_HEIGHT).then_some(h)
}

/// The STARK batch of the first `shape.users()` users of `ints` (which holds at least that
/// many): the same balances, ids as digests of the id integers, salts and blind from the seed.
pub(super) fn batch(ints: &BatchInts, shape: BatchShape, seed: u64) -> StarkBatch {
    let users = (0..shape.users())
        .map(|i| StarkUser {
            id: user_id_digest(&ints.ids[i].to_string())
                .unwrap_or_else(|e| die(format!("user id digest: {e}"))),
            salt: elements::<SALT_ELEMS>(seed, 600, i as u64),
            balances: ints.balances[i]
                .iter()
                .map(|b| {
                    u64::try_from(*b).unwrap_or_else(|_| {
                        die("a balance is not below 2^64 (the STARK needs w = 64)")
                    })
                })
                .collect(),
        })
        .collect();
    StarkBatch {
        shape,
        round: round(),
        users,
        blind: blind(seed, 0, 3),
    }
}

/// The four limb sums `S_0..S_3` that a batch of `users` users, each balance below `2^64`,
/// can commit to for the integer `sum`: with `sum = q (2^64 - 1) + r` (`r < 2^64 - 1`),
/// `S_l = q (2^16 - 1) + limb_l(r)`, so that `sum = sum_l S_l 2^{16 l}` and every `S_l` is at
/// most `users (2^16 - 1)` (what `users` balances' limbs can add up to). `None` if no batch of
/// `users` users holds `sum`.
pub(super) fn batch_limbs(sum: u128, users: usize) -> Option<[u64; LIMBS]> {
    let m = u128::from(u64::MAX);
    let (q, r) = (sum / m, sum % m);
    let users = users as u128;
    if q > users || (q == users && r != 0) {
        return None;
    }
    let limbs: [u64; LIMBS] = core::array::from_fn(|l| {
        u64::try_from(q * 0xffff + ((r >> (16 * l)) & 0xffff)).unwrap_or(u64::MAX)
    });
    Some(limbs)
}

/// The STARK aggregation over `ints`' children, as batch proofs of `users` users each; the
/// top one with `ints`' reserves and a previous-round digest from the seed. An error names
/// the child that no STARK batch can hold.
pub(super) fn aggregation(
    ints: &AggInts,
    assets: usize,
    users: usize,
    top: bool,
    seed: u64,
) -> Result<AggWitness, String> {
    let f = ints.roots.len();
    let shape =
        AggShape::new(assets, f, ChildKind::Batch, top).map_err(|e| format!("shape: {e}"))?;
    let children = (0..f)
        .map(|i| {
            let mut limbs = Vec::with_capacity(assets * LIMBS);
            for (a, s) in ints.sums[i].iter().enumerate() {
                limbs.extend(batch_limbs(*s, users).ok_or_else(|| {
                    format!("child {i}, asset {a}: sum {s} is more than {users} users hold")
                })?);
            }
            let b = blind(seed, 11, i as u64);
            Ok(ChildOpening {
                public: ChildPublic {
                    root: digest(seed, 10, i as u64),
                    commitment: child_commitment(ChildKind::Batch, assets, &b, &limbs),
                },
                blind: b,
                limbs,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(AggWitness {
        shape,
        round: round(),
        children,
        blind: blind(seed, 12, 0),
        top: ints.top.as_ref().map(|(_, reserves)| TopPublic {
            previous: digest(seed, 300, 0),
            reserves: reserves.clone(),
        }),
    })
}

/// The KYC statement of the other backends' case over KoalaBear: the same policy, holder,
/// jurisdictions, days and serial, the registry of 8 credentials, `sk` from the same 64-bit
/// secret (its little-endian bytes), the same scope text and challenge bytes.
pub(super) fn kyc(seed: u64) -> (KycStarkWitness, KycStarkContext) {
    let j = |c: &str| Jurisdiction::parse(c).unwrap_or_else(|e| die(format!("{c}: {e:?}")));
    let policy = StarkPolicyTree::from_jurisdictions(
        &["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"].map(j),
    )
    .unwrap_or_else(|e| die(format!("policy: {e:?}")));
    let (today, expiry, serial) = (20_415u64, 20_800u64, 5u64);
    let secret = |v: u64| {
        let mut bytes = [0u8; 31];
        bytes[..8].copy_from_slice(&v.to_le_bytes());
        secret_from_bytes(&bytes)
    };
    let sk = secret(super::mix(seed, 500, 0));
    let holder = j("FR");
    let mut leaves: Vec<Digest> = (0..8u64)
        .map(|i| {
            credential(
                &holder_commitment(&secret(super::mix(seed, 501, i))),
                j("DE").packed(),
                expiry,
                i,
            )
        })
        .collect();
    leaves[serial as usize] = credential(&holder_commitment(&sk), holder.packed(), expiry, serial);
    let reg = StarkRegistry::new(leaves);
    let nm = |key| {
        policy
            .non_membership(key)
            .unwrap_or_else(|e| die(format!("policy non-membership: {e:?}")))
    };
    let w = KycStarkWitness {
        sk,
        jurisdiction: holder.packed(),
        expiry_day: expiry,
        serial,
        registry_path: reg.path(serial),
        exact: nm(exact_key(holder.packed())),
        whole: nm(whole_key(holder.packed())),
    };
    let ctx = KycStarkContext {
        today,
        scope: scope_digest("bench.example").unwrap_or_else(|e| die(format!("{e:?}"))),
        challenge: challenge_digest(&[7; 31]),
    };
    (w, ctx)
}

fn security_text(s: &StarkSecurity) -> String {
    format!(
        "{} conjectured bits ({} proven)",
        s.conjectured_bits, s.proven_bits
    )
}

/// What one STARK measurement proves and checks.
pub(super) struct StarkCase<'a, P, Prove, Verify> {
    pub label: &'a str,
    /// Rows, columns, and what they hold.
    pub size: String,
    pub size_json: Value,
    /// `rows x columns` of the trace: what the estimate scales with.
    pub cells: usize,
    pub prove: Prove,
    pub verify: Verify,
    pub _public: std::marker::PhantomData<P>,
}

/// STARK: prove (trace generation included), verify `reps` times. No setup, no keys.
pub(super) fn measure<P, Prove, Verify>(
    case: StarkCase<'_, P, Prove, Verify>,
    reps: usize,
    cal: Option<&Calibration>,
    cores: usize,
) -> Measure
where
    Prove: FnOnce() -> Result<(Vec<u8>, P), String>,
    Verify: Fn(&[u8], &P) -> Result<(), String>,
{
    let StarkCase {
        label,
        size,
        mut size_json,
        cells,
        prove,
        verify,
        ..
    } = case;
    size_json["trace_cells"] = json!(cells);
    estimate(cal, cells, cores);
    if estimate_only() {
        return Measure {
            kind: Kind::Stark,
            size,
            size_json,
            ..Measure::default()
        };
    }
    reset_peak_rss();
    let (out, prove_span) = timed(prove);
    let (proof, public) = out.unwrap_or_else(|e| die(format!("{label}: STARK prove failed: {e}")));
    println!(
        "  stark {label}: prove {:.2} s CPU ({:.2} s wall), {} B",
        prove_span.cpu,
        prove_span.wall,
        proof.len()
    );
    let peak = peak_rss_mib();
    let mut walls = Vec::with_capacity(reps);
    let mut cpu = 0.0;
    for _ in 0..reps {
        let (ok, s) = timed(|| verify(&proof, &public));
        if let Err(e) = ok {
            die(format!("{label}: the STARK proof does not verify: {e}"));
        }
        walls.push(s.wall * 1e3);
        cpu += s.cpu * 1e3;
    }
    Measure {
        kind: Kind::Stark,
        size,
        size_json,
        params: None,
        keygen: None,
        prove: prove_span,
        verify_wall_ms_median: median(walls),
        verify_cpu_ms_mean: cpu / reps as f64,
        verify_reps: reps,
        proof_bytes: proof.len(),
        vk_bytes: None,
        peak_rss_mib: peak,
        user_assets: None,
    }
}

/// The batch case: `shape.users()` users of `ints`.
pub(super) fn measure_batch(
    label: &str,
    b: &StarkBatch,
    reps: usize,
    cal: Option<&Calibration>,
    cores: usize,
) -> Measure {
    let shape = b.shape;
    let sec = security(&shape, &BATCH_PARAMS).unwrap_or_else(|e| die(e));
    let cells = batch_trace_cells(&shape);
    let cols = cells >> shape.log_height;
    let mut m = measure(
        StarkCase::<BatchPublic, _, _> {
            label,
            size: format!(
                "2^{} rows × {cols} columns ({} users, the last row the sum commitment); {}",
                shape.log_height,
                shape.users(),
                security_text(&sec)
            ),
            size_json: json!({
                "log_height": shape.log_height, "columns": cols, "users": shape.users(),
                "conjectured_bits": sec.conjectured_bits, "proven_bits": sec.proven_bits,
            }),
            cells,
            prove: || prove_batch(b).map_err(|e| e.to_string()),
            verify: |proof: &[u8], public: &BatchPublic| {
                verify_batch(&shape, proof, public).map_err(|e| e.to_string())
            },
            _public: std::marker::PhantomData,
        },
        reps,
        cal,
        cores,
    );
    m.user_assets = Some(shape.users() * shape.assets);
    m
}

/// Checks that the STARK batch's sums are the integer sums of its users' balances.
pub(super) fn check_batch(label: &str, b: &StarkBatch, ints: &BatchInts) {
    let st = batch_statement(b).unwrap_or_else(|e| die(format!("{label}: STARK statement: {e}")));
    let n = b.shape.users();
    for (a, s) in st.sums.iter().enumerate() {
        let want: u128 = ints.balances[..n].iter().map(|u| u[a]).sum();
        if *s != want {
            die(format!(
                "{label}: the STARK's sum of asset {a} is {s}, the integers' {want}"
            ));
        }
    }
}

/// The aggregation case; its totals checked against the integers first.
pub(super) fn measure_aggregation(
    label: &str,
    w: &AggWitness,
    ints: &AggInts,
    reps: usize,
    cal: Option<&Calibration>,
    cores: usize,
) -> Measure {
    let st = aggregate_statement(w).unwrap_or_else(|e| die(format!("{label}: STARK: {e}")));
    for (a, s) in st.sums.iter().enumerate() {
        let want: u128 = ints.sums.iter().map(|c| c[a]).sum();
        if *s != want {
            die(format!(
                "{label}: the STARK's total of asset {a} is {s}, the integers' {want}"
            ));
        }
    }
    println!("  STARK totals are the integers' totals");
    let shape = w.shape;
    let sec = aggregation_security(&shape, &AGG_PARAMS).unwrap_or_else(|e| die(e));
    let cells = aggregation_trace_cells(&shape);
    let cols = cells >> shape.log_height;
    measure(
        StarkCase::<AggPublic, _, _> {
            label,
            size: format!(
                "2^{} rows × {cols} columns ({} batch children); {}",
                shape.log_height,
                shape.children,
                security_text(&sec)
            ),
            size_json: json!({
                "log_height": shape.log_height, "columns": cols, "children": shape.children,
                "child_kind": "batch",
                "conjectured_bits": sec.conjectured_bits, "proven_bits": sec.proven_bits,
            }),
            cells,
            prove: || prove_aggregation(w).map_err(|e| e.to_string()),
            verify: |proof: &[u8], public: &AggPublic| {
                verify_aggregation(&shape, proof, public).map_err(|e| e.to_string())
            },
            _public: std::marker::PhantomData,
        },
        reps,
        cal,
        cores,
    )
}

/// The KYC case; its public values checked against the context first.
pub(super) fn measure_kyc(
    label: &str,
    seed: u64,
    reps: usize,
    cal: Option<&Calibration>,
    cores: usize,
) -> Measure {
    let (w, ctx) = kyc(seed);
    let public = kyc_statement(&w, &ctx)
        .unwrap_or_else(|e| die(format!("{label}: STARK KYC statement is false: {e:?}")));
    if public.today != ctx.today {
        die(format!("{label}: STARK KYC: today differs"));
    }
    let (rows, cols, perms) = kyc_trace_shape();
    let sec = kyc_security(&STARK_PARAMS).unwrap_or_else(|e| die(e));
    measure(
        StarkCase::<KycStarkPublic, _, _> {
            label,
            size: format!(
                "{rows} rows × {cols} columns ({perms} permutations); {}",
                security_text(&sec)
            ),
            size_json: json!({
                "rows": rows, "columns": cols, "permutations": perms,
                "conjectured_bits": sec.conjectured_bits, "proven_bits": sec.proven_bits,
            }),
            cells: rows * cols,
            prove: || prove_kyc(&w, &ctx).map_err(|e| e.to_string()),
            verify: |proof: &[u8], public: &KycStarkPublic| {
                verify_kyc(proof, public).map_err(|e| e.to_string())
            },
            _public: std::marker::PhantomData,
        },
        reps,
        cal,
        cores,
    )
}

/// A small STARK batch (127 users, K = 4), proven now: the basis of the STARK estimates
/// `(trace cells, prove CPU seconds, peak RSS above the baseline in MiB)`.
pub(super) fn calibrate(base_rss: f64) -> (f64, f64, f64) {
    let shape = BatchShape::new(4, MIN_LOG_HEIGHT).unwrap_or_else(|e| die(e));
    let ints = super::batch_ints(99, shape.users(), 4, 64);
    let b = batch(&ints, shape, 99);
    let m = measure_batch("calibration", &b, 1, None, 1);
    (
        batch_trace_cells(&shape) as f64,
        m.prove.cpu,
        (m.peak_rss_mib.unwrap_or(base_rss) - base_rss).max(1.0),
    )
}

fn estimate(cal: Option<&Calibration>, cells: usize, cores: usize) {
    if let Some((c_cells, c_prove, c_rss)) = cal.and_then(|c| c.stark) {
        let r = super::nlogn(cells as f64, c_cells);
        println!(
            "  estimate STARK ({cells} trace cells, scaled n·log n from a {c_cells:.0}-cell \
             measurement of this run; rough): prove ≈ {} CPU (wall ≥ CPU / {cores} cores), \
             peak RSS ≈ {:.0} MiB",
            fmt_secs(c_prove * r),
            cal.map_or(0.0, |c| c.base_rss) + c_rss * (cells as f64 / c_cells)
        );
    }
}

/// Why the STARK column is empty at a balance width other than 64 (its batch AIR range-checks
/// exactly 64 bits).
pub(super) fn width_note(width: usize) -> Option<String> {
    (width != 64).then(|| {
        format!("STARK: not measured at w = {width} (its batch AIR range-checks w = 64 only)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_limbs_add_up_and_stay_in_bounds() {
        for users in [1usize, 127, 16_383] {
            let max = users as u128 * u128::from(u64::MAX);
            for sum in [0, 1, 0xffff, u128::from(u64::MAX), max / 3, max - 1, max] {
                let l = batch_limbs(sum, users).expect("holdable");
                let back: u128 = l
                    .iter()
                    .enumerate()
                    .map(|(i, x)| u128::from(*x) << (16 * i))
                    .sum();
                assert_eq!(back, sum);
                assert!(l.iter().all(|x| u128::from(*x) <= users as u128 * 0xffff));
            }
            assert_eq!(batch_limbs(max + 1, users), None);
        }
    }
}
