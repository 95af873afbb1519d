//! The compiled-in ISO 3166 lists, in their compact form `fixtures/iso3166/iso3166.txt`
//! (written from `fixtures/iso3166/iso3166.json` by `fixtures/iso3166/compact.py`; the format
//! is described there): the codes, numeric codes, hierarchy and dual codes, without the
//! country names, which nothing that verifies reads. About 25 kB instead of the JSON's 88 kB in
//! every binary and in the browser's `.wasm`. The test [`tests::compact_list_is_the_json`]
//! checks that it says exactly what the JSON says.

/// The ISO 3166 lists as read from the compact file (see [`super::jurisdiction`] for their use).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct IsoLists {
    /// `(alpha-2, numeric)` of every ISO 3166-1 country.
    pub countries: Vec<(String, u16)>,
    /// Every ISO 3166-2 subdivision code (`CC-SSS`).
    pub subdivisions: Vec<String>,
    /// `(child, parent)` for every subdivision with a parent subdivision.
    pub parents: Vec<(String, String)>,
    /// `(country, [subdivision, ...])` for a country ISO 3166-2 also lists as subdivisions.
    pub dual_codes: Vec<(String, Vec<String>)>,
}

/// The compact file, compiled in.
const COMPACT: &str = include_str!("../../../fixtures/iso3166/iso3166.txt");

/// Parses the compiled-in compact file.
pub(crate) fn lists() -> IsoLists {
    // The file is compiled in and checked against the JSON by a test: it cannot fail here.
    parse(COMPACT).expect("the compiled-in ISO 3166 list parses")
}

/// Parses the compact format; the error names the line.
fn parse(text: &str) -> Result<IsoLists, String> {
    let mut out = IsoLists::default();
    for (n, line) in text.lines().enumerate() {
        let bad = || format!("iso3166.txt line {}: `{line}`", n + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split(' ');
        let head = words.next().ok_or_else(bad)?;
        if let Some(parent) = head.strip_prefix('>') {
            let cc = parent.get(..2).ok_or_else(bad)?;
            for c in words {
                out.parents.push((format!("{cc}-{c}"), parent.to_string()));
            }
        } else if let Some(cc) = head.strip_prefix('=') {
            out.dual_codes
                .push((cc.to_string(), words.map(str::to_string).collect()));
        } else {
            if head.len() != 5 || !head.is_ascii() {
                return Err(bad());
            }
            let (cc, numeric) = head.split_at(2);
            let numeric: u16 = numeric.parse().map_err(|_| bad())?;
            out.countries.push((cc.to_string(), numeric));
            for s in words {
                out.subdivisions.push(format!("{cc}-{s}"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact file says exactly what `fixtures/iso3166/iso3166.json` says (names aside):
    /// the same countries with the same numeric codes, the same subdivisions, parents and dual
    /// codes. Fails when one is regenerated without the other.
    #[test]
    fn compact_list_is_the_json() {
        #[derive(serde::Deserialize)]
        struct File {
            countries: Vec<(String, u16, String)>,
            subdivisions: Vec<String>,
            parents: Vec<(String, String)>,
            dual_codes: Vec<(String, Vec<String>)>,
        }
        let f: File =
            serde_json::from_str(include_str!("../../../fixtures/iso3166/iso3166.json")).unwrap();
        let c = lists();
        // Names the entries that differ (not the whole lists).
        fn same<T: Ord + std::fmt::Debug + Clone>(what: &str, compact: &[T], json: &[T]) {
            let (mut a, mut b) = (compact.to_vec(), json.to_vec());
            a.sort();
            b.sort();
            let extra: Vec<_> = a.iter().filter(|x| b.binary_search(x).is_err()).collect();
            let missing: Vec<_> = b.iter().filter(|x| a.binary_search(x).is_err()).collect();
            assert!(
                extra.is_empty() && missing.is_empty() && a.len() == b.len(),
                "{what}: iso3166.txt has {extra:?} that iso3166.json has not, and lacks \
                 {missing:?} (run fixtures/iso3166/compact.py)"
            );
        }
        let countries: Vec<(String, u16)> = f
            .countries
            .iter()
            .map(|(a, n, _)| (a.clone(), *n))
            .collect();
        same("countries", &c.countries, &countries);
        same("subdivisions", &c.subdivisions, &f.subdivisions);
        same("parents", &c.parents, &f.parents);
        same("dual codes", &c.dual_codes, &f.dual_codes);
        // The orders the tables are built in, too.
        assert_eq!(c.countries, countries);
        assert_eq!(c.subdivisions, f.subdivisions);
        assert_eq!(c.dual_codes, f.dual_codes);
    }

    #[test]
    fn a_malformed_line_is_named() {
        assert!(parse("UA80\n").unwrap_err().contains("line 1"));
        assert!(parse("# c\nUAxyz 43\n").unwrap_err().contains("line 2"));
        assert_eq!(parse("# c\n").unwrap(), IsoLists::default());
    }
}
