//! What Monitor resources (App Insights components, Log Analytics workspaces) answer (issue 18 item 10).

use super::*;

/// The create answer of `ComponentsCreate.json` (Azure/azure-rest-api-specs,
/// `specification/applicationinsights/resource-manager/Microsoft.Insights/stable/2020-02-02/examples/`):
/// `Flow_Type` and `Request_Source` as sent, `SamplingPercentage` 100.0, `DisableIpMasking`
/// false, `provisioningState` Succeeded, `CreationDate` with seven fraction digits and
/// `+00:00`, `ApplicationId` the component's name. Defaults when the request leaves out
/// `Flow_Type`/`Request_Source` ("Bluefield", "rest") are a guess.
#[tokio::test]
async fn components_answer_the_spec_examples_properties() {
    let app = immediate_app().await;
    let token = admin_arm(&app).await;
    create_group(&app, &token, "my-resource-group").await;
    let path = format!(
        "{}/resourceGroups/my-resource-group/providers/Microsoft.Insights/components/my-component?api-version=2020-02-02",
        sub(&app)
    );
    let body = json!({"location": "South Central US", "kind": "web", "properties": {
        "Application_Type": "web", "Flow_Type": "Redfield", "Request_Source": "IbizaAIExtension"}});
    let a = send(&app, "PUT", &path, Some(&token), Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let p = &a.body["properties"];
    assert_eq!(p["ApplicationId"], "my-component");
    assert_eq!(p["Flow_Type"], "Redfield");
    assert_eq!(p["Request_Source"], "IbizaAIExtension");
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["SamplingPercentage"].as_f64(), Some(100.0));
    assert_eq!(p["DisableIpMasking"], false);
    let created = p["CreationDate"].as_str().expect("CreationDate");
    let (_, fraction) = created.split_once('.').expect("fraction");
    assert_eq!(fraction.len(), "5934061+00:00".len(), "{created}");
    assert!(fraction.ends_with("+00:00"), "{created}");
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{created}"
    );
    let keys = keys(p);
    let at = |k: &str| keys.iter().position(|x| *x == k).expect(k);
    // The example's order: Application_Type, Flow_Type, Request_Source, InstrumentationKey.
    assert!(at("Application_Type") < at("Flow_Type"));
    assert!(at("Flow_Type") < at("Request_Source"));
    assert!(at("Request_Source") < at("InstrumentationKey"));
    assert!(at("provisioningState") < at("SamplingPercentage"));
    // Defaults when the request names neither.
    let other = path.replace("my-component", "plain");
    let body =
        json!({"location": "eastus", "kind": "web", "properties": {"Application_Type": "web"}});
    let b = send(&app, "PUT", &other, Some(&token), Some(body)).await;
    assert_eq!(b.body["properties"]["Flow_Type"], "Bluefield");
    assert_eq!(b.body["properties"]["Request_Source"], "rest");
}

/// A workspace's PUT answers `provisioningState: Creating` (201 and 200 alike), a read
/// `Succeeded`: `WorkspacesCreate.json` (Azure/azure-rest-api-specs,
/// `specification/operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2020-08-01/examples/`)
/// and `WorkspacesSubscriptionList.json` (2022-10-01).
#[tokio::test]
async fn workspaces_answer_their_put_while_creating() {
    let app = immediate_app().await;
    let token = admin_arm(&app).await;
    create_group(&app, &token, "oiautorest6685").await;
    let path = format!(
        "{}/resourceGroups/oiautorest6685/providers/Microsoft.OperationalInsights/workspaces/AzTest2170?api-version=2020-08-01",
        sub(&app)
    );
    let body = json!({"properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30},
        "location": "australiasoutheast", "tags": {"tag1": "val1"}});
    let created = send(&app, "PUT", &path, Some(&token), Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["properties"]["provisioningState"], "Creating");
    assert_eq!(created.body["name"], "AzTest2170");
    // The id all in lower case, the name as written: the same example, and a real recording
    // (Azure/azure-cli monitor/tests/latest/recordings/test_monitor_log_analytics_workspace_default.yaml).
    let lower_id = format!(
        "{}/resourcegroups/oiautorest6685/providers/microsoft.operationalinsights/workspaces/aztest2170",
        sub(&app)
    );
    assert_eq!(created.body["id"], lower_id.as_str());
    let replaced = send(&app, "PUT", &path, Some(&token), Some(body)).await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(replaced.body["properties"]["provisioningState"], "Creating");
    let read = send(&app, "GET", &path, Some(&token), None).await;
    assert_eq!(read.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(read.body["id"], lower_id.as_str());
    // The lower-case id is an address like any other (ARM paths are case-insensitive).
    let by_id = send(
        &app,
        "GET",
        &format!("{lower_id}?api-version=2020-08-01"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.body["name"], "AzTest2170");
}
