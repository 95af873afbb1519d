//! Property tests (issue 15, item 6) for the STARK KYC AIR: on random holders, the trace's
//! Poseidon2 rows are the native permutation and end in the native hashes (nullifier, holder
//! commitment, credential, registry root, policy root); the witness cells are the native
//! packing of `J`, the days and the serial; the KoalaBear policy tree agrees with the BN254
//! one (same keys, same pairs) and with the jurisdiction packing; and the AIR's constraint
//! check accepts a presentation exactly when the native twin [`kyc_statement`] does.
//!
//! A constraint check of the 128-row trace takes a fraction of a second in debug, so the case
//! counts are small; `PROPTEST_CASES` raises them.

use super::*;
use crate::kyc::jurisdiction::all_subdivisions;
use crate::kyc::policy::PolicyTree;
use crate::solvency::stark::twins::{cases, val};
use p3_air::check_all_constraints;
use proptest::prelude::*;

/// Every ISO 3166-2 subdivision code and every country among them.
fn all_codes() -> &'static [String] {
    static CODES: OnceLock<Vec<String>> = OnceLock::new();
    CODES.get_or_init(|| {
        let mut v = all_subdivisions();
        let countries: std::collections::BTreeSet<String> = v
            .iter()
            .map(|c| c.split('-').next().unwrap().to_string())
            .collect();
        v.extend(countries);
        v
    })
}

fn code() -> impl Strategy<Value = Jurisdiction> {
    any::<prop::sample::Index>().prop_map(|i| {
        let codes = all_codes();
        Jurisdiction::parse(&codes[i.index(codes.len())]).unwrap()
    })
}

fn digest() -> impl Strategy<Value = Digest> {
    prop::array::uniform8(val())
}

/// A holder's private values and a relying party's context, all random (no policy yet).
#[derive(Debug, Clone)]
struct Holder {
    sk: Digest,
    j: Jurisdiction,
    expiry_day: u64,
    serial: u64,
    registry_path: Vec<Digest>,
    ctx: KycStarkContext,
}

fn holder(j: impl Strategy<Value = Jurisdiction>) -> impl Strategy<Value = Holder> {
    (
        digest(),
        j,
        (0u64..1 << DAY_BITS, 0u64..1 << DAY_BITS),
        0u64..1 << REGISTRY_DEPTH,
        prop::collection::vec(digest(), REGISTRY_DEPTH),
        (digest(), digest()),
    )
        .prop_map(
            |(sk, j, (d1, d2), serial, registry_path, (scope, challenge))| {
                // Mostly valid (expiry after today), sometimes expired or expiring today.
                let (today, expiry_day) = if d1 == d2 {
                    (d1, d2)
                } else {
                    (d1.min(d2), d1.max(d2))
                };
                let (today, expiry_day) = if serial % 5 == 0 {
                    (expiry_day, today)
                } else {
                    (today, expiry_day)
                };
                Holder {
                    sk,
                    j,
                    expiry_day,
                    serial,
                    registry_path,
                    ctx: KycStarkContext {
                        today,
                        scope,
                        challenge,
                    },
                }
            },
        )
}

/// The pair of `policy` proving `key` absent, or, for a listed key, the pair starting at it
/// (what a cheating holder would present).
fn pair_for(policy: &StarkPolicyTree, key: u64) -> StarkNonMembership {
    policy.non_membership(key).unwrap_or_else(|_| {
        (0..)
            .map_while(|i| policy.pair(i))
            .find(|p| p.low == key)
            .expect("a listed key starts a pair")
    })
}

fn witness(h: &Holder, policy: &StarkPolicyTree) -> KycStarkWitness {
    let j = h.j.packed();
    KycStarkWitness {
        sk: h.sk,
        jurisdiction: j,
        expiry_day: h.expiry_day,
        serial: h.serial,
        registry_path: h.registry_path.clone(),
        exact: pair_for(policy, exact_key(j)),
        whole: pair_for(policy, whole_key(j)),
    }
}

fn digest_of(row: &[Val]) -> Digest {
    core::array::from_fn(|i| row[P2_OUT + i])
}

proptest! {
    #![proptest_config(cases(24))]

    /// The trace of a random holder: every used row's permutation columns end in the native
    /// Poseidon2 of their input; the nullifier, holder, credential, registry-root and both
    /// policy-root rows end in the native hashes; the witness cells are the native limbs of
    /// `J` (at `2^24`), the expiry, today and the serial (at `2^16`), whose direction bits
    /// recompose it.
    #[test]
    fn stark_kyc_trace_rows_equal_native_hashes(
        h in holder(code()),
        restricted in prop::collection::vec(code(), 0..6),
    ) {
        let policy = StarkPolicyTree::from_jurisdictions(&restricted).unwrap();
        let w = witness(&h, &policy);
        let raw = RawKyc::from_witness(&w, &h.ctx);
        let (trace, public) = build_trace(&raw);
        let row = |r: usize| &trace.values[r * KYC_WIDTH..(r + 1) * KYC_WIDTH];
        let perm = poseidon2();
        for r in 0..USED_ROWS {
            let input: [Val; WIDTH] = core::array::from_fn(|i| row(r)[i]);
            prop_assert_eq!(&row(r)[P2_OUT..P2_COLS], &perm.permute(input)[..], "row {}", r);
        }
        let j = h.j.packed();
        let hid = holder_commitment(&h.sk);
        let cred = credential(&hid, j, h.expiry_day, h.serial);
        prop_assert_eq!(digest_of(row(ROW_NULL2)), nullifier(&h.sk, &h.ctx.scope));
        prop_assert_eq!(digest_of(row(ROW_HOLDER)), hid);
        prop_assert_eq!(digest_of(row(ROW_CRED)), cred);
        let root = root_from_path(&cred, h.serial, &h.registry_path);
        prop_assert_eq!(digest_of(row(ROW_REG_ROOT)), root);
        for (k, nm) in [&w.exact, &w.whole].into_iter().enumerate() {
            prop_assert_eq!(digest_of(row(ROW_LEAF[k])), policy_leaf(nm.low, nm.next));
            prop_assert_eq!(digest_of(row(ROW_LEAF[k] + POLICY_DEPTH)), policy_root_of(nm));
        }
        prop_assert_eq!(public.registry_root, root);
        prop_assert_eq!(public.nullifier, nullifier(&h.sk, &h.ctx.scope));
        prop_assert_eq!(public.today, h.ctx.today);

        let cell = |c: usize| u64::from(row(0)[C_W + c].as_canonical_u32());
        prop_assert_eq!((cell(W_J_HI) << SUFFIX_BITS) + cell(W_J_LO), j);
        prop_assert_eq!(cell(W_J_HI), u64::from(h.j.numeric()));
        prop_assert_eq!(cell(W_E_LO) + (cell(W_E_HI) << DAY_LIMB_BITS), h.expiry_day);
        prop_assert_eq!(cell(W_T_LO) + (cell(W_T_HI) << DAY_LIMB_BITS), h.ctx.today);
        prop_assert_eq!(cell(W_S_LO) + (cell(W_S_HI) << DAY_LIMB_BITS), h.serial);
        let dirs: u64 = (0..REGISTRY_DEPTH)
            .map(|b| u64::from(row(ROW_REG + b)[C_DIR].as_canonical_u32()) << b)
            .sum();
        prop_assert_eq!(dirs, h.serial);
    }

    /// The policy trees and the packing: the KoalaBear tree and the BN254 tree of the same
    /// random list hold the same keys (a holder's exact key `4 J + 1` and whole-country key
    /// `4 C + 2`, as [`Jurisdiction`] packs them, are listed in both or neither; the
    /// non-membership pairs are the same pairs at the same index), every pair's path leads to
    /// the KoalaBear root, and the AIR accepts the holder's presentation (honest registry
    /// root) exactly when the native twin does: when neither key is listed and the credential
    /// has not expired.
    #[test]
    fn stark_kyc_policy_and_air_agree_with_native(
        h in holder(code()),
        restricted in prop::collection::vec(code(), 0..6),
        restrict_own in any::<bool>(),
    ) {
        let mut restricted = restricted;
        if restrict_own {
            // Restrict the holder's country or its own code.
            restricted.push(if h.serial % 2 == 0 { h.j.country() } else { h.j });
        }
        let stark = StarkPolicyTree::from_jurisdictions(&restricted).unwrap();
        let bn254 = PolicyTree::from_jurisdictions(&restricted).unwrap();
        let j = h.j.packed();
        prop_assert_eq!(exact_key(j), h.j.exact_key());
        prop_assert_eq!(whole_key(j), h.j.whole_key());
        for key in [h.j.exact_key(), h.j.whole_key()] {
            match (stark.non_membership(key), bn254.non_membership(key)) {
                (Ok(s), Ok(b)) => {
                    prop_assert!(!bn254.contains(key));
                    prop_assert_eq!((s.low, s.next, s.index), (b.low, b.next, b.index));
                    prop_assert!(b.check(key, bn254.root()));
                    prop_assert_eq!(policy_root_of(&s), stark.root());
                }
                (Err(s), Err(b)) => {
                    prop_assert!(bn254.contains(key));
                    prop_assert_eq!(s, b);
                }
                (s, b) => prop_assert!(false, "trees disagree on {:#x}: {:?} / {:?}", key, s, b),
            }
        }
        let listed = bn254.contains(h.j.exact_key()) || bn254.contains(h.j.whole_key());
        prop_assert!(listed || !restrict_own, "restricting {} does not list it", h.j.code());

        let w = witness(&h, &stark);
        let native = kyc_statement(&w, &h.ctx);
        prop_assert_eq!(native.is_ok(), !listed && h.expiry_day > h.ctx.today, "{:?}", native);
        let mut public = w.evaluate_unchecked(&h.ctx);
        public.policy_root = stark.root();
        let (trace, traced) = build_trace(&RawKyc::from_witness(&w, &h.ctx));
        let air = check_all_constraints(&KycStarkAir::new(), &trace, &public.to_values(), None)
            .failures
            .is_empty();
        prop_assert_eq!(air, native.is_ok());
        if let Ok(p) = native {
            prop_assert_eq!(p, public);
            prop_assert_eq!(traced, public);
        }
    }
}
