//! The holder: a secret `sk`, its commitment `hid = H(TAG_HOLDER, sk, 0)`, and the proof.

use super::{keys, KycError};
use ark_bn254::Bn254;
use ark_ff::PrimeField;
use ark_groth16::{Groth16, ProvingKey};
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use assay_circuits::field::{from_decimal, to_decimal};
use assay_circuits::StatementField;
use assay_circuits::{
    kyc::{
        constraints::KycCircuit, holder_commitment, jurisdiction::Jurisdiction, KycContext,
        KycWitness,
    },
    Fr,
};
#[cfg(feature = "halo2")]
use assay_verifier::kyc::formats::BACKEND_HALO2;
use assay_verifier::kyc::formats::{
    fr_to_string, parse_fr, Challenge, Credential, Epoch, IssuerPublic, KycProof, KycPublicInputs,
    Policy, RegistryPath, BACKEND_GROTH16, KYC_FORMAT_VERSION,
};
use assay_verifier::kyc::time;
use assay_verifier::Backend;
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
    /// The Halo2 commitment `H_pasta(TAG_HOLDER, sk, 0)` (decimal) of the same secret, also
    /// given to the issuer so that the credential enters its Halo2 registry too. Absent in
    /// files written before Halo2 support: [`HolderFile::commitment_halo2`] recomputes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_halo2: Option<String>,
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
        let sk = <Fr as PrimeField>::from_be_bytes_mod_order(b.as_ref());
        #[cfg_attr(not(feature = "halo2"), allow(unused_mut))]
        let mut h = Self {
            version: KYC_FORMAT_VERSION,
            secret: fr_to_string(&sk),
            commitment: fr_to_string(&holder_commitment(sk)),
            commitment_halo2: None,
        };
        #[cfg(feature = "halo2")]
        {
            h.commitment_halo2 = Some(h.commitment_halo2()?);
        }
        Ok(h)
    }

    /// The Halo2 commitment of the secret (decimal), checked against `commitment_halo2` if
    /// the file has one.
    ///
    /// # Errors
    /// [`KycError::Input`] if malformed or inconsistent.
    #[cfg(feature = "halo2")]
    pub fn commitment_halo2(&self) -> Result<String, KycError> {
        let sk: assay_circuits::halo2::Fp = to_field(self.secret()?)?;
        let hid = assay_circuits::field::to_decimal(&holder_commitment(sk));
        if self.commitment_halo2.as_ref().is_some_and(|c| *c != hid) {
            return Err(KycError::Input(
                "holder: the Halo2 commitment is not the commitment of the secret".into(),
            ));
        }
        Ok(hid)
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

/// The same secret integer in another backend's field (`sk < 2^248` below every modulus).
fn to_field<F: StatementField>(sk: Fr) -> Result<F, KycError> {
    F::from_le_bytes(&sk.to_le_bytes())
        .ok_or_else(|| KycError::Input("holder: the secret does not fit the field".into()))
}

/// The strings of one backend in the holder's files: which commitment, leaf, path and root.
struct BackendView<'a> {
    name: &'static str,
    hid: Option<&'a str>,
    leaf: Option<&'a str>,
    siblings: Option<&'a [String]>,
    path_root: Option<&'a str>,
    epoch_root: Option<&'a str>,
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
    let b = Backend::Groth16;
    let view = BackendView {
        name: BACKEND_GROTH16,
        hid: Some(&inp.holder.commitment),
        leaf: inp.credential.leaf_for(b),
        siblings: inp.path.siblings_for(b),
        path_root: inp.path.root_for(b),
        epoch_root: inp.epoch.root_for(b),
    };
    if inp.credential.holder_commitment_for(b) != Some(inp.holder.commitment.as_str()) {
        return Err(KycError::Input(
            "the credential was issued to another holder commitment".into(),
        ));
    }
    witness_in(inp, &view, now)
}

/// The Halo2 witness and public inputs over Pasta `Fp`, checked as [`witness`]: the
/// credential, path and epoch must carry their Halo2 fields.
///
/// # Errors
/// As [`witness`]; [`KycError::Input`] naming the missing Halo2 field.
#[cfg(feature = "halo2")]
pub fn witness_halo2(
    inp: &ProveInputs<'_>,
    now: i64,
) -> Result<
    (
        KycWitness<assay_circuits::halo2::Fp>,
        assay_circuits::kyc::KycPublic<assay_circuits::halo2::Fp>,
    ),
    KycError,
> {
    let hid = inp.holder.commitment_halo2()?;
    let cred = inp.credential;
    let b = Backend::Halo2;
    if cred.holder_commitment_for(b) != Some(hid.as_str()) {
        return Err(KycError::Input(
            "the credential has no Halo2 leaf for this holder: it was issued without \
             `--holder-commitment-halo2` (ask the issuer for a new credential)"
                .into(),
        ));
    }
    let view = BackendView {
        name: BACKEND_HALO2,
        hid: Some(&hid),
        leaf: cred.leaf_for(b),
        siblings: inp.path.siblings_for(b),
        path_root: inp.path.root_for(b),
        epoch_root: inp.epoch.root_for(b),
    };
    witness_in(inp, &view, now)
}

fn witness_in<F: StatementField>(
    inp: &ProveInputs<'_>,
    view: &BackendView<'_>,
    now: i64,
) -> Result<(KycWitness<F>, assay_circuits::kyc::KycPublic<F>), KycError> {
    let bad = |m: String| KycError::Input(m);
    let missing = |what: &str| bad(format!("{what} has no {} field", view.name));
    let parse = |what: &str, s: &str| {
        from_decimal::<F>(s).ok_or_else(|| bad(format!("{what}: `{s}` is not a field element")))
    };
    let sk: F = to_field(inp.holder.secret()?)?;
    let cred = inp.credential;
    if view.hid != Some(to_decimal(&holder_commitment(sk)).as_str()) {
        return Err(bad(
            "the credential was issued to another holder commitment".into(),
        ));
    }
    let jur = Jurisdiction::parse(&cred.jurisdiction)
        .map_err(|e| bad(format!("credential: jurisdiction: {e}")))?;
    let leaf = assay_circuits::kyc::credential(
        holder_commitment(sk),
        F::from_u128(jur.packed().into()),
        F::from_u128(cred.expiry_day.into()),
        F::from_u128(cred.serial.into()),
    );
    if Some(to_decimal(&leaf).as_str()) != view.leaf {
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
    let epoch_root = view.epoch_root.ok_or_else(|| missing("the epoch"))?;
    if view.path_root.ok_or_else(|| missing("the path"))? != epoch_root {
        return Err(bad(format!(
            "the path is not under epoch {} (fetch a fresh path)",
            inp.epoch.epoch
        )));
    }
    let siblings = view
        .siblings
        .ok_or_else(|| missing("the path"))?
        .iter()
        .map(|s| parse("path: siblings", s))
        .collect::<Result<Vec<_>, _>>()?;
    let tree = inp.policy.tree_in::<F>().map_err(|e| bad(e.to_string()))?;
    let exact = tree.non_membership(jur.exact_key()).map_err(|_| {
        KycError::Statement(if jur.is_country_only() {
            format!(
                "the credential names only the country {}, and policy `{}` has restricted subdivisions of it",
                jur.code(),
                inp.policy.name
            )
        } else {
            format!("{} is restricted by policy `{}`", jur.code(), inp.policy.name)
        })
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
        scope: assay_circuits::kyc::scope_to_field_in(&inp.challenge.scope)
            .map_err(|e| bad(format!("challenge: scope: {e}")))?,
        challenge: assay_circuits::kyc::challenge_to_field_in(&cf.nonce),
    };
    let public = w
        .evaluate(&ctx)
        .map_err(|e| KycError::Statement(e.to_string()))?;
    if public.registry_root != parse("epoch: root", epoch_root)? {
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
