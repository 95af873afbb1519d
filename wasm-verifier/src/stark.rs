//! STARK rounds (crate feature `stark`, the package `assay_wasm_verifier_stark`): a customer's
//! check of an inclusion record against a STARK round bundle whose proofs the page fetched.
//!
//! A STARK bundle names its proofs by the SHA-256 of their bytes (`proofs/<sha256>.bin` beside
//! `round.json`, `docs/formats.md`, "STARK rounds"). The page asks [`files_needed`] which files
//! a record's check reads, fetches them from wherever the round is published (the origin is not
//! trusted), and hands them over as a map `hash -> bytes`; [`FileMap`] is the
//! [`ProofSource`] over that map: it returns only bytes that hash to the name the bundle gives,
//! refuses names that are not a SHA-256 in hex, files above the verifier's size bound, and
//! names it was not given, each with the reason. The check itself is the library's
//! (`assay_verifier::solvency::verify_inclusion_with`, which dispatches STARK bundles to
//! `assay_verifier::stark::round::verify_inclusion`): the record's signature, its leaf chained
//! to the batch proof's root, the batch proof and every aggregation proof up to the top, whose
//! root must be the round's global root.

use crate::checks::{inclusion_checks, Outcome};
use assay_verifier::{
    solvency::{
        is_sha256_hex, verify_inclusion_with, InclusionRecord, ProofDir, ProofSource, RoundBundle,
        RoundOptions, MAX_PROOF_FILE_BYTES,
    },
    Backend, VerifyError,
};
use std::collections::BTreeMap;

/// The files a page gave for a STARK check: `hash -> bytes`, each hashed once when added.
/// A [`ProofSource`]: see the module.
#[derive(Debug, Default)]
pub struct FileMap {
    /// The bytes of each file, or why they are refused (not a SHA-256 name, too large, or
    /// bytes that hash to another value), by the name the caller gave.
    files: BTreeMap<String, Result<Vec<u8>, String>>,
}

impl FileMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the file the caller names `hash`. Its bytes are hashed now; a name that is not a
    /// SHA-256 in lower-case hex, a file above [`MAX_PROOF_FILE_BYTES`], or bytes that hash to
    /// another value are kept as the reason, given when (and only if) the check reads that
    /// file.
    pub fn insert(&mut self, hash: &str, bytes: Vec<u8>) {
        let entry = if !is_sha256_hex(hash) {
            Err("the name given is not a SHA-256 in lower-case hex".to_string())
        } else if bytes.len() as u64 > MAX_PROOF_FILE_BYTES {
            Err(format!(
                "{} bytes, more than the {MAX_PROOF_FILE_BYTES} a proof may have",
                bytes.len()
            ))
        } else {
            let actual = assay_verifier::sha256_hex(&bytes);
            if actual == hash {
                Ok(bytes)
            } else {
                Err(format!(
                    "the bytes given for it hash to {actual}, not to the name the bundle gives \
                     it (altered, truncated or swapped file)"
                ))
            }
        };
        self.files.insert(hash.to_string(), entry);
    }

    /// How many files were given.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file was given.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl ProofSource for FileMap {
    fn proof(&self, hash: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
        if !is_sha256_hex(hash) {
            return Err(VerifyError::ProofFile {
                proof: what.into(),
                file: format!("{hash:?}"),
                message: "the bundle's proof name is not a SHA-256 in lower-case hex".into(),
            });
        }
        let err = |message: String| VerifyError::ProofFile {
            proof: what.into(),
            file: ProofDir::relative(hash),
            message,
        };
        match self.files.get(hash) {
            Some(Ok(bytes)) => Ok(bytes.clone()),
            Some(Err(why)) => Err(err(why.clone())),
            None => Err(err(
                "not among the files given to the check (the page fetches it from beside \
                 round.json; starkFilesNeeded lists what a record's check reads)"
                    .into(),
            )),
        }
    }
}

/// The SHA-256 names of the files a customer's check of `record` reads, in the order it reads
/// them ([`assay_verifier::stark::inclusion_files`]): the batch proof of the record's batch,
/// its batch's leaves file (rounds that publish them), then one aggregation proof per level up
/// to the top. Only to decide what to fetch: the check itself verifies every file against its
/// name and everything else.
///
/// # Errors
/// The record or bundle does not parse, the bundle is not a STARK round or its structure is
/// wrong, or the record's position is outside the round.
pub fn files_needed(record: &str, round: &str) -> Result<Vec<String>, String> {
    let b = RoundBundle::parse(round.as_bytes(), "round bundle").map_err(|e| e.to_string())?;
    let r =
        InclusionRecord::parse(record.as_bytes(), "inclusion record").map_err(|e| e.to_string())?;
    if b.backend != Backend::Stark.name() {
        return Err(format!(
            "backend {}: not a STARK round (its proofs are in the bundle)",
            b.backend
        ));
    }
    assay_verifier::stark::inclusion_files(&r, &b).map_err(|e| e.to_string())
}

/// The customer's check of a STARK record (see the module) with the files of `files` (or the
/// reason the caller's value could not be read as files); `publication_key` (hex), if given,
/// must sign the round and the record.
pub fn inclusion(
    record: &str,
    round: &str,
    files: &Result<FileMap, String>,
    publication_key: Option<&str>,
) -> Outcome {
    let b = match RoundBundle::parse(round.as_bytes(), "round bundle") {
        Ok(b) => b,
        Err(e) => return Outcome::invalid(e.to_string()),
    };
    let seen = |o: Outcome| Outcome {
        publication_key: Some(b.publication_key.clone()),
        bundle_hash: Some(b.hash()),
        backend: Some(b.backend.clone()),
        ..o
    };
    if b.backend != Backend::Stark.name() {
        return seen(Outcome::invalid(format!(
            "backend {}: not a STARK round; check it with verifyInclusion",
            b.backend
        )));
    }
    let r = match InclusionRecord::parse(record.as_bytes(), "inclusion record") {
        Ok(r) => r,
        Err(e) => return seen(Outcome::invalid(e.to_string())),
    };
    let files = match files {
        Ok(f) => f,
        Err(e) => return seen(Outcome::invalid(e.clone())),
    };
    let opts = RoundOptions {
        publication_key,
        proofs: Some(files),
        ..RoundOptions::default()
    };
    let trust = Some(Backend::Stark.trust_statement().to_string());
    match verify_inclusion_with(&r, &b, &opts) {
        Ok(rep) => seen(Outcome {
            reason: None,
            checks: inclusion_checks(&rep),
            trust,
            ..Outcome::default()
        }),
        Err(e) => seen(Outcome {
            trust,
            ..Outcome::invalid(e.to_string())
        }),
    }
}
