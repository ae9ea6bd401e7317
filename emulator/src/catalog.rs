//! The service catalog: every API the emulator serves, and what each one says about a
//! request before any handler runs — which paths are its own, the largest body it takes,
//! the fault-injection service that selects it, its default throttling `Retry-After`, and
//! the Azure host that serves it for real.
//!
//! Everything that needs to know which service owns a request reads [`Api::of`]: the router
//! (custom metrics share ARM's paths), the input guard (body limit and error envelope of a
//! refused request), fault injection (which rules apply, and whose throttling body), the
//! host check, and the conformance crate's sanitizer (the Azure host of a recorded URL).
//! Each match on [`Api`] elsewhere is exhaustive, so a new API added here is a compile error
//! in every place that must say how to answer for it (see `docs/ARCHITECTURE.md`).
//!
//! | API | paths | envelope |
//! |---|---|---|
//! | [`Api::Entra`] | `/{tenant}/oauth2/…`, `/{tenant}/v2.0/…`, `/{tenant}/.well-known/…`, `/{tenant}/discovery/…`, `/common/discovery/…` | OAuth error JSON with an AADSTS code |
//! | [`Api::Graph`] | `/v1.0/…`, `/beta/…` | `error.code/message/innerError` |
//! | [`Api::Arm`] | `/subscriptions…`, `/providers…`, `/tenants…`, `/metadata/…` | `error.code/message` with ARM's headers |
//! | [`Api::CustomMetrics`] | `POST {resourceId}/metrics` | `error.code/message` |
//! | [`Api::LogsQuery`] | `/v1/workspaces/…` and other `/v1/…` | OneAPI `error` with `innererror` |
//! | [`Api::AppInsights`] | `/v1/apps/…` | OneAPI `error` |
//! | [`Api::LogsIngestion`] | `/dataCollectionRules/…` | `error.code/message` |
//! | [`Api::Imds`] | `/metadata/identity/…` | IMDS's `error`/`error_description` |
//! | [`Api::AppServiceIdentity`] | `/msi/…` | `statusCode`/`message` |
//! | [`Api::Portal`] | `/_emulator/portal…` | an HTML page |
//! | [`Api::Control`] | `/_emulator…` | `error.code/message` |
//! | [`Api::Unmatched`] | anything else | the control API's |

use std::borrow::Cow;
use std::time::Duration;

use axum::http::Method;

use crate::faults::Service;

/// MiB.
const MB: usize = 1 << 20;

/// Longest request target (path and query) any API reads. Azure's front ends refuse far
/// shorter ones (HTTP.sys's default head limit is 16 KiB); the emulator is lenient, so that
/// the services' own checks (a 60,000-character resource group name, say) answer first, but
/// stays below hyper's own limit (65,534 bytes), whose 414 carries no body.
pub(crate) const MAX_URI_LEN: usize = 63 * 1024;

/// Most bytes of header field names and values a request may carry. Large enough for any
/// token the emulator reads (see [`crate::token::MAX_TOKEN_LEN`]) several times over, and
/// below hyper's own HTTP/1.1 head limit (about 400 KiB), whose 431 carries no body.
pub(crate) const MAX_HEADER_BYTES: usize = 256 * 1024;

/// The Azure Core envelope's (ARM's, Logs Ingestion's) words for a request target over
/// [`MAX_URI_LEN`]. A guess: no recorded answer was found.
pub(crate) fn uri_too_long_message() -> String {
    format!("The request URI exceeds the maximum length of {MAX_URI_LEN} bytes.")
}

/// The Azure Core envelope's words for header fields over [`MAX_HEADER_BYTES`]. A guess.
pub(crate) fn headers_too_large_message() -> String {
    format!("The request headers exceed the maximum size of {MAX_HEADER_BYTES} bytes.")
}

/// One API the emulator serves (see the module documentation for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Entra ID: token endpoints, discovery documents, keys, instance discovery.
    Entra,
    /// Microsoft Graph.
    Graph,
    /// Azure Resource Manager, the metrics read API under it included.
    Arm,
    /// Azure Monitor custom metrics ingestion: `POST {resourceId}/metrics`, sent to the
    /// regional monitoring host, served on the emulator's one base URL.
    CustomMetrics,
    /// The Log Analytics query API.
    LogsQuery,
    /// The Application Insights query API.
    AppInsights,
    /// The Logs Ingestion API.
    LogsIngestion,
    /// The Azure Instance Metadata Service's managed identity token endpoint.
    Imds,
    /// The App Service / Functions managed identity endpoint (`IDENTITY_ENDPOINT`).
    AppServiceIdentity,
    /// The emulator's HTML portal.
    Portal,
    /// The emulator's control API.
    Control,
    /// A path no API serves.
    Unmatched,
}

impl Api {
    /// Every API, in the order of the module documentation's table.
    pub const ALL: [Api; 12] = [
        Api::Entra,
        Api::Graph,
        Api::Arm,
        Api::CustomMetrics,
        Api::LogsQuery,
        Api::AppInsights,
        Api::LogsIngestion,
        Api::Imds,
        Api::AppServiceIdentity,
        Api::Portal,
        Api::Control,
        Api::Unmatched,
    ];

    /// The API that serves `method path` (`path` without the query, decoded or not).
    ///
    /// ```
    /// use axum::http::Method;
    /// use entra_emulator::catalog::Api;
    /// let resource = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a";
    /// assert_eq!(Api::of(&Method::POST, &format!("{resource}/metrics")), Api::CustomMetrics);
    /// let read = format!("{resource}/providers/Microsoft.Insights/metrics");
    /// assert_eq!(Api::of(&Method::GET, &read), Api::Arm);
    /// assert_eq!(Api::of(&Method::POST, "/tid/oauth2/v2.0/token"), Api::Entra);
    /// ```
    pub fn of(method: &Method, path: &str) -> Api {
        let mut segs = path.trim_start_matches('/').split('/');
        let first = segs.next().unwrap_or_default();
        let second = segs.next();
        match first {
            "v1.0" | "beta" => Api::Graph,
            "metadata" if second == Some("identity") => Api::Imds,
            "msi" => Api::AppServiceIdentity,
            _ if arm_root(first).is_some() => {
                if *method == Method::POST && is_custom_metrics(path) {
                    Api::CustomMetrics
                } else {
                    Api::Arm
                }
            }
            "v1" if second == Some("apps") => Api::AppInsights,
            "v1" => Api::LogsQuery,
            "dataCollectionRules" => Api::LogsIngestion,
            "_emulator" if second == Some("portal") => Api::Portal,
            "_emulator" => Api::Control,
            "common" if second == Some("discovery") => Api::Entra,
            _ if matches!(
                second,
                Some("oauth2" | "v2.0" | ".well-known" | "discovery")
            ) =>
            {
                Api::Entra
            }
            _ => Api::Unmatched,
        }
    }

    /// The largest request body the API takes.
    pub const fn body_limit(self) -> usize {
        match self {
            // No documented limit; a token request is a few hundred bytes.
            Api::Entra => MB,
            // Graph's documented limit for a request body.
            Api::Graph => 4 * MB,
            // "The request content size exceeds the maximum size of 4 MB."
            Api::Arm => 4 * MB,
            // The service's limit was not found; 1 MiB is a guess.
            Api::CustomMetrics => MB,
            // The service's own limit was not found; 2 MiB leaves room for the longest query
            // (the query text itself is bounded by `kql::MAX_QUERY_LEN`).
            Api::LogsQuery | Api::AppInsights => 2 * MB,
            // The documented limit of one call, compressed or not.
            Api::LogsIngestion => MB,
            // Token requests are GETs: no body is read.
            Api::Imds | Api::AppServiceIdentity => MB,
            Api::Portal => MB,
            // Table seeding takes large bodies (larger than any Azure API, to seed quickly).
            Api::Control | Api::Unmatched => 64 * MB,
        }
    }

    /// The service fault rules select the API by; `None` for the emulator's own APIs, which
    /// are never faulted. `Some(Service::All)` stands for a path no API serves.
    pub fn fault_service(self) -> Option<Service> {
        match self {
            Api::Entra => Some(Service::Entra),
            Api::Graph => Some(Service::Graph),
            Api::Arm => Some(Service::Arm),
            Api::CustomMetrics => Some(Service::Metrics),
            Api::LogsQuery | Api::LogsIngestion => Some(Service::Logs),
            Api::AppInsights => Some(Service::Appinsights),
            Api::Unmatched => Some(Service::All),
            Api::Imds | Api::AppServiceIdentity => Some(Service::ManagedIdentity),
            Api::Portal | Api::Control => None,
        }
    }

    /// Whether the API echoes `x-ms-client-request-id` when the request carries
    /// `x-ms-return-client-request-id: true`: ARM's common headers (every resource
    /// provider documents them, e.g. Cosmos DB's "Common headers for the REST Resource
    /// Provider"). Whether the data planes do was not checked, so they do not.
    pub fn echoes_client_request_id(self) -> bool {
        matches!(self, Api::Arm)
    }

    /// The `Retry-After` of a throttling answer when the fault rule names none.
    pub fn default_retry_after(self) -> Duration {
        match self {
            Api::Entra => Duration::from_secs(60),
            _ => Duration::from_secs(5),
        }
    }

    /// The Azure host that serves the API (`region` names the regional host of custom
    /// metrics); `None` for the emulator's own APIs.
    pub fn azure_host(self, region: &str) -> Option<Cow<'static, str>> {
        Some(match self {
            Api::Entra | Api::Unmatched => "https://login.microsoftonline.com".into(),
            Api::Graph => "https://graph.microsoft.com".into(),
            Api::Arm => "https://management.azure.com".into(),
            Api::CustomMetrics => format!("https://{region}.monitoring.azure.com").into(),
            Api::LogsQuery => "https://api.loganalytics.io".into(),
            Api::AppInsights => "https://api.applicationinsights.io".into(),
            // Really the rule's (or its endpoint's) own host, which the path does not name.
            Api::LogsIngestion => "https://logs.ingest.monitor.azure.com".into(),
            // IMDS's link-local address, plain HTTP as on Azure.
            Api::Imds => "http://169.254.169.254".into(),
            // The documented example of `IDENTITY_ENDPOINT`'s host.
            Api::AppServiceIdentity => "http://localhost:4141".into(),
            Api::Portal | Api::Control => return None,
        })
    }
}

/// ARM's first path segments, lower-case as the route table spells them: ARM compares every
/// segment of a path case-insensitively (`/Subscriptions/…` is `/subscriptions/…`).
const ARM_ROOTS: [&str; 4] = ["subscriptions", "providers", "tenants", "metadata"];

/// The route table's spelling of `segment` when it is one of ARM's first segments in any
/// casing.
pub(crate) fn arm_root(segment: &str) -> Option<&'static str> {
    ARM_ROOTS
        .into_iter()
        .find(|root| root.eq_ignore_ascii_case(segment))
}

/// `{resourceId}/metrics`: at least a resource id's eight segments
/// (`subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}`) before `metrics`.
/// ARM's metrics read API (`…/providers/Microsoft.Insights/metrics`) takes GET; a POST there
/// is a custom metrics post against a resource id that is not one, which the service refuses.
fn is_custom_metrics(path: &str) -> bool {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    segs.next_back()
        .is_some_and(|s| s.eq_ignore_ascii_case("metrics"))
        && segs.count() >= 8
}

/// The resource id of a resource-centric Log Analytics query, `/v1/{resourceId}/query`: at
/// least a resource id's eight segments between `/v1` and `query`. The id keeps its leading
/// slash (the Log Analytics data-plane spec declares the path `/{resourceId}/query` under
/// base path `/v1`, Query_ResourceExecute in Azure/azure-rest-api-specs,
/// specification/operationalinsights/data-plane/Microsoft.OperationalInsights/stable/2022-10-27/OperationalInsights.json).
pub(crate) fn logs_query_resource(path: &str) -> Option<&str> {
    let resource = path.strip_prefix("/v1")?.strip_suffix("/query")?;
    let segments = resource.split('/').filter(|s| !s.is_empty()).count();
    (resource.starts_with("/subscriptions/") && segments >= 8).then_some(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_centric_query_paths_name_a_resource() {
        let ws = "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w";
        assert_eq!(logs_query_resource(&format!("/v1{ws}/query")), Some(ws));
        assert_eq!(
            logs_query_resource("/v1/subscriptions/s/resourceGroups/g/query"),
            None
        );
        assert_eq!(logs_query_resource("/v1/workspaces/w/query"), None);
        assert_eq!(logs_query_resource(&format!("/v1{ws}/metadata")), None);
    }

    #[test]
    fn paths_map_to_their_apis() {
        let (get, post) = (Method::GET, Method::POST);
        let resource = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a";
        let cases = [
            (&post, "/tid/oauth2/v2.0/token", Api::Entra),
            (
                &get,
                "/contoso.com/v2.0/.well-known/openid-configuration",
                Api::Entra,
            ),
            (&get, "/common/discovery/instance", Api::Entra),
            (&get, "/tid/discovery/keys", Api::Entra),
            (&get, "/v1.0/applications", Api::Graph),
            (&get, "/beta/x", Api::Graph),
            (&get, "/subscriptions/x/resourceGroups", Api::Arm),
            (&get, "/metadata/endpoints", Api::Arm),
            (&get, "/metadata/identity/oauth2/token", Api::Imds),
            (&get, "/msi/token", Api::AppServiceIdentity),
            (&get, "/tenants", Api::Arm),
            (&get, "/Subscriptions/x/resourcegroups", Api::Arm),
            (&get, "/SUBSCRIPTIONS", Api::Arm),
            (&get, "/PROVIDERS/Microsoft.Web", Api::Arm),
            (
                &post,
                &format!(
                    "/Subscriptions{}/metrics",
                    &resource["/subscriptions".len()..]
                ),
                Api::CustomMetrics,
            ),
            (&post, &format!("{resource}/metrics"), Api::CustomMetrics),
            (&post, &format!("{resource}/METRICS"), Api::CustomMetrics),
            (&get, &format!("{resource}/metrics"), Api::Arm),
            (
                &post,
                &format!("{resource}/providers/Microsoft.Insights/metrics"),
                Api::CustomMetrics,
            ),
            (
                &get,
                &format!("{resource}/providers/microsoft.insights/metrics"),
                Api::Arm,
            ),
            (&post, "/subscriptions/s/resourceGroups/g/metrics", Api::Arm),
            (&post, "/v1/workspaces/w/query", Api::LogsQuery),
            (&get, "/v1/other", Api::LogsQuery),
            (&post, "/v1/$batch", Api::LogsQuery),
            (&post, &format!("/v1{resource}/query"), Api::LogsQuery),
            (&get, "/v1/apps/a/query", Api::AppInsights),
            (
                &post,
                "/dataCollectionRules/r/streams/s",
                Api::LogsIngestion,
            ),
            (&get, "/_emulator/portal/apps", Api::Portal),
            (&get, "/_emulator/portal", Api::Portal),
            (&get, "/_emulator/clock", Api::Control),
            (&get, "/nothing", Api::Unmatched),
            (&get, "/", Api::Unmatched),
        ];
        for (method, path, expected) in cases {
            assert_eq!(Api::of(method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn every_api_answers_every_question() {
        for api in Api::ALL {
            assert!(api.body_limit() >= MB, "{api:?}");
            assert_eq!(
                api.fault_service().is_none(),
                matches!(api, Api::Portal | Api::Control),
                "{api:?}"
            );
            assert_eq!(
                api.azure_host("eastus").is_none(),
                matches!(api, Api::Portal | Api::Control),
                "{api:?}"
            );
        }
        assert_eq!(
            Api::CustomMetrics.azure_host("westeurope").as_deref(),
            Some("https://westeurope.monitoring.azure.com")
        );
    }
}
