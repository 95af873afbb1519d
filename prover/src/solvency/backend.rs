//! The proof systems a round can be proven with: one statement, two arithmetizations.
//!
//! The pipeline is written once over [`RoundBackend`]; a backend fixes the field (and hence the
//! hash) of the statement, makes the keys of each circuit, and proves one batch or aggregation.
//! * [`Groth16Backend`]: BN254, keys from a circuit-specific setup cached in the keys folder.
//! * [`Halo2Backend`]: IPA over Pasta, keys derived from the blank circuit and deterministic
//!   parameters cached in the keys folder; no setup to trust.

use crate::{keys::KeyCache, ProverError};
use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use assay_circuits::{
    field::to_decimal,
    solvency::{
        constraints::{AggregateCircuit, BatchCircuit},
        AggregateEvaluation, AggregateWitness, BatchEvaluation, BatchWitness, Shape,
    },
    Fr, StatementField,
};
use assay_verifier::solvency::{Halo2Circuits, ProofEntry, BACKEND_GROTH16};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;

/// Which circuit a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitKind {
    /// A batch of `B` leaves.
    Batch {
        /// `B`.
        batch_size: usize,
    },
    /// An aggregation over `fan_in` children (the top one takes the reserves).
    Aggregation {
        /// The children.
        fan_in: usize,
        /// Whether it is the top.
        top: bool,
    },
}

/// A proof system for solvency rounds.
pub trait RoundBackend: Sync {
    /// The statement's field (and hash).
    type F: StatementField;
    /// The keys of one circuit, shared by the threads proving it.
    type Key: Send + Sync;

    /// The backend's name in bundles.
    fn name(&self) -> &'static str;
    /// Loads or makes the keys of a circuit.
    ///
    /// # Errors
    /// Key generation or I/O.
    fn key(&self, shape: Shape, kind: CircuitKind) -> Result<Self::Key, ProverError>;
    /// The key's name (hash) and its value in the bundle's `verifying_keys`.
    fn key_entry(&self, key: &Self::Key) -> (String, String);
    /// Proves a batch, checks the proof, and returns its bundle entry.
    ///
    /// # Errors
    /// Proving failed, or the proof does not verify.
    fn prove_batch(
        &self,
        key: &Self::Key,
        shape: Shape,
        witness: &BatchWitness<Self::F>,
        eval: &BatchEvaluation<Self::F>,
        what: &str,
    ) -> Result<ProofEntry, ProverError>;
    /// Proves an aggregation, checks the proof, and returns its bundle entry.
    ///
    /// # Errors
    /// Proving failed, or the proof does not verify.
    fn prove_aggregate(
        &self,
        key: &Self::Key,
        shape: Shape,
        witness: &AggregateWitness<Self::F>,
        eval: &AggregateEvaluation<Self::F>,
        what: &str,
    ) -> Result<ProofEntry, ProverError>;
    /// Where the round's self-check reads IPA parameters (Halo2 only).
    #[cfg(feature = "halo2")]
    fn params_source(&self) -> Option<&dyn assay_verifier::halo2::ParamsSource> {
        None
    }
    /// The bundle's `halo2` section, for a round of `batches` batch proofs.
    fn halo2_section(
        &self,
        shape: Shape,
        config: &assay_verifier::solvency::RoundConfig,
        batches: usize,
    ) -> Option<Halo2Circuits>;
}

fn entry<F: StatementField>(key: &str, proof: String, inputs: &[F]) -> ProofEntry {
    ProofEntry {
        key: key.into(),
        proof,
        public_inputs: inputs.iter().map(to_decimal).collect(),
    }
}

/// Groth16 on BN254 with keys from the keys folder.
pub struct Groth16Backend {
    keys: KeyCache,
}

impl Groth16Backend {
    /// Keys are read from (or generated into) `keys`.
    pub fn new(keys: KeyCache) -> Self {
        Self { keys }
    }
}

/// A Groth16 key pair and the prepared verifying key of the self-check.
pub struct Groth16Key {
    pair: Arc<crate::keys::KeyPair>,
    check: assay_verifier::groth16::Key,
}

impl Groth16Backend {
    fn prove_checked<C: ark_relations::gr1cs::ConstraintSynthesizer<Fr>>(
        &self,
        key: &Groth16Key,
        circuit: C,
        inputs: &[Fr],
        what: &str,
    ) -> Result<ProofEntry, ProverError> {
        let mut rng = ChaCha20Rng::from_entropy();
        let proof = Groth16::<Bn254>::prove(&key.pair.pk, circuit, &mut rng)
            .map_err(|e| ProverError::Proving(format!("{what}: {e}")))?;
        key.check
            .verify(&proof, inputs, what)
            .map_err(|e| ProverError::Proving(format!("self-check failed: {e}")))?;
        Ok(entry(
            &key.pair.vk_hash,
            assay_verifier::groth16::encode_proof(&proof),
            inputs,
        ))
    }
}

impl RoundBackend for Groth16Backend {
    type F = Fr;
    type Key = Groth16Key;

    fn name(&self) -> &'static str {
        BACKEND_GROTH16
    }

    fn key(&self, shape: Shape, kind: CircuitKind) -> Result<Groth16Key, ProverError> {
        let pair = match kind {
            CircuitKind::Batch { batch_size } => {
                let name = format!(
                    "solvency-batch-K{}-w{}-B{batch_size}",
                    shape.num_assets, shape.balance_bits
                );
                self.keys.get(&name, || BatchCircuit {
                    shape,
                    batch_size,
                    public: None,
                    witness: None,
                })?
            }
            CircuitKind::Aggregation { fan_in, top } => {
                let name = format!(
                    "solvency-{}-K{}-w{}-f{fan_in}",
                    if top { "top" } else { "agg" },
                    shape.num_assets,
                    shape.balance_bits
                );
                self.keys.get(&name, || AggregateCircuit {
                    shape,
                    fan_in,
                    top,
                    public: None,
                    witness: None,
                })?
            }
        };
        let vk = assay_verifier::groth16::decode_vk(&pair.vk_hex, "verifying key")
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        Ok(Groth16Key {
            check: assay_verifier::groth16::Key::new(&vk),
            pair,
        })
    }

    fn key_entry(&self, key: &Groth16Key) -> (String, String) {
        (key.pair.vk_hash.clone(), key.pair.vk_hex.clone())
    }

    fn prove_batch(
        &self,
        key: &Groth16Key,
        shape: Shape,
        witness: &BatchWitness<Fr>,
        eval: &BatchEvaluation<Fr>,
        what: &str,
    ) -> Result<ProofEntry, ProverError> {
        let circuit = BatchCircuit {
            shape,
            batch_size: witness.leaves.len(),
            public: Some(eval.public),
            witness: Some(witness.clone()),
        };
        let inputs = eval.public.to_inputs();
        self.prove_checked(key, circuit, &inputs, what)
    }

    fn prove_aggregate(
        &self,
        key: &Groth16Key,
        shape: Shape,
        witness: &AggregateWitness<Fr>,
        eval: &AggregateEvaluation<Fr>,
        what: &str,
    ) -> Result<ProofEntry, ProverError> {
        let circuit = AggregateCircuit {
            shape,
            fan_in: witness.children.len(),
            top: witness.top.is_some(),
            public: Some(eval.public.clone()),
            witness: Some(witness.clone()),
        };
        let inputs = eval.public.to_inputs();
        self.prove_checked(key, circuit, &inputs, what)
    }

    fn halo2_section(
        &self,
        _shape: Shape,
        _config: &assay_verifier::solvency::RoundConfig,
        _batches: usize,
    ) -> Option<Halo2Circuits> {
        None
    }
}

/// Halo2 (IPA over Pasta) in one column layout, parameters cached in the keys folder.
#[cfg(feature = "halo2")]
pub struct Halo2Backend {
    layout: assay_circuits::solvency::halo2::Layout,
    params: crate::halo2::ParamsCache,
}

#[cfg(feature = "halo2")]
impl Halo2Backend {
    /// Circuits in `layout`; IPA parameters read from (or generated into) `params`.
    pub fn new(
        layout: assay_circuits::solvency::halo2::Layout,
        params: crate::halo2::ParamsCache,
    ) -> Self {
        Self { layout, params }
    }
}

/// The keys of one Halo2 circuit: its prover (parameters and proving key), the verifier of
/// the self-check, and the key's name and description.
#[cfg(feature = "halo2")]
pub struct Halo2Key {
    kind: CircuitKind,
    prover: crate::halo2::Halo2Prover,
    verifier: assay_verifier::halo2::Halo2Verifier,
    hash: String,
    description: String,
}

#[cfg(feature = "halo2")]
impl Halo2Backend {
    fn prove_checked<C: halo2_proofs::plonk::Circuit<assay_circuits::halo2::Fp>>(
        &self,
        key: &Halo2Key,
        circuit: C,
        inputs: &[assay_circuits::halo2::Fp],
        what: &str,
    ) -> Result<ProofEntry, ProverError> {
        let proof = key
            .prover
            .prove_os_rng(circuit, inputs)
            .map_err(|e| ProverError::Proving(format!("{what}: {e}")))?;
        key.verifier
            .verify(inputs, &proof)
            .map_err(|e| ProverError::Proving(format!("self-check of {what} failed: {e}")))?;
        Ok(entry(&key.hash, hex::encode(proof), inputs))
    }
}

#[cfg(feature = "halo2")]
impl RoundBackend for Halo2Backend {
    type F = assay_circuits::halo2::Fp;
    type Key = Halo2Key;

    fn name(&self) -> &'static str {
        assay_verifier::solvency::BACKEND_HALO2
    }

    fn key(&self, shape: Shape, kind: CircuitKind) -> Result<Halo2Key, ProverError> {
        use assay_circuits::solvency::halo2::{AggregateCircuit, BatchCircuit};
        use assay_verifier::halo2::{vk_hash, ParamsSource};
        let layout = self.layout;
        let (k, name, size) = match kind {
            CircuitKind::Batch { batch_size } => {
                (layout.batch_k(shape, batch_size), "batch", batch_size)
            }
            CircuitKind::Aggregation { fan_in, top } => (
                layout.aggregate_k(shape, fan_in, top),
                if top { "top" } else { "aggregation" },
                fan_in,
            ),
        };
        let params = self
            .params
            .params(k)
            .map_err(|e| ProverError::Proving(format!("IPA parameters (k = {k}): {e}")))?;
        let err =
            |e: String| ProverError::Proving(format!("halo2 keys of the {name} circuit: {e}"));
        let (prover, verifier) = assay_circuits::with_tuning!(layout, T => match kind {
            CircuitKind::Batch { batch_size } => {
                let blank = BatchCircuit::<T>::new(shape, batch_size, None);
                let p = crate::halo2::Halo2Prover::new(params, &blank, k, 3)
                    .map_err(|e| err(e.to_string()))?;
                let v = p.verifier(&blank).map_err(|e| err(e.to_string()))?;
                (p, v)
            }
            CircuitKind::Aggregation { fan_in, top } => {
                let blank = AggregateCircuit::<T>::new(shape, fan_in, top, None);
                let n = blank.num_public();
                let p = crate::halo2::Halo2Prover::new(params, &blank, k, n)
                    .map_err(|e| err(e.to_string()))?;
                let v = p.verifier(&blank).map_err(|e| err(e.to_string()))?;
                (p, v)
            }
        });
        Ok(Halo2Key {
            kind,
            hash: hex::encode(vk_hash(verifier.vk())),
            description: assay_verifier::solvency::halo2_key_description(
                layout, shape, name, size, k,
            ),
            prover,
            verifier,
        })
    }

    fn key_entry(&self, key: &Halo2Key) -> (String, String) {
        (key.hash.clone(), key.description.clone())
    }

    fn prove_batch(
        &self,
        key: &Halo2Key,
        shape: Shape,
        witness: &BatchWitness<Self::F>,
        eval: &BatchEvaluation<Self::F>,
        what: &str,
    ) -> Result<ProofEntry, ProverError> {
        use assay_circuits::solvency::halo2::BatchCircuit;
        let inputs = eval.public.to_inputs();
        let bsz = witness.leaves.len();
        if key.kind != (CircuitKind::Batch { batch_size: bsz }) {
            return Err(ProverError::Proving(format!(
                "{what}: key of another circuit"
            )));
        }
        assay_circuits::with_tuning!(self.layout, T => self.prove_checked(
            key,
            BatchCircuit::<T>::new(shape, bsz, Some(witness.clone())),
            &inputs,
            what,
        ))
    }

    fn prove_aggregate(
        &self,
        key: &Halo2Key,
        shape: Shape,
        witness: &AggregateWitness<Self::F>,
        eval: &AggregateEvaluation<Self::F>,
        what: &str,
    ) -> Result<ProofEntry, ProverError> {
        use assay_circuits::solvency::halo2::AggregateCircuit;
        let inputs = eval.public.to_inputs();
        let (fan_in, top) = (witness.children.len(), witness.top.is_some());
        if key.kind != (CircuitKind::Aggregation { fan_in, top }) {
            return Err(ProverError::Proving(format!(
                "{what}: key of another circuit"
            )));
        }
        assay_circuits::with_tuning!(self.layout, T => self.prove_checked(
            key,
            AggregateCircuit::<T>::new(shape, fan_in, top, Some(witness.clone())),
            &inputs,
            what,
        ))
    }

    fn params_source(&self) -> Option<&dyn assay_verifier::halo2::ParamsSource> {
        Some(&self.params)
    }

    fn halo2_section(
        &self,
        shape: Shape,
        config: &assay_verifier::solvency::RoundConfig,
        batches: usize,
    ) -> Option<Halo2Circuits> {
        Some(assay_verifier::solvency::halo2_circuits(
            shape,
            config,
            batches,
            self.layout,
        ))
    }
}
