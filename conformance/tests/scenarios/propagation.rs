//! RBAC propagation: a role assignment reaches each data plane after a delay, during which
//! the new grantee is refused; a deletion takes as long to take effect.

use std::time::Duration;

use entra_client::ClientSecret;
use entra_client::arm::{Resource, RoleAssignment};
use entra_client::graph::ServicePrincipal;
use entra_client::monitor::{CustomMetric, MetricSeries};
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use super::{REGION, WORKSPACE_API, add_secret, register};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![
        rbac_propagation_arm,
        rbac_propagation_log_analytics,
        rbac_propagation_metrics,
        rbac_propagation_app_insights,
    ]
}

/// ARM's documented bound ("up to 10 minutes"), the emulator's default delay.
const ARM_DELAY: Duration = Duration::from_secs(600);

async fn rbac_propagation_arm(s: &Scenario) {
    let arm = s.admin().arm();
    let group = s.unique_name("prop-rg");
    let rg = arm
        .create_resource_group(&s.target().subscription_id, &group, REGION, None)
        .await
        .expect("create the resource group");
    s.delete_group_later(&group);
    let (app, sp) = register(s, "prop").await;
    s.label(&app.app_id, "app-id");
    s.label(&sp.id, "sp-object-id");
    let secret = add_secret(s, &app, Default::default()).await;
    let reader = arm
        .role_definition_by_name(&rg.id, "Reader")
        .await
        .expect("look the role up")
        .expect("Reader exists");
    let assignment = arm
        .create_role_assignment(&rg.id, &reader.id, &sp.id, Some("ServicePrincipal"))
        .await
        .expect("assign Reader");
    s.label(&assignment.name, "assignment-name");

    let as_app = s
        .client_as(&app.app_id, ClientSecret::new(secret.secret.expose()))
        .arm();
    let sub = s.target().subscription_id.clone();
    let denied = as_app
        .get_resource_group(&sub, &group)
        .await
        .expect_err("not propagated yet");
    assert_eq!(denied.code(), Some("AuthorizationFailed"), "{denied}");
    assert!(denied.is_propagation_denied());

    s.wait(ARM_DELAY).await;
    let (as_app, sub, group) = (&as_app, sub.as_str(), group.as_str());
    let read = s
        .eventually("read the group", || async move {
            as_app
                .get_resource_group(sub, group)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    assert_eq!(read.id, rg.id);

    // Revoked, but still honoured until the deletion propagates.
    arm.delete_role_assignment(&assignment.id)
        .await
        .expect("delete")
        .expect("the deleted assignment");
    as_app
        .get_resource_group(sub, group)
        .await
        .expect("still allowed");
    s.wait(ARM_DELAY).await;
    let refused = s
        .eventually("refused again", || async move {
            match as_app.get_resource_group(sub, group).await {
                Err(e) if e.code() == Some("AuthorizationFailed") => Ok(e),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    assert!(refused.is_propagation_denied());
}

/// The Log Analytics query API's delay: not documented, the emulator's default.
const LOG_ANALYTICS_DELAY: Duration = Duration::from_secs(600);

/// Custom metrics ingestion's delay (and the Logs Ingestion API's): not documented, the
/// emulator's default.
const METRICS_DELAY: Duration = Duration::from_secs(600);

/// The Application Insights API's documented bound: "up to 60 minutes".
const APP_INSIGHTS_DELAY: Duration = Duration::from_secs(3600);

/// A resource group, deleted after the scenario on targets that outlive it.
async fn group(s: &Scenario, what: &str) -> Resource {
    let name = s.unique_name(what);
    let rg = s
        .admin()
        .arm()
        .create_resource_group(&s.target().subscription_id, &name, REGION, None)
        .await
        .expect("create the resource group");
    s.delete_group_later(&name);
    rg
}

/// A Log Analytics workspace in `rg`.
async fn workspace(s: &Scenario, rg: &Resource, what: &str) -> Resource {
    let id = format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/{}",
        rg.id,
        s.unique_name(what)
    );
    s.admin()
        .arm()
        .put_resource(
            &id,
            WORKSPACE_API,
            &json!({"location": REGION, "properties": {}}),
        )
        .await
        .expect("create the workspace")
}

/// Assigns `role` at `scope` to `principal`.
async fn assign(s: &Scenario, scope: &str, role: &str, principal: &str) -> RoleAssignment {
    let arm = s.admin().arm();
    let definition = arm
        .role_definition_by_name(scope, role)
        .await
        .expect("look the role up")
        .unwrap_or_else(|| panic!("{role} exists"));
    arm.create_role_assignment(scope, &definition.id, principal, Some("ServicePrincipal"))
        .await
        .expect("assign the role")
}

/// A new app and service principal with a secret, and a client signed in as it.
async fn grantee(s: &Scenario, what: &str) -> (String, ClientSecret, ServicePrincipal) {
    let (app, sp) = register(s, what).await;
    s.label(&app.app_id, "app-id");
    s.label(&sp.id, "sp-object-id");
    let secret = add_secret(s, &app, Default::default()).await;
    (app.app_id, ClientSecret::new(secret.secret.expose()), sp)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("formattable")
}

async fn rbac_propagation_log_analytics(s: &Scenario) {
    let rg = group(s, "la-rg").await;
    let ws = workspace(s, &rg, "la-ws").await;
    let customer_id = ws.properties["customerId"]
        .as_str()
        .expect("customerId")
        .to_owned();
    s.label(&customer_id, "workspace-id");
    // Rows arrive through the Logs Ingestion API, routed by a data collection rule.
    let rule = s
        .admin()
        .arm()
        .put_resource(
            &format!(
                "{}/providers/Microsoft.Insights/dataCollectionRules/{}",
                rg.id,
                s.unique_name("la-dcr")
            ),
            "2023-03-11",
            &json!({
                "location": REGION,
                "kind": "Direct",
                "properties": {
                    "streamDeclarations": {"Custom-Checkout": {"columns": [
                        {"name": "TimeGenerated", "type": "datetime"},
                        {"name": "Item", "type": "string"},
                        {"name": "DurationMs", "type": "int"}
                    ]}},
                    "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": ws.id}]},
                    "dataFlows": [{
                        "streams": ["Custom-Checkout"],
                        "destinations": ["la"],
                        "transformKql": "source",
                        "outputStream": "Custom-Checkout_CL"
                    }]
                }
            }),
        )
        .await
        .expect("create the data collection rule");
    let immutable_id = rule.properties["immutableId"]
        .as_str()
        .expect("immutableId")
        .to_owned();
    s.label(&immutable_id, "rule-id");
    let endpoint = rule.properties["endpoints"]["logsIngestion"]
        .as_str()
        .expect("a Direct rule's ingestion endpoint")
        .to_owned();

    let (app_id, secret, sp) = grantee(s, "la").await;
    // The app reads the workspace and writes through the rule.
    assign(s, &ws.id, "Log Analytics Reader", &sp.id).await;
    assign(s, &rule.id, "Monitoring Metrics Publisher", &sp.id).await;

    let monitor = s.client_as(&app_id, secret).monitor();
    let query = "Checkout_CL | project Item, DurationMs";
    let denied = monitor
        .query_workspace(&customer_id, query, None)
        .await
        .expect_err("not propagated yet");
    assert_eq!(denied.code(), Some("InsufficientAccessError"), "{denied}");
    assert!(denied.is_propagation_denied());

    s.wait(LOG_ANALYTICS_DELAY.max(METRICS_DELAY)).await;
    let rows =
        [json!({"TimeGenerated": rfc3339(s.now().await), "Item": "checkout", "DurationMs": 42})];
    let (monitor, endpoint, immutable_id, rows, customer_id) = (
        &monitor,
        endpoint.as_str(),
        immutable_id.as_str(),
        &rows,
        customer_id.as_str(),
    );
    s.eventually("ingest", || async move {
        monitor
            .ingest_logs(endpoint, immutable_id, "Custom-Checkout", rows)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let result = s
        .eventually("query the rows", || async move {
            let r = monitor
                .query_workspace(customer_id, query, None)
                .await
                .map_err(|e| e.to_string())?;
            match r.primary() {
                Some(t) if !t.rows.is_empty() => Ok(r),
                _ => Err("no rows yet".to_owned()),
            }
        })
        .await;
    let table = result.primary().expect("a table");
    assert_eq!(table.rows, vec![vec![json!("checkout"), json!(42)]]);
}

async fn rbac_propagation_metrics(s: &Scenario) {
    let rg = group(s, "metrics-rg").await;
    let ws = workspace(s, &rg, "metrics-ws").await;
    let (app_id, secret, sp) = grantee(s, "metrics").await;
    assign(s, &ws.id, "Monitoring Metrics Publisher", &sp.id).await;
    // Publishing does not let it read back; Monitoring Reader does.
    assign(s, &ws.id, "Monitoring Reader", &sp.id).await;

    let monitor = s.client_as(&app_id, secret).monitor();
    let metric = |time| CustomMetric {
        time,
        metric: "QueueDepth".into(),
        namespace: "Conformance".into(),
        dim_names: vec!["Queue".into()],
        series: vec![MetricSeries {
            dim_values: vec!["orders".into()],
            min: 3.0,
            max: 5.0,
            sum: 8.0,
            count: 2,
        }],
    };
    let early = metric(rfc3339(s.now().await));
    let denied = monitor
        .publish_metric(REGION, &ws.id, &early)
        .await
        .expect_err("not propagated yet");
    assert_eq!(denied.status().map(|c| c.as_u16()), Some(403), "{denied}");

    s.wait(METRICS_DELAY).await;
    let posted = metric(rfc3339(s.now().await));
    let (monitor, id, posted) = (&monitor, ws.id.as_str(), &posted);
    s.eventually("publish", || async move {
        monitor
            .publish_metric(REGION, id, posted)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let read = s
        .eventually("read the metric back", || async move {
            let v = monitor
                .read_metrics(
                    id,
                    // One interval over the whole window: a stable answer whatever second it is read at.
                    "metricnames=QueueDepth&metricnamespace=Conformance&timespan=PT30M&interval=FULL&aggregation=Total,Count",
                )
                .await
                .map_err(|e| e.to_string())?;
            let points = v["value"][0]["timeseries"][0]["data"].as_array().cloned().unwrap_or_default();
            points
                .into_iter()
                .find(|p| p.get("total").is_some())
                .ok_or_else(|| format!("no value yet: {v}"))
        })
        .await;
    assert_eq!(read["total"], json!(8.0));
    assert_eq!(read["count"], json!(2.0));
}

async fn rbac_propagation_app_insights(s: &Scenario) {
    let rg = group(s, "ai-rg").await;
    // Components are workspace-based.
    let ws = workspace(s, &rg, "ai-ws").await;
    let component = s
        .admin()
        .arm()
        .put_resource(
            &format!(
                "{}/providers/Microsoft.Insights/components/{}",
                rg.id,
                s.unique_name("ai")
            ),
            "2020-02-02",
            &json!({
                "location": REGION,
                "kind": "web",
                "properties": {"Application_Type": "web", "WorkspaceResourceId": ws.id}
            }),
        )
        .await
        .expect("create the component");
    let ai_app_id = component.properties["AppId"]
        .as_str()
        .expect("AppId")
        .to_owned();
    s.label(&ai_app_id, "component-app-id");
    let (app_id, secret, sp) = grantee(s, "ai").await;
    assign(s, &component.id, "Reader", &sp.id).await;

    let query = "requests | count";
    let monitor = s.client_as(&app_id, secret.clone()).monitor();
    let denied = monitor
        .query_app_insights(&ai_app_id, query, None)
        .await
        .expect_err("not propagated yet");
    assert_eq!(denied.code(), Some("InsufficientAccessError"), "{denied}");

    // ARM's delay is not enough here.
    s.wait(Duration::from_secs(600)).await;
    let still = monitor
        .query_app_insights(&ai_app_id, query, None)
        .await
        .expect_err("still propagating");
    assert!(still.is_propagation_denied(), "{still}");

    s.wait(APP_INSIGHTS_DELAY - Duration::from_secs(600)).await;
    // An hour on, the first token has expired: sign in again.
    let monitor = s.client_as(&app_id, secret).monitor();
    let (monitor, ai_app_id) = (&monitor, ai_app_id.as_str());
    let result = s
        .eventually("query", || async move {
            monitor
                .query_app_insights(ai_app_id, query, None)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    let table = result.primary().expect("a table");
    assert_eq!(table.rows, vec![vec![json!(0)]]);
}
