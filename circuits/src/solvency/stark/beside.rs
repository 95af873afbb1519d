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
//!
//! Leaves hashed ahead, several at once. Each check first hashes the leaves its call opens
//! (per query, the opened rows of the tallest matrices with their salts: the trace row alone
//! is ~117 sponge permutations), as many leaves at a time as the packed field has lanes (8
//! with AVX2), with Plonky3's own sponge run on its packed field, the one its prover commits
//! with. The library's check then runs unchanged with a leaf hasher ([`Prehashed`]) that
//! answers an input it was given ahead with that input's digest and hashes anything else
//! itself: a memo of the same function, compared element by element, so a wrong guess of
//! which rows form a leaf costs time, never a verdict.

use std::cmp::Reverse;
use std::sync::mpsc::Sender;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::Mutex;

use p3_commit::{BatchOpening, BatchOpeningRef, Mmcs};
use p3_field::{Field, PackedValue};
use p3_matrix::{Dimensions, Matrix};
use p3_merkle_tree::{MerkleTreeError, MerkleTreeHidingMmcs};
use p3_symmetric::CryptographicHasher;
use rand_10::rngs::StdRng;
use rand_10::SeedableRng;

use super::{poseidon2, Compress, Digest, Hash, Val, ValMmcs, DIGEST_ELEMS, MMCS_SALT_ELEMS};

type Packing = <Val as Field>::Packing;

/// Leaf inputs with their digests.
pub(crate) type Known = Vec<(Vec<Val>, Digest)>;

/// The leaf sponge with digests known ahead (see the module documentation): for an input in
/// `known` (compared element by element) its digest, for any other input the sponge's.
#[derive(Clone)]
pub(crate) struct Prehashed {
    sponge: Hash,
    known: Option<Arc<Known>>,
}

/// One implementation for every item type the tree hashes (`Val`, and the packed field where
/// it is wider): only inputs of `Val`s can be in `known`, which is recognised by type (the two
/// types are the same when the build has no vector instructions).
impl<T> CryptographicHasher<T, [T; DIGEST_ELEMS]> for Prehashed
where
    T: Copy + 'static,
    Hash: CryptographicHasher<T, [T; DIGEST_ELEMS]>,
{
    fn hash_iter<I>(&self, input: I) -> [T; DIGEST_ELEMS]
    where
        I: IntoIterator<Item = T>,
    {
        use std::any::Any;
        let Some(known) = &self.known else {
            return self.sponge.hash_iter(input);
        };
        let input: Vec<T> = input.into_iter().collect();
        if let Some(vals) = (&input as &dyn Any).downcast_ref::<Vec<Val>>() {
            if let Some((_, digest)) = known.iter().find(|(k, _)| k == vals) {
                if let Some(d) = (digest as &dyn Any).downcast_ref::<[T; DIGEST_ELEMS]>() {
                    return *d;
                }
            }
        }
        self.sponge.hash_iter(input)
    }
}

/// [`ValMmcs`] with the leaf hasher [`Prehashed`]: the same commitments, proofs and verdicts.
type CheckMmcs = MerkleTreeHidingMmcs<
    Packing,
    Packing,
    Prehashed,
    Compress,
    StdRng,
    2,
    DIGEST_ELEMS,
    MMCS_SALT_ELEMS,
>;

/// The leaf inputs a multi-opening's check will hash: per query, the opened rows of the
/// matrices in the tree's leaf layer (the tallest, in the library's order: by height, tallest
/// first, ties in commitment order), each followed by its salt. Queries whose rows or salts are
/// missing are left out (the library refuses them).
fn leaf_inputs<R: AsRef<[Val]>>(
    dims: &[Dimensions],
    values: &[Vec<R>],
    salts: &[Vec<Vec<Val>>],
) -> Vec<Vec<Val>> {
    let Some(top) = dims.iter().map(|d| d.height.next_power_of_two()).max() else {
        return Vec::new();
    };
    let mut order: Vec<usize> = (0..dims.len()).collect();
    order.sort_by_key(|&i| Reverse(dims[i].height));
    let leaf: Vec<usize> = order
        .into_iter()
        .take_while(|&i| dims[i].height.next_power_of_two() == top)
        .collect();
    values
        .iter()
        .zip(salts)
        .filter_map(|(rows, salts)| {
            let mut input = Vec::new();
            for &m in &leaf {
                input.extend_from_slice(rows.get(m)?.as_ref());
                input.extend_from_slice(salts.get(m)?);
            }
            Some(input)
        })
        .collect()
}

/// The sponge's digest of every input, computed `Packing::WIDTH` inputs of equal length at a
/// time on the packed field (the last group of a length padded with copies of its first input,
/// whose extra digests are dropped).
pub(crate) fn prehash(sponge: &Hash, inputs: Vec<Vec<Val>>) -> Known {
    let lanes = Packing::WIDTH;
    let mut by_len: std::collections::BTreeMap<usize, Vec<Vec<Val>>> = Default::default();
    for input in inputs {
        by_len.entry(input.len()).or_default().push(input);
    }
    let mut out = Vec::new();
    for (len, group) in by_len {
        for chunk in group.chunks(lanes) {
            let packed =
                (0..len).map(|i| Packing::from_fn(|lane| chunk.get(lane).unwrap_or(&chunk[0])[i]));
            let digests: [Packing; DIGEST_ELEMS] = sponge.hash_iter(packed);
            for (lane, input) in chunk.iter().enumerate() {
                let digest = core::array::from_fn(|k| digests[k].as_slice()[lane]);
                out.push((input.clone(), digest));
            }
        }
    }
    out
}

/// The library's check of a multi-opening (the salted Merkle tree's `verify_multi_batch`), its
/// leaves hashed ahead where the packed field has lanes to do it with.
fn check_openings<R: AsRef<[Val]> + PartialEq>(
    commit: &<ValMmcs as Mmcs<Val>>::Commitment,
    dims: &[Dimensions],
    indices: &[usize],
    values: &[Vec<R>],
    proof: &<ValMmcs as Mmcs<Val>>::MultiProof,
) -> Result<(), MerkleTreeError> {
    let perm = poseidon2();
    let sponge = Hash::new(perm.clone());
    let known = (Packing::WIDTH > 1)
        .then(|| Arc::new(prehash(&sponge, leaf_inputs(dims, values, &proof.0))));
    let mmcs = CheckMmcs::new(
        Prehashed { sponge, known },
        Compress::new(perm.clone()),
        0,
        StdRng::seed_from_u64(0),
    );
    mmcs.verify_multi_batch(commit, dims, indices, values, proof)
}

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
        let at_once = || check_openings(commit, dimensions, indices, opened_values, proof);
        let Some(queue) = &self.queue else {
            return at_once();
        };
        let owned_commit = commit.clone();
        let owned_dims = dimensions.to_vec();
        let owned_indices = indices.to_vec();
        let owned_values: Vec<Vec<Vec<Val>>> = opened_values
            .iter()
            .map(|rows| rows.iter().map(|r| r.as_ref().to_vec()).collect())
            .collect();
        let owned_proof = proof.clone();
        let check: Check = Box::new(move || {
            check_openings(
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

#[cfg(test)]
mod tests {
    use super::*;
    use p3_field::PrimeCharacteristicRing;
    use p3_matrix::dense::RowMajorMatrix;
    use rand_10::RngExt;

    fn sponge() -> Hash {
        Hash::new(poseidon2().clone())
    }

    /// The packed sponge's digests are the scalar sponge's, for every length (none, part of a
    /// block, whole blocks, a trace row with its salt) and every number of inputs (a part of
    /// the lanes, all of them, more).
    #[test]
    fn leaves_hashed_together_have_the_digests_of_the_sponge_alone() {
        let mut rng = StdRng::seed_from_u64(5);
        for len in [0, 1, 7, 8, 9, 16, 933] {
            for n in [1, 3, 8, 9, 17] {
                let inputs: Vec<Vec<Val>> = (0..n)
                    .map(|_| {
                        (0..len)
                            .map(|_| Val::from_u32(rng.random_range(0..1 << 30)))
                            .collect()
                    })
                    .collect();
                let out = prehash(&sponge(), inputs.clone());
                assert_eq!(out.len(), n);
                for (input, digest) in &out {
                    assert!(inputs.contains(input));
                    assert_eq!(
                        *digest,
                        sponge().hash_iter(input.clone()),
                        "len {len}, n {n}"
                    );
                }
            }
        }
    }

    /// A multi-opening of two matrices of different heights (the shorter injected higher up),
    /// as the verifier meets it.
    type Opened = (
        <ValMmcs as Mmcs<Val>>::Commitment,
        Vec<Dimensions>,
        Vec<usize>,
        Vec<Vec<Vec<Val>>>,
        <ValMmcs as Mmcs<Val>>::MultiProof,
    );

    fn opened() -> Opened {
        let mut rng = StdRng::seed_from_u64(9);
        let mut matrix = |h: usize, w: usize| {
            RowMajorMatrix::new(
                (0..h * w)
                    .map(|_| Val::from_u32(rng.random_range(0..1 << 30)))
                    .collect(),
                w,
            )
        };
        let (tall, short) = (matrix(64, 37), matrix(16, 5));
        let dims = vec![tall.dimensions(), short.dimensions()];
        let mmcs = super::super::val_mmcs(poseidon2(), StdRng::seed_from_u64(1));
        let (commit, data) = mmcs.commit(vec![tall, short]);
        let indices = vec![3, 17, 17, 40, 63, 0, 21, 22, 50, 9];
        let (values, proof) = mmcs.open_multi_batch(&indices, &data);
        (commit, dims, indices, values, proof)
    }

    #[test]
    fn openings_are_checked_with_leaves_hashed_ahead_and_tampering_is_refused() {
        let (commit, dims, indices, values, proof) = opened();
        check_openings(&commit, &dims, &indices, &values, &proof).unwrap();
        let mut bad = values.clone();
        bad[4][0][36] += Val::ONE;
        assert!(check_openings(&commit, &dims, &indices, &bad, &proof).is_err());
        let mut bad = values.clone();
        bad[2][1][0] += Val::ONE;
        assert!(check_openings(&commit, &dims, &indices, &bad, &proof).is_err());
        let mut bad_proof = proof.clone();
        bad_proof.0[1][0][0] += Val::ONE;
        assert!(check_openings(&commit, &dims, &indices, &values, &bad_proof).is_err());
    }

    /// The digests given ahead are the ones the library's check uses (so `leaf_inputs` forms
    /// exactly the leaves the library hashes): the same check with every digest given ahead
    /// changed fails, and with them right it passes.
    #[test]
    fn the_library_check_uses_the_leaves_hashed_ahead() {
        let (commit, dims, indices, values, proof) = opened();
        let inputs = leaf_inputs(&dims, &values, &proof.0);
        assert_eq!(inputs.len(), indices.len());
        assert_eq!(inputs[0].len(), 37 + MMCS_SALT_ELEMS);
        let run = |known: Known| {
            CheckMmcs::new(
                Prehashed {
                    sponge: sponge(),
                    known: Some(Arc::new(known)),
                },
                Compress::new(poseidon2().clone()),
                0,
                StdRng::seed_from_u64(0),
            )
            .verify_multi_batch(&commit, &dims, &indices, &values, &proof)
        };
        let right = prehash(&sponge(), inputs);
        run(right.clone()).unwrap();
        let wrong = right
            .into_iter()
            .map(|(input, mut d)| {
                d[0] += Val::ONE;
                (input, d)
            })
            .collect();
        assert!(run(wrong).is_err());
    }
}
