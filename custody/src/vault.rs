//! The vault: a participant's share on disk, sealed under a passphrase, with failed unlocks
//! counted beside it and a lock-out after too many.
//!
//! `share-I.json` holds the group's public description in clear (participant number,
//! threshold, group public key, every participant's verifying share) and the share itself
//! sealed by [`assay_prover::keystore::SealedSecret`] (Argon2id + AES-256-GCM). The sealed
//! part's associated data includes a SHA-256 digest of the public description, so a changed
//! participant number, threshold or key anywhere in the file makes unlocking fail.
//!
//! Beside it, `share-I.json.attempts.json` counts failed unlocks. The count is raised *before*
//! the passphrase is tried and cleared only on success, so killing the process during the
//! (slow) key derivation still counts the attempt. After [`VaultPolicy::max_failures`]
//! failures the share is locked for [`VaultPolicy::lockout`]; each further lock-out without a
//! success in between doubles that time (up to 64 times). A locked share is refused before any
//! key derivation. An unreadable counter file locks the share (fail closed).
//!
//! What the counter cannot do: stop someone who copies the share file and guesses offline. Only
//! the passphrase's strength and Argon2id's cost bound that (`docs/custody.md`).

use crate::files::{self, hex_exact, malformed, read_json};
use crate::{identifier, CustodyError, KdfCost, CIPHERSUITE, FORMAT_VERSION};
use assay_prover::keystore::{KeystoreError, SealedSecret};
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_ed25519::VerifyingKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SHARE_KIND: &str = "assay-frost-ed25519-share";
const SEALED_SHARE_KIND: &str = "assay-frost-ed25519-key-package";
const PUBLIC_KIND: &str = "assay-frost-ed25519-public-key";
const ATTEMPTS_KIND: &str = "assay-vault-attempts";
const SHARE_WHAT: &str = "share file";
const PUBLIC_WHAT: &str = "group public key file";
const ATTEMPTS_WHAT: &str = "vault attempt counter";

/// The group's public description: what everyone may know about the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPublicKey {
    /// Shares needed to sign.
    pub threshold: u16,
    /// Shares in all.
    pub participants: u16,
    /// The group's Ed25519 public key (what verifiers check signatures against).
    pub public_key: [u8; 32],
    /// Each participant's verifying share (its share's public key), by participant number.
    pub verifying_shares: BTreeMap<u16, [u8; 32]>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicKeyFile {
    version: u32,
    kind: String,
    ciphersuite: String,
    threshold: u16,
    participants: u16,
    group_public_key: String,
    verifying_shares: BTreeMap<u16, String>,
}

impl GroupPublicKey {
    /// From frost's public key package (after a DKG).
    pub(crate) fn from_frost(p: &PublicKeyPackage, threshold: u16) -> Result<Self, CustodyError> {
        let participants = p.max_signers();
        let mut verifying_shares = BTreeMap::new();
        for (id, vs) in p.verifying_shares() {
            let n = crate::participant_number(id, participants).ok_or_else(|| {
                CustodyError::Parameters("a verifying share of an unknown participant".into())
            })?;
            let b = vs
                .serialize()
                .map_err(|e| CustodyError::Parameters(format!("verifying share: {e}")))?;
            verifying_shares.insert(n, to32(&b)?);
        }
        let pk = p
            .verifying_key()
            .serialize()
            .map_err(|e| CustodyError::Parameters(format!("group key: {e}")))?;
        Ok(Self {
            threshold,
            participants,
            public_key: to32(&pk)?,
            verifying_shares,
        })
    }

    /// As frost's public key package (for aggregation and cheater detection).
    pub(crate) fn to_frost(&self) -> Result<PublicKeyPackage, CustodyError> {
        let mut shares = BTreeMap::new();
        for (n, b) in &self.verifying_shares {
            let vs = VerifyingShare::deserialize(b)
                .map_err(|e| CustodyError::Parameters(format!("verifying share {n}: {e}")))?;
            shares.insert(identifier(*n)?, vs);
        }
        let vk = VerifyingKey::deserialize(&self.public_key)
            .map_err(|e| CustodyError::Parameters(format!("group public key: {e}")))?;
        Ok(PublicKeyPackage::new(shares, vk, Some(self.threshold)))
    }

    /// A digest of the whole description and of `participant` (bound into a sealed share).
    pub(crate) fn digest_for(&self, participant: u16) -> [u8; 32] {
        let mut parts: Vec<Vec<u8>> = vec![
            b"assay-frost-share-public-v1".to_vec(),
            CIPHERSUITE.as_bytes().to_vec(),
            participant.to_le_bytes().to_vec(),
            self.threshold.to_le_bytes().to_vec(),
            self.participants.to_le_bytes().to_vec(),
            self.public_key.to_vec(),
        ];
        for (n, b) in &self.verifying_shares {
            parts.push(n.to_le_bytes().to_vec());
            parts.push(b.to_vec());
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        files::digest(&refs)
    }

    /// The group public key as lowercase hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key)
    }

    fn to_file(&self) -> PublicKeyFile {
        PublicKeyFile {
            version: FORMAT_VERSION,
            kind: PUBLIC_KIND.into(),
            ciphersuite: CIPHERSUITE.into(),
            threshold: self.threshold,
            participants: self.participants,
            group_public_key: self.public_key_hex(),
            verifying_shares: self
                .verifying_shares
                .iter()
                .map(|(n, b)| (*n, hex::encode(b)))
                .collect(),
        }
    }

    /// Checks a description read from `path`: parameters, one verifying share per participant,
    /// every key a valid prime-order point.
    pub(crate) fn from_parts(
        path: &Path,
        what: &'static str,
        threshold: u16,
        participants: u16,
        public_key: &str,
        shares: &BTreeMap<u16, String>,
    ) -> Result<Self, CustodyError> {
        crate::check_parameters(participants, threshold)
            .map_err(|e| malformed(path, what, e.to_string()))?;
        let public_key = hex_exact::<32>(public_key, path, what, "group_public_key")?;
        let expected: Vec<u16> = (1..=participants).collect();
        if shares.keys().copied().collect::<Vec<_>>() != expected {
            return Err(malformed(
                path,
                what,
                format!("verifying_shares: expected participants 1 to {participants}"),
            ));
        }
        let mut verifying_shares = BTreeMap::new();
        for (n, h) in shares {
            verifying_shares.insert(*n, hex_exact::<32>(h, path, what, "verifying_shares")?);
        }
        let g = Self {
            threshold,
            participants,
            public_key,
            verifying_shares,
        };
        g.to_frost()
            .map_err(|e| malformed(path, what, e.to_string()))?;
        g.check_consistent().map_err(|e| malformed(path, what, e))?;
        Ok(g)
    }

    /// Checks that the verifying shares lie on one polynomial of degree `threshold - 1` (in
    /// the exponent) whose value at 0 is the group key: no verifying share or group key was
    /// replaced on its own.
    fn check_consistent(&self) -> Result<(), String> {
        use frost_ed25519::{Ed25519Group, Ed25519ScalarField, Field, Group};
        type Scalar = <Ed25519ScalarField as Field>::Scalar;
        let scalar = |x: u16| -> Result<Scalar, String> {
            let mut b = [0u8; 32];
            b[..2].copy_from_slice(&x.to_le_bytes());
            Ed25519ScalarField::deserialize(&b).map_err(|e| e.to_string())
        };
        let point = |b: &[u8; 32]| Ed25519Group::deserialize(b).map_err(|e| e.to_string());
        let base: Vec<(u16, _)> = self
            .verifying_shares
            .iter()
            .take(usize::from(self.threshold))
            .map(|(n, b)| Ok((*n, point(b)?)))
            .collect::<Result<_, String>>()?;
        // The value at x of the polynomial through `base` (Lagrange, in the exponent).
        let at = |x: u16| -> Result<_, String> {
            let mut acc = Ed25519Group::identity();
            for (i, yi) in &base {
                let mut lambda = scalar(1)?;
                for (j, _) in &base {
                    if j != i {
                        let den = Ed25519ScalarField::invert(&(scalar(*i)? - scalar(*j)?))
                            .map_err(|e| e.to_string())?;
                        lambda = lambda * (scalar(x)? - scalar(*j)?) * den;
                    }
                }
                acc += *yi * lambda;
            }
            Ok(acc)
        };
        if at(0)? != point(&self.public_key)? {
            return Err("the group key is not the one the verifying shares determine".into());
        }
        for (k, b) in self
            .verifying_shares
            .iter()
            .skip(usize::from(self.threshold))
        {
            if at(*k)? != point(b)? {
                return Err(format!(
                    "verifying share {k} is not on the other shares' polynomial"
                ));
            }
        }
        Ok(())
    }

    /// Reads and checks `public-key.json`.
    ///
    /// # Errors
    /// I/O, or [`CustodyError::Malformed`] (unknown field, version, kind, invalid point).
    pub fn read(path: &Path) -> Result<Self, CustodyError> {
        let f: PublicKeyFile = read_json(path, PUBLIC_WHAT)?;
        if f.version != FORMAT_VERSION || f.kind != PUBLIC_KIND || f.ciphersuite != CIPHERSUITE {
            return Err(malformed(
                path,
                PUBLIC_WHAT,
                format!(
                    "expected version {FORMAT_VERSION}, kind {PUBLIC_KIND}, ciphersuite {CIPHERSUITE}"
                ),
            ));
        }
        Self::from_parts(
            path,
            PUBLIC_WHAT,
            f.threshold,
            f.participants,
            &f.group_public_key,
            &f.verifying_shares,
        )
    }

    /// Writes `public-key.json` to a new file; if the file exists with the same content, that
    /// is accepted (each DKG participant writes it), and a different content is an error.
    ///
    /// # Errors
    /// I/O, or [`CustodyError::Parameters`] if a different group key is there already.
    pub fn write_or_check(&self, path: &Path) -> Result<(), CustodyError> {
        match files::write_new_json(path, &self.to_file(), false) {
            Err(CustodyError::Exists(_)) => {
                let there = Self::read(path)?;
                if there != *self {
                    return Err(CustodyError::Parameters(format!(
                        "{}: holds another group key ({}) than this participant computed ({}); \
                         the participants did not see the same round-1 packages",
                        path.display(),
                        there.public_key_hex(),
                        self.public_key_hex()
                    )));
                }
                Ok(())
            }
            other => other,
        }
    }
}

fn to32(b: &[u8]) -> Result<[u8; 32], CustodyError> {
    b.try_into()
        .map_err(|_| CustodyError::Parameters("expected 32 bytes".into()))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareFile {
    version: u32,
    kind: String,
    ciphersuite: String,
    participant: u16,
    threshold: u16,
    participants: u16,
    group_public_key: String,
    verifying_shares: BTreeMap<u16, String>,
    sealed: SealedSecret,
}

/// A share unlocked in memory (frost's key package zeroizes itself on drop).
pub struct UnlockedShare {
    /// This share's participant number.
    pub participant: u16,
    /// The group's public description.
    pub group: GroupPublicKey,
    pub(crate) key_package: KeyPackage,
}

impl UnlockedShare {
    /// The secret signing share (the scalar, 32 bytes), zeroized on drop. For checks that it
    /// is never written anywhere in plain text (tests, audits); never log or store it.
    pub fn signing_share_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.key_package.signing_share().serialize())
    }
}

impl std::fmt::Debug for UnlockedShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnlockedShare")
            .field("participant", &self.participant)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// Writes a new share file: `key_package` sealed under `passphrase`, beside the group's public
/// description. Refuses to overwrite; mode 0600.
///
/// # Errors
/// [`CustodyError::Exists`], an empty passphrase, I/O, or a key package that does not belong
/// to `group`.
pub fn write_share(
    path: &Path,
    key_package: &KeyPackage,
    group: &GroupPublicKey,
    passphrase: &str,
    cost: KdfCost,
) -> Result<(), CustodyError> {
    let participant = crate::participant_number(key_package.identifier(), group.participants)
        .ok_or_else(|| CustodyError::Parameters("key package of an unknown participant".into()))?;
    check_key_package(key_package, group, participant)
        .map_err(|r| CustodyError::Parameters(format!("key package: {r}")))?;
    let secret = zeroize::Zeroizing::new(
        key_package
            .serialize()
            .map_err(|e| CustodyError::Parameters(format!("key package: {e}")))?,
    );
    let sealed = SealedSecret::seal(
        SEALED_SHARE_KIND,
        &secret,
        &group.digest_for(participant),
        passphrase,
        cost,
    )?;
    let pf = group.to_file();
    let file = ShareFile {
        version: FORMAT_VERSION,
        kind: SHARE_KIND.into(),
        ciphersuite: CIPHERSUITE.into(),
        participant,
        threshold: pf.threshold,
        participants: pf.participants,
        group_public_key: pf.group_public_key,
        verifying_shares: pf.verifying_shares,
        sealed,
    };
    files::write_new_json(path, &file, true)
}

/// Checks that a key package is the one `group` describes for `participant`, and that its
/// signing share matches its verifying share.
pub(crate) fn check_key_package(
    kp: &KeyPackage,
    group: &GroupPublicKey,
    participant: u16,
) -> Result<(), String> {
    if *kp.identifier() != identifier(participant).map_err(|e| e.to_string())? {
        return Err("participant number differs".into());
    }
    if *kp.min_signers() != group.threshold {
        return Err("threshold differs".into());
    }
    let vk = kp.verifying_key().serialize().map_err(|e| e.to_string())?;
    if vk != group.public_key {
        return Err("group public key differs".into());
    }
    let vs = kp
        .verifying_share()
        .serialize()
        .map_err(|e| e.to_string())?;
    if Some(vs.as_slice())
        != group
            .verifying_shares
            .get(&participant)
            .map(|b| b.as_slice())
    {
        return Err("verifying share differs".into());
    }
    let derived = VerifyingShare::from(*kp.signing_share());
    if derived != *kp.verifying_share() {
        return Err("the signing share does not match its verifying share".into());
    }
    Ok(())
}

/// Reads a share file's public part (participant number and group) without unlocking it: an
/// encrypted keystore share, or a share sealed by a PKCS#11 token ([`crate::pkcs11`]).
///
/// # Errors
/// I/O or [`CustodyError::Malformed`].
pub fn read_share_public(path: &Path) -> Result<(u16, GroupPublicKey), CustodyError> {
    if crate::pkcs11::is_token_share(path) {
        let t = crate::pkcs11::read_token_share(path)?;
        return Ok((t.participant, t.group));
    }
    let (f, g) = read_share_file(path)?;
    Ok((f.participant, g))
}

fn read_share_file(path: &Path) -> Result<(ShareFile, GroupPublicKey), CustodyError> {
    let f: ShareFile = read_json(path, SHARE_WHAT)?;
    if f.version != FORMAT_VERSION || f.kind != SHARE_KIND || f.ciphersuite != CIPHERSUITE {
        return Err(malformed(
            path,
            SHARE_WHAT,
            format!(
                "expected version {FORMAT_VERSION}, kind {SHARE_KIND}, ciphersuite {CIPHERSUITE}"
            ),
        ));
    }
    let g = GroupPublicKey::from_parts(
        path,
        SHARE_WHAT,
        f.threshold,
        f.participants,
        &f.group_public_key,
        &f.verifying_shares,
    )?;
    if f.participant == 0 || f.participant > f.participants {
        return Err(malformed(
            path,
            SHARE_WHAT,
            format!(
                "participant {}: out of 1 to {}",
                f.participant, f.participants
            ),
        ));
    }
    Ok((f, g))
}

/// How many failed unlocks lock a share, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultPolicy {
    /// Failed unlocks before the lock-out (five by default).
    pub max_failures: u32,
    /// The first lock-out's length; each further one without a success doubles it (≤ 64×).
    pub lockout: Duration,
}

impl Default for VaultPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lockout: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttemptsFile {
    version: u32,
    kind: String,
    /// Failed (or interrupted) unlocks since the last success or lock-out end.
    failures: u32,
    /// Lock-outs since the last success.
    lockouts: u32,
    /// Unix seconds until which the share is locked (0: not locked).
    locked_until: u64,
}

/// The attempt counter's path for a share file (`<share>.attempts.json`).
pub fn attempts_path(share: &Path) -> PathBuf {
    let name = share
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    share.with_file_name(format!("{name}.attempts.json"))
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read_attempts(path: &Path) -> Result<AttemptsFile, CustodyError> {
    if !path.exists() {
        return Ok(AttemptsFile {
            version: FORMAT_VERSION,
            kind: ATTEMPTS_KIND.into(),
            ..AttemptsFile::default()
        });
    }
    let a: AttemptsFile = read_json(path, ATTEMPTS_WHAT)?;
    if a.version != FORMAT_VERSION || a.kind != ATTEMPTS_KIND {
        return Err(malformed(path, ATTEMPTS_WHAT, "unknown version or kind"));
    }
    Ok(a)
}

fn write_attempts(path: &Path, a: &AttemptsFile) -> Result<(), CustodyError> {
    files::replace_private(path, &files::to_json(a)?)
}

/// Unlocks the share at `path` with `passphrase`, counting failures under `policy` (now).
///
/// # Errors
/// [`CustodyError::Locked`] while locked (no key derivation is attempted);
/// [`CustodyError::Unlock`] for a wrong passphrase or a modified file (the attempt is counted);
/// [`CustodyError::Malformed`], I/O.
pub fn open_share(
    path: &Path,
    passphrase: &str,
    policy: VaultPolicy,
) -> Result<UnlockedShare, CustodyError> {
    open_share_at(path, passphrase, policy, SystemTime::now())
}

/// [`open_share`] at a given time (for tests of the lock-out and its expiry).
///
/// # Errors
/// As [`open_share`].
pub fn open_share_at(
    path: &Path,
    passphrase: &str,
    policy: VaultPolicy,
    now: SystemTime,
) -> Result<UnlockedShare, CustodyError> {
    if policy.max_failures == 0 {
        return Err(CustodyError::Parameters(
            "vault policy: max_failures must be at least 1".into(),
        ));
    }
    let (file, group) = read_share_file(path)?;
    let apath = attempts_path(path);
    let mut a = read_attempts(&apath)?;
    let now_s = unix(now);
    if a.locked_until > now_s {
        return Err(CustodyError::Locked {
            path: path.to_path_buf(),
            failures: a.failures,
            locked_until: a.locked_until,
            retry_in_secs: a.locked_until - now_s,
        });
    }
    if a.failures >= policy.max_failures {
        // A lock-out has ended: a fresh series of attempts, but the lock-out count stays.
        a.failures = 0;
        a.locked_until = 0;
    }
    // Count the attempt before trying it, so that killing the process does not escape it.
    a.failures += 1;
    let mut then = String::new();
    if a.failures >= policy.max_failures {
        let factor = 1u32 << a.lockouts.min(6);
        let secs = policy.lockout.as_secs().saturating_mul(u64::from(factor));
        a.locked_until = now_s.saturating_add(secs.max(1));
        a.lockouts = a.lockouts.saturating_add(1);
        then = format!(", now locked for {} s", secs.max(1));
    }
    write_attempts(&apath, &a)?;
    let opened = file
        .sealed
        .open(SEALED_SHARE_KIND, passphrase, path)
        .map_err(|e| match e {
            KeystoreError::Unlock(_) => CustodyError::Unlock {
                path: path.to_path_buf(),
                failures: a.failures,
                max: policy.max_failures,
                then: then.clone(),
            },
            other => other.into(),
        });
    let secret = opened?;
    // The sealed part's associated data bound this digest: the clear fields are authentic.
    let public_ok = file.sealed.public_exact::<32>() == Some(group.digest_for(file.participant));
    let kp = KeyPackage::deserialize(&secret).ok().filter(|_| public_ok);
    let kp = match kp {
        Some(kp) if check_key_package(&kp, &group, file.participant).is_ok() => kp,
        _ => {
            return Err(CustodyError::Unlock {
                path: path.to_path_buf(),
                failures: a.failures,
                max: policy.max_failures,
                then,
            })
        }
    };
    write_attempts(
        &apath,
        &AttemptsFile {
            version: FORMAT_VERSION,
            kind: ATTEMPTS_KIND.into(),
            ..AttemptsFile::default()
        },
    )?;
    Ok(UnlockedShare {
        participant: file.participant,
        group,
        key_package: kp,
    })
}

/// The signing share of `kp` (crate use only: nonce generation).
pub(crate) fn signing_share(kp: &KeyPackage) -> &SigningShare {
    kp.signing_share()
}
