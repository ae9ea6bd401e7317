//! Credentials other than secrets: X.509 certificates registered on applications (Graph's
//! `keyCredentials`) and the signed JWTs that prove a client holds one of their keys (client
//! assertions at the token endpoint, proofs of Graph's `addKey` and `removeKey`), or that an
//! external identity provider vouches for a workload (federated credentials).
//!
//! Pure data and rules: parsing, thumbprints, signature checks, time windows. No HTTP.

use std::sync::Arc;

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use aws_lc_rs::signature::{
    self, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
    VerificationAlgorithm,
};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Base64url that takes values with or without `=` padding: MSAL Python keeps the padding
/// of `x5t` (`base64.urlsafe_b64encode`), most other clients drop it.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Standard base64 with or without padding, for certificate bodies.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidCertificate;

/// A parsed X.509 certificate: what the emulator needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Certificate {
    der: Vec<u8>,
    sha1: Vec<u8>,
    sha256: Vec<u8>,
    /// The RSA public key (PKCS#1 `RSAPublicKey` DER); `None` for other key types.
    rsa_key: Option<Vec<u8>>,
    /// Valid from.
    pub(crate) not_before: OffsetDateTime,
    /// Valid until.
    pub(crate) not_after: OffsetDateTime,
    /// The subject as `CN=…` (what Graph shows as a key credential's default display name).
    pub(crate) subject: String,
}

impl Certificate {
    /// Parses a DER certificate.
    pub(crate) fn from_der(der: Vec<u8>) -> Result<Self, InvalidCertificate> {
        let (rest, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|_| InvalidCertificate)?;
        if !rest.is_empty() {
            return Err(InvalidCertificate);
        }
        let spki = cert.public_key();
        let rsa_key = match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(_)) => {
                Some(spki.subject_public_key.data.to_vec())
            }
            Ok(_) => None,
            Err(_) => return Err(InvalidCertificate),
        };
        let validity = cert.validity();
        let (not_before, not_after) = (
            validity.not_before.to_datetime(),
            validity.not_after.to_datetime(),
        );
        let subject = cert.subject().to_string();
        Ok(Self {
            sha1: digest(&SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref().to_vec(),
            sha256: digest(&SHA256, &der).as_ref().to_vec(),
            rsa_key,
            not_before,
            not_after,
            subject,
            der,
        })
    }

    /// Parses the base64 body of a certificate as Graph's `key` takes it. Whitespace is
    /// ignored: the Azure CLI sends the PEM body with a line break every 64 characters
    /// (Azure/azure-cli `role/custom.py` `_get_public`; the requests recorded in
    /// `test_create_for_rbac_create_cert.yaml`).
    pub(crate) fn from_base64(text: &str) -> Result<Self, InvalidCertificate> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD_LENIENT
            .decode(compact)
            .map_err(|_| InvalidCertificate)?;
        Self::from_der(der)
    }

    /// The DER bytes as standard base64 (Graph's `key`).
    pub(crate) fn base64(&self) -> String {
        STANDARD.encode(&self.der)
    }

    /// The SHA-1 thumbprint as upper-case hex, as Graph shows `customKeyIdentifier` and
    /// Entra prints the thumbprint in AADSTS700027.
    pub(crate) fn thumbprint(&self) -> String {
        upper_hex(&self.sha1)
    }

    /// Whether `x5t` (SHA-1) or `x5t#S256` (SHA-256) names this certificate.
    fn named_by(&self, thumb: &Thumbprint) -> bool {
        match thumb {
            Thumbprint::Sha1(t) => *t == self.sha1,
            Thumbprint::Sha256(t) => *t == self.sha256,
        }
    }

    /// Checks `jwt`'s signature with this certificate's key.
    pub(crate) fn verifies(&self, jwt: &Jwt) -> bool {
        let (Some(key), Some(alg)) = (&self.rsa_key, jwt.algorithm()) else {
            return false;
        };
        signature::UnparsedPublicKey::new(alg.verification(), key)
            .verify(jwt.signing_input.as_bytes(), &jwt.signature)
            .is_ok()
    }
}

/// Upper-case hex.
pub(crate) fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A certificate registered on an application (`keyCredentials`, type `AsymmetricX509Cert`,
/// usage `Verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyCredential {
    /// Credential id.
    pub(crate) key_id: Uuid,
    /// Display name (by default the certificate's subject).
    pub(crate) display_name: Option<String>,
    /// Valid from.
    pub(crate) start: OffsetDateTime,
    /// Valid until.
    pub(crate) end: OffsetDateTime,
    /// The certificate.
    pub(crate) cert: Arc<Certificate>,
}

impl KeyCredential {
    /// Whether the credential may be used at `now`.
    pub(crate) fn valid_at(&self, now: OffsetDateTime) -> bool {
        self.start <= now && now < self.end
    }
}

/// A certificate thumbprint from a JWT header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Thumbprint {
    /// `x5t`.
    Sha1(Vec<u8>),
    /// `x5t#S256`.
    Sha256(Vec<u8>),
}

impl Thumbprint {
    /// As Entra prints it: upper-case hex.
    pub(crate) fn hex(&self) -> String {
        match self {
            Thumbprint::Sha1(t) | Thumbprint::Sha256(t) => upper_hex(t),
        }
    }
}

/// The key credential of `keys` that `thumbprint` names.
pub(crate) fn find_key<'a>(
    keys: &'a [KeyCredential],
    thumbprint: &Thumbprint,
) -> Option<&'a KeyCredential> {
    keys.iter().find(|k| k.cert.named_by(thumbprint))
}

/// A signing algorithm the emulator verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (what MSAL Python, azure-identity and the CLI send).
    Rs256,
    /// RSASSA-PSS with SHA-256 (what the current Entra docs ask for, with `x5t#S256`).
    Ps256,
}

impl Algorithm {
    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Algorithm::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Ps256 => &RSA_PSS_2048_8192_SHA256,
        }
    }
}

/// Why a JWT could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedJwt;

/// A compact JWS read but not yet trusted.
#[derive(Debug, Clone)]
pub(crate) struct Jwt {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
    /// Whether any part carried base64 `=` padding.
    pub(crate) padded: bool,
}

/// Longest JWT read; anything longer is malformed.
const MAX_JWT_LEN: usize = 16 * 1024;

impl Jwt {
    /// Splits and decodes `token` (header and claims must be JSON objects).
    pub(crate) fn parse(token: &str) -> Result<Self, MalformedJwt> {
        if token.len() > MAX_JWT_LEN {
            return Err(MalformedJwt);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MalformedJwt);
        };
        let object = |part: &str| match URL_SAFE_LENIENT
            .decode(part)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            Some(Value::Object(m)) => Ok(m),
            _ => Err(MalformedJwt),
        };
        let header = object(h)?;
        let claims = object(c)?;
        let signature = URL_SAFE_LENIENT.decode(s).map_err(|_| MalformedJwt)?;
        Ok(Self {
            header,
            claims,
            signing_input: format!("{h}.{c}"),
            signature,
            padded: token.contains('='),
        })
    }

    /// The header's `alg`, when it is one the emulator verifies.
    pub(crate) fn algorithm(&self) -> Option<Algorithm> {
        match self.header_str("alg")? {
            "RS256" => Some(Algorithm::Rs256),
            "PS256" => Some(Algorithm::Ps256),
            _ => None,
        }
    }

    /// A string header parameter.
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// The certificate thumbprint in the header: `x5t#S256` first, then `x5t`. A value that
    /// is not base64url is kept as its bytes, so that the error can still print it.
    pub(crate) fn thumbprint(&self) -> Option<Thumbprint> {
        let decode = |v: &str| URL_SAFE_LENIENT.decode(v).unwrap_or_else(|_| v.into());
        if let Some(v) = self.header_str("x5t#S256") {
            return Some(Thumbprint::Sha256(decode(v)));
        }
        self.header_str("x5t").map(|v| Thumbprint::Sha1(decode(v)))
    }

    /// A claim.
    pub(crate) fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// A string claim.
    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric date claim (`exp`, `nbf`, `iat`) in Unix seconds.
    pub(crate) fn claim_time(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }

    /// The `aud` values: a string, or each string of an array.
    pub(crate) fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The header's `kid`.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.header_str("kid")
    }

    /// Checks the signature with an RSA key given by its modulus and exponent (a JWK).
    pub(crate) fn verifies_with_rsa(&self, n: &[u8], e: &[u8]) -> bool {
        let Some(alg) = self.algorithm() else {
            return false;
        };
        let params = match alg {
            Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
        };
        RsaPublicKeyComponents { n, e }
            .verify(params, self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}

/// Decodes a base64url JWK member (`n`, `e`).
pub(crate) fn jwk_bytes(value: &str) -> Option<Vec<u8>> {
    URL_SAFE_LENIENT.decode(value).ok()
}

/// Clock skew allowed on a client assertion's `nbf` and `exp`. A guess: no public source
/// gives Entra's tolerance; five minutes is Microsoft.IdentityModel's default `ClockSkew`.
pub(crate) const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// Why an assertion's lifetime was refused: its `nbf` (when it has one) and `exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutsideLifetime {
    /// `nbf`, when present.
    pub(crate) nbf: Option<i64>,
    /// `exp`.
    pub(crate) exp: i64,
}

/// Checks `exp` (required) and `nbf` (optional; MSAL Python sends none) at `now` with
/// [`CLOCK_SKEW`]: `Err(None)` when there is no `exp`.
pub(crate) fn check_lifetime(
    jwt: &Jwt,
    now: OffsetDateTime,
) -> Result<(), Option<OutsideLifetime>> {
    let exp = jwt.claim_time("exp").ok_or(None)?;
    let nbf = jwt.claim_time("nbf");
    let now = now.unix_timestamp();
    let skew = CLOCK_SKEW.whole_seconds();
    if now >= exp.saturating_add(skew) || nbf.is_some_and(|n| n > now.saturating_add(skew)) {
        return Err(Some(OutsideLifetime { nbf, exp }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::test_support::TestCertificate;

    fn test_cert() -> (Certificate, TestCertificate) {
        let test = TestCertificate::generate(
            "CLI-Login",
            rcgen::date_time_ymd(2024, 1, 1),
            rcgen::date_time_ymd(2034, 1, 1),
        );
        (
            Certificate::from_der(test.der.clone()).expect("parse"),
            test,
        )
    }

    fn sign(key: &TestCertificate, header: Value, claims: Value, pss: bool) -> String {
        key.sign(&header, &claims, pss)
    }

    #[test]
    fn certificates_parse_from_base64_with_line_breaks_and_give_graph_thumbprints() {
        let (cert, _) = test_cert();
        let b64 = cert.base64();
        let wrapped: String = b64
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", std::str::from_utf8(c).expect("ascii")))
            .collect();
        let again = Certificate::from_base64(&wrapped).expect("wrapped body parses");
        assert_eq!(again, cert);
        assert_eq!(cert.subject, "CN=CLI-Login");
        assert_eq!(cert.thumbprint().len(), 40);
        assert!(
            cert.thumbprint()
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_eq!(cert.not_before.year(), 2024);
        assert_eq!(
            Certificate::from_base64("bm90IGEgY2VydA=="),
            Err(InvalidCertificate)
        );
        assert_eq!(Certificate::from_base64("***"), Err(InvalidCertificate));
    }

    #[test]
    fn rs256_and_ps256_verify_and_thumbprints_select_the_key() {
        let (cert, key) = test_cert();
        let x5t = URL_SAFE_NO_PAD.encode(&cert.sha1);
        // MSAL Python keeps the padding of x5t.
        let padded = base64::engine::general_purpose::URL_SAFE.encode(&cert.sha1);
        assert!(padded.ends_with('='));
        let s256 = URL_SAFE_NO_PAD.encode(&cert.sha256);
        let claims = serde_json::json!({"iss": "a", "exp": 10});
        for (header, pss) in [
            (serde_json::json!({"alg": "RS256", "x5t": x5t}), false),
            (serde_json::json!({"alg": "RS256", "x5t": padded}), false),
            (serde_json::json!({"alg": "PS256", "x5t#S256": s256}), true),
        ] {
            let jwt = Jwt::parse(&sign(&key, header.clone(), claims.clone(), pss)).expect("jwt");
            let thumb = jwt.thumbprint().expect("thumbprint");
            assert!(cert.named_by(&thumb), "{header}");
            assert!(cert.verifies(&jwt), "{header}");
        }
        // A PKCS#1 signature labelled PS256 does not verify.
        let wrong = sign(
            &key,
            serde_json::json!({"alg": "PS256"}),
            claims.clone(),
            false,
        );
        assert!(!cert.verifies(&Jwt::parse(&wrong).expect("jwt")));
        let hs = sign(&key, serde_json::json!({"alg": "HS256"}), claims, false);
        assert!(!cert.verifies(&Jwt::parse(&hs).expect("jwt")));
    }

    #[test]
    fn lifetimes_allow_five_minutes_of_skew_and_a_missing_nbf() {
        let t = |claims: Value| {
            let input = format!(
                "{}.{}.AA",
                URL_SAFE_NO_PAD.encode("{\"alg\":\"RS256\"}"),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            Jwt::parse(&input).expect("jwt")
        };
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).expect("time");
        assert_eq!(
            check_lifetime(&t(serde_json::json!({"exp": 1_000_600})), now),
            Ok(())
        );
        assert_eq!(
            check_lifetime(&t(serde_json::json!({"exp": 999_800})), now),
            Ok(())
        );
        assert_eq!(
            check_lifetime(&t(serde_json::json!({"exp": 999_700})), now),
            Err(Some(OutsideLifetime {
                nbf: None,
                exp: 999_700
            }))
        );
        assert_eq!(
            check_lifetime(
                &t(serde_json::json!({"exp": 1_000_900, "nbf": 1_000_301})),
                now
            ),
            Err(Some(OutsideLifetime {
                nbf: Some(1_000_301),
                exp: 1_000_900
            }))
        );
        assert_eq!(
            check_lifetime(&t(serde_json::json!({"nbf": 1})), now),
            Err(None)
        );
    }

    #[test]
    fn malformed_jwts_are_refused() {
        for bad in ["", "a.b", "a.b.c.d", "e30.bm90IGpzb24.AA", "W10.e30.AA"] {
            assert!(Jwt::parse(bad).is_err(), "{bad}");
        }
        assert!(Jwt::parse("e30.e30.").is_ok());
    }
}
