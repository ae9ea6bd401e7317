//! Register an app, give it a secret and a service principal, grant it `Log Analytics Reader`
//! on a workspace, wait until the grant reaches the Log Analytics API, and run a query as the
//! app — against a running emulator or real Azure, with the same code.
//!
//! Emulator: `cargo run -p entra-client --example log_analytics_access -- CONNECTION_FILE`
//! (a workspace is created; waiting moves the emulator's clock).
//!
//! Azure: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` (a principal allowed to
//! register apps and assign roles) and `LOG_ANALYTICS_WORKSPACE_ID` (the workspace's ARM
//! resource id); waiting is real, up to 30 minutes.

use std::time::Duration;

use entra_client::workflows::{EmulatorClock, RealTime, Waiter, wait_for_access};
use entra_client::{
    AzureClient, ClientSecret, ClientSecretCredential, Cloud, Connection, EnvironmentCredential,
    Error,
};

struct Setup {
    admin: AzureClient,
    cloud: Cloud,
    tenant: String,
    waiter: Box<dyn Waiter>,
    workspace: String,
    emulator: bool,
}

async fn setup() -> Result<Setup, Error> {
    if let Some(path) = std::env::args().nth(1) {
        let conn = Connection::from_file(path)?;
        let cloud = conn.cloud()?;
        let credential = ClientSecretCredential::new(
            &cloud,
            &conn.tenant_id,
            &conn.admin.client_id,
            ClientSecret::new(&conn.admin.client_secret),
        )?;
        let admin = AzureClient::new(cloud.clone(), credential)?;
        let group = admin
            .arm()
            .create_resource_group(&conn.subscription_id, "example-rg", "westeurope", None)
            .await?;
        let workspace = format!(
            "{}/providers/Microsoft.OperationalInsights/workspaces/example-ws",
            group.id
        );
        admin
            .arm()
            .put_resource(
                &workspace,
                "2022-10-01",
                &serde_json::json!({"location": "westeurope", "properties": {}}),
            )
            .await?;
        // Give the workspace a row through the emulator's seeding shortcut (on Azure, data
        // arrives through agents or the Logs Ingestion API).
        let created = admin.arm().get_resource(&workspace, "2022-10-01").await?;
        let customer_id = created.properties["customerId"]
            .as_str()
            .unwrap_or_default();
        let mut http = reqwest::Client::builder();
        if let Some(pem) = &cloud.ca_pem {
            http = http.tls_certs_merge(reqwest::Certificate::from_pem_bundle(pem.as_bytes())?);
        }
        http.build()?
            .post(format!(
                "{}/_emulator/monitor/workspaces/{customer_id}/tables/AppEvents_CL",
                conn.base_url
            ))
            .json(&serde_json::json!([{"Name": "checkout", "DurationMs": 42}]))
            .send()
            .await?
            .error_for_status()?;
        let waiter = Box::new(EmulatorClock::new(&cloud)?);
        return Ok(Setup {
            admin,
            cloud,
            tenant: conn.tenant_id,
            waiter,
            workspace,
            emulator: true,
        });
    }
    let cloud = Cloud::azure_public();
    let credential = EnvironmentCredential::from_env(&cloud)?;
    let tenant = credential.tenant_id().to_owned();
    let workspace = std::env::var("LOG_ANALYTICS_WORKSPACE_ID")
        .map_err(|_| Error::Config("LOG_ANALYTICS_WORKSPACE_ID is not set".into()))?;
    let admin = AzureClient::new(cloud.clone(), credential)?;
    Ok(Setup {
        admin,
        cloud,
        tenant,
        waiter: Box::new(RealTime),
        workspace,
        emulator: false,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let s = setup().await?;
    let graph = s.admin.graph();
    let name = format!("log-analytics-reader-{}", &uuid_suffix());
    let app = graph.create_application(&name).await?;
    println!("registered {name}: client id {}", app.app_id);
    let secret = graph.add_password(&app.id, &Default::default()).await?;
    println!(
        "secret created (hint {:?}); its value is not shown again",
        secret.credential.hint
    );
    let sp = graph.create_service_principal(&app.app_id).await?;

    let arm = s.admin.arm();
    let role = arm
        .role_definition_by_name(&s.workspace, "Log Analytics Reader")
        .await?
        .ok_or_else(|| Error::Config("no Log Analytics Reader role".into()))?;
    arm.create_role_assignment(&s.workspace, &role.id, &sp.id, Some("ServicePrincipal"))
        .await?;
    println!("assigned Log Analytics Reader on {}", s.workspace);

    let customer_id = arm
        .get_resource(&s.workspace, "2022-10-01")
        .await?
        .properties["customerId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let app_credential = ClientSecretCredential::new(
        &s.cloud,
        &s.tenant,
        &app.app_id,
        ClientSecret::new(secret.secret.expose()),
    )?;
    let as_app = AzureClient::new(s.cloud.clone(), app_credential)?;
    let monitor = as_app.monitor();
    let access = wait_for_access(
        s.waiter.as_ref(),
        Duration::from_secs(15),
        Duration::from_secs(120),
        Duration::from_secs(30 * 60),
        || monitor.query_workspace(&customer_id, "print greeting = 'hello from the app'", None),
    )
    .await?;
    println!(
        "query allowed after {:?} ({} refusals while the role propagated)",
        access.waited, access.denied
    );
    match access.value.primary() {
        Some(table) => println!("{}: {:?}", table.name, table.rows),
        // The query API answers 204 for a workspace that has never received data.
        None => println!("the workspace holds no data yet (204)"),
    }

    graph.delete_application(&app.id).await?;
    if s.emulator {
        println!("(emulator: the wait moved its clock instead of sleeping)");
    }
    Ok(())
}

fn uuid_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}
