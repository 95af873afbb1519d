//! The KYC circuit on Halo2: see [`crate::halo2::kyc`] (the Halo2 backend's module).

pub use crate::halo2::kyc::*;

#[cfg(test)]
use {
    crate::kyc::{holder::ProveInputs, KycError},
    assay_circuits::kyc::{
        halo2::{Compact, KycHalo2Circuit},
        NUM_PUBLIC_INPUTS,
    },
    assay_verifier::halo2::Halo2Verifier,
    assay_verifier::kyc::{
        formats::{KycProof, BACKEND_HALO2},
        halo2::{kyc_k, kyc_verifier},
    },
};

#[cfg(test)]
mod tests;
