//! API keys per role, stored only as Argon2id hashes.
//!
//! A key reads `aik_<key id>_<secret>`: the key id (16 hex digits) names the row, the secret
//! (64 hex digits, 256 random bits) is never stored: the row holds its Argon2id hash (salt and
//! costs beside it), so a copy of the database lets nobody call the service. The key is shown
//! once, by [`crate::store::Store::add_key`]. A holder's key is bound to one credential serial:
//! it reads that serial's path and nothing else.

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// Who may call what (the role × endpoint matrix is in the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Issues, revokes, publishes.
    Admin,
    /// Reads the epochs and the audit log.
    Auditor,
    /// Reads its own credential's path.
    Holder,
}

impl Role {
    /// The role's name as stored and logged.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Holder => "holder",
        }
    }

    /// Parses `admin`, `auditor` or `holder`.
    ///
    /// # Errors
    /// A message naming the text and the accepted names.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            "holder" => Ok(Role::Holder),
            other => Err(format!("unknown role `{other}` (admin, auditor or holder)")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Argon2id costs of an API key hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCost {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KeyCost {
    /// OWASP's Argon2id recommendation (19 MiB, 2 passes, 1 lane): the secret already has 256
    /// random bits, so the hash guards a stolen database, not a guessable password, and each
    /// request pays it once.
    pub const DEFAULT: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// The cheapest cost accepted from a stored row (an attacker who edits the database cannot
    /// make hashes cheaper than this); tests use it.
    pub const MINIMUM: Self = Self {
        m_cost_kib: 8 * 1024,
        t_cost: 1,
        p_cost: 1,
    };
}

/// A presented API key, parsed (the secret is wiped when dropped, and never printed).
pub struct PresentedKey {
    /// The key id (public: it names the row and is logged).
    pub id: String,
    /// The secret part.
    pub secret: Zeroizing<String>,
}

impl fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedKey {{ id: {}, secret: *** }}", self.id)
    }
}

/// The prefix of every API key.
pub const KEY_PREFIX: &str = "aik_";

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl PresentedKey {
    /// Parses `aik_<16 hex>_<64 hex>`; `None` for anything else (the caller answers 401
    /// without saying which part was wrong).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(KEY_PREFIX)?;
        let (id, secret) = rest.split_once('_')?;
        (is_lower_hex(id, 16) && is_lower_hex(secret, 64)).then(|| Self {
            id: id.to_string(),
            secret: Zeroizing::new(secret.to_string()),
        })
    }
}

/// A new key: its id, the whole key (shown once) and the stored hash.
pub(crate) struct NewKey {
    pub id: String,
    pub key: Zeroizing<String>,
    pub salt: String,
    pub hash: String,
}

pub(crate) fn random_hex(n: usize) -> Result<String, String> {
    let mut b = Zeroizing::new(vec![0u8; n]);
    getrandom::fill(&mut b).map_err(|e| format!("random source: {e}"))?;
    Ok(hex::encode(&*b))
}

/// Argon2id of `secret` under `salt` (hex) and `cost`, hex.
pub(crate) fn hash_secret(secret: &str, salt_hex: &str, cost: KeyCost) -> Result<String, String> {
    let salt = hex::decode(salt_hex).map_err(|_| "stored salt is not hex".to_string())?;
    let params = argon2::Params::new(cost.m_cost_kib, cost.t_cost, cost.p_cost, Some(32))
        .map_err(|e| format!("Argon2 parameters: {e}"))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    a.hash_password_into(secret.as_bytes(), &salt, out.as_mut())
        .map_err(|e| format!("Argon2: {e}"))?;
    Ok(hex::encode(*out))
}

pub(crate) fn new_key(cost: KeyCost) -> Result<NewKey, String> {
    let id = random_hex(8)?;
    let secret = Zeroizing::new(random_hex(32)?);
    let salt = random_hex(16)?;
    let hash = hash_secret(&secret, &salt, cost)?;
    let key = Zeroizing::new(format!("{KEY_PREFIX}{id}_{}", &*secret));
    Ok(NewKey {
        id,
        key,
        salt,
        hash,
    })
}

/// Equality of two equal-length strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_only_in_their_exact_shape() {
        let k = new_key(KeyCost::MINIMUM).unwrap();
        let p = PresentedKey::parse(&k.key).unwrap();
        assert_eq!(p.id, k.id);
        assert_eq!(
            hash_secret(&p.secret, &k.salt, KeyCost::MINIMUM).unwrap(),
            k.hash
        );
        assert!(!format!("{p:?}").contains(&*p.secret));
        let bad: Vec<String> = vec![
            String::new(),
            "aik_".into(),
            k.key[1..].to_string(),
            format!("{}x", &*k.key),
            k.key.to_uppercase(),
            k.key.replace('_', "-"),
        ];
        for b in &bad {
            assert!(PresentedKey::parse(b).is_none(), "{b}");
        }
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
