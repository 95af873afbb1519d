//! Gadgets for [`super`]: a whole tree's root, and a root from a path.

use crate::{poseidon::constraints::hash_var, Fr, SynthesisError};
use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar, select::CondSelectGadget};

/// In-circuit [`super::node`].
pub fn node_var(left: &FpVar<Fr>, right: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash_var(&[left.clone(), right.clone()])
}

/// In-circuit [`super::root`] of `2^k` leaf variables (`2^k - 1` node hashes).
///
/// # Errors
/// [`SynthesisError::Unsatisfiable`] if the count is not a power of two.
pub fn root_var(leaves: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    if !leaves.len().is_power_of_two() {
        return Err(SynthesisError::Unsatisfiable);
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| node_var(&p[0], &p[1]))
            .collect::<Result<_, _>>()?;
    }
    Ok(level.swap_remove(0))
}

/// In-circuit [`super::root_from_path`]; `index_bits[h]` is bit `h` of the leaf index
/// (true: the running node is a right child). Costs 2 selections + 1 node hash per level.
pub fn root_from_path_var(
    leaf: &FpVar<Fr>,
    index_bits: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    if index_bits.len() != siblings.len() {
        return Err(SynthesisError::Unsatisfiable);
    }
    let mut cur = leaf.clone();
    for (bit, sib) in index_bits.iter().zip(siblings) {
        let left = FpVar::conditionally_select(bit, sib, &cur)?;
        let right = FpVar::conditionally_select(bit, &cur, sib)?;
        cur = node_var(&left, &right)?;
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn gadgets_equal_native() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let leaves: Vec<Fr> = (0..8u64).map(|i| Fr::from(i + 100)).collect();
        let vars: Vec<FpVar<Fr>> = leaves
            .iter()
            .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
            .collect();
        assert_eq!(
            root_var(&vars).unwrap().value().unwrap(),
            super::super::root(&leaves)
        );
        let lv = super::super::levels(&leaves);
        for idx in [0usize, 5, 7] {
            let p = super::super::path(&lv, idx);
            let bits: Vec<Boolean<Fr>> = (0..3)
                .map(|h| Boolean::new_witness(cs.clone(), || Ok((idx >> h) & 1 == 1)).unwrap())
                .collect();
            let sibs: Vec<FpVar<Fr>> = p
                .iter()
                .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
                .collect();
            let r = root_from_path_var(&vars[idx], &bits, &sibs).unwrap();
            assert_eq!(r.value().unwrap(), super::super::root(&leaves));
        }
        assert!(cs.is_satisfied().unwrap());
    }
}
