//! The README's first command: `assay demo` runs the main job on the shipped fixtures.

use std::process::Command;

#[test]
fn demo_runs_end_to_end_and_refuses_a_foreign_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["demo", "--out", out.to_str().unwrap()])
        .env_remove("ASSAY_PASSPHRASE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("auditor: valid"), "{text}");
    assert!(
        text.contains("customer \"customer-0007\": included"),
        "{text}"
    );
    assert!(text.contains("relying party: valid: nullifier"), "{text}");
    // Every backend: the round is proven and verified on Halo2 and on the STARK too (the KYC
    // presentation on Halo2 and the STARK too), and one customer checked on each.
    assert!(text.contains("The same round on Halo2"), "{text}");
    assert!(text.contains("The same customers on the STARK"), "{text}");
    assert_eq!(
        text.matches("aggregation proofs verify in").count(),
        3,
        "{text}"
    );
    assert_eq!(text.matches("): included").count(), 1, "{text}");
    assert_eq!(text.matches("\": included").count(), 2, "{text}");
    assert!(
        text.contains("B (STARK, a file beside round.json)"),
        "{text}"
    );
    // The roles of issue 11: the auditor's setup, the customer's pins, the holder's refusal.
    assert!(text.contains("auditor (setup)"), "{text}");
    assert!(text.contains("against the pinned manifest"), "{text}");
    assert!(text.contains("holder: refused, as it must"), "{text}");
    // One KYC presentation per backend (Groth16, Halo2, the STARK), each valid.
    assert!(
        text.contains("the same presentation on the STARK"),
        "{text}"
    );
    assert_eq!(
        text.matches("relying party: valid: nullifier").count(),
        3,
        "{text}"
    );
    // Run twice: an earlier demo is replaced.
    let again = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["demo", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
    // A folder that is not a demo is never deleted.
    let foreign = dir.path().join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "precious").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["demo", "--out", foreign.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(foreign.join("keep.txt").exists());
}
