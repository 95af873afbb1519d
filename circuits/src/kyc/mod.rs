//! The KYC statement (DESIGN §2), native twin: residence not in a restricted list.
//!
//! Notation (matching `docs/kyc.md`):
//! * the holder's secret `sk` and public commitment `hid = H(TAG_HOLDER, sk, 0)`;
//! * the jurisdiction `J` (see [`jurisdiction`]: `J < 2^34`, its country `C = J - (J mod 2^24)`);
//! * the credential `cred = H(TAG_CRED, hid, J, expiry_day, serial)`, `expiry_day` in UTC days;
//! * the registry: a Poseidon Merkle tree of depth [`REGISTRY_DEPTH`] whose leaf `serial` is
//!   `cred` (an empty or revoked leaf is `0`), with root `R`;
//! * the policy: a sorted tree of keys with root `P` (see [`policy`]); the two keys
//!   `x_e = 4·J + 1` ("exact code") and `x_w = 4·C + 2` ("whole country");
//! * the nullifier `nf = H(TAG_NULL, sk, scope)`.
//!
//! **The statement.** Public: `R`, `P`, `today`, `scope`, `challenge`, `nf` (in that order:
//! see the `IN_*` constants). The prover knows `sk, J, expiry_day, serial`, a registry path
//! and two policy leaves with paths such that:
//! 1. `J < 2^34`, `serial < 2^32`, `expiry_day < 2^32`, `today < 2^32`;
//! 2. leaf `serial` of the tree of root `R` is `H(TAG_CRED, H(TAG_HOLDER, sk, 0), J, expiry_day, serial)`;
//! 3. for `x` in `{x_e, x_w}`: a leaf `H(TAG_POLICY, low, next)` of the tree of root `P` has
//!    `low < x < next` (both differences minus one are range-checked to 36 bits);
//! 4. `expiry_day > today` (`expiry_day - today - 1 < 2^32`);
//! 5. `nf = H(TAG_NULL, sk, scope)`;
//! 6. `challenge` is bound to the proof (it enters a constraint; any value is allowed).
//!
//! Nothing else is revealed: `hid`, `J`, `expiry_day` and `serial` stay hidden, and the
//! nullifier depends on the scope, so two relying parties see unrelated nullifiers.

#[cfg(test)]
pub(crate) mod attacks;
pub mod constraints;
mod iso3166;
pub mod jurisdiction;
pub mod policy;

use crate::{encoding, merkle, tags, Fr, StatementField};
use policy::NonMembership;

#[cfg(feature = "halo2")]
pub mod halo2;
#[cfg(feature = "stark")]
pub mod stark;

/// Depth of the issuer registry: serials are below `2^32`.
pub const REGISTRY_DEPTH: usize = 32;
/// Bits of a day number (`expiry_day`, `today`).
pub const DAY_BITS: usize = 32;

/// Index of the registry root `R` in the public inputs.
pub const IN_REGISTRY_ROOT: usize = 0;
/// Index of the policy root `P`.
pub const IN_POLICY_ROOT: usize = 1;
/// Index of `today` (UTC days since 1970-01-01).
pub const IN_TODAY: usize = 2;
/// Index of the relying party's `scope`.
pub const IN_SCOPE: usize = 3;
/// Index of the relying party's single-use `challenge`.
pub const IN_CHALLENGE: usize = 4;
/// Index of the nullifier `nf`.
pub const IN_NULLIFIER: usize = 5;
/// The number of public inputs.
pub const NUM_PUBLIC_INPUTS: usize = 6;

/// `hid = H(TAG_HOLDER, sk, 0)`: the holder's public commitment (with `F`'s hash).
pub fn holder_commitment<F: StatementField>(sk: F) -> F {
    F::hash_tagged(tags::TAG_HOLDER, &[sk, F::zero()])
}

/// `cred = H(TAG_CRED, hid, J, expiry_day, serial)`.
pub fn credential<F: StatementField>(hid: F, j: F, expiry_day: F, serial: F) -> F {
    F::hash_tagged(tags::TAG_CRED, &[hid, j, expiry_day, serial])
}

/// `nf = H(TAG_NULL, sk, scope)`.
pub fn nullifier<F: StatementField>(sk: F, scope: F) -> F {
    F::hash_tagged(tags::TAG_NULL, &[sk, scope])
}

/// The field image of a relying party's scope name ([`encoding::hash_to_field`] of its UTF-8
/// bytes) on BN254.
///
/// # Errors
/// [`encoding::TooLong`] above 256 bytes.
pub fn scope_to_field(scope: &str) -> Result<Fr, encoding::TooLong> {
    scope_to_field_in(scope)
}

/// [`scope_to_field`] over any statement field, with its hash.
///
/// # Errors
/// [`encoding::TooLong`] above 256 bytes.
pub fn scope_to_field_in<F: StatementField>(scope: &str) -> Result<F, encoding::TooLong> {
    encoding::hash_to_field_in(scope.as_bytes())
}

/// The field image of a 31-byte challenge nonce on BN254 (big-endian; below `2^248 < p`).
pub fn challenge_to_field(nonce: &[u8; 31]) -> Fr {
    challenge_to_field_in(nonce)
}

/// [`challenge_to_field`] over any statement field: the same integer below `2^248`.
pub fn challenge_to_field_in<F: StatementField>(nonce: &[u8; 31]) -> F {
    F::from_be31(nonce)
}

/// The element of a `u64` (days, serials, packed jurisdictions, policy keys).
fn fe<F: StatementField>(v: u64) -> F {
    F::from_u128(v.into())
}

/// Why a KYC witness does not satisfy the statement (caught natively, before proving).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KycStatementError {
    /// `J` is not a packed jurisdiction below `2^34`.
    #[error("the credential's jurisdiction is not a packed code below 2^34")]
    Jurisdiction,
    /// `serial`, `expiry_day` or `today` is out of range.
    #[error("{0} is out of range")]
    Range(&'static str),
    /// The registry path has the wrong length.
    #[error("the registry path has {0} siblings, expected {REGISTRY_DEPTH}")]
    PathLength(usize),
    /// `expiry_day <= today`.
    #[error("the credential expired (expiry day {expiry_day} <= today {today})")]
    Expired {
        /// The credential's expiry day.
        expiry_day: u64,
        /// Today.
        today: u64,
    },
    /// A policy key is not strictly inside its claimed neighbouring pair.
    #[error("the {0} key is not strictly between its policy neighbours (restricted)")]
    Restricted(&'static str),
    /// The two policy paths lead to different roots.
    #[error("the policy paths lead to different roots")]
    PolicyRoot,
}

/// The public inputs of a KYC proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycPublic<F: StatementField = Fr> {
    /// `R`, the registry root of the epoch.
    pub registry_root: F,
    /// `P`, the policy root.
    pub policy_root: F,
    /// `today`, in UTC days.
    pub today: u64,
    /// `scope`, the relying party's id ([`scope_to_field`]).
    pub scope: F,
    /// `challenge` ([`challenge_to_field`]).
    pub challenge: F,
    /// `nf`.
    pub nullifier: F,
}

impl<F: StatementField> KycPublic<F> {
    /// The public inputs in circuit order (`IN_*`).
    pub fn to_inputs(&self) -> Vec<F> {
        vec![
            self.registry_root,
            self.policy_root,
            fe(self.today),
            self.scope,
            self.challenge,
            self.nullifier,
        ]
    }
}

/// What the relying party fixes: the day, its scope and its challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycContext<F: StatementField = Fr> {
    /// Today, in UTC days.
    pub today: u64,
    /// The relying party's scope.
    pub scope: F,
    /// The single-use challenge.
    pub challenge: F,
}

/// The holder's private witness over the field `F` of a backend (`sk` is one secret: the
/// same 31-byte integer on every backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycWitness<F: StatementField = Fr> {
    /// `sk`.
    pub sk: F,
    /// `J` (see [`jurisdiction`]).
    pub jurisdiction: u64,
    /// The credential's expiry day.
    pub expiry_day: u64,
    /// The credential's serial (its registry leaf index).
    pub serial: u64,
    /// The registry siblings from the leaf up ([`REGISTRY_DEPTH`] of them).
    pub registry_path: Vec<F>,
    /// Non-membership of `x_e = 4·J + 1`.
    pub exact: NonMembership<F>,
    /// Non-membership of `x_w = 4·C + 2`.
    pub whole: NonMembership<F>,
}

impl<F: StatementField> KycWitness<F> {
    /// `x_e = 4·J + 1` (as the circuit computes it, modulo `p`).
    pub fn exact_key(&self) -> F {
        F::from_u128(4) * fe(self.jurisdiction) + fe(jurisdiction::TAG_EXACT)
    }

    /// `x_w = 4·C + 2` with `C = J - (J mod 2^24)`.
    pub fn whole_key(&self) -> F {
        let c = self.jurisdiction - (self.jurisdiction & ((1 << jurisdiction::SUFFIX_BITS) - 1));
        F::from_u128(4) * fe(c) + fe(jurisdiction::TAG_WHOLE)
    }

    /// `cred` of this witness.
    pub fn credential(&self) -> F {
        credential(
            holder_commitment(self.sk),
            fe(self.jurisdiction),
            fe(self.expiry_day),
            fe(self.serial),
        )
    }

    /// Evaluates the statement natively, checking every condition the circuit enforces, and
    /// returns the public inputs an honest proof has.
    ///
    /// # Errors
    /// The first violated condition.
    pub fn evaluate(&self, ctx: &KycContext<F>) -> Result<KycPublic<F>, KycStatementError> {
        if self.jurisdiction >= 1 << jurisdiction::J_BITS {
            return Err(KycStatementError::Jurisdiction);
        }
        if self.serial >= 1 << REGISTRY_DEPTH {
            return Err(KycStatementError::Range("serial"));
        }
        if self.expiry_day >= 1 << DAY_BITS {
            return Err(KycStatementError::Range("expiry_day"));
        }
        if ctx.today >= 1 << DAY_BITS {
            return Err(KycStatementError::Range("today"));
        }
        if self.registry_path.len() != REGISTRY_DEPTH {
            return Err(KycStatementError::PathLength(self.registry_path.len()));
        }
        if self.expiry_day <= ctx.today {
            return Err(KycStatementError::Expired {
                expiry_day: self.expiry_day,
                today: ctx.today,
            });
        }
        let j = self.jurisdiction;
        let x_e = 4 * j + jurisdiction::TAG_EXACT;
        let x_w = 4 * (j - (j & ((1 << jurisdiction::SUFFIX_BITS) - 1))) + jurisdiction::TAG_WHOLE;
        for (name, x, nm) in [("exact", x_e, &self.exact), ("whole", x_w, &self.whole)] {
            if !(nm.low < x && x < nm.next) || nm.siblings.len() != policy::POLICY_DEPTH {
                return Err(KycStatementError::Restricted(name));
            }
        }
        let public = self.evaluate_unchecked(ctx);
        if policy_root_of(&self.whole) != public.policy_root {
            return Err(KycStatementError::PolicyRoot);
        }
        debug_assert!(fe::<F>(j).fits(jurisdiction::J_BITS));
        Ok(public)
    }

    /// The public inputs this witness hashes to, without checking anything: what a malicious
    /// prover would claim (the policy root is the one the `exact` path leads to). Use
    /// [`Self::evaluate`] for anything but tests of attacks.
    pub fn evaluate_unchecked(&self, ctx: &KycContext<F>) -> KycPublic<F> {
        KycPublic {
            registry_root: merkle::root_from_path(
                self.credential(),
                self.serial,
                &self.registry_path,
            ),
            policy_root: policy_root_of(&self.exact),
            today: ctx.today,
            scope: ctx.scope,
            challenge: ctx.challenge,
            nullifier: nullifier(self.sk, ctx.scope),
        }
    }
}

/// The root a policy leaf and its path lead to.
pub fn policy_root_of<F: StatementField>(nm: &NonMembership<F>) -> F {
    merkle::root_from_path(
        policy::policy_leaf(fe(nm.low), fe(nm.next)),
        nm.index,
        &nm.siblings,
    )
}

/// The issuer's registry, natively: a sparse Merkle tree over `F` (with `F`'s hash) of depth
/// [`REGISTRY_DEPTH`] whose leaf `i` is credential `i` (or `0`: never issued or revoked).
///
/// Only the non-empty prefix of each level is stored; empty subtrees share precomputed roots,
/// so `n` credentials cost about `2n + 32` hashes to build.
#[derive(Debug, Clone)]
pub struct Registry<F: StatementField = Fr> {
    levels: Vec<Vec<F>>,
    zeros: Vec<F>,
}

impl<F: StatementField> Registry<F> {
    /// The registry whose leaves are `leaves` (index = serial), the rest empty.
    pub fn new(leaves: Vec<F>) -> Self {
        let z = policy::empty_roots::<F>(REGISTRY_DEPTH);
        let mut levels = vec![leaves];
        for h in 0..REGISTRY_DEPTH {
            let next: Vec<F> = levels[h]
                .chunks(2)
                .map(|p| merkle::node(p[0], p.get(1).copied().unwrap_or(z[h])))
                .collect();
            levels.push(next);
        }
        Self { levels, zeros: z }
    }

    /// The root (of the empty tree if there are no leaves).
    pub fn root(&self) -> F {
        self.levels[REGISTRY_DEPTH]
            .first()
            .copied()
            .unwrap_or(self.zeros[REGISTRY_DEPTH])
    }

    /// The [`REGISTRY_DEPTH`] siblings of leaf `serial`.
    pub fn path(&self, serial: u64) -> Vec<F> {
        let z = &self.zeros;
        let mut i = serial as usize;
        let mut out = Vec::with_capacity(REGISTRY_DEPTH);
        for (h, level) in self.levels[..REGISTRY_DEPTH].iter().enumerate() {
            out.push(level.get(i ^ 1).copied().unwrap_or(z[h]));
            i >>= 1;
        }
        out
    }

    /// The leaf at `serial` (`0` if empty).
    pub fn leaf(&self, serial: u64) -> F {
        self.levels[0]
            .get(serial as usize)
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_paths_lead_to_the_root() {
        let leaves: Vec<Fr> = (1..=5u64).map(Fr::from).collect();
        let r = Registry::new(leaves.clone());
        for (i, l) in leaves.iter().enumerate() {
            let p = r.path(i as u64);
            assert_eq!(p.len(), REGISTRY_DEPTH);
            assert_eq!(merkle::root_from_path(*l, i as u64, &p), r.root());
        }
        let mut revoked = leaves.clone();
        revoked[2] = Fr::from(0u64);
        assert_ne!(Registry::new(revoked).root(), r.root());
        let empty = Registry::<Fr>::new(vec![]).root();
        assert_eq!(
            empty,
            policy::empty_roots::<Fr>(REGISTRY_DEPTH)[REGISTRY_DEPTH]
        );
        assert_eq!(Registry::new(vec![Fr::from(0u64)]).root(), empty);
    }
}
