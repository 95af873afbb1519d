//! The solvency statement (DESIGN §1), native twin.
//!
//! Notation (matching `docs/solvency.md`):
//! * `K` assets, balances `b_{u,a}` in `[0, 2^w)`, integers in each asset's smallest unit;
//! * `id_u = H(TAG_ID, hash_to_field(user_id), s_u)` with a secret salt `s_u`;
//! * `leaf_u = H(TAG_LEAF, id_u, b_{u,1}, ..., b_{u,K})`;
//! * a **batch** of `B = 2^k` consecutive leaves has root `r_j`, sums `S_{j,a}` and the hiding
//!   commitment `c_j = H(TAG_SUM, S_{j,1}, ..., S_{j,K}, blind_j)`;
//! * an **aggregation** over `f = 2^m` children `(r_i, c_i)` opens every `c_i`, checks each
//!   `S_{i,a} < 2^{w+32}`, hashes the child roots into the group root, commits to the group sums
//!   the same way, and publishes the running digest `d_f` of `d_0 = 0`,
//!   `d_i = H(TAG_DIGEST, d_{i-1}, r_i, c_i)`;
//! * the **top** aggregation also proves `reserves_a - S_a in [0, 2^{w+32})` for every asset
//!   and takes the previous round's bundle hash as a public input.
//!
//! The leaves of all batches form one Merkle tree: the global root is the Merkle root of every
//! leaf, so a customer's path runs leaf → batch root → group roots → global root.
//!
//! Public inputs, in order: batch `[round, r_j, c_j]`; aggregation
//! `[round, root, commitment, digest]`, and for the top also `[previous, reserves_1..K]`.

#[cfg(test)]
pub(crate) mod attacks;
pub mod constraints;
#[cfg(feature = "halo2")]
pub mod halo2;
#[cfg(feature = "halo2")]
pub mod pasta;
#[cfg(feature = "stark")]
pub mod stark;

use crate::{tags, Fr, StatementField};

/// Headroom for sums over leaves: at most `2^32` leaves per round, so every sum of `w`-bit
/// balances is below `2^{w+32}`.
pub const SUM_HEADROOM_BITS: usize = 32;
/// The widest balance this statement supports (`w + 32 <= 128`, far below the field size).
pub const MAX_BALANCE_BITS: usize = 96;

/// Index of the round id in every solvency proof's public inputs.
pub const IN_ROUND: usize = 0;
/// Index of the (batch or group) root.
pub const IN_ROOT: usize = 1;
/// Index of the sum commitment.
pub const IN_COMMITMENT: usize = 2;
/// Index of the children digest (aggregations only).
pub const IN_DIGEST: usize = 3;
/// Index of the previous round's bundle hash (top aggregation only).
pub const IN_PREVIOUS: usize = 4;
/// Index of the first reserve (top only); reserve `a` is at `IN_RESERVES + a`.
pub const IN_RESERVES: usize = 5;

/// The fixed dimensions of a round's circuits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    /// `K`, the number of assets.
    pub num_assets: usize,
    /// `w`, the bit width of every balance.
    pub balance_bits: usize,
}

impl Shape {
    /// The bit width every (partial) sum is checked against: `w + 32`.
    pub fn sum_bits(&self) -> usize {
        self.balance_bits + SUM_HEADROOM_BITS
    }

    /// Checks `1 <= K` and `1 <= w <= 96`.
    ///
    /// # Errors
    /// [`StatementError::Shape`] naming the offending dimension.
    pub fn validate(&self) -> Result<(), StatementError> {
        if self.num_assets == 0 {
            return Err(StatementError::Shape(
                "a round needs at least one asset".into(),
            ));
        }
        if self.balance_bits == 0 || self.balance_bits > MAX_BALANCE_BITS {
            return Err(StatementError::Shape(format!(
                "balance width {} is outside 1..={MAX_BALANCE_BITS} bits",
                self.balance_bits
            )));
        }
        Ok(())
    }
}

/// Why a witness does not satisfy the statement (caught natively, before any proving).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The round's dimensions are unusable.
    #[error("invalid shape: {0}")]
    Shape(String),
    /// A leaf or child has the wrong number of assets, or a batch the wrong size.
    #[error("wrong size: {0}")]
    Size(String),
    /// A balance is not below `2^w`.
    #[error("leaf {leaf}, asset {asset}: balance is not below 2^{bits}")]
    BalanceRange {
        /// Index of the leaf in its batch.
        leaf: usize,
        /// Index of the asset.
        asset: usize,
        /// `w`.
        bits: usize,
    },
    /// A child's sum is not below `2^{w+32}`.
    #[error("child {child}, asset {asset}: sum is not below 2^{bits}")]
    SumRange {
        /// Index of the child.
        child: usize,
        /// Index of the asset.
        asset: usize,
        /// `w + 32`.
        bits: usize,
    },
    /// A child's opening does not match its commitment.
    #[error("child {0}: the sums and blind do not open its commitment")]
    Opening(usize),
    /// Liabilities exceed reserves.
    #[error("asset {asset}: liabilities exceed reserves")]
    Insolvent {
        /// Index of the asset.
        asset: usize,
    },
}

/// `id = H(TAG_ID, uid, salt)`: the hidden identifier of a customer in one round.
pub fn account_id<F: StatementField>(uid: F, salt: F) -> F {
    F::hash_tagged(tags::TAG_ID, &[uid, salt])
}

/// `leaf = H(TAG_LEAF, id, b_1, ..., b_K)`.
pub fn leaf<F: StatementField>(id: F, balances: &[F]) -> F {
    let mut inputs = Vec::with_capacity(balances.len() + 1);
    inputs.push(id);
    inputs.extend_from_slice(balances);
    F::hash_tagged(tags::TAG_LEAF, &inputs)
}

/// `c = H(TAG_SUM, S_1, ..., S_K, blind)`.
pub fn commit_sums<F: StatementField>(sums: &[F], blind: F) -> F {
    let mut inputs = sums.to_vec();
    inputs.push(blind);
    F::hash_tagged(tags::TAG_SUM, &inputs)
}

/// The running digest `d_f` over children `(r_i, c_i)` (see the module notes).
pub fn children_digest<F: StatementField>(children: &[(F, F)]) -> F {
    children.iter().fold(F::zero(), |acc, (r, c)| {
        F::hash_tagged(tags::TAG_DIGEST, &[acc, *r, *c])
    })
}

/// One customer's leaf witness: the hidden id and the balances in smallest units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafWitness<F: StatementField = Fr> {
    /// `id_u` (see [`account_id`]).
    pub id: F,
    /// `b_{u,1..K}`.
    pub balances: Vec<F>,
}

impl<F: StatementField> LeafWitness<F> {
    /// A padding leaf: zero balances under a random-looking id.
    pub fn padding(id: F, num_assets: usize) -> Self {
        Self {
            id,
            balances: vec![F::zero(); num_assets],
        }
    }

    /// This leaf's hash.
    pub fn hash(&self) -> F {
        leaf(self.id, &self.balances)
    }
}

/// The private witness of one batch proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWitness<F: StatementField = Fr> {
    /// The round id as a field element.
    pub round: F,
    /// The `B` leaves, in tree order.
    pub leaves: Vec<LeafWitness<F>>,
    /// `blind_j`.
    pub blind: F,
}

/// The public inputs of one batch proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPublic<F: StatementField = Fr> {
    /// The round id.
    pub round: F,
    /// `r_j`.
    pub root: F,
    /// `c_j`.
    pub commitment: F,
}

impl<F: StatementField> BatchPublic<F> {
    /// The public inputs in circuit order.
    pub fn to_inputs(&self) -> Vec<F> {
        vec![self.round, self.root, self.commitment]
    }
}

/// What an honest batch evaluates to: its public inputs and its (private) sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEvaluation<F: StatementField = Fr> {
    /// The public inputs.
    pub public: BatchPublic<F>,
    /// `S_{j,1..K}`.
    pub sums: Vec<F>,
    /// Every level of the batch's Merkle tree (level 0: the leaves).
    pub levels: Vec<Vec<F>>,
}

impl<F: StatementField> BatchWitness<F> {
    /// Evaluates the statement natively, checking every condition the circuit enforces.
    ///
    /// # Errors
    /// The first violated condition.
    pub fn evaluate(&self, shape: &Shape) -> Result<BatchEvaluation<F>, StatementError> {
        shape.validate()?;
        if !self.leaves.len().is_power_of_two() {
            return Err(StatementError::Size(format!(
                "a batch holds 2^k leaves, not {}",
                self.leaves.len()
            )));
        }
        for (i, l) in self.leaves.iter().enumerate() {
            if l.balances.len() != shape.num_assets {
                return Err(StatementError::Size(format!(
                    "leaf {i} has {} balances, the round has {} assets",
                    l.balances.len(),
                    shape.num_assets
                )));
            }
            for (a, b) in l.balances.iter().enumerate() {
                if !b.fits(shape.balance_bits) {
                    return Err(StatementError::BalanceRange {
                        leaf: i,
                        asset: a,
                        bits: shape.balance_bits,
                    });
                }
            }
        }
        self.evaluate_unchecked()
    }

    /// The values this witness hashes and sums to, without checking any range: what a
    /// malicious prover would claim. Use [`Self::evaluate`] for anything but tests of attacks.
    ///
    /// # Errors
    /// [`StatementError::Size`] if the batch size is not a power of two.
    pub fn evaluate_unchecked(&self) -> Result<BatchEvaluation<F>, StatementError> {
        if !self.leaves.len().is_power_of_two() {
            return Err(StatementError::Size(format!(
                "a batch holds 2^k leaves, not {}",
                self.leaves.len()
            )));
        }
        let k = self.leaves.first().map_or(0, |l| l.balances.len());
        let mut sums = vec![F::zero(); k];
        for l in &self.leaves {
            for (s, b) in sums.iter_mut().zip(&l.balances) {
                *s += b;
            }
        }
        let hashes: Vec<F> = self.leaves.iter().map(LeafWitness::<F>::hash).collect();
        let levels = crate::merkle::levels(&hashes);
        let root = levels.last().map(|l| l[0]).unwrap_or_default();
        Ok(BatchEvaluation {
            public: BatchPublic {
                round: self.round,
                root,
                commitment: commit_sums(&sums, self.blind),
            },
            sums,
            levels,
        })
    }
}

/// A child of an aggregation, opened: its root, sums and blind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildOpening<F: StatementField = Fr> {
    /// `r_i`.
    pub root: F,
    /// `S_{i,1..K}`.
    pub sums: Vec<F>,
    /// `blind_i`.
    pub blind: F,
}

impl<F: StatementField> ChildOpening<F> {
    /// `c_i`, the commitment this opening opens.
    pub fn commitment(&self) -> F {
        commit_sums(&self.sums, self.blind)
    }
}

/// What only the top aggregation takes: declared reserves and the previous round's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopInputs<F: StatementField = Fr> {
    /// The field image of the previous round's bundle hash (zero for the first round).
    pub previous: F,
    /// `reserves_{1..K}` in smallest units.
    pub reserves: Vec<F>,
}

/// The private witness of one aggregation proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateWitness<F: StatementField = Fr> {
    /// The round id.
    pub round: F,
    /// The `f = 2^m` children, in tree order.
    pub children: Vec<ChildOpening<F>>,
    /// The group blind.
    pub blind: F,
    /// `Some` for the top aggregation.
    pub top: Option<TopInputs<F>>,
}

/// The public inputs of one aggregation proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatePublic<F: StatementField = Fr> {
    /// The round id.
    pub round: F,
    /// The group root (the global root at the top).
    pub root: F,
    /// The commitment to the group sums.
    pub commitment: F,
    /// [`children_digest`] of the children's `(r_i, c_i)`.
    pub digest: F,
    /// At the top: the previous round's hash and the reserves.
    pub top: Option<TopInputs<F>>,
}

impl<F: StatementField> AggregatePublic<F> {
    /// The public inputs in circuit order.
    pub fn to_inputs(&self) -> Vec<F> {
        let mut v = vec![self.round, self.root, self.commitment, self.digest];
        if let Some(t) = &self.top {
            v.push(t.previous);
            v.extend_from_slice(&t.reserves);
        }
        v
    }
}

/// What an honest aggregation evaluates to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateEvaluation<F: StatementField = Fr> {
    /// The public inputs.
    pub public: AggregatePublic<F>,
    /// The group sums.
    pub sums: Vec<F>,
    /// Every level of the group's Merkle tree over the child roots.
    pub levels: Vec<Vec<F>>,
}

impl<F: StatementField> AggregateWitness<F> {
    /// Evaluates the statement natively, checking every condition the circuit enforces.
    ///
    /// # Errors
    /// The first violated condition.
    pub fn evaluate(&self, shape: &Shape) -> Result<AggregateEvaluation<F>, StatementError> {
        shape.validate()?;
        if !self.children.len().is_power_of_two() {
            return Err(StatementError::Size(format!(
                "an aggregation has 2^m children, not {}",
                self.children.len()
            )));
        }
        let sb = shape.sum_bits();
        for (i, c) in self.children.iter().enumerate() {
            if c.sums.len() != shape.num_assets {
                return Err(StatementError::Size(format!(
                    "child {i} has {} sums",
                    c.sums.len()
                )));
            }
            for (a, s) in c.sums.iter().enumerate() {
                if !s.fits(sb) {
                    return Err(StatementError::SumRange {
                        child: i,
                        asset: a,
                        bits: sb,
                    });
                }
            }
        }
        let eval = self.evaluate_unchecked()?;
        if let Some(t) = &self.top {
            if t.reserves.len() != shape.num_assets {
                return Err(StatementError::Size(format!(
                    "{} reserves",
                    t.reserves.len()
                )));
            }
            for (a, (r, s)) in t.reserves.iter().zip(&eval.sums).enumerate() {
                if !(*r - *s).fits(sb) {
                    return Err(StatementError::Insolvent { asset: a });
                }
            }
        }
        Ok(eval)
    }

    /// The values this witness opens and sums to, without checking any range or the reserves:
    /// what a malicious prover would claim. Use [`Self::evaluate`] for anything but tests.
    ///
    /// # Errors
    /// [`StatementError::Size`] if the number of children is not a power of two.
    pub fn evaluate_unchecked(&self) -> Result<AggregateEvaluation<F>, StatementError> {
        if !self.children.len().is_power_of_two() {
            return Err(StatementError::Size(format!(
                "an aggregation has 2^m children, not {}",
                self.children.len()
            )));
        }
        let k = self.children.first().map_or(0, |c| c.sums.len());
        let mut sums = vec![F::zero(); k];
        for c in &self.children {
            for (t, s) in sums.iter_mut().zip(&c.sums) {
                *t += s;
            }
        }
        let pairs: Vec<(F, F)> = self
            .children
            .iter()
            .map(|c| (c.root, c.commitment()))
            .collect();
        let roots: Vec<F> = pairs.iter().map(|p| p.0).collect();
        let levels = crate::merkle::levels(&roots);
        Ok(AggregateEvaluation {
            public: AggregatePublic {
                round: self.round,
                root: levels.last().map(|l| l[0]).unwrap_or_default(),
                commitment: commit_sums(&sums, self.blind),
                digest: children_digest(&pairs),
                top: self.top.clone(),
            },
            sums,
            levels,
        })
    }
}
