//! Domain-separation tags: the first input of every tagged hash.
//!
//! Each tag is the big-endian integer of a short ASCII string (`"assay/leaf/v1"`), far below the
//! field modulus, so that anyone can recompute it. The only untagged hash is the Merkle node
//! `H(left, right)` (2 inputs); every tagged hash has at least 3 inputs, so the two domains never
//! meet (circomlib Poseidon uses different parameters for every arity).

use crate::Fr;
use ark_ff::PrimeField;

/// Converts a short ASCII tag into the field element it names (big-endian bytes).
pub fn tag(name: &str) -> Fr {
    debug_assert!(name.len() <= 31, "tags are at most 31 bytes");
    Fr::from_be_bytes_mod_order(name.as_bytes())
}

/// `TAG_ID`: a customer's hidden identifier `id = H(TAG_ID, hash_to_field(user_id), salt)`.
pub const TAG_ID: &str = "assay/id/v1";
/// `TAG_LEAF`: a solvency leaf `H(TAG_LEAF, id, b_1, ..., b_K)`.
pub const TAG_LEAF: &str = "assay/leaf/v1";
/// `TAG_SUM`: a hiding commitment to per-asset sums `H(TAG_SUM, S_1, ..., S_K, blind)`.
pub const TAG_SUM: &str = "assay/sum/v1";
/// `TAG_DIGEST`: the running digest of an aggregation's children `(r_i, c_i)`.
pub const TAG_DIGEST: &str = "assay/digest/v1";
/// `TAG_UID`: the hash-to-field of a user id (its length and 31-byte chunks).
pub const TAG_UID: &str = "assay/uid/v1";
/// `TAG_HOLDER`: a KYC holder's public commitment `hid = H(TAG_HOLDER, sk, 0)`.
pub const TAG_HOLDER: &str = "assay/holder/v1";
/// `TAG_CRED`: a KYC credential `H(TAG_CRED, hid, J, expiry_day, serial)`.
pub const TAG_CRED: &str = "assay/cred/v1";
/// `TAG_NULL`: a KYC nullifier `H(TAG_NULL, sk, scope)`.
pub const TAG_NULL: &str = "assay/null/v1";
/// `TAG_POLICY`: a policy-tree leaf `H(TAG_POLICY, low, next)`.
pub const TAG_POLICY: &str = "assay/policy/v1";
