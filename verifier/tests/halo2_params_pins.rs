//! The pinned SHA-256 hashes of the IPA parameters (`halo2::PINNED_PARAMS_SHA256`) are the
//! hashes of the parameters `Params::new(k)` makes: re-derived here for every pinned `k`, so a
//! wrong constant fails (a browser would otherwise refuse good parameters, or the pin would
//! name bytes nobody can re-derive).
//!
//! Cost: `Params::new(k)` doubles with each `k` (k = 4..=13 took 30 s of CPU, 2 minutes of
//! wall time on a loaded 2-core machine, half of it k = 13), so the normal run re-derives
//! k <= 12 (the web fixture's k = 9 among them, about 15 s of CPU) and
//! `the_large_pins_are_the_hashes_of_the_derived_params` (k = 13..=16) is ignored:
//! run it with `cargo test -p assay-verifier --features halo2 --test halo2_params_pins --
//! --ignored` after changing a pin.
//!
//! `write_params_for_the_web` writes parameter files for a page
//! (`ASSAY_WRITE_PARAMS_DIR=web/fixtures/params ASSAY_WRITE_PARAMS_K=9`), as
//! `halo2-params-k<k>.bin`; without the variables it does nothing.
#![cfg(feature = "halo2")]

use assay_verifier::halo2::{
    params, params_from_pinned_bytes, pinned_params_sha256, write_params, Halo2Error,
    SuppliedParams, K_RANGE, PINNED_PARAMS_MAX_K, PINNED_PARAMS_SHA256,
};
use assay_verifier::sha256_hex;

/// Below this `k` the normal run re-derives the parameters; from it on, the ignored test.
const LARGE_K: u32 = 13;

fn bytes(k: u32) -> Vec<u8> {
    let mut out = Vec::new();
    write_params(&params(k).unwrap(), &mut out).unwrap();
    out
}

fn check(ks: impl Iterator<Item = u32>) {
    let mut wrong = Vec::new();
    for k in ks {
        let found = sha256_hex(&bytes(k));
        let pinned = pinned_params_sha256(k).unwrap_or("(none)");
        if found != pinned {
            wrong.push(format!("(k = {k}) pinned {pinned}, derived {found}"));
        }
    }
    assert!(wrong.is_empty(), "wrong pins:\n{}", wrong.join("\n"));
}

#[test]
fn every_k_up_to_the_bound_is_pinned_once() {
    let ks: Vec<u32> = PINNED_PARAMS_SHA256.iter().map(|(k, _)| *k).collect();
    let expected: Vec<u32> = (*K_RANGE.start()..=PINNED_PARAMS_MAX_K).collect();
    assert_eq!(ks, expected);
    assert!(PINNED_PARAMS_MAX_K <= *K_RANGE.end());
}

#[test]
fn the_small_pins_are_the_hashes_of_the_derived_params() {
    check(*K_RANGE.start()..LARGE_K);
}

/// k = 13..=16: minutes on two cores, so not in the normal run (see the file notes).
#[test]
#[ignore = "re-derives k = 13..=16 (minutes on two cores); run after changing a pin"]
fn the_large_pins_are_the_hashes_of_the_derived_params() {
    check(LARGE_K..=PINNED_PARAMS_MAX_K);
}

#[test]
fn supplied_params_are_accepted_only_as_the_pinned_bytes() {
    let good = bytes(5);
    let mut s = SuppliedParams::new();
    s.add(5, &good).unwrap();
    assert_eq!(s.ks(), vec![5]);
    assert_eq!(params_from_pinned_bytes(5, &good).unwrap().k(), 5);
    // One bit changed, or truncated: the hash differs, the reason names both hashes.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let e = params_from_pinned_bytes(5, &bad).unwrap_err();
    assert!(matches!(e, Halo2Error::ParamsHash { k: 5, .. }), "{e}");
    assert!(
        e.to_string().contains(pinned_params_sha256(5).unwrap()),
        "{e}"
    );
    assert!(matches!(
        params_from_pinned_bytes(5, &good[..good.len() / 2]),
        Err(Halo2Error::ParamsHash { .. })
    ));
    // Another k's file: refused by its header before hashing.
    assert!(matches!(
        params_from_pinned_bytes(6, &good),
        Err(Halo2Error::ParamsK {
            params: 5,
            expected: 6
        })
    ));
    // Empty, unpinned, out of range: refused, no panic.
    assert!(matches!(
        params_from_pinned_bytes(5, &[]),
        Err(Halo2Error::ParamsHash { .. })
    ));
    assert!(matches!(
        params_from_pinned_bytes(PINNED_PARAMS_MAX_K + 1, &good),
        Err(Halo2Error::UnpinnedK(_))
    ));
    assert!(matches!(
        params_from_pinned_bytes(99, &good),
        Err(Halo2Error::BadK(99))
    ));
    assert!(s.add(6, &good).is_err());
    assert_eq!(s.ks(), vec![5], "a refused file is not kept");
}

#[test]
fn write_params_for_the_web() {
    let (Some(dir), Some(ks)) = (
        std::env::var_os("ASSAY_WRITE_PARAMS_DIR"),
        std::env::var("ASSAY_WRITE_PARAMS_K").ok(),
    ) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for k in ks.split(',').map(|k| k.trim().parse::<u32>().unwrap()) {
        let b = bytes(k);
        assert_eq!(Some(sha256_hex(&b).as_str()), pinned_params_sha256(k));
        let path = dir.join(format!("halo2-params-k{k}.bin"));
        std::fs::write(&path, &b).unwrap();
        println!("wrote {} ({} bytes)", path.display(), b.len());
    }
}
