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

/// The version of every KYC format this code writes and reads.
pub const KYC_FORMAT_VERSION: u32 = 1;
pub use crate::backend::{BACKEND_GROTH16, BACKEND_HALO2};
use crate::Backend;

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

fn field_err(what: &'static str, field: &'static str, message: impl Into<String>) -> FormatError {
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
    let doc: T = serde_json::from_str(text).map_err(|e| FormatError::Json {
        what,
        message: e.to_string(),
    })?;
    if doc.version() != KYC_FORMAT_VERSION {
        return Err(field_err(
            what,
            "version",
            format!(
                "{} is not supported (expected {KYC_FORMAT_VERSION})",
                doc.version()
            ),
        ));
    }
    Ok(doc)
}

/// Documents that carry a format version.
pub trait Versioned {
    /// The `version` field.
    fn version(&self) -> u32;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(impl Versioned for $t { fn version(&self) -> u32 { self.version } })*};
}
versioned!(
    IssuerPublic,
    Epoch,
    EpochLeaves,
    Policy,
    Challenge,
    Credential,
    RegistryPath,
    KycProof
);

/// Parses a canonical decimal field element.
///
/// # Errors
/// A message if the text is not the canonical decimal form of an element of `Fr`.
pub fn parse_fr(s: &str) -> Result<Fr, String> {
    use std::str::FromStr;
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a decimal field element"));
    }
    let x = Fr::from_str(s).map_err(|_| format!("`{s}` is not a decimal field element"))?;
    if x.to_string() != s {
        return Err(format!(
            "`{s}` is not canonical (at least the field modulus, or a leading zero)"
        ));
    }
    Ok(x)
}

/// The decimal form of a field element.
pub fn fr_to_string(x: &Fr) -> String {
    x.to_string()
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

/// `EPOCH.json`: a signed registry root.
///
/// The signature is Ed25519 over [`Epoch::message`]; the epoch's hash ([`Epoch::hash`]),
/// which the next epoch names as `prev_epoch_hash`, is SHA-256 of the same message, so the
/// epochs form a hash chain that cannot be rewritten without re-signing everything after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epoch {
    /// Format version.
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The epoch number (0 for the first).
    pub epoch: u64,
    /// The registry root `R` (decimal).
    pub root: String,
    /// The registry root of the same credentials on the Halo2 backend (decimal, Pasta `Fp`):
    /// absent in epochs of issuers without Halo2 support. Signed with the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_halo2: Option<String>,
    /// When the epoch was published (RFC 3339, UTC).
    pub time: String,
    /// The hash of the previous epoch (hex), `null` for epoch 0.
    pub prev_epoch_hash: Option<String>,
    /// Ed25519 signature over [`Epoch::message`] (hex, 64 bytes).
    pub signature: String,
}

/// An epoch whose fields have been checked (not its signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochFields {
    /// The registry root.
    pub root: Fr,
    /// Unix seconds.
    pub time: i64,
    /// The previous epoch's hash (zeros for none).
    pub prev: [u8; 32],
    /// The Halo2 registry root (decimal, syntax checked), if the epoch has one.
    pub root_halo2: Option<String>,
}

impl Epoch {
    /// The registry root of `backend` (decimal), if the epoch has one.
    pub fn root_for(&self, backend: Backend) -> Option<&str> {
        match backend {
            Backend::Groth16 => Some(&self.root),
            Backend::Halo2 => self.root_halo2.as_deref(),
        }
    }

    /// Checks the fields' syntax.
    ///
    /// # Errors
    /// [`FormatError`] naming the field.
    pub fn fields(&self) -> Result<EpochFields, FormatError> {
        let root = parse_fr(&self.root).map_err(|m| field_err("epoch", "root", m))?;
        let time = time::parse_rfc3339(&self.time).map_err(|m| field_err("epoch", "time", m))?;
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
        if let Some(r) = &self.root_halo2 {
            check_decimal("epoch", "root_halo2", r)?;
        }
        Ok(EpochFields {
            root,
            time,
            prev,
            root_halo2: self.root_halo2.clone(),
        })
    }

    /// The signed message: a domain separator and every field but the signature, each
    /// length-prefixed or fixed-width.
    ///
    /// # Errors
    /// [`FormatError`] from [`Self::fields`].
    pub fn message(&self) -> Result<Vec<u8>, FormatError> {
        let f = self.fields()?;
        Ok(epoch_message(&self.issuer_id, self.epoch, &f))
    }

    /// SHA-256 of [`Self::message`], hex: what the next epoch names as its predecessor.
    ///
    /// # Errors
    /// [`FormatError`] from [`Self::fields`].
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

/// The bytes an epoch's signature covers. The v1 fields come first, fixed-width after the
/// length-prefixed issuer id; an epoch with a Halo2 root appends `"\0halo2-ipa-pasta\0"`, the
/// length (u32, big-endian) and the decimal bytes of that root. An epoch without one signs
/// exactly the v1 message, so earlier epochs and their signatures are unchanged.
pub fn epoch_message(issuer_id: &str, epoch: u64, f: &EpochFields) -> Vec<u8> {
    use ark_serialize::CanonicalSerialize;
    let mut m = b"assay/kyc/epoch/v1\0".to_vec();
    m.extend_from_slice(&(issuer_id.len() as u32).to_be_bytes());
    m.extend_from_slice(issuer_id.as_bytes());
    m.extend_from_slice(&epoch.to_be_bytes());
    let mut root = Vec::with_capacity(32);
    // Serializing a field element into a Vec cannot fail.
    let _ = f.root.serialize_compressed(&mut root);
    m.extend_from_slice(&root);
    m.extend_from_slice(&f.time.to_be_bytes());
    m.extend_from_slice(&f.prev);
    if let Some(r) = &f.root_halo2 {
        m.extend_from_slice(b"\0");
        m.extend_from_slice(BACKEND_HALO2.as_bytes());
        m.extend_from_slice(b"\0");
        m.extend_from_slice(&(r.len() as u32).to_be_bytes());
        m.extend_from_slice(r.as_bytes());
    }
    m
}

/// Checks that `epochs` (oldest first) form an unbroken signed chain: consecutive numbers,
/// each naming its predecessor's hash, each signed by `key`, times non-decreasing.
///
/// # Errors
/// A message naming the first bad epoch.
pub fn verify_epoch_chain(epochs: &[Epoch], key: &VerifyingKey) -> Result<(), String> {
    let mut prev: Option<(&Epoch, i64)> = None;
    for (i, e) in epochs.iter().enumerate() {
        let f = e.fields().map_err(|m| format!("epoch #{i}: {m}"))?;
        if !e
            .verify_signature(key)
            .map_err(|m| format!("epoch #{i}: {m}"))?
        {
            return Err(format!("epoch {}: bad signature", e.epoch));
        }
        if let Some((p, ptime)) = prev {
            if e.epoch != p.epoch + 1 || e.issuer_id != p.issuer_id {
                return Err(format!(
                    "epoch {} follows epoch {}: numbers must be consecutive",
                    e.epoch, p.epoch
                ));
            }
            let ph = p.hash().map_err(|m| m.to_string())?;
            if e.prev_epoch_hash.as_deref() != Some(ph.as_str()) {
                return Err(format!(
                    "epoch {}: prev_epoch_hash does not match epoch {}",
                    e.epoch, p.epoch
                ));
            }
            if f.time < ptime {
                return Err(format!("epoch {}: time goes backwards", e.epoch));
            }
        }
        prev = Some((e, f.time));
    }
    Ok(())
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
        if self.scope.is_empty() {
            return Err(field_err("challenge", "scope", "empty"));
        }
        let scope = assay_circuits::kyc::scope_to_field(&self.scope)
            .map_err(|e| field_err("challenge", "scope", e.to_string()))?;
        time::parse_rfc3339(&self.issued_at).map_err(|m| field_err("challenge", "issued_at", m))?;
        let expires_at = time::parse_rfc3339(&self.expires_at)
            .map_err(|m| field_err("challenge", "expires_at", m))?;
        Ok(ChallengeFields {
            nonce,
            scope,
            challenge: assay_circuits::kyc::challenge_to_field(&nonce),
            expires_at,
        })
    }
}

/// `CREDENTIAL.json`: what the issuer hands the holder (private to the holder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Format version.
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The serial (registry leaf index).
    pub serial: u64,
    /// The holder's commitment `hid` (decimal).
    pub holder_commitment: String,
    /// The jurisdiction code (`UA-30`, `FR`).
    pub jurisdiction: String,
    /// The expiry day (UTC days since 1970-01-01).
    pub expiry_day: u64,
    /// The credential hash `cred` (decimal), the registry leaf.
    pub credential: String,
    /// The holder's Halo2 commitment `H_pasta(TAG_HOLDER, sk, 0)` (decimal), if the holder
    /// gave one: then the credential is also in the issuer's Halo2 registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_commitment_halo2: Option<String>,
    /// The Halo2 registry leaf (decimal), with `holder_commitment_halo2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_halo2: Option<String>,
}

impl Credential {
    /// The holder commitment the credential was issued to on `backend` (decimal), if any.
    pub fn holder_commitment_for(&self, backend: Backend) -> Option<&str> {
        match backend {
            Backend::Groth16 => Some(&self.holder_commitment),
            Backend::Halo2 => self.holder_commitment_halo2.as_deref(),
        }
    }

    /// The registry leaf of `backend` (decimal), if the credential is in that registry.
    pub fn leaf_for(&self, backend: Backend) -> Option<&str> {
        match backend {
            Backend::Groth16 => Some(&self.credential),
            Backend::Halo2 => self.credential_halo2.as_deref(),
        }
    }
}

/// `PATH.json`: a registry path under one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryPath {
    /// Format version.
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The serial.
    pub serial: u64,
    /// The root the path leads to (decimal).
    pub root: String,
    /// The 32 siblings from the leaf up (decimal).
    pub siblings: Vec<String>,
    /// The Halo2 registry root the Halo2 path leads to (decimal), if the credential is in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_halo2: Option<String>,
    /// The 32 Halo2 siblings from the leaf up (decimal), with `root_halo2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siblings_halo2: Option<Vec<String>>,
}

impl RegistryPath {
    /// The root the path of `backend` leads to (decimal), if there is such a path.
    pub fn root_for(&self, backend: Backend) -> Option<&str> {
        match backend {
            Backend::Groth16 => Some(&self.root),
            Backend::Halo2 => self.root_halo2.as_deref(),
        }
    }

    /// The siblings of the path of `backend`, from the leaf up (decimal).
    pub fn siblings_for(&self, backend: Backend) -> Option<&[String]> {
        match backend {
            Backend::Groth16 => Some(&self.siblings),
            Backend::Halo2 => self.siblings_halo2.as_deref(),
        }
    }
}

/// `LEAVES.json`: every registry leaf of one epoch. The leaves are hiding commitments, so the
/// issuer publishes them, and a holder computes a fresh path ([`EpochLeaves::path`]) without
/// telling anyone its serial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochLeaves {
    /// Format version.
    pub version: u32,
    /// The issuer's name.
    pub issuer_id: String,
    /// The epoch number.
    pub epoch: u64,
    /// The epoch's registry root (decimal).
    pub root: String,
    /// Leaf `i` is credential `i`, or `0` if revoked (decimal).
    pub leaves: Vec<String>,
    /// The epoch's Halo2 registry root (decimal), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_halo2: Option<String>,
    /// The Halo2 leaves (decimal; `0` for revoked credentials and for credentials issued
    /// without a Halo2 commitment), with `root_halo2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves_halo2: Option<Vec<String>>,
}

impl EpochLeaves {
    /// The epoch's registry root of `backend` (decimal), if it has one.
    pub fn root_for(&self, backend: Backend) -> Option<&str> {
        match backend {
            Backend::Groth16 => Some(&self.root),
            Backend::Halo2 => self.root_halo2.as_deref(),
        }
    }

    /// The leaves of `backend`'s registry (decimal, `0` for empty), if the epoch has them.
    pub fn leaves_for(&self, backend: Backend) -> Option<&[String]> {
        match backend {
            Backend::Groth16 => Some(&self.leaves),
            Backend::Halo2 => self.leaves_halo2.as_deref(),
        }
    }

    /// The path of `serial`, checked against the published root.
    ///
    /// # Errors
    /// [`FormatError`] for a bad leaf, a root mismatch, a missing or revoked serial.
    pub fn path(&self, serial: u64) -> Result<RegistryPath, FormatError> {
        use assay_circuits::kyc::Registry;
        let leaves = self
            .leaves
            .iter()
            .map(|l| parse_fr(l))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| field_err("leaves", "leaves", m))?;
        if leaves.len() as u64 > 1 << assay_circuits::kyc::REGISTRY_DEPTH {
            return Err(field_err("leaves", "leaves", "more than 2^32 leaves"));
        }
        let root = parse_fr(&self.root).map_err(|m| field_err("leaves", "root", m))?;
        match leaves.get(serial as usize) {
            None => return Err(field_err("leaves", "leaves", format!("no leaf {serial}"))),
            Some(l) if *l == Fr::from(0u64) => {
                return Err(field_err(
                    "leaves",
                    "leaves",
                    format!("leaf {serial} is revoked"),
                ))
            }
            Some(_) => {}
        }
        let reg = Registry::new(leaves);
        if reg.root() != root {
            return Err(field_err(
                "leaves",
                "root",
                "the leaves do not hash to the root",
            ));
        }
        let (root_halo2, siblings_halo2) = self.path_halo2(serial)?;
        Ok(RegistryPath {
            version: KYC_FORMAT_VERSION,
            issuer_id: self.issuer_id.clone(),
            serial,
            root: self.root.clone(),
            siblings: reg.path(serial).iter().map(fr_to_string).collect(),
            root_halo2,
            siblings_halo2,
        })
    }

    /// The Halo2 root and siblings of `serial`, checked against `root_halo2`; `(None, None)`
    /// when there are no Halo2 leaves or this serial's is empty.
    #[cfg(feature = "halo2")]
    fn path_halo2(
        &self,
        serial: u64,
    ) -> Result<(Option<String>, Option<Vec<String>>), FormatError> {
        use assay_circuits::{field::from_decimal, field::to_decimal, halo2::Fp, kyc::Registry};
        let (Some(root), Some(leaves)) = (&self.root_halo2, &self.leaves_halo2) else {
            return Ok((None, None));
        };
        let parse = |field: &'static str, s: &str| {
            from_decimal::<Fp>(s)
                .ok_or_else(|| field_err("leaves", field, format!("`{s}` is not an Fp element")))
        };
        let leaves = leaves
            .iter()
            .map(|l| parse("leaves_halo2", l))
            .collect::<Result<Vec<_>, _>>()?;
        if leaves.len() != self.leaves.len() {
            return Err(field_err(
                "leaves",
                "leaves_halo2",
                "not as many leaves as `leaves`",
            ));
        }
        let reg = Registry::new(leaves);
        if reg.root() != parse("root_halo2", root)? {
            return Err(field_err(
                "leaves",
                "root_halo2",
                "the Halo2 leaves do not hash to the Halo2 root",
            ));
        }
        if reg.leaf(serial) == Fp::from(0u64) {
            return Ok((None, None));
        }
        let siblings = reg.path(serial).iter().map(to_decimal).collect();
        Ok((Some(root.clone()), Some(siblings)))
    }

    /// Without Halo2 support the Halo2 leaves are passed over.
    #[cfg(not(feature = "halo2"))]
    fn path_halo2(
        &self,
        _serial: u64,
    ) -> Result<(Option<String>, Option<Vec<String>>), FormatError> {
        Ok((None, None))
    }
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
    /// [`BACKEND_GROTH16`] or [`BACKEND_HALO2`]: which proof system, hence which field the
    /// public inputs and roots are in.
    pub backend: String,
    /// The verifying key's hash (hex).
    pub vk_hash: String,
    /// The issuer's name.
    pub issuer_id: String,
    /// The epoch number the registry root is from.
    pub epoch: u64,
    /// The policy's name.
    pub policy: String,
    /// The public inputs.
    pub public_inputs: KycPublicInputs,
    /// The proof: hex of the 128-byte compressed Groth16 proof, or of the Halo2 transcript.
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
            assay_circuits::field::from_decimal::<F>(s).ok_or_else(|| {
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
