//! Groth16 keys per circuit shape, made by a setup party and named by the hash of the
//! verifying key.
//!
//! Layout of a keys folder:
//! * `manifest.json`: the signed key manifest ([`assay_verifier::groth16::KeyManifest`]: shape
//!   name → verifying-key hash, the setup party's key), the file verifiers pin;
//! * `index.json`: shape name (`solvency-batch-K4-w64-B1024`) → verifying-key hash;
//! * `<hash>.vk`: the verifying key (hex of its compressed bytes, as in bundles);
//! * `<hash>.pk`: the proving key (arkworks uncompressed bytes);
//! * `<hash>.r1cs`: the circuit's R1CS matrices, for provers (solvency circuits; a cache
//!   checked against its hash and its key, see [`crate::groth16::lean`]).
//!
//! Keys are made only by [`setup`] (`assay solvency setup`, `assay kyc setup`), with fresh OS
//! randomness whose trapdoor is dropped at once; whoever runs the setup could forge proofs
//! (Groth16's circuit-specific setup): see `docs/solvency.md`. A prover never makes keys: a
//! missing shape is an error. Shards of one round must use the same keys folder (copy it).

use crate::{fsutil, groth16::lean::R1csMatrices, ProverError};
use ark_bn254::Bn254;
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use assay_circuits::{
    solvency::{
        constraints::{AggregateCircuit, BatchCircuit},
        Shape,
    },
    Fr,
};
use assay_verifier::groth16::manifest::{
    KeyManifest, ShapeKind, SolvencyShape, TrustedManifest, KYC_SHAPE, MANIFEST_DOMAIN,
    MANIFEST_VERSION,
};
use assay_verifier::Backend;
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

    /// The key pair for `shape`, loaded from the folder. Keys are never made here.
    ///
    /// # Errors
    /// [`ProverError::MissingKey`] if the folder has no key for `shape` (run the setup); I/O
    /// errors, a corrupt key file.
    pub fn get(&self, shape: &str) -> Result<Arc<KeyPair>, ProverError> {
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| ProverError::Proving("key cache poisoned".into()))?;
        if let Some(k) = loaded.get(shape) {
            return Ok(k.clone());
        }
        let index = self.index()?;
        let hash = index.get(shape).ok_or_else(|| ProverError::MissingKey {
            dir: self.dir.clone(),
            shape: shape.to_string(),
        })?;
        let pair = Arc::new(self.load(hash)?);
        loaded.insert(shape.to_string(), pair.clone());
        Ok(pair)
    }

    /// Adds `shape → hash` to the folder's `index.json`.
    pub(crate) fn index_insert(&self, shape: &str, hash: &str) -> Result<(), ProverError> {
        let mut index = self.index()?;
        index.insert(shape.to_string(), hash.to_string());
        fsutil::write_json(&self.dir.join("index.json"), &index)
    }

    /// The folder's signed key manifest (`manifest.json`), checked ([`KeyManifest::open`]).
    ///
    /// # Errors
    /// [`ProverError::MissingWork`] if there is none (run the setup), [`ProverError::Format`]
    /// if it does not parse or its signature fails.
    pub fn manifest(&self) -> Result<TrustedManifest, ProverError> {
        let p = self.dir.join(MANIFEST_FILE);
        if !p.exists() {
            return Err(ProverError::MissingWork {
                path: p,
                what:
                    "the keys folder's signed manifest: make the keys with `assay solvency setup`"
                        .into(),
            });
        }
        KeyManifest::open(&fsutil::read(&p)?, "key manifest").map_err(|e| ProverError::Format {
            file: p.display().to_string(),
            source: match e {
                assay_verifier::VerifyError::Format(f) => f,
                other => assay_verifier::FormatError::field("signature", other.to_string()),
            },
        })
    }

    /// Runs the setup of one circuit (`blank`: the circuit without witness) with fresh OS
    /// randomness, saves the key pair and returns its verifying key's hash.
    pub(crate) fn generate<C: ConstraintSynthesizer<Fr>>(
        &self,
        shape: &str,
        blank: C,
    ) -> Result<String, ProverError> {
        let mut rng = crate::kyc::keys::os_seeded_rng()
            .map_err(|e| ProverError::Proving(format!("setup of {shape}: {e}")))?;
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank, &mut rng)
            .map_err(|e| ProverError::Proving(format!("setup of {shape}: {e}")))?;
        Ok(self.save(pk, &vk)?.vk_hash)
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

    /// The sizes on disk of the proving key and the matrices file of the circuit named
    /// `shape`, if the folder has both (for the memory budget; nothing is read or checked).
    pub(crate) fn key_file_sizes(&self, shape: &str) -> Option<(u64, u64)> {
        let hash = self.index().ok()?.get(shape)?.clone();
        let len = |p: PathBuf| std::fs::metadata(p).ok().map(|m| m.len());
        Some((
            len(self.dir.join(format!("{hash}.pk")))?,
            len(self.matrices_path(&hash))?,
        ))
    }

    /// Writes the R1CS matrices of `blank` (the circuit of verifying key `hash`, shape
    /// `shape`) to `<hash>.r1cs`.
    pub(crate) fn write_matrices<C: ConstraintSynthesizer<Fr>>(
        &self,
        shape: &str,
        hash: &str,
        blank: C,
    ) -> Result<(), ProverError> {
        let bytes = R1csMatrices::of(blank)
            .and_then(|m| m.to_file_bytes(hash))
            .map_err(|e| ProverError::Proving(format!("matrices of {shape}: {e}")))?;
        fsutil::write_atomic(&self.matrices_path(hash), &bytes)
    }

    /// The file of the R1CS matrices of the circuit whose verifying key is `hash`.
    pub fn matrices_path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.{MATRICES_EXTENSION}"))
    }

    /// The R1CS matrices the setup wrote for the circuit whose verifying key is `hash`, or
    /// `None` if the folder has none for it (a setup made before they were written).
    ///
    /// # Errors
    /// A matrices file that cannot be read, is damaged or belongs to another key: it is
    /// refused, naming the file (delete it to prove without it).
    pub fn matrices(&self, hash: &str) -> Result<Option<R1csMatrices>, ProverError> {
        let path = self.matrices_path(hash);
        if !path.exists() {
            return Ok(None);
        }
        let file = std::fs::File::open(&path).map_err(|e| ProverError::io(&path, e))?;
        R1csMatrices::read_file(std::io::BufReader::with_capacity(1 << 20, file), hash)
            .map(Some)
            .map_err(|e| {
                corrupt(
                    &path,
                    format!("{e} (a cache written by the setup: delete it to prove without it)"),
                )
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

/// The extension of a circuit's R1CS matrices file in a keys folder (`<hash>.r1cs`).
pub const MATRICES_EXTENSION: &str = "r1cs";

/// The name of the signed manifest in a keys folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What [`setup`] makes keys for.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetupScope {
    /// Every circuit a round of this shape can need ([`SolvencyShape::kinds`]).
    pub solvency: Option<SolvencyShape>,
    /// The KYC presentation circuit.
    pub kyc: bool,
}

/// The setup party's run: makes the Groth16 keys of every circuit in `scope` into `dir`
/// (fresh OS randomness per circuit, dropped at once), writes `index.json` and the manifest
/// `manifest.json` signed with `signer` (the setup party's key), and returns the manifest.
/// `created` is the time recorded (RFC 3339).
///
/// # Errors
/// [`ProverError::File`] if `dir` already holds a manifest (a setup is never redone in
/// place) or the scope is empty; I/O and setup failures.
pub fn setup(
    dir: &Path,
    scope: SetupScope,
    signer: &ed25519_dalek::SigningKey,
    created: String,
) -> Result<KeyManifest, ProverError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if manifest_path.exists() {
        return Err(ProverError::File {
            file: manifest_path.display().to_string(),
            message: "this keys folder already holds a setup; choose a new --out".into(),
        });
    }
    if scope.solvency.is_none() && !scope.kyc {
        return Err(ProverError::File {
            file: dir.display().to_string(),
            message: "nothing to set up".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| ProverError::io(dir, e))?;
    let cache = KeyCache::new(dir);
    let mut keys = BTreeMap::new();
    if let Some(s) = scope.solvency {
        let shape = Shape {
            num_assets: s.num_assets,
            balance_bits: s.balance_bits,
        };
        for kind in s.kinds() {
            let name = s.name(kind);
            // Each circuit's matrices go beside its keys (`<hash>.r1cs`): a prover reads them
            // instead of synthesizing the whole circuit symbolically (its peak memory).
            let hash = match kind {
                ShapeKind::Batch { batch_size } => {
                    let blank = BatchCircuit {
                        shape,
                        batch_size,
                        public: None,
                        witness: None,
                    };
                    let hash = cache.generate(&name, blank.clone())?;
                    cache.write_matrices(&name, &hash, blank)?;
                    hash
                }
                ShapeKind::Aggregation { fan_in, top } => {
                    let blank = AggregateCircuit {
                        shape,
                        fan_in,
                        top,
                        public: None,
                        witness: None,
                    };
                    let hash = cache.generate(&name, blank.clone())?;
                    cache.write_matrices(&name, &hash, blank)?;
                    hash
                }
            };
            keys.insert(name, hash);
        }
    }
    if scope.kyc {
        let hash = cache.generate(
            KYC_SHAPE,
            assay_circuits::kyc::constraints::KycCircuit::blank(),
        )?;
        keys.insert(KYC_SHAPE.to_string(), hash);
    }
    fsutil::write_json(&dir.join("index.json"), &keys)?;
    let mut m = KeyManifest {
        version: MANIFEST_VERSION,
        backend: Backend::Groth16.name().into(),
        solvency: scope.solvency,
        keys,
        setup_key: hex::encode(signer.verifying_key().to_bytes()),
        created,
        signature: String::new(),
    };
    let msg = assay_verifier::signing::message(MANIFEST_DOMAIN, &m.signed_body());
    m.signature = hex::encode(ed25519_dalek::Signer::sign(signer, &msg).to_bytes());
    fsutil::write_json(&manifest_path, &m)?;
    Ok(m)
}

/// A cached key file that does not parse or does not match its name.
fn corrupt(file: &Path, message: String) -> ProverError {
    ProverError::Corrupt {
        file: file.to_path_buf(),
        message,
    }
}
