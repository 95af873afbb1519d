//! The checks themselves, in plain Rust (testable natively): parse, call `assay-verifier`,
//! and turn the answer into an [`Outcome`].

/// What a check found: `reason` is `None` when valid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Why the input is invalid, or `None`.
    pub reason: Option<String>,
    /// What was checked, in words.
    pub checks: Vec<String>,
}

impl Outcome {
    fn invalid(reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            checks: Vec::new(),
        }
    }
}

/// The inclusion check (see [`crate::verify_inclusion`]).
pub fn inclusion(_record: &str, _round: &str) -> Outcome {
    Outcome::invalid("inclusion verification is not built in yet")
}

/// The inputs of the KYC check.
#[derive(Debug, Clone, Copy)]
pub struct KycInputs<'a> {
    /// `PROOF.json`.
    pub proof: &'a str,
    /// `EPOCH.json`.
    pub epoch: &'a str,
    /// `POLICY.json`.
    pub policy: &'a str,
    /// `CHALLENGE.json`.
    pub challenge: &'a str,
    /// `ISSUER_PUBLIC.json`.
    pub issuer_key: &'a str,
    /// UNIX seconds.
    pub now: u64,
}

/// The KYC check (see [`crate::verify_kyc`]).
pub fn kyc(_i: &KycInputs<'_>) -> Outcome {
    Outcome::invalid("KYC verification is not built in yet")
}
