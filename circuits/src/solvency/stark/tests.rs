use super::*;
use p3_matrix::Matrix;

const P: u32 = 0x7f00_0001;

fn digest(seed: u32) -> Digest {
    core::array::from_fn(|i| Val::from_u32(seed.wrapping_mul(31).wrapping_add(i as u32) % P))
}

fn salt(seed: u32) -> Salt {
    core::array::from_fn(|i| Val::from_u32(seed.wrapping_mul(131).wrapping_add(i as u32) % P))
}

fn batch(assets: usize) -> StarkBatch {
    let shape = BatchShape::new(assets, MIN_LOG_HEIGHT).unwrap();
    let users = (0..shape.users())
        .map(|u| StarkUser {
            id: digest(1000 + u as u32),
            salt: salt(7_000_000 + 7 * u as u32),
            balances: (0..assets)
                .map(|a| match (u, a) {
                    (0, 0) => u64::MAX,
                    (1, _) => 0,
                    _ => 0x0123_4567_89ab_cdef_u64.wrapping_mul((u * 7 + a + 1) as u64) >> 8,
                })
                .collect(),
        })
        .collect();
    StarkBatch {
        shape,
        users,
        blind: core::array::from_fn(|i| Val::from_u32(424_242 + i as u32)),
        round: round_digest("2026-12-02").unwrap(),
    }
}

/// A batch of `assets` assets at the smallest height whose users depend on `seed`.
pub(crate) fn test_batch(assets: usize, seed: u32) -> StarkBatch {
    let mut b = batch(assets);
    for (u, user) in b.users.iter_mut().enumerate() {
        user.id = digest(seed * 100_000 + u as u32);
        user.salt = salt(seed * 300_000 + 3 * u as u32);
        for bal in &mut user.balances {
            *bal = bal.wrapping_mul(u64::from(seed) + 1) >> 1;
        }
    }
    b.blind[0] = Val::from_u32(seed);
    b
}

#[test]
fn round_is_bound() {
    let r = raw(2);
    let other = round_digest("2026-12-03").unwrap();
    // A trace for this round presented as another round: the chain's first state fails.
    assert!(!trace_attack(
        &r,
        |_, _| {},
        |p| BatchPublic { round: other, ..p }
    ));
    // An honest proof does not verify as another round's.
    let (bytes, public) = prove_raw(&r, &BATCH_PARAMS).unwrap();
    verify_batch(&r.shape, &bytes, &public).unwrap();
    let moved = BatchPublic {
        round: other,
        ..public
    };
    assert!(verify_batch(&r.shape, &bytes, &moved).is_err());
}

#[test]
fn round_digest_separates_ids_and_refuses_bad_ones() {
    let d = |s: &str| round_digest(s).unwrap();
    assert_ne!(d("a"), d("a\0"));
    assert_ne!(d("abc"), d("abd"));
    assert_ne!(d("2026-12-02"), d("2026-12-020"));
    assert_eq!(d("r1"), d("r1"));
    assert!(round_digest("").is_err());
    assert!(round_digest(&"x".repeat(MAX_ROUND_ID_BYTES + 1)).is_err());
    assert!(round_digest(&"x".repeat(MAX_ROUND_ID_BYTES)).is_ok());
}

#[test]
fn inclusion_chain_path() {
    let b = batch(2);
    let st = batch_statement(&b).unwrap();
    for index in [0, 1, 60, b.shape.users() - 1] {
        let path = chain_path(&b.round, &st.leaves, index).unwrap();
        verify_chain_path(&b.users[index], &b.shape, &st.public, &path).unwrap();
        // Another user's record at this position, or a balance off by one: rejected.
        let other = &b.users[(index + 1) % b.shape.users()];
        assert!(verify_chain_path(other, &b.shape, &st.public, &path).is_err());
        let mut u = b.users[index].clone();
        u.balances[1] ^= 1;
        assert!(verify_chain_path(&u, &b.shape, &st.public, &path).is_err());
        // A path one leaf longer or shorter, or for another batch root: rejected.
        let mut long = path.clone();
        long.after.push(st.leaves[0]);
        assert!(verify_chain_path(&b.users[index], &b.shape, &st.public, &long).is_err());
        let mut short = path.clone();
        if short.after.pop().is_some() {
            assert!(verify_chain_path(&b.users[index], &b.shape, &st.public, &short).is_err());
        }
        let mut moved = st.public;
        moved.root[2] += Val::ONE;
        assert!(verify_chain_path(&b.users[index], &b.shape, &moved, &path).is_err());
    }
    // Position 0 must start from the round digest.
    let mut p0 = chain_path(&b.round, &st.leaves, 0).unwrap();
    p0.before[0] += Val::ONE;
    assert!(verify_chain_path(&b.users[0], &b.shape, &st.public, &p0).is_err());
    assert!(chain_path(&b.round, &st.leaves, st.leaves.len()).is_err());
    // What a customer downloads for the chain, at most: the whole leaf list of the largest batch.
    let largest = BatchShape::new(4, MAX_LOG_HEIGHT).unwrap().users() * DIGEST_ELEMS * 4;
    println!("largest chain path: {largest} bytes");
}

// ---- Shared attack harness: the constraint check AND verification, separately. ----

use std::collections::BTreeSet;

use p3_air::{check_all_constraints, DebugConstraintBuilder};
use p3_uni_stark::{ProverConstraintFolder, SymbolicAirBuilder};

/// An AIR whose debug constraint check is a no-op, so that a debug build proves a trace that
/// violates a constraint (the prover checks constraints first under `debug_assertions`) and the
/// test can see the *verifier* reject the proof. Everything the proof depends on is delegated.
pub(crate) struct Unchecked<A>(pub(crate) A);

impl<A: BaseAir<Val>> BaseAir<Val> for Unchecked<A> {
    fn width(&self) -> usize {
        self.0.width()
    }
    fn num_public_values(&self) -> usize {
        self.0.num_public_values()
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        self.0.max_constraint_degree()
    }
}

impl<A: Air<SymbolicAirBuilder<Val>>> Air<SymbolicAirBuilder<Val>> for Unchecked<A> {
    fn eval(&self, b: &mut SymbolicAirBuilder<Val>) {
        self.0.eval(b);
    }
}

impl<'a, A> Air<ProverConstraintFolder<'a, SolvencyStarkConfig>> for Unchecked<A>
where
    A: Air<ProverConstraintFolder<'a, SolvencyStarkConfig>>,
{
    fn eval(&self, b: &mut ProverConstraintFolder<'a, SolvencyStarkConfig>) {
        self.0.eval(b);
    }
}

impl<'a, A: BaseAir<Val>> Air<DebugConstraintBuilder<'a, Val>> for Unchecked<A> {
    fn eval(&self, _: &mut DebugConstraintBuilder<'a, Val>) {}
}

/// What an attack achieves: the distinct constraints the trace violates (by index in one
/// evaluation pass) and whether the verifier accepts a proof of it.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) violated: BTreeSet<usize>,
    pub(crate) verified: bool,
}

impl Outcome {
    /// The attack violates between 1 and `max` distinct constraints (one constraint family,
    /// e.g. the 8 elements of a digest) and its proof is rejected.
    pub(crate) fn assert_caught(&self, max: usize) {
        assert!(
            !self.violated.is_empty() && self.violated.len() <= max,
            "violated constraints {:?} (expected 1..={max})",
            self.violated
        );
        assert!(!self.verified, "the verifier accepted the malicious proof");
    }
}

/// Checks `trace` against `air` with `public` (every violated constraint), then proves it under
/// `params` with the constraint check disabled and runs `verify` on the proof bytes.
pub(crate) fn attack<A>(
    air: A,
    trace: RowMajorMatrix<Val>,
    public: &[Val],
    params: &StarkParams,
    verify: impl FnOnce(&[u8]) -> bool,
) -> Outcome
where
    A: for<'a> Air<DebugConstraintBuilder<'a, Val>>
        + Air<SymbolicAirBuilder<Val>>
        + for<'a> Air<ProverConstraintFolder<'a, SolvencyStarkConfig>>,
{
    let report = check_all_constraints(&air, &trace, public, None);
    let violated = report.failures.iter().map(|f| f.constraint).collect();
    let config = stark_config(params, None);
    let air = Unchecked(air);
    let proved = catch_unwind(AssertUnwindSafe(|| prove(&config, &air, trace, public)));
    let verified = match proved {
        Ok(Ok(proof)) => verify(&postcard::to_allocvec(&proof).unwrap()),
        _ => false,
    };
    Outcome { violated, verified }
}

/// Proves a (possibly malicious) raw batch with the given public values and checks the verdict.
/// A prover that refuses (error or panic) also counts as a rejection.
fn accepted(raw: &RawBatch, public: Option<BatchPublic>) -> bool {
    let proved = catch_unwind(AssertUnwindSafe(|| prove_raw(raw, &BATCH_PARAMS)));
    let Ok(Ok((bytes, honest_public))) = proved else {
        return false;
    };
    verify_batch(&raw.shape, &bytes, &public.unwrap_or(honest_public)).is_ok()
}

#[test]
fn poseidon2_air_layout_and_twin_agree() {
    assert_eq!(P2_COLS, 164);
    // The AIR's trace generation computes the same permutation as the native Poseidon2.
    let input: [Val; WIDTH] = core::array::from_fn(|i| Val::from_u32(i as u32 * 12345));
    let m = p2_trace_rows(vec![input], &round_constants());
    assert_eq!(&m.values[P2_OUT..P2_COLS], &poseidon2().permute(input)[..]);
}

#[test]
fn native_twin_matches_sums_leaves_and_root() {
    let b = batch(3);
    let st = batch_statement(&b).unwrap();
    for a in 0..3 {
        let want: u128 = b.users.iter().map(|u| u128::from(u.balances[a])).sum();
        assert_eq!(st.sums[a], want);
    }
    assert_eq!(st.leaves[5], leaf(&b.users[5], &b.shape).unwrap());
    let mut state = b.round;
    for l in &st.leaves {
        state = chain_step(&state, l);
    }
    assert_eq!(state, st.public.root);
    assert_eq!(chain_root(&b.round, &st.leaves), st.public.root);
}

#[test]
fn bad_shapes_are_errors() {
    assert!(BatchShape::new(0, 8).is_err());
    assert!(BatchShape::new(4, 6).is_err());
    assert!(BatchShape::new(4, 15).is_err());
    let mut b = batch(2);
    b.users.pop();
    assert!(matches!(prove_batch(&b), Err(StarkError::Shape(_))));
    let mut b = batch(2);
    b.users[3].balances.push(1);
    assert!(matches!(batch_statement(&b), Err(StarkError::Shape(_))));
}

#[test]
fn honest_batch_proves_verifies_and_hides() {
    for assets in [1, 4] {
        let b = batch(assets);
        let st = batch_statement(&b).unwrap();
        let (p1, public) = prove_batch(&b).unwrap();
        assert_eq!(public, st.public);
        verify_batch(&b.shape, &p1, &public).unwrap();
        // Two proofs of the same batch differ (fresh masks, salts and codewords).
        let (p2, public2) = prove_batch(&b).unwrap();
        assert_eq!(public2, public);
        assert_ne!(p1, p2);
        verify_batch(&b.shape, &p2, &public).unwrap();
        // No balance, limb sum or salt appears in the proof bytes (as a little-endian u64, or
        // as canonical or Montgomery u32 words of the field elements).
        let contains = |needle: &[u8]| p1.windows(needle.len()).any(|w| w == needle);
        for u in &b.users[..8] {
            for bal in &u.balances {
                if *bal > 1 << 20 {
                    assert!(!contains(&bal.to_le_bytes()), "balance {bal} in the proof");
                }
            }
            assert!(!contains(&words(&u.salt)), "salt in the proof");
        }
        assert!(!contains(&words(&b.blind[..8])), "blind in the proof");
        // Wrong shape or wrong public values: rejected.
        let other = BatchShape::new(assets + 1, MIN_LOG_HEIGHT).unwrap();
        assert!(verify_batch(&other, &p1, &public).is_err());
        let mut bad = public;
        bad.root[0] += Val::ONE;
        assert!(verify_batch(&b.shape, &p1, &bad).is_err());
        let mut bad = public;
        bad.commitment[7] += Val::ONE;
        assert!(verify_batch(&b.shape, &p1, &bad).is_err());
    }
}

/// Both encodings a field element could take in serialized bytes (canonical and Montgomery).
fn words(v: &[Val]) -> Vec<u8> {
    let canonical: Vec<u8> = v
        .iter()
        .flat_map(|x| x.as_canonical_u32().to_le_bytes())
        .collect();
    let encoded = postcard::to_allocvec(&v.to_vec()).unwrap();
    // The postcard encoding of the slice (after the length prefix) or the canonical words.
    if encoded.len() > 1 {
        encoded[1..].to_vec()
    } else {
        canonical
    }
}

#[test]
fn tampered_and_malformed_proofs_are_errors_not_panics() {
    let b = batch(2);
    let (bytes, public) = prove_batch(&b).unwrap();
    // Truncations at many lengths.
    for cut in [
        0,
        1,
        7,
        100,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let r = verify_batch(&b.shape, &bytes[..cut], &public);
        assert!(r.is_err(), "truncated at {cut} accepted");
    }
    // Flipped bytes all over the proof: an error (decode, shape or rejection), never a panic
    // escaping, never an acceptance.
    let step = (bytes.len() / 97).max(1);
    for i in (0..bytes.len()).step_by(step) {
        let mut t = bytes.clone();
        t[i] ^= 0x5a;
        assert!(
            verify_batch(&b.shape, &t, &public).is_err(),
            "flip at {i} accepted"
        );
    }
    // Garbage and trailing bytes.
    assert!(verify_batch(&b.shape, &[0xff; 64], &public).is_err());
    let mut long = bytes.clone();
    long.extend_from_slice(&[0u8; 16]);
    let _ = verify_batch(&b.shape, &long, &public); // trailing bytes may be ignored; no panic
                                                    // Structured tampering of a decoded proof.
    let proof: SolvencyStarkProof = postcard::from_bytes(&bytes).unwrap();
    let mut p = proof;
    p.degree_bits += 1;
    let enc = postcard::to_allocvec(&p).unwrap();
    assert!(matches!(
        verify_batch(&b.shape, &enc, &public),
        Err(StarkError::Malformed(_))
    ));
    let mut p: SolvencyStarkProof = postcard::from_bytes(&bytes).unwrap();
    p.opened_values.trace_local.pop();
    let enc = postcard::to_allocvec(&p).unwrap();
    assert!(matches!(
        verify_batch(&b.shape, &enc, &public),
        Err(StarkError::Malformed(_))
    ));
    let mut p: SolvencyStarkProof = postcard::from_bytes(&bytes).unwrap();
    p.opened_values.trace_local[3] += Challenge::ONE;
    let enc = postcard::to_allocvec(&p).unwrap();
    assert!(verify_batch(&b.shape, &enc, &public).is_err());
}

// ---- One malicious trace per constraint family: each violates only that family. ----

fn raw(assets: usize) -> RawBatch {
    RawBatch::from_batch(&batch(assets)).unwrap()
}

#[test]
fn honest_raw_batch_is_accepted() {
    assert!(accepted(&raw(2), None));
}

#[test]
fn negative_balance_as_p_minus_x_fails() {
    // User 2's balance of asset 0 becomes "-5": limb 0 is p - 5. Leaves, sums, root and
    // commitment are recomputed honestly from it; only the limb's bit recomposition fails
    // (its bits are the low 16 bits of p - 5).
    let mut r = raw(2);
    r.limbs[2] = vec![Val::ZERO; 8];
    r.limbs[2][0] = Val::ZERO - Val::from_u32(5);
    assert!(!accepted(&r, None));
}

#[test]
fn balance_at_or_above_2_pow_w_fails() {
    // The top limb of a balance is 2^16: the balance is 2^64 + ..., at least 2^w.
    let mut r = raw(2);
    r.limbs[4][3] = Val::from_u32(1 << 16);
    assert!(!accepted(&r, None));
    // A limb far above 2^16 but below p.
    let mut r = raw(2);
    r.limbs[4][1] = Val::from_u32(1 << 30);
    assert!(!accepted(&r, None));
}

/// Builds an honest trace, lets `tamper` change it, proves it with `public` and verifies.
fn trace_attack(
    r: &RawBatch,
    tamper: impl FnOnce(&mut RowMajorMatrix<Val>, &Layout),
    public: impl FnOnce(BatchPublic) -> BatchPublic,
) -> bool {
    let (mut trace, honest, _, _) = build_trace(r);
    let lay = Layout { shape: r.shape };
    tamper(&mut trace, &lay);
    let public = public(honest);
    let out = attack(
        SolvencyStarkAir::new(r.shape),
        trace,
        &public.to_values(),
        &BATCH_PARAMS,
        |bytes| verify_batch(&r.shape, bytes, &public).is_ok(),
    );
    // An honest trace violates nothing and verifies; a malicious one must do neither.
    assert_eq!(
        out.violated.is_empty(),
        out.verified,
        "constraint check and verifier disagree: {out:?}"
    );
    out.verified
}

#[test]
fn honest_trace_attack_harness_accepts() {
    assert!(trace_attack(&raw(2), |_, _| {}, |p| p));
}

#[test]
fn wrong_leaf_with_matching_root_fails() {
    // Same as above, but the public root is the one the tampered chain ends in.
    let r = raw(2);
    let (mut t, honest, _, _) = build_trace(&r);
    let lay = Layout { shape: r.shape };
    let w = t.width();
    let s = r.shape.sponge_perms();
    // Change one absorbed element of row 9's leaf digest as seen by the chain only.
    let col = 9 * w + lay.chain() + DIGEST_ELEMS;
    t.values[col] += Val::ONE;
    let mut root = honest.root;
    // Recompute row 9's chain permutation and everything after it natively.
    let rows = t.height();
    let mut state: Digest = core::array::from_fn(|i| t.values[9 * w + lay.chain() + i]);
    for row in 9..rows {
        let mut input = [Val::ZERO; WIDTH];
        input[..8].copy_from_slice(&state);
        let d = if row == 9 {
            core::array::from_fn::<Val, 8, _>(|i| t.values[9 * w + lay.chain() + 8 + i])
        } else {
            core::array::from_fn(|i| t.values[row * w + lay.block(s - 1) + P2_OUT + i])
        };
        input[8..].copy_from_slice(&d);
        if row == rows - 1 {
            root = state;
        }
        let out = poseidon2().permute(input);
        state = core::array::from_fn(|i| out[i]);
    }
    assert_ne!(root, honest.root);
    let ok = trace_attack(
        &r,
        |tt, lay2| {
            // Rebuild the same tampering inside the harness's trace.
            let col = 9 * w + lay2.chain() + DIGEST_ELEMS;
            tt.values[col] += Val::ONE;
            let mut inputs = Vec::new();
            let mut st: Digest = core::array::from_fn(|i| tt.values[9 * w + lay2.chain() + i]);
            for row in 9..rows {
                let mut input = [Val::ZERO; WIDTH];
                input[..8].copy_from_slice(&st);
                let d = if row == 9 {
                    core::array::from_fn::<Val, 8, _>(|i| tt.values[9 * w + lay2.chain() + 8 + i])
                } else {
                    core::array::from_fn(|i| tt.values[row * w + lay2.block(s - 1) + P2_OUT + i])
                };
                input[8..].copy_from_slice(&d);
                inputs.push(input);
                let out = poseidon2().permute(input);
                st = core::array::from_fn(|i| out[i]);
            }
            let mut padded = inputs.clone();
            padded.resize(inputs.len().next_power_of_two(), [Val::ZERO; WIDTH]);
            let m = p2_trace_rows(padded, &round_constants());
            for (k, row) in (9..rows).enumerate() {
                tt.values[row * w + lay2.chain()..row * w + lay2.chain() + P2_COLS]
                    .copy_from_slice(&m.values[k * P2_COLS..(k + 1) * P2_COLS]);
            }
        },
        |p| BatchPublic { root, ..p },
    );
    assert!(!ok);
}

#[test]
fn wrong_sum_fails() {
    // One running sum is off by one from row 20 on (and so are the footer's final sums and the
    // commitment, recomputed): only the transition "acc' = acc + limbs'" at row 20 fails.
    let r = raw(2);
    let (t0, _, _, _) = build_trace(&r);
    let lay = Layout { shape: r.shape };
    let w = t0.width();
    let rows = t0.height();
    let n = rows - 1;
    // The commitment over the shifted sums, computed natively.
    let mut finals: Vec<Val> = (0..r.shape.limbs())
        .map(|i| t0.values[(n - 1) * w + lay.acc(i)])
        .collect();
    finals[1] += Val::ONE;
    let bl = blocks(&finals, r.shape.sponge_perms() - 1);
    let (ins, commitment) = sponge_inputs(poseidon2(), TAG_SUM, &r.blind, &bl, r.shape.assets);
    // The root does not change (leaves do not depend on the sums); the chain's last step absorbs
    // the commitment but the root is its input, so it stays too.
    let ok = trace_attack(
        &r,
        |t, lay| {
            for row in 20..n {
                t.values[row * w + lay.acc(1)] += Val::ONE;
            }
            t.values[n * w + lay.acc(1)] += Val::ONE;
            // Footer: its sponge absorbs the shifted sums.
            for (j, inp) in ins.iter().enumerate() {
                let m = p2_trace_rows(vec![*inp], &round_constants());
                t.values[n * w + lay.block(j)..n * w + lay.block(j) + P2_COLS]
                    .copy_from_slice(&m.values);
            }
            // The footer's chain permutation absorbs the new commitment.
            let mut input = [Val::ZERO; WIDTH];
            for i in 0..8 {
                input[i] = t.values[n * w + lay.chain() + i];
                input[8 + i] = commitment[i];
            }
            let m = p2_trace_rows(vec![input], &round_constants());
            t.values[n * w + lay.chain()..n * w + lay.chain() + P2_COLS].copy_from_slice(&m.values);
        },
        |p| BatchPublic { commitment, ..p },
    );
    assert!(!ok);
}

#[test]
fn wrong_blind_fails() {
    // The public commitment is the honest sums' commitment under another blind; the trace is
    // honest (for the true blind): only the public-commitment constraint fails.
    let r = raw(2);
    let mut other = r.clone();
    other.blind[0] += Val::ONE;
    let (_, other_public, _, _) = build_trace(&other);
    assert!(!trace_attack(
        &r,
        |_, _| {},
        |p| BatchPublic {
            commitment: other_public.commitment,
            ..p
        }
    ));
    // And a commitment under the honest blind but other sums.
    let mut r2 = r.clone();
    r2.limbs[0][0] += Val::ONE;
    let (_, p2, _, _) = build_trace(&r2);
    assert!(!trace_attack(
        &r,
        |_, _| {},
        |p| BatchPublic {
            commitment: p2.commitment,
            ..p
        }
    ));
}

#[test]
fn footer_flag_and_ivs_are_bound() {
    // A footer flag on a user row (to skip its range check) fails.
    let r = raw(2);
    assert!(!trace_attack(
        &r,
        |t, lay| {
            let w = t.width();
            t.values[3 * w + lay.footer()] = Val::ONE;
        },
        |p| p
    ));
    // A user row whose sponge IV carries the sum tag fails.
    assert!(!trace_attack(
        &r,
        |t, lay| {
            let w = t.width();
            t.values[3 * w + lay.block(0) + HEAD_ELEMS] = Val::from_u32(TAG_SUM);
        },
        |p| p
    ));
}

#[test]
fn security_level_is_at_least_100_bits() {
    assert!(STARK_PARAMS.conjectured_fri_bits() >= 100);
    // Plonky3's own calculator, with the AIR's real constraint count and degree, the hiding
    // PCS's batched openings and the out-of-domain term, at every height and a range of K.
    for log_height in MIN_LOG_HEIGHT..=MAX_LOG_HEIGHT {
        for assets in [1, 4, 50, MAX_ASSETS] {
            let shape = BatchShape::new(assets, log_height).unwrap();
            for params in [BATCH_PARAMS, STARK_PARAMS] {
                let sec = security(&shape, &params).unwrap();
                println!("K={assets} height 2^{log_height} {params:?}: {sec:?}");
                assert!(
                    sec.conjectured_bits >= 100,
                    "K={assets}, 2^{log_height}, {params:?}: {sec:?}"
                );
            }
        }
    }
}

#[test]
fn security_uses_the_committed_degree() {
    // The degree the calculator is given is the one a real proof commits to.
    let b = batch(2);
    let (bytes, _) = prove_batch(&b).unwrap();
    let proof: SolvencyStarkProof = postcard::from_bytes(&bytes).unwrap();
    let sec = security(&b.shape, &BATCH_PARAMS).unwrap();
    assert_eq!(sec.degree_bits, proof.degree_bits);
    // Weaker parameters give a lower level: the calculator sees the parameters.
    let weak = StarkParams {
        num_queries: 10,
        query_pow_bits: 0,
        ..STARK_PARAMS
    };
    assert!(security(&b.shape, &weak).unwrap().conjectured_bits < sec.conjectured_bits);
}

#[test]
fn inclusion_worst_case_cost() {
    // The worst position (the first) of a batch of 4,095 users at K = 4: the customer runs the
    // whole chain. One rough timing, printed only (the machine is shared: not a benchmark).
    let shape = BatchShape::new(4, 12).unwrap();
    let round = round_digest("2026-12-02").unwrap();
    let users: Vec<StarkUser> = (0..shape.users())
        .map(|u| StarkUser {
            id: digest(u as u32),
            salt: salt(9_000_000 + u as u32),
            balances: vec![u as u64; 4],
        })
        .collect();
    let leaves: Vec<Digest> = users.iter().map(|u| leaf(u, &shape).unwrap()).collect();
    let public = BatchPublic {
        round,
        root: chain_root(&round, &leaves),
        commitment: [Val::ZERO; DIGEST_ELEMS],
    };
    let path = chain_path(&round, &leaves, 0).unwrap();
    let t = std::time::Instant::now();
    verify_chain_path(&users[0], &shape, &public, &path).unwrap();
    println!(
        "chain check at position 0 of 4,095: {:?} (loaded machine), path {} bytes",
        t.elapsed(),
        (path.after.len() + 1) * DIGEST_ELEMS * 4
    );
}

/// The Merkle checks run beside the library verifier (`beside`) still decide: a proof whose
/// only change is one sibling digest of a Merkle opening (the opened values, and so everything
/// else the verifier computes, unchanged) is refused, for the trace's openings and for a FRI
/// round's.
#[test]
fn a_wrong_merkle_sibling_is_refused_by_the_checks_beside_the_verifier() {
    let b = batch(1);
    let (bytes, public) = prove_batch(&b).unwrap();
    verify_batch(&b.shape, &bytes, &public).unwrap();
    let tampered = |edit: &dyn Fn(&mut Proof<VerifierStarkConfig>)| {
        let mut p: Proof<VerifierStarkConfig> = postcard::from_bytes(&bytes).unwrap();
        edit(&mut p);
        postcard::to_allocvec(&p).unwrap()
    };
    let input = tampered(&|p| {
        p.opening_proof.1.input_openings[0]
            .opening_proof
            .1
            .sibling_hashes[0][0] += Val::ONE;
    });
    let fri = tampered(&|p| {
        p.opening_proof.1.commit_phase_openings[0]
            .opening_proof
            .1
            .sibling_hashes[0][0] += Val::ONE;
    });
    for (name, bad) in [("trace opening", input), ("FRI round opening", fri)] {
        assert_ne!(bad, bytes);
        let e = verify_batch(&b.shape, &bad, &public).unwrap_err();
        assert!(matches!(e, StarkError::Rejected(_)), "{name}: {e}");
        assert!(e.to_string().contains("Merkle"), "{name}: {e}");
    }
}

#[test]
fn a_batch_proof_verifies_only_under_the_parameters_it_was_made_with() {
    let r = raw(2);
    let (new, public) = prove_raw(&r, &BATCH_PARAMS).unwrap();
    let (old, old_public) = prove_raw(&r, &STARK_PARAMS).unwrap();
    assert_eq!(public, old_public);
    verify_batch(&r.shape, &new, &public).unwrap();
    verify_batch_under(&r.shape, &old, &public, &STARK_PARAMS).unwrap();
    assert!(verify_batch_under(&r.shape, &new, &public, &STARK_PARAMS).is_err());
    assert!(verify_batch(&r.shape, &old, &public).is_err());
    assert!(new.len() < old.len(), "{} vs {}", new.len(), old.len());
    let weak = StarkParams {
        max_log_arity: 2,
        ..BATCH_PARAMS
    };
    let e = verify_batch_under(&r.shape, &new, &public, &weak).unwrap_err();
    assert!(matches!(e, StarkError::Params(_)), "{e}");
}

/// Every STARK AIR's declared constraint degree (what the verifier sizes the quotient with,
/// `KnownDegree`) is the degree of its real constraints, for batch shapes (K from 1 to the
/// most), aggregation shapes (both child kinds, inner and top) and the KYC AIR.
#[test]
fn declared_degrees_are_the_real_ones() {
    let mut airs: Vec<(String, usize, Option<usize>)> = Vec::new();
    for assets in [1, 4, 50, MAX_ASSETS] {
        let air = SolvencyStarkAir::new(BatchShape::new(assets, MIN_LOG_HEIGHT).unwrap());
        airs.push((
            format!("batch K={assets}"),
            real_degree(&air),
            air.max_constraint_degree(),
        ));
        for kind in [ChildKind::Batch, ChildKind::Aggregate] {
            for top in [false, true] {
                let shape = AggShape::new(assets, 3, kind, top).unwrap();
                let air = AggregationAir::new(shape);
                airs.push((
                    format!("{shape:?}"),
                    real_degree(&air),
                    air.max_constraint_degree(),
                ));
            }
        }
    }
    let kyc = crate::kyc::stark::KycStarkAir::new();
    airs.push(("KYC".into(), real_degree(&kyc), kyc.max_constraint_degree()));
    for (name, real, declared) in airs {
        assert_eq!(Some(real), declared, "{name}");
    }
}

/// What a declaration below the real degree would do: the verifier expects fewer quotient
/// chunks than the prover (who sizes the quotient from the real constraints) committed to,
/// and refuses the honest proof. A wrong declaration can only refuse, not weaken the check.
#[test]
fn a_declared_degree_below_the_real_one_refuses_honest_proofs() {
    struct Declares2(SolvencyStarkAir);
    impl BaseAir<Val> for Declares2 {
        fn width(&self) -> usize {
            self.0.width()
        }
        fn num_public_values(&self) -> usize {
            self.0.num_public_values()
        }
        fn max_constraint_degree(&self) -> Option<usize> {
            Some(2)
        }
    }
    impl<AB: p3_air::AirBuilder<F = Val>> Air<AB> for Declares2 {
        fn eval(&self, b: &mut AB) {
            self.0.eval(b);
        }
    }
    let b = batch(1);
    let (bytes, public) = prove_batch(&b).unwrap();
    let values = public.to_values();
    let honest = SolvencyStarkAir::new(b.shape);
    verify_air_with(&honest, b.shape.log_height, &bytes, &values, &BATCH_PARAMS).unwrap();
    let low = Declares2(SolvencyStarkAir::new(b.shape));
    assert!(verify_air_with(&low, b.shape.log_height, &bytes, &values, &BATCH_PARAMS).is_err());
}

/// A leaves file's segment states (`inclusion::chain_states`), and the segments run side by
/// side on the packed field's lanes, give the chain's own states and root for every length
/// (one segment, fewer leaves than segments, a short last segment, the sizes rounds use).
#[test]
fn segment_states_are_the_chains_states() {
    let round = round_digest("2026-12-04").unwrap();
    for n in [1, 2, 3, 7, 8, 9, 15, 16, 17, 100, 127, 511, 4095] {
        let leaves: Vec<Digest> = (0..n).map(|i| digest(50_000 + i as u32)).collect();
        let (len, count) = chain_segments(n);
        assert!(count <= CHAIN_SEGMENTS && len * count >= n && len * (count - 1) < n);
        let states = chain_states(&round, &leaves);
        assert_eq!(states.len(), count - 1, "n = {n}");
        for (k, s) in states.iter().enumerate() {
            assert_eq!(
                *s,
                chain_root(&round, &leaves[..(k + 1) * len]),
                "n = {n}, state {k}"
            );
        }
        let starts: Vec<Digest> = std::iter::once(round)
            .chain(states.iter().copied())
            .collect();
        let root = chain_root(&round, &leaves);
        let ends = inclusion::segment_ends(&starts, len, &leaves);
        let want: Vec<Digest> = states.iter().copied().chain([root]).collect();
        assert_eq!(ends, want, "n = {n}");
        // Written and read back: the file with its states, and the earlier file without.
        let file = leaves_from_bytes(&leaves_file_bytes(&round, &leaves), n).unwrap();
        assert_eq!((&file.leaves, &file.states), (&leaves, &states));
        assert!(leaves_chain_to(&round, &file, &root), "n = {n}");
        let plain = leaves_from_bytes(&leaves_to_bytes(&leaves), n).unwrap();
        assert!(plain.states.is_empty() && plain.leaves == leaves);
        assert!(leaves_chain_to(&round, &plain, &root));
        assert!(!leaves_chain_to(&round, &file, &digest(1)));
        assert!(!leaves_chain_to(&digest(2), &file, &root));
    }
}

/// Every way a leaves file can lie with its segment states is refused: a state changed, two
/// states swapped, a leaf changed (with the states left, or rebuilt to match it: then the last
/// segment misses the root), a leaf moved across a boundary, a state dropped, and a file of
/// another length or with a non-canonical state is unreadable.
#[test]
fn tampered_segment_states_are_refused() {
    let round = round_digest("2026-12-04").unwrap();
    let n = 127;
    let leaves: Vec<Digest> = (0..n).map(|i| digest(70_000 + i as u32)).collect();
    let root = chain_root(&round, &leaves);
    let good = LeavesFile {
        leaves: leaves.clone(),
        states: chain_states(&round, &leaves),
    };
    assert!(leaves_chain_to(&round, &good, &root));
    let refused = |f: &LeavesFile, what: &str| {
        assert!(!leaves_chain_to(&round, f, &root), "{what} was accepted");
    };
    let mut f = good.clone();
    f.states[3][5] += Val::ONE;
    refused(&f, "a state changed");
    let mut f = good.clone();
    f.states.swap(1, 2);
    refused(&f, "two states swapped");
    for at in [0, 15, 16, 60, 126] {
        let mut f = good.clone();
        f.leaves[at][0] += Val::ONE;
        refused(&f, "a leaf changed");
        f.states = chain_states(&round, &f.leaves);
        refused(&f, "a leaf changed with its states rebuilt");
    }
    let mut f = good.clone();
    f.leaves.swap(15, 16);
    refused(&f, "leaves swapped across a boundary");
    let mut f = good.clone();
    f.states.pop();
    refused(&f, "a state dropped");
    let mut bytes = leaves_file_bytes(&round, &leaves);
    assert!(leaves_from_bytes(&bytes[..bytes.len() - 4], n).is_err());
    assert!(leaves_from_bytes(&[bytes.clone(), vec![0; LEAF_BYTES]].concat(), n).is_err());
    let last = bytes.len() - LEAF_BYTES;
    bytes[last..last + 4].copy_from_slice(&P.to_le_bytes());
    let e = leaves_from_bytes(&bytes, n).unwrap_err().to_string();
    assert!(e.contains("segment state 6"), "{e}");
}
