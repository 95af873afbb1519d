//! Shared helpers of the integration tests: small rounds proven once per test binary.
#![allow(dead_code)]

use assay_prover::solvency::{self, ProveOptions};
use ed25519_dalek::SigningKey;
use std::{
    fs,
    path::{Path, PathBuf},
};

/// A fixed test key (tests only; never a real publication key).
pub fn test_signer() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// Writes a small round's inputs into `dir`: `users` customers, two assets, B = 4, F = 2.
pub fn write_inputs(dir: &Path, users: usize, batch_size: usize) -> (PathBuf, PathBuf) {
    fs::create_dir_all(dir).unwrap();
    let mut csv = String::from("user_id,USD,BTC\n");
    for i in 0..users {
        csv.push_str(&format!(
            "user-{i},{}.{:02},0.{:08}\n",
            i * 3,
            i % 100,
            i * 1000 + 1
        ));
    }
    let balances = dir.join("balances.csv");
    fs::write(&balances, csv).unwrap();
    let config = dir.join("round.json");
    fs::write(
        &config,
        format!(
            r#"{{"version":1,"round_id":"test-round","balance_bits":32,"batch_size":{batch_size},"fan_in":2,
               "assets":[{{"symbol":"USD","decimals":2,"reserves":"1000000"}},
                         {{"symbol":"BTC","decimals":8,"reserves":"21"}}],
               "previous_round":null}}"#
        ),
    )
    .unwrap();
    (balances, config)
}

/// Proves a whole round into `dir/out` with keys in `keys`.
pub fn prove_round(dir: &Path, keys: &Path, users: usize) -> PathBuf {
    prove_round_with(dir, keys, users, solvency::BackendChoice::Groth16)
}

/// Proves a whole round into `dir/out` with `backend`; keys (Groth16) or IPA parameters
/// (Halo2) in `keys`.
pub fn prove_round_with(
    dir: &Path,
    keys: &Path,
    users: usize,
    backend: solvency::BackendChoice,
) -> PathBuf {
    let (balances, config) = write_inputs(dir, users, 4);
    let out = dir.join("out");
    solvency::prove(
        &ProveOptions {
            balances,
            config,
            out: out.clone(),
            keys: keys.to_path_buf(),
            shard: None,
            resume: false,
            progress: false,
            backend,
            budget: solvency::budget::Budget::default(),
        },
        Some(&test_signer()),
    )
    .unwrap();
    out
}
