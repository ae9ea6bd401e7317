use std::time::Duration;

use entra_client::{AzureClient, ClientSecret, ClientSecretCredential, Cloud, TokenCredential};

#[tokio::test]
async fn a_new_app_signs_in_until_its_secret_expires() -> Result<(), Box<dyn std::error::Error>> {
    // 127.0.0.1 on a free port, plain HTTP; it stops when dropped.
    let emulator = entra_emulator::Emulator::start().await?;
    let cloud = Cloud::emulator(emulator.url()); // Cloud::azure_public() against Azure
    let tenant = emulator.tenant_id().to_string();
    let admin = emulator.admin();
    let admin = ClientSecretCredential::new(
        &cloud,
        tenant.clone(),
        admin.client_id.to_string(),
        ClientSecret::new(admin.client_secret.expose()),
    )?;
    let graph = AzureClient::new(cloud.clone(), admin)?.graph();

    // Register an app, add a secret (its value is in this answer only), create its principal.
    let app = graph.create_application("my-app").await?;
    let secret = graph.add_password(&app.id, &Default::default()).await?;
    graph.create_service_principal(&app.app_id).await?;

    let as_app = ClientSecretCredential::new(
        &cloud,
        tenant,
        app.app_id.clone(),
        ClientSecret::new(secret.secret.expose()),
    )?;
    as_app
        .get_token("https://management.azure.com/.default")
        .await?;

    // Three years later on the emulator's clock the secret (two years by default) has expired.
    emulator.advance_clock(Duration::from_secs(3 * 365 * 24 * 3600));
    let refused = as_app
        .get_token("https://graph.microsoft.com/.default")
        .await;
    assert!(refused.unwrap_err().to_string().contains("AADSTS7000222"));
    Ok(())
}
