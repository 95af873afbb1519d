//! What verifies: the [`Backend`] trait and [`AssayBackend`], Assay's verifiers behind it.
//!
//! Handlers hand the raw body to the backend on a blocking thread; the backend parses it
//! (unknown fields refused) and verifies. Parsing errors become 400/422, verification results
//! a [`Verdict`].

use crate::{config::ServerConfig, error::AppError};
use serde::Serialize;

/// The answer of one verification: valid, or invalid with the exact reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether every check passed.
    pub valid: bool,
    /// Why not, when invalid: which proof, which check, which input.
    pub reason: Option<String>,
    /// What was checked, in words (one line per check that ran).
    pub checks: Vec<String>,
}

impl Verdict {
    /// A valid verdict after `checks`.
    pub fn valid(checks: Vec<String>) -> Self {
        Self {
            valid: true,
            reason: None,
            checks,
        }
    }

    /// An invalid verdict.
    pub fn invalid(reason: impl Into<String>, checks: Vec<String>) -> Self {
        Self {
            valid: false,
            reason: Some(reason.into()),
            checks,
        }
    }
}

/// A KYC verdict and, when the proof itself is valid, what the server must still check
/// against its database: the challenge it names and the nullifier it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycVerdict {
    /// The cryptographic and policy checks.
    pub verdict: Verdict,
    /// The challenge (nonce) the proof is bound to, as issued by [`Backend::new_challenge`].
    pub challenge: Option<String>,
    /// The proof's nullifier for this scope.
    pub nullifier: Option<String>,
}

/// A freshly made challenge: its key in the database and the document sent to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChallenge {
    /// The nonce, as [`KycVerdict::challenge`] will name it.
    pub nonce: String,
    /// The JSON document the holder passes to `assay kyc prove --challenge`.
    pub document: serde_json::Value,
}

/// The verifiers the service calls. Every method runs on a blocking thread.
pub trait Backend: Send + Sync + 'static {
    /// Verifies a whole round bundle (JSON).
    ///
    /// # Errors
    /// The body cannot be read as a round bundle.
    fn verify_round(&self, body: &[u8]) -> Result<Verdict, AppError>;

    /// Verifies `{"record": InclusionRecord, "round": RoundBundle}` (JSON).
    ///
    /// # Errors
    /// The body cannot be read as such a request.
    fn verify_inclusion(&self, body: &[u8]) -> Result<Verdict, AppError>;

    /// Verifies a KYC proof request (JSON) at time `now` (UNIX seconds), all but the
    /// challenge's freshness and the nullifier's novelty, which the server checks after.
    ///
    /// # Errors
    /// The body cannot be read, or KYC is not configured.
    fn verify_kyc(&self, body: &[u8], scope: &str, now: u64) -> Result<KycVerdict, AppError>;

    /// Makes a new single-use challenge for `scope`, valid until `expires_at`.
    ///
    /// # Errors
    /// No randomness, or KYC is not configured.
    fn new_challenge(&self, scope: &str, now: u64, expires_at: u64)
        -> Result<NewChallenge, AppError>;
}

/// Assay's own verifiers (`assay_verifier`).
#[derive(Debug, Default)]
pub struct AssayBackend {}

impl AssayBackend {
    /// The backend for `config` (reads the KYC policy and issuer key files it names).
    ///
    /// # Errors
    /// A configured file cannot be read or parsed.
    pub fn from_config(_config: &ServerConfig) -> Result<Self, String> {
        Ok(Self {})
    }
}

/// 31 random bytes (248 bits, below BN254's scalar field), as 0x-prefixed hex.
pub(crate) fn random_nonce() -> Result<String, AppError> {
    use rand::RngCore;
    let mut b = [0u8; 31];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(format!("0x{}", hex::encode(b)))
}

impl Backend for AssayBackend {
    fn verify_round(&self, _body: &[u8]) -> Result<Verdict, AppError> {
        Err(AppError::Unavailable(
            "solvency verification is not built in yet".into(),
        ))
    }

    fn verify_inclusion(&self, _body: &[u8]) -> Result<Verdict, AppError> {
        Err(AppError::Unavailable(
            "inclusion verification is not built in yet".into(),
        ))
    }

    fn verify_kyc(&self, _body: &[u8], _scope: &str, _now: u64) -> Result<KycVerdict, AppError> {
        Err(AppError::Unavailable(
            "KYC verification is not built in yet".into(),
        ))
    }

    fn new_challenge(
        &self,
        scope: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<NewChallenge, AppError> {
        let nonce = random_nonce()?;
        Ok(NewChallenge {
            document: serde_json::json!({
                "version": 1,
                "scope": scope,
                "challenge": nonce,
                "issued_at": now,
                "expires_at": expires_at,
            }),
            nonce,
        })
    }
}
