//! The spool: the balances CSV as fixed-size leaf records at random positions of
//! `private/work/leaves.bin` (padding positions stay zero), so that the later steps read any
//! batch's leaves without the CSV.
//!
//! The CSV is read **once**: each row is validated, checked for a duplicate id, added to the
//! liabilities and hashed (the file's SHA-256 ties the work to it), and appended in file
//! order to a scratch file of the work folder. Only once the whole file is known valid are
//! the rows moved to their random positions (the permutation needs the row count) and the
//! spool committed by `spool.json`; a bad file leaves nothing behind, not even the folders the
//! scratch file needed. Memory: 4 bytes per leaf for the permutation and 24 bytes per customer
//! for duplicate detection.

use super::{
    bar,
    workdir::{format_err, read_json, sha256_file, SpoolInfo, Work, WorkDir},
    ProveOptions,
};
use crate::{
    csv_input::{BalancesReader, Row},
    fsutil, ProverError,
};
use assay_circuits::{encoding::MAX_ID_BYTES, StatementField};
use assay_verifier::{amount, solvency::RoundConfig};
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    fs,
    io::{BufReader, BufWriter, Read, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

/// A spooled customer: user id and balances in smallest units.
pub(crate) type Customer = (String, Vec<u128>);

/// Bytes of one leaf record: the id's length (`u16` LE), the id zero-padded to
/// [`MAX_ID_BYTES`], then one `u128` LE per asset. An all-zero record is padding.
pub(crate) fn record_size(num_assets: usize) -> usize {
    2 + MAX_ID_BYTES + 16 * num_assets
}

fn encode_record(rec: &mut [u8], id: &[u8], balances: &[u128]) {
    rec.fill(0);
    rec[..2].copy_from_slice(&(id.len() as u16).to_le_bytes());
    rec[2..2 + id.len()].copy_from_slice(id);
    for (a, b) in balances.iter().enumerate() {
        let o = 2 + MAX_ID_BYTES + 16 * a;
        rec[o..o + 16].copy_from_slice(&b.to_le_bytes());
    }
}

/// `None` for padding; `Err` if the id is not UTF-8.
fn decode_record(rec: &[u8], num_assets: usize) -> Result<Option<Customer>, ()> {
    let l = u16::from_le_bytes([rec[0], rec[1]]) as usize;
    if l == 0 {
        return Ok(None);
    }
    let id = std::str::from_utf8(rec.get(2..2 + l).ok_or(())?).map_err(|_| ())?;
    let balances = (0..num_assets)
        .map(|a| {
            let o = 2 + MAX_ID_BYTES + 16 * a;
            let mut b = [0u8; 16];
            b.copy_from_slice(&rec[o..o + 16]);
            u128::from_le_bytes(b)
        })
        .collect();
    Ok(Some((id.to_string(), balances)))
}

/// The leaf position of each row: row `r` (in file order) goes to position `p[r]`. Derived
/// from the seed alone, so that every shard of a round spools the same order.
pub(crate) fn permutation(seed: &[u8; 32], n: usize) -> Vec<u32> {
    let mut h = Sha256::new();
    h.update(b"assay/permutation/v1");
    h.update(seed);
    let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
    let mut p: Vec<u32> = (0..n as u32).collect();
    p.shuffle(&mut rng);
    p
}

/// What one pass over a valid CSV found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub(crate) customers: u64,
    /// Leaves of the tree: the customers rounded up to a power of two, at least one batch.
    pub(crate) leaf_count: u64,
    pub(crate) balances_sha256: String,
}

/// Reads the CSV once: validates every row, refuses duplicate ids, sums the liabilities
/// against `reserves` and hashes the file's bytes, handing each valid row to `each`.
///
/// # Errors
/// The first bad row (file, line, column), a duplicate id (naming both lines), liabilities
/// above reserves, no rows, more than 2^32 customers, or what `each` returns.
fn scan(
    balances: &Path,
    cfg: &RoundConfig,
    reserves: &[u128],
    progress: bool,
    mut each: impl FnMut(&Row) -> Result<(), ProverError>,
) -> Result<Scan, ProverError> {
    let mut reader = BalancesReader::open(balances, &cfg.assets, cfg.balance_bits)?;
    let file = balances.display().to_string();
    let mut seen: HashMap<[u8; 16], u64> = HashMap::new();
    let mut n: u64 = 0;
    let mut totals = vec![0u128; cfg.assets.len()];
    let pb = bar(progress, 0, "reading");
    while let Some(row) = reader.next_row()? {
        let d: [u8; 32] = Sha256::digest(row.user_id.as_bytes()).into();
        let key: [u8; 16] = d[..16].try_into().unwrap_or_default();
        if let Some(first) = seen.insert(key, row.line) {
            return Err(ProverError::Input {
                file,
                line: row.line,
                column: "1 (user_id)".into(),
                message: format!(
                    "duplicate user id {:?} (first on line {first})",
                    row.user_id
                ),
            });
        }
        for (t, b) in totals.iter_mut().zip(&row.balances) {
            *t = t.saturating_add(*b);
        }
        each(&row)?;
        n += 1;
        pb.inc(1);
    }
    pb.finish_and_clear();
    drop(seen);
    let balances_sha256 = reader.finish()?;
    // Liabilities above reserves: say so now, before hours of proving.
    for ((t, r), a) in totals.iter().zip(reserves).zip(&cfg.assets) {
        if t > r {
            return Err(ProverError::File {
                file,
                message: format!(
                    "liabilities in {} ({}) exceed the declared reserves ({}): nothing can be proven",
                    a.symbol,
                    amount::Display { units: *t, decimals: a.decimals },
                    a.reserves
                ),
            });
        }
    }
    if n == 0 {
        return Err(ProverError::File {
            file,
            message: "no customer rows".into(),
        });
    }
    let leaf_count = n.next_power_of_two().max(cfg.batch_size as u64);
    if leaf_count > 1 << 32 {
        return Err(ProverError::File {
            file,
            message: "more than 2^32 customers".into(),
        });
    }
    Ok(Scan {
        customers: n,
        leaf_count,
        balances_sha256,
    })
}

/// Validates the configuration and every row of the balances file (one streaming pass:
/// values, duplicate ids, liabilities within reserves), writing nothing: call it before asking
/// for a passphrase or starting hours of work.
///
/// # Errors
/// The first bad value, naming file, line and column.
pub fn check_inputs(opts: &ProveOptions) -> Result<(), ProverError> {
    let bytes = fsutil::read(&opts.config)?;
    let cfg =
        RoundConfig::parse(&bytes, "round config").map_err(|e| format_err(&opts.config, e))?;
    let checked = cfg.check().map_err(|e| format_err(&opts.config, e))?;
    scan(&opts.balances, &cfg, &checked.reserves, false, |_| Ok(())).map(|_| ())
}

/// One streaming pass over the balances file against a read config (as [`check_inputs`]),
/// returning what it found: the customers and the leaves of the tree.
///
/// # Errors
/// As [`check_inputs`].
pub(crate) fn scan_inputs<F: StatementField>(
    balances: &Path,
    config: &super::workdir::Config<F>,
) -> Result<Scan, ProverError> {
    scan(
        balances,
        &config.cfg,
        &config.checked.reserves,
        false,
        |_| Ok(()),
    )
}

/// The rows of a valid CSV in file order, in the work folder until they are spooled. Dropped
/// before that, it deletes itself and the folders it created.
pub(crate) struct Scratch {
    path: PathBuf,
    created: Vec<PathBuf>,
    kept: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        if !self.kept {
            for d in self.created.iter().rev() {
                let _ = fs::remove_dir(d);
            }
        }
    }
}

impl Scratch {
    fn create(path: PathBuf) -> Result<(Self, fs::File), ProverError> {
        let mut missing = Vec::new();
        let mut d = path.parent();
        while let Some(p) = d.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            missing.push(p.to_path_buf());
            d = p.parent();
        }
        let mut s = Self {
            path,
            created: Vec::new(),
            kept: false,
        };
        for p in missing.into_iter().rev() {
            fs::create_dir(&p).map_err(|e| ProverError::io(&p, e))?;
            s.created.push(p);
        }
        let f = fs::File::create(&s.path).map_err(|e| ProverError::io(&s.path, e))?;
        Ok((s, f))
    }
}

/// Step 2, first half: a finished spool made from this exact CSV and config, or the CSV read
/// once and checked whole into the scratch file.
pub(crate) enum Prepared {
    /// `spool.json` exists and matches the inputs.
    Done(SpoolInfo),
    /// The CSV is valid; its rows wait in the scratch file.
    Read(Scratch, Scan),
}

/// Checks the inputs against a finished spool, or reads the CSV once into the scratch file
/// (validating it whole). Writes nothing outside the scratch file.
///
/// # Errors
/// Bad input as [`scan`]; [`ProverError::WorkMismatch`] if the folder's spool was made from
/// another CSV or config.
pub(crate) fn read_csv(
    dir: &WorkDir,
    balances: &Path,
    cfg: &RoundConfig,
    reserves: &[u128],
    config_sha: &str,
    progress: bool,
) -> Result<Prepared, ProverError> {
    let info_path = dir.spool_info();
    if info_path.exists() {
        let info: SpoolInfo = read_json(&info_path)?;
        if info.balances_sha256 != sha256_file(balances)? || info.config_sha256 != config_sha {
            return Err(ProverError::WorkMismatch {
                file: info_path,
                message: "the work folder was made from another balances file or config".into(),
            });
        }
        return Ok(Prepared::Done(info));
    }
    let (scratch, file) = Scratch::create(dir.scratch())?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut rec = Vec::with_capacity(2 + MAX_ID_BYTES + 16 * cfg.assets.len());
    let scan = scan(balances, cfg, reserves, progress, |row| {
        let id = row.user_id.as_bytes();
        rec.clear();
        rec.extend_from_slice(&(id.len() as u16).to_le_bytes());
        rec.extend_from_slice(id);
        for b in &row.balances {
            rec.extend_from_slice(&b.to_le_bytes());
        }
        w.write_all(&rec)
            .map_err(|e| ProverError::io(&scratch.path, e))
    })?;
    // Flushed, not synced: a crash before `spool.json` redoes this step anyway.
    w.into_inner()
        .map_err(|e| ProverError::io(&scratch.path, e.into_error()))?;
    Ok(Prepared::Read(scratch, scan))
}

impl<F: StatementField> Work<F> {
    fn record_size(&self) -> usize {
        record_size(self.shape.num_assets)
    }

    /// Step 2, second half: each row of the scratch file to its random position of
    /// `leaves.bin`, then `spool.json`, which marks the spool complete.
    pub(crate) fn spool(
        &self,
        scratch: Scratch,
        scan: Scan,
        config_sha: &str,
    ) -> Result<SpoolInfo, ProverError> {
        let perm = permutation(&self.seed, scan.leaf_count as usize);
        let spool = self.dir.spool();
        let file = fs::File::create(&spool).map_err(|e| ProverError::io(&spool, e))?;
        let rs = self.record_size();
        file.set_len(scan.leaf_count * rs as u64)
            .map_err(|e| ProverError::io(&spool, e))?;
        let src = fs::File::open(&scratch.path).map_err(|e| ProverError::io(&scratch.path, e))?;
        let mut rows = BufReader::with_capacity(1 << 20, src);
        let assets = self.shape.num_assets;
        let mut rec = vec![0u8; rs];
        let mut balances = vec![0u128; assets];
        let mut id = Vec::with_capacity(MAX_ID_BYTES);
        let pb = bar(self.progress, scan.customers, "spooling");
        for &pos in &perm[..scan.customers as usize] {
            let read_err = |e| ProverError::io(&scratch.path, e);
            let mut len = [0u8; 2];
            rows.read_exact(&mut len).map_err(read_err)?;
            id.resize(u16::from_le_bytes(len) as usize, 0);
            rows.read_exact(&mut id).map_err(read_err)?;
            for b in balances.iter_mut() {
                let mut x = [0u8; 16];
                rows.read_exact(&mut x).map_err(read_err)?;
                *b = u128::from_le_bytes(x);
            }
            encode_record(&mut rec, &id, &balances);
            file.write_all_at(&rec, pos as u64 * rs as u64)
                .map_err(|e| ProverError::io(&spool, e))?;
            pb.inc(1);
        }
        pb.finish_and_clear();
        file.sync_all().map_err(|e| ProverError::io(&spool, e))?;
        let info = SpoolInfo {
            version: 1,
            balances_sha256: scan.balances_sha256,
            config_sha256: config_sha.to_string(),
            customers: scan.customers,
            leaf_count: scan.leaf_count,
        };
        fsutil::write_json(&self.dir.spool_info(), &info)?;
        let mut scratch = scratch;
        scratch.kept = true;
        Ok(info)
    }

    /// The spooled customers at positions `[start, start + len)`; `None` for padding.
    pub(crate) fn read_spool(
        &self,
        start: u64,
        len: usize,
    ) -> Result<Vec<Option<Customer>>, ProverError> {
        let path = self.dir.spool();
        let f = fs::File::open(&path).map_err(|e| ProverError::io(&path, e))?;
        let rs = self.record_size();
        let mut buf = vec![0u8; rs * len];
        f.read_exact_at(&mut buf, start * rs as u64)
            .map_err(|e| ProverError::io(&path, e))?;
        buf.chunks(rs)
            .enumerate()
            .map(|(i, rec)| {
                decode_record(rec, self.shape.num_assets).map_err(|()| ProverError::Corrupt {
                    file: path.clone(),
                    message: format!("record {} has a bad user id", start + i as u64),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solvency::{prove, workdir::Config, BackendChoice};
    use assay_circuits::Fr;
    use std::time::{Duration, Instant};

    const CONFIG: &str = r#"{"version":1,"round_id":"spool-test","balance_bits":32,"batch_size":4,"fan_in":2,
        "assets":[{"symbol":"USD","decimals":2,"reserves":"1000000"},
                  {"symbol":"BTC","decimals":8,"reserves":"21"}],
        "previous_round":null}"#;

    fn inputs(dir: &Path, csv: &[u8]) -> ProveOptions {
        fs::write(dir.join("round.json"), CONFIG).unwrap();
        fs::write(dir.join("balances.csv"), csv).unwrap();
        ProveOptions {
            balances: dir.join("balances.csv"),
            config: dir.join("round.json"),
            out: dir.join("out"),
            keys: dir.join("keys"),
            // Shard 1 of 2 of a one-batch round proves nothing: the run stops after the spool.
            shard: Some((1, 2)),
            resume: false,
            progress: false,
            backend: BackendChoice::Groth16,
            budget: Default::default(),
        }
    }

    /// Reads the CSV and spools it with `seed`, as `prove` does.
    fn spool_with(
        opts: &ProveOptions,
        seed: [u8; 32],
    ) -> Result<(Work<Fr>, SpoolInfo), ProverError> {
        let config = Config::<Fr>::read(&opts.config)?;
        let dir = WorkDir::new(&opts.out);
        let sha = config.sha256.clone();
        let p = read_csv(
            &dir,
            &opts.balances,
            &config.cfg,
            &config.checked.reserves,
            &sha,
            false,
        )?;
        let work = Work::new(dir, config, seed, false);
        let info = match p {
            Prepared::Done(info) => info,
            Prepared::Read(scratch, scan) => work.spool(scratch, scan, &sha)?,
        };
        Ok((work, info))
    }

    #[test]
    fn each_row_goes_to_its_permuted_position_and_padding_stays_zero() {
        let d = tempfile::tempdir().unwrap();
        let csv = b"user_id,BTC,USD\na,0.00000001,1\nb,2,0.5\nc,0,0\nd,1,1\ne,0,7\n";
        let opts = inputs(d.path(), csv);
        let seed = [3u8; 32];
        let (work, info) = spool_with(&opts, seed).unwrap();
        assert_eq!((info.customers, info.leaf_count), (5, 8));
        assert_eq!(info.balances_sha256, hex::encode(Sha256::digest(csv)));
        let leaves = work.read_spool(0, 8).unwrap();
        let perm = permutation(&seed, 8);
        let expected: [(&str, [u128; 2]); 5] = [
            ("a", [100, 1]),
            ("b", [50, 200_000_000]),
            ("c", [0, 0]),
            ("d", [100, 100_000_000]),
            ("e", [700, 0]),
        ];
        for (r, (id, bal)) in expected.iter().enumerate() {
            assert_eq!(
                leaves[perm[r] as usize],
                Some((id.to_string(), bal.to_vec())),
                "row {r}"
            );
        }
        assert_eq!(leaves.iter().filter(|l| l.is_none()).count(), 3);
        let bytes = fs::read(work.dir.spool()).unwrap();
        assert_eq!(bytes.len(), 8 * record_size(2));
        for (pos, rec) in bytes.chunks(record_size(2)).enumerate() {
            if leaves[pos].is_none() {
                assert!(rec.iter().all(|b| *b == 0), "padding at {pos}");
            }
        }
        assert!(!work.dir.scratch().exists(), "the scratch file is gone");
    }

    #[test]
    fn the_leaf_order_of_a_seed_never_changes() {
        // Shards spool apart and must agree, with each other and with older work folders.
        assert_eq!(permutation(&[0u8; 32], 8), PINNED_ORDER);
        let p = permutation(&[9u8; 32], 1000);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<u32>>());
        assert_ne!(p, permutation(&[8u8; 32], 1000));
    }

    const PINNED_ORDER: [u32; 8] = [0, 3, 5, 4, 2, 6, 1, 7];

    #[test]
    fn a_bad_file_is_reported_in_one_pass_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        for (csv, expected) in [
            (
                &b"user_id,USD,BTC\na,1,0\nb,2,0\nc,-1,0\nd,1,0\n"[..],
                "balances.csv:4:2 (USD): negative",
            ),
            (
                b"user_id,USD,BTC\na,1,0\nb,1,0\na,2,0\n",
                ":4:1 (user_id): duplicate user id \"a\" (first on line 2)",
            ),
            (
                b"user_id,USD,BTC\na,999999,0\nb,1.01,0\n",
                "liabilities in USD (1000000.01) exceed",
            ),
            (b"user_id,USD,BTC\n", "no customer rows"),
        ] {
            let opts = inputs(d.path(), csv);
            let e = prove(&opts, None).unwrap_err();
            assert!(e.to_string().contains(expected), "{e} lacks {expected:?}");
            assert!(
                !opts.out.exists(),
                "{expected}: the output folder was written"
            );
            let e = check_inputs(&opts).unwrap_err();
            assert!(e.to_string().contains(expected), "check_inputs: {e}");
        }
        // Into an existing folder: it is left as it was.
        let opts = inputs(d.path(), b"user_id,USD,BTC\na,1,0\na,1,0\n");
        fs::create_dir_all(opts.out.join("private")).unwrap();
        fs::write(opts.out.join("private/publication-key.json"), b"{}").unwrap();
        assert!(prove(&opts, None).is_err());
        let left: Vec<_> = walk(&opts.out);
        assert_eq!(left, vec![opts.out.join("private/publication-key.json")]);
    }

    fn walk(d: &Path) -> Vec<PathBuf> {
        let mut out = vec![];
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn prove_reads_the_csv_once() {
        // A named pipe can be read once: a second open would wait for a writer forever.
        let d = tempfile::tempdir().unwrap();
        let csv = b"user_id,USD,BTC\na,1,0\nb,2,0.5\nc,3,0\n";
        let opts = inputs(d.path(), csv);
        fs::remove_file(&opts.balances).unwrap();
        let ok = std::process::Command::new("mkfifo")
            .arg(&opts.balances)
            .status()
            .unwrap();
        assert!(ok.success());
        let fifo = opts.balances.clone();
        std::thread::spawn(move || fs::write(fifo, csv));
        let (tx, rx) = std::sync::mpsc::channel();
        let o = opts.clone();
        std::thread::spawn(move || tx.send(prove(&o, None).map_err(|e| e.to_string())));
        let s = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("prove opened the balances file a second time")
            .unwrap();
        assert_eq!((s.customers, s.leaf_count, s.batches_proven), (3, 4, 0));
        let info: SpoolInfo = read_json(&WorkDir::new(&opts.out).spool_info()).unwrap();
        assert_eq!(info.balances_sha256, hex::encode(Sha256::digest(csv)));
    }

    #[test]
    fn a_resumed_run_refuses_another_csv() {
        let d = tempfile::tempdir().unwrap();
        let mut opts = inputs(d.path(), b"user_id,USD,BTC\na,1,0\n");
        prove(&opts, None).unwrap();
        opts.resume = true;
        prove(&opts, None).unwrap();
        fs::write(&opts.balances, b"user_id,USD,BTC\na,2,0\n").unwrap();
        let e = prove(&opts, None).unwrap_err();
        assert!(
            matches!(&e, ProverError::WorkMismatch { file, .. } if file.ends_with("spool.json")),
            "{e}"
        );
    }

    /// The time to spool a large CSV. Run in release:
    /// `ASSAY_SPOOL_BENCH=/tmp/dir cargo test --release -p assay-prover --lib spool_time -- --ignored --nocapture`
    /// where `/tmp/dir` holds `balances.csv` and `round.json`.
    #[test]
    #[ignore]
    fn spool_time() {
        let dir = PathBuf::from(std::env::var("ASSAY_SPOOL_BENCH").unwrap());
        let out = tempfile::tempdir_in(&dir).unwrap();
        let opts = ProveOptions {
            balances: dir.join("balances.csv"),
            config: dir.join("round.json"),
            out: out.path().join("out"),
            keys: out.path().join("keys"),
            shard: None,
            resume: false,
            progress: false,
            backend: BackendChoice::Groth16,
            budget: Default::default(),
        };
        let t = Instant::now();
        let (work, info) = spool_with(&opts, [1u8; 32]).unwrap();
        eprintln!(
            "spool_time: {} customers, {} leaves: spool {:.2?}",
            info.customers,
            info.leaf_count,
            t.elapsed()
        );
        if let Ok(copy) = std::env::var("ASSAY_SPOOL_COPY") {
            fs::copy(work.dir.spool(), copy).unwrap();
        }
    }
}
