//! Groth16 rounds: keys from the setup party's circuit-specific setup (`assay solvency
//! setup`), read from the keys folder; the self-check pins the folder's signed manifest.

use super::lean::R1csMatrices;
use crate::solvency::backend::{entry, CircuitKind, RoundBackend};
use crate::{keys::KeyCache, ProverError};
use assay_circuits::{
    solvency::{
        constraints::{AggregateCircuit, BatchCircuit},
        AggregateEvaluation, AggregateWitness, BatchEvaluation, BatchWitness, Shape,
    },
    Fr,
};
use assay_verifier::groth16::manifest::{aggregation_shape_name, batch_shape_name};
use assay_verifier::groth16::{TrustedKeys, TrustedManifest};
use assay_verifier::solvency::{Circuits, Groth16Circuits, ProofEntry, RoundConfig, RoundOptions};
use assay_verifier::Backend;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;

/// Groth16 on BN254 with keys from the keys folder.
pub struct Groth16Backend {
    keys: KeyCache,
    /// The keys folder's manifest: the self-check verifies the round against it, as an
    /// auditor pinning it would. Empty if the folder has none (then no key is handed out).
    manifest: Vec<TrustedManifest>,
}

impl Groth16Backend {
    /// Keys are read from `keys`, which must hold a setup's signed `manifest.json` (checked
    /// here if present; its absence is reported when the first key is asked for, after the
    /// round's inputs were checked).
    ///
    /// # Errors
    /// A manifest that does not parse or whose signature fails.
    pub fn new(keys: KeyCache) -> Result<Self, ProverError> {
        let manifest = if keys.dir().join(crate::keys::MANIFEST_FILE).exists() {
            vec![keys.manifest()?]
        } else {
            Vec::new()
        };
        Ok(Self { keys, manifest })
    }
}

/// A Groth16 key pair, its circuit's R1CS matrices (made once, shared by every proof of the
/// circuit) and the prepared verifying key of the self-check.
pub struct Groth16Key {
    pair: Arc<crate::keys::KeyPair>,
    matrices: R1csMatrices,
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
        let proof = super::lean::prove(&key.pair.pk, &key.matrices, circuit, &mut rng)
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

    fn backend(&self) -> Backend {
        Backend::Groth16
    }

    fn key(&self, shape: Shape, kind: CircuitKind) -> Result<Groth16Key, ProverError> {
        let name = shape_name(shape, kind);
        if self.manifest.is_empty() {
            // Reports the missing manifest and says to run the setup.
            self.keys.manifest()?;
        }
        let pair = self.keys.get(&name)?;
        let vk = assay_verifier::groth16::decode_vk(&pair.vk_hex, "verifying key")
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        // The setup's matrices file if the folder has one; else the same synthesis here.
        let matrices = match self.keys.matrices(&pair.vk_hash)? {
            Some(m) => Ok(m),
            None => match kind {
                CircuitKind::Batch { batch_size } => R1csMatrices::of(BatchCircuit {
                    shape,
                    batch_size,
                    public: None,
                    witness: None,
                }),
                CircuitKind::Aggregation { fan_in, top } => R1csMatrices::of(AggregateCircuit {
                    shape,
                    fan_in,
                    top,
                    public: None,
                    witness: None,
                }),
            },
        }
        .map_err(|e| ProverError::Proving(format!("{name}: {e}")))?;
        matrices
            .check_key(&pair.pk)
            .map_err(|e| ProverError::Proving(format!("{name}: {e}")))?;
        Ok(Groth16Key {
            check: assay_verifier::groth16::Key::new(&vk),
            matrices,
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

    fn proof_memory(&self, shape: Shape, kind: CircuitKind) -> u64 {
        let (shared, each) = self.memory_parts(shape, kind);
        shared + each
    }

    fn shared_memory(&self, shape: Shape, kind: CircuitKind) -> u64 {
        self.memory_parts(shape, kind).0
    }

    fn circuits(&self, _shape: Shape, _config: &RoundConfig, _batches: usize) -> Circuits {
        Circuits::Groth16(Groth16Circuits {})
    }

    fn check_options(&self) -> RoundOptions<'_> {
        RoundOptions {
            trusted_keys: TrustedKeys::Manifests(&self.manifest),
            ..RoundOptions::default()
        }
    }
}

fn shape_name(shape: Shape, kind: CircuitKind) -> String {
    match kind {
        CircuitKind::Batch { batch_size } => {
            batch_shape_name(shape.num_assets, shape.balance_bits, batch_size)
        }
        CircuitKind::Aggregation { fan_in, top } => {
            aggregation_shape_name(shape.num_assets, shape.balance_bits, fan_in, top)
        }
    }
}

impl Groth16Backend {
    /// The memory of one circuit's proofs: what every proof in flight shares (the proving key
    /// and the matrices, or the synthesis that builds the matrices when the keys folder has
    /// no matrices file), and what each lean proof adds (its assignment, the QAP's
    /// evaluations, the MSMs' buffers). With the setup's files, both are scaled from their
    /// sizes on disk, fitted to `/usr/bin/time -v` peaks (`docs/operations.md`, "Leaner
    /// Groth16 proofs: measured") with a margin: shared `64 MiB + 1.25 × (key + matrices)`,
    /// per proof `1 × matrices` (measured: 542 MiB at one job, 641 MiB at two, for
    /// 256 × 4 with a 87 MB key and 193 MB of matrices; estimated 581 and 765 MiB).
    fn memory_parts(&self, shape: Shape, kind: CircuitKind) -> (u64, u64) {
        const MIB: u64 = 1 << 20;
        match self.keys.key_file_sizes(&shape_name(shape, kind)) {
            Some((pk, matrices)) => (64 * MIB + (pk + matrices) / 4 * 5, matrices.max(MIB)),
            None => {
                let synthesis = groth16_proof_memory(shape, kind);
                (synthesis, synthesis / 8)
            }
        }
    }
}

/// Peak bytes of the process while it synthesizes one circuit symbolically (to build its
/// matrices, as a prover must when the keys folder has no matrices file) and proves it,
/// fitted to `/usr/bin/time -v` peaks of release builds (`docs/operations.md`, "Sizing"),
/// rounded up: a fixed part, then per leaf of a batch (or child of an aggregation) a part and a
/// part per asset. Linear in the constraints, which are linear in leaves × assets.
pub(crate) fn groth16_proof_memory(shape: Shape, kind: CircuitKind) -> u64 {
    const MIB: u64 = 1 << 20;
    const BASE: u64 = 64 * MIB;
    // Per leaf: the range checks are per asset (`balance_bits + 1` constraints each), the
    // leaf hash grows with the assets, and the leaf's node hash of the tree is fixed.
    const PER_LEAF: u64 = 1536 * 1024;
    const PER_LEAF_ASSET: u64 = 1700 * 1024;
    // Per child of an aggregation: its commitment opening, a node hash and the sums.
    const PER_CHILD: u64 = 2 * MIB;
    const PER_CHILD_ASSET: u64 = MIB;
    let k = shape.num_assets as u64;
    let width = (shape.balance_bits as u64).max(1);
    match kind {
        CircuitKind::Batch { batch_size } => {
            // The per-asset part was measured at 64-bit balances; range checks scale with width.
            let per_asset = PER_LEAF_ASSET * (width + 40) / 104;
            BASE + batch_size as u64 * (PER_LEAF + k * per_asset)
        }
        CircuitKind::Aggregation { fan_in, .. } => {
            BASE + fan_in as u64 * (PER_CHILD + k * PER_CHILD_ASSET)
        }
    }
}
