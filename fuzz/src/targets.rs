//! The fuzz targets: one function per input format, each fed arbitrary bytes.
//!
//! Every target hands its bytes to the same public entry point that reads that format in
//! production and ignores the `Result`: refusing bad input with an error is correct; the only
//! failure a target can show is a panic (or an abort, a hang, an out-of-memory), which is a bug.
//!
//! This file is compiled twice: by the AFL harness (`fuzz/src/main.rs`, through the
//! `assay-fuzz` library) and, on stable without AFL, by the workspace's regression test
//! `tests/fuzz_corpus.rs`, which replays every file of `fuzz/corpus/<target>/` and
//! `fuzz/crashes/<target>/` through [`run`]. It names only crates the root package depends on.

use std::sync::OnceLock;

/// Every target, by the name the harness takes (`assay-fuzz TARGET`) and the corpus folder
/// (`fuzz/corpus/TARGET/`).
pub const TARGETS: &[&str] = &[
    "csv",
    "round_config",
    "round_bundle",
    "inclusion_record",
    "key_manifest",
    "kyc_issuer",
    "kyc_epoch",
    "kyc_policy",
    "kyc_challenge",
    "kyc_credential",
    "kyc_path",
    "kyc_leaves",
    "kyc_proof",
    "groth16",
    "halo2_proof",
    "halo2_params",
    "stark_round",
    "stark_kyc",
    "http_round",
    "http_inclusion",
    "http_kyc",
];

/// Runs `target` on `data`. Returns `false` for an unknown target name; panics only if the
/// code under test does (the bug a fuzzer looks for).
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "csv" => csv(data),
        "round_config" => round_config(data),
        "round_bundle" => round_bundle(data),
        "inclusion_record" => inclusion_record(data),
        "key_manifest" => key_manifest(data),
        "kyc_issuer" => kyc_issuer(data),
        "kyc_epoch" => kyc_epoch(data),
        "kyc_policy" => kyc_policy(data),
        "kyc_challenge" => kyc_challenge(data),
        "kyc_credential" => kyc_credential(data),
        "kyc_path" => kyc_path(data),
        "kyc_leaves" => kyc_leaves(data),
        "kyc_proof" => kyc_proof(data),
        "groth16" => groth16(data),
        "halo2_proof" => halo2_proof(data),
        "halo2_params" => halo2_params(data),
        "stark_round" => stark_round(data),
        "stark_kyc" => stark_kyc(data),
        "http_round" => http_round(data),
        "http_inclusion" => http_inclusion(data),
        "http_kyc" => http_kyc(data),
        _ => return false,
    }
    true
}

/// Builds what `target` keeps for the whole process (the fixture relying party, the server
/// backend, the Halo2 KYC verifier: seconds of key derivation), so that the harness pays for
/// it once, before AFL's fork server starts, and no input is charged for it.
///
/// Returns `false` when a fixture the target verifies against does not load (a moved or
/// changed fixture file): such a target would refuse every input before reaching the code it
/// is meant to fuzz, so the harness stops and the corpus replay fails instead of silently
/// fuzzing nothing. Targets without fixtures, and unknown names, return `true`.
pub fn prepare(target: &str) -> bool {
    match target {
        "kyc_epoch" | "http_kyc" => kyc_fixture().is_some(),
        "kyc_proof" => {
            // A Halo2 proof is verified with the process-wide verifier too.
            kyc_fixture().is_some() && assay_verifier::halo2::kyc::default_verifier().is_ok()
        }
        "http_round" | "http_inclusion" => {
            server();
            true
        }
        "halo2_proof" => assay_verifier::halo2::kyc::default_verifier().is_ok(),
        "stark_round" => stark_fixture().is_some(),
        "stark_kyc" => stark_kyc_fixture().is_some(),
        _ => true,
    }
}

/// The balances CSV reader (`prover/src/csv_input.rs`) against the fixture round's assets
/// (BTC 8 decimals, ETH 9, USDT 6; 64-bit balances): header, every row, then the hash.
fn csv(data: &[u8]) {
    use assay_prover::csv_input::BalancesReader;
    use assay_verifier::solvency::AssetConfig;
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let asset = |symbol: &str, decimals| AssetConfig {
        symbol: symbol.into(),
        decimals,
        reserves: "0".into(),
    };
    let assets = [asset("BTC", 8), asset("ETH", 9), asset("USDT", 6)];
    // The reader takes a path (it streams files): one scratch file per process and call.
    let path = std::env::temp_dir().join(format!(
        "assay-fuzz-csv-{}-{}.csv",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(mut r) = BalancesReader::open(&path, &assets, 64) {
        while let Ok(Some(_)) = r.next_row() {}
        let _ = r.finish();
    }
    let _ = std::fs::remove_file(&path);
}

/// `ROUND.json`: parse and check (assets, sizes, reserves).
fn round_config(data: &[u8]) {
    if let Ok(c) = assay_verifier::solvency::RoundConfig::parse(data, "round config") {
        let _ = c.check();
    }
}

/// A round bundle: parse, its backend section, its canonical body and hash, the Halo2
/// parameters it would need.
fn round_bundle(data: &[u8]) {
    use assay_verifier::solvency::{halo2_params_needed, RoundBundle};
    if let Ok(b) = RoundBundle::parse(data, "round.json") {
        let _ = b.section();
        let _ = b.signed_body();
        let _ = b.hash();
        let _ = halo2_params_needed(&b);
    }
}

/// A customer's inclusion record: parse and its canonical body.
fn inclusion_record(data: &[u8]) {
    if let Ok(r) = assay_verifier::solvency::InclusionRecord::parse(data, "record") {
        let _ = r.signed_body();
    }
}

/// A Groth16 key manifest: parse, shape checks and signature.
fn key_manifest(data: &[u8]) {
    let _ = assay_verifier::groth16::KeyManifest::open(data, "manifest");
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn kyc_doc<T: serde::de::DeserializeOwned + assay_verifier::kyc::formats::Versioned>(
    data: &[u8],
) -> Option<T> {
    assay_verifier::kyc::formats::from_json(std::any::type_name::<T>(), text(data)?).ok()
}

/// `ISSUER_PUBLIC.json` and its key.
fn kyc_issuer(data: &[u8]) {
    use assay_verifier::kyc::{formats::IssuerPublic, issuer_verifying_key};
    if let Some(i) = kyc_doc::<IssuerPublic>(data) {
        let _ = i.key();
        let _ = issuer_verifying_key(&i);
    }
}

/// `EPOCH.json`: fields, signed message, hash, signature under the fixture issuer's key, and
/// as a one-epoch published chain.
fn kyc_epoch(data: &[u8]) {
    use assay_verifier::{kyc::formats::Epoch, Backend};
    if let Some(e) = kyc_doc::<Epoch>(data) {
        let _ = e.fields();
        for b in Backend::ALL {
            let _ = e.root_for(b);
        }
        let _ = e.message();
        let _ = e.hash();
        if let Some(kyc) = kyc_fixture() {
            if let Ok(key) = kyc.settings.issuer.key() {
                let _ = e.verify_signature(&key);
                let _ = assay_verifier::kyc::formats::PublishedEpochs::verify(
                    vec![("fuzz".into(), e)],
                    &key,
                );
            }
        }
    }
}

/// `POLICY.json`: the jurisdictions it restricts and its Merkle tree.
fn kyc_policy(data: &[u8]) {
    if let Some(p) = kyc_doc::<assay_verifier::kyc::formats::Policy>(data) {
        if p.jurisdictions().is_ok() {
            let _ = p.tree();
        }
    }
}

/// `CHALLENGE.json` and its fields.
fn kyc_challenge(data: &[u8]) {
    if let Some(c) = kyc_doc::<assay_verifier::kyc::formats::Challenge>(data) {
        let _ = c.fields();
    }
}

/// A holder's credential (per-backend maps).
fn kyc_credential(data: &[u8]) {
    use assay_verifier::{kyc::formats::Credential, Backend};
    if let Some(c) = kyc_doc::<Credential>(data) {
        for b in Backend::ALL {
            let _ = c.holder_commitment_for(b);
            let _ = c.leaf_for(b);
        }
    }
}

/// A registry path (per-backend roots and siblings).
fn kyc_path(data: &[u8]) {
    use assay_verifier::{kyc::formats::RegistryPath, Backend};
    if let Some(p) = kyc_doc::<RegistryPath>(data) {
        for b in Backend::ALL {
            let _ = p.root_for(b);
            let _ = p.siblings_for(b);
        }
    }
}

/// An epoch's leaves and the registry paths cut from them.
fn kyc_leaves(data: &[u8]) {
    use assay_verifier::{kyc::formats::EpochLeaves, Backend};
    if let Some(l) = kyc_doc::<EpochLeaves>(data) {
        for b in Backend::ALL {
            let _ = l.root_for(b);
            let _ = l.leaves_for(b);
        }
        for serial in [0, 1, 2, u64::MAX] {
            let _ = l.path(serial);
        }
    }
}

/// A holder's proof (`PROOF.json`): its public inputs, then the whole verification against
/// the fixture relying party (policy, issuer, epoch, challenge, time).
fn kyc_proof(data: &[u8]) {
    use assay_verifier::kyc::formats::KycProof;
    if let Some(p) = kyc_doc::<KycProof>(data) {
        let _ = p.public_inputs.parse();
        if let Some(k) = kyc_fixture() {
            let s = &k.settings;
            let _ = assay_verifier::kyc::verify(
                &p,
                &k.epoch,
                &s.published,
                &s.issuer,
                &s.policy,
                &k.challenge,
                k.now as i64,
            );
        }
    }
}

/// Groth16 (BN254) verifying keys and proofs: the bytes hex-encoded (point decoding), and the
/// text as given (hex decoding).
fn groth16(data: &[u8]) {
    use assay_verifier::groth16::{decode_proof, decode_vk, vk_hash_of_hex, Key};
    let hexed = hex::encode(data);
    let mut inputs: Vec<&str> = vec![&hexed];
    if let Some(t) = text(data) {
        inputs.push(t);
    }
    for s in inputs {
        if let Ok(vk) = decode_vk(s, "vk") {
            let _ = Key::new(&vk).num_inputs();
        }
        let _ = decode_proof(s, "proof");
        let _ = vk_hash_of_hex(s);
    }
}

/// Halo2 proofs (the transcript reader and the IPA verifier) on the KYC circuit, with all-zero
/// public inputs: the bytes are the proof.
fn halo2_proof(data: &[u8]) {
    use assay_circuits::{halo2::Fp, kyc::NUM_PUBLIC_INPUTS};
    if let Ok(v) = assay_verifier::halo2::kyc::default_verifier() {
        let _ = v.verify(&[Fp::zero(); NUM_PUBLIC_INPUTS], data);
    }
}

/// Halo2 IPA parameter files: read as a cache file is (`read_params`), and as supplied bytes
/// checked against the pinned hash for the `k` they announce.
fn halo2_params(data: &[u8]) {
    use assay_verifier::halo2::{params_from_pinned_bytes, read_params};
    let _ = read_params(&mut &data[..]);
    if let Some(h) = data.get(..4) {
        let k = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let _ = params_from_pinned_bytes(k, data);
        let _ = params_from_pinned_bytes(k.clamp(4, 24), data);
    }
}

/// STARK round files (proof decoding, shape checks and Plonky3's verifier for both AIRs, and the
/// leaves file's reader): the frozen v2 STARK round is verified as an auditor does, with one of
/// its files replaced by the input after its first byte, which chooses the file (0: the batch
/// proof, 1: the batch's leaves file, 2: the top proof). A file the library verifier panics on
/// is a finding even though the verifier catches the panic and refuses the proof: the shape
/// checks before it must refuse such a file first (`docs/stark.md`, "Bad input").
fn stark_round(data: &[u8]) {
    use assay_verifier::solvency::{verify_round, RoundOptions};
    let (Some((&which, rest)), Some(f)) = (data.split_first(), stark_fixture()) else {
        return;
    };
    let source = Replaced {
        files: &f.files,
        name: &f.names[usize::from(which) % f.names.len()],
        bytes: rest,
    };
    let opts = RoundOptions {
        proofs: Some(&source),
        ..RoundOptions::default()
    };
    if let Err(e) = verify_round(&f.bundle, &opts) {
        let e = e.to_string();
        assert!(!e.contains("panicked"), "{e}");
    }
}

/// The frozen v2 STARK round (`fixtures/solvency/frozen/v2-stark`): its bundle, its files by
/// name, and the names the target may replace.
struct StarkFixture {
    bundle: assay_verifier::solvency::RoundBundle,
    files: std::collections::BTreeMap<String, Vec<u8>>,
    names: Vec<String>,
}

/// A proof source that serves `bytes` for `name` and the fixture's files for the rest (it does
/// not check hashes: the point is to hand arbitrary bytes to the decoders).
#[derive(Debug)]
struct Replaced<'a> {
    files: &'a std::collections::BTreeMap<String, Vec<u8>>,
    name: &'a str,
    bytes: &'a [u8],
}

impl assay_verifier::solvency::ProofSource for Replaced<'_> {
    fn proof(&self, hash: &str, what: &str) -> Result<Vec<u8>, assay_verifier::VerifyError> {
        if hash == self.name {
            return Ok(self.bytes.to_vec());
        }
        self.files
            .get(hash)
            .cloned()
            .ok_or_else(|| assay_verifier::VerifyError::ProofFile {
                proof: what.into(),
                file: assay_verifier::solvency::ProofDir::relative(hash),
                message: "not in the fixture".into(),
            })
    }
}

fn stark_fixture() -> Option<&'static StarkFixture> {
    static S: OnceLock<Option<StarkFixture>> = OnceLock::new();
    S.get_or_init(|| {
        use assay_verifier::solvency::{Circuits, RoundBundle};
        // This file is compiled from the fuzz crate (fuzz/) and from the root package.
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = [here.join("fixtures"), here.join("../fixtures")]
            .into_iter()
            .find(|d| d.is_dir())?
            .join("solvency/frozen/v2-stark");
        let bundle =
            RoundBundle::parse(&std::fs::read(dir.join("round.json")).ok()?, "round").ok()?;
        let mut files = std::collections::BTreeMap::new();
        for e in std::fs::read_dir(dir.join("proofs")).ok()? {
            let p = e.ok()?.path();
            let name = p.file_stem()?.to_str()?.to_string();
            files.insert(name, std::fs::read(&p).ok()?);
        }
        let Some(Circuits::Stark(sc)) = &bundle.circuits else {
            return None;
        };
        let names = vec![
            bundle.batches.first()?.proof.clone(),
            sc.leaves.first()?.clone(),
            bundle.aggregations.last()?.first()?.proof.clone(),
        ];
        Some(StarkFixture {
            bundle,
            files,
            names,
        })
    })
    .as_ref()
}

/// A STARK KYC presentation (`PROOF.json` of backend `stark-koalabear-poseidon2`) verified by
/// `kyc::verify` against the frozen v2 STARK relying party (`fixtures/kyc/frozen/v2-stark`:
/// policy, issuer, one-epoch chain, challenge, at the challenge's time). The first byte chooses
/// what the rest is: 0, the proof's bytes, put into the frozen presentation (postcard decoding,
/// the shape checks, Plonky3's verifier of the KYC AIR, against valid public inputs); 1, the
/// whole presentation as JSON (its fields and public inputs, then the same verification). As
/// for `stark_round`, a panic the verifier catches and reports still counts as a crash.
fn stark_kyc(data: &[u8]) {
    use assay_verifier::kyc::formats::{from_json, KycProof};
    let (Some((&mode, rest)), Some(f)) = (data.split_first(), stark_kyc_fixture()) else {
        return;
    };
    let proof = if mode % 2 == 0 {
        KycProof {
            proof: hex::encode(rest),
            ..f.proof.clone()
        }
    } else {
        match text(rest).map(|t| from_json::<KycProof>("proof", t)) {
            Some(Ok(p)) => p,
            _ => return,
        }
    };
    let _ = proof.public_inputs.parse();
    if let Err(e) = assay_verifier::kyc::verify(
        &proof,
        &f.epoch,
        &f.published,
        &f.issuer,
        &f.policy,
        &f.challenge,
        f.now,
    ) {
        let e = e.to_string();
        assert!(!e.contains("panicked"), "{e}");
    }
}

/// The frozen v2 STARK KYC relying party (`fixtures/kyc/frozen/v2-stark`) and its valid
/// presentation, at the time its challenge was issued (plus one second).
struct StarkKycFixture {
    proof: assay_verifier::kyc::formats::KycProof,
    epoch: assay_verifier::kyc::formats::Epoch,
    published: assay_verifier::kyc::formats::PublishedEpochs,
    issuer: assay_verifier::kyc::formats::IssuerPublic,
    policy: assay_verifier::kyc::formats::Policy,
    challenge: assay_verifier::kyc::formats::Challenge,
    now: i64,
}

fn stark_kyc_fixture() -> Option<&'static StarkKycFixture> {
    static K: OnceLock<Option<StarkKycFixture>> = OnceLock::new();
    K.get_or_init(|| {
        use assay_verifier::kyc::formats::{from_json, Challenge, IssuerPublic, PublishedEpochs};
        macro_rules! frozen {
            ($name:literal) => {
                include_str!(concat!("../../fixtures/kyc/frozen/v2-stark/", $name))
            };
        }
        let proof = from_json("proof", frozen!("proof-stark.json")).ok()?;
        let epoch: assay_verifier::kyc::formats::Epoch =
            from_json("epoch", frozen!("epoch.json")).ok()?;
        let issuer: IssuerPublic = from_json("issuer", frozen!("issuer-public.json")).ok()?;
        let policy = from_json("policy", frozen!("policy.json")).ok()?;
        let challenge: Challenge = from_json("challenge", frozen!("challenge-stark.json")).ok()?;
        let now = assay_verifier::kyc::time::parse_rfc3339(&challenge.issued_at).ok()? + 1;
        let published = PublishedEpochs::verify(
            vec![("epoch.json".into(), epoch.clone())],
            &issuer.key().ok()?,
        )
        .ok()?;
        let f = StarkKycFixture {
            proof,
            epoch,
            published,
            issuer,
            policy,
            challenge,
            now,
        };
        // The frozen presentation itself must verify: otherwise every input is refused before
        // the verifier (a fixture out of date), and the target would fuzz nothing.
        assay_verifier::kyc::verify(
            &f.proof,
            &f.epoch,
            &f.published,
            &f.issuer,
            &f.policy,
            &f.challenge,
            f.now,
        )
        .ok()?;
        Some(f)
    })
    .as_ref()
}

/// The server's reading of a request body: the object check every handler makes, then the
/// backend's parse and verification, as `POST /v1/solvency/verify` does.
fn http_round(data: &[u8]) {
    use assay_server::{AppError, Backend};
    if AppError::require_object(data).is_ok() {
        let _ = server().verify_round(data);
    }
}

/// `POST /v1/solvency/inclusion`: `{"record": ..., "round": ...}`.
fn http_inclusion(data: &[u8]) {
    use assay_server::{AppError, Backend};
    if AppError::require_object(data).is_ok() {
        let _ = server().verify_inclusion(data);
    }
}

/// `POST /v1/kyc/verify`: `{"proof": ..., "epoch": ...}` against the fixture relying party,
/// whose challenge the store holds.
fn http_kyc(data: &[u8]) {
    use assay_server::{AppError, Backend};
    if AppError::require_object(data).is_ok() {
        if let Some(k) = kyc_fixture() {
            let _ = k.backend.verify_kyc(data, &k.store, &k.scope, k.now);
        }
    }
}

/// The solvency server backend, with the web fixture round's key manifest pinned.
fn server() -> &'static assay_server::AssayBackend {
    static S: OnceLock<assay_server::AssayBackend> = OnceLock::new();
    S.get_or_init(|| {
        let manifest = assay_verifier::groth16::KeyManifest::open(
            include_bytes!("../../web/fixtures/solvency/manifest.json"),
            "manifest",
        )
        .expect("the fixture manifest opens");
        assay_server::AssayBackend::default().with_trusted_keys(vec![manifest])
    })
}

/// The web fixtures' relying party: policy, issuer, one-epoch chain, challenge (issued in an
/// in-memory store), and the time the fixtures were made for.
struct KycFixture {
    settings: assay_server::backend::KycSettings,
    epoch: assay_verifier::kyc::formats::Epoch,
    challenge: assay_verifier::kyc::formats::Challenge,
    backend: assay_server::AssayBackend,
    store: assay_server::store::Store,
    scope: String,
    now: u64,
}

fn kyc_fixture() -> Option<&'static KycFixture> {
    static K: OnceLock<Option<KycFixture>> = OnceLock::new();
    K.get_or_init(|| {
        use assay_verifier::kyc::formats::{from_json, Challenge, PublishedEpochs};
        let policy =
            from_json("policy", include_str!("../../web/fixtures/kyc/policy.json")).ok()?;
        let issuer = from_json(
            "issuer",
            include_str!("../../web/fixtures/kyc/issuer-public.json"),
        )
        .ok()?;
        let epoch: assay_verifier::kyc::formats::Epoch =
            from_json("epoch", include_str!("../../web/fixtures/kyc/epoch.json")).ok()?;
        let challenge: Challenge = from_json(
            "challenge",
            include_str!("../../web/fixtures/kyc/challenge.json"),
        )
        .ok()?;
        let now: u64 = include_str!("../../web/fixtures/kyc/now.txt")
            .trim()
            .parse()
            .ok()?;
        let key = assay_verifier::kyc::formats::IssuerPublic::key(&issuer).ok()?;
        let published =
            PublishedEpochs::verify(vec![("epoch.json".into(), epoch.clone())], &key).ok()?;
        let settings = assay_server::backend::KycSettings {
            policy,
            issuer,
            published,
            epochs_dir: None,
        };
        let store = assay_server::store::Store::in_memory().ok()?;
        let proof_system = challenge.backend?;
        store
            .issue(
                &challenge.nonce,
                &challenge.scope,
                proof_system,
                now - 60,
                now + 3600,
            )
            .ok()?;
        Some(KycFixture {
            backend: assay_server::AssayBackend::with_kyc(settings.clone()),
            scope: challenge.scope.clone(),
            settings,
            epoch,
            challenge,
            store,
            now,
        })
    })
    .as_ref()
}
