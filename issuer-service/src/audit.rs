//! The hash-chained audit log of admin actions.
//!
//! Entry `n` (numbered from 1) carries the hash of entry `n - 1` (64 zeros for entry 1) and its
//! own hash:
//!
//! ```text
//! hash = SHA-256( "assay-issuer-audit-v1" || 0x00 || seq (u64 big-endian)
//!                 || for time, actor_role, actor_key_id, action, params:
//!                      length (u64 big-endian) || UTF-8 bytes
//!                 || prev_hash (64 lowercase hex digits, ASCII) )
//! ```
//!
//! `params` is hashed as the exact JSON text stored, so no re-serialisation can change a hash.
//! [`verify`] walks the entries in stored order and names the first one where the chain breaks:
//! a changed entry (its hash no longer matches its contents), a missing one (a gap in `seq`), a
//! reordered one (a later `seq` before an earlier one) or a link that does not match. Dropping
//! the newest entries leaves a valid shorter chain: compare the head ([`Head`]) with one kept
//! elsewhere (the service logs every new head, and admin responses carry it).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format version of an exported audit log.
pub const AUDIT_FORMAT_VERSION: u32 = 1;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN: &[u8] = b"assay-issuer-audit-v1\0";

/// One audited admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Position in the chain, from 1, no gaps.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The caller's role (`admin`, or `operator` for a command run on the service's host).
    pub actor_role: String,
    /// The caller's key id (never the key), or `cli`.
    pub actor_key_id: String,
    /// `issue`, `revoke`, `publish`, `key-add`, `key-revoke`.
    pub action: String,
    /// The action's parameters as JSON object text (never a secret: no key, no passphrase).
    pub params: String,
    /// The hash of entry `seq - 1` ([`GENESIS`] for entry 1).
    pub prev_hash: String,
    /// This entry's hash (see the module docs).
    pub hash: String,
}

/// An exported audit log (`GET /v1/audit`, `audit verify --json`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditLog {
    /// [`AUDIT_FORMAT_VERSION`].
    pub version: u32,
    /// Every entry, oldest first.
    pub entries: Vec<AuditEntry>,
}

/// The newest entry of a chain: what an outside copy pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The newest entry's number (0: empty log).
    pub seq: u64,
    /// The newest entry's hash ([`GENESIS`] for an empty log).
    pub hash: String,
}

/// The hash of an entry's contents chained to `prev_hash`.
pub fn entry_hash(
    seq: u64,
    time: &str,
    actor_role: &str,
    actor_key_id: &str,
    action: &str,
    params: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(seq.to_be_bytes());
    for field in [time, actor_role, actor_key_id, action, params] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.update(prev_hash.as_bytes());
    hex::encode(h.finalize())
}

impl AuditEntry {
    /// The hash this entry's contents and link must have.
    pub fn expected_hash(&self) -> String {
        entry_hash(
            self.seq,
            &self.time,
            &self.actor_role,
            &self.actor_key_id,
            &self.action,
            &self.params,
            &self.prev_hash,
        )
    }
}

/// Where and why a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log breaks at entry {seq} (position {position} of {count}): {reason}")]
pub struct ChainBreak {
    /// The number of the entry where the chain breaks (the one expected at that position).
    pub seq: u64,
    /// Its position in the stored order, from 1.
    pub position: usize,
    /// How many entries were read.
    pub count: usize,
    /// What is wrong, in words.
    pub reason: String,
}

/// Checks a whole chain in stored order; returns its head.
///
/// # Errors
/// [`ChainBreak`] naming the first entry where the chain breaks.
pub fn verify(entries: &[AuditEntry]) -> Result<Head, ChainBreak> {
    let count = entries.len();
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected = i as u64 + 1;
        let fail = |reason: String| ChainBreak {
            seq: expected,
            position: i + 1,
            count,
            reason,
        };
        if e.seq != expected {
            let later = entries[i + 1..].iter().any(|x| x.seq == expected);
            return Err(fail(if later {
                format!(
                    "entry {expected} is out of order: entry {} comes before it (reordered)",
                    e.seq
                )
            } else if e.seq > expected {
                format!(
                    "entry {expected} is missing (deleted): the next entry is {}",
                    e.seq
                )
            } else {
                format!(
                    "entry {} appears again where entry {expected} belongs (duplicated or reordered)",
                    e.seq
                )
            }));
        }
        if e.prev_hash != prev {
            return Err(fail(format!(
                "its prev_hash {} is not the hash of entry {} ({prev}): an entry before it was \
                 changed, removed or inserted",
                e.prev_hash,
                expected - 1
            )));
        }
        let h = e.expected_hash();
        if h != e.hash {
            return Err(fail(format!(
                "its contents do not match its hash (stored {}, computed {h}): the entry was changed",
                e.hash
            )));
        }
        prev = h;
    }
    Ok(Head {
        seq: count as u64,
        hash: prev,
    })
}

/// Checks that `head` (a copy kept elsewhere) is in the verified chain `entries`: catches
/// dropped newest entries, which [`verify`] alone cannot see.
///
/// # Errors
/// A message naming the pinned entry and what the chain holds instead.
pub fn check_head(entries: &[AuditEntry], head: &Head) -> Result<(), String> {
    if head.seq == 0 {
        return if head.hash == GENESIS {
            Ok(())
        } else {
            Err("a head of seq 0 must have the genesis hash".into())
        };
    }
    match entries.get(head.seq as usize - 1) {
        None => Err(format!(
            "the pinned head is entry {} but the log has only {} entries: newer entries were removed",
            head.seq,
            entries.len()
        )),
        Some(e) if e.hash != head.hash => Err(format!(
            "entry {} has hash {}, not the pinned {}",
            head.seq, e.hash, head.hash
        )),
        Some(_) => Ok(()),
    }
}

/// Parses `SEQ:HASH`.
///
/// # Errors
/// A message naming the text.
pub fn parse_head(text: &str) -> Result<Head, String> {
    let (seq, hash) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: expected SEQ:HASH"))?;
    let seq = seq
        .parse()
        .map_err(|_| format!("`{seq}`: not an entry number"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{hash}`: not a SHA-256 hash (64 hex digits)"));
    }
    Ok(Head {
        seq,
        hash: hash.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let params = format!("{{\"serial\":{seq}}}");
                let hash = entry_hash(seq, "t", "admin", "k", "revoke", &params, &prev);
                let e = AuditEntry {
                    seq,
                    time: "t".into(),
                    actor_role: "admin".into(),
                    actor_key_id: "k".into(),
                    action: "revoke".into(),
                    params,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_every_tampering_names_its_entry() {
        let c = chain(5);
        let head = verify(&c).unwrap();
        assert_eq!(head.seq, 5);
        assert_eq!(verify(&[]).unwrap().hash, GENESIS);

        // Each field of entry 3 changed, hash left as stored: entry 3.
        for f in 0..5 {
            let mut t = c.clone();
            let e = &mut t[2];
            match f {
                0 => e.time.push('x'),
                1 => e.actor_role = "auditor".into(),
                2 => e.actor_key_id.push('x'),
                3 => e.action = "issue".into(),
                _ => e.params = "{\"serial\":9}".into(),
            }
            let b = verify(&t).unwrap_err();
            assert_eq!((b.seq, b.position), (3, 3), "{b}");
            assert!(b.reason.contains("changed"), "{b}");
        }
        // Entry 3 changed and its hash recomputed: the link of entry 4 breaks.
        let mut t = c.clone();
        t[2].params = "{\"serial\":9}".into();
        t[2].hash = t[2].expected_hash();
        let b = verify(&t).unwrap_err();
        assert_eq!(b.seq, 4, "{b}");
        assert!(b.reason.contains("prev_hash"), "{b}");
        // Entry 3 deleted.
        let mut t = c.clone();
        t.remove(2);
        let b = verify(&t).unwrap_err();
        assert_eq!((b.seq, b.position), (3, 3), "{b}");
        assert!(b.reason.contains("missing"), "{b}");
        // Entries 3 and 4 swapped.
        let mut t = c.clone();
        t.swap(2, 3);
        let b = verify(&t).unwrap_err();
        assert_eq!((b.seq, b.position), (3, 3), "{b}");
        assert!(b.reason.contains("reordered"), "{b}");
        // Entry 2 duplicated in place of 3.
        let mut t = c.clone();
        t[2] = t[1].clone();
        let b = verify(&t).unwrap_err();
        assert_eq!(b.seq, 3, "{b}");
        // The newest entry dropped: the chain alone is valid, the pinned head is not in it.
        let mut t = c.clone();
        t.pop();
        assert!(verify(&t).is_ok());
        assert!(check_head(&t, &head).is_err());
        assert!(check_head(&c, &head).is_ok());
        let mut wrong = head.clone();
        wrong.hash = GENESIS.into();
        assert!(check_head(&c, &wrong).is_err());
    }

    #[test]
    fn heads_parse() {
        let h = parse_head(&format!("3:{}", "AB".repeat(32))).unwrap();
        assert_eq!(h.seq, 3);
        assert_eq!(h.hash, "ab".repeat(32));
        assert!(parse_head("3").is_err());
        assert!(parse_head("x:00").is_err());
        assert!(parse_head("3:zz").is_err());
    }
}
