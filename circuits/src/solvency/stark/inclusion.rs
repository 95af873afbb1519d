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

use super::*;

/// The hash chain of a batch from the round digest over `leaves`: the batch root.
pub fn chain_root(round: &Digest, leaves: &[Digest]) -> Digest {
    leaves.iter().fold(*round, |c, l| chain_step(&c, l))
}

/// Bytes per leaf in a leaves file: 8 elements, 4 little-endian bytes each.
pub const LEAF_BYTES: usize = 4 * DIGEST_ELEMS;

/// A batch's leaves file (`docs/formats.md`, "STARK rounds"): its leaves in chain order, each
/// [`LEAF_BYTES`] bytes (the 8 elements' canonical values as little-endian `u32`s), nothing
/// else. Leaves are salted sponges, so the file reveals no balance or id; with it any customer
/// of the batch can rerun the whole chain.
pub fn leaves_to_bytes(leaves: &[Digest]) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaves.len() * LEAF_BYTES);
    for l in leaves {
        for v in l {
            out.extend_from_slice(&v.as_canonical_u32().to_le_bytes());
        }
    }
    out
}

/// Reads [`leaves_to_bytes`]'s encoding of exactly `n` leaves.
///
/// # Errors
/// [`StarkError::Malformed`] for a length other than `n` leaves or an element that is not
/// canonical (at or above `p`), naming the leaf.
pub fn leaves_from_bytes(bytes: &[u8], n: usize) -> Result<Vec<Digest>, StarkError> {
    if bytes.len() != n * LEAF_BYTES {
        return Err(StarkError::Malformed(format!(
            "a leaves file of {n} leaves is {} bytes, this one is {}",
            n * LEAF_BYTES,
            bytes.len()
        )));
    }
    bytes
        .chunks_exact(LEAF_BYTES)
        .enumerate()
        .map(|(i, c)| {
            let mut d = [Val::ZERO; DIGEST_ELEMS];
            for (e, w) in d.iter_mut().zip(c.chunks_exact(4)) {
                let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                if v >= Val::ORDER_U32 {
                    return Err(StarkError::Malformed(format!(
                        "leaf {i}: an element ({v}) is not below the KoalaBear modulus"
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
