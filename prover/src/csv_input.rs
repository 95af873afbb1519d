//! The streaming, validating reader of balances files.
//!
//! Header: `user_id,<ASSET>,...` with every asset of the round exactly once, in any order.
//! Each row: a user id (1 to 256 bytes of UTF-8 without control characters, unique in the
//! file) and one amount per asset
//! in the display unit. Rows are read one at a time; nothing holds the file whole. Every
//! error names the file, the line and the column. The reader also hashes the bytes it reads,
//! so that one pass both validates a file and fingerprints it ([`BalancesReader::finish`]).

use crate::ProverError;
use assay_verifier::{amount, solvency::AssetConfig};
use sha2::{Digest, Sha256};
use std::{
    fs::File,
    io::{self, Read},
    path::Path,
};

/// A reader that hashes every byte it passes on.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// One validated row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line of the row in the file.
    pub line: u64,
    /// The user id.
    pub user_id: String,
    /// Amounts in smallest units, in the round's asset order.
    pub balances: Vec<u128>,
}

/// A streaming reader of balances rows.
pub struct BalancesReader {
    file: String,
    path: std::path::PathBuf,
    reader: csv::Reader<Hashing<File>>,
    /// For each asset of the round (in config order), its column in the file.
    columns: Vec<usize>,
    header: Vec<String>,
    assets: Vec<AssetConfig>,
    bits: usize,
    record: csv::ByteRecord,
}

impl BalancesReader {
    /// Opens `path` and validates its header against the round's assets.
    ///
    /// # Errors
    /// [`ProverError::File`] for an empty file or a bad header, [`ProverError::Io`].
    pub fn open(path: &Path, assets: &[AssetConfig], bits: usize) -> Result<Self, ProverError> {
        let file = path.display().to_string();
        let f = File::open(path).map_err(|e| ProverError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(Hashing {
                inner: f,
                hash: Sha256::new(),
            });
        let ferr = |message: String| ProverError::File {
            file: file.clone(),
            message,
        };
        let header = reader
            .byte_headers()
            .map_err(|e| ferr(format!("unreadable header: {e}")))?;
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(ferr(
                "empty file: expected a header `user_id,<ASSET>,...`".into(),
            ));
        }
        let header: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                std::str::from_utf8(h)
                    .map(|s| s.trim().to_string())
                    .map_err(|_| ProverError::Input {
                        file: file.clone(),
                        line: 1,
                        column: (i + 1).to_string(),
                        message: "header is not valid UTF-8".into(),
                    })
            })
            .collect::<Result<_, _>>()?;
        let hdr_err = |col: usize, message: String| ProverError::Input {
            file: file.clone(),
            line: 1,
            column: format!("{} ({})", col + 1, header[col]),
            message,
        };
        if header[0] != "user_id" {
            return Err(hdr_err(0, "the first column must be `user_id`".into()));
        }
        let mut columns = vec![usize::MAX; assets.len()];
        for (c, name) in header.iter().enumerate().skip(1) {
            match assets.iter().position(|a| &a.symbol == name) {
                None => {
                    return Err(hdr_err(
                        c,
                        format!("unknown asset {name:?} (not in the round config)"),
                    ))
                }
                Some(a) if columns[a] != usize::MAX => {
                    return Err(hdr_err(c, format!("asset {name:?} appears twice")))
                }
                Some(a) => columns[a] = c,
            }
        }
        if let Some(a) = columns.iter().position(|c| *c == usize::MAX) {
            return Err(ferr(format!(
                "missing column for asset {:?}",
                assets[a].symbol
            )));
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            reader,
            columns,
            header,
            assets: assets.to_vec(),
            bits,
            record: csv::ByteRecord::new(),
        })
    }

    fn err(&self, line: u64, col: usize, message: String) -> ProverError {
        let name = self.header.get(col).cloned().unwrap_or_default();
        ProverError::Input {
            file: self.file.clone(),
            line,
            column: if name.is_empty() {
                (col + 1).to_string()
            } else {
                format!("{} ({name})", col + 1)
            },
            message,
        }
    }

    /// The next row, validated; `None` at the end of the file.
    ///
    /// # Errors
    /// [`ProverError::Input`] naming line and column.
    pub fn next_row(&mut self) -> Result<Option<Row>, ProverError> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                ProverError::Input {
                    file: self.file.clone(),
                    line,
                    column: "-".into(),
                    message: format!("malformed CSV: {e}"),
                }
            })?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        if self.record.len() != self.header.len() {
            return Err(self.err(
                line,
                self.record.len().min(self.header.len()).saturating_sub(0),
                format!(
                    "{} fields, the header has {}",
                    self.record.len(),
                    self.header.len()
                ),
            ));
        }
        let text = |i: usize| std::str::from_utf8(&self.record[i]).map(str::to_owned);
        let user_id = text(0).map_err(|_| self.err(line, 0, "not valid UTF-8".into()))?;
        if user_id.is_empty() || user_id.len() > assay_circuits::encoding::MAX_ID_BYTES {
            return Err(self.err(line, 0, "a user id is 1 to 256 bytes".into()));
        }
        // A control character (NUL, a newline inside quotes, an escape sequence, C1 codes)
        // would be printed, logged or shown to the customer as something else.
        if let Some((at, c)) = user_id.char_indices().find(|(_, c)| c.is_control()) {
            return Err(self.err(
                line,
                0,
                format!(
                    "a user id may not contain control characters (U+{:04X} at byte {at})",
                    u32::from(c)
                ),
            ));
        }
        let mut balances = Vec::with_capacity(self.columns.len());
        for (a, &c) in self.columns.iter().enumerate() {
            let t = text(c).map_err(|_| self.err(line, c, "not valid UTF-8".into()))?;
            let v = amount::parse_units(&t, self.assets[a].decimals, self.bits)
                .map_err(|e| self.err(line, c, e.to_string()))?;
            balances.push(v);
        }
        Ok(Some(Row {
            line,
            user_id,
            balances,
        }))
    }

    /// The SHA-256 (hex) of the whole file's bytes. Call it once [`Self::next_row`] returned
    /// `None`; any bytes not read yet are read (and hashed) first.
    ///
    /// # Errors
    /// [`ProverError::Io`].
    pub fn finish(self) -> Result<String, ProverError> {
        let mut rest = self.reader.into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(|e| ProverError::io(&self.path, e))?;
        Ok(hex::encode(rest.hash.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn assets() -> Vec<AssetConfig> {
        vec![
            AssetConfig {
                symbol: "BTC".into(),
                decimals: 8,
                reserves: "10".into(),
            },
            AssetConfig {
                symbol: "USDT".into(),
                decimals: 6,
                reserves: "10".into(),
            },
        ]
    }

    fn read_all(content: &[u8]) -> Result<Vec<Row>, String> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        let mut r = BalancesReader::open(f.path(), &assets(), 64).map_err(|e| e.to_string())?;
        let mut out = vec![];
        while let Some(row) = r.next_row().map_err(|e| e.to_string())? {
            out.push(row);
        }
        Ok(out)
    }

    #[test]
    fn reads_columns_in_any_order() {
        let rows = read_all(b"user_id,USDT,BTC\nalice,1.5,0.00000001\nbob,0,2\n").unwrap();
        assert_eq!(rows[0].balances, vec![1, 1_500_000]);
        assert_eq!(rows[1].balances, vec![200_000_000, 0]);
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn finish_hashes_the_whole_file() {
        let content = b"user_id,BTC,USDT\nalice,1,2\nbob,3,4\n";
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        let mut r = BalancesReader::open(f.path(), &assets(), 64).unwrap();
        let mut n = 0;
        while r.next_row().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 2);
        assert_eq!(r.finish().unwrap(), hex::encode(Sha256::digest(content)));
        // Stopped early, it still hashes every byte.
        let mut r = BalancesReader::open(f.path(), &assets(), 64).unwrap();
        r.next_row().unwrap();
        assert_eq!(r.finish().unwrap(), hex::encode(Sha256::digest(content)));
    }

    #[test]
    fn every_bad_input_names_line_and_column() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty file"),
            (b"user_id,BTC,USDT\nalice,-1,0\n", ":2:2 (BTC): negative"),
            (
                b"user_id,BTC,USDT\nalice,0.123456789,0\n",
                ":2:2 (BTC): 9 decimals",
            ),
            (
                b"user_id,BTC,USDT\nalice,0,18446744073709.551616\n",
                ":2:3 (USDT):",
            ),
            (b"user_id,BTC,ETH\n", ":1:3 (ETH): unknown asset"),
            (b"user_id,BTC\n", "missing column for asset \"USDT\""),
            (b"user_id,BTC,USDT\nalice,1\n", ":2:"),
            (
                b"user_id,BTC,USDT\nal\xffce,1,1\n",
                ":2:1 (user_id): not valid UTF-8",
            ),
            (
                b"user_id,BTC,USDT\nalice,1,x\n",
                ":2:3 (USDT): not a decimal",
            ),
            (b"id,BTC,USDT\n", "first column must be `user_id`"),
            (
                b"user_id,BTC,USDT\nali\0ce,1,1\n",
                ":2:1 (user_id): a user id may not contain control characters (U+0000 at byte 3)",
            ),
            (
                b"user_id,BTC,USDT\n\"a\nb\",1,1\n",
                ":2:1 (user_id): a user id may not contain control characters (U+000A at byte 1)",
            ),
            (
                "user_id,BTC,USDT\nbob\u{9b}31m,1,1\n".as_bytes(),
                ":2:1 (user_id): a user id may not contain control characters (U+009B at byte 3)",
            ),
        ];
        for (input, expected) in cases {
            let e = read_all(input).unwrap_err();
            assert!(e.contains(expected), "{e:?} should contain {expected:?}");
        }
    }
}
