//! Proving and verification cost of the KYC statement on the STARK backend (feature `stark`).
//!
//! `cargo run --release -p assay-circuits --features stark-parallel --example stark_kyc [RUNS]`
//!
//! Builds a sanctions policy and a registry, proves one presentation once to warm up, then
//! `RUNS` times (default 10), and prints the trace shape, the proof size, and the minimum and
//! median prove and verify wall times. On a shared machine the figures are upper bounds.

use std::time::Instant;

use assay_circuits::kyc::jurisdiction::Jurisdiction;
use assay_circuits::kyc::stark::{
    challenge_digest, credential, exact_key, holder_commitment, kyc_security, kyc_trace_shape,
    prove_kyc, scope_digest, secret_from_bytes, verify_kyc, whole_key, KycStarkContext,
    KycStarkWitness, StarkPolicyTree, StarkRegistry,
};
use assay_circuits::solvency::stark::STARK_PARAMS;

fn j(code: &str) -> Jurisdiction {
    Jurisdiction::parse(code).expect("a valid code")
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10)
        .max(1);
    let policy = StarkPolicyTree::from_jurisdictions(
        &["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"].map(j),
    )
    .expect("policy");
    let today = 20_415;
    let expiry = 20_800;
    let serial = 1_000;
    let sk = secret_from_bytes(&[0x5e; 31]);
    let jur = j("UA-30").packed();
    // A registry of 1,024 credentials; ours at `serial`.
    let leaves = (0..1_024u64)
        .map(|i| {
            let other = secret_from_bytes(&[(i % 251) as u8 + 1; 31]);
            let (s, jj) = if i == serial {
                (sk, jur)
            } else {
                (other, j("FR").packed())
            };
            credential(&holder_commitment(&s), jj, expiry, i)
        })
        .collect();
    let registry = StarkRegistry::new(leaves);
    let witness = KycStarkWitness {
        sk,
        jurisdiction: jur,
        expiry_day: expiry,
        serial,
        registry_path: registry.path(serial),
        exact: policy.non_membership(exact_key(jur)).expect("allowed"),
        whole: policy.non_membership(whole_key(jur)).expect("allowed"),
    };
    let ctx = KycStarkContext {
        today,
        scope: scope_digest("bank-a").expect("scope"),
        challenge: challenge_digest(&[7; 31]),
    };
    let (rows, cols, perms) = kyc_trace_shape();
    let sec = kyc_security(&STARK_PARAMS).expect("security");
    println!(
        "threads: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "trace: {rows} rows x {cols} columns, {perms} statement permutations; \
         {} conjectured bits ({} proven)",
        sec.conjectured_bits, sec.proven_bits
    );
    let (bytes, public) = prove_kyc(&witness, &ctx).expect("prove");
    verify_kyc(&bytes, &public).expect("verify");
    let (mut prove_ms, mut verify_ms) = (Vec::new(), Vec::new());
    let mut size = bytes.len();
    for _ in 0..runs {
        let t = Instant::now();
        let (bytes, public) = prove_kyc(&witness, &ctx).expect("prove");
        prove_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        verify_kyc(&bytes, &public).expect("verify");
        verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
        size = size.max(bytes.len());
    }
    let (pmin, pmed) = stats(prove_ms);
    let (vmin, vmed) = stats(verify_ms);
    println!(
        "{runs} runs: prove {pmin:.1} ms min / {pmed:.1} ms median, verify {vmin:.2} ms min / \
         {vmed:.2} ms median, proof {size} bytes (largest)"
    );
}
