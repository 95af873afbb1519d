//! The text of a STARK KYC digest in the KYC formats (every build, with or without the
//! `stark` feature, so that a build without the STARK still reads and checks an issuer's
//! files that carry STARK values).
//!
//! A digest is 8 KoalaBear elements. The STARK rounds write it as 64 hex digits, the 8
//! elements each as 8 big-endian hex digits; the KYC formats, whose values are decimal
//! strings on every backend, write **the same 64 hex digits read as one 256-bit big-endian
//! integer, in decimal**: canonical (no sign, no leading zero; the zero digest is `0`), at most
//! 78 digits, and every 32-bit word below KoalaBear's modulus. A build that predates the STARK
//! checks only that it is a canonical decimal of at most 78 digits, so issuer files with STARK
//! values still read there.

/// KoalaBear's modulus `p = 2^31 - 2^24 + 1`.
pub const KOALABEAR_P: u32 = 0x7f00_0001;

/// The decimal text of a digest given as its 8 elements (each below `p`, most significant
/// first).
pub fn digest_decimal(words: &[u32; 8]) -> String {
    // Repeated division by 10^9 of the 256-bit number (8 base-2^32 limbs, big-endian).
    let mut n = *words;
    let mut chunks = Vec::new();
    while n.iter().any(|w| *w != 0) {
        let mut rem: u64 = 0;
        for w in n.iter_mut() {
            let cur = (rem << 32) | u64::from(*w);
            *w = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
    }
    let Some((last, rest)) = chunks.split_last() else {
        return "0".into();
    };
    let mut s = last.to_string();
    for c in rest.iter().rev() {
        s.push_str(&format!("{c:09}"));
    }
    s
}

/// Parses [`digest_decimal`]'s text into the 8 elements; `None` unless it is canonical, below
/// `2^256`, and every element is below `p`.
pub fn parse_digest_decimal(s: &str) -> Option<[u32; 8]> {
    if s.is_empty()
        || s.len() > 78
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    let mut n = [0u32; 8];
    for b in s.bytes() {
        let mut carry = u64::from(b - b'0');
        for w in n.iter_mut().rev() {
            let cur = u64::from(*w) * 10 + carry;
            *w = cur as u32;
            carry = cur >> 32;
        }
        if carry != 0 {
            return None;
        }
    }
    n.iter().all(|w| *w < KOALABEAR_P).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_through_decimal_and_bad_texts_are_refused() {
        for words in [
            [0u32; 8],
            [0, 0, 0, 0, 0, 0, 0, 1],
            [KOALABEAR_P - 1; 8],
            [1, 2, 3, 4, 5, 6, 7, 8],
            [0x7eff_ffff, 0, 0x1234_5678, 0, 0, 9, 0, 0x0100_0000],
        ] {
            let s = digest_decimal(&words);
            assert_eq!(parse_digest_decimal(&s), Some(words), "{s}");
            assert!(s.len() <= 78);
        }
        assert_eq!(digest_decimal(&[0; 8]), "0");
        assert_eq!(digest_decimal(&[0, 0, 0, 0, 0, 0, 1, 0]), "4294967296");
        for bad in [
            "",
            "01",
            "-1",
            "1 ",
            "0x10",
            // An element equal to p (the lowest word).
            &(KOALABEAR_P as u64).to_string(),
            // 2^256: 78 digits, above 256 bits.
            "115792089237316195423570985008687907853269984665640564039457584007913129639936",
            // 79 digits.
            &"1".repeat(79),
        ] {
            assert_eq!(parse_digest_decimal(bad), None, "{bad:?}");
        }
        // p - 1 in the lowest word is an element; p is not.
        assert!(parse_digest_decimal(&(KOALABEAR_P - 1).to_string()).is_some());
    }
}
