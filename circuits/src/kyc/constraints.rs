//! The KYC circuit for Groth16: [`KycCircuit`].
//!
//! Every constraint block cites the clause of the statement (module [`super`], items 1–6) it
//! enforces. The circuit's shape is fixed (registry depth 32, policy depth 16): the witness
//! is optional so that keys can be generated without one.
//!
//! # Layout
//! Public inputs, in order: `R, P, today, scope, challenge, nf` (see `super::IN_*`).

use super::{
    jurisdiction::{KEY_BITS, SUFFIX_BITS, TAG_EXACT, TAG_WHOLE},
    policy::{NonMembership, POLICY_DEPTH},
    KycPublic, KycWitness, DAY_BITS, REGISTRY_DEPTH,
};
use crate::{
    merkle::constraints::root_from_path_var, poseidon::constraints::hash_tagged_var,
    range::constraints::enforce_bits, tags, Fr, SynthesisError,
};
use ark_ff::One;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef};

fn witness(cs: &ConstraintSystemRef<Fr>, v: Option<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || v.ok_or(SynthesisError::AssignmentMissing))
}

fn input(cs: &ConstraintSystemRef<Fr>, v: Option<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_input(cs.clone(), || v.ok_or(SynthesisError::AssignmentMissing))
}

/// Constraint counts of the parts of the circuit, measured by [`KycCircuit::cost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycCost {
    /// The registry membership (credential hash excluded): 32 levels.
    pub registry_path: usize,
    /// The two policy non-membership proofs (leaf hashes, paths, strict comparisons).
    pub policy: usize,
    /// Everything else (holder commitment, credential, nullifier, ranges, expiry, challenge).
    pub rest: usize,
}

impl KycCost {
    /// The total number of constraints.
    pub fn total(&self) -> usize {
        self.registry_path + self.policy + self.rest
    }
}

/// The KYC proof (see [`super`]): a holder's credential under the registry root is valid
/// today, its jurisdiction and country are outside the policy, and the nullifier is the
/// holder's for this scope.
#[derive(Debug, Clone, Default)]
pub struct KycCircuit {
    /// The claimed public inputs (`None` for key generation).
    pub public: Option<KycPublic>,
    /// The witness (`None` for key generation).
    pub witness: Option<KycWitness>,
    /// What a malicious prover forges (tests only; the constraints are the same).
    #[cfg(test)]
    pub(crate) forge: Forge,
}

/// A malicious prover's forgery of one bit decomposition (tests only): the bits are allocated
/// for another value than the variable they must recompose to, every other assignment being
/// computed from them as an honest synthesis would. Only the recomposition constraint of that
/// decomposition is violated.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Forge {
    #[default]
    Nothing,
    /// `J`'s 34 bits are those of this value (its low 24 bits make the country key).
    JurisdictionBits(u64),
    /// `serial`'s 32 bits (the registry path's directions) are those of this value.
    SerialBits(u64),
}

/// `v` with the value a malicious prover claims for it (its variable unchanged).
#[cfg(test)]
fn claimed_as(v: &FpVar<Fr>, value: Option<u64>) -> FpVar<Fr> {
    match (v, value) {
        (FpVar::Var(a), Some(x)) => FpVar::Var(ark_r1cs_std::fields::fp::AllocatedFp::new(
            Some(Fr::from(x)),
            a.variable,
            a.cs.clone(),
        )),
        _ => v.clone(),
    }
}

impl KycCircuit {
    /// The blank circuit, for key generation.
    pub fn blank() -> Self {
        Self::default()
    }

    /// Measures the constraint count of each part of the circuit (on a blank witness).
    pub fn cost() -> KycCost {
        let cs = ark_relations::gr1cs::ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(ark_relations::gr1cs::SynthesisMode::Setup);
        let mut marks = Marks::default();
        // Synthesis of a blank circuit in setup mode cannot fail for missing values.
        let _ = synthesize(None, None, cs.clone(), Some(&mut marks));
        let total = cs.num_constraints();
        KycCost {
            registry_path: marks.registry,
            policy: marks.policy,
            rest: total - marks.registry - marks.policy,
        }
    }
}

#[derive(Default)]
struct Marks {
    registry: usize,
    policy: usize,
}

impl ConstraintSynthesizer<Fr> for KycCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        #[cfg(test)]
        FORGE.with(|f| f.set(self.forge));
        synthesize(self.public, self.witness.as_ref(), cs, None)
    }
}

#[cfg(test)]
thread_local! {
    /// The forgery of the circuit being synthesized on this thread (tests only).
    static FORGE: std::cell::Cell<Forge> = const { std::cell::Cell::new(Forge::Nothing) };
    /// The variables of the first index bit of each policy path synthesized on this thread
    /// (exact, then whole), for the tests that assign them a non-boolean value.
    pub(crate) static POLICY_BIT: std::cell::RefCell<Vec<ark_relations::gr1cs::Variable>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// One policy non-membership: `low < key < next` and `H(TAG_POLICY, low, next)` is a leaf of
/// the tree of root `policy_root` (statement item 3).
fn non_membership_var(
    cs: &ConstraintSystemRef<Fr>,
    key: &FpVar<Fr>,
    nm: Option<&NonMembership>,
    policy_root: &FpVar<Fr>,
) -> Result<(), SynthesisError> {
    let low = witness(cs, nm.map(|n| Fr::from(n.low)))?;
    let next = witness(cs, nm.map(|n| Fr::from(n.next)))?;
    let one = FpVar::Constant(Fr::one());
    // §2 policy, item 3: low < key, as key - low - 1 in [0, 2^36).
    enforce_bits(&(key - &low - &one), KEY_BITS)?;
    // §2 policy, item 3: key < next, as next - key - 1 in [0, 2^36).
    enforce_bits(&(&next - key - &one), KEY_BITS)?;
    // §2 policy, item 3: (low, next) is a neighbouring pair of the policy tree.
    let leaf = hash_tagged_var(tags::TAG_POLICY, &[low, next])?;
    let mut bits = Vec::with_capacity(POLICY_DEPTH);
    for h in 0..POLICY_DEPTH {
        bits.push(Boolean::new_witness(cs.clone(), || {
            nm.map(|n| (n.index >> h) & 1 == 1)
                .ok_or(SynthesisError::AssignmentMissing)
        })?);
    }
    #[cfg(test)]
    if let Boolean::Var(b) = &bits[0] {
        POLICY_BIT.with(|v| v.borrow_mut().push(b.variable()));
    }
    let mut siblings = Vec::with_capacity(POLICY_DEPTH);
    for h in 0..POLICY_DEPTH {
        siblings.push(witness(cs, nm.and_then(|n| n.siblings.get(h).copied()))?);
    }
    root_from_path_var(&leaf, &bits, &siblings)?.enforce_equal(policy_root)
}

fn synthesize(
    public: Option<KycPublic>,
    w: Option<&KycWitness>,
    cs: ConstraintSystemRef<Fr>,
    mut marks: Option<&mut Marks>,
) -> Result<(), SynthesisError> {
    if w.is_some_and(|w| {
        w.registry_path.len() != REGISTRY_DEPTH
            || w.exact.siblings.len() != POLICY_DEPTH
            || w.whole.siblings.len() != POLICY_DEPTH
    }) {
        return Err(SynthesisError::Unsatisfiable);
    }
    // Public inputs, in the order of super::IN_*.
    let registry_root = input(&cs, public.map(|p| p.registry_root))?;
    let policy_root = input(&cs, public.map(|p| p.policy_root))?;
    let today = input(&cs, public.map(|p| Fr::from(p.today)))?;
    let scope = input(&cs, public.map(|p| p.scope))?;
    let challenge = input(&cs, public.map(|p| p.challenge))?;
    let nullifier = input(&cs, public.map(|p| p.nullifier))?;

    let sk = witness(&cs, w.map(|w| w.sk))?;
    let j = witness(&cs, w.map(|w| Fr::from(w.jurisdiction)))?;
    let expiry = witness(&cs, w.map(|w| Fr::from(w.expiry_day)))?;
    let serial = witness(&cs, w.map(|w| Fr::from(w.serial)))?;

    #[cfg(test)]
    let forge = FORGE.with(|f| f.replace(Forge::Nothing));
    // Item 1: J < 2^34; its low 24 bits are the subdivision part, so C = J - (J mod 2^24).
    #[cfg(test)]
    let j_bits = enforce_bits(
        &claimed_as(
            &j,
            match forge {
                Forge::JurisdictionBits(x) => Some(x),
                _ => None,
            },
        ),
        super::jurisdiction::J_BITS,
    )?;
    #[cfg(not(test))]
    let j_bits = enforce_bits(&j, super::jurisdiction::J_BITS)?;
    let suffix = Boolean::le_bits_to_fp(&j_bits[..SUFFIX_BITS])?;
    let country = &j - &suffix;
    // Item 1: expiry_day, today < 2^32; serial < 2^32 (its bits are the registry index).
    enforce_bits(&expiry, DAY_BITS)?;
    enforce_bits(&today, DAY_BITS)?;
    #[cfg(test)]
    let serial_bits = enforce_bits(
        &claimed_as(
            &serial,
            match forge {
                Forge::SerialBits(x) => Some(x),
                _ => None,
            },
        ),
        REGISTRY_DEPTH,
    )?;
    #[cfg(not(test))]
    let serial_bits = enforce_bits(&serial, REGISTRY_DEPTH)?;

    // Item 2: hid = H(TAG_HOLDER, sk, 0); cred = H(TAG_CRED, hid, J, expiry_day, serial).
    let hid = hash_tagged_var(tags::TAG_HOLDER, &[sk.clone(), FpVar::zero()])?;
    let cred = hash_tagged_var(tags::TAG_CRED, &[hid, j.clone(), expiry.clone(), serial])?;

    // Item 2: cred is leaf `serial` of the registry of root R.
    let before = cs.num_constraints();
    let mut siblings = Vec::with_capacity(REGISTRY_DEPTH);
    for h in 0..REGISTRY_DEPTH {
        siblings.push(witness(
            &cs,
            w.and_then(|w| w.registry_path.get(h).copied()),
        )?);
    }
    root_from_path_var(&cred, &serial_bits, &siblings)?.enforce_equal(&registry_root)?;
    if let Some(m) = marks.as_deref_mut() {
        m.registry = cs.num_constraints() - before;
    }

    // Item 3: x_e = 4·J + 1 and x_w = 4·C + 2 are each strictly between policy neighbours.
    let before = cs.num_constraints();
    let four = Fr::from(4u64);
    let x_exact = &j * four + Fr::from(TAG_EXACT);
    let x_whole = &country * four + Fr::from(TAG_WHOLE);
    non_membership_var(&cs, &x_exact, w.map(|w| &w.exact), &policy_root)?;
    non_membership_var(&cs, &x_whole, w.map(|w| &w.whole), &policy_root)?;
    if let Some(m) = marks {
        m.policy = cs.num_constraints() - before;
    }

    // Item 4: expiry_day > today, as expiry_day - today - 1 in [0, 2^32).
    enforce_bits(&(&expiry - &today - Fr::one()), DAY_BITS)?;

    // Item 5: nf = H(TAG_NULL, sk, scope).
    hash_tagged_var(tags::TAG_NULL, &[sk, scope])?.enforce_equal(&nullifier)?;

    // Item 6: the challenge has no other relation: bind it (challenge · challenge).
    let _ = challenge.square()?;
    Ok(())
}

#[cfg(test)]
mod tests;
