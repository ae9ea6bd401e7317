//! The Azure portal: register an app, note its client id, create a client secret, copy the
//! value (shown once), read the credential back (value hidden), sign in with the copy.

use entra_client::TokenApi;
use entra_client::graph::SecretOptions;
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use entra_conformance::shape::decode_jwt;

use super::{ARM_SCOPE, add_secret, credentials, iso_seconds, register, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![portal_flow]
}

async fn portal_flow(s: &Scenario) {
    let graph = s.admin().graph();
    // "Register": the portal creates the application and its service principal.
    let (app, sp) = register(s, "portal").await;
    s.label(&app.id, "app-object-id");
    s.label(&app.app_id, "app-id");
    s.label(&sp.id, "sp-object-id");

    // Overview: the client id to note down.
    let overview = graph.get_application(&app.id).await.expect("overview");
    assert_eq!(overview.app_id, app.app_id);
    assert!(overview.password_credentials.is_empty());

    // Certificates & secrets → New client secret, the recommended 180 days.
    let end = s.now().await + time::Duration::days(180);
    let new = add_secret(
        s,
        &app,
        SecretOptions {
            display_name: Some("portal secret".into()),
            end_date_time: Some(iso_seconds(end)),
            ..SecretOptions::default()
        },
    )
    .await;
    s.label(&new.credential.key_id, "key-id");
    let value = new.secret.expose().to_owned();
    assert_eq!(new.credential.hint.as_deref(), Some(&value[..3]));

    // Leaving the page and coming back: the credential is listed, its value is not.
    let read = graph.get_application(&app.id).await.expect("read back");
    assert_eq!(
        read.password_credentials,
        std::slice::from_ref(&new.credential)
    );
    let shown = serde_json::to_string(&read).expect("json");
    assert!(!shown.contains(&value), "the value is shown only once");

    // The copied value signs in.
    let issued = token(
        s,
        TokenApi::V2,
        &credentials(&app.app_id, &value).scope(ARM_SCOPE),
    )
    .await;
    let (_, claims) = decode_jwt(issued.access_token.secret()).expect("a JWT");
    assert_eq!(claims["appid"], app.app_id.as_str());
    assert_eq!(claims["oid"], sp.id.as_str());
}
