//! The solvency batch statement as a zero-knowledge STARK (Plonky3, feature `stark`).
//!
//! Field KoalaBear (`p = 2^31 - 2^24 + 1`), challenges in its degree-4 extension, hash Poseidon2
//! (width 16, the standard KoalaBear constants of `p3-koala-bear`), proof system `p3-uni-stark`
//! over the hiding FRI PCS of `p3-fri` with a hiding Merkle MMCS. `docs/stark.md` states the
//! parameters, the security level and how the trace stays hidden.
//!
//! # The statement proven by [`prove_batch`] and checked by [`verify_batch`]
//!
//! For public `(round, root, commitment)` and a public shape (`K` assets, `n = 2^k - 1` users), the
//! prover knows, for every user `u`, an id digest `id_u` (8 elements), a salt `s_u` (4 elements)
//! and `K` balances `b_{u,a}`, and a blind `r` (12 elements), such that:
//! - every balance is in `[0, 2^64)`: it is written as four 16-bit limbs, each limb is the sum of
//!   16 constrained bits, so no limb can be a field element such as `p - x`;
//! - `leaf_u = Sponge_{TAG_LEAF}(id_u, s_u, limbs of b_{u,1..K})` (Poseidon2 sponge: the first
//!   permutation takes the whole state, `(id_u, s_u, TAG_LEAF, K, 0, 0)`; then rate 8, capacity
//!   8; 8-element digest, so about 124-bit collision security);
//! - `root = c_n` where `c_0 = round` (the round digest, [`round_digest`]) and
//!   `c_u = P(c_{u-1} || leaf_u)[0..8]`: a **hash chain** over the leaves in order, so the root
//!   belongs to one round (not a Merkle tree; a customer checks inclusion with a chain path,
//!   [`verify_chain_path`]; see `docs/stark.md`);
//! - for every asset `a` and limb `l`, `S_{a,l} = sum_u limb_l(b_{u,a})`; each `S_{a,l}` is below
//!   `n * (2^16 - 1) < 2^30 < p` because `n < 2^14`, so the limb sums never wrap and
//!   `sum_a = sum_l S_{a,l} * 2^{16 l}` is the exact integer sum;
//! - `commitment = Sponge_{TAG_SUM}(r, S_{1,0..3}, ..., S_{K,0..3})`, hiding by the blind.
//!
//! The aggregation levels and the top (`sum_a <= reserves_a`) are in [`aggregation`]; the
//! customer's native inclusion check in [`inclusion`].
//!
//! # The trace
//!
//! One row per user and one last ("footer") row; the height `N = n + 1` is a power of two,
//! between `2^7` (the hiding PCS needs that many rows for its masks) and `2^14` (so that no limb
//! sum wraps). A row holds `S + 1` Poseidon2 permutations side by side, each checked by
//! `p3-poseidon2-air`'s own AIR on its column range: `S = 1 + ceil(4K / 8)` sponge permutations
//! (id and salt, then 8 limbs per permutation) and one chain permutation; then the 16 bits of every
//! limb, the running limb sums, and a footer flag. In the footer row the sponge absorbs the blind
//! and the final limb sums (under `TAG_SUM`), so that the commitment costs no extra columns.

use core::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_challenger::DuplexChallenger;
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DitParallel;
use p3_field::extension::BinomialExtensionField;
use p3_field::{Field, PrimeCharacteristicRing, PrimeField32};
use p3_fri::{FriParameters, HidingFriPcs};
use p3_koala_bear::{
    default_koalabear_poseidon2_16, GenericPoseidon2LinearLayersKoalaBear, KoalaBear,
    Poseidon2KoalaBear, KOALABEAR_POSEIDON2_HALF_FULL_ROUNDS,
    KOALABEAR_POSEIDON2_PARTIAL_ROUNDS_16, KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL, KOALABEAR_POSEIDON2_RC_16_INTERNAL,
    KOALABEAR_S_BOX_DEGREE,
};
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeHidingMmcs;
use p3_poseidon2_air::{generate_trace_rows, num_cols, Poseidon2Air, RoundConstants};
use p3_symmetric::{PaddingFreeSponge, Permutation, TruncatedPermutation};
use p3_uni_stark::{prove, verify, Proof, StarkConfig, SubAirBuilder};
use rand_10::rngs::StdRng;
use rand_10::SeedableRng;

/// The base field: KoalaBear, `p = 2^31 - 2^24 + 1`.
pub type Val = KoalaBear;
/// The challenge field: the degree-4 extension of KoalaBear (about 124 bits).
pub type Challenge = BinomialExtensionField<Val, 4>;
/// A digest: 8 KoalaBear elements (248 bits, about 124-bit collision security).
pub type Digest = [Val; DIGEST_ELEMS];

/// Elements in a digest.
pub const DIGEST_ELEMS: usize = 8;
/// Elements of a sponge's first block: the whole width but the 4-element IV `(tag, K, 0, 0)`.
pub const HEAD_ELEMS: usize = 12;
/// Elements of a leaf's salt (124 bits): the head holds the id digest and the salt.
pub const SALT_ELEMS: usize = HEAD_ELEMS - DIGEST_ELEMS;
/// Elements of a sum commitment's blind (372 bits): the whole head.
pub const BLIND_ELEMS: usize = HEAD_ELEMS;
/// A leaf's salt.
pub type Salt = [Val; SALT_ELEMS];
/// A sum commitment's blind.
pub type Blind = [Val; BLIND_ELEMS];
/// Balance width `w` in bits; every balance is proven to be in `[0, 2^w)`.
pub const BALANCE_BITS: usize = 64;
/// Bits per limb.
pub const LIMB_BITS: usize = 16;
/// Limbs per balance.
pub const LIMBS: usize = BALANCE_BITS / LIMB_BITS;
/// Smallest trace height (`log2`): the hiding PCS masks need `N >= 2 (queries + 4 * 2)`.
pub const MIN_LOG_HEIGHT: usize = 7;
/// Largest trace height (`log2`): keeps every limb sum below `2^30 < p`.
pub const MAX_LOG_HEIGHT: usize = 14;
/// Largest number of assets per batch.
pub const MAX_ASSETS: usize = 256;

/// Domain tag in the leaf sponge's capacity.
pub const TAG_LEAF: u32 = 1;
/// Domain tag in the sum-commitment sponge's capacity.
pub const TAG_SUM: u32 = 2;
/// Domain tag of the round digest's sponge (the round digest is the hash chain's first state).
pub const TAG_ROUND: u32 = 3;
/// Longest round id, in bytes.
pub const MAX_ROUND_ID_BYTES: usize = 256;

const WIDTH: usize = 16;
const RATE: usize = 8;
const SBOX_DEGREE: u64 = KOALABEAR_S_BOX_DEGREE;
const SBOX_REGISTERS: usize = 0;
const HALF_FULL_ROUNDS: usize = KOALABEAR_POSEIDON2_HALF_FULL_ROUNDS;
const PARTIAL_ROUNDS: usize = KOALABEAR_POSEIDON2_PARTIAL_ROUNDS_16;
/// Columns of one Poseidon2 permutation in `p3-poseidon2-air`'s layout.
const P2_COLS: usize =
    num_cols::<WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>();
/// Offset of the permutation's output (the last full round's post-state) within its columns.
const P2_OUT: usize = P2_COLS - WIDTH;

type Perm = Poseidon2KoalaBear<WIDTH>;
/// The `p3-poseidon2-air` AIR of one KoalaBear Poseidon2 permutation per row (width 16): the
/// solvency and KYC AIRs embed it.
pub(crate) type P2Air = Poseidon2Air<
    Val,
    GenericPoseidon2LinearLayersKoalaBear,
    WIDTH,
    SBOX_DEGREE,
    SBOX_REGISTERS,
    HALF_FULL_ROUNDS,
    PARTIAL_ROUNDS,
>;

/// Errors of the STARK batch statement: every bad input is one of these, never a panic.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StarkError {
    /// The batch does not fit the AIR's shape rules.
    #[error("bad batch shape: {0}")]
    Shape(String),
    /// The proof bytes could not be decoded, or their shape is not the one this AIR produces.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The proof decoded but does not verify for these public values.
    #[error("proof rejected: {0}")]
    Rejected(String),
    /// The prover failed (a configuration or budget error of the PCS).
    #[error("proving failed: {0}")]
    Proving(String),
    /// Parameters that are not one of the pinned sets ([`STARK_PARAMS`], [`BATCH_PARAMS`],
    /// [`AGG_PARAMS`]).
    #[error("unpinned STARK parameters: {0}")]
    Params(String),
}

/// The public shape of a batch: both sides must agree on it before a proof is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchShape {
    /// Number of assets `K` (1 ..= [`MAX_ASSETS`]).
    pub assets: usize,
    /// `log2` of the trace height; the batch holds `2^log_height - 1` users.
    pub log_height: usize,
}

impl BatchShape {
    /// A checked shape.
    pub fn new(assets: usize, log_height: usize) -> Result<Self, StarkError> {
        if assets == 0 || assets > MAX_ASSETS {
            return Err(StarkError::Shape(format!(
                "{assets} assets (expected 1..={MAX_ASSETS})"
            )));
        }
        if !(MIN_LOG_HEIGHT..=MAX_LOG_HEIGHT).contains(&log_height) {
            return Err(StarkError::Shape(format!(
                "log height {log_height} (expected {MIN_LOG_HEIGHT}..={MAX_LOG_HEIGHT})"
            )));
        }
        Ok(Self { assets, log_height })
    }

    /// Users per batch: `2^log_height - 1` (the last row holds the sum commitment).
    pub fn users(&self) -> usize {
        (1 << self.log_height) - 1
    }

    fn limbs(&self) -> usize {
        self.assets * LIMBS
    }

    /// Sponge permutations per row: the head (id and salt), then the limbs 8 at a time.
    fn sponge_perms(&self) -> usize {
        1 + self.limbs().div_ceil(RATE)
    }

    fn rows(&self) -> usize {
        1 << self.log_height
    }
}

/// One user of a batch: the private inputs of a leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StarkUser {
    /// The user's id digest (computed outside the statement, e.g. from the user id and a salt).
    pub id: Digest,
    /// A fresh random salt (4 elements, 124 bits), which hides the balances in the leaf.
    pub salt: Salt,
    /// The balances, one per asset, in the asset's smallest unit.
    pub balances: Vec<u64>,
}

/// A batch: the users in order and the blind of the sum commitment.
#[derive(Clone, Debug)]
pub struct StarkBatch {
    /// The shape both sides agree on.
    pub shape: BatchShape,
    /// The round's digest ([`round_digest`]): the hash chain's first state, so the root and the
    /// proof belong to this round only.
    pub round: Digest,
    /// Exactly `shape.users()` users (pad with zero-balance users).
    pub users: Vec<StarkUser>,
    /// The secret blind of the sum commitment (12 elements).
    pub blind: Blind,
}

/// What a batch proof makes public.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchPublic {
    /// The round's digest ([`round_digest`]); the chain starts from it.
    pub round: Digest,
    /// The hash-chain root over the batch's leaves.
    pub root: Digest,
    /// The hiding commitment to the per-asset limb sums.
    pub commitment: Digest,
}

impl BatchPublic {
    /// The 24 public values in the AIR's order: round, root, commitment.
    pub fn to_values(self) -> Vec<Val> {
        self.round
            .iter()
            .chain(self.root.iter())
            .chain(self.commitment.iter())
            .copied()
            .collect()
    }
}

/// The native twin's full result: the public values and the private sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchStatement {
    /// The public values.
    pub public: BatchPublic,
    /// The leaves, in batch order.
    pub leaves: Vec<Digest>,
    /// Per asset, the exact integer sum of the balances (private to the exchange).
    pub sums: Vec<u128>,
    /// Per asset and limb, the limb sums `S_{a,l}` committed to (private).
    pub limb_sums: Vec<[u32; LIMBS]>,
}

/// KoalaBear's Poseidon2 (width 16), built once: building it copies and rearranges the round
/// constants, which would otherwise cost more than a permutation at every chain step.
fn poseidon2() -> &'static Perm {
    static P: std::sync::OnceLock<Perm> = std::sync::OnceLock::new();
    P.get_or_init(default_koalabear_poseidon2_16)
}

/// The round constants of KoalaBear's Poseidon2 (width 16), as [`P2Air`] and
/// [`p2_trace_rows`] take them.
pub(crate) fn round_constants() -> RoundConstants<Val, WIDTH, HALF_FULL_ROUNDS, PARTIAL_ROUNDS> {
    RoundConstants::new(
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
        KOALABEAR_POSEIDON2_RC_16_INTERNAL,
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    )
}

/// The [`P2Air`] rows of `inputs` (one permutation per row; a power-of-two count), the
/// native permutation's every intermediate state.
pub(crate) fn p2_trace_rows(
    inputs: Vec<[Val; WIDTH]>,
    constants: &RoundConstants<Val, WIDTH, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>,
) -> RowMajorMatrix<Val> {
    generate_trace_rows::<
        Val,
        GenericPoseidon2LinearLayersKoalaBear,
        WIDTH,
        SBOX_DEGREE,
        SBOX_REGISTERS,
        HALF_FULL_ROUNDS,
        PARTIAL_ROUNDS,
    >(inputs, constants, 0)
}

/// The digest of a round id: `Sponge_{TAG_ROUND}` (capacity `(TAG_ROUND, len)`) over the id's
/// bytes packed three to an element (24 bits, below `p`), zero-padded to whole blocks. The
/// length in the capacity makes the packing injective. Every batch and aggregation proof of a
/// round starts its hash chain from this digest, so a proof belongs to exactly one round.
///
/// # Errors
/// [`StarkError::Shape`] for an empty id or one longer than [`MAX_ROUND_ID_BYTES`].
pub fn round_digest(round_id: &str) -> Result<Digest, StarkError> {
    bytes_digest(TAG_ROUND, round_id.as_bytes(), "round id")
}

/// Domain tag of a user id's digest ([`user_id_digest`]).
pub const TAG_USER_ID: u32 = 5;

/// The id digest of a leaf ([`StarkUser::id`]): `Sponge_{TAG_USER_ID}` over the user id's
/// bytes, packed as in [`round_digest`] (capacity `(TAG_USER_ID, byte length)`). Its
/// collision resistance (124 bits) binds a leaf to one user id; the leaf's salt, not this
/// digest, hides who the user is.
///
/// # Errors
/// [`StarkError::Shape`] for an empty id or one longer than [`MAX_ROUND_ID_BYTES`].
pub fn user_id_digest(user_id: &str) -> Result<Digest, StarkError> {
    bytes_digest(TAG_USER_ID, user_id.as_bytes(), "user id")
}

pub(crate) fn bytes_digest(tag: u32, bytes: &[u8], what: &str) -> Result<Digest, StarkError> {
    if bytes.is_empty() || bytes.len() > MAX_ROUND_ID_BYTES {
        return Err(StarkError::Shape(format!(
            "{what} of {} bytes (expected 1..={MAX_ROUND_ID_BYTES})",
            bytes.len()
        )));
    }
    let elems: Vec<Val> = bytes
        .chunks(3)
        .map(|c| {
            Val::from_u32(
                c.iter()
                    .enumerate()
                    .map(|(i, b)| u32::from(*b) << (8 * i))
                    .sum(),
            )
        })
        .collect();
    let blocks = blocks(&elems, elems.len().div_ceil(RATE));
    let head = [Val::ZERO; HEAD_ELEMS];
    Ok(sponge_inputs(poseidon2(), tag, &head, &blocks, bytes.len()).1)
}

/// The sponge's rate blocks after the head: `limbs` padded with zeros to `chunks` blocks.
fn blocks(limbs: &[Val], chunks: usize) -> Vec<[Val; RATE]> {
    let mut out = Vec::with_capacity(chunks);
    for chunk_i in 0..chunks {
        let mut block = [Val::ZERO; RATE];
        for (j, b) in block.iter_mut().enumerate() {
            if let Some(v) = limbs.get(chunk_i * RATE + j) {
                *b = *v;
            }
        }
        out.push(block);
    }
    out
}

/// The permutation inputs of the sponge under `tag`, and its digest. The first permutation
/// takes the whole state: the 12-element `head` (id and salt, or the blind) and the 4-element
/// IV `(tag, K, 0, 0)`; then every rate block overwrites the first 8 elements of the previous
/// output (capacity 8 elements, 248 bits, from there on).
fn sponge_inputs(
    perm: &Perm,
    tag: u32,
    head: &[Val; HEAD_ELEMS],
    blocks: &[[Val; RATE]],
    assets: usize,
) -> (Vec<[Val; WIDTH]>, Digest) {
    let mut first = [Val::ZERO; WIDTH];
    first[..HEAD_ELEMS].copy_from_slice(head);
    first[HEAD_ELEMS] = Val::from_u32(tag);
    first[HEAD_ELEMS + 1] = Val::from_usize(assets);
    let mut inputs = Vec::with_capacity(blocks.len() + 1);
    inputs.push(first);
    let mut out = perm.permute(first);
    let mut capacity = [Val::ZERO; WIDTH - RATE];
    capacity.copy_from_slice(&out[RATE..]);
    for block in blocks {
        let mut state = [Val::ZERO; WIDTH];
        state[..RATE].copy_from_slice(block);
        state[RATE..].copy_from_slice(&capacity);
        inputs.push(state);
        out = perm.permute(state);
        capacity.copy_from_slice(&out[RATE..]);
    }
    let mut digest = [Val::ZERO; DIGEST_ELEMS];
    digest.copy_from_slice(&out[..DIGEST_ELEMS]);
    (inputs, digest)
}

/// The head of a leaf's sponge: the id digest, then the salt.
fn leaf_head(id: &Digest, salt: &Salt) -> [Val; HEAD_ELEMS] {
    core::array::from_fn(|i| {
        if i < DIGEST_ELEMS {
            id[i]
        } else {
            salt[i - DIGEST_ELEMS]
        }
    })
}

fn limbs_of(balance: u64) -> [Val; LIMBS] {
    core::array::from_fn(|l| Val::from_u64((balance >> (LIMB_BITS * l)) & 0xffff))
}

/// The leaf of one user: `Sponge_{TAG_LEAF}(id, salt, limbs of the balances)`.
pub fn leaf(user: &StarkUser, shape: &BatchShape) -> Result<Digest, StarkError> {
    if user.balances.len() != shape.assets {
        return Err(StarkError::Shape(format!(
            "a user has {} balances, the batch {} assets",
            user.balances.len(),
            shape.assets
        )));
    }
    let limbs: Vec<Val> = user.balances.iter().flat_map(|b| limbs_of(*b)).collect();
    let bl = blocks(&limbs, shape.sponge_perms() - 1);
    Ok(sponge_inputs(
        poseidon2(),
        TAG_LEAF,
        &leaf_head(&user.id, &user.salt),
        &bl,
        shape.assets,
    )
    .1)
}

/// One step of the hash chain: `P(state || leaf)[0..8]`.
pub fn chain_step(state: &Digest, leaf: &Digest) -> Digest {
    let mut input = [Val::ZERO; WIDTH];
    input[..DIGEST_ELEMS].copy_from_slice(state);
    input[DIGEST_ELEMS..].copy_from_slice(leaf);
    let out = poseidon2().permute(input);
    core::array::from_fn(|i| out[i])
}

/// The raw witness the trace is built from: limbs as field elements, so that tests can build
/// malicious traces (a limb `p - x`, a limb `>= 2^16`) through the same code as honest ones.
#[derive(Clone, Debug)]
pub(crate) struct RawBatch {
    pub(crate) shape: BatchShape,
    pub(crate) ids: Vec<Digest>,
    pub(crate) salts: Vec<Salt>,
    /// Per user, `4K` limbs.
    pub(crate) limbs: Vec<Vec<Val>>,
    pub(crate) blind: Blind,
    pub(crate) round: Digest,
}

impl RawBatch {
    fn from_batch(batch: &StarkBatch) -> Result<Self, StarkError> {
        let shape = batch.shape;
        if batch.users.len() != shape.users() {
            return Err(StarkError::Shape(format!(
                "{} users, the shape holds exactly {} (pad with zero balances)",
                batch.users.len(),
                shape.users()
            )));
        }
        let mut limbs = Vec::with_capacity(batch.users.len());
        for (i, u) in batch.users.iter().enumerate() {
            if u.balances.len() != shape.assets {
                return Err(StarkError::Shape(format!(
                    "user {i} has {} balances, the batch {} assets",
                    u.balances.len(),
                    shape.assets
                )));
            }
            limbs.push(u.balances.iter().flat_map(|b| limbs_of(*b)).collect());
        }
        Ok(Self {
            shape,
            ids: batch.users.iter().map(|u| u.id).collect(),
            salts: batch.users.iter().map(|u| u.salt).collect(),
            limbs,
            blind: batch.blind,
            round: batch.round,
        })
    }
}

/// The native twin: leaves, root, sums and commitment, exactly as the AIR constrains them.
pub fn batch_statement(batch: &StarkBatch) -> Result<BatchStatement, StarkError> {
    let raw = RawBatch::from_batch(batch)?;
    let (_, public, leaves, limb_sums) = build_trace(&raw);
    let limb_sums: Vec<[u32; LIMBS]> = limb_sums
        .chunks(LIMBS)
        .map(|c| core::array::from_fn(|l| c[l].as_canonical_u32()))
        .collect();
    let sums = limb_sums
        .iter()
        .map(|s| {
            s.iter()
                .enumerate()
                .map(|(l, v)| u128::from(*v) << (LIMB_BITS * l))
                .sum()
        })
        .collect();
    Ok(BatchStatement {
        public,
        leaves,
        sums,
        limb_sums,
    })
}

/// Column layout of a row.
#[derive(Clone, Copy, Debug)]
struct Layout {
    shape: BatchShape,
}

impl Layout {
    fn block(&self, j: usize) -> usize {
        j * P2_COLS
    }
    fn chain(&self) -> usize {
        self.block(self.shape.sponge_perms())
    }
    /// Column of limb `i` (an input of a sponge permutation).
    fn limb(&self, i: usize) -> usize {
        self.block(1 + i / RATE) + i % RATE
    }
    fn bits(&self, i: usize) -> usize {
        self.block(self.shape.sponge_perms() + 1) + i * LIMB_BITS
    }
    fn acc(&self, i: usize) -> usize {
        self.bits(self.shape.limbs()) + i
    }
    fn footer(&self) -> usize {
        self.acc(self.shape.limbs())
    }
    fn width(&self) -> usize {
        self.footer() + 1
    }
}

/// Builds the trace; returns it, the public values, the leaves and the final limb sums.
fn build_trace(raw: &RawBatch) -> (RowMajorMatrix<Val>, BatchPublic, Vec<Digest>, Vec<Val>) {
    let shape = raw.shape;
    let lay = Layout { shape };
    let rows = shape.rows();
    let n = shape.users();
    let nl = shape.limbs();
    let perm = poseidon2().clone();

    // Running limb sums.
    let mut acc = vec![vec![Val::ZERO; nl]; rows];
    for u in 0..n {
        acc[u] = if u == 0 {
            raw.limbs[0].clone()
        } else {
            acc[u - 1]
                .iter()
                .zip(&raw.limbs[u])
                .map(|(s, l)| *s + *l)
                .collect()
        };
    }
    let finals = acc[n - 1].clone();
    acc[n] = finals.clone();

    // Sponge permutation inputs per row, and the row digests (leaves, then the commitment).
    let s = shape.sponge_perms();
    let mut sponge_in: Vec<Vec<[Val; WIDTH]>> = vec![Vec::with_capacity(rows); s];
    let mut digests = Vec::with_capacity(rows);
    for r in 0..rows {
        let (tag, head, limbs) = if r < n {
            (
                TAG_LEAF,
                leaf_head(&raw.ids[r], &raw.salts[r]),
                &raw.limbs[r],
            )
        } else {
            (TAG_SUM, raw.blind, &finals)
        };
        let bl = blocks(limbs, s - 1);
        let (ins, digest) = sponge_inputs(&perm, tag, &head, &bl, shape.assets);
        for (j, inp) in ins.into_iter().enumerate() {
            sponge_in[j].push(inp);
        }
        digests.push(digest);
    }

    // The chain (the footer row's chain input is the root).
    let mut chain_in = Vec::with_capacity(rows);
    let mut state = raw.round;
    for d in &digests {
        let mut input = [Val::ZERO; WIDTH];
        input[..DIGEST_ELEMS].copy_from_slice(&state);
        input[DIGEST_ELEMS..].copy_from_slice(d);
        chain_in.push(input);
        let out = perm.permute(input);
        state = core::array::from_fn(|i| out[i]);
    }
    let root: Digest = core::array::from_fn(|i| chain_in[n][i]);
    let public = BatchPublic {
        round: raw.round,
        root,
        commitment: digests[n],
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
        for i in 0..nl {
            if r < n {
                let v = raw.limbs[r][i].as_canonical_u32();
                for b in 0..LIMB_BITS {
                    row[lay.bits(i) + b] = Val::from_u32((v >> b) & 1);
                }
            }
            row[lay.acc(i)] = acc[r][i];
        }
        if r == n {
            row[lay.footer()] = Val::ONE;
        }
    }
    let leaves = digests[..n].to_vec();
    (RowMajorMatrix::new(values, width), public, leaves, finals)
}

/// The AIR of the batch statement (see the module documentation for what it proves).
pub struct SolvencyStarkAir {
    shape: BatchShape,
    p2: P2Air,
}

impl SolvencyStarkAir {
    /// The AIR for a batch shape.
    pub fn new(shape: BatchShape) -> Self {
        Self {
            shape,
            p2: P2Air::new(round_constants()),
        }
    }
}

impl fmt::Debug for SolvencyStarkAir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SolvencyStarkAir")
            .field("shape", &self.shape)
            .finish()
    }
}

impl BaseAir<Val> for SolvencyStarkAir {
    fn width(&self) -> usize {
        Layout { shape: self.shape }.width()
    }
    fn num_public_values(&self) -> usize {
        3 * DIGEST_ELEMS
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(3)
    }
}

/// What [`window`] returns: the current row, the next row, the public values.
pub(crate) type Window<AB> = (
    Vec<<AB as AirBuilder>::Var>,
    Vec<<AB as AirBuilder>::Var>,
    Vec<<AB as AirBuilder>::Expr>,
);

/// An AIR's view of one transition: the current row, the next row and the public values as
/// expressions (what every `eval` of the solvency and KYC AIRs starts from).
pub(crate) fn window<AB: AirBuilder>(builder: &AB) -> Window<AB> {
    let main = builder.main();
    let local = main.current_slice().to_vec();
    let next = main.next_slice().to_vec();
    let publics = builder
        .public_values()
        .iter()
        .map(|p| (*p).into())
        .collect();
    (local, next, publics)
}

impl<AB: AirBuilder<F = Val>> Air<AB> for SolvencyStarkAir {
    fn eval(&self, builder: &mut AB) {
        let lay = Layout { shape: self.shape };
        let s = self.shape.sponge_perms();
        let nl = self.shape.limbs();

        // Every permutation block is a valid Poseidon2 permutation (p3-poseidon2-air).
        for j in 0..=s {
            let start = lay.block(j);
            let mut sub = SubAirBuilder::<AB, P2Air, AB::Var>::new(builder, start..start + P2_COLS);
            self.p2.eval(&mut sub);
        }

        let (local, next, publics) = window(builder);

        // The footer flag is 1 on the last row and 0 on every other row.
        let footer = local[lay.footer()];
        let footer_next = next[lay.footer()];
        builder.when_transition().assert_zero(footer);
        builder.when_last_row().assert_one(footer);
        let not_footer = AB::Expr::ONE - footer.into();

        // Sponge IV, the last 4 elements of the first permutation's input: the tag (leaf, or
        // sum in the footer) and K, then zeros.
        let tag =
            AB::Expr::from_u32(TAG_LEAF) + footer.into() * AB::Expr::from_u32(TAG_SUM - TAG_LEAF);
        builder.assert_eq(local[lay.block(0) + HEAD_ELEMS], tag);
        builder.assert_eq(
            local[lay.block(0) + HEAD_ELEMS + 1],
            AB::Expr::from_usize(self.shape.assets),
        );
        for i in HEAD_ELEMS + 2..WIDTH {
            builder.assert_zero(local[lay.block(0) + i]);
        }
        // Sponge chaining: capacity of block j = capacity of block j-1's output.
        for j in 1..s {
            for i in RATE..WIDTH {
                builder.assert_eq(
                    local[lay.block(j) + i],
                    local[lay.block(j - 1) + P2_OUT + i],
                );
            }
        }
        // Padding of the last limb block is zero.
        for i in nl..(s - 1) * RATE {
            builder.assert_zero(local[lay.limb(i)]);
        }

        // Range: every limb of a user row is the sum of 16 bits.
        for i in 0..nl {
            let mut recomposed = AB::Expr::ZERO;
            for b in 0..LIMB_BITS {
                let bit = local[lay.bits(i) + b];
                builder.assert_bool(bit);
                recomposed += bit.into() * AB::Expr::from_u32(1 << b);
            }
            builder
                .when(not_footer.clone())
                .assert_eq(local[lay.limb(i)], recomposed);
        }

        // Limb sums: acc = limbs on the first row, acc' = acc + limbs' on user rows, and the
        // footer's limb columns hold the final sums.
        for i in 0..nl {
            builder
                .when_first_row()
                .assert_eq(local[lay.acc(i)], local[lay.limb(i)]);
            let not_footer_next = AB::Expr::ONE - footer_next.into();
            builder
                .when_transition()
                .when(not_footer_next)
                .assert_eq(next[lay.acc(i)], local[lay.acc(i)] + next[lay.limb(i)]);
            builder
                .when_transition()
                .when(footer_next)
                .assert_eq(next[lay.limb(i)], local[lay.acc(i)]);
        }

        // Chain: input = (state, this row's digest); first state = the round digest (public);
        // next state = output.
        for i in 0..DIGEST_ELEMS {
            builder.assert_eq(
                local[lay.chain() + DIGEST_ELEMS + i],
                local[lay.block(s - 1) + P2_OUT + i],
            );
            builder
                .when_first_row()
                .assert_eq(local[lay.chain() + i], publics[i].clone());
            builder
                .when_transition()
                .assert_eq(next[lay.chain() + i], local[lay.chain() + P2_OUT + i]);
            // Public values, in the footer row: the root and the sum commitment.
            builder
                .when_last_row()
                .assert_eq(local[lay.chain() + i], publics[DIGEST_ELEMS + i].clone());
            builder.when_last_row().assert_eq(
                local[lay.block(s - 1) + P2_OUT + i],
                publics[2 * DIGEST_ELEMS + i].clone(),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The proof system configuration.

type Hash = PaddingFreeSponge<Perm, WIDTH, RATE, DIGEST_ELEMS>;
type Compress = TruncatedPermutation<Perm, 2, DIGEST_ELEMS, WIDTH>;
/// Merkle salt elements per leaf of the hiding MMCS (4 x 31 bits).
const MMCS_SALT_ELEMS: usize = 4;
type ValMmcs = MerkleTreeHidingMmcs<
    <Val as Field>::Packing,
    <Val as Field>::Packing,
    Hash,
    Compress,
    StdRng,
    2,
    DIGEST_ELEMS,
    MMCS_SALT_ELEMS,
>;
type ChallengeMmcs = ExtensionMmcs<Val, Challenge, ValMmcs>;
type Challenger = DuplexChallenger<Val, Perm, WIDTH, RATE>;
type Dft = Radix2DitParallel<Val>;
type Pcs = HidingFriPcs<Val, Dft, ValMmcs, ChallengeMmcs, StdRng>;
/// The STARK configuration: KoalaBear, Poseidon2 Merkle commitments, hiding FRI.
pub type SolvencyStarkConfig = StarkConfig<Pcs, Challenge, Challenger>;
/// A decoded batch proof.
pub type SolvencyStarkProof = Proof<SolvencyStarkConfig>;

/// The configuration the verifier runs: [`SolvencyStarkConfig`] with its Merkle openings checked
/// beside the library verifier (module `beside`); proofs decode the same under both.
pub(crate) type VerifierStarkConfig = StarkConfig<
    HidingFriPcs<
        Val,
        Dft,
        beside::BesideMmcs,
        ExtensionMmcs<Val, Challenge, beside::BesideMmcs>,
        StdRng,
    >,
    Challenge,
    Challenger,
>;

/// The verifier's configuration under `params`, its Merkle checks sent to `queue` (checked at
/// once without one). Verification uses no randomness: the generators are fixed.
fn verifier_config(
    params: &StarkParams,
    queue: Option<std::sync::mpsc::Sender<beside::Check>>,
) -> VerifierStarkConfig {
    let perm = poseidon2().clone();
    let val_mmcs = beside::BesideMmcs::new(val_mmcs(&perm, StdRng::seed_from_u64(0)), queue);
    let fri = fri_parameters(params, ExtensionMmcs::new(val_mmcs.clone()));
    let pcs = HidingFriPcs::new(
        Dft::default(),
        val_mmcs,
        fri,
        params.num_random_codewords,
        StdRng::seed_from_u64(0),
    );
    VerifierStarkConfig::new(pcs, Challenger::new(perm))
        .with_ood_proof_of_work_bits(params.ood_pow_bits)
}

/// FRI and zero-knowledge parameters (see `docs/stark.md` for the security computation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StarkParams {
    /// `log2` of the FRI blowup (2: rate 1/4; the AIR has degree 3 and ZK needs one more).
    pub log_blowup: usize,
    /// Number of FRI queries.
    pub num_queries: usize,
    /// Proof-of-work bits before the query phase.
    pub query_pow_bits: usize,
    /// Proof-of-work bits at each commit-phase round.
    pub commit_pow_bits: usize,
    /// Random codewords of the hiding PCS (at least the extension degree, 4).
    pub num_random_codewords: usize,
    /// Proof-of-work bits before the out-of-domain (DEEP) point is drawn.
    pub ood_pow_bits: usize,
    /// Proof-of-work bits before the challenge that batches the committed codewords.
    pub batch_pow_bits: usize,
    /// `log2` of the largest FRI folding arity (1: binary folding).
    pub max_log_arity: usize,
}

/// The parameters Assay uses: rate 1/4, 45 queries, 16 bits of query grinding and 16 bits of
/// grinding before the opening-batching challenge. Plonky3's calculator ([`security`]) puts
/// every batch shape at 104 conjectured bits (without the batching grind, the batched-openings
/// term falls to 89 bits at `2^14` rows and 256 assets); see `docs/stark.md`.
pub const STARK_PARAMS: StarkParams = StarkParams {
    log_blowup: 2,
    num_queries: 45,
    query_pow_bits: 16,
    commit_pow_bits: 0,
    num_random_codewords: 4,
    ood_pow_bits: 0,
    batch_pow_bits: 16,
    max_log_arity: 1,
};

/// The parameters of batch proofs since 2026-12-03: [`STARK_PARAMS`] with FRI folding arity up to
/// 8 instead of 2 (five folding rounds instead of fifteen at 4,095 users). The prover's cost is
/// unchanged (measured, `docs/stark.md`), a verification opens a third of the FRI rounds (15-25 %
/// faster at 4,095 x 4) and the proof is about 11 % smaller; the same conjectured level
/// ([`security`]). Batches of rounds made before then, and KYC proofs, use [`STARK_PARAMS`].
pub const BATCH_PARAMS: StarkParams = StarkParams {
    max_log_arity: 3,
    ..STARK_PARAMS
};

/// The parameters of aggregation proofs (every level, the top included) since 2026-12-03:
/// rate 1/32, 18 queries, folding arity up to 8, the same grinding as [`STARK_PARAMS`].
/// Plonky3's calculator ([`aggregation_security`]) puts every aggregation shape at 104 or more
/// conjectured bits. An aggregation proof is made once per round for up to 511 batches, so a
/// larger blowup costs the prover little (0.4 s for the top of a `10^6`-user round) and
/// halves what every customer pays to verify it (fewer queries, fewer folding rounds) and the
/// proof they download; see `docs/stark.md`, "FRI parameters and security".
pub const AGG_PARAMS: StarkParams = StarkParams {
    log_blowup: 5,
    num_queries: 18,
    query_pow_bits: 16,
    commit_pow_bits: 0,
    num_random_codewords: 4,
    ood_pow_bits: 0,
    batch_pow_bits: 16,
    max_log_arity: 3,
};

/// Refuses parameters other than the pinned sets ([`STARK_PARAMS`], [`BATCH_PARAMS`],
/// [`AGG_PARAMS`]): nothing verifies or is proven under parameters whose soundness was not
/// computed.
pub(crate) fn check_pinned(params: &StarkParams) -> Result<(), StarkError> {
    if *params == STARK_PARAMS || *params == BATCH_PARAMS || *params == AGG_PARAMS {
        Ok(())
    } else {
        Err(StarkError::Params(format!(
            "{params:?} is none of STARK_PARAMS, BATCH_PARAMS, AGG_PARAMS"
        )))
    }
}

impl StarkParams {
    /// The simple conjectured FRI bound `num_queries * log_blowup + query_pow_bits`.
    pub fn conjectured_fri_bits(&self) -> usize {
        self.num_queries * self.log_blowup + self.query_pow_bits
    }
}

/// Builds the configuration. `rng_seed` is `None` in production (the masks, the Merkle salts
/// and the random codewords are seeded from the operating system); verification uses no
/// randomness, so any seed gives the same verifier.
pub fn stark_config(params: &StarkParams, rng_seed: Option<u64>) -> SolvencyStarkConfig {
    let mut seeder = match rng_seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => rand_10::make_rng::<StdRng>(),
    };
    let perm = poseidon2().clone();
    let val_mmcs = val_mmcs(&perm, StdRng::from_rng(&mut seeder));
    let challenge_mmcs = ChallengeMmcs::new(val_mmcs.clone());
    let fri = fri_parameters(params, challenge_mmcs);
    let pcs = Pcs::new(
        Dft::default(),
        val_mmcs,
        fri,
        params.num_random_codewords,
        StdRng::from_rng(&mut seeder),
    );
    SolvencyStarkConfig::new(pcs, Challenger::new(perm))
        .with_ood_proof_of_work_bits(params.ood_pow_bits)
}

/// The Poseidon2 Merkle commitment of traces, salted from `salts` (one definition for the
/// prover's and the verifier's configurations).
fn val_mmcs(perm: &Perm, salts: StdRng) -> ValMmcs {
    ValMmcs::new(
        Hash::new(perm.clone()),
        Compress::new(perm.clone()),
        0,
        salts,
    )
}

/// The FRI parameters of `params`: one definition for the prover, the verifier and the security
/// computation ([`security`]), so that they cannot drift apart.
fn fri_parameters<M>(params: &StarkParams, mmcs: M) -> FriParameters<M> {
    FriParameters {
        log_blowup: params.log_blowup,
        log_final_poly_len: 0,
        max_log_arity: params.max_log_arity,
        num_queries: params.num_queries,
        batch_proof_of_work_bits: params.batch_pow_bits,
        commit_proof_of_work_bits: params.commit_pow_bits,
        query_proof_of_work_bits: params.query_pow_bits,
        mmcs,
    }
}

/// Collision resistance of the commitment hash in bits: 8-element Poseidon2 digests over a
/// 31-bit field are 248 bits, so about 124 bits by the birthday bound.
pub const DIGEST_COLLISION_BITS: usize = 124;

/// Bits of the challenge field (the degree-4 extension of KoalaBear: `4 * log2(p)`, rounded
/// down).
pub const CHALLENGE_FIELD_BITS: usize = 123;

/// The soundness of a batch proof of one shape, by Plonky3's own calculator (`p3-uni-stark`'s
/// `StarkSecurityParams::from_air`: the AIR's constraint count and degree, the quotient chunks,
/// the batched openings of the hiding PCS, the out-of-domain (DEEP-ALI) term and the FRI
/// low-degree test, capped by the hash's collision resistance).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StarkSecurity {
    /// `log2` of the committed trace height, zero-knowledge padding included.
    pub degree_bits: usize,
    /// The conjectured level ("random words" regime of ePrint 2025/2010, §1.5).
    pub conjectured_bits: usize,
    /// The proven level (round-by-round soundness, ePrint 2024/1553, best of unique and list
    /// decoding).
    pub proven_bits: usize,
    /// The simple FRI heuristic `num_queries * log_blowup + query_pow_bits`, for comparison.
    pub heuristic_bits: usize,
}

/// The security level of batch proofs of `shape` under `params` (see [`StarkSecurity`]).
///
/// # Errors
/// [`StarkError::Shape`] for a height outside KoalaBear's two-adic domains.
pub fn security(shape: &BatchShape, params: &StarkParams) -> Result<StarkSecurity, StarkError> {
    security_of(&SolvencyStarkAir::new(*shape), shape.log_height, params)
}

/// The security level of proofs of any of this module's AIRs at trace height `2^log_height`
/// (the batch and aggregation AIRs share the configuration).
pub(crate) fn security_of<A>(
    air: &A,
    log_height: usize,
    params: &StarkParams,
) -> Result<StarkSecurity, StarkError>
where
    A: BaseAir<Val> + Air<p3_uni_stark::SymbolicAirBuilder<Val, Challenge>>,
{
    use p3_uni_stark::{
        AirLayout, ConjecturedSecurity, GrindingSites, OpeningShape, ProvenSecurity,
        StarkSecurityParams,
    };
    let fri = fri_parameters(params, ());
    let domain = p3_field::coset::TwoAdicMultiplicativeCoset::new(Val::ONE, log_height)
        .ok_or_else(|| StarkError::Shape(format!("height 2^{log_height}")))?;
    let sp = StarkSecurityParams::from_air::<Val, Challenge, _>(
        fri.security_regime(),
        air,
        AirLayout::from_air::<Val>(air),
        domain,
        CHALLENGE_FIELD_BITS,
        DIGEST_COLLISION_BITS,
        2,
        OpeningShape::hiding(params.num_random_codewords),
        GrindingSites {
            out_of_domain: params.ood_pow_bits,
            ..fri.grinding_sites()
        },
    );
    // The hiding PCS commits the trace at twice its height (the zero-knowledge padding).
    let degree_bits = log_height + 1;
    Ok(StarkSecurity {
        degree_bits,
        conjectured_bits: ConjecturedSecurity::compute_from_params(&sp, degree_bits).security_bits,
        proven_bits: ProvenSecurity::compute_from_proof(degree_bits, &sp).security_bits(),
        heuristic_bits: params.conjectured_fri_bits(),
    })
}

/// Trace cells (`rows x columns`) of a batch proof of `shape`: what a prover's memory grows
/// with (the hiding PCS and the FRI blowup multiply it).
pub fn batch_trace_cells(shape: &BatchShape) -> usize {
    shape.rows() * SolvencyStarkAir::new(*shape).width()
}

/// Proves a batch with [`BATCH_PARAMS`]: returns the proof bytes (postcard) and the public values.
pub fn prove_batch(batch: &StarkBatch) -> Result<(Vec<u8>, BatchPublic), StarkError> {
    let raw = RawBatch::from_batch(batch)?;
    prove_raw(&raw, &BATCH_PARAMS)
}

pub(crate) fn prove_raw(
    raw: &RawBatch,
    params: &StarkParams,
) -> Result<(Vec<u8>, BatchPublic), StarkError> {
    let (trace, public, _, _) = build_trace(raw);
    let air = SolvencyStarkAir::new(raw.shape);
    let config = stark_config(params, None);
    let proof = prove(&config, &air, trace, &public.to_values())
        .map_err(|e| StarkError::Proving(e.to_string()))?;
    let bytes = postcard::to_allocvec(&proof).map_err(|e| StarkError::Proving(e.to_string()))?;
    Ok((bytes, public))
}

/// Verifies a batch proof for a shape and public values, with [`BATCH_PARAMS`] (the parameters
/// of [`prove_batch`]; [`verify_batch_under`] checks the batches of earlier rounds).
///
/// Guarantees on `Ok`: the prover knew a batch of `shape.users()` users whose balances are all in
/// `[0, 2^64)` and whose leaves chain to `public.root`, and a blind, such that `public.commitment`
/// commits to the batch's per-asset limb sums (module documentation). Every malformed input is
/// an `Err`: the bytes are decoded, the proof's shape is checked against the one this AIR and
/// [`BATCH_PARAMS`] produce, and the library verifier runs behind `catch_unwind` as a last guard.
pub fn verify_batch(
    shape: &BatchShape,
    proof_bytes: &[u8],
    public: &BatchPublic,
) -> Result<(), StarkError> {
    verify_batch_under(shape, proof_bytes, public, &BATCH_PARAMS)
}

/// [`verify_batch`] under one of the pinned parameter sets: [`BATCH_PARAMS`], or
/// [`STARK_PARAMS`] for the batch proofs of rounds made before 2026-12-03. The same guarantees
/// on `Ok`; any other parameters are refused ([`StarkError::Params`]) before the proof is read.
pub fn verify_batch_under(
    shape: &BatchShape,
    proof_bytes: &[u8],
    public: &BatchPublic,
    params: &StarkParams,
) -> Result<(), StarkError> {
    let shape = BatchShape::new(shape.assets, shape.log_height)?;
    let values = public.to_values();
    verify_air_with(
        &SolvencyStarkAir::new(shape),
        shape.log_height,
        proof_bytes,
        &values,
        params,
    )
}

/// Decodes `proof_bytes`, checks the proof's shape against `air` at height `2^log_height`
/// under [`STARK_PARAMS`], then runs the library verifier behind `catch_unwind`.
pub(crate) fn verify_air<A>(
    air: &A,
    log_height: usize,
    proof_bytes: &[u8],
    values: &[Val],
) -> Result<(), StarkError>
where
    A: BaseAir<Val>
        + Air<p3_uni_stark::SymbolicAirBuilder<Val>>
        + for<'a> Air<p3_uni_stark::VerifierConstraintFolder<'a, VerifierStarkConfig>>,
{
    verify_air_with(air, log_height, proof_bytes, values, &STARK_PARAMS)
}

/// [`verify_air`] under `params`, refused unless they are one of the pinned sets.
pub(crate) fn verify_air_with<A>(
    air: &A,
    log_height: usize,
    proof_bytes: &[u8],
    values: &[Val],
    params: &StarkParams,
) -> Result<(), StarkError>
where
    A: BaseAir<Val>
        + Air<p3_uni_stark::SymbolicAirBuilder<Val>>
        + for<'a> Air<p3_uni_stark::VerifierConstraintFolder<'a, VerifierStarkConfig>>,
{
    check_pinned(params)?;
    let params = *params;
    let proof: Proof<VerifierStarkConfig> = postcard::from_bytes(proof_bytes)
        .map_err(|e| StarkError::Malformed(format!("cannot decode: {e}")))?;
    check_shape(&proof, air.width(), log_height, &params)?;
    if values.len() != air.num_public_values() {
        return Err(StarkError::Shape(format!(
            "{} public values (the AIR has {})",
            values.len(),
            air.num_public_values()
        )));
    }
    // The library verifier, with its Merkle checks run beside it (`beside`): Ok only if both
    // the verifier and every one of its Merkle checks accept. The AIR's degree is the one it
    // declares (`KnownDegree`) where it declares one.
    let (outcome, merkle) = beside::run_beside(|queue| {
        let config = verifier_config(&params, queue);
        catch_unwind(AssertUnwindSafe(|| match air.max_constraint_degree() {
            Some(_) => verify(&config, &KnownDegree(air), &proof, values),
            None => verify(&config, air, &proof, values),
        }))
    });
    match (outcome, merkle) {
        (Ok(Ok(())), None) => Ok(()),
        (Ok(Ok(())), Some(m)) => Err(StarkError::Rejected(m)),
        (Ok(Err(e)), _) => Err(StarkError::Rejected(format!("{e:?}"))),
        (Err(_), _) => Err(StarkError::Malformed(
            "the library verifier panicked on this proof".into(),
        )),
    }
}

/// The verifier's view of an AIR that declares its constraint degree: the same AIR, except that
/// the library's sizing of the quotient reads the declared degree instead of building every
/// constraint as a symbolic expression first (~10 % of a customer's check, most of it
/// allocating and freeing expression trees). The constraints checked at the out-of-domain point
/// are the AIR's own. Only the number of quotient chunks could change, and only if a
/// declaration were below the AIR's real degree: then honest proofs (whose prover sizes the
/// quotient from the real constraints) would be refused, never a weaker check; the tests hold
/// every AIR's declaration to its real degree (`declared_degrees_are_the_real_ones`).
struct KnownDegree<'a, A>(&'a A);

impl<A: BaseAir<Val>> BaseAir<Val> for KnownDegree<'_, A> {
    fn width(&self) -> usize {
        self.0.width()
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        self.0.preprocessed_trace()
    }
    fn preprocessed_width(&self) -> usize {
        self.0.preprocessed_width()
    }
    fn num_periodic_columns(&self) -> usize {
        self.0.num_periodic_columns()
    }
    fn periodic_columns(&self) -> std::borrow::Cow<'_, [Vec<Val>]> {
        self.0.periodic_columns()
    }
    fn periodic_values(&self, row_index: usize) -> Vec<Val> {
        self.0.periodic_values(row_index)
    }
    fn periodic_columns_matrix(&self) -> Option<RowMajorMatrix<Val>> {
        self.0.periodic_columns_matrix()
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        self.0.main_next_row_columns()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        self.0.preprocessed_next_row_columns()
    }
    fn num_constraints(&self) -> Option<usize> {
        self.0.num_constraints()
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        self.0.max_constraint_degree()
    }
    fn num_public_values(&self) -> usize {
        self.0.num_public_values()
    }
    fn public_boundary_io(&self) -> &[p3_air::BoundaryPublic] {
        self.0.public_boundary_io()
    }
    fn assumes_boolean_trace(&self) -> bool {
        self.0.assumes_boolean_trace()
    }
}

/// No symbolic constraints: the library takes the declared degree.
impl<A: BaseAir<Val>> Air<p3_uni_stark::SymbolicAirBuilder<Val>> for KnownDegree<'_, A> {
    fn eval(&self, _: &mut p3_uni_stark::SymbolicAirBuilder<Val>) {}
}

impl<'a, A> Air<p3_uni_stark::VerifierConstraintFolder<'a, VerifierStarkConfig>>
    for KnownDegree<'_, A>
where
    A: Air<p3_uni_stark::VerifierConstraintFolder<'a, VerifierStarkConfig>>,
{
    fn eval(&self, builder: &mut p3_uni_stark::VerifierConstraintFolder<'a, VerifierStarkConfig>) {
        self.0.eval(builder);
    }
}

/// The degree the library computes from `air`'s symbolic constraints (what [`KnownDegree`]
/// replaces with the declaration), for the tests.
#[cfg(test)]
pub(crate) fn real_degree<A: Air<p3_uni_stark::SymbolicAirBuilder<Val>>>(air: &A) -> usize {
    let layout = p3_uni_stark::AirLayout {
        main_width: air.width(),
        num_public_values: air.num_public_values(),
        ..Default::default()
    };
    let (base, ext) = p3_uni_stark::get_all_symbolic_constraints::<Val, Val, A>(air, layout);
    base.iter()
        .map(|c| c.degree_multiple())
        .chain(ext.iter().map(|c| c.degree_multiple()))
        .max()
        .unwrap_or(0)
}

/// Shape checks before the library verifier sees the proof.
fn check_shape(
    proof: &Proof<VerifierStarkConfig>,
    width: usize,
    log_height: usize,
    params: &StarkParams,
) -> Result<(), StarkError> {
    let bad = |m: String| Err(StarkError::Malformed(m));
    // The trace height is part of the statement (it bounds the limb sums): exact match.
    let expected_bits = log_height + 1; // +1: the hiding PCS doubles the trace domain
    if proof.degree_bits != expected_bits {
        return bad(format!(
            "degree bits {} (expected {expected_bits})",
            proof.degree_bits
        ));
    }
    let ov = &proof.opened_values;
    if ov.trace_local.len() != width || ov.trace_next.as_ref().map(Vec::len) != Some(width) {
        return bad("opened trace width".into());
    }
    if ov.preprocessed.is_some() || ov.random.as_ref().map(Vec::len) != Some(4) {
        return bad("opened random or preprocessed values".into());
    }
    // Degree 3 with ZK: the library's count (checked again by the library) is a small power of
    // two; here only bound it so that nothing huge reaches the verifier.
    let chunks = ov.quotient_chunks.len();
    if !chunks.is_power_of_two() || chunks > 16 || ov.quotient_chunks.iter().any(|c| c.len() != 4) {
        return bad(format!("{chunks} quotient chunks"));
    }
    if proof.commitments.random.is_none() {
        return bad("missing randomization commitment".into());
    }
    let fri = &proof.opening_proof.1;
    // Folding down to a constant: one round per bit with binary folding; with larger arities
    // at most that many (the library derives the exact schedule and checks it before use).
    let bits = proof.degree_bits;
    let rounds = fri.commit_phase_commits.len();
    let exact = params.max_log_arity == 1;
    if (exact && rounds != bits)
        || rounds > bits
        || rounds < bits.div_ceil(params.max_log_arity.max(1))
        || fri.commit_pow_witnesses.len() != rounds
        || fri.commit_phase_openings.len() != rounds
    {
        return bad(format!("{rounds} FRI rounds (expected {bits} bits folded)"));
    }
    if fri.final_poly.len() != 1 {
        return bad("final polynomial length".into());
    }
    let max_siblings = (1usize << params.max_log_arity.min(8)) - 1;
    for step in &fri.commit_phase_openings {
        if step.sibling_values.len() != params.num_queries
            || step
                .sibling_values
                .iter()
                .any(|s| s.is_empty() || s.len() > max_siblings || (exact && s.len() != 1))
        {
            return bad("FRI query openings".into());
        }
    }
    Ok(())
}

pub mod aggregation;
mod beside;
pub mod inclusion;

pub use aggregation::*;
pub use inclusion::*;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
pub(crate) mod twins;
