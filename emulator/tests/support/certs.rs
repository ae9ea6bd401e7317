//! Test certificates and the JWTs clients sign with them: client assertions (RS256 with
//! `x5t`, PS256 with `x5t#S256`) and Graph's addKey/removeKey proofs.

use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;

/// RSA keys generated once per test process (generation is the slow part).
fn keys() -> &'static [Arc<KeyPair>] {
    static KEYS: OnceLock<Vec<Arc<KeyPair>>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..3)
            .map(|_| Arc::new(KeyPair::generate(KeySize::Rsa2048).expect("rsa key")))
            .collect()
    })
}

/// A self-signed certificate and its private key.
#[derive(Clone)]
pub(crate) struct TestCert {
    key: Arc<KeyPair>,
    pub(crate) der: Vec<u8>,
}

impl TestCert {
    /// A certificate `CN={cn}` on key number `key` (0–2), valid between the two dates.
    pub(crate) fn new(
        key: usize,
        cn: &str,
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> Self {
        let key = keys()[key].clone();
        let pkcs8 = key.as_der().expect("pkcs8");
        let rc = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref()),
            &rcgen::PKCS_RSA_SHA256,
        )
        .expect("rcgen key");
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let cert = params.self_signed(&rc).expect("certificate");
        Self {
            key,
            der: cert.der().to_vec(),
        }
    }

    /// A certificate valid from 2020 to 2090 on key number `key`.
    pub(crate) fn long_lived(key: usize, cn: &str) -> Self {
        Self::new(key, cn, (2020, 1, 1), (2090, 1, 1))
    }

    /// Base64 of the DER, as Graph's `key` takes it.
    pub(crate) fn base64(&self) -> String {
        STANDARD.encode(&self.der)
    }

    /// The same with a line break every 64 characters, as the Azure CLI sends it.
    pub(crate) fn base64_wrapped(&self) -> String {
        let b64 = self.base64();
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        lines.join("\n")
    }

    fn sha1(&self) -> Vec<u8> {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der)
            .as_ref()
            .to_vec()
    }

    /// Upper-case hex SHA-1 thumbprint.
    pub(crate) fn thumbprint(&self) -> String {
        self.sha1().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// `x5t` as MSAL Python sends it: base64url with `=` padding.
    pub(crate) fn x5t_padded(&self) -> String {
        URL_SAFE.encode(self.sha1())
    }

    /// `x5t` without padding.
    pub(crate) fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sha1())
    }

    /// `x5t#S256`.
    pub(crate) fn x5t_s256(&self) -> String {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        URL_SAFE_NO_PAD.encode(d.as_ref())
    }

    /// The public key as a JWK with `kid`.
    pub(crate) fn jwk(&self, kid: &str) -> Value {
        use aws_lc_rs::signature::KeyPair as _;
        let public = self.key.public_key();
        serde_json::json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A compact JWS of `header` and `claims`, RS256 (PKCS#1 v1.5) or PS256 (PSS).
    pub(crate) fn sign(&self, header: &Value, claims: &Value, pss: bool) -> String {
        sign_with(&self.key, header, claims, pss)
    }
}

/// Signs with `key`.
pub(crate) fn sign_with(key: &KeyPair, header: &Value, claims: &Value, pss: bool) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; key.public_modulus_len()];
    let alg: &'static dyn aws_lc_rs::signature::RsaEncoding = if pss {
        &aws_lc_rs::signature::RSA_PSS_SHA256
    } else {
        &aws_lc_rs::signature::RSA_PKCS1_SHA256
    };
    key.sign(
        alg,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}
