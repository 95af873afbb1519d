//! The KYC AIR's tests: honest presentations, the project's attack list (each malicious trace
//! violates exactly the constraint family it targets, by the debug constraint check, AND its
//! proof is rejected by the verifier), tampered public values and proofs, zero knowledge, and
//! the native twin's agreement with the AIR on random inputs.

use std::collections::BTreeSet;

use super::*;
use crate::solvency::stark::tests::attack;
use crate::solvency::stark::SolvencyStarkProof;
use p3_air::check_all_constraints;

/// 2025-11-23.
const TODAY: u64 = 20_415;
const EXPIRY: u64 = 20_800;
const SERIAL: u64 = 5;

fn j(code: &str) -> Jurisdiction {
    Jurisdiction::parse(code).expect("a valid code")
}

fn policy_of(codes: &[&str]) -> StarkPolicyTree {
    let list: Vec<Jurisdiction> = codes.iter().map(|c| j(c)).collect();
    StarkPolicyTree::from_jurisdictions(&list).expect("a valid list")
}

/// The relying party's sanctions list (as `kyc::attacks`).
fn sanctions() -> StarkPolicyTree {
    policy_of(&["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"])
}

fn sk() -> Digest {
    secret_from_bytes(&[0x5e; 31])
}

fn ctx(scope: &str, nonce: u8) -> KycStarkContext {
    KycStarkContext {
        today: TODAY,
        scope: scope_digest(scope).unwrap(),
        challenge: challenge_digest(&[nonce; 31]),
    }
}

/// Eight credentials of other holders, and at [`SERIAL`] the leaf `ours`.
fn registry_leaf(ours: Digest) -> StarkRegistry {
    let mut leaves: Vec<Digest> = (0..8u64)
        .map(|i| {
            let other = secret_from_bytes(&[i as u8; 31]);
            credential(&holder_commitment(&other), j("FR").packed(), EXPIRY, i)
        })
        .collect();
    leaves[SERIAL as usize] = ours;
    StarkRegistry::new(leaves)
}

fn registry_with(sk: &Digest, jur: u64, expiry: u64) -> StarkRegistry {
    registry_leaf(credential(&holder_commitment(sk), jur, expiry, SERIAL))
}

/// The pair of `policy` that proves `key` absent, or else the pair starting at it.
fn pair_for(policy: &StarkPolicyTree, key: u64) -> StarkNonMembership {
    policy.non_membership(key).unwrap_or_else(|_| {
        (0..)
            .map_while(|i| policy.pair(i))
            .find(|p| p.low == key)
            .expect("a listed key starts a pair")
    })
}

/// The witness of a holder of `code` (see [`pair_for`]) and its registry.
fn witness_for(code: &str, policy: &StarkPolicyTree) -> (KycStarkWitness, StarkRegistry) {
    let jur = j(code).packed();
    let reg = registry_with(&sk(), jur, EXPIRY);
    let w = KycStarkWitness {
        sk: sk(),
        jurisdiction: jur,
        expiry_day: EXPIRY,
        serial: SERIAL,
        registry_path: reg.path(SERIAL),
        exact: pair_for(policy, exact_key(jur)),
        whole: pair_for(policy, whole_key(jur)),
    };
    (w, reg)
}

/// What a prover claims: the witness's values with the real roots of `policy` and `reg`.
fn claimed(
    w: &KycStarkWitness,
    c: &KycStarkContext,
    policy: &StarkPolicyTree,
    reg: &StarkRegistry,
) -> KycStarkPublic {
    let mut p = w.evaluate_unchecked(c);
    p.policy_root = policy.root();
    p.registry_root = reg.root();
    p
}

/// The families whose constraints `trace` violates under `public`.
fn violated(trace: &RowMajorMatrix<Val>, public: &[Val]) -> BTreeSet<Family> {
    Family::ALL
        .iter()
        .filter(|f| {
            !check_all_constraints(&KycStarkAir::only(**f), trace, public, None)
                .failures
                .is_empty()
        })
        .copied()
        .collect()
}

/// Checks that `trace` under `public` violates exactly the families `expected` (none: it is
/// honest) and that a proof of it (made with the constraint check off) verifies iff it is
/// honest.
fn run(name: &str, trace: RowMajorMatrix<Val>, public: &[Val], expected: &[Family]) {
    let fams = violated(&trace, public);
    let want: BTreeSet<Family> = expected.iter().copied().collect();
    assert_eq!(fams, want, "{name}: violated families");
    let values = public.to_vec();
    let out = attack(KycStarkAir::new(), trace, public, &STARK_PARAMS, |bytes| {
        verify_air(&KycStarkAir::new(), KYC_LOG_HEIGHT, bytes, &values).is_ok()
    });
    if expected.is_empty() {
        assert!(out.violated.is_empty() && out.verified, "{name}: {out:?}");
    } else {
        assert!(!out.violated.is_empty(), "{name}: nothing violated");
        assert!(
            !out.verified,
            "{name}: the verifier accepted the malicious proof"
        );
    }
}

/// [`run`] on the trace of `raw` with the public values `public`.
fn run_raw(name: &str, raw: &RawKyc, public: &KycStarkPublic, expected: &[Family]) {
    let (trace, _) = build_trace(raw);
    run(name, trace, &public.to_values(), expected);
}

/// [`run_raw`] on a witness presented with `public`, checking the native twin's verdict too.
fn run_witness(
    name: &str,
    w: &KycStarkWitness,
    c: &KycStarkContext,
    public: &KycStarkPublic,
    native: Option<KycStatementError>,
    expected: &[Family],
) {
    match (native, kyc_statement(w, c)) {
        (Some(e), got) => assert_eq!(got, Err(e), "{name}: native twin"),
        (None, Ok(p)) => assert_ne!(&p, public, "{name}: the native twin agrees"),
        (None, Err(e)) => panic!("{name}: unexpected native error {e}"),
    }
    run_raw(name, &RawKyc::from_witness(w, c), public, expected);
}

// ---- Shape and honest presentations. ----

#[test]
fn layout_and_cost() {
    assert_eq!(P2_COLS, 164);
    assert_eq!(USED_ROWS, 70);
    assert_eq!(KYC_WIDTH, 293);
    assert_eq!(kyc_trace_shape(), (128, 293, 70));
    assert_eq!(KycStarkAir::new().width(), KYC_WIDTH);
    // Every range-checked limb has its own row among the 70.
    assert!(RANGES.len() <= USED_ROWS);
    assert!(RANGES.iter().all(|(_, bits)| *bits <= RANGE_BITS));
}

#[test]
fn security_level_is_at_least_100_bits() {
    let sec = kyc_security(&STARK_PARAMS).unwrap();
    println!("KYC AIR: {sec:?}");
    assert!(sec.conjectured_bits >= 100, "{sec:?}");
    assert_eq!(sec.degree_bits, KYC_LOG_HEIGHT + 1);
}

#[test]
fn hashes_are_domain_separated_and_trees_agree() {
    let s = sk();
    assert_ne!(
        holder_commitment(&s),
        nullifier(&s, &scope_digest("x").unwrap())
    );
    assert_ne!(
        nullifier(&s, &scope_digest("bank-a").unwrap()),
        nullifier(&s, &scope_digest("bank-b").unwrap())
    );
    assert_ne!(challenge_digest(&[1; 31]), challenge_digest(&[2; 31]));
    assert!(scope_digest("").is_err());
    // Registry paths lead to the root; a revoked leaf moves it.
    let reg = registry_with(&s, j("FR").packed(), EXPIRY);
    for serial in 0..8 {
        assert_eq!(
            root_from_path(&reg.leaf(serial), serial, &reg.path(serial)),
            reg.root()
        );
    }
    assert_eq!(
        StarkRegistry::new(vec![]).root(),
        StarkRegistry::new(vec![EMPTY]).root()
    );
    // The policy tree refuses listed keys and proves the others.
    let p = sanctions();
    assert!(p.non_membership(whole_key(j("IR").packed())).is_err());
    assert!(p.non_membership(exact_key(j("UA-43").packed())).is_err());
    assert!(p.non_membership(exact_key(j("UA").packed())).is_err());
    let nm = p.non_membership(exact_key(j("FR").packed())).unwrap();
    assert_eq!(policy_root_of(&nm), p.root());
    assert!(StarkPolicyTree::from_keys(vec![0]).is_err());
    assert!(StarkPolicyTree::from_keys(vec![KEY_MAX]).is_err());
}

#[test]
fn honest_presentations_satisfy_every_constraint() {
    let policy = sanctions();
    for code in ["UA-30", "FR", "FR-20R", "GB-ENG"] {
        let (w, reg) = witness_for(code, &policy);
        let c = ctx("bank-a", 1);
        let public = kyc_statement(&w, &c).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(public, claimed(&w, &c, &policy, &reg), "{code}");
        let (trace, traced) = build_trace(&RawKyc::from_witness(&w, &c));
        assert_eq!(traced, public, "{code}: trace and twin");
        assert!(
            violated(&trace, &public.to_values()).is_empty(),
            "{code}: an honest trace violates a constraint"
        );
    }
    // The attack harness itself accepts an honest trace (its proof verifies).
    let (w, _) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let public = kyc_statement(&w, &c).unwrap();
    run_raw("honest FR", &RawKyc::from_witness(&w, &c), &public, &[]);
}

#[test]
fn valid_proof_verifies_and_proofs_are_randomized() {
    let policy = sanctions();
    let (w, _) = witness_for("UA-30", &policy);
    let c = ctx("bank-a", 7);
    let (p1, public) = prove_kyc(&w, &c).unwrap();
    verify_kyc(&p1, &public).unwrap();
    let (p2, public2) = prove_kyc(&w, &c).unwrap();
    assert_eq!(public, public2);
    assert_ne!(p1, p2, "two proofs of the same witness are equal");
    verify_kyc(&p2, &public).unwrap();
    // Neither the secret nor the credential's hidden values appear in the proof bytes.
    let contains = |needle: &[u8]| p1.windows(needle.len()).any(|x| x == needle);
    let words = |d: &[Val]| -> Vec<u8> {
        let enc = postcard::to_allocvec(&d.to_vec()).unwrap();
        enc[1..].to_vec()
    };
    assert!(!contains(&words(&sk())), "sk in the proof");
    assert!(
        !contains(&words(&holder_commitment(&sk()))),
        "hid in the proof"
    );
    assert!(!contains(&words(&w.credential())), "cred in the proof");
    println!("KYC proof: {} bytes", p1.len());
}

#[test]
fn an_invalid_witness_is_refused_before_proving() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    let (w, _) = witness_for("IR", &policy);
    assert_eq!(
        prove_kyc(&w, &c),
        Err(KycStarkError::Statement(KycStatementError::Restricted(
            "whole"
        )))
    );
    let (mut w, _) = witness_for("FR", &policy);
    w.registry_path.pop();
    assert_eq!(
        prove_kyc(&w, &c),
        Err(KycStarkError::Statement(KycStatementError::PathLength(31)))
    );
}

#[test]
fn tampered_public_values_are_rejected() {
    let policy = sanctions();
    let (w, _) = witness_for("FR", &policy);
    let c = ctx("bank-a", 1);
    let (bytes, public) = prove_kyc(&w, &c).unwrap();
    verify_kyc(&bytes, &public).unwrap();
    let bump = |d: &Digest, i: usize| {
        let mut d = *d;
        d[i] += Val::ONE;
        d
    };
    let cases: Vec<(&str, KycStarkPublic)> = vec![
        (
            "registry root",
            KycStarkPublic {
                registry_root: bump(&public.registry_root, 0),
                ..public
            },
        ),
        (
            "policy root",
            KycStarkPublic {
                policy_root: bump(&public.policy_root, 7),
                ..public
            },
        ),
        (
            "today + 1",
            KycStarkPublic {
                today: TODAY + 1,
                ..public
            },
        ),
        (
            "today - 1",
            KycStarkPublic {
                today: TODAY - 1,
                ..public
            },
        ),
        (
            "today + 2^16",
            KycStarkPublic {
                today: TODAY + (1 << 16),
                ..public
            },
        ),
        (
            "scope",
            KycStarkPublic {
                scope: scope_digest("bank-b").unwrap(),
                ..public
            },
        ),
        (
            "challenge",
            KycStarkPublic {
                challenge: challenge_digest(&[2; 31]),
                ..public
            },
        ),
        (
            "nullifier",
            KycStarkPublic {
                nullifier: bump(&public.nullifier, 3),
                ..public
            },
        ),
    ];
    for (name, p) in cases {
        assert!(
            matches!(verify_kyc(&bytes, &p), Err(StarkError::Rejected(_))),
            "{name}: not rejected"
        );
    }
    assert!(matches!(
        verify_kyc(
            &bytes,
            &KycStarkPublic {
                today: 1 << 32,
                ..public
            }
        ),
        Err(StarkError::Shape(_))
    ));
}

#[test]
fn truncated_flipped_and_garbage_proofs_are_errors_not_panics() {
    let policy = sanctions();
    let (w, _) = witness_for("GB-ENG", &policy);
    let c = ctx("bank-a", 1);
    let (bytes, public) = prove_kyc(&w, &c).unwrap();
    for cut in [
        0,
        1,
        7,
        100,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        assert!(
            verify_kyc(&bytes[..cut], &public).is_err(),
            "truncated at {cut}"
        );
    }
    let step = (bytes.len() / 61).max(1);
    for i in (0..bytes.len()).step_by(step) {
        let mut t = bytes.clone();
        t[i] ^= 0x5a;
        assert!(verify_kyc(&t, &public).is_err(), "flip at {i} accepted");
    }
    assert!(verify_kyc(&[0xff; 64], &public).is_err());
    assert!(verify_kyc(&[], &public).is_err());
    // A decoded proof of another shape: an error before the library verifier.
    let mut p: SolvencyStarkProof = postcard::from_bytes(&bytes).unwrap();
    p.degree_bits += 1;
    let enc = postcard::to_allocvec(&p).unwrap();
    assert!(matches!(
        verify_kyc(&enc, &public),
        Err(StarkError::Malformed(_))
    ));
    let mut p: SolvencyStarkProof = postcard::from_bytes(&bytes).unwrap();
    p.opened_values.trace_local.pop();
    let enc = postcard::to_allocvec(&p).unwrap();
    assert!(matches!(
        verify_kyc(&enc, &public),
        Err(StarkError::Malformed(_))
    ));
    // A proof under other parameters (fewer queries, no grinding): refused.
    let weak = StarkParams {
        num_queries: 20,
        query_pow_bits: 0,
        batch_pow_bits: 0,
        ..STARK_PARAMS
    };
    let (trace, _) = build_trace(&RawKyc::from_witness(&w, &c));
    let proof = prove(
        &stark_config(&weak, None),
        &KycStarkAir::new(),
        trace,
        &public.to_values(),
    )
    .unwrap();
    let enc = postcard::to_allocvec(&proof).unwrap();
    assert!(
        verify_kyc(&enc, &public).is_err(),
        "weak parameters accepted"
    );
    // A proof of the solvency batch AIR is not a KYC proof.
    let batch = crate::solvency::stark::tests::test_batch(1, 3);
    let (other, _) = crate::solvency::stark::prove_batch(&batch).unwrap();
    assert!(verify_kyc(&other, &public).is_err());
}

// ---- The attack list (`kyc::attacks`), one family each. ----

#[test]
fn wrong_secret_for_the_holder_commitment_fails() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    // A thief with another secret and its own (consistent) nullifier: the credential it
    // hashes is not in the registry.
    let (mut w, reg) = witness_for("FR", &policy);
    w.sk[0] += Val::ONE;
    let public = claimed(&w, &c, &policy, &reg);
    run_witness(
        "wrong holder secret",
        &w,
        &c,
        &public,
        None,
        &[Family::RegistryRoot],
    );
    // The nullifier computed with another secret than the credential's.
    // The honest trace, whose second nullifier row absorbs another secret.
    let (w, reg) = witness_for("FR", &policy);
    let (mut trace, _) = build_trace(&RawKyc::from_witness(&w, &c));
    let mut other = sk();
    other[3] += Val::ONE;
    let first = permute(null_input(&c.scope));
    fill_perms(
        &mut trace.values,
        ROW_NULL2,
        vec![null2_input(&other, &first)],
    );
    let mut public = claimed(&w, &c, &policy, &reg);
    public.nullifier = nullifier(&other, &c.scope);
    run(
        "nullifier of another secret than hid's",
        trace,
        &public.to_values(),
        &[Family::Holder],
    );
}

#[test]
fn wrong_credential_field_fails() {
    // The registry holds a credential for IR (restricted); the witness cells say FR (which
    // passes the policy); the credential row hashes IR's limbs.
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    let ir = j("IR").packed();
    let reg = registry_with(&sk(), ir, EXPIRY);
    let (mut w, _) = witness_for("FR", &policy);
    w.registry_path = reg.path(SERIAL);
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.cred = cred_limbs(ir, EXPIRY, SERIAL);
    let public = claimed(&w, &c, &policy, &reg);
    run_raw(
        "credential of another jurisdiction",
        &raw,
        &public,
        &[Family::Credential],
    );
    // The same with the expiry: the registry's credential expired, the cells say it did not.
    let reg = registry_with(&sk(), j("FR").packed(), TODAY - 3);
    let (mut w, _) = witness_for("FR", &policy);
    w.registry_path = reg.path(SERIAL);
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.cred = cred_limbs(w.jurisdiction, TODAY - 3, SERIAL);
    let public = claimed(&w, &c, &policy, &reg);
    run_raw(
        "credential of another expiry",
        &raw,
        &public,
        &[Family::Credential],
    );
}

#[test]
fn wrong_registry_path_fails() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    let (w, reg) = witness_for("FR", &policy);
    let public = claimed(&w, &c, &policy, &reg);
    // A wrong sibling.
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.reg_path[7][2] += Val::ONE;
    run_raw("wrong sibling", &raw, &public, &[Family::RegistryRoot]);
    // A flipped direction bit, with the serial's limbs unchanged, presented with the root
    // the flipped path reaches: only the serial's recomposition fails.
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.dirs[2] = Val::ONE - raw.dirs[2];
    let (trace, reached) = build_trace(&raw);
    assert_ne!(reached.registry_root, public.registry_root);
    let moved = KycStarkPublic {
        registry_root: reached.registry_root,
        ..public
    };
    run(
        "flipped direction bit",
        trace,
        &moved.to_values(),
        &[Family::Serial],
    );
    // A high direction bit (serial 5 + 2^20 against a cell of serial 5).
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.dirs[20] = Val::ONE;
    let (trace, reached) = build_trace(&raw);
    let moved = KycStarkPublic {
        registry_root: reached.registry_root,
        ..public
    };
    run(
        "high direction bit",
        trace,
        &moved.to_values(),
        &[Family::Serial],
    );
    // A direction bit of 2.
    let (mut trace, _) = build_trace(&RawKyc::from_witness(&w, &c));
    trace.values[100 * KYC_WIDTH + C_DIR] = Val::TWO;
    run(
        "direction bit 2",
        trace,
        &public.to_values(),
        &[Family::Path],
    );
    // Another registry root.
    let other = registry_with(&sk(), j("DE").packed(), EXPIRY);
    let swapped = KycStarkPublic {
        registry_root: other.root(),
        ..public
    };
    run_raw(
        "registry root swapped",
        &RawKyc::from_witness(&w, &c),
        &swapped,
        &[Family::RegistryRoot],
    );
}

#[test]
fn revoked_and_never_issued_credentials_fail() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    // Revocation empties the leaf and publishes a new root; the old path leads to the old one.
    let (w, reg) = witness_for("FR", &policy);
    let mut leaves: Vec<Digest> = (0..8).map(|i| reg.leaf(i)).collect();
    leaves[SERIAL as usize] = EMPTY;
    let revoked = StarkRegistry::new(leaves);
    let public = claimed(&w, &c, &policy, &revoked);
    run_witness(
        "revoked credential",
        &w,
        &c,
        &public,
        None,
        &[Family::RegistryRoot],
    );
    // A registry that never issued the holder's credential, at its serial and beyond.
    for serial in [SERIAL, 12] {
        let (mut w, _) = witness_for("FR", &policy);
        let other = registry_with(&secret_from_bytes(&[42; 31]), w.jurisdiction, EXPIRY);
        w.serial = serial;
        w.registry_path = other.path(serial);
        let public = claimed(&w, &c, &policy, &other);
        run_witness(
            &format!("never issued (serial {serial})"),
            &w,
            &c,
            &public,
            None,
            &[Family::RegistryRoot],
        );
    }
}

#[test]
fn restricted_jurisdictions_fail() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    // Presented with the pair that starts at their listed key: low == key, so x - low - 1 is
    // -1 and its high limb p - 1 is not a 10-bit limb.
    for (code, which) in [
        ("IR", "whole"),
        ("IR-01", "whole"),
        ("UA-43", "exact"),
        ("UA", "exact"),
    ] {
        let (w, reg) = witness_for(code, &policy);
        let public = claimed(&w, &c, &policy, &reg);
        run_witness(
            &format!("restricted {code}"),
            &w,
            &c,
            &public,
            Some(KycStatementError::Restricted(which)),
            &[Family::Range],
        );
    }
    // The country-only UA credential with the pair that ends at its key (next == key).
    let (mut w, reg) = witness_for("UA", &policy);
    let key = exact_key(w.jurisdiction);
    w.exact = (0..)
        .map_while(|i| policy.pair(i))
        .find(|p| p.next == key)
        .unwrap();
    let public = claimed(&w, &c, &policy, &reg);
    run_witness(
        "country-only UA (next == key)",
        &w,
        &c,
        &public,
        Some(KycStatementError::Restricted("exact")),
        &[Family::Range],
    );
    // The difference limbs forged in range (0): only the order equations fail.
    let (w, reg) = witness_for("UA-43", &policy);
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.w[W_POL[0]..W_POL[0] + 3].copy_from_slice(&[Val::ZERO; 3]);
    let public = claimed(&w, &c, &policy, &reg);
    run_raw(
        "UA-43 with forged difference limbs",
        &raw,
        &public,
        &[Family::PolicyOrder],
    );
    // A carry wrap: the country-only UA credential with the pair that ends at its key
    // (next == x, so next - x - 1 = -1) and the borrow -127 instead of 1. As 127 * 2^26 =
    // 4 (p - 1), the equations give the limbs 3 and 127, both in range: without the borrow's
    // booleanity a listed key would pass. Only the borrow's booleanity fails.
    let (mut w, reg) = witness_for("UA", &policy);
    let key = exact_key(w.jurisdiction);
    w.exact = (0..)
        .map_while(|i| policy.pair(i))
        .find(|p| p.next == key)
        .unwrap();
    let mut raw = RawKyc::from_witness(&w, &c);
    let at = W_POL[0] + 3;
    raw.w[at..at + 3].copy_from_slice(&[v(3), v(127), Val::ZERO - v(127)]);
    let public = claimed(&w, &c, &policy, &reg);
    run_raw(
        "listed key by a wrapped borrow",
        &raw,
        &public,
        &[Family::PolicyOrder],
    );
}

/// DESIGN §2: a country-only `UA` credential fails a policy that restricts `UA-43`, while
/// another subdivision of `UA` passes.
#[test]
fn country_only_credential_fails_a_policy_restricting_a_subdivision() {
    let policy = policy_of(&["UA-43"]);
    let c = ctx("bank-a", 1);
    let (w, _) = witness_for("UA-30", &policy);
    let public = kyc_statement(&w, &c).unwrap();
    run_raw(
        "UA-30 under [UA-43]",
        &RawKyc::from_witness(&w, &c),
        &public,
        &[],
    );
    let (w, reg) = witness_for("UA", &policy);
    let public = claimed(&w, &c, &policy, &reg);
    run_witness(
        "country-only UA under [UA-43]",
        &w,
        &c,
        &public,
        Some(KycStatementError::Restricted("exact")),
        &[Family::Range],
    );
    // And no pair of the tree brackets UA's exact key.
    assert!(policy.non_membership(exact_key(j("UA").packed())).is_err());
}

#[test]
fn fake_neighbour_pairs_fail() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    let key = exact_key(j("UA-43").packed());
    let i = (0..)
        .map_while(|i| policy.pair(i))
        .position(|p| p.low == key)
        .unwrap();
    // (k_{i-1}, k_{i+1}) around the listed k_i, with the path of leaf i-1.
    let (mut w, reg) = witness_for("UA-43", &policy);
    let before = policy.pair(i - 1).unwrap();
    let after = policy.pair(i).unwrap();
    w.exact = StarkNonMembership {
        low: before.low,
        next: after.next,
        ..before
    };
    let public = claimed(&w, &c, &policy, &reg);
    run_witness(
        "fake pair, not adjacent",
        &w,
        &c,
        &public,
        Some(KycStatementError::PolicyRoot),
        &[Family::PolicyRoot],
    );
    // A fabricated pair (key - 1, key + 1) with a real path.
    let (mut w, reg) = witness_for("UA-43", &policy);
    w.exact = StarkNonMembership {
        low: key - 1,
        next: key + 1,
        ..policy.pair(0).unwrap()
    };
    let public = claimed(&w, &c, &policy, &reg);
    run_witness(
        "fabricated pair",
        &w,
        &c,
        &public,
        Some(KycStatementError::PolicyRoot),
        &[Family::PolicyRoot],
    );
    // The relying party's policy restricts FR; the holder's paths lead to the lenient root.
    let (w, _) = witness_for("FR", &policy);
    let strict = policy_of(&["FR", "CU"]);
    let honest = kyc_statement(&w, &c).unwrap();
    let swapped = KycStarkPublic {
        policy_root: strict.root(),
        ..honest
    };
    run_witness(
        "policy root swapped",
        &w,
        &c,
        &swapped,
        None,
        &[Family::PolicyRoot],
    );
    // The whole key's path to another root than the exact key's.
    let (mut w, _) = witness_for("FR", &policy);
    let lenient = policy_of(&["CU"]);
    w.whole = lenient.non_membership(whole_key(w.jurisdiction)).unwrap();
    let public = kyc_statement(&witness_for("FR", &policy).0, &c).unwrap();
    run_witness(
        "whole key under another root",
        &w,
        &c,
        &public,
        Some(KycStatementError::PolicyRoot),
        &[Family::PolicyRoot],
    );
}

#[test]
fn expired_credentials_fail() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    for expiry in [TODAY, TODAY - 1, 0] {
        let (mut w, _) = witness_for("FR", &policy);
        let reg = registry_with(&sk(), w.jurisdiction, expiry);
        w.expiry_day = expiry;
        w.registry_path = reg.path(SERIAL);
        let public = claimed(&w, &c, &policy, &reg);
        run_witness(
            &format!("expired (expiry day {expiry})"),
            &w,
            &c,
            &public,
            Some(KycStatementError::Expired {
                expiry_day: expiry,
                today: TODAY,
            }),
            &[Family::Range],
        );
    }
    // expiry == today with the difference forged to 0 (in range): only the equation fails.
    let (mut w, _) = witness_for("FR", &policy);
    let reg = registry_with(&sk(), w.jurisdiction, TODAY);
    w.expiry_day = TODAY;
    w.registry_path = reg.path(SERIAL);
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.w[W_ED..W_ED + 3].copy_from_slice(&[Val::ZERO; 3]);
    let public = claimed(&w, &c, &policy, &reg);
    run_raw(
        "expired, forged difference",
        &raw,
        &public,
        &[Family::Expiry],
    );
    // A carry wrap: the borrow -32,512 (2^16 * 32,512 = p - 1) makes the expired
    // difference's limbs 0 and 32,512, both in range; only the borrow's booleanity fails.
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.w[W_ED..W_ED + 3].copy_from_slice(&[Val::ZERO, v(32_512), Val::ZERO - v(32_512)]);
    run_raw("expired, wrapped borrow", &raw, &public, &[Family::Expiry]);
    // A day on which the credential has expired.
    let (w, _) = witness_for("FR", &policy);
    let late = KycStarkContext { today: EXPIRY, ..c };
    let public = kyc_statement(&w, &c).unwrap();
    let public = KycStarkPublic {
        today: EXPIRY,
        ..public
    };
    run_witness(
        "today swapped to the expiry day",
        &w,
        &late,
        &public,
        Some(KycStatementError::Expired {
            expiry_day: EXPIRY,
            today: EXPIRY,
        }),
        &[Family::Range],
    );
}

#[test]
fn limbs_out_of_range_fail() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    // today = 2^32 (its high limb 2^16): refused natively, and the limb is not 16 bits.
    let (w, reg) = witness_for("FR", &policy);
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.w[W_T_LO] = Val::ZERO;
    raw.w[W_T_HI] = Val::from_u32(1 << 16);
    raw.settle();
    let mut values = claimed(&w, &c, &policy, &reg).to_values();
    values[PUB_TODAY] = Val::ZERO;
    values[PUB_TODAY + 1] = Val::from_u32(1 << 16);
    let (trace, _) = build_trace(&raw);
    run("today = 2^32", trace, &values, &[Family::Range]);
    assert_eq!(
        kyc_statement(
            &w,
            &KycStarkContext {
                today: 1 << 32,
                ..c
            }
        ),
        Err(KycStatementError::Range("today"))
    );
    // J >= 2^34 (a credential an issuer should never sign), with the tree's last pair.
    let (mut w, _) = witness_for("FR", &policy);
    w.jurisdiction += 1 << 34;
    let reg = registry_with(&sk(), w.jurisdiction, EXPIRY);
    w.registry_path = reg.path(SERIAL);
    let last = (0..).map_while(|i| policy.pair(i)).last().unwrap();
    w.exact = last.clone();
    w.whole = last;
    let public = claimed(&w, &c, &policy, &reg);
    run_witness(
        "jurisdiction out of range",
        &w,
        &c,
        &public,
        Some(KycStatementError::Jurisdiction),
        &[Family::Range],
    );
    // A carry moved between J's limbs: (j_hi - 1, j_lo + 2^24) is the same integer, but its
    // whole-country key would be another country's, so IR's whole-country restriction would
    // be skipped. Even with a registry leaf of these limbs, only the range check refuses it.
    let (w, _) = witness_for("FR", &policy);
    let ir = j("IR").packed();
    let (hi, lo) = (ir >> SUFFIX_BITS, ir & ((1 << SUFFIX_BITS) - 1));
    let limbs = [
        v(hi - 1),
        v(lo + (1 << SUFFIX_BITS)),
        v(EXPIRY & 0xffff),
        v(EXPIRY >> 16),
        v(SERIAL),
        Val::ZERO,
    ];
    let leaf = head(&permute(cred_input(&holder_commitment(&sk()), &limbs)));
    let reg = registry_leaf(leaf);
    let mut raw = RawKyc::from_witness(&w, &c);
    raw.cred = limbs;
    raw.w[W_J_HI] = limbs[0];
    raw.w[W_J_LO] = limbs[1];
    raw.reg_path = reg.path(SERIAL);
    let whole_int = ((hi - 1) << KEY_LO_BITS) | TAG_WHOLE;
    let exact_int = exact_key(ir);
    let pe = policy.non_membership(exact_int).unwrap();
    let pw = policy.non_membership(whole_int).unwrap();
    assert!(
        policy.non_membership(whole_key(ir)).is_err(),
        "IR is restricted"
    );
    for (k, nm) in [pe, pw].into_iter().enumerate() {
        raw.pol[k].low = key_limbs(nm.low);
        raw.pol[k].next = key_limbs(nm.next);
        raw.pol[k].bits = core::array::from_fn(|h| v((nm.index >> h) & 1));
        raw.pol[k].siblings = nm.siblings;
    }
    raw.settle();
    let (trace, traced) = build_trace(&raw);
    assert_eq!(traced.registry_root, reg.root());
    assert_eq!(traced.policy_root, policy.root());
    run(
        "carry moved into J's low limb",
        trace,
        &traced.to_values(),
        &[Family::Range],
    );
}

#[test]
fn nullifier_and_scope_are_bound() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    let (w, reg) = witness_for("FR", &policy);
    let honest = claimed(&w, &c, &policy, &reg);
    let cases = [
        (
            "wrong nullifier",
            KycStarkPublic {
                nullifier: nullifier(&secret_from_bytes(&[9; 31]), &c.scope),
                ..honest
            },
        ),
        (
            "nullifier for another scope",
            KycStarkPublic {
                nullifier: nullifier(&sk(), &scope_digest("bank-b").unwrap()),
                ..honest
            },
        ),
        (
            "scope swapped (the nullifier of bank-a shown to bank-b)",
            KycStarkPublic {
                scope: scope_digest("bank-b").unwrap(),
                ..honest
            },
        ),
    ];
    for (name, public) in cases {
        run_raw(
            name,
            &RawKyc::from_witness(&w, &c),
            &public,
            &[Family::Nullifier],
        );
    }
}

#[test]
fn challenge_is_bound() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    let (w, reg) = witness_for("FR", &policy);
    let public = KycStarkPublic {
        challenge: challenge_digest(&[2; 31]),
        ..claimed(&w, &c, &policy, &reg)
    };
    run_raw(
        "challenge swapped",
        &RawKyc::from_witness(&w, &c),
        &public,
        &[Family::Challenge],
    );
    // Any challenge is allowed: the same witness under challenge 2 is honest.
    let c2 = ctx("bank-a", 2);
    let p2 = kyc_statement(&w, &c2).unwrap();
    assert_eq!(p2, public);
}

#[test]
fn row_positions_and_constant_cells_are_bound() {
    let policy = sanctions();
    let c = ctx("bank-a", 1);
    let (w, reg) = witness_for("FR", &policy);
    let public = claimed(&w, &c, &policy, &reg).to_values();
    // The credential row's position cleared (to skip its constraints).
    let (mut t, _) = build_trace(&RawKyc::from_witness(&w, &c));
    t.values[ROW_CRED * KYC_WIDTH + C_POS + ROW_CRED] = Val::ZERO;
    run(
        "credential row position cleared",
        t,
        &public,
        &[Family::Position],
    );
    // A credential for IR (restricted) in the registry rows, the policy rows of FR: the
    // witness cells change between them.
    let (wi, regi) = witness_for("IR", &policy);
    let fr = RawKyc::from_witness(&w, &c);
    let mut ir = RawKyc::from_witness(&wi, &c);
    // The cells checked in the policy rows (FR's differences) are the same in both regions.
    ir.w[W_POL[0]..W_CHAL].copy_from_slice(&fr.w[W_POL[0]..W_CHAL]);
    let (ti, _) = build_trace(&ir);
    let (mut t, _) = build_trace(&fr);
    let split = ROW_LEAF[0] * KYC_WIDTH;
    t.values[..split].copy_from_slice(&ti.values[..split]);
    let mut public = claimed(&w, &c, &policy, &reg);
    public.registry_root = regi.root();
    // The range rows (0..16) now check IR's cells, which are in range; only constancy fails.
    run(
        "witness cells switched between the registry and the policy rows",
        t,
        &public.to_values(),
        &[Family::Constant],
    );
}

// ---- The native twin and the AIR agree. ----

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn native_twin_and_air_agree_on_random_inputs() {
    let policy = sanctions();
    let codes = [
        "FR", "FR-20R", "UA", "UA-30", "UA-43", "IR", "IR-01", "GB-ENG", "CU", "US-NY", "DE",
    ];
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..48 {
        let code = codes[rng.below(codes.len() as u64) as usize];
        let jur = j(code).packed();
        let serial = rng.below(1 << 32);
        let expiry = TODAY - 3 + rng.below(7);
        let today = TODAY - 2 + rng.below(4);
        let s = secret_from_bytes(&[(round % 251) as u8; 31]);
        let own = credential(&holder_commitment(&s), jur, expiry, serial);
        // A registry holding the credential (or, one time in five, another one).
        let leaf = if rng.below(5) == 0 {
            credential(&holder_commitment(&s), jur, expiry + 1, serial)
        } else {
            own
        };
        let w = KycStarkWitness {
            sk: s,
            jurisdiction: jur,
            expiry_day: expiry,
            serial,
            registry_path: (0..REGISTRY_DEPTH)
                .map(|h| [v(rng.below(1 << 30) + h as u64); DIGEST_ELEMS])
                .collect(),
            exact: pair_for(&policy, exact_key(jur)),
            whole: pair_for(&policy, whole_key(jur)),
        };
        let registry_root = root_from_path(&leaf, serial, &w.registry_path);
        let c = KycStarkContext {
            today,
            scope: scope_digest(&format!("rp-{round}")).unwrap(),
            challenge: challenge_digest(&[round as u8; 31]),
        };
        let mut public = w.evaluate_unchecked(&c);
        public.registry_root = registry_root;
        public.policy_root = policy.root();
        let native = matches!(kyc_statement(&w, &c), Ok(p) if p == public);
        let (trace, traced) = build_trace(&RawKyc::from_witness(&w, &c));
        let air = violated(&trace, &public.to_values()).is_empty();
        assert_eq!(
            native, air,
            "round {round}: {code}, expiry {expiry}, today {today}"
        );
        if native {
            assert_eq!(traced, public);
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        accepted > 5 && refused > 5,
        "{accepted} accepted, {refused} refused"
    );
}
