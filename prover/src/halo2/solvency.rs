//! Halo2 rounds: keys derived from the blank circuits in the round's column layout and the
//! deterministic IPA parameters (from the parameters cache); no setup to trust.

use super::{Halo2Prover, ParamsCache};
use crate::solvency::backend::{entry, CircuitKind, RoundBackend};
use crate::ProverError;
use assay_circuits::solvency::{
    AggregateEvaluation, AggregateWitness, BatchEvaluation, BatchWitness, Shape,
};
use assay_verifier::solvency::{Circuits, ProofEntry, RoundConfig, RoundOptions};
use assay_verifier::Backend;

/// Halo2 (IPA over Pasta) in one column layout, parameters cached in the keys folder.
pub struct Halo2Backend {
    layout: assay_circuits::solvency::halo2::Layout,
    params: ParamsCache,
}

impl Halo2Backend {
    /// Circuits in `layout`; IPA parameters read from (or generated into) `params`.
    pub fn new(layout: assay_circuits::solvency::halo2::Layout, params: ParamsCache) -> Self {
        Self { layout, params }
    }
}

/// The keys of one Halo2 circuit: its prover (parameters and proving key), the verifier of
/// the self-check, and the key's name and description.
pub struct Halo2Key {
    kind: CircuitKind,
    prover: Halo2Prover,
    verifier: assay_verifier::halo2::Halo2Verifier,
    hash: String,
    description: String,
}

impl Halo2Backend {
    /// The `k` (rows `2^k`) of a circuit of the round in this backend's layout.
    fn circuit_k(&self, shape: Shape, kind: CircuitKind) -> u32 {
        match kind {
            CircuitKind::Batch { batch_size } => self.layout.batch_k(shape, batch_size),
            CircuitKind::Aggregation { fan_in, top } => self.layout.aggregate_k(shape, fan_in, top),
        }
    }

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

impl RoundBackend for Halo2Backend {
    type F = assay_circuits::halo2::Fp;
    type Key = Halo2Key;

    fn backend(&self) -> Backend {
        Backend::Halo2
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
                let p = Halo2Prover::new(params, &blank, k, 3)
                    .map_err(|e| err(e.to_string()))?;
                let v = p.verifier(&blank).map_err(|e| err(e.to_string()))?;
                (p, v)
            }
            CircuitKind::Aggregation { fan_in, top } => {
                let blank = AggregateCircuit::<T>::new(shape, fan_in, top, None);
                let n = blank.num_public();
                let p = Halo2Prover::new(params, &blank, k, n)
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

    fn proof_memory(&self, shape: Shape, kind: CircuitKind) -> u64 {
        halo2_proof_memory(self.layout, self.circuit_k(shape, kind))
    }

    fn shared_memory(&self, shape: Shape, kind: CircuitKind) -> u64 {
        halo2_shared_memory(self.layout, self.circuit_k(shape, kind))
    }

    fn check_options(&self) -> RoundOptions<'_> {
        RoundOptions {
            halo2_params: Some(&self.params),
            ..RoundOptions::default()
        }
    }

    fn circuits(&self, shape: Shape, config: &RoundConfig, batches: usize) -> Circuits {
        Circuits::Halo2(assay_verifier::solvency::halo2_circuits(
            shape,
            config,
            batches,
            self.layout,
        ))
    }
}

/// Peak bytes of the process while it derives the keys of one circuit of `2^k` rows in
/// `layout` and proves it: the proving key and `create_proof` hold each column in several
/// forms (values, coefficients, the extended coset of `8 × 2^k` rows, and `create_proof`'s own
/// copies of the key's), so the peak is a number of bytes per row and column, fitted to
/// `/usr/bin/time -v` peaks of release builds (`docs/operations.md`, "Per-proof peak": 1,379,
/// 1,481 and 1,332 B per row and column measured for balanced, compact and throughput) and
/// rounded up, plus a fixed part.
pub(crate) fn halo2_proof_memory(layout: assay_circuits::solvency::halo2::Layout, k: u32) -> u64 {
    const BASE: u64 = 64 << 20;
    const PER_CELL: u64 = 1500;
    BASE + (1u64 << k) * layout_columns(layout) * PER_CELL
}

/// Of [`halo2_proof_memory`], the bytes the jobs proving one circuit share: its proving key
/// (held once, borrowed by every proof in flight) and the IPA parameters. Measured: 512 and
/// 526 B per row and column (balanced `k` = 14: 376 MiB; compact `k` = 15: 444 MiB); counted
/// low (450 B), since a shared part counted too high would admit too many jobs.
pub(crate) fn halo2_shared_memory(layout: assay_circuits::solvency::halo2::Layout, k: u32) -> u64 {
    const SHARED_PER_CELL: u64 = 450;
    (1u64 << k) * layout_columns(layout) * SHARED_PER_CELL
}

/// Advice and fixed columns of the layout (docs/halo2.md): Poseidon lanes × (4 advice,
/// 6 fixed), range lanes × (1 advice, 1 fixed), the table, the sum chip and the shared ones.
fn layout_columns(layout: assay_circuits::solvency::halo2::Layout) -> u64 {
    use assay_circuits::solvency::halo2::Layout;
    match layout {
        Layout::Compact => 27,
        Layout::Balanced => 47,
        Layout::Throughput => 89,
    }
}
