//! Prepared verifying keys kept across rounds in one process (a page's session, a server, a
//! command), by the SHA-256 of their bytes.
//!
//! A key is fully determined by its bytes, and a cached key is only ever handed out for a
//! hash that the caller has just recomputed from the bytes it holds ([`prepared`] hashes them
//! itself): so a hit returns exactly the key those bytes decode to, already prepared. Keys
//! enter the cache only after [`super::solvency::Groth16Keys::open`] has checked every proof's
//! key against the pinned manifests (or the caller chose to trust the bundle's keys), and a
//! later round is checked against its own pins before any cached key is used for it: the
//! cache saves work, never a check.
//!
//! The cache is bounded ([`CAPACITY`] keys, about 60 kB each): when full it is emptied.

use super::{decode_pinned_vk, vk_hash_of_hex, Key};
use crate::VerifyError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// How many prepared keys one process keeps.
pub const CAPACITY: usize = 64;

fn cache() -> &'static Mutex<BTreeMap<String, Arc<Key>>> {
    static CACHE: OnceLock<Mutex<BTreeMap<String, Arc<Key>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// The prepared key whose bytes are `hexkey`, which a bundle names `hash`: the bytes are
/// hashed (a mismatch is an error naming both), then the key is taken from the cache or
/// decoded as a pinned key ([`decode_pinned_vk`]) and prepared.
///
/// # Errors
/// [`VerifyError::Key`] if the bytes do not hash to `hash`; a format error naming `field` if
/// they do not decode.
pub(crate) fn prepared(hash: &str, hexkey: &str, field: &str) -> Result<Arc<Key>, VerifyError> {
    let actual = vk_hash_of_hex(hexkey)?;
    if actual != hash {
        return Err(VerifyError::Key {
            hash: hash.into(),
            message: format!("its bytes hash to {actual}"),
        });
    }
    // A poisoned lock only means another thread panicked while holding it; the map itself is
    // always whole (every update is one insert or clear).
    if let Some(k) = cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&actual)
    {
        return Ok(Arc::clone(k));
    }
    let key = Arc::new(Key::new(&decode_pinned_vk(hexkey, field)?));
    let mut map = cache().lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.insert(actual, Arc::clone(&key));
    Ok(key)
}

/// How many keys the cache holds now (tests).
#[cfg(test)]
pub(crate) fn len() -> usize {
    cache().lock().unwrap_or_else(|e| e.into_inner()).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solvency::RoundBundle;

    /// The cache is one per process: the tests that look at its contents take turns.
    static TURN: Mutex<()> = Mutex::new(());

    fn refused(r: Result<Arc<Key>, VerifyError>) -> VerifyError {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    fn frozen_keys() -> Vec<(String, String)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/solvency/frozen/v1/round.json"
        );
        let b = RoundBundle::parse(&std::fs::read(path).unwrap(), "round").unwrap();
        b.verifying_keys.into_iter().collect()
    }

    #[test]
    fn a_cached_key_is_only_given_for_the_bytes_that_hash_to_it() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let keys = frozen_keys();
        let (hash, hex) = &keys[0];
        let (other_hash, other_hex) = &keys[1];
        let first = prepared(hash, hex, "k").unwrap();
        let again = prepared(hash, hex, "k").unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second open reuses the prepared key"
        );
        assert!(len() >= 1);

        // Another key's bytes under the cached key's name: refused, though the name is cached.
        let e = refused(prepared(hash, other_hex, "k")).to_string();
        assert!(e.contains(other_hash.as_str()), "{e}");
        // One byte changed under the cached name: refused before any cache lookup.
        let mut bytes = hex::decode(hex).unwrap();
        bytes[40] ^= 1;
        let e = refused(prepared(hash, &hex::encode(bytes), "k"));
        assert!(matches!(e, VerifyError::Key { .. }), "{e}");
        // The cached key is the one the bytes decode to.
        let fresh = Key::new(&decode_pinned_vk(hex, "k").unwrap());
        assert_eq!(fresh.num_inputs(), first.num_inputs());
        let other = prepared(other_hash, other_hex, "k").unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let keys = frozen_keys();
        let (_, hex) = &keys[0];
        // Distinct names for the same bytes cannot enter (the hash is checked), so fill the
        // map directly and check that the next insert empties it first.
        {
            let mut map = cache().lock().unwrap();
            let k = Arc::new(Key::new(&decode_pinned_vk(hex, "k").unwrap()));
            map.clear();
            for i in 0..CAPACITY {
                map.insert(format!("filler {i}"), Arc::clone(&k));
            }
        }
        let (hash, hex) = &keys[1];
        prepared(hash, hex, "k").unwrap();
        let map = cache().lock().unwrap();
        // (Other tests of this process may have added their keys since.)
        assert!(map.len() <= CAPACITY, "{}", map.len());
        assert!(
            !map.keys().any(|k| k.starts_with("filler")),
            "a full cache is emptied before the next key goes in"
        );
        assert!(map.contains_key(hash.as_str()));
    }
}
