//! Assay's public formats and their verification: no prover code, no proving keys.
//!
//! * [`kyc`]: the KYC formats (epoch, policy, challenge, credential, path, proof) and the
//!   relying party's verification.
#![deny(missing_docs, unsafe_code, rustdoc::broken_intra_doc_links)]

pub mod kyc;
