//! Distributed key generation without a dealer (FROST, RFC 9591 appendix C / frost's `dkg`).
//!
//! Every participant runs three steps, each with [`step`]; between steps the participants'
//! packages travel as files in a shared folder `DIR/dkg/`:
//!
//! 1. `round1-I.json` (public): frost's round-1 package (commitments to I's polynomial and a
//!    proof of knowledge of its constant term) and a fresh X25519-style encryption key (an
//!    Edwards point) for round 2.
//! 2. `round2-I-to-J.json` (confidential): I's secret share for J, AES-256-GCM encrypted under a
//!    key derived from a Diffie–Hellman exchange between I's and J's round-1 encryption keys.
//!    Without this encryption anyone who can read the folder would learn every share.
//! 3. Each participant checks the shares it received against the round-1 commitments (frost's
//!    `part3`), writes its own encrypted share `DIR/share-I.json` and `DIR/public-key.json`.
//!
//! Between steps, a participant's secrets (polynomial, encryption key) live in
//! `DIR/dkg/state-I.json`, sealed under that participant's passphrase; it is removed at the
//! end. A participant checks, at each step, that its own round-1 file is still the one it
//! published, and that the round-1 files have not changed between its steps; the
//! [`DkgProgress::Finished`] fingerprint lets the participants confirm out of band that they
//! all saw the same round-1 packages (the folder itself authenticates nothing).
//!
//! [`run_in_process`] runs all participants' steps in one process over the same files.

use crate::files::{self, hex_exact, hex_vec, malformed, read_json};
use crate::vault::{write_share, GroupPublicKey};
use crate::{
    check_parameters, frost_error, identifier, CustodyError, KdfCost, CIPHERSUITE, FORMAT_VERSION,
};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use assay_prover::keystore::SealedSecret;
use frost_ed25519::keys::dkg as fdkg;
use frost_ed25519::{Ed25519Group, Ed25519ScalarField, Field, Group, Identifier};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const ROUND1_KIND: &str = "assay-frost-dkg-round1";
const ROUND2_KIND: &str = "assay-frost-dkg-round2";
const STATE_KIND: &str = "assay-frost-dkg-state";
const SEALED_STATE_KIND: &str = "assay-frost-dkg-secret-state";
const ROUND1_WHAT: &str = "DKG round-1 file";
const ROUND2_WHAT: &str = "DKG round-2 file";
const STATE_WHAT: &str = "DKG state file";

/// The DKG's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DkgParams {
    /// Participants (shares) in all.
    pub participants: u16,
    /// Shares needed to sign.
    pub threshold: u16,
}

/// Where a participant stands after a [`step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DkgProgress {
    /// Round 1 published; wait for the others' round-1 files, then step again.
    Round1Published,
    /// Round 2 published; wait for the others' round-2 files, then step again.
    Round2Published,
    /// Nothing to do yet: the files named are missing.
    Waiting {
        /// The files awaited.
        missing: Vec<PathBuf>,
    },
    /// The share is written.
    Finished {
        /// The group public key.
        group: GroupPublicKey,
        /// The share file written.
        share: PathBuf,
        /// SHA-256 (hex) over all round-1 packages: equal for every honest participant.
        fingerprint: String,
    },
}

/// Where the files live.
#[derive(Debug, Clone)]
pub struct DkgLayout {
    dir: PathBuf,
}

impl DkgLayout {
    /// The layout under the output folder `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
    fn work(&self) -> PathBuf {
        self.dir.join("dkg")
    }
    /// `DIR/dkg/round1-I.json`.
    pub fn round1(&self, i: u16) -> PathBuf {
        self.work().join(format!("round1-{i}.json"))
    }
    /// `DIR/dkg/round2-I-to-J.json`.
    pub fn round2(&self, from: u16, to: u16) -> PathBuf {
        self.work().join(format!("round2-{from}-to-{to}.json"))
    }
    /// `DIR/dkg/state-I.json`.
    pub fn state(&self, i: u16) -> PathBuf {
        self.work().join(format!("state-{i}.json"))
    }
    /// `DIR/share-I.json`.
    pub fn share(&self, i: u16) -> PathBuf {
        self.dir.join(format!("share-{i}.json"))
    }
    /// `DIR/public-key.json`.
    pub fn public_key(&self) -> PathBuf {
        self.dir.join("public-key.json")
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Round1File {
    version: u32,
    kind: String,
    ciphersuite: String,
    participant: u16,
    threshold: u16,
    participants: u16,
    /// frost's round-1 package, serialized (hex).
    package: String,
    /// The Edwards point round-2 shares for this participant are encrypted to (hex).
    encryption_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Round2File {
    version: u32,
    kind: String,
    ciphersuite: String,
    from: u16,
    to: u16,
    threshold: u16,
    participants: u16,
    nonce: String,
    ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    kind: String,
    participant: u16,
    threshold: u16,
    participants: u16,
    round: u8,
    sealed: SealedSecret,
}

/// The sealed part of the state (secret).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretState {
    /// The Diffie–Hellman scalar (hex).
    encryption_secret: String,
    /// frost's secret package of the current round (hex).
    secret_package: String,
    /// Our round-1 file as published (its JSON text).
    round1: String,
    /// The digest of every round-1 package seen at round 2 (hex; empty at round 1).
    round1_digest: String,
}

struct Round1Seen {
    package: fdkg::round1::Package,
    encryption_key: [u8; 32],
}

fn state_digest(p: DkgParams, i: u16, round: u8) -> [u8; 32] {
    files::digest(&[
        b"assay-frost-dkg-state-v1",
        &i.to_le_bytes(),
        &p.threshold.to_le_bytes(),
        &p.participants.to_le_bytes(),
        &[round],
    ])
}

fn write_state(
    path: &Path,
    p: DkgParams,
    i: u16,
    round: u8,
    secret: &SecretState,
    passphrase: &str,
    cost: KdfCost,
) -> Result<(), CustodyError> {
    let plain = Zeroizing::new(files::to_json(secret)?);
    let sealed = SealedSecret::seal(
        SEALED_STATE_KIND,
        &plain,
        &state_digest(p, i, round),
        passphrase,
        cost,
    )?;
    let f = StateFile {
        version: FORMAT_VERSION,
        kind: STATE_KIND.into(),
        participant: i,
        threshold: p.threshold,
        participants: p.participants,
        round,
        sealed,
    };
    files::replace_private(path, &files::to_json(&f)?)
}

fn read_state(
    path: &Path,
    p: DkgParams,
    i: u16,
    passphrase: &str,
) -> Result<(u8, SecretState), CustodyError> {
    let f: StateFile = read_json(path, STATE_WHAT)?;
    if f.version != FORMAT_VERSION
        || f.kind != STATE_KIND
        || f.participant != i
        || f.threshold != p.threshold
        || f.participants != p.participants
        || !(f.round == 1 || f.round == 2)
    {
        return Err(malformed(
            path,
            STATE_WHAT,
            format!(
                "not the state of participant {i} in a {}-of-{} DKG",
                p.threshold, p.participants
            ),
        ));
    }
    if f.sealed.public_exact::<32>() != Some(state_digest(p, i, f.round)) {
        return Err(malformed(
            path,
            STATE_WHAT,
            "header does not match its sealed part",
        ));
    }
    let plain = f.sealed.open(SEALED_STATE_KIND, passphrase, path)?;
    let s: SecretState = serde_json::from_slice(&plain)
        .map_err(|e| malformed(path, STATE_WHAT, format!("sealed part: {e}")))?;
    Ok((f.round, s))
}

fn read_round1(path: &Path, p: DkgParams, j: u16) -> Result<Round1Seen, CustodyError> {
    let f: Round1File = read_json(path, ROUND1_WHAT)?;
    if f.version != FORMAT_VERSION
        || f.kind != ROUND1_KIND
        || f.ciphersuite != CIPHERSUITE
        || f.participant != j
        || f.threshold != p.threshold
        || f.participants != p.participants
    {
        return Err(malformed(
            path,
            ROUND1_WHAT,
            format!(
                "expected version {FORMAT_VERSION}, kind {ROUND1_KIND}, participant {j} of a {}-of-{} DKG",
                p.threshold, p.participants
            ),
        ));
    }
    let bytes = hex_vec(&f.package, path, ROUND1_WHAT, "package")?;
    let package = fdkg::round1::Package::deserialize(&bytes)
        .map_err(|e| malformed(path, ROUND1_WHAT, format!("package: {e}")))?;
    let coefficients = package
        .commitment()
        .serialize()
        .map(|c| c.len())
        .unwrap_or(0);
    if coefficients != usize::from(p.threshold) {
        return Err(malformed(
            path,
            ROUND1_WHAT,
            "package: commitment of another threshold",
        ));
    }
    let encryption_key = hex_exact::<32>(&f.encryption_key, path, ROUND1_WHAT, "encryption_key")?;
    Ed25519Group::deserialize(&encryption_key)
        .map_err(|e| malformed(path, ROUND1_WHAT, format!("encryption_key: {e}")))?;
    Ok(Round1Seen {
        package,
        encryption_key,
    })
}

/// The AES key and associated data for the round-2 message `from` → `to`.
fn round2_key(
    p: DkgParams,
    from: u16,
    to: u16,
    from_key: &[u8; 32],
    to_key: &[u8; 32],
    shared: &[u8; 32],
) -> (Zeroizing<[u8; 32]>, Vec<u8>) {
    let aad = [
        b"assay-frost-dkg-round2-v1".as_slice(),
        &from.to_le_bytes(),
        &to.to_le_bytes(),
        &p.threshold.to_le_bytes(),
        &p.participants.to_le_bytes(),
        from_key,
        to_key,
    ]
    .concat();
    let key = Zeroizing::new(files::digest(&[
        b"assay-frost-dkg-round2-key-v1",
        shared,
        &aad,
    ]));
    (key, aad)
}

fn dh(secret: &[u8; 32], public: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, CustodyError> {
    let e = Ed25519ScalarField::deserialize(secret)
        .map_err(|_| CustodyError::Parameters("DKG state: bad encryption secret".into()))?;
    let pt = Ed25519Group::deserialize(public)
        .map_err(|e| CustodyError::Parameters(format!("encryption key: {e}")))?;
    let shared = Ed25519Group::serialize(&(pt * e))
        .map_err(|e| CustodyError::Parameters(format!("Diffie-Hellman: {e}")))?;
    Ok(Zeroizing::new(shared))
}

fn round1_digest(p: DkgParams, seen: &BTreeMap<u16, Round1Seen>) -> Result<[u8; 32], CustodyError> {
    let mut parts: Vec<Vec<u8>> = vec![
        b"assay-frost-dkg-transcript-v1".to_vec(),
        p.threshold.to_le_bytes().to_vec(),
        p.participants.to_le_bytes().to_vec(),
    ];
    for (j, r) in seen {
        parts.push(j.to_le_bytes().to_vec());
        parts.push(
            r.package
                .serialize()
                .map_err(|e| CustodyError::Parameters(format!("round-1 package: {e}")))?,
        );
        parts.push(r.encryption_key.to_vec());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(files::digest(&refs))
}

/// Runs participant `i`'s next step of the DKG under `dir` (see the module documentation).
/// Call it again after other participants have stepped; it says what it did or awaits.
///
/// `passphrase` seals this participant's state between steps and its final share.
///
/// # Errors
/// Bad parameters; a file that is malformed or changed between steps; a participant's invalid
/// proof of knowledge or share (frost's error, naming the culprit); a wrong passphrase for the
/// state; I/O.
pub fn step(
    dir: &Path,
    p: DkgParams,
    i: u16,
    passphrase: &str,
    cost: KdfCost,
) -> Result<DkgProgress, CustodyError> {
    check_parameters(p.participants, p.threshold)?;
    if i == 0 || i > p.participants {
        return Err(CustodyError::Parameters(format!(
            "participant {i}: must be between 1 and {}",
            p.participants
        )));
    }
    let l = DkgLayout::new(dir);
    let state_path = l.state(i);
    if !state_path.exists() {
        if l.share(i).exists() {
            return Err(CustodyError::Exists(l.share(i)));
        }
        if l.round1(i).exists() {
            return Err(CustodyError::Parameters(format!(
                "{} exists but this participant has no state: this DKG cannot go on; \
                 start a new one in an empty folder",
                l.round1(i).display()
            )));
        }
        std::fs::create_dir_all(l.work()).map_err(files::io(&l.work()))?;
        return round1(&l, p, i, passphrase, cost);
    }
    let (round, mut secret) = read_state(&state_path, p, i, passphrase)?;
    if round == 1 && !l.round1(i).exists() {
        // Interrupted between writing the state and publishing round 1: publish it now.
        files::write_new(&l.round1(i), secret.round1.as_bytes(), false)?;
    }
    // Our own round-1 file must still be the one we published.
    let mine = std::fs::read_to_string(l.round1(i)).unwrap_or_default();
    if mine != secret.round1 {
        return Err(CustodyError::Parameters(format!(
            "{}: is not the round-1 package this participant published (replaced or removed); \
             this DKG cannot be trusted: start a new one",
            l.round1(i).display()
        )));
    }
    let missing: Vec<PathBuf> = (1..=p.participants)
        .filter(|j| *j != i)
        .map(|j| l.round1(j))
        .filter(|f| !f.exists())
        .collect();
    if !missing.is_empty() {
        return Ok(DkgProgress::Waiting { missing });
    }
    let mut seen = BTreeMap::new();
    for j in 1..=p.participants {
        seen.insert(j, read_round1(&l.round1(j), p, j)?);
    }
    let digest = hex::encode(round1_digest(p, &seen)?);
    let enc_secret = Zeroizing::new(hex_exact::<32>(
        &secret.encryption_secret,
        &state_path,
        STATE_WHAT,
        "encryption_secret",
    )?);
    let others: BTreeMap<Identifier, fdkg::round1::Package> = seen
        .iter()
        .filter(|(j, _)| **j != i)
        .map(|(j, r)| Ok((identifier(*j)?, r.package.clone())))
        .collect::<Result<_, CustodyError>>()?;
    if round == 1 {
        let sp_bytes = Zeroizing::new(hex_vec(
            &secret.secret_package,
            &state_path,
            STATE_WHAT,
            "secret_package",
        )?);
        let sp = fdkg::round1::SecretPackage::deserialize(&sp_bytes)
            .map_err(|e| malformed(&state_path, STATE_WHAT, format!("secret package: {e}")))?;
        let (sp2, outgoing) =
            fdkg::part2(sp, &others).map_err(|e| frost_error(e, p.participants, "round 2"))?;
        for (to_id, pkg) in &outgoing {
            let to = crate::participant_number(to_id, p.participants).ok_or_else(|| {
                CustodyError::Parameters("round 2: a package for an unknown participant".into())
            })?;
            let path = l.round2(i, to);
            let plain = Zeroizing::new(
                pkg.serialize()
                    .map_err(|e| CustodyError::Parameters(format!("round-2 package: {e}")))?,
            );
            if path.exists() {
                // Written by an interrupted earlier run of this same step: it must hold the
                // same share (the polynomial is fixed), else someone else wrote it.
                let there = open_round2(&path, p, i, to, &seen, &enc_secret, i);
                if there.ok().as_deref() != Some(&plain) {
                    return Err(CustodyError::Parameters(format!(
                        "{}: exists and was not written by this participant: this DKG cannot \
                         be trusted; start a new one",
                        path.display()
                    )));
                }
                continue;
            }
            let shared = dh(&enc_secret, &seen[&to].encryption_key)?;
            let (key, aad) = round2_key(
                p,
                i,
                to,
                &seen[&i].encryption_key,
                &seen[&to].encryption_key,
                &shared,
            );
            let nonce = files::random::<12>()?;
            let cipher = Aes256Gcm::new_from_slice(key.as_ref())
                .map_err(|e| CustodyError::Parameters(e.to_string()))?;
            let ct = cipher
                .encrypt(
                    &nonce.into(),
                    Payload {
                        msg: &plain,
                        aad: &aad,
                    },
                )
                .map_err(|_| CustodyError::Random("AES-GCM encryption failed".into()))?;
            let f = Round2File {
                version: FORMAT_VERSION,
                kind: ROUND2_KIND.into(),
                ciphersuite: CIPHERSUITE.into(),
                from: i,
                to,
                threshold: p.threshold,
                participants: p.participants,
                nonce: hex::encode(nonce),
                ciphertext: hex::encode(ct),
            };
            files::write_new_json(&path, &f, false)?;
        }
        secret.secret_package = hex::encode(
            sp2.serialize()
                .map_err(|e| CustodyError::Parameters(format!("secret package: {e}")))?,
        );
        secret.round1_digest = digest;
        write_state(&state_path, p, i, 2, &secret, passphrase, cost)?;
        return Ok(DkgProgress::Round2Published);
    }
    // Round 3.
    if secret.round1_digest != digest {
        return Err(CustodyError::Parameters(
            "the round-1 files changed since this participant's round 2; this DKG cannot be \
             trusted: start a new one"
                .into(),
        ));
    }
    let missing: Vec<PathBuf> = (1..=p.participants)
        .filter(|j| *j != i)
        .map(|j| l.round2(j, i))
        .filter(|f| !f.exists())
        .collect();
    if !missing.is_empty() {
        return Ok(DkgProgress::Waiting { missing });
    }
    let mut incoming = BTreeMap::new();
    for j in (1..=p.participants).filter(|j| *j != i) {
        let path = l.round2(j, i);
        let plain = open_round2(&path, p, j, i, &seen, &enc_secret, i)?;
        let pkg = fdkg::round2::Package::deserialize(&plain).map_err(|e| CustodyError::Dkg {
            reason: format!("{}: package: {e}", path.display()),
            culprits: vec![j],
        })?;
        incoming.insert(identifier(j)?, pkg);
    }
    let sp_bytes = Zeroizing::new(hex_vec(
        &secret.secret_package,
        &state_path,
        STATE_WHAT,
        "secret_package",
    )?);
    let sp2 = fdkg::round2::SecretPackage::deserialize(&sp_bytes)
        .map_err(|e| malformed(&state_path, STATE_WHAT, format!("secret package: {e}")))?;
    let (kp, pkp) = fdkg::part3(&sp2, &others, &incoming)
        .map_err(|e| frost_error(e, p.participants, "round 3"))?;
    let group = GroupPublicKey::from_frost(&pkp, p.threshold)?;
    let share = l.share(i);
    write_share(&share, &kp, &group, passphrase, cost)?;
    group.write_or_check(&l.public_key())?;
    std::fs::remove_file(&state_path).map_err(files::io(&state_path))?;
    Ok(DkgProgress::Finished {
        group,
        share,
        fingerprint: digest,
    })
}

/// Reads and decrypts the round-2 file `from` → `to` with participant `me`'s encryption
/// secret (`me` is either end: the Diffie–Hellman key is the same for both).
fn open_round2(
    path: &Path,
    p: DkgParams,
    from: u16,
    to: u16,
    seen: &BTreeMap<u16, Round1Seen>,
    enc_secret: &[u8; 32],
    me: u16,
) -> Result<Zeroizing<Vec<u8>>, CustodyError> {
    let f: Round2File = read_json(path, ROUND2_WHAT)?;
    if f.version != FORMAT_VERSION
        || f.kind != ROUND2_KIND
        || f.ciphersuite != CIPHERSUITE
        || f.from != from
        || f.to != to
        || f.threshold != p.threshold
        || f.participants != p.participants
    {
        return Err(malformed(
            path,
            ROUND2_WHAT,
            format!("expected a package from {from} to {to}"),
        ));
    }
    let nonce = hex_exact::<12>(&f.nonce, path, ROUND2_WHAT, "nonce")?;
    let ct = hex_vec(&f.ciphertext, path, ROUND2_WHAT, "ciphertext")?;
    let other = if me == from { to } else { from };
    let shared = dh(enc_secret, &seen[&other].encryption_key)?;
    let (key, aad) = round2_key(
        p,
        from,
        to,
        &seen[&from].encryption_key,
        &seen[&to].encryption_key,
        &shared,
    );
    let cipher = Aes256Gcm::new_from_slice(key.as_ref())
        .map_err(|e| CustodyError::Parameters(e.to_string()))?;
    cipher
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &ct,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CustodyError::Dkg {
            reason: format!(
                "{}: cannot be decrypted (modified, or not for us)",
                path.display()
            ),
            culprits: vec![from],
        })
}

fn round1(
    l: &DkgLayout,
    p: DkgParams,
    i: u16,
    passphrase: &str,
    cost: KdfCost,
) -> Result<DkgProgress, CustodyError> {
    let mut rng = rand::rngs::OsRng;
    let (sp, pkg) = fdkg::part1(identifier(i)?, p.participants, p.threshold, rng)
        .map_err(|e| frost_error(e, p.participants, "round 1"))?;
    let e = Ed25519ScalarField::random(&mut rng);
    let enc_secret = Zeroizing::new(Ed25519ScalarField::serialize(&e));
    let enc_public = Ed25519Group::serialize(&(Ed25519Group::generator() * e))
        .map_err(|e| CustodyError::Parameters(format!("encryption key: {e}")))?;
    let f = Round1File {
        version: FORMAT_VERSION,
        kind: ROUND1_KIND.into(),
        ciphersuite: CIPHERSUITE.into(),
        participant: i,
        threshold: p.threshold,
        participants: p.participants,
        package: hex::encode(
            pkg.serialize()
                .map_err(|e| CustodyError::Parameters(format!("round-1 package: {e}")))?,
        ),
        encryption_key: hex::encode(enc_public),
    };
    let text = String::from_utf8(files::to_json(&f)?)
        .map_err(|e| CustodyError::Parameters(e.to_string()))?;
    let secret = SecretState {
        encryption_secret: hex::encode(enc_secret.as_ref()),
        secret_package: hex::encode(
            sp.serialize()
                .map_err(|e| CustodyError::Parameters(format!("secret package: {e}")))?,
        ),
        round1: text.clone(),
        round1_digest: String::new(),
    };
    // The state first: a round-1 file without its secrets could never be finished.
    write_state(&l.state(i), p, i, 1, &secret, passphrase, cost)?;
    files::write_new(&l.round1(i), text.as_bytes(), false)?;
    Ok(DkgProgress::Round1Published)
}

/// Runs the whole DKG in one process: every participant's steps in turn, over the same files
/// as [`step`]. `passphrases[k]` seals participant `k + 1`'s share.
///
/// # Errors
/// As [`step`]; [`CustodyError::Parameters`] if the passphrase count is not `participants`.
pub fn run_in_process(
    dir: &Path,
    p: DkgParams,
    passphrases: &[&str],
    cost: KdfCost,
) -> Result<GroupPublicKey, CustodyError> {
    check_parameters(p.participants, p.threshold)?;
    if passphrases.len() != usize::from(p.participants) {
        return Err(CustodyError::Parameters(format!(
            "{} passphrases for {} participants",
            passphrases.len(),
            p.participants
        )));
    }
    let mut group = None;
    for _round in 1..=3 {
        for i in 1..=p.participants {
            let pass = passphrases[usize::from(i - 1)];
            match step(dir, p, i, pass, cost)? {
                DkgProgress::Finished { group: g, .. } => group = Some(g),
                DkgProgress::Waiting { missing } => {
                    return Err(CustodyError::Parameters(format!(
                        "DKG in one process: unexpectedly waiting for {missing:?}"
                    )))
                }
                DkgProgress::Round1Published | DkgProgress::Round2Published => {}
            }
        }
    }
    group.ok_or_else(|| CustodyError::Parameters("DKG did not finish".into()))
}
