//! verifier

pub mod snarkjs;
