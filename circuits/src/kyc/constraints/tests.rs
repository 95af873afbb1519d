//! Honest and malicious witnesses for the KYC circuit. Each attack violates one clause of the
//! statement: it must leave the constraint system unsatisfied **and** its proof must not
//! verify against the claimed public inputs. Attacks that only swap a public input of an
//! honest proof (challenge, today, policy root) are checked on the proof as well.

use super::*;
use crate::kyc::{
    challenge_to_field, credential, holder_commitment, jurisdiction::Jurisdiction, nullifier,
    policy::PolicyTree, scope_to_field, KycContext, KycStatementError, Registry, IN_CHALLENGE,
    IN_POLICY_ROOT, IN_TODAY, NUM_PUBLIC_INPUTS,
};
use ark_bn254::Bn254;
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_relations::gr1cs::ConstraintSystem;
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::OnceLock;

const TODAY: u64 = 20_415; // 2025-11-23
const EXPIRY: u64 = 20_800;
const SERIAL: u64 = 5;

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

fn j(code: &str) -> Jurisdiction {
    Jurisdiction::parse(code).unwrap()
}

fn sanctions() -> PolicyTree {
    let list: Vec<Jurisdiction> = ["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"]
        .iter()
        .map(|c| j(c))
        .collect();
    PolicyTree::from_jurisdictions(&list).unwrap()
}

fn sk() -> Fr {
    Fr::from(0x5ec2e7u64)
}

fn ctx(scope: &str, nonce: u8) -> KycContext {
    KycContext {
        today: TODAY,
        scope: scope_to_field(scope).unwrap(),
        challenge: challenge_to_field(&[nonce; 31]),
    }
}

/// A registry holding other holders' credentials and, at [`SERIAL`], the credential of
/// `(sk, jurisdiction, expiry)`.
fn registry_with(sk: Fr, jur: u64, expiry: u64) -> Registry {
    let mut leaves: Vec<Fr> = (0..8u64)
        .map(|i| {
            credential(
                holder_commitment(Fr::from(1000 + i)),
                j("FR").to_fr(),
                Fr::from(EXPIRY),
                Fr::from(i),
            )
        })
        .collect();
    leaves[SERIAL as usize] = credential(
        holder_commitment(sk),
        Fr::from(jur),
        Fr::from(expiry),
        Fr::from(SERIAL),
    );
    Registry::new(leaves)
}

/// The witness of a holder of `code`, with honest non-membership witnesses where they exist,
/// and otherwise the pair whose `low` is the restricted key (violating `low < key`).
fn witness_for(code: &str, policy: &PolicyTree) -> (KycWitness, Registry) {
    let jur = j(code);
    let reg = registry_with(sk(), jur.packed(), EXPIRY);
    let nm = |key: u64| {
        policy.non_membership(key).unwrap_or_else(|_| {
            // The key is listed: take the pair that starts at it (low == key).
            (0..)
                .map_while(|i| policy.pair(i))
                .find(|p| p.low == key)
                .unwrap()
        })
    };
    let w = KycWitness {
        sk: sk(),
        jurisdiction: jur.packed(),
        expiry_day: EXPIRY,
        serial: SERIAL,
        registry_path: reg.path(SERIAL),
        exact: nm(jur.exact_key()),
        whole: nm(jur.whole_key()),
    };
    (w, reg)
}

fn circuit(w: &KycWitness, public: KycPublic) -> KycCircuit {
    KycCircuit {
        public: Some(public),
        witness: Some(w.clone()),
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

/// The honest public inputs for `policy` and `registry`, with the witness's own nullifier.
fn claimed(w: &KycWitness, c: &KycContext, policy: &PolicyTree, reg: &Registry) -> KycPublic {
    let mut p = w.evaluate_unchecked(c);
    p.policy_root = policy.root();
    p.registry_root = reg.root();
    p
}

fn assert_attack_fails(w: &KycWitness, public: KycPublic) {
    assert!(
        !satisfied(circuit(w, public)),
        "the constraint system accepted the attack"
    );
    let proof = prove(circuit(w, public), 1);
    assert!(
        !verifies(&proof, &public.to_inputs()),
        "a proof of the attack verified"
    );
}

#[test]
fn honest_holders_are_satisfied_and_verify() {
    let policy = sanctions();
    // An allowed subdivision of a country with restricted subdivisions, an unrelated country
    // with and without subdivision.
    for code in ["UA-30", "FR", "FR-20R", "GB-ENG"] {
        let (w, reg) = witness_for(code, &policy);
        let c = ctx("bank-a", 1);
        let public = w.evaluate(&c).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(public.policy_root, policy.root());
        assert_eq!(public.registry_root, reg.root());
        assert!(satisfied(circuit(&w, public)), "{code}");
        if code == "UA-30" {
            let proof = prove(circuit(&w, public), 3);
            assert!(verifies(&proof, &public.to_inputs()));
        }
    }
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

#[test]
fn test_restricted_country() {
    let policy = sanctions();
    for code in ["IR", "IR-01"] {
        let (w, reg) = witness_for(code, &policy);
        let c = ctx("bank-a", 1);
        assert_eq!(
            w.evaluate(&c).unwrap_err(),
            KycStatementError::Restricted("whole")
        );
        assert_attack_fails(&w, claimed(&w, &c, &policy, &reg));
    }
}

#[test]
fn test_restricted_subdivision_of_allowed_country() {
    let policy = sanctions();
    let (w, reg) = witness_for("UA-43", &policy);
    let c = ctx("bank-a", 1);
    assert_eq!(
        w.evaluate(&c).unwrap_err(),
        KycStatementError::Restricted("exact")
    );
    assert_attack_fails(&w, claimed(&w, &c, &policy, &reg));
}

#[test]
fn test_country_only_credential_of_country_with_restricted_subdivision() {
    let policy = sanctions();
    let (w, reg) = witness_for("UA", &policy);
    let c = ctx("bank-a", 1);
    assert_eq!(
        w.evaluate(&c).unwrap_err(),
        KycStatementError::Restricted("exact")
    );
    assert_attack_fails(&w, claimed(&w, &c, &policy, &reg));
    // The same attack with the other neighbouring pair (next == key).
    let key = j("UA").exact_key();
    let mut w2 = w.clone();
    w2.exact = (0..)
        .map_while(|i| policy.pair(i))
        .find(|p| p.next == key)
        .unwrap();
    assert_attack_fails(&w2, claimed(&w2, &c, &policy, &reg));
}

#[test]
fn test_fake_neighbour_pair_not_adjacent() {
    let policy = sanctions();
    let (mut w, reg) = witness_for("UA-43", &policy);
    let key = j("UA-43").exact_key();
    // (k_{i-1}, k_{i+1}) around the listed k_i: low < key < next holds, but the pair is not a
    // leaf. The prover presents it with the path of leaf i-1.
    let i = (0..)
        .map_while(|i| policy.pair(i))
        .position(|p| p.low == key)
        .unwrap();
    let before = policy.pair(i - 1).unwrap();
    let after = policy.pair(i).unwrap();
    w.exact = NonMembership {
        low: before.low,
        next: after.next,
        index: before.index,
        siblings: before.siblings,
    };
    assert!(w.exact.low < key && key < w.exact.next);
    let c = ctx("bank-a", 1);
    assert_eq!(w.evaluate(&c).unwrap_err(), KycStatementError::PolicyRoot);
    assert_attack_fails(&w, claimed(&w, &c, &policy, &reg));
}

#[test]
fn test_expired_credential() {
    let policy = sanctions();
    for expiry in [TODAY, TODAY - 1, 0] {
        let (mut w, _) = witness_for("FR", &policy);
        let reg = registry_with(sk(), w.jurisdiction, expiry);
        w.expiry_day = expiry;
        w.registry_path = reg.path(SERIAL);
        let c = ctx("bank-a", 1);
        assert!(matches!(
            w.evaluate(&c),
            Err(KycStatementError::Expired { .. })
        ));
        let public = claimed(&w, &c, &policy, &reg);
        assert_eq!(public.registry_root, w.evaluate_unchecked(&c).registry_root);
        assert_attack_fails(&w, public);
    }
}

#[test]
fn test_revoked_credential_against_new_root() {
    let policy = sanctions();
    let (w, reg) = witness_for("FR", &policy);
    // The issuer revokes serial 5: its leaf is emptied and a new root is published.
    let mut leaves: Vec<Fr> = (0..8).map(|i| reg.leaf(i)).collect();
    leaves[SERIAL as usize] = Fr::from(0u64);
    let revoked = Registry::new(leaves);
    let c = ctx("bank-a", 1);
    // The old path still leads to the old root, not to the new one.
    let public = claimed(&w, &c, &policy, &revoked);
    assert_ne!(public.registry_root, reg.root());
    assert_attack_fails(&w, public);
}

#[test]
fn test_credential_never_issued() {
    let policy = sanctions();
    let (mut w, _) = witness_for("FR", &policy);
    // The registry does not hold the holder's credential; the prover uses a real path.
    let mut other = registry_with(Fr::from(4242u64), w.jurisdiction, EXPIRY);
    w.registry_path = other.path(SERIAL);
    let c = ctx("bank-a", 1);
    let public = claimed(&w, &c, &policy, &other);
    assert_attack_fails(&w, public);
    // Nor may it claim a serial beyond the issued ones.
    w.serial = 12;
    other = registry_with(Fr::from(4242u64), w.jurisdiction, EXPIRY);
    w.registry_path = other.path(12);
    assert_attack_fails(&w, claimed(&w, &c, &policy, &other));
}

#[test]
fn test_wrong_holder_secret() {
    let policy = sanctions();
    let (mut w, reg) = witness_for("FR", &policy);
    w.sk += Fr::from(1u64);
    let c = ctx("bank-a", 1);
    // The nullifier is the thief's own, consistent with the secret used.
    let public = claimed(&w, &c, &policy, &reg);
    assert_eq!(public.nullifier, nullifier(w.sk, c.scope));
    assert_attack_fails(&w, public);
}

#[test]
fn test_wrong_nullifier() {
    let policy = sanctions();
    let (w, reg) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let mut public = claimed(&w, &c, &policy, &reg);
    public.nullifier = nullifier(Fr::from(99u64), c.scope);
    assert_attack_fails(&w, public);
}

#[test]
fn test_nullifier_for_another_scope() {
    let policy = sanctions();
    let (w, reg) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let mut public = claimed(&w, &c, &policy, &reg);
    public.nullifier = nullifier(w.sk, scope_to_field("bank-b").unwrap());
    assert_attack_fails(&w, public);
}

#[test]
fn test_challenge_swapped() {
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let public = w.evaluate(&c).unwrap();
    let proof = prove(circuit(&w, public), 2);
    assert!(verifies(&proof, &public.to_inputs()));
    let mut inputs = public.to_inputs();
    inputs[IN_CHALLENGE] = challenge_to_field(&[2; 31]);
    assert!(
        !verifies(&proof, &inputs),
        "a proof was replayed under another challenge"
    );
    // A witness for challenge A presented with a claimed challenge B is another, legitimate
    // statement: every challenge is allowed, and only the proof binds it.
    let mut swapped = public;
    swapped.challenge = inputs[IN_CHALLENGE];
    assert!(satisfied(circuit(&w, swapped)));
}

#[test]
fn test_policy_root_swapped() {
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let public = w.evaluate(&c).unwrap();
    // The relying party's policy restricts France: the holder's paths lead to another root.
    let strict = PolicyTree::from_jurisdictions(&[j("FR"), j("CU")]).unwrap();
    let mut swapped = public;
    swapped.policy_root = strict.root();
    assert_attack_fails(&w, swapped);
    // An honest proof under the lenient root does not verify under the strict one.
    let proof = prove(circuit(&w, public), 4);
    let mut inputs = public.to_inputs();
    inputs[IN_POLICY_ROOT] = strict.root();
    assert!(!verifies(&proof, &inputs));
}

#[test]
fn test_today_swapped() {
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let public = w.evaluate(&c).unwrap();
    // Claiming a day on which the credential has expired is unsatisfiable.
    let mut late = public;
    late.today = EXPIRY;
    assert_attack_fails(&w, late);
    // An honest proof from yesterday does not verify as today's.
    let proof = prove(circuit(&w, public), 5);
    let mut inputs = public.to_inputs();
    inputs[IN_TODAY] = Fr::from(TODAY + 1);
    assert!(!verifies(&proof, &inputs));
}

#[test]
fn test_jurisdiction_out_of_range() {
    // A credential (if an issuer signed one) with J >= 2^34 cannot be used: J's country part
    // would not be what the policy keys assume.
    let policy = sanctions();
    let (mut w, _) = witness_for("FR", &policy);
    w.jurisdiction += 1 << 34;
    let reg = registry_with(sk(), w.jurisdiction, EXPIRY);
    w.registry_path = reg.path(SERIAL);
    let key_e = 4 * w.jurisdiction + 1;
    let key_w = 4 * (w.jurisdiction & !0xFF_FFFF) + 2;
    let pad = |key: u64| NonMembership {
        low: key - 1,
        next: key + 1,
        ..policy.pair(0).unwrap()
    };
    w.exact = pad(key_e);
    w.whole = pad(key_w);
    let c = ctx("bank-a", 1);
    assert_eq!(w.evaluate(&c).unwrap_err(), KycStatementError::Jurisdiction);
    assert_attack_fails(&w, claimed(&w, &c, &policy, &reg));
}

#[test]
fn unlinkability_across_and_within_relying_parties() {
    let policy = sanctions();
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
