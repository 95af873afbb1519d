//! Export of Groth16 proofs on BN254 to snarkjs's JSON formats, so that anyone can check an
//! Assay proof with that independent implementation (`snarkjs groth16 verify`).
//!
//! This is a pure conversion: no file I/O, no verification. Three documents come out:
//!
//! * `verification_key.json`: `protocol: "groth16"`, `curve: "bn128"`, `nPublic`, the points
//!   `vk_alpha_1`, `vk_beta_2`, `vk_gamma_2`, `vk_delta_2`, the pairing
//!   `vk_alphabeta_12 = e(alpha, beta)`, and `IC` (arkworks' `gamma_abc_g1`);
//! * `proof.json`: `pi_a`, `pi_b`, `pi_c`, `protocol`, `curve`;
//! * `public.json`: the public inputs, as decimal strings.
//!
//! # Layout
//! Every coordinate is the canonical (not Montgomery) integer in decimal. Points are projective
//! triples in affine form: G1 `[x, y, "1"]`, G2 `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`.
//! Note the order inside an `Fq2`: snarkjs's JSON puts the real part `c0` first, as arkworks
//! does; only Ethereum's precompile (and snarkjs's Solidity export) swaps it to `[c1, c0]`.
//! The point at infinity is `["0", "1", "0"]` in G1 and `[["0","0"], ["1","0"], ["0","0"]]` in
//! G2. `vk_alphabeta_12` is an `Fq12 = Fq6[w]/(w^2 - v)` over `Fq6 = Fq2[v]/(v^3 - (9 + u))`,
//! written `[[c0.c0, c0.c1, c0.c2], [c1.c0, c1.c1, c1.c2]]` with each `Fq2` as `[c0, c1]`: the
//! same tower as ffjavascript's `bn128`.

use ark_bn254::{Bn254, Fq, Fq12, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::{pairing::Pairing, AffineRepr};
use ark_ff::PrimeField;
use ark_groth16::{Proof, VerifyingKey};
use serde::{Deserialize, Serialize};

#[cfg(not(feature = "std"))]
extern crate alloc;
#[cfg(not(feature = "std"))]
use alloc::{string::String, string::ToString, vec::Vec};

/// A G1 point as snarkjs writes it: `[x, y, z]` in decimal.
pub type G1Json = [String; 3];
/// A G2 point as snarkjs writes it: `[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]` in decimal.
pub type G2Json = [[String; 2]; 3];
/// An `Fq12` as snarkjs writes it (see the module's Layout notes).
pub type Fq12Json = [[[String; 2]; 3]; 2];

/// snarkjs's `verification_key.json` for Groth16 on bn128.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationKeyJson {
    /// Always `"groth16"`.
    pub protocol: String,
    /// Always `"bn128"` (snarkjs's name for BN254).
    pub curve: String,
    /// The number of public inputs, `IC.len() - 1`.
    #[serde(rename = "nPublic")]
    pub n_public: usize,
    /// `alpha` in G1.
    pub vk_alpha_1: G1Json,
    /// `beta` in G2.
    pub vk_beta_2: G2Json,
    /// `gamma` in G2.
    pub vk_gamma_2: G2Json,
    /// `delta` in G2.
    pub vk_delta_2: G2Json,
    /// `e(alpha, beta)` in the target group.
    pub vk_alphabeta_12: Fq12Json,
    /// The input commitments `IC_0..IC_n` (arkworks' `gamma_abc_g1`).
    #[serde(rename = "IC")]
    pub ic: Vec<G1Json>,
}

/// snarkjs's `proof.json` for Groth16 on bn128.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofJson {
    /// `A` in G1.
    pub pi_a: G1Json,
    /// `B` in G2.
    pub pi_b: G2Json,
    /// `C` in G1.
    pub pi_c: G1Json,
    /// Always `"groth16"`.
    pub protocol: String,
    /// Always `"bn128"`.
    pub curve: String,
}

/// The three documents of one export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnarkjsExport {
    /// `verification_key.json`.
    pub verification_key: VerificationKeyJson,
    /// `proof.json`.
    pub proof: ProofJson,
    /// `public.json`: the public inputs in decimal, in circuit order.
    pub public: Vec<String>,
}

/// Why an export was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The bundle has no proof of that name.
    #[error("no proof named {0:?} in this round (use `top`, `batch:J` or `aggregation:L:I`)")]
    UnknownProof(String),
    /// The bundle's key, proof or inputs are malformed.
    #[error(transparent)]
    Format(#[from] crate::FormatError),
    /// The number of public inputs does not match the verifying key (`IC.len() - 1`).
    #[error("the verifying key expects {expected} public inputs, {given} were given")]
    InputCount {
        /// `IC.len() - 1`.
        expected: usize,
        /// The number given.
        given: usize,
    },
}

const PROTOCOL: &str = "groth16";
const CURVE: &str = "bn128";

fn fq(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn fq2(x: &Fq2) -> [String; 2] {
    [fq(&x.c0), fq(&x.c1)]
}

/// A G1 point in snarkjs's form.
pub fn g1(p: &G1Affine) -> G1Json {
    match p.xy() {
        Some((x, y)) => [fq(&x), fq(&y), "1".into()],
        None => ["0".into(), "1".into(), "0".into()],
    }
}

/// A G2 point in snarkjs's form.
pub fn g2(p: &G2Affine) -> G2Json {
    match p.xy() {
        Some((x, y)) => [fq2(&x), fq2(&y), ["1".into(), "0".into()]],
        None => [
            ["0".into(), "0".into()],
            ["1".into(), "0".into()],
            ["0".into(), "0".into()],
        ],
    }
}

/// An `Fq12` in snarkjs's form.
pub fn fq12(x: &Fq12) -> Fq12Json {
    let f6 = |c: &ark_bn254::Fq6| [fq2(&c.c0), fq2(&c.c1), fq2(&c.c2)];
    [f6(&x.c0), f6(&x.c1)]
}

/// A scalar (public input) in decimal.
pub fn scalar(x: &Fr) -> String {
    x.into_bigint().to_string()
}

/// `verification_key.json` for `vk`.
pub fn verification_key(vk: &VerifyingKey<Bn254>) -> VerificationKeyJson {
    let alphabeta = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    VerificationKeyJson {
        protocol: PROTOCOL.into(),
        curve: CURVE.into(),
        n_public: vk.gamma_abc_g1.len().saturating_sub(1),
        vk_alpha_1: g1(&vk.alpha_g1),
        vk_beta_2: g2(&vk.beta_g2),
        vk_gamma_2: g2(&vk.gamma_g2),
        vk_delta_2: g2(&vk.delta_g2),
        vk_alphabeta_12: fq12(&alphabeta),
        ic: vk.gamma_abc_g1.iter().map(g1).collect(),
    }
}

/// `proof.json` for `proof`.
pub fn proof(proof: &Proof<Bn254>) -> ProofJson {
    ProofJson {
        pi_a: g1(&proof.a),
        pi_b: g2(&proof.b),
        pi_c: g1(&proof.c),
        protocol: PROTOCOL.into(),
        curve: CURVE.into(),
    }
}

/// `public.json` for `inputs`.
pub fn public_inputs(inputs: &[Fr]) -> Vec<String> {
    inputs.iter().map(scalar).collect()
}

/// All three documents, after checking that the input count matches the key.
///
/// # Errors
/// [`ExportError::InputCount`] when `inputs.len() + 1 != vk.gamma_abc_g1.len()`.
pub fn export(
    vk: &VerifyingKey<Bn254>,
    p: &Proof<Bn254>,
    inputs: &[Fr],
) -> Result<SnarkjsExport, ExportError> {
    let expected = vk.gamma_abc_g1.len().saturating_sub(1);
    if inputs.len() != expected || vk.gamma_abc_g1.is_empty() {
        return Err(ExportError::InputCount {
            expected,
            given: inputs.len(),
        });
    }
    Ok(SnarkjsExport {
        verification_key: verification_key(vk),
        proof: proof(p),
        public: public_inputs(inputs),
    })
}

/// Exports one proof of a round bundle, named `top` (the last aggregation), `batch:J` (batch
/// proof `J`, 0-based) or `aggregation:L:I` (proof `I` of aggregation level `L`, 0-based from
/// the bottom; the top is the last level).
///
/// # Errors
/// [`ExportError::UnknownProof`] for a name that is not in the bundle;
/// [`ExportError::Format`] when its key, proof or inputs do not decode;
/// [`ExportError::InputCount`] when the inputs do not fit the key.
pub fn export_round_proof(
    bundle: &crate::solvency::RoundBundle,
    name: &str,
) -> Result<SnarkjsExport, ExportError> {
    let unknown = || ExportError::UnknownProof(name.into());
    let num = |s: Option<&str>| s.and_then(|s| s.parse::<usize>().ok()).ok_or_else(unknown);
    let mut parts = name.split(':');
    let entry = match parts.next() {
        Some("top") if parts.next().is_none() => bundle.aggregations.last().and_then(|l| l.last()),
        Some("batch") => {
            let j = num(parts.next())?;
            bundle.batches.get(j)
        }
        Some("aggregation") => {
            let l = num(parts.next())?;
            let i = num(parts.next())?;
            bundle.aggregations.get(l).and_then(|level| level.get(i))
        }
        _ => None,
    };
    if parts.next().is_some() {
        return Err(unknown());
    }
    let e = entry.ok_or_else(unknown)?;
    let vk_hex = bundle.verifying_keys.get(&e.key).ok_or_else(|| {
        crate::FormatError::field(
            format!("{name}.key"),
            "names a verifying key that is not in the bundle",
        )
    })?;
    let vk = crate::groth16::decode_vk(vk_hex, &format!("verifying_keys.{}", e.key))?;
    let p = crate::groth16::decode_proof(&e.proof, &format!("{name}.proof"))?;
    let inputs = e
        .public_inputs
        .iter()
        .enumerate()
        .map(|(i, s)| crate::field::from_dec(s, &format!("{name}.public_inputs[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    export(&vk, &p, &inputs)
}
