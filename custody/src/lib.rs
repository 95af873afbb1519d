//! Threshold Ed25519 key custody: FROST (RFC 9591, the Zcash Foundation's `frost-ed25519`).
//!
//! * [`dkg`]: distributed key generation without a dealer, run either in one process or one
//!   participant at a time over JSON files in a shared folder. It leaves `public-key.json` (the
//!   group's Ed25519 public key) and one encrypted share per participant, `share-I.json`.
//! * [`sign`]: any `threshold` shares produce an ordinary Ed25519 signature (64 bytes, RFC 8032)
//!   that `ed25519-dalek` verifies against the group public key; in one process, or over files
//!   between separate processes (commitments, signing package, signature shares, aggregate).
//! * [`pkcs11`]: a share sealed by a PKCS#11 token's AES key (never written in plain text),
//!   and plain Ed25519 keys generated and used inside a token (`CKM_EDDSA`).
//! * [`vault`]: a share on disk, sealed by the keystore of `assay-prover` (Argon2id +
//!   AES-256-GCM), with failed unlocks counted beside it and a lock-out after five failures.
//!
//! The formats are versioned JSON with unknown fields refused; `docs/formats.md` describes them
//! and `docs/custody.md` the ceremony and the threat model.
//!
//! What is guaranteed: no single share signs (the library refuses fewer than `threshold`
//! shares, and FROST makes it impossible anyway); every signature returned has been verified
//! against the group public key with `ed25519-dalek` before it is returned; an invalid
//! signature share is reported with the participant who sent it; secret material (shares, DKG
//! state, signing nonces) is only ever written sealed under a passphrase.

pub mod dkg;
mod files;
pub mod pkcs11;
pub mod sign;
pub mod vault;

use std::path::PathBuf;

pub use assay_prover::keystore::KdfCost;

/// The ciphersuite every file names (RFC 9591, section 6.1).
pub const CIPHERSUITE: &str = "FROST-ED25519-SHA512-v1";

/// The version of every custody format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Why a custody operation failed. Every variant names what to fix; none is a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustodyError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not of the expected format (JSON error, unknown field, version, kind, bad hex,
    /// inconsistent values).
    #[error("{path}: not a valid {what}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the file should have been.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file that must not be overwritten exists already.
    #[error("{0}: exists already; refusing to overwrite it")]
    Exists(PathBuf),
    /// The parameters are not acceptable (threshold, participant numbers, share count).
    #[error("{0}")]
    Parameters(String),
    /// Fewer shares than the threshold were offered: the group key cannot sign.
    #[error("{given} share(s) given, but the group key needs {threshold} to sign: one share alone cannot sign")]
    NotEnoughShares {
        /// How many distinct shares were offered.
        given: usize,
        /// The group's threshold.
        threshold: u16,
    },
    /// A sealed file could not be opened (wrong passphrase or modified file), or the keystore
    /// refused it.
    #[error(transparent)]
    Keystore(#[from] assay_prover::keystore::KeystoreError),
    /// The vault is locked after too many failed unlocks.
    #[error("{path}: locked after {failures} failed unlocks; try again in {retry_in_secs} s (at unix time {locked_until})")]
    Locked {
        /// The share file.
        path: PathBuf,
        /// Failed unlocks counted.
        failures: u32,
        /// When the lock ends (seconds since the Unix epoch).
        locked_until: u64,
        /// Seconds from now until then.
        retry_in_secs: u64,
    },
    /// A wrong passphrase (or a modified share file); the attempt was counted.
    #[error("{path}: cannot unlock the share: wrong passphrase, or the file was modified ({failures} of {max} failed attempts{then})")]
    Unlock {
        /// The share file.
        path: PathBuf,
        /// Failed unlocks counted so far.
        failures: u32,
        /// Failures allowed before the lock-out.
        max: u32,
        /// What happens now (e.g. ", now locked for 300 s").
        then: String,
    },
    /// One or more signature shares are invalid: the participants who sent them.
    #[error(
        "invalid signature share from participant(s) {culprits:?}: the signature was not produced"
    )]
    InvalidSignatureShare {
        /// The cheating (or faulty) participants.
        culprits: Vec<u16>,
    },
    /// The DKG failed a check (a participant's proof of knowledge or secret share is invalid).
    #[error("DKG: {reason}{}", culprit_text(.culprits))]
    Dkg {
        /// What failed.
        reason: String,
        /// The participants frost blames, if any.
        culprits: Vec<u16>,
    },
    /// Signing failed for another reason (commitments not matching, message differs, ...).
    #[error("signing: {0}")]
    Signing(String),
    /// The aggregated signature does not verify with ed25519-dalek (should never happen).
    #[error("the aggregated signature does not verify against the group public key: {0}")]
    Verification(String),
    /// A PKCS#11 module or token failed or refused (names the module or token, and why).
    #[error("{what}: {reason}")]
    Pkcs11 {
        /// The module, token or key concerned.
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// The token refused the user PIN (wrong, or locked).
    #[error("{token}: {reason}")]
    TokenPin {
        /// The token (label and module).
        token: String,
        /// Why (wrong PIN, PIN locked).
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

fn culprit_text(c: &[u16]) -> String {
    if c.is_empty() {
        String::new()
    } else {
        format!(" (participant(s) {c:?})")
    }
}

/// A participant's number (1-based) as frost's identifier.
///
/// # Errors
/// [`CustodyError::Parameters`] for 0.
pub fn identifier(participant: u16) -> Result<frost_ed25519::Identifier, CustodyError> {
    frost_ed25519::Identifier::try_from(participant).map_err(|_| {
        CustodyError::Parameters(format!("participant {participant}: must be 1 or more"))
    })
}

/// The participant number of `id` among `1..=max`, if any.
pub(crate) fn participant_number(id: &frost_ed25519::Identifier, max: u16) -> Option<u16> {
    (1..=max).find(|i| identifier(*i).ok().as_ref() == Some(id))
}

/// Checks `threshold` of `participants` (2 ≤ threshold ≤ participants ≤ 255).
///
/// # Errors
/// [`CustodyError::Parameters`] naming the bound broken.
pub fn check_parameters(participants: u16, threshold: u16) -> Result<(), CustodyError> {
    if threshold < 2 {
        return Err(CustodyError::Parameters(format!(
            "threshold {threshold}: must be at least 2 (one share alone must never sign)"
        )));
    }
    if participants < threshold {
        return Err(CustodyError::Parameters(format!(
            "participants {participants}: must be at least the threshold {threshold}"
        )));
    }
    if participants > 255 {
        return Err(CustodyError::Parameters(format!(
            "participants {participants}: at most 255"
        )));
    }
    Ok(())
}

/// Maps a frost error to ours, naming culprits by participant number.
pub(crate) fn frost_error(e: frost_ed25519::Error, max: u16, context: &str) -> CustodyError {
    let culprits: Vec<u16> = e
        .culprits()
        .iter()
        .filter_map(|c| participant_number(c, max))
        .collect();
    match e {
        frost_ed25519::Error::InvalidSignatureShare { .. } => {
            CustodyError::InvalidSignatureShare { culprits }
        }
        other => CustodyError::Dkg {
            reason: format!("{context}: {other}"),
            culprits,
        },
    }
}

/// Verifies an Ed25519 `signature` on `message` under `public_key` with `ed25519-dalek`
/// (strict verification: canonical encodings, no small-order points).
///
/// # Errors
/// [`CustodyError::Verification`] if the key is not a valid point or the signature fails.
pub fn verify_ed25519(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), CustodyError> {
    let vk = ed25519_dalek::VerifyingKey::from_bytes(public_key)
        .map_err(|e| CustodyError::Verification(format!("public key: {e}")))?;
    let sig = ed25519_dalek::Signature::from_bytes(signature);
    vk.verify_strict(message, &sig)
        .map_err(|e| CustodyError::Verification(e.to_string()))
}

/// The passphrase of participant `participant`'s share: the environment variable
/// `ASSAY_PASSPHRASE_<participant>` if set, else `ASSAY_PASSPHRASE`, else a prompt on the
/// terminal (asked twice when `confirm`, for a new share).
///
/// # Errors
/// [`CustodyError::Keystore`] if the passphrase is empty, the entries differ, or there is no
/// terminal to prompt on.
pub fn share_passphrase(
    participant: u16,
    confirm: bool,
) -> Result<zeroize::Zeroizing<String>, CustodyError> {
    let var = format!("ASSAY_PASSPHRASE_{participant}");
    if let Ok(p) = std::env::var(&var) {
        if p.is_empty() {
            return Err(assay_prover::keystore::KeystoreError::Passphrase(format!(
                "{var} is set but empty"
            ))
            .into());
        }
        return Ok(zeroize::Zeroizing::new(p));
    }
    let prompt = if confirm {
        format!("New passphrase for share {participant}: ")
    } else {
        format!("Passphrase for share {participant}: ")
    };
    Ok(assay_prover::keystore::passphrase_from_env_or_prompt(
        &prompt, confirm,
    )?)
}
