//! The public KYC formats: versioned JSON, unknown fields refused.
//!
//! Field elements are decimal strings (as snarkjs and circomlibjs print them), byte strings are
//! lower-case hex, times are RFC 3339 in UTC, days are UTC days since 1970-01-01.

use super::time;
use assay_circuits::{
    kyc::{jurisdiction::Jurisdiction, policy::PolicyTree},
    Fr, StatementField,
};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the KYC documents without per-backend values (issuer key, policy,
/// challenge, proof): written and the only one read.
pub const KYC_FORMAT_VERSION: u32 = 1;
/// The version written for the documents with per-backend values (epoch, credential, path,
/// leaves, holder file); they read version 1 too.
pub const KYC_FORMAT_V2: u32 = 2;
/// The epoch version of the first epoch signed by a new issuer key: a v2 epoch that carries
/// the [`Handover`] from the old key. Epochs without a handover are still written as v2.
pub const EPOCH_FORMAT_V3: u32 = 3;
/// The challenge version written: it names the backend its scope accepts.
pub const CHALLENGE_FORMAT_V2: u32 = 2;
/// The policy version with `dual_codes`.
pub const POLICY_FORMAT_V2: u32 = 2;
pub use crate::backend::{BACKEND_GROTH16, BACKEND_HALO2};
use crate::Backend;
use assay_circuits::field::{from_decimal, to_decimal};
use std::collections::BTreeMap;

/// Checks the syntax of a decimal field element of a backend this build may not compile
/// (digits only, no leading zero, at most 78 digits); its value is checked where it is used.
fn check_decimal(what: &'static str, field: &'static str, s: &str) -> Result<(), FormatError> {
    if s.is_empty()
        || s.len() > 78
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(field_err(
            what,
            field,
            format!("`{s}` is not a canonical decimal field element"),
        ));
    }
    Ok(())
}

/// A file that is not a valid KYC document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Not JSON of the expected shape (the message has line and column, or the unknown field).
    #[error("{what}: {message}")]
    Json {
        /// Which document.
        what: &'static str,
        /// serde's message.
        message: String,
    },
    /// A field has an invalid value.
    #[error("{what}: field `{field}`: {message}")]
    Field {
        /// Which document.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

pub(crate) fn field_err(
    what: &'static str,
    field: &'static str,
    message: impl Into<String>,
) -> FormatError {
    FormatError::Field {
        what,
        field,
        message: message.into(),
    }
}

/// Parses a JSON document of type `T` and checks its `version`.
///
/// # Errors
/// [`FormatError`] naming the document, with serde's line and column.
pub fn from_json<T: DeserializeOwned + Versioned>(
    what: &'static str,
    text: &str,
) -> Result<T, FormatError> {
    // From the bytes, as every other document is read: one JSON reader in the build.
    let doc: T = serde_json::from_slice(text.as_bytes()).map_err(|e| FormatError::Json {
        what,
        message: e.to_string(),
    })?;
    if !T::VERSIONS.contains(&doc.version()) {
        return Err(field_err(
            what,
            "version",
            format!(
                "{} is not supported (expected {})",
                doc.version(),
                T::VERSIONS
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    Ok(doc)
}

/// Documents that carry a format version.
pub trait Versioned {
    /// The versions this code reads.
    const VERSIONS: &'static [u32] = &[KYC_FORMAT_VERSION];
    /// The `version` field.
    fn version(&self) -> u32;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(impl Versioned for $t { fn version(&self) -> u32 { self.version } })*};
}
versioned!(IssuerPublic, KycProof);

impl Versioned for Challenge {
    /// Version 1 (no backend: the frozen presentations of earlier releases) and version 2
    /// (names the one backend its scope accepts).
    const VERSIONS: &'static [u32] = &[KYC_FORMAT_VERSION, CHALLENGE_FORMAT_V2];
    fn version(&self) -> u32 {
        self.version
    }
}

impl Versioned for Policy {
    /// Version 1 and version 2 (adds `dual_codes`, the policy author's choice for codes that
    /// ISO lists both as a country and as another country's subdivision).
    const VERSIONS: &'static [u32] = &[KYC_FORMAT_VERSION, POLICY_FORMAT_V2];
    fn version(&self) -> u32 {
        self.version
    }
}

macro_rules! versioned_v2 {
    ($($t:ty),*) => {$(impl Versioned for $t {
        const VERSIONS: &'static [u32] = &[KYC_FORMAT_VERSION, KYC_FORMAT_V2];
        fn version(&self) -> u32 { self.version }
    })*};
}
versioned_v2!(EpochLeaves, Credential, RegistryPath);

impl Versioned for Epoch {
    /// Versions 1 and 2, and version 3 (a v2 epoch that carries a key [`Handover`]).
    const VERSIONS: &'static [u32] = &[KYC_FORMAT_VERSION, KYC_FORMAT_V2, EPOCH_FORMAT_V3];
    fn version(&self) -> u32 {
        self.version
    }
}

/// A proof's challenge nonce: 31 bytes as hex.
///
/// # Errors
/// [`FormatError`] naming `public_inputs.challenge`.
#[cfg(feature = "stark")]
pub(crate) fn parse_nonce(s: &str) -> Result<[u8; 31], FormatError> {
    hex_array::<31>("proof", "public_inputs.challenge", s)
}

fn hex_array<const N: usize>(
    what: &'static str,
    field: &'static str,
    s: &str,
) -> Result<[u8; N], FormatError> {
    let v = hex::decode(s).map_err(|e| field_err(what, field, format!("not hex: {e}")))?;
    v.try_into()
        .map_err(|v: Vec<u8>| field_err(what, field, format!("{} bytes, expected {N}", v.len())))
}

/// `ISSUER_PUBLIC.json`: what a relying party trusts about an issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerPublic {
    /// Format version.
    pub version: u32,
    /// The issuer's name, signed into every epoch.
    pub issuer_id: String,
    /// The Ed25519 public key (hex, 32 bytes).
    pub public_key: String,
    /// The Groth16 verifying key of the KYC circuit (hex of its compressed serialization).
    pub verifying_key: String,
    /// SHA-256 of the verifying key's bytes (hex): the name of the key pair.
    pub vk_hash: String,
}

impl IssuerPublic {
    /// The Ed25519 key.
    ///
    /// # Errors
    /// [`FormatError`] if it is not a valid point.
    pub fn key(&self) -> Result<VerifyingKey, FormatError> {
        let b = hex_array::<32>("issuer key", "public_key", &self.public_key)?;
        VerifyingKey::from_bytes(&b)
            .map_err(|e| field_err("issuer key", "public_key", e.to_string()))
    }
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Per-backend values of a document, keyed by backend name in JSON
/// (`{"groth16-bn254": …, "halo2-ipa-pasta": …}`), in [`Backend`]'s order.
pub type BackendMap<T> = BTreeMap<Backend, T>;

/// Checks a per-backend decimal: the Groth16 one is parsed as a BN254 element, the others
/// (whose field this build may not compile) are checked for syntax.
fn check_backend_decimal(
    what: &'static str,
    field: &'static str,
    backend: Backend,
    s: &str,
) -> Result<(), FormatError> {
    match backend {
        Backend::Groth16 => parse_decimal::<Fr>(what, field, s).map(|_| ()),
        Backend::Stark => super::stark_text::parse_digest_decimal(s)
            .map(|_| ())
            .ok_or_else(|| {
                field_err(
                    what,
                    field,
                    format!(
                        "`{s}` is not a STARK digest (the decimal of 8 KoalaBear elements as one \
                         256-bit integer)"
                    ),
                )
            }),
        _ => check_decimal(what, field, s),
    }
}

/// Parses a canonical decimal element of `F`, naming the document and field on error.
fn parse_decimal<F: StatementField>(
    what: &'static str,
    field: &'static str,
    s: &str,
) -> Result<F, FormatError> {
    from_decimal::<F>(s).ok_or_else(|| {
        field_err(
            what,
            field,
            format!("`{s}` is not a canonical decimal element of the backend's field"),
        )
    })
}

/// The domain separator of the v1 epoch message.
const EPOCH_DOMAIN_V1: &[u8] = b"assay/kyc/epoch/v1\0";
/// The domain separator of the v2 epoch message.
const EPOCH_DOMAIN_V2: &[u8] = b"assay/kyc/epoch/v2\0";
/// The domain separator of the v3 epoch message (an epoch with a handover).
const EPOCH_DOMAIN_V3: &[u8] = b"assay/kyc/epoch/v3\0";
/// The domain separator of the message the old key signs in a [`Handover`].
const HANDOVER_DOMAIN_V1: &[u8] = b"assay/kyc/key-handover/v1\0";

/// A key handover: the issuer's key in force until now (`old_key`) names its successor
/// (`new_key`) from the epoch that carries it on.
///
/// It is carried by the first epoch the new key signs (a version 3 [`Epoch`]), so it is part
/// of the epoch hash chain. Two signatures make it:
/// * the **old key** signs [`Epoch::handover_message`]: the issuer id, the number of the epoch
///   from which the new key signs, the hash of the epoch before it (the last one the old key
///   signed), both keys, the time and the reason. This is the handover proper: only the key
///   in force can hand over, and at one point of the chain only;
/// * the **new key** signs the whole v3 epoch, whose message covers every field here and the
///   old key's signature: its proof of possession, and its acceptance of the chain so far.
///
/// From that epoch on, every epoch must be signed by the new key; the old key's signatures on
/// later epochs are refused, and a second handover by the old key is refused as a fork.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// The key handing over (hex, 32 bytes): it signed the epochs before this one.
    pub old_key: String,
    /// The new key (hex, 32 bytes): it signs this epoch and the later ones.
    pub new_key: String,
    /// Why (free text, at most 256 bytes, no control characters): `scheduled`, `moved to a
    /// threshold group`, `suspected compromise`.
    pub reason: String,
    /// When the old key signed the handover (RFC 3339, UTC).
    pub time: String,
    /// The old key's Ed25519 signature over [`Epoch::handover_message`] (hex, 64 bytes).
    pub signature: String,
}

/// A handover's checked keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoverKeys {
    /// The key handing over.
    pub old: VerifyingKey,
    /// Its successor.
    pub new: VerifyingKey,
}

impl Handover {
    fn key(field: &'static str, hex: &str) -> Result<VerifyingKey, FormatError> {
        let b = hex_array::<32>("epoch", field, hex)?;
        VerifyingKey::from_bytes(&b).map_err(|e| field_err("epoch", field, e.to_string()))
    }

    /// Checks the fields' syntax: two valid, different keys, the time, the reason.
    ///
    /// # Errors
    /// [`FormatError`] naming the field (`handover.old_key`, ...).
    pub fn keys(&self) -> Result<HandoverKeys, FormatError> {
        let old = Self::key("handover.old_key", &self.old_key)?;
        let new = Self::key("handover.new_key", &self.new_key)?;
        if old == new {
            return Err(field_err(
                "epoch",
                "handover.new_key",
                "the same key as `old_key`: a handover names another key",
            ));
        }
        if self.reason.len() > 256 || self.reason.chars().any(char::is_control) {
            return Err(field_err(
                "epoch",
                "handover.reason",
                "longer than 256 bytes or with control characters",
            ));
        }
        time::parse_rfc3339(&self.time)
            .map_err(|e| field_err("epoch", "handover.time", e.to_string()))?;
        hex_array::<64>("epoch", "handover.signature", &self.signature)?;
        Ok(HandoverKeys { old, new })
    }
}

/// `EPOCH.json`: a signed registry root per backend.
///
/// The signature is Ed25519 over [`Epoch::message`]; the epoch's hash ([`Epoch::hash`]),
/// which the next epoch names as `prev_epoch_hash`, is SHA-256 of the same message, so the
/// epochs form a hash chain that cannot be rewritten without re-signing everything after.
/// A v1 epoch (`root`, optional `root_halo2`) and a v2 epoch (`roots`) chain alike: each
/// names the hash of its predecessor's own message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EpochWire", into = "EpochWire")]
pub struct Epoch {
    /// Format version (1 or 2; 2 is written).
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The epoch number (0 for the first).
    pub epoch: u64,
    /// The registry root `R` of each backend the issuer supports (decimal, in that backend's
    /// field). Signed, every entry.
    pub roots: BackendMap<String>,
    /// When the epoch was published (RFC 3339, UTC).
    pub time: String,
    /// The hash of the previous epoch (hex), `null` for epoch 0.
    pub prev_epoch_hash: Option<String>,
    /// Ed25519 signature over [`Epoch::message`] (hex, 64 bytes): by the key in force at this
    /// epoch (the issuer's first key, or the `new_key` of the latest handover up to here).
    pub signature: String,
    /// Version 3 only: the handover from the key in force before this epoch to the key that
    /// signs it ([`Handover`]).
    pub handover: Option<Handover>,
}

/// The JSON of an epoch, any version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EpochWire {
    version: u32,
    issuer_id: String,
    epoch: u64,
    /// v1: the Groth16 root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    /// v1: the Halo2 root, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root_halo2: Option<String>,
    /// v2: every root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    roots: Option<BackendMap<String>>,
    time: String,
    prev_epoch_hash: Option<String>,
    signature: String,
    /// v3: the key handover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    handover: Option<Handover>,
}

/// v1 `root` (Groth16) and `root_halo2` into a map, refusing the v2 field.
fn v1_pair<T>(
    version: u32,
    v1: Option<T>,
    v1_halo2: Option<T>,
    v2_present: bool,
    v1_name: &str,
    v2_name: &str,
) -> Result<BackendMap<T>, String> {
    if v2_present {
        return Err(format!(
            "`{v2_name}` is a v2 field; version {version} has `{v1_name}`"
        ));
    }
    let first = v1.ok_or_else(|| format!("missing field `{v1_name}`"))?;
    let mut m = BackendMap::from([(Backend::Groth16, first)]);
    if let Some(h) = v1_halo2 {
        m.insert(Backend::Halo2, h);
    }
    Ok(m)
}

/// The v2 map, refusing the v1 fields.
fn v2_map<T>(
    version: u32,
    map: Option<BackendMap<T>>,
    v1_present: bool,
    v1_name: &str,
    v2_name: &str,
) -> Result<BackendMap<T>, String> {
    if v1_present {
        return Err(format!(
            "`{v1_name}` is a v1 field; version {version} has `{v2_name}`"
        ));
    }
    let m = map.ok_or_else(|| format!("missing field `{v2_name}`"))?;
    if m.is_empty() {
        return Err(format!("`{v2_name}` names no backend"));
    }
    Ok(m)
}

impl TryFrom<EpochWire> for Epoch {
    type Error = String;
    fn try_from(w: EpochWire) -> Result<Self, String> {
        match (w.version, w.handover.is_some()) {
            (EPOCH_FORMAT_V3, false) => {
                return Err("missing field `handover` (a version 3 epoch carries one)".into())
            }
            (v, true) if v != EPOCH_FORMAT_V3 => {
                return Err(format!(
                    "`handover` is a version 3 field; this epoch is version {v}"
                ))
            }
            _ => {}
        }
        let roots = if w.version == 1 {
            v1_pair(
                w.version,
                w.root,
                w.root_halo2,
                w.roots.is_some(),
                "root",
                "roots",
            )?
        } else {
            let v1 = w.root.is_some() || w.root_halo2.is_some();
            v2_map(w.version, w.roots, v1, "root", "roots")?
        };
        Ok(Self {
            version: w.version,
            issuer_id: w.issuer_id,
            epoch: w.epoch,
            roots,
            time: w.time,
            prev_epoch_hash: w.prev_epoch_hash,
            signature: w.signature,
            handover: w.handover,
        })
    }
}

impl From<Epoch> for EpochWire {
    fn from(e: Epoch) -> Self {
        let mut roots = e.roots;
        let (root, root_halo2, roots) = if e.version == 1 {
            (
                roots.remove(&Backend::Groth16),
                roots.remove(&Backend::Halo2),
                None,
            )
        } else {
            (None, None, Some(roots))
        };
        Self {
            version: e.version,
            issuer_id: e.issuer_id,
            epoch: e.epoch,
            root,
            root_halo2,
            roots,
            time: e.time,
            prev_epoch_hash: e.prev_epoch_hash,
            signature: e.signature,
            handover: e.handover,
        }
    }
}

/// An epoch whose fields have been checked (not its signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochFields {
    /// Unix seconds.
    pub time: i64,
    /// The previous epoch's hash (zeros for none).
    pub prev: [u8; 32],
}

impl Epoch {
    /// The registry root of `backend` (decimal), if the epoch has one.
    pub fn root_for(&self, backend: Backend) -> Option<&str> {
        self.roots.get(&backend).map(String::as_str)
    }

    /// The message the old key signs in this epoch's [`Handover`]:
    /// `"assay/kyc/key-handover/v1\0"`, the issuer id (u32 big-endian length, bytes), this
    /// epoch's number (u64 BE: the first the new key signs), the previous epoch's hash (32
    /// bytes: the last epoch the old key signed), the old key (32 bytes), the new key (32
    /// bytes), the handover's time (i64 BE), the reason (u32 BE length, bytes).
    ///
    /// # Errors
    /// [`FormatError`] if the epoch has no handover, or a field is malformed.
    pub fn handover_message(&self) -> Result<Vec<u8>, FormatError> {
        let h = self
            .handover
            .as_ref()
            .ok_or_else(|| field_err("epoch", "handover", "this epoch has none"))?;
        let f = self.fields()?;
        let keys = h.keys()?;
        let t = time::parse_rfc3339(&h.time)
            .map_err(|e| field_err("epoch", "handover.time", e.to_string()))?;
        let mut m = HANDOVER_DOMAIN_V1.to_vec();
        m.extend_from_slice(&(self.issuer_id.len() as u32).to_be_bytes());
        m.extend_from_slice(self.issuer_id.as_bytes());
        m.extend_from_slice(&self.epoch.to_be_bytes());
        m.extend_from_slice(&f.prev);
        m.extend_from_slice(keys.old.as_bytes());
        m.extend_from_slice(keys.new.as_bytes());
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&(h.reason.len() as u32).to_be_bytes());
        m.extend_from_slice(h.reason.as_bytes());
        Ok(m)
    }

    /// Checks this epoch's handover: its old key's signature over
    /// [`Self::handover_message`]. Returns the handover's keys, or `None` for an epoch
    /// without one. (The new key's signature is the epoch's own, checked with
    /// [`Self::verify_signature`].)
    ///
    /// # Errors
    /// [`FormatError`] for bad syntax; [`HandoverError::Signature`] if the old key did not
    /// sign it.
    pub fn verify_handover(&self) -> Result<Option<HandoverKeys>, HandoverError> {
        let Some(h) = &self.handover else {
            return Ok(None);
        };
        let msg = self.handover_message()?;
        let keys = h.keys()?;
        let sig = hex_array::<64>("epoch", "handover.signature", &h.signature)?;
        if keys
            .old
            .verify_strict(&msg, &Signature::from_bytes(&sig))
            .is_err()
        {
            return Err(HandoverError::Signature {
                epoch: self.epoch,
                old_key: h.old_key.clone(),
            });
        }
        Ok(Some(keys))
    }

    /// The registry root of `backend` as an element of its field `F`.
    ///
    /// # Errors
    /// [`FormatError`] if the epoch has no root for `backend` or it is not an element of `F`.
    pub fn root_in<F: StatementField>(&self, backend: Backend) -> Result<F, FormatError> {
        let r = self.root_for(backend).ok_or_else(|| {
            field_err("epoch", "roots", format!("no {backend} root in this epoch"))
        })?;
        parse_decimal("epoch", "roots", r)
    }

    /// Checks the fields' syntax.
    ///
    /// # Errors
    /// [`FormatError`] naming the field.
    pub fn fields(&self) -> Result<EpochFields, FormatError> {
        let time = time::parse_rfc3339(&self.time)
            .map_err(|e| field_err("epoch", "time", e.to_string()))?;
        let prev = match (&self.prev_epoch_hash, self.epoch) {
            (None, 0) => [0u8; 32],
            (None, _) => {
                return Err(field_err(
                    "epoch",
                    "prev_epoch_hash",
                    "missing (only epoch 0 has none)",
                ))
            }
            (Some(h), _) => hex_array::<32>("epoch", "prev_epoch_hash", h)?,
        };
        if self.issuer_id.is_empty() || self.issuer_id.len() > 256 {
            return Err(field_err(
                "epoch",
                "issuer_id",
                "empty or longer than 256 bytes",
            ));
        }
        if self.roots.is_empty() {
            return Err(field_err("epoch", "roots", "no backend"));
        }
        for (b, r) in &self.roots {
            check_backend_decimal("epoch", "roots", *b, r)?;
        }
        match (&self.handover, self.version) {
            (Some(_), EPOCH_FORMAT_V3) if self.epoch == 0 => {
                return Err(field_err(
                    "epoch",
                    "handover",
                    "epoch 0 cannot carry a handover: a key hands over after an epoch it signed",
                ))
            }
            (Some(h), EPOCH_FORMAT_V3) => {
                h.keys()?;
            }
            (None, EPOCH_FORMAT_V3) => {
                return Err(field_err(
                    "epoch",
                    "handover",
                    "missing (a version 3 epoch carries one)",
                ))
            }
            (Some(_), v) => {
                return Err(field_err(
                    "epoch",
                    "handover",
                    format!("a version 3 field; this epoch is version {v}"),
                ))
            }
            (None, _) => {}
        }
        Ok(EpochFields { time, prev })
    }

    /// The signed message.
    ///
    /// **v1** (unchanged, so that v1 signatures still verify): `"assay/kyc/epoch/v1\0"`, the
    /// issuer id (u32 big-endian length, bytes), the epoch (u64 BE), the Groth16 root (32
    /// bytes, little-endian), the time (i64 BE), the previous hash (32 bytes); an epoch with a
    /// Halo2 root appends `"\0halo2-ipa-pasta\0"`, its length (u32 BE) and its decimal bytes.
    ///
    /// **v2**: `"assay/kyc/epoch/v2\0"`, the issuer id (u32 BE length, bytes), the epoch (u64
    /// BE), the number of roots (u32 BE), then for each backend in the order of its name's
    /// bytes: the name and the decimal root, each as u32 BE length and bytes; then the time
    /// (i64 BE) and the previous hash (32 bytes). Every entry of `roots` is covered.
    ///
    /// **v3** (an epoch with a [`Handover`]): the v2 message with the domain
    /// `"assay/kyc/epoch/v3\0"`, followed by `"\0handover\0"`, the old key (32 bytes), the new
    /// key (32 bytes), the handover's time (i64 BE), the reason (u32 BE length, bytes) and the
    /// old key's signature (64 bytes). The new key signs this message, so its signature covers
    /// the whole handover.
    ///
    /// # Errors
    /// [`FormatError`] from [`Self::fields`], an unknown version, or a v1 epoch with a root
    /// of a backend v1 cannot sign.
    pub fn message(&self) -> Result<Vec<u8>, FormatError> {
        let f = self.fields()?;
        let mut m = match self.version {
            1 => EPOCH_DOMAIN_V1.to_vec(),
            2 => EPOCH_DOMAIN_V2.to_vec(),
            EPOCH_FORMAT_V3 => EPOCH_DOMAIN_V3.to_vec(),
            v => {
                return Err(field_err(
                    "epoch",
                    "version",
                    format!("{v} is not supported (expected 1, 2 or 3)"),
                ))
            }
        };
        m.extend_from_slice(&(self.issuer_id.len() as u32).to_be_bytes());
        m.extend_from_slice(self.issuer_id.as_bytes());
        m.extend_from_slice(&self.epoch.to_be_bytes());
        if self.version == 1 {
            if self
                .roots
                .keys()
                .any(|b| !matches!(b, Backend::Groth16 | Backend::Halo2))
            {
                return Err(field_err(
                    "epoch",
                    "roots",
                    "a v1 epoch has Groth16 and Halo2 roots only",
                ));
            }
            use ark_serialize::CanonicalSerialize;
            let root: Fr = self.root_in(Backend::Groth16)?;
            let mut bytes = Vec::with_capacity(32);
            // Serializing a field element into a Vec cannot fail.
            let _ = root.serialize_compressed(&mut bytes);
            m.extend_from_slice(&bytes);
            m.extend_from_slice(&f.time.to_be_bytes());
            m.extend_from_slice(&f.prev);
            if let Some(r) = self.root_for(Backend::Halo2) {
                m.extend_from_slice(b"\0");
                m.extend_from_slice(BACKEND_HALO2.as_bytes());
                m.extend_from_slice(b"\0");
                m.extend_from_slice(&(r.len() as u32).to_be_bytes());
                m.extend_from_slice(r.as_bytes());
            }
        } else {
            let mut entries: Vec<(&str, &str)> = self
                .roots
                .iter()
                .map(|(b, r)| (b.name(), r.as_str()))
                .collect();
            entries.sort_unstable();
            m.extend_from_slice(&(entries.len() as u32).to_be_bytes());
            for (name, root) in entries {
                m.extend_from_slice(&(name.len() as u32).to_be_bytes());
                m.extend_from_slice(name.as_bytes());
                m.extend_from_slice(&(root.len() as u32).to_be_bytes());
                m.extend_from_slice(root.as_bytes());
            }
            m.extend_from_slice(&f.time.to_be_bytes());
            m.extend_from_slice(&f.prev);
            if let Some(h) = &self.handover {
                // v3: the handover, the old key's signature included.
                let keys = h.keys()?;
                let t = time::parse_rfc3339(&h.time)
                    .map_err(|e| field_err("epoch", "handover.time", e.to_string()))?;
                let sig = hex_array::<64>("epoch", "handover.signature", &h.signature)?;
                m.extend_from_slice(b"\0handover\0");
                m.extend_from_slice(keys.old.as_bytes());
                m.extend_from_slice(keys.new.as_bytes());
                m.extend_from_slice(&t.to_be_bytes());
                m.extend_from_slice(&(h.reason.len() as u32).to_be_bytes());
                m.extend_from_slice(h.reason.as_bytes());
                m.extend_from_slice(&sig);
            }
        }
        Ok(m)
    }

    /// SHA-256 of [`Self::message`], hex: what the next epoch names as its predecessor.
    ///
    /// # Errors
    /// As [`Self::message`].
    pub fn hash(&self) -> Result<String, FormatError> {
        Ok(sha256_hex(&self.message()?))
    }

    /// Checks the signature with `key`.
    ///
    /// # Errors
    /// [`FormatError`] for bad syntax. A well-formed but wrong signature is `Ok(false)`; the
    /// callers ([`super::verify`], [`verify_epoch_chain`]) turn it into an error at once.
    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<bool, FormatError> {
        let msg = self.message()?;
        let sig = hex_array::<64>("epoch", "signature", &self.signature)?;
        Ok(key.verify(&msg, &Signature::from_bytes(&sig)).is_ok())
    }
}

/// Why an epoch's [`Handover`] is refused on its own (before the chain is followed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandoverError {
    /// A field is malformed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The handover is not signed by the key it names as `old_key`.
    #[error("epoch {epoch}: the handover is not signed by the key it hands over from ({old_key})")]
    Signature {
        /// The epoch carrying it.
        epoch: u64,
        /// The key it names as the old one (hex).
        old_key: String,
    },
}

/// Why a sequence of epochs is not an unbroken signed chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EpochChainError {
    /// An epoch is malformed.
    #[error("epoch #{index}: {source}")]
    Format {
        /// Its position in the sequence.
        index: usize,
        /// What is wrong.
        source: FormatError,
    },
    /// An epoch is not signed by the key in force at its number.
    #[error("epoch {0}: bad signature")]
    Signature(u64),
    /// An epoch is signed by a key that handed over before it: a retired key signs nothing
    /// after its handover (a stolen retired key could).
    #[error("epoch {epoch}: signed by key {key}, which handed over to another key from epoch {handover_epoch}: a key's signatures after its handover are refused")]
    RetiredKey {
        /// The epoch.
        epoch: u64,
        /// The retired key that signed it (hex).
        key: String,
        /// The epoch whose handover retired it.
        handover_epoch: u64,
    },
    /// A handover's old key did not sign it.
    #[error("{0}")]
    HandoverSignature(String),
    /// A handover is signed by a key that is not the one in force before it.
    #[error("epoch {epoch}: the handover is from key {signer}, but the key in force before epoch {epoch} is {current}: only the current key hands over")]
    HandoverNotCurrent {
        /// The epoch carrying the handover.
        epoch: u64,
        /// The key that signed the handover (hex).
        signer: String,
        /// The key in force (hex).
        current: String,
    },
    /// Two different handovers from one key: the key was used twice (a stolen retired key
    /// signing a second handover, to a key of the thief's).
    #[error("key {key} handed over twice, in epoch {first} and in epoch {second}: a forked handover (the retired key signed a second one)")]
    HandoverFork {
        /// The key (hex).
        key: String,
        /// The epoch of its first handover.
        first: u64,
        /// The epoch of the other.
        second: u64,
    },
    /// A handover names, as the new key, a key the chain has already used.
    #[error("epoch {epoch}: the handover names key {key}, which this chain has already used: a retired key never comes back")]
    KeyReused {
        /// The epoch carrying the handover.
        epoch: u64,
        /// The key (hex).
        key: String,
    },
    /// The pinned key is none of the chain's keys.
    #[error("the chain starts at key {first} and its keys are {keys}; the pinned issuer key {pinned} is none of them")]
    UntrustedStart {
        /// The key the chain starts at (hex).
        first: String,
        /// Every key of the chain, in order (hex, comma-separated).
        keys: String,
        /// The key the relying party pinned (hex).
        pinned: String,
    },
    /// Two epochs are not consecutive (or of different issuers).
    #[error("epoch {epoch} follows epoch {prev}: numbers must be consecutive")]
    NotConsecutive {
        /// The later epoch.
        epoch: u64,
        /// The one before it in the sequence.
        prev: u64,
    },
    /// An epoch does not name its predecessor's hash.
    #[error("epoch {epoch}: prev_epoch_hash does not match epoch {prev}")]
    PrevHash {
        /// The later epoch.
        epoch: u64,
        /// Its predecessor.
        prev: u64,
    },
    /// An epoch is dated before its predecessor.
    #[error("epoch {0}: time goes backwards")]
    TimeBackwards(u64),
    /// Two different signed epochs carry the same number: the issuer forked its chain (and
    /// could show each holder or relying party its own branch).
    #[error("epoch {epoch}: fork: `{first}` and `{second}` are two different signed epochs with this number")]
    Fork {
        /// The epoch number.
        epoch: u64,
        /// Where the first one was read.
        first: String,
        /// Where the other one was read.
        second: String,
    },
    /// No epoch at all.
    #[error("the published chain holds no epoch")]
    Empty,
}

/// Which key signs which epochs: the first key, then each handover's new key from its epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchedule {
    /// `(first epoch it signs, key)`, in order; the first entry's epoch is the chain's first
    /// epoch (every earlier number is signed by the first key too).
    keys: Vec<(u64, [u8; 32])>,
}

impl KeySchedule {
    /// The key in force at epoch `n` (for numbers past the chain's end: its latest key).
    pub fn key_for(&self, n: u64) -> Option<VerifyingKey> {
        let k = self
            .keys
            .iter()
            .rev()
            .find(|(from, _)| *from <= n)
            .or(self.keys.first())?;
        VerifyingKey::from_bytes(&k.1).ok()
    }

    /// Every key of the chain, oldest first.
    pub fn keys(&self) -> Vec<VerifyingKey> {
        self.keys
            .iter()
            .filter_map(|(_, k)| VerifyingKey::from_bytes(k).ok())
            .collect()
    }

    /// The epochs where a handover took effect (each the first epoch its new key signs).
    pub fn handover_epochs(&self) -> Vec<u64> {
        self.keys.iter().skip(1).map(|(n, _)| *n).collect()
    }
}

/// An issuer's published epoch chain, checked once ([`PublishedEpochs::verify`]): the epochs a
/// relying party accepts. An epoch signed by the issuer but absent from the chain it published
/// (one made for a single holder's path request, which would tag that holder) is refused by
/// [`super::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedEpochs {
    /// The key the relying party pinned (bytes): the chain's first key, or a later one.
    key: [u8; 32],
    /// Which key signs which epoch (more than one after a key rotation).
    schedule: KeySchedule,
    /// Epoch number -> its hash.
    hashes: BTreeMap<u64, String>,
}

/// Whether a copy of epoch `e` is signed, for a fork report: its handover (if any) by its old
/// key and the epoch by one of `keys` (a retired key's signature counts: that is the fork).
fn signed_by_any(e: &Epoch, keys: &[VerifyingKey]) -> Result<bool, FormatError> {
    match e.verify_handover() {
        Ok(_) => {}
        Err(HandoverError::Format(f)) => return Err(f),
        Err(HandoverError::Signature { .. }) => return Ok(false),
    }
    for k in keys {
        if e.verify_signature(k)? {
            return Ok(true);
        }
    }
    Ok(false)
}

impl PublishedEpochs {
    /// Checks `epochs` (in any order, each with the name of the file it was read from) as one
    /// unbroken chain followed from the pinned `key` through its key handovers
    /// ([`verify_epoch_chain`]); two different epochs with one number are reported as a
    /// fork, naming both sources. Identical copies are one epoch.
    ///
    /// # Errors
    /// [`EpochChainError`] naming the first bad epoch.
    pub fn verify(
        mut epochs: Vec<(String, Epoch)>,
        key: &VerifyingKey,
    ) -> Result<Self, EpochChainError> {
        if epochs.is_empty() {
            return Err(EpochChainError::Empty);
        }
        epochs.sort_by(|a, b| a.1.epoch.cmp(&b.1.epoch).then_with(|| a.0.cmp(&b.0)));
        // The keys a copy may be signed with: the pinned one and every handover's.
        let mut keys = vec![*key];
        for (_, e) in &epochs {
            if let Some(h) = &e.handover {
                if let Ok(k) = h.keys() {
                    keys.extend([k.old, k.new]);
                }
            }
        }
        let mut chain: Vec<(String, Epoch)> = Vec::with_capacity(epochs.len());
        for (index, (name, e)) in epochs.into_iter().enumerate() {
            if let Some((pname, p)) = chain.last() {
                if p.epoch == e.epoch {
                    if p.hash() == e.hash() && p.signature == e.signature {
                        continue;
                    }
                    for x in [p, &e] {
                        if !signed_by_any(x, &keys)
                            .map_err(|source| EpochChainError::Format { index, source })?
                        {
                            return Err(EpochChainError::Signature(x.epoch));
                        }
                    }
                    return Err(EpochChainError::Fork {
                        epoch: e.epoch,
                        first: pname.clone(),
                        second: name,
                    });
                }
            }
            chain.push((name, e));
        }
        let list: Vec<Epoch> = chain.into_iter().map(|(_, e)| e).collect();
        let schedule = follow_epoch_chain(&list, key)?;
        let mut hashes = BTreeMap::new();
        for (index, e) in list.iter().enumerate() {
            let h = e
                .hash()
                .map_err(|source| EpochChainError::Format { index, source })?;
            hashes.insert(e.epoch, h);
        }
        Ok(Self {
            key: key.to_bytes(),
            schedule,
            hashes,
        })
    }

    /// Whether `epoch` is one of the chain's epochs (same number and same signed content).
    pub fn contains(&self, epoch: &Epoch) -> bool {
        epoch
            .hash()
            .is_ok_and(|h| self.hashes.get(&epoch.epoch) == Some(&h))
    }

    /// Whether the chain was verified with `key` pinned (the issuer key the relying party
    /// trusts; after a rotation, not necessarily the key that signs the latest epochs).
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        self.key == key.to_bytes()
    }

    /// The key that signs epoch `n` in this chain (the pinned key's successors included).
    pub fn key_for(&self, n: u64) -> Option<VerifyingKey> {
        self.schedule.key_for(n)
    }

    /// Which key signs which epochs.
    pub fn schedule(&self) -> &KeySchedule {
        &self.schedule
    }

    /// The first and last epoch numbers.
    pub fn range(&self) -> (u64, u64) {
        let first = self.hashes.keys().next().copied().unwrap_or(0);
        let last = self.hashes.keys().next_back().copied().unwrap_or(0);
        (first, last)
    }

    /// The number of epochs.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the chain is empty (never, once verified).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// A chain that contains nothing, for tests that fail before the chain is consulted.
    #[cfg(test)]
    pub(crate) fn none() -> Self {
        Self {
            key: [0; 32],
            schedule: KeySchedule { keys: Vec::new() },
            hashes: BTreeMap::new(),
        }
    }
}

/// Checks that `epochs` (oldest first) form an unbroken signed chain from the pinned `key`:
/// consecutive numbers, each naming its predecessor's hash, times non-decreasing, each signed
/// by the key in force at its number. v1, v2 and v3 epochs may follow each other.
///
/// The key in force is the chain's first key until a version 3 epoch carries a [`Handover`],
/// then the handover's new key from that epoch on. A handover must be signed by the key in
/// force before it; a key hands over once (a second handover by it is a fork) and never comes
/// back; an epoch signed by a retired key after its handover is refused. The chain's first key
/// is the old key of its first handover (or the pinned key if there is none), and the pinned
/// key must be one of the chain's keys: a relying party may pin the issuer's original key or
/// any later one it trusts.
///
/// # Errors
/// [`EpochChainError`] naming the first bad epoch.
pub fn verify_epoch_chain(epochs: &[Epoch], key: &VerifyingKey) -> Result<(), EpochChainError> {
    follow_epoch_chain(epochs, key).map(|_| ())
}

/// [`verify_epoch_chain`], returning the key schedule.
///
/// # Errors
/// As [`verify_epoch_chain`].
pub fn follow_epoch_chain(
    epochs: &[Epoch],
    key: &VerifyingKey,
) -> Result<KeySchedule, EpochChainError> {
    // The chain's keys as it claims them (checked below, epoch by epoch).
    let mut claimed = Vec::new();
    for (index, e) in epochs.iter().enumerate() {
        if let Some(h) = &e.handover {
            let k = h
                .keys()
                .map_err(|source| EpochChainError::Format { index, source })?;
            if claimed.is_empty() {
                claimed.push(k.old);
            }
            claimed.push(k.new);
        }
    }
    if claimed.is_empty() {
        claimed.push(*key);
    }
    if !claimed.contains(key) {
        return Err(EpochChainError::UntrustedStart {
            first: hex::encode(claimed[0].as_bytes()),
            keys: claimed
                .iter()
                .map(|k| hex::encode(k.as_bytes()))
                .collect::<Vec<_>>()
                .join(", "),
            pinned: hex::encode(key.as_bytes()),
        });
    }
    let mut current = claimed[0];
    let mut schedule = KeySchedule {
        keys: vec![(epochs.first().map_or(0, |e| e.epoch), current.to_bytes())],
    };
    // Retired keys: (key, the epoch of its handover).
    let mut retired: Vec<(VerifyingKey, u64)> = Vec::new();
    let mut prev: Option<(&Epoch, i64, String)> = None;
    for (index, e) in epochs.iter().enumerate() {
        let fmt = |source| EpochChainError::Format { index, source };
        let f = e.fields().map_err(fmt)?;
        let handover = e.verify_handover().map_err(|err| match err {
            HandoverError::Format(source) => fmt(source),
            other => EpochChainError::HandoverSignature(other.to_string()),
        })?;
        if let Some(k) = handover {
            if let Some((_, first)) = retired.iter().find(|(r, _)| *r == k.old) {
                return Err(EpochChainError::HandoverFork {
                    key: hex::encode(k.old.as_bytes()),
                    first: *first,
                    second: e.epoch,
                });
            }
            if k.old != current {
                return Err(EpochChainError::HandoverNotCurrent {
                    epoch: e.epoch,
                    signer: hex::encode(k.old.as_bytes()),
                    current: hex::encode(current.as_bytes()),
                });
            }
            if retired.iter().any(|(r, _)| *r == k.new) {
                return Err(EpochChainError::KeyReused {
                    epoch: e.epoch,
                    key: hex::encode(k.new.as_bytes()),
                });
            }
            retired.push((current, e.epoch));
            current = k.new;
            schedule.keys.push((e.epoch, current.to_bytes()));
        }
        if !e.verify_signature(&current).map_err(fmt)? {
            for (r, at) in &retired {
                if e.verify_signature(r).map_err(fmt)? {
                    return Err(EpochChainError::RetiredKey {
                        epoch: e.epoch,
                        key: hex::encode(r.as_bytes()),
                        handover_epoch: *at,
                    });
                }
            }
            return Err(EpochChainError::Signature(e.epoch));
        }
        if let Some((p, ptime, ph)) = &prev {
            if e.epoch != p.epoch + 1 || e.issuer_id != p.issuer_id {
                return Err(EpochChainError::NotConsecutive {
                    epoch: e.epoch,
                    prev: p.epoch,
                });
            }
            if e.prev_epoch_hash.as_deref() != Some(ph.as_str()) {
                return Err(EpochChainError::PrevHash {
                    epoch: e.epoch,
                    prev: p.epoch,
                });
            }
            if f.time < *ptime {
                return Err(EpochChainError::TimeBackwards(e.epoch));
            }
        }
        prev = Some((e, f.time, e.hash().map_err(fmt)?));
    }
    Ok(schedule)
}

/// `POLICY.json`: a relying party's restricted list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Format version.
    pub version: u32,
    /// The policy's name (`sanctions-2026-11`).
    pub name: String,
    /// Free text (e.g. "example, not legal advice").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Restricted countries, ISO 3166-1 alpha-2 (`CU`): every code under them.
    pub countries: Vec<String>,
    /// Restricted subdivisions, ISO 3166-2 (`UA-43`): also refuses country-only credentials
    /// of their country.
    pub regions: Vec<String>,
    /// The oldest registry epoch accepted, in seconds (revocation takes effect within it).
    pub max_epoch_age_seconds: u64,
    /// Version 2: the policy author's choice for each restricted code that ISO lists both as
    /// a country and as another country's subdivision (`TW` and `CN-TW`, `PR` and `US-PR`),
    /// keyed by the code as listed. A policy restricting such a code without a choice is
    /// refused, naming the code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dual_codes: BTreeMap<String, DualCodeChoice>,
}

/// What a policy restricting one form of a dual code (`TW` / `CN-TW`) does with the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DualCodeChoice {
    /// Restrict every ISO form of the territory: a listed country also restricts its
    /// subdivision forms (`TW` adds `CN-TW`), a listed subdivision also restricts the whole
    /// country of its own code (`CN-TW` adds `TW`).
    EveryForm,
    /// Restrict only the form listed (credentials naming the other form pass).
    ListedOnly,
}

impl Policy {
    /// The restricted jurisdictions, validated.
    ///
    /// # Errors
    /// [`FormatError`] naming the bad code.
    pub fn jurisdictions(&self) -> Result<Vec<Jurisdiction>, FormatError> {
        let mut out = Vec::with_capacity(self.countries.len() + self.regions.len());
        for c in &self.countries {
            let j = Jurisdiction::parse(c)
                .map_err(|e| field_err("policy", "countries", e.to_string()))?;
            if !j.is_country_only() {
                return Err(field_err(
                    "policy",
                    "countries",
                    format!("`{c}` is a subdivision: list it under `regions`"),
                ));
            }
            out.push(j);
        }
        for r in &self.regions {
            let j = Jurisdiction::parse(r)
                .map_err(|e| field_err("policy", "regions", e.to_string()))?;
            if j.is_country_only() {
                return Err(field_err(
                    "policy",
                    "regions",
                    format!("`{r}` is a country: list it under `countries`"),
                ));
            }
            out.push(j);
        }
        if self.name.is_empty() {
            return Err(field_err("policy", "name", "empty"));
        }
        self.resolve_dual_codes(out)
    }

    /// Applies `dual_codes` to the listed jurisdictions (see [`DualCodeChoice`]).
    fn resolve_dual_codes(
        &self,
        listed: Vec<Jurisdiction>,
    ) -> Result<Vec<Jurisdiction>, FormatError> {
        let bad = |m: String| field_err("policy", "dual_codes", m);
        if self.version < POLICY_FORMAT_V2 && !self.dual_codes.is_empty() {
            return Err(bad(format!(
                "a version {POLICY_FORMAT_V2} field; this policy is version {}",
                self.version
            )));
        }
        for code in self.dual_codes.keys() {
            let dual = Jurisdiction::parse(code)
                .ok()
                .filter(|j| listed.contains(j) && !j.dual_forms().is_empty());
            if dual.is_none() {
                return Err(bad(format!(
                    "`{code}` is not a restricted code that ISO also lists in another form"
                )));
            }
        }
        let mut out = listed.clone();
        for j in &listed {
            let forms = j.dual_forms();
            if forms.is_empty() {
                continue;
            }
            let names = forms.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>();
            match self.dual_codes.get(&j.code()) {
                None => {
                    return Err(bad(format!(
                        "`{j}` is also listed by ISO as {}: say what the policy restricts with \
                         \"dual_codes\": {{\"{j}\": \"every-form\"}} (also {}) or \
                         {{\"{j}\": \"listed-only\"}} (only `{j}`), in a version \
                         {POLICY_FORMAT_V2} policy",
                        names.join(" and "),
                        names.join(" and ")
                    )))
                }
                Some(DualCodeChoice::ListedOnly) => {}
                Some(DualCodeChoice::EveryForm) => {
                    for f in forms {
                        let form = if j.is_country_only() { f } else { f.country() };
                        if !out.contains(&form) {
                            out.push(form);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The policy tree (its root identifies the policy).
    ///
    /// # Errors
    /// [`FormatError`] for a bad code or a list too large.
    pub fn tree(&self) -> Result<PolicyTree, FormatError> {
        self.tree_in()
    }

    /// The policy tree over a backend's field: the verifier recomputes the root of each
    /// backend from the same file.
    ///
    /// # Errors
    /// As [`Self::tree`].
    pub fn tree_in<F: StatementField>(&self) -> Result<PolicyTree<F>, FormatError> {
        PolicyTree::from_jurisdictions_in(&self.jurisdictions()?)
            .map_err(|e| field_err("policy", "regions", e.to_string()))
    }
}

/// `CHALLENGE.json`: a relying party's single-use nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// Format version.
    pub version: u32,
    /// The relying party's scope (its stable name; nullifiers are per scope).
    pub scope: String,
    /// The one backend this scope accepts (version 2; absent in version 1). A holder refuses
    /// to answer with another backend and the relying party refuses a proof of another: one
    /// person has one nullifier per scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// 31 random bytes, hex.
    pub nonce: String,
    /// Issued at (RFC 3339).
    pub issued_at: String,
    /// Not accepted after (RFC 3339).
    pub expires_at: String,
}

/// A challenge's checked fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeFields {
    /// The nonce.
    pub nonce: [u8; 31],
    /// `scope` as a field element.
    pub scope: Fr,
    /// `challenge` as a field element.
    pub challenge: Fr,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Challenge {
    /// Checks the fields.
    ///
    /// # Errors
    /// [`FormatError`] naming the field.
    pub fn fields(&self) -> Result<ChallengeFields, FormatError> {
        let nonce = hex_array::<31>("challenge", "nonce", &self.nonce)?;
        match (self.version, self.backend) {
            (KYC_FORMAT_VERSION, Some(_)) => {
                return Err(field_err(
                    "challenge",
                    "backend",
                    "a version 2 field; version 1 challenges name no backend",
                ))
            }
            (CHALLENGE_FORMAT_V2, None) => {
                return Err(field_err(
                    "challenge",
                    "backend",
                    "missing: a version 2 challenge names the backend its scope accepts",
                ))
            }
            _ => {}
        }
        if self.scope.is_empty() {
            return Err(field_err("challenge", "scope", "empty"));
        }
        let scope = assay_circuits::kyc::scope_to_field(&self.scope)
            .map_err(|e| field_err("challenge", "scope", e.to_string()))?;
        time::parse_rfc3339(&self.issued_at)
            .map_err(|e| field_err("challenge", "issued_at", e.to_string()))?;
        let expires_at = time::parse_rfc3339(&self.expires_at)
            .map_err(|e| field_err("challenge", "expires_at", e.to_string()))?;
        Ok(ChallengeFields {
            nonce,
            scope,
            challenge: assay_circuits::kyc::challenge_to_field(&nonce),
            expires_at,
        })
    }
}

/// One backend's part of a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialEntry {
    /// The holder's commitment on this backend, `H(TAG_HOLDER, sk, 0)` (decimal).
    pub holder_commitment: String,
    /// The registry leaf `H(TAG_CRED, hid, J, expiry_day, serial)` (decimal).
    pub leaf: String,
}

/// `CREDENTIAL.json`: what the issuer hands the holder (private to the holder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CredentialWire", into = "CredentialWire")]
pub struct Credential {
    /// Format version (1 or 2; 2 is written).
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The serial (registry leaf index).
    pub serial: u64,
    /// The jurisdiction code (`UA-30`, `FR`).
    pub jurisdiction: String,
    /// The expiry day (UTC days since 1970-01-01).
    pub expiry_day: u64,
    /// Per backend the holder committed to: its commitment and the credential's leaf in that
    /// backend's registry.
    pub backends: BackendMap<CredentialEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialWire {
    version: u32,
    issuer_id: String,
    serial: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder_commitment: Option<String>,
    jurisdiction: String,
    expiry_day: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder_commitment_halo2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential_halo2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backends: Option<BackendMap<CredentialEntry>>,
}

/// Two optional v1 strings that come together.
fn both<A, B>(a: Option<A>, b: Option<B>, names: &str) -> Result<Option<(A, B)>, String> {
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        _ => Err(format!("{names} come together")),
    }
}

impl TryFrom<CredentialWire> for Credential {
    type Error = String;
    fn try_from(w: CredentialWire) -> Result<Self, String> {
        let backends = if w.version == 1 {
            let g = both(
                w.holder_commitment,
                w.credential,
                "`holder_commitment` and `credential`",
            )?;
            let h = both(
                w.holder_commitment_halo2,
                w.credential_halo2,
                "`holder_commitment_halo2` and `credential_halo2`",
            )?;
            let entry = |(holder_commitment, leaf)| CredentialEntry {
                holder_commitment,
                leaf,
            };
            v1_pair(
                w.version,
                g.map(entry),
                h.map(entry),
                w.backends.is_some(),
                "holder_commitment",
                "backends",
            )?
        } else {
            let v1 = w.holder_commitment.is_some()
                || w.credential.is_some()
                || w.holder_commitment_halo2.is_some()
                || w.credential_halo2.is_some();
            v2_map(w.version, w.backends, v1, "holder_commitment", "backends")?
        };
        Ok(Self {
            version: w.version,
            issuer_id: w.issuer_id,
            serial: w.serial,
            jurisdiction: w.jurisdiction,
            expiry_day: w.expiry_day,
            backends,
        })
    }
}

impl From<Credential> for CredentialWire {
    fn from(c: Credential) -> Self {
        let mut b = c.backends;
        let mut w = Self {
            version: c.version,
            issuer_id: c.issuer_id,
            serial: c.serial,
            holder_commitment: None,
            jurisdiction: c.jurisdiction,
            expiry_day: c.expiry_day,
            credential: None,
            holder_commitment_halo2: None,
            credential_halo2: None,
            backends: None,
        };
        if c.version == 1 {
            if let Some(e) = b.remove(&Backend::Groth16) {
                (w.holder_commitment, w.credential) = (Some(e.holder_commitment), Some(e.leaf));
            }
            if let Some(e) = b.remove(&Backend::Halo2) {
                (w.holder_commitment_halo2, w.credential_halo2) =
                    (Some(e.holder_commitment), Some(e.leaf));
            }
        } else {
            w.backends = Some(b);
        }
        w
    }
}

impl Credential {
    /// The holder commitment the credential was issued to on `backend` (decimal), if any.
    pub fn holder_commitment_for(&self, backend: Backend) -> Option<&str> {
        self.backends
            .get(&backend)
            .map(|e| e.holder_commitment.as_str())
    }

    /// The registry leaf of `backend` (decimal), if the credential is in that registry.
    pub fn leaf_for(&self, backend: Backend) -> Option<&str> {
        self.backends.get(&backend).map(|e| e.leaf.as_str())
    }
}

/// One backend's registry path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathEntry {
    /// The root the path leads to (decimal).
    pub root: String,
    /// The 32 siblings from the leaf up (decimal).
    pub siblings: Vec<String>,
}

/// `PATH.json`: a credential's registry paths under one epoch, one per backend whose registry
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PathWire", into = "PathWire")]
pub struct RegistryPath {
    /// Format version (1 or 2; 2 is written).
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The serial.
    pub serial: u64,
    /// The path in each backend's registry.
    pub backends: BackendMap<PathEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathWire {
    version: u32,
    issuer_id: String,
    serial: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    siblings: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root_halo2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    siblings_halo2: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backends: Option<BackendMap<PathEntry>>,
}

impl TryFrom<PathWire> for RegistryPath {
    type Error = String;
    fn try_from(w: PathWire) -> Result<Self, String> {
        let backends = if w.version == 1 {
            let entry = |(root, siblings)| PathEntry { root, siblings };
            v1_pair(
                w.version,
                both(w.root, w.siblings, "`root` and `siblings`")?.map(entry),
                both(
                    w.root_halo2,
                    w.siblings_halo2,
                    "`root_halo2` and `siblings_halo2`",
                )?
                .map(entry),
                w.backends.is_some(),
                "root",
                "backends",
            )?
        } else {
            let v1 = w.root.is_some()
                || w.siblings.is_some()
                || w.root_halo2.is_some()
                || w.siblings_halo2.is_some();
            v2_map(w.version, w.backends, v1, "root", "backends")?
        };
        Ok(Self {
            version: w.version,
            issuer_id: w.issuer_id,
            serial: w.serial,
            backends,
        })
    }
}

impl From<RegistryPath> for PathWire {
    fn from(p: RegistryPath) -> Self {
        let mut b = p.backends;
        let mut w = Self {
            version: p.version,
            issuer_id: p.issuer_id,
            serial: p.serial,
            root: None,
            siblings: None,
            root_halo2: None,
            siblings_halo2: None,
            backends: None,
        };
        if p.version == 1 {
            if let Some(e) = b.remove(&Backend::Groth16) {
                (w.root, w.siblings) = (Some(e.root), Some(e.siblings));
            }
            if let Some(e) = b.remove(&Backend::Halo2) {
                (w.root_halo2, w.siblings_halo2) = (Some(e.root), Some(e.siblings));
            }
        } else {
            w.backends = Some(b);
        }
        w
    }
}

impl RegistryPath {
    /// The root the path of `backend` leads to (decimal), if there is such a path.
    pub fn root_for(&self, backend: Backend) -> Option<&str> {
        self.backends.get(&backend).map(|e| e.root.as_str())
    }

    /// The siblings of the path of `backend`, from the leaf up (decimal).
    pub fn siblings_for(&self, backend: Backend) -> Option<&[String]> {
        self.backends.get(&backend).map(|e| e.siblings.as_slice())
    }
}

/// One backend's registry in a [`EpochLeaves`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeavesEntry {
    /// The epoch's registry root on this backend (decimal).
    pub root: String,
    /// Leaf `i` is credential `i`'s leaf, or `0` if revoked or not in this registry (decimal).
    pub leaves: Vec<String>,
}

/// `LEAVES.json`: every registry leaf of one epoch. The leaves are hiding commitments, so the
/// issuer publishes them, and a holder computes a fresh path ([`EpochLeaves::path`]) without
/// telling anyone its serial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LeavesWire", into = "LeavesWire")]
pub struct EpochLeaves {
    /// Format version (1 or 2; 2 is written).
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The epoch number.
    pub epoch: u64,
    /// Each backend's registry: its root and leaves (as many on every backend).
    pub backends: BackendMap<LeavesEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeavesWire {
    version: u32,
    issuer_id: String,
    epoch: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaves: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root_halo2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaves_halo2: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backends: Option<BackendMap<LeavesEntry>>,
}

impl TryFrom<LeavesWire> for EpochLeaves {
    type Error = String;
    fn try_from(w: LeavesWire) -> Result<Self, String> {
        let backends = if w.version == 1 {
            let entry = |(root, leaves)| LeavesEntry { root, leaves };
            v1_pair(
                w.version,
                both(w.root, w.leaves, "`root` and `leaves`")?.map(entry),
                both(
                    w.root_halo2,
                    w.leaves_halo2,
                    "`root_halo2` and `leaves_halo2`",
                )?
                .map(entry),
                w.backends.is_some(),
                "root",
                "backends",
            )?
        } else {
            let v1 = w.root.is_some()
                || w.leaves.is_some()
                || w.root_halo2.is_some()
                || w.leaves_halo2.is_some();
            v2_map(w.version, w.backends, v1, "root", "backends")?
        };
        Ok(Self {
            version: w.version,
            issuer_id: w.issuer_id,
            epoch: w.epoch,
            backends,
        })
    }
}

impl From<EpochLeaves> for LeavesWire {
    fn from(l: EpochLeaves) -> Self {
        let mut b = l.backends;
        let mut w = Self {
            version: l.version,
            issuer_id: l.issuer_id,
            epoch: l.epoch,
            root: None,
            leaves: None,
            root_halo2: None,
            leaves_halo2: None,
            backends: None,
        };
        if l.version == 1 {
            if let Some(e) = b.remove(&Backend::Groth16) {
                (w.root, w.leaves) = (Some(e.root), Some(e.leaves));
            }
            if let Some(e) = b.remove(&Backend::Halo2) {
                (w.root_halo2, w.leaves_halo2) = (Some(e.root), Some(e.leaves));
            }
        } else {
            w.backends = Some(b);
        }
        w
    }
}

impl EpochLeaves {
    /// The epoch's registry root of `backend` (decimal), if it has one.
    pub fn root_for(&self, backend: Backend) -> Option<&str> {
        self.backends.get(&backend).map(|e| e.root.as_str())
    }

    /// The leaves of `backend`'s registry (decimal, `0` for empty), if the epoch has them.
    pub fn leaves_for(&self, backend: Backend) -> Option<&[String]> {
        self.backends.get(&backend).map(|e| e.leaves.as_slice())
    }

    /// The paths of `serial`, one per backend whose registry holds it, each checked against
    /// that backend's published root. Backends this build does not compile are passed over.
    ///
    /// # Errors
    /// [`FormatError`] for a bad leaf, a root mismatch, leaf lists of different lengths, a
    /// missing serial, or a serial revoked (empty) in every registry.
    pub fn path(&self, serial: u64) -> Result<RegistryPath, FormatError> {
        let mut count = None;
        for e in self.backends.values() {
            if *count.get_or_insert(e.leaves.len()) != e.leaves.len() {
                return Err(field_err(
                    "leaves",
                    "leaves",
                    "the backends' leaf lists differ in length",
                ));
            }
        }
        let count = count.unwrap_or(0) as u64;
        if count > 1 << assay_circuits::kyc::REGISTRY_DEPTH {
            return Err(field_err("leaves", "leaves", "more than 2^32 leaves"));
        }
        if serial >= count {
            return Err(field_err("leaves", "leaves", format!("no leaf {serial}")));
        }
        let mut backends = BackendMap::new();
        struct PathIn<'a>(&'a LeavesEntry, u64);
        impl crate::FieldVisitor for PathIn<'_> {
            type Output = Result<Option<PathEntry>, FormatError>;
            fn visit<F: StatementField>(self) -> Self::Output {
                path_in::<F>(self.0, self.1)
            }
        }
        for (b, e) in &self.backends {
            if *b == Backend::Stark {
                // Digests of 8 elements, not one field element: the STARK's own tree.
                #[cfg(feature = "stark")]
                if let Some(p) = crate::stark::kyc::path_in(e, serial)? {
                    backends.insert(*b, p);
                }
                continue;
            }
            // A backend this build does not have gives no path (its leaves are kept as read).
            let p = crate::with_field(*b, PathIn(e, serial))
                .transpose()?
                .flatten();
            if let Some(p) = p {
                backends.insert(*b, p);
            }
        }
        if backends.is_empty() {
            return Err(field_err(
                "leaves",
                "leaves",
                format!("leaf {serial} is revoked"),
            ));
        }
        Ok(RegistryPath {
            version: KYC_FORMAT_V2,
            issuer_id: self.issuer_id.clone(),
            serial,
            backends,
        })
    }
}

/// The path of `serial` in one backend's registry over `F`, checked against its root; `None`
/// if the leaf is empty (revoked, or not in this registry).
fn path_in<F: StatementField>(
    e: &LeavesEntry,
    serial: u64,
) -> Result<Option<PathEntry>, FormatError> {
    use assay_circuits::kyc::Registry;
    let leaves = e
        .leaves
        .iter()
        .map(|l| parse_decimal::<F>("leaves", "leaves", l))
        .collect::<Result<Vec<_>, _>>()?;
    let reg = Registry::new(leaves);
    if reg.root() != parse_decimal::<F>("leaves", "root", &e.root)? {
        return Err(field_err(
            "leaves",
            "root",
            "the leaves do not hash to the root",
        ));
    }
    if reg.leaf(serial) == F::zero() {
        return Ok(None);
    }
    Ok(Some(PathEntry {
        root: e.root.clone(),
        siblings: reg.path(serial).iter().map(to_decimal).collect(),
    }))
}

/// The public inputs of a KYC proof, as written in `PROOF.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KycPublicInputs {
    /// `R` (decimal).
    pub registry_root: String,
    /// `P` (decimal).
    pub policy_root: String,
    /// `today` (UTC days).
    pub today: u64,
    /// The scope's name (its field image is the public input).
    pub scope: String,
    /// The challenge nonce (hex; its field image is the public input).
    pub challenge: String,
    /// The nullifier (decimal).
    pub nullifier: String,
}

/// `PROOF.json`: a KYC presentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KycProof {
    /// Format version.
    pub version: u32,
    /// [`BACKEND_GROTH16`], [`BACKEND_HALO2`] or [`crate::backend::BACKEND_STARK`]: which
    /// proof system, hence which field the public inputs and roots are in.
    pub backend: String,
    /// The verifying key's hash (hex); on the STARK, which has no keys, the KYC AIR's
    /// identifier (`crate::stark::kyc::kyc_air_id`, when that backend is built).
    pub vk_hash: String,
    /// The issuer's name.
    pub issuer_id: String,
    /// The epoch number the registry root is from.
    pub epoch: u64,
    /// The policy's name.
    pub policy: String,
    /// The public inputs.
    pub public_inputs: KycPublicInputs,
    /// The proof: hex of the 128-byte compressed Groth16 proof, of the Halo2 transcript, or
    /// of the STARK proof's postcard encoding.
    pub proof: String,
}

/// A proof's public inputs, parsed (over BN254 unless another field is named).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedInputs<F: StatementField = Fr> {
    /// The circuit's public inputs.
    pub public: assay_circuits::kyc::KycPublic<F>,
    /// The nonce bytes.
    pub nonce: [u8; 31],
}

impl KycPublicInputs {
    /// Parses into the circuit's public inputs.
    ///
    /// # Errors
    /// [`FormatError`] naming the field.
    pub fn parse(&self) -> Result<ParsedInputs, FormatError> {
        self.parse_in()
    }

    /// Parses into the public inputs over a backend's field `F`.
    ///
    /// # Errors
    /// [`FormatError`] naming the field.
    pub fn parse_in<F: StatementField>(&self) -> Result<ParsedInputs<F>, FormatError> {
        let f = |field: &'static str, s: &str| {
            from_decimal::<F>(s).ok_or_else(|| {
                field_err(
                    "proof",
                    field,
                    format!("`{s}` is not a canonical decimal element of the backend's field"),
                )
            })
        };
        let nonce = hex_array::<31>("proof", "public_inputs.challenge", &self.challenge)?;
        Ok(ParsedInputs {
            public: assay_circuits::kyc::KycPublic {
                registry_root: f("public_inputs.registry_root", &self.registry_root)?,
                policy_root: f("public_inputs.policy_root", &self.policy_root)?,
                today: self.today,
                scope: assay_circuits::kyc::scope_to_field_in(&self.scope)
                    .map_err(|e| field_err("proof", "public_inputs.scope", e.to_string()))?,
                challenge: assay_circuits::kyc::challenge_to_field_in(&nonce),
                nullifier: f("public_inputs.nullifier", &self.nullifier)?,
            },
            nonce,
        })
    }
}

#[cfg(test)]
mod tests;
