//! The solvency statement's native twin over Pasta `Fp`, for the Halo2 backend.
//!
//! Same notation, same tagged structure and same public-input order as [`super`] (the BN254
//! twin); only the hash differs: `H` is Poseidon `P128Pow5T3` as a `ConstantLength` sponge
//! ([`crate::halo2::poseidon`]), and tags map into `Fp` big-endian ([`crate::halo2::tag`]).
//! Hence every hash output differs from the BN254 backend's, while balances, sums and the
//! checks (`b < 2^w`, `S < 2^{w+32}`, `reserves - S in [0, 2^{w+32})`) are the same integers.

use super::{Shape, StatementError};
use crate::halo2::{fits, merkle, poseidon, Fp};
use crate::tags;
use ff::Field;

/// `id = H(TAG_ID, uid, salt)`.
pub fn account_id(uid: Fp, salt: Fp) -> Fp {
    poseidon::hash_tagged(tags::TAG_ID, &[uid, salt])
}

/// `hash_to_field(bytes) = H(TAG_UID, len, c_1, ..)` with 31-byte big-endian chunks, as the
/// BN254 twin ([`crate::encoding`]).
///
/// # Errors
/// [`crate::encoding::TooLong`] above [`crate::encoding::MAX_ID_BYTES`].
pub fn hash_to_field(bytes: &[u8]) -> Result<Fp, crate::encoding::TooLong> {
    use crate::encoding::{TooLong, CHUNK_BYTES, MAX_ID_BYTES};
    if bytes.len() > MAX_ID_BYTES {
        return Err(TooLong(bytes.len()));
    }
    let mut inputs = vec![Fp::from(bytes.len() as u64)];
    inputs.extend(bytes.chunks(CHUNK_BYTES).map(|c| {
        let mut buf = [0u8; CHUNK_BYTES];
        buf[..c.len()].copy_from_slice(c);
        crate::halo2::from_be_bytes(&buf)
    }));
    Ok(poseidon::hash_tagged(tags::TAG_UID, &inputs))
}

/// `leaf = H(TAG_LEAF, id, b_1, ..., b_K)`.
pub fn leaf(id: Fp, balances: &[Fp]) -> Fp {
    let mut inputs = Vec::with_capacity(balances.len() + 1);
    inputs.push(id);
    inputs.extend_from_slice(balances);
    poseidon::hash_tagged(tags::TAG_LEAF, &inputs)
}

/// `c = H(TAG_SUM, S_1, ..., S_K, blind)`.
pub fn commit_sums(sums: &[Fp], blind: Fp) -> Fp {
    let mut inputs = sums.to_vec();
    inputs.push(blind);
    poseidon::hash_tagged(tags::TAG_SUM, &inputs)
}

/// The running digest `d_f` of `d_0 = 0`, `d_i = H(TAG_DIGEST, d_{i-1}, r_i, c_i)`.
pub fn children_digest(children: &[(Fp, Fp)]) -> Fp {
    children.iter().fold(Fp::ZERO, |acc, (r, c)| {
        poseidon::hash_tagged(tags::TAG_DIGEST, &[acc, *r, *c])
    })
}

/// One customer's leaf witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafWitness {
    /// `id_u`.
    pub id: Fp,
    /// `b_{u,1..K}` in smallest units.
    pub balances: Vec<Fp>,
}

impl LeafWitness {
    /// This leaf's hash.
    pub fn hash(&self) -> Fp {
        leaf(self.id, &self.balances)
    }
}

/// The private witness of one batch proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWitness {
    /// The round id.
    pub round: Fp,
    /// The `B` leaves, in tree order.
    pub leaves: Vec<LeafWitness>,
    /// `blind_j`.
    pub blind: Fp,
}

/// The public inputs of one batch proof, in circuit order `[round, root, commitment]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPublic {
    /// The round id.
    pub round: Fp,
    /// `r_j`.
    pub root: Fp,
    /// `c_j`.
    pub commitment: Fp,
}

impl BatchPublic {
    /// The instance column.
    pub fn to_inputs(&self) -> Vec<Fp> {
        vec![self.round, self.root, self.commitment]
    }
}

/// What a batch evaluates to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEvaluation {
    /// The public inputs.
    pub public: BatchPublic,
    /// `S_{j,1..K}`.
    pub sums: Vec<Fp>,
    /// Every level of the batch tree (level 0: the leaf hashes).
    pub levels: Vec<Vec<Fp>>,
}

impl BatchWitness {
    /// Evaluates the statement, checking every condition the circuit enforces.
    ///
    /// # Errors
    /// The first violated condition.
    pub fn evaluate(&self, shape: &Shape) -> Result<BatchEvaluation, StatementError> {
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
                if !fits(b, shape.balance_bits) {
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

    /// What this witness hashes and sums to, without range checks (for attack tests).
    ///
    /// # Errors
    /// [`StatementError::Size`] if the batch size is not a power of two.
    pub fn evaluate_unchecked(&self) -> Result<BatchEvaluation, StatementError> {
        let k = self.leaves.first().map_or(0, |l| l.balances.len());
        let mut sums = vec![Fp::ZERO; k];
        for l in &self.leaves {
            for (s, b) in sums.iter_mut().zip(&l.balances) {
                *s += b;
            }
        }
        let hashes: Vec<Fp> = self.leaves.iter().map(LeafWitness::hash).collect();
        let levels = merkle::levels(&hashes)
            .ok_or_else(|| StatementError::Size("a batch holds 2^k leaves".into()))?;
        Ok(BatchEvaluation {
            public: BatchPublic {
                round: self.round,
                root: levels[levels.len() - 1][0],
                commitment: commit_sums(&sums, self.blind),
            },
            sums,
            levels,
        })
    }
}

/// A child of an aggregation, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildOpening {
    /// `r_i`.
    pub root: Fp,
    /// `S_{i,1..K}`.
    pub sums: Vec<Fp>,
    /// `blind_i`.
    pub blind: Fp,
}

impl ChildOpening {
    /// `c_i`.
    pub fn commitment(&self) -> Fp {
        commit_sums(&self.sums, self.blind)
    }
}

/// What only the top aggregation takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopInputs {
    /// The field image of the previous round's bundle hash (zero for the first round).
    pub previous: Fp,
    /// `reserves_{1..K}`.
    pub reserves: Vec<Fp>,
}

/// The private witness of one aggregation proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateWitness {
    /// The round id.
    pub round: Fp,
    /// The `f = 2^m` children.
    pub children: Vec<ChildOpening>,
    /// The group blind.
    pub blind: Fp,
    /// `Some` for the top aggregation.
    pub top: Option<TopInputs>,
}

/// The public inputs of one aggregation proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatePublic {
    /// The round id.
    pub round: Fp,
    /// The group root.
    pub root: Fp,
    /// The commitment to the group sums.
    pub commitment: Fp,
    /// [`children_digest`].
    pub digest: Fp,
    /// At the top: previous round hash and reserves.
    pub top: Option<TopInputs>,
}

impl AggregatePublic {
    /// The instance column `[round, root, commitment, digest, (previous, reserves..)]`.
    pub fn to_inputs(&self) -> Vec<Fp> {
        let mut v = vec![self.round, self.root, self.commitment, self.digest];
        if let Some(t) = &self.top {
            v.push(t.previous);
            v.extend_from_slice(&t.reserves);
        }
        v
    }
}

/// What an aggregation evaluates to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateEvaluation {
    /// The public inputs.
    pub public: AggregatePublic,
    /// The group sums.
    pub sums: Vec<Fp>,
}

impl AggregateWitness {
    /// Evaluates the statement, checking every condition the circuit enforces.
    ///
    /// # Errors
    /// The first violated condition.
    pub fn evaluate(&self, shape: &Shape) -> Result<AggregateEvaluation, StatementError> {
        shape.validate()?;
        let sb = shape.sum_bits();
        for (i, c) in self.children.iter().enumerate() {
            if c.sums.len() != shape.num_assets {
                return Err(StatementError::Size(format!(
                    "child {i} has {} sums",
                    c.sums.len()
                )));
            }
            for (a, s) in c.sums.iter().enumerate() {
                if !fits(s, sb) {
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
                if !fits(&(*r - s), sb) {
                    return Err(StatementError::Insolvent { asset: a });
                }
            }
        }
        Ok(eval)
    }

    /// What this witness opens and sums to, without range or reserve checks.
    ///
    /// # Errors
    /// [`StatementError::Size`] if the number of children is not a power of two.
    pub fn evaluate_unchecked(&self) -> Result<AggregateEvaluation, StatementError> {
        let k = self.children.first().map_or(0, |c| c.sums.len());
        let mut sums = vec![Fp::ZERO; k];
        for c in &self.children {
            for (t, s) in sums.iter_mut().zip(&c.sums) {
                *t += s;
            }
        }
        let pairs: Vec<(Fp, Fp)> = self
            .children
            .iter()
            .map(|c| (c.root, c.commitment()))
            .collect();
        let roots: Vec<Fp> = pairs.iter().map(|p| p.0).collect();
        let root = merkle::root(&roots)
            .ok_or_else(|| StatementError::Size("an aggregation has 2^m children".into()))?;
        Ok(AggregateEvaluation {
            public: AggregatePublic {
                round: self.round,
                root,
                commitment: commit_sums(&sums, self.blind),
                digest: children_digest(&pairs),
                top: self.top.clone(),
            },
            sums,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solvency as bn;
    use crate::Fr;
    use ark_ff::{BigInteger, PrimeField as _};

    fn fr_u128(x: &Fr) -> u128 {
        let bytes = x.into_bigint().to_bytes_le();
        u128::from_le_bytes(bytes[..16].try_into().unwrap())
    }

    fn fp_u128(x: &Fp) -> u128 {
        use ff::PrimeField;
        u128::from_le_bytes(x.to_repr()[..16].try_into().unwrap())
    }

    #[test]
    fn same_balances_give_the_same_sums_on_both_backends() {
        let shape = Shape {
            num_assets: 3,
            balance_bits: 64,
        };
        let balances: Vec<Vec<u64>> = (0..8u64)
            .map(|i| vec![u64::MAX - i, i * 1_000_000_007, 0])
            .collect();
        let bn_batch = bn::BatchWitness {
            round: Fr::from(1u64),
            leaves: balances
                .iter()
                .map(|b| bn::LeafWitness {
                    id: Fr::from(9u64),
                    balances: b.iter().map(|v| Fr::from(*v)).collect(),
                })
                .collect(),
            blind: Fr::from(2u64),
        };
        let fp_batch = BatchWitness {
            round: Fp::from(1),
            leaves: balances
                .iter()
                .map(|b| LeafWitness {
                    id: Fp::from(9),
                    balances: b.iter().map(|v| Fp::from(*v)).collect(),
                })
                .collect(),
            blind: Fp::from(2),
        };
        let s_bn: Vec<u128> = bn_batch
            .evaluate(&shape)
            .unwrap()
            .sums
            .iter()
            .map(fr_u128)
            .collect();
        let s_fp: Vec<u128> = fp_batch
            .evaluate(&shape)
            .unwrap()
            .sums
            .iter()
            .map(fp_u128)
            .collect();
        assert_eq!(s_bn, s_fp);
        assert_eq!(
            s_fp[0],
            (0..8u128).map(|i| u64::MAX as u128 - i).sum::<u128>()
        );
    }

    #[test]
    fn native_checks_match_the_circuit_clauses() {
        let shape = Shape {
            num_assets: 1,
            balance_bits: 8,
        };
        let mut w = BatchWitness {
            round: Fp::ZERO,
            leaves: vec![
                LeafWitness {
                    id: Fp::ONE,
                    balances: vec![Fp::from(255)],
                };
                2
            ],
            blind: Fp::ONE,
        };
        assert!(w.evaluate(&shape).is_ok());
        w.leaves[1].balances[0] = Fp::from(256);
        assert_eq!(
            w.evaluate(&shape),
            Err(StatementError::BalanceRange {
                leaf: 1,
                asset: 0,
                bits: 8
            })
        );
        w.leaves[1].balances[0] = Fp::ONE;
        w.leaves.push(w.leaves[0].clone());
        assert_eq!(w.leaves.len(), 3);
        assert!(matches!(w.evaluate(&shape), Err(StatementError::Size(_))));
    }

    #[test]
    fn hash_to_field_separates_lengths_and_rejects_overlong_ids() {
        assert_ne!(
            hash_to_field(b"alice").unwrap(),
            hash_to_field(b"alice\0").unwrap()
        );
        assert_ne!(hash_to_field(b"").unwrap(), hash_to_field(b"\0").unwrap());
        assert!(hash_to_field(&[1u8; 257]).is_err());
        let id = account_id(hash_to_field(b"alice").unwrap(), Fp::from(5));
        assert_ne!(
            id,
            account_id(hash_to_field(b"alice").unwrap(), Fp::from(6))
        );
    }
}
