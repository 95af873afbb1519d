//! The witnesses: each leaf's salted id and balances, a batch's leaves and blind, an
//! aggregation's children and blind. Every salt and blind is derived from the round seed and
//! the position, so that a resumed run or another shard derives the same ones.

use super::{spool::Customer, workdir::Work};
use crate::ProverError;
use assay_circuits::{
    encoding,
    solvency::{self as st, AggregateWitness, BatchWitness, ChildOpening, LeafWitness, TopInputs},
    StatementField,
};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// A field element derived from the seed for `(label, a, b)`.
pub(super) fn derive<F: StatementField>(seed: &[u8; 32], label: &str, a: u64, b: u64) -> F {
    let mut h = Sha256::new();
    h.update(b"assay/derive/v1");
    h.update(seed);
    h.update(label.as_bytes());
    h.update(a.to_le_bytes());
    h.update(b.to_le_bytes());
    let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    F::from_uniform_bytes(&wide)
}

impl<F: StatementField> Work<F> {
    /// The salt of the leaf at position `pos`.
    pub(super) fn salt(&self, pos: u64) -> F {
        derive(&self.seed, "salt", pos, 0)
    }

    /// The leaves of the spooled `rows` starting at position `start` (padding for `None`).
    pub(super) fn leaves(
        &self,
        start: u64,
        rows: &[Option<Customer>],
    ) -> Result<Vec<LeafWitness<F>>, ProverError> {
        rows.iter()
            .enumerate()
            .map(|(i, row)| {
                let salt = self.salt(start + i as u64);
                Ok(match row {
                    None => {
                        LeafWitness::padding(st::account_id(F::zero(), salt), self.shape.num_assets)
                    }
                    Some((uid, bal)) => {
                        let u = encoding::hash_to_field_in::<F>(uid.as_bytes()).map_err(|e| {
                            ProverError::Corrupt {
                                file: self.dir.spool(),
                                message: format!("leaf {}: {e}", start + i as u64),
                            }
                        })?;
                        LeafWitness {
                            id: st::account_id(u, salt),
                            balances: bal.iter().map(|b| F::from_u128(*b)).collect(),
                        }
                    }
                })
            })
            .collect()
    }

    /// The witness of batch proof `j`, its leaves read from the spool.
    pub(super) fn batch_witness(&self, j: usize) -> Result<BatchWitness<F>, ProverError> {
        let b = self.cfg.batch_size;
        let start = (j * b) as u64;
        let rows = self.read_spool(start, b)?;
        Ok(BatchWitness {
            round: self.round,
            leaves: self.leaves(start, &rows)?,
            blind: derive(&self.seed, "batch-blind", j as u64, 0),
        })
    }

    /// The witness of aggregation proof `i` of `level` (0 = the level above the batches) over
    /// `children`; the top proof also binds the previous round and the reserves.
    pub(super) fn aggregate_witness(
        &self,
        level: usize,
        i: usize,
        children: Vec<ChildOpening<F>>,
        top: bool,
    ) -> AggregateWitness<F> {
        AggregateWitness {
            round: self.round,
            children,
            blind: derive(&self.seed, "agg-blind", level as u64, i as u64),
            top: top.then(|| TopInputs {
                previous: self.previous,
                reserves: self.reserves.iter().map(|r| F::from_u128(*r)).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_circuits::{field::to_decimal, Fr};

    #[test]
    fn salts_and_blinds_of_a_seed_never_change() {
        // A resumed run, every shard and older work folders derive the same ones.
        let salt: Fr = derive(&[0u8; 32], "salt", 5, 0);
        assert_eq!(to_decimal(&salt), PINNED_SALT);
        let others: [Fr; 4] = [
            derive(&[0u8; 32], "salt", 6, 0),
            derive(&[0u8; 32], "batch-blind", 5, 0),
            derive(&[0u8; 32], "salt", 5, 1),
            derive(&[1u8; 32], "salt", 5, 0),
        ];
        assert!(others.iter().all(|o| *o != salt));
    }

    const PINNED_SALT: &str =
        "9485354112184554752252722879973031854378279792659147690453377583947042945213";
}
