//! A client certificate and the assertions signed with it: the JWT that proves to Entra that
//! the client holds the certificate's private key (RS256 with the SHA-1 thumbprint in `x5t`,
//! as the Azure SDKs send, or PS256 with `x5t#S256`, as Entra's docs now ask).

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::pki_types::pem::{PemObject as _, SectionKind};
use serde_json::json;
use time::OffsetDateTime;

use crate::error::Error;

/// How long an assertion is valid (what MSAL uses: ten minutes).
const LIFETIME: i64 = 600;

/// A certificate with its RSA private key. `Debug` shows only the thumbprint.
pub struct ClientCertificate {
    key: KeyPair,
    sha1: Vec<u8>,
    sha256: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

/// Which header and algorithm an assertion uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssertionFormat {
    /// RS256 with `x5t` (SHA-1): what MSAL Python, azure-identity and the Azure CLI send.
    #[default]
    Sha1Rs256,
    /// PS256 with `x5t#S256` (SHA-256): what Entra's certificate credentials page asks for.
    Sha256Ps256,
}

impl ClientCertificate {
    /// Reads a PEM holding the private key (`PRIVATE KEY` or `RSA PRIVATE KEY`) and the
    /// certificate (the first `CERTIFICATE`), in any order, as `az` and azure-identity take it.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let bad = |m: &str| Error::Config(format!("client certificate PEM: {m}"));
        let (mut key, mut cert) = (None, None);
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()) {
            let (kind, der): (SectionKind, Vec<u8>) = section.map_err(|e| bad(&e.to_string()))?;
            match kind {
                SectionKind::PrivateKey if key.is_none() => {
                    key = Some(KeyPair::from_pkcs8(&der).map_err(|e| bad(&e.to_string()))?)
                }
                SectionKind::RsaPrivateKey if key.is_none() => {
                    key = Some(KeyPair::from_der(&der).map_err(|e| bad(&e.to_string()))?)
                }
                SectionKind::Certificate if cert.is_none() => cert = Some(der),
                _ => {}
            }
        }
        Self::from_der(
            &cert.ok_or_else(|| bad("no CERTIFICATE"))?,
            key.ok_or_else(|| bad("no RSA private key"))?,
        )
    }

    fn from_der(cert: &[u8], key: KeyPair) -> Result<Self, Error> {
        Ok(Self {
            key,
            sha1: digest(&SHA1_FOR_LEGACY_USE_ONLY, cert).as_ref().to_vec(),
            sha256: digest(&SHA256, cert).as_ref().to_vec(),
            rng: SystemRandom::new(),
        })
    }

    /// The SHA-1 thumbprint, upper-case hex (as Graph shows `customKeyIdentifier`).
    pub fn thumbprint(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// A client assertion for `client_id` to `audience` (the token endpoint URL), valid for
    /// ten minutes from `now`.
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
        format: AssertionFormat,
    ) -> Result<String, Error> {
        let (header, encoding): (_, &'static dyn RsaEncoding) = match format {
            AssertionFormat::Sha1Rs256 => (
                json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(&self.sha1)}),
                &RSA_PKCS1_SHA256,
            ),
            AssertionFormat::Sha256Ps256 => (
                json!({"alg": "PS256", "typ": "JWT", "x5t#S256": URL_SAFE_NO_PAD.encode(&self.sha256)}),
                &RSA_PSS_SHA256,
            ),
        };
        let now = now.unix_timestamp();
        let claims = json!({
            "aud": audience, "iss": client_id, "sub": client_id, "jti": uuid::Uuid::new_v4(),
            "nbf": now, "iat": now, "exp": now + LIFETIME,
        });
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(encoding, &self.rng, token.as_bytes(), &mut sig)
            .map_err(|_| Error::Config("the client certificate's key cannot sign".into()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut token);
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pems_without_a_key_or_certificate_are_refused() {
        for pem in [
            "",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(matches!(
                ClientCertificate::from_pem(pem),
                Err(Error::Config(_))
            ));
        }
    }
}
