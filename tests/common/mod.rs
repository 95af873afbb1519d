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

/// A fixed setup party's key (tests only).
pub fn test_setup_signer() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

/// Runs the setup party's step for the round shape of `config` into `keys` (Groth16 keys and
/// the signed manifest), unless `keys` already holds a setup. Returns the manifest's path.
pub fn setup_keys(keys: &Path, config: &Path) -> PathBuf {
    setup_keys_with(keys, config, &test_setup_signer())
}

/// [`setup_keys`] signed by `signer` (a second, independent setup in the substitute-key tests).
pub fn setup_keys_with(keys: &Path, config: &Path, signer: &SigningKey) -> PathBuf {
    let manifest = keys.join(assay_prover::keys::MANIFEST_FILE);
    if manifest.exists() {
        return manifest;
    }
    let cfg =
        assay_verifier::solvency::RoundConfig::parse(&fs::read(config).unwrap(), "config").unwrap();
    assay_prover::keys::setup(
        keys,
        assay_prover::keys::SetupScope {
            solvency: Some(assay_verifier::groth16::manifest::SolvencyShape {
                num_assets: cfg.assets.len(),
                balance_bits: cfg.balance_bits,
                batch_size: cfg.batch_size,
                fan_in: cfg.fan_in,
            }),
            kyc: false,
        },
        signer,
        "2026-12-01T00:00:00Z".into(),
    )
    .unwrap();
    manifest
}

/// The checked manifest of a keys folder.
pub fn manifest(keys: &Path) -> assay_verifier::groth16::TrustedManifest {
    let p = keys.join(assay_prover::keys::MANIFEST_FILE);
    assay_verifier::groth16::KeyManifest::open(&fs::read(&p).unwrap(), "manifest").unwrap()
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
    if matches!(backend, solvency::BackendChoice::Groth16) {
        setup_keys(keys, &config);
    }
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
