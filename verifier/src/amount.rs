//! Amounts: decimal strings in an asset's display unit (`"0.00012345"`) and their integer
//! value in the smallest unit (`12345` for 8 decimals).

use std::fmt;

/// Why an amount string is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Empty cell.
    #[error("empty amount")]
    Empty,
    /// A leading minus sign.
    #[error("negative amount {0:?}")]
    Negative(String),
    /// Anything but digits and one decimal point.
    #[error("not a decimal number: {0:?}")]
    Malformed(String),
    /// More fractional digits than the asset has decimals.
    #[error("{found} decimals in {text:?}; the asset allows {allowed}")]
    TooManyDecimals {
        /// The input.
        text: String,
        /// Fractional digits found.
        found: usize,
        /// The asset's decimals.
        allowed: u32,
    },
    /// At or above `2^bits` in the smallest unit.
    #[error("{text:?} is at or above 2^{bits} in the smallest unit")]
    OutOfRange {
        /// The input.
        text: String,
        /// The width.
        bits: usize,
    },
}

/// Parses `text` (display unit, `decimals` places at most) into smallest units, requiring the
/// result to be below `2^bits` (`bits <= 127`).
///
/// # Errors
/// An [`AmountError`] saying exactly what is wrong.
pub fn parse_units(text: &str, decimals: u32, bits: usize) -> Result<u128, AmountError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(AmountError::Empty);
    }
    if t.starts_with('-') {
        return Err(AmountError::Negative(t.into()));
    }
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (t.contains('.') && frac.is_empty()) {
        return Err(AmountError::Malformed(t.into()));
    }
    if frac.len() > decimals as usize {
        return Err(AmountError::TooManyDecimals {
            text: t.into(),
            found: frac.len(),
            allowed: decimals,
        });
    }
    let out_of_range = || AmountError::OutOfRange {
        text: t.into(),
        bits,
    };
    let mut v: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .ok_or_else(out_of_range)?;
    }
    for _ in frac.len()..decimals as usize {
        v = v.checked_mul(10).ok_or_else(out_of_range)?;
    }
    if bits < 128 && v >> bits != 0 {
        return Err(out_of_range());
    }
    Ok(v)
}

/// Smallest units shown in the display unit, with exactly `decimals` places.
pub struct Display {
    /// The amount in smallest units.
    pub units: u128,
    /// The asset's decimals.
    pub decimals: u32,
}

impl fmt::Display for Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.decimals == 0 {
            return write!(f, "{}", self.units);
        }
        let s = format!(
            "{:0>width$}",
            self.units,
            width = self.decimals as usize + 1
        );
        let (i, fr) = s.split_at(s.len() - self.decimals as usize);
        write!(f, "{i}.{fr}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_display_amounts() {
        assert_eq!(parse_units("0.00012345", 8, 64), Ok(12345));
        assert_eq!(parse_units("21000.5", 8, 64), Ok(2_100_050_000_000));
        assert_eq!(parse_units("7", 0, 64), Ok(7));
        assert_eq!(parse_units("0", 6, 64), Ok(0));
        assert_eq!(
            Display {
                units: 12345,
                decimals: 8
            }
            .to_string(),
            "0.00012345"
        );
        assert_eq!(
            Display {
                units: 5,
                decimals: 0
            }
            .to_string(),
            "5"
        );
    }

    #[test]
    fn rejects_what_it_must() {
        assert!(matches!(
            parse_units("-1", 8, 64),
            Err(AmountError::Negative(_))
        ));
        assert!(matches!(
            parse_units("0.123", 2, 64),
            Err(AmountError::TooManyDecimals { .. })
        ));
        assert!(matches!(parse_units("", 2, 64), Err(AmountError::Empty)));
        for bad in ["1e5", "1.2.3", "abc", ".5", "5.", "+1", "0x1", "1,5"] {
            assert!(
                matches!(parse_units(bad, 8, 64), Err(AmountError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            parse_units("18446744073709551615", 0, 64),
            Ok(u64::MAX as u128)
        );
        assert!(matches!(
            parse_units("18446744073709551616", 0, 64),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_units(&"9".repeat(60), 0, 64),
            Err(AmountError::OutOfRange { .. })
        ));
    }
}
