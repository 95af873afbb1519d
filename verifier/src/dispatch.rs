//! The seam between the statements and the proof systems: what a backend must verify, and the
//! one place where a backend name selects its verifier.
//!
//! Every backend is one module (`groth16/`, `halo2/`) with a marker type implementing
//! [`VerifyingBackend`] for both statements: the solvency round's proofs (its keys opened from
//! the bundle, checked or re-derived) and the KYC presentation. [`verify_round`],
//! [`verify_inclusion_with`] and [`kyc::verify`] parse the backend's name and go through
//! [`dispatch`]; everything around the proofs (public inputs, tree, signatures, policy,
//! challenge) is written once over the backend's field.
//!
//! [`verify_round`]: crate::solvency::verify_round
//! [`verify_inclusion_with`]: crate::solvency::verify_inclusion_with
//! [`kyc::verify`]: crate::kyc::verify

use crate::kyc::{
    formats::{Challenge, Epoch, IssuerPublic, KycProof, Policy},
    KycOptions, KycVerifyError, VerifiedPresentation,
};
use crate::solvency::{CheckedConfig, ProofEntry, RoundBundle, RoundOptions, Section};
use crate::{Backend, VerifyError};
use assay_circuits::StatementField;

/// Which circuit of a round a proof belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CircuitId {
    /// A batch proof.
    Batch,
    /// Aggregation level (0 = just above the batches; the last is the top).
    Aggregation(#[cfg_attr(not(feature = "halo2"), allow(dead_code))] usize),
}

/// A KYC presentation and what it is checked against (the arguments of [`crate::kyc::verify`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Presentation<'a> {
    pub proof: &'a KycProof,
    pub epoch: &'a Epoch,
    pub published: &'a crate::kyc::formats::PublishedEpochs,
    pub issuer: &'a IssuerPublic,
    pub policy: &'a Policy,
    pub challenge: &'a Challenge,
    pub now: i64,
}

/// What a proof system verifies, for both statements.
pub(crate) trait VerifyingBackend: 'static {
    /// The backend's name.
    const BACKEND: Backend;
    /// The field its statements are evaluated in.
    type F: StatementField;
    /// A round's verifying keys, opened from the bundle (shared by threads of a server that
    /// keeps a prepared round).
    type RoundKeys: Send + Sync + 'static;
    /// What a valid KYC proof was verified under, in words (for verdicts).
    const KYC_KEY: &'static str;

    /// Decodes or derives the round's keys (checking their names and the trusted set);
    /// `section` is the bundle's circuits section, already known to be this backend's if
    /// present.
    fn open_round(
        b: &RoundBundle,
        section: Section<'_>,
        cfg: &CheckedConfig<Self::F>,
        opts: &RoundOptions<'_>,
    ) -> Result<Self::RoundKeys, VerifyError>;

    /// Verifies proofs of a round whose public inputs were already checked: `Ok` exactly when
    /// each verifies (the Groth16 backend checks them in one batched pairing check, Halo2 one
    /// by one); otherwise the error of the first, in order, that does not.
    fn verify_round_proofs(
        keys: &Self::RoundKeys,
        proofs: &[&RoundProof<'_, Self::F>],
    ) -> Result<(), VerifyError>;

    /// Verifies a KYC presentation labelled with this backend (checks 1 to 8 of
    /// [`crate::kyc`]; the label was already checked against the epoch's roots).
    fn verify_kyc(
        p: &Presentation<'_>,
        opts: &KycOptions<'_>,
    ) -> Result<VerifiedPresentation, KycVerifyError>;
}

/// One proof of a round to verify: its entry, its public inputs (already checked against the
/// bundle), its circuit and its name in errors.
pub(crate) struct RoundProof<'a, F> {
    pub entry: &'a ProofEntry,
    pub inputs: Vec<F>,
    /// Read by the backends whose keys depend on the circuit (Halo2 re-derives them).
    #[cfg_attr(not(feature = "halo2"), allow(dead_code))]
    pub circuit: CircuitId,
    pub what: String,
}

/// Work generic over the backend, run by [`dispatch`].
pub(crate) trait Visitor {
    /// The work's result.
    type Output;
    /// Runs the work with backend `B`.
    fn visit<B: VerifyingBackend>(self) -> Self::Output;
}

/// Runs `v` with the verifier of `backend`; `None` if this build does not verify it (the
/// Halo2 verifier is behind the crate feature `halo2`). The only `match` on the backend.
pub(crate) fn dispatch<V: Visitor>(backend: Backend, v: V) -> Option<V::Output> {
    #[allow(unreachable_patterns)]
    match backend {
        Backend::Groth16 => Some(v.visit::<crate::groth16::Groth16Backend>()),
        #[cfg(feature = "halo2")]
        Backend::Halo2 => Some(v.visit::<crate::halo2::Halo2Backend>()),
        _ => None,
    }
}

/// Work over the field a backend's statements are evaluated in (native hashing: registry
/// leaves and roots, holder commitments, paths), run by [`with_field`].
pub trait FieldVisitor {
    /// The work's result.
    type Output;
    /// Runs the work over the statement field `F`.
    fn visit<F: StatementField>(self) -> Self::Output;
}

/// Runs `v` over the statement field of `backend` (through [`dispatch`], so a backend is
/// still matched in one place); `None` if this build does not have that backend.
pub fn with_field<V: FieldVisitor>(backend: Backend, v: V) -> Option<V::Output> {
    struct Field<V>(V);
    impl<V: FieldVisitor> Visitor for Field<V> {
        type Output = V::Output;
        fn visit<B: VerifyingBackend>(self) -> V::Output {
            self.0.visit::<B::F>()
        }
    }
    dispatch(backend, Field(v))
}

/// The backends this build verifies (both statements), in [`Backend::ALL`] order.
pub fn verified_backends() -> Vec<Backend> {
    struct Present;
    impl Visitor for Present {
        type Output = ();
        fn visit<B: VerifyingBackend>(self) {}
    }
    Backend::ALL
        .into_iter()
        .filter(|b| dispatch(*b, Present).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_build_verifies_exactly_its_features_backends() {
        let v = verified_backends();
        assert!(v.contains(&Backend::Groth16));
        assert_eq!(v.contains(&Backend::Halo2), cfg!(feature = "halo2"));
    }
}
