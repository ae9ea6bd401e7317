//! Access tokens: the app-only claim sets Entra issues, RS256 signing, and validation.
//!
//! Minting and validation are pure functions of the key ring, the claims and a time; each
//! protected service maps a [`TokenError`] onto its own error body.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::{KeyRing, SigningKey};

/// Creation time the emulated tenant reports (`xms_tcdt`): 2024-01-01T00:00:00Z.
const TENANT_CREATED: i64 = 1_704_067_200;

/// Longest token accepted for validation; anything longer is refused unread.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Issuer of v1 tokens (the real value; v1 discovery documents say the same).
pub(crate) fn v1_issuer(tenant: &Uuid) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

/// Issuer of v2 tokens.
///
/// The real value, not the emulator's URL: it is the same on the emulator and on Azure (so
/// snapshots and validators that pin it hold on both), it does not depend on the host name
/// a client used to reach the emulator, and MSAL accepts issuers on Microsoft's well-known
/// hosts whatever the authority. The emulator's v2 discovery document reports the same value.
pub(crate) fn v2_issuer(tenant: &Uuid) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// Token format, chosen by the resource (`accessTokenAcceptedVersion`), not by the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVersion {
    /// `ver: "1.0"`, `iss` on sts.windows.net, `appid`/`appidacr`, `x5t` in the header.
    V1,
    /// `ver: "2.0"`, `iss` on login.microsoftonline.com, `azp`/`azpacr`, `aud` = resource app id.
    V2,
}

/// The claims of an app-only access token, in the order Entra writes them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Audience: the resource identifier as requested (v1) or the resource's app id (v2).
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Opaque internal claim; the emulator uses it to tell its own tokens from another
    /// instance's that share the process-wide signing key.
    pub aio: String,
    /// Display name of the client application (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_displayname: Option<String>,
    /// Client id (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// How the client authenticated (v1): "1" = client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appidacr: Option<String>,
    /// Client id (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// How the client authenticated (v2): "1" = client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azpacr: Option<String>,
    /// Identity provider (v1 app tokens: the issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// "app" for app-only tokens.
    pub idtyp: String,
    /// Object id of the client's service principal.
    pub oid: String,
    /// Opaque refresh hint.
    pub rh: String,
    /// App roles the client's service principal holds on the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Subject: the service principal's object id for app-only tokens.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Unique token id.
    pub uti: String,
    /// "1.0" or "2.0".
    pub ver: String,
    /// A managed identity's resource id (managed identity tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xms_mirid: Option<String>,
    /// Tenant creation time (Unix seconds, v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xms_tcdt: Option<i64>,
}

impl Claims {
    /// The client (application) id, whichever token version.
    pub fn client_id(&self) -> &str {
        self.appid
            .as_deref()
            .or(self.azp.as_deref())
            .unwrap_or_default()
    }

    /// Whether the token carries app role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles
            .as_ref()
            .is_some_and(|r| r.iter().any(|x| x == role))
    }
}

/// What goes into a token besides the times.
#[derive(Debug)]
pub struct Grant<'a> {
    /// Token format.
    pub version: TokenVersion,
    /// Audience value.
    pub aud: &'a str,
    /// Tenant.
    pub tenant: &'a Uuid,
    /// Client (application) id.
    pub client_id: &'a Uuid,
    /// Client application display name.
    pub client_name: &'a str,
    /// The client's service principal object id.
    pub object_id: &'a Uuid,
    /// App roles on the resource.
    pub roles: Vec<String>,
    /// The issuing emulator's instance tag.
    pub instance_tag: &'a str,
}

/// Builds the claims of an app-only token issued at `now`, valid for `lifetime`.
pub fn claims(grant: Grant<'_>, now: OffsetDateTime, lifetime: std::time::Duration) -> Claims {
    let now_s = now.unix_timestamp();
    let issued = now_s - 300; // Entra back-dates iat/nbf by five minutes for clock skew.
    let exp = now_s + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
    let tid = grant.tenant.to_string();
    let client = grant.client_id.to_string();
    let oid = grant.object_id.to_string();
    let v1 = grant.version == TokenVersion::V1;
    let iss = if v1 {
        v1_issuer(grant.tenant)
    } else {
        v2_issuer(grant.tenant)
    };
    Claims {
        aud: grant.aud.to_owned(),
        iat: issued,
        nbf: issued,
        exp,
        aio: grant.instance_tag.to_owned(),
        app_displayname: v1.then(|| grant.client_name.to_owned()),
        appid: v1.then(|| client.clone()),
        appidacr: v1.then(|| "1".to_owned()),
        azp: (!v1).then(|| client.clone()),
        azpacr: (!v1).then(|| "1".to_owned()),
        idp: v1.then(|| iss.clone()),
        iss,
        idtyp: "app".to_owned(),
        rh: format!("1.A{}AA.", URL_SAFE_NO_PAD.encode(grant.tenant.as_bytes())),
        roles: (!grant.roles.is_empty()).then_some(grant.roles),
        sub: oid.clone(),
        oid,
        tid,
        uti: URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes()),
        ver: if v1 { "1.0" } else { "2.0" }.to_owned(),
        xms_mirid: None,
        xms_tcdt: v1.then_some(TENANT_CREATED),
    }
}

/// Serializes and signs `claims` with `key`.
pub(crate) fn mint(key: &SigningKey, claims: &Claims) -> String {
    let header = key.header(claims.ver == "1.0");
    // Serializing a struct of strings and integers cannot fail.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 350);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let sig = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&sig, &mut token);
    token
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    /// Not three base64url parts of JSON, too long, or missing required claims.
    #[error("the token is malformed")]
    Malformed,
    /// `alg` is not RS256 (including `none` and HMAC algorithms).
    #[error("unsupported signing algorithm")]
    UnsupportedAlgorithm,
    /// No published key has the token's `kid`.
    #[error("unknown signing key")]
    UnknownKey,
    /// The header has a `crit` parameter: it names extensions the recipient must understand,
    /// and the emulator (like Entra's tokens) uses none (RFC 7515 §4.1.11).
    #[error("the token header lists critical extensions")]
    CriticalHeader,
    /// The signature does not verify, or the token is from another emulator instance.
    #[error("invalid signature")]
    BadSignature,
    /// `iss` is not this tenant's v1 or v2 issuer.
    #[error("invalid issuer '{0}'")]
    WrongIssuer(String),
    /// `tid` is not this tenant.
    #[error("token issued for another tenant '{0}'")]
    WrongTenant(String),
    /// `exp` has passed.
    #[error("the token expired at {exp}")]
    Expired {
        /// Expiry (Unix seconds).
        exp: i64,
    },
    /// `nbf` is in the future.
    #[error("the token is not valid before {nbf}")]
    NotYetValid {
        /// Not-before (Unix seconds).
        nbf: i64,
    },
}

#[derive(Deserialize)]
struct Header<'a> {
    alg: &'a str,
    #[serde(default)]
    kid: Option<&'a str>,
    /// Whether a `crit` parameter is present, whatever its value (`null` included).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

/// Checks structure, algorithm, signature, issuing instance, issuer, tenant and lifetime.
/// The audience is left to the caller, since each service allows its own set.
pub(crate) fn validate(
    token: &str,
    keys: &KeyRing,
    instance_tag: &str,
    tenant: &Uuid,
    now: OffsetDateTime,
) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| TokenError::Malformed)?;
    let header: Header<'_> =
        serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
    if header.alg != "RS256" {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    // Every extension named in `crit` must be understood, and the emulator implements none.
    if header.crit {
        return Err(TokenError::CriticalHeader);
    }
    let key = header
        .kid
        .and_then(|kid| keys.find(kid))
        .ok_or(TokenError::UnknownKey)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::Malformed)?;
    let signed_len = h.len() + 1 + p.len();
    if !key.verify(&token.as_bytes()[..signed_len], &sig) {
        return Err(TokenError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    if claims.aio != instance_tag {
        return Err(TokenError::BadSignature);
    }
    if claims.iss != v1_issuer(tenant) && claims.iss != v2_issuer(tenant) {
        return Err(TokenError::WrongIssuer(claims.iss));
    }
    if claims.tid != tenant.to_string() {
        return Err(TokenError::WrongTenant(claims.tid));
    }
    let now = now.unix_timestamp();
    if claims.exp <= now {
        return Err(TokenError::Expired { exp: claims.exp });
    }
    if claims.nbf > now {
        return Err(TokenError::NotYetValid { nbf: claims.nbf });
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TENANT: Uuid = uuid::uuid!("e17a0000-0000-4000-8000-000000000001");
    const CLIENT: Uuid = uuid::uuid!("e17a0000-0000-4000-8000-000000000003");
    const OID: Uuid = uuid::uuid!("e17a0000-0000-4000-8000-000000000004");

    fn grant(version: TokenVersion) -> Grant<'static> {
        Grant {
            version,
            aud: "https://management.azure.com/",
            tenant: &TENANT,
            client_id: &CLIENT,
            client_name: "app",
            object_id: &OID,
            roles: vec![],
            instance_tag: "tag",
        }
    }

    fn ring() -> KeyRing {
        KeyRing::new(None).expect("keys")
    }

    #[test]
    fn v1_and_v2_claims_differ_as_entra_does() {
        let now = OffsetDateTime::now_utc();
        let v1 = claims(grant(TokenVersion::V1), now, Duration::from_secs(3600));
        assert_eq!(v1.ver, "1.0");
        assert_eq!(v1.appid.as_deref(), Some(CLIENT.to_string().as_str()));
        assert_eq!(v1.idp.as_deref(), Some(v1.iss.as_str()));
        assert!(v1.azp.is_none() && v1.roles.is_none());
        assert_eq!(v1.exp - v1.iat, 3900);
        let v2 = claims(grant(TokenVersion::V2), now, Duration::from_secs(3600));
        assert_eq!(v2.ver, "2.0");
        assert_eq!(v2.iss, v2_issuer(&TENANT));
        assert!(v2.appid.is_none() && v2.idp.is_none());
        assert_eq!(v2.azpacr.as_deref(), Some("1"));
        assert_ne!(v1.uti, v2.uti);
    }

    #[test]
    fn minted_token_validates_and_keeps_claims() {
        let keys = ring();
        let now = OffsetDateTime::now_utc();
        let c = claims(grant(TokenVersion::V1), now, Duration::from_secs(3600));
        let token = mint(&keys.current(), &c);
        assert_eq!(validate(&token, &keys, "tag", &TENANT, now), Ok(c));
    }

    #[test]
    fn hostile_tokens_are_refused_with_the_right_reason() {
        let keys = ring();
        let now = OffsetDateTime::now_utc();
        let c = claims(grant(TokenVersion::V1), now, Duration::from_secs(3600));
        let token = mint(&keys.current(), &c);
        let v = |t: &str| validate(t, &keys, "tag", &TENANT, now);

        assert_eq!(v("abc"), Err(TokenError::Malformed));
        assert_eq!(v(&token[..token.len() - 10]), Err(TokenError::BadSignature));
        assert_eq!(
            v(&"a".repeat(MAX_TOKEN_LEN + 1)),
            Err(TokenError::Malformed)
        );

        let parts: Vec<&str> = token.split('.').collect();
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            v(&format!("{none}.{}.", parts[1])),
            Err(TokenError::UnsupportedAlgorithm)
        );
        let hs = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#);
        assert_eq!(
            v(&format!("{hs}.{}.{}", parts[1], parts[2])),
            Err(TokenError::UnsupportedAlgorithm)
        );
        // A `crit` header, even with a valid signature over it, is refused.
        for crit in [r#"["exp"],"exp":1"#, "[]", "null", r#""x""#] {
            let header = format!(
                r#"{{"typ":"JWT","alg":"RS256","kid":"{}","crit":{crit}}}"#,
                keys.current().kid()
            );
            let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), parts[1]);
            let sig = URL_SAFE_NO_PAD.encode(keys.current().sign(signed.as_bytes()));
            assert_eq!(
                v(&format!("{signed}.{sig}")),
                Err(TokenError::CriticalHeader),
                "{crit}"
            );
        }
        let unknown = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"nope"}"#);
        assert_eq!(
            v(&format!("{unknown}.{}.{}", parts[1], parts[2])),
            Err(TokenError::UnknownKey)
        );

        let mut tampered = c.clone();
        tampered.oid = Uuid::nil().to_string();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered).expect("json")),
            parts[2]
        );
        assert_eq!(v(&forged), Err(TokenError::BadSignature));

        assert_eq!(
            validate(&token, &keys, "other-instance", &TENANT, now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            validate(&token, &keys, "tag", &Uuid::nil(), now),
            Err(TokenError::WrongIssuer(c.iss.clone()))
        );
        let later = now + time::Duration::seconds(3600);
        assert_eq!(
            validate(&token, &keys, "tag", &TENANT, later),
            Err(TokenError::Expired { exp: c.exp })
        );
        let earlier = now - time::Duration::seconds(400);
        assert_eq!(
            validate(&token, &keys, "tag", &TENANT, earlier),
            Err(TokenError::NotYetValid { nbf: c.nbf })
        );
    }
}
