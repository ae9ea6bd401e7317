//! Token-signing keys: RSA-2048 key pairs with self-signed certificates, served as a JWKS.
//!
//! Generating an RSA key costs tens to hundreds of milliseconds, and a test suite starts
//! hundreds of in-process emulators, so one key is generated per process (on first use) and
//! shared by every emulator in it; a key can also be loaded from PKCS#8 PEM. A key ring
//! fetches that key only when it first signs, verifies or publishes, so starting an emulator
//! never waits for the generation; the binary starts it on a background thread at once
//! ([`generate_in_background`]). Rotation keeps the old
//! key in the JWKS (tokens it signed stay valid until they expire) and signs with the new one,
//! as Entra does when it rolls its signing keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde_json::{Value, json};

/// Why a signing key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PEM did not hold an RSA PKCS#8 private key of at least 2048 bits.
    #[error("not an RSA PKCS#8 private key of 2048 bits or more: {0}")]
    InvalidKey(String),
    /// Key generation failed.
    #[error("could not generate an RSA key: {0}")]
    Generation(String),
    /// The certificate for the key could not be built.
    #[error("could not build the signing certificate: {0}")]
    Certificate(#[from] rcgen::Error),
}

/// One RSA signing key with its certificate and precomputed JWT headers.
pub struct SigningKey {
    key: KeyPair,
    public_key: Vec<u8>,
    kid: String,
    n: String,
    e: String,
    x5c: String,
    header_v1: String,
    header_v2: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh RSA-2048 key.
    pub fn generate() -> Result<Self, KeyError> {
        let key =
            KeyPair::generate(KeySize::Rsa2048).map_err(|e| KeyError::Generation(e.to_string()))?;
        Self::from_key_pair(key)
    }

    /// Loads an RSA private key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        use rustls::pki_types::pem::PemObject as _;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| KeyError::InvalidKey(e.to_string()))?;
        let key = KeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| KeyError::InvalidKey(e.to_string()))?;
        if key.public_modulus_len() < 256 {
            return Err(KeyError::InvalidKey(
                "modulus shorter than 2048 bits".into(),
            ));
        }
        Self::from_key_pair(key)
    }

    /// The key as PKCS#8 PEM, for persisting it.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let der = self
            .key
            .as_der()
            .map_err(|e| KeyError::InvalidKey(e.to_string()))?;
        let b64 = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Ok(pem)
    }

    fn from_key_pair(key: KeyPair) -> Result<Self, KeyError> {
        let pkcs8 = key
            .as_der()
            .map_err(|e| KeyError::InvalidKey(e.to_string()))?;
        let rc_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(pkcs8.as_ref()),
            &rcgen::PKCS_RSA_SHA256,
        )?;
        let mut params = rcgen::CertificateParams::default();
        // Entra's signing certificates are self-issued with this subject.
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "accounts.accesscontrol.windows.net",
        );
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2049, 1, 1);
        let cert = params.self_signed(&rc_key)?;
        let cert_der = cert.der().as_ref();

        let thumbprint =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert_der);
        let kid = URL_SAFE_NO_PAD.encode(thumbprint.as_ref());
        let public = key.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let header_v1 = URL_SAFE_NO_PAD
            .encode(json!({"typ": "JWT", "alg": "RS256", "x5t": kid, "kid": kid}).to_string());
        let header_v2 =
            URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "RS256", "kid": kid}).to_string());
        Ok(Self {
            public_key: public.as_ref().to_vec(),
            x5c: STANDARD.encode(cert_der),
            kid,
            n,
            e,
            header_v1,
            header_v2,
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The key id (`kid`, equal to `x5t`: the certificate's SHA-1 thumbprint, base64url).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The base64url JWT header for a token of the given format.
    pub fn header(&self, v1: bool) -> &str {
        if v1 { &self.header_v1 } else { &self.header_v2 }
    }

    /// RS256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.key.public_modulus_len()];
        // Signing with a valid key into a buffer of the modulus length cannot fail.
        if self
            .key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .is_err()
        {
            sig.clear();
        }
        sig
    }

    /// Checks an RS256 signature made by this key.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(message, sig)
            .is_ok()
    }

    /// The JWKS entry; `cloud_instance_name` and `issuer` are added for v2 key sets, as Entra
    /// does.
    pub fn jwk(&self, issuer: Option<&str>) -> Value {
        let mut jwk = json!({
            "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
            "n": self.n, "e": self.e, "x5c": [self.x5c],
        });
        // v2 entries only: the v1 key set's form was not found.
        if let Some(issuer) = issuer {
            jwk["cloud_instance_name"] = Value::from("microsoftonline.com");
            jwk["issuer"] = Value::from(issuer);
        }
        jwk
    }
}

/// The process-wide key, generated by its first caller; concurrent callers wait for it.
pub(crate) fn process_key() -> Result<Arc<SigningKey>, KeyError> {
    static KEY: OnceKey = OnceLock::new();
    generated_once(&KEY)
}

/// The built-in test issuer's key (see `control::issuer`): its own, never Entra's, so that
/// a token it mints cannot pass as an Entra token. Generated on first use, once per process.
pub(crate) fn issuer_key() -> Result<Arc<SigningKey>, KeyError> {
    static KEY: OnceKey = OnceLock::new();
    generated_once(&KEY)
}

/// A key generated by the first caller and kept for the process (a failure too).
type OnceKey = OnceLock<Result<Arc<SigningKey>, String>>;

fn generated_once(key: &OnceKey) -> Result<Arc<SigningKey>, KeyError> {
    key.get_or_init(|| {
        SigningKey::generate()
            .map(Arc::new)
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(KeyError::Generation)
}

/// Starts generating the process-wide key on a background thread, so that the rest of a
/// process's start-up overlaps it; the first emulator that needs the key waits for it.
pub fn generate_in_background() {
    std::thread::spawn(|| {
        if let Err(e) = process_key() {
            tracing::error!(error = %e, "signing key generation failed");
        }
    });
}

/// The keys an emulator signs with (the first) and accepts (all).
#[derive(Debug)]
pub(crate) struct KeyRing {
    /// Newest first; empty until first needed when the ring uses the process-wide key.
    keys: RwLock<Vec<Arc<SigningKey>>>,
    /// Bumped by every rotation, so that what was verified against the ring (the token
    /// cache) can tell it may be out of date.
    generation: AtomicU64,
}

impl KeyRing {
    /// A ring holding `key`, or the process-wide key when `None` (fetched, and generated
    /// if no emulator of the process has yet, when the ring is first used).
    pub(crate) fn new(key: Option<Arc<SigningKey>>) -> Result<Self, KeyError> {
        Ok(Self {
            keys: RwLock::new(key.into_iter().collect()),
            generation: AtomicU64::new(0),
        })
    }

    /// The keys, the process-wide one put in first if the ring is still empty.
    fn keys(&self) -> RwLockReadGuard<'_, Vec<Arc<SigningKey>>> {
        let keys = self.keys.read();
        if !keys.is_empty() {
            return keys;
        }
        drop(keys);
        // Only a failing OS random number generator makes generation fail, which aws-lc
        // treats as fatal as well.
        let key = process_key().expect("cannot generate the RSA signing key");
        let mut keys = self.keys.write();
        if keys.is_empty() {
            keys.push(key);
        }
        RwLockWriteGuard::downgrade(keys)
    }

    /// The key new tokens are signed with.
    pub(crate) fn current(&self) -> Arc<SigningKey> {
        self.keys()[0].clone()
    }

    /// The accepted key with this `kid`.
    pub(crate) fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.keys().iter().find(|k| k.kid == kid).cloned()
    }

    /// Makes `key` the signing key; the previous keys stay accepted and published.
    pub(crate) fn rotate(&self, key: Arc<SigningKey>) {
        drop(self.keys());
        let mut keys = self.keys.write();
        keys.insert(0, key);
        // Entra publishes a handful of keys; keep the newest three.
        keys.truncate(3);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// How many rotations the ring has seen: a token verified under an earlier generation
    /// may have been signed by a key the ring no longer holds.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The JWKS document (`{"keys": [...]}`).
    pub(crate) fn jwks(&self, issuer: Option<&str>) -> Value {
        let keys: Vec<Value> = self.keys().iter().map(|k| k.jwk(issuer)).collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_and_tampering_fails() {
        let key = process_key().expect("key");
        let sig = key.sign(b"header.payload");
        assert_eq!(sig.len(), 256);
        assert!(key.verify(b"header.payload", &sig));
        assert!(!key.verify(b"header.payloaD", &sig));
    }

    #[test]
    fn process_key_is_generated_once() {
        let a = process_key().expect("key");
        let b = process_key().expect("key");
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn pem_round_trip_keeps_the_kid() {
        let key = process_key().expect("key");
        let pem = key.to_pkcs8_pem().expect("pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let loaded = SigningKey::from_pkcs8_pem(&pem).expect("load");
        // The certificate is regenerated, so the thumbprint differs, but the key signs alike.
        assert!(key.verify(b"m", &loaded.sign(b"m")));
    }

    #[test]
    fn garbage_pem_is_refused() {
        let err = SigningKey::from_pkcs8_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        assert!(err.is_err());
    }

    #[test]
    fn a_ring_fetches_the_process_key_when_first_used() {
        let ring = KeyRing::new(None).expect("ring");
        assert!(
            ring.keys.read().is_empty(),
            "construction does not wait for a key"
        );
        let key = process_key().expect("key");
        assert_eq!(ring.current().kid(), key.kid());
        assert!(ring.find(key.kid()).is_some());
        let fresh = KeyRing::new(None).expect("ring");
        fresh.rotate(Arc::new(SigningKey::generate().expect("gen")));
        assert_eq!(
            fresh.jwks(None)["keys"].as_array().map(Vec::len),
            Some(2),
            "rotation keeps the process key published"
        );
    }

    #[test]
    fn rotation_signs_with_new_key_and_keeps_old() {
        let old = process_key().expect("key");
        let ring = KeyRing::new(Some(old.clone())).expect("ring");
        let new = Arc::new(SigningKey::generate().expect("gen"));
        ring.rotate(new.clone());
        assert_eq!(ring.current().kid(), new.kid());
        assert!(ring.find(old.kid()).is_some());
        assert_eq!(ring.jwks(None)["keys"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn jwk_has_the_fields_entra_publishes() {
        let key = process_key().expect("key");
        let jwk = key.jwk(Some("https://x/t/v2.0"));
        for field in ["kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"] {
            assert!(jwk.get(field).is_some(), "{field} missing");
        }
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], jwk["x5t"]);
    }
}
