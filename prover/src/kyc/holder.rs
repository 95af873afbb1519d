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
    BackendMap, Challenge, Credential, Epoch, IssuerPublic, KycProof, KycPublicInputs, Policy,
    RegistryPath, BACKEND_GROTH16, KYC_FORMAT_V2, KYC_FORMAT_VERSION,
};
use assay_verifier::kyc::time;
use assay_verifier::Backend;
use serde::{Deserialize, Serialize};

/// `HOLDER.json`: the holder's secret (keep it private) and its public commitments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HolderWire", into = "HolderWire")]
pub struct HolderFile {
    /// Format version (1 or 2; 2 is written).
    pub version: u32,
    /// `sk` (decimal). Secret.
    pub secret: String,
    /// The commitment `hid = H(TAG_HOLDER, sk, 0)` of the secret on each backend (decimal):
    /// what the holder gives the issuer, so that the credential enters that backend's
    /// registry. A v1 file without a Halo2 commitment has it recomputed
    /// ([`HolderFile::commitment_for`]).
    pub commitments: BackendMap<String>,
}

/// The JSON of a holder file, either version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolderWire {
    version: u32,
    secret: String,
    /// v1: the Groth16 commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commitment: Option<String>,
    /// v1: the Halo2 commitment, if written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commitment_halo2: Option<String>,
    /// v2: every commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commitments: Option<BackendMap<String>>,
}

impl TryFrom<HolderWire> for HolderFile {
    type Error = String;
    fn try_from(w: HolderWire) -> Result<Self, String> {
        let commitments = if w.version == 1 {
            if w.commitments.is_some() {
                return Err("`commitments` is a v2 field; version 1 has `commitment`".into());
            }
            let c = w.commitment.ok_or("missing field `commitment`")?;
            let mut m = BackendMap::from([(Backend::Groth16, c)]);
            if let Some(h) = w.commitment_halo2 {
                m.insert(Backend::Halo2, h);
            }
            m
        } else {
            if w.commitment.is_some() || w.commitment_halo2.is_some() {
                return Err(format!(
                    "`commitment` is a v1 field; version {} has `commitments`",
                    w.version
                ));
            }
            w.commitments.ok_or("missing field `commitments`")?
        };
        Ok(Self {
            version: w.version,
            secret: w.secret,
            commitments,
        })
    }
}

impl From<HolderFile> for HolderWire {
    fn from(h: HolderFile) -> Self {
        let mut c = h.commitments;
        if h.version == 1 {
            Self {
                version: 1,
                secret: h.secret,
                commitment: c.remove(&Backend::Groth16),
                commitment_halo2: c.remove(&Backend::Halo2),
                commitments: None,
            }
        } else {
            Self {
                version: h.version,
                secret: h.secret,
                commitment: None,
                commitment_halo2: None,
                commitments: Some(c),
            }
        }
    }
}

impl assay_verifier::kyc::formats::Versioned for HolderFile {
    const VERSIONS: &'static [u32] = &[KYC_FORMAT_VERSION, KYC_FORMAT_V2];
    fn version(&self) -> u32 {
        self.version
    }
}

/// The holder commitment of `sk` on `backend` (decimal).
fn commitment_on(backend: Backend, sk: Fr) -> Result<String, KycError> {
    fn over<F: StatementField>(sk: Fr) -> Result<String, KycError> {
        Ok(to_decimal(&holder_commitment(to_field::<F>(sk)?)))
    }
    if backend == Backend::Stark {
        // Digests of 8 elements, not a field element: the STARK's own module.
        #[cfg(feature = "stark")]
        return crate::stark::kyc::commitment(sk);
    }
    struct Commitment(Fr);
    impl assay_verifier::FieldVisitor for Commitment {
        type Output = Result<String, KycError>;
        fn visit<F: StatementField>(self) -> Self::Output {
            over::<F>(self.0)
        }
    }
    assay_verifier::with_field(backend, Commitment(sk))
        .unwrap_or_else(|| Err(super::unsupported(backend)))
}

impl HolderFile {
    /// A fresh holder: `sk` from 31 bytes of OS randomness (below every field's modulus), with
    /// its commitment on every backend this build supports.
    ///
    /// # Errors
    /// [`KycError::Random`].
    pub fn generate() -> Result<Self, KycError> {
        let mut b = zeroize::Zeroizing::new([0u8; 31]);
        getrandom::fill(b.as_mut()).map_err(|e| KycError::Random(e.to_string()))?;
        let sk = <Fr as PrimeField>::from_be_bytes_mod_order(b.as_ref());
        let commitments = super::backends()
            .into_iter()
            .map(|backend| Ok((backend, commitment_on(backend, sk)?)))
            .collect::<Result<_, KycError>>()?;
        Ok(Self {
            version: KYC_FORMAT_V2,
            secret: to_decimal(&sk),
            commitments,
        })
    }

    /// The commitment of the secret on `backend` (decimal), checked against the file's
    /// commitment for that backend if it has one.
    ///
    /// # Errors
    /// [`KycError::Input`] if malformed or inconsistent, or the backend is not in this build.
    pub fn commitment_for(&self, backend: Backend) -> Result<String, KycError> {
        let hid = commitment_on(backend, self.secret_unchecked()?)?;
        if self.commitments.get(&backend).is_some_and(|c| *c != hid) {
            return Err(KycError::Input(format!(
                "holder: the {backend} commitment is not the commitment of the secret"
            )));
        }
        Ok(hid)
    }

    fn secret_unchecked(&self) -> Result<Fr, KycError> {
        from_decimal::<Fr>(&self.secret).ok_or_else(|| {
            KycError::Input(format!(
                "holder: secret: `{}` is not a canonical decimal field element",
                self.secret
            ))
        })
    }

    /// The secret, checked against the Groth16 commitment.
    ///
    /// # Errors
    /// [`KycError::Input`] if malformed or inconsistent.
    pub fn secret(&self) -> Result<Fr, KycError> {
        let sk = self.secret_unchecked()?;
        if self.commitments.get(&Backend::Groth16) != Some(&to_decimal(&holder_commitment(sk))) {
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
    /// The scope of the relying party the holder is talking to (the wallet knows it from the
    /// origin it is connected to, never from the challenge): a challenge naming another scope
    /// is refused before proving, since answering it would give the holder's nullifier of
    /// that other relying party (linking accounts).
    pub expected_scope: &'a str,
}

/// Refuses a challenge the holder must not answer with a `backend` proof: another scope than
/// the one it expects, or another backend than the one the challenge's scope accepts (a
/// second backend would give a second nullifier in that scope).
///
/// # Errors
/// [`KycError::Input`] with the reason.
pub fn check_challenge(inp: &ProveInputs<'_>, backend: Backend) -> Result<(), KycError> {
    let c = inp.challenge;
    if inp.expected_scope.is_empty() {
        return Err(KycError::Input(
            "the expected scope is empty: name the relying party you are talking to".into(),
        ));
    }
    if c.scope != inp.expected_scope {
        return Err(KycError::Input(format!(
            "challenge: it names scope `{}`, but this relying party is `{}`: refused before \
             proving (answering would reveal your nullifier for `{}`)",
            c.scope, inp.expected_scope, c.scope
        )));
    }
    if let Some(b) = c.backend {
        if b != backend {
            return Err(KycError::Input(format!(
                "challenge: scope `{}` accepts only {} presentations, not {}: one backend per \
                 scope (prove with --backend {})",
                c.scope,
                b.name(),
                backend.name(),
                b.short()
            )));
        }
    }
    c.fields()
        .map(|_| ())
        .map_err(|e| KycError::Input(e.to_string()))
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
    check_challenge(inp, b)?;
    let hid = inp.holder.commitment_for(b)?;
    let view = BackendView {
        name: BACKEND_GROTH16,
        hid: Some(&hid),
        leaf: inp.credential.leaf_for(b),
        siblings: inp.path.siblings_for(b),
        path_root: inp.path.root_for(b),
        epoch_root: inp.epoch.root_for(b),
    };
    if inp.credential.holder_commitment_for(b) != Some(hid.as_str()) {
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
    let b = Backend::Halo2;
    check_challenge(inp, b)?;
    let hid = inp.holder.commitment_for(b)?;
    let cred = inp.credential;
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
    Ok(presentation(BACKEND_GROTH16, vk_hash, inp, &public, &bytes))
}

/// `PROOF.json` of a `backend` proof (`proof` bytes) of the statement `public`, under the
/// verifying key named `vk_hash`: every public input as the relying party re-derives it.
pub(crate) fn presentation<F: StatementField>(
    backend: &str,
    vk_hash: String,
    inp: &ProveInputs<'_>,
    public: &assay_circuits::kyc::KycPublic<F>,
    proof: &[u8],
) -> KycProof {
    let digests = [
        to_decimal(&public.registry_root),
        to_decimal(&public.policy_root),
        to_decimal(&public.nullifier),
    ];
    presentation_of(backend, vk_hash, inp, digests, public.today, proof)
}

/// `PROOF.json` from its digests already written as the formats' text (`[registry_root,
/// policy_root, nullifier]`), for a backend whose digests are not one field element (the
/// STARK's).
pub(crate) fn presentation_of(
    backend: &str,
    vk_hash: String,
    inp: &ProveInputs<'_>,
    [registry_root, policy_root, nullifier]: [String; 3],
    today: u64,
    proof: &[u8],
) -> KycProof {
    KycProof {
        version: KYC_FORMAT_VERSION,
        backend: backend.into(),
        vk_hash,
        issuer_id: inp.epoch.issuer_id.clone(),
        epoch: inp.epoch.epoch,
        policy: inp.policy.name.clone(),
        public_inputs: KycPublicInputs {
            registry_root,
            policy_root,
            today,
            scope: inp.challenge.scope.clone(),
            challenge: inp.challenge.nonce.clone(),
            nullifier,
        },
        proof: hex::encode(proof),
    }
}
