//! Groth16 keys of the KYC circuit, generated locally and named by the hash of the verifying
//! key (`kyc-<vk_hash>.pk` / `.vk`). Whoever knows the setup's randomness can forge proofs:
//! it is drawn from the operating system and dropped as soon as the keys exist.

use super::KycError;
use ark_bn254::Bn254;
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use assay_circuits::kyc::constraints::KycCircuit;
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// An RNG for arkworks (rand 0.8 world) seeded from the operating system.
///
/// # Errors
/// [`KycError::Random`].
pub fn os_seeded_rng() -> Result<rand_chacha::ChaCha20Rng, KycError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KycError::Random(e.to_string()))?;
    Ok(rand_chacha::ChaCha20Rng::from_seed(seed))
}

/// The compressed bytes of a verifying key and their SHA-256 (hex).
pub fn vk_bytes_and_hash(vk: &VerifyingKey<Bn254>) -> (Vec<u8>, String) {
    let mut b = Vec::new();
    // Serializing into a Vec cannot fail.
    let _ = vk.serialize_compressed(&mut b);
    let h = assay_verifier::kyc::formats::sha256_hex(&b);
    (b, h)
}

fn pk_path(dir: &Path, vk_hash: &str) -> PathBuf {
    dir.join(format!("kyc-{vk_hash}.pk"))
}

/// Runs the setup with fresh OS randomness and writes `kyc-<hash>.pk` and `.vk` into `dir`.
/// Returns the verifying key.
///
/// # Errors
/// I/O, randomness or synthesis errors.
pub fn generate(dir: &Path) -> Result<VerifyingKey<Bn254>, KycError> {
    // The RNG lives only inside this block: the setup's randomness goes with it.
    let (pk, vk) = {
        let mut rng = os_seeded_rng()?;
        Groth16::<Bn254>::circuit_specific_setup(KycCircuit::blank(), &mut rng)
            .map_err(|e| KycError::Proving(e.to_string()))?
    };
    std::fs::create_dir_all(dir).map_err(|e| KycError::io(dir, e))?;
    let (vkb, hash) = vk_bytes_and_hash(&vk);
    let mut pkb = Vec::new();
    pk.serialize_uncompressed(&mut pkb)
        .map_err(|e| KycError::Proving(e.to_string()))?;
    super::write_file(&pk_path(dir, &hash), &pkb)?;
    super::write_file(&dir.join(format!("kyc-{hash}.vk")), &vkb)?;
    Ok(vk)
}

/// Loads the proving key named by `vk_hash` from `dir`, checking that it matches the hash.
///
/// # Errors
/// [`KycError::Input`] if it is missing, unreadable or does not match.
pub fn load_proving_key(dir: &Path, vk_hash: &str) -> Result<ProvingKey<Bn254>, KycError> {
    if vk_hash.len() != 64 || !vk_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KycError::Input(format!("`{vk_hash}` is not a key hash")));
    }
    let path = pk_path(dir, vk_hash);
    let bytes = std::fs::read(&path).map_err(|e| KycError::io(&path, e))?;
    // The proving key is the holder's own local file: read unchecked for speed, then
    // compare its verifying key with the issuer's published hash.
    let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&bytes[..])
        .map_err(|e| KycError::Input(format!("{}: not a proving key: {e}", path.display())))?;
    if vk_bytes_and_hash(&pk.vk).1 != vk_hash {
        return Err(KycError::Input(format!(
            "{}: its verifying key does not hash to {vk_hash}",
            path.display()
        )));
    }
    Ok(pk)
}
