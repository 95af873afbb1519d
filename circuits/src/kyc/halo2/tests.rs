//! MockProver tests of the Halo2 KYC circuit: the attacks of [`crate::kyc::attacks`], plus
//! two that only this circuit can express (a forged `x_e` cell, forged path index bits), each
//! fail with the exact lookup, gate or copy of the clause they break; honest holders pass at
//! `min_k`. Binding of `challenge` (which only its copy involves) and of each public input to
//! the proof is tested with real proofs in `assay-prover`.

use super::*;
use crate::halo2::testing::failures;
use crate::kyc::attacks::{
    self, assert_attacks_refused, assert_honest_accepted, claimed, ctx, j, registry_with,
    sanctions, sk, witness_for, Attack, Clause, KycBackend, EXPIRY, TODAY,
};
use crate::kyc::{
    challenge_to_field_in, holder_commitment, scope_to_field_in, KycContext, KycPublic, Registry,
};
use crate::StatementField;
use halo2_proofs::dev::MockProver;

fn run_circuit(c: KycHalo2Circuit, public: &KycPublic<Fp>) -> Vec<String> {
    let k = KycHalo2Circuit::<Compact>::min_k();
    failures(&MockProver::run(k, &c, vec![public.to_inputs()]).unwrap())
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

/// What MockProver must report for an attack on `clause`: exactly these failures, or (for a
/// value out of range, whose comparisons fail too) one that contains this.
enum Expect {
    Exactly(Vec<String>),
    Includes(&'static str),
}

fn expected(clause: Clause) -> Expect {
    use Expect::{Exactly, Includes};
    match clause {
        Clause::JurisdictionRange => {
            Includes("Lookup 1 in ('J: country part n < 2^10') at offset 1")
        }
        Clause::TodayRange => Includes("('today < 2^32')"),
        Clause::CredentialUnderRegistry => Exactly(copy_failures("R")),
        Clause::WholeLowBelowKey => Exactly(lookup_failures("whole: low < code", 4)),
        Clause::ExactLowBelowKey => Exactly(lookup_failures("exact: low < code", 4)),
        Clause::ExactKeyBelowNext => Exactly(lookup_failures("exact: code < next", 4)),
        // Only the exact path's root leaves the cycle of P (the whole path is honest).
        Clause::ExactPairUnderPolicy => {
            Exactly(strings(&["Permutation in ('permute state') at offset 36"]))
        }
        Clause::PolicyRoot => Exactly(copy_failures("P")),
        Clause::NotExpired => Exactly(lookup_failures("expiry_day > today", 3)),
        Clause::Nullifier => Exactly(copy_failures("nf")),
        Clause::ExactKeyOfJurisdiction => Exactly(strings(&[
            "Constraint 1 ('x_e = 4 J + 1') in gate 0 ('jurisdiction keys') is not satisfied in \
             ('jurisdiction keys') at offset 0",
        ])),
        Clause::WholeKeyOfCountry => Exactly(strings(&[
            "Constraint 2 ('x_w = 4 n 2^24 + 2') in gate 0 ('jurisdiction keys') is not satisfied \
             in ('jurisdiction keys') at offset 0",
        ])),
        Clause::PathIndexIsSerial => Exactly(strings(&[
            "Permutation in ('serial bits') at offset 32",
            "Permutation in ('serial') at offset 0",
        ])),
    }
}

/// Halo2 (MockProver, [`Compact`] tuning, at `min_k`): the failures name the constraint.
struct MockBackend;

impl MockBackend {
    /// Refuses `attack` synthesized with the malicious prover's `forge`.
    fn refuses_forged(&self, attack: &Attack<Fp>, forge: Forge) -> Result<(), String> {
        let mut c = KycHalo2Circuit::new(Some(attack.witness.clone()));
        c.forge = forge;
        let f = run_circuit(c, &attack.public);
        match expected(attack.clause) {
            Expect::Exactly(e) if f == e => Ok(()),
            Expect::Includes(e) if f.iter().any(|s| s.contains(e)) => Ok(()),
            Expect::Exactly(e) => Err(format!("expected {e:?}, got {f:?}")),
            Expect::Includes(e) => Err(format!("expected {e:?} among {f:?}")),
        }
    }
}

impl KycBackend for MockBackend {
    type F = Fp;

    fn accepts(&self, w: &PastaKycWitness, public: &KycPublic<Fp>) -> Result<(), String> {
        match run_circuit(KycHalo2Circuit::new(Some(w.clone())), public) {
            f if f.is_empty() => Ok(()),
            f => Err(format!("{f:?}")),
        }
    }

    fn refuses(&self, attack: &Attack<Fp>) -> Result<(), String> {
        self.refuses_forged(attack, Forge::Nothing)
    }
}

/// The attacks only this circuit can express: cells the Groth16 circuit computes rather than
/// witnesses.
fn forged_attacks() -> Vec<(Attack<Fp>, Forge)> {
    let policy = sanctions::<Fp>();
    let c = ctx::<Fp>("bank-a", 1);
    // A holder of the restricted UA-43 claims the key of UA-30 in the x_e cell: its
    // neighbours then exist, but the `jurisdiction keys` gate ties x_e to J.
    let (mut w, reg) = witness_for("UA-43", &policy);
    let allowed = j("UA-30").exact_key();
    w.exact = policy.non_membership(allowed).unwrap();
    let forged_key = Attack {
        name: "forged exact key".into(),
        clause: Clause::ExactKeyOfJurisdiction,
        public: claimed(&w, &c, &policy, &reg),
        witness: w,
        native: None,
    };
    // The registry path is walked with the bits of index 4 while the credential names serial
    // 5: the `serial bits` recomposition refuses the path (the root itself matches, as the
    // issuer mistakenly placed the credential at leaf 4).
    let (mut w, _) = witness_for("FR", &policy);
    let mut leaves: Vec<Fp> = (0..8)
        .map(|i| registry_with(sk(), w.jurisdiction, EXPIRY).leaf(i))
        .collect();
    leaves.swap(4, 5);
    let reg = Registry::new(leaves);
    w.registry_path = reg.path(4);
    let other_leaf = Attack {
        name: "credential presented at another leaf".into(),
        clause: Clause::PathIndexIsSerial,
        public: claimed(&w, &c, &policy, &reg),
        witness: w,
        native: None,
    };
    // A holder of IR-01 (Iran wholly restricted) claims the key of J itself, 4·J + 2, in the
    // x_w cell (as if J with its subdivision cleared were J): no policy lists it, so its
    // neighbours exist, but the `jurisdiction keys` gate ties x_w to J's country part.
    let (mut w, reg) = witness_for("IR-01", &policy);
    let own = 4 * w.jurisdiction + 2;
    w.whole = policy.non_membership(own).unwrap();
    let forged_whole = Attack {
        name: "forged whole-country key".into(),
        clause: Clause::WholeKeyOfCountry,
        public: claimed(&w, &c, &policy, &reg),
        witness: w,
        native: None,
    };
    vec![
        (forged_key, Forge::ExactKey(allowed)),
        (forged_whole, Forge::WholeKey(own)),
        (other_leaf, Forge::Index(4)),
    ]
}

#[test]
fn honest_holders_are_satisfied_at_min_k() {
    assert_honest_accepted(&MockBackend);
    assert_eq!(KycHalo2Circuit::<Compact>::min_k(), 11);
    eprintln!(
        "KYC Halo2 (Compact): {} rows in the busiest column, k = {}",
        KycHalo2Circuit::<Compact>::rows(),
        KycHalo2Circuit::<Compact>::min_k()
    );
}

#[test]
fn every_attack_fails_the_constraint_it_targets() {
    assert_attacks_refused(&MockBackend, &attacks::attacks::<Fp>());
}

#[test]
fn every_forged_cell_fails_the_gate_that_ties_it() {
    let (name, w, p) = &attacks::honest::<Fp>()[1];
    assert_eq!(MockBackend.accepts(w, p), Ok(()), "the baseline {name}");
    for (attack, forge) in forged_attacks() {
        assert_eq!(
            MockBackend.refuses_forged(&attack, forge),
            Ok(()),
            "{}",
            attack.name
        );
    }
}

#[test]
fn min_k_is_tight() {
    let (w, _) = witness_for("FR", &sanctions::<Fp>());
    let public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    let c = KycHalo2Circuit::<Compact>::new(Some(w));
    let k = KycHalo2Circuit::<Compact>::min_k();
    assert!(MockProver::run(k - 1, &c, vec![public.to_inputs()]).is_err());
}

#[test]
fn malformed_witness_is_a_synthesis_error_not_a_panic() {
    let (mut w, _) = witness_for("FR", &sanctions::<Fp>());
    let public = w.evaluate(&ctx("bank-a", 1)).unwrap();
    w.registry_path.pop();
    let c = KycHalo2Circuit::<Compact>::new(Some(w));
    assert!(MockProver::run(11, &c, vec![public.to_inputs()]).is_err());
}

/// The same credential on both backends: equal integers (today, `J`, its policy keys), the
/// same verdict for every policy, different hashes.
#[test]
fn both_backends_agree_on_integers_and_verdicts_and_differ_on_hashes() {
    use crate::Fr;
    let bn_policy = sanctions::<Fr>();
    let fp_policy = sanctions::<Fp>();
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
