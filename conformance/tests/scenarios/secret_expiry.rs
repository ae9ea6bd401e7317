//! Rotating a client secret before it expires: the new one works alongside the old, the old
//! stops at its end date (AADSTS7000222), and once removed it is just a wrong secret.

use std::time::Duration;

use entra_client::TokenApi;
use entra_client::graph::SecretOptions;
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;

use super::{ARM_SCOPE, add_secret, credentials, iso_seconds, refused, register, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![secret_expiry]
}

async fn secret_expiry(s: &Scenario) {
    let graph = s.admin().graph();
    let (app, _) = register(s, "expiry").await;
    s.label(&app.app_id, "app-id");
    let tenant = s.tenant_id().to_owned();

    let end = s.now().await + time::Duration::minutes(3);
    let old = add_secret(
        s,
        &app,
        SecretOptions {
            display_name: Some("expiring".into()),
            end_date_time: Some(iso_seconds(end)),
            ..SecretOptions::default()
        },
    )
    .await;
    s.label(&old.credential.key_id, "old-key-id");
    let old_value = old.secret.expose().to_owned();
    let with = |secret: &str| credentials(&app.app_id, secret).scope(ARM_SCOPE);
    token(s, TokenApi::V2, &with(&old_value)).await;

    s.wait(Duration::from_secs(60)).await;
    let new = add_secret(
        s,
        &app,
        SecretOptions {
            display_name: Some("rotated".into()),
            ..SecretOptions::default()
        },
    )
    .await;
    s.label(&new.credential.key_id, "new-key-id");
    let new_value = new.secret.expose().to_owned();
    token(s, TokenApi::V2, &with(&new_value)).await;
    token(s, TokenApi::V2, &with(&old_value)).await;

    s.wait(Duration::from_secs(150)).await;
    refused(s, TokenApi::V2, &tenant, &with(&old_value), 7000222).await;
    token(s, TokenApi::V2, &with(&new_value)).await;

    graph
        .remove_password(&app.id, &old.credential.key_id)
        .await
        .expect("remove the expired secret");
    refused(s, TokenApi::V2, &tenant, &with(&old_value), 7000215).await;
    let read = graph.get_application(&app.id).await.expect("read");
    assert_eq!(
        read.password_credentials,
        std::slice::from_ref(&new.credential)
    );
}
