//! The Groth16 key manifest: which verifying keys a setup party made, for which circuit shape,
//! signed with that party's Ed25519 key.
//!
//! Groth16's setup is circuit-specific and whoever knows its randomness can forge proofs, so a
//! verifier must never accept the keys a prover (an exchange, an issuer) puts in its own
//! bundle. `assay solvency setup` (an auditor or a ceremony coordinator) makes the keys of
//! every circuit shape of a round configuration and writes `manifest.json` (this format); the
//! verifier's operator pins that file (`--trusted-keys MANIFEST.json`, the server's
//! configuration, the page's `config.json`). A proof is then accepted only under the key the
//! pinned manifest names for the proof's role (the batch circuit, an aggregation level, the
//! top, the KYC circuit): a key from another setup, or a key of another shape, is refused with
//! the key's hash and role.
//!
//! The signature binds the manifest to the setup party's key (`setup_key`) and makes a
//! tampered manifest fail; the trust itself comes from the pin (the file, or its hash, that the
//! operator chose). The format is in `docs/formats.md`.

use crate::{signing, Backend, FormatError, VerifyError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The manifest format's version.
pub const MANIFEST_VERSION: u32 = 1;
/// Signature domain of a key manifest.
pub const MANIFEST_DOMAIN: &str = "assay/key-manifest/v1";
/// The shape name of the KYC circuit's Groth16 keys.
pub const KYC_SHAPE: &str = "kyc-groth16";

/// The configuration fields that fix a round's circuit shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolvencyShape {
    /// Number of assets (`K`).
    pub num_assets: usize,
    /// Balance width in bits (`w`).
    pub balance_bits: usize,
    /// Leaves per batch proof (`B`).
    pub batch_size: usize,
    /// Children per aggregation proof (`F`).
    pub fan_in: usize,
}

/// The name of the batch circuit's key for `K` assets, `w`-bit balances, `B` leaves.
pub fn batch_shape_name(num_assets: usize, balance_bits: usize, batch_size: usize) -> String {
    format!("solvency-batch-K{num_assets}-w{balance_bits}-B{batch_size}")
}

/// The name of an aggregation circuit's key over `fan_in` children (`top`: the last level,
/// with the reserves check).
pub fn aggregation_shape_name(
    num_assets: usize,
    balance_bits: usize,
    fan_in: usize,
    top: bool,
) -> String {
    format!(
        "solvency-{}-K{num_assets}-w{balance_bits}-f{fan_in}",
        if top { "top" } else { "agg" }
    )
}

/// One circuit a round of a given shape can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// The batch proof over `batch_size` leaves.
    Batch {
        /// Leaves per batch.
        batch_size: usize,
    },
    /// An aggregation over `fan_in` children.
    Aggregation {
        /// Children.
        fan_in: usize,
        /// The top proof (reserves check).
        top: bool,
    },
}

impl SolvencyShape {
    /// Every circuit a round of this shape can need, whatever its number of customers: the
    /// batch circuit; the full aggregation (`F` children, below the top); and the top over
    /// `f` children for every power of two `f <= F` (a round of `n` batches, `n` a power of
    /// two, has full groups below the top, and a top over `min(F, n')` children). The count
    /// is `log2(F) + 3` at most, so no bound on the number of customers is needed.
    pub fn kinds(&self) -> Vec<ShapeKind> {
        let mut out = vec![ShapeKind::Batch {
            batch_size: self.batch_size,
        }];
        if self.fan_in >= 2 {
            out.push(ShapeKind::Aggregation {
                fan_in: self.fan_in,
                top: false,
            });
        }
        let mut f = 1;
        while f <= self.fan_in {
            out.push(ShapeKind::Aggregation {
                fan_in: f,
                top: true,
            });
            f *= 2;
        }
        out
    }

    /// The key name of one of this shape's circuits.
    pub fn name(&self, kind: ShapeKind) -> String {
        match kind {
            ShapeKind::Batch { batch_size } => {
                batch_shape_name(self.num_assets, self.balance_bits, batch_size)
            }
            ShapeKind::Aggregation { fan_in, top } => {
                aggregation_shape_name(self.num_assets, self.balance_bits, fan_in, top)
            }
        }
    }

    /// The key names of [`Self::kinds`].
    pub fn names(&self) -> Vec<String> {
        self.kinds().into_iter().map(|k| self.name(k)).collect()
    }
}

/// `manifest.json`: the keys of one setup, signed by the setup party (see the module notes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyManifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// The proof system: `groth16-bn254`.
    pub backend: String,
    /// The round shape the keys were made for (`null` for a KYC-only setup).
    pub solvency: Option<SolvencyShape>,
    /// Shape name (`solvency-batch-K2-w32-B4`, `kyc-groth16`) → SHA-256 of the verifying key's
    /// compressed bytes (hex), the name bundles and issuers use for the key.
    pub keys: BTreeMap<String, String>,
    /// The setup party's Ed25519 public key (hex).
    pub setup_key: String,
    /// When the setup ran (RFC 3339, UTC).
    pub created: String,
    /// Ed25519 signature (hex) over [`MANIFEST_DOMAIN`] and [`Self::signed_body`].
    pub signature: String,
}

impl KeyManifest {
    /// The bytes the signature covers: the manifest's JSON with an empty signature.
    pub fn signed_body(&self) -> Vec<u8> {
        let mut c = self.clone();
        c.signature.clear();
        // Serializing plain data structures cannot fail.
        serde_json::to_vec(&c).expect("serializable")
    }

    /// SHA-256 of the manifest's JSON (hex): a short pin for the whole file.
    pub fn hash(&self) -> String {
        crate::sha256_hex(&serde_json::to_vec(self).expect("serializable"))
    }

    /// Parses a manifest and checks it: the version, the backend, every key name and hash
    /// well formed (a solvency manifest names only its shape's circuits), and the signature
    /// under its `setup_key`. `what` names the file in errors.
    ///
    /// # Errors
    /// [`VerifyError::Format`] for malformed JSON or values, [`VerifyError::Signature`] if the
    /// signature does not verify.
    pub fn open(bytes: &[u8], what: &str) -> Result<TrustedManifest, VerifyError> {
        let m: Self = serde_json::from_slice(bytes).map_err(|e| FormatError::Json {
            what: what.into(),
            message: e.to_string(),
        })?;
        if m.version != MANIFEST_VERSION {
            return Err(FormatError::Version {
                what: what.into(),
                found: m.version,
                supported: MANIFEST_VERSION,
            }
            .into());
        }
        if m.backend != Backend::Groth16.name() {
            return Err(FormatError::field(
                "backend",
                format!(
                    "{:?}: a key manifest is for {} keys",
                    m.backend,
                    Backend::Groth16.name()
                ),
            )
            .into());
        }
        let allowed: Vec<String> = m.solvency.map(|s| s.names()).unwrap_or_default();
        for (name, hash) in &m.keys {
            if name != KYC_SHAPE && !allowed.contains(name) {
                return Err(FormatError::field(
                    format!("keys.{name}"),
                    match m.solvency {
                        Some(s) => format!(
                            "not a circuit of the manifest's shape (K={}, w={}, B={}, F={})",
                            s.num_assets, s.balance_bits, s.batch_size, s.fan_in
                        ),
                        None => "not a circuit name (a manifest without `solvency` names only `kyc-groth16`)".into(),
                    },
                )
                .into());
            }
            if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(FormatError::field(
                    format!("keys.{name}"),
                    "not a SHA-256 hash (64 lower-case hex digits)",
                )
                .into());
            }
        }
        let key = signing::decode_public_key(&m.setup_key, "setup_key")?;
        signing::verify(&key, MANIFEST_DOMAIN, &m.signed_body(), &m.signature, what)?;
        Ok(TrustedManifest(m))
    }
}

/// A key manifest whose format and signature were checked ([`KeyManifest::open`]); pinning it
/// is the verifier's operator's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedManifest(KeyManifest);

impl TrustedManifest {
    /// The manifest.
    pub fn manifest(&self) -> &KeyManifest {
        &self.0
    }

    /// The hash this manifest names for the circuit `shape`, if any.
    pub fn key_for(&self, shape: &str) -> Option<&str> {
        self.0.keys.get(shape).map(String::as_str)
    }
}

/// Which Groth16 verifying keys a verifier accepts. Halo2 rounds ignore it: their keys are
/// re-derived from the circuits.
#[derive(Debug, Clone, Copy)]
pub enum TrustedKeys<'a> {
    /// Only keys that one of these pinned manifests names for the proof's circuit. An empty
    /// list (the default) accepts no Groth16 proof at all.
    Manifests(&'a [TrustedManifest]),
    /// Whatever keys the bundle carries (checked only against their own hashes). Whoever made
    /// them can forge proofs: for tests and for operators who knowingly trust the prover.
    InsecureBundleKeys,
}

impl Default for TrustedKeys<'_> {
    fn default() -> Self {
        Self::Manifests(&[])
    }
}

impl TrustedKeys<'_> {
    /// Checks that `hash` is the key the pinned manifests name for circuit `shape`; `role`
    /// describes the proof in the error (`batch proof 0`).
    ///
    /// # Errors
    /// [`VerifyError::Key`] naming the key, its role and shape, and what is pinned instead.
    pub fn check(&self, hash: &str, shape: &str, role: &str) -> Result<(), VerifyError> {
        let ms = match self {
            Self::InsecureBundleKeys => return Ok(()),
            Self::Manifests(ms) => ms,
        };
        if ms.iter().any(|m| m.key_for(shape) == Some(hash)) {
            return Ok(());
        }
        let message = if ms.is_empty() {
            format!(
                "key of {role} (circuit {shape}): no Groth16 key manifest is pinned; give the \
                 setup's manifest (--trusted-keys MANIFEST.json), or knowingly trust the \
                 prover's own keys (--insecure-trust-bundle-keys)"
            )
        } else {
            let pinned: Vec<&str> = ms.iter().filter_map(|m| m.key_for(shape)).collect();
            if pinned.is_empty() {
                format!(
                    "key of {role} (circuit {shape}): no pinned key manifest has a key for this \
                     circuit (a manifest of another round shape?)"
                )
            } else {
                format!(
                    "key of {role} (circuit {shape}) is not the pinned one ({}): keys from \
                     another setup are refused",
                    pinned.join(", ")
                )
            }
        };
        Err(VerifyError::Key {
            hash: hash.into(),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_cover_every_round_size() {
        let s = SolvencyShape {
            num_assets: 2,
            balance_bits: 32,
            batch_size: 4,
            fan_in: 4,
        };
        assert_eq!(
            s.names(),
            [
                "solvency-batch-K2-w32-B4",
                "solvency-agg-K2-w32-f4",
                "solvency-top-K2-w32-f1",
                "solvency-top-K2-w32-f2",
                "solvency-top-K2-w32-f4",
            ]
        );
        // Every round of 1..2^12 batches uses only these circuits.
        let names = s.names();
        for log in 0..12 {
            let sizes = crate::solvency::level_sizes(1 << log, 4);
            let mut below = 1usize << log;
            for (l, n) in sizes.iter().enumerate() {
                let top = l + 1 == sizes.len();
                let f = 4.min(below);
                assert!(names.contains(&aggregation_shape_name(2, 32, f, top)));
                below = *n;
            }
        }
    }

    #[test]
    fn an_empty_pin_refuses_and_says_how_to_pin() {
        let e = TrustedKeys::default()
            .check(
                &"ab".repeat(32),
                "solvency-batch-K2-w32-B4",
                "batch proof 0",
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("--trusted-keys"), "{e}");
        assert!(TrustedKeys::InsecureBundleKeys.check("x", "y", "z").is_ok());
    }
}
