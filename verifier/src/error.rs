//! The errors of this crate: malformed input ([`FormatError`]) and failed checks
//! ([`VerifyError`]).

/// A file or value that cannot be read as the format it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// JSON that does not parse, or does not match the schema (unknown field, missing field,
    /// wrong type); the message names the line and column.
    #[error("{what}: {message}")]
    Json {
        /// Which document.
        what: String,
        /// serde_json's message, with line and column.
        message: String,
    },
    /// A version this build does not read.
    #[error("{what}: version {found} is not supported (this build reads version {supported})")]
    Version {
        /// Which document.
        what: String,
        /// The version in the file.
        found: u32,
        /// The version understood.
        supported: u32,
    },
    /// A field whose value is malformed or out of range.
    #[error("field `{field}`: {message}")]
    Field {
        /// A path to the field (`levels[0][3].proof`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl FormatError {
    /// A malformed field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a bundle, record or proof is invalid. The message is the exact reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is malformed (see [`FormatError`]).
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A proof does not verify against its verifying key and public inputs.
    #[error(
        "{proof}: the {backend} proof does not verify against its verifying key and public inputs"
    )]
    ProofRejected {
        /// Which proof (`batch 3`, `aggregation level 1 #0`, `top`).
        proof: String,
        /// The proof system (`Groth16`, `Halo2`).
        backend: &'static str,
    },
    /// A public input differs from the value the verifier derives for it.
    #[error("{proof}: public input `{input}` is {found}, expected {expected}")]
    PublicInput {
        /// Which proof.
        proof: String,
        /// Which input (`round`, `digest`, `reserves[BTC]`).
        input: String,
        /// The value in the bundle.
        found: String,
        /// The value the verifier derived.
        expected: String,
    },
    /// The bundle's structure does not match its configuration.
    #[error("bundle structure: {0}")]
    Structure(String),
    /// A verifying key is missing, or its bytes do not match the hash it is named by.
    #[error("verifying key {hash}: {message}")]
    Key {
        /// The key's hash.
        hash: String,
        /// What is wrong.
        message: String,
    },
    /// A signature does not verify under the publisher's key.
    #[error("{what}: signature does not verify under the publication key")]
    Signature {
        /// What was signed.
        what: String,
    },
    /// The round does not follow the given previous round.
    #[error("round chain: {0}")]
    Chain(String),
    /// An inclusion record does not lead to the round's root, or does not match the round.
    #[error("inclusion: {0}")]
    Inclusion(String),
    /// The bundle or record is not the one the verifier pinned (publication key, bundle hash).
    #[error("not the pinned round: {0}")]
    Untrusted(String),
    /// The bundle names a backend this verifier does not check.
    #[error("backend `{0}` is not supported by this verifier")]
    Backend(String),
    /// A STARK proof failed: its bytes do not decode, its shape is not the one the pinned AIR
    /// and parameters produce, or it does not verify for its public values.
    #[error("{proof}: the STARK proof is refused: {message}")]
    StarkProof {
        /// Which proof.
        proof: String,
        /// The reason (malformed, wrong shape, rejected).
        message: String,
    },
    /// A proof kept in a file next to the bundle could not be read, or its bytes do not hash
    /// to the name the bundle gives it.
    #[error("{proof}: proof file {file}: {message}")]
    ProofFile {
        /// Which proof.
        proof: String,
        /// The file (relative to the bundle's folder).
        file: String,
        /// The reason.
        message: String,
    },
}
