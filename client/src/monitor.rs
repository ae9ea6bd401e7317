//! Azure Monitor data planes: Log Analytics and Application Insights queries, logs
//! ingestion, custom metrics publishing and the ARM metrics read API.

use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::TokenCredential;
use crate::error::{Error, Service};
use crate::http::{Pipeline, Request};

/// A column of a query result.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Kusto type (`string`, `long`, `real`, `datetime`, `bool`, `dynamic`, `guid`, `timespan`).
    #[serde(rename = "type")]
    pub column_type: String,
}

/// A table of a query result.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Table {
    /// Table name (`PrimaryResult`).
    pub name: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, one value per column, as the API renders them.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// The index of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Values of one column, row by row.
    pub fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Value> + 'a {
        let i = self.column(name);
        self.rows
            .iter()
            .filter_map(move |r| i.and_then(|i| r.get(i)))
    }
}

/// A query answer: tables, plus statistics and a partial error when the service sends them.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct QueryResult {
    /// Result tables.
    #[serde(default)]
    pub tables: Vec<Table>,
    /// Query statistics (`Prefer: include-statistics=true`).
    #[serde(default)]
    pub statistics: Option<Value>,
    /// A partial failure next to the tables.
    #[serde(default)]
    pub error: Option<Value>,
}

impl QueryResult {
    /// The first table (`PrimaryResult`).
    pub fn primary(&self) -> Option<&Table> {
        self.tables.first()
    }
}

/// One custom-metric series value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricSeries {
    /// Values of the dimensions, in `dim_names` order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dim_values: Vec<String>,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Sum.
    pub sum: f64,
    /// Count.
    pub count: u64,
}

/// A custom metric to publish (`POST {resourceId}/metrics`).
#[derive(Debug, Clone)]
pub struct CustomMetric {
    /// Time (RFC 3339), within the service's accepted window around now.
    pub time: String,
    /// Metric name.
    pub metric: String,
    /// Metric namespace.
    pub namespace: String,
    /// Dimension names.
    pub dim_names: Vec<String>,
    /// Series.
    pub series: Vec<MetricSeries>,
}

impl CustomMetric {
    fn body(&self) -> Value {
        let mut base =
            json!({"metric": self.metric, "namespace": self.namespace, "series": self.series});
        if !self.dim_names.is_empty() {
            base["dimNames"] = json!(self.dim_names);
        }
        json!({"time": self.time, "data": {"baseData": base}})
    }
}

/// Azure Monitor client.
#[derive(Debug, Clone)]
pub struct Monitor {
    pub(crate) pipeline: Pipeline,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) cloud: crate::Cloud,
}

/// A query answer; 204 (a workspace that holds no data yet) is an answer without tables.
fn parse_query(reply: &crate::http::Reply, service: Service) -> Result<QueryResult, Error> {
    if reply.body.is_empty() {
        return Ok(QueryResult {
            tables: Vec::new(),
            statistics: None,
            error: None,
        });
    }
    reply.json(service)
}

fn query_body(query: &str, timespan: Option<&str>) -> Value {
    let mut body = json!({ "query": query });
    if let Some(t) = timespan {
        body["timespan"] = json!(t);
    }
    body
}

impl Monitor {
    async fn call(
        &self,
        service: Service,
        req: Request,
        audience: &str,
    ) -> Result<crate::http::Reply, Error> {
        let scope = crate::scope_of(audience);
        self.pipeline
            .send(service, &req, Some((&self.credential, &scope)))
            .await
    }

    /// Runs a KQL query on a Log Analytics workspace (its `customerId`); `timespan` is an ISO 8601
    /// duration or interval (`PT1H`, `start/end`).
    pub async fn query_workspace(
        &self,
        workspace_id: &str,
        query: &str,
        timespan: Option<&str>,
    ) -> Result<QueryResult, Error> {
        let url = format!(
            "{}/v1/workspaces/{workspace_id}/query",
            self.cloud.log_analytics_endpoint.trim_end_matches('/')
        );
        let req = Request::new(Method::POST, url).json(&query_body(query, timespan));
        let reply = self
            .call(
                Service::LogAnalytics,
                req,
                &self.cloud.log_analytics_audience,
            )
            .await?;
        parse_query(&reply, Service::LogAnalytics)
    }

    /// Runs a KQL query on an Application Insights component (its application id).
    pub async fn query_app_insights(
        &self,
        app_id: &str,
        query: &str,
        timespan: Option<&str>,
    ) -> Result<QueryResult, Error> {
        let url = format!(
            "{}/v1/apps/{app_id}/query",
            self.cloud.app_insights_endpoint.trim_end_matches('/')
        );
        let req = Request::new(Method::POST, url).json(&query_body(query, timespan));
        let reply = self
            .call(Service::AppInsights, req, &self.cloud.app_insights_audience)
            .await?;
        parse_query(&reply, Service::AppInsights)
    }

    /// Publishes a custom metric for the resource `resource_id` in `region`.
    pub async fn publish_metric(
        &self,
        region: &str,
        resource_id: &str,
        metric: &CustomMetric,
    ) -> Result<(), Error> {
        let url = format!(
            "{}{resource_id}/metrics",
            self.cloud
                .metrics_endpoint_for(region)
                .trim_end_matches('/')
        );
        let req = Request::new(Method::POST, url).json(&metric.body());
        self.call(Service::Metrics, req, &self.cloud.metrics_audience)
            .await
            .map(drop)
    }

    /// Uploads rows through the Logs Ingestion API to a data collection rule's stream.
    pub async fn ingest_logs(
        &self,
        endpoint: &str,
        dcr_immutable_id: &str,
        stream: &str,
        rows: &[Value],
    ) -> Result<(), Error> {
        let url = format!(
            "{}/dataCollectionRules/{dcr_immutable_id}/streams/{stream}?api-version=2023-01-01",
            endpoint.trim_end_matches('/')
        );
        let req = Request::new(Method::POST, url).json(&rows);
        self.call(Service::LogAnalytics, req, "https://monitor.azure.com")
            .await
            .map(drop)
    }

    /// Reads metric values through ARM (`{resourceId}/providers/Microsoft.Insights/metrics`).
    /// `query` holds the other parameters, e.g. `metricnames=…&timespan=…&aggregation=…`.
    pub async fn read_metrics(&self, resource_id: &str, query: &str) -> Result<Value, Error> {
        let url = format!(
            "{}{resource_id}/providers/Microsoft.Insights/metrics?api-version=2023-10-01&{query}",
            self.cloud.arm_endpoint.trim_end_matches('/')
        );
        let reply = self
            .call(
                Service::Arm,
                Request::new(Method::GET, url),
                &self.cloud.arm_audience,
            )
            .await?;
        reply.json(Service::Arm)
    }
}
