//! The KYC attacks of [`crate::kyc::attacks`] against the Groth16 circuit: each must leave the
//! constraint system unsatisfied **and** its proof must not verify against the claimed public
//! inputs. Swapping a public input (challenge, today, policy root) under an honest proof is
//! checked on the proof; the cost and unlinkability are measured here.

use super::*;
use crate::kyc::attacks::{
    self, assert_attacks_refused, assert_honest_accepted, ctx, j, sanctions, witness_for, Attack,
    KycBackend, TODAY,
};
use crate::kyc::{
    challenge_to_field, holder_commitment, policy::PolicyTree, IN_CHALLENGE, IN_POLICY_ROOT,
    IN_TODAY, NUM_PUBLIC_INPUTS,
};
use ark_bn254::Bn254;
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_relations::gr1cs::ConstraintSystem;
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::OnceLock;

fn keys() -> &'static (ProvingKey<Bn254>, PreparedVerifyingKey<Bn254>) {
    static K: OnceLock<(ProvingKey<Bn254>, PreparedVerifyingKey<Bn254>)> = OnceLock::new();
    K.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(7);
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(KycCircuit::blank(), &mut rng)
            .expect("setup of the blank circuit");
        let pvk = Groth16::<Bn254>::process_vk(&vk).expect("prepared key");
        (pk, pvk)
    })
}

fn circuit(w: &KycWitness, public: KycPublic) -> KycCircuit {
    KycCircuit {
        public: Some(public),
        witness: Some(w.clone()),
        ..KycCircuit::default()
    }
}

fn satisfied(c: KycCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

fn prove(c: KycCircuit, seed: u64) -> Proof<Bn254> {
    let mut rng = StdRng::seed_from_u64(seed);
    Groth16::<Bn254>::prove(&keys().0, c, &mut rng).unwrap()
}

fn verifies(proof: &Proof<Bn254>, inputs: &[Fr]) -> bool {
    Groth16::<Bn254>::verify_with_processed_vk(&keys().1, inputs, proof).unwrap()
}

/// Groth16 over BN254: (whether the constraint system is satisfied, whether a proof of the
/// witness verifies against the claimed public inputs).
struct Groth16Backend;

impl Groth16Backend {
    fn outcome(w: &KycWitness, public: &KycPublic) -> (bool, bool) {
        let proof = prove(circuit(w, *public), 1);
        (
            satisfied(circuit(w, *public)),
            verifies(&proof, &public.to_inputs()),
        )
    }
}

impl KycBackend for Groth16Backend {
    type F = Fr;

    fn accepts(&self, w: &KycWitness, public: &KycPublic) -> Result<(), String> {
        match Self::outcome(w, public) {
            (true, true) => Ok(()),
            (sat, ver) => Err(format!("satisfied: {sat}, proof verifies: {ver}")),
        }
    }

    /// R1CS constraints carry no names here: the clause is only reported; the honest
    /// baseline of the same harness shows that the rest of the witness is accepted.
    fn refuses(&self, attack: &Attack<Fr>) -> Result<(), String> {
        let clause = attack.clause;
        match Self::outcome(&attack.witness, &attack.public) {
            (false, false) => Ok(()),
            (true, _) => Err(format!("the constraint system accepted {clause:?}")),
            (false, true) => Err(format!("a proof breaking {clause:?} verified")),
        }
    }
}

#[test]
fn honest_holders_are_satisfied_and_verify() {
    let _ = keys();
    let t = std::time::Instant::now();
    assert_honest_accepted(&Groth16Backend);
    eprintln!(
        "KYC Groth16: {} honest presentations synthesized, proved and verified in {:?}",
        attacks::honest::<Fr>().len(),
        t.elapsed()
    );
}

#[test]
fn every_attack_is_unsatisfied_and_does_not_verify() {
    assert_attacks_refused(&Groth16Backend, &attacks::attacks::<Fr>());
}

#[test]
fn constraint_budget() {
    let cost = KycCircuit::cost();
    eprintln!(
        "KYC circuit: {} constraints (registry path {}, policy non-membership {}, rest {})",
        cost.total(),
        cost.registry_path,
        cost.policy,
        cost.rest
    );
    assert!(cost.total() < 32_768, "{cost:?}");
    assert_eq!(NUM_PUBLIC_INPUTS, 6);
}

/// An honest proof does not verify once one of its public inputs is swapped: another
/// challenge (a replay), a stricter policy root, another day. (The witness-side twins of these
/// swaps are in the shared list; a swapped challenge is another legitimate statement.)
#[test]
fn an_honest_proof_does_not_verify_with_a_swapped_public_input() {
    let policy = sanctions::<Fr>();
    let (w, _) = witness_for("FR", &policy);
    let public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    let proof = prove(circuit(&w, public), 2);
    assert!(verifies(&proof, &public.to_inputs()));
    let strict = PolicyTree::from_jurisdictions(&[j("FR"), j("CU")]).unwrap();
    for (name, index, value) in [
        ("challenge", IN_CHALLENGE, challenge_to_field(&[2; 31])),
        ("policy root", IN_POLICY_ROOT, strict.root()),
        ("today", IN_TODAY, Fr::from(TODAY + 1)),
    ] {
        let mut inputs = public.to_inputs();
        inputs[index] = value;
        assert!(!verifies(&proof, &inputs), "{name} swapped");
    }
}

#[test]
fn unlinkability_across_and_within_relying_parties() {
    let policy = sanctions::<Fr>();
    let (w, _) = witness_for("UA-30", &policy);
    let a = w.evaluate(&ctx("bank-a", 1)).unwrap();
    let b = w.evaluate(&ctx("exchange-b", 9)).unwrap();
    let (ia, ib) = (a.to_inputs(), b.to_inputs());
    for i in 0..NUM_PUBLIC_INPUTS {
        let shared = ia[i] == ib[i];
        let expected_shared = [IN_REGISTRY_ROOT_T, IN_POLICY_ROOT, IN_TODAY].contains(&i);
        assert_eq!(shared, expected_shared, "public input {i}");
    }
    // Nothing public equals the holder's commitment or credential.
    let hid = holder_commitment(w.sk);
    assert!(!ia.contains(&hid) && !ia.contains(&w.credential()));
    // Same relying party, two challenges: same nullifier, different proofs.
    let a2 = w.evaluate(&ctx("bank-a", 3)).unwrap();
    assert_eq!(a.nullifier, a2.nullifier);
    let p1 = prove(circuit(&w, a), 11);
    let p2 = prove(circuit(&w, a), 12);
    assert!(verifies(&p1, &a.to_inputs()) && verifies(&p2, &a.to_inputs()));
    let (mut b1, mut b2) = (Vec::new(), Vec::new());
    p1.serialize_compressed(&mut b1).unwrap();
    p2.serialize_compressed(&mut b2).unwrap();
    assert_eq!(b1.len(), 128);
    assert_ne!(b1, b2, "proofs of one statement are randomized");
}

const IN_REGISTRY_ROOT_T: usize = crate::kyc::IN_REGISTRY_ROOT;

// ---- Attacks on cells only the Groth16 circuit has (bit decompositions it witnesses) -------

/// (satisfied, proof verifies) for a witness whose prover forges `forge`.
fn forged_outcome(w: &KycWitness, public: &KycPublic, forge: Forge) -> (bool, bool) {
    let c = || KycCircuit {
        forge,
        ..circuit(w, *public)
    };
    let proof = prove(c(), 3);
    (satisfied(c()), verifies(&proof, &public.to_inputs()))
}

/// The whole-country key is `4·(J - s) + 2` with `s` the low 24 of `J`'s bits. A holder of
/// `IR-01` (Iran wholly restricted) whose bits are those of `J` with the subdivision part
/// cleared makes `s = 0`, so the circuit's "country" is `J` itself and its key `4·J + 2`, which
/// no policy lists: every other constraint holds (neighbours of `4·J + 2`, the honest
/// registry path). Only the bit recomposition of `J` refuses it, on both the constraint system
/// and the proof; the same witness with honest bits passes the recomposition and fails the
/// policy instead (so the forged bits are what the attack needs).
#[test]
fn a_country_key_other_than_j_with_its_subdivision_cleared_is_refused() {
    let policy = sanctions::<Fr>();
    let (mut w, reg) = witness_for("IR-01", &policy);
    let jv = w.jurisdiction;
    w.whole = policy.non_membership(4 * jv + 2).unwrap();
    let public = attacks::claimed(&w, &ctx("bank-a", 1), &policy, &reg);
    let country = jv - jv % (1 << crate::kyc::jurisdiction::SUFFIX_BITS);
    assert_eq!(
        forged_outcome(&w, &public, Forge::JurisdictionBits(country)),
        (false, false)
    );
    assert_eq!(forged_outcome(&w, &public, Forge::Nothing), (false, false));
    // The forgery alone does not break an honest holder's other constraints: with the bits
    // of J itself, an allowed holder passes.
    let (ok, _) = witness_for("FR", &policy);
    let public_ok = ok.evaluate(&ctx("bank-a", 1)).unwrap();
    assert_eq!(
        forged_outcome(&ok, &public_ok, Forge::JurisdictionBits(ok.jurisdiction)),
        (true, true)
    );
}

/// The registry index is `serial`: its 32 bits are the path's directions. The issuer placed
/// the holder's credential (which names serial 5) at leaf 4; walking the path with the bits of
/// 4 reaches the root, and every hash holds. Only the recomposition of `serial` from the
/// direction bits refuses it.
#[test]
fn a_registry_index_other_than_the_serial_is_refused() {
    let policy = sanctions::<Fr>();
    let (mut w, _) = witness_for("FR", &policy);
    let mut leaves: Vec<Fr> = (0..8)
        .map(|i| attacks::registry_with(attacks::sk(), w.jurisdiction, attacks::EXPIRY).leaf(i))
        .collect();
    leaves.swap(4, 5);
    let reg = crate::kyc::Registry::new(leaves);
    w.registry_path = reg.path(4);
    let public = attacks::claimed(&w, &ctx("bank-a", 1), &policy, &reg);
    assert_eq!(public.registry_root, reg.root());
    assert_eq!(
        forged_outcome(&w, &public, Forge::SerialBits(4)),
        (false, false)
    );
    // Without the forged bits the path of leaf 4 is walked as leaf 5: the root differs.
    assert_eq!(forged_outcome(&w, &public, Forge::Nothing), (false, false));
}

/// A circuit whose first exact-path policy index bit is assigned `value` after an honest
/// synthesis (a prover that ignores the bit's booleanity).
struct NonBooleanPolicyBit {
    inner: KycCircuit,
    value: Fr,
}

impl ConstraintSynthesizer<Fr> for NonBooleanPolicyBit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        POLICY_BIT.with(|v| v.borrow_mut().clear());
        self.inner.generate_constraints(cs.clone())?;
        let var = POLICY_BIT.with(|v| v.borrow().first().copied());
        if let (Some(var), Some(mut b)) = (var, cs.borrow_mut()) {
            if let Some(i) = var.index() {
                if let Some(slot) = b.assignments.witness_assignment.get_mut(i) {
                    *slot = self.value;
                }
            }
        }
        Ok(())
    }
}

/// The policy path's index bits are booleans. A non-boolean bit `b` would let a prover move
/// the pair `(left, right) = (b·(s - c) + c, b·(c - s) + s)` along a line and reach a real
/// node from a fabricated leaf; the booleanity constraint refuses any value other than 0 and
/// 1, on the constraint system and the proof. (The select constraints of that level fail
/// too: their outputs were computed for the honest bit; making them consistent as well would
/// need the Merkle gadget to take forged outputs.)
#[test]
fn a_non_boolean_policy_path_bit_is_refused() {
    let policy = sanctions::<Fr>();
    let (w, _) = witness_for("FR", &policy);
    let public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    let run = |value: Fr| {
        let c = || NonBooleanPolicyBit {
            inner: circuit(&w, public),
            value,
        };
        let cs = ConstraintSystem::<Fr>::new_ref();
        c().generate_constraints(cs.clone()).unwrap();
        cs.finalize();
        let sat = cs.is_satisfied().unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let proof = Groth16::<Bn254>::prove(&keys().0, c(), &mut rng).unwrap();
        (sat, verifies(&proof, &public.to_inputs()))
    };
    let honest_bit = Fr::from(w.exact.index & 1);
    assert_eq!(run(honest_bit), (true, true), "the honest bit");
    assert_eq!(run(Fr::from(2u64)), (false, false));
    assert_eq!(run(-Fr::from(1u64)), (false, false));
}
