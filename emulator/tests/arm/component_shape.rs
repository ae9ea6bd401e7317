//! What an Application Insights component's create answers (issue 18 item 10).

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
    let keys: Vec<&str> = p
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
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
