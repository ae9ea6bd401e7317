//! Client secrets: generation in Entra's format, salted hashing, constant-time checks.
//!
//! Only the salted SHA-256 of a secret is kept. A deliberately slow hash (bcrypt, argon2)
//! would make every token request pay for it; the secrets are 240 bits of randomness, so a
//! fast salted hash already makes the stored value useless for recovering them.

use aws_lc_rs::digest::{SHA256, digest};
use time::OffsetDateTime;

/// 64 of the characters Entra uses in generated client secrets (a power of two, so a
/// random byte maps onto it without bias).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

/// A stored secret: salt and SHA-256(salt ‖ secret). Never holds the plaintext.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretHash {
    salt: [u8; 16],
    digest: [u8; 32],
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(***)")
    }
}

impl SecretHash {
    /// Hashes `secret` with a fresh random salt.
    pub(crate) fn new(secret: &str) -> Self {
        let mut salt = [0u8; 16];
        fill(&mut salt);
        Self {
            digest: hash(&salt, secret),
            salt,
        }
    }

    /// The salt and the digest, for persisting them.
    pub(crate) fn parts(&self) -> (&[u8; 16], &[u8; 32]) {
        (&self.salt, &self.digest)
    }

    /// A hash from persisted parts; `None` when a part has the wrong length.
    pub(crate) fn from_parts(salt: &[u8], digest: &[u8]) -> Option<Self> {
        Some(Self {
            salt: salt.try_into().ok()?,
            digest: digest.try_into().ok()?,
        })
    }

    /// Whether `candidate` is the secret, compared in constant time.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        let got = hash(&self.salt, candidate);
        aws_lc_rs::constant_time::verify_slices_are_equal(&got, &self.digest).is_ok()
    }
}

/// Whether `candidate` equals `expected`, in a time that depends on neither where they
/// differ nor their lengths (both are hashed, then the digests compared in constant time).
pub(crate) fn same(candidate: &str, expected: &str) -> bool {
    let (a, b) = (
        digest(&SHA256, candidate.as_bytes()),
        digest(&SHA256, expected.as_bytes()),
    );
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
}

fn hash(salt: &[u8; 16], secret: &str) -> [u8; 32] {
    let mut input = Vec::with_capacity(16 + secret.len());
    input.extend_from_slice(salt);
    input.extend_from_slice(secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &input).as_ref());
    out
}

/// Random bytes straight from the OS. aws-lc's generator first collects CPU-jitter entropy
/// (tens to hundreds of milliseconds, once per process), which the start of the binary would
/// otherwise wait for to salt the admin's secret; salts and secrets need no more than the OS
/// gives.
fn fill(buf: &mut [u8]) {
    // The system RNG only fails if the OS has no entropy source at all.
    if getrandom::fill(buf).is_err() {
        panic!("the operating system's random number generator failed");
    }
}

/// A new 40-character secret shaped like Entra's (`xxxxQ~` followed by 34 characters).
pub(crate) fn generate() -> String {
    let mut bytes = [0u8; 38];
    fill(&mut bytes);
    let mut out = String::with_capacity(40);
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            out.push_str("Q~");
        }
        out.push(char::from(ALPHABET[usize::from(*b) % 64]));
    }
    out
}

/// The first three characters, which Graph shows as the credential's `hint`.
pub(crate) fn hint(secret: &str) -> String {
    secret.chars().take(3).collect()
}

/// `start` plus `years` calendar years: the end of a secret valid for 12 or 24 months (Graph's
/// default is two years). 29 February falls back to 365 days a year; past year 9999 the
/// date stops at the last representable instant instead of overflowing.
pub(crate) fn years_after(start: OffsetDateTime, years: u8) -> OffsetDateTime {
    start
        .replace_year(start.year() + i32::from(years))
        .ok()
        .or_else(|| start.checked_add(time::Duration::days(365 * i64::from(years))))
        .unwrap_or(time::macros::datetime!(9999-12-31 23:59:59.999_999_999 UTC))
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext; call only where the value must go on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_entra_shape_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), 40);
        assert_eq!(&a[4..6], "Q~");
        assert!(
            a.bytes()
                .enumerate()
                .all(|(i, c)| (4..6).contains(&i) || ALPHABET.contains(&c))
        );
        assert_ne!(a, b);
    }

    #[test]
    fn same_compares_whole_values() {
        assert!(same("token", "token"));
        for other in ["", "t", "toke", "tokem", "token ", "Token"] {
            assert!(!same(other, "token"), "{other}");
        }
    }

    #[test]
    fn hash_matches_only_the_secret_and_salts_differ() {
        let s = generate();
        let h1 = SecretHash::new(&s);
        let h2 = SecretHash::new(&s);
        assert!(h1.matches(&s));
        assert!(!h1.matches(&s[..39]));
        assert!(!h1.matches(""));
        assert_ne!(h1, h2, "same secret, different salt, different digest");
        assert_eq!(format!("{h1:?}"), "SecretHash(***)");
    }

    #[test]
    fn years_are_calendar_years_and_saturate() {
        use time::macros::datetime;
        assert_eq!(
            years_after(datetime!(2025-03-01 10:00 UTC), 2),
            datetime!(2027-03-01 10:00 UTC)
        );
        assert_eq!(
            years_after(datetime!(2024-02-29 0:00 UTC), 1),
            datetime!(2025-02-28 0:00 UTC)
        );
        assert_eq!(
            years_after(datetime!(9999-06-01 0:00 UTC), 2),
            datetime!(9999-12-31 23:59:59.999_999_999 UTC)
        );
    }

    #[test]
    fn hint_is_first_three_chars() {
        assert_eq!(hint("VwRxQ~abc"), "VwR");
        assert_eq!(hint("ab"), "ab");
    }
}
