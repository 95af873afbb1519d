//! Groth16 rounds: the verifying keys are in the bundle, each named by the SHA-256 of its
//! bytes (checked), and optionally required to be among the auditor's trusted keys.

use crate::dispatch::CircuitId;
use crate::groth16::{decode_proof, decode_vk, vk_hash_of_hex, Key};
use crate::solvency::{ProofEntry, RoundBundle, RoundOptions};
use crate::VerifyError;
use assay_circuits::Fr;
use std::collections::BTreeMap;

/// The keys of a Groth16 round, by hash.
pub(crate) struct Groth16Keys {
    keys: BTreeMap<String, Key>,
}

impl Groth16Keys {
    /// Decodes every key of the bundle, checking its name (hash) and the trusted set.
    pub(crate) fn open(b: &RoundBundle, opts: &RoundOptions<'_>) -> Result<Self, VerifyError> {
        let mut keys = BTreeMap::new();
        for (hash, hexkey) in &b.verifying_keys {
            let actual = vk_hash_of_hex(hexkey)?;
            if &actual != hash {
                return Err(VerifyError::Key {
                    hash: hash.clone(),
                    message: format!("its bytes hash to {actual}"),
                });
            }
            if opts.trusted_keys.is_some_and(|t| !t.contains(hash)) {
                return Err(VerifyError::Key {
                    hash: hash.clone(),
                    message: "not among the trusted keys".into(),
                });
            }
            let vk = decode_vk(hexkey, &format!("verifying_keys.{hash}"))?;
            keys.insert(hash.clone(), Key::new(&vk));
        }
        Ok(Self { keys })
    }

    /// Verifies one proof under the key it names.
    pub(crate) fn verify(
        &self,
        e: &ProofEntry,
        inputs: &[Fr],
        _circuit: CircuitId,
        what: &str,
    ) -> Result<(), VerifyError> {
        let key = self.keys.get(&e.key).ok_or_else(|| VerifyError::Key {
            hash: e.key.clone(),
            message: format!("named by {what} but not in the bundle"),
        })?;
        let proof = decode_proof(&e.proof, &format!("{what}.proof"))?;
        key.verify(&proof, inputs, what)
    }
}
