//! IPA parameters supplied by someone else (a browser fetches them beside the round), checked
//! against SHA-256 hashes pinned in this crate.
//!
//! `Params::new(k)` costs seconds to minutes, too slow for a page, so a page is handed the
//! parameter bytes ([`write_params`](super::write_params) of [`params`](super::params)`(k)`).
//! Whoever serves them may be the checked party, so nothing about them is trusted: the bytes
//! must hash to [`PINNED_PARAMS_SHA256`] for their `k`, a constant compiled into the verifier.
//! Parameters are deterministic (the generators are hashed to the curve), so anyone can
//! re-derive them and check the pins (`verifier/tests/halo2_params_pins.rs` does, for every
//! pinned `k`). Only the `k` range a browser verifier accepts is pinned
//! ([`PINNED_PARAMS_MAX_K`]).

use super::{read_params, Halo2Error, Halo2Params, ParamsSource, K_RANGE};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The largest `k` whose parameters are pinned, hence the largest a [`SuppliedParams`]
/// verifier (the browser's) accepts: `2^16` rows, parameters of 4 MiB; verification and key
/// derivation cost time in `2^k`.
pub const PINNED_PARAMS_MAX_K: u32 = 16;

/// SHA-256 (hex) of the serialized IPA parameters ([`write_params`](super::write_params) of
/// [`params`](super::params)`(k)`) for each `k` from `K_RANGE.start()` to
/// [`PINNED_PARAMS_MAX_K`], as `(k, hash)`. Re-derived and compared by
/// `verifier/tests/halo2_params_pins.rs`.
pub const PINNED_PARAMS_SHA256: [(u32, &str); 13] = [
    (
        4,
        "5c0b8093a964af7191df4749a7310c00140ebc9977b118debe5715fda30efa7f",
    ),
    (
        5,
        "106977185e775dffe917fe065308d3469d747e79617911bfb7d3f78e2bcb552c",
    ),
    (
        6,
        "606ec71853588ea2414707e98ffb181091f6985d294d03d4165fb400a9a6b3a6",
    ),
    (
        7,
        "432e492288c43ccabdffb913625109ca76f66312cd4625c9a258a2e33a28c400",
    ),
    (
        8,
        "96d2448c483f4df37e69b4f72db328cd8520b09d49f5e7c801da7994150b9b33",
    ),
    (
        9,
        "b7ea13dd3cfe5db384fab28fd90c4ca7327fb20d3fde16c12eb8b3f81538cb62",
    ),
    (
        10,
        "65235f086265cdf98b12514ab36fe9b849198870918d73cd160903ceb0a954dc",
    ),
    (
        11,
        "1eab6f93a080ce41b908d935c04bd2e3ed1ac23f277c15d11c499d56d28fa0f7",
    ),
    (
        12,
        "1b97b06da453b9efb1ae18b9ba77c3d870f22dc72898297d5707e340c3f44865",
    ),
    (
        13,
        "76ebe6b75b5281cb1dcc2eb04888968573758672b521522f62abedf6366bb876",
    ),
    (
        14,
        "1cb278fe4d9cf5325e5cbc710d863c0deca3e961e1b8f6c8736890c43345c461",
    ),
    (
        15,
        "e1fb29749c7bd0870768044d5329b4e293cb2d44dae24db2554605427b19d0dd",
    ),
    (
        16,
        "174780f80c577d968d10bc3f0a8f819e55a96b9e882ffe73c15d55e9f94053e2",
    ),
];

/// The pinned SHA-256 (hex) of `k`'s parameters, if `k` is pinned.
pub fn pinned_params_sha256(k: u32) -> Option<&'static str> {
    PINNED_PARAMS_SHA256
        .iter()
        .find(|(pk, _)| *pk == k)
        .map(|(_, h)| *h)
}

/// Reads parameters for `k` from `bytes` that someone else supplied, trusting nothing about
/// them: the file's leading `k` (u32, little-endian) must be `k`, the SHA-256 of all the bytes
/// must be the pinned hash of `k` ([`PINNED_PARAMS_SHA256`]), and only then are they parsed.
///
/// # Errors
/// [`Halo2Error::BadK`] outside [`K_RANGE`]; [`Halo2Error::UnpinnedK`] above
/// [`PINNED_PARAMS_MAX_K`]; [`Halo2Error::ParamsK`] for a file of another `k`;
/// [`Halo2Error::ParamsHash`] for bytes that are not the pinned parameters (truncated,
/// altered); [`Halo2Error::Io`] if pinned bytes do not parse (cannot happen unless a pin is
/// wrong).
pub fn params_from_pinned_bytes(k: u32, bytes: &[u8]) -> Result<Halo2Params, Halo2Error> {
    if !K_RANGE.contains(&k) {
        return Err(Halo2Error::BadK(k));
    }
    let pinned = pinned_params_sha256(k).ok_or(Halo2Error::UnpinnedK(k))?;
    match bytes.get(..4) {
        Some(h) if u32::from_le_bytes([h[0], h[1], h[2], h[3]]) != k => {
            return Err(Halo2Error::ParamsK {
                params: u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
                expected: k,
            })
        }
        _ => {}
    }
    let found = hex::encode(Sha256::digest(bytes));
    if found != pinned {
        return Err(Halo2Error::ParamsHash {
            k,
            len: bytes.len(),
            found,
            pinned: pinned.into(),
        });
    }
    let p = read_params(&mut &bytes[..])?;
    if p.k() != k {
        return Err(Halo2Error::ParamsK {
            params: p.k(),
            expected: k,
        });
    }
    Ok(p)
}

/// IPA parameters handed to the verifier as bytes (by a page that fetched them), each checked
/// against its pinned hash when added ([`params_from_pinned_bytes`]). As a [`ParamsSource`] it
/// answers only the `k`s it holds: a round that needs another is refused, naming the `k`; it
/// never generates parameters.
#[derive(Debug, Clone, Default)]
pub struct SuppliedParams {
    by_k: BTreeMap<u32, Halo2Params>,
}

impl SuppliedParams {
    /// No parameters yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks `bytes` as `k`'s parameters ([`params_from_pinned_bytes`]) and keeps them.
    ///
    /// # Errors
    /// As [`params_from_pinned_bytes`]; nothing is kept then.
    pub fn add(&mut self, k: u32, bytes: &[u8]) -> Result<(), Halo2Error> {
        let p = params_from_pinned_bytes(k, bytes)?;
        self.by_k.insert(k, p);
        Ok(())
    }

    /// The `k`s held, smallest first.
    pub fn ks(&self) -> Vec<u32> {
        self.by_k.keys().copied().collect()
    }
}

impl ParamsSource for SuppliedParams {
    fn params(&self, k: u32) -> Result<Halo2Params, Halo2Error> {
        if !K_RANGE.contains(&k) {
            return Err(Halo2Error::BadK(k));
        }
        self.by_k
            .get(&k)
            .cloned()
            .ok_or(Halo2Error::MissingParams(k))
    }
}
