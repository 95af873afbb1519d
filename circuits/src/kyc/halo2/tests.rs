//! MockProver tests of the Halo2 KYC circuit: honest holders pass at `min_k`, and each attack
//! (the malicious witnesses of the Groth16 tests in `kyc/constraints/tests.rs`) fails with the
//! exact lookup, gate or copy it breaks. Binding of `challenge` (which only its copy involves)
//! and of each public input to the proof is tested with real proofs in `assay-prover`.

use super::*;
use crate::halo2::testing::failures;
use crate::kyc::{
    challenge_to_field_in, credential, holder_commitment, jurisdiction::Jurisdiction, nullifier,
    policy::PolicyTree, scope_to_field_in, KycContext, KycPublic, KycStatementError, Registry,
};
use crate::StatementField;
use halo2_proofs::dev::MockProver;

const TODAY: u64 = 20_415; // 2025-11-23
const EXPIRY: u64 = 20_800;
const SERIAL: u64 = 5;

fn j(code: &str) -> Jurisdiction {
    Jurisdiction::parse(code).unwrap()
}

fn sanctions_in<F: crate::StatementField>() -> PolicyTree<F> {
    let list: Vec<Jurisdiction> = ["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"]
        .iter()
        .map(|c| j(c))
        .collect();
    PolicyTree::from_jurisdictions_in(&list).unwrap()
}

fn sanctions() -> PolicyTree<Fp> {
    sanctions_in()
}

fn sk() -> Fp {
    Fp::from(0x5ec2e7u64)
}

fn ctx(scope: &str, nonce: u8) -> KycContext<Fp> {
    KycContext {
        today: TODAY,
        scope: scope_to_field_in(scope).unwrap(),
        challenge: challenge_to_field_in(&[nonce; 31]),
    }
}

/// A registry of other holders' credentials and, at [`SERIAL`], `(sk, jurisdiction, expiry)`'s.
fn registry_with(sk: Fp, jur: u64, expiry: u64) -> Registry<Fp> {
    let mut leaves: Vec<Fp> = (0..8u64)
        .map(|i| {
            credential(
                holder_commitment(Fp::from(1000 + i)),
                Fp::from(j("FR").packed()),
                Fp::from(EXPIRY),
                Fp::from(i),
            )
        })
        .collect();
    leaves[SERIAL as usize] = credential(
        holder_commitment(sk),
        Fp::from(jur),
        Fp::from(expiry),
        Fp::from(SERIAL),
    );
    Registry::new(leaves)
}

/// The witness of a holder of `code`: honest non-membership witnesses where they exist, else
/// the pair whose `low` is the restricted key (violating `low < key`).
fn witness_for(code: &str, policy: &PolicyTree<Fp>) -> (PastaKycWitness, Registry<Fp>) {
    let jur = j(code);
    let reg = registry_with(sk(), jur.packed(), EXPIRY);
    let nm = |key: u64| {
        policy.non_membership(key).unwrap_or_else(|_| {
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

fn claimed(
    w: &PastaKycWitness,
    c: &KycContext<Fp>,
    policy: &PolicyTree<Fp>,
    reg: &Registry<Fp>,
) -> KycPublic<Fp> {
    let mut p = w.evaluate_unchecked(c);
    p.policy_root = policy.root();
    p.registry_root = reg.root();
    p
}

fn run_circuit(c: KycHalo2Circuit, public: &KycPublic<Fp>) -> Vec<String> {
    let k = KycHalo2Circuit::<Compact>::min_k();
    failures(&MockProver::run(k, &c, vec![public.to_inputs()]).unwrap())
}

fn run(w: &PastaKycWitness, public: &KycPublic<Fp>) -> Vec<String> {
    run_circuit(KycHalo2Circuit::new(Some(w.clone())), public)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The lookups of a failed strict comparison `name` (the difference is "negative").
fn lookup_failures(name: &str, offset: usize) -> Vec<String> {
    strings(&[
        &format!("Lookup 0 in ('{name}: difference range') at offset {offset}"),
        &format!("Lookup 1 in ('{name}: difference range') at offset {offset}"),
    ])
}

/// The copy of a computed root or hash (the output of its last permutation) to the public
/// cell `public`, itself a correct copy of its instance row.
fn copy_failures(public: &str) -> Vec<String> {
    strings(&[
        "Permutation in ('permute state') at offset 36",
        &format!("Permutation in ('public {public}') at offset 0"),
    ])
}

#[test]
fn honest_holders_are_satisfied_at_min_k() {
    let policy = sanctions();
    for code in ["UA-30", "FR", "FR-20R", "GB-ENG"] {
        let (w, reg) = witness_for(code, &policy);
        let public = w.evaluate(&ctx("bank-a", 1)).unwrap();
        assert_eq!(public.policy_root, policy.root());
        assert_eq!(public.registry_root, reg.root());
        assert_eq!(run(&w, &public), Vec::<String>::new(), "{code}");
    }
    assert_eq!(KycHalo2Circuit::<Compact>::min_k(), 11);
    eprintln!(
        "KYC Halo2 (Compact): {} rows in the busiest column, k = {}",
        KycHalo2Circuit::<Compact>::rows(),
        KycHalo2Circuit::<Compact>::min_k()
    );
}

#[test]
fn min_k_is_tight() {
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    let c = KycHalo2Circuit::<Compact>::new(Some(w));
    let k = KycHalo2Circuit::<Compact>::min_k();
    assert!(MockProver::run(k - 1, &c, vec![public.to_inputs()]).is_err());
}

#[test]
fn malformed_witness_is_a_synthesis_error_not_a_panic() {
    let policy = sanctions();
    let (mut w, _) = witness_for("FR", &policy);
    let public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    w.registry_path.pop();
    let c = KycHalo2Circuit::<Compact>::new(Some(w));
    assert!(MockProver::run(11, &c, vec![public.to_inputs()]).is_err());
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
        assert_eq!(
            run(&w, &claimed(&w, &c, &policy, &reg)),
            lookup_failures("whole: low < code", 4),
            "{code}"
        );
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
    assert_eq!(
        run(&w, &claimed(&w, &c, &policy, &reg)),
        lookup_failures("exact: low < code", 4)
    );
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
    assert_eq!(
        run(&w, &claimed(&w, &c, &policy, &reg)),
        lookup_failures("exact: low < code", 4)
    );
    // The other neighbouring pair (next == key).
    let key = j("UA").exact_key();
    let mut w2 = w.clone();
    w2.exact = (0..)
        .map_while(|i| policy.pair(i))
        .find(|p| p.next == key)
        .unwrap();
    assert_eq!(
        run(&w2, &claimed(&w2, &c, &policy, &reg)),
        lookup_failures("exact: code < next", 4)
    );
}

#[test]
fn test_fake_neighbour_pair_not_adjacent() {
    let policy = sanctions();
    let (mut w, reg) = witness_for("UA-43", &policy);
    let key = j("UA-43").exact_key();
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
    assert_eq!(
        run(&w, &claimed(&w, &c, &policy, &reg)),
        // Only the exact path's root leaves the cycle of P (the whole path is honest).
        strings(&["Permutation in ('permute state') at offset 36"])
    );
}

#[test]
fn test_forged_exact_key() {
    // A holder of the restricted UA-43 claims the key of UA-30 in the x_e cell: its
    // neighbours then exist, but the `jurisdiction keys` gate ties x_e to J.
    let policy = sanctions();
    let (mut w, reg) = witness_for("UA-43", &policy);
    let allowed = j("UA-30").exact_key();
    w.exact = policy.non_membership(allowed).unwrap();
    let c = ctx("bank-a", 1);
    let mut circuit = KycHalo2Circuit::new(Some(w.clone()));
    circuit.forge = Forge::ExactKey(allowed);
    assert_eq!(
        run_circuit(circuit, &claimed(&w, &c, &policy, &reg)),
        strings(&[
            "Constraint 1 ('x_e = 4 J + 1') in gate 0 ('jurisdiction keys') is not satisfied in \
             ('jurisdiction keys') at offset 0"
        ])
    );
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
        assert_eq!(
            run(&w, &claimed(&w, &c, &policy, &reg)),
            lookup_failures("expiry_day > today", 3),
            "expiry {expiry}"
        );
    }
}

#[test]
fn test_revoked_credential_against_new_root() {
    let policy = sanctions();
    let (w, reg) = witness_for("FR", &policy);
    let mut leaves: Vec<Fp> = (0..8).map(|i| reg.leaf(i)).collect();
    leaves[SERIAL as usize] = Fp::ZERO;
    let revoked = Registry::new(leaves);
    let c = ctx("bank-a", 1);
    assert_eq!(
        run(&w, &claimed(&w, &c, &policy, &revoked)),
        copy_failures("R")
    );
}

#[test]
fn test_credential_never_issued() {
    let policy = sanctions();
    let (mut w, _) = witness_for("FR", &policy);
    let mut other = registry_with(Fp::from(4242u64), w.jurisdiction, EXPIRY);
    w.registry_path = other.path(SERIAL);
    let c = ctx("bank-a", 1);
    assert_eq!(
        run(&w, &claimed(&w, &c, &policy, &other)),
        copy_failures("R")
    );
    w.serial = 12;
    other = registry_with(Fp::from(4242u64), w.jurisdiction, EXPIRY);
    w.registry_path = other.path(12);
    assert_eq!(
        run(&w, &claimed(&w, &c, &policy, &other)),
        copy_failures("R")
    );
}

#[test]
fn test_credential_presented_at_another_leaf() {
    // The registry path is walked with the bits of index 4 while the credential names serial
    // 5: the `serial bits` recomposition refuses the path (the root itself matches, as the
    // issuer mistakenly placed the credential at leaf 4).
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let mut leaves: Vec<Fp> = (0..8)
        .map(|i| registry_with(sk(), w.jurisdiction, EXPIRY).leaf(i))
        .collect();
    leaves.swap(4, 5);
    let reg = Registry::new(leaves);
    let mut w = w;
    w.registry_path = reg.path(4);
    let c = ctx("bank-a", 1);
    let mut circuit = KycHalo2Circuit::new(Some(w.clone()));
    circuit.forge = Forge::Index(4);
    assert_eq!(
        run_circuit(circuit, &claimed(&w, &c, &policy, &reg)),
        strings(&[
            "Permutation in ('serial bits') at offset 32",
            "Permutation in ('serial') at offset 0",
        ])
    );
}

#[test]
fn test_wrong_holder_secret() {
    let policy = sanctions();
    let (mut w, reg) = witness_for("FR", &policy);
    w.sk += Fp::ONE;
    let c = ctx("bank-a", 1);
    let public = claimed(&w, &c, &policy, &reg);
    assert_eq!(public.nullifier, nullifier(w.sk, c.scope));
    assert_eq!(run(&w, &public), copy_failures("R"));
}

#[test]
fn test_wrong_nullifier() {
    let policy = sanctions();
    let (w, reg) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let mut public = claimed(&w, &c, &policy, &reg);
    public.nullifier = nullifier(Fp::from(99u64), c.scope);
    assert_eq!(run(&w, &public), copy_failures("nf"));
}

#[test]
fn test_nullifier_for_another_scope() {
    let policy = sanctions();
    let (w, reg) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let mut public = claimed(&w, &c, &policy, &reg);
    public.nullifier = nullifier(w.sk, scope_to_field_in("bank-b").unwrap());
    assert_eq!(run(&w, &public), copy_failures("nf"));
}

#[test]
fn test_challenge_swapped_is_another_valid_statement() {
    // Every challenge is allowed: the witness satisfies the circuit under any challenge. The
    // proof binds the one it was made for (see the prover's real-proof tests).
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let mut public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    public.challenge = challenge_to_field_in(&[2; 31]);
    assert_eq!(run(&w, &public), Vec::<String>::new());
}

#[test]
fn test_policy_root_swapped() {
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let mut public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    let strict = PolicyTree::<Fp>::from_jurisdictions_in(&[j("FR"), j("CU")]).unwrap();
    public.policy_root = strict.root();
    assert_eq!(run(&w, &public), copy_failures("P"));
}

#[test]
fn test_today_swapped() {
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let mut late = w.evaluate(&ctx("bank-a", 1)).unwrap();
    late.today = EXPIRY;
    assert_eq!(run(&w, &late), lookup_failures("expiry_day > today", 3));
    // A day beyond 2^32 fails the range of today (and the comparison).
    late.today = 1 << 32;
    let f = run(&w, &late);
    assert!(f.iter().any(|s| s.contains("('today < 2^32')")), "{f:?}");
}

#[test]
fn test_jurisdiction_out_of_range() {
    let policy = sanctions();
    let (mut w, _) = witness_for("FR", &policy);
    w.jurisdiction += 1 << 34;
    let reg = registry_with(sk(), w.jurisdiction, EXPIRY);
    w.registry_path = reg.path(SERIAL);
    let pad = |key: u64| NonMembership {
        low: key - 1,
        next: key + 1,
        ..policy.pair(0).unwrap()
    };
    w.exact = pad(4 * w.jurisdiction + 1);
    w.whole = pad(4 * (w.jurisdiction & !0xFF_FFFF) + 2);
    let c = ctx("bank-a", 1);
    assert_eq!(w.evaluate(&c).unwrap_err(), KycStatementError::Jurisdiction);
    let f = run(&w, &claimed(&w, &c, &policy, &reg));
    assert!(
        f.contains(&"Lookup 1 in ('J: country part n < 2^10') at offset 1".to_string()),
        "{f:?}"
    );
}

/// The same credential on both backends: equal integers (today, `J`, its policy keys), the
/// same verdict for every policy, different hashes.
#[test]
fn both_backends_agree_on_integers_and_verdicts_and_differ_on_hashes() {
    use crate::Fr;
    let bn_policy = sanctions_in::<Fr>();
    let fp_policy = sanctions();
    assert_eq!(bn_policy.len(), fp_policy.len());
    assert_ne!(
        bn_policy.root().to_le_bytes(),
        fp_policy.root().to_le_bytes()
    );
    for code in ["UA-30", "FR", "GB-ENG", "IR", "IR-01", "UA-43", "UA"] {
        let jur = j(code);
        for key in [jur.exact_key(), jur.whole_key()] {
            assert_eq!(
                bn_policy.non_membership(key).is_ok(),
                fp_policy.non_membership(key).is_ok(),
                "{code}"
            );
        }
        let sk_bytes = [7u8; 31];
        let bn_w = KycWitness::<Fr> {
            sk: Fr::from_be31(&sk_bytes),
            jurisdiction: jur.packed(),
            expiry_day: EXPIRY,
            serial: 0,
            registry_path: vec![Fr::from(0u64); REGISTRY_DEPTH],
            exact: bn_policy
                .non_membership(jur.exact_key())
                .unwrap_or_else(|_| bn_policy.pair(0).unwrap()),
            whole: bn_policy
                .non_membership(jur.whole_key())
                .unwrap_or_else(|_| bn_policy.pair(0).unwrap()),
        };
        let fp_w = KycWitness::<Fp> {
            sk: Fp::from_be31(&sk_bytes),
            jurisdiction: jur.packed(),
            expiry_day: EXPIRY,
            serial: 0,
            registry_path: vec![Fp::ZERO; REGISTRY_DEPTH],
            exact: fp_policy
                .non_membership(jur.exact_key())
                .unwrap_or_else(|_| fp_policy.pair(0).unwrap()),
            whole: fp_policy
                .non_membership(jur.whole_key())
                .unwrap_or_else(|_| fp_policy.pair(0).unwrap()),
        };
        assert_eq!(
            bn_w.exact_key().to_le_bytes(),
            fp_w.exact_key().to_le_bytes()
        );
        assert_eq!(
            bn_w.whole_key().to_le_bytes(),
            fp_w.whole_key().to_le_bytes()
        );
        let bn_ctx = KycContext::<Fr> {
            today: TODAY,
            scope: scope_to_field_in("bank-a").unwrap(),
            challenge: challenge_to_field_in(&[1; 31]),
        };
        let fp_ctx = ctx("bank-a", 1);
        let (bn, fp) = (bn_w.evaluate(&bn_ctx), fp_w.evaluate(&fp_ctx));
        assert_eq!(bn.is_ok(), fp.is_ok(), "{code}");
        if let (Ok(bn), Ok(fp)) = (bn, fp) {
            let (bi, fi) = (bn.to_inputs(), fp.to_inputs());
            // today and challenge are the same integers; the hashes differ.
            assert_eq!(bi[IN_TODAY].to_le_bytes(), fi[IN_TODAY].to_le_bytes());
            assert_eq!(
                bi[IN_CHALLENGE].to_le_bytes(),
                fi[IN_CHALLENGE].to_le_bytes()
            );
            for i in [IN_REGISTRY_ROOT, IN_POLICY_ROOT, IN_SCOPE, IN_NULLIFIER] {
                assert_ne!(bi[i].to_le_bytes(), fi[i].to_le_bytes(), "{code} input {i}");
            }
            assert_ne!(
                holder_commitment(bn_w.sk).to_le_bytes(),
                holder_commitment(fp_w.sk).to_le_bytes()
            );
        }
    }
}
