//! A bounded cache of validated bearer tokens, so that a client repeating the same token
//! costs one hash lookup per request instead of a signature verification.
//!
//! Only what does not change with time is cached: structure, signature, issuing instance,
//! issuer and tenant. Expiry and not-before are checked again on every hit, against the
//! emulator's clock, so advancing the clock expires cached tokens as it does fresh ones.
//! Each entry also remembers the key ring's [generation](KeyRing::generation): after a key
//! rotation a token is verified in full again on its next use, so a token whose key has left
//! the ring is refused whether or not it was used before.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::Mutex;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::KeyRing;
use crate::token::{self, Claims, TokenError};

/// Most tokens kept; when full the cache starts over (cheap, and a working set that large
/// is far beyond what tests and local tools produce).
const CAPACITY: usize = 4096;

/// Validated tokens by their exact text.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<Box<str>, Entry, BuildHasherDefault<TailHasher>>>,
}

/// A validated token's claims and the key ring generation it was verified under.
#[derive(Debug)]
struct Entry {
    claims: Arc<Claims>,
    generation: u64,
}

/// Hashes only the last bytes of a key. A token ends in its base64url RS256 signature,
/// which differs unpredictably from token to token, while SipHash over the whole token
/// (1–2 KB) was a visible share of an authorized ARM call. Keys are still compared in full.
/// Only tokens this emulator signed are inserted, so nobody can fill a bucket with chosen
/// collisions; a lookup with a forged token walks at most one bucket of genuine ones.
#[derive(Debug, Default)]
struct TailHasher(u64);

/// How many trailing bytes are hashed: 96 bits of the signature, in base64url.
const TAIL: usize = 16;

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = &bytes[bytes.len().saturating_sub(TAIL)..];
        for chunk in tail.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits weakest; hashbrown takes its bucket index from
        // them and its tag from the top seven bits, so fold the high half down.
        self.0 ^ (self.0 >> 32)
    }
}

impl TokenCache {
    /// [`token::validate`] with memory: a token seen valid before is only checked for expiry.
    pub(crate) fn validate(
        &self,
        token: &str,
        keys: &KeyRing,
        instance_tag: &str,
        tenant: &Uuid,
        now: OffsetDateTime,
    ) -> Result<Arc<Claims>, TokenError> {
        // Read before verifying: a rotation during the verification leaves the entry one
        // generation behind, to be verified again, never ahead.
        let generation = keys.generation();
        let stale = match self.entries.lock().get(token) {
            Some(entry) if entry.generation == generation => {
                check_lifetime(&entry.claims, now)?;
                return Ok(Arc::clone(&entry.claims));
            }
            Some(_) => true,
            None => false,
        };
        let claims = match token::validate(token, keys, instance_tag, tenant, now) {
            Ok(claims) => Arc::new(claims),
            Err(e) => {
                if stale {
                    self.entries.lock().remove(token);
                }
                return Err(e);
            }
        };
        let mut entries = self.entries.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            token.into(),
            Entry {
                claims: Arc::clone(&claims),
                generation,
            },
        );
        Ok(claims)
    }

    /// Number of cached tokens.
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether the cache is empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn check_lifetime(claims: &Claims, now: OffsetDateTime) -> Result<(), TokenError> {
    let now = now.unix_timestamp();
    if claims.exp <= now {
        return Err(TokenError::Expired { exp: claims.exp });
    }
    if claims.nbf > now {
        return Err(TokenError::NotYetValid { nbf: claims.nbf });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Grant, TokenVersion};
    use std::time::Duration;

    /// An hour-long ARM token's claims for the instance tagged "tag".
    fn arm_claims(version: TokenVersion, tenant: &Uuid, now: OffsetDateTime) -> Claims {
        token::claims(
            Grant {
                version,
                aud: "https://management.azure.com/",
                tenant,
                client_id: &Uuid::from_u128(2),
                client_name: "app",
                object_id: &Uuid::from_u128(3),
                roles: vec![],
                instance_tag: "tag",
            },
            now,
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn the_tail_hash_tells_tokens_apart_by_their_last_bytes() {
        let hash = |s: &str| {
            let mut h = TailHasher::default();
            std::hash::Hash::hash(s, &mut h);
            h.finish()
        };
        assert_eq!(
            hash("prefix-a.sig0123456789abcdef"),
            hash("prefix-b.sig0123456789abcdef")
        );
        assert_ne!(hash("x.sig0123456789abcdef"), hash("x.sig0123456789abcdeg"));
        assert_ne!(hash(""), hash("a"));
    }

    #[test]
    fn hits_are_rechecked_for_expiry_and_failures_are_not_cached() {
        let keys = KeyRing::new(None).expect("keys");
        let tenant = Uuid::from_u128(1);
        let now = OffsetDateTime::now_utc();
        let claims = arm_claims(TokenVersion::V1, &tenant, now);
        let jwt = token::mint(&keys.current(), &claims);
        let cache = TokenCache::default();
        assert!(
            cache
                .validate("garbage", &keys, "tag", &tenant, now)
                .is_err()
        );
        assert!(cache.is_empty());
        let first = cache
            .validate(&jwt, &keys, "tag", &tenant, now)
            .expect("valid");
        let second = cache
            .validate(&jwt, &keys, "tag", &tenant, now)
            .expect("valid");
        assert!(Arc::ptr_eq(&first, &second), "second call is a cache hit");
        assert_eq!(cache.len(), 1);
        let later = now + time::Duration::hours(2);
        assert_eq!(
            cache.validate(&jwt, &keys, "tag", &tenant, later).err(),
            Some(TokenError::Expired { exp: claims.exp })
        );
        let earlier = now - time::Duration::hours(1);
        assert!(matches!(
            cache.validate(&jwt, &keys, "tag", &tenant, earlier),
            Err(TokenError::NotYetValid { .. })
        ));
    }

    #[test]
    fn a_cached_token_is_refused_once_its_key_leaves_the_ring() {
        let keys = KeyRing::new(None).expect("keys");
        let old = keys.current();
        let tenant = Uuid::from_u128(1);
        let now = OffsetDateTime::now_utc();
        let claims = arm_claims(TokenVersion::V2, &tenant, now);
        let jwt = token::mint(&old, &claims);
        let cache = TokenCache::default();
        let validate = || cache.validate(&jwt, &keys, "tag", &tenant, now);
        assert!(validate().is_ok());
        // One rotation: the old key is still published, so its tokens stay valid.
        let new = crate::keys::SigningKey::generate()
            .map(Arc::new)
            .expect("key");
        keys.rotate(Arc::clone(&new));
        assert!(validate().is_ok());
        assert_eq!(cache.len(), 1);
        // The ring keeps three keys: two more rotations push the old one out.
        keys.rotate(Arc::clone(&new));
        keys.rotate(new);
        assert!(keys.find(old.kid()).is_none());
        assert_eq!(validate().err(), Some(TokenError::UnknownKey));
        assert!(cache.is_empty(), "the stale entry is dropped");
    }
}
