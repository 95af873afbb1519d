//! The holder: a secret `sk`, its commitment `hid = H(TAG_HOLDER, sk, 0)`, and the proof.

use super::{keys, KycError};
use ark_bn254::Bn254;
use ark_ff::PrimeField;
use ark_groth16::{Groth16, ProvingKey};
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use assay_circuits::{
    kyc::{
        constraints::KycCircuit, holder_commitment, jurisdiction::Jurisdiction, KycContext,
        KycWitness,
    },
    Fr,
};
use assay_verifier::kyc::formats::{
    fr_to_string, parse_fr, Challenge, Credential, Epoch, IssuerPublic, KycProof, KycPublicInputs,
    Policy, RegistryPath, BACKEND_GROTH16, KYC_FORMAT_VERSION,
};
use assay_verifier::kyc::time;
use serde::{Deserialize, Serialize};

/// `HOLDER.json`: the holder's secret (keep it private) and its public commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderFile {
    /// Format version.
    pub version: u32,
    /// `sk` (decimal). Secret.
    pub secret: String,
    /// `hid` (decimal): what the holder gives the issuer.
    pub commitment: String,
}

impl assay_verifier::kyc::formats::Versioned for HolderFile {
    fn version(&self) -> u32 {
        self.version
    }
}

impl HolderFile {
    /// A fresh holder: `sk` from 31 bytes of OS randomness (below the field modulus).
    ///
    /// # Errors
    /// [`KycError::Random`].
    pub fn generate() -> Result<Self, KycError> {
        let mut b = zeroize::Zeroizing::new([0u8; 31]);
        getrandom::fill(b.as_mut()).map_err(|e| KycError::Random(e.to_string()))?;
        let sk = Fr::from_be_bytes_mod_order(b.as_ref());
        Ok(Self {
            version: KYC_FORMAT_VERSION,
            secret: fr_to_string(&sk),
            commitment: fr_to_string(&holder_commitment(sk)),
        })
    }

    /// The secret, checked against the commitment.
    ///
    /// # Errors
    /// [`KycError::Input`] if malformed or inconsistent.
    pub fn secret(&self) -> Result<Fr, KycError> {
        let sk =
            parse_fr(&self.secret).map_err(|m| KycError::Input(format!("holder: secret: {m}")))?;
        if fr_to_string(&holder_commitment(sk)) != self.commitment {
            return Err(KycError::Input(
                "holder: the commitment is not the commitment of the secret".into(),
            ));
        }
        Ok(sk)
    }
}

/// Everything the holder proves from.
#[derive(Debug, Clone, Copy)]
pub struct ProveInputs<'a> {
    /// The holder's secret file.
    pub holder: &'a HolderFile,
    /// The credential.
    pub credential: &'a Credential,
    /// The registry path.
    pub path: &'a RegistryPath,
    /// The epoch whose root the path leads to.
    pub epoch: &'a Epoch,
    /// The relying party's policy.
    pub policy: &'a Policy,
    /// The relying party's challenge.
    pub challenge: &'a Challenge,
}

/// Builds the witness and public inputs, checking every input for consistency first.
///
/// # Errors
/// [`KycError::Input`] for inconsistent files; [`KycError::Statement`] if the holder cannot
/// truthfully prove (restricted jurisdiction, expired credential).
pub fn witness(
    inp: &ProveInputs<'_>,
    now: i64,
) -> Result<(KycWitness, assay_circuits::kyc::KycPublic), KycError> {
    let bad = |m: String| KycError::Input(m);
    let sk = inp.holder.secret()?;
    let cred = inp.credential;
    if cred.holder_commitment != inp.holder.commitment {
        return Err(bad(
            "the credential was issued to another holder commitment".into(),
        ));
    }
    let jur = Jurisdiction::parse(&cred.jurisdiction)
        .map_err(|e| bad(format!("credential: jurisdiction: {e}")))?;
    let leaf = assay_circuits::kyc::credential(
        holder_commitment(sk),
        jur.to_fr(),
        Fr::from(cred.expiry_day),
        Fr::from(cred.serial),
    );
    if fr_to_string(&leaf) != cred.credential {
        return Err(bad(
            "credential: the fields do not hash to `credential`".into()
        ));
    }
    if inp.path.serial != cred.serial || inp.path.issuer_id != cred.issuer_id {
        return Err(bad("the path is for another credential".into()));
    }
    if inp.epoch.issuer_id != cred.issuer_id {
        return Err(bad("the epoch is from another issuer".into()));
    }
    if inp.path.root != inp.epoch.root {
        return Err(bad(format!(
            "the path is not under epoch {} (fetch a fresh path)",
            inp.epoch.epoch
        )));
    }
    let siblings = inp
        .path
        .siblings
        .iter()
        .map(|s| parse_fr(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| bad(format!("path: siblings: {m}")))?;
    let tree = inp.policy.tree().map_err(|e| bad(e.to_string()))?;
    let exact = tree.non_membership(jur.exact_key()).map_err(|_| {
        KycError::Statement(format!(
            "{} is restricted by policy `{}`",
            jur.code(),
            inp.policy.name
        ))
    })?;
    let whole = tree.non_membership(jur.whole_key()).map_err(|_| {
        KycError::Statement(format!(
            "{} is restricted by policy `{}`",
            jur.country().code(),
            inp.policy.name
        ))
    })?;
    let cf = inp.challenge.fields().map_err(|e| bad(e.to_string()))?;
    let today = time::day_of(now);
    let w = KycWitness {
        sk,
        jurisdiction: jur.packed(),
        expiry_day: cred.expiry_day,
        serial: cred.serial,
        registry_path: siblings,
        exact,
        whole,
    };
    let ctx = KycContext {
        today: u64::try_from(today).map_err(|_| bad("the clock is before 1970".into()))?,
        scope: cf.scope,
        challenge: cf.challenge,
    };
    let public = w
        .evaluate(&ctx)
        .map_err(|e| KycError::Statement(e.to_string()))?;
    let root = parse_fr(&inp.epoch.root).map_err(|m| bad(format!("epoch: root: {m}")))?;
    if public.registry_root != root {
        return Err(bad(format!(
            "the path does not lead to the root of epoch {}",
            inp.epoch.epoch
        )));
    }
    Ok((w, public))
}

/// Proves with `pk` (whose verifying key is the issuer's) and writes the presentation.
///
/// # Errors
/// As [`witness`], and proving errors.
pub fn prove(
    inp: &ProveInputs<'_>,
    issuer: Option<&IssuerPublic>,
    pk: &ProvingKey<Bn254>,
    now: i64,
) -> Result<KycProof, KycError> {
    let (w, public) = witness(inp, now)?;
    let (_, vk_hash) = keys::vk_bytes_and_hash(&pk.vk);
    if let Some(i) = issuer {
        if i.vk_hash != vk_hash {
            return Err(KycError::Input(format!(
                "the proving key ({vk_hash}) is not the issuer's ({})",
                i.vk_hash
            )));
        }
    }
    let mut rng = keys::os_seeded_rng()?;
    let proof = Groth16::<Bn254>::prove(
        pk,
        KycCircuit {
            public: Some(public),
            witness: Some(w),
        },
        &mut rng,
    )
    .map_err(|e| KycError::Proving(e.to_string()))?;
    let mut bytes = Vec::new();
    proof
        .serialize_compressed(&mut bytes)
        .map_err(|e| KycError::Proving(e.to_string()))?;
    Ok(KycProof {
        version: KYC_FORMAT_VERSION,
        backend: BACKEND_GROTH16.into(),
        vk_hash,
        issuer_id: inp.epoch.issuer_id.clone(),
        epoch: inp.epoch.epoch,
        policy: inp.policy.name.clone(),
        public_inputs: KycPublicInputs {
            registry_root: fr_to_string(&public.registry_root),
            policy_root: fr_to_string(&public.policy_root),
            today: public.today,
            scope: inp.challenge.scope.clone(),
            challenge: inp.challenge.nonce.clone(),
            nullifier: fr_to_string(&public.nullifier),
        },
        proof: hex::encode(bytes),
    })
}
