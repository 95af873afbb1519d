//! Short, stable descriptions of MockProver failures, for negative tests that assert the
//! exact constraint, lookup or copy that an attack breaks.

use super::Fp;
use halo2_proofs::dev::{MockProver, VerifyFailure};

/// Drops the region index (`Region 12 ('leaf 3') ...` becomes `'leaf 3' ...`), which depends
/// on the order regions happen to be laid out in.
fn strip_region_index(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("Region ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "Region ".len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        rest = after[digits..].trim_start();
    }
    out.push_str(rest);
    out
}

/// One failure as a line: `Constraint 0 in gate 3 ('range decompose') is not satisfied in
/// 'leaf 2 balance 1' at offset 1`, `Lookup 0 in 'leaf 2 balance 1' at offset 3`,
/// `Permutation in 'batch commitment' at offset 0`, or the failure's own text.
pub fn describe(f: &VerifyFailure) -> String {
    let s = match f {
        VerifyFailure::ConstraintNotSatisfied {
            constraint,
            location,
            ..
        } => format!("{constraint} is not satisfied {location}"),
        VerifyFailure::Lookup {
            lookup_index,
            location,
        } => format!("Lookup {lookup_index} {location}"),
        VerifyFailure::Permutation { location, .. } => format!("Permutation {location}"),
        other => other.to_string(),
    };
    strip_region_index(&s)
}

/// Every failure of `prover`, described (empty when satisfied), sorted and deduplicated.
pub fn failures(prover: &MockProver<Fp>) -> Vec<String> {
    let mut v: Vec<String> = match prover.verify() {
        Ok(()) => Vec::new(),
        Err(fs) => fs.iter().map(describe).collect(),
    };
    v.sort();
    v.dedup();
    v
}
