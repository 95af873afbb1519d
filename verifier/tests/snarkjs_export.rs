//! Exports a real Groth16 proof of an Assay batch circuit to snarkjs's formats.
//!
//! The Rust side checks the documents' shape and that parsing them back gives the same key,
//! proof and inputs (so a verification with arkworks of the parsed values passes). The files are
//! written to `$ASSAY_SNARKJS_DIR` when set (default: cargo's test temp dir), where
//! `.ci/snarkjs-check.sh` runs `snarkjs groth16 verify` on them, and on a tampered copy.

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ff::{One, PrimeField};
use ark_groth16::{Groth16, Proof, VerifyingKey};
use ark_snark::SNARK;
use assay_circuits::solvency::{constraints::BatchCircuit, BatchWitness, LeafWitness, Shape};
use assay_verifier::snarkjs::{self, ExportError, G1Json, G2Json};
use rand::{rngs::StdRng, SeedableRng};
use std::{path::PathBuf, str::FromStr};

const SHAPE: Shape = Shape {
    num_assets: 2,
    balance_bits: 8,
};
const B: usize = 4;

fn proven() -> (VerifyingKey<Bn254>, Proof<Bn254>, Vec<Fr>) {
    let w = BatchWitness {
        round: Fr::from(20261123u64),
        leaves: (0..B as u64)
            .map(|i| LeafWitness {
                id: Fr::from(1000 + i),
                balances: vec![Fr::from(10 * i + 1), Fr::from(255 - i)],
            })
            .collect(),
        blind: Fr::from(99u64),
    };
    let e = w.evaluate(&SHAPE).expect("an honest witness");
    let blank = BatchCircuit {
        shape: SHAPE,
        batch_size: B,
        public: None,
        witness: None,
    };
    let circuit = BatchCircuit {
        public: Some(e.public),
        witness: Some(w),
        ..blank.clone()
    };
    let mut rng = StdRng::seed_from_u64(7);
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank, &mut rng).unwrap();
    let proof = Groth16::<Bn254>::prove(&pk, circuit, &mut rng).unwrap();
    let inputs = e.public.to_inputs();
    assert!(Groth16::<Bn254>::verify(&vk, &inputs, &proof).unwrap());
    (vk, proof, inputs)
}

fn fq(s: &str) -> Fq {
    Fq::from_str(s).expect("a decimal coordinate")
}

fn g1(p: &G1Json) -> G1Affine {
    assert_eq!(p[2], "1");
    G1Affine::new(fq(&p[0]), fq(&p[1]))
}

fn g2(p: &G2Json) -> G2Affine {
    assert_eq!(p[2], ["1", "0"]);
    let f2 = |c: &[String; 2]| Fq2::new(fq(&c[0]), fq(&c[1]));
    G2Affine::new(f2(&p[0]), f2(&p[1]))
}

#[test]
fn export_round_trips_and_writes_the_three_files() {
    let (vk, proof, inputs) = proven();
    let out = snarkjs::export(&vk, &proof, &inputs).unwrap();
    let v = &out.verification_key;
    assert_eq!(
        (v.protocol.as_str(), v.curve.as_str()),
        ("groth16", "bn128")
    );
    assert_eq!(v.n_public, 3);
    assert_eq!(v.ic.len(), 4);
    assert_eq!(out.public.len(), 3);
    assert_eq!(out.public[0], "20261123");

    // Parse back: the same points, so arkworks accepts the parsed key and proof.
    let back_vk = VerifyingKey::<Bn254> {
        alpha_g1: g1(&v.vk_alpha_1),
        beta_g2: g2(&v.vk_beta_2),
        gamma_g2: g2(&v.vk_gamma_2),
        delta_g2: g2(&v.vk_delta_2),
        gamma_abc_g1: v.ic.iter().map(g1).collect(),
    };
    assert_eq!(back_vk, vk);
    let back_proof = Proof::<Bn254> {
        a: g1(&out.proof.pi_a),
        b: g2(&out.proof.pi_b),
        c: g1(&out.proof.pi_c),
    };
    assert_eq!(back_proof, proof);
    let back_inputs: Vec<Fr> = out
        .public
        .iter()
        .map(|s| Fr::from_str(s).unwrap())
        .collect();
    assert_eq!(back_inputs, inputs);
    assert!(Groth16::<Bn254>::verify(&back_vk, &back_inputs, &back_proof).unwrap());
    // Decimal, canonical form (not Montgomery): the round id reads as itself.
    assert_eq!(
        Fr::from_str(&out.public[0]).unwrap().into_bigint(),
        Fr::from(20261123u64).into_bigint()
    );

    let dir = std::env::var_os("ASSAY_SNARKJS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("snarkjs"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, json: String| std::fs::write(dir.join(name), json).unwrap();
    write(
        "verification_key.json",
        serde_json::to_string_pretty(&out.verification_key).unwrap(),
    );
    write(
        "proof.json",
        serde_json::to_string_pretty(&out.proof).unwrap(),
    );
    write(
        "public.json",
        serde_json::to_string_pretty(&out.public).unwrap(),
    );
    // A tampered copy of the inputs: the root moved by one. snarkjs must refuse it.
    let mut tampered = inputs.clone();
    tampered[1] += Fr::one();
    write(
        "public_tampered.json",
        serde_json::to_string_pretty(&snarkjs::public_inputs(&tampered)).unwrap(),
    );
}

/// Every proof of the web fixtures' round (a real Assay round: batch, aggregation, top), written
/// to `$ASSAY_SNARKJS_DIR/round-<name>/` for snarkjs.
#[test]
fn round_proofs_export() {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/solvency/round.json");
    let bundle =
        assay_verifier::solvency::RoundBundle::parse(&std::fs::read(root).unwrap(), "round")
            .unwrap();
    let dir = std::env::var_os("ASSAY_SNARKJS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("snarkjs"));
    for name in ["top", "batch:0", "batch:3", "aggregation:0:1"] {
        let out = snarkjs::export_round_proof(&bundle, name).unwrap();
        let d = dir.join(format!("round-{}", name.replace(':', "-")));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("verification_key.json"),
            serde_json::to_string_pretty(&out.verification_key).unwrap(),
        )
        .unwrap();
        std::fs::write(
            d.join("proof.json"),
            serde_json::to_string_pretty(&out.proof).unwrap(),
        )
        .unwrap();
        std::fs::write(
            d.join("public.json"),
            serde_json::to_string_pretty(&out.public).unwrap(),
        )
        .unwrap();
    }
    assert_eq!(
        snarkjs::export_round_proof(&bundle, "top")
            .unwrap()
            .verification_key
            .n_public,
        7
    );
    for bad in [
        "",
        "batch",
        "batch:9",
        "batch:x",
        "aggregation:0",
        "aggregation:5:0",
        "top:1",
        "nope",
    ] {
        assert!(
            matches!(
                snarkjs::export_round_proof(&bundle, bad),
                Err(ExportError::UnknownProof(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn wrong_input_count_is_refused() {
    let (vk, proof, inputs) = proven();
    assert_eq!(
        snarkjs::export(&vk, &proof, &inputs[..2]),
        Err(ExportError::InputCount {
            expected: 3,
            given: 2
        })
    );
}

#[test]
fn points_at_infinity_use_snarkjs_zero() {
    assert_eq!(snarkjs::g1(&G1Affine::identity()), ["0", "1", "0"]);
    assert_eq!(
        snarkjs::g2(&G2Affine::identity()),
        [["0", "0"], ["1", "0"], ["0", "0"]]
    );
}
