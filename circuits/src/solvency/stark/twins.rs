//! Property tests (issue 15, item 6) for the STARK batch AIR: on random inputs, the trace's
//! Poseidon2 columns are the native permutation, the batch trace holds exactly the native
//! leaves, 16-bit limbs, running sums and hash chain, and the 16-bit range check refuses every
//! limb at or above `2^16` (by the AIR's own constraint check, `check_all_constraints`).
//!
//! The number of cases is small (a constraint check of a 128-row trace takes a fraction of a
//! second in debug); `PROPTEST_CASES` raises it for long runs.

use super::*;
use p3_air::check_all_constraints;
use proptest::prelude::*;

/// KoalaBear's modulus.
const P: u32 = 0x7f00_0001;

pub(crate) fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig::with_cases(n)
}

/// A uniformly random field element.
pub(crate) fn val() -> impl Strategy<Value = Val> {
    (0..P).prop_map(Val::from_u32)
}

/// A balance: often a boundary (0, a limb boundary, `2^64 - 1`), otherwise any `u64`.
fn balance() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        (0..LIMBS).prop_map(|l| (1u64 << (LIMB_BITS * l)) - 1),
        (0..LIMBS).prop_map(|l| 1u64 << (LIMB_BITS * l)),
        0..(1u64 << LIMB_BITS),
        any::<u64>(),
        any::<u64>(),
    ]
}

/// A batch of `1..=3` assets at the smallest height, every balance, id, salt and blind random.
fn batch() -> impl Strategy<Value = StarkBatch> {
    let users = (1usize << MIN_LOG_HEIGHT) - 1;
    (1usize..=3).prop_flat_map(move |assets| {
        (
            prop::collection::vec(prop::collection::vec(balance(), assets), users),
            prop::array::uniform8(val()),
            prop::array::uniform4(val()),
            prop::array::uniform12(val()),
            prop::array::uniform8(val()),
        )
            .prop_map(move |(balances, id, salt, blind, round)| {
                let shape = BatchShape::new(assets, MIN_LOG_HEIGHT).unwrap();
                let users = balances
                    .into_iter()
                    .enumerate()
                    .map(|(u, balances)| StarkUser {
                        // Distinct ids and salts per user, derived from the random ones.
                        id: core::array::from_fn(|i| id[i] + Val::from_usize(u)),
                        salt: core::array::from_fn(|i| salt[i] * Val::from_usize(u + 1)),
                        balances,
                    })
                    .collect();
                StarkBatch {
                    shape,
                    round,
                    users,
                    blind,
                }
            })
    })
}

fn digest_at(row: &[Val], col: usize) -> Digest {
    core::array::from_fn(|i| row[col + i])
}

/// Whether the AIR's constraints hold on the trace of `raw` with its own public values.
fn satisfied(raw: &RawBatch) -> bool {
    let (trace, public, _, _) = build_trace(raw);
    check_all_constraints(
        &SolvencyStarkAir::new(raw.shape),
        &trace,
        &public.to_values(),
        None,
    )
    .failures
    .is_empty()
}

proptest! {
    #![proptest_config(cases(64))]

    /// Poseidon2: the trace rows `p3-poseidon2-air` generates (the AIR's permutation columns)
    /// end in the native permutation of their input, and satisfy that AIR's constraints.
    #[test]
    fn stark_poseidon2_rows_equal_native(inputs in prop::collection::vec(prop::array::uniform16(val()), 4)) {
        let m = p2_trace_rows(inputs.clone(), &round_constants());
        let perm = poseidon2();
        for (row, input) in m.values.chunks_exact(P2_COLS).zip(&inputs) {
            prop_assert_eq!(&row[..WIDTH], &input[..]);
            prop_assert_eq!(&row[P2_OUT..], &perm.permute(*input)[..]);
        }
        let air = P2Air::new(round_constants());
        prop_assert!(check_all_constraints(&air, &m, &[], None).failures.is_empty());
    }
}

proptest! {
    #![proptest_config(cases(24))]

    /// The batch trace, read column by column, holds the native statement: every user row's
    /// limbs are the balance's 16-bit limbs and its bits recompose them, the row's sponge
    /// digest is the native [`leaf`], the chain columns follow [`chain_step`] from the round
    /// to the public root, the running sums end at the integer sums of the balances, the
    /// footer's sponge is the commitment; and the AIR's constraints all hold.
    #[test]
    fn stark_batch_trace_agrees_with_native(b in batch()) {
        let shape = b.shape;
        let lay = Layout { shape };
        let s = shape.sponge_perms();
        let raw = RawBatch::from_batch(&b).unwrap();
        let (trace, public, _, _) = build_trace(&raw);
        let width = lay.width();
        let row = |r: usize| &trace.values[r * width..(r + 1) * width];

        let mut state = b.round;
        let mut sums = vec![0u128; shape.assets];
        for (u, user) in b.users.iter().enumerate() {
            let r = row(u);
            for (a, bal) in user.balances.iter().enumerate() {
                sums[a] += u128::from(*bal);
                for l in 0..LIMBS {
                    let i = a * LIMBS + l;
                    let limb = (bal >> (LIMB_BITS * l)) & 0xffff;
                    prop_assert_eq!(r[lay.limb(i)], Val::from_u64(limb));
                    let bits: u64 = (0..LIMB_BITS)
                        .map(|k| u64::from(r[lay.bits(i) + k].as_canonical_u32()) << k)
                        .sum();
                    prop_assert_eq!(bits, limb);
                }
            }
            let native_leaf = leaf(user, &shape).unwrap();
            prop_assert_eq!(digest_at(r, lay.block(s - 1) + P2_OUT), native_leaf);
            prop_assert_eq!(digest_at(r, lay.chain()), state);
            state = chain_step(&state, &native_leaf);
        }
        let n = shape.users();
        let footer = row(n);
        prop_assert_eq!(digest_at(footer, lay.chain()), state);
        prop_assert_eq!(public.root, state);
        prop_assert_eq!(public.round, b.round);
        let limb_sums: Vec<Val> = (0..shape.limbs()).map(|i| footer[lay.acc(i)]).collect();
        for (a, sum) in sums.iter().enumerate() {
            let from_limbs: u128 = (0..LIMBS)
                .map(|l| u128::from(limb_sums[a * LIMBS + l].as_canonical_u32()) << (LIMB_BITS * l))
                .sum();
            prop_assert_eq!(from_limbs, *sum);
        }
        let commitment =
            sponge_inputs(poseidon2(), TAG_SUM, &b.blind, &blocks(&limb_sums, s - 1), shape.assets).1;
        prop_assert_eq!(public.commitment, commitment);
        prop_assert_eq!(digest_at(footer, lay.block(s - 1) + P2_OUT), commitment);
        prop_assert!(check_all_constraints(&SolvencyStarkAir::new(shape), &trace, &public.to_values(), None)
            .failures
            .is_empty());
    }

    /// The 16-bit range check: a batch whose one limb is `x` (everything else recomputed
    /// honestly from it: leaves, sums, root, commitment) satisfies the AIR exactly when
    /// `x < 2^16`; above, including `p - k` ("negative" balances), a constraint fails.
    #[test]
    fn stark_limb_range_check_agrees_with_16_bits(
        b in batch(),
        pick in any::<prop::sample::Index>(),
        limb in any::<prop::sample::Index>(),
        x in prop_oneof![
            0u32..(1 << LIMB_BITS),
            Just((1 << LIMB_BITS) - 1),
            Just(1 << LIMB_BITS),
            (1u32 << LIMB_BITS)..P,
            (1u32..1 << LIMB_BITS).prop_map(|k| P - k),
        ],
    ) {
        let mut raw = RawBatch::from_batch(&b).unwrap();
        let u = pick.index(raw.limbs.len());
        let i = limb.index(raw.shape.limbs());
        raw.limbs[u][i] = Val::from_u32(x);
        prop_assert_eq!(satisfied(&raw), x < 1 << LIMB_BITS, "limb {} of user {} = {}", i, u, x);
    }
}
