//! Binary Merkle trees with the node hash `H(left, right)` of the field's backend
//! ([`StatementField::hash2`]: circomlib Poseidon with 2 inputs on BN254, `P128Pow5T3` with 2
//! inputs on Pasta), natively and beside their circuit twins:
//!
//! * this module: roots, levels and paths over any [`StatementField`];
//! * [`constraints`]: the R1CS gadgets over BN254 (a root of `2^k` leaves, a root from a path);
//! * [`halo2`] (feature `halo2`): the same two as Halo2 chips over Pasta `Fp`.
//!
//! Leaves are indexed from 0 at the left; a path lists the siblings from the leaf upwards, and
//! bit `i` of the leaf index says whether the node at height `i` is a right child.

pub mod constraints;
#[cfg(feature = "halo2")]
pub mod halo2;

use crate::StatementField;

/// The hash of an inner node.
pub fn node<F: StatementField>(left: F, right: F) -> F {
    F::hash2(left, right)
}

/// The root of a tree whose leaves are `leaves` (a power of two, at least one).
///
/// # Panics
/// If `leaves.len()` is not a power of two.
pub fn root<F: StatementField>(leaves: &[F]) -> F {
    assert!(
        leaves.len().is_power_of_two(),
        "a Merkle tree has 2^k leaves"
    );
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| node(p[0], p[1])).collect();
    }
    level[0]
}

/// Every level of the tree, from the leaves (level 0) to the root (the last, of length 1).
pub fn levels<F: StatementField>(leaves: &[F]) -> Vec<Vec<F>> {
    assert!(
        leaves.len().is_power_of_two(),
        "a Merkle tree has 2^k leaves"
    );
    let mut out = vec![leaves.to_vec()];
    while out.last().map_or(0, Vec::len) > 1 {
        let next = out
            .last()
            .map(|l| l.chunks(2).map(|p| node(p[0], p[1])).collect())
            .unwrap_or_default();
        out.push(next);
    }
    out
}

/// The siblings of leaf `index`, from the bottom up, read off [`levels`].
pub fn path<F: StatementField>(levels: &[Vec<F>], index: usize) -> Vec<F> {
    let mut out = Vec::with_capacity(levels.len().saturating_sub(1));
    let mut i = index;
    for level in &levels[..levels.len() - 1] {
        out.push(level[i ^ 1]);
        i >>= 1;
    }
    out
}

/// The root reached from `leaf` at `index` through `siblings`.
pub fn root_from_path<F: StatementField>(leaf: F, index: u64, siblings: &[F]) -> F {
    let mut cur = leaf;
    for (h, s) in siblings.iter().enumerate() {
        cur = if (index >> h) & 1 == 1 {
            node(*s, cur)
        } else {
            node(cur, *s)
        };
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fr;

    fn paths_lead_to_the_root_in<F: StatementField>() {
        let leaves: Vec<F> = (0..16u128).map(F::from_u128).collect();
        let lv = levels(&leaves);
        let r = root(&leaves);
        assert_eq!(lv.last().unwrap()[0], r);
        for (i, leaf) in leaves.iter().enumerate() {
            let p = path(&lv, i);
            assert_eq!(p.len(), 4);
            assert_eq!(root_from_path(*leaf, i as u64, &p), r);
            assert_ne!(root_from_path(*leaf, (i ^ 1) as u64, &p), r, "index binds");
        }
    }

    #[test]
    fn paths_lead_to_the_root() {
        paths_lead_to_the_root_in::<Fr>();
    }

    #[cfg(feature = "halo2")]
    #[test]
    fn paths_lead_to_the_root_on_pasta() {
        paths_lead_to_the_root_in::<crate::halo2::Fp>();
    }
}
