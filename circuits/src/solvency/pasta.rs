//! The solvency statement over Pasta `Fp`, for the Halo2 backend.
//!
//! The statement types of [`super`] are generic over the field ([`crate::StatementField`]);
//! these are their Pasta instances. Same notation, same tagged structure and same public-input
//! order as the BN254 instances; only the hash differs: `H` is Poseidon `P128Pow5T3` as a
//! `ConstantLength` sponge ([`crate::poseidon::pasta`]), and tags map into `Fp` big-endian.
//! Hence every hash output differs from the BN254 backend's, while balances, sums and the
//! checks (`b < 2^w`, `S < 2^{w+32}`, `reserves - S in [0, 2^{w+32})`) are the same integers.

use crate::halo2::Fp;

pub use super::{account_id, children_digest, commit_sums, leaf, Shape, StatementError};

/// A leaf witness over `Fp`.
pub type LeafWitness = super::LeafWitness<Fp>;
/// A batch witness over `Fp`.
pub type BatchWitness = super::BatchWitness<Fp>;
/// A batch's public inputs over `Fp`.
pub type BatchPublic = super::BatchPublic<Fp>;
/// A batch's evaluation over `Fp`.
pub type BatchEvaluation = super::BatchEvaluation<Fp>;
/// An opened child over `Fp`.
pub type ChildOpening = super::ChildOpening<Fp>;
/// The top's extra inputs over `Fp`.
pub type TopInputs = super::TopInputs<Fp>;
/// An aggregation witness over `Fp`.
pub type AggregateWitness = super::AggregateWitness<Fp>;
/// An aggregation's public inputs over `Fp`.
pub type AggregatePublic = super::AggregatePublic<Fp>;
/// An aggregation's evaluation over `Fp`.
pub type AggregateEvaluation = super::AggregateEvaluation<Fp>;

/// [`crate::encoding::hash_to_field`] over `Fp`.
///
/// # Errors
/// [`crate::encoding::TooLong`] above [`crate::encoding::MAX_ID_BYTES`].
pub fn hash_to_field(bytes: &[u8]) -> Result<Fp, crate::encoding::TooLong> {
    crate::encoding::hash_to_field_in::<Fp>(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solvency as bn;
    use crate::Fr;
    use ark_ff::{BigInteger, PrimeField as _};
    use ff::Field;

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
