//! Test certificates: an RSA key with a self-signed certificate, and compact JWS signed with
//! it (client assertions, Graph proofs, an external issuer's tokens), for this workspace's
//! tests of certificate and federated credentials.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// An RSA-2048 key and a self-signed certificate `CN={cn}` for it.
pub struct TestCertificate {
    key: Arc<KeyPair>,
    /// The certificate's DER.
    pub der: Vec<u8>,
}

impl std::fmt::Debug for TestCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCertificate")
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

fn digest(alg: &'static aws_lc_rs::digest::Algorithm, data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl TestCertificate {
    /// A new key (generation takes a moment) and its certificate, valid between the dates.
    pub fn generate(cn: &str, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        Self::for_key(Arc::new(key), cn, not_before, not_after)
    }

    /// A new RSA-2048 key, to share between certificates (generation is the slow part).
    pub fn new_key() -> Arc<KeyPair> {
        Arc::new(KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"))
    }

    /// A certificate for `key`.
    pub fn for_key(
        key: Arc<KeyPair>,
        cn: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Self {
        let pkcs8 = key.as_der().expect("PKCS#8");
        let rc = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref()),
            &rcgen::PKCS_RSA_SHA256,
        )
        .expect("rcgen key");
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.self_signed(&rc).expect("self-signed certificate");
        Self {
            key,
            der: cert.der().to_vec(),
        }
    }

    /// The certificate's DER as standard base64 (Graph's `key`).
    pub fn base64(&self) -> String {
        STANDARD.encode(&self.der)
    }

    /// The same with a line break every 64 characters, as the Azure CLI sends `key`.
    pub fn base64_wrapped(&self) -> String {
        let b64 = self.base64();
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        lines.join("\n")
    }

    /// SHA-1 of the DER.
    pub fn sha1(&self) -> Vec<u8> {
        digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der)
    }

    /// The SHA-1 thumbprint in upper-case hex.
    pub fn thumbprint(&self) -> String {
        self.sha1().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// `x5t`: base64url SHA-1 without padding.
    pub fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sha1())
    }

    /// `x5t` as MSAL Python sends it: base64url SHA-1 with its `=` padding.
    pub fn x5t_padded(&self) -> String {
        URL_SAFE.encode(self.sha1())
    }

    /// `x5t#S256`: base64url SHA-256 without padding.
    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest(&aws_lc_rs::digest::SHA256, &self.der))
    }

    /// The private key (PKCS#8) and the certificate as one PEM, as azure-identity and the
    /// Azure CLI read them.
    pub fn pem(&self) -> String {
        let pkcs8 = self.key.as_der().expect("PKCS#8");
        format!(
            "{}{}",
            pem("PRIVATE KEY", pkcs8.as_ref()),
            pem("CERTIFICATE", &self.der)
        )
    }

    /// The public key as an RS256 JWK named `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        let public = self.key.public_key();
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A compact JWS of `header` and `claims`: RSASSA-PKCS1-v1_5 (RS256) or, with `pss`,
    /// RSASSA-PSS (PS256) over SHA-256. The header's `alg` is the caller's to set.
    pub fn sign(&self, header: &Value, claims: &Value, pss: bool) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let encoding: &'static dyn RsaEncoding = if pss {
            &RSA_PSS_SHA256
        } else {
            &RSA_PKCS1_SHA256
        };
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                encoding,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .expect("RSA signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}
