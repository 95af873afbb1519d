//! What the attack lists of every statement share ([`crate::solvency`] and [`crate::kyc`]
//! `attacks`): every verdict is collected before panicking, so that one run names every attack
//! a backend lets through, and a list is checked to hold every attack once.

/// Panics, naming each failure, unless every `(name, verdict)` is `Ok`.
pub(crate) fn assert_all_ok(
    what: &str,
    verdicts: impl IntoIterator<Item = (String, Result<(), String>)>,
) {
    let errors: Vec<String> = verdicts
        .into_iter()
        .filter_map(|(name, v)| v.err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

/// Panics unless the names are unique and there are `expected` of them (no attack lost).
pub(crate) fn assert_named_once<'a>(names: impl IntoIterator<Item = &'a str>, expected: usize) {
    let mut v: Vec<&str> = names.into_iter().collect();
    let n = v.len();
    v.sort_unstable();
    v.dedup();
    assert_eq!(v.len(), n, "attack names are unique");
    assert_eq!(n, expected, "every attack is on the list");
}
