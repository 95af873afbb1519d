//! The KYC statement (DESIGN §2, module [`super`]) as a zero-knowledge STARK (Plonky3, feature
//! `stark`): KoalaBear, Poseidon2 of width 16 checked by `p3-poseidon2-air`, the hiding FRI
//! configuration and the pinned [`STARK_PARAMS`] of the solvency AIRs
//! ([`crate::solvency::stark`]). `docs/stark.md` ("KYC on the STARK") is the long form of this
//! documentation.
//!
//! # The statement proven by [`prove_kyc`] and checked by [`verify_kyc`]
//!
//! Public (in this order, [`KycStarkPublic::to_values`], 42 elements): the registry root `R`
//! (8), the policy root `P` (8), `today` as two 16-bit limbs `(t_lo, t_hi)`, the `scope` (8),
//! the `challenge` (8) and the nullifier `nf` (8). The prover knows `sk` (8 elements), `J`,
//! `expiry_day`, `serial`, a registry path of depth 32 and two policy leaves with paths of depth
//! 16 such that (items of [`super`]):
//! 1. `J < 2^34`, `expiry_day < 2^32`, `today < 2^32`, `serial < 2^32`: `J = j_hi 2^24 + j_lo`
//!    with `j_hi < 2^10`, `j_lo < 2^24`; days are two 16-bit limbs; the serial is its 32
//!    direction bits (every limb is a sum of constrained bits; nothing is a bare field element);
//! 2. with `hid = P(sk || TAG_KYC_HOLDER || 0^7)[0..8]`, the credential
//!    `cred = P(hid || j_hi, j_lo, e_lo, e_hi, s_lo, s_hi || TAG_KYC_CRED || 0)[0..8]` is leaf
//!    `serial` of the Poseidon2 Merkle tree of root `R` (node `P(l || r)[0..8]`, direction bits
//!    boolean, an empty or revoked leaf is the zero digest);
//! 3. for `x` in `{x_e = 4 J + 1, x_w = 4 C + 2}` (`C = J - (J mod 2^24)`), as limbs of radix
//!    `2^26` (`x_e = (j_hi, 4 j_lo + 1)`, `x_w = (j_hi, 2)`): a leaf
//!    `P(low_hi, low_lo, next_hi, next_lo, 0^4 || TAG_KYC_POLICY || 0^7)[0..8]` of the tree of
//!    root `P` (depth 16) has `x - low - 1` and `next - x - 1` in `[0, 2^36)`: two limbs each
//!    (26 and 10 bits, range-checked) with a boolean borrow, so the subtraction holds over the
//!    integers;
//! 4. `expiry_day - today - 1` in `[0, 2^32)` (two 16-bit limbs and a boolean borrow);
//! 5. `nf = P(sk || a[8..16])[0..8]` with `a = P(scope || TAG_KYC_NULL || 0^7)`: a two-block
//!    Poseidon2 sponge of `(scope, sk)` under `TAG_KYC_NULL`;
//! 6. the `challenge` equals 8 trace cells (a first-row constraint): it enters a constraint.
//!
//! # The trace (one permutation per row)
//!
//! 128 rows (`2^7`, the hiding PCS's minimum); 70 carry a permutation of the statement, the
//! rest a permutation of zeros. Rows: 0 and 1 the nullifier sponge, 2 `hid`, 3 `cred`, 4..=35
//! the registry path (level `h` on row `4 + h`, its direction bit `dir`), 36 the exact key's
//! policy leaf, 37..=52 its path, 53 the whole key's leaf, 54..=69 its path. Columns: the
//! permutation (164, `p3-poseidon2-air`), a one-hot row position for rows 0..=69 (70, forced by
//! a first-row and a shift constraint: every row kind is a sum of positions), `dir`, the
//! serial's running sum, 31 "witness" cells constant over all rows (`J`, day and serial limbs,
//! the differences and borrows, the challenge) and 26 range bits (row `k < 16` decomposes the
//! `k`-th limb of [`RANGES`]). 293 columns in all.

use std::sync::OnceLock;

use p3_air::{Air, AirBuilder, BaseAir};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_koala_bear::{
    default_koalabear_poseidon2_16, Poseidon2KoalaBear, KOALABEAR_POSEIDON2_HALF_FULL_ROUNDS,
    KOALABEAR_POSEIDON2_PARTIAL_ROUNDS_16, KOALABEAR_S_BOX_DEGREE,
};
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2_air::num_cols;
use p3_symmetric::Permutation;
use p3_uni_stark::{prove, SubAirBuilder};

use super::jurisdiction::{Jurisdiction, J_BITS, KEY_BITS, SUFFIX_BITS, TAG_EXACT, TAG_WHOLE};
use super::policy::{keys_of, PolicyError, KEY_MAX, KEY_MIN, POLICY_DEPTH};
use super::{KycStatementError, DAY_BITS, REGISTRY_DEPTH};
use crate::solvency::stark::{
    bytes_digest, p2_trace_rows, round_constants, security_of, stark_config, verify_air, Digest,
    P2Air, StarkError, StarkParams, StarkSecurity, Val, DIGEST_ELEMS, STARK_PARAMS,
};

/// Domain tag of the holder commitment `hid` (KoalaBear tags are small integers; the solvency
/// AIRs use 1 to 5).
pub const TAG_KYC_HOLDER: u32 = 16;
/// Domain tag of a credential.
pub const TAG_KYC_CRED: u32 = 17;
/// Domain tag of the nullifier sponge.
pub const TAG_KYC_NULL: u32 = 18;
/// Domain tag of a policy leaf `(low, next)`.
pub const TAG_KYC_POLICY: u32 = 19;
/// Domain tag of a scope's digest ([`scope_digest`]).
pub const TAG_KYC_SCOPE: u32 = 20;
/// Domain tag of a challenge's digest ([`challenge_digest`]).
pub const TAG_KYC_CHALLENGE: u32 = 21;
/// Domain tag of a secret's derivation from bytes ([`secret_from_bytes`]).
pub const TAG_KYC_SECRET: u32 = 22;

/// `log2` of the trace height: the hiding PCS's minimum (`2^7` rows), enough for the 70 rows.
pub const KYC_LOG_HEIGHT: usize = 7;
/// Rows of the trace.
pub const KYC_ROWS: usize = 1 << KYC_LOG_HEIGHT;
/// Number of public values.
pub const KYC_PUBLIC_VALUES: usize = 5 * DIGEST_ELEMS + 2;
/// Bits of the radix of a policy key's low limb (`key = hi 2^26 + lo`, keys below `2^36`).
pub const KEY_LO_BITS: usize = 26;
/// Bits of a day limb (`today`, `expiry_day`: two of them).
pub const DAY_LIMB_BITS: usize = 16;

const WIDTH: usize = 16;
const SBOX_DEGREE: u64 = KOALABEAR_S_BOX_DEGREE;
const SBOX_REGISTERS: usize = 0;
const HALF_FULL_ROUNDS: usize = KOALABEAR_POSEIDON2_HALF_FULL_ROUNDS;
const PARTIAL_ROUNDS: usize = KOALABEAR_POSEIDON2_PARTIAL_ROUNDS_16;
/// Columns of one permutation in `p3-poseidon2-air`'s layout (inputs first).
pub(crate) const P2_COLS: usize =
    num_cols::<WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>();
/// Offset of the permutation's output within its columns.
pub(crate) const P2_OUT: usize = P2_COLS - WIDTH;

type Perm = Poseidon2KoalaBear<WIDTH>;

// ---------------------------------------------------------------------------------------------
// Rows.

/// Row of the nullifier sponge's first block `(scope, TAG_KYC_NULL, 0^7)`.
pub(crate) const ROW_NULL1: usize = 0;
/// Row of the nullifier sponge's second block `(sk, capacity)`; its output is `nf`.
pub(crate) const ROW_NULL2: usize = 1;
/// Row of `hid = P(sk, TAG_KYC_HOLDER, 0^7)`.
pub(crate) const ROW_HOLDER: usize = 2;
/// Row of the credential.
pub(crate) const ROW_CRED: usize = 3;
/// First registry node row (level 0); level `h` is row `ROW_REG + h`.
pub(crate) const ROW_REG: usize = 4;
/// The registry root's row.
pub(crate) const ROW_REG_ROOT: usize = ROW_REG + REGISTRY_DEPTH - 1;
/// The policy leaf rows (exact key, whole key); each is followed by its 16 node rows.
pub(crate) const ROW_LEAF: [usize; 2] = [ROW_REG_ROOT + 1, ROW_REG_ROOT + 2 + POLICY_DEPTH];
/// Rows that carry the statement (the rest are padding).
pub(crate) const USED_ROWS: usize = ROW_LEAF[1] + 1 + POLICY_DEPTH;

// ---------------------------------------------------------------------------------------------
// Columns.

/// First column of the one-hot row position.
pub(crate) const C_POS: usize = P2_COLS;
/// The direction bit of a node row.
pub(crate) const C_DIR: usize = C_POS + USED_ROWS;
/// The running sum of the serial's direction bits.
pub(crate) const C_ACC: usize = C_DIR + 1;
/// First witness cell (constant over all rows).
pub(crate) const C_W: usize = C_ACC + 1;
/// First range bit.
pub(crate) const C_BITS: usize = C_W + W_LEN;
/// Range bits per row.
pub(crate) const RANGE_BITS: usize = KEY_LO_BITS;
/// Columns of the trace.
pub const KYC_WIDTH: usize = C_BITS + RANGE_BITS;

// Witness cells (offsets from `C_W`).
pub(crate) const W_J_HI: usize = 0;
pub(crate) const W_J_LO: usize = 1;
pub(crate) const W_E_LO: usize = 2;
pub(crate) const W_E_HI: usize = 3;
pub(crate) const W_S_LO: usize = 4;
pub(crate) const W_S_HI: usize = 5;
pub(crate) const W_T_LO: usize = 6;
pub(crate) const W_T_HI: usize = 7;
/// `expiry_day - today - 1`: low limb, high limb, borrow.
pub(crate) const W_ED: usize = 8;
/// Per policy key (exact, whole): `x - low - 1` (lo, hi, borrow), `next - x - 1` (lo, hi,
/// borrow).
pub(crate) const W_POL: [usize; 2] = [11, 17];
/// The challenge (8 cells).
pub(crate) const W_CHAL: usize = 23;
pub(crate) const W_LEN: usize = W_CHAL + DIGEST_ELEMS;

/// The limbs range-checked by the range bits: row `k` decomposes witness cell `RANGES[k].0`
/// into `RANGES[k].1` bits.
pub(crate) const RANGES: [(usize, usize); 16] = [
    (W_J_HI, J_BITS - SUFFIX_BITS),
    (W_J_LO, SUFFIX_BITS),
    (W_E_LO, DAY_LIMB_BITS),
    (W_E_HI, DAY_LIMB_BITS),
    (W_T_LO, DAY_LIMB_BITS),
    (W_T_HI, DAY_LIMB_BITS),
    (W_ED, DAY_LIMB_BITS),
    (W_ED + 1, DAY_LIMB_BITS),
    (W_POL[0], KEY_LO_BITS),
    (W_POL[0] + 1, KEY_BITS - KEY_LO_BITS),
    (W_POL[0] + 3, KEY_LO_BITS),
    (W_POL[0] + 4, KEY_BITS - KEY_LO_BITS),
    (W_POL[1], KEY_LO_BITS),
    (W_POL[1] + 1, KEY_BITS - KEY_LO_BITS),
    (W_POL[1] + 3, KEY_LO_BITS),
    (W_POL[1] + 4, KEY_BITS - KEY_LO_BITS),
];

// ---------------------------------------------------------------------------------------------
// Hashes.

fn poseidon2() -> &'static Perm {
    static P: OnceLock<Perm> = OnceLock::new();
    P.get_or_init(default_koalabear_poseidon2_16)
}

fn permute(input: [Val; WIDTH]) -> [Val; WIDTH] {
    poseidon2().permute(input)
}

fn head(out: &[Val; WIDTH]) -> Digest {
    core::array::from_fn(|i| out[i])
}

fn v(x: u64) -> Val {
    Val::from_u64(x)
}

/// The zero digest: an empty or revoked registry leaf, an empty policy leaf.
pub const EMPTY: Digest = [Val::ZERO; DIGEST_ELEMS];

/// A Merkle node `P(left || right)[0..8]` (the compression of the solvency docs).
pub fn node(left: &Digest, right: &Digest) -> Digest {
    let mut input = [Val::ZERO; WIDTH];
    input[..DIGEST_ELEMS].copy_from_slice(left);
    input[DIGEST_ELEMS..].copy_from_slice(right);
    head(&permute(input))
}

fn holder_input(sk: &Digest) -> [Val; WIDTH] {
    let mut input = [Val::ZERO; WIDTH];
    input[..DIGEST_ELEMS].copy_from_slice(sk);
    input[DIGEST_ELEMS] = Val::from_u32(TAG_KYC_HOLDER);
    input
}

/// `hid = P(sk || TAG_KYC_HOLDER || 0^7)[0..8]`: the holder's public commitment.
pub fn holder_commitment(sk: &Digest) -> Digest {
    head(&permute(holder_input(sk)))
}

/// The six limbs a credential hashes: `J` (hi, lo at `2^24`), `expiry_day` (lo, hi at `2^16`),
/// `serial` (lo, hi at `2^16`).
pub(crate) fn cred_limbs(j: u64, expiry_day: u64, serial: u64) -> [Val; 6] {
    [
        v(j >> SUFFIX_BITS),
        v(j & ((1 << SUFFIX_BITS) - 1)),
        v(expiry_day & 0xffff),
        v(expiry_day >> DAY_LIMB_BITS),
        v(serial & 0xffff),
        v((serial >> DAY_LIMB_BITS) & 0xffff),
    ]
}

fn cred_input(hid: &Digest, limbs: &[Val; 6]) -> [Val; WIDTH] {
    let mut input = [Val::ZERO; WIDTH];
    input[..DIGEST_ELEMS].copy_from_slice(hid);
    input[DIGEST_ELEMS..DIGEST_ELEMS + 6].copy_from_slice(limbs);
    input[DIGEST_ELEMS + 6] = Val::from_u32(TAG_KYC_CRED);
    input
}

/// `cred = P(hid || j_hi, j_lo, e_lo, e_hi, s_lo, s_hi || TAG_KYC_CRED || 0)[0..8]`: the
/// registry leaf of a credential (`J < 2^34`, `expiry_day` and `serial` below `2^32`).
pub fn credential(hid: &Digest, j: u64, expiry_day: u64, serial: u64) -> Digest {
    head(&permute(cred_input(
        hid,
        &cred_limbs(j, expiry_day, serial),
    )))
}

fn null_input(scope: &Digest) -> [Val; WIDTH] {
    let mut input = [Val::ZERO; WIDTH];
    input[..DIGEST_ELEMS].copy_from_slice(scope);
    input[DIGEST_ELEMS] = Val::from_u32(TAG_KYC_NULL);
    input
}

fn null2_input(sk: &Digest, first_out: &[Val; WIDTH]) -> [Val; WIDTH] {
    let mut input = *first_out;
    input[..DIGEST_ELEMS].copy_from_slice(sk);
    input
}

/// `nf`: the sponge `a = P(scope || TAG_KYC_NULL || 0^7)`, `nf = P(sk || a[8..16])[0..8]`.
pub fn nullifier(sk: &Digest, scope: &Digest) -> Digest {
    head(&permute(null2_input(sk, &permute(null_input(scope)))))
}

/// A policy key's limbs `(hi, lo)` of radix `2^26`.
pub(crate) fn key_limbs(key: u64) -> [Val; 2] {
    [v(key >> KEY_LO_BITS), v(key & ((1 << KEY_LO_BITS) - 1))]
}

fn leaf_input(low: [Val; 2], next: [Val; 2]) -> [Val; WIDTH] {
    let mut input = [Val::ZERO; WIDTH];
    input[..2].copy_from_slice(&low);
    input[2..4].copy_from_slice(&next);
    input[DIGEST_ELEMS] = Val::from_u32(TAG_KYC_POLICY);
    input
}

/// `P(low_hi, low_lo, next_hi, next_lo, 0^4 || TAG_KYC_POLICY || 0^7)[0..8]`.
pub fn policy_leaf(low: u64, next: u64) -> Digest {
    head(&permute(leaf_input(key_limbs(low), key_limbs(next))))
}

/// The digest of a relying party's scope name (`Sponge_{TAG_KYC_SCOPE}` over its bytes, as
/// the solvency round digest).
///
/// # Errors
/// [`StarkError::Shape`] for an empty name or one above 256 bytes.
pub fn scope_digest(scope: &str) -> Result<Digest, StarkError> {
    bytes_digest(TAG_KYC_SCOPE, scope.as_bytes(), "scope")
}

/// The digest of a relying party's 31-byte challenge nonce (`Sponge_{TAG_KYC_CHALLENGE}`).
pub fn challenge_digest(nonce: &[u8; 31]) -> Digest {
    bytes_digest(TAG_KYC_CHALLENGE, nonce, "challenge").unwrap_or(EMPTY)
}

/// The 8-element secret of a holder's 31-byte secret (`Sponge_{TAG_KYC_SECRET}`): 248 bits in,
/// 8 elements out, so the secret keeps its entropy up to the digest's size.
pub fn secret_from_bytes(secret: &[u8; 31]) -> Digest {
    bytes_digest(TAG_KYC_SECRET, secret, "secret").unwrap_or(EMPTY)
}

/// The roots of empty subtrees of height `0..=depth`.
fn empty_roots(depth: usize) -> Vec<Digest> {
    let mut z = vec![EMPTY];
    for h in 0..depth {
        z.push(node(&z[h], &z[h]));
    }
    z
}

/// The root of `leaf` at `index` with `siblings` from the leaf up (bit `h` of `index` set: the
/// running node is the right child at level `h`).
pub fn root_from_path(leaf: &Digest, index: u64, siblings: &[Digest]) -> Digest {
    let mut cur = *leaf;
    for (h, s) in siblings.iter().enumerate() {
        cur = if (index >> h) & 1 == 1 {
            node(s, &cur)
        } else {
            node(&cur, s)
        };
    }
    cur
}

/// A sparse Merkle tree of `depth` over digests: the non-empty prefix of every level.
#[derive(Debug, Clone)]
struct Sparse {
    levels: Vec<Vec<Digest>>,
    zeros: Vec<Digest>,
}

impl Sparse {
    fn new(leaves: Vec<Digest>, depth: usize) -> Self {
        let z = empty_roots(depth);
        let mut levels = vec![leaves];
        for h in 0..depth {
            let next: Vec<Digest> = levels[h]
                .chunks(2)
                .map(|p| node(&p[0], p.get(1).unwrap_or(&z[h])))
                .collect();
            levels.push(next);
        }
        Self { levels, zeros: z }
    }

    fn root(&self) -> Digest {
        let d = self.zeros.len() - 1;
        self.levels[d].first().copied().unwrap_or(self.zeros[d])
    }

    fn path(&self, index: u64) -> Vec<Digest> {
        let d = self.zeros.len() - 1;
        let mut i = index as usize;
        let mut out = Vec::with_capacity(d);
        for (h, level) in self.levels[..d].iter().enumerate() {
            out.push(level.get(i ^ 1).copied().unwrap_or(self.zeros[h]));
            i >>= 1;
        }
        out
    }
}

/// The issuer's registry over KoalaBear: a Poseidon2 Merkle tree of depth [`REGISTRY_DEPTH`]
/// whose leaf `serial` is credential `serial` ([`EMPTY`]: never issued or revoked).
#[derive(Debug, Clone)]
pub struct StarkRegistry(Sparse);

impl StarkRegistry {
    /// The registry whose leaves are `leaves` (index = serial), the rest empty.
    pub fn new(leaves: Vec<Digest>) -> Self {
        Self(Sparse::new(leaves, REGISTRY_DEPTH))
    }
    /// The root.
    pub fn root(&self) -> Digest {
        self.0.root()
    }
    /// The [`REGISTRY_DEPTH`] siblings of leaf `serial`.
    pub fn path(&self, serial: u64) -> Vec<Digest> {
        self.0.path(serial)
    }
    /// The leaf at `serial` ([`EMPTY`] if none).
    pub fn leaf(&self, serial: u64) -> Digest {
        self.0.levels[0]
            .get(serial as usize)
            .copied()
            .unwrap_or(EMPTY)
    }
}

/// A witness that a key is not in the policy: the neighbouring pair around it and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarkNonMembership {
    /// The largest listed key below the key.
    pub low: u64,
    /// The smallest listed key above the key.
    pub next: u64,
    /// The leaf index of the pair (below `2^16`).
    pub index: u64,
    /// The [`POLICY_DEPTH`] siblings from the leaf up.
    pub siblings: Vec<Digest>,
}

/// The policy's sorted tree over KoalaBear: the same keys as [`super::policy::PolicyTree`]
/// (sentinels `0` and `2^36 - 1`, leaf `i` the pair `(k_i, k_{i+1})`, empty leaves zero,
/// depth [`POLICY_DEPTH`]), hashed with [`policy_leaf`] and [`node`].
#[derive(Debug, Clone)]
pub struct StarkPolicyTree {
    keys: Vec<u64>,
    tree: Sparse,
}

impl StarkPolicyTree {
    /// The tree of `restricted` jurisdictions ([`keys_of`]: the ISO hierarchy as exact keys).
    ///
    /// # Errors
    /// [`PolicyError::TooLarge`].
    pub fn from_jurisdictions(restricted: &[Jurisdiction]) -> Result<Self, PolicyError> {
        Self::from_keys(keys_of(restricted))
    }

    /// The tree of raw keys (sorted and deduplicated here).
    ///
    /// # Errors
    /// [`PolicyError::KeyRange`] for a key not strictly between the sentinels,
    /// [`PolicyError::TooLarge`].
    pub fn from_keys(mut keys: Vec<u64>) -> Result<Self, PolicyError> {
        keys.sort_unstable();
        keys.dedup();
        if let Some(k) = keys.iter().find(|k| **k == KEY_MIN || **k >= KEY_MAX) {
            return Err(PolicyError::KeyRange(*k));
        }
        if keys.len() + 1 > 1 << POLICY_DEPTH {
            return Err(PolicyError::TooLarge(keys.len()));
        }
        let mut all = Vec::with_capacity(keys.len() + 2);
        all.push(KEY_MIN);
        all.extend(keys);
        all.push(KEY_MAX);
        let leaves = all.windows(2).map(|w| policy_leaf(w[0], w[1])).collect();
        Ok(Self {
            keys: all,
            tree: Sparse::new(leaves, POLICY_DEPTH),
        })
    }

    /// The policy root.
    pub fn root(&self) -> Digest {
        self.tree.root()
    }

    /// The leaf `(k_i, k_{i+1})` and its path, for any `i`.
    pub fn pair(&self, index: usize) -> Option<StarkNonMembership> {
        if index + 1 >= self.keys.len() {
            return None;
        }
        Some(StarkNonMembership {
            low: self.keys[index],
            next: self.keys[index + 1],
            index: index as u64,
            siblings: self.tree.path(index as u64),
        })
    }

    /// The non-membership witness of `key`.
    ///
    /// # Errors
    /// [`PolicyError::Member`] if `key` is listed, [`PolicyError::KeyRange`] for a sentinel
    /// or a key outside them.
    pub fn non_membership(&self, key: u64) -> Result<StarkNonMembership, PolicyError> {
        match self.keys.binary_search(&key) {
            Ok(_) => Err(PolicyError::Member(key)),
            Err(0) => Err(PolicyError::KeyRange(key)),
            Err(pos) if pos == self.keys.len() => Err(PolicyError::KeyRange(key)),
            Err(pos) => self.pair(pos - 1).ok_or(PolicyError::KeyRange(key)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The statement, natively.

/// What the relying party fixes: the day, its scope and its challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycStarkContext {
    /// Today, in UTC days.
    pub today: u64,
    /// The relying party's scope ([`scope_digest`]).
    pub scope: Digest,
    /// The single-use challenge ([`challenge_digest`]).
    pub challenge: Digest,
}

/// The holder's private witness over KoalaBear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycStarkWitness {
    /// `sk`: 8 elements (248 bits; [`secret_from_bytes`]).
    pub sk: Digest,
    /// `J` (see [`super::jurisdiction`]).
    pub jurisdiction: u64,
    /// The credential's expiry day.
    pub expiry_day: u64,
    /// The credential's serial (its registry leaf index).
    pub serial: u64,
    /// The registry siblings from the leaf up ([`REGISTRY_DEPTH`] of them).
    pub registry_path: Vec<Digest>,
    /// Non-membership of `x_e = 4 J + 1`.
    pub exact: StarkNonMembership,
    /// Non-membership of `x_w = 4 C + 2`.
    pub whole: StarkNonMembership,
}

/// The public values of a KYC proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycStarkPublic {
    /// `R`, the registry root of the epoch.
    pub registry_root: Digest,
    /// `P`, the policy root.
    pub policy_root: Digest,
    /// `today`, in UTC days (below `2^32`).
    pub today: u64,
    /// The relying party's scope.
    pub scope: Digest,
    /// The challenge.
    pub challenge: Digest,
    /// `nf`.
    pub nullifier: Digest,
}

impl KycStarkPublic {
    /// The 42 public values in the AIR's order: `R`, `P`, `today` (lo, hi 16-bit limbs),
    /// `scope`, `challenge`, `nf`. `today` is taken modulo `2^32` here: [`verify_kyc`] refuses
    /// a larger one before.
    pub fn to_values(&self) -> Vec<Val> {
        let mut out = Vec::with_capacity(KYC_PUBLIC_VALUES);
        out.extend_from_slice(&self.registry_root);
        out.extend_from_slice(&self.policy_root);
        out.push(v(self.today & 0xffff));
        out.push(v((self.today >> DAY_LIMB_BITS) & 0xffff));
        out.extend_from_slice(&self.scope);
        out.extend_from_slice(&self.challenge);
        out.extend_from_slice(&self.nullifier);
        out
    }
}

/// Offsets of the public values.
pub(crate) const PUB_R: usize = 0;
pub(crate) const PUB_P: usize = DIGEST_ELEMS;
pub(crate) const PUB_TODAY: usize = 2 * DIGEST_ELEMS;
pub(crate) const PUB_SCOPE: usize = PUB_TODAY + 2;
pub(crate) const PUB_CHAL: usize = PUB_SCOPE + DIGEST_ELEMS;
pub(crate) const PUB_NF: usize = PUB_CHAL + DIGEST_ELEMS;

/// `x_e = 4 J + 1`.
pub fn exact_key(j: u64) -> u64 {
    4 * j + TAG_EXACT
}

/// `x_w = 4 C + 2`, `C = J - (J mod 2^24)`.
pub fn whole_key(j: u64) -> u64 {
    4 * (j - (j & ((1 << SUFFIX_BITS) - 1))) + TAG_WHOLE
}

impl KycStarkWitness {
    /// The credential of this witness.
    pub fn credential(&self) -> Digest {
        credential(
            &holder_commitment(&self.sk),
            self.jurisdiction,
            self.expiry_day,
            self.serial,
        )
    }

    /// The public values this witness hashes to, without checking anything (the policy root
    /// is the one the exact key's path leads to): what a malicious prover would claim.
    pub fn evaluate_unchecked(&self, ctx: &KycStarkContext) -> KycStarkPublic {
        KycStarkPublic {
            registry_root: root_from_path(&self.credential(), self.serial, &self.registry_path),
            policy_root: policy_root_of(&self.exact),
            today: ctx.today,
            scope: ctx.scope,
            challenge: ctx.challenge,
            nullifier: nullifier(&self.sk, &ctx.scope),
        }
    }
}

/// The root a policy pair and its path lead to.
pub fn policy_root_of(nm: &StarkNonMembership) -> Digest {
    root_from_path(&policy_leaf(nm.low, nm.next), nm.index, &nm.siblings)
}

/// The native twin: checks every condition the AIR enforces and returns the public values
/// of an honest proof.
///
/// # Errors
/// The first violated condition, as [`KycStatementError`].
pub fn kyc_statement(
    w: &KycStarkWitness,
    ctx: &KycStarkContext,
) -> Result<KycStarkPublic, KycStatementError> {
    if w.jurisdiction >= 1 << J_BITS {
        return Err(KycStatementError::Jurisdiction);
    }
    if w.serial >= 1 << REGISTRY_DEPTH {
        return Err(KycStatementError::Range("serial"));
    }
    if w.expiry_day >= 1 << DAY_BITS {
        return Err(KycStatementError::Range("expiry_day"));
    }
    if ctx.today >= 1 << DAY_BITS {
        return Err(KycStatementError::Range("today"));
    }
    if w.registry_path.len() != REGISTRY_DEPTH {
        return Err(KycStatementError::PathLength(w.registry_path.len()));
    }
    if w.expiry_day <= ctx.today {
        return Err(KycStatementError::Expired {
            expiry_day: w.expiry_day,
            today: ctx.today,
        });
    }
    let j = w.jurisdiction;
    for (name, x, nm) in [
        ("exact", exact_key(j), &w.exact),
        ("whole", whole_key(j), &w.whole),
    ] {
        if !(nm.low < x && x < nm.next)
            || nm.siblings.len() != POLICY_DEPTH
            || nm.index >= 1 << POLICY_DEPTH
            || nm.next >= 1 << KEY_BITS
        {
            return Err(KycStatementError::Restricted(name));
        }
    }
    let public = w.evaluate_unchecked(ctx);
    if policy_root_of(&w.whole) != public.policy_root {
        return Err(KycStatementError::PolicyRoot);
    }
    Ok(public)
}

// ---------------------------------------------------------------------------------------------
// The trace.

/// One policy key's raw cells: the leaf's limbs, the index bits, the siblings.
#[derive(Clone, Debug)]
pub(crate) struct RawPolicy {
    /// `(hi, lo)` of `low`.
    pub(crate) low: [Val; 2],
    /// `(hi, lo)` of `next`.
    pub(crate) next: [Val; 2],
    /// The 16 direction bits.
    pub(crate) bits: [Val; POLICY_DEPTH],
    /// The 16 siblings.
    pub(crate) siblings: Vec<Digest>,
}

/// The raw witness the trace is built from, as field elements, so that tests can build
/// malicious traces (a limb out of range, a borrow of 2, a credential hashing other limbs than
/// the witness cells) through the same code as honest ones.
#[derive(Clone, Debug)]
pub(crate) struct RawKyc {
    pub(crate) sk: Digest,
    pub(crate) scope: Digest,
    /// The witness cells (constant over all rows).
    pub(crate) w: [Val; W_LEN],
    /// The limbs the credential row hashes (honestly: the witness cells').
    pub(crate) cred: [Val; 6],
    /// The registry path's 32 direction bits.
    pub(crate) dirs: [Val; REGISTRY_DEPTH],
    pub(crate) reg_path: Vec<Digest>,
    pub(crate) pol: [RawPolicy; 2],
}

/// `a - b - 1` as `(lo, hi, borrow)` with `lo` of `lo_bits`: honest when `a > b`, and what the
/// equations force otherwise (a high limb `p - k`).
fn diff_limbs(a: [Val; 2], b: [Val; 2], lo_bits: usize) -> [Val; 3] {
    let (ah, al) = (a[0].as_canonical_u32(), a[1].as_canonical_u32());
    let (bh, bl) = (b[0].as_canonical_u32(), b[1].as_canonical_u32());
    let lo = i64::from(al) - i64::from(bl) - 1;
    let borrow = i64::from(lo < 0);
    let lo = lo + (borrow << lo_bits);
    let hi = i64::from(ah) - i64::from(bh) - borrow;
    let f = |x: i64| {
        if x >= 0 {
            v(x as u64)
        } else {
            Val::ZERO - v(x.unsigned_abs())
        }
    };
    [f(lo), f(hi), f(borrow)]
}

impl RawKyc {
    /// The raw cells of a witness, computed as the AIR's equations do (no check).
    pub(crate) fn from_witness(w: &KycStarkWitness, ctx: &KycStarkContext) -> Self {
        let j = w.jurisdiction;
        let limbs = cred_limbs(j, w.expiry_day, w.serial);
        let mut cells = [Val::ZERO; W_LEN];
        cells[W_J_HI] = limbs[0];
        cells[W_J_LO] = limbs[1];
        cells[W_E_LO] = limbs[2];
        cells[W_E_HI] = limbs[3];
        cells[W_S_LO] = limbs[4];
        cells[W_S_HI] = limbs[5];
        cells[W_T_LO] = v(ctx.today & 0xffff);
        cells[W_T_HI] = v((ctx.today >> DAY_LIMB_BITS) & 0xffff);
        cells[W_CHAL..W_CHAL + DIGEST_ELEMS].copy_from_slice(&ctx.challenge);
        let pol = [&w.exact, &w.whole].map(|nm| RawPolicy {
            low: key_limbs(nm.low),
            next: key_limbs(nm.next),
            bits: core::array::from_fn(|h| v((nm.index >> h) & 1)),
            siblings: nm.siblings.clone(),
        });
        let mut raw = Self {
            sk: w.sk,
            scope: ctx.scope,
            w: cells,
            cred: limbs,
            dirs: core::array::from_fn(|h| v((w.serial >> h) & 1)),
            reg_path: w.registry_path.clone(),
            pol,
        };
        raw.settle();
        raw
    }

    /// Recomputes the difference limbs and borrows (expiry, both policy keys) from the other
    /// cells, as the AIR's equations define them.
    pub(crate) fn settle(&mut self) {
        let c = &mut self.w;
        let ed = diff_limbs(
            [c[W_E_HI], c[W_E_LO]],
            [c[W_T_HI], c[W_T_LO]],
            DAY_LIMB_BITS,
        );
        c[W_ED..W_ED + 3].copy_from_slice(&ed);
        let keys = [
            [c[W_J_HI], c[W_J_LO] * Val::from_u32(4) + v(TAG_EXACT)],
            [c[W_J_HI], v(TAG_WHOLE)],
        ];
        for (k, p) in self.pol.iter().enumerate() {
            let below = diff_limbs(keys[k], p.low, KEY_LO_BITS);
            let above = diff_limbs(p.next, keys[k], KEY_LO_BITS);
            c[W_POL[k]..W_POL[k] + 3].copy_from_slice(&below);
            c[W_POL[k] + 3..W_POL[k] + 6].copy_from_slice(&above);
        }
    }
}

/// The node row input: the running digest `cur` on the side its direction bit says.
fn node_input(cur: &Digest, sibling: &Digest, dir: Val) -> [Val; WIDTH] {
    let mut input = [Val::ZERO; WIDTH];
    if dir == Val::ONE {
        input[..DIGEST_ELEMS].copy_from_slice(sibling);
        input[DIGEST_ELEMS..].copy_from_slice(cur);
    } else {
        input[..DIGEST_ELEMS].copy_from_slice(cur);
        input[DIGEST_ELEMS..].copy_from_slice(sibling);
    }
    input
}

/// The permutation inputs of the 128 rows (honestly chained from `raw`).
pub(crate) fn perm_inputs(raw: &RawKyc) -> Vec<[Val; WIDTH]> {
    let mut ins = Vec::with_capacity(KYC_ROWS);
    let null1 = null_input(&raw.scope);
    ins.push(null1);
    ins.push(null2_input(&raw.sk, &permute(null1)));
    let holder = holder_input(&raw.sk);
    ins.push(holder);
    let cred = cred_input(&head(&permute(holder)), &raw.cred);
    ins.push(cred);
    let mut cur = head(&permute(cred));
    for h in 0..REGISTRY_DEPTH {
        let sib = raw.reg_path.get(h).copied().unwrap_or(EMPTY);
        let input = node_input(&cur, &sib, raw.dirs[h]);
        cur = head(&permute(input));
        ins.push(input);
    }
    for p in &raw.pol {
        let leaf = leaf_input(p.low, p.next);
        let mut cur = head(&permute(leaf));
        ins.push(leaf);
        for h in 0..POLICY_DEPTH {
            let sib = p.siblings.get(h).copied().unwrap_or(EMPTY);
            let input = node_input(&cur, &sib, p.bits[h]);
            cur = head(&permute(input));
            ins.push(input);
        }
    }
    debug_assert_eq!(ins.len(), USED_ROWS);
    ins.resize(KYC_ROWS, [Val::ZERO; WIDTH]);
    ins
}

/// Writes the Poseidon2 columns of `inputs` (a power-of-two count) from row `first` on.
pub(crate) fn fill_perms(values: &mut [Val], first: usize, inputs: Vec<[Val; WIDTH]>) {
    let m = p2_trace_rows(inputs, &round_constants());
    for (r, row) in m.values.chunks_exact(P2_COLS).enumerate() {
        let at = (first + r) * KYC_WIDTH;
        if at + P2_COLS <= values.len() {
            values[at..at + P2_COLS].copy_from_slice(row);
        }
    }
}

/// The weight of the direction bit of node row `r` in the serial's running sum (and whether
/// the sum restarts there): level `h` weighs `2^(h mod 16)`, restarting at levels 0 and 16.
fn serial_weight(r: usize) -> Option<(u32, bool)> {
    let h = r.checked_sub(ROW_REG).filter(|h| *h < REGISTRY_DEPTH)?;
    Some((1 << (h % DAY_LIMB_BITS), h % DAY_LIMB_BITS == 0))
}

/// Whether row `r` is a Merkle node row (registry or policy path).
fn is_node_row(r: usize) -> bool {
    (ROW_REG..=ROW_REG_ROOT).contains(&r)
        || ROW_LEAF
            .iter()
            .any(|l| (l + 1..=l + POLICY_DEPTH).contains(&r))
}

/// Builds the trace and the public values it proves (`P` from the exact key's path).
pub(crate) fn build_trace(raw: &RawKyc) -> (RowMajorMatrix<Val>, KycStarkPublic) {
    let ins = perm_inputs(raw);
    let outs: Vec<[Val; WIDTH]> = ins.iter().map(|i| permute(*i)).collect();
    let mut values = Val::zero_vec(KYC_ROWS * KYC_WIDTH);
    fill_perms(&mut values, 0, ins);
    let mut acc = Val::ZERO;
    for r in 0..KYC_ROWS {
        let row = &mut values[r * KYC_WIDTH..(r + 1) * KYC_WIDTH];
        if r < USED_ROWS {
            row[C_POS + r] = Val::ONE;
        }
        let dir = if (ROW_REG..=ROW_REG_ROOT).contains(&r) {
            raw.dirs[r - ROW_REG]
        } else if let Some(k) = ROW_LEAF
            .iter()
            .position(|l| (l + 1..=l + POLICY_DEPTH).contains(&r))
        {
            raw.pol[k].bits[r - ROW_LEAF[k] - 1]
        } else {
            Val::ZERO
        };
        row[C_DIR] = dir;
        if let Some((weight, restart)) = serial_weight(r) {
            if restart {
                acc = Val::ZERO;
            }
            acc += dir * Val::from_u32(weight);
        }
        row[C_ACC] = acc;
        row[C_W..C_W + W_LEN].copy_from_slice(&raw.w);
        if let Some((cell, _)) = RANGES.get(r) {
            // The low bits of the canonical value: a limb out of range does not recompose, or
            // sets a bit above its width.
            let x = raw.w[*cell].as_canonical_u32();
            for b in 0..RANGE_BITS {
                row[C_BITS + b] = Val::from_u32((x >> b) & 1);
            }
        }
    }
    let public = KycStarkPublic {
        registry_root: head(&outs[ROW_REG_ROOT]),
        policy_root: head(&outs[ROW_LEAF[0] + POLICY_DEPTH]),
        today: u64::from(raw.w[W_T_LO].as_canonical_u32())
            + (u64::from(raw.w[W_T_HI].as_canonical_u32()) << DAY_LIMB_BITS),
        scope: raw.scope,
        challenge: core::array::from_fn(|i| raw.w[W_CHAL + i]),
        nullifier: head(&outs[ROW_NULL2]),
    };
    (RowMajorMatrix::new(values, KYC_WIDTH), public)
}

// ---------------------------------------------------------------------------------------------
// The AIR.

/// The constraint families of [`KycStarkAir`] (tests evaluate one family at a time to show
/// that an attack violates only the family it targets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// Every row is a valid Poseidon2 permutation.
    Permutation,
    /// The one-hot row position: first row at 0, shifted by one each row.
    Position,
    /// The witness cells are the same on every row.
    Constant,
    /// Item 5: the nullifier sponge over the public scope, its output the public `nf`.
    Nullifier,
    /// Item 2: `hid` hashes the nullifier's `sk` under `TAG_KYC_HOLDER`.
    Holder,
    /// Item 2: the credential hashes `hid` and the witness cells' limbs under `TAG_KYC_CRED`.
    Credential,
    /// Items 2, 3: every node row hashes the previous row's digest on the side of its boolean
    /// direction bit.
    Path,
    /// Item 2: the registry path ends in the public `R`.
    RegistryRoot,
    /// Items 1, 2: the registry path's direction bits are the serial's limbs.
    Serial,
    /// Item 3: the policy leaves are `(low, next)` under `TAG_KYC_POLICY`.
    PolicyLeaf,
    /// Item 3: both policy paths end in the public `P`.
    PolicyRoot,
    /// Item 3: `x - low - 1` and `next - x - 1` are the witness difference limbs (boolean
    /// borrows).
    PolicyOrder,
    /// Item 4: `expiry_day - today - 1` is the witness difference limbs (boolean borrow).
    Expiry,
    /// Item 1 (and 3, 4): every limb of [`RANGES`] is the sum of its bits.
    Range,
    /// Item 1: the witness day limbs are the public `today`.
    Today,
    /// Item 6: the witness challenge cells are the public challenge.
    Challenge,
}

impl Family {
    /// Every family, in evaluation order.
    pub const ALL: [Family; 16] = [
        Family::Permutation,
        Family::Position,
        Family::Constant,
        Family::Nullifier,
        Family::Holder,
        Family::Credential,
        Family::Path,
        Family::RegistryRoot,
        Family::Serial,
        Family::PolicyLeaf,
        Family::PolicyRoot,
        Family::PolicyOrder,
        Family::Expiry,
        Family::Range,
        Family::Today,
        Family::Challenge,
    ];

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The AIR of the KYC statement (see the module documentation for what it proves).
pub struct KycStarkAir {
    p2: P2Air,
    /// The families evaluated (all of them, except in tests).
    mask: u32,
}

impl KycStarkAir {
    /// The AIR.
    pub fn new() -> Self {
        Self {
            p2: P2Air::new(round_constants()),
            mask: u32::MAX,
        }
    }

    /// The AIR restricted to one family of constraints (tests).
    #[cfg(test)]
    pub(crate) fn only(family: Family) -> Self {
        Self {
            mask: family.bit(),
            ..Self::new()
        }
    }

    fn has(&self, f: Family) -> bool {
        self.mask & f.bit() != 0
    }
}

impl Default for KycStarkAir {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for KycStarkAir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KycStarkAir")
            .field("width", &KYC_WIDTH)
            .finish()
    }
}

impl BaseAir<Val> for KycStarkAir {
    fn width(&self) -> usize {
        KYC_WIDTH
    }
    fn num_public_values(&self) -> usize {
        KYC_PUBLIC_VALUES
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(3)
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for KycStarkAir {
    fn eval(&self, builder: &mut AB) {
        if self.has(Family::Permutation) {
            let mut sub = SubAirBuilder::<AB, P2Air, AB::Var>::new(builder, 0..P2_COLS);
            self.p2.eval(&mut sub);
        }
        let (local, next, publics) = crate::solvency::stark::window(builder);
        let e = |x: AB::Var| -> AB::Expr { x.into() };
        let c = |x: u32| AB::Expr::from_u32(x);
        let pos = |row: &[AB::Var], r: usize| -> AB::Expr { row[C_POS + r].into() };
        let input = |row: &[AB::Var], i: usize| row[i];
        let out = |row: &[AB::Var], i: usize| row[P2_OUT + i];
        let w = |row: &[AB::Var], i: usize| row[C_W + i];

        if self.has(Family::Position) {
            builder.when_first_row().assert_one(local[C_POS]);
            builder.when_transition().assert_zero(next[C_POS]);
            for r in 1..USED_ROWS {
                builder.when_first_row().assert_zero(local[C_POS + r]);
                builder
                    .when_transition()
                    .assert_eq(next[C_POS + r], local[C_POS + r - 1]);
            }
        }

        if self.has(Family::Constant) {
            for i in 0..W_LEN {
                builder
                    .when_transition()
                    .assert_eq(next[C_W + i], local[C_W + i]);
            }
        }

        if self.has(Family::Nullifier) {
            let s = pos(&local, ROW_NULL1);
            for i in 0..DIGEST_ELEMS {
                builder
                    .when(s.clone())
                    .assert_eq(input(&local, i), publics[PUB_SCOPE + i].clone());
            }
            builder
                .when(s.clone())
                .assert_eq(input(&local, DIGEST_ELEMS), c(TAG_KYC_NULL));
            for i in DIGEST_ELEMS + 1..WIDTH {
                builder.when(s.clone()).assert_zero(input(&local, i));
            }
            let n = pos(&next, ROW_NULL2);
            for i in DIGEST_ELEMS..WIDTH {
                builder
                    .when_transition()
                    .when(n.clone())
                    .assert_eq(input(&next, i), out(&local, i));
            }
            let s2 = pos(&local, ROW_NULL2);
            for i in 0..DIGEST_ELEMS {
                builder
                    .when(s2.clone())
                    .assert_eq(out(&local, i), publics[PUB_NF + i].clone());
            }
        }

        if self.has(Family::Holder) {
            let n = pos(&next, ROW_HOLDER);
            for i in 0..DIGEST_ELEMS {
                builder
                    .when_transition()
                    .when(n.clone())
                    .assert_eq(input(&next, i), input(&local, i));
            }
            let s = pos(&local, ROW_HOLDER);
            builder
                .when(s.clone())
                .assert_eq(input(&local, DIGEST_ELEMS), c(TAG_KYC_HOLDER));
            for i in DIGEST_ELEMS + 1..WIDTH {
                builder.when(s.clone()).assert_zero(input(&local, i));
            }
        }

        if self.has(Family::Credential) {
            let n = pos(&next, ROW_CRED);
            for i in 0..DIGEST_ELEMS {
                builder
                    .when_transition()
                    .when(n.clone())
                    .assert_eq(input(&next, i), out(&local, i));
            }
            let s = pos(&local, ROW_CRED);
            let cells = [W_J_HI, W_J_LO, W_E_LO, W_E_HI, W_S_LO, W_S_HI];
            for (k, cell) in cells.iter().enumerate() {
                builder
                    .when(s.clone())
                    .assert_eq(input(&local, DIGEST_ELEMS + k), w(&local, *cell));
            }
            builder
                .when(s.clone())
                .assert_eq(input(&local, DIGEST_ELEMS + 6), c(TAG_KYC_CRED));
            builder.when(s).assert_zero(input(&local, WIDTH - 1));
        }

        if self.has(Family::Path) {
            builder.assert_bool(local[C_DIR]);
            let node_next = (0..USED_ROWS)
                .filter(|r| is_node_row(*r))
                .fold(AB::Expr::ZERO, |acc, r| acc + pos(&next, r));
            let d = e(next[C_DIR]);
            for i in 0..DIGEST_ELEMS {
                let cur = e(out(&local, i));
                let left = e(input(&next, i)) - cur.clone();
                let right = e(input(&next, DIGEST_ELEMS + i)) - cur;
                let sel = (AB::Expr::ONE - d.clone()) * left + d.clone() * right;
                builder
                    .when_transition()
                    .when(node_next.clone())
                    .assert_zero(sel);
            }
        }

        if self.has(Family::RegistryRoot) {
            let s = pos(&local, ROW_REG_ROOT);
            for i in 0..DIGEST_ELEMS {
                builder
                    .when(s.clone())
                    .assert_eq(out(&local, i), publics[PUB_R + i].clone());
            }
        }

        if self.has(Family::Serial) {
            // acc' = acc * (1 - restart') + dir' * weight' (weights and restarts are constants
            // of the row positions).
            let mut weight = AB::Expr::ZERO;
            let mut restart = AB::Expr::ZERO;
            for r in ROW_REG..=ROW_REG_ROOT {
                if let Some((wt, rs)) = serial_weight(r) {
                    weight += pos(&next, r) * c(wt);
                    if rs {
                        restart += pos(&next, r);
                    }
                }
            }
            builder.when_transition().assert_eq(
                next[C_ACC],
                e(local[C_ACC]) * (AB::Expr::ONE - restart) + e(next[C_DIR]) * weight,
            );
            builder
                .when(pos(&local, ROW_REG + DAY_LIMB_BITS - 1))
                .assert_eq(local[C_ACC], w(&local, W_S_LO));
            builder
                .when(pos(&local, ROW_REG_ROOT))
                .assert_eq(local[C_ACC], w(&local, W_S_HI));
        }

        if self.has(Family::PolicyLeaf) {
            let s = pos(&local, ROW_LEAF[0]) + pos(&local, ROW_LEAF[1]);
            for i in 4..WIDTH {
                let want = if i == DIGEST_ELEMS {
                    c(TAG_KYC_POLICY)
                } else {
                    AB::Expr::ZERO
                };
                builder.when(s.clone()).assert_eq(input(&local, i), want);
            }
        }

        if self.has(Family::PolicyRoot) {
            let s =
                pos(&local, ROW_LEAF[0] + POLICY_DEPTH) + pos(&local, ROW_LEAF[1] + POLICY_DEPTH);
            for i in 0..DIGEST_ELEMS {
                builder
                    .when(s.clone())
                    .assert_eq(out(&local, i), publics[PUB_P + i].clone());
            }
        }

        if self.has(Family::PolicyOrder) {
            let radix = c(1 << KEY_LO_BITS);
            for k in 0..2 {
                let s = pos(&local, ROW_LEAF[k]);
                let xh = e(w(&local, W_J_HI));
                let xl = if k == 0 {
                    e(w(&local, W_J_LO)) * c(4) + c(TAG_EXACT as u32)
                } else {
                    c(TAG_WHOLE as u32)
                };
                let (lh, ll) = (e(input(&local, 0)), e(input(&local, 1)));
                let (nh, nl) = (e(input(&local, 2)), e(input(&local, 3)));
                let d = |i: usize| e(w(&local, W_POL[k] + i));
                // x - low - 1 = d_hi 2^26 + d_lo, by limbs with the borrow d_b.
                builder
                    .when(s.clone())
                    .assert_eq(xl.clone() - ll - AB::Expr::ONE + d(2) * radix.clone(), d(0));
                builder
                    .when(s.clone())
                    .assert_eq(xh.clone() - lh - d(2), d(1));
                // next - x - 1 likewise.
                builder
                    .when(s.clone())
                    .assert_eq(nl - xl - AB::Expr::ONE + d(5) * radix.clone(), d(3));
                builder.when(s).assert_eq(nh - xh - d(5), d(4));
                builder.assert_bool(w(&local, W_POL[k] + 2));
                builder.assert_bool(w(&local, W_POL[k] + 5));
            }
        }

        if self.has(Family::Expiry) {
            let d = |i: usize| e(w(&local, W_ED + i));
            builder.assert_eq(
                e(w(&local, W_E_LO)) - e(w(&local, W_T_LO)) - AB::Expr::ONE
                    + d(2) * c(1 << DAY_LIMB_BITS),
                d(0),
            );
            builder.assert_eq(e(w(&local, W_E_HI)) - e(w(&local, W_T_HI)) - d(2), d(1));
            builder.assert_bool(w(&local, W_ED + 2));
        }

        if self.has(Family::Range) {
            let mut recomposed = AB::Expr::ZERO;
            for b in 0..RANGE_BITS {
                builder.assert_bool(local[C_BITS + b]);
                recomposed += e(local[C_BITS + b]) * c(1 << b);
            }
            let value = RANGES
                .iter()
                .enumerate()
                .fold(AB::Expr::ZERO, |acc, (r, (cell, _))| {
                    acc + pos(&local, r) * e(w(&local, *cell))
                });
            builder.assert_eq(recomposed, value);
            // Bit b is zero on the rows whose limb has at most b bits.
            for b in 0..RANGE_BITS {
                let narrow = RANGES
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, bits))| *bits <= b)
                    .fold(AB::Expr::ZERO, |acc, (r, _)| acc + pos(&local, r));
                if RANGES.iter().any(|(_, bits)| *bits <= b) {
                    builder.when(narrow).assert_zero(local[C_BITS + b]);
                }
            }
        }

        if self.has(Family::Today) {
            builder
                .when_first_row()
                .assert_eq(w(&local, W_T_LO), publics[PUB_TODAY].clone());
            builder
                .when_first_row()
                .assert_eq(w(&local, W_T_HI), publics[PUB_TODAY + 1].clone());
        }

        if self.has(Family::Challenge) {
            for i in 0..DIGEST_ELEMS {
                builder
                    .when_first_row()
                    .assert_eq(w(&local, W_CHAL + i), publics[PUB_CHAL + i].clone());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Proving and verifying.

/// Errors of [`prove_kyc`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KycStarkError {
    /// The witness does not satisfy the statement (nothing is proven).
    #[error("the witness does not satisfy the KYC statement: {0}")]
    Statement(#[from] KycStatementError),
    /// The proof system failed.
    #[error(transparent)]
    Stark(#[from] StarkError),
}

/// Proves the KYC statement with [`STARK_PARAMS`] (fresh randomness from the operating
/// system): the native twin first ([`kyc_statement`]: an invalid witness is refused with its
/// reason, nothing is proven), then the trace and the proof. Returns the proof bytes (postcard)
/// and the public values.
///
/// # Errors
/// [`KycStarkError::Statement`] for an invalid witness, [`KycStarkError::Stark`] if the prover
/// fails.
pub fn prove_kyc(
    w: &KycStarkWitness,
    ctx: &KycStarkContext,
) -> Result<(Vec<u8>, KycStarkPublic), KycStarkError> {
    let public = kyc_statement(w, ctx)?;
    let raw = RawKyc::from_witness(w, ctx);
    let (trace, traced) = build_trace(&raw);
    debug_assert_eq!(traced, public);
    let config = stark_config(&STARK_PARAMS, None);
    let proof = prove(&config, &KycStarkAir::new(), trace, &public.to_values())
        .map_err(|e| StarkError::Proving(e.to_string()))?;
    let bytes = postcard::to_allocvec(&proof).map_err(|e| StarkError::Proving(e.to_string()))?;
    Ok((bytes, public))
}

/// Verifies a KYC proof for public values, with [`STARK_PARAMS`].
///
/// Guarantees on `Ok`: the prover knew `sk` and a credential of `hid = H(sk)` with a
/// jurisdiction `J < 2^34` and an expiry day after `public.today`, at leaf `serial < 2^32` of
/// the registry of root `public.registry_root`, such that neither `4 J + 1` nor `4 C + 2` is a
/// key of the policy of root `public.policy_root`, and `public.nullifier` is its nullifier for
/// `public.scope`; the proof is bound to `public.challenge`. Every malformed input is an `Err`
/// (a `today` of `2^32` or more, undecodable bytes, a proof of another shape), never a panic.
///
/// # Errors
/// [`StarkError::Shape`], [`StarkError::Malformed`] or [`StarkError::Rejected`].
pub fn verify_kyc(proof_bytes: &[u8], public: &KycStarkPublic) -> Result<(), StarkError> {
    if public.today >= 1 << DAY_BITS {
        return Err(StarkError::Shape(format!(
            "today {} is not below 2^32",
            public.today
        )));
    }
    verify_air(
        &KycStarkAir::new(),
        KYC_LOG_HEIGHT,
        proof_bytes,
        &public.to_values(),
    )
}

/// The soundness of KYC proofs under `params`, by Plonky3's calculator (as
/// [`crate::solvency::stark::security`]).
///
/// # Errors
/// Never for this AIR's fixed height.
pub fn kyc_security(params: &StarkParams) -> Result<StarkSecurity, StarkError> {
    security_of(&KycStarkAir::new(), KYC_LOG_HEIGHT, params)
}

/// The trace's shape: `(rows, columns, permutations of the statement)`.
pub fn kyc_trace_shape() -> (usize, usize, usize) {
    (KYC_ROWS, KYC_WIDTH, USED_ROWS)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod twins;
