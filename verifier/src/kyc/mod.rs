//! Verification of a KYC presentation (DESIGN §2): what a relying party checks.
//!
//! [`verify`] checks, in this order, and stops at the first failure with its exact reason:
//! 1. the epoch names the issuer and carries the Ed25519 signature of the issuer's key in
//!    force at that epoch (the pinned key, or its successor by a key handover recorded in the
//!    chain, [`formats::Handover`]), and it is one of
//!    the epochs of the issuer's published hash chain ([`formats::PublishedEpochs`]): an epoch
//!    the issuer signed but did not publish (made for one holder, it would tag them) is refused;
//! 2. the epoch is not older than the policy's `max_epoch_age_seconds` (nor in the future);
//! 3. the proof's registry root is the epoch's root;
//! 4. the proof's policy root is the root of the relying party's policy file;
//! 5. the proof's `today` is the current UTC day;
//! 6. the proof answers the relying party's challenge (same scope and nonce, not expired) and,
//!    for a version 2 challenge, is of the one backend the challenge names;
//! 7. the proof was made for the issuer's verifying key (Groth16), for the KYC circuit's
//!    key derived from the deterministic IPA parameters (Halo2), or names the KYC AIR and its
//!    pinned parameters (STARK, `stark::kyc::kyc_air_id`);
//! 8. the proof verifies on the public inputs `R, P, today, scope, challenge, nf` (on the
//!    STARK, with every value but `nf` derived by the relying party itself).
//!
//! The proof names its backend ([`formats::BACKEND_GROTH16`], [`formats::BACKEND_HALO2`],
//! `stark-koalabear-poseidon2`);
//! `R`, `P` and `nf` are hashes, so each backend has its own: `R` is the epoch's root of that
//! backend, and `P` is recomputed from the policy file over the backend's field. Before any
//! check, a proof whose registry root is the epoch's root of *another* backend is refused as
//! a relabelled presentation. Halo2 verification needs the crate feature `halo2` (off in the
//! wasm build, which answers "backend halo2-ipa-pasta is not supported by this build"), STARK
//! verification the feature `stark`; STARK digests are 8 KoalaBear elements, written as
//! [`stark_text`] in every build.
//!
//! That the challenge is used once is the relying party's store's business (it records the
//! nonce as spent after a successful verification): this crate holds no state.

pub mod formats;
pub mod stark_text;
pub mod time;

/// Verification of Halo2 KYC presentations with a verifier of the caller's (feature `halo2`).
#[cfg(feature = "halo2")]
pub use crate::halo2::kyc as halo2;

use crate::dispatch::{dispatch, Presentation, VerifyingBackend, Visitor};
use crate::Backend;
use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use ark_serialize::CanonicalDeserialize;
use assay_circuits::StatementField;
use formats::{Challenge, Epoch, IssuerPublic, KycProof, ParsedInputs, Policy, PublishedEpochs};

/// The backends whose KYC presentations this build verifies, in [`Backend::ALL`] order: those
/// of [`crate::verified_backends`], and the STARK with the feature `stark`.
pub fn verified_backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|b| {
            crate::verified_backends().contains(b)
                || (*b == Backend::Stark && cfg!(feature = "stark"))
        })
        .collect()
}

/// How far in the future an epoch's time may be (clock skew), in seconds.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// Why a presentation is refused. Every variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KycVerifyError {
    /// A file is malformed (bad input rather than an invalid proof).
    #[error("malformed input: {0}")]
    Format(#[from] formats::FormatError),
    /// The issuer's Groth16 verifying key is not the one the pinned key manifests name for the
    /// KYC circuit ([`KycOptions::groth16_keys`]).
    #[error("verifying key {0}")]
    UntrustedKey(String),
    /// The epoch is signed by another issuer, or not at all.
    #[error("epoch signature: {0}")]
    EpochSignature(String),
    /// The epoch is not in the issuer's published chain.
    #[error("epoch chain: {0}")]
    EpochNotPublished(String),
    /// The epoch is too old (revocations after it would be ignored) or in the future.
    #[error("epoch age: {0}")]
    EpochAge(String),
    /// The proof is for another registry root than the epoch's.
    #[error("registry root: the proof's root is not the root of epoch {epoch}")]
    RegistryRoot {
        /// The epoch number.
        epoch: u64,
    },
    /// The proof is for another policy.
    #[error("policy root: the proof is for another policy than `{policy}`")]
    PolicyRoot {
        /// The relying party's policy name.
        policy: String,
    },
    /// The proof's day is not today.
    #[error("today: the proof is for day {proof_day}, today is day {today} (UTC)")]
    Today {
        /// The day in the proof.
        proof_day: u64,
        /// The verifier's current day.
        today: i64,
    },
    /// The proof does not answer this challenge (scope, nonce or expiry).
    #[error("challenge: {0}")]
    Challenge(String),
    /// The proof was made for another verifying key.
    #[error("verifying key: the proof names key {proof}, the issuer publishes {issuer}")]
    VerifyingKey {
        /// The proof's `vk_hash`.
        proof: String,
        /// The issuer's `vk_hash`.
        issuer: String,
    },
    /// The proof bytes are not a Groth16 proof (truncated, points off the curve).
    #[error("proof: malformed proof bytes: {0}")]
    MalformedProof(String),
    /// The Groth16 verification equation fails.
    #[error("proof: the Groth16 proof does not verify for these public inputs")]
    Proof,
    /// The backend cannot verify here: not compiled in, or the epoch has no root for it.
    #[error("backend {0}")]
    Backend(String),
    /// The Halo2 proof does not verify (including truncated or altered transcripts).
    #[error("proof: the Halo2 proof does not verify for these public inputs ({0})")]
    Halo2Proof(String),
    /// A STARK presentation names another AIR or other parameters than the KYC AIR this
    /// verifier checks (its `vk_hash`; `stark::kyc::kyc_air_id`).
    #[error("AIR: the proof names {proof}, this verifier checks the KYC AIR {expected}")]
    Air {
        /// The proof's `vk_hash`.
        proof: String,
        /// The KYC AIR's identifier.
        expected: String,
    },
    /// The STARK proof decoded and has the KYC AIR's shape but does not verify for the
    /// public values the relying party derived.
    #[error("proof: the STARK proof does not verify for these public values ({0})")]
    StarkProof(String),
}

impl KycVerifyError {
    /// Whether this is a malformed input (CLI exit code 2) rather than an invalid
    /// presentation (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::Format(_) | Self::MalformedProof(_))
    }
}

/// What a valid presentation establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPresentation {
    /// The holder's nullifier for this scope (decimal): one per person per relying party.
    pub nullifier: String,
    /// The relying party's scope.
    pub scope: String,
    /// The issuer.
    pub issuer_id: String,
    /// The registry epoch.
    pub epoch: u64,
    /// The policy name.
    pub policy: String,
    /// The day (UTC days).
    pub today: u64,
    /// The challenge nonce (hex), for the relying party's store to mark as spent.
    pub nonce: String,
    /// The backend that verified the proof.
    pub backend: Backend,
    /// The key the proof verified under, in words (`the issuer's verifying key`).
    pub verified_under: &'static str,
}

/// Options of [`verify_with_options`].
#[derive(Debug, Clone, Copy, Default)]
pub struct KycOptions<'a> {
    /// Where Halo2 IPA parameters come from (a [`crate::halo2::ParamsCache`], say); `None`
    /// generates them in memory once per process.
    #[cfg(feature = "halo2")]
    pub halo2_params: Option<&'a dyn crate::halo2::ParamsSource>,
    /// Which Groth16 keys a Groth16 presentation may verify under: the `kyc-groth16` key that a
    /// pinned manifest names (`assay solvency setup --kyc`). The default pins nothing and so
    /// refuses every Groth16 presentation; `InsecureBundleKeys` trusts the issuer's published
    /// key, with which an issuer who ran its own setup can forge presentations.
    pub groth16_keys: crate::groth16::TrustedKeys<'a>,
    #[doc(hidden)]
    pub _lifetime: std::marker::PhantomData<&'a ()>,
}

/// The epoch's registry root for `backend` (decimal), if it publishes one.
pub(crate) fn epoch_root(epoch: &Epoch, backend: Backend) -> Option<&str> {
    epoch.root_for(backend)
}

/// Refuses a presentation whose registry root is the epoch's root of another backend than
/// its label: a presentation relabelled (checked before its bytes are read).
pub(crate) fn check_label(p: &Presentation<'_>, label: Backend) -> Result<(), KycVerifyError> {
    let root = p.proof.public_inputs.registry_root.as_str();
    for other in Backend::ALL.into_iter().filter(|b| *b != label) {
        if epoch_root(p.epoch, other) == Some(root) {
            return Err(KycVerifyError::Backend(format!(
                "mismatch: the proof's registry root is epoch {}'s {} root: a {} presentation \
                 labelled {}",
                p.epoch.epoch,
                other.name(),
                other.proof_system(),
                label.name()
            )));
        }
    }
    Ok(())
}

/// Reads the issuer's verifying key.
///
/// # Errors
/// [`KycVerifyError::Format`] if it is not hex of a valid key or its hash differs.
pub fn issuer_verifying_key(issuer: &IssuerPublic) -> Result<VerifyingKey<Bn254>, KycVerifyError> {
    let bad = |m: String| formats::FormatError::Field {
        what: "issuer key",
        field: "verifying_key",
        message: m,
    };
    let bytes = hex::decode(&issuer.verifying_key).map_err(|e| bad(e.to_string()))?;
    if formats::sha256_hex(&bytes) != issuer.vk_hash {
        return Err(bad("does not hash to vk_hash".into()).into());
    }
    let vk = VerifyingKey::<Bn254>::deserialize_compressed(&bytes[..])
        .map_err(|e| bad(e.to_string()))?;
    if vk.gamma_abc_g1.len() != assay_circuits::kyc::NUM_PUBLIC_INPUTS + 1 {
        return Err(bad("not a key for the KYC circuit (wrong number of inputs)".into()).into());
    }
    Ok(vk)
}

/// Verifies a presentation at Unix time `now` (see the module notes for the checks), with
/// the backend the proof names.
///
/// # Errors
/// The first failed check, as a [`KycVerifyError`].
pub fn verify(
    proof: &KycProof,
    epoch: &Epoch,
    published: &PublishedEpochs,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    now: i64,
) -> Result<VerifiedPresentation, KycVerifyError> {
    verify_with_options(
        proof,
        epoch,
        published,
        issuer,
        policy,
        challenge,
        now,
        &KycOptions::default(),
    )
}

/// [`verify`] with options (where Halo2 parameters come from).
///
/// # Errors
/// The first failed check, as a [`KycVerifyError`].
#[allow(clippy::too_many_arguments)]
pub fn verify_with_options(
    proof: &KycProof,
    epoch: &Epoch,
    published: &PublishedEpochs,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    now: i64,
    opts: &KycOptions<'_>,
) -> Result<VerifiedPresentation, KycVerifyError> {
    let backend =
        Backend::from_name(&proof.backend).ok_or_else(|| formats::FormatError::Field {
            what: "proof",
            field: "backend",
            message: format!(
                "`{}` is not a backend (expected {})",
                proof.backend,
                Backend::ALL.map(Backend::name).join(" or ")
            ),
        })?;
    struct V<'a>(&'a Presentation<'a>, &'a KycOptions<'a>);
    impl Visitor for V<'_> {
        type Output = Result<VerifiedPresentation, KycVerifyError>;
        fn visit<B: VerifyingBackend>(self) -> Self::Output {
            check_label(self.0, B::BACKEND)?;
            B::verify_kyc(self.0, self.1)
        }
    }
    let p = Presentation {
        proof,
        epoch,
        published,
        issuer,
        policy,
        challenge,
        now,
    };
    if backend == Backend::Stark {
        // Digests of 8 KoalaBear elements, no keys: the STARK leaves the field-generic seam
        // here, as its rounds do (`crate::stark`), and shares checks 1 to 6.
        check_label(&p, Backend::Stark)?;
        #[cfg(feature = "stark")]
        return crate::stark::kyc::verify(&p);
        #[cfg(not(feature = "stark"))]
        return Err(KycVerifyError::Backend(format!(
            "{backend} is not supported by this build"
        )));
    }
    dispatch(backend, V(&p, opts)).unwrap_or_else(|| {
        Err(KycVerifyError::Backend(format!(
            "{backend} is not supported by this build"
        )))
    })
}

/// Checks 1–6 of the module notes over the backend's field `F`, `registry_root` being the
/// epoch's root for that backend; returns the parsed public inputs.
pub(crate) fn presentation_checks<F: StatementField>(
    p: &Presentation<'_>,
    registry_root: impl FnOnce() -> Result<F, KycVerifyError>,
) -> Result<ParsedInputs<F>, KycVerifyError> {
    p.issuer.key()?;
    p.epoch.fields()?;
    p.challenge.fields()?;
    let inputs = p.proof.public_inputs.parse_in::<F>()?;
    let tree = p.policy.tree_in::<F>()?;
    checks_1_to_6(
        p,
        || Ok(inputs.public.registry_root == registry_root()?),
        inputs.public.policy_root == tree.root(),
        inputs.public.today,
        &inputs.nonce,
    )?;
    Ok(inputs)
}

/// Checks 1–6 of the module notes, for any backend: the caller parsed the presentation's
/// values over its backend's field and compares its roots (`registry_matches`, evaluated at
/// check 3: whether the proof's registry root is the epoch's root of that backend;
/// `policy_matches`: whether the proof's policy root is the root the caller recomputed from
/// the relying party's policy file); `proof_today` and `nonce` are the proof's.
pub(crate) fn checks_1_to_6(
    p: &Presentation<'_>,
    registry_matches: impl FnOnce() -> Result<bool, KycVerifyError>,
    policy_matches: bool,
    proof_today: u64,
    nonce: &[u8; 31],
) -> Result<(), KycVerifyError> {
    let (proof, epoch, issuer, policy, challenge, now) =
        (p.proof, p.epoch, p.issuer, p.policy, p.challenge, p.now);
    let key = issuer.key()?;
    let ef = epoch.fields()?;
    let cf = challenge.fields()?;

    // 1. The epoch's signature.
    if epoch.issuer_id != issuer.issuer_id {
        return Err(KycVerifyError::EpochSignature(format!(
            "the epoch is from `{}`, the issuer key is `{}`",
            epoch.issuer_id, issuer.issuer_id
        )));
    }
    // The key in force at this epoch: the pinned issuer key, or its successor after a key
    // handover recorded in the published chain (followed from the pinned key).
    let signer = p.published.key_for(epoch.epoch).unwrap_or(key);
    if !epoch.verify_signature(&signer)? {
        return Err(KycVerifyError::EpochSignature(format!(
            "epoch {} is not signed by the issuer's key{}",
            epoch.epoch,
            if signer == key {
                String::new()
            } else {
                format!(
                    " in force at that epoch ({}, by a handover from the pinned key)",
                    hex::encode(signer.as_bytes())
                )
            }
        )));
    }
    if !p.published.signed_by(&key) {
        return Err(KycVerifyError::EpochNotPublished(
            "the published epoch chain is not signed by the issuer's key".into(),
        ));
    }
    if !p.published.contains(epoch) {
        let (first, last) = p.published.range();
        return Err(KycVerifyError::EpochNotPublished(format!(
            "epoch {} is signed by the issuer but is not the epoch {} of its published chain \
             (epochs {first}..={last}): an unpublished epoch could single out one holder",
            epoch.epoch, epoch.epoch
        )));
    }
    // 2. Its age.
    let age = now - ef.time;
    if age > policy.max_epoch_age_seconds.min(i64::MAX as u64) as i64 {
        return Err(KycVerifyError::EpochAge(format!(
            "epoch {} is {age} s old; the policy accepts at most {} s",
            epoch.epoch, policy.max_epoch_age_seconds
        )));
    }
    if age < -MAX_CLOCK_SKEW_SECONDS {
        return Err(KycVerifyError::EpochAge(format!(
            "epoch {} is dated {} s in the future",
            epoch.epoch, -age
        )));
    }
    // 3. The registry root (of this backend).
    if !registry_matches()? || proof.epoch != epoch.epoch {
        return Err(KycVerifyError::RegistryRoot { epoch: epoch.epoch });
    }
    // 4. The policy root, recomputed over this backend's field.
    if !policy_matches {
        return Err(KycVerifyError::PolicyRoot {
            policy: policy.name.clone(),
        });
    }
    // 5. Today.
    let today = time::day_of(now);
    if i64::try_from(proof_today).ok() != Some(today) {
        return Err(KycVerifyError::Today {
            proof_day: proof_today,
            today,
        });
    }
    // 6. The challenge.
    if proof.public_inputs.scope != challenge.scope {
        return Err(KycVerifyError::Challenge(format!(
            "the proof is for scope `{}`, the challenge for `{}`",
            proof.public_inputs.scope, challenge.scope
        )));
    }
    if let Some(b) = challenge.backend {
        if b.name() != proof.backend {
            return Err(KycVerifyError::Challenge(format!(
                "scope `{}` accepts only {} presentations (the challenge names it); this one is \
                 {}",
                challenge.scope,
                b.name(),
                proof.backend
            )));
        }
    }
    if *nonce != cf.nonce {
        return Err(KycVerifyError::Challenge(
            "the proof answers another nonce".into(),
        ));
    }
    if now > cf.expires_at {
        return Err(KycVerifyError::Challenge(format!(
            "the challenge expired at {}",
            challenge.expires_at
        )));
    }
    Ok(())
}

/// What a valid presentation establishes, from its checked inputs.
pub(crate) fn verified<F: StatementField>(
    p: &Presentation<'_>,
    inputs: &ParsedInputs<F>,
    backend: Backend,
    verified_under: &'static str,
) -> VerifiedPresentation {
    verified_on(p, inputs.public.today, backend, verified_under)
}

/// What a valid presentation of day `today` establishes.
pub(crate) fn verified_on(
    p: &Presentation<'_>,
    today: u64,
    backend: Backend,
    verified_under: &'static str,
) -> VerifiedPresentation {
    VerifiedPresentation {
        nullifier: p.proof.public_inputs.nullifier.clone(),
        scope: p.challenge.scope.clone(),
        issuer_id: p.issuer.issuer_id.clone(),
        epoch: p.epoch.epoch,
        policy: p.policy.name.clone(),
        today,
        nonce: p.challenge.nonce.clone(),
        backend,
        verified_under,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::{KycPublicInputs, KYC_FORMAT_VERSION};

    fn docs(backend: &str) -> (KycProof, Epoch, IssuerPublic, Policy, Challenge) {
        let s = String::new;
        let proof = KycProof {
            version: KYC_FORMAT_VERSION,
            backend: backend.into(),
            vk_hash: s(),
            issuer_id: s(),
            epoch: 0,
            policy: s(),
            public_inputs: KycPublicInputs {
                registry_root: "1".into(),
                policy_root: "2".into(),
                today: 0,
                scope: "bank-a".into(),
                challenge: "00".repeat(31),
                nullifier: "3".into(),
            },
            proof: "00".into(),
        };
        let epoch = Epoch {
            version: KYC_FORMAT_VERSION,
            issuer_id: s(),
            epoch: 0,
            roots: [(crate::Backend::Groth16, "1".to_string())].into(),
            time: s(),
            prev_epoch_hash: None,
            signature: s(),
            handover: None,
        };
        let issuer = IssuerPublic {
            version: KYC_FORMAT_VERSION,
            issuer_id: s(),
            public_key: s(),
            verifying_key: s(),
            vk_hash: s(),
        };
        let policy = Policy {
            version: KYC_FORMAT_VERSION,
            name: "p".into(),
            note: None,
            countries: vec![],
            regions: vec![],
            max_epoch_age_seconds: 1,
            dual_codes: Default::default(),
        };
        let challenge = Challenge {
            version: KYC_FORMAT_VERSION,
            scope: "bank-a".into(),
            backend: None,
            nonce: "00".repeat(31),
            issued_at: s(),
            expires_at: s(),
        };
        (proof, epoch, issuer, policy, challenge)
    }

    #[test]
    fn unknown_backend_is_bad_input() {
        let (p, e, i, pol, c) = docs("plonk-kzg");
        let err = verify(&p, &e, &PublishedEpochs::none(), &i, &pol, &c, 0).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains("plonk-kzg"), "{err}");
    }

    /// The wasm build (feature `halo2` off) answers with a reason, not a panic.
    #[cfg(not(feature = "halo2"))]
    #[test]
    fn halo2_proofs_are_refused_by_a_build_without_halo2() {
        let (p, e, i, pol, c) = docs(formats::BACKEND_HALO2);
        let err = verify(&p, &e, &PublishedEpochs::none(), &i, &pol, &c, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backend halo2-ipa-pasta is not supported by this build"
        );
        assert!(!err.is_bad_input());
    }

    /// A Groth16 presentation relabelled as a STARK one is refused by name (its registry root
    /// is the epoch's Groth16 root) before anything is decoded, with or without the STARK
    /// verifier in this build.
    #[test]
    fn groth16_root_under_a_stark_label_is_a_backend_mismatch() {
        let (p, e, i, pol, c) = docs(crate::backend::BACKEND_STARK);
        let err = verify(&p, &e, &PublishedEpochs::none(), &i, &pol, &c, 0).unwrap_err();
        assert!(matches!(err, KycVerifyError::Backend(_)), "{err}");
        assert!(
            err.to_string()
                .contains("a Groth16 presentation labelled stark-koalabear-poseidon2"),
            "{err}"
        );
    }

    /// A Halo2 presentation relabelled as Groth16 is refused by name before its bytes are
    /// read as a Groth16 proof.
    #[test]
    fn halo2_root_under_a_groth16_label_is_a_backend_mismatch() {
        let (mut p, mut e, i, pol, c) = docs(formats::BACKEND_GROTH16);
        e.roots.insert(crate::Backend::Halo2, "1".into());
        p.public_inputs.registry_root = "1".into();
        let err = verify(&p, &e, &PublishedEpochs::none(), &i, &pol, &c, 0).unwrap_err();
        assert!(matches!(err, KycVerifyError::Backend(_)), "{err}");
        assert!(err.to_string().contains("labelled groth16-bn254"), "{err}");
    }
}
