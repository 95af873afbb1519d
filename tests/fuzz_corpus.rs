//! The fuzz corpus and every crash the fuzzer found, replayed on stable without AFL.
//!
//! Each file of `fuzz/corpus/<target>/` and `fuzz/crashes/<target>/` goes through the same
//! target function the AFL harness runs (`fuzz/src/targets.rs`, compiled here as a module).
//! A target may refuse any input with an error; it must not panic. A crash file that panics
//! again is a regression of a fixed bug. See docs/ci.md, "Fuzzing".

#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
};

/// `fuzz/`: this test is compiled by the workspace (the root package) and by the harness's own
/// crate (`fuzz/Cargo.toml`, test `corpus`).
fn fuzz_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.join("corpus").is_dir() {
        dir.to_path_buf()
    } else {
        dir.join("fuzz")
    }
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none if the folder does not exist).
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fuzz_dir().join(kind).join(target))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs every file of `kind` through its target; returns the files that panicked.
fn replay(kind: &str) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut failed = Vec::new();
    for target in targets::TARGETS {
        assert!(
            targets::prepare(target),
            "{target}: its fixtures do not load, so it would fuzz nothing"
        );
        for path in files(kind, target) {
            let data = std::fs::read(&path).expect("readable corpus file");
            count += 1;
            let r = catch_unwind(AssertUnwindSafe(|| targets::run(target, &data)));
            if r.is_err() {
                failed.push(format!("{target}: {}", path.display()));
            }
        }
    }
    (count, failed)
}

/// Every folder under `fuzz/<kind>/` is a known target (a misspelt folder would be skipped).
fn folders_are_targets(kind: &str) {
    let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind)) else {
        return;
    };
    for e in dir.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            targets::TARGETS.contains(&name.as_str()),
            "fuzz/{kind}/{name} is not a fuzz target (targets: {:?})",
            targets::TARGETS
        );
    }
}

#[test]
fn every_target_has_a_corpus_and_no_corpus_file_panics() {
    folders_are_targets("corpus");
    for target in targets::TARGETS {
        assert!(
            !files("corpus", target).is_empty(),
            "fuzz/corpus/{target}/ is empty: seed it (python3 fuzz/seed.py)"
        );
    }
    let (count, failed) = replay("corpus");
    assert!(count >= targets::TARGETS.len());
    assert!(
        failed.is_empty(),
        "corpus files panicked:\n{}",
        failed.join("\n")
    );
}

#[test]
fn no_crash_file_panics_again() {
    folders_are_targets("crashes");
    let (_, failed) = replay("crashes");
    assert!(
        failed.is_empty(),
        "fixed crashes are back:\n{}",
        failed.join("\n")
    );
}

/// Every target's fixtures load (and the frozen proofs they hold verify): a target whose
/// `prepare` fails would refuse every input before the code it fuzzes.
#[test]
fn every_target_prepares() {
    let failed: Vec<&str> = targets::TARGETS
        .iter()
        .copied()
        .filter(|t| !targets::prepare(t))
        .collect();
    assert!(failed.is_empty(), "fixtures do not load for {failed:?}");
}

#[test]
fn unknown_targets_are_refused() {
    assert!(!targets::run("no-such-target", b""));
    assert!(targets::run("csv", b""));
}
