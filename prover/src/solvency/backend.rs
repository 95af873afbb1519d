//! The proof systems a round can be proven with: one statement, two arithmetizations.
//!
//! The pipeline is written once over [`RoundBackend`]; a backend fixes the field (and hence the
//! hash) of the statement, makes the keys of each circuit, and proves one batch or aggregation.
//! Each backend's implementation lives in its own module, beside its KYC prover:
//! * [`Groth16Backend`] (`crate::groth16`): BN254, keys from a circuit-specific setup cached
//!   in the keys folder.
//! * [`Halo2Backend`] (`crate::halo2`): IPA over Pasta, keys derived from the blank circuit
//!   and deterministic parameters cached in the parameters folder; no setup to trust.

use crate::ProverError;
use assay_circuits::{
    field::to_decimal,
    solvency::{AggregateEvaluation, AggregateWitness, BatchEvaluation, BatchWitness, Shape},
    StatementField,
};
use assay_verifier::solvency::{Circuits, ProofEntry, RoundConfig, RoundOptions};
use assay_verifier::Backend;

pub use crate::groth16::{Groth16Backend, Groth16Key};
#[cfg(feature = "halo2")]
pub use crate::halo2::{Halo2Backend, Halo2Key};

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

    /// The backend.
    fn backend(&self) -> Backend;
    /// The backend's name in bundles.
    fn name(&self) -> &'static str {
        self.backend().name()
    }
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
    /// The estimated peak memory, in bytes, of the process while it proves one proof of this
    /// circuit (its keys included): a formula fitted to measured peaks, with a margin
    /// (`docs/operations.md`). The memory budget admits `budget / proof_memory` proofs at once.
    fn proof_memory(&self, shape: Shape, kind: CircuitKind) -> u64;
    /// Of [`RoundBackend::proof_memory`], the bytes held once however many proofs of the
    /// circuit are in flight (its keys, the Groth16 matrices): `j` proofs at once need
    /// `shared + j × (proof_memory − shared)`. Zero (every byte counted per proof) unless the
    /// backend knows better.
    fn shared_memory(&self, _shape: Shape, _kind: CircuitKind) -> u64 {
        0
    }
    /// The bundle's backend-tagged `circuits` section, for a round of `batches` batch proofs.
    fn circuits(&self, shape: Shape, config: &RoundConfig, batches: usize) -> Circuits;
    /// The options of the round's self-check (the auditor's check run before publishing):
    /// where the verifier finds what this backend's keys need.
    fn check_options(&self) -> RoundOptions<'_> {
        RoundOptions::default()
    }
}

pub(crate) fn entry<F: StatementField>(key: &str, proof: String, inputs: &[F]) -> ProofEntry {
    ProofEntry {
        key: key.into(),
        proof,
        public_inputs: inputs.iter().map(to_decimal).collect(),
    }
}
