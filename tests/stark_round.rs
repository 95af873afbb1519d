//! A whole round on the STARK backend (Plonky3, KoalaBear): proven and verified through the
//! library and the command line, every record checked, a killed run resumed without proving a
//! batch twice, and every tampering refused with a reason (proof files, public values, records,
//! relabelled bundles, parameters, reserves). The same round in shards, merged: the whole
//! round's statement, every record verifying, foreign, missing, doubled or damaged shards
//! refused, a killed shard resumed.

mod common;

use assay_prover::solvency::{self, record_path, BackendChoice, ProveOptions};
use assay_verifier::{
    signing,
    solvency::{
        verify_inclusion_with, verify_round, Circuits, Groth16Circuits, InclusionRecord,
        PreparedRound, ProofDir, RoundBundle, RoundOptions, StarkParamsSection, BACKEND_GROTH16,
        BACKEND_STARK, RECORD_DOMAIN, ROUND_DOMAIN,
    },
    VerifyError,
};
use ed25519_dalek::Signer;
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

/// 300 customers x 4 assets, batches of 127 users (height 2^7): 3 batch proofs, then
/// aggregations of fan-in 2: [2, 1] and the top [2].
const USERS: usize = 300;

fn write_inputs(
    dir: &Path,
    users: usize,
    round_id: &str,
    reserves_usd: &str,
) -> (PathBuf, PathBuf) {
    fs::create_dir_all(dir).unwrap();
    let mut csv = String::from("user_id,USD,BTC,ETH,EUR\n");
    for i in 0..users {
        csv.push_str(&format!(
            "user-{i},{}.{:02},0.{:08},{}.{:018},{}\n",
            i * 7,
            i % 100,
            i * 1000 + 1,
            i % 5,
            i * 31,
            i % 3
        ));
    }
    let balances = dir.join("balances.csv");
    fs::write(&balances, csv).unwrap();
    let config = dir.join("round-config.json");
    fs::write(
        &config,
        format!(
            r#"{{"version":1,"round_id":"{round_id}","balance_bits":64,"batch_size":128,"fan_in":2,
               "assets":[{{"symbol":"USD","decimals":2,"reserves":"{reserves_usd}"}},
                         {{"symbol":"BTC","decimals":8,"reserves":"21"}},
                         {{"symbol":"ETH","decimals":18,"reserves":"5000"}},
                         {{"symbol":"EUR","decimals":0,"reserves":"1000"}}],
               "previous_round":null}}"#
        ),
    )
    .unwrap();
    (balances, config)
}

fn options(dir: &Path, balances: PathBuf, config: PathBuf) -> ProveOptions {
    ProveOptions {
        balances,
        config,
        out: dir.join("out"),
        keys: dir.join("keys"),
        shard: None,
        resume: false,
        progress: false,
        backend: BackendChoice::Stark,
        budget: solvency::budget::Budget::default(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (b, c) = write_inputs(dir.path(), USERS, "stark-test", "1000000");
        let opts = options(dir.path(), b, c);
        let s = solvency::prove(&opts, Some(&common::test_signer())).unwrap();
        assert_eq!(s.customers, USERS as u64);
        assert_eq!(s.leaf_count, 3 * 127);
        assert_eq!((s.batches_proven, s.aggregations_proven), (3, 3));
        assert_eq!(s.records, USERS as u64);
        Fixture {
            out: opts.out,
            _dir: dir,
        }
    })
}

fn bundle_at(out: &Path) -> RoundBundle {
    RoundBundle::parse(&fs::read(out.join("round.json")).unwrap(), "round").unwrap()
}

fn record(out: &Path, user: &str) -> InclusionRecord {
    InclusionRecord::parse(
        &fs::read(record_path(out, user).unwrap()).unwrap(),
        "record",
    )
    .unwrap()
}

fn verify_in(b: &RoundBundle, out: &Path) -> Result<(), VerifyError> {
    let proofs = ProofDir::new(out);
    verify_round(
        b,
        &RoundOptions {
            proofs: Some(&proofs),
            ..Default::default()
        },
    )
    .map(|_| ())
}

fn resign(b: &mut RoundBundle) {
    b.signature.clear();
    let msg = signing::message(ROUND_DOMAIN, &b.signed_body());
    b.signature = hex::encode(common::test_signer().sign(&msg).to_bytes());
}

fn resign_record(r: &mut InclusionRecord) {
    r.signature.clear();
    let msg = signing::message(RECORD_DOMAIN, &r.signed_body());
    r.signature = hex::encode(common::test_signer().sign(&msg).to_bytes());
}

/// A copy of the fixture's round folder (bundle and proof files) to tamper with.
fn copy_round(to: &Path) -> PathBuf {
    let from = &fixture().out;
    fs::create_dir_all(to.join("proofs")).unwrap();
    fs::copy(from.join("round.json"), to.join("round.json")).unwrap();
    for e in fs::read_dir(from.join("proofs")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join("proofs").join(e.file_name())).unwrap();
    }
    to.to_path_buf()
}

fn expect_err(r: Result<(), VerifyError>, needle: &str) -> String {
    let e = r.expect_err("must be refused").to_string();
    assert!(e.contains(needle), "{e:?} lacks {needle:?}");
    e
}

#[test]
fn a_stark_round_verifies_and_so_does_every_record() {
    let out = &fixture().out;
    let b = bundle_at(out);
    assert_eq!(b.backend, BACKEND_STARK);
    assert!(matches!(b.circuits, Some(Circuits::Stark(_))));
    assert!(b.verifying_keys.is_empty());
    verify_in(&b, out).unwrap();
    // Without the proof folder the round is refused with the reason, not a panic.
    let e = verify_round(&b, &RoundOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no folder was given"), "{e}");
    // Every record, against the round prepared once (every proof verified then).
    let proofs = ProofDir::new(out);
    let prepared = PreparedRound::prepare(
        std::sync::Arc::new(b.clone()),
        &RoundOptions {
            proofs: Some(&proofs),
            ..Default::default()
        },
    )
    .unwrap();
    for i in 0..USERS {
        let r = record(out, &format!("user-{i}"));
        let rep = prepared.verify_inclusion(&r).unwrap();
        assert_eq!(
            rep.proofs_checked.len(),
            4,
            "batch, its leaves, level 1, top"
        );
    }
    // And one record the customer's way, reading the proofs on its path.
    let r = record(out, "user-17");
    let rep = verify_inclusion_with(
        &r,
        &b,
        &RoundOptions {
            proofs: Some(&proofs),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rep.backend, BACKEND_STARK);
}

#[test]
fn altered_or_missing_proof_files_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let out = copy_round(d.path());
    let b = bundle_at(&out);
    let file = out.join(ProofDir::relative(&b.batches[1].proof));
    let mut bytes = fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(&file, &bytes).unwrap();
    expect_err(verify_in(&b, &out), "batch proof 1: proof file");
    // The flipped proof under its own hash, the bundle re-signed: the STARK verifier rejects it.
    let h = assay_verifier::sha256_hex(&bytes);
    fs::write(out.join(ProofDir::relative(&h)), &bytes).unwrap();
    let mut forged = b.clone();
    forged.batches[1].proof = h;
    resign(&mut forged);
    expect_err(
        verify_in(&forged, &out),
        "batch proof 1: the STARK proof is refused",
    );
    // A missing file.
    fs::remove_file(out.join(ProofDir::relative(&b.aggregations[1][0].proof))).unwrap();
    let mut ok = b.clone();
    ok.batches[1].proof = b.batches[1].proof.clone();
    let orig = fixture().out.join(ProofDir::relative(&b.batches[1].proof));
    fs::copy(orig, &file).unwrap();
    expect_err(verify_in(&ok, &out), "top proof: proof file");
    // A proof of another AIR under the top's name (a batch proof): a shape error, no panic.
    let mut swapped = b.clone();
    swapped.aggregations[1][0].proof = b.batches[0].proof.clone();
    resign(&mut swapped);
    expect_err(
        verify_in(&swapped, &out),
        "top proof: the STARK proof is refused",
    );
}

#[test]
fn changed_public_values_are_refused() {
    let out = &fixture().out;
    let b = bundle_at(out);
    // A batch's root: the batch proof rejects it (batches are checked first).
    let mut t = b.clone();
    let v: u32 = t.batches[0].public_inputs[8].parse().unwrap();
    t.batches[0].public_inputs[8] = ((v + 1) % 2_130_706_433).to_string();
    resign(&mut t);
    expect_err(
        verify_in(&t, out),
        "batch proof 0: the STARK proof is refused",
    );
    // The same change in the parent only: it no longer names the batch proof's root.
    let mut t2 = b.clone();
    t2.aggregations[0][0].public_inputs[24] = t.batches[0].public_inputs[8].clone();
    resign(&mut t2);
    expect_err(
        verify_in(&t2, out),
        "child 0 root (the root of batch proof 0)",
    );
    // In both: the batch proof rejects it.
    let mut t3 = t2.clone();
    t3.batches[0].public_inputs[8] = t.batches[0].public_inputs[8].clone();
    resign(&mut t3);
    expect_err(
        verify_in(&t3, out),
        "batch proof 0: the STARK proof is refused",
    );
    // Children swapped in the parent's public values.
    let mut s = b.clone();
    let pi = &mut s.aggregations[0][0].public_inputs;
    let first: Vec<String> = pi[24..40].to_vec();
    let second: Vec<String> = pi[40..56].to_vec();
    pi[24..40].clone_from_slice(&second);
    pi[40..56].clone_from_slice(&first);
    resign(&mut s);
    expect_err(verify_in(&s, out), "child 0 root");
    // A wrong round digest.
    let mut r = b.clone();
    r.batches[2].public_inputs[0] = "1".into();
    resign(&mut r);
    expect_err(verify_in(&r, out), "batch proof 2: public input `round`");
    // A global root that is not the top's.
    let mut g = b.clone();
    g.global_root = "0".repeat(64);
    resign(&mut g);
    expect_err(verify_in(&g, out), "root (global_root)");
    // Unsigned changes are refused by the signature.
    let mut u = b.clone();
    u.batches[0].public_inputs[8] = t.batches[0].public_inputs[8].clone();
    expect_err(verify_in(&u, out), "signature");
}

#[test]
fn reserves_below_liabilities_are_refused_by_prover_and_verifier() {
    // The prover: USD liabilities are about 313,000; reserves of 1,000 are refused.
    let d = tempfile::tempdir().unwrap();
    let (b, c) = write_inputs(d.path(), USERS, "stark-insolvent", "1000");
    let e = solvency::prove(&options(d.path(), b, c), Some(&common::test_signer()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceed the declared reserves"), "{e}");
    // The verifier: a bundle declaring lower reserves (re-signed) no longer matches the top's
    // public reserves; with the top's public limbs forged too, the top proof rejects them.
    let out = &fixture().out;
    let bundle = bundle_at(out);
    let mut low = bundle.clone();
    low.config.assets[0].reserves = "1000".into();
    resign(&mut low);
    expect_err(verify_in(&low, out), "reserves[USD] limb");
    let top = low.aggregations[1][0].public_inputs.len();
    let k = 4;
    // 1000.00 USD = 100,000 units: limbs 100000 & 0xffff, 100000 >> 16, 0, 0, 0, 0.
    let at = top - 6 * k;
    let limbs = [100_000u64 & 0xffff, 100_000 >> 16, 0, 0, 0, 0];
    for (l, v) in limbs.iter().enumerate() {
        low.aggregations[1][0].public_inputs[at + l] = v.to_string();
    }
    resign(&mut low);
    expect_err(
        verify_in(&low, out),
        "top proof: the STARK proof is refused",
    );
}

#[test]
fn relabelled_bundles_and_other_parameters_are_refused() {
    let out = &fixture().out;
    let b = bundle_at(out);
    // A STARK bundle labelled Groth16.
    let mut g = b.clone();
    g.backend = BACKEND_GROTH16.into();
    resign(&mut g);
    let e = verify_in(&g, out).unwrap_err().to_string();
    assert!(
        e.contains("mislabelled") || e.contains("leaf_count"),
        "refused with a reason: {e}"
    );
    // A bundle whose section is Groth16's, labelled STARK (a Groth16 bundle relabelled).
    let mut s = b.clone();
    s.circuits = Some(Circuits::Groth16(Groth16Circuits {}));
    resign(&mut s);
    expect_err(verify_in(&s, out), "mislabelled or mixed bundle");
    // Parameters other than the pinned ones.
    let mut p = b.clone();
    if let Some(Circuits::Stark(c)) = &mut p.circuits {
        c.params.num_queries = 20;
    }
    resign(&mut p);
    expect_err(verify_in(&p, out), "accepts only the pinned");
    // Aggregation parameters other than the pinned ones (here: the batch set, or a weaker one).
    for weaker in [
        |a: &mut StarkParamsSection| a.max_log_arity = 1,
        |a: &mut StarkParamsSection| a.num_queries -= 1,
        |a: &mut StarkParamsSection| a.log_blowup = 2,
    ] {
        let mut a = b.clone();
        if let Some(Circuits::Stark(c)) = &mut a.circuits {
            weaker(
                c.agg_params
                    .as_mut()
                    .expect("a round of this build names agg_params"),
            );
        }
        resign(&mut a);
        expect_err(verify_in(&a, out), "aggregation parameters (agg_params)");
    }
    // A round of this build declaring the batch parameters of earlier rounds (binary folding):
    // a pinned set, so its proofs are checked under it, and this round's batch proofs fail.
    let mut o = b.clone();
    if let Some(Circuits::Stark(c)) = &mut o.circuits {
        c.params.max_log_arity = 1;
    }
    resign(&mut o);
    expect_err(
        verify_in(&o, out),
        "batch proof 0: the STARK proof is refused",
    );
    // A round of this build whose agg_params were removed: its aggregation proofs are then
    // checked under the batch parameters (those of rounds made before 2026-12-03), and fail.
    let mut n = b.clone();
    if let Some(Circuits::Stark(c)) = &mut n.circuits {
        c.agg_params = None;
    }
    resign(&mut n);
    expect_err(verify_in(&n, out), "the STARK proof is refused");
    // Declared shapes that are not the ones the configuration makes.
    let mut l = b.clone();
    if let Some(Circuits::Stark(c)) = &mut l.circuits {
        c.levels = vec![vec![3]];
    }
    resign(&mut l);
    expect_err(verify_in(&l, out), "aggregation shapes");
    let mut h = b.clone();
    if let Some(Circuits::Stark(c)) = &mut h.circuits {
        c.batch_log_height = 8;
    }
    resign(&mut h);
    expect_err(verify_in(&h, out), "batch_log_height");
    // A key where the STARK has none, and balances of another width.
    let mut k = b.clone();
    k.verifying_keys.insert("00".into(), "x".into());
    resign(&mut k);
    expect_err(verify_in(&k, out), "no verifying keys");
    let mut w = b.clone();
    w.config.balance_bits = 63;
    resign(&mut w);
    expect_err(verify_in(&w, out), "exactly 64 bits");
    // A previous round the top does not carry.
    let mut pr = b.clone();
    pr.config.previous_round = Some("ab".repeat(32));
    resign(&mut pr);
    expect_err(verify_in(&pr, out), "previous round");
}

#[test]
fn tampered_records_are_refused() {
    let out = &fixture().out;
    let b = bundle_at(out);
    let proofs = ProofDir::new(out);
    let opts = RoundOptions {
        proofs: Some(&proofs),
        ..Default::default()
    };
    let check = |r: &InclusionRecord| verify_inclusion_with(r, &b, &opts).map(|_| ());
    let r = record(out, "user-200");
    check(&r).unwrap();
    // The round publishes its leaves: the record carries no path.
    assert!(r.path.is_empty());
    // A balance changed: the signature first; re-signed, the leaf is not the published one.
    let mut t = r.clone();
    t.balances[0].amount = "1.00".into();
    expect_err(check(&t), "signature");
    resign_record(&mut t);
    expect_err(check(&t), "is not this record's leaf");
    // Another salt, position, or a path where none belongs.
    let mut s = r.clone();
    s.salt = "1,2,3,4".into();
    resign_record(&mut s);
    expect_err(check(&s), "is not this record's leaf");
    let mut p = r.clone();
    p.leaf_index += 1;
    resign_record(&mut p);
    expect_err(check(&p), "is not this record's leaf");
    let mut out_of_round = r.clone();
    out_of_round.leaf_index = b.leaf_count;
    resign_record(&mut out_of_round);
    expect_err(check(&out_of_round), "outside the round");
    let mut q = r.clone();
    q.path = vec!["00".repeat(32)];
    resign_record(&mut q);
    expect_err(check(&q), "carries a path of 1 digests");
    let mut bad = r.clone();
    bad.salt = "1,2,3".into();
    resign_record(&mut bad);
    expect_err(check(&bad), "salt");
}

/// Files served from memory, as a browser holds what it fetched: only the names it was given.
#[derive(Debug)]
struct Fetched(std::collections::BTreeMap<String, Vec<u8>>);

impl assay_verifier::solvency::ProofSource for Fetched {
    fn proof(&self, hash: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
        let bytes = self.0.get(hash).ok_or_else(|| VerifyError::ProofFile {
            proof: what.into(),
            file: ProofDir::relative(hash),
            message: "not fetched".into(),
        })?;
        assert_eq!(assay_verifier::sha256_hex(bytes), hash);
        Ok(bytes.clone())
    }
}

/// A customer's check reads exactly the files `inclusion_files` lists (batch proof, leaves
/// file, the aggregations on its path), and the record itself is small: no chain path.
#[test]
fn a_customer_needs_only_the_listed_files_and_a_small_record() {
    let out = &fixture().out;
    let b = bundle_at(out);
    let Some(Circuits::Stark(sc)) = &b.circuits else {
        panic!("a STARK section")
    };
    assert_eq!(sc.leaves.len(), b.batches.len());
    for user in ["user-0", "user-200", "user-299"] {
        let r = record(out, user);
        let files = assay_verifier::stark::inclusion_files(&r, &b).unwrap();
        let j = (r.leaf_index / 127) as usize;
        assert_eq!(files.len(), 4, "batch proof, leaves, level 1, top");
        assert_eq!(files[0], b.batches[j].proof);
        assert_eq!(files[1], sc.leaves[j]);
        let fetched = Fetched(
            files
                .iter()
                .map(|h| {
                    (
                        h.clone(),
                        fs::read(out.join(ProofDir::relative(h))).unwrap(),
                    )
                })
                .collect(),
        );
        let rep = verify_inclusion_with(
            &r,
            &b,
            &RoundOptions {
                proofs: Some(&fetched),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(rep.user_id, user);
        assert!(rep
            .proofs_checked
            .iter()
            .any(|p| p.starts_with("leaves of batch")));
        let size = fs::read(record_path(out, user).unwrap()).unwrap().len();
        assert!(size < 2_000, "{user}: {size} bytes");
    }
}

/// The leaves files are checked like proofs: their hash (by name), their length and encoding,
/// and that they chain to their batch's root; the section must list one per batch.
#[test]
fn altered_leaves_files_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let out = copy_round(d.path());
    let b = bundle_at(&out);
    let Some(Circuits::Stark(sc)) = b.circuits.clone() else {
        panic!("a STARK section")
    };
    let r = record(&fixture().out, "user-200");
    let j = (r.leaf_index / 127) as usize;
    let in_j = format!("leaves of batch {j}: proof file");
    let proofs = ProofDir::new(&out);
    let opts = RoundOptions {
        proofs: Some(&proofs),
        ..Default::default()
    };
    let file = out.join(ProofDir::relative(&sc.leaves[j]));
    let good = fs::read(&file).unwrap();
    // 127 leaves, then the chain's 7 segment states.
    assert_eq!(good.len(), (127 + 7) * 32);
    // One flipped byte: the file is not the one the bundle names.
    let mut flipped = good.clone();
    flipped[100] ^= 1;
    fs::write(&file, &flipped).unwrap();
    // The auditor reads every batch's file in order: the first altered one is named.
    expect_err(verify_in(&b, &out), &in_j);
    expect_err(verify_inclusion_with(&r, &b, &opts).map(|_| ()), &in_j);
    fs::write(&file, &good).unwrap();
    // A forged file under its own name in a re-signed bundle: two leaves swapped (the
    // customer's own leaf still in it), a segment state changed, one digest short, an element
    // not below p.
    let forge = |bytes: &[u8]| {
        let h = assay_verifier::sha256_hex(bytes);
        fs::write(out.join(ProofDir::relative(&h)), bytes).unwrap();
        let mut f = b.clone();
        if let Some(Circuits::Stark(s)) = &mut f.circuits {
            s.leaves[j] = h;
        }
        resign(&mut f);
        f
    };
    let mut swapped = good.clone();
    let (a, c) = swapped.split_at_mut(64);
    a[..32].swap_with_slice(&mut c[..32]);
    let f = forge(&swapped);
    expect_err(verify_in(&f, &out), "do not chain from the round digest");
    let mut rf = r.clone();
    rf.bundle_hash = f.hash();
    resign_record(&mut rf);
    expect_err(
        verify_inclusion_with(&rf, &f, &opts).map(|_| ()),
        "do not chain from the round digest",
    );
    // A segment state changed: its segment and the next no longer meet.
    let mut state = good.clone();
    state[127 * 32 + 3 * 32] ^= 1;
    let f = forge(&state);
    expect_err(verify_in(&f, &out), "do not chain from the round digest");
    // The leaves alone (the file of a round made before 2026-12-04) still chain.
    verify_in(&forge(&good[..127 * 32]), &out).unwrap();
    let f = forge(&good[..good.len() - 32]);
    expect_err(verify_in(&f, &out), "this one is 4256");
    let mut high = good.clone();
    high[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let f = forge(&high);
    expect_err(verify_in(&f, &out), "not below the KoalaBear modulus");
    // The section: one name per batch, each a SHA-256.
    let section = |leaves: Vec<String>| {
        let mut f = b.clone();
        if let Some(Circuits::Stark(s)) = &mut f.circuits {
            s.leaves = leaves;
        }
        resign(&mut f);
        f
    };
    let f = section(sc.leaves[..2].to_vec());
    expect_err(verify_in(&f, &out), "lists 2 leaves files");
    let mut named = sc.leaves.clone();
    named[0] = "../round.json".into();
    expect_err(verify_in(&section(named), &out), "circuits.leaves[0]");
    // Without the list, a record with no path is refused (it needs its chain path then).
    let f = section(Vec::new());
    verify_in(&f, &out).unwrap();
    let mut rr = r.clone();
    rr.bundle_hash = f.hash();
    resign_record(&mut rr);
    expect_err(
        verify_inclusion_with(&rr, &f, &opts).map(|_| ()),
        "chain path has 0 digests",
    );
}

fn assay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .env("ASSAY_PASSPHRASE", "test passphrase")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_command_line_proves_verifies_and_resumes_a_stark_round() {
    let d = tempfile::tempdir().unwrap();
    // 8 batches, one proof at a time, so that a kill lands between checkpoints.
    let (b, c) = write_inputs(d.path(), 1000, "stark-cli", "100000000");
    let out = d.path().join("out");
    let args = [
        "solvency",
        "prove",
        "--backend",
        "stark",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&out),
        "--jobs",
        "1",
        "--json",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .env("ASSAY_PASSPHRASE", "test passphrase")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = out.join("private/work/batches/batch-00000000.json");
    let t0 = std::time::Instant::now();
    while !first.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("prove stopped before its first checkpoint: {status}");
        }
        assert!(
            t0.elapsed().as_secs() < 600,
            "no checkpoint after 10 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("round.json").exists(), "killed before the end");
    let before: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(out.join("private/work/batches"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    assert!(!before.is_empty());
    let mut resume: Vec<&str> = args.to_vec();
    resume.push("--resume");
    let o = assay(&resume);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let made = summary["batches_proven"].as_u64().unwrap();
    let skipped = summary["batches_skipped"].as_u64().unwrap();
    assert_eq!(made + skipped, 8, "{summary}");
    assert_eq!(skipped as usize, before.len(), "{summary}");
    // Every checkpoint written before the kill is untouched: no batch was proven twice (a
    // second proof of a batch would differ: the proofs are randomised).
    for (p, bytes) in &before {
        assert_eq!(&fs::read(p).unwrap(), bytes, "{}", p.display());
    }
    // The auditor and a customer, through the command line.
    let o = assay(&["solvency", "verify", s(&out)]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rec = record_path(&out, "user-999").unwrap();
    let o = assay(&["solvency", "inclusion-verify", s(&rec), "--round", s(&out)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A flipped byte in a proof file: invalid (exit 1) with the reason.
    let bundle = bundle_at(&out);
    let f = out.join(ProofDir::relative(&bundle.batches[3].proof));
    let mut bytes = fs::read(&f).unwrap();
    bytes[100] ^= 0x80;
    fs::write(&f, &bytes).unwrap();
    let o = assay(&["solvency", "verify", s(&out)]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("batch proof 3: proof file"), "{all}");
    // The STARK has no keys: setup refuses with the reason.
    let o = assay(&[
        "solvency",
        "setup",
        "--backend",
        "stark",
        "--config",
        s(&c),
        "--out",
        s(&d.path().join("k")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("stark has no keys"), "{err}");
    // A shard outside its count is refused before any work, as on the other backends.
    let mut shard: Vec<&str> = args[..10].to_vec();
    let out2 = d.path().join("out2");
    shard[9] = s(&out2);
    shard.extend(["--shard", "2/2"]);
    let o = assay(&shard);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out2.exists());
}

/// The fixture's round proven again in two shards with the fixture's secret (`--shard 0/2`:
/// batches 0 and 2; `1/2`: batch 1; the second machine gets the secret from the first), then
/// merged: the same inputs and secret as the whole round.
struct Sharded {
    dir: tempfile::TempDir,
    shards: [PathBuf; 2],
    proven: [solvency::Summary; 2],
    merged: PathBuf,
    summary: solvency::Summary,
}

fn sharded() -> &'static Sharded {
    static S: OnceLock<Sharded> = OnceLock::new();
    S.get_or_init(|| {
        let whole = &fixture().out;
        let inputs = whole.parent().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let shards = [dir.path().join("s0"), dir.path().join("s1")];
        let proven = [0, 1].map(|i| {
            let s = &shards[i];
            fs::create_dir_all(s.join("private")).unwrap();
            fs::copy(
                whole.join("private/round-secret.json"),
                s.join("private/round-secret.json"),
            )
            .unwrap();
            let opts = ProveOptions {
                out: s.clone(),
                shard: Some((i, 2)),
                resume: true,
                ..options(
                    dir.path(),
                    inputs.join("balances.csv"),
                    inputs.join("round-config.json"),
                )
            };
            // A shard signs nothing.
            solvency::prove(&opts, None).unwrap()
        });
        let merged = dir.path().join("merged");
        let summary = merge(&merged, &shards).unwrap();
        Sharded {
            dir,
            shards,
            proven,
            merged,
            summary,
        }
    })
}

fn merge(out: &Path, shards: &[PathBuf]) -> Result<solvency::Summary, String> {
    let none = out.join("unused");
    solvency::merge(
        out,
        shards,
        &none,
        &none,
        &common::test_signer(),
        &solvency::budget::Budget::default(),
        false,
    )
    .map_err(|e| e.to_string())
}

/// A copy of a folder tree (a shard to alter).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_sharded_stark_round_merges_into_the_whole_rounds_statement() {
    let sh = sharded();
    // Each shard proved its own batches, wrote their proof and leaves files, and signed nothing.
    let made: Vec<(usize, usize)> = sh
        .proven
        .iter()
        .map(|s| (s.batches_proven, s.batches_skipped))
        .collect();
    assert_eq!(made, [(2, 0), (1, 0)]);
    for (s, files) in sh.shards.iter().zip([4, 2]) {
        assert!(!s.join("round.json").exists());
        assert!(!s.join("inclusion").exists());
        assert_eq!(fs::read_dir(s.join("proofs")).unwrap().count(), files);
    }
    let m = &sh.summary;
    assert_eq!(
        (m.batches_proven, m.batches_skipped, m.aggregations_proven),
        (0, 3, 3)
    );
    assert_eq!(m.records, USERS as u64);
    // The auditor's check, and every customer's.
    let out = &sh.merged;
    let b = bundle_at(out);
    verify_in(&b, out).unwrap();
    let proofs = ProofDir::new(out);
    let opts = RoundOptions {
        proofs: Some(&proofs),
        ..Default::default()
    };
    let prepared = PreparedRound::prepare(std::sync::Arc::new(b.clone()), &opts).unwrap();
    for i in 0..USERS {
        prepared
            .verify_inclusion(&record(out, &format!("user-{i}")))
            .unwrap();
    }
    // The same statement as the whole round of the same inputs and secret: salts, blinds and
    // order derive from the secret, so every public value and leaves file is the same; the
    // proofs themselves are randomised (zero knowledge), so their bytes differ.
    let w = bundle_at(&fixture().out);
    assert_eq!(b.global_root, w.global_root);
    assert_eq!(b.leaf_count, w.leaf_count);
    assert_eq!(b.circuits, w.circuits, "levels and leaves files");
    let publics = |b: &RoundBundle| -> Vec<Vec<String>> {
        b.batches
            .iter()
            .chain(b.aggregations.iter().flatten())
            .map(|e| e.public_inputs.clone())
            .collect()
    };
    assert_eq!(publics(&b), publics(&w));
    assert_ne!(b.batches[0].proof, w.batches[0].proof);
    let (r, rw) = (record(out, "user-17"), record(&fixture().out, "user-17"));
    assert_eq!((&r.salt, r.leaf_index), (&rw.salt, rw.leaf_index));
    assert_eq!(r.balances, rw.balances);
    // Through the command line too.
    let o = assay(&["solvency", "verify", s(out)]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let rec = record_path(out, "user-299").unwrap();
    let o = assay(&["solvency", "inclusion-verify", s(&rec), "--round", s(out)]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn stark_merges_refuse_foreign_missing_doubled_or_damaged_shards() {
    let sh = sharded();
    let d = sh.dir.path().join("refusals");
    let [s0, s1] = &sh.shards;
    let expect = |r: Result<solvency::Summary, String>, needle: &str| {
        let e = r.expect_err("must be refused");
        assert!(e.contains(needle), "{e:?} lacks {needle:?}");
    };
    // A missing shard: its batch is named.
    let m = d.join("m1");
    expect(
        merge(&m, std::slice::from_ref(s0)),
        "batch proof 1: prove every shard first (it is in none of the 1 shard folders",
    );
    assert!(!m.join("round.json").exists());
    // A shard given twice, or shards of two splits: a batch in two shards.
    expect(
        merge(&d.join("m2"), &[s0.clone(), s1.clone(), s0.clone()]),
        "batch proof 0 is in two shard folders",
    );
    // A published round in the output folder.
    expect(
        merge(&sh.merged, &sh.shards),
        "already holds a finished round",
    );
    // A shard of the same round on another backend.
    let g1 = d.join("g1");
    copy_tree(s1, &g1);
    fs::write(
        g1.join("private/backend.json"),
        format!(r#"{{"version":1,"backend":"{BACKEND_GROTH16}","layout":null}}"#),
    )
    .unwrap();
    expect(
        merge(&d.join("m3"), &[s0.clone(), g1]),
        "was proven with another backend",
    );
    // A shard of another round (its own secret).
    let whole = fixture().out.parent().unwrap();
    let other = ProveOptions {
        out: d.join("other"),
        shard: Some((1, 2)),
        ..options(
            &d,
            whole.join("balances.csv"),
            whole.join("round-config.json"),
        )
    };
    solvency::prove(&other, None).unwrap();
    expect(
        merge(&d.join("m4"), &[s0.clone(), other.out.clone()]),
        "shard of another round",
    );
    // That round's batch 1 (checkpoint and files) slipped into a copy of shard 1: its proofs
    // verify, but it was proven with another secret (its customers' records would not match
    // its leaves), which the checkpoint's tag says.
    let x1 = d.join("x1");
    copy_tree(s1, &x1);
    copy_tree(&other.out.join("proofs"), &x1.join("proofs"));
    let batch1 = "private/work/batches/batch-00000001.json";
    fs::copy(other.out.join(batch1), x1.join(batch1)).unwrap();
    expect(
        merge(&d.join("m6"), &[s0.clone(), x1]),
        "proven with another round secret",
    );
    // A checkpoint under another batch's name.
    let c0 = d.join("c0");
    copy_tree(s0, &c0);
    fs::rename(
        c0.join("private/work/batches/batch-00000002.json"),
        c0.join(batch1),
    )
    .unwrap();
    expect(merge(&d.join("m7"), &[c0]), "holds proof #2, not #1");
    // A shard whose proof file was altered: refused when gathered, naming the file.
    let c1 = d.join("c1");
    copy_tree(s1, &c1);
    let f = fs::read_dir(c1.join("proofs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = fs::read(&f).unwrap();
    bytes[10] ^= 1;
    fs::write(&f, bytes).unwrap();
    expect(
        merge(&d.join("m5"), &[s0.clone(), c1]),
        "does not have the SHA-256 it is named by",
    );
    // The refused merge into m1 runs again with every shard: it keeps the batches it copied
    // and publishes a round that verifies.
    let again = merge(&m, &sh.shards).unwrap();
    assert_eq!(again.records, USERS as u64);
    verify_in(&bundle_at(&m), &m).unwrap();
}

#[test]
fn a_killed_stark_shard_resumes_without_proving_a_batch_twice() {
    let d = tempfile::tempdir().unwrap();
    // 4 batches: shard 0/2 proves batches 0 and 2, one proof at a time.
    let (b, c) = write_inputs(d.path(), 500, "stark-shard", "100000000");
    let out = d.path().join("s0");
    let args = [
        "solvency",
        "prove",
        "--backend",
        "stark",
        "--balances",
        s(&b),
        "--config",
        s(&c),
        "--out",
        s(&out),
        "--shard",
        "0/2",
        "--jobs",
        "1",
        "--json",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = out.join("private/work/batches/batch-00000000.json");
    let t0 = std::time::Instant::now();
    while !first.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the shard stopped before its first checkpoint: {status}");
        }
        assert!(t0.elapsed().as_secs() < 600, "no checkpoint in 10 minutes");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(out.join("private/work/batches"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    // Without --resume the folder is refused; with it, the shard continues.
    assert_eq!(assay(&args).status.code(), Some(2));
    let mut resume = args.to_vec();
    resume.push("--resume");
    let o = assay(&resume);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["batches_skipped"], before.len(), "{summary}");
    assert_eq!(
        summary["batches_proven"].as_u64().unwrap() + before.len() as u64,
        2,
        "{summary}"
    );
    assert!(summary["bundle"].is_null(), "{summary}");
    // Every checkpoint written before the kill is untouched (a second proof would differ).
    for (p, bytes) in &before {
        assert_eq!(&fs::read(p).unwrap(), bytes, "{}", p.display());
    }
    let names: Vec<String> = fs::read_dir(out.join("private/work/batches"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!out.join("round.json").exists());
}

/// A checkpoint of a build whose proofs used the earlier parameters (version 1, `STARK_PARAMS`)
/// is never published under this build's: a merge refuses the shard holding it, by name, and a
/// resumed shard proves that batch again (version 2); the merge then verifies.
#[test]
fn checkpoints_of_an_earlier_parameter_set_are_proven_again_or_refused() {
    let sh = sharded();
    let d = tempfile::tempdir().unwrap();
    let shards = [d.path().join("s0"), d.path().join("s1")];
    copy_tree(&sh.shards[0], &shards[0]);
    copy_tree(&sh.shards[1], &shards[1]);
    let cp = shards[0].join("private/work/batches/batch-00000000.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&cp).unwrap()).unwrap();
    assert_eq!(v["version"], 2);
    v["version"] = 1.into();
    fs::write(&cp, serde_json::to_vec(&v).unwrap()).unwrap();
    let e = merge(&d.path().join("m1"), &shards).unwrap_err();
    assert!(e.contains("a version 1 checkpoint"), "{e}");
    // Resumed, the shard proves batch 0 again and nothing else.
    let whole = &fixture().out;
    let inputs = whole.parent().unwrap();
    let summary = solvency::prove(
        &ProveOptions {
            out: shards[0].clone(),
            shard: Some((0, 2)),
            resume: true,
            ..options(
                d.path(),
                inputs.join("balances.csv"),
                inputs.join("round-config.json"),
            )
        },
        None,
    )
    .unwrap();
    assert_eq!(summary.batches_proven, 1, "{summary:?}");
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&cp).unwrap()).unwrap();
    assert_eq!(v["version"], 2);
    let merged = d.path().join("m2");
    merge(&merged, &shards).unwrap();
    verify_in(&bundle_at(&merged), &merged).unwrap();
}
