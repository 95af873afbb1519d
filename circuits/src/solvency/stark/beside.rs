//! Merkle openings checked beside the verifier, on a second thread.
//!
//! Most of a STARK verification here is Poseidon2 hashing, and most of that is the Merkle
//! openings: every query's opened rows (the trace row alone is hundreds of elements), their
//! paths, and the paths of every FRI round. Plonky3's verifier checks each batch of openings
//! when it reaches it and goes on with the rest (transcript, folding, the constraints at the
//! out-of-domain point), so those checks can run on another core while it does.
//!
//! [`BesideMmcs`] wraps the commitment scheme the proofs are made with ([`ValMmcs`]) and only
//! changes when `verify_multi_batch` runs: instead of checking at once, it hands the same call
//! of the library's own check, on copies of its arguments, to a queue that a helper thread and,
//! once the library verifier returns, the calling thread drain. The verdict is the conjunction
//! of the library verifier's and of every queued check, so it is the verdict of the library's
//! verifier run as it is: nothing is checked by other code, nothing is skipped. The queued
//! checks see only values the library already decoded and length-checked. Where no thread can
//! be started (wasm32), or the queue is gone, each check runs at once, as before. Proof bytes
//! are the same for both configurations: the wrapper has the inner scheme's commitment, proof
//! and multi-proof types.

use std::sync::mpsc::Sender;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::mpsc::{channel, Receiver};
#[cfg(not(target_arch = "wasm32"))]
use std::sync::{Arc, Mutex};

use p3_commit::{BatchOpening, BatchOpeningRef, Mmcs};
use p3_matrix::{Dimensions, Matrix};

use super::{Val, ValMmcs};

/// A queued check: the library's `verify_multi_batch` on owned copies of its arguments.
pub(crate) type Check = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// [`ValMmcs`] whose multi-openings are checked on a queue (see the module documentation).
#[derive(Clone)]
pub(crate) struct BesideMmcs {
    inner: ValMmcs,
    queue: Option<Sender<Check>>,
}

impl BesideMmcs {
    pub(crate) fn new(inner: ValMmcs, queue: Option<Sender<Check>>) -> Self {
        Self { inner, queue }
    }
}

impl Mmcs<Val> for BesideMmcs {
    type ProverData<M> = <ValMmcs as Mmcs<Val>>::ProverData<M>;
    type Commitment = <ValMmcs as Mmcs<Val>>::Commitment;
    type Proof = <ValMmcs as Mmcs<Val>>::Proof;
    type MultiProof = <ValMmcs as Mmcs<Val>>::MultiProof;
    type Error = <ValMmcs as Mmcs<Val>>::Error;

    fn commit<M: Matrix<Val>>(&self, inputs: Vec<M>) -> (Self::Commitment, Self::ProverData<M>) {
        self.inner.commit(inputs)
    }

    fn open_batch<M: Matrix<Val>>(
        &self,
        index: usize,
        prover_data: &Self::ProverData<M>,
    ) -> BatchOpening<Val, Self> {
        let (values, proof) = self.inner.open_batch(index, prover_data).unpack();
        BatchOpening::new(values, proof)
    }

    fn get_matrices<'a, M: Matrix<Val>>(&self, prover_data: &'a Self::ProverData<M>) -> Vec<&'a M> {
        self.inner.get_matrices(prover_data)
    }

    fn verify_batch(
        &self,
        commit: &Self::Commitment,
        dimensions: &[Dimensions],
        index: usize,
        batch_opening: BatchOpeningRef<'_, Val, Self>,
    ) -> Result<(), Self::Error> {
        let (values, proof) = batch_opening.unpack();
        self.inner.verify_batch(
            commit,
            dimensions,
            index,
            BatchOpeningRef::new(values, proof),
        )
    }

    fn open_multi_batch<M: Matrix<Val>>(
        &self,
        indices: &[usize],
        prover_data: &Self::ProverData<M>,
    ) -> (Vec<Vec<Vec<Val>>>, Self::MultiProof) {
        self.inner.open_multi_batch(indices, prover_data)
    }

    fn verify_multi_batch<R: AsRef<[Val]> + PartialEq>(
        &self,
        commit: &Self::Commitment,
        dimensions: &[Dimensions],
        indices: &[usize],
        opened_values: &[Vec<R>],
        proof: &Self::MultiProof,
    ) -> Result<(), Self::Error> {
        let at_once = || {
            self.inner
                .verify_multi_batch(commit, dimensions, indices, opened_values, proof)
        };
        let Some(queue) = &self.queue else {
            return at_once();
        };
        let inner = self.inner.clone();
        let owned_commit = commit.clone();
        let owned_dims = dimensions.to_vec();
        let owned_indices = indices.to_vec();
        let owned_values: Vec<Vec<Vec<Val>>> = opened_values
            .iter()
            .map(|rows| rows.iter().map(|r| r.as_ref().to_vec()).collect())
            .collect();
        let owned_proof = proof.clone();
        let check: Check = Box::new(move || {
            inner
                .verify_multi_batch(
                    &owned_commit,
                    &owned_dims,
                    &owned_indices,
                    &owned_values,
                    &owned_proof,
                )
                .map_err(|e| format!("a Merkle opening does not open its commitment: {e:?}"))
        });
        match queue.send(check) {
            Ok(()) => Ok(()),
            // Nobody drains the queue any more: check here.
            Err(_) => at_once(),
        }
    }
}

/// Runs `verify` with a queue for the Merkle checks (see the module documentation): a helper
/// thread drains the queue while `verify` runs, then this thread helps. Returns `verify`'s
/// result and the first failed queued check, if any.
pub(crate) fn run_beside<T>(
    verify: impl FnOnce(Option<Sender<Check>>) -> T,
) -> (T, Option<String>) {
    // No threads in wasm32: every check at once, in the library verifier's own order.
    #[cfg(target_arch = "wasm32")]
    {
        (verify(None), None)
    }
    #[cfg(not(target_arch = "wasm32"))]
    run_on_two_threads(verify)
}

#[cfg(not(target_arch = "wasm32"))]
fn run_on_two_threads<T>(verify: impl FnOnce(Option<Sender<Check>>) -> T) -> (T, Option<String>) {
    let (tx, rx) = channel::<Check>();
    let rx = Arc::new(Mutex::new(rx));
    std::thread::scope(|s| {
        let helper_rx = Arc::clone(&rx);
        let helper = std::thread::Builder::new().spawn_scoped(s, move || drain(&helper_rx));
        let queue = helper.is_ok().then_some(tx);
        // Without a helper the queue is dropped here, and every check runs at once.
        let out = verify(queue);
        let mine = drain(&rx);
        let theirs = match helper {
            Ok(h) => h
                .join()
                .unwrap_or_else(|_| Some("a Merkle check panicked".into())),
            Err(_) => None,
        };
        (out, mine.or(theirs))
    })
}

/// Runs queued checks until the queue is empty and closed (every sender dropped), or one fails.
#[cfg(not(target_arch = "wasm32"))]
fn drain(rx: &Mutex<Receiver<Check>>) -> Option<String> {
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return Some("the Merkle check queue was poisoned".into()),
        };
        match next {
            Ok(check) => {
                if let Err(e) = check() {
                    return Some(e);
                }
            }
            Err(_) => return None,
        }
    }
}
