//! Shares and keys held by a PKCS#11 token (an HSM, a smart card, or SoftHSM2 in tests), through
//! `cryptoki`.
//!
//! Two things live in a token:
//!
//! * **A FROST share sealed by the token** ([`import_share`], [`open_token_share`]). The token
//!   generates an AES-256 key (`CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE`, not
//!   `CKA_EXTRACTABLE`, encrypt/decrypt only: it never leaves the token). The share's serialized
//!   FROST key package is encrypted by the token with `CKM_AES_GCM` (fresh 96-bit IV, 128-bit
//!   tag, the associated data a SHA-256 digest of the file's clear fields, the same digest the
//!   encrypted keystore binds), and the ciphertext is stored in a JSON file,
//!   `share-I.pkcs11.json` (`docs/formats.md`), beside the group's public description, the
//!   token's label and the key's label and id. At signing time the token decrypts it into
//!   memory only (zeroized on drop). The share is never written in plain text; without the
//!   token and its user PIN the file is useless.
//! * **A plain (non-threshold) Ed25519 key** ([`ed25519_keygen`], [`ed25519_sign`]) for an
//!   issuer with one HSM: a `CKK_EC_EDWARDS` key pair on the Ed25519 curve generated in the
//!   token (private key sensitive, not extractable), signing with `CKM_EDDSA`. Every signature
//!   is verified with `ed25519-dalek` before it is returned.
//!
//! The token is named by its label; the PKCS#11 module (a shared library, e.g.
//! `/usr/lib/softhsm/libsofthsm2.so`) by its path. A module is loaded and initialized once per
//! process and stays initialized until the process ends (PKCS#11 state is process-wide).
//! The user PIN is given by the caller ([`token_pin`] reads it from an environment variable or
//! a prompt, never from a command-line argument).
//!
//! What is guaranteed: a key this module creates or accepts in a token is sensitive and not
//! extractable (checked again each time it is used); a token share opens only if the token
//! decrypts it *and* the key package inside matches the file's public description; a wrong PIN
//! is [`CustodyError::TokenPin`]; every error names the module, the token or the file.

use crate::files::{self, hex_exact, hex_vec, malformed, read_json};
use crate::vault::{check_key_package, GroupPublicKey, UnlockedShare, VaultPolicy};
use crate::{CustodyError, CIPHERSUITE, FORMAT_VERSION};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use frost_ed25519::keys::KeyPackage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use zeroize::Zeroizing;

/// The `kind` of a share file sealed by a token.
pub const TOKEN_SHARE_KIND: &str = "assay-frost-ed25519-pkcs11-share";
const ED25519_KEY_KIND: &str = "assay-ed25519-pkcs11-key";
const TOKEN_SHARE_WHAT: &str = "token share file";
const ED25519_KEY_WHAT: &str = "token Ed25519 key file";
const GCM: &str = "CKM_AES_GCM";
/// The environment variable [`token_pin`] reads when no other is named.
pub const PIN_ENV: &str = "ASSAY_PKCS11_PIN";
/// The environment variable naming the PKCS#11 module when no path is given.
pub const MODULE_ENV: &str = "ASSAY_PKCS11_MODULE";
/// `CKA_EC_PARAMS` of Ed25519 as SoftHSM2 expects it: the printable string `edwards25519`.
const ED25519_EC_PARAMS: &[u8] = b"\x13\x0cedwards25519";

fn ck(what: impl Into<String>) -> impl FnOnce(CkError) -> CustodyError {
    let what = what.into();
    move |e| CustodyError::Pkcs11 {
        what,
        reason: e.to_string(),
    }
}

fn pkcs11_err(what: impl Into<String>, reason: impl Into<String>) -> CustodyError {
    CustodyError::Pkcs11 {
        what: what.into(),
        reason: reason.into(),
    }
}

/// The module path: `module` if given, else the environment variable [`MODULE_ENV`].
///
/// # Errors
/// [`CustodyError::Parameters`] if neither is given.
pub fn module_path(module: Option<&Path>) -> Result<PathBuf, CustodyError> {
    if let Some(m) = module {
        return Ok(m.to_path_buf());
    }
    match std::env::var_os(MODULE_ENV) {
        Some(m) if !m.is_empty() => Ok(PathBuf::from(m)),
        _ => Err(CustodyError::Parameters(format!(
            "no PKCS#11 module: give --pkcs11-module PATH or set {MODULE_ENV} \
             (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)"
        ))),
    }
}

/// The token's user PIN: the environment variable `var` if named (it must be set and not
/// empty), else [`PIN_ENV`] if set, else a prompt on the terminal. Never a command-line value.
///
/// # Errors
/// [`CustodyError::Parameters`] if the named variable is unset or empty, or there is no
/// terminal to prompt on.
pub fn token_pin(var: Option<&str>, token_label: &str) -> Result<Zeroizing<String>, CustodyError> {
    let from = |v: &str| -> Result<Option<Zeroizing<String>>, CustodyError> {
        match std::env::var(v) {
            Ok(p) if p.is_empty() => Err(CustodyError::Parameters(format!(
                "{v} is set but empty: no PIN for token {token_label:?}"
            ))),
            Ok(p) => Ok(Some(Zeroizing::new(p))),
            Err(_) => Ok(None),
        }
    };
    if let Some(v) = var {
        return from(v)?.ok_or_else(|| {
            CustodyError::Parameters(format!("{v} is not set: no PIN for token {token_label:?}"))
        });
    }
    if let Some(p) = from(PIN_ENV)? {
        return Ok(p);
    }
    let p = rpassword::prompt_password(format!("User PIN of token {token_label:?}: "))
        .map(Zeroizing::new)
        .map_err(|e| {
            CustodyError::Parameters(format!(
                "cannot prompt for the PIN of token {token_label:?} ({e}); set {PIN_ENV} or \
                 name a variable with --pin-env"
            ))
        })?;
    if p.is_empty() {
        return Err(CustodyError::Parameters("an empty PIN is refused".into()));
    }
    Ok(p)
}

/// Loaded and initialized modules, by path: initialized once, never finalized (another part
/// of the process may hold a session).
fn context(module: &Path) -> Result<Pkcs11, CustodyError> {
    static LOADED: OnceLock<Mutex<Vec<(PathBuf, Pkcs11)>>> = OnceLock::new();
    let loaded = LOADED.get_or_init(|| Mutex::new(Vec::new()));
    let mut loaded = loaded.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = loaded.iter().find(|(p, _)| p == module) {
        return Ok(c.clone());
    }
    if !module.is_file() {
        return Err(pkcs11_err(
            format!("PKCS#11 module {}", module.display()),
            "no such file (is the token's library installed? SoftHSM2: apt-get install softhsm2)",
        ));
    }
    let what = format!("PKCS#11 module {}", module.display());
    let c = Pkcs11::new(module).map_err(ck(what.clone()))?;
    match c.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck(what)(e)),
    }
    loaded.push((module.to_path_buf(), c.clone()));
    Ok(c)
}

/// A token, found by its label in a PKCS#11 module.
#[derive(Debug, Clone)]
pub struct Token {
    module: PathBuf,
    label: String,
    ctx: Pkcs11,
    slot: Slot,
}

impl Token {
    /// Loads `module` (once per process) and finds the one token labelled `label`.
    ///
    /// # Errors
    /// [`CustodyError::Pkcs11`] if the module does not load, or no token (or more than one)
    /// has that label.
    pub fn open(module: &Path, label: &str) -> Result<Self, CustodyError> {
        let ctx = context(module)?;
        let what = format!("PKCS#11 module {}", module.display());
        let mut found = Vec::new();
        let mut labels = Vec::new();
        for slot in ctx.get_slots_with_token().map_err(ck(what.clone()))? {
            let info = ctx.get_token_info(slot).map_err(ck(what.clone()))?;
            let l = info.label().trim_end().to_string();
            if l == label {
                found.push(slot);
            }
            labels.push(l);
        }
        match found.as_slice() {
            [slot] => Ok(Self {
                module: module.to_path_buf(),
                label: label.to_string(),
                ctx,
                slot: *slot,
            }),
            [] => Err(pkcs11_err(
                what,
                format!("no token labelled {label:?} (tokens present: {labels:?})"),
            )),
            _ => Err(pkcs11_err(
                what,
                format!("{} tokens are labelled {label:?}: ambiguous", found.len()),
            )),
        }
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The module's path.
    pub fn module(&self) -> &Path {
        &self.module
    }

    fn what(&self) -> String {
        format!("token {:?} ({})", self.label, self.module.display())
    }

    /// A read-write session logged in as the user.
    fn login(&self, pin: &str) -> Result<Session, CustodyError> {
        let s = self
            .ctx
            .open_rw_session(self.slot)
            .map_err(ck(self.what()))?;
        let auth = AuthPin::new(pin.to_string().into_boxed_str());
        match s.login(UserType::User, Some(&auth)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(s),
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            )) => Err(CustodyError::TokenPin {
                token: self.what(),
                reason: "wrong user PIN".into(),
            }),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(CustodyError::TokenPin {
                token: self.what(),
                reason: "the user PIN is locked (too many wrong PINs); the security officer \
                         must reset it"
                    .into(),
            }),
            Err(e) => Err(ck(self.what())(e)),
        }
    }

    /// The one object of `class` labelled `label` with id `id`.
    fn find(
        &self,
        s: &Session,
        class: ObjectClass,
        label: &str,
        id: &[u8],
    ) -> Result<ObjectHandle, CustodyError> {
        let found = s
            .find_objects(&[
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ])
            .map_err(ck(self.what()))?;
        match found.as_slice() {
            [h] => Ok(*h),
            [] => Err(pkcs11_err(
                self.what(),
                format!(
                    "no {class} labelled {label:?} with id {} (wrong token, or the key was \
                     deleted)",
                    hex::encode(id)
                ),
            )),
            _ => Err(pkcs11_err(
                self.what(),
                format!(
                    "{} objects labelled {label:?} with id {}: ambiguous",
                    found.len(),
                    hex::encode(id)
                ),
            )),
        }
    }

    /// Checks that a secret or private key is sensitive and not extractable.
    fn check_protected(
        &self,
        s: &Session,
        h: ObjectHandle,
        label: &str,
    ) -> Result<(), CustodyError> {
        let attrs = s
            .get_attributes(h, &[AttributeType::Sensitive, AttributeType::Extractable])
            .map_err(ck(self.what()))?;
        let mut sensitive = false;
        let mut extractable = true;
        for a in attrs {
            match a {
                Attribute::Sensitive(v) => sensitive = v,
                Attribute::Extractable(v) => extractable = v,
                _ => {}
            }
        }
        if !sensitive || extractable {
            return Err(pkcs11_err(
                self.what(),
                format!(
                    "key {label:?} is not protected (sensitive {sensitive}, extractable \
                     {extractable}): refusing to use it"
                ),
            ));
        }
        Ok(())
    }
}

fn random_id() -> Result<Vec<u8>, CustodyError> {
    Ok(files::random::<16>()?.to_vec())
}

// ---------------------------------------------------------------------------------------------
// FROST shares sealed by a token key.

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenShareFile {
    version: u32,
    kind: String,
    ciphersuite: String,
    participant: u16,
    threshold: u16,
    participants: u16,
    group_public_key: String,
    verifying_shares: BTreeMap<u16, String>,
    token_label: String,
    key_label: String,
    key_id: String,
    mechanism: String,
    iv: String,
    ciphertext: String,
}

/// Where a token share is: the token's label and the key that seals it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenShareInfo {
    /// The participant number.
    pub participant: u16,
    /// The group's public description.
    pub group: GroupPublicKey,
    /// The token's label.
    pub token_label: String,
    /// The AES key's label in the token.
    pub key_label: String,
    /// The AES key's id (`CKA_ID`).
    pub key_id: Vec<u8>,
}

/// Whether the JSON file at `path` is a token share (its `kind`); `false` for anything else,
/// including unreadable files (the caller's reader then reports those).
pub fn is_token_share(path: &Path) -> bool {
    #[derive(Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Kind>(&t).ok())
        .and_then(|k| k.kind)
        .is_some_and(|k| k == TOKEN_SHARE_KIND)
}

fn read_token_share_file(path: &Path) -> Result<(TokenShareFile, TokenShareInfo), CustodyError> {
    let f: TokenShareFile = read_json(path, TOKEN_SHARE_WHAT)?;
    if f.version != FORMAT_VERSION
        || f.kind != TOKEN_SHARE_KIND
        || f.ciphersuite != CIPHERSUITE
        || f.mechanism != GCM
    {
        return Err(malformed(
            path,
            TOKEN_SHARE_WHAT,
            format!(
                "expected version {FORMAT_VERSION}, kind {TOKEN_SHARE_KIND}, ciphersuite \
                 {CIPHERSUITE}, mechanism {GCM}"
            ),
        ));
    }
    let group = GroupPublicKey::from_parts(
        path,
        TOKEN_SHARE_WHAT,
        f.threshold,
        f.participants,
        &f.group_public_key,
        &f.verifying_shares,
    )?;
    if f.participant == 0 || f.participant > f.participants {
        return Err(malformed(
            path,
            TOKEN_SHARE_WHAT,
            format!(
                "participant {}: out of 1 to {}",
                f.participant, f.participants
            ),
        ));
    }
    if f.token_label.is_empty() || f.key_label.is_empty() {
        return Err(malformed(
            path,
            TOKEN_SHARE_WHAT,
            "empty token or key label",
        ));
    }
    let key_id = hex_vec(&f.key_id, path, TOKEN_SHARE_WHAT, "key_id")?;
    let info = TokenShareInfo {
        participant: f.participant,
        group,
        token_label: f.token_label.clone(),
        key_label: f.key_label.clone(),
        key_id,
    };
    Ok((f, info))
}

/// Reads a token share file's public part (no token needed).
///
/// # Errors
/// I/O or [`CustodyError::Malformed`].
pub fn read_token_share(path: &Path) -> Result<TokenShareInfo, CustodyError> {
    Ok(read_token_share_file(path)?.1)
}

/// The associated data of a token share's encryption: the vault's digest of the public
/// description and participant, under a token-share label.
fn token_aad(group: &GroupPublicKey, participant: u16) -> [u8; 32] {
    files::digest(&[
        b"assay-frost-pkcs11-share-v1",
        &group.digest_for(participant),
    ])
}

/// Seals `share` (already unlocked) into token `token`: a new AES-256 key generated in the
/// token (labelled `key_label`, or `assay-share-I-<first 8 hex of the group key>`) encrypts
/// its key package; the ciphertext goes to the new file `out` (mode 0600). Returns the key's
/// label. The plain key package exists only in memory.
///
/// # Errors
/// [`CustodyError::Exists`] if `out` exists; [`CustodyError::TokenPin`]; the token refuses to
/// generate the key or to encrypt ([`CustodyError::Pkcs11`]); I/O.
pub fn seal_share_in_token(
    share: &UnlockedShare,
    token: &Token,
    pin: &str,
    key_label: Option<&str>,
    out: &Path,
) -> Result<String, CustodyError> {
    if out.exists() {
        return Err(CustodyError::Exists(out.to_path_buf()));
    }
    let i = share.participant;
    let group = &share.group;
    let key_label = key_label
        .map(str::to_string)
        .unwrap_or_else(|| format!("assay-share-{i}-{}", &group.public_key_hex()[..8]));
    let plain = Zeroizing::new(
        share
            .key_package
            .serialize()
            .map_err(|e| CustodyError::Parameters(format!("key package: {e}")))?,
    );
    let s = token.login(pin)?;
    let key_id = random_id()?;
    let key = s
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Wrap(false),
                Attribute::Unwrap(false),
                Attribute::Label(key_label.as_bytes().to_vec()),
                Attribute::Id(key_id.clone()),
            ],
        )
        .map_err(ck(format!(
            "{}: generating AES-256 key {key_label:?}",
            token.what()
        )))?;
    let sealed = (|| {
        token.check_protected(&s, key, &key_label)?;
        let mut iv = files::random::<12>()?;
        let iv_copy = iv;
        let aad = token_aad(group, i);
        let params = GcmParams::new(&mut iv, &aad, 128.into())
            .map_err(ck(format!("{}: GCM parameters", token.what())))?;
        let ct = s
            .encrypt(&Mechanism::AesGcm(params), key, &plain)
            .map_err(ck(format!(
                "{}: encrypting with {key_label:?}",
                token.what()
            )))?;
        Ok::<_, CustodyError>((iv_copy, ct))
    })();
    let (iv, ct) = match sealed {
        Ok(v) => v,
        Err(e) => {
            let _ = s.destroy_object(key);
            return Err(e);
        }
    };
    let pf = group_file_fields(group);
    let file = TokenShareFile {
        version: FORMAT_VERSION,
        kind: TOKEN_SHARE_KIND.into(),
        ciphersuite: CIPHERSUITE.into(),
        participant: i,
        threshold: group.threshold,
        participants: group.participants,
        group_public_key: group.public_key_hex(),
        verifying_shares: pf,
        token_label: token.label.clone(),
        key_label: key_label.clone(),
        key_id: hex::encode(&key_id),
        mechanism: GCM.into(),
        iv: hex::encode(iv),
        ciphertext: hex::encode(ct),
    };
    if let Err(e) = files::write_new_json(out, &file, true) {
        let _ = s.destroy_object(key);
        return Err(e);
    }
    // Check that what was written opens, before anyone deletes the original.
    drop(s);
    open_token_share(out, token.module(), pin).map(|_| key_label)
}

fn group_file_fields(group: &GroupPublicKey) -> BTreeMap<u16, String> {
    group
        .verifying_shares
        .iter()
        .map(|(n, b)| (*n, hex::encode(b)))
        .collect()
}

/// Moves the share in the encrypted keystore file `share_file` into token `token`: unlocks it
/// with `passphrase` (failed attempts counted under `policy`), seals it by a new token key,
/// writes `out`, and checks that `out` opens. The keystore file is left in place: delete it
/// (or keep it offline as a backup) once the token share is in service.
///
/// # Errors
/// As [`crate::vault::open_share`] and [`seal_share_in_token`].
pub fn import_share(
    share_file: &Path,
    passphrase: &str,
    policy: VaultPolicy,
    token: &Token,
    pin: &str,
    key_label: Option<&str>,
    out: &Path,
) -> Result<String, CustodyError> {
    if out.exists() {
        return Err(CustodyError::Exists(out.to_path_buf()));
    }
    let share = crate::vault::open_share(share_file, passphrase, policy)?;
    seal_share_in_token(&share, token, pin, key_label, out)
}

/// Opens the token share file at `path`: the token named in it (in `module`) decrypts the key
/// package into memory, which must match the file's public description.
///
/// # Errors
/// [`CustodyError::Malformed`] for the file; [`CustodyError::TokenPin`]; the key is missing or
/// not protected, or the token refuses to decrypt (a modified file, or another token's key)
/// ([`CustodyError::Pkcs11`]).
pub fn open_token_share(
    path: &Path,
    module: &Path,
    pin: &str,
) -> Result<UnlockedShare, CustodyError> {
    let (f, info) = read_token_share_file(path)?;
    let iv = hex_exact::<12>(&f.iv, path, TOKEN_SHARE_WHAT, "iv")?;
    let ct = hex_vec(&f.ciphertext, path, TOKEN_SHARE_WHAT, "ciphertext")?;
    let token = Token::open(module, &info.token_label)?;
    let s = token.login(pin)?;
    let key = token.find(&s, ObjectClass::SECRET_KEY, &info.key_label, &info.key_id)?;
    token.check_protected(&s, key, &info.key_label)?;
    let mut iv = iv;
    let aad = token_aad(&info.group, info.participant);
    let params = GcmParams::new(&mut iv, &aad, 128.into())
        .map_err(ck(format!("{}: GCM parameters", token.what())))?;
    let plain = Zeroizing::new(
        s.decrypt(&Mechanism::AesGcm(params), key, &ct)
            .map_err(|e| {
                pkcs11_err(
                    format!("{}: {}", path.display(), token.what()),
                    format!(
                        "the token does not decrypt this share ({e}): the file was modified, \
                         or it was sealed by another token's key"
                    ),
                )
            })?,
    );
    let kp = KeyPackage::deserialize(&plain).map_err(|e| {
        malformed(
            path,
            TOKEN_SHARE_WHAT,
            format!("decrypted key package: {e}"),
        )
    })?;
    check_key_package(&kp, &info.group, info.participant).map_err(|r| {
        malformed(
            path,
            TOKEN_SHARE_WHAT,
            format!("decrypted key package: {r}"),
        )
    })?;
    Ok(UnlockedShare {
        participant: info.participant,
        group: info.group,
        key_package: kp,
    })
}

// ---------------------------------------------------------------------------------------------
// Plain Ed25519 in the token (CKM_EDDSA).

/// A plain Ed25519 key pair held by a token: where it is and its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEd25519Key {
    /// The token's label.
    pub token_label: String,
    /// The key pair's label (`CKA_LABEL`, both halves).
    pub key_label: String,
    /// The key pair's id (`CKA_ID`, both halves).
    pub key_id: Vec<u8>,
    /// The Ed25519 public key (32 bytes, RFC 8032 encoding).
    pub public_key: [u8; 32],
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ed25519KeyFile {
    version: u32,
    kind: String,
    algorithm: String,
    token_label: String,
    key_label: String,
    key_id: String,
    public_key: String,
}

impl TokenEd25519Key {
    /// The public key as lowercase hex (Assay's Ed25519 public key format).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key)
    }

    /// Writes the key file (public data only) to a new file.
    ///
    /// # Errors
    /// [`CustodyError::Exists`], I/O.
    pub fn write_new(&self, path: &Path) -> Result<(), CustodyError> {
        let f = Ed25519KeyFile {
            version: FORMAT_VERSION,
            kind: ED25519_KEY_KIND.into(),
            algorithm: "ed25519".into(),
            token_label: self.token_label.clone(),
            key_label: self.key_label.clone(),
            key_id: hex::encode(&self.key_id),
            public_key: self.public_key_hex(),
        };
        files::write_new_json(path, &f, false)
    }

    /// Reads a key file.
    ///
    /// # Errors
    /// I/O, [`CustodyError::Malformed`] (also for a public key that is not a valid point).
    pub fn read(path: &Path) -> Result<Self, CustodyError> {
        let f: Ed25519KeyFile = read_json(path, ED25519_KEY_WHAT)?;
        if f.version != FORMAT_VERSION || f.kind != ED25519_KEY_KIND || f.algorithm != "ed25519" {
            return Err(malformed(
                path,
                ED25519_KEY_WHAT,
                format!(
                    "expected version {FORMAT_VERSION}, kind {ED25519_KEY_KIND}, algorithm ed25519"
                ),
            ));
        }
        let public_key = hex_exact::<32>(&f.public_key, path, ED25519_KEY_WHAT, "public_key")?;
        ed25519_dalek::VerifyingKey::from_bytes(&public_key)
            .map_err(|e| malformed(path, ED25519_KEY_WHAT, format!("public_key: {e}")))?;
        Ok(Self {
            token_label: f.token_label,
            key_label: f.key_label,
            key_id: hex_vec(&f.key_id, path, ED25519_KEY_WHAT, "key_id")?,
            public_key,
        })
    }
}

/// The 32 bytes of an Ed25519 `CKA_EC_POINT` (a DER OCTET STRING, or the raw bytes).
fn ec_point_bytes(b: &[u8]) -> Option<[u8; 32]> {
    match b {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest.try_into().ok(),
        raw if raw.len() == 32 => raw.try_into().ok(),
        _ => None,
    }
}

fn public_key_of(token: &Token, s: &Session, h: ObjectHandle) -> Result<[u8; 32], CustodyError> {
    let attrs = s
        .get_attributes(h, &[AttributeType::EcPoint])
        .map_err(ck(token.what()))?;
    attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => ec_point_bytes(&p),
            _ => None,
        })
        .ok_or_else(|| {
            pkcs11_err(
                token.what(),
                "the public key's CKA_EC_POINT is not an Ed25519 point",
            )
        })
}

/// Generates an Ed25519 key pair in `token` (`CKM_EC_EDWARDS_KEY_PAIR_GEN`, curve
/// `edwards25519`), labelled `key_label` with a random id; the private key is a token object,
/// private, sensitive, not extractable, for signing only. Returns where it is and its public
/// key (checked to be a valid Ed25519 point).
///
/// # Errors
/// [`CustodyError::TokenPin`]; the token lacks the mechanism or refuses
/// ([`CustodyError::Pkcs11`]).
pub fn ed25519_keygen(
    token: &Token,
    pin: &str,
    key_label: &str,
) -> Result<TokenEd25519Key, CustodyError> {
    if key_label.is_empty() {
        return Err(CustodyError::Parameters(
            "an empty key label is refused".into(),
        ));
    }
    let s = token.login(pin)?;
    let id = random_id()?;
    let label = key_label.as_bytes().to_vec();
    let (public, private) = s
        .generate_key_pair(
            &Mechanism::EccEdwardsKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Verify(true),
                Attribute::EcParams(ED25519_EC_PARAMS.to_vec()),
                Attribute::Label(label.clone()),
                Attribute::Id(id.clone()),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Label(label),
                Attribute::Id(id.clone()),
            ],
        )
        .map_err(ck(format!(
            "{}: generating Ed25519 key pair {key_label:?}",
            token.what()
        )))?;
    let checked = (|| {
        token.check_protected(&s, private, key_label)?;
        let pk = public_key_of(token, &s, public)?;
        ed25519_dalek::VerifyingKey::from_bytes(&pk)
            .map_err(|e| pkcs11_err(token.what(), format!("generated public key: {e}")))?;
        Ok::<_, CustodyError>(pk)
    })();
    match checked {
        Ok(public_key) => Ok(TokenEd25519Key {
            token_label: token.label.clone(),
            key_label: key_label.to_string(),
            key_id: id,
            public_key,
        }),
        Err(e) => {
            let _ = s.destroy_object(private);
            let _ = s.destroy_object(public);
            Err(e)
        }
    }
}

/// Signs `message` with `CKM_EDDSA` (pure Ed25519, RFC 8032) by the key pair `key` in its
/// token (found in `module`); the token's public key must be `key.public_key`, and the
/// signature is verified with `ed25519-dalek` before it is returned.
///
/// # Errors
/// [`CustodyError::TokenPin`]; the key is missing or not protected, or the token refuses
/// ([`CustodyError::Pkcs11`]); [`CustodyError::Verification`] if the signature does not verify.
pub fn ed25519_sign(
    module: &Path,
    key: &TokenEd25519Key,
    pin: &str,
    message: &[u8],
) -> Result<[u8; 64], CustodyError> {
    let token = Token::open(module, &key.token_label)?;
    let s = token.login(pin)?;
    let private = token.find(&s, ObjectClass::PRIVATE_KEY, &key.key_label, &key.key_id)?;
    token.check_protected(&s, private, &key.key_label)?;
    let public = token.find(&s, ObjectClass::PUBLIC_KEY, &key.key_label, &key.key_id)?;
    if public_key_of(&token, &s, public)? != key.public_key {
        return Err(pkcs11_err(
            token.what(),
            format!(
                "key {:?} in the token is not the public key {} of the key file",
                key.key_label,
                key.public_key_hex()
            ),
        ));
    }
    let sig = s
        .sign(
            &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            private,
            message,
        )
        .map_err(ck(format!(
            "{}: CKM_EDDSA with {:?}",
            token.what(),
            key.key_label
        )))?;
    let sig: [u8; 64] = sig.as_slice().try_into().map_err(|_| {
        pkcs11_err(
            token.what(),
            format!("CKM_EDDSA returned {} bytes, not 64", sig.len()),
        )
    })?;
    crate::verify_ed25519(&key.public_key, message, &sig)?;
    Ok(sig)
}

/// [`ed25519_sign`], as a signature record (`SIG.json`, no FROST signers) that
/// `assay keys verify` checks.
///
/// # Errors
/// As [`ed25519_sign`].
pub fn ed25519_signed(
    module: &Path,
    key: &TokenEd25519Key,
    pin: &str,
    message: &[u8],
) -> Result<crate::sign::Signed, CustodyError> {
    let signature = ed25519_sign(module, key, pin, message)?;
    Ok(crate::sign::Signed {
        public_key: key.public_key,
        message_sha256: crate::sign::sha256(message),
        signers: Vec::new(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_forms() {
        let k = [7u8; 32];
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&k);
        assert_eq!(ec_point_bytes(&der), Some(k));
        assert_eq!(ec_point_bytes(&k), Some(k));
        assert_eq!(ec_point_bytes(&der[..20]), None);
        assert_eq!(ec_point_bytes(&[0x04, 0x21, 1, 2]), None);
    }

    #[test]
    fn missing_module_is_a_clear_error() {
        let e = Token::open(Path::new("/nonexistent/libnothing.so"), "t").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("/nonexistent/libnothing.so") && s.contains("no such file"),
            "{s}"
        );
    }

    #[test]
    fn not_a_token_share() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        std::fs::write(&p, "{\"kind\":\"assay-frost-ed25519-share\"}").unwrap();
        assert!(!is_token_share(&p));
        std::fs::write(&p, format!("{{\"kind\":\"{TOKEN_SHARE_KIND}\"}}")).unwrap();
        assert!(is_token_share(&p));
        assert!(read_token_share(&p).is_err());
        assert!(!is_token_share(&d.path().join("missing.json")));
    }
}
