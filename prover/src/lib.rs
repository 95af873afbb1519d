//! Assay's provers: witnesses, keys, and the writers of the public formats.
//!
//! * [`kyc`]: the KYC issuer (registry, epochs), holder (proof) and relying-party store.
//! * [`keystore`]: an Ed25519 signing key encrypted at rest (Argon2id + AES-256-GCM).
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod keystore;
pub mod kyc;
