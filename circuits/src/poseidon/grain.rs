//! circomlib's Poseidon parameters over BN254, derived at first use instead of shipped as
//! tables: the Poseidon paper's reference generator (`generate_parameters_grain.sage`, Grain
//! LFSR in self-shrinking mode) with circomlib's arguments, `1 0 254 t 8 R_P p` (prime field,
//! x^5, 254-bit elements, width `t`, 8 full rounds, `R_P` partial rounds).
//!
//! `light-poseidon`'s tables come from the same script; they are compiled into one function of
//! every width 2..=16 (1.5 MB of WebAssembly code, two thirds of the wasm verifier). This
//! module makes the same numbers from nothing but the width, in milliseconds; the test
//! `grain_parameters_are_light_poseidons` checks them against `light-poseidon`'s for every
//! width used here (2..=13), element by element.

use crate::Fr;
use ark_ff::{BigInteger256, Field, PrimeField};
use light_poseidon::{parameters::bn254_x5::PARTIAL_ROUNDS, PoseidonParameters};

/// circomlib's full rounds.
pub const FULL_ROUNDS: usize = 8;
/// The S-box exponent.
pub const ALPHA: u64 = 5;
/// Bits per sampled element (`n` of the script).
const FIELD_BITS: u32 = 254;

/// The Grain LFSR of the script: 80 bits, `b[i+80] = b[i+62] ^ b[i+51] ^ b[i+38] ^ b[i+23] ^
/// b[i+13] ^ b[i]`, bit 0 of `state` the oldest.
struct Grain {
    state: u128,
}

impl Grain {
    /// The script's `init_generator`: field (2 bits), S-box (4), field size (12), width (12),
    /// full rounds (10), partial rounds (10), thirty ones; then 160 bits discarded.
    fn new(width: usize, partial_rounds: usize) -> Self {
        let fields: [(u128, u32); 7] = [
            (1, 2), // prime field
            (0, 4), // x^alpha S-box
            (u128::from(FIELD_BITS), 12),
            (width as u128, 12),
            (FULL_ROUNDS as u128, 10),
            (partial_rounds as u128, 10),
            ((1 << 30) - 1, 30),
        ];
        // The script lists the bits most significant first; the first listed is the oldest.
        let mut state = 0u128;
        let mut at = 0;
        for (value, bits) in fields {
            for k in (0..bits).rev() {
                state |= ((value >> k) & 1) << at;
                at += 1;
            }
        }
        debug_assert_eq!(at, 80);
        let mut g = Self { state };
        for _ in 0..160 {
            g.step();
        }
        g
    }

    fn step(&mut self) -> u128 {
        let s = self.state;
        let bit = (s >> 62 ^ s >> 51 ^ s >> 38 ^ s >> 23 ^ s >> 13 ^ s) & 1;
        self.state = (s >> 1) | (bit << 79);
        bit
    }

    /// Self-shrinking: of each pair of bits, the second if the first is 1, else none.
    fn bit(&mut self) -> u64 {
        loop {
            let keep = self.step();
            let b = self.step();
            if keep == 1 {
                return b as u64;
            }
        }
    }

    /// `n` bits as an integer, the first bit most significant (`grain_random_bits(n)`).
    fn bits(&mut self) -> BigInteger256 {
        let mut limbs = [0u64; 4];
        for k in (0..FIELD_BITS).rev() {
            limbs[(k / 64) as usize] |= self.bit() << (k % 64);
        }
        BigInteger256::new(limbs)
    }

    /// An element below the modulus, by rejection (`generate_constants`).
    fn below_modulus(&mut self) -> Fr {
        loop {
            if let Some(f) = Fr::from_bigint(self.bits()) {
                return f;
            }
        }
    }

    /// An element reduced modulo the modulus (`F(grain_random_bits(n))` of `create_mds_p`).
    fn reduced(&mut self) -> Fr {
        let b = self.bits();
        let mut bytes = Vec::with_capacity(32);
        for l in b.0 {
            bytes.extend_from_slice(&l.to_le_bytes());
        }
        Fr::from_le_bytes_mod_order(&bytes)
    }
}

/// The parameters of circomlib's Poseidon of width `width` (`2..=13` here: `arity + 1`): round
/// constants `ark[round * width + i]` and the Cauchy MDS matrix `mds[i][j] = 1 / (x_i + y_j)`,
/// as `generate_parameters_grain.sage` makes them (the first candidate matrix: for these
/// widths the script's security checks accept it, which the test against `light-poseidon`
/// confirms).
///
/// # Panics
/// If `width` is outside `2..=16` (circomlib's widths; callers pass `2..=13`).
pub fn circom_parameters(width: usize) -> PoseidonParameters<Fr> {
    assert!(
        (2..=PARTIAL_ROUNDS.len() + 1).contains(&width),
        "Poseidon width {width} out of 2..=16"
    );
    let partial_rounds = PARTIAL_ROUNDS[width - 2];
    let mut g = Grain::new(width, partial_rounds);
    let ark: Vec<Fr> = (0..(FULL_ROUNDS + partial_rounds) * width)
        .map(|_| g.below_modulus())
        .collect();
    let mds = loop {
        let mut list: Vec<Fr> = (0..2 * width).map(|_| g.reduced()).collect();
        while has_duplicates(&list) {
            list = (0..2 * width).map(|_| g.reduced()).collect();
        }
        let (xs, ys) = list.split_at(width);
        let m: Option<Vec<Vec<Fr>>> = xs
            .iter()
            .map(|x| ys.iter().map(|y| (*x + y).inverse()).collect())
            .collect();
        if let Some(m) = m {
            break m;
        }
    };
    PoseidonParameters::new(ark, mds, FULL_ROUNDS, partial_rounds, width, ALPHA)
}

fn has_duplicates(list: &[Fr]) -> bool {
    list.iter()
        .enumerate()
        .any(|(i, a)| list[i + 1..].iter().any(|b| a == b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every number of every width used here is `light-poseidon`'s (circomlib's).
    #[test]
    fn grain_parameters_are_light_poseidons() {
        for width in 2..=13 {
            let ours = circom_parameters(width);
            let theirs =
                light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(width as u8)
                    .unwrap();
            assert_eq!(ours.ark, theirs.ark, "round constants, width {width}");
            assert_eq!(ours.mds, theirs.mds, "MDS matrix, width {width}");
            assert_eq!(
                (
                    ours.full_rounds,
                    ours.partial_rounds,
                    ours.width,
                    ours.alpha
                ),
                (
                    theirs.full_rounds,
                    theirs.partial_rounds,
                    theirs.width,
                    theirs.alpha
                ),
                "width {width}"
            );
        }
    }

    /// The generator is not vacuous: another width's parameters differ in every part.
    #[test]
    fn widths_give_different_parameters() {
        let a = circom_parameters(3);
        let b = circom_parameters(4);
        assert_ne!(a.ark[..3], b.ark[..3]);
        assert_ne!(a.mds[0][0], b.mds[0][0]);
    }
}
