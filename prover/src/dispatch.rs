//! The seam between the statements and the proof systems on the proving side, and the one
//! place where a [`Backend`] selects its prover.
//!
//! Every backend is one module (`groth16`, `halo2`) implementing, for both statements,
//! [`crate::solvency::backend::RoundBackend`] (a round's batches and aggregations) and
//! [`KycProver`] (the holder's presentation). The STARK (`stark`, feature `stark`) has its own
//! round pipeline, reached through the same dispatch ([`RoundVisitor::visit_stark`]), and
//! implements [`KycProver`] (`stark::kyc`).

use crate::kyc::{holder::ProveInputs, KycError};
use crate::solvency::backend::RoundBackend;
use crate::solvency::BackendChoice;
use crate::ProverError;
use assay_verifier::kyc::formats::{IssuerPublic, KycProof};
use assay_verifier::Backend;
use std::path::Path;

/// A prover of the KYC presentation on one backend.
pub trait KycProver {
    /// The backend its proofs are for.
    fn backend(&self) -> Backend;
    /// Proves the holder's statement (checking every input first) at Unix time `now`.
    ///
    /// # Errors
    /// [`KycError::Input`] for inconsistent files, [`KycError::Statement`] if the holder cannot
    /// truthfully prove, [`KycError::Proving`] if proving fails.
    fn prove(&self, inp: &ProveInputs<'_>, now: i64) -> Result<KycProof, KycError>;
}

/// Where a KYC prover finds its keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct KycKeys<'a> {
    /// Groth16: the issuer's keys folder (`kyc-<hash>.pk`).
    pub keys_dir: Option<&'a Path>,
    /// Groth16: the issuer's public file, which picks the proving key by hash.
    pub issuer: Option<&'a IssuerPublic>,
    /// Halo2: the IPA parameters folder (`None`: the default, see
    /// `assay_verifier::halo2::ParamsCache::default_dir`).
    pub params_dir: Option<&'a Path>,
    /// Groth16: the holder's pin of the KYC circuit's key (the setup's manifest,
    /// `assay solvency setup --kyc`). The proving key is used only if its verifying key is
    /// the one a pinned manifest names; the default pins nothing and refuses to prove.
    pub trusted: assay_verifier::groth16::TrustedKeys<'a>,
}

/// The KYC prover of `backend`.
///
/// # Errors
/// The backend's keys cannot be loaded, or this build does not prove it.
pub fn kyc_prover(backend: Backend, keys: &KycKeys<'_>) -> Result<Box<dyn KycProver>, KycError> {
    #[allow(unreachable_patterns)]
    match backend {
        Backend::Groth16 => {
            let dir = keys.keys_dir.ok_or_else(|| {
                KycError::Input(
                    "pass --keys DIR (the issuer's keys folder) or --issuer-key FILE".into(),
                )
            })?;
            Ok(Box::new(crate::groth16::Groth16KycProver::from_keys(
                dir,
                keys.issuer,
                &keys.trusted,
            )?))
        }
        #[cfg(feature = "halo2")]
        Backend::Halo2 => {
            let cache = crate::halo2::ParamsCache::at(keys.params_dir.map(Path::to_path_buf));
            Ok(Box::new(crate::halo2::kyc::KycHalo2Prover::from_params(
                &cache,
            )?))
        }
        #[cfg(feature = "stark")]
        Backend::Stark => Ok(Box::new(crate::stark::kyc::StarkKycProver)),
        other => Err(KycError::Input(format!(
            "this build of assay-prover does not prove {other}"
        ))),
    }
}

/// Work generic over the round backend, run by [`with_round_backend`].
pub trait RoundVisitor {
    /// The work's result.
    type Output;
    /// Runs the work with `backend`.
    ///
    /// # Errors
    /// The work's own.
    fn visit<B: RoundBackend>(self, backend: &B) -> Result<Self::Output, ProverError>;

    /// Runs the work on the STARK, which is not a [`RoundBackend`] (digests of 8 elements,
    /// hash-chain batch roots, no keys, proofs in files) and has its own pipeline
    /// (`crate::stark`). By default the work is refused on the STARK.
    ///
    /// # Errors
    /// [`ProverError::Refused`] unless the visitor implements it; then the work's own.
    fn visit_stark(self) -> Result<Self::Output, ProverError>
    where
        Self: Sized,
    {
        Err(ProverError::Refused(
            "this step has no STARK pipeline (the STARK is not a RoundBackend)".into(),
        ))
    }
}

/// Runs `v` with the round backend of `choice`: Groth16 keys in `keys`, Halo2 parameters in
/// `params`; the STARK (no keys, no parameters) through [`RoundVisitor::visit_stark`].
///
/// # Errors
/// An unknown layout, a backend this build does not prove, or the work's own error.
pub fn with_round_backend<V: RoundVisitor>(
    choice: &BackendChoice,
    keys: &Path,
    params: &Path,
    v: V,
) -> Result<V::Output, ProverError> {
    let _ = params;
    match choice {
        BackendChoice::Groth16 => v.visit(&crate::groth16::Groth16Backend::new(
            crate::keys::KeyCache::new(keys),
        )?),
        #[cfg(feature = "halo2")]
        BackendChoice::Halo2 { layout } => {
            let l = assay_circuits::solvency::halo2::Layout::parse(layout)
                .ok_or_else(|| ProverError::UnknownLayout(layout.clone()))?;
            v.visit(&crate::halo2::Halo2Backend::new(
                l,
                crate::halo2::ParamsCache::new(params),
            ))
        }
        #[cfg(not(feature = "halo2"))]
        BackendChoice::Halo2 { .. } => Err(ProverError::BackendUnavailable("halo2")),
        #[cfg(feature = "stark")]
        BackendChoice::Stark => v.visit_stark(),
        #[cfg(not(feature = "stark"))]
        BackendChoice::Stark => Err(ProverError::BackendUnavailable("stark")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Name;
    impl RoundVisitor for Name {
        type Output = Backend;
        fn visit<B: RoundBackend>(self, backend: &B) -> Result<Backend, ProverError> {
            Ok(backend.backend())
        }
    }

    #[test]
    fn each_round_choice_runs_with_its_backend() {
        let d = tempfile::tempdir().unwrap();
        let run = |c: &BackendChoice| with_round_backend(c, d.path(), d.path(), Name);
        assert_eq!(run(&BackendChoice::Groth16).unwrap(), Backend::Groth16);
        #[cfg(feature = "halo2")]
        assert_eq!(
            run(&BackendChoice::Halo2 {
                layout: "compact".into()
            })
            .unwrap(),
            Backend::Halo2
        );
        let e = run(&BackendChoice::Halo2 {
            layout: "fastest".into(),
        })
        .unwrap_err();
        assert!(matches!(e, ProverError::UnknownLayout(_)), "{e}");
        // A visitor without a STARK pipeline is refused on the STARK, by name.
        let e = run(&BackendChoice::Stark).unwrap_err();
        assert!(
            matches!(
                e,
                ProverError::Refused(_) | ProverError::BackendUnavailable(_)
            ),
            "{e}"
        );
    }

    #[test]
    fn a_groth16_kyc_prover_needs_exactly_one_proving_key() {
        let d = tempfile::tempdir().unwrap();
        let prover = |dir: Option<&Path>| {
            kyc_prover(
                Backend::Groth16,
                &KycKeys {
                    keys_dir: dir,
                    ..KycKeys::default()
                },
            )
            .map(|p| p.backend())
        };
        assert!(matches!(prover(None), Err(KycError::Input(_))));
        let e = prover(Some(d.path())).unwrap_err().to_string();
        assert!(e.contains("no KYC proving key"), "{e}");
        std::fs::write(d.path().join("kyc-aa.pk"), b"").unwrap();
        std::fs::write(d.path().join("kyc-bb.pk"), b"").unwrap();
        let e = prover(Some(d.path())).unwrap_err().to_string();
        assert!(e.contains("several proving keys"), "{e}");
        std::fs::remove_file(d.path().join("kyc-bb.pk")).unwrap();
        assert_eq!(crate::kyc::keys::find_single(d.path()).unwrap(), "aa");
        let e = prover(Some(&d.path().join("missing"))).unwrap_err();
        assert!(matches!(e, KycError::Io { .. }), "{e}");
    }
}
