//! The restricted list as a sorted ("indexed") Merkle tree of policy keys.
//!
//! # Layout
//! The keys (see [`super::jurisdiction`]: `4·J + t`, all in `(0, 2^36)`) are sorted, deduplicated
//! and framed by the sentinels [`KEY_MIN`] `= 0` and [`KEY_MAX`] `= 2^36 - 1`:
//! `k_0 = 0 < k_1 < ... < k_n < k_{n+1} = 2^36 - 1`. Leaf `i` (for `0 <= i <= n`) is the
//! neighbouring pair
//!
//! ```text
//! leaf_i = H(TAG_POLICY, k_i, k_{i+1})
//! ```
//!
//! and the `2^16 - (n+1)` leaves after them are `0` (which no pair hashes to). The root over
//! depth [`POLICY_DEPTH`] is the policy's identity. A key `x` is **not** restricted iff some
//! leaf `(low, next)` has `low < x < next`: the pairs are adjacent, so they cover every gap of
//! the sorted list exactly once, and a key in the list lies in no gap.
//!
//! Building costs `n + 1` leaf hashes plus about as many node hashes (empty subtrees are
//! shared), so every ISO 3166-2 subdivision at once (~5,400 keys) builds in well under a second.

use super::jurisdiction::{Jurisdiction, KEY_BITS};
use crate::{merkle, tags, Fr, StatementField};

/// Depth of the policy tree: up to `2^16 - 1` keys.
pub const POLICY_DEPTH: usize = 16;
/// The lower sentinel (below every key).
pub const KEY_MIN: u64 = 0;
/// The upper sentinel (above every key).
pub const KEY_MAX: u64 = (1 << KEY_BITS) - 1;

/// Why a policy tree cannot be built, or a key has no non-membership witness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// More keys than the tree holds.
    #[error("{0} policy keys; at most {max} fit a tree of depth {POLICY_DEPTH}", max = (1usize << POLICY_DEPTH) - 1)]
    TooLarge(usize),
    /// A key outside `(KEY_MIN, KEY_MAX)`.
    #[error("policy key {0:#x} is outside (0, 2^36 - 1)")]
    KeyRange(u64),
    /// The key is in the list: it is restricted.
    #[error("key {0:#x} is in the policy (restricted)")]
    Member(u64),
}

/// `H(TAG_POLICY, low, next)`.
pub fn policy_leaf<F: StatementField>(low: F, next: F) -> F {
    F::hash_tagged(tags::TAG_POLICY, &[low, next])
}

/// The roots of empty subtrees of height `0..=depth`: `z_0 = 0`, `z_{h+1} = H(z_h, z_h)`.
pub(crate) fn empty_roots<F: StatementField>(depth: usize) -> Vec<F> {
    let mut z = Vec::with_capacity(depth + 1);
    z.push(F::zero());
    for h in 0..depth {
        z.push(merkle::node(z[h], z[h]));
    }
    z
}

/// The policy keys of a list of restricted jurisdictions (see [`super::jurisdiction`]),
/// honouring the ISO 3166-2 hierarchy as exact keys (the circuit is unchanged):
/// * a country `CC` gives `whole(CC)` (every code under it);
/// * a subdivision `CC-SSS` gives `exact(CC-SSS)`, `exact(D)` for each of its descendants `D`
///   (restricting an entry restricts everything under it), `exact(A)` for each of its
///   ancestors `A` (a credential naming only a parent subdivision is coarser than the
///   restricted entry, so it is refused), and `exact(CC)` (so is a country-only credential).
///
/// Siblings are not listed, so they pass. Dual codes (`TW` / `CN-TW`) are the policy file's
/// business: it lists every form it restricts.
pub fn keys_of(restricted: &[Jurisdiction]) -> Vec<u64> {
    let mut keys = Vec::with_capacity(2 * restricted.len());
    for j in restricted {
        if j.is_country_only() {
            keys.push(j.whole_key());
        } else {
            keys.push(j.exact_key());
            keys.extend(j.descendants().iter().map(Jurisdiction::exact_key));
            keys.extend(j.ancestors().iter().map(Jurisdiction::exact_key));
            keys.push(j.country().exact_key());
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A built policy tree over the field `F` of a backend (the keys are the same integers on
/// every backend; the leaves, nodes and root are `F`'s hashes).
#[derive(Debug, Clone)]
pub struct PolicyTree<F: StatementField = Fr> {
    /// The sorted keys with both sentinels.
    keys: Vec<u64>,
    /// The non-empty prefix of every level, leaves first; the last level is `[root]`.
    levels: Vec<Vec<F>>,
    /// The roots of empty subtrees, by height.
    zeros: Vec<F>,
}

/// A witness that `key` is not in the policy: the neighbouring pair around it and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonMembership<F: StatementField = Fr> {
    /// The largest listed key below `key`.
    pub low: u64,
    /// The smallest listed key above `key`.
    pub next: u64,
    /// The leaf index of the pair `(low, next)`.
    pub index: u64,
    /// The [`POLICY_DEPTH`] siblings from the leaf up.
    pub siblings: Vec<F>,
}

impl<F: StatementField> NonMembership<F> {
    /// Native check against a root: `low < key < next` and the pair is a leaf of `root`.
    pub fn check(&self, key: u64, root: F) -> bool {
        self.low < key
            && key < self.next
            && self.siblings.len() == POLICY_DEPTH
            && merkle::root_from_path(
                policy_leaf(
                    F::from_u128(self.low.into()),
                    F::from_u128(self.next.into()),
                ),
                self.index,
                &self.siblings,
            ) == root
    }
}

impl PolicyTree {
    /// Builds the BN254 tree of `restricted` jurisdictions (see [`Self::from_jurisdictions_in`]).
    ///
    /// # Errors
    /// [`PolicyError::TooLarge`].
    pub fn from_jurisdictions(restricted: &[Jurisdiction]) -> Result<Self, PolicyError> {
        Self::from_jurisdictions_in(restricted)
    }

    /// Builds the BN254 tree of raw keys (see [`Self::from_keys_in`]).
    ///
    /// # Errors
    /// As [`Self::from_keys_in`].
    pub fn from_keys(keys: Vec<u64>) -> Result<Self, PolicyError> {
        Self::from_keys_in(keys)
    }
}

impl<F: StatementField> PolicyTree<F> {
    /// Builds the tree of `restricted` jurisdictions over `F`.
    ///
    /// # Errors
    /// [`PolicyError::TooLarge`].
    pub fn from_jurisdictions_in(restricted: &[Jurisdiction]) -> Result<Self, PolicyError> {
        Self::from_keys_in(keys_of(restricted))
    }

    /// Builds the tree of raw keys over `F` (sorted and deduplicated here).
    ///
    /// # Errors
    /// [`PolicyError::KeyRange`] for a key not strictly between the sentinels,
    /// [`PolicyError::TooLarge`].
    pub fn from_keys_in(mut keys: Vec<u64>) -> Result<Self, PolicyError> {
        keys.sort_unstable();
        keys.dedup();
        if let Some(k) = keys.iter().find(|k| **k == KEY_MIN || **k >= KEY_MAX) {
            return Err(PolicyError::KeyRange(*k));
        }
        if keys.len() + 1 > 1 << POLICY_DEPTH {
            return Err(PolicyError::TooLarge(keys.len()));
        }
        let mut all = Vec::with_capacity(keys.len() + 2);
        all.push(KEY_MIN);
        all.extend(keys);
        all.push(KEY_MAX);
        let leaves: Vec<F> = all
            .windows(2)
            .map(|w| policy_leaf(F::from_u128(w[0].into()), F::from_u128(w[1].into())))
            .collect();
        let z = empty_roots::<F>(POLICY_DEPTH);
        let mut levels = vec![leaves];
        for h in 0..POLICY_DEPTH {
            let cur = &levels[h];
            let next: Vec<F> = cur
                .chunks(2)
                .map(|p| merkle::node(p[0], p.get(1).copied().unwrap_or(z[h])))
                .collect();
            levels.push(next);
        }
        Ok(Self {
            keys: all,
            levels,
            zeros: z,
        })
    }

    /// The policy root.
    pub fn root(&self) -> F {
        self.levels[POLICY_DEPTH][0]
    }

    /// The number of keys (without the sentinels).
    pub fn len(&self) -> usize {
        self.keys.len() - 2
    }

    /// Whether the policy restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is listed.
    pub fn contains(&self, key: u64) -> bool {
        self.keys.binary_search(&key).is_ok()
    }

    /// The leaf `(k_i, k_{i+1})` and its path, for any `i` (used to build attacks in tests).
    pub fn pair(&self, index: usize) -> Option<NonMembership<F>> {
        if index + 1 >= self.keys.len() {
            return None;
        }
        let z = &self.zeros;
        let mut siblings = Vec::with_capacity(POLICY_DEPTH);
        let mut i = index;
        for (h, level) in self.levels[..POLICY_DEPTH].iter().enumerate() {
            siblings.push(level.get(i ^ 1).copied().unwrap_or(z[h]));
            i >>= 1;
        }
        Some(NonMembership {
            low: self.keys[index],
            next: self.keys[index + 1],
            index: index as u64,
            siblings,
        })
    }

    /// The non-membership witness of `key`.
    ///
    /// # Errors
    /// [`PolicyError::Member`] if `key` is listed (or is a sentinel).
    pub fn non_membership(&self, key: u64) -> Result<NonMembership<F>, PolicyError> {
        match self.keys.binary_search(&key) {
            Ok(_) => Err(PolicyError::Member(key)),
            Err(0) => Err(PolicyError::KeyRange(key)),
            Err(pos) if pos == self.keys.len() => Err(PolicyError::KeyRange(key)),
            Err(pos) => self.pair(pos - 1).ok_or(PolicyError::KeyRange(key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Jurisdiction {
        Jurisdiction::parse(s).unwrap()
    }

    fn example() -> PolicyTree {
        let list: Vec<Jurisdiction> = ["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"]
            .iter()
            .map(|s| j(s))
            .collect();
        PolicyTree::from_jurisdictions(&list).unwrap()
    }

    #[test]
    fn root_equals_a_dense_merkle_root() {
        let t = example();
        let mut leaves: Vec<Fr> = t
            .keys
            .windows(2)
            .map(|w| policy_leaf(Fr::from(w[0]), Fr::from(w[1])))
            .collect();
        leaves.resize(1 << POLICY_DEPTH, Fr::from(0u64));
        assert_eq!(merkle::root(&leaves), t.root());
    }

    #[test]
    fn restricted_codes_have_no_witness_and_others_do() {
        let t = example();
        let root = t.root();
        // Whole countries.
        for c in ["CU", "IR", "KP", "SY"] {
            assert!(t.non_membership(j(c).whole_key()).is_err(), "{c}");
        }
        // A subdivision of a restricted country passes `exact` but not `whole`.
        assert!(t.non_membership(j("IR-01").exact_key()).is_ok());
        assert!(t.non_membership(j("IR-01").whole_key()).is_err());
        // Restricted subdivisions fail `exact`; their country is not wholly restricted.
        for s in ["UA-43", "UA-14", "UA-09"] {
            assert!(t.non_membership(j(s).exact_key()).is_err(), "{s}");
            assert!(t.non_membership(j(s).whole_key()).is_ok(), "{s}");
        }
        // A country-only UA credential fails `exact` (UA has a restricted subdivision).
        assert!(t.non_membership(j("UA").exact_key()).is_err());
        // Other subdivisions of UA pass both checks.
        for s in ["UA-30", "UA-46"] {
            for key in [j(s).exact_key(), j(s).whole_key()] {
                assert!(t.non_membership(key).unwrap().check(key, root), "{s}");
            }
        }
        // Unrelated countries pass both checks.
        for key in [j("FR").exact_key(), j("FR").whole_key()] {
            let w = t.non_membership(key).unwrap();
            assert!(w.check(key, root));
            assert!(!w.check(key, root + Fr::from(1u64)));
        }
    }

    /// Whether a credential for `code` passes both policy checks of `t`.
    fn passes(t: &PolicyTree, code: &str) -> bool {
        let c = j(code);
        t.non_membership(c.exact_key()).is_ok() && t.non_membership(c.whole_key()).is_ok()
    }

    /// ISO 3166-2 parents (issue 11, defect 3): restricting `GB-SCT` restricts `GB-EDH` (a
    /// descendant); restricting `GB-EDH` refuses a credential naming only `GB-SCT` (coarser)
    /// and a country-only `GB`; the sibling `GB-GLG` and the unrelated `GB-ENG` pass. Without
    /// the descendant and ancestor keys in `keys_of`, the first two asserts fail.
    #[test]
    fn the_iso_hierarchy_is_honoured() {
        let scotland = PolicyTree::from_jurisdictions(&[j("GB-SCT")]).unwrap();
        assert!(
            !passes(&scotland, "GB-EDH"),
            "a child of a restricted parent"
        );
        assert!(!passes(&scotland, "GB-GLG"));
        assert!(!passes(&scotland, "GB-SCT"));
        assert!(!passes(&scotland, "GB"), "country-only");
        assert!(passes(&scotland, "GB-ENG"));
        assert!(passes(&scotland, "GB-LND"));

        let edinburgh = PolicyTree::from_jurisdictions(&[j("GB-EDH")]).unwrap();
        assert!(!passes(&edinburgh, "GB-SCT"), "the parent is coarser");
        assert!(!passes(&edinburgh, "GB-EDH"));
        assert!(!passes(&edinburgh, "GB"), "country-only");
        assert!(passes(&edinburgh, "GB-GLG"), "a sibling passes");
        assert!(passes(&edinburgh, "GB-ENG"));
        // Exactly the entry, its ancestor and the country: no sibling key.
        assert_eq!(keys_of(&[j("GB-EDH")]), {
            let mut k = vec![
                j("GB-EDH").exact_key(),
                j("GB-SCT").exact_key(),
                j("GB").exact_key(),
            ];
            k.sort_unstable();
            k
        });
        // A subdivision without parent or children compiles as before (the frozen policy's
        // root does not move).
        assert_eq!(keys_of(&[j("UA-43")]), {
            let mut k = vec![j("UA-43").exact_key(), j("UA").exact_key()];
            k.sort_unstable();
            k
        });
    }

    #[test]
    fn empty_policy_and_bounds() {
        let t = PolicyTree::from_keys(vec![]).unwrap();
        assert!(t.is_empty());
        let key = j("FR").exact_key();
        assert!(t.non_membership(key).unwrap().check(key, t.root()));
        assert!(PolicyTree::from_keys(vec![0]).is_err());
        assert!(PolicyTree::from_keys(vec![KEY_MAX]).is_err());
    }

    #[test]
    fn every_subdivision_builds_fast() {
        let all: Vec<Jurisdiction> = super::super::jurisdiction::all_subdivisions()
            .iter()
            .map(|s| j(s))
            .collect();
        let start = std::time::Instant::now();
        let t = PolicyTree::from_jurisdictions(&all).unwrap();
        let took = start.elapsed();
        eprintln!(
            "policy tree of {} keys ({} subdivisions) built in {took:?}",
            t.len(),
            all.len()
        );
        assert!(t.len() > 5000);
        let key = j("FR").whole_key();
        assert!(t.non_membership(key).unwrap().check(key, t.root()));
        assert!(t.non_membership(j("FR-20R").exact_key()).is_err());
    }
}
