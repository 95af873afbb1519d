//! Ed25519 signatures of the publisher (an exchange, an issuer) over Assay documents.
//!
//! A document is signed as `domain || 0x00 || canonical JSON of the document with an empty
//! signature field`, where the domain names the document type and version
//! (`assay/round/v1`), so a signature over one kind of document never verifies as another.

use crate::{FormatError, VerifyError};
use ed25519_dalek::{Signature, VerifyingKey};

/// The message signed for a document: `domain || 0x00 || body`.
pub fn message(domain: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 1 + body.len());
    m.extend_from_slice(domain.as_bytes());
    m.push(0);
    m.extend_from_slice(body);
    m
}

/// Decodes a public key from 64 hex characters.
///
/// # Errors
/// [`FormatError::Field`] naming `field`.
pub fn decode_public_key(s: &str, field: &str) -> Result<VerifyingKey, FormatError> {
    let bytes: [u8; 32] = hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| FormatError::field(field, "not 32 bytes of hex"))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| FormatError::field(field, "not a valid Ed25519 public key"))
}

/// Verifies `sig_hex` over `message(domain, body)` under `key`; `what` names the document.
///
/// # Errors
/// [`VerifyError::Format`] for a malformed signature, [`VerifyError::Signature`] if it fails.
pub fn verify(
    key: &VerifyingKey,
    domain: &str,
    body: &[u8],
    sig_hex: &str,
    what: &str,
) -> Result<(), VerifyError> {
    let bytes: [u8; 64] = hex::decode(sig_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| FormatError::field(format!("{what}.signature"), "not 64 bytes of hex"))?;
    key.verify_strict(&message(domain, body), &Signature::from_bytes(&bytes))
        .map_err(|_| VerifyError::Signature { what: what.into() })
}
