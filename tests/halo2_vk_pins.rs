//! Every Halo2 verifying key Assay derives is pinned by hash in `fixtures/halo2-vk-pins.json`.
//!
//! A Halo2 verifier re-derives its keys from the circuits, so a change to a chip, a gate, a
//! column layout or the IPA parameters changes the keys and silently orphans every published
//! round and presentation made before it. This test derives each key (the KYC circuit, and the
//! batch, aggregation and top circuits of every layout at a small and at the demo's shape) and
//! compares its SHA-256 with the pinned one. A deliberate circuit change regenerates the file
//! with `ASSAY_REGENERATE_VK_PINS=1 cargo test --test halo2_vk_pins` and says so in its commit
//! (published files then need the release that made them).

use assay_circuits::solvency::halo2::{AggregateCircuit, BatchCircuit, Layout};
use assay_circuits::solvency::Shape;
use assay_circuits::with_tuning;
use assay_verifier::halo2::{params, vk_hash, Halo2Params, Halo2Verifier};
use assay_verifier::kyc::halo2::{kyc_k, kyc_verifier};
use assay_verifier::solvency::halo2_key_description;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

const REGENERATE: &str = "ASSAY_REGENERATE_VK_PINS";

fn pins_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/halo2-vk-pins.json")
}

struct Params(HashMap<u32, Halo2Params>);

impl Params {
    fn get(&mut self, k: u32) -> Halo2Params {
        self.0
            .entry(k)
            .or_insert_with(|| params(k).unwrap())
            .clone()
    }
}

/// Derives the pinned keys of `layouts` (and the KYC circuit's with the compact layout).
fn derive(layouts: &[Layout]) -> BTreeMap<String, String> {
    let mut ps = Params(HashMap::new());
    let mut out = BTreeMap::new();
    if layouts.contains(&Layout::Compact) {
        let k = kyc_k();
        let v = kyc_verifier(ps.get(k)).unwrap();
        out.insert(
            format!("halo2-ipa-pasta kyc compact k={k}"),
            hex::encode(vk_hash(v.vk())),
        );
    }
    // (layout, shape, batch size, fan-in): every layout at a small shape, and the demo's shape
    // (the frozen Halo2 round's) in its layout. Larger shapes need larger parameters (minutes
    // each on two cores); the gates they use are the same.
    let small = Shape {
        num_assets: 2,
        balance_bits: 64,
    };
    let demo = Shape {
        num_assets: 3,
        balance_bits: 64,
    };
    let mut cases: Vec<(Layout, Shape, usize, usize)> =
        layouts.iter().map(|&l| (l, small, 4, 2)).collect();
    if layouts.contains(&Layout::Compact) {
        cases.push((Layout::Compact, demo, 64, 2));
    }
    {
        for &(layout, shape, b, f) in &cases {
            let k = layout.batch_k(shape, b);
            let v = with_tuning!(layout, T => {
                Halo2Verifier::new(ps.get(k), &BatchCircuit::<T>::new(shape, b, None), k, 3)
            })
            .unwrap();
            out.insert(
                halo2_key_description(layout, shape, "batch", b, k),
                hex::encode(vk_hash(v.vk())),
            );
            for top in [false, true] {
                let k = layout.aggregate_k(shape, f, top);
                let v = with_tuning!(layout, T => {
                    let c = AggregateCircuit::<T>::new(shape, f, top, None);
                    let n = c.num_public();
                    Halo2Verifier::new(ps.get(k), &c, k, n)
                })
                .unwrap();
                let name = if top { "top" } else { "aggregation" };
                out.insert(
                    halo2_key_description(layout, shape, name, f, k),
                    hex::encode(vk_hash(v.vk())),
                );
            }
        }
    }
    out
}

/// Compares the keys of `layouts` with the pins (or rewrites the pins of every layout).
fn check(layouts: &[Layout]) {
    let path = pins_file();
    if std::env::var_os(REGENERATE).is_some() {
        let derived = derive(&Layout::ALL);
        let json = serde_json::to_string_pretty(&derived).unwrap() + "\n";
        std::fs::write(&path, json).unwrap();
        eprintln!("rewrote {} ({} keys)", path.display(), derived.len());
        return;
    }
    let derived = derive(layouts);
    let pinned: BTreeMap<String, String> = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    let mut diffs = Vec::new();
    for (name, hash) in &derived {
        match pinned.get(name) {
            Some(p) if p == hash => {}
            Some(p) => diffs.push(format!("{name}: pinned {p}, derived {hash}")),
            None => diffs.push(format!("{name}: not pinned (derived {hash})")),
        }
    }
    let layout_of = |name: &str| {
        Layout::ALL
            .into_iter()
            .find(|l| name.split(' ').nth(1) == Some(l.name()))
    };
    for name in pinned.keys().filter(|n| !derived.contains_key(*n)) {
        if layout_of(name).is_some_and(|l| layouts.contains(&l)) {
            diffs.push(format!("{name}: pinned but no longer derived"));
        }
    }
    assert!(
        diffs.is_empty(),
        "Halo2 verifying keys changed; published rounds and presentations would no longer \
         verify. If the change is deliberate, rerun with {REGENERATE}=1.\n{}",
        diffs.join("\n")
    );
}

/// The compact and balanced layouts and the KYC circuit (parameters up to `k = 13`).
#[test]
fn every_halo2_verifying_key_hash_is_pinned() {
    if std::env::var_os(REGENERATE).is_some() {
        check(&Layout::ALL);
    } else {
        check(&[Layout::Compact, Layout::Balanced]);
    }
}

/// The throughput layout: its 16-bit range table needs parameters of `k = 17` (minutes on two
/// cores), so it runs from `scripts/long-checks.sh`, not in CI's test command.
#[test]
#[ignore = "k = 17 parameters: run by scripts/long-checks.sh"]
fn every_throughput_verifying_key_hash_is_pinned() {
    check(&[Layout::Throughput]);
}

#[test]
fn the_pins_cover_the_frozen_halo2_round() {
    // The frozen round names its keys by description in `verifying_keys`; each must be pinned
    // with the same hash, so both checks speak of the same keys.
    if std::env::var_os(REGENERATE).is_some() {
        return; // the other test is rewriting the file
    }
    let pinned: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(pins_file()).unwrap()).unwrap();
    let round: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/solvency/frozen/v1-halo2/round.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let keys = round["verifying_keys"].as_object().unwrap();
    assert_eq!(keys.len(), 3);
    for (hash, desc) in keys {
        let desc = desc.as_str().unwrap();
        assert_eq!(pinned.get(desc), Some(hash), "{desc}");
    }
}
