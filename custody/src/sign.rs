//! Threshold signing (FROST, RFC 9591 section 5): `threshold` shares make one ordinary Ed25519
//! signature, verified with `ed25519-dalek` before it is returned.
//!
//! In one process: [`sign_in_process`]. Between separate processes, over a ceremony folder
//! `C` that the coordinator and the signers share (each signer's share stays on its machine):
//!
//! 1. each signer, [`commit`]: fresh nonces, sealed under its share's passphrase beside its
//!    share (`<share>.nonces.json`), and its public commitments to `C/commitments-I.json`;
//! 2. the coordinator, [`prepare`]: the signing package (message and every commitment found) to
//!    `C/signing-package.json`;
//! 3. each signer, [`respond`]: checks that the package's message is the one it means to sign
//!    and that its commitments are in it, removes its nonces file (nonces are used at most
//!    once, even if the process is then killed), and writes `C/signature-share-I.json`;
//! 4. the coordinator, [`aggregate`]: checks every signature share against the signer's
//!    verifying share (an invalid one is refused, naming the participant), aggregates, and
//!    verifies the result as plain Ed25519.
//!
//! A signer killed between steps leaves no signature: the ceremony is restarted with fresh
//! nonces (a stale nonces file is refused by [`commit`] until removed, see `docs/custody.md`).

use crate::files::{self, hex_exact, hex_vec, malformed, read_json};
use crate::vault::{open_share, GroupPublicKey, UnlockedShare, VaultPolicy};
use crate::{
    frost_error, identifier, verify_ed25519, CustodyError, KdfCost, CIPHERSUITE, FORMAT_VERSION,
};
use assay_prover::keystore::SealedSecret;
use frost_ed25519::round1::{SigningCommitments, SigningNonces};
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{CheaterDetection, Identifier, SigningPackage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const SIGNATURE_KIND: &str = "assay-ed25519-signature";
const COMMITMENTS_KIND: &str = "assay-frost-sign-commitments";
const NONCES_KIND: &str = "assay-frost-sign-nonces";
const SEALED_NONCES_KIND: &str = "assay-frost-signing-nonces";
const PACKAGE_KIND: &str = "assay-frost-signing-package";
const SHARE_KIND: &str = "assay-frost-signature-share";
const SIGNATURE_WHAT: &str = "signature file";
const COMMITMENTS_WHAT: &str = "commitments file";
const NONCES_WHAT: &str = "nonces file";
const PACKAGE_WHAT: &str = "signing package file";
const SHARE_WHAT: &str = "signature share file";

/// A finished threshold signature: an ordinary Ed25519 signature by the group key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The group's Ed25519 public key.
    pub public_key: [u8; 32],
    /// SHA-256 of the message signed.
    pub message_sha256: [u8; 32],
    /// The participants whose shares signed.
    pub signers: Vec<u16>,
    /// The Ed25519 signature (R ‖ s, 64 bytes, RFC 8032).
    pub signature: [u8; 64],
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    version: u32,
    kind: String,
    algorithm: String,
    public_key: String,
    message_sha256: String,
    signers: Vec<u16>,
    signature: String,
}

impl Signed {
    /// Writes `SIG.json` to a new file.
    ///
    /// # Errors
    /// [`CustodyError::Exists`], I/O.
    pub fn write_new(&self, path: &Path) -> Result<(), CustodyError> {
        let f = SignatureFile {
            version: FORMAT_VERSION,
            kind: SIGNATURE_KIND.into(),
            algorithm: "ed25519".into(),
            public_key: hex::encode(self.public_key),
            message_sha256: hex::encode(self.message_sha256),
            signers: self.signers.clone(),
            signature: hex::encode(self.signature),
        };
        files::write_new_json(path, &f, false)
    }

    /// Reads `SIG.json` (the format only; verify with [`Signed::verify`]).
    ///
    /// # Errors
    /// I/O, [`CustodyError::Malformed`].
    pub fn read(path: &Path) -> Result<Self, CustodyError> {
        let f: SignatureFile = read_json(path, SIGNATURE_WHAT)?;
        if f.version != FORMAT_VERSION || f.kind != SIGNATURE_KIND || f.algorithm != "ed25519" {
            return Err(malformed(
                path,
                SIGNATURE_WHAT,
                format!(
                    "expected version {FORMAT_VERSION}, kind {SIGNATURE_KIND}, algorithm ed25519"
                ),
            ));
        }
        Ok(Self {
            public_key: hex_exact(&f.public_key, path, SIGNATURE_WHAT, "public_key")?,
            message_sha256: hex_exact(&f.message_sha256, path, SIGNATURE_WHAT, "message_sha256")?,
            signers: f.signers,
            signature: hex_exact(&f.signature, path, SIGNATURE_WHAT, "signature")?,
        })
    }

    /// Verifies the signature on `message` with `ed25519-dalek`.
    ///
    /// # Errors
    /// [`CustodyError::Verification`].
    pub fn verify(&self, message: &[u8]) -> Result<(), CustodyError> {
        verify_ed25519(&self.public_key, message, &self.signature)
    }
}

pub(crate) fn sha256(m: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(m).into()
}

/// Aggregates, detecting every cheater, and verifies the result as plain Ed25519.
fn finish(
    group: &GroupPublicKey,
    package: &SigningPackage,
    shares: &BTreeMap<Identifier, SignatureShare>,
) -> Result<Signed, CustodyError> {
    let pkp = group.to_frost()?;
    let sig = frost_ed25519::aggregate_custom(package, shares, &pkp, CheaterDetection::AllCheaters)
        .map_err(|e| match frost_error(e, group.participants, "aggregate") {
            CustodyError::Dkg { reason, .. } => CustodyError::Signing(reason),
            other => other,
        })?;
    let bytes = sig
        .serialize()
        .map_err(|e| CustodyError::Signing(format!("signature: {e}")))?;
    let signature: [u8; 64] = bytes
        .try_into()
        .map_err(|_| CustodyError::Signing("signature: not 64 bytes".into()))?;
    let message = package.message();
    verify_ed25519(&group.public_key, message, &signature)?;
    let signers = shares
        .keys()
        .filter_map(|id| crate::participant_number(id, group.participants))
        .collect();
    Ok(Signed {
        public_key: group.public_key,
        message_sha256: sha256(message),
        signers,
        signature,
    })
}

fn check_signers(group: &GroupPublicKey, signers: &[u16]) -> Result<(), CustodyError> {
    let mut distinct = signers.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != signers.len() {
        return Err(CustodyError::Parameters(
            "the same share was given twice: each signer counts once".into(),
        ));
    }
    if distinct.len() < usize::from(group.threshold) {
        return Err(CustodyError::NotEnoughShares {
            given: distinct.len(),
            threshold: group.threshold,
        });
    }
    Ok(())
}

/// Signs `message` with unlocked shares in one process (both rounds, then aggregation).
///
/// # Errors
/// [`CustodyError::NotEnoughShares`] below the threshold; shares of different groups or the
/// same share twice ([`CustodyError::Parameters`]); frost's errors.
pub fn sign_in_process(shares: &[UnlockedShare], message: &[u8]) -> Result<Signed, CustodyError> {
    let group = match shares.first() {
        Some(s) => s.group.clone(),
        None => {
            return Err(CustodyError::NotEnoughShares {
                given: 0,
                threshold: 2,
            })
        }
    };
    if shares.iter().any(|s| s.group != group) {
        return Err(CustodyError::Parameters(
            "the shares belong to different group keys".into(),
        ));
    }
    let signers: Vec<u16> = shares.iter().map(|s| s.participant).collect();
    check_signers(&group, &signers)?;
    let mut rng = rand::rngs::OsRng;
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for s in shares {
        let (n, c) =
            frost_ed25519::round1::commit(crate::vault::signing_share(&s.key_package), &mut rng);
        let id = identifier(s.participant)?;
        nonces.insert(id, n);
        commitments.insert(id, c);
    }
    let package = SigningPackage::new(commitments, message);
    let mut sig_shares = BTreeMap::new();
    for s in shares {
        let id = identifier(s.participant)?;
        let share = frost_ed25519::round2::sign(&package, &nonces[&id], &s.key_package)
            .map_err(|e| CustodyError::Signing(format!("participant {}: {e}", s.participant)))?;
        sig_shares.insert(id, share);
    }
    finish(&group, &package, &sig_shares)
}

/// Checks share files before any passphrase is asked: one group, distinct participants, at
/// least the threshold. Returns the group and the participant number of each file.
///
/// # Errors
/// [`CustodyError::NotEnoughShares`], shares of different groups or the same participant
/// twice ([`CustodyError::Parameters`]), unreadable files.
pub fn check_share_files(paths: &[PathBuf]) -> Result<(GroupPublicKey, Vec<u16>), CustodyError> {
    let mut group: Option<GroupPublicKey> = None;
    let mut numbers = Vec::new();
    for p in paths {
        let (n, g) = crate::vault::read_share_public(p)?;
        match &group {
            Some(g0) if *g0 != g => {
                return Err(CustodyError::Parameters(format!(
                    "{}: belongs to another group key than the first share",
                    p.display()
                )))
            }
            _ => group = Some(g),
        }
        numbers.push(n);
    }
    let group = group.ok_or(CustodyError::NotEnoughShares {
        given: 0,
        threshold: 2,
    })?;
    check_signers(&group, &numbers)?;
    Ok((group, numbers))
}

/// Unlocks the share files (each with its passphrase, attempts counted) and signs `message`.
///
/// # Errors
/// As [`check_share_files`] (checked before any unlock), [`open_share`] and
/// [`sign_in_process`].
pub fn sign_with_share_files(
    shares: &[(PathBuf, Zeroizing<String>)],
    message: &[u8],
    policy: VaultPolicy,
) -> Result<Signed, CustodyError> {
    let paths: Vec<PathBuf> = shares.iter().map(|(p, _)| p.clone()).collect();
    check_share_files(&paths)?;
    let mut unlocked = Vec::new();
    for (path, pass) in shares {
        unlocked.push(open_share(path, pass, policy)?);
    }
    sign_in_process(&unlocked, message)
}

/// Where a share comes from when signing in one process: the encrypted keystore or a PKCS#11
/// token. The rest of FROST is the same for both; the signature is ordinary Ed25519.
pub enum ShareSource {
    /// A share file sealed under a passphrase (`share-I.json`, [`crate::vault`]); failed
    /// unlocks are counted.
    File {
        /// The share file.
        path: PathBuf,
        /// Its passphrase.
        passphrase: Zeroizing<String>,
    },
    /// A share file sealed by a token key (`share-I.pkcs11.json`, [`crate::pkcs11`]); the
    /// token decrypts it into memory only.
    Token {
        /// The token share file.
        path: PathBuf,
        /// The PKCS#11 module (shared library) that reaches the token.
        module: PathBuf,
        /// The token's user PIN.
        pin: Zeroizing<String>,
    },
}

impl std::fmt::Debug for ShareSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { path, .. } => f
                .debug_struct("File")
                .field("path", path)
                .finish_non_exhaustive(),
            Self::Token { path, module, .. } => f
                .debug_struct("Token")
                .field("path", path)
                .field("module", module)
                .finish_non_exhaustive(),
        }
    }
}

impl ShareSource {
    /// The share file's path.
    pub fn path(&self) -> &Path {
        match self {
            Self::File { path, .. } | Self::Token { path, .. } => path,
        }
    }

    /// Unlocks the share (in memory only).
    ///
    /// # Errors
    /// As [`open_share`] or [`crate::pkcs11::open_token_share`].
    pub fn open(&self, policy: VaultPolicy) -> Result<UnlockedShare, CustodyError> {
        match self {
            Self::File { path, passphrase } => open_share(path, passphrase, policy),
            Self::Token { path, module, pin } => crate::pkcs11::open_token_share(path, module, pin),
        }
    }
}

/// Unlocks shares from any source (keystore files, tokens) and signs `message` in one
/// process. The files are checked first (one group, distinct participants, at least the
/// threshold), before any passphrase or PIN is tried.
///
/// # Errors
/// As [`check_share_files`], [`ShareSource::open`] and [`sign_in_process`].
pub fn sign_with_sources(
    sources: &[ShareSource],
    message: &[u8],
    policy: VaultPolicy,
) -> Result<Signed, CustodyError> {
    let paths: Vec<PathBuf> = sources.iter().map(|s| s.path().to_path_buf()).collect();
    check_share_files(&paths)?;
    let mut unlocked = Vec::new();
    for s in sources {
        unlocked.push(s.open(policy)?);
    }
    sign_in_process(&unlocked, message)
}

/// The files of a signing ceremony folder.
#[derive(Debug, Clone)]
pub struct Ceremony {
    dir: PathBuf,
}

impl Ceremony {
    /// The ceremony in folder `dir` (shared between coordinator and signers).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
    /// `C/commitments-I.json`.
    pub fn commitments(&self, i: u16) -> PathBuf {
        self.dir.join(format!("commitments-{i}.json"))
    }
    /// `C/signing-package.json`.
    pub fn package(&self) -> PathBuf {
        self.dir.join("signing-package.json")
    }
    /// `C/signature-share-I.json`.
    pub fn signature_share(&self, i: u16) -> PathBuf {
        self.dir.join(format!("signature-share-{i}.json"))
    }
}

/// The sealed nonces' path for a share file (`<share>.nonces.json`).
pub fn nonces_path(share: &Path) -> PathBuf {
    let name = share
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    share.with_file_name(format!("{name}.nonces.json"))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitmentsFile {
    version: u32,
    kind: String,
    ciphersuite: String,
    participant: u16,
    group_public_key: String,
    message_sha256: String,
    commitments: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoncesFile {
    version: u32,
    kind: String,
    participant: u16,
    group_public_key: String,
    message_sha256: String,
    commitments: String,
    sealed: SealedSecret,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageFile {
    version: u32,
    kind: String,
    ciphersuite: String,
    group_public_key: String,
    message_sha256: String,
    signers: Vec<u16>,
    package: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareFile {
    version: u32,
    kind: String,
    ciphersuite: String,
    participant: u16,
    group_public_key: String,
    message_sha256: String,
    signature_share: String,
}

fn nonces_digest(
    participant: u16,
    group: &[u8; 32],
    msg: &[u8; 32],
    commitments: &[u8],
) -> [u8; 32] {
    files::digest(&[
        b"assay-frost-sign-nonces-v1",
        &participant.to_le_bytes(),
        group,
        msg,
        commitments,
    ])
}

/// Signing round 1 for the share at `share_path`: fresh nonces sealed beside the share, the
/// commitments to the ceremony folder. Returns the participant number.
///
/// # Errors
/// A nonces file beside the share exists already (a ceremony in progress or abandoned);
/// the share does not unlock; I/O.
pub fn commit(
    ceremony: &Ceremony,
    share_path: &Path,
    passphrase: &str,
    policy: VaultPolicy,
    message: &[u8],
    cost: KdfCost,
) -> Result<u16, CustodyError> {
    let npath = nonces_path(share_path);
    if npath.exists() {
        return Err(CustodyError::Parameters(format!(
            "{}: this share has committed to a ceremony already; finish it, or remove this file \
             to abandon it",
            npath.display()
        )));
    }
    let share = open_share(share_path, passphrase, policy)?;
    let i = share.participant;
    let cpath = ceremony.commitments(i);
    if cpath.exists() {
        return Err(CustodyError::Exists(cpath));
    }
    let mut rng = rand::rngs::OsRng;
    let (nonces, commitments) =
        frost_ed25519::round1::commit(crate::vault::signing_share(&share.key_package), &mut rng);
    let cbytes = commitments
        .serialize()
        .map_err(|e| CustodyError::Signing(format!("commitments: {e}")))?;
    let nbytes = Zeroizing::new(
        nonces
            .serialize()
            .map_err(|e| CustodyError::Signing(format!("nonces: {e}")))?,
    );
    let msg = sha256(message);
    let sealed = SealedSecret::seal(
        SEALED_NONCES_KIND,
        &nbytes,
        &nonces_digest(i, &share.group.public_key, &msg, &cbytes),
        passphrase,
        cost,
    )?;
    let nf = NoncesFile {
        version: FORMAT_VERSION,
        kind: NONCES_KIND.into(),
        participant: i,
        group_public_key: share.group.public_key_hex(),
        message_sha256: hex::encode(msg),
        commitments: hex::encode(&cbytes),
        sealed,
    };
    files::write_new_json(&npath, &nf, true)?;
    let cf = CommitmentsFile {
        version: FORMAT_VERSION,
        kind: COMMITMENTS_KIND.into(),
        ciphersuite: CIPHERSUITE.into(),
        participant: i,
        group_public_key: share.group.public_key_hex(),
        message_sha256: hex::encode(msg),
        commitments: hex::encode(&cbytes),
    };
    if let Err(e) = files::write_new_json(&cpath, &cf, false) {
        let _ = std::fs::remove_file(&npath);
        return Err(e);
    }
    Ok(i)
}

/// The coordinator's step: every commitments file in the ceremony folder for `group` and
/// `message` goes into the signing package. Returns the signers.
///
/// # Errors
/// [`CustodyError::NotEnoughShares`] below the threshold; a commitments file for another key
/// or message, or malformed; the package exists already.
pub fn prepare(
    ceremony: &Ceremony,
    group: &GroupPublicKey,
    message: &[u8],
) -> Result<Vec<u16>, CustodyError> {
    let msg = sha256(message);
    let mut commitments = BTreeMap::new();
    let mut signers = Vec::new();
    for i in 1..=group.participants {
        let path = ceremony.commitments(i);
        if !path.exists() {
            continue;
        }
        let f: CommitmentsFile = read_json(&path, COMMITMENTS_WHAT)?;
        if f.version != FORMAT_VERSION
            || f.kind != COMMITMENTS_KIND
            || f.ciphersuite != CIPHERSUITE
            || f.participant != i
        {
            return Err(malformed(
                &path,
                COMMITMENTS_WHAT,
                format!("expected participant {i}'s commitments"),
            ));
        }
        if f.group_public_key != group.public_key_hex() || f.message_sha256 != hex::encode(msg) {
            return Err(malformed(
                &path,
                COMMITMENTS_WHAT,
                "committed for another key or message",
            ));
        }
        let b = hex_vec(&f.commitments, &path, COMMITMENTS_WHAT, "commitments")?;
        let c = SigningCommitments::deserialize(&b)
            .map_err(|e| malformed(&path, COMMITMENTS_WHAT, format!("commitments: {e}")))?;
        commitments.insert(identifier(i)?, c);
        signers.push(i);
    }
    check_signers(group, &signers)?;
    let package = SigningPackage::new(commitments, message);
    let f = PackageFile {
        version: FORMAT_VERSION,
        kind: PACKAGE_KIND.into(),
        ciphersuite: CIPHERSUITE.into(),
        group_public_key: group.public_key_hex(),
        message_sha256: hex::encode(msg),
        signers: signers.clone(),
        package: hex::encode(
            package
                .serialize()
                .map_err(|e| CustodyError::Signing(format!("signing package: {e}")))?,
        ),
    };
    files::write_new_json(&ceremony.package(), &f, false)?;
    Ok(signers)
}

fn read_package(
    ceremony: &Ceremony,
    group: &GroupPublicKey,
    message: &[u8],
) -> Result<(SigningPackage, Vec<u16>), CustodyError> {
    let path = ceremony.package();
    let f: PackageFile = read_json(&path, PACKAGE_WHAT)?;
    if f.version != FORMAT_VERSION || f.kind != PACKAGE_KIND || f.ciphersuite != CIPHERSUITE {
        return Err(malformed(&path, PACKAGE_WHAT, "unknown version or kind"));
    }
    if f.group_public_key != group.public_key_hex() {
        return Err(malformed(&path, PACKAGE_WHAT, "for another group key"));
    }
    let b = hex_vec(&f.package, &path, PACKAGE_WHAT, "package")?;
    let package = SigningPackage::deserialize(&b)
        .map_err(|e| malformed(&path, PACKAGE_WHAT, format!("package: {e}")))?;
    if package.message().as_slice() != message || f.message_sha256 != hex::encode(sha256(message)) {
        return Err(CustodyError::Signing(format!(
            "{}: the signing package is for another message than the one given: refusing to sign",
            path.display()
        )));
    }
    let mut signers = Vec::new();
    for id in package.signing_commitments().keys() {
        signers.push(
            crate::participant_number(id, group.participants).ok_or_else(|| {
                malformed(&path, PACKAGE_WHAT, "commitments of an unknown participant")
            })?,
        );
    }
    if signers != f.signers {
        return Err(malformed(
            &path,
            PACKAGE_WHAT,
            "signers differ from the package's commitments",
        ));
    }
    check_signers(group, &signers)?;
    Ok((package, signers))
}

/// Signing round 2 for the share at `share_path`: checks the signing package against
/// `message` and this signer's commitments, consumes the nonces, writes the signature share.
///
/// # Errors
/// The package is for another message or key, lacks this signer's commitments, or is
/// malformed; no nonces (not committed, or already used); the share does not unlock.
pub fn respond(
    ceremony: &Ceremony,
    share_path: &Path,
    passphrase: &str,
    policy: VaultPolicy,
    message: &[u8],
) -> Result<u16, CustodyError> {
    let share = open_share(share_path, passphrase, policy)?;
    let i = share.participant;
    let (package, _) = read_package(ceremony, &share.group, message)?;
    let npath = nonces_path(share_path);
    if !npath.exists() {
        return Err(CustodyError::Signing(format!(
            "{}: no nonces: this share has not committed to this ceremony, or has signed already \
             (nonces are used once)",
            npath.display()
        )));
    }
    let nf: NoncesFile = read_json(&npath, NONCES_WHAT)?;
    let msg = sha256(message);
    let cbytes = hex_vec(&nf.commitments, &npath, NONCES_WHAT, "commitments")?;
    if nf.version != FORMAT_VERSION
        || nf.kind != NONCES_KIND
        || nf.participant != i
        || nf.group_public_key != share.group.public_key_hex()
        || nf.message_sha256 != hex::encode(msg)
        || nf.sealed.public_exact::<32>()
            != Some(nonces_digest(i, &share.group.public_key, &msg, &cbytes))
    {
        return Err(malformed(
            &npath,
            NONCES_WHAT,
            "not this share's nonces for this message",
        ));
    }
    let mine = SigningCommitments::deserialize(&cbytes)
        .map_err(|e| malformed(&npath, NONCES_WHAT, format!("commitments: {e}")))?;
    if package.signing_commitment(&identifier(i)?) != Some(mine) {
        return Err(CustodyError::Signing(format!(
            "the signing package does not carry participant {i}'s commitments from this ceremony"
        )));
    }
    let plain = nf.sealed.open(SEALED_NONCES_KIND, passphrase, &npath)?;
    let nonces = SigningNonces::deserialize(&plain)
        .map_err(|e| malformed(&npath, NONCES_WHAT, format!("nonces: {e}")))?;
    // Use the nonces at most once: gone from disk before any signature share exists.
    std::fs::remove_file(&npath).map_err(files::io(&npath))?;
    let sig_share = frost_ed25519::round2::sign(&package, &nonces, &share.key_package)
        .map_err(|e| CustodyError::Signing(format!("participant {i}: {e}")))?;
    let f = ShareFile {
        version: FORMAT_VERSION,
        kind: SHARE_KIND.into(),
        ciphersuite: CIPHERSUITE.into(),
        participant: i,
        group_public_key: share.group.public_key_hex(),
        message_sha256: hex::encode(msg),
        signature_share: hex::encode(sig_share.serialize()),
    };
    files::write_new_json(&ceremony.signature_share(i), &f, false)?;
    Ok(i)
}

/// The coordinator's last step: every signer's signature share, checked and aggregated into an
/// Ed25519 signature that is verified before it is returned.
///
/// # Errors
/// A missing signature share; [`CustodyError::InvalidSignatureShare`] naming the cheaters; a
/// package for another message; malformed files.
pub fn aggregate(
    ceremony: &Ceremony,
    group: &GroupPublicKey,
    message: &[u8],
) -> Result<Signed, CustodyError> {
    let (package, signers) = read_package(ceremony, group, message)?;
    let msg = hex::encode(sha256(message));
    let mut shares = BTreeMap::new();
    for i in signers {
        let path = ceremony.signature_share(i);
        if !path.exists() {
            return Err(CustodyError::Signing(format!(
                "{}: missing: participant {i} has not responded",
                path.display()
            )));
        }
        let f: ShareFile = read_json(&path, SHARE_WHAT)?;
        if f.version != FORMAT_VERSION
            || f.kind != SHARE_KIND
            || f.ciphersuite != CIPHERSUITE
            || f.participant != i
            || f.group_public_key != group.public_key_hex()
            || f.message_sha256 != msg
        {
            return Err(malformed(
                &path,
                SHARE_WHAT,
                format!("expected participant {i}'s share for this message"),
            ));
        }
        let b = hex_vec(&f.signature_share, &path, SHARE_WHAT, "signature_share")?;
        // An unparsable share is as much the sender's fault as a wrong one.
        let s = SignatureShare::deserialize(&b)
            .map_err(|_| CustodyError::InvalidSignatureShare { culprits: vec![i] })?;
        shares.insert(identifier(i)?, s);
    }
    finish(group, &package, &shares)
}
