//! The AFL harness: one instrumented binary for every target, chosen by its first argument
//! (or `ASSAY_FUZZ_TARGET`). Under `afl-fuzz` it runs in persistent mode; run by hand it reads
//! one input from standard input (to reproduce a crash: `assay-fuzz csv < crash-file`).
//! `assay-fuzz --list` prints the targets; `assay-fuzz --emit-params K` writes the Halo2 IPA
//! parameters of `2^K` rows to standard output (the `halo2_params` seeds).

use assay_fuzz::{run, TARGETS};

fn main() {
    let target = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("ASSAY_FUZZ_TARGET").ok())
        .unwrap_or_default();
    if target == "--list" {
        for t in TARGETS {
            println!("{t}");
        }
        return;
    }
    if target == "--emit-params" {
        use std::io::Write;
        let k: u32 = std::env::args()
            .nth(2)
            .and_then(|k| k.parse().ok())
            .unwrap_or(4);
        let params = assay_verifier::halo2::params(k).expect("k in range");
        let mut out = Vec::new();
        assay_verifier::halo2::write_params(&params, &mut out).expect("in memory");
        std::io::stdout().write_all(&out).expect("stdout");
        return;
    }
    if !TARGETS.contains(&target.as_str()) {
        eprintln!(
            "usage: assay-fuzz TARGET (or ASSAY_FUZZ_TARGET=TARGET); targets: {}",
            TARGETS.join(", ")
        );
        std::process::exit(2);
    }
    if !assay_fuzz::targets::prepare(&target) {
        eprintln!(
            "assay-fuzz: {target}: its fixtures do not load (or no longer verify): nothing to fuzz"
        );
        std::process::exit(1);
    }
    afl::fuzz!(|data: &[u8]| {
        run(&target, data);
    });
}
