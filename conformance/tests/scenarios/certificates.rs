//! Certificate login: `az ad sp create-for-rbac --create-cert` registers the application with
//! its certificate inline (Azure/azure-cli `role/tests/latest/recordings/
//! test_create_for_rbac_create_cert.yaml` @ fd3b3d8c), Graph reads it back by thumbprint, and
//! the application signs in with client assertions as MSAL and Entra's docs form them; a
//! certificate the application does not hold is refused with AADSTS700027.

use entra_client::{AssertionFormat, ClientCertificate, ClientSecret, TokenApi, TokenRequest};
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use entra_conformance::shape::decode_jwt;
use entra_emulator::test_support::TestCertificate;
use serde_json::json;

use super::{ARM_SCOPE, iso_seconds, refused, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![certificate_login]
}

/// A self-signed RSA certificate valid from a day ago for two years.
fn certificate(cn: &str, now: time::OffsetDateTime) -> TestCertificate {
    TestCertificate::generate(
        cn,
        now - time::Duration::days(1),
        now + time::Duration::days(730),
    )
}

async fn certificate_login(s: &Scenario) {
    let now = s.now().await;
    let cert = certificate("CLI-Login", now);
    let stranger = certificate("stranger", now);
    for (value, label) in [
        (cert.base64_wrapped(), "certificate"),
        (cert.base64(), "certificate"),
        (cert.thumbprint(), "thumbprint"),
        (stranger.thumbprint(), "stranger-thumbprint"),
    ] {
        s.label(&value, label);
    }
    let graph = s.admin().graph();
    let name = s.unique_name("cert");
    let start = now.replace_nanosecond(0).expect("whole seconds");
    let end = start + time::Duration::days(365);
    let app = graph
        .create_application_with(json!({"displayName": name, "keyCredentials": [{
            "@odata.type": "#microsoft.graph.keyCredential", "displayName": null,
            "endDateTime": iso_seconds(end), "key": cert.base64_wrapped(),
            "keyId": uuid::Uuid::new_v4(), "startDateTime": iso_seconds(start),
            "type": "AsymmetricX509Cert", "usage": "Verify"}]}))
        .await
        .expect("register the application with its certificate");
    s.delete_later(&app.id);
    s.label(&app.app_id, "app-id");
    let (graph_ref, app_id) = (&graph, app.app_id.as_str());
    s.eventually("create the service principal", || async move {
        graph_ref
            .create_service_principal(app_id)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let read = graph.get_application(&app.id).await.expect("read back");
    assert_eq!(
        read.other["keyCredentials"][0]["customKeyIdentifier"],
        cert.thumbprint().as_str()
    );

    let tenant = s.tenant_id().to_owned();
    let audience = s.tokens().url(TokenApi::V2, &tenant);
    s.label(&audience, "token-endpoint");
    let assertion = |c: &TestCertificate, format| {
        ClientCertificate::from_pem(&c.pem())
            .expect("PEM")
            .assertion(
                &app.app_id,
                &audience,
                time::OffsetDateTime::now_utc(),
                format,
            )
            .expect("signed")
    };
    let request = |a: String| {
        TokenRequest::client_assertion(app.app_id.as_str(), ClientSecret::new(a)).scope(ARM_SCOPE)
    };
    // RS256 with x5t, as MSAL Python and the Azure CLI send; appidacr "2" = certificate.
    let issued = token(
        s,
        TokenApi::V2,
        &request(assertion(&cert, AssertionFormat::Sha1Rs256)),
    )
    .await;
    let (_, claims) = decode_jwt(issued.access_token.secret()).expect("JWT");
    assert_eq!(claims["appidacr"], "2");
    // PS256 with x5t#S256, as Entra's certificate credentials page asks.
    token(
        s,
        TokenApi::V2,
        &request(assertion(&cert, AssertionFormat::Sha256Ps256)),
    )
    .await;
    refused(
        s,
        TokenApi::V2,
        &tenant,
        &request(assertion(&stranger, AssertionFormat::Sha1Rs256)),
        700027,
    )
    .await;
}
