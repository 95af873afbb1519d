//! Groth16 keys per circuit shape, cached on disk and named by the hash of the verifying key.
//!
//! Layout of a keys folder:
//! * `index.json`: shape name (`solvency-batch-K4-w64-B1024`) → verifying-key hash;
//! * `<hash>.vk`: the verifying key (hex of its compressed bytes, as in bundles);
//! * `<hash>.pk`: the proving key (arkworks uncompressed bytes).
//!
//! A missing key is generated with fresh OS randomness, whose trapdoor is dropped at once;
//! whoever runs the setup could forge proofs (Groth16's circuit-specific setup): see
//! `docs/solvency.md`. Shards of one round must use the same keys folder (copy it).

use crate::{fsutil, ProverError};
use ark_bn254::Bn254;
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use assay_circuits::Fr;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

/// A loaded key pair.
pub struct KeyPair {
    /// The proving key.
    pub pk: ProvingKey<Bn254>,
    /// The verifying key's hex (as it goes into bundles).
    pub vk_hex: String,
    /// Its hash, the key's name.
    pub vk_hash: String,
}

/// A folder of keys, with an in-memory cache of what was loaded.
pub struct KeyCache {
    dir: PathBuf,
    loaded: Mutex<BTreeMap<String, Arc<KeyPair>>>,
}

impl KeyCache {
    /// A cache over `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            loaded: Mutex::new(BTreeMap::new()),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn index(&self) -> Result<BTreeMap<String, String>, ProverError> {
        let p = self.dir.join("index.json");
        if !p.exists() {
            return Ok(BTreeMap::new());
        }
        serde_json::from_slice(&fsutil::read(&p)?).map_err(|e| ProverError::Format {
            file: p.display().to_string(),
            source: assay_verifier::FormatError::Json {
                what: "keys index".into(),
                message: e.to_string(),
            },
        })
    }

    /// The key pair for `shape`, loaded from disk or generated from `blank` (the circuit
    /// without witness) and saved.
    ///
    /// # Errors
    /// I/O errors, a corrupt key file, or a failed setup.
    pub fn get<C: ConstraintSynthesizer<Fr>>(
        &self,
        shape: &str,
        blank: impl FnOnce() -> C,
    ) -> Result<Arc<KeyPair>, ProverError> {
        // One key generation at a time: two threads must not set up the same shape twice.
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| ProverError::Proving("key cache poisoned".into()))?;
        if let Some(k) = loaded.get(shape) {
            return Ok(k.clone());
        }
        let mut index = self.index()?;
        let pair = match index.get(shape) {
            Some(hash) => self.load(hash)?,
            None => {
                let mut rng = rand::rngs::OsRng;
                let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank(), &mut rng)
                    .map_err(|e| ProverError::Proving(format!("setup of {shape}: {e}")))?;
                let pair = self.save(pk, &vk)?;
                index.insert(shape.to_string(), pair.vk_hash.clone());
                fsutil::write_json(&self.dir.join("index.json"), &index)?;
                pair
            }
        };
        let pair = Arc::new(pair);
        loaded.insert(shape.to_string(), pair.clone());
        Ok(pair)
    }

    fn save(
        &self,
        pk: ProvingKey<Bn254>,
        vk: &VerifyingKey<Bn254>,
    ) -> Result<KeyPair, ProverError> {
        let vk_hex = assay_verifier::groth16::encode_vk(vk);
        let vk_hash = assay_verifier::groth16::vk_hash_of_hex(&vk_hex)
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        let mut bytes = Vec::new();
        pk.serialize_uncompressed(&mut bytes)
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        fsutil::write_atomic(&self.dir.join(format!("{vk_hash}.pk")), &bytes)?;
        fsutil::write_atomic(&self.dir.join(format!("{vk_hash}.vk")), vk_hex.as_bytes())?;
        Ok(KeyPair {
            pk,
            vk_hex,
            vk_hash,
        })
    }

    /// The key pair named `hash` (its verifying key checked against the name and the proving
    /// key's), without consulting the index.
    ///
    /// # Errors
    /// A missing or corrupt key file.
    pub fn load(&self, hash: &str) -> Result<KeyPair, ProverError> {
        let vk_path = self.dir.join(format!("{hash}.vk"));
        let vk_hex = String::from_utf8(fsutil::read(&vk_path)?)
            .map_err(|_| corrupt(&vk_path, "not text".into()))?;
        let actual = assay_verifier::groth16::vk_hash_of_hex(vk_hex.trim())
            .map_err(|e| corrupt(&vk_path, e.to_string()))?;
        if actual != hash {
            return Err(corrupt(
                &vk_path,
                format!("hashes to {actual}, not to its name"),
            ));
        }
        let pk_path = self.dir.join(format!("{hash}.pk"));
        let bytes = fsutil::read(&pk_path)?;
        // Our own cache: points were validated when generated; a corrupted file only makes
        // proofs that fail verification, which the prover checks.
        let pk = ProvingKey::<Bn254>::deserialize_with_mode(
            bytes.as_slice(),
            Compress::No,
            Validate::No,
        )
        .map_err(|e| corrupt(&pk_path, e.to_string()))?;
        let vk_of_pk = assay_verifier::groth16::encode_vk(&pk.vk);
        if vk_of_pk != vk_hex.trim() {
            return Err(corrupt(
                &pk_path,
                format!("does not belong to verifying key {hash}"),
            ));
        }
        Ok(KeyPair {
            pk,
            vk_hex: vk_hex.trim().to_string(),
            vk_hash: hash.to_string(),
        })
    }
}

/// A cached key file that does not parse or does not match its name.
fn corrupt(file: &Path, message: String) -> ProverError {
    ProverError::Corrupt {
        file: file.to_path_buf(),
        message,
    }
}
