//! Entra ID: the v1 and v2 token endpoints (client credentials), OIDC discovery, JWKS and
//! MSAL's instance discovery.

mod assertion;
mod cae;
mod error;

use axum::extract::{MatchedPath, Path, Query};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) use error::EntraError;

use crate::directory::Application;
use crate::http::{host_of, request_base};
use crate::services::AppState;
use crate::token::{self, Grant};

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `/{tenant}/oauth2/token`: `resource=`, string numbers, `expires_on`.
    V1,
    /// `/{tenant}/oauth2/v2.0/token`: `scope={resource}/.default`, integer numbers.
    V2,
}

/// What a `{tenant}` path segment names.
#[derive(Debug, PartialEq, Eq)]
enum TenantRef {
    /// This emulator's tenant (by id or domain).
    Ours,
    /// `common`, `organizations` or `consumers`.
    Multi(&'static str),
}

fn resolve_tenant(state: &AppState, raw: &str) -> Result<TenantRef, EntraError> {
    for multi in ["common", "organizations", "consumers"] {
        if raw.eq_ignore_ascii_case(multi) {
            return Ok(TenantRef::Multi(multi));
        }
    }
    if let Ok(id) = Uuid::parse_str(raw) {
        return if id == state.config.tenant_id {
            Ok(TenantRef::Ours)
        } else {
            Err(EntraError::TenantNotFound(raw.to_owned()))
        };
    }
    if !is_dns_name(raw) {
        return Err(EntraError::MalformedTenant(raw.to_owned()));
    }
    if raw.eq_ignore_ascii_case(&state.config.tenant_domain) {
        Ok(TenantRef::Ours)
    } else {
        Err(EntraError::TenantNotFound(raw.to_owned()))
    }
}

/// A name Entra looks up as a tenant (one label or more: `tenant` is not found, AADSTS90002)
/// rather than refusing it as malformed (AADSTS900023).
fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Cache headers Entra puts on token responses.
pub(crate) fn no_store_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("-1"));
    headers.insert(
        "x-ms-ests-server",
        HeaderValue::from_static("entra-emulator"),
    );
}

/// The correlation id: the caller's `client-request-id` when it is a GUID (MSAL sends one).
pub(crate) fn correlation_id(headers: &HeaderMap) -> Uuid {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::new_v4)
}

/// The token request's parameters (first occurrence wins; unknown fields are ignored, as
/// MSAL sends several).
#[derive(Debug, Default)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    claims: Option<String>,
}

impl TokenForm {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Self {
        let mut form = Self::default();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if is_form {
            for (k, v) in form_urlencoded::parse(body) {
                let slot = match k.as_ref() {
                    "grant_type" => &mut form.grant_type,
                    "client_id" => &mut form.client_id,
                    "client_secret" => &mut form.client_secret,
                    "client_assertion_type" => &mut form.client_assertion_type,
                    "client_assertion" => &mut form.client_assertion,
                    "scope" => &mut form.scope,
                    "resource" => &mut form.resource,
                    "claims" => &mut form.claims,
                    _ => continue,
                };
                if slot.is_none() && !v.is_empty() {
                    *slot = Some(v.into_owned());
                }
            }
        }
        // RFC 6749 §2.3.1: HTTP Basic with form-encoded id and secret.
        if let Some((id, secret)) = basic_credentials(headers) {
            form.client_id.get_or_insert(id);
            form.client_secret.get_or_insert(secret);
        }
        form
    }
}

/// The token form's fields as parsed from `headers` and `body`, in the order
/// `grant_type`, `client_id`, `client_secret`, `scope`, `resource` (for [`crate::fuzzing`]).
pub(crate) fn parse_token_form(headers: &HeaderMap, body: &[u8]) -> [Option<String>; 5] {
    let f = TokenForm::parse(headers, body);
    [
        f.grant_type,
        f.client_id,
        f.client_secret,
        f.scope,
        f.resource,
    ]
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// The OpenID Connect scopes MSAL adds to a request; client credentials ignore them.
const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// Splits a v2 `scope` into the requested resource identifier. The OpenID Connect scopes
/// beside a `/.default` are ignored, as Entra does.
fn resource_from_scope(scope: &str) -> Result<String, EntraError> {
    let mut scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.iter().any(|s| !OIDC_SCOPES.contains(s)) {
        scopes.retain(|s| !OIDC_SCOPES.contains(s));
    }
    if let Some(plain) = scopes.iter().find(|s| !s.ends_with("/.default")) {
        return Err(EntraError::ScopeNotDefault((*plain).to_owned()));
    }
    match scopes.as_slice() {
        [one] => {
            let resource = one.strip_suffix("/.default").unwrap_or_default();
            if resource.is_empty() {
                Err(EntraError::InvalidScope(scope.to_owned()))
            } else {
                Ok(resource.to_owned())
            }
        }
        // Client credentials take the `/.default` of exactly one resource.
        _ => Err(EntraError::InvalidScope(scope.to_owned())),
    }
}

fn authenticate(app: &Application, secret: &str, now: OffsetDateTime) -> Result<(), EntraError> {
    let mut outside_window = false;
    for cred in &app.password_credentials {
        if cred.hash.matches(secret) {
            if now >= cred.start && now < cred.end {
                return Ok(());
            }
            outside_window = true;
        }
    }
    Err(if outside_window {
        EntraError::ExpiredSecret(app.app_id)
    } else {
        EntraError::InvalidSecret(app.app_id)
    })
}

/// `POST /{tenant}/oauth2/v2.0/token` and (v1) `POST /{tenant}/oauth2/token`.
pub(crate) async fn token_endpoint(
    state: AppState,
    route: MatchedPath,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = if is_v2(&route) {
        Endpoint::V2
    } else {
        Endpoint::V1
    };
    token(&state, &tenant, &headers, &body, endpoint).await
}

async fn token(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: Endpoint,
) -> Response {
    let now = state.clock.now();
    let correlation = correlation_id(headers);
    let mut response = match issue(state, tenant, headers, body, endpoint, now).await {
        Ok(body) => {
            let mut r = (StatusCode::OK, axum::Json(body)).into_response();
            let h = r.headers_mut();
            no_store_headers(h);
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&Uuid::new_v4().to_string()) {
                h.insert("x-ms-request-id", v);
            }
            r
        }
        Err(e) => {
            tracing::info!(code = e.code(), "token request refused");
            e.into_response_at(now, correlation)
        }
    };
    if let Ok(v) = HeaderValue::from_str(&correlation.to_string()) {
        response.headers_mut().insert("client-request-id", v);
    }
    response
}

/// How the client proved who it is. A new kind of credential (managed identity) is a new
/// variant: it authenticates its own way and then shares [`grant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// A client secret.
    Secret,
    /// A client assertion signed with a registered certificate.
    Certificate,
    /// An external identity provider's token matched by a federated credential.
    Federated,
}

impl ClientAuth {
    /// `appidacr`/`azpacr`: "1" for a secret, "2" for a certificate (reference §3.8). For a
    /// federated credential "2" is a guess: no capture was found.
    fn acr(self) -> &'static str {
        match self {
            ClientAuth::Secret => "1",
            ClientAuth::Certificate | ClientAuth::Federated => "2",
        }
    }
}

/// What the client presented to prove its identity.
enum Presented {
    Secret(String),
    Assertion(crate::credentials::Jwt),
}

fn presented(form: &mut TokenForm) -> Result<Presented, EntraError> {
    let kind = form.client_assertion_type.as_deref();
    match (form.client_secret.take(), form.client_assertion.take()) {
        (Some(_), Some(_)) => Err(EntraError::TwoCredentials),
        (Some(secret), None) => Ok(Presented::Secret(secret)),
        (None, Some(a)) if kind == Some(assertion::JWT_BEARER) => {
            Ok(Presented::Assertion(assertion::parse(&a)?))
        }
        (None, Some(_)) if kind.is_none() => {
            Err(EntraError::MissingParameter("client_assertion_type"))
        }
        (None, Some(_)) => Err(EntraError::UnexpectedAssertionType),
        (None, None) => Err(EntraError::MissingCredential),
    }
}

async fn issue(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: Endpoint,
    now: OffsetDateTime,
) -> Result<Value, EntraError> {
    if resolve_tenant(state, tenant)? != TenantRef::Ours {
        return Err(EntraError::NoTenant);
    }
    // Two `Authorization` headers are two client credentials at once, which OAuth 2.0 calls
    // an invalid request (RFC 6749 §2.3, §5.2). Entra's own answer was not found: the
    // malformed-request code is a guess.
    if crate::http::bearer::authorization(headers).is_err() {
        return Err(EntraError::MalformedRequest);
    }
    let mut form = TokenForm::parse(headers, body);
    let grant_type = form
        .grant_type
        .take()
        .ok_or(EntraError::MissingParameter("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(EntraError::UnsupportedGrantType(grant_type));
    }
    let lifetime = cae::lifetime(&state.config, cae::capable(form.claims.as_deref())?);
    let client_id = form
        .client_id
        .take()
        .ok_or(EntraError::MissingParameter("client_id"))?;
    let requested = match endpoint {
        Endpoint::V2 => resource_from_scope(
            &form
                .scope
                .take()
                .ok_or(EntraError::MissingParameter("scope"))?,
        )?,
        Endpoint::V1 => form
            .resource
            .take()
            .ok_or(EntraError::MissingParameter("resource"))?,
    };
    let base = request_base(state, headers);
    let bases = [base.as_str(), state.base_url.as_str()];
    let (app_id, auth) = authenticate_client(state, &client_id, form, tenant, &bases, now).await?;
    grant(
        state, app_id, auth, &requested, endpoint, &bases, now, lifetime,
    )
}

/// Finds the client and checks what it presented.
async fn authenticate_client(
    state: &AppState,
    client_id: &str,
    mut form: TokenForm,
    tenant: &str,
    bases: &[&str],
    now: OffsetDateTime,
) -> Result<(Uuid, ClientAuth), EntraError> {
    let (app_id, creds, jwt) = {
        let dir = state.directory();
        let app = Uuid::parse_str(client_id)
            .ok()
            .and_then(|id| dir.app_by_app_id(&id))
            .ok_or_else(|| EntraError::AppNotFound {
                client_id: client_id.to_owned(),
                tenant_name: state.config.tenant_display_name.clone(),
            })?;
        match presented(&mut form)? {
            Presented::Secret(secret) => {
                authenticate(app, &secret, now)?;
                return Ok((app.app_id, ClientAuth::Secret));
            }
            Presented::Assertion(jwt) if assertion::is_certificate_assertion(&jwt, client_id) => {
                let audiences = assertion::token_audiences(state, bases, tenant);
                assertion::check_certificate(app, &jwt, &audiences, now)?;
                return Ok((app.app_id, ClientAuth::Certificate));
            }
            Presented::Assertion(jwt) => (app.app_id, app.federated_credentials.clone(), jwt),
        }
    };
    let built_in = assertion::built_in_issuers(bases);
    assertion::check_federated(state, &creds, &jwt, &built_in, now).await?;
    Ok((app_id, ClientAuth::Federated))
}

/// Issues the token for an authenticated client: its service principal, the resource, the
/// roles it holds there.
#[allow(clippy::too_many_arguments)] // one token request's parts, passed straight through
fn grant(
    state: &AppState,
    app_id: Uuid,
    auth: ClientAuth,
    requested: &str,
    endpoint: Endpoint,
    bases: &[&str],
    now: OffsetDateTime,
    lifetime: std::time::Duration,
) -> Result<Value, EntraError> {
    let tenant_name = || state.config.tenant_display_name.clone();
    let dir = state.directory();
    // The application may have gone while a federated token's issuer was asked for keys.
    let app = dir
        .app_by_app_id(&app_id)
        .ok_or_else(|| EntraError::AppNotFound {
            client_id: app_id.to_string(),
            tenant_name: tenant_name(),
        })?;
    let sp = dir
        .sp_by_app_id(&app.app_id)
        .ok_or(EntraError::NoServicePrincipal {
            client_id: app.app_id,
            tenant: state.config.tenant_id,
        })?;
    if !sp.account_enabled {
        return Err(EntraError::AppDisabled {
            client_id: app.app_id,
            name: app.display_name.clone(),
        });
    }
    let resource = crate::first_party::resolve(requested, &dir, bases).ok_or_else(|| {
        EntraError::ResourceNotFound {
            resource: requested.to_owned(),
            tenant_name: tenant_name(),
        }
    })?;
    let roles = sp.roles_on(resource.app_id);
    let client = app.app_id;
    let client_name = app.display_name.clone();
    let oid = sp.id;
    drop(dir);

    let mut claims = token::claims(
        Grant {
            version: resource.version,
            aud: &resource.aud,
            tenant: &state.config.tenant_id,
            client_id: &client,
            client_name: &client_name,
            object_id: &oid,
            roles,
            instance_tag: &state.instance_tag,
        },
        now,
        lifetime,
    );
    for acr in [&mut claims.appidacr, &mut claims.azpacr]
        .into_iter()
        .flatten()
    {
        *acr = auth.acr().to_owned();
    }
    let access_token = token::mint(&state.keys.current(), &claims);
    let expires_in = lifetime.as_secs().saturating_sub(1);
    Ok(match endpoint {
        Endpoint::V2 => {
            let mut body = json!({
                "token_type": "Bearer",
                "expires_in": expires_in,
                "ext_expires_in": expires_in,
            });
            if let Some(refresh_in) = cae::refresh_in(expires_in) {
                body["refresh_in"] = json!(refresh_in);
            }
            body["access_token"] = json!(access_token);
            body
        }
        Endpoint::V1 => json!({
            "token_type": "Bearer",
            "expires_in": expires_in.to_string(),
            "ext_expires_in": expires_in.to_string(),
            "expires_on": claims.exp.to_string(),
            "not_before": claims.nbf.to_string(),
            "resource": requested,
            "access_token": access_token,
        }),
    })
}

/// A discovery-document failure: Entra answers an unknown tenant's metadata with 400.
fn discovery_error(state: &AppState, headers: &HeaderMap, e: EntraError) -> Response {
    e.into_response_at(state.clock.now(), correlation_id(headers))
}

/// Path segment and issuer placeholder for a discovery document.
fn discovery_tenant(state: &AppState, raw: &str) -> Result<(String, String), EntraError> {
    Ok(match resolve_tenant(state, raw)? {
        TenantRef::Ours => {
            let t = state.config.tenant_id.to_string();
            (t.clone(), t)
        }
        TenantRef::Multi(m) => (m.to_owned(), "{tenantid}".to_owned()),
    })
}

/// A discovery answer with the headers Entra sends: caching, CORS and a request id (which
/// MSAL logs).
fn discovery_response(doc: Value) -> Response {
    (
        [
            (REQUEST_ID, Uuid::new_v4().to_string()),
            (header::CACHE_CONTROL, "max-age=86400, private".to_owned()),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, OPTIONS".to_owned(),
            ),
        ],
        axum::Json(doc),
    )
        .into_response()
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");

/// Answers a discovery request for `tenant` with `document(state, path tenant, issuer
/// tenant)`, or in Entra's error envelope when the tenant is not one this emulator serves.
fn discovery(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    document: impl FnOnce(String, String) -> Value,
) -> Response {
    match discovery_tenant(state, tenant) {
        Ok((path, issuer_tenant)) => discovery_response(document(path, issuer_tenant)),
        Err(e) => discovery_error(state, headers, e),
    }
}

/// What the v1 and v2 OpenID configurations differ in; [`openid_document`] lays out
/// the rest, in Entra's key order.
struct OpenIdFlavour {
    /// Tenant URL on this emulator (`{base}/{tenant}`).
    tenant_url: String,
    /// `oauth2/v2.0` or `oauth2`.
    oauth: &'static str,
    jwks_uri: String,
    response_types: &'static [&'static str],
    scopes: &'static [&'static str],
    issuer: String,
    /// Keys right after `issuer`.
    after_issuer: Vec<(&'static str, Value)>,
    /// `claims_supported`, separated by spaces.
    claims: &'static str,
    /// Keys right after `claims_supported`.
    after_claims: Vec<(&'static str, Value)>,
}

fn openid_document(f: OpenIdFlavour) -> Value {
    let endpoint = |name: &str| Value::String(format!("{}/{}/{name}", f.tenant_url, f.oauth));
    let mut doc = serde_json::Map::new();
    let mut put = |key: &str, value: Value| {
        doc.insert(key.to_owned(), value);
    };
    put("token_endpoint", endpoint("token"));
    put(
        "token_endpoint_auth_methods_supported",
        json!([
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ]),
    );
    put("jwks_uri", json!(f.jwks_uri));
    put(
        "response_modes_supported",
        json!(["query", "fragment", "form_post"]),
    );
    put("subject_types_supported", json!(["pairwise"]));
    put("id_token_signing_alg_values_supported", json!(["RS256"]));
    put("response_types_supported", json!(f.response_types));
    put("scopes_supported", json!(f.scopes));
    put("issuer", json!(f.issuer));
    for (key, value) in f.after_issuer {
        put(key, value);
    }
    put("authorization_endpoint", endpoint("authorize"));
    put("device_authorization_endpoint", endpoint("devicecode"));
    put("http_logout_supported", json!(true));
    put("frontchannel_logout_supported", json!(true));
    put("end_session_endpoint", endpoint("logout"));
    put(
        "claims_supported",
        json!(f.claims.split(' ').collect::<Vec<_>>()),
    );
    for (key, value) in f.after_claims {
        put(key, value);
    }
    put(
        "kerberos_endpoint",
        json!(format!("{}/kerberos", f.tenant_url)),
    );
    put("tenant_region_scope", json!("WW"));
    put("cloud_instance_name", json!("microsoftonline.com"));
    put("cloud_graph_host_name", json!("graph.windows.net"));
    put("msgraph_host", json!("graph.microsoft.com"));
    put("rbac_url", json!("https://pas.windows.net"));
    Value::Object(doc)
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` and (v1)
/// `GET /{tenant}/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(
    state: AppState,
    route: MatchedPath,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let base = request_base(&state, &headers);
    let v2 = is_v2(&route);
    discovery(&state, &tenant, &headers, |path, issuer_tenant| {
        let tenant_url = format!("{base}/{path}");
        openid_document(if v2 {
            OpenIdFlavour {
                jwks_uri: format!("{tenant_url}/discovery/v2.0/keys"),
                oauth: "oauth2/v2.0",
                response_types: &["code", "id_token", "code id_token", "id_token token"],
                scopes: &["openid", "profile", "email", "offline_access"],
                issuer: format!("https://login.microsoftonline.com/{issuer_tenant}/v2.0"),
                after_issuer: vec![
                    ("request_uri_parameter_supported", json!(false)),
                    (
                        "userinfo_endpoint",
                        json!("https://graph.microsoft.com/oidc/userinfo"),
                    ),
                ],
                claims: "sub iss cloud_instance_name cloud_instance_host_name cloud_graph_host_name msgraph_host aud exp iat auth_time acr nonce preferred_username name tid ver at_hash c_hash email",
                after_claims: vec![],
                tenant_url,
            }
        } else {
            OpenIdFlavour {
                jwks_uri: format!("{base}/common/discovery/keys"),
                oauth: "oauth2",
                response_types: &[
                    "code",
                    "id_token",
                    "code id_token",
                    "token id_token",
                    "token",
                ],
                scopes: &["openid"],
                issuer: format!("https://sts.windows.net/{issuer_tenant}/"),
                after_issuer: vec![("microsoft_multi_refresh_token", json!(true))],
                claims: "sub iss cloud_instance_name cloud_instance_host_name cloud_graph_host_name msgraph_host aud exp iat auth_time acr amr nonce email given_name family_name nickname",
                after_claims: vec![
                    (
                        "check_session_iframe",
                        json!(format!("{tenant_url}/oauth2/checksession")),
                    ),
                    (
                        "userinfo_endpoint",
                        json!(format!("{tenant_url}/openid/userinfo")),
                    ),
                ],
                tenant_url,
            }
        })
    })
}

/// `GET /{tenant}/discovery/v2.0/keys` and (v1; `common` is what v1 discovery points at)
/// `GET /{tenant}/discovery/keys`.
pub(crate) async fn jwks(
    state: AppState,
    route: MatchedPath,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v2 = is_v2(&route);
    discovery(&state, &tenant, &headers, |_, issuer_tenant| {
        let issuer = format!("https://login.microsoftonline.com/{issuer_tenant}/v2.0");
        state.keys.jwks(v2.then_some(issuer.as_str()))
    })
}

/// Whether a token or discovery route is the v2 one (`…/v2.0/…`).
fn is_v2(route: &MatchedPath) -> bool {
    route.as_str().contains("/v2.0/")
}

/// Query of MSAL's instance discovery.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct InstanceQuery {
    authorization_endpoint: Option<String>,
}

/// `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=…`: describes this
/// emulator as a cloud instance whose only alias is its own host.
pub(crate) async fn instance_discovery(
    state: AppState,
    headers: HeaderMap,
    Query(query): Query<InstanceQuery>,
) -> Response {
    let now = state.clock.now();
    let correlation = correlation_id(&headers);
    let base = request_base(&state, &headers);
    let host = host_of(&base).to_owned();
    let Some(endpoint) = query.authorization_endpoint else {
        return EntraError::MissingParameter("authorization_endpoint")
            .into_response_at(now, correlation);
    };
    let Some((authority_host, path)) = endpoint
        .split_once("://")
        .map(|(_, rest)| rest.split_once('/').unwrap_or((rest, "")))
    else {
        return EntraError::InvalidInstance.into_response_at(now, correlation);
    };
    let configured = host_of(&state.base_url);
    if !authority_host.eq_ignore_ascii_case(&host)
        && !authority_host.eq_ignore_ascii_case(configured)
    {
        return EntraError::InvalidInstance.into_response_at(now, correlation);
    }
    let tenant = path
        .split('/')
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or("common");
    discovery_response(json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules_match_client_credentials() {
        assert_eq!(
            resource_from_scope("https://graph.microsoft.com/.default"),
            Ok("https://graph.microsoft.com".into())
        );
        assert_eq!(
            resource_from_scope("https://management.core.windows.net//.default"),
            Ok("https://management.core.windows.net/".into())
        );
        // Entra answered `https://vault.azure.net/.default openid profile offline_access`
        // with a token (fixtures/azure/js_identity_environment_credential_secret.json,
        // exchange 2).
        assert_eq!(
            resource_from_scope("https://vault.azure.net/.default openid profile offline_access"),
            Ok("https://vault.azure.net".into())
        );
        assert_eq!(
            resource_from_scope("openid"),
            Err(EntraError::ScopeNotDefault("openid".into()))
        );
        assert_eq!(
            resource_from_scope("User.Read openid"),
            Err(EntraError::ScopeNotDefault("User.Read".into()))
        );
        assert_eq!(
            resource_from_scope("User.Read"),
            Err(EntraError::ScopeNotDefault("User.Read".into()))
        );
        assert!(matches!(
            resource_from_scope("a/.default b/.default"),
            Err(EntraError::InvalidScope(_))
        ));
        assert!(matches!(
            resource_from_scope("/.default"),
            Err(EntraError::InvalidScope(_))
        ));
    }

    #[test]
    fn dns_names_and_garbage_are_told_apart() {
        assert!(is_dns_name("contoso.onmicrosoft.com"));
        assert!(!is_dns_name("not a tenant"));
        assert!(is_dns_name("tenant"));
        assert!(!is_dns_name("bad_tenant"));
        assert!(!is_dns_name("a..b"));
        assert!(!is_dns_name("-bad.com"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&v).expect("hv"),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("my id".into(), "s:cret".into()))
        );
    }
}
