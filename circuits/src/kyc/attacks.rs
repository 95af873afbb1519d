//! The malicious KYC witnesses, written once over any [`StatementField`] and run against every
//! backend (as arkworks' groth16 runs one generic test per curve).
//!
//! Each attack is a mutation of an honest holder's witness (or of the public inputs it claims)
//! that breaks one clause of the statement (items 1–6 of [`super`]), named by its [`Clause`].
//! A backend implements [`KycBackend`]: it accepts a presentation (`accepts`) or refuses it *by
//! the constraint of that clause* (`refuses`); [`assert_honest_accepted`] and
//! [`assert_attacks_refused`] run the one list against it. Attacks only one backend can express
//! (a cell the other does not have) are that backend's additions, run by the same harness.
//! The native twin's verdict on every attack is tested here.

use super::{
    challenge_to_field_in, credential, holder_commitment,
    jurisdiction::Jurisdiction,
    nullifier,
    policy::{NonMembership, PolicyTree},
    scope_to_field_in, KycContext, KycPublic, KycStatementError, KycWitness, Registry,
};
use crate::harness::{assert_all_ok, assert_named_once};
use crate::StatementField;

/// 2025-11-23.
pub(crate) const TODAY: u64 = 20_415;
/// The honest credential's expiry day.
pub(crate) const EXPIRY: u64 = 20_800;
/// The honest credential's serial (its registry leaf).
pub(crate) const SERIAL: u64 = 5;

fn fe<F: StatementField>(v: u64) -> F {
    F::from_u128(v.into())
}

/// The jurisdiction of an ISO code.
pub(crate) fn j(code: &str) -> Jurisdiction {
    Jurisdiction::parse(code).expect("a valid code")
}

/// The relying party's policy: a sanctions list with countries and subdivisions.
pub(crate) fn sanctions<F: StatementField>() -> PolicyTree<F> {
    let list: Vec<Jurisdiction> = ["CU", "IR", "KP", "SY", "UA-43", "UA-14", "UA-09"]
        .iter()
        .map(|c| j(c))
        .collect();
    PolicyTree::from_jurisdictions_in(&list).expect("a valid list")
}

/// The holder's secret (the same integer on every field).
pub(crate) fn sk<F: StatementField>() -> F {
    fe(0x5ec2e7)
}

/// The relying party `scope`'s context today with the challenge `[nonce; 31]`.
pub(crate) fn ctx<F: StatementField>(scope: &str, nonce: u8) -> KycContext<F> {
    KycContext {
        today: TODAY,
        scope: scope_to_field_in(scope).expect("a short scope"),
        challenge: challenge_to_field_in(&[nonce; 31]),
    }
}

/// A registry of other holders' credentials and, at [`SERIAL`], `(sk, jur, expiry)`'s.
pub(crate) fn registry_with<F: StatementField>(sk: F, jur: u64, expiry: u64) -> Registry<F> {
    let mut leaves: Vec<F> = (0..8u64)
        .map(|i| {
            credential(
                holder_commitment(fe(1000 + i)),
                fe(j("FR").packed()),
                fe(EXPIRY),
                fe(i),
            )
        })
        .collect();
    leaves[SERIAL as usize] = credential(holder_commitment(sk), fe(jur), fe(expiry), fe(SERIAL));
    Registry::new(leaves)
}

/// The witness of a holder of `code`: honest non-membership witnesses where they exist, else
/// the pair whose `low` is the restricted key (violating `low < key`).
pub(crate) fn witness_for<F: StatementField>(
    code: &str,
    policy: &PolicyTree<F>,
) -> (KycWitness<F>, Registry<F>) {
    let jur = j(code);
    let reg = registry_with(sk(), jur.packed(), EXPIRY);
    let nm = |key: u64| {
        policy.non_membership(key).unwrap_or_else(|_| {
            (0..)
                .map_while(|i| policy.pair(i))
                .find(|p| p.low == key)
                .expect("a listed key starts a pair")
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

/// The public inputs the witness computes, with the roots of `policy` and `reg` claimed.
pub(crate) fn claimed<F: StatementField>(
    w: &KycWitness<F>,
    c: &KycContext<F>,
    policy: &PolicyTree<F>,
    reg: &Registry<F>,
) -> KycPublic<F> {
    let mut p = w.evaluate_unchecked(c);
    p.policy_root = policy.root();
    p.registry_root = reg.root();
    p
}

/// The clause an attack breaks (items of [`super`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clause {
    /// Item 1: `J < 2^34`.
    JurisdictionRange,
    /// Item 1: `today < 2^32`.
    TodayRange,
    /// Item 2: the credential of `(sk, J, expiry_day, serial)` is leaf `serial` under `R`.
    CredentialUnderRegistry,
    /// Item 3: `low < x_w` for the whole-country key.
    WholeLowBelowKey,
    /// Item 3: `low < x_e` for the exact key.
    ExactLowBelowKey,
    /// Item 3: `x_e < next` for the exact key.
    ExactKeyBelowNext,
    /// Item 3: the exact key's pair is a leaf under the root its path leads to, which must be
    /// the whole key's (both equal to `P`).
    ExactPairUnderPolicy,
    /// Item 3: both policy paths lead to the public `P`.
    PolicyRoot,
    /// Item 4: `expiry_day > today`.
    NotExpired,
    /// Item 5: `nf = H(TAG_NULL, sk, scope)`.
    Nullifier,
    /// Item 3 (Halo2 only: `x_e` is a cell of its own there): `x_e = 4 J + 1`.
    #[cfg(feature = "halo2")]
    ExactKeyOfJurisdiction,
    /// Item 3 (Halo2 only: `x_w` is a cell of its own there; the Groth16 twin of this attack
    /// forges `J`'s bits, `kyc::constraints` tests): `x_w = 4 C + 2`, `C` being `J` with its
    /// subdivision part cleared.
    #[cfg(feature = "halo2")]
    WholeKeyOfCountry,
    /// Item 2 (Halo2 only: the path's index bits are cells of their own there): the registry
    /// path is walked with the bits of `serial`.
    #[cfg(feature = "halo2")]
    PathIndexIsSerial,
}

/// One malicious presentation.
#[derive(Clone, Debug)]
pub(crate) struct Attack<F: StatementField> {
    /// What it tries.
    pub name: String,
    /// The clause it breaks.
    pub clause: Clause,
    /// The holder's witness.
    pub witness: KycWitness<F>,
    /// The public inputs it claims.
    pub public: KycPublic<F>,
    /// The native twin's error, or `None` if the witness is valid for other public inputs.
    pub native: Option<KycStatementError>,
}

/// The presentations every backend must accept: allowed holders (a subdivision of a country
/// with restricted subdivisions, an unrelated country with and without subdivision), and a
/// presentation under another challenge, which is another legitimate statement (every
/// challenge is allowed, only the proof binds it).
pub(crate) fn honest<F: StatementField>() -> Vec<(String, KycWitness<F>, KycPublic<F>)> {
    let policy = sanctions::<F>();
    let mut v = Vec::new();
    for code in ["UA-30", "FR", "FR-20R", "GB-ENG"] {
        let (w, reg) = witness_for(code, &policy);
        let public = w
            .evaluate(&ctx("bank-a", 1))
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(public.policy_root, policy.root());
        assert_eq!(public.registry_root, reg.root());
        v.push((code.to_string(), w, public));
    }
    let (w, _) = witness_for("FR", &policy);
    let mut public = w.evaluate(&ctx("bank-a", 1)).expect("honest");
    public.challenge = challenge_to_field_in(&[2; 31]);
    v.push(("FR under another challenge".into(), w, public));
    v
}

/// Every malicious presentation both backends can express, each breaking one clause.
pub(crate) fn attacks<F: StatementField>() -> Vec<Attack<F>> {
    let policy = sanctions::<F>();
    let c = ctx::<F>("bank-a", 1);
    let mut v = Vec::new();
    let mut push = |name: &str, clause, w: KycWitness<F>, public, native| {
        v.push(Attack {
            name: name.to_string(),
            clause,
            witness: w,
            public,
            native,
        })
    };

    // Item 3: restricted jurisdictions, presented with the pair that starts at their key.
    for code in ["IR", "IR-01"] {
        let (w, reg) = witness_for(code, &policy);
        let public = claimed(&w, &c, &policy, &reg);
        push(
            &format!("restricted country ({code})"),
            Clause::WholeLowBelowKey,
            w,
            public,
            Some(KycStatementError::Restricted("whole")),
        );
    }
    let (w, reg) = witness_for("UA-43", &policy);
    push(
        "restricted subdivision of an allowed country",
        Clause::ExactLowBelowKey,
        w.clone(),
        claimed(&w, &c, &policy, &reg),
        Some(KycStatementError::Restricted("exact")),
    );
    // A country-only credential of a country with restricted subdivisions, with either
    // neighbouring pair of its (listed) exact key.
    let (w, reg) = witness_for("UA", &policy);
    push(
        "country-only credential of a country with a restricted subdivision (low == key)",
        Clause::ExactLowBelowKey,
        w.clone(),
        claimed(&w, &c, &policy, &reg),
        Some(KycStatementError::Restricted("exact")),
    );
    let key = j("UA").exact_key();
    let mut w2 = w;
    w2.exact = (0..)
        .map_while(|i| policy.pair(i))
        .find(|p| p.next == key)
        .expect("a listed key ends a pair");
    push(
        "country-only credential of a country with a restricted subdivision (next == key)",
        Clause::ExactKeyBelowNext,
        w2.clone(),
        claimed(&w2, &c, &policy, &reg),
        Some(KycStatementError::Restricted("exact")),
    );

    // (k_{i-1}, k_{i+1}) around the listed k_i: low < key < next holds, but the pair is not a
    // leaf. The prover presents it with the path of leaf i-1.
    let (mut w, reg) = witness_for("UA-43", &policy);
    let key = j("UA-43").exact_key();
    let i = (0..)
        .map_while(|i| policy.pair(i))
        .position(|p| p.low == key)
        .expect("listed");
    let before = policy.pair(i - 1).expect("a previous pair");
    let after = policy.pair(i).expect("listed");
    w.exact = NonMembership {
        low: before.low,
        next: after.next,
        index: before.index,
        siblings: before.siblings,
    };
    assert!(w.exact.low < key && key < w.exact.next);
    push(
        "fake neighbour pair, not adjacent",
        Clause::ExactPairUnderPolicy,
        w.clone(),
        claimed(&w, &c, &policy, &reg),
        Some(KycStatementError::PolicyRoot),
    );

    // A fabricated pair (key - 1, key + 1) around the restricted key: a leaf that is not in
    // the tree, presented with a real path. The policy root alone rules it out (no range
    // bound on low or next is needed: every leaf under P is a pair of adjacent keys of the
    // tree, all below 2^36).
    let (mut w, reg) = witness_for("UA-43", &policy);
    let key = j("UA-43").exact_key();
    w.exact = NonMembership {
        low: key - 1,
        next: key + 1,
        ..policy.pair(0).expect("a pair")
    };
    push(
        "fabricated neighbour pair, not a leaf",
        Clause::ExactPairUnderPolicy,
        w.clone(),
        claimed(&w, &c, &policy, &reg),
        Some(KycStatementError::PolicyRoot),
    );

    // Item 4: a credential registered with an expiry day not after today.
    for expiry in [TODAY, TODAY - 1, 0] {
        let (mut w, _) = witness_for("FR", &policy);
        let reg = registry_with(sk(), w.jurisdiction, expiry);
        w.expiry_day = expiry;
        w.registry_path = reg.path(SERIAL);
        let public = claimed(&w, &c, &policy, &reg);
        assert_eq!(public.registry_root, w.evaluate_unchecked(&c).registry_root);
        push(
            &format!("expired credential (expiry day {expiry})"),
            Clause::NotExpired,
            w,
            public,
            Some(KycStatementError::Expired {
                expiry_day: expiry,
                today: TODAY,
            }),
        );
    }

    // Item 2: the issuer revoked serial 5 (its leaf emptied, a new root published); the old
    // path still leads to the old root, not to the new one.
    let (w, reg) = witness_for("FR", &policy);
    let mut leaves: Vec<F> = (0..8).map(|i| reg.leaf(i)).collect();
    leaves[SERIAL as usize] = F::zero();
    let revoked = Registry::new(leaves);
    let public = claimed(&w, &c, &policy, &revoked);
    assert_ne!(public.registry_root, reg.root());
    push(
        "revoked credential against the new root",
        Clause::CredentialUnderRegistry,
        w,
        public,
        None,
    );
    // The registry does not hold the holder's credential; the prover uses a real path, at
    // its serial or beyond the issued ones.
    for serial in [SERIAL, 12] {
        let (mut w, _) = witness_for("FR", &policy);
        let other = registry_with(fe(4242), w.jurisdiction, EXPIRY);
        w.serial = serial;
        w.registry_path = other.path(serial);
        let public = claimed(&w, &c, &policy, &other);
        push(
            &format!("credential never issued (serial {serial})"),
            Clause::CredentialUnderRegistry,
            w,
            public,
            None,
        );
    }
    // Another secret than the credential's, with the thief's own (consistent) nullifier.
    let (mut w, reg) = witness_for("FR", &policy);
    w.sk += F::one();
    let public = claimed(&w, &c, &policy, &reg);
    assert_eq!(public.nullifier, nullifier(w.sk, c.scope));
    push(
        "wrong holder secret",
        Clause::CredentialUnderRegistry,
        w,
        public,
        None,
    );

    // Item 5.
    let (w, reg) = witness_for("FR", &policy);
    let mut public = claimed(&w, &c, &policy, &reg);
    public.nullifier = nullifier(fe(99), c.scope);
    push(
        "wrong nullifier",
        Clause::Nullifier,
        w.clone(),
        public,
        None,
    );
    let mut public = claimed(&w, &c, &policy, &reg);
    public.nullifier = nullifier(w.sk, scope_to_field_in("bank-b").expect("short"));
    push(
        "nullifier for another scope",
        Clause::Nullifier,
        w,
        public,
        None,
    );

    // Item 3: the relying party's policy restricts France; the holder's paths lead to the
    // lenient root.
    let (w, _) = witness_for("FR", &policy);
    let honest = w.evaluate(&c).expect("honest");
    let strict = PolicyTree::<F>::from_jurisdictions_in(&[j("FR"), j("CU")]).expect("valid");
    let mut swapped = honest;
    swapped.policy_root = strict.root();
    push(
        "policy root swapped",
        Clause::PolicyRoot,
        w.clone(),
        swapped,
        None,
    );
    // Items 4 and 1: a day on which the credential has expired, and a day beyond 2^32.
    let mut late = honest;
    late.today = EXPIRY;
    push(
        "today swapped to the expiry day",
        Clause::NotExpired,
        w.clone(),
        late,
        Some(KycStatementError::Expired {
            expiry_day: EXPIRY,
            today: EXPIRY,
        }),
    );
    let mut late = honest;
    late.today = 1 << 32;
    push(
        "today beyond 2^32",
        Clause::TodayRange,
        w,
        late,
        Some(KycStatementError::Range("today")),
    );

    // Item 1: a credential (if an issuer signed one) with J >= 2^34 cannot be used: J's
    // country part would not be what the policy keys assume.
    let (mut w, _) = witness_for("FR", &policy);
    w.jurisdiction += 1 << 34;
    let reg = registry_with(sk(), w.jurisdiction, EXPIRY);
    w.registry_path = reg.path(SERIAL);
    let pad = |key: u64| NonMembership {
        low: key - 1,
        next: key + 1,
        ..policy.pair(0).expect("a pair")
    };
    w.exact = pad(4 * w.jurisdiction + 1);
    w.whole = pad(4 * (w.jurisdiction & !0xFF_FFFF) + 2);
    push(
        "jurisdiction out of range",
        Clause::JurisdictionRange,
        w.clone(),
        claimed(&w, &c, &policy, &reg),
        Some(KycStatementError::Jurisdiction),
    );
    v
}

/// A proving backend under test.
pub(crate) trait KycBackend {
    /// The backend's field.
    type F: StatementField;
    /// `Ok` if the backend accepts the presentation (its circuit is satisfied, and proofs
    /// verify where the backend makes them); else what went wrong.
    fn accepts(&self, w: &KycWitness<Self::F>, public: &KycPublic<Self::F>) -> Result<(), String>;
    /// `Ok` if the backend refuses the attack by the constraint of its clause (and no proof
    /// of it verifies, where the backend makes them); else what went wrong.
    fn refuses(&self, attack: &Attack<Self::F>) -> Result<(), String>;
}

/// Panics unless `backend` accepts every honest presentation.
pub(crate) fn assert_honest_accepted<B: KycBackend>(backend: &B) {
    let verdicts = honest::<B::F>()
        .into_iter()
        .map(|(name, w, p)| (name, backend.accepts(&w, &p)));
    assert_all_ok("honest presentations refused", verdicts);
}

/// Panics unless `backend` accepts an honest holder (the baseline of the same harness) and
/// refuses every attack of `list` by the constraint it targets.
pub(crate) fn assert_attacks_refused<B: KycBackend>(backend: &B, list: &[Attack<B::F>]) {
    let (name, w, p) = &honest::<B::F>()[1];
    backend
        .accepts(w, p)
        .unwrap_or_else(|e| panic!("the baseline {name} is refused: {e}"));
    assert!(!list.is_empty());
    let verdicts = list.iter().map(|a| (a.name.clone(), backend.refuses(a)));
    assert_all_ok("attacks not refused as expected", verdicts);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native_verdicts<F: StatementField>() {
        for (name, w, p) in honest::<F>() {
            let c = KycContext {
                today: p.today,
                scope: p.scope,
                challenge: p.challenge,
            };
            assert_eq!(w.evaluate(&c), Ok(p), "{name}");
        }
        let list = attacks::<F>();
        assert_named_once(list.iter().map(|a| a.name.as_str()), 20);
        for a in &list {
            let c = KycContext {
                today: a.public.today,
                scope: a.public.scope,
                challenge: a.public.challenge,
            };
            match (&a.native, a.witness.evaluate(&c)) {
                (Some(e), got) => assert_eq!(got, Err(e.clone()), "{}", a.name),
                (None, Ok(p)) => assert_ne!(p, a.public, "{}", a.name),
                (None, Err(e)) => panic!("{}: unexpected {e}", a.name),
            }
        }
    }

    #[test]
    fn the_native_twin_refuses_every_attack_on_bn254() {
        native_verdicts::<crate::Fr>();
    }

    #[cfg(feature = "halo2")]
    #[test]
    fn the_native_twin_refuses_every_attack_on_pasta() {
        native_verdicts::<crate::halo2::Fp>();
    }
}
