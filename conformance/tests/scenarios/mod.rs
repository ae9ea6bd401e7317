//! One file per story, each listed in `all()`.

mod create_for_rbac;
mod managed_identity;
mod portal;
mod powershell;
mod propagation;
mod role_assignments;
mod secret_expiry;
mod tokens;

use entra_client::graph::{Application, NewSecret, SecretOptions, ServicePrincipal};
use entra_client::{ClientSecret, Error, TokenApi, TokenRequest, TokenResponse};
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use time::OffsetDateTime;

/// Every scenario.
pub(crate) fn all() -> Vec<Definition> {
    [
        portal::scenarios(),
        tokens::scenarios(),
        secret_expiry::scenarios(),
        create_for_rbac::scenarios(),
        powershell::scenarios(),
        role_assignments::scenarios(),
        propagation::scenarios(),
        managed_identity::scenarios(),
    ]
    .concat()
}

/// The ARM scope most tools ask for.
pub(crate) const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// Where scenarios put their resources.
pub(crate) const REGION: &str = entra_conformance::sanitize::SCENARIO_REGION;

/// The api-version scenarios create Log Analytics workspaces with.
pub(crate) const WORKSPACE_API: &str = "2022-10-01";

/// The built-in Reader role's id.
pub(crate) const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

/// `YYYY-MM-DDTHH:MM:SSZ`, as the Azure CLI and the portal send date-times.
pub(crate) fn iso_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .expect("formattable")
}

/// The same date a year later (28 February for 29 February), as `relativedelta(years=1)` and
/// .NET's `AddYears(1)` compute it.
pub(crate) fn a_year_after(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_year(t.year() + 1)
        .or_else(|_| (t - time::Duration::days(1)).replace_year(t.year() + 1))
        .expect("a representable date")
}

/// An application registered by the admin, with its service principal, named after `what`
/// and deleted after the scenario.
pub(crate) async fn register(s: &Scenario, what: &str) -> (Application, ServicePrincipal) {
    let graph = s.admin().graph();
    let app = graph
        .create_application(&s.unique_name(what))
        .await
        .expect("register the application");
    s.delete_later(&app.id);
    let (graph, app_id) = (&graph, app.app_id.as_str());
    let sp = s
        .eventually("create the service principal", || async move {
            graph
                .create_service_principal(app_id)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    (app, sp)
}

/// A new client secret of `app`.
pub(crate) async fn add_secret(
    s: &Scenario,
    app: &Application,
    options: SecretOptions,
) -> NewSecret {
    s.admin()
        .graph()
        .add_password(&app.id, &options)
        .await
        .expect("add a client secret")
}

/// A client-credentials request for `client_id` with `secret`.
pub(crate) fn credentials(client_id: &str, secret: &str) -> TokenRequest {
    TokenRequest::client_credentials(client_id, ClientSecret::new(secret))
}

/// Asks `api` of the scenario's tenant for a token until it is issued.
pub(crate) async fn token(s: &Scenario, api: TokenApi, request: &TokenRequest) -> TokenResponse {
    s.eventually("get a token", || async move {
        s.tokens()
            .request(api, s.tenant_id(), request)
            .await
            .map_err(|e| e.to_string())
    })
    .await
}

/// Sends `request` to `api` of `tenant` until it is refused with `aadsts`.
pub(crate) async fn refused(
    s: &Scenario,
    api: TokenApi,
    tenant: &str,
    request: &TokenRequest,
    aadsts: u64,
) -> Error {
    s.eventually(&format!("refused with AADSTS{aadsts}"), || async move {
        match s.tokens().request(api, tenant, request).await {
            Err(e) if e.aadsts() == Some(aadsts) => Ok(e),
            Err(e) => Err(format!("refused otherwise: {e}")),
            Ok(_) => Err("a token was issued".to_owned()),
        }
    })
    .await
}
