//! `GET /metadata/endpoints?api-version=…`: the cloud metadata document that describes the
//! emulator as an Azure cloud, so `az cloud register --endpoint-resource-manager {base}`
//! configures itself.
//!
//! Every endpoint a client calls is on the request's base URL. Token audiences stay the real
//! resource identifiers, except where a client uses the same value as endpoint and audience
//! (`microsoftGraphResourceId`, `logAnalyticsResourceId`, `appInsightsResourceId`): those are
//! the base URL, which the token endpoint therefore accepts as a resource.

use axum::extract::OriginalUri;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ArmError, Query, decorate, json, versions};
use crate::http::request_base;
use crate::services::AppState;

/// The `name` the document gives the cloud.
pub(crate) const CLOUD_NAME: &str = "EntraEmulator";

/// The 2019-05-01 and later cloud object.
fn cloud(base: &str) -> Value {
    json!({
        "portal": base,
        "authentication": {
            "loginEndpoint": format!("{base}/"),
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD"
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "name": CLOUD_NAME,
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "storageSyncEndpointSuffix": "afs.azure.net",
            "mhsmDns": "managedhsm.azure.net",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
            "synapseAnalytics": "dev.azuresynapse.net",
            "attestationEndpoint": "attest.azure.net"
        },
        "batch": "https://batch.core.windows.net/",
        "resourceManager": format!("{base}/"),
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "gallery": "https://gallery.azure.com/",
        "microsoftGraphResourceId": format!("{base}/"),
        "appInsightsResourceId": base,
        "appInsightsTelemetryChannelResourceId": format!("{base}/v2/track"),
        "attestationResourceId": "https://attest.azure.net",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
        "logAnalyticsResourceId": base,
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net"
    })
}

/// The document's shape by api-version: before 2019-05-01 a single object of the old form,
/// then an array of clouds, and from 2022-09-01 a single cloud object (the one the Azure CLI
/// reads).
fn document(base: &str, version: &str) -> Value {
    if version >= "2022-09-01" {
        cloud(base)
    } else if version >= "2019-05-01" {
        json!([cloud(base)])
    } else {
        json!({
            "galleryEndpoint": "https://gallery.azure.com/",
            "graphEndpoint": "https://graph.windows.net/",
            "portalEndpoint": format!("{base}/"),
            "authentication": {
                "loginEndpoint": format!("{base}/"),
                "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"]
            }
        })
    }
}

/// `GET /metadata/endpoints?api-version=…` (no authentication, as on ARM).
pub(crate) async fn metadata_endpoints(
    state: AppState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let now = state.clock.now();
    let base = request_base(&state, &headers);
    let query = Query::parse(uri.query());
    let mut response = match query.api_version.as_deref() {
        None => ArmError::MissingApiVersion.into_response(),
        Some(v) if !versions::well_formed(v) => ArmError::InvalidApiVersion {
            given: v.to_owned(),
            supported: "2022-09-01,2020-06-01,2019-05-01,2018-01-01,2015-01-01",
        }
        .into_response(),
        Some(v) => json(StatusCode::OK, &document(&base, v)),
    };
    decorate(
        &mut response,
        &state,
        &Method::GET,
        &[],
        &headers,
        &base,
        now,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_follows_the_api_version() {
        let base = "https://127.0.0.1:8443";
        let new = document(base, "2022-09-01");
        assert_eq!(new["resourceManager"], "https://127.0.0.1:8443/");
        assert_eq!(new["microsoftGraphResourceId"], "https://127.0.0.1:8443/");
        assert_eq!(
            new["authentication"]["audiences"][0],
            "https://management.core.windows.net/"
        );
        assert!(document(base, "2020-06-01").is_array());
        let old = document(base, "2015-01-01");
        assert_eq!(
            old["authentication"]["loginEndpoint"],
            "https://127.0.0.1:8443/"
        );
        assert!(old.get("name").is_none());
    }
}
