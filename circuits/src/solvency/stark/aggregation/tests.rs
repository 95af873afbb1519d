use super::*;
use crate::solvency::stark::tests::{attack, Outcome};
use p3_matrix::Matrix;

fn blind(seed: u32) -> Blind {
    core::array::from_fn(|i| Val::from_u32(seed.wrapping_mul(7919) + i as u32))
}

fn digest(seed: u32) -> Digest {
    core::array::from_fn(|i| Val::from_u32(seed.wrapping_mul(104_729) % 0x7f00_0000 + i as u32))
}

fn round() -> Digest {
    round_digest("2026-12-02").unwrap()
}

/// Synthetic children (openings and public values; no child proofs needed for the AIR's tests).
fn children(kind: ChildKind, assets: usize, f: usize, seed: u64) -> Vec<ChildOpening> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..f)
        .map(|i| {
            // Aggregate children: a small top limb, so that a few of them stay below 2^96.
            let limbs: Vec<u64> = (0..kind.limbs() * assets)
                .map(|j| match kind {
                    ChildKind::Aggregate if j % AGG_LIMBS == AGG_LIMBS - 1 => next() % 256,
                    _ => next() % (kind.max_limb() + 1),
                })
                .collect();
            let b = blind(1000 + i as u32);
            ChildOpening {
                public: ChildPublic {
                    root: digest(50 + i as u32),
                    commitment: child_commitment(kind, assets, &b, &limbs),
                },
                blind: b,
                limbs,
            }
        })
        .collect()
}

fn totals(kind: ChildKind, assets: usize, ch: &[ChildOpening]) -> Vec<u128> {
    let cl = kind.limbs();
    (0..assets)
        .map(|a| {
            ch.iter()
                .map(|c| {
                    (0..cl)
                        .map(|l| u128::from(c.limbs[a * cl + l]) << (16 * l))
                        .sum::<u128>()
                })
                .sum()
        })
        .collect()
}

/// A witness; at the top the reserves are the totals plus `margin`.
fn witness(kind: ChildKind, assets: usize, f: usize, top: bool, margin: i128) -> AggWitness {
    let ch = children(kind, assets, f, 0x1234_5678_9abc_def1);
    let t = totals(kind, assets, &ch);
    AggWitness {
        shape: AggShape::new(assets, f, kind, top).unwrap(),
        round: round(),
        children: ch,
        blind: blind(77),
        top: top.then(|| TopPublic {
            previous: digest(999),
            reserves: t.iter().map(|x| (*x as i128 + margin) as u128).collect(),
        }),
    }
}

fn agg_attack(
    raw: &RawAgg,
    tamper: impl FnOnce(&mut RowMajorMatrix<Val>, &AggLayout),
    public: impl FnOnce(AggPublic) -> AggPublic,
) -> Outcome {
    let (mut t, honest, _) = build_agg_trace(raw);
    tamper(&mut t, &AggLayout { shape: raw.shape });
    let p = public(honest);
    attack(
        AggregationAir::new(raw.shape),
        t,
        &p.to_values(),
        &AGG_PARAMS,
        |bytes| verify_aggregation(&raw.shape, bytes, &p).is_ok(),
    )
}

#[test]
fn fan_in_sets_the_height() {
    let h = |f| {
        AggShape::new(2, f, ChildKind::Batch, false)
            .unwrap()
            .log_height
    };
    assert_eq!(
        (h(1), h(127), h(128), h(255), h(256), h(MAX_FAN_IN)),
        (7, 7, 8, 8, 9, 9)
    );
    assert!(AggShape::new(2, 0, ChildKind::Batch, false).is_err());
    assert!(AggShape::new(2, MAX_FAN_IN + 1, ChildKind::Batch, false).is_err());
    assert!(AggShape::new(0, 3, ChildKind::Batch, false).is_err());
}

#[test]
fn honest_aggregations_prove_and_verify() {
    for (kind, assets, f, top) in [
        (ChildKind::Batch, 2, 3, false),
        (ChildKind::Aggregate, 1, 2, true),
        (ChildKind::Batch, 3, 5, true),
    ] {
        let w = witness(kind, assets, f, top, 0); // reserves exactly the totals: allowed
        let st = aggregate_statement(&w).unwrap();
        assert_eq!(st.sums, totals(kind, assets, &w.children));
        let (bytes, public) = prove_aggregation(&w).unwrap();
        assert_eq!(public, st.public);
        verify_aggregation(&w.shape, &bytes, &public).unwrap();
        println!(
            "{kind:?} K={assets} f={f} top={top}: proof {} bytes",
            bytes.len()
        );
        // The harness itself: the honest trace violates nothing and verifies.
        let out = agg_attack(&RawAgg::from_witness(&w), |_, _| {}, |p| p);
        assert!(out.violated.is_empty() && out.verified, "{out:?}");
        // Two proofs of the same aggregate differ.
        let (again, _) = prove_aggregation(&w).unwrap();
        assert_ne!(bytes, again);
    }
}

#[test]
fn sum_above_reserves_fails() {
    let w = witness(ChildKind::Batch, 2, 3, true, 0);
    let mut bad = w.clone();
    bad.top.as_mut().unwrap().reserves[1] -= 1;
    assert!(matches!(aggregate_statement(&bad), Err(StarkError::Shape(m)) if m.contains("exceed")));
    assert!(prove_aggregation(&bad).is_err());
    // The trace built anyway (d = reserves - total mod 2^96): only the top carry fails.
    agg_attack(&RawAgg::from_witness(&bad), |_, _| {}, |p| p).assert_caught(1);
    // The same with an honest trace but public reserves one below the total.
    agg_attack(
        &RawAgg::from_witness(&w),
        |_, _| {},
        |mut p| {
            p.top.as_mut().unwrap().reserves[0] = totals(ChildKind::Batch, 2, &w.children)[0] - 1;
            p
        },
    )
    .assert_caught(1);
}

#[test]
fn overflowing_aggregate_fails() {
    // Two aggregate children of 2^96 - 1 each: the total needs 97 bits.
    let mut w = witness(ChildKind::Aggregate, 1, 2, false, 0);
    for c in &mut w.children {
        c.limbs = vec![0xffff; AGG_LIMBS];
        c.public.commitment = child_commitment(ChildKind::Aggregate, 1, &c.blind, &c.limbs);
    }
    assert!(matches!(aggregate_statement(&w), Err(StarkError::Shape(m)) if m.contains("2^96")));
    // Only "no carry out of the top limb" fails.
    agg_attack(&RawAgg::from_witness(&w), |_, _| {}, |p| p).assert_caught(1);
}

#[test]
fn wrapped_carry_fails() {
    // Row 1, asset 0: acc_0 + 2^16 carry_0 equals the honest value plus p, the same field
    // element: without the carry's 14-bit range the total would silently grow by p.
    let w = witness(ChildKind::Batch, 1, 3, false, 0);
    let mut raw = RawAgg::from_witness(&w);
    raw.wrap = Some((1, 0));
    let (t, _, _) = build_agg_trace(&raw);
    let lay = AggLayout { shape: raw.shape };
    assert!(t.values[t.width() + lay.acc(0)].as_canonical_u32() <= 0xffff);
    assert!(t.values[t.width() + lay.carry(0)].as_canonical_u32() >= 1 << CARRY_BITS);
    agg_attack(&raw, |_, _| {}, |p| p).assert_caught(1);
}

#[test]
fn swapped_child_fails() {
    let w = witness(ChildKind::Batch, 2, 3, false, 0);
    let out = agg_attack(
        &RawAgg::from_witness(&w),
        |_, _| {},
        |mut p| {
            p.children.swap(0, 1);
            p
        },
    );
    // The opened commitment and the absorbed root of both rows: 16 constraints.
    out.assert_caught(2 * DIGEST_ELEMS);
}

#[test]
fn wrong_child_opening_or_blind_fails() {
    let w = witness(ChildKind::Batch, 2, 3, false, 0);
    // The aggregator adds other sums than child 1 committed to.
    let mut raw = RawAgg::from_witness(&w);
    raw.child_limbs[1][2] += 1;
    let honest = aggregate_statement(&w).unwrap().public;
    agg_attack(
        &raw,
        |_, _| {},
        |p| AggPublic {
            children: honest.children.clone(),
            ..p
        },
    )
    .assert_caught(DIGEST_ELEMS);
    // Child 0's opening under another blind.
    let mut raw = RawAgg::from_witness(&w);
    raw.child_blinds[0][3] += Val::ONE;
    agg_attack(
        &raw,
        |_, _| {},
        |p| AggPublic {
            children: honest.children.clone(),
            ..p
        },
    )
    .assert_caught(DIGEST_ELEMS);
    // The parent's public commitment under another blind.
    let mut other = RawAgg::from_witness(&w);
    other.blind[5] += Val::ONE;
    let (_, op, _) = build_agg_trace(&other);
    agg_attack(
        &RawAgg::from_witness(&w),
        |_, _| {},
        |p| AggPublic {
            commitment: op.commitment,
            ..p
        },
    )
    .assert_caught(DIGEST_ELEMS);
}

#[test]
fn padding_rows_add_nothing() {
    // A padding row (no child) that slips in extra limbs; the accumulator, the footer's sponge
    // and the commitment follow them: only "padding adds nothing" fails.
    let w = witness(ChildKind::Batch, 1, 2, false, 0);
    let mut raw = RawAgg::from_witness(&w);
    raw.pad_limbs = Some((2, vec![5, 0, 1, 0]));
    let (_, p, t) = build_agg_trace(&raw);
    assert_eq!(
        t[0],
        aggregate_statement(&w).unwrap().sums[0] + 5 + (1 << 32)
    );
    let _ = p;
    agg_attack(&raw, |_, _| {}, |p| p).assert_caught(2);
}

#[test]
fn swapped_round_or_previous_fails() {
    let w = witness(ChildKind::Aggregate, 2, 2, true, 10);
    let raw = RawAgg::from_witness(&w);
    let other = round_digest("2026-12-03").unwrap();
    agg_attack(&raw, |_, _| {}, |p| AggPublic { round: other, ..p }).assert_caught(DIGEST_ELEMS);
    agg_attack(
        &raw,
        |_, _| {},
        |mut p| {
            p.top.as_mut().unwrap().previous = digest(1000);
            p
        },
    )
    .assert_caught(DIGEST_ELEMS);
}

#[test]
fn tampered_public_values_are_rejected() {
    let w = witness(ChildKind::Batch, 2, 3, true, 5);
    let (bytes, public) = prove_aggregation(&w).unwrap();
    verify_aggregation(&w.shape, &bytes, &public).unwrap();
    let mut tampered: Vec<AggPublic> = Vec::new();
    let mut p = public.clone();
    p.root[0] += Val::ONE;
    tampered.push(p);
    let mut p = public.clone();
    p.commitment[7] += Val::ONE;
    tampered.push(p);
    let mut p = public.clone();
    p.round[3] += Val::ONE;
    tampered.push(p);
    let mut p = public.clone();
    p.children[2].root[1] += Val::ONE;
    tampered.push(p);
    let mut p = public.clone();
    p.children[0].commitment[0] += Val::ONE;
    tampered.push(p);
    let mut p = public.clone();
    p.top.as_mut().unwrap().reserves[1] += 1;
    tampered.push(p);
    let mut p = public.clone();
    p.top.as_mut().unwrap().reserves[0] -= 6; // below the total
    tampered.push(p);
    let mut p = public.clone();
    p.top.as_mut().unwrap().previous[2] += Val::ONE;
    tampered.push(p);
    for (i, p) in tampered.iter().enumerate() {
        assert!(
            matches!(
                verify_aggregation(&w.shape, &bytes, p),
                Err(StarkError::Rejected(_))
            ),
            "tampering {i} accepted"
        );
    }
    // Shape errors: a child more or less, no top part, reserves of 2^96.
    let mut p = public.clone();
    p.children.pop();
    assert!(matches!(
        verify_aggregation(&w.shape, &bytes, &p),
        Err(StarkError::Shape(_))
    ));
    let p = AggPublic {
        top: None,
        ..public.clone()
    };
    assert!(verify_aggregation(&w.shape, &bytes, &p).is_err());
    let mut p = public.clone();
    p.top.as_mut().unwrap().reserves[0] = 1 << 96;
    assert!(matches!(
        verify_aggregation(&w.shape, &bytes, &p),
        Err(StarkError::Shape(_))
    ));
    // Another shape: the proof is for 3 batch children at the top.
    for shape in [
        AggShape::new(2, 3, ChildKind::Batch, false).unwrap(),
        AggShape::new(2, 3, ChildKind::Aggregate, true).unwrap(),
        AggShape::new(3, 3, ChildKind::Batch, true).unwrap(),
    ] {
        let p = AggPublic {
            top: shape.top.then(|| TopPublic {
                previous: digest(999),
                reserves: vec![1; shape.assets],
            }),
            ..public.clone()
        };
        assert!(verify_aggregation(&shape, &bytes, &p).is_err(), "{shape:?}");
    }
}

#[test]
fn malformed_aggregation_proofs_are_errors_not_panics() {
    let w = witness(ChildKind::Batch, 1, 2, false, 0);
    let (bytes, public) = prove_aggregation(&w).unwrap();
    for cut in [0, 1, 9, bytes.len() / 2, bytes.len() - 1] {
        assert!(verify_aggregation(&w.shape, &bytes[..cut], &public).is_err());
    }
    let step = (bytes.len() / 41).max(1);
    for i in (0..bytes.len()).step_by(step) {
        let mut t = bytes.clone();
        t[i] ^= 0xa5;
        assert!(
            verify_aggregation(&w.shape, &t, &public).is_err(),
            "flip at {i}"
        );
    }
    assert!(verify_aggregation(&w.shape, &[0x42; 300], &public).is_err());
}

#[test]
fn aggregation_security_is_at_least_100_bits() {
    for assets in [1, 4, 50] {
        for f in [1, 255, 256, MAX_FAN_IN] {
            for kind in [ChildKind::Batch, ChildKind::Aggregate] {
                for top in [false, true] {
                    let shape = AggShape::new(assets, f, kind, top).unwrap();
                    for params in [AGG_PARAMS, STARK_PARAMS] {
                        let sec = aggregation_security(&shape, &params).unwrap();
                        println!("aggregation K={assets} f={f} {kind:?} top={top}: {sec:?}");
                        assert!(sec.conjectured_bits >= 100, "{shape:?} {params:?}: {sec:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn end_to_end_batches_aggregate_top_and_inclusion() {
    use crate::solvency::stark::tests::test_batch;
    // Two real batch proofs, an aggregation of them, and a top over that aggregation.
    let rd = round();
    let b0 = test_batch(2, 1);
    let b1 = test_batch(2, 2);
    let mut openings = Vec::new();
    let mut batch_publics = Vec::new();
    for b in [&b0, &b1] {
        let st = batch_statement(b).unwrap();
        let (bytes, public) = prove_batch(b).unwrap();
        verify_batch(&b.shape, &bytes, &public).unwrap();
        assert_eq!(public.round, rd);
        openings.push(ChildOpening::from_batch(&st, b.blind));
        batch_publics.push(public);
    }
    let mid = AggWitness {
        shape: AggShape::new(2, 2, ChildKind::Batch, false).unwrap(),
        round: rd,
        children: openings,
        blind: blind(5),
        top: None,
    };
    let mid_st = aggregate_statement(&mid).unwrap();
    let (mid_bytes, mid_public) = prove_aggregation(&mid).unwrap();
    verify_aggregation(&mid.shape, &mid_bytes, &mid_public).unwrap();
    let want: Vec<u128> = (0..2)
        .map(|a| {
            [&b0, &b1]
                .iter()
                .flat_map(|b| b.users.iter().map(move |u| u128::from(u.balances[a])))
                .sum()
        })
        .collect();
    assert_eq!(mid_st.sums, want);
    let top = AggWitness {
        shape: AggShape::new(2, 1, ChildKind::Aggregate, true).unwrap(),
        round: rd,
        children: vec![ChildOpening::from_aggregate(&mid_st, mid.blind)],
        blind: blind(6),
        top: Some(TopPublic {
            previous: digest(4242),
            reserves: vec![want[0], want[1] + 1],
        }),
    };
    let (top_bytes, top_public) = prove_aggregation(&top).unwrap();
    verify_aggregation(&top.shape, &top_bytes, &top_public).unwrap();
    println!(
        "K=2: batch 2^7 + aggregation + top proofs, top {} bytes",
        top_bytes.len()
    );
    // Insolvent by one unit: refused.
    let mut broke = top.clone();
    broke.top.as_mut().unwrap().reserves[0] -= 1;
    assert!(prove_aggregation(&broke).is_err());

    // A customer of batch 1, position 9: record -> leaf -> chain -> batch root -> path -> top.
    let st1 = batch_statement(&b1).unwrap();
    let path = chain_path(&rd, &st1.leaves, 9).unwrap();
    verify_chain_path(&b1.users[9], &b1.shape, &batch_publics[1], &path).unwrap();
    let steps = [
        PathStep {
            shape: mid.shape,
            public: &mid_public,
            child: 1,
        },
        PathStep {
            shape: top.shape,
            public: &top_public,
            child: 0,
        },
    ];
    assert_eq!(
        verify_public_path(&batch_publics[1], &steps).unwrap(),
        &top_public
    );
    // Wrong child index, or a batch of the other position: rejected.
    let mut bad = steps.clone();
    bad[0].child = 0;
    assert!(verify_public_path(&batch_publics[1], &bad).is_err());
    assert!(verify_public_path(&batch_publics[1], &steps[..1]).is_err());
    assert!(verify_public_path(&batch_publics[1], &steps[1..]).is_err());
}

#[test]
fn top_proof_size_for_a_million_users() {
    // 10^6 users in batches of 4,095 at K = 4: 245 batch children under one top proof.
    let w = witness(ChildKind::Batch, 4, 245, true, 1);
    assert_eq!(w.shape.log_height, 8);
    let (bytes, public) = prove_aggregation(&w).unwrap();
    verify_aggregation(&w.shape, &bytes, &public).unwrap();
    let width = AggLayout { shape: w.shape }.width();
    println!(
        "top over 245 batches, K=4: width {width}, proof {} bytes",
        bytes.len()
    );
}

#[test]
fn a_proof_verifies_only_under_the_parameters_it_was_made_with() {
    let w = witness(ChildKind::Batch, 2, 3, true, 5);
    let (new, public) = prove_aggregation(&w).unwrap();
    let (old, old_public) = prove_aggregation_under(&w, &STARK_PARAMS).unwrap();
    assert_eq!(public, old_public);
    verify_aggregation(&w.shape, &new, &public).unwrap();
    verify_aggregation_under(&w.shape, &old, &public, &STARK_PARAMS).unwrap();
    // Each refused under the other set (its shape: queries, rounds, arity).
    assert!(verify_aggregation_under(&w.shape, &new, &public, &STARK_PARAMS).is_err());
    assert!(verify_aggregation(&w.shape, &old, &public).is_err());
    // The cheaper-to-verify set is also the smaller proof.
    assert!(new.len() < old.len(), "{} vs {}", new.len(), old.len());
}

#[test]
fn unpinned_parameters_are_refused_by_name() {
    let w = witness(ChildKind::Batch, 1, 2, false, 0);
    let (bytes, public) = prove_aggregation(&w).unwrap();
    for weak in [
        StarkParams {
            num_queries: 10,
            ..AGG_PARAMS
        },
        StarkParams {
            max_log_arity: 4,
            ..AGG_PARAMS
        },
        StarkParams {
            log_blowup: 4,
            ..STARK_PARAMS
        },
    ] {
        let e = verify_aggregation_under(&w.shape, &bytes, &public, &weak).unwrap_err();
        assert!(matches!(e, StarkError::Params(_)), "{e}");
        let e = prove_aggregation_under(&w, &weak).unwrap_err();
        assert!(matches!(e, StarkError::Params(_)), "{e}");
    }
}
