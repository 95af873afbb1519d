//! `assay keys ...`: threshold Ed25519 keys (FROST, RFC 9591; `docs/custody.md`).
//!
//! Parses, calls `assay_custody`, formats. Exit codes: 0 ok or valid, 1 `verify` found the
//! signature invalid, 2 bad input (a share alone, a wrong passphrase, a locked vault, ...).

use super::{verdict, Failure};
use assay_custody::dkg::{self, DkgParams, DkgProgress};
use assay_custody::pkcs11::{self, Token, TokenEd25519Key};
use assay_custody::sign::{self, Ceremony, ShareSource, Signed};
use assay_custody::vault::{read_share_public, GroupPublicKey, VaultPolicy};
use assay_custody::{share_passphrase, KdfCost};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `assay keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// FROST distributed key generation, no dealer: all participants in this process, or one
    /// participant's next step with --participant I (run it again until it says finished).
    /// Leaves DIR/public-key.json and DIR/share-I.json (encrypted; passphrase from
    /// ASSAY_PASSPHRASE_I, ASSAY_PASSPHRASE or a prompt).
    Dkg(DkgArgs),
    /// Sign a file with two or more shares in this process; SIG.json holds an ordinary Ed25519
    /// signature by the group key. One share alone is refused.
    Sign(SignArgs),
    /// The signing ceremony between separate processes, over a shared folder.
    #[command(subcommand)]
    Ceremony(CeremonyCommand),
    /// Verify SIG.json on a file (Ed25519, ed25519-dalek). Exit 0 valid, 1 invalid.
    Verify(VerifyArgs),
    /// PKCS#11 tokens (HSMs; SoftHSM2 in tests): move a share into a token, plain Ed25519 keys
    /// inside a token (CKM_EDDSA).
    #[command(subcommand)]
    Hsm(HsmCommand),
}

/// The token to use: its module, and where its user PIN comes from.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The PKCS#11 module (shared library); default: $ASSAY_PKCS11_MODULE.
    /// SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long)]
    pkcs11_module: Option<PathBuf>,
    /// The environment variable holding the token's user PIN (default: ASSAY_PKCS11_PIN if
    /// set, else a prompt). A PIN is never a command-line argument.
    #[arg(long)]
    pin_env: Option<String>,
}

impl TokenArgs {
    fn module(&self) -> Result<PathBuf, Failure> {
        pkcs11::module_path(self.pkcs11_module.as_deref()).map_err(input)
    }
    fn pin(&self, token_label: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
        pkcs11::token_pin(self.pin_env.as_deref(), token_label).map_err(input)
    }
}

/// `assay keys hsm ...`.
#[derive(Debug, Subcommand)]
pub enum HsmCommand {
    /// Move a share from its encrypted file into a token: a new AES-256 key generated in the
    /// token (sensitive, not extractable) encrypts it; OUT (share-I.pkcs11.json) holds the
    /// ciphertext. The share is never written in plain text. The original file is kept:
    /// delete it (or store it offline) once OUT is in service.
    Import {
        /// The share file (share-I.json; passphrase from ASSAY_PASSPHRASE_I,
        /// ASSAY_PASSPHRASE or a prompt).
        #[arg(long)]
        share: PathBuf,
        /// The token's label.
        #[arg(long)]
        token_label: String,
        /// The AES key's label in the token (default: assay-share-I-<group key prefix>).
        #[arg(long)]
        key_label: Option<String>,
        /// The token share file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        token: TokenArgs,
        #[command(flatten)]
        lockout: LockoutArgs,
    },
    /// Generate a plain (non-threshold) Ed25519 key pair inside a token (private key
    /// sensitive, not extractable); OUT records where it is and its public key.
    Ed25519Keygen {
        /// The token's label.
        #[arg(long)]
        token_label: String,
        /// The key pair's label in the token.
        #[arg(long)]
        key_label: String,
        /// The key file to write (public data only; must not exist).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Sign a file with a token's Ed25519 key (CKM_EDDSA); SIG.json is checked by
    /// `assay keys verify`.
    Ed25519Sign {
        /// The key file written by ed25519-keygen.
        #[arg(long)]
        key: PathBuf,
        /// The file to sign.
        #[arg(long)]
        message: PathBuf,
        /// The signature file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        token: TokenArgs,
    },
}

/// `assay keys dkg`.
#[derive(Debug, Args)]
pub struct DkgArgs {
    /// Participants (shares) in all.
    #[arg(long, default_value_t = 3)]
    participants: u16,
    /// Shares needed to sign (at least 2).
    #[arg(long, default_value_t = 2)]
    threshold: u16,
    /// The output folder (shared between participants when --participant is given).
    #[arg(long)]
    out: PathBuf,
    /// Run only this participant's next step (1-based).
    #[arg(long)]
    participant: Option<u16>,
}

/// How long a vault locks after five failed unlocks.
#[derive(Debug, Args)]
pub struct LockoutArgs {
    /// Seconds a share stays locked after five failed unlocks (doubling on each further
    /// lock-out without a success).
    #[arg(long, default_value_t = 300)]
    lockout_secs: u64,
}

impl LockoutArgs {
    fn policy(&self) -> VaultPolicy {
        VaultPolicy {
            max_failures: 5,
            lockout: Duration::from_secs(self.lockout_secs),
        }
    }
}

/// `assay keys sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The file to sign (its bytes are the message).
    #[arg(long)]
    message: PathBuf,
    /// A share file (give it once per share; at least the threshold): an encrypted share
    /// (share-I.json) or a token share (share-I.pkcs11.json, see `assay keys hsm import`).
    #[arg(long = "share", required = true)]
    shares: Vec<PathBuf>,
    /// The signature file to write (must not exist).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    lockout: LockoutArgs,
    /// For token shares: the module and the PIN's source.
    #[command(flatten)]
    token: TokenArgs,
}

/// `assay keys ceremony ...`: each step is one process; the folder carries the rounds.
#[derive(Debug, Subcommand)]
pub enum CeremonyCommand {
    /// Signer, round 1: nonces sealed beside the share, commitments into the folder.
    Commit(SignerArgs),
    /// Coordinator: the signing package from every commitment in the folder.
    Prepare(CoordinatorArgs),
    /// Signer, round 2: check the package's message, use the nonces once, write the signature
    /// share.
    Respond(SignerArgs),
    /// Coordinator: check the signature shares (naming a cheater), aggregate, verify, write
    /// SIG.json.
    Aggregate {
        #[command(flatten)]
        c: CoordinatorArgs,
        /// The signature file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

/// A signer's step.
#[derive(Debug, Args)]
pub struct SignerArgs {
    /// The ceremony folder.
    #[arg(long)]
    ceremony: PathBuf,
    /// The file to sign.
    #[arg(long)]
    message: PathBuf,
    /// This signer's share file.
    #[arg(long)]
    share: PathBuf,
    #[command(flatten)]
    lockout: LockoutArgs,
}

/// A coordinator's step.
#[derive(Debug, Args)]
pub struct CoordinatorArgs {
    /// The ceremony folder.
    #[arg(long)]
    ceremony: PathBuf,
    /// The file to sign.
    #[arg(long)]
    message: PathBuf,
    /// The group's public-key.json.
    #[arg(long)]
    public_key: PathBuf,
}

/// `assay keys verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed file.
    #[arg(long)]
    message: PathBuf,
    /// SIG.json.
    #[arg(long)]
    signature: PathBuf,
    /// The group's public-key.json: the key the signature must be by (without it, the key
    /// named in SIG.json is only reported).
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn input(e: impl std::fmt::Display) -> Failure {
    Failure::Input(e.to_string())
}

fn read_message(p: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(p).map_err(|e| Failure::Input(format!("{}: {e}", p.display())))
}

fn pass_for_share(share: &Path) -> Result<zeroize::Zeroizing<String>, Failure> {
    if pkcs11::is_token_share(share) {
        return Err(Failure::Input(format!(
            "{}: a token share; the ceremony between processes takes encrypted share files \
             only for now: sign in one process with `assay keys sign --share ...`",
            share.display()
        )));
    }
    let (n, _) = read_share_public(share).map_err(input)?;
    share_passphrase(n, false).map_err(input)
}

/// Runs one `assay keys` subcommand.
///
/// # Errors
/// [`Failure::Reported`] when `verify` refuses (exit 1), [`Failure::Input`] otherwise (exit 2).
pub fn run(cmd: KeysCommand) -> Result<(), Failure> {
    match cmd {
        KeysCommand::Dkg(a) => {
            let p = DkgParams {
                participants: a.participants,
                threshold: a.threshold,
            };
            assay_custody::check_parameters(p.participants, p.threshold).map_err(input)?;
            if let Some(i) = a.participant {
                let pass = share_passphrase(
                    i,
                    !a.out.join("dkg").join(format!("state-{i}.json")).exists(),
                )
                .map_err(input)?;
                match dkg::step(&a.out, p, i, &pass, KdfCost::DEFAULT).map_err(input)? {
                    DkgProgress::Round1Published => println!(
                        "participant {i}: round 1 published; run again when every participant has published round 1"
                    ),
                    DkgProgress::Round2Published => println!(
                        "participant {i}: round 2 published; run again when every participant has published round 2"
                    ),
                    DkgProgress::Waiting { missing } => {
                        println!("participant {i}: waiting for:");
                        for m in missing {
                            println!("  {}", m.display());
                        }
                    }
                    DkgProgress::Finished {
                        group,
                        share,
                        fingerprint,
                    } => {
                        println!(
                            "participant {i}: share written to {}\ngroup public key: {}\ntranscript fingerprint (compare with every other participant): {fingerprint}",
                            share.display(),
                            group.public_key_hex()
                        );
                    }
                }
                return Ok(());
            }
            let mut passes = Vec::new();
            for i in 1..=p.participants {
                passes.push(share_passphrase(i, true).map_err(input)?);
            }
            let refs: Vec<&str> = passes.iter().map(|s| s.as_str()).collect();
            if refs.windows(2).all(|w| w[0] == w[1]) {
                eprintln!(
                    "warning: every share has the same passphrase; give each holder its own \
                     (ASSAY_PASSPHRASE_1, ASSAY_PASSPHRASE_2, ...)"
                );
            }
            let g = dkg::run_in_process(&a.out, p, &refs, KdfCost::DEFAULT).map_err(input)?;
            println!(
                "{}-of-{} group key generated without a dealer\ngroup public key: {}\npublic key file: {}",
                g.threshold,
                g.participants,
                g.public_key_hex(),
                a.out.join("public-key.json").display()
            );
            for i in 1..=p.participants {
                println!(
                    "  share {i}: {} (move it to its holder's place)",
                    a.out.join(format!("share-{i}.json")).display()
                );
            }
            Ok(())
        }
        KeysCommand::Sign(a) => {
            let message = read_message(&a.message)?;
            // Refuse a single share (or mixed groups) before asking any passphrase.
            let (_, numbers) = sign::check_share_files(&a.shares).map_err(input)?;
            let mut shares = Vec::new();
            for (path, n) in a.shares.iter().zip(numbers) {
                if pkcs11::is_token_share(path) {
                    let info = pkcs11::read_token_share(path).map_err(input)?;
                    shares.push(ShareSource::Token {
                        path: path.clone(),
                        module: a.token.module()?,
                        pin: a.token.pin(&info.token_label)?,
                    });
                } else {
                    shares.push(ShareSource::File {
                        path: path.clone(),
                        passphrase: share_passphrase(n, false).map_err(input)?,
                    });
                }
            }
            let s =
                sign::sign_with_sources(&shares, &message, a.lockout.policy()).map_err(input)?;
            s.write_new(&a.out).map_err(input)?;
            println!(
                "signed by participants {:?}; Ed25519 signature by {} written to {}",
                s.signers,
                hex::encode(s.public_key),
                a.out.display()
            );
            Ok(())
        }
        KeysCommand::Ceremony(c) => ceremony(c),
        KeysCommand::Hsm(c) => hsm(c),
        KeysCommand::Verify(a) => {
            let message = read_message(&a.message)?;
            let s = Signed::read(&a.signature).map_err(input)?;
            let result = (|| {
                if let Some(pk) = &a.public_key {
                    let g = GroupPublicKey::read(pk).map_err(|e| e.to_string())?;
                    if g.public_key != s.public_key {
                        return Err(format!(
                            "the signature names key {}, not the group key {}",
                            hex::encode(s.public_key),
                            g.public_key_hex()
                        ));
                    }
                }
                s.verify(&message).map_err(|e| e.to_string())?;
                Ok(
                    serde_json::json!({ "public_key": hex::encode(s.public_key), "signers": s.signers }),
                )
            })();
            verdict(a.json, result, "Ed25519 signature by the group key")
        }
    }
}

fn ceremony(c: CeremonyCommand) -> Result<(), Failure> {
    match c {
        CeremonyCommand::Commit(a) => {
            let message = read_message(&a.message)?;
            let pass = pass_for_share(&a.share)?;
            let i = sign::commit(
                &Ceremony::new(&a.ceremony),
                &a.share,
                &pass,
                a.lockout.policy(),
                &message,
                KdfCost::DEFAULT,
            )
            .map_err(input)?;
            println!(
                "participant {i}: commitments written to {}",
                a.ceremony.display()
            );
            Ok(())
        }
        CeremonyCommand::Prepare(a) => {
            let message = read_message(&a.message)?;
            let g = GroupPublicKey::read(&a.public_key).map_err(input)?;
            let signers =
                sign::prepare(&Ceremony::new(&a.ceremony), &g, &message).map_err(input)?;
            println!("signing package for participants {signers:?} written");
            Ok(())
        }
        CeremonyCommand::Respond(a) => {
            let message = read_message(&a.message)?;
            let pass = pass_for_share(&a.share)?;
            let i = sign::respond(
                &Ceremony::new(&a.ceremony),
                &a.share,
                &pass,
                a.lockout.policy(),
                &message,
            )
            .map_err(input)?;
            println!("participant {i}: signature share written");
            Ok(())
        }
        CeremonyCommand::Aggregate { c, out } => {
            let message = read_message(&c.message)?;
            let g = GroupPublicKey::read(&c.public_key).map_err(input)?;
            let s = sign::aggregate(&Ceremony::new(&c.ceremony), &g, &message).map_err(input)?;
            s.write_new(&out).map_err(input)?;
            println!(
                "signed by participants {:?}; signature written to {}",
                s.signers,
                out.display()
            );
            Ok(())
        }
    }
}

fn hsm(c: HsmCommand) -> Result<(), Failure> {
    match c {
        HsmCommand::Import {
            share,
            token_label,
            key_label,
            out,
            token,
            lockout,
        } => {
            let (n, _) = read_share_public(&share).map_err(input)?;
            if pkcs11::is_token_share(&share) {
                return Err(Failure::Input(format!(
                    "{}: already a token share",
                    share.display()
                )));
            }
            let t = Token::open(&token.module()?, &token_label).map_err(input)?;
            let pass = share_passphrase(n, false).map_err(input)?;
            let pin = token.pin(&token_label)?;
            let label = pkcs11::import_share(
                &share,
                &pass,
                lockout.policy(),
                &t,
                &pin,
                key_label.as_deref(),
                &out,
            )
            .map_err(input)?;
            println!(
                "share {n} sealed by key {label:?} in token {token_label:?}; written to {} and \
                 checked to open.\nThe encrypted file {} is still there: delete it, or keep it \
                 offline as a backup.",
                out.display(),
                share.display()
            );
            Ok(())
        }
        HsmCommand::Ed25519Keygen {
            token_label,
            key_label,
            out,
            token,
        } => {
            if out.exists() {
                return Err(Failure::Input(format!(
                    "{}: exists already; refusing to overwrite it",
                    out.display()
                )));
            }
            let t = Token::open(&token.module()?, &token_label).map_err(input)?;
            let pin = token.pin(&token_label)?;
            let k = pkcs11::ed25519_keygen(&t, &pin, &key_label).map_err(input)?;
            k.write_new(&out).map_err(input)?;
            println!(
                "Ed25519 key pair {key_label:?} generated in token {token_label:?} (private key \
                 not extractable)\npublic key: {}\nkey file: {}",
                k.public_key_hex(),
                out.display()
            );
            Ok(())
        }
        HsmCommand::Ed25519Sign {
            key,
            message,
            out,
            token,
        } => {
            let message = read_message(&message)?;
            let k = TokenEd25519Key::read(&key).map_err(input)?;
            if out.exists() {
                return Err(Failure::Input(format!(
                    "{}: exists already; refusing to overwrite it",
                    out.display()
                )));
            }
            let pin = token.pin(&k.token_label)?;
            let s = pkcs11::ed25519_signed(&token.module()?, &k, &pin, &message).map_err(input)?;
            s.write_new(&out).map_err(input)?;
            println!(
                "signed in token {:?} with CKM_EDDSA; Ed25519 signature by {} written to {}",
                k.token_label,
                k.public_key_hex(),
                out.display()
            );
            Ok(())
        }
    }
}
