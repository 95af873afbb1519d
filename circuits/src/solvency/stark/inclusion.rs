//! The customer's inclusion check on a STARK round, natively (`docs/stark.md`, "Inclusion").
//!
//! A batch root is a hash chain, not a Merkle tree: `c_0 = round`, `c_u = P(c_{u-1} || leaf_u)`,
//! root `= c_n`. A customer at position `u` is given the chain state before its leaf,
//! `c_{u-1}`, and the leaves after it, `leaf_{u+1..n}` (a [`ChainPath`]), recomputes its own
//! leaf from its record, and runs the chain to the end. If that reaches the batch proof's root,
//! then (the chain step being collision resistant, as a Merkle node is) every step matches the
//! chain the proof constrained, so its leaf is the proof's leaf at position `u`. Then
//! [`verify_public_path`] links the batch to the top proof through the aggregations' public
//! children. The proofs themselves are checked by [`verify_batch`] and [`verify_aggregation`].

use p3_field::PackedValue;

use super::*;

type Packing = <Val as Field>::Packing;

/// The hash chain of a batch from the round digest over `leaves`: the batch root.
pub fn chain_root(round: &Digest, leaves: &[Digest]) -> Digest {
    leaves.iter().fold(*round, |c, l| chain_step(&c, l))
}

/// Bytes per leaf in a leaves file: 8 elements, 4 little-endian bytes each.
pub const LEAF_BYTES: usize = 4 * DIGEST_ELEMS;

/// The segments a leaves file's chain is cut into (`docs/formats.md`, "STARK rounds"): the
/// file carries, after its leaves, the chain's state at every inner boundary, so that a
/// verifier runs the segments side by side (one per lane of the packed field: 8 with AVX2)
/// instead of one permutation after another, and checks that each ends where the next begins.
pub const CHAIN_SEGMENTS: usize = 8;

/// The length of each segment but the last (which may be shorter) and their number, for a
/// chain of `n` leaves: `ceil(n / 8)` leaves each, so at most [`CHAIN_SEGMENTS`] segments.
pub fn chain_segments(n: usize) -> (usize, usize) {
    let len = n.div_ceil(CHAIN_SEGMENTS).max(1);
    (len, n.div_ceil(len))
}

/// A batch's leaves file, read: its leaves in chain order and the chain's states at the inner
/// segment boundaries (`c_len, c_2len, ...`; none in files written before 2026-12-04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeavesFile {
    /// The leaves, in chain order.
    pub leaves: Vec<Digest>,
    /// The chain's state after each segment but the last ([`chain_segments`]), or none.
    pub states: Vec<Digest>,
}

/// The chain's states at the inner segment boundaries of `leaves` from `round`: what
/// [`leaves_file_bytes`] writes after the leaves.
pub fn chain_states(round: &Digest, leaves: &[Digest]) -> Vec<Digest> {
    let (len, _) = chain_segments(leaves.len());
    let mut c = *round;
    let mut out = Vec::new();
    for (i, l) in leaves.iter().enumerate() {
        c = chain_step(&c, l);
        if (i + 1) % len == 0 && i + 1 < leaves.len() {
            out.push(c);
        }
    }
    out
}

/// A batch's leaves file as the prover writes it since 2026-12-04: [`leaves_to_bytes`] of the
/// leaves, then [`chain_states`] in the same encoding.
pub fn leaves_file_bytes(round: &Digest, leaves: &[Digest]) -> Vec<u8> {
    let mut out = leaves_to_bytes(leaves);
    out.extend(leaves_to_bytes(&chain_states(round, leaves)));
    out
}

/// Whether the leaves of `file` chain from `round` to `root` (`c_0 = round`,
/// `c_u = P(c_{u-1} || leaf_u)[0..8]`, `c_n = root`). With the file's segment states, each
/// segment is run from the state before it and must end at the state after it (the last at
/// `root`): every segment then starts from the true chain state, by induction from `round`, so
/// this is the whole chain's check, not an approximation of it. The segments run side by side
/// on the packed field where it has lanes ([`segment_ends`]).
pub fn leaves_chain_to(round: &Digest, file: &LeavesFile, root: &Digest) -> bool {
    let n = file.leaves.len();
    let (len, count) = chain_segments(n);
    if file.states.is_empty() || n == 0 {
        return chain_root(round, &file.leaves) == *root;
    }
    if file.states.len() + 1 != count {
        return false;
    }
    let starts: Vec<Digest> = std::iter::once(*round)
        .chain(file.states.iter().copied())
        .collect();
    let ends: Vec<Digest> = file
        .states
        .iter()
        .copied()
        .chain(std::iter::once(*root))
        .collect();
    segment_ends(&starts, len, &file.leaves) == ends
}

/// The end state of each segment of `leaves` (each `len` long, the last the rest), the
/// segment `k` started from `starts[k]`: as many segments at a time as the packed field has
/// lanes (8 with AVX2; one at a time without), each lane running [`chain_step`]'s compression
/// (Plonky3's truncated permutation, on its packed field).
pub(super) fn segment_ends(starts: &[Digest], len: usize, leaves: &[Digest]) -> Vec<Digest> {
    use p3_symmetric::PseudoCompressionFunction;
    let n = leaves.len();
    let lanes = <Packing as PackedValue>::WIDTH;
    let compress = Compress::new(poseidon2().clone());
    let mut ends = vec![[Val::ZERO; DIGEST_ELEMS]; starts.len()];
    for first in (0..starts.len()).step_by(lanes) {
        // Segment `first + lane` on lane `lane`; a lane past the last segment, or past the end
        // of a shorter last segment, runs on zeros and is not read.
        let lens: Vec<usize> = (first..first + lanes)
            .map(|k| {
                if k < starts.len() {
                    len.min(n - k * len)
                } else {
                    0
                }
            })
            .collect();
        let mut state: [Packing; DIGEST_ELEMS] = core::array::from_fn(|e| {
            Packing::from_fn(|lane| starts.get(first + lane).map_or(Val::ZERO, |s| s[e]))
        });
        for t in 0..len {
            let leaf: [Packing; DIGEST_ELEMS] = core::array::from_fn(|e| {
                Packing::from_fn(|lane| {
                    if t < lens[lane] {
                        leaves[(first + lane) * len + t][e]
                    } else {
                        Val::ZERO
                    }
                })
            });
            state = compress.compress([state, leaf]);
            for (lane, &l) in lens.iter().enumerate() {
                if t + 1 == l {
                    ends[first + lane] = core::array::from_fn(|e| state[e].as_slice()[lane]);
                }
            }
        }
    }
    ends
}

/// Leaves (or chain states) in a leaves file's encoding (`docs/formats.md`, "STARK rounds"):
/// each [`LEAF_BYTES`] bytes (the 8 elements' canonical values as little-endian `u32`s). A
/// batch's leaves alone were its whole leaves file in rounds made before 2026-12-04. Leaves
/// are salted sponges, so the file reveals no balance or id; with it any customer of the batch
/// can rerun the whole chain.
pub fn leaves_to_bytes(leaves: &[Digest]) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaves.len() * LEAF_BYTES);
    for l in leaves {
        for v in l {
            out.extend_from_slice(&v.as_canonical_u32().to_le_bytes());
        }
    }
    out
}

/// Reads a leaves file of exactly `n` leaves: [`leaves_file_bytes`]'s encoding (the leaves,
/// then the chain's states at the segment boundaries) or, from rounds made before 2026-12-04,
/// [`leaves_to_bytes`]'s (the leaves alone).
///
/// # Errors
/// [`StarkError::Malformed`] for another length, or an element that is not canonical (at or
/// above `p`), naming the leaf or state.
pub fn leaves_from_bytes(bytes: &[u8], n: usize) -> Result<LeavesFile, StarkError> {
    let states = chain_segments(n).1.saturating_sub(1);
    let (plain, with_states) = (n * LEAF_BYTES, (n + states) * LEAF_BYTES);
    if bytes.len() != plain && bytes.len() != with_states {
        return Err(StarkError::Malformed(format!(
            "a leaves file of {n} leaves is {with_states} bytes (with its {states} segment \
             states) or {plain} (rounds made before 2026-12-04), this one is {}",
            bytes.len()
        )));
    }
    let mut all = digests_from_bytes(bytes, n)?;
    let states = all.split_off(n);
    Ok(LeavesFile {
        leaves: all,
        states,
    })
}

/// Canonical digests, [`LEAF_BYTES`] each (the length a multiple of it), named by position:
/// `n` leaves first, then segment states.
fn digests_from_bytes(bytes: &[u8], n: usize) -> Result<Vec<Digest>, StarkError> {
    bytes
        .chunks_exact(LEAF_BYTES)
        .enumerate()
        .map(|(i, c)| {
            let mut d = [Val::ZERO; DIGEST_ELEMS];
            for (e, w) in d.iter_mut().zip(c.chunks_exact(4)) {
                let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                if v >= Val::ORDER_U32 {
                    let what = if i < n {
                        format!("leaf {i}")
                    } else {
                        format!("segment state {}", i - n)
                    };
                    return Err(StarkError::Malformed(format!(
                        "{what}: an element ({v}) is not below the KoalaBear modulus"
                    )));
                }
                *e = Val::from_u32(v);
            }
            Ok(d)
        })
        .collect()
}

/// What a customer needs besides its record to reach its batch root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainPath {
    /// The customer's position in the batch (0-based).
    pub index: usize,
    /// The chain state before the customer's leaf (`c_{index}`; the round digest at index 0).
    pub before: Digest,
    /// The leaves after the customer's, in order.
    pub after: Vec<Digest>,
}

/// The exchange's side: the chain path of position `index` in a batch's `leaves`.
///
/// # Errors
/// [`StarkError::Shape`] if `index` is not a position of `leaves`.
pub fn chain_path(
    round: &Digest,
    leaves: &[Digest],
    index: usize,
) -> Result<ChainPath, StarkError> {
    if index >= leaves.len() {
        return Err(StarkError::Shape(format!(
            "position {index} in a batch of {} leaves",
            leaves.len()
        )));
    }
    Ok(ChainPath {
        index,
        before: chain_root(round, &leaves[..index]),
        after: leaves[index + 1..].to_vec(),
    })
}

/// The customer's check: `user`'s leaf, placed at `path.index` of a batch of `shape`, chains to
/// `batch.root`. Costs `n - index` Poseidon2 permutations plus the leaf's sponge.
///
/// # Errors
/// [`StarkError::Rejected`] naming what does not match; [`StarkError::Shape`] for a record that
/// does not fit the shape.
pub fn verify_chain_path(
    user: &StarkUser,
    shape: &BatchShape,
    batch: &BatchPublic,
    path: &ChainPath,
) -> Result<(), StarkError> {
    let shape = BatchShape::new(shape.assets, shape.log_height)?;
    if path.index + 1 + path.after.len() != shape.users() {
        return Err(StarkError::Rejected(format!(
            "position {} with {} leaves after it, the batch holds {}",
            path.index,
            path.after.len(),
            shape.users()
        )));
    }
    if path.index == 0 && path.before != batch.round {
        return Err(StarkError::Rejected(
            "the first leaf's chain must start from the round digest".into(),
        ));
    }
    let own = leaf(user, &shape)?;
    let end = path
        .after
        .iter()
        .fold(chain_step(&path.before, &own), |c, l| chain_step(&c, l));
    if end != batch.root {
        return Err(StarkError::Rejected(
            "the record's leaf does not chain to the batch root".into(),
        ));
    }
    Ok(())
}

/// One level of a customer's path: an aggregation's shape and public values, and the position
/// of the level below among its children.
#[derive(Clone, Debug)]
pub struct PathStep<'a> {
    /// The aggregation's shape.
    pub shape: AggShape,
    /// Its public values (those its proof was verified with).
    pub public: &'a AggPublic,
    /// Which of its children the level below is.
    pub child: usize,
}

/// Links a batch to the top: every step names the level below as its child `child` (same root
/// and commitment), every proof is of the same round, the first step aggregates batches, the
/// others aggregates, and only the last is the top. Returns the top's public values.
///
/// # Errors
/// [`StarkError::Rejected`] naming the level that does not link.
pub fn verify_public_path<'a>(
    batch: &BatchPublic,
    path: &[PathStep<'a>],
) -> Result<&'a AggPublic, StarkError> {
    let Some(last) = path.last() else {
        return Err(StarkError::Rejected("empty path: no top proof".into()));
    };
    let mut below = ChildPublic {
        root: batch.root,
        commitment: batch.commitment,
    };
    for (lvl, step) in path.iter().enumerate() {
        let want_kind = if lvl == 0 {
            ChildKind::Batch
        } else {
            ChildKind::Aggregate
        };
        if step.shape.child_kind != want_kind || step.shape.top != (lvl + 1 == path.len()) {
            return Err(StarkError::Rejected(format!(
                "level {lvl}: shape {:?} out of place",
                step.shape
            )));
        }
        if step.public.round != batch.round {
            return Err(StarkError::Rejected(format!(
                "level {lvl}: a proof of another round"
            )));
        }
        if step.public.children.get(step.child) != Some(&below) {
            return Err(StarkError::Rejected(format!(
                "level {lvl}: child {} is not the level below",
                step.child
            )));
        }
        below = ChildPublic {
            root: step.public.root,
            commitment: step.public.commitment,
        };
    }
    Ok(last.public)
}
