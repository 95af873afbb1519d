//! Groth16 proofs with the circuit's R1CS matrices made once per circuit, not once per proof.
//!
//! ark-groth16's `prove` synthesizes the circuit with every linear combination stored, inlines
//! them and builds the matrices A, B, C, only to evaluate `A·z`, `B·z`, `C·z` in its witness
//! map: about 4.7 KB per constraint, most of a batch proof's peak memory (issue 12). The
//! matrices depend on the circuit alone (its shape), never on the witness, so [`R1csMatrices`]
//! builds them once, by the same synthesis the setup ran (`SynthesisMode::Setup`, the
//! constraint-count optimisation goal), and every proof then synthesizes its assignment only
//! (no linear combination stored) and hands both to ark-groth16's
//! `create_proof_with_reduction_and_matrices`.
//!
//! Nothing about the statement changes: the constraints are the circuit's, the proving key is
//! the setup's, `r` and `s` are fresh field elements from the caller's randomness as in
//! `Groth16::prove`, and every round proof is still verified by the prover's self-check before
//! it is written. A proof whose matrices do not belong to its circuit (another shape) is
//! refused before proving, by its variable counts.
//!
//! The setup party writes the matrices beside each proving key (`<vk hash>.r1cs`, see
//! [`R1csMatrices::write`]), so that a prover reads them instead of synthesizing the whole
//! circuit symbolically: that synthesis, not the proof, is the peak of a prover that builds
//! them itself. A matrices file is a cache, not a trust anchor: it names the verifying key it
//! belongs to and carries a SHA-256 of its contents, and a file that does not match is
//! refused; even a forged one could only make proofs that the self-check rejects.

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use sha2::{Digest, Sha256};
use std::io::Read;

/// A reader that hashes what it reads.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// The first bytes of a matrices file ([`R1csMatrices::to_file_bytes`]).
pub const MATRICES_MAGIC: &[u8] = b"assay-groth16-r1cs-matrices v1\n";

/// The R1CS matrices of one circuit (its shape), as its Groth16 setup saw them.
pub struct R1csMatrices {
    /// A, B and C, one row per constraint.
    matrices: Vec<Matrix<Fr>>,
    /// Instance variables, the constant one included.
    num_inputs: usize,
    /// Witness variables.
    num_witness: usize,
    /// Constraints.
    num_constraints: usize,
}

impl R1csMatrices {
    /// The matrices of `blank` (the circuit without its witness), synthesized as the setup
    /// synthesized it.
    ///
    /// # Errors
    /// The circuit's synthesis fails, or it has no R1CS constraints.
    pub fn of<C: ConstraintSynthesizer<Fr>>(blank: C) -> Result<Self, String> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        blank
            .generate_constraints(cs.clone())
            .map_err(|e| format!("synthesis of the circuit's matrices: {e}"))?;
        cs.finalize();
        let num_inputs = cs.num_instance_variables();
        let num_witness = cs.num_witness_variables();
        let num_constraints = cs.num_constraints();
        let mut all = cs
            .to_matrices()
            .map_err(|e| format!("the circuit's matrices: {e}"))?;
        let matrices = all
            .remove(R1CS_PREDICATE_LABEL)
            .filter(|m| m.len() == 3)
            .ok_or("the circuit has no R1CS matrices")?;
        Ok(Self {
            matrices,
            num_inputs,
            num_witness,
            num_constraints,
        })
    }

    /// The bytes of the matrices file of the circuit whose verifying key is `vk_hash`:
    /// [`MATRICES_MAGIC`], the hash (ASCII), the counts and the matrices (arkworks
    /// uncompressed), then the SHA-256 of everything before it.
    ///
    /// # Errors
    /// Serialization failed (it does not for well-formed matrices).
    pub fn to_file_bytes(&self, vk_hash: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(64 + self.heap_bytes() as usize);
        out.extend_from_slice(MATRICES_MAGIC);
        out.extend_from_slice(&(vk_hash.len() as u32).to_le_bytes());
        out.extend_from_slice(vk_hash.as_bytes());
        (
            self.num_inputs as u64,
            self.num_witness as u64,
            self.num_constraints as u64,
        )
            .serialize_uncompressed(&mut out)
            .map_err(|e| e.to_string())?;
        self.matrices
            .serialize_uncompressed(&mut out)
            .map_err(|e| e.to_string())?;
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        Ok(out)
    }

    /// Reads the matrices file `bytes` of the circuit whose verifying key is `vk_hash`.
    ///
    /// # Errors
    /// As [`R1csMatrices::read_file`].
    pub fn from_file_bytes(bytes: &[u8], vk_hash: &str) -> Result<Self, String> {
        Self::read_file(bytes, vk_hash)
    }

    /// Reads a matrices file from `reader` (streamed: no copy of the file is held beside the
    /// matrices), for the circuit whose verifying key is `vk_hash`.
    ///
    /// # Errors
    /// A reason, if the bytes are not a matrices file, are damaged or truncated (checksum,
    /// encoding), belong to another verifying key, or are inconsistent (counts, variable
    /// indices out of range).
    pub fn read_file(reader: impl std::io::Read, vk_hash: &str) -> Result<Self, String> {
        let mut r = HashingReader {
            inner: reader,
            hash: Sha256::new(),
        };
        let damaged =
            |what: &str, e: &dyn std::fmt::Display| format!("damaged or truncated ({what}: {e})");
        let mut magic = vec![0u8; MATRICES_MAGIC.len()];
        r.read_exact(&mut magic)
            .map_err(|_| "too short to be a matrices file")?;
        if magic != MATRICES_MAGIC {
            return Err("not an Assay R1CS matrices file (magic)".into());
        }
        let mut len = [0u8; 4];
        r.read_exact(&mut len)
            .map_err(|e| damaged("key hash", &e))?;
        let len = u32::from_le_bytes(len) as usize;
        if len > 256 {
            return Err(damaged("key hash", &format!("length {len}")));
        }
        let mut name = vec![0u8; len];
        r.read_exact(&mut name)
            .map_err(|e| damaged("key hash", &e))?;
        if name != vk_hash.as_bytes() {
            return Err(format!(
                "belongs to verifying key {}, not to {vk_hash}",
                String::from_utf8_lossy(&name)
            ));
        }
        let (num_inputs, num_witness, num_constraints) =
            <(u64, u64, u64)>::deserialize_with_mode(&mut r, Compress::No, Validate::Yes)
                .map_err(|e| damaged("counts", &e))?;
        let matrices =
            Vec::<Matrix<Fr>>::deserialize_with_mode(&mut r, Compress::No, Validate::Yes)
                .map_err(|e| damaged("matrices", &e))?;
        let computed = r.hash.finalize();
        let mut digest = [0u8; 32];
        r.inner
            .read_exact(&mut digest)
            .map_err(|e| damaged("checksum", &e))?;
        if computed.as_slice() != digest {
            return Err("damaged: its SHA-256 does not match its contents".into());
        }
        let mut extra = [0u8; 1];
        if r.inner.read(&mut extra).map_err(|e| damaged("end", &e))? != 0 {
            return Err("damaged: bytes after its checksum".into());
        }
        let variables = num_inputs.saturating_add(num_witness);
        if matrices.len() != 3
            || matrices.iter().any(|m| m.len() as u64 != num_constraints)
            || matrices
                .iter()
                .flatten()
                .flatten()
                .any(|(_, i)| *i as u64 >= variables)
        {
            return Err("inconsistent: not three matrices of its constraints and variables".into());
        }
        Ok(Self {
            matrices,
            num_inputs: num_inputs as usize,
            num_witness: num_witness as usize,
            num_constraints: num_constraints as usize,
        })
    }

    /// Checks that these are the matrices of `pk`'s circuit as far as the key shows: its
    /// instance and total variable counts.
    ///
    /// # Errors
    /// A reason naming both counts.
    pub fn check_key(&self, pk: &ProvingKey<Bn254>) -> Result<(), String> {
        let (inputs, variables) = (pk.vk.gamma_abc_g1.len(), pk.a_query.len());
        if inputs != self.num_inputs || variables != self.num_inputs + self.num_witness {
            return Err(format!(
                "the matrices have {} instance and {} variables in all, the proving key {inputs} and {variables}: they are another circuit's",
                self.num_inputs,
                self.num_inputs + self.num_witness
            ));
        }
        Ok(())
    }

    /// The number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.num_constraints
    }

    /// Bytes held by the matrices (their entries), for the memory budget.
    pub fn heap_bytes(&self) -> u64 {
        let entries: usize = self
            .matrices
            .iter()
            .flat_map(|m| m.iter().map(Vec::len))
            .sum();
        (entries * std::mem::size_of::<(Fr, usize)>()
            + self.matrices.len() * self.num_constraints * std::mem::size_of::<Vec<(Fr, usize)>>())
            as u64
    }
}

/// A Groth16 proof of `circuit` (with its witness) under `pk`, whose circuit's matrices are
/// `m`; `r` and `s` drawn from `rng`.
///
/// # Errors
/// The synthesis fails (a witness missing), the circuit's variable counts are not those of `m`
/// (the matrices of another circuit), or ark-groth16 refuses.
pub fn prove<C: ConstraintSynthesizer<Fr>>(
    pk: &ProvingKey<Bn254>,
    m: &R1csMatrices,
    circuit: C,
    rng: &mut impl rand::RngCore,
) -> Result<Proof<Bn254>, String> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    circuit
        .generate_constraints(cs.clone())
        .map_err(|e| format!("synthesis: {e}"))?;
    cs.finalize();
    let (inputs, witness) = (cs.num_instance_variables(), cs.num_witness_variables());
    if inputs != m.num_inputs || witness != m.num_witness {
        return Err(format!(
            "the circuit has {inputs} instance and {witness} witness variables, its matrices \
             {} and {}: they are another circuit's",
            m.num_inputs, m.num_witness
        ));
    }
    let cs = cs
        .into_inner()
        .ok_or("the constraint system is still shared")?;
    let mut full = Vec::with_capacity(inputs + witness);
    full.extend_from_slice(cs.instance_assignment().map_err(|e| e.to_string())?);
    full.extend_from_slice(cs.witness_assignment().map_err(|e| e.to_string())?);
    drop(cs);
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        pk,
        r,
        s,
        &m.matrices,
        m.num_inputs,
        m.num_constraints,
        &full,
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_snark::SNARK;
    use assay_circuits::solvency::constraints::BatchCircuit;
    use assay_circuits::solvency::{BatchWitness, LeafWitness, Shape};
    use rand::{rngs::StdRng, SeedableRng};

    const SHAPE: Shape = Shape {
        num_assets: 2,
        balance_bits: 10,
    };

    fn blank(batch_size: usize) -> BatchCircuit {
        BatchCircuit {
            shape: SHAPE,
            batch_size,
            public: None,
            witness: None,
        }
    }

    /// A batch of 4 leaves; `first` is leaf 0's first balance.
    fn witness(first: Fr) -> BatchWitness<Fr> {
        BatchWitness {
            round: Fr::from(7u64),
            leaves: (0..4u64)
                .map(|i| LeafWitness {
                    id: Fr::from(1000 + i),
                    balances: vec![if i == 0 { first } else { Fr::from(10 * i) }, Fr::from(i)],
                })
                .collect(),
            blind: Fr::from(99u64),
        }
    }

    /// The circuit of `w` claiming `public` (the honest evaluation of `honest`).
    fn circuit(w: BatchWitness<Fr>, honest: &BatchWitness<Fr>) -> (BatchCircuit, Vec<Fr>) {
        let public = honest.evaluate(&SHAPE).expect("an honest batch").public;
        let inputs = public.to_inputs();
        (
            BatchCircuit {
                public: Some(public),
                witness: Some(w),
                ..blank(4)
            },
            inputs,
        )
    }

    /// A proof made with the matrices made once verifies like one of `Groth16::prove`; two
    /// proofs of the same batch differ (fresh `r`, `s`); the matrices are the setup's (the same
    /// constraint count as a full synthesis).
    #[test]
    fn lean_proofs_verify_and_are_randomised() {
        let mut rng = StdRng::seed_from_u64(1);
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank(4), &mut rng).unwrap();
        let m = R1csMatrices::of(blank(4)).unwrap();
        assert!(m.num_constraints() > 100);
        assert!(m.heap_bytes() > 0);
        let honest = witness(Fr::from(5u64));
        let (c, inputs) = circuit(honest.clone(), &honest);
        let p1 = prove(&pk, &m, c.clone(), &mut rng).unwrap();
        let p2 = prove(&pk, &m, c, &mut rng).unwrap();
        assert_ne!(p1, p2);
        let pvk = Groth16::<Bn254>::process_vk(&vk).unwrap();
        assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &p1).unwrap());
        assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &p2).unwrap());
    }

    /// The lean path keeps every constraint: a balance of `p - 1` (a negative balance) claimed
    /// under the honest batch's public inputs gives a proof that does not verify.
    #[test]
    fn a_negative_balance_still_fails_verification() {
        let mut rng = StdRng::seed_from_u64(2);
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank(4), &mut rng).unwrap();
        let m = R1csMatrices::of(blank(4)).unwrap();
        let honest = witness(Fr::from(5u64));
        let (c, inputs) = circuit(witness(-Fr::from(1u64)), &honest);
        let pvk = Groth16::<Bn254>::process_vk(&vk).unwrap();
        // The lean prover does not check satisfaction (neither does ark-groth16 in release):
        // it proves, and the proof is refused.
        let p = prove(&pk, &m, c, &mut rng).expect("a proof, of a false statement");
        assert!(!Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &p).unwrap());
    }

    /// Matrices of another circuit (another batch size) are refused before proving, with a
    /// reason, not a panic.
    #[test]
    fn matrices_of_another_circuit_are_refused() {
        let mut rng = StdRng::seed_from_u64(3);
        let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(blank(4), &mut rng).unwrap();
        let other = R1csMatrices::of(blank(8)).unwrap();
        let honest = witness(Fr::from(5u64));
        let (c, _) = circuit(honest.clone(), &honest);
        let e = prove(&pk, &other, c, &mut rng).unwrap_err();
        assert!(e.contains("another circuit's"), "{e}");
    }

    /// The matrices file round-trips: the matrices read back make proofs that verify; the
    /// key's counts match them and another circuit's key is refused by its counts.
    #[test]
    fn the_matrices_file_round_trips() {
        let mut rng = StdRng::seed_from_u64(4);
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank(4), &mut rng).unwrap();
        let bytes = R1csMatrices::of(blank(4))
            .unwrap()
            .to_file_bytes("aa11")
            .unwrap();
        let m = R1csMatrices::from_file_bytes(&bytes, "aa11").unwrap();
        m.check_key(&pk).unwrap();
        let honest = witness(Fr::from(5u64));
        let (c, inputs) = circuit(honest.clone(), &honest);
        let p = prove(&pk, &m, c, &mut rng).unwrap();
        let pvk = Groth16::<Bn254>::process_vk(&vk).unwrap();
        assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &p).unwrap());
        let (other_pk, _) = Groth16::<Bn254>::circuit_specific_setup(blank(8), &mut rng).unwrap();
        let e = m.check_key(&other_pk).unwrap_err();
        assert!(e.contains("another circuit's"), "{e}");
    }

    /// A damaged, truncated, foreign or garbage matrices file is refused with a reason, never
    /// read as matrices and never a panic.
    #[test]
    fn a_bad_matrices_file_is_refused_with_a_reason() {
        let bytes = R1csMatrices::of(blank(4))
            .unwrap()
            .to_file_bytes("aa11")
            .unwrap();
        let reason = |b: &[u8], hash: &str| R1csMatrices::from_file_bytes(b, hash).err().unwrap();
        // One byte flipped in the middle (in the matrices): the checksum catches it.
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        assert!(reason(&flipped, "aa11").contains("damaged"));
        // The right file, asked for under another key's name.
        assert!(reason(&bytes, "bb22").contains("belongs to verifying key aa11"));
        // Truncated anywhere, empty, garbage, another magic.
        for cut in [0, 10, 40, bytes.len() / 3, bytes.len() - 1] {
            let _ = reason(&bytes[..cut], "aa11");
        }
        assert!(reason(b"", "aa11").contains("too short"));
        let mut garbage = vec![7u8; 200];
        assert!(reason(&garbage, "aa11").contains("magic"));
        garbage[..MATRICES_MAGIC.len()].copy_from_slice(MATRICES_MAGIC);
        assert!(reason(&garbage, "aa11").contains("damaged"));
        // A well-formed file (checksum recomputed) whose variable index is out of range.
        let mut m = R1csMatrices::of(blank(4)).unwrap();
        m.matrices[0][0].push((Fr::from(1u64), 1 << 40));
        let forged = m.to_file_bytes("aa11").unwrap();
        assert!(reason(&forged, "aa11").contains("inconsistent"));
    }
}
