//! Aggregation and solvency on the STARK, without recursion.
//!
//! # The statement proven by [`prove_aggregation`] and checked by [`verify_aggregation`]
//!
//! For a public shape ([`AggShape`]: `K` assets, `f` children of one kind, top or not) and public
//! values `(round, root, commitment, (r_1, c_1), ..., (r_f, c_f))` (and, at the top,
//! `(previous, reserves_1..K)`), the prover knows, for every child `i`, an opening
//! `(blind_i, v_i)` and a fresh blind `blind` such that:
//! - `c_i = Sponge_{tag}(blind_i, v_i)` for every child: the child's commitment is opened in the
//!   AIR (Poseidon2, `p3-poseidon2-air`). A batch child (`TAG_SUM`) commits to `4K` limb sums
//!   `v_{i,a,l} <= (2^14 - 1)(2^16 - 1)`, as its batch proof guarantees; an aggregate child
//!   (`TAG_AGG_SUM`) to `6K` limbs `v_{i,a,l} < 2^16`, as its aggregation proof guarantees;
//! - per asset `a`, `T_a = sum_i sum_l v_{i,a,l} 2^{16 l}` is computed in six 16-bit limbs with
//!   constrained carries: every accumulator limb is the sum of 16 bits, every carry the sum of 14
//!   bits, and each step `acc'_l + 2^16 carry'_l = acc_l + v_l + carry'_{l-1}` has both sides
//!   below `2^30 < p`, so it holds over the integers and nothing wraps; the top carry is zero, so
//!   `T_a < 2^96`;
//! - `commitment = Sponge_{TAG_AGG_SUM}(blind, T_{1,0..5}, ..., T_{K,0..5})` (normalised limbs);
//! - `root = g_f` where `g_0 = round` and `g_i = P(g_{i-1} || r_i)[0..8]`: a hash chain over the
//!   children's roots, in the public order, starting from the round digest;
//! - at the top: `T_a + d_a = reserves_a` with `d_a` in six range-checked 16-bit limbs and a zero
//!   top carry, so `T_a <= reserves_a` for every asset; and `previous` (the previous round's
//!   bundle hash as a digest) is held in the footer row's chain input.
//!
//! The verifier also checks, outside the AIR, that the children's public values are exactly
//! the public values of the child proofs it verified (same round, same order), which ties an
//! aggregation to exactly those children.
//!
//! # Fan-in
//!
//! One row per child, padding rows, and a footer row: `f <= 2^h - 1` children at height `2^h`.
//! The hiding PCS needs at least `2^7` rows, so up to 127 children cost no more rows than one;
//! the AIR accepts up to [`MAX_FAN_IN`] = 511 (height `2^9`), so that a round's `fan_in`
//! (a power of two) can be 256. A child costs 16 public values and one selector column. A round
//! of 10^6 users in batches of 4,095 has 245 batches: with `fan_in` 256, one top proof over all
//! of them, so that a customer downloads two proofs (batch and top).
//!
//! # Parameters
//!
//! Aggregation proofs use their own pinned FRI parameters, [`AGG_PARAMS`] (rate 1/32, 18
//! queries, folding arity up to 8): a round makes one aggregation proof per 256 batches, so the
//! larger blowup costs its prover little, while every customer verifies the proofs on its path
//! and downloads them. Rounds made before 2026-12-03 proved their aggregations under
//! [`STARK_PARAMS`]; [`verify_aggregation_under`] still checks them.

use super::*;

/// Limbs of an aggregated sum (16 bits each): sums below `2^96`, as on the other backends
/// (`w + 32` bits).
pub const AGG_LIMBS: usize = 6;
/// Bits of a carry between limbs of the accumulator.
pub const CARRY_BITS: usize = 14;
/// Domain tag in the capacity of an aggregate's sum-commitment sponge.
pub const TAG_AGG_SUM: u32 = 4;
/// Largest aggregation trace height (`log2`).
pub const MAX_AGG_LOG_HEIGHT: usize = 9;
/// Most children per aggregation proof.
pub const MAX_FAN_IN: usize = (1 << MAX_AGG_LOG_HEIGHT) - 1;
/// Largest value of a batch's committed limb sum: `2^14 - 1` users of `2^16 - 1`.
const MAX_BATCH_LIMB_SUM: u64 = ((1 << (MAX_LOG_HEIGHT)) - 1) * 0xffff;

/// What kind of proof the children of an aggregation are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// Batch proofs: commitments to `4K` limb sums under `TAG_SUM`.
    Batch,
    /// Aggregation proofs: commitments to `6K` normalised limbs under `TAG_AGG_SUM`.
    Aggregate,
}

impl ChildKind {
    /// Committed limbs per asset.
    pub fn limbs(self) -> usize {
        match self {
            Self::Batch => LIMBS,
            Self::Aggregate => AGG_LIMBS,
        }
    }
    fn tag(self) -> u32 {
        match self {
            Self::Batch => TAG_SUM,
            Self::Aggregate => TAG_AGG_SUM,
        }
    }
    fn max_limb(self) -> u64 {
        match self {
            Self::Batch => MAX_BATCH_LIMB_SUM,
            Self::Aggregate => 0xffff,
        }
    }
}

/// The public shape of an aggregation proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggShape {
    /// Number of assets `K`.
    pub assets: usize,
    /// Number of children `f` (1 ..= [`MAX_FAN_IN`]).
    pub children: usize,
    /// The children's kind.
    pub child_kind: ChildKind,
    /// Whether this is the top proof (reserves and previous round).
    pub top: bool,
    /// `log2` of the trace height: the smallest with `f + 1` rows, at least [`MIN_LOG_HEIGHT`].
    pub log_height: usize,
}

impl AggShape {
    /// A checked shape; the height follows from the number of children.
    pub fn new(
        assets: usize,
        children: usize,
        child_kind: ChildKind,
        top: bool,
    ) -> Result<Self, StarkError> {
        if assets == 0 || assets > MAX_ASSETS {
            return Err(StarkError::Shape(format!(
                "{assets} assets (expected 1..={MAX_ASSETS})"
            )));
        }
        if children == 0 || children > MAX_FAN_IN {
            return Err(StarkError::Shape(format!(
                "{children} children (expected 1..={MAX_FAN_IN})"
            )));
        }
        let log_height = (children + 1)
            .next_power_of_two()
            .trailing_zeros()
            .max(MIN_LOG_HEIGHT as u32) as usize;
        Ok(Self {
            assets,
            children,
            child_kind,
            top,
            log_height,
        })
    }

    fn rows(&self) -> usize {
        1 << self.log_height
    }
    /// Flat limb count of a sum vector (`6K`).
    fn nq(&self) -> usize {
        AGG_LIMBS * self.assets
    }
    /// Flat limb count of a child's opening.
    fn child_limbs(&self) -> usize {
        self.child_kind.limbs() * self.assets
    }
    /// Sponge permutations per row (enough for the parent's `6K` limbs).
    fn sponge_perms(&self) -> usize {
        1 + self.nq().div_ceil(RATE)
    }
    /// The permutation whose output is a child's commitment.
    fn child_last(&self) -> usize {
        self.child_limbs().div_ceil(RATE)
    }
    fn num_public_values(&self) -> usize {
        3 * DIGEST_ELEMS
            + 2 * DIGEST_ELEMS * self.children
            + if self.top {
                DIGEST_ELEMS + self.nq()
            } else {
                0
            }
    }
}

/// The public values of one child: its root and its sum commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildPublic {
    /// The child's root (batch chain root or aggregate root).
    pub root: Digest,
    /// The child's sum commitment.
    pub commitment: Digest,
}

/// The top proof's extra public values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopPublic {
    /// The previous round's bundle hash as a digest (all zeros for the first round).
    pub previous: Digest,
    /// Declared reserves per asset, each below `2^96`.
    pub reserves: Vec<u128>,
}

/// What an aggregation proof makes public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggPublic {
    /// The round digest ([`round_digest`]).
    pub round: Digest,
    /// The chain root over the children's roots.
    pub root: Digest,
    /// The hiding commitment to the normalised per-asset totals.
    pub commitment: Digest,
    /// The children, in order.
    pub children: Vec<ChildPublic>,
    /// At the top: the previous round and the reserves.
    pub top: Option<TopPublic>,
}

fn limbs96(x: u128) -> [u64; AGG_LIMBS] {
    core::array::from_fn(|l| ((x >> (LIMB_BITS * l)) & 0xffff) as u64)
}

impl AggPublic {
    /// The public values in the AIR's order: round, root, commitment, every child's root and
    /// commitment, and at the top the previous digest and six 16-bit limbs per reserve.
    pub fn to_values(&self) -> Vec<Val> {
        let mut v: Vec<Val> = Vec::new();
        v.extend_from_slice(&self.round);
        v.extend_from_slice(&self.root);
        v.extend_from_slice(&self.commitment);
        for c in &self.children {
            v.extend_from_slice(&c.root);
            v.extend_from_slice(&c.commitment);
        }
        if let Some(t) = &self.top {
            v.extend_from_slice(&t.previous);
            for r in &t.reserves {
                v.extend(limbs96(*r).iter().map(|x| Val::from_u64(*x)));
            }
        }
        v
    }

    /// Checks these values against a shape: child count, top part, reserves below `2^96`.
    fn check(&self, shape: &AggShape) -> Result<(), StarkError> {
        if self.children.len() != shape.children {
            return Err(StarkError::Shape(format!(
                "{} children in the public values, the shape has {}",
                self.children.len(),
                shape.children
            )));
        }
        match (&self.top, shape.top) {
            (None, false) => Ok(()),
            (Some(t), true) => {
                if t.reserves.len() != shape.assets {
                    return Err(StarkError::Shape(format!(
                        "{} reserves for {} assets",
                        t.reserves.len(),
                        shape.assets
                    )));
                }
                if let Some((a, r)) = t
                    .reserves
                    .iter()
                    .enumerate()
                    .find(|(_, r)| **r >> (AGG_LIMBS * LIMB_BITS) != 0)
                {
                    return Err(StarkError::Shape(format!(
                        "reserves of asset {a} ({r}) are not below 2^96"
                    )));
                }
                Ok(())
            }
            (None, true) => Err(StarkError::Shape(
                "a top shape needs the previous round and the reserves".into(),
            )),
            (Some(_), false) => Err(StarkError::Shape(
                "reserves and previous round are public only at the top".into(),
            )),
        }
    }
}

/// A child's opening: what the aggregator knows about a child beyond its public values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildOpening {
    /// The child's public values.
    pub public: ChildPublic,
    /// The child's blind (12 elements).
    pub blind: Blind,
    /// The committed limbs, asset-major: `4K` limb sums (batch) or `6K` limbs (aggregate).
    pub limbs: Vec<u64>,
}

impl ChildOpening {
    /// The opening of a batch from its native statement and the blind it was proven with.
    pub fn from_batch(st: &BatchStatement, blind: Blind) -> Self {
        Self {
            public: ChildPublic {
                root: st.public.root,
                commitment: st.public.commitment,
            },
            blind,
            limbs: st
                .limb_sums
                .iter()
                .flat_map(|s| s.iter().map(|x| u64::from(*x)))
                .collect(),
        }
    }

    /// The opening of an aggregate from its native statement and the blind it was proven with.
    pub fn from_aggregate(st: &AggStatement, blind: Blind) -> Self {
        Self {
            public: ChildPublic {
                root: st.public.root,
                commitment: st.public.commitment,
            },
            blind,
            limbs: st.sums.iter().flat_map(|s| limbs96(*s)).collect(),
        }
    }
}

/// An aggregation witness.
#[derive(Clone, Debug)]
pub struct AggWitness {
    /// The shape both sides agree on.
    pub shape: AggShape,
    /// The round digest.
    pub round: Digest,
    /// The children's openings, in order.
    pub children: Vec<ChildOpening>,
    /// The fresh blind of the parent's commitment.
    pub blind: Blind,
    /// At the top: the previous round and the reserves.
    pub top: Option<TopPublic>,
}

/// The native twin's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggStatement {
    /// The public values.
    pub public: AggPublic,
    /// Per asset, the exact total (private to the exchange).
    pub sums: Vec<u128>,
}

/// The commitment a child of `kind` makes to `limbs` under `blind` (native).
pub fn child_commitment(kind: ChildKind, assets: usize, blind: &Blind, limbs: &[u64]) -> Digest {
    let vals: Vec<Val> = limbs.iter().map(|x| Val::from_u64(*x)).collect();
    let bl = blocks(&vals, vals.len().div_ceil(RATE));
    sponge_inputs(poseidon2(), kind.tag(), blind, &bl, assets).1
}

/// The raw witness of the trace builder; tests corrupt it to build malicious traces.
#[derive(Clone, Debug)]
pub(crate) struct RawAgg {
    pub(crate) shape: AggShape,
    pub(crate) round: Digest,
    pub(crate) child_roots: Vec<Digest>,
    pub(crate) child_blinds: Vec<Blind>,
    /// Per child, its committed limbs (any `u64`: the trace builder does not check them).
    pub(crate) child_limbs: Vec<Vec<u64>>,
    pub(crate) blind: Blind,
    pub(crate) top: Option<TopPublic>,
    /// Test only: at `(row, asset)`, write limb 0 of the accumulator as `acc + 1` and its carry
    /// as `carry + (p - 1) / 2^16` (the same field value, an integer `p` too large).
    pub(crate) wrap: Option<(usize, usize)>,
    /// Test only: a padding row and limbs (in the child format) it adds anyway.
    pub(crate) pad_limbs: Option<(usize, Vec<u64>)>,
}

impl RawAgg {
    fn from_witness(w: &AggWitness) -> Self {
        Self {
            shape: w.shape,
            round: w.round,
            child_roots: w.children.iter().map(|c| c.public.root).collect(),
            child_blinds: w.children.iter().map(|c| c.blind).collect(),
            child_limbs: w.children.iter().map(|c| c.limbs.clone()).collect(),
            blind: w.blind,
            top: w.top.clone(),
            wrap: None,
            pad_limbs: None,
        }
    }
}

/// Column layout of an aggregation row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AggLayout {
    shape: AggShape,
}

impl AggLayout {
    pub(crate) fn block(&self, j: usize) -> usize {
        j * P2_COLS
    }
    /// Column of element `idx` of the sponge's limb stream.
    pub(crate) fn input(&self, idx: usize) -> usize {
        self.block(1 + idx / RATE) + idx % RATE
    }
    pub(crate) fn chain(&self) -> usize {
        self.block(self.shape.sponge_perms())
    }
    pub(crate) fn sel(&self, i: usize) -> usize {
        self.block(self.shape.sponge_perms() + 1) + i
    }
    pub(crate) fn acc(&self, q: usize) -> usize {
        self.sel(self.shape.children) + q
    }
    fn acc_bits(&self, q: usize) -> usize {
        self.acc(self.shape.nq()) + q * LIMB_BITS
    }
    pub(crate) fn carry(&self, q: usize) -> usize {
        self.acc_bits(self.shape.nq()) + q
    }
    fn carry_bits(&self, q: usize) -> usize {
        self.carry(self.shape.nq()) + q * CARRY_BITS
    }
    pub(crate) fn footer(&self) -> usize {
        self.carry_bits(self.shape.nq())
    }
    pub(crate) fn width(&self) -> usize {
        self.footer() + 1
    }
}

fn field_of_i128(x: i128) -> Val {
    // Every value here is far below 2^64 in absolute value.
    let m = Val::from_u64(x.unsigned_abs() as u64);
    if x >= 0 {
        m
    } else {
        Val::ZERO - m
    }
}

/// Builds the trace; returns it, the public values and the per-asset totals (mod `2^96`).
pub(crate) fn build_agg_trace(raw: &RawAgg) -> (RowMajorMatrix<Val>, AggPublic, Vec<u128>) {
    let shape = raw.shape;
    let lay = AggLayout { shape };
    let rows = shape.rows();
    let f = shape.children;
    let k = shape.assets;
    let nq = shape.nq();
    let cl = shape.child_kind.limbs();
    let sp = shape.sponge_perms();
    let perm = poseidon2();

    // Accumulator and carries per row (integers), and the sponge's limb stream per row.
    let mut acc = vec![vec![0i128; nq]; rows];
    let mut carry = vec![vec![0i128; nq]; rows];
    let mut prev = vec![0i128; nq];
    let row_limbs = |r: usize| -> Option<&Vec<u64>> {
        if r < f {
            Some(&raw.child_limbs[r])
        } else {
            raw.pad_limbs
                .as_ref()
                .filter(|(row, _)| *row == r)
                .map(|(_, l)| l)
        }
    };
    for r in 0..rows - 1 {
        for a in 0..k {
            let mut c = 0i128;
            for l in 0..AGG_LIMBS {
                let q = a * AGG_LIMBS + l;
                let v = match row_limbs(r) {
                    Some(limbs) if l < cl => i128::from(limbs[a * cl + l]),
                    _ => 0,
                };
                let x = prev[q] + v + c;
                acc[r][q] = x & 0xffff;
                c = x >> LIMB_BITS;
                if raw.wrap == Some((r, a)) && l == 0 {
                    acc[r][q] += 1;
                    c += i128::from((Val::ORDER_U32 - 1) >> LIMB_BITS);
                }
                carry[r][q] = c;
            }
        }
        prev = acc[r].clone();
    }
    let totals_limbs = prev.clone();
    let totals: Vec<u128> = (0..k)
        .map(|a| {
            (0..AGG_LIMBS)
                .map(|l| (totals_limbs[a * AGG_LIMBS + l] as u128) << (LIMB_BITS * l))
                .sum()
        })
        .collect();
    // Footer: at the top, d = reserves - total (mod 2^96) and the borrow chain.
    let footer = rows - 1;
    if let Some(t) = &raw.top {
        for (a, (total, reserve)) in totals.iter().zip(&t.reserves).enumerate() {
            let modulus = 1u128 << (AGG_LIMBS * LIMB_BITS);
            let d = (reserve % modulus + modulus - total) % modulus;
            let (dl, rl) = (limbs96(d), limbs96(*reserve));
            let mut c = 0i128;
            for l in 0..AGG_LIMBS {
                let q = a * AGG_LIMBS + l;
                acc[footer][q] = i128::from(dl[l]);
                let x = totals_limbs[q] + acc[footer][q] + c - i128::from(rl[l]);
                c = x >> LIMB_BITS;
                carry[footer][q] = c;
            }
        }
    }

    // Sponge inputs per row, and the child and parent digests.
    let mut sponge_in: Vec<Vec<[Val; WIDTH]>> = vec![Vec::with_capacity(rows); sp];
    let mut child_comms = Vec::with_capacity(f);
    let mut commitment = [Val::ZERO; DIGEST_ELEMS];
    for r in 0..rows {
        let (tag, blind, stream): (u32, Blind, Vec<Val>) = if r < f {
            let s = raw.child_limbs[r]
                .iter()
                .map(|x| Val::from_u64(*x))
                .collect();
            (shape.child_kind.tag(), raw.child_blinds[r], s)
        } else if r < footer {
            let s = row_limbs(r).map_or(vec![], |l| l.iter().map(|x| Val::from_u64(*x)).collect());
            (shape.child_kind.tag(), [Val::ZERO; BLIND_ELEMS], s)
        } else {
            let s = totals_limbs.iter().map(|x| field_of_i128(*x)).collect();
            (TAG_AGG_SUM, raw.blind, s)
        };
        let bl = blocks(&stream, sp - 1);
        let (ins, digest) = sponge_inputs(perm, tag, &blind, &bl, k);
        if r < f {
            let out = perm.permute(ins[shape.child_last()]);
            child_comms.push(core::array::from_fn::<Val, DIGEST_ELEMS, _>(|i| out[i]));
        }
        if r == footer {
            commitment = digest;
        }
        for (j, inp) in ins.into_iter().enumerate() {
            sponge_in[j].push(inp);
        }
    }

    // The chain over the children's roots, from the round digest.
    let previous = raw.top.as_ref().map_or([Val::ZERO; 8], |t| t.previous);
    let mut chain_in = Vec::with_capacity(rows);
    let mut state = raw.round;
    for r in 0..rows {
        let leaf = if r < f {
            raw.child_roots[r]
        } else if r == footer {
            previous
        } else {
            [Val::ZERO; DIGEST_ELEMS]
        };
        let mut input = [Val::ZERO; WIDTH];
        input[..DIGEST_ELEMS].copy_from_slice(&state);
        input[DIGEST_ELEMS..].copy_from_slice(&leaf);
        chain_in.push(input);
        if r < f {
            let out = perm.permute(input);
            state = core::array::from_fn(|i| out[i]);
        }
    }
    let public = AggPublic {
        round: raw.round,
        root: state,
        commitment,
        children: (0..f)
            .map(|i| ChildPublic {
                root: raw.child_roots[i],
                commitment: child_comms[i],
            })
            .collect(),
        top: raw.top.clone(),
    };

    // Fill the trace.
    let width = lay.width();
    let mut values = Val::zero_vec(rows * width);
    let constants = round_constants();
    let mut fill = |block_col: usize, inputs: Vec<[Val; WIDTH]>| {
        let m = p2_trace_rows(inputs, &constants);
        for (r, row) in m.values.chunks_exact(P2_COLS).enumerate() {
            values[r * width + block_col..r * width + block_col + P2_COLS].copy_from_slice(row);
        }
    };
    for (j, ins) in sponge_in.into_iter().enumerate() {
        fill(lay.block(j), ins);
    }
    fill(lay.chain(), chain_in);
    for r in 0..rows {
        let row = &mut values[r * width..(r + 1) * width];
        if r < f {
            row[lay.sel(r)] = Val::ONE;
        }
        for q in 0..nq {
            let av = field_of_i128(acc[r][q]);
            let cv = field_of_i128(carry[r][q]);
            row[lay.acc(q)] = av;
            row[lay.carry(q)] = cv;
            let (ab, cb) = (av.as_canonical_u32(), cv.as_canonical_u32());
            for b in 0..LIMB_BITS {
                row[lay.acc_bits(q) + b] = Val::from_u32((ab >> b) & 1);
            }
            for b in 0..CARRY_BITS {
                row[lay.carry_bits(q) + b] = Val::from_u32((cb >> b) & 1);
            }
        }
        if r == footer {
            row[lay.footer()] = Val::ONE;
        }
    }
    (RowMajorMatrix::new(values, width), public, totals)
}

/// The native twin: checks the witness (children, openings, ranges, no overflow, solvency at
/// the top) and returns the public values and the totals, exactly as the AIR constrains them.
///
/// # Errors
/// [`StarkError::Shape`] naming the child, asset or limb at fault.
pub fn aggregate_statement(w: &AggWitness) -> Result<AggStatement, StarkError> {
    let shape = w.shape;
    if w.children.len() != shape.children {
        return Err(StarkError::Shape(format!(
            "{} children, the shape has {}",
            w.children.len(),
            shape.children
        )));
    }
    for (i, c) in w.children.iter().enumerate() {
        if c.limbs.len() != shape.child_limbs() {
            return Err(StarkError::Shape(format!(
                "child {i} opens {} limbs, expected {}",
                c.limbs.len(),
                shape.child_limbs()
            )));
        }
        if let Some(j) = c
            .limbs
            .iter()
            .position(|x| *x > shape.child_kind.max_limb())
        {
            return Err(StarkError::Shape(format!(
                "child {i}: limb {j} ({}) is above the bound of a {:?} child",
                c.limbs[j], shape.child_kind
            )));
        }
        if child_commitment(shape.child_kind, shape.assets, &c.blind, &c.limbs)
            != c.public.commitment
        {
            return Err(StarkError::Shape(format!(
                "child {i}: the opening does not open its commitment"
            )));
        }
    }
    // Exact totals, and the 2^96 bound.
    let mut sums = vec![0u128; shape.assets];
    for c in &w.children {
        let cl = shape.child_kind.limbs();
        for (a, s) in sums.iter_mut().enumerate() {
            for l in 0..cl {
                *s += u128::from(c.limbs[a * cl + l]) << (LIMB_BITS * l);
            }
        }
    }
    if let Some(a) = sums.iter().position(|s| *s >> (AGG_LIMBS * LIMB_BITS) != 0) {
        return Err(StarkError::Shape(format!(
            "asset {a}: the aggregate is not below 2^96"
        )));
    }
    let probe = AggPublic {
        round: w.round,
        root: [Val::ZERO; 8],
        commitment: [Val::ZERO; 8],
        children: w.children.iter().map(|c| c.public).collect(),
        top: w.top.clone(),
    };
    probe.check(&shape)?;
    if let Some(t) = &w.top {
        if let Some(a) = (0..shape.assets).find(|a| sums[*a] > t.reserves[*a]) {
            return Err(StarkError::Shape(format!(
                "asset {a}: liabilities {} exceed reserves {}",
                sums[a], t.reserves[a]
            )));
        }
    }
    let (_, public, totals) = build_agg_trace(&RawAgg::from_witness(w));
    debug_assert_eq!(totals, sums);
    Ok(AggStatement { public, sums })
}

/// The AIR of the aggregation statement (see the module documentation).
pub struct AggregationAir {
    shape: AggShape,
    p2: P2Air,
}

impl AggregationAir {
    /// The AIR for an aggregation shape.
    pub fn new(shape: AggShape) -> Self {
        Self {
            shape,
            p2: P2Air::new(round_constants()),
        }
    }
}

impl fmt::Debug for AggregationAir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AggregationAir")
            .field("shape", &self.shape)
            .finish()
    }
}

impl BaseAir<Val> for AggregationAir {
    fn width(&self) -> usize {
        AggLayout { shape: self.shape }.width()
    }
    fn num_public_values(&self) -> usize {
        self.shape.num_public_values()
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(3)
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for AggregationAir {
    fn eval(&self, builder: &mut AB) {
        let shape = self.shape;
        let lay = AggLayout { shape };
        let sp = shape.sponge_perms();
        let f = shape.children;
        let k = shape.assets;
        let cl = shape.child_kind.limbs();
        let nq = shape.nq();

        for j in 0..=sp {
            let start = lay.block(j);
            let mut sub = SubAirBuilder::<AB, P2Air, AB::Var>::new(builder, start..start + P2_COLS);
            self.p2.eval(&mut sub);
        }

        let (local, next, publics) = super::window(builder);
        let pub_round = |e: usize| publics[e].clone();
        let pub_root = |e: usize| publics[DIGEST_ELEMS + e].clone();
        let pub_comm = |e: usize| publics[2 * DIGEST_ELEMS + e].clone();
        let pub_child_root = |i: usize, e: usize| publics[3 * DIGEST_ELEMS + 16 * i + e].clone();
        let pub_child_comm =
            |i: usize, e: usize| publics[3 * DIGEST_ELEMS + 16 * i + DIGEST_ELEMS + e].clone();
        let top_base = 3 * DIGEST_ELEMS + 2 * DIGEST_ELEMS * f;

        // Footer flag: 1 on the last row only.
        let footer = local[lay.footer()];
        let footer_next = next[lay.footer()];
        builder.when_transition().assert_zero(footer);
        builder.when_last_row().assert_one(footer);
        let not_footer = AB::Expr::ONE - footer.into();

        // Selectors: row r < f has sel_r = 1 and every other 0; rows >= f have none.
        for i in 0..f {
            if i == 0 {
                builder.when_first_row().assert_one(local[lay.sel(0)]);
                builder.when_transition().assert_zero(next[lay.sel(0)]);
            } else {
                builder.when_first_row().assert_zero(local[lay.sel(i)]);
                builder
                    .when_transition()
                    .assert_eq(next[lay.sel(i)], local[lay.sel(i - 1)]);
            }
        }
        let is_child = |row: &[AB::Var]| -> AB::Expr {
            (0..f).fold(AB::Expr::ZERO, |s, i| s + row[lay.sel(i)].into())
        };
        let child_l = is_child(&local);
        let pad = AB::Expr::ONE - child_l.clone() - footer.into();

        // Sponge: capacity IV (child tag, or TAG_AGG_SUM on the footer; then K; then zeros),
        // chaining, zero padding of the limb stream.
        let child_tag = shape.child_kind.tag();
        let tag = AB::Expr::from_u32(child_tag)
            + footer.into() * AB::Expr::from_u32(TAG_AGG_SUM - child_tag);
        builder.assert_eq(local[lay.block(0) + HEAD_ELEMS], tag);
        builder.assert_eq(
            local[lay.block(0) + HEAD_ELEMS + 1],
            AB::Expr::from_usize(k),
        );
        for i in HEAD_ELEMS + 2..WIDTH {
            builder.assert_zero(local[lay.block(0) + i]);
        }
        for j in 1..sp {
            for i in RATE..WIDTH {
                builder.assert_eq(
                    local[lay.block(j) + i],
                    local[lay.block(j - 1) + P2_OUT + i],
                );
            }
        }
        for idx in nq..(sp - 1) * RATE {
            builder.assert_zero(local[lay.input(idx)]);
        }
        for idx in shape.child_limbs()..nq {
            builder
                .when(not_footer.clone())
                .assert_zero(local[lay.input(idx)]);
        }

        // A child row opens the child's public commitment and absorbs its public root.
        let child_out = lay.block(shape.child_last()) + P2_OUT;
        for e in 0..DIGEST_ELEMS {
            let want_comm = (0..f).fold(AB::Expr::ZERO, |s, i| {
                s + local[lay.sel(i)].into() * pub_child_comm(i, e)
            });
            builder.assert_eq(child_l.clone() * local[child_out + e].into(), want_comm);
            let want_root = (0..f).fold(AB::Expr::ZERO, |s, i| {
                s + local[lay.sel(i)].into() * pub_child_root(i, e)
            });
            builder.assert_eq(
                child_l.clone() * local[lay.chain() + DIGEST_ELEMS + e].into(),
                want_root,
            );
        }

        // Chain over the children's roots: first state = round; a child row steps the chain,
        // other rows carry it; the footer's state is the public root; the footer absorbs the
        // previous round's hash (top) or zeros.
        for e in 0..DIGEST_ELEMS {
            let st = local[lay.chain() + e];
            builder.when_first_row().assert_eq(st, pub_round(e));
            let out = local[lay.chain() + P2_OUT + e];
            builder.when_transition().assert_eq(
                next[lay.chain() + e],
                st.into() + child_l.clone() * (out.into() - st.into()),
            );
            builder.when_last_row().assert_eq(st, pub_root(e));
            let prev = if shape.top {
                publics[top_base + e].clone()
            } else {
                AB::Expr::ZERO
            };
            builder
                .when_last_row()
                .assert_eq(local[lay.chain() + DIGEST_ELEMS + e], prev);
            // The footer's sponge output is the public commitment.
            builder
                .when_last_row()
                .assert_eq(local[lay.block(sp - 1) + P2_OUT + e], pub_comm(e));
        }

        // The limbs a row adds: the child's opening (zero beyond its limb count).
        let v = |row: &[AB::Var], a: usize, l: usize| -> AB::Expr {
            if l < cl {
                row[lay.input(a * cl + l)].into()
            } else {
                AB::Expr::ZERO
            }
        };
        let two16 = AB::Expr::from_u32(1 << LIMB_BITS);
        for a in 0..k {
            for l in 0..AGG_LIMBS {
                let q = a * AGG_LIMBS + l;
                // Padding rows add nothing.
                if l < cl {
                    builder.assert_zero(pad.clone() * v(&local, a, l));
                }
                let cin_l = if l == 0 {
                    AB::Expr::ZERO
                } else {
                    local[lay.carry(q - 1)].into()
                };
                let cin_n = if l == 0 {
                    AB::Expr::ZERO
                } else {
                    next[lay.carry(q - 1)].into()
                };
                // First row: acc + 2^16 carry = v + carry_in.
                builder.when_first_row().assert_eq(
                    local[lay.acc(q)].into() + two16.clone() * local[lay.carry(q)].into(),
                    v(&local, a, l) + cin_l,
                );
                // Next row (not the footer): acc' + 2^16 carry' = acc + v' + carry_in'.
                builder
                    .when_transition()
                    .when(AB::Expr::ONE - footer_next.into())
                    .assert_eq(
                        next[lay.acc(q)].into() + two16.clone() * next[lay.carry(q)].into(),
                        local[lay.acc(q)].into() + v(&next, a, l) + cin_n.clone(),
                    );
                // The footer's sponge absorbs the totals.
                builder
                    .when_transition()
                    .when(footer_next)
                    .assert_eq(next[lay.input(q)], local[lay.acc(q)]);
                // Top: total + d + borrow_in = reserves + 2^16 borrow (d in the footer's acc).
                if shape.top {
                    builder.when_transition().when(footer_next).assert_eq(
                        local[lay.acc(q)].into() + next[lay.acc(q)].into() + cin_n,
                        publics[top_base + DIGEST_ELEMS + q].clone()
                            + two16.clone() * next[lay.carry(q)].into(),
                    );
                }
            }
            // No carry out of the top limb: totals below 2^96, and d >= 0 at the top.
            builder.assert_zero(local[lay.carry(a * AGG_LIMBS + AGG_LIMBS - 1)]);
        }

        // Ranges: every accumulator limb is 16 bits, every carry 14 bits (all rows).
        for q in 0..nq {
            let mut acc = AB::Expr::ZERO;
            for b in 0..LIMB_BITS {
                let bit = local[lay.acc_bits(q) + b];
                builder.assert_bool(bit);
                acc += bit.into() * AB::Expr::from_u32(1 << b);
            }
            builder.assert_eq(local[lay.acc(q)], acc);
            let mut c = AB::Expr::ZERO;
            for b in 0..CARRY_BITS {
                let bit = local[lay.carry_bits(q) + b];
                builder.assert_bool(bit);
                c += bit.into() * AB::Expr::from_u32(1 << b);
            }
            builder.assert_eq(local[lay.carry(q)], c);
        }
    }
}

/// Proves an aggregation with [`AGG_PARAMS`] after checking the witness with the native twin
/// (an insolvent or overflowing aggregate is an error, never a proof).
pub fn prove_aggregation(w: &AggWitness) -> Result<(Vec<u8>, AggPublic), StarkError> {
    prove_aggregation_under(w, &AGG_PARAMS)
}

/// [`prove_aggregation`] under another of the pinned parameter sets ([`STARK_PARAMS`]: the
/// aggregation proofs of rounds made before 2026-12-03).
///
/// # Errors
/// As [`prove_aggregation`], and [`StarkError::Params`] for parameters that are not pinned.
pub fn prove_aggregation_under(
    w: &AggWitness,
    params: &StarkParams,
) -> Result<(Vec<u8>, AggPublic), StarkError> {
    check_pinned(params)?;
    let st = aggregate_statement(w)?;
    let (bytes, public) = prove_agg_raw_with(&RawAgg::from_witness(w), params)?;
    debug_assert_eq!(public, st.public);
    Ok((bytes, public))
}

pub(crate) fn prove_agg_raw_with(
    raw: &RawAgg,
    params: &StarkParams,
) -> Result<(Vec<u8>, AggPublic), StarkError> {
    let (trace, public, _) = build_agg_trace(raw);
    let air = AggregationAir::new(raw.shape);
    let config = stark_config(params, None);
    let proof = prove(&config, &air, trace, &public.to_values())
        .map_err(|e| StarkError::Proving(e.to_string()))?;
    let bytes = postcard::to_allocvec(&proof).map_err(|e| StarkError::Proving(e.to_string()))?;
    Ok((bytes, public))
}

/// Verifies an aggregation proof for a shape and public values, with [`AGG_PARAMS`] (the
/// parameters of [`prove_aggregation`]).
///
/// Guarantees on `Ok` (module documentation): the children's commitments open to sums whose
/// per-asset totals, computed without wrapping and below `2^96`, are committed in
/// `public.commitment`; `public.root` chains the children's roots from the round digest; at the
/// top, every total is at most its public reserves and the proof carries `previous`. The caller
/// must still check that `public.children` are the public values of the child proofs it
/// verified, in order, and that every proof names the same round.
pub fn verify_aggregation(
    shape: &AggShape,
    proof_bytes: &[u8],
    public: &AggPublic,
) -> Result<(), StarkError> {
    verify_aggregation_under(shape, proof_bytes, public, &AGG_PARAMS)
}

/// [`verify_aggregation`] under one of the pinned parameter sets: [`AGG_PARAMS`], or
/// [`STARK_PARAMS`] for the aggregation proofs of rounds made before 2026-12-03 (their bundles
/// name no `agg_params`). The same guarantees on `Ok`; any other parameters are refused before
/// the proof is read.
pub fn verify_aggregation_under(
    shape: &AggShape,
    proof_bytes: &[u8],
    public: &AggPublic,
    params: &StarkParams,
) -> Result<(), StarkError> {
    let shape = AggShape::new(shape.assets, shape.children, shape.child_kind, shape.top)?;
    public.check(&shape)?;
    let values = public.to_values();
    verify_air_with(
        &AggregationAir::new(shape),
        shape.log_height,
        proof_bytes,
        &values,
        params,
    )
}

/// Trace cells (`rows x columns`) of an aggregation proof of `shape` (see
/// [`batch_trace_cells`]).
pub fn aggregation_trace_cells(shape: &AggShape) -> usize {
    shape.rows() * AggregationAir::new(*shape).width()
}

/// The security level of aggregation proofs of `shape` under `params` (Plonky3's calculator, as
/// [`security`] for batches).
pub fn aggregation_security(
    shape: &AggShape,
    params: &StarkParams,
) -> Result<StarkSecurity, StarkError> {
    security_of(&AggregationAir::new(*shape), shape.log_height, params)
}

#[cfg(test)]
mod tests;
