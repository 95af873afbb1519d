//! Groth16 keys of the KYC circuit, generated locally, in the layout of the solvency key
//! cache ([`crate::keys::KeyCache`]): `index.json` maps the shape [`KYC_SHAPE`] to the hash
//! of the verifying key, `<hash>.vk` holds the verifying key (hex of its compressed bytes)
//! and `<hash>.pk` the proving key. Keys folders of the earlier KYC layout (`kyc-<hash>.pk`,
//! `kyc-<hash>.vk`) are still read. Whoever knows the setup's randomness can forge proofs:
//! it is drawn from the operating system and dropped as soon as the keys exist.

use super::KycError;
use crate::keys::KeyCache;
use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use assay_circuits::kyc::constraints::KycCircuit;
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// The shape name of the KYC circuit's keys in a keys folder's `index.json`.
pub const KYC_SHAPE: &str = assay_verifier::groth16::manifest::KYC_SHAPE;

/// An RNG for arkworks (rand 0.8 world) seeded from the operating system.
///
/// # Errors
/// [`KycError::Random`].
pub fn os_seeded_rng() -> Result<rand_chacha::ChaCha20Rng, KycError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KycError::Random(e.to_string()))?;
    Ok(rand_chacha::ChaCha20Rng::from_seed(seed))
}

/// The compressed bytes of a verifying key and their SHA-256 (hex): the key's name.
pub fn vk_bytes_and_hash(vk: &VerifyingKey<Bn254>) -> (Vec<u8>, String) {
    let mut b = Vec::new();
    // Serializing into a Vec cannot fail.
    let _ = vk.serialize_compressed(&mut b);
    let h = assay_verifier::kyc::formats::sha256_hex(&b);
    (b, h)
}

/// The files of the keys named `vk_hash` in a keys folder: the proving key, the verifying key.
pub fn key_files(vk_hash: &str) -> [String; 2] {
    [format!("{vk_hash}.pk"), format!("{vk_hash}.vk")]
}

fn legacy_pk_path(dir: &Path, vk_hash: &str) -> PathBuf {
    dir.join(format!("kyc-{vk_hash}.pk"))
}

/// Runs the KYC circuit's setup with fresh OS randomness and writes the keys into `dir` (see
/// the module notes), unless `dir`'s index already names KYC keys, which are then loaded.
/// Returns the verifying key. Used by tests; the setup party's command is
/// [`crate::keys::setup`], which also signs a manifest.
///
/// # Errors
/// I/O, randomness or synthesis errors, a corrupt key file.
pub fn generate(dir: &Path) -> Result<VerifyingKey<Bn254>, KycError> {
    let err =
        |e: crate::ProverError| KycError::Proving(format!("KYC keys in {}: {e}", dir.display()));
    let cache = KeyCache::new(dir);
    match cache.get(KYC_SHAPE) {
        Ok(pair) => return Ok(pair.pk.vk.clone()),
        Err(crate::ProverError::MissingKey { .. }) => {}
        Err(e) => return Err(err(e)),
    }
    std::fs::create_dir_all(dir).map_err(|e| KycError::io(dir, e))?;
    let hash = cache
        .generate(KYC_SHAPE, KycCircuit::blank())
        .map_err(err)?;
    cache.index_insert(KYC_SHAPE, &hash).map_err(err)?;
    Ok(cache.load(&hash).map_err(err)?.pk.vk)
}

/// The hash of the only KYC proving key in `dir`: the one `index.json` names, else the only
/// `kyc-<hash>.pk` of the earlier layout.
///
/// # Errors
/// [`KycError::Input`] if there is none, or several of the earlier layout.
pub fn find_single(dir: &Path) -> Result<String, KycError> {
    let index = dir.join("index.json");
    if index.exists() {
        let text = std::fs::read(&index).map_err(|e| KycError::io(&index, e))?;
        let map: std::collections::BTreeMap<String, String> = serde_json::from_slice(&text)
            .map_err(|e| KycError::Input(format!("{}: {e}", index.display())))?;
        if let Some(h) = map.get(KYC_SHAPE) {
            return Ok(h.clone());
        }
    }
    let rd = std::fs::read_dir(dir).map_err(|e| KycError::io(dir, e))?;
    let mut found: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix("kyc-")
                .and_then(|n| n.strip_suffix(".pk"))
                .map(str::to_string)
        })
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(KycError::Input(format!(
            "{}: no KYC proving key (no `{KYC_SHAPE}` in index.json)",
            dir.display()
        ))),
        _ => Err(KycError::Input(format!(
            "{}: several proving keys; pass --issuer-key to pick the issuer's",
            dir.display()
        ))),
    }
}

/// Checks a proving key against the pinned verifying key (named by `pinned_vk_hash`) before
/// the holder proves with it: the key's embedded verifying key must hash to the pin, and the
/// proving key's `beta` and `delta` in G1 must match the verifying key's in G2
/// (`e(beta_1, delta_2) = e(delta_1, beta_2)`; the setup's generators are not published, so
/// this is the relation arkworks' keys allow checking), so a proving key whose G1 elements
/// belong to another setup or were swapped is refused.
///
/// # Errors
/// [`KycError::Input`] naming the mismatch.
pub fn check_proving_key(pk: &ProvingKey<Bn254>, pinned_vk_hash: &str) -> Result<(), KycError> {
    use ark_ec::pairing::Pairing;
    let (_, h) = vk_bytes_and_hash(&pk.vk);
    if h != pinned_vk_hash {
        return Err(KycError::Input(format!(
            "the proving key belongs to verifying key {h}, not to the pinned {pinned_vk_hash}"
        )));
    }
    // The setup's generators are random and not published, so the check is relative:
    // e(beta_1, delta_2) = e(g_1, g_2)^(beta delta) = e(delta_1, beta_2).
    if Bn254::pairing(pk.beta_g1, pk.vk.delta_g2) != Bn254::pairing(pk.delta_g1, pk.vk.beta_g2) {
        return Err(KycError::Input(
            "the proving key's beta and delta in G1 do not match the pinned verifying key's beta and delta in G2".into(),
        ));
    }
    Ok(())
}

/// Loads the proving key named by `vk_hash` from `dir` (either layout), checking that it
/// matches the hash ([`check_proving_key`]).
///
/// # Errors
/// [`KycError::Input`] if it is missing, unreadable or does not match.
pub fn load_proving_key(dir: &Path, vk_hash: &str) -> Result<ProvingKey<Bn254>, KycError> {
    if vk_hash.len() != 64 || !vk_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KycError::Input(format!("`{vk_hash}` is not a key hash")));
    }
    let legacy = legacy_pk_path(dir, vk_hash);
    let pk = if !dir.join(&key_files(vk_hash)[0]).exists() && legacy.exists() {
        let bytes = std::fs::read(&legacy).map_err(|e| KycError::io(&legacy, e))?;
        // The proving key is the holder's own local file: read unchecked for speed, then
        // compare its verifying key with the issuer's published hash.
        ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&bytes[..])
            .map_err(|e| KycError::Input(format!("{}: not a proving key: {e}", legacy.display())))?
    } else {
        KeyCache::new(dir)
            .load(vk_hash)
            .map_err(|e| KycError::Input(format!("{}: {e}", dir.display())))?
            .pk
    };
    check_proving_key(&pk, vk_hash)
        .map_err(|e| KycError::Input(format!("{}: {e}", dir.display())))?;
    Ok(pk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proving_key_is_checked_against_the_pinned_verifying_key() {
        let dir = tempfile::tempdir().unwrap();
        let vk = generate(dir.path()).unwrap();
        let hash = vk_bytes_and_hash(&vk).1;
        let pk = load_proving_key(dir.path(), &hash).unwrap();
        check_proving_key(&pk, &hash).unwrap();
        // Another pin: refused, naming both keys.
        let e = check_proving_key(&pk, &"ab".repeat(32))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&hash), "{e}");
        // A proving key whose G1 delta is not the verifying key's delta: refused by the pairing.
        let mut bad = pk.clone();
        bad.delta_g1 = bad.beta_g1;
        let e = check_proving_key(&bad, &hash).unwrap_err().to_string();
        assert!(e.contains("beta and delta"), "{e}");
        let mut bad = pk;
        bad.beta_g1 = bad.delta_g1;
        let e = check_proving_key(&bad, &hash).unwrap_err().to_string();
        assert!(e.contains("beta and delta"), "{e}");
    }
}
