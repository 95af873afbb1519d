use super::*;
use crate::solvency::{ProofDir, ProofSource};
use crate::VerifyError;

#[test]
fn digests_round_trip_and_bad_text_is_refused() {
    let d: Digest = core::array::from_fn(|i| Val::from_u32(MODULUS - 1 - i as u32));
    let t = digest_hex(&d);
    assert_eq!(t.len(), 64);
    assert_eq!(parse_digest(&t, "x").unwrap(), d);
    // An element equal to p, upper case, a wrong length: each refused with the field's name.
    let at_p = format!("{MODULUS:08x}{}", &t[8..]);
    for bad in [
        at_p,
        t.to_uppercase(),
        t[..62].to_string(),
        format!("{t}00"),
    ] {
        let e = parse_digest(&bad, "global_root").unwrap_err().to_string();
        assert!(e.contains("global_root"), "{e}");
    }
}

#[test]
fn elements_are_canonical_decimals_below_p() {
    assert_eq!(parse_element("0", "v").unwrap(), Val::ZERO);
    assert_eq!(
        parse_element(&(MODULUS - 1).to_string(), "v").unwrap(),
        Val::from_u32(MODULUS - 1)
    );
    for bad in [
        "",
        "01",
        "-1",
        "+1",
        "1e3",
        &MODULUS.to_string(),
        "99999999999",
    ] {
        assert!(parse_element(bad, "v").is_err(), "{bad:?}");
    }
}

#[test]
fn the_previous_hash_maps_to_a_fixed_digest() {
    assert_eq!(
        previous_digest(None, "p").unwrap(),
        [Val::ZERO; DIGEST_ELEMS]
    );
    let h = "ff".repeat(32);
    let d = previous_digest(Some(&h), "p").unwrap();
    // 0xffffffff mod p = 2^32 - 1 - 2p (2p < 2^32 < 3p).
    assert!(d
        .iter()
        .all(|v| v.as_canonical_u32() == u32::MAX - 2 * MODULUS));
    let mut other = h.clone();
    other.replace_range(0..2, "fe");
    assert_ne!(previous_digest(Some(&other), "p").unwrap(), d);
    assert!(previous_digest(Some(&h.to_uppercase()), "p").is_err());
    assert!(previous_digest(Some("00"), "p").is_err());
}

#[test]
fn salts_have_four_canonical_elements() {
    let s: Salt = core::array::from_fn(|i| Val::from_u32(i as u32 * 1000));
    assert_eq!(parse_salt(&salt_text(&s), "salt").unwrap(), s);
    for bad in ["1,2,3", "1,2,3,4,5", "1,2,3,x", "1, 2,3,4", ""] {
        assert!(parse_salt(bad, "salt").is_err(), "{bad:?}");
    }
}

#[test]
fn levels_use_every_child_once() {
    assert_eq!(level_children(1, 4), vec![vec![1]]);
    assert_eq!(level_children(3, 2), vec![vec![2, 1], vec![2]]);
    assert_eq!(level_children(245, 128), vec![vec![128, 117], vec![2]]);
    for (n, f) in [(1, 2), (5, 2), (9, 4), (300, 16)] {
        let l = level_children(n, f);
        assert_eq!(l[0].iter().sum::<usize>(), n);
        for w in l.windows(2) {
            assert_eq!(w[1].iter().sum::<usize>(), w[0].len());
        }
        assert_eq!(l.last().unwrap().len(), 1);
    }
}

#[test]
fn proof_files_are_read_by_hash_only() {
    let d = std::env::temp_dir().join(format!("assay-proofdir-{}", std::process::id()));
    std::fs::create_dir_all(d.join("proofs")).unwrap();
    let bytes = b"proof bytes".to_vec();
    let h = crate::sha256_hex(&bytes);
    std::fs::write(d.join(ProofDir::relative(&h)), &bytes).unwrap();
    let src = ProofDir::new(&d);
    assert_eq!(src.proof(&h, "batch proof 0").unwrap(), bytes);
    // A name that is not a hash never becomes a path.
    for bad in ["../round", "", &h.to_uppercase()] {
        let e = src.proof(bad, "batch proof 0").unwrap_err();
        assert!(matches!(e, VerifyError::ProofFile { .. }), "{e}");
    }
    // A file whose bytes were changed, and a missing file.
    std::fs::write(d.join(ProofDir::relative(&h)), b"other bytes").unwrap();
    let e = src.proof(&h, "batch proof 0").unwrap_err().to_string();
    assert!(e.contains("hash to"), "{e}");
    std::fs::remove_file(d.join(ProofDir::relative(&h))).unwrap();
    let e = src.proof(&h, "batch proof 0").unwrap_err().to_string();
    assert!(e.contains("cannot read"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}
