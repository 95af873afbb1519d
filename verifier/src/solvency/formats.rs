use crate::{amount, FormatError};
use assay_circuits::{encoding, solvency::Shape, Fr, StatementField};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the round configuration and of inclusion records this build writes and
/// reads.
pub const ROUND_VERSION: u32 = 1;
/// The version of the round bundle this build writes: 3 (Groth16 leaves and sum commitments of
/// 11, 22, ... assets hashed with Poseidon chain v2, which never ends in the Merkle node's
/// arity; otherwise as version 2: one backend-tagged `circuits` section). Versions 1 and 2 are
/// still read and verified, except Groth16 rounds of 11, 22, ... assets (refused by name).
pub const BUNDLE_VERSION: u32 = 3;
/// The bundle versions this build reads.
pub const BUNDLE_VERSIONS: std::ops::RangeInclusive<u32> = 1..=BUNDLE_VERSION;
pub use crate::backend::{BACKEND_GROTH16, BACKEND_HALO2, BACKEND_STARK};
use crate::Backend;
/// Signature domain of a round bundle.
pub const ROUND_DOMAIN: &str = "assay/round/v1";
/// Signature domain of an inclusion record.
pub const RECORD_DOMAIN: &str = "assay/inclusion/v1";
/// The largest batch size accepted (`2^20` leaves).
pub const MAX_BATCH_SIZE: usize = 1 << 20;
/// The largest fan-in accepted.
pub const MAX_FAN_IN: usize = 1024;
/// The most assets a round may have.
pub const MAX_ASSETS: usize = 64;

fn default_bits() -> usize {
    64
}
fn default_fan_in() -> usize {
    64
}

/// One asset of a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// Ticker, `[A-Za-z0-9_-]{1,16}`, unique in the round; also the CSV column name.
    pub symbol: String,
    /// Decimal places of the display unit (`8` for BTC): amounts are integers in `10^-decimals`.
    pub decimals: u32,
    /// Declared reserves, in the display unit.
    pub reserves: String,
}

/// A round's configuration (`ROUND.json`, version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundConfig {
    /// Format version: 1.
    pub version: u32,
    /// The round's id (any text of 1 to 256 bytes, e.g. a date); bound into every proof.
    pub round_id: String,
    /// `w`: every balance is proven to be in `[0, 2^w)`; 1 to 96, default 64.
    #[serde(default = "default_bits")]
    pub balance_bits: usize,
    /// `B`: leaves per batch proof, a power of two from 2 to 2^20.
    pub batch_size: usize,
    /// `F`: children per aggregation proof, a power of two from 2 to 1024; default 64.
    #[serde(default = "default_fan_in")]
    pub fan_in: usize,
    /// The assets, in the order of the leaf's balances.
    pub assets: Vec<AssetConfig>,
    /// SHA-256 (hex) of the previous round's bundle, or `null` for a first round.
    #[serde(default)]
    pub previous_round: Option<String>,
}

/// A configuration with every value checked and converted into the field `F` of a backend.
#[derive(Debug, Clone)]
pub struct CheckedConfig<F: StatementField = Fr> {
    /// `K` and `w`.
    pub shape: Shape,
    /// Reserves in smallest units, per asset.
    pub reserves: Vec<u128>,
    /// The round id as a field element (`hash_to_field(round_id)`).
    pub round: F,
    /// The previous round's hash as a field element (zero if none).
    pub previous: F,
}

impl CheckedConfig<Fr> {
    /// The same configuration over the field of another backend (the round id and previous
    /// hash are re-encoded; shape and reserves are integers).
    ///
    /// # Errors
    /// As [`RoundConfig::check`].
    pub fn convert<G: StatementField>(cfg: &RoundConfig) -> Result<CheckedConfig<G>, FormatError> {
        let c = cfg.check()?;
        Ok(CheckedConfig {
            shape: c.shape,
            reserves: c.reserves,
            round: encoding::hash_to_field_in::<G>(cfg.round_id.as_bytes())
                .map_err(|e| FormatError::field("round_id", e.to_string()))?,
            previous: previous_field_in::<G>(cfg.previous_round.as_deref(), "previous_round")?,
        })
    }
}

pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    what: &str,
) -> Result<T, FormatError> {
    serde_json::from_slice(bytes).map_err(|e| FormatError::Json {
        what: what.into(),
        message: e.to_string(),
    })
}

fn check_bundle_version(found: u32, what: &str) -> Result<(), FormatError> {
    if !BUNDLE_VERSIONS.contains(&found) {
        return Err(FormatError::Version {
            what: what.into(),
            found,
            supported: BUNDLE_VERSION,
        });
    }
    Ok(())
}

fn check_version(found: u32, what: &str) -> Result<(), FormatError> {
    if found != ROUND_VERSION {
        return Err(FormatError::Version {
            what: what.into(),
            found,
            supported: ROUND_VERSION,
        });
    }
    Ok(())
}

/// The field image of a bundle hash given as 64 hex characters.
///
/// # Errors
/// [`FormatError::Field`] if it is not 64 lower-case hex digits.
pub fn previous_field(hash_hex: Option<&str>, field: &str) -> Result<Fr, FormatError> {
    previous_field_in::<Fr>(hash_hex, field)
}

/// [`previous_field`] in the field of any backend (the big-endian integer reduced mod `p`).
///
/// # Errors
/// [`FormatError::Field`] if it is not 64 lower-case hex digits.
pub fn previous_field_in<F: StatementField>(
    hash_hex: Option<&str>,
    field: &str,
) -> Result<F, FormatError> {
    match hash_hex {
        None => Ok(F::zero()),
        Some(h) => {
            let bytes: [u8; 32] = hex::decode(h)
                .ok()
                .filter(|_| h.len() == 64 && h.bytes().all(|b| !b.is_ascii_uppercase()))
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| FormatError::field(field, "not a lower-case hex SHA-256"))?;
            Ok(F::from_be_bytes_mod_order(&bytes))
        }
    }
}

impl RoundConfig {
    /// Parses a configuration file; `what` names it in errors.
    ///
    /// # Errors
    /// [`FormatError::Json`] with line and column, or [`FormatError::Version`].
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, FormatError> {
        let c: Self = parse_json(bytes, what)?;
        check_version(c.version, what)?;
        Ok(c)
    }

    /// Checks every value and converts amounts and ids.
    ///
    /// # Errors
    /// [`FormatError::Field`] naming the first bad field.
    pub fn check(&self) -> Result<CheckedConfig, FormatError> {
        check_version(self.version, "config")?;
        if self.round_id.is_empty() {
            return Err(FormatError::field("round_id", "empty"));
        }
        let round = encoding::hash_to_field(self.round_id.as_bytes())
            .map_err(|e| FormatError::field("round_id", e.to_string()))?;
        let shape = Shape {
            num_assets: self.assets.len(),
            balance_bits: self.balance_bits,
        };
        if self.assets.is_empty() || self.assets.len() > MAX_ASSETS {
            return Err(FormatError::field(
                "assets",
                format!("1 to {MAX_ASSETS} assets"),
            ));
        }
        shape
            .validate()
            .map_err(|e| FormatError::field("balance_bits", e.to_string()))?;
        if !self.batch_size.is_power_of_two() || !(2..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(FormatError::field(
                "batch_size",
                format!(
                    "{} is not a power of two from 2 to {MAX_BATCH_SIZE}",
                    self.batch_size
                ),
            ));
        }
        if !self.fan_in.is_power_of_two() || !(2..=MAX_FAN_IN).contains(&self.fan_in) {
            return Err(FormatError::field(
                "fan_in",
                format!(
                    "{} is not a power of two from 2 to {MAX_FAN_IN}",
                    self.fan_in
                ),
            ));
        }
        let mut reserves = Vec::with_capacity(self.assets.len());
        for (i, a) in self.assets.iter().enumerate() {
            let f = |name: &str| format!("assets[{i}].{name}");
            let ok = (1..=16).contains(&a.symbol.len())
                && a.symbol
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return Err(FormatError::field(f("symbol"), "1 to 16 of [A-Za-z0-9_-]"));
            }
            if a.symbol == "user_id" || self.assets[..i].iter().any(|b| b.symbol == a.symbol) {
                return Err(FormatError::field(
                    f("symbol"),
                    format!("{:?} is repeated or reserved", a.symbol),
                ));
            }
            if a.decimals > 30 {
                return Err(FormatError::field(f("decimals"), "at most 30"));
            }
            let r = amount::parse_units(&a.reserves, a.decimals, shape.sum_bits())
                .map_err(|e| FormatError::field(f("reserves"), e.to_string()))?;
            reserves.push(r);
        }
        let previous = previous_field(self.previous_round.as_deref(), "previous_round")?;
        Ok(CheckedConfig {
            shape,
            reserves,
            round,
            previous,
        })
    }
}

/// One proof of a bundle: which key, the proof, and its public inputs (decimal strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofEntry {
    /// SHA-256 (hex) of the verifying key, a key of [`RoundBundle::verifying_keys`].
    pub key: String,
    /// The proof in hex: Groth16, the compressed arkworks serialization (128 bytes); Halo2,
    /// the transcript bytes (a few kB).
    pub proof: String,
    /// The public inputs in circuit order, as decimal field elements.
    pub public_inputs: Vec<String>,
}

/// The Halo2 circuits of a round: their column layout and size: everything a verifier needs
/// to re-derive the verifying keys (Halo2 keys are transparent: blank circuit + deterministic
/// IPA parameters). The [`Circuits::Halo2`] section of a version 2 bundle, and the `halo2`
/// field of a version 1 bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Halo2Circuits {
    /// The column layout of every circuit: `compact`, `balanced` or `throughput`.
    pub layout: String,
    /// `k` of the batch circuit (`2^k` rows).
    pub batch_k: u32,
    /// `k` of the aggregation circuit of each level, from the bottom up (the last is the top).
    pub aggregation_k: Vec<u32>,
}

/// The Groth16 circuits of a round: nothing beyond the bundle's configuration (their keys are
/// in [`RoundBundle::verifying_keys`], named by the hash of their bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Groth16Circuits {}

/// The STARK's FRI and zero-knowledge parameters as a bundle declares them. A verifier never
/// uses them: it compares them with the pinned sets of `assay-circuits` (`STARK_PARAMS` for
/// `params`, `AGG_PARAMS` for `agg_params`) and refuses a bundle that declares others
/// (`docs/stark.md` derives the security level from the pinned ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarkParamsSection {
    /// `log2` of the FRI blowup.
    pub log_blowup: usize,
    /// FRI queries.
    pub num_queries: usize,
    /// Proof-of-work bits before the query phase.
    pub query_pow_bits: usize,
    /// Proof-of-work bits at each commit-phase round.
    pub commit_pow_bits: usize,
    /// Random codewords of the hiding PCS.
    pub num_random_codewords: usize,
    /// Proof-of-work bits before the out-of-domain point.
    pub ood_pow_bits: usize,
    /// Proof-of-work bits before the batching challenge.
    pub batch_pow_bits: usize,
    /// `log2` of the largest FRI folding arity. Absent means 1 (binary folding: the batch
    /// parameters, and every set declared before 2026-12-03), and is written only when not 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub max_log_arity: usize,
}

fn one() -> usize {
    1
}

fn is_one(x: &usize) -> bool {
    *x == 1
}

/// The STARK circuits of a round (`{"backend": "stark-koalabear-poseidon2", ...}`): the
/// parameters, the batch AIR's height and the children of every aggregation proof. All of it is
/// re-derived by the verifier from the configuration and compared (nothing here is trusted):
/// `batch_log_height` is `log2(config.batch_size)` (a batch proves `batch_size - 1` users, its
/// last row holds the sum commitment), and `levels[l][i]` the number of children of proof `i` of
/// aggregation level `l` (`config.fan_in` each, the last of a level the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarkCircuits {
    /// The FRI and zero-knowledge parameters (must equal the pinned ones).
    pub params: StarkParamsSection,
    /// The FRI parameters of the aggregation proofs (every level, the top included), which must
    /// equal the pinned `AGG_PARAMS` (rounds made since 2026-12-03). Absent in earlier rounds,
    /// whose aggregation proofs were made under `params`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg_params: Option<StarkParamsSection>,
    /// `log2` of the batch AIR's trace height.
    pub batch_log_height: usize,
    /// Children per aggregation proof, level by level from the bottom (the last level is the
    /// top, one proof).
    pub levels: Vec<Vec<usize>>,
    /// Per batch, in order, the SHA-256 of its leaves file (`proofs/<sha256>.bin`: the batch's
    /// leaves in chain order, `docs/formats.md`). When present (rounds made since 2026-12-02),
    /// records carry no chain path: a customer reruns its batch's chain from this file. Absent
    /// in earlier rounds, whose records carry their chain path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<String>,
}

/// The `circuits` section of a version 2 bundle: which backend its proofs are for, and what
/// that backend needs to know about its circuits (`{"backend": "halo2-ipa-pasta", "layout":
/// ..., "batch_k": ..., "aggregation_k": [...]}`). The section names its backend, so a bundle
/// relabelled as another backend is refused by name.
///
/// Reading goes through a typed wire struct (`CircuitsWire`) in one pass (see the `Deserialize` impl below), with
/// serde's messages for a missing or unknown tag, a field the backend lacks, a repeated or a
/// missing field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "backend")]
#[non_exhaustive]
pub enum Circuits {
    /// Groth16 on BN254: `{"backend": "groth16-bn254"}`.
    #[serde(rename = "groth16-bn254")]
    Groth16(Groth16Circuits),
    /// Halo2 over Pasta: layout and `k` of every circuit.
    #[serde(rename = "halo2-ipa-pasta")]
    Halo2(Halo2Circuits),
    /// The STARK over KoalaBear: parameters, batch height, aggregation shapes.
    #[serde(rename = "stark-koalabear-poseidon2")]
    Stark(StarkCircuits),
}

impl Circuits {
    /// The backend the section is for.
    pub fn backend(&self) -> Backend {
        match self {
            Circuits::Groth16(_) => Backend::Groth16,
            Circuits::Halo2(_) => Backend::Halo2,
            Circuits::Stark(_) => Backend::Stark,
        }
    }
}

/// The fields of each backend's [`Circuits`] section, besides its `backend` tag (declaration
/// order: serde's messages list them so).
const GROTH16_FIELDS: &[&str] = &[];
const HALO2_FIELDS: &[&str] = &["layout", "batch_k", "aggregation_k"];
const STARK_FIELDS: &[&str] = &[
    "params",
    "agg_params",
    "batch_log_height",
    "levels",
    "leaves",
];
const CIRCUITS_VARIANTS: &[&str] = &[BACKEND_GROTH16, BACKEND_HALO2, BACKEND_STARK];

/// A `circuits` section as read off the wire, in one pass: its tag and the fields of every
/// backend, each at most once. [`Circuits`]' `Deserialize` turns it into the backend's section,
/// refusing (as the derived, tagged form did) a missing or unknown tag, a field the tagged
/// backend does not have (`deny_unknown_fields`), a repeated field, and a missing one.
#[derive(Default)]
struct CircuitsWire {
    backend: Option<Backend>,
    layout: Option<String>,
    batch_k: Option<u32>,
    aggregation_k: Option<Vec<u32>>,
    params: Option<StarkParamsSection>,
    agg_params: Option<StarkParamsSection>,
    batch_log_height: Option<usize>,
    levels: Option<Vec<Vec<usize>>>,
    leaves: Option<Vec<String>>,
}

/// The fields a backend's section may carry besides its tag.
fn circuits_fields(b: Backend) -> &'static [&'static str] {
    match b {
        Backend::Groth16 => GROTH16_FIELDS,
        Backend::Halo2 => HALO2_FIELDS,
        Backend::Stark => STARK_FIELDS,
    }
}

/// The section's tag: one of the backends' format names only (not their short names).
struct CircuitsTag(Backend);

impl<'de> Deserialize<'de> for CircuitsTag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = CircuitsTag;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("variant identifier")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<CircuitsTag, E> {
                Backend::ALL
                    .into_iter()
                    .find(|b| b.name() == s)
                    .map(CircuitsTag)
                    .ok_or_else(|| E::unknown_variant(s, CIRCUITS_VARIANTS))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Stores a field's value, refusing a second one.
fn once<T, E: serde::de::Error>(slot: &mut Option<T>, name: &'static str, v: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(v);
    Ok(())
}

/// A required field's value, or serde's `missing field` error.
fn required<T, E: serde::de::Error>(v: Option<T>, name: &'static str) -> Result<T, E> {
    v.ok_or_else(|| E::missing_field(name))
}

impl<'de> Deserialize<'de> for Circuits {
    /// Reads the section in one pass through [`CircuitsWire`] (no buffering of the section).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Circuits;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("internally tagged enum Circuits")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Circuits, A::Error> {
                let mut w = CircuitsWire::default();
                // Fields seen before the tag, in order: checked against the backend once it
                // is known, so the first field the backend lacks is the one named.
                let mut before_tag: Vec<String> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "backend" {
                        if w.backend.is_some() {
                            return Err(A::Error::duplicate_field("backend"));
                        }
                        let b = map.next_value::<CircuitsTag>()?.0;
                        let fields = circuits_fields(b);
                        if let Some(k) = before_tag.iter().find(|k| !fields.contains(&k.as_str())) {
                            return Err(A::Error::unknown_field(k, fields));
                        }
                        w.backend = Some(b);
                        continue;
                    }
                    if let Some(b) = w.backend {
                        let fields = circuits_fields(b);
                        if !fields.contains(&key.as_str()) {
                            return Err(A::Error::unknown_field(&key, fields));
                        }
                    }
                    match key.as_str() {
                        "layout" => once(&mut w.layout, "layout", map.next_value()?)?,
                        "batch_k" => once(&mut w.batch_k, "batch_k", map.next_value()?)?,
                        "aggregation_k" => {
                            once(&mut w.aggregation_k, "aggregation_k", map.next_value()?)?
                        }
                        "params" => once(&mut w.params, "params", map.next_value()?)?,
                        "agg_params" => once(&mut w.agg_params, "agg_params", map.next_value()?)?,
                        "batch_log_height" => once(
                            &mut w.batch_log_height,
                            "batch_log_height",
                            map.next_value()?,
                        )?,
                        "levels" => once(&mut w.levels, "levels", map.next_value()?)?,
                        "leaves" => once(&mut w.leaves, "leaves", map.next_value()?)?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                    if w.backend.is_none() && !before_tag.contains(&key) {
                        before_tag.push(key);
                    }
                }
                let backend = required(w.backend, "backend")?;
                Ok(match backend {
                    Backend::Groth16 => Circuits::Groth16(Groth16Circuits {}),
                    Backend::Halo2 => Circuits::Halo2(Halo2Circuits {
                        layout: required(w.layout, "layout")?,
                        batch_k: required(w.batch_k, "batch_k")?,
                        aggregation_k: required(w.aggregation_k, "aggregation_k")?,
                    }),
                    Backend::Stark => Circuits::Stark(StarkCircuits {
                        params: required(w.params, "params")?,
                        batch_log_height: required(w.batch_log_height, "batch_log_height")?,
                        levels: required(w.levels, "levels")?,
                        leaves: w.leaves.unwrap_or_default(),
                        agg_params: w.agg_params,
                    }),
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// `round.json`: the public bundle of one round (version 2; version 1 is still read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundBundle {
    /// Format version: 2 ([`BUNDLE_VERSION`]), or 1 for bundles of earlier builds.
    pub version: u32,
    /// The proof system: [`BACKEND_GROTH16`] or [`BACKEND_HALO2`].
    pub backend: String,
    /// Version 1 only: the Halo2 circuits (layout and `k`), present for [`BACKEND_HALO2`]
    /// only. Version 2 bundles carry [`RoundBundle::circuits`] instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halo2: Option<Halo2Circuits>,
    /// Version 2 only (required there): the backend-tagged section of the round's circuits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuits: Option<Circuits>,
    /// The round's configuration (all of it is public).
    pub config: RoundConfig,
    /// Leaves in the tree, real and padding: a power of two, at least `batch_size`.
    pub leaf_count: u64,
    /// The root of the tree of all leaves (decimal field element).
    pub global_root: String,
    /// Verifying keys named by their SHA-256: for Groth16 the key's bytes (hex); for Halo2 a
    /// description of the circuit (`batch`, `aggregation level 1`, `top`), whose key every
    /// verifier re-derives and hashes (SHA-256 of the key's pinned description).
    pub verifying_keys: BTreeMap<String, String>,
    /// One proof per batch, in tree order.
    pub batches: Vec<ProofEntry>,
    /// Aggregation levels from the bottom up; the last level holds one proof, the top.
    pub aggregations: Vec<Vec<ProofEntry>>,
    /// The exchange's Ed25519 publication key (hex).
    pub publication_key: String,
    /// Signature (hex) over the bundle with this field empty (domain `assay/round/v1`).
    pub signature: String,
}

/// The circuits section of a bundle, whichever version carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section<'a> {
    /// The section, if the bundle has one (a version 1 Groth16 bundle has none).
    pub circuits: Option<CircuitsRef<'a>>,
    /// The section's field name in the bundle (`halo2` in version 1, `circuits` in version 2),
    /// for error messages.
    pub field: &'static str,
}

/// A borrowed view of [`Circuits`] (version 1's `halo2` field is a Halo2 section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitsRef<'a> {
    /// See [`Circuits::Groth16`].
    Groth16(&'a Groth16Circuits),
    /// See [`Circuits::Halo2`].
    Halo2(&'a Halo2Circuits),
    /// See [`Circuits::Stark`].
    Stark(&'a StarkCircuits),
}

impl CircuitsRef<'_> {
    /// The backend the section is for.
    pub fn backend(&self) -> Backend {
        match self {
            CircuitsRef::Groth16(_) => Backend::Groth16,
            CircuitsRef::Halo2(_) => Backend::Halo2,
            CircuitsRef::Stark(_) => Backend::Stark,
        }
    }
}

impl<'a> From<&'a Circuits> for CircuitsRef<'a> {
    fn from(c: &'a Circuits) -> Self {
        match c {
            Circuits::Groth16(g) => CircuitsRef::Groth16(g),
            Circuits::Halo2(h) => CircuitsRef::Halo2(h),
            Circuits::Stark(s) => CircuitsRef::Stark(s),
        }
    }
}

impl RoundBundle {
    /// Parses `round.json`.
    ///
    /// # Errors
    /// [`FormatError::Json`] or [`FormatError::Version`].
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, FormatError> {
        let b: Self = parse_json(bytes, what)?;
        check_bundle_version(b.version, what)?;
        Ok(b)
    }

    /// The bundle's circuits section: version 2's `circuits` (required), or version 1's
    /// `halo2` field (absent from Groth16 bundles).
    ///
    /// # Errors
    /// [`FormatError::Version`] for an unread version; [`FormatError::Field`] if a version 2
    /// bundle lacks `circuits` or carries version 1's `halo2`, or a version 1 bundle carries
    /// `circuits`.
    pub fn section(&self) -> Result<Section<'_>, FormatError> {
        check_bundle_version(self.version, "round bundle")?;
        if self.version == 1 {
            if self.circuits.is_some() {
                return Err(FormatError::field(
                    "circuits",
                    "a version 1 bundle names its circuits in `halo2`, not `circuits`",
                ));
            }
            return Ok(Section {
                circuits: self.halo2.as_ref().map(CircuitsRef::Halo2),
                field: "halo2",
            });
        }
        if self.halo2.is_some() {
            return Err(FormatError::field(
                "halo2",
                "version 1's section: bundles from version 2 on name their circuits in `circuits`",
            ));
        }
        let c = self.circuits.as_ref().ok_or_else(|| {
            FormatError::field(
                "circuits",
                "missing: bundles from version 2 on name their backend's circuits",
            )
        })?;
        Ok(Section {
            circuits: Some(c.into()),
            field: "circuits",
        })
    }

    /// The bytes the signature covers: the canonical JSON with an empty signature.
    pub fn signed_body(&self) -> Vec<u8> {
        let mut c = self.clone();
        c.signature.clear();
        // Serializing plain data structures cannot fail.
        serde_json::to_vec(&c).expect("serializable")
    }

    /// The bundle's hash (SHA-256 of its canonical JSON, signature included), in hex: the
    /// value the next round names as `previous_round`.
    pub fn hash(&self) -> String {
        crate::sha256_hex(&serde_json::to_vec(self).expect("serializable"))
    }

    /// [`Self::hash`] and [`Self::signed_body`] from one serialization: the same two values.
    /// `signature` is the last field, so the signed body is the canonical JSON with that last
    /// value replaced by `""` (the bundle is serialized again, as [`Self::signed_body`] does,
    /// in the case it would not end so).
    pub fn hash_and_signed_body(&self) -> (String, Vec<u8>) {
        let full = serde_json::to_vec(self).expect("serializable");
        let hash = crate::sha256_hex(&full);
        let last = |s: &str| {
            let mut v = br#","signature":"#.to_vec();
            v.extend(serde_json::to_vec(s).expect("serializable"));
            v.push(b'}');
            v
        };
        let body = match full.strip_suffix(last(&self.signature).as_slice()) {
            Some(head) => [head, last("").as_slice()].concat(),
            None => self.signed_body(),
        };
        (hash, body)
    }
}

/// One balance of a record, in the asset's display unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceEntry {
    /// The asset.
    pub symbol: String,
    /// The amount in the display unit, with the asset's decimals.
    pub amount: String,
}

/// One customer's inclusion record (version 1): private to that customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionRecord {
    /// Format version: 1.
    pub version: u32,
    /// The round.
    pub round_id: String,
    /// SHA-256 (hex) of the round bundle this record belongs to.
    pub bundle_hash: String,
    /// The customer's id as in the exchange's books.
    pub user_id: String,
    /// Every balance, in the round's asset order.
    pub balances: Vec<BalanceEntry>,
    /// The secret salt `s` of the customer's `id` (decimal field element).
    pub salt: String,
    /// The leaf's position in the tree.
    pub leaf_index: u64,
    /// Siblings from the leaf up to the global root (decimal field elements).
    pub path: Vec<String>,
    /// The exchange's publication key (hex), as in the bundle.
    pub publication_key: String,
    /// Signature (hex) over the record with this field empty (domain `assay/inclusion/v1`).
    pub signature: String,
}

impl InclusionRecord {
    /// Parses a record.
    ///
    /// # Errors
    /// [`FormatError::Json`] or [`FormatError::Version`].
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, FormatError> {
        let r: Self = parse_json(bytes, what)?;
        check_version(r.version, what)?;
        Ok(r)
    }

    /// The bytes the signature covers.
    pub fn signed_body(&self) -> Vec<u8> {
        let mut c = self.clone();
        c.signature.clear();
        serde_json::to_vec(&c).expect("serializable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halo2() -> Halo2Circuits {
        Halo2Circuits {
            layout: "compact".into(),
            batch_k: 9,
            aggregation_k: vec![8, 9],
        }
    }

    #[test]
    fn the_circuits_section_is_tagged_with_its_backend() {
        let h = Circuits::Halo2(halo2());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"{"backend":"halo2-ipa-pasta","layout":"compact","batch_k":9,"aggregation_k":[8,9]}"#
        );
        assert_eq!(serde_json::from_str::<Circuits>(&json).unwrap(), h);
        let g = Circuits::Groth16(Groth16Circuits {});
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, r#"{"backend":"groth16-bn254"}"#);
        assert_eq!(serde_json::from_str::<Circuits>(&json).unwrap(), g);
        assert_eq!(g.backend(), Backend::Groth16);
        assert_eq!(h.backend(), Backend::Halo2);
        // Unknown fields stay refused inside the section, and unknown backends too.
        for bad in [
            r#"{"backend":"groth16-bn254","layout":"compact"}"#,
            r#"{"backend":"halo2-ipa-pasta","layout":"compact","batch_k":9,"aggregation_k":[],"x":1}"#,
            r#"{"backend":"plonky9"}"#,
            r#"{"layout":"compact","batch_k":9,"aggregation_k":[]}"#,
        ] {
            assert!(serde_json::from_str::<Circuits>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_circuits_section_keeps_only_its_backends_fields() {
        let err = |json: &str| {
            serde_json::from_str::<Circuits>(json)
                .unwrap_err()
                .to_string()
        };
        // Each backend's fields, and only those: another backend's field is unknown to it.
        let s = r#"{"backend":"stark-koalabear-poseidon2","params":{"log_blowup":1,"num_queries":2,"query_pow_bits":3,"commit_pow_bits":4,"num_random_codewords":5,"ood_pow_bits":6,"batch_pow_bits":7},"batch_log_height":4,"levels":[[2],[1]]}"#;
        let Circuits::Stark(st) = serde_json::from_str::<Circuits>(s).unwrap() else {
            panic!("not a STARK section")
        };
        assert_eq!((st.batch_log_height, st.leaves.len()), (4, 0));
        assert_eq!(st.params.batch_pow_bits, 7);
        // A parameter set without max_log_arity (every set before 2026-12-03) has arity 2, and
        // no agg_params: the aggregation proofs use `params`.
        assert_eq!((st.params.max_log_arity, st.agg_params.as_ref()), (1, None));
        let with_agg = s.replace(
            r#","batch_log_height""#,
            r#","agg_params":{"log_blowup":5,"num_queries":18,"query_pow_bits":16,"commit_pow_bits":0,"num_random_codewords":4,"ood_pow_bits":0,"batch_pow_bits":16,"max_log_arity":3},"batch_log_height""#,
        );
        let Circuits::Stark(st) = serde_json::from_str::<Circuits>(&with_agg).unwrap() else {
            panic!("not a STARK section")
        };
        assert_eq!(st.agg_params.map(|a| a.max_log_arity), Some(3));
        assert!(err(&s.replace(r#""batch_log_height""#, r#""batch_k""#)).starts_with(
            "unknown field `batch_k`, expected one of `params`, `agg_params`, `batch_log_height`, `levels`, `leaves`"
        ));
        assert!(err(r#"{"backend":"halo2-ipa-pasta","layout":"compact","batch_k":9,"aggregation_k":[],"levels":[]}"#)
            .starts_with("unknown field `levels`, expected one of `layout`, `batch_k`, `aggregation_k`"));
        assert!(err(r#"{"backend":"groth16-bn254","layout":"compact"}"#)
            .starts_with("unknown field `layout`, there are no fields"));
        // The tag may come last; a field before it is checked against its backend.
        assert_eq!(
            serde_json::from_str::<Circuits>(
                r#"{"layout":"compact","batch_k":9,"aggregation_k":[8],"backend":"halo2-ipa-pasta"}"#
            )
            .unwrap(),
            Circuits::Halo2(Halo2Circuits {
                layout: "compact".into(),
                batch_k: 9,
                aggregation_k: vec![8],
            })
        );
        assert!(
            err(r#"{"x":1,"layout":"compact","backend":"groth16-bn254"}"#)
                .starts_with("unknown field `x`, there are no fields")
        );
        assert!(err(r#"{"layout":"compact","backend":"groth16-bn254"}"#)
            .starts_with("unknown field `layout`, there are no fields"));
        // Tag: required, once, a format name (not the command line's short name).
        assert!(err(r#"{"layout":"compact"}"#).starts_with("missing field `backend`"));
        assert!(
            err(r#"{"backend":"groth16-bn254","backend":"groth16-bn254"}"#)
                .starts_with("duplicate field `backend`")
        );
        assert!(err(r#"{"backend":"groth16"}"#).starts_with(
            "unknown variant `groth16`, expected one of `groth16-bn254`, `halo2-ipa-pasta`, `stark-koalabear-poseidon2`"
        ));
        assert!(err(r#"{"backend":7}"#)
            .starts_with("invalid type: integer `7`, expected variant identifier"));
        // Fields: once, required ones present, typed.
        assert!(
            err(r#"{"backend":"halo2-ipa-pasta","layout":"a","layout":"b"}"#)
                .starts_with("duplicate field `layout`")
        );
        assert!(
            err(r#"{"backend":"halo2-ipa-pasta","layout":"compact","aggregation_k":[]}"#)
                .starts_with("missing field `batch_k`")
        );
        assert!(err(
            r#"{"backend":"halo2-ipa-pasta","layout":"compact","batch_k":"9","aggregation_k":[]}"#
        )
        .starts_with("invalid type: string \"9\", expected u32"));
        assert!(err("[]")
            .starts_with("invalid type: sequence, expected internally tagged enum Circuits"));
    }

    fn bundle(version: u32) -> RoundBundle {
        RoundBundle {
            version,
            backend: BACKEND_HALO2.into(),
            halo2: None,
            circuits: None,
            config: RoundConfig {
                version: 1,
                round_id: "r".into(),
                balance_bits: 64,
                batch_size: 2,
                fan_in: 2,
                assets: vec![],
                previous_round: None,
            },
            leaf_count: 2,
            global_root: "0".into(),
            verifying_keys: BTreeMap::new(),
            batches: vec![],
            aggregations: vec![],
            publication_key: String::new(),
            signature: String::new(),
        }
    }

    #[test]
    fn one_serialization_gives_the_same_hash_and_signed_body() {
        let same = |b: &RoundBundle| {
            let (hash, body) = b.hash_and_signed_body();
            assert_eq!(hash, b.hash());
            assert_eq!(body, b.signed_body());
        };
        let mut b = bundle(2);
        // Empty, plain hex, and values JSON escapes: quotes, backslashes, controls, non-ASCII.
        for sig in ["", "ab01", "a\"b\\c", "\n\u{1}é", "\"signature\":\"x\"}"] {
            b.signature = sig.into();
            same(&b);
        }
        // Every frozen bundle, with its real signature.
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/solvency/frozen");
        let mut seen = 0;
        for v in std::fs::read_dir(&dir).unwrap() {
            let round = v.unwrap().path().join("round.json");
            if let Ok(bytes) = std::fs::read(&round) {
                let b = RoundBundle::parse(&bytes, "round.json").unwrap();
                assert!(!b.signature.is_empty());
                same(&b);
                seen += 1;
            }
        }
        assert!(seen >= 3, "{seen} frozen bundles in {}", dir.display());
    }

    #[test]
    fn each_version_reads_its_own_section_only() {
        // Version 1: `halo2` (or nothing, for Groth16).
        let mut b = bundle(1);
        assert_eq!(b.section().unwrap().circuits, None);
        b.halo2 = Some(halo2());
        let s = b.section().unwrap();
        assert_eq!(s.field, "halo2");
        assert_eq!(s.circuits.map(|c| c.backend()), Some(Backend::Halo2));
        b.circuits = Some(Circuits::Halo2(halo2()));
        assert!(b.section().is_err());
        // Version 2: `circuits`, required; `halo2` refused.
        let mut b = bundle(2);
        assert!(b.section().is_err());
        b.circuits = Some(Circuits::Groth16(Groth16Circuits {}));
        let s = b.section().unwrap();
        assert_eq!(s.field, "circuits");
        assert_eq!(s.circuits.map(|c| c.backend()), Some(Backend::Groth16));
        b.halo2 = Some(halo2());
        assert!(b.section().is_err());
        // Version 3 reads its section as version 2 does; version 4 is not read.
        let mut b = bundle(3);
        assert!(b.section().is_err());
        b.circuits = Some(Circuits::Groth16(Groth16Circuits {}));
        assert_eq!(b.section().unwrap().field, "circuits");
        assert!(matches!(
            bundle(4).section(),
            Err(FormatError::Version { found: 4, .. })
        ));
    }

    #[test]
    fn a_v2_bundle_round_trips_and_a_v1_bundle_keeps_its_bytes() {
        let mut b = bundle(2);
        b.circuits = Some(Circuits::Halo2(halo2()));
        let json = serde_json::to_vec(&b).unwrap();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(
            text.contains(r#""circuits":{"backend":"halo2-ipa-pasta""#),
            "{text}"
        );
        assert!(!text.contains(r#""halo2":"#), "{text}");
        assert_eq!(RoundBundle::parse(&json, "round").unwrap(), b);
        // A version 1 bundle serializes as before: no `circuits` key.
        let mut v1 = bundle(1);
        v1.halo2 = Some(halo2());
        let text = serde_json::to_string(&v1).unwrap();
        assert!(
            text.starts_with(r#"{"version":1,"backend":"halo2-ipa-pasta","halo2":{"#),
            "{text}"
        );
        assert!(!text.contains("circuits"), "{text}");
    }
}
