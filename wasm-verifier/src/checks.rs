//! The checks themselves, in plain Rust (testable natively): parse, call `assay-verifier`,
//! and turn the answer into an [`Outcome`].

use assay_verifier::solvency::{verify_inclusion, InclusionRecord, InclusionReport, RoundBundle};

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
pub fn inclusion(record: &str, round: &str) -> Outcome {
    let r = match InclusionRecord::parse(record.as_bytes(), "inclusion record") {
        Ok(r) => r,
        Err(e) => return Outcome::invalid(e.to_string()),
    };
    let b = match RoundBundle::parse(round.as_bytes(), "round bundle") {
        Ok(b) => b,
        Err(e) => return Outcome::invalid(e.to_string()),
    };
    match verify_inclusion(&r, &b) {
        Ok(rep) => Outcome {
            reason: None,
            checks: inclusion_checks(&rep),
        },
        Err(e) => Outcome::invalid(e.to_string()),
    }
}

/// What a valid inclusion check established, in words.
pub fn inclusion_checks(r: &InclusionReport) -> Vec<String> {
    let mut v = vec![
        "the round bundle and your record are signed by the exchange's publication key".to_string(),
        format!(
            "your leaf (user id {:?}, {}, your salt) is in the tree of round {:?} at the global root",
            r.user_id,
            r.balances
                .iter()
                .map(|b| format!("{} {}", b.amount, b.symbol))
                .collect::<Vec<_>>()
                .join(", "),
            r.round_id
        ),
    ];
    v.extend(r.proofs_checked.iter().map(|p| format!("{p}: verified")));
    v
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
