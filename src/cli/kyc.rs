//! `assay kyc ...`: issuer, holder and relying party (DESIGN §2, `docs/kyc.md`).
//!
//! Parses, calls `assay_prover::kyc` and `assay_verifier::kyc`, formats. Exit codes: 0 ok or
//! valid, 1 `verify` found the presentation invalid, 2 bad input.

use super::{verdict, Failure};
use assay_circuits::{kyc::jurisdiction::Jurisdiction, Fr};
use assay_prover::dispatch::{kyc_prover, KycKeys};
use assay_prover::keystore::passphrase_from_env_or_prompt;
use assay_prover::kyc::{
    holder::{HolderFile, ProveInputs},
    issuer::{EpochSigner, Issuer, IssuerKeys},
    now_unix, read_doc, write_doc, write_private_doc, KycError,
};
use assay_rp::{ChallengeStore, DEFAULT_TTL_SECONDS};
use assay_verifier::groth16::{TrustedKeys, TrustedManifest};
use assay_verifier::kyc::{
    formats::{
        BackendMap, Challenge, Credential, Epoch, EpochLeaves, IssuerPublic, KycProof, Policy,
        PublishedEpochs, RegistryPath,
    },
    time, verify_with_options, KycOptions,
};
use assay_verifier::{halo2::ParamsCache, Backend};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// The default relying-party challenge store.
const DEFAULT_STORE: &str = "assay-rp.sqlite";

/// `assay kyc` subcommands.
#[derive(Debug, Subcommand)]
pub enum KycCommand {
    /// The issuer's directory.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// The holder's secret.
    #[command(subcommand)]
    Holder(HolderCommand),
    /// Issue a credential to a holder commitment (one registry transaction).
    Issue(IssueArgs),
    /// Revoke a credential (effective from the next published epoch).
    Revoke(RevokeArgs),
    /// Publish a signed epoch: the registry root, chained to the previous epoch.
    Publish(PublishArgs),
    /// A holder's registry path under the latest epoch: holders compute it from the published
    /// leaves (--leaves), asking nobody; --issuer is the issuer's own tool.
    Path(PathArgs),
    /// Relying party: issue a single-use challenge.
    Challenge(ChallengeArgs),
    /// Holder: prove residence outside the relying party's policy.
    Prove(ProveArgs),
    /// Relying party: verify a presentation (prints the nullifier when valid).
    Verify(VerifyArgs),
    /// An issuer's published epoch chain.
    #[command(subcommand)]
    Epochs(EpochsCommand),
}

/// `assay kyc epochs ...`.
#[derive(Debug, Subcommand)]
pub enum EpochsCommand {
    /// Check a whole published epoch chain: every `*.json` epoch in DIR signed by the issuer,
    /// numbers consecutive, each naming its predecessor's hash, no fork (two different epochs
    /// with one number). Exit 0 valid, 1 invalid (the reason names the epoch and files).
    Verify {
        /// The folder of published epochs (`kyc publish --chain DIR` writes it).
        dir: PathBuf,
        /// ISSUER_PUBLIC.json.
        #[arg(long)]
        issuer_key: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// `assay kyc issuer ...`.
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Create the encrypted signing key, the Groth16 keys and an empty registry in DIR
    /// (passphrase from ASSAY_PASSPHRASE or a prompt).
    Init {
        /// The issuer directory (created).
        #[arg(long)]
        dir: PathBuf,
        /// The issuer's name, signed into every epoch.
        #[arg(long, default_value = "assay-kyc-issuer")]
        id: String,
        /// The keys folder of a setup the issuer does not run alone
        /// (`assay solvency setup --kyc --out KEYS_DIR`): its signed manifest names the KYC
        /// circuit's Groth16 key, which is checked and copied into DIR/keys.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Make the KYC circuit's Groth16 keys here instead. INSECURE: whoever makes them can
        /// forge presentations for credentials in no registry; holders and relying parties
        /// that pin a setup's manifest refuse them. Prints a warning.
        #[arg(long, conflicts_with = "keys")]
        insecure_own_setup: bool,
    },
    /// Run the issuer as an HTTP service: roles (admin, auditor, holder) with API keys, a
    /// hash-chained audit log, TLS 1.3 only with --tls-cert (passphrase from ASSAY_PASSPHRASE
    /// or a prompt, checked before listening).
    Serve(super::issuer::ServeArgs),
    /// The issuer service's API keys (made here, shown once, stored as Argon2id hashes).
    #[command(subcommand)]
    Key(super::issuer::KeyCommand),
    /// The issuer service's audit log.
    #[command(subcommand)]
    Audit(super::issuer::AuditCommand),
    /// Hand the issuer's signing over to a new key, recorded in the epoch chain: the key in
    /// force signs the handover, the new key signs the epoch that carries it (a version 3
    /// epoch of the current registry, published like `kyc publish`); every later epoch must
    /// be signed by the new key. Relying parties keep the key they pinned.
    Rotate(RotateArgs),
}

/// `assay kyc issuer rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The issuer directory.
    #[arg(long)]
    dir: PathBuf,
    /// Why (recorded and signed: `scheduled`, `moved to a threshold group`, `suspected
    /// compromise`); at most 256 bytes.
    #[arg(long)]
    reason: String,
    /// Where to write the handover epoch (EPOCH.json).
    #[arg(long)]
    out: PathBuf,
    /// Also add the epoch to the published chain folder DIR (`DIR/epoch-<N>.json`).
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Also write the epoch's leaves here (LEAVES.json).
    #[arg(long)]
    leaves: Option<PathBuf>,
    /// The key in force is a threshold group: these of its shares (at least its threshold)
    /// sign the handover. Default: the keystore DIR/issuer-key.json (passphrase from
    /// ASSAY_PASSPHRASE or a prompt).
    #[arg(long = "old-share")]
    old_shares: Vec<PathBuf>,
    /// Hand over to a threshold group (`assay keys dkg`): these of its shares (at least its
    /// threshold) sign the handover epoch, proving the group holds the key; later epochs are
    /// published with `kyc publish --share ...`. Default: a new keystore key made in
    /// DIR/issuer-key.json (passphrase from ASSAY_NEW_PASSPHRASE or a prompt, asked twice;
    /// the old file is kept as issuer-key.retired-<N>.json: destroy it once the rotation is
    /// published).
    #[arg(long = "new-share")]
    new_shares: Vec<PathBuf>,
    /// Seconds a share stays locked after five failed unlocks (doubling on each further one).
    #[arg(long, default_value_t = 300)]
    lockout_secs: u64,
}

/// A threshold group's shares signing in this process (`assay-custody`): an ordinary
/// Ed25519 signature by the group key, verified before it is returned.
struct GroupSigner {
    key: ed25519_dalek::VerifyingKey,
    shares: Vec<(PathBuf, zeroize::Zeroizing<String>)>,
    policy: assay_custody::vault::VaultPolicy,
}

impl GroupSigner {
    /// Checks the share files (one group, distinct participants, at least the threshold)
    /// before any passphrase is asked, then asks each share's passphrase
    /// (`ASSAY_PASSPHRASE_<I>`, `ASSAY_PASSPHRASE`, or a prompt).
    fn new(paths: &[PathBuf], lockout_secs: u64) -> Result<Self, Failure> {
        let (group, numbers) = assay_custody::sign::check_share_files(paths)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&group.public_key)
            .map_err(|e| Failure::Input(format!("the group key: {e}")))?;
        let mut shares = Vec::new();
        for (p, n) in paths.iter().zip(numbers) {
            shares.push((p.clone(), assay_custody::share_passphrase(n, false)?));
        }
        Ok(Self {
            key,
            shares,
            policy: assay_custody::vault::VaultPolicy {
                max_failures: 5,
                lockout: std::time::Duration::from_secs(lockout_secs),
            },
        })
    }
}

impl EpochSigner for GroupSigner {
    fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key
    }
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], KycError> {
        let s = assay_custody::sign::sign_with_share_files(&self.shares, message, self.policy)
            .map_err(|e| KycError::Input(format!("threshold signing: {e}")))?;
        Ok(s.signature)
    }
}

/// Writes a freshly published epoch to `--out`, the chain folder and the leaves file.
fn write_published(
    issuer: &Issuer,
    epoch: &Epoch,
    out: &Path,
    chain: Option<&Path>,
    leaves: Option<&Path>,
) -> Result<(), Failure> {
    write_doc(out, epoch).map_err(input)?;
    if let Some(dir) = chain {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?;
        let file = dir.join(format!("epoch-{:08}.json", epoch.epoch));
        write_doc(&file, epoch).map_err(input)?;
        println!("epoch {} added to the chain {}", epoch.epoch, dir.display());
    }
    if let Some(l) = leaves {
        write_doc(l, &issuer.latest_leaves().map_err(input)?).map_err(input)?;
        println!("leaves of epoch {} written to {}", epoch.epoch, l.display());
    }
    Ok(())
}

fn rotate(a: RotateArgs) -> Result<(), Failure> {
    let mut issuer = Issuer::open(&a.dir).map_err(input)?;
    let now = now_unix();
    let epoch = match (a.old_shares.is_empty(), a.new_shares.is_empty()) {
        (true, true) => {
            let pass = passphrase_from_env_or_prompt("Issuer passphrase: ", false)?;
            let new_pass = new_passphrase()?;
            issuer
                .rotate_keystore(
                    &pass,
                    &new_pass,
                    assay_prover::keystore::KdfCost::DEFAULT,
                    &a.reason,
                    now,
                )
                .map_err(input)?
        }
        (true, false) => {
            let pass = passphrase_from_env_or_prompt("Issuer passphrase: ", false)?;
            let old = assay_prover::keystore::Keystore::open(
                &a.dir.join(assay_prover::kyc::issuer::KEYSTORE_FILE),
                &pass,
            )?;
            let new = GroupSigner::new(&a.new_shares, a.lockout_secs)?;
            issuer.rotate(&old, &new, &a.reason, now).map_err(input)?
        }
        (false, true) => {
            return Err(Failure::Input(
                "--old-share: a threshold group hands over to another group (--new-share); a \
                 group handing over to a single keystore key is not offered"
                    .into(),
            ))
        }
        (false, false) => {
            let old = GroupSigner::new(&a.old_shares, a.lockout_secs)?;
            let new = GroupSigner::new(&a.new_shares, a.lockout_secs)?;
            issuer.rotate(&old, &new, &a.reason, now).map_err(input)?
        }
    };
    write_published(
        &issuer,
        &epoch,
        &a.out,
        a.chain.as_deref(),
        a.leaves.as_deref(),
    )?;
    let h = epoch.handover.as_ref();
    println!(
        "key handover recorded in epoch {}: {} -> {} ({}); later epochs must be signed by the \
         new key; written to {}",
        epoch.epoch,
        h.map_or("-", |h| h.old_key.as_str()),
        h.map_or("-", |h| h.new_key.as_str()),
        a.reason,
        a.out.display()
    );
    Ok(())
}

/// The new keystore's passphrase: ASSAY_NEW_PASSPHRASE, else a prompt (asked twice) when
/// ASSAY_PASSPHRASE (the old key's) is not set either.
fn new_passphrase() -> Result<zeroize::Zeroizing<String>, Failure> {
    if let Ok(p) = std::env::var("ASSAY_NEW_PASSPHRASE") {
        if p.is_empty() {
            return Err(Failure::Input(
                "ASSAY_NEW_PASSPHRASE is set but empty".into(),
            ));
        }
        return Ok(zeroize::Zeroizing::new(p));
    }
    if std::env::var_os(assay_prover::keystore::PASSPHRASE_ENV).is_some() {
        return Err(Failure::Input(
            "the new key's passphrase: set ASSAY_NEW_PASSPHRASE too (ASSAY_PASSPHRASE is the \
             old key's)"
                .into(),
        ));
    }
    Ok(passphrase_from_env_or_prompt(
        "New issuer key passphrase: ",
        true,
    )?)
}

/// `assay kyc holder ...`.
#[derive(Debug, Subcommand)]
pub enum HolderCommand {
    /// Create a holder secret and print its public commitment.
    Init {
        /// Where to write HOLDER.json (a new file, readable by its owner only).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `assay kyc issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issuer directory.
    #[arg(long)]
    issuer: PathBuf,
    /// The holder's commitment (decimal, or hex with 0x).
    #[arg(long)]
    holder_commitment: String,
    /// The holder's Halo2 commitment (decimal, printed by `holder init`): the credential then
    /// also enters the Halo2 registry, so the holder can prove with `--backend halo2`.
    #[arg(long)]
    holder_commitment_halo2: Option<String>,
    /// The holder's STARK commitment (decimal, printed by `holder init` as `stark
    /// commitment`): the credential then also enters the STARK registry, so the holder can
    /// prove with `--backend stark`.
    #[arg(long)]
    holder_commitment_stark: Option<String>,
    /// ISO 3166-1 alpha-2 country (`UA`).
    #[arg(long)]
    country: String,
    /// ISO 3166-2 subdivision (`UA-30`); omit for a country-only credential.
    #[arg(long)]
    region: Option<String>,
    /// Expiry (RFC 3339): the credential is usable on UTC days before this one's day.
    #[arg(long)]
    expires: String,
    /// Where to write CREDENTIAL.json.
    #[arg(long)]
    out: PathBuf,
}

/// `assay kyc revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The issuer directory.
    #[arg(long)]
    issuer: PathBuf,
    /// The serial to revoke.
    #[arg(long)]
    serial: u64,
}

/// `assay kyc publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The issuer directory.
    #[arg(long)]
    issuer: PathBuf,
    /// Where to write EPOCH.json.
    #[arg(long)]
    out: PathBuf,
    /// Also write every leaf of the epoch here (LEAVES.json, public: holders compute their
    /// paths from it without revealing their serial).
    #[arg(long)]
    leaves: Option<PathBuf>,
    /// Also add the epoch to the published chain folder DIR (`DIR/epoch-<N>.json`): relying
    /// parties accept only epochs of this chain (`kyc verify --epochs DIR`).
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Sign with a threshold group (the key in force after `kyc issuer rotate --new-share`):
    /// these of its shares, at least its threshold (passphrases from ASSAY_PASSPHRASE_<I>,
    /// ASSAY_PASSPHRASE or prompts). Default: the keystore DIR/issuer-key.json.
    #[arg(long = "share")]
    shares: Vec<PathBuf>,
    /// Seconds a share stays locked after five failed unlocks (with --share).
    #[arg(long, default_value_t = 300)]
    lockout_secs: u64,
}

/// `assay kyc path`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["issuer", "leaves"])))]
pub struct PathArgs {
    /// The issuer directory (the issuer computes the path; a holder should not ask the issuer
    /// for one: an issuer could answer with an epoch made for that holder alone).
    #[arg(long)]
    issuer: Option<PathBuf>,
    /// Or a published LEAVES.json (the holder computes the path alone: the default way).
    #[arg(long)]
    leaves: Option<PathBuf>,
    /// The credential's serial.
    #[arg(long)]
    serial: u64,
    /// Where to write PATH.json.
    #[arg(long)]
    out: PathBuf,
}

/// `assay kyc challenge`.
#[derive(Debug, Args)]
pub struct ChallengeArgs {
    /// The relying party's scope (its stable name).
    #[arg(long)]
    scope: String,
    /// The one backend this scope accepts (`groth16`, `halo2` or `stark`): binds the scope on
    /// its first challenge; afterwards it may be omitted, and another backend is refused.
    #[arg(long)]
    backend: Option<String>,
    /// Where to write CHALLENGE.json.
    #[arg(long)]
    out: PathBuf,
    /// The relying party's challenge store (SQLite).
    #[arg(long, default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = DEFAULT_TTL_SECONDS)]
    ttl: i64,
}

/// `assay kyc prove`.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// HOLDER.json.
    #[arg(long)]
    holder: PathBuf,
    /// CREDENTIAL.json.
    #[arg(long)]
    credential: PathBuf,
    /// PATH.json.
    #[arg(long)]
    path: PathBuf,
    /// EPOCH.json.
    #[arg(long)]
    epoch: PathBuf,
    /// POLICY.json (the relying party's).
    #[arg(long)]
    policy: PathBuf,
    /// CHALLENGE.json.
    #[arg(long)]
    challenge: PathBuf,
    /// Where to write PROOF.json.
    #[arg(long)]
    out: PathBuf,
    /// The issuer's keys folder (`index.json`, `<hash>.pk`); default: `keys/` beside
    /// --issuer-key.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// ISSUER_PUBLIC.json: picks the proving key by its verifying-key hash.
    #[arg(long)]
    issuer_key: Option<PathBuf>,
    /// The scope of the relying party you are talking to (from the origin your wallet is
    /// connected to): a challenge naming another scope is refused before proving.
    #[arg(long)]
    expect_scope: String,
    /// Groth16: the setup's key manifest (`assay solvency setup --kyc`; repeatable). The
    /// issuer's proving key is used only if its verifying key is the KYC key a manifest names.
    #[arg(long)]
    trusted_keys: Vec<PathBuf>,
    /// Groth16: prove under the issuer's own key without a pinned manifest. INSECURE: an
    /// issuer that made its own keys can forge presentations. Prints a warning.
    #[arg(long, conflicts_with = "trusted_keys")]
    insecure_trust_issuer_keys: bool,
    /// The proof system: `groth16` (BN254, the issuer's keys), `halo2` (IPA over Pasta, no
    /// setup; its parameters are cached in --params-dir as `halo2-params-k<K>.bin`) or `stark`
    /// (Plonky3 over KoalaBear, no setup, no keys). Default: the backend the challenge names
    /// (`groth16` for a version 1 challenge); another one than the challenge's is refused.
    #[arg(long)]
    backend: Option<String>,
    /// Where Halo2 IPA parameters are cached (public and deterministic; shared with
    /// `assay solvency`): default `$ASSAY_PARAMS_DIR`, else `~/.cache/assay/halo2-params`.
    #[arg(long)]
    params_dir: Option<PathBuf>,
}

/// `assay kyc verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// PROOF.json.
    proof: PathBuf,
    /// EPOCH.json.
    #[arg(long)]
    epoch: PathBuf,
    /// The issuer's published epoch chain (a folder of EPOCH.json files, or one EPOCH.json):
    /// an epoch that is not in it is refused.
    #[arg(long)]
    epochs: PathBuf,
    /// POLICY.json.
    #[arg(long)]
    policy: PathBuf,
    /// CHALLENGE.json.
    #[arg(long)]
    challenge: PathBuf,
    /// ISSUER_PUBLIC.json (`issuer-public.json` of the issuer directory).
    #[arg(long)]
    issuer_key: PathBuf,
    /// The relying party's challenge store (SQLite): the nonce is spent on success.
    #[arg(long, default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Where Halo2 IPA parameters are cached for Halo2 proofs (shared with `assay solvency`):
    /// default `$ASSAY_PARAMS_DIR`, else `~/.cache/assay/halo2-params`; if the cache cannot be
    /// written they are generated in memory.
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Ignored (Halo2 parameters were cached in the issuer's keys folder before
    /// --params-dir); kept so that existing scripts still run.
    #[arg(long, hide = true)]
    keys: Option<PathBuf>,
    /// A Groth16 key manifest (`assay solvency setup --kyc`; repeatable): a Groth16
    /// presentation is valid only under the `kyc-groth16` key it names, not under a key the
    /// issuer made itself. Without one, Groth16 presentations are refused.
    #[arg(long)]
    trusted_keys: Vec<PathBuf>,
    /// Accept a Groth16 presentation under the issuer's own key. INSECURE: an issuer that made
    /// its own keys can forge presentations. Prints a warning.
    #[arg(long, conflicts_with = "trusted_keys")]
    insecure_trust_issuer_keys: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn input(e: KycError) -> Failure {
    Failure::Input(e.to_string())
}

fn rp_input(e: assay_rp::RpError) -> Failure {
    Failure::Input(e.to_string())
}

/// Parses a field element given as decimal or `0x`-hex (big-endian, canonical).
fn parse_commitment(s: &str) -> Result<Fr, Failure> {
    assay_verifier::field::parse_commitment(s, "--holder-commitment")
        .map_err(|e| Failure::Input(e.to_string()))
}

/// Runs one `assay kyc` subcommand.
///
/// # Errors
/// [`Failure::Invalid`] when `verify` refuses (exit 1), [`Failure::Input`] otherwise (exit 2).
pub fn run(cmd: KycCommand) -> Result<(), Failure> {
    match cmd {
        KycCommand::Issuer(IssuerCommand::Init {
            dir,
            id,
            keys,
            insecure_own_setup,
        }) => {
            let from = match &keys {
                Some(k) => IssuerKeys::Setup(k),
                None if !insecure_own_setup => {
                    return Err(Failure::Input(format!(
                        "{}: the KYC circuit's Groth16 keys must come from a setup the issuer \
                         does not run alone: give --keys KEYS_DIR (the folder of `assay \
                         solvency setup --kyc`), or knowingly --insecure-own-setup",
                        dir.display()
                    )))
                }
                None => {
                    eprintln!(
                        "WARNING: --insecure-own-setup: this issuer makes its own Groth16 keys \
                         and could forge presentations; holders and relying parties that pin a \
                         setup's manifest will refuse them"
                    );
                    IssuerKeys::InsecureOwnSetup
                }
            };
            let pass = passphrase_from_env_or_prompt("New issuer passphrase: ", true)?;
            println!("creating the issuer key and the KYC circuit's Groth16 keys ...");
            let issuer = Issuer::init(&dir, &id, &pass, from).map_err(input)?;
            println!(
                "issuer `{id}` created in {}\n  public file (give to relying parties): {}\n  keys folder (give to holders): {} (proving key {}.pk)",
                dir.display(),
                dir.join(assay_prover::kyc::issuer::PUBLIC_FILE).display(),
                issuer.keys_dir().display(),
                issuer.public().vk_hash
            );
            Ok(())
        }
        KycCommand::Issuer(IssuerCommand::Serve(a)) => super::issuer::serve(a),
        KycCommand::Issuer(IssuerCommand::Key(c)) => super::issuer::key(c),
        KycCommand::Issuer(IssuerCommand::Audit(c)) => super::issuer::audit(c),
        KycCommand::Issuer(IssuerCommand::Rotate(a)) => rotate(a),
        KycCommand::Holder(HolderCommand::Init { out }) => {
            let h = HolderFile::generate().map_err(input)?;
            write_private_doc(&out, &h).map_err(input)?;
            println!(
                "holder secret written to {} (keep it private)",
                out.display()
            );
            for (b, c) in &h.commitments {
                match b {
                    Backend::Groth16 => println!("commitment: {c}"),
                    other => println!("{} commitment: {c}", other.short()),
                }
            }
            Ok(())
        }
        KycCommand::Issue(a) => {
            let mut commitments = BackendMap::from([(
                Backend::Groth16,
                assay_circuits::field::to_decimal(&parse_commitment(&a.holder_commitment)?),
            )]);
            if let Some(h) = a.holder_commitment_halo2 {
                commitments.insert(Backend::Halo2, h);
            }
            if let Some(s) = a.holder_commitment_stark {
                commitments.insert(Backend::Stark, s);
            }
            let jur = Jurisdiction::from_country_region(&a.country, a.region.as_deref())
                .map_err(|e| Failure::Input(format!("--country/--region: {e}")))?;
            let expires = time::parse_rfc3339(&a.expires)
                .map_err(|e| Failure::Input(format!("--expires: {e}")))?;
            let expiry_day = u64::try_from(time::day_of(expires))
                .map_err(|_| Failure::Input("--expires: before 1970".into()))?;
            let mut issuer = Issuer::open(&a.issuer).map_err(input)?;
            let cred = issuer
                .issue(&commitments, jur, expiry_day, now_unix())
                .map_err(input)?;
            write_doc(&a.out, &cred).map_err(input)?;
            println!(
                "issued credential {} ({}, expiry day {}) to {}; publish an epoch to make it usable",
                cred.serial,
                cred.jurisdiction,
                cred.expiry_day,
                a.out.display()
            );
            Ok(())
        }
        KycCommand::Revoke(a) => {
            let mut issuer = Issuer::open(&a.issuer).map_err(input)?;
            issuer.revoke(a.serial).map_err(input)?;
            println!(
                "revoked credential {}; effective from the next published epoch",
                a.serial
            );
            Ok(())
        }
        KycCommand::Publish(a) => {
            let mut issuer = Issuer::open(&a.issuer).map_err(input)?;
            let epoch = if a.shares.is_empty() {
                let pass = passphrase_from_env_or_prompt("Issuer passphrase: ", false)?;
                issuer.publish(&pass, now_unix()).map_err(input)?
            } else {
                let group = GroupSigner::new(&a.shares, a.lockout_secs)?;
                issuer.publish_with(&group, now_unix()).map_err(input)?
            };
            write_published(
                &issuer,
                &epoch,
                &a.out,
                a.chain.as_deref(),
                a.leaves.as_deref(),
            )?;
            println!(
                "published epoch {} (root {}) to {}",
                epoch.epoch,
                epoch.root_for(Backend::Groth16).unwrap_or("-"),
                a.out.display()
            );
            Ok(())
        }
        KycCommand::Path(a) => {
            let path = match (&a.issuer, &a.leaves) {
                (Some(dir), _) => Issuer::open(dir)
                    .map_err(input)?
                    .path(a.serial)
                    .map_err(input)?,
                (None, Some(file)) => {
                    let leaves: EpochLeaves = read_doc(file, "leaves").map_err(input)?;
                    leaves
                        .path(a.serial)
                        .map_err(|e| Failure::Input(format!("{}: {e}", file.display())))?
                }
                (None, None) => {
                    return Err(Failure::Input("pass --issuer DIR or --leaves FILE".into()))
                }
            };
            write_doc(&a.out, &path).map_err(input)?;
            println!(
                "path of credential {} written to {}",
                a.serial,
                a.out.display()
            );
            Ok(())
        }
        KycCommand::Challenge(a) => {
            let store = ChallengeStore::open(&a.store, true).map_err(rp_input)?;
            let backend = a.backend.as_deref().map(parse_backend).transpose()?;
            let ch = store
                .issue(&a.scope, backend, a.ttl, now_unix())
                .map_err(rp_input)?;
            write_doc(&a.out, &ch).map_err(input)?;
            println!(
                "challenge for scope `{}` ({} only, expires {}) written to {}",
                ch.scope,
                ch.backend.map_or("any backend", Backend::name),
                ch.expires_at,
                a.out.display()
            );
            Ok(())
        }
        KycCommand::Prove(a) => prove(a),
        KycCommand::Verify(a) => verify_cmd(a),
        KycCommand::Epochs(EpochsCommand::Verify {
            dir,
            issuer_key,
            json,
        }) => {
            let issuer: IssuerPublic = read_doc(&issuer_key, "issuer key").map_err(input)?;
            let key = issuer
                .key()
                .map_err(|e| Failure::Input(format!("{}: {e}", issuer_key.display())))?;
            let epochs = read_epochs(&dir)?;
            let n = epochs.len();
            let result = PublishedEpochs::verify(epochs, &key).map_err(|e| e.to_string());
            let text = result
                .as_ref()
                .map(|c| {
                    let (first, last) = c.range();
                    let handovers = c.schedule().handover_epochs();
                    let rotated = if handovers.is_empty() {
                        String::new()
                    } else {
                        format!("; key handovers at epochs {handovers:?}")
                    };
                    format!(
                        "epochs {first}..={last} of `{}`: one unbroken signed chain ({n} files){rotated}",
                        issuer.issuer_id
                    )
                })
                .unwrap_or_default();
            verdict(
                json,
                result.map(|c| {
                    let (first, last) = c.range();
                    let keys: Vec<String> = c
                        .schedule()
                        .keys()
                        .iter()
                        .map(|k| hex::encode(k.as_bytes()))
                        .collect();
                    serde_json::json!({
                        "first": first,
                        "last": last,
                        "epochs": c.len(),
                        "handovers": c.schedule().handover_epochs(),
                        "keys": keys,
                    })
                }),
                &text,
            )
        }
    }
}

fn parse_backend(name: &str) -> Result<Backend, Failure> {
    Backend::parse(name)
        .map_err(|e| Failure::Input(format!("--backend: {e} (groth16, halo2 or stark)")))
}

/// The published epochs of `path`: every `*.json` of a folder (each named by its file), or
/// one EPOCH.json.
fn read_epochs(path: &Path) -> Result<Vec<(String, Epoch)>, Failure> {
    let io = |e: std::io::Error| Failure::Input(format!("{}: {e}", path.display()));
    if !path.is_dir() {
        let e: Epoch = read_doc(path, "epoch").map_err(input)?;
        return Ok(vec![(path.display().to_string(), e)]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let file = entry.map_err(io)?.path();
        if file.extension().is_some_and(|x| x == "json") {
            let e: Epoch = read_doc(&file, "epoch").map_err(input)?;
            out.push((file.display().to_string(), e));
        }
    }
    if out.is_empty() {
        return Err(Failure::Input(format!(
            "{}: no epoch (*.json) in the published chain folder",
            path.display()
        )));
    }
    Ok(out)
}

fn prove(a: ProveArgs) -> Result<(), Failure> {
    let holder: HolderFile = read_doc(&a.holder, "holder").map_err(input)?;
    let credential: Credential = read_doc(&a.credential, "credential").map_err(input)?;
    let path: RegistryPath = read_doc(&a.path, "path").map_err(input)?;
    let epoch: Epoch = read_doc(&a.epoch, "epoch").map_err(input)?;
    let policy: Policy = read_doc(&a.policy, "policy").map_err(input)?;
    let challenge: Challenge = read_doc(&a.challenge, "challenge").map_err(input)?;
    let issuer: Option<IssuerPublic> = match &a.issuer_key {
        Some(p) => Some(read_doc(p, "issuer key").map_err(input)?),
        None => None,
    };
    let backend = match (&a.backend, challenge.backend) {
        (Some(name), _) => parse_backend(name)?,
        (None, Some(b)) => b,
        (None, None) => Backend::Groth16,
    };
    let keys_dir = match (&a.keys, &a.issuer_key) {
        (Some(k), _) => Some(k.clone()),
        (None, Some(p)) => Some(p.parent().unwrap_or(Path::new(".")).join("keys")),
        (None, None) => None,
    };
    let inputs = ProveInputs {
        holder: &holder,
        credential: &credential,
        path: &path,
        epoch: &epoch,
        policy: &policy,
        challenge: &challenge,
        expected_scope: &a.expect_scope,
    };
    let pinned = a
        .trusted_keys
        .iter()
        .map(|p| super::solvency::read_manifest(p))
        .collect::<Result<Vec<_>, _>>()?;
    let start = std::time::Instant::now();
    let prover = kyc_prover(
        backend,
        &KycKeys {
            keys_dir: keys_dir.as_deref(),
            issuer: issuer.as_ref(),
            params_dir: a.params_dir.as_deref(),
            trusted: if backend == Backend::Groth16 {
                trust_rule(a.insecure_trust_issuer_keys, &pinned)
            } else {
                TrustedKeys::default()
            },
        },
    )
    .map_err(input)?;
    let proof = prover.prove(&inputs, now_unix()).map_err(input)?;
    write_doc(&a.out, &proof).map_err(input)?;
    println!(
        "proof for scope `{}` under policy `{}` written to {} ({:.2} s)",
        challenge.scope,
        policy.name,
        a.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Verifies with the backend the proof names; Halo2 parameters come from the parameters
/// cache (written on first use) or, if it cannot be used, from memory.
#[allow(clippy::too_many_arguments)]
fn verify_any(
    a: &VerifyArgs,
    proof: &KycProof,
    epoch: &Epoch,
    published: &PublishedEpochs,
    issuer: &IssuerPublic,
    policy: &Policy,
    challenge: &Challenge,
    now: i64,
) -> Result<assay_verifier::kyc::VerifiedPresentation, assay_verifier::kyc::KycVerifyError> {
    let cache = ParamsCache::at(a.params_dir.clone()).best_effort();
    let pinned = a
        .trusted_keys
        .iter()
        .map(|p| super::solvency::read_manifest(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| assay_verifier::kyc::KycVerifyError::UntrustedKey(format!("{e:?}")))?;
    let opts = KycOptions {
        halo2_params: Some(&cache),
        groth16_keys: trust_rule(a.insecure_trust_issuer_keys, &pinned),
        ..KycOptions::default()
    };
    verify_with_options(
        proof, epoch, published, issuer, policy, challenge, now, &opts,
    )
}

/// The Groth16 KYC key rule of `--trusted-keys` / `--insecure-trust-issuer-keys`.
fn trust_rule(insecure: bool, pinned: &[TrustedManifest]) -> TrustedKeys<'_> {
    if insecure {
        eprintln!(
            "WARNING: --insecure-trust-issuer-keys: the issuer's own Groth16 key is trusted; an \
             issuer that made its keys can forge presentations"
        );
        TrustedKeys::InsecureBundleKeys
    } else {
        TrustedKeys::Manifests(pinned)
    }
}

fn verify_cmd(a: VerifyArgs) -> Result<(), Failure> {
    // A pinned manifest that cannot be read or whose signature fails is bad input (exit 2).
    for p in &a.trusted_keys {
        super::solvency::read_manifest(p)?;
    }
    let proof: KycProof = read_doc(&a.proof, "proof").map_err(input)?;
    let epoch: Epoch = read_doc(&a.epoch, "epoch").map_err(input)?;
    let policy: Policy = read_doc(&a.policy, "policy").map_err(input)?;
    let challenge: Challenge = read_doc(&a.challenge, "challenge").map_err(input)?;
    let issuer: IssuerPublic = read_doc(&a.issuer_key, "issuer key").map_err(input)?;
    let key = issuer
        .key()
        .map_err(|e| Failure::Input(format!("{}: {e}", a.issuer_key.display())))?;
    let published = PublishedEpochs::verify(read_epochs(&a.epochs)?, &key)
        .map_err(|e| Failure::Input(format!("{}: {e}", a.epochs.display())))?;
    let store = ChallengeStore::open(&a.store, false).map_err(rp_input)?;
    let now = now_unix();
    let result: Result<assay_verifier::kyc::VerifiedPresentation, String> =
        match store.check(&challenge, now) {
            Err(m) => Err(format!("challenge: {m}")),
            Ok(()) => match verify_any(
                &a, &proof, &epoch, &published, &issuer, &policy, &challenge, now,
            ) {
                Err(e) if e.is_bad_input() => {
                    return Err(Failure::Input(format!("{}: {e}", a.proof.display())))
                }
                Err(e) => Err(e.to_string()),
                Ok(ok) => store
                    .consume(&ok.nonce, &ok.scope, ok.backend, &ok.nullifier, false, now)
                    .map(|_| ok)
                    .map_err(|m| format!("challenge: {m}")),
            },
        };
    let text = result
        .as_ref()
        .map(|ok| {
            format!(
                "nullifier {} (scope `{}`, epoch {}, policy `{}`)",
                ok.nullifier, ok.scope, ok.epoch, ok.policy
            )
        })
        .unwrap_or_default();
    verdict(
        a.json,
        result.map(|ok| {
            serde_json::json!({
                "nullifier": ok.nullifier,
                "scope": ok.scope,
                "issuer_id": ok.issuer_id,
                "epoch": ok.epoch,
                "policy": ok.policy,
                "today": ok.today,
            })
        }),
        &text,
    )
}
