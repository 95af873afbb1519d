//! Jurisdictions: an ISO 3166-1 country and an optional ISO 3166-2 subdivision, packed into
//! one field element `J` by a table-free rule.
//!
//! # Packing rule
//! For a code `CC` or `CC-SSS` (subdivision suffix of 1 to 3 characters in `[A-Z0-9]`):
//!
//! ```text
//! J = n · 2^24 + s_1 · 2^16 + s_2 · 2^8 + s_3
//! ```
//!
//! where `n` is the ISO 3166-1 **numeric** code of `CC` (`0 < n < 2^10`) and `s_1 s_2 s_3` are
//! the ASCII bytes of the suffix, left-aligned and padded with zero bytes (`UA-43`:
//! `s = 0x34, 0x33, 0x00`). A country-only code has `s_1 = s_2 = s_3 = 0`. So `J < 2^34`, the
//! suffix is `J mod 2^24`, and **`J` with its subdivision part cleared, `J - (J mod 2^24)`, is
//! the whole country**. Anyone can compute `J` from the code and the numeric country code,
//! with no table of Assay's own; the ISO lists are only used to reject codes that do not exist.
//!
//! # Policy keys
//! A policy (see [`super::policy`]) holds *keys*, `4·J + t` with a tag `t`:
//! * `t = 1` ([`TAG_EXACT`]): the exact code `J` is restricted;
//! * `t = 2` ([`TAG_WHOLE`]): the whole country `J` (subdivision part zero) is restricted,
//!   with every code under it.
//!
//! A policy entry `CC-SSS` inserts `exact(CC-SSS)` **and** `exact(CC)`: a credential that names
//! only the country `CC` says nothing about the subdivision, so it must be refused as soon as any
//! subdivision of `CC` is restricted, while `CC`'s other subdivisions pass. A policy entry `CC`
//! inserts `whole(CC)`. The holder proves that both `exact(J)` and `whole(country(J))` are
//! absent. Keys are below `2^36`.

use crate::Fr;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Bits of the subdivision part of `J` (three ASCII bytes).
pub const SUFFIX_BITS: usize = 24;
/// Bits of the country part of `J` (ISO 3166-1 numeric codes are below 1000 < 2^10).
pub const COUNTRY_BITS: usize = 10;
/// Bits of `J`.
pub const J_BITS: usize = SUFFIX_BITS + COUNTRY_BITS;
/// Bits of a policy key `4·J + t`.
pub const KEY_BITS: usize = J_BITS + 2;
/// The policy-key tag of an exact code.
pub const TAG_EXACT: u64 = 1;
/// The policy-key tag of a whole country.
pub const TAG_WHOLE: u64 = 2;

/// Why a jurisdiction code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JurisdictionError {
    /// Not of the form `CC` or `CC-SSS` (upper-case letters, suffix of 1–3 of `[A-Z0-9]`).
    #[error(
        "`{0}` is not an ISO 3166 code: expected `CC` or `CC-SSS` (e.g. `UA`, `UA-43`, `GB-ENG`)"
    )]
    Syntax(String),
    /// The country is not in ISO 3166-1.
    #[error("`{0}`: unknown ISO 3166-1 country")]
    UnknownCountry(String),
    /// The subdivision is not in ISO 3166-2.
    #[error("`{0}`: unknown ISO 3166-2 subdivision")]
    UnknownSubdivision(String),
    /// A packed value that no code packs to.
    #[error("{0:#x} is not a packed jurisdiction")]
    Packed(u64),
}

/// A validated jurisdiction: a country, and possibly one of its subdivisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jurisdiction {
    /// The ISO 3166-1 numeric code.
    numeric: u16,
    /// The suffix bytes, left-aligned, zero-padded (all zero: country only).
    suffix: [u8; 3],
}

struct IsoTables {
    by_alpha2: HashMap<String, u16>,
    by_numeric: HashMap<u16, String>,
    subdivisions: HashSet<String>,
    /// Subdivision -> its parent subdivision (ISO 3166-2 hierarchy).
    parents: HashMap<String, String>,
    /// Subdivision -> its direct children.
    children: HashMap<String, Vec<String>>,
    /// Code (country or subdivision) -> the other forms of the same territory.
    dual: HashMap<String, Vec<String>>,
}

/// The ISO 3166 lists, from `fixtures/iso3166/iso3166.json` (generated from Debian's
/// `iso-codes` by `fixtures/iso3166/gen.py`), compiled in as its compact form
/// (`fixtures/iso3166/iso3166.txt`, see [`super::iso3166`]), parsed once.
fn iso() -> &'static IsoTables {
    static T: OnceLock<IsoTables> = OnceLock::new();
    T.get_or_init(|| {
        let f = super::iso3166::lists();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for (child, parent) in &f.parents {
            children
                .entry(parent.clone())
                .or_default()
                .push(child.clone());
        }
        let mut dual: HashMap<String, Vec<String>> = HashMap::new();
        for (country, subs) in &f.dual_codes {
            dual.insert(country.clone(), subs.clone());
            for s in subs {
                dual.entry(s.clone()).or_default().push(country.clone());
            }
        }
        IsoTables {
            by_alpha2: f.countries.iter().cloned().collect(),
            by_numeric: f.countries.iter().map(|c| (c.1, c.0.clone())).collect(),
            subdivisions: f.subdivisions.into_iter().collect(),
            parents: f.parents.into_iter().collect(),
            children,
            dual,
        }
    })
}

/// The number of ISO 3166-2 subdivisions Assay knows (the compiled-in list).
pub fn all_subdivisions() -> Vec<String> {
    let mut v: Vec<String> = iso().subdivisions.iter().cloned().collect();
    v.sort();
    v
}

fn suffix_ok(s: &str) -> bool {
    (1..=3).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl Jurisdiction {
    /// Parses and validates `CC` or `CC-SSS` against the ISO 3166-1/-2 lists.
    ///
    /// # Errors
    /// [`JurisdictionError`] naming the code.
    pub fn parse(code: &str) -> Result<Self, JurisdictionError> {
        let syntax = || JurisdictionError::Syntax(code.to_string());
        let (cc, sub) = match code.split_once('-') {
            Some((cc, sub)) => (cc, Some(sub)),
            None => (code, None),
        };
        if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(syntax());
        }
        if sub.is_some_and(|s| !suffix_ok(s)) {
            return Err(syntax());
        }
        let numeric = *iso()
            .by_alpha2
            .get(cc)
            .ok_or_else(|| JurisdictionError::UnknownCountry(cc.to_string()))?;
        let mut suffix = [0u8; 3];
        if let Some(s) = sub {
            if !iso().subdivisions.contains(code) {
                return Err(JurisdictionError::UnknownSubdivision(code.to_string()));
            }
            suffix[..s.len()].copy_from_slice(s.as_bytes());
        }
        Ok(Self { numeric, suffix })
    }

    /// Parses a country (`CC`) and an optional region (`CC-SSS`, which must lie in `CC`).
    ///
    /// # Errors
    /// [`JurisdictionError`], or [`JurisdictionError::Syntax`] if the region is not in the
    /// country.
    pub fn from_country_region(
        country: &str,
        region: Option<&str>,
    ) -> Result<Self, JurisdictionError> {
        let c = Self::parse(country)?;
        if !c.is_country_only() {
            return Err(JurisdictionError::Syntax(format!(
                "{country} (a country is two letters)"
            )));
        }
        match region {
            None => Ok(c),
            Some(r) => {
                let j = Self::parse(r)?;
                if j.country() != c || j.is_country_only() {
                    return Err(JurisdictionError::Syntax(format!(
                        "{r} (not a subdivision of {country})"
                    )));
                }
                Ok(j)
            }
        }
    }

    /// `J` (see the module notes).
    pub fn packed(&self) -> u64 {
        (u64::from(self.numeric) << SUFFIX_BITS)
            | (u64::from(self.suffix[0]) << 16)
            | (u64::from(self.suffix[1]) << 8)
            | u64::from(self.suffix[2])
    }

    /// `J` as a field element.
    pub fn to_fr(&self) -> Fr {
        Fr::from(self.packed())
    }

    /// The inverse of [`Self::packed`], table-free: checks only the shape of the packing
    /// (numeric part in `1..1000`, suffix bytes of `[A-Z0-9]`, left-aligned).
    ///
    /// # Errors
    /// [`JurisdictionError::Packed`].
    pub fn unpack(j: u64) -> Result<Self, JurisdictionError> {
        let numeric = j >> SUFFIX_BITS;
        if numeric == 0 || numeric >= 1000 {
            return Err(JurisdictionError::Packed(j));
        }
        let suffix = [(j >> 16) as u8, (j >> 8) as u8, j as u8];
        let len = suffix.iter().take_while(|b| **b != 0).count();
        let ok = suffix[len..].iter().all(|b| *b == 0)
            && suffix[..len]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !ok {
            return Err(JurisdictionError::Packed(j));
        }
        Ok(Self {
            numeric: numeric as u16,
            suffix,
        })
    }

    /// The whole country: this jurisdiction with its subdivision part cleared.
    pub fn country(&self) -> Self {
        Self {
            numeric: self.numeric,
            suffix: [0; 3],
        }
    }

    /// Whether this names a country only (no subdivision).
    pub fn is_country_only(&self) -> bool {
        self.suffix == [0; 3]
    }

    /// The ISO 3166-1 numeric code.
    pub fn numeric(&self) -> u16 {
        self.numeric
    }

    /// The code (`UA`, `UA-43`), or `#804-43` if the country is not in the compiled-in list.
    pub fn code(&self) -> String {
        let cc = iso()
            .by_numeric
            .get(&self.numeric)
            .cloned()
            .unwrap_or_else(|| format!("#{:03}", self.numeric));
        let len = self.suffix.iter().take_while(|b| **b != 0).count();
        if len == 0 {
            cc
        } else {
            format!("{cc}-{}", String::from_utf8_lossy(&self.suffix[..len]))
        }
    }

    /// The parent subdivision in the ISO 3166-2 hierarchy (`GB-SCT` for `GB-EDH`), if any.
    /// A country's subdivisions without a parent have none (their parent is the country).
    pub fn parent(&self) -> Option<Self> {
        iso()
            .parents
            .get(&self.code())
            .and_then(|p| Self::parse(p).ok())
    }

    /// Every subdivision above this one, nearest first (not the country).
    pub fn ancestors(&self) -> Vec<Self> {
        let mut out = Vec::new();
        let mut cur = *self;
        while let Some(p) = cur.parent() {
            if out.contains(&p) {
                break;
            }
            out.push(p);
            cur = p;
        }
        out
    }

    /// Every subdivision below this one in the ISO 3166-2 hierarchy (children, their
    /// children, ...); empty for a country (its subdivisions are covered by the whole-country
    /// key) and for a subdivision without children.
    pub fn descendants(&self) -> Vec<Self> {
        let mut out: Vec<Self> = Vec::new();
        let mut todo = vec![self.code()];
        while let Some(code) = todo.pop() {
            for c in iso().children.get(&code).into_iter().flatten() {
                if let Ok(j) = Self::parse(c) {
                    if !out.contains(&j) {
                        out.push(j);
                        todo.push(c.clone());
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The other ISO forms of the same territory: for a country that ISO 3166-2 also lists
    /// as another country's subdivision(s) (`TW`), those subdivisions (`CN-TW`); for such a
    /// subdivision, the country. Empty for every other code.
    pub fn dual_forms(&self) -> Vec<Self> {
        iso()
            .dual
            .get(&self.code())
            .into_iter()
            .flatten()
            .filter_map(|c| Self::parse(c).ok())
            .collect()
    }

    /// The policy key `4·J + 1`: "this exact code is restricted".
    pub fn exact_key(&self) -> u64 {
        4 * self.packed() + TAG_EXACT
    }

    /// The policy key `4·C + 2` of this jurisdiction's country `C`: "the whole country is
    /// restricted".
    pub fn whole_key(&self) -> u64 {
        4 * self.country().packed() + TAG_WHOLE
    }
}

impl std::fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code())
    }
}

impl std::str::FromStr for Jurisdiction {
    type Err = JurisdictionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_is_complete() {
        assert_eq!(iso().by_alpha2.len(), 249);
        assert_eq!(iso().subdivisions.len(), 5127);
        assert_eq!(iso().parents.len(), 1412);
        for (child, parent) in &iso().parents {
            assert!(iso().subdivisions.contains(child) && iso().subdivisions.contains(parent));
            assert_eq!(child[..2], parent[..2], "{child} in {parent}");
        }
        for s in &iso().subdivisions {
            let j = Jurisdiction::parse(s).unwrap();
            assert_eq!(&j.code(), s);
            assert_eq!(Jurisdiction::unpack(j.packed()).unwrap(), j);
            assert!(j.packed() < 1 << J_BITS);
        }
    }

    #[test]
    fn hierarchy_and_dual_codes() {
        let p = |c: &str| Jurisdiction::parse(c).unwrap();
        assert_eq!(p("GB-EDH").parent(), Some(p("GB-SCT")));
        assert_eq!(p("GB-EDH").ancestors(), vec![p("GB-SCT")]);
        assert_eq!(p("GB-SCT").parent(), None);
        let d = p("GB-SCT").descendants();
        assert!(
            d.contains(&p("GB-EDH")) && d.contains(&p("GB-GLG")),
            "{d:?}"
        );
        assert!(!d.contains(&p("GB-SCT")) && !d.contains(&p("GB-LND")));
        assert!(p("GB").descendants().is_empty());
        assert_eq!(p("FR-GP").descendants(), vec![p("FR-971")]);
        assert_eq!(p("TW").dual_forms(), vec![p("CN-TW")]);
        assert_eq!(p("CN-TW").dual_forms(), vec![p("TW")]);
        assert_eq!(p("US-PR").dual_forms(), vec![p("PR")]);
        assert!(p("UA-43").dual_forms().is_empty() && p("UA").dual_forms().is_empty());
    }

    #[test]
    fn packing_rule_worked_example() {
        let j = Jurisdiction::parse("UA-43").unwrap();
        assert_eq!(j.packed(), (804 << 24) | (0x34 << 16) | (0x33 << 8));
        assert_eq!(j.country(), Jurisdiction::parse("UA").unwrap());
        assert_eq!(j.country().packed(), 804 << 24);
        assert_eq!(j.packed() - j.packed() % (1 << 24), j.country().packed());
        let g = Jurisdiction::parse("GB-ENG").unwrap();
        assert_eq!(g.packed(), (826 << 24) | 0x454E47);
        assert_eq!(j.exact_key(), 4 * j.packed() + 1);
        assert_eq!(j.whole_key(), 4 * (804 << 24) + 2);
    }

    #[test]
    fn distinct_codes_pack_distinctly() {
        let mut seen = HashSet::new();
        for s in &iso().subdivisions {
            assert!(seen.insert(Jurisdiction::parse(s).unwrap().packed()));
        }
        for c in iso().by_alpha2.keys() {
            assert!(seen.insert(Jurisdiction::parse(c).unwrap().packed()), "{c}");
        }
    }

    #[test]
    fn unknown_and_malformed_codes_are_refused() {
        assert!(matches!(
            Jurisdiction::parse("ZZ"),
            Err(JurisdictionError::UnknownCountry(_))
        ));
        assert!(matches!(
            Jurisdiction::parse("UA-99"),
            Err(JurisdictionError::UnknownSubdivision(_))
        ));
        for bad in [
            "", "ua", "UA-", "UA-4444", "UA43", "U", "UA-4 ", "UA--4", "UA-é",
        ] {
            assert!(
                matches!(Jurisdiction::parse(bad), Err(JurisdictionError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(Jurisdiction::from_country_region("UA", Some("RU-MOW")).is_err());
        assert!(Jurisdiction::from_country_region("UA-43", None).is_err());
        assert_eq!(
            Jurisdiction::from_country_region("UA", Some("UA-43")).unwrap(),
            Jurisdiction::parse("UA-43").unwrap()
        );
        assert!(Jurisdiction::unpack(0).is_err());
        assert!(
            Jurisdiction::unpack((804 << 24) | 0x34).is_err(),
            "not left-aligned"
        );
        assert!(
            Jurisdiction::unpack((804 << 24) | (0x61 << 16)).is_err(),
            "lower case"
        );
    }
}
