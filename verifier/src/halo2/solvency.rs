//! Halo2 rounds: verifying keys are never read from the bundle, they are re-derived.
//!
//! A Halo2 key is transparent: it follows from the blank circuit (the round's shape, batch
//! size, fan-in and column layout) and the deterministic IPA parameters of its `k`. The bundle
//! names the layout and every `k` ([`Halo2Circuits`]); the verifier checks that each `k` is
//! the circuit's own (the smallest that fits, so a bundle cannot make a verifier generate
//! parameters of an absurd size), derives each key, and requires every proof entry and the
//! bundle's `verifying_keys` to name exactly those keys (SHA-256 of the pinned key).

use crate::dispatch::CircuitId;
use crate::halo2::{vk_hash, Generate, Halo2Error, Halo2Params, Halo2Verifier, ParamsSource};
use crate::solvency::{
    level_sizes, CheckedConfig, CircuitsRef, Halo2Circuits, ProofEntry, RoundBundle, RoundConfig,
    RoundOptions, Section, BACKEND_HALO2,
};
use crate::{FormatError, VerifyError};
use assay_circuits::halo2::Fp;
use assay_circuits::solvency::halo2::{AggregateCircuit, BatchCircuit, Layout};
use assay_circuits::solvency::Shape;
use assay_circuits::with_tuning;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The largest Halo2 proof accepted (bytes): far above any proof of these circuits.
pub const MAX_HALO2_PROOF_BYTES: usize = 1 << 20;

/// The layout and `k` of every circuit of a Halo2 round of `batches` batch proofs.
pub fn halo2_circuits(
    shape: Shape,
    config: &RoundConfig,
    batches: usize,
    layout: Layout,
) -> Halo2Circuits {
    let sizes = level_sizes(batches, config.fan_in);
    let mut below = batches;
    let mut aggregation_k = Vec::with_capacity(sizes.len());
    for (level, &count) in sizes.iter().enumerate() {
        let top = level + 1 == sizes.len();
        aggregation_k.push(layout.aggregate_k(shape, config.fan_in.min(below), top));
        below = count;
    }
    Halo2Circuits {
        layout: layout.name().into(),
        batch_k: layout.batch_k(shape, config.batch_size),
        aggregation_k,
    }
}

/// How a Halo2 circuit of a round is named in `verifying_keys`.
pub fn halo2_key_description(
    layout: Layout,
    shape: Shape,
    circuit: &str,
    size: usize,
    k: u32,
) -> String {
    format!(
        "{BACKEND_HALO2} {} {circuit}({size}) K={} w={} k={k}",
        layout.name(),
        shape.num_assets,
        shape.balance_bits
    )
}

/// The keys of a Halo2 round: the batch circuit's and each aggregation level's.
pub(crate) struct Halo2Keys {
    batch: (String, Arc<Halo2Verifier>),
    levels: Vec<(String, Arc<Halo2Verifier>)>,
}

/// What a derived key follows from: the layout, the round's shape, the circuit, its `k` and
/// the SHA-256 of the IPA parameters it was derived with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct KeyId {
    layout: Layout,
    shape: Shape,
    circuit: CircuitSpec,
    k: u32,
    params: [u8; 32],
}

/// How many derived keys a process keeps ([`derive`]); each holds its parameters (about
/// 2 MB at `k = 14`).
const DERIVED_KEYS: usize = 12;

/// Keys derived in this process, newest last: the next round of a shape already seen (the
/// server's next bundle, the page's next round) derives none, while parameters that differ
/// in a single byte derive again. Nothing is trusted from the bundle either way: the keys
/// follow from the circuits and parameters named here, and the bundle must name exactly them.
static DERIVED: Mutex<Derived> = Mutex::new(VecDeque::new());

/// The derived keys a process keeps, oldest first.
type Derived = VecDeque<(KeyId, Arc<Halo2Verifier>)>;

/// How many keys this process derived (not taken from [`DERIVED`]), for tests.
#[cfg(test)]
static KEYGENS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn params_sha256(params: &Halo2Params) -> Result<[u8; 32], Halo2Error> {
    let mut bytes = Vec::new();
    crate::halo2::write_params(params, &mut bytes)?;
    Ok(Sha256::digest(&bytes).into())
}

/// The key of `circuit` at `k`: from [`DERIVED`] when this process derived it already with
/// the same parameters, else derived (`keygen_vk`) and kept.
fn derive(
    layout: Layout,
    params: Halo2Params,
    k: u32,
    shape: Shape,
    circuit: CircuitSpec,
) -> Result<Arc<Halo2Verifier>, Halo2Error> {
    let id = KeyId {
        layout,
        shape,
        circuit,
        k,
        params: params_sha256(&params)?,
    };
    // A poisoned lock (a panic while another thread held it) only loses the cache.
    let kept = |f: &mut dyn FnMut(&mut Derived)| {
        if let Ok(mut d) = DERIVED.lock() {
            f(&mut d);
        }
    };
    let mut found = None;
    kept(&mut |d| found = d.iter().find(|(i, _)| *i == id).map(|(_, v)| v.clone()));
    if let Some(v) = found {
        return Ok(v);
    }
    let v = Arc::new(derive_key(layout, params, k, shape, circuit)?);
    #[cfg(test)]
    KEYGENS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    kept(&mut |d| {
        if !d.iter().any(|(i, _)| *i == id) {
            if d.len() == DERIVED_KEYS {
                d.pop_front();
            }
            d.push_back((id, v.clone()));
        }
    });
    Ok(v)
}

fn derive_key(
    layout: Layout,
    params: Halo2Params,
    k: u32,
    shape: Shape,
    circuit: CircuitSpec,
) -> Result<Halo2Verifier, Halo2Error> {
    with_tuning!(layout, T => match circuit {
        CircuitSpec::Batch(b) => {
            Halo2Verifier::new(params, &BatchCircuit::<T>::new(shape, b, None), k, 3)
        }
        CircuitSpec::Aggregation { fan_in, top } => {
            let c = AggregateCircuit::<T>::new(shape, fan_in, top, None);
            let n = c.num_public();
            Halo2Verifier::new(params, &c, k, n)
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CircuitSpec {
    Batch(usize),
    Aggregation { fan_in: usize, top: bool },
}

/// The `k` of every circuit of a Halo2 bundle, smallest first and each once: the IPA
/// parameters a verifier needs before it can derive the round's keys (a browser fetches them,
/// see [`crate::halo2::SuppliedParams`]). The bundle's `circuits` section is checked as
/// [`PreparedRound::prepare`](crate::solvency::PreparedRound::prepare) checks it (its layout,
/// and every `k` equal to the one the configuration, batch count and fan-in imply), so a bundle
/// cannot ask for parameters other than its circuits'. An empty list for a Groth16 bundle.
///
/// # Errors
/// The bundle's version, configuration or Halo2 section is malformed or inconsistent.
pub fn halo2_params_needed(b: &RoundBundle) -> Result<Vec<u32>, VerifyError> {
    let section = b.section()?;
    if b.backend != BACKEND_HALO2 {
        return Ok(Vec::new());
    }
    let cfg = CheckedConfig::convert::<Fp>(&b.config)?;
    let (_, h) = checked_circuits(b, section, &cfg)?;
    let mut ks: Vec<u32> = h.aggregation_k.iter().copied().chain([h.batch_k]).collect();
    ks.sort_unstable();
    ks.dedup();
    Ok(ks)
}

/// The bundle's Halo2 section, its layout parsed and every `k` checked against the circuits
/// of the round (the smallest that fits each).
fn checked_circuits<'a>(
    b: &RoundBundle,
    section: Section<'a>,
    cfg: &CheckedConfig<Fp>,
) -> Result<(Layout, &'a Halo2Circuits), VerifyError> {
    let sf = section.field;
    let Some(CircuitsRef::Halo2(h)) = section.circuits else {
        return Err(VerifyError::Structure(format!(
            "a {BACKEND_HALO2} bundle needs its `{sf}` section (layout and k of every circuit)"
        )));
    };
    let layout = Layout::parse(&h.layout).ok_or_else(|| {
        FormatError::field(
            format!("{sf}.layout"),
            format!(
                "{:?} is not a layout (compact, balanced, throughput)",
                h.layout
            ),
        )
    })?;
    let expected = halo2_circuits(cfg.shape, &b.config, b.batches.len(), layout);
    if h.batch_k != expected.batch_k {
        return Err(FormatError::field(
            format!("{sf}.batch_k"),
            format!(
                "{}: the batch circuit of this round in layout {} has k = {}",
                h.batch_k, h.layout, expected.batch_k
            ),
        )
        .into());
    }
    if h.aggregation_k != expected.aggregation_k {
        return Err(FormatError::field(
            format!("{sf}.aggregation_k"),
            format!(
                "{:?}: the aggregation circuits of this round in layout {} have k = {:?}",
                h.aggregation_k, h.layout, expected.aggregation_k
            ),
        )
        .into());
    }
    Ok((layout, h))
}

impl Halo2Keys {
    /// Checks the section's layout and every `k` against the round's circuits, derives each
    /// key, and requires the bundle to name exactly those keys.
    pub(crate) fn open(
        b: &RoundBundle,
        section: Section<'_>,
        cfg: &CheckedConfig<Fp>,
        opts: &RoundOptions<'_>,
    ) -> Result<Self, VerifyError> {
        let (layout, h) = checked_circuits(b, section, cfg)?;
        let shape = cfg.shape;
        let max_k = opts.halo2_max_k.unwrap_or(super::DEFAULT_HALO2_MAX_K);
        let largest = h
            .aggregation_k
            .iter()
            .copied()
            .chain([h.batch_k])
            .max()
            .unwrap_or(0);
        if largest > max_k {
            return Err(VerifyError::Structure(format!(
                "this round's circuits need k = {largest}, above this verifier's bound k <= \
                 {max_k} (batch_size {}, fan_in {}): refused before making parameters or keys",
                b.config.batch_size, b.config.fan_in
            )));
        }
        let source: &dyn ParamsSource = match opts.halo2_params {
            Some(s) => s,
            None => &Generate,
        };
        let mut params: HashMap<u32, Halo2Params> = HashMap::new();
        let mut get = |k: u32| -> Result<Halo2Params, VerifyError> {
            if let Some(p) = params.get(&k) {
                return Ok(p.clone());
            }
            let p = source
                .params(k)
                .map_err(|e| VerifyError::Structure(format!("IPA parameters for k = {k}: {e}")))?;
            if p.k() != k {
                return Err(VerifyError::Structure(format!(
                    "the IPA parameters given for k = {k} are for k = {}",
                    p.k()
                )));
            }
            params.insert(k, p.clone());
            Ok(p)
        };
        let key_err = |what: String, e: Halo2Error| VerifyError::Key {
            hash: what,
            message: e.to_string(),
        };
        let mut described = BTreeMap::new();
        let bsz = b.config.batch_size;
        let batch = derive(
            layout,
            get(h.batch_k)?,
            h.batch_k,
            shape,
            CircuitSpec::Batch(bsz),
        )
        .map_err(|e| key_err("batch".into(), e))?;
        let batch_hash = hex::encode(vk_hash(batch.vk()));
        described.insert(
            batch_hash.clone(),
            halo2_key_description(layout, shape, "batch", bsz, h.batch_k),
        );
        let mut levels = Vec::new();
        let mut below = b.batches.len();
        for (level, &k) in h.aggregation_k.iter().enumerate() {
            let top = level + 1 == h.aggregation_k.len();
            let fan_in = b.config.fan_in.min(below);
            below = b.aggregations.get(level).map_or(0, Vec::len);
            let v = derive(
                layout,
                get(k)?,
                k,
                shape,
                CircuitSpec::Aggregation { fan_in, top },
            )
            .map_err(|e| key_err(format!("aggregation level {}", level + 1), e))?;
            let hash = hex::encode(vk_hash(v.vk()));
            let name = if top { "top" } else { "aggregation" };
            described.insert(
                hash.clone(),
                halo2_key_description(layout, shape, name, fan_in, k),
            );
            levels.push((hash, v));
        }
        if described != b.verifying_keys {
            let hash = b
                .verifying_keys
                .keys()
                .find(|k| !described.contains_key(*k))
                .or_else(|| {
                    described
                        .keys()
                        .find(|k| !b.verifying_keys.contains_key(*k))
                })
                .cloned()
                .unwrap_or_default();
            return Err(VerifyError::Key {
                hash,
                message: format!(
                    "the bundle's verifying_keys do not name exactly the keys of its circuits, which are {described:?}"
                ),
            });
        }
        Ok(Self {
            batch: (batch_hash, batch),
            levels,
        })
    }

    /// Verifies one proof under its circuit's derived key.
    pub(crate) fn verify(
        &self,
        e: &ProofEntry,
        inputs: &[Fp],
        circuit: CircuitId,
        what: &str,
    ) -> Result<(), VerifyError> {
        let (hash, v) = match circuit {
            CircuitId::Batch => &self.batch,
            CircuitId::Aggregation(l) => self.levels.get(l).ok_or_else(|| {
                VerifyError::Structure(format!("{what}: no aggregation circuit at level {l}"))
            })?,
        };
        if &e.key != hash {
            return Err(VerifyError::Key {
                hash: e.key.clone(),
                message: format!("named by {what}, whose circuit's key is {hash}"),
            });
        }
        let field = format!("{what}.proof");
        let bytes = hex::decode(&e.proof)
            .map_err(|err| FormatError::field(&field, format!("not hex: {err}")))?;
        if bytes.is_empty() || bytes.len() > MAX_HALO2_PROOF_BYTES {
            return Err(FormatError::field(
                &field,
                format!(
                    "{} bytes; a Halo2 proof has 1 to {MAX_HALO2_PROOF_BYTES}",
                    bytes.len()
                ),
            )
            .into());
        }
        v.verify(inputs, &bytes).map_err(|err| match err {
            Halo2Error::PublicInputs { expected, got } => VerifyError::Structure(format!(
                "{what}: {got} public inputs, the circuit has {expected}"
            )),
            _ => VerifyError::ProofRejected {
                proof: what.into(),
                backend: "Halo2",
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::DEFAULT_HALO2_MAX_K;
    use assay_circuits::solvency::{halo2::Layout, Shape};

    /// The default bound on `k` admits what the product proves by default (batches of 1,024
    /// users of 4 assets, `w = 64`, aggregation fan-in 64) in every layout, and refuses a batch
    /// of 2^16 users, whose parameters alone would take hours to make.
    #[test]
    fn the_default_k_bound_admits_default_rounds_and_refuses_huge_batches() {
        let shape = Shape {
            num_assets: 4,
            balance_bits: 64,
        };
        for layout in [Layout::Compact, Layout::Balanced, Layout::Throughput] {
            let b = layout.batch_k(shape, 1024);
            let a = layout.aggregate_k(shape, 64, true);
            assert!(
                b <= DEFAULT_HALO2_MAX_K && a <= DEFAULT_HALO2_MAX_K,
                "{layout:?}: {b} {a}"
            );
            assert!(
                layout.batch_k(shape, 1 << 16) > DEFAULT_HALO2_MAX_K,
                "{layout:?}"
            );
        }
    }

    /// A key is derived once per circuit, `k` and parameters in a process: the same circuit
    /// again is the kept key (no keygen); another circuit, or the same circuit at another `k`,
    /// is derived.
    #[test]
    fn keys_are_derived_once_per_circuit_and_parameters() {
        use super::{derive, CircuitSpec, KEYGENS};
        use crate::halo2::params;
        use std::sync::{atomic::Ordering, Arc};
        let shape = Shape {
            num_assets: 1,
            balance_bits: 8,
        };
        let layout = Layout::Compact;
        let k = layout.batch_k(shape, 4);
        let p = params(k).expect("parameters");
        let first = derive(layout, p.clone(), k, shape, CircuitSpec::Batch(4)).expect("key");
        let before = KEYGENS.load(Ordering::SeqCst);
        let again = derive(layout, p.clone(), k, shape, CircuitSpec::Batch(4)).expect("key");
        assert!(Arc::ptr_eq(&first, &again), "the kept key, not a new one");
        let two = Shape {
            num_assets: 2,
            ..shape
        };
        let k2 = layout.batch_k(two, 4);
        let other = derive(
            layout,
            params(k2).expect("parameters"),
            k2,
            two,
            CircuitSpec::Batch(4),
        )
        .expect("key");
        assert!(!Arc::ptr_eq(&first, &other));
        assert!(
            KEYGENS.load(Ordering::SeqCst) > before,
            "another circuit is derived"
        );
        // The same circuit under the parameters of k + 1 is another key, never the kept one.
        let bigger = params(k + 1).expect("parameters");
        let wider = derive(layout, bigger, k + 1, shape, CircuitSpec::Batch(4)).expect("key");
        assert!(!Arc::ptr_eq(&first, &wider));
    }
}
