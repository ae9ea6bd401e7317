//! Resource providers, api-versions per type, and regions (issue 18 item 6).

use super::*;

/// `GET /subscriptions/{s}/providers/{ns}` answers the provider as `GetProvider.json` shows it
/// (Azure/azure-rest-api-specs, `specification/resources/resource-manager/Microsoft.Resources/stable/2021-04-01/examples/`):
/// `id`, `namespace`, `registrationState`, `registrationPolicy`, `resourceTypes` with
/// `resourceType`, `locations` (display names), `apiVersions` (newest first), `capabilities`;
/// the list wraps providers in `value` (ProviderListResult). `register` answers the spec's
/// `Provider` schema (`RegisterProviders.json`); answering it already `Registered` is the
/// emulator's choice (every provider it knows is registered).
#[tokio::test]
async fn providers_are_listed_read_and_registered() {
    let app = TestApp::new().await;
    let token = admin_arm(&app).await;
    let s = sub(&app);
    let v = "api-version=2021-04-01";
    let one = send(
        &app,
        "GET",
        &format!("{s}/providers/microsoft.operationalinsights?{v}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    let keys = keys(&one.body);
    assert_eq!(
        keys,
        [
            "id",
            "namespace",
            "registrationState",
            "registrationPolicy",
            "resourceTypes"
        ]
    );
    assert_eq!(
        one.body["id"],
        format!("{s}/providers/Microsoft.OperationalInsights")
    );
    assert_eq!(one.body["namespace"], "Microsoft.OperationalInsights");
    assert_eq!(one.body["registrationState"], "Registered");
    let ws = &one.body["resourceTypes"][0];
    assert_eq!(ws["resourceType"], "workspaces");
    let versions: Vec<&str> = ws["apiVersions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        versions.contains(&"2022-10-01") && versions.contains(&"2020-08-01"),
        "{versions:?}"
    );
    assert!(
        versions.windows(2).all(|w| w[0][..10] >= w[1][..10]),
        "newest first"
    );
    assert!(
        ws["locations"]
            .as_array()
            .expect("locations")
            .contains(&json!("East US"))
    );

    let all = send(
        &app,
        "GET",
        &format!("{s}/providers?{v}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(all.status, StatusCode::OK);
    let namespaces: Vec<&str> = all.body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|p| p["namespace"].as_str())
        .collect();
    for ns in [
        "Microsoft.Insights",
        "Microsoft.OperationalInsights",
        "Microsoft.ManagedIdentity",
        "Microsoft.Web",
    ] {
        assert!(namespaces.contains(&ns), "{ns}: {namespaces:?}");
    }

    let registered = send(
        &app,
        "POST",
        &format!("{s}/providers/Microsoft.Insights/register?{v}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
    assert_eq!(registered.body["namespace"], "Microsoft.Insights");
    assert_eq!(registered.body["registrationState"], "Registered");

    // An unknown namespace: "The resource namespace '…' is invalid." (code and message
    // observed in Azure/ResourceModules issue #456 and Azure/aci-connector-k8s issue #13).
    for (method, path) in [
        ("GET", format!("{s}/providers/Microsoft.Foo?{v}")),
        ("POST", format!("{s}/providers/Microsoft.Foo/register?{v}")),
    ] {
        let a = send(&app, method, &path, Some(&token), None).await;
        assert_eq!(
            a.body["error"]["code"], "InvalidResourceNamespace",
            "{path}"
        );
        assert_eq!(
            a.body["error"]["message"],
            "The resource namespace 'Microsoft.Foo' is invalid."
        );
    }
    // A caller without a role in the subscription may not register.
    let outsider = seed_sp(&app, 41, time::Duration::days(1));
    let outsider = sp_token(&app, &outsider).await;
    let refused = send(
        &app,
        "POST",
        &format!("{s}/providers/Microsoft.Insights/register?{v}"),
        Some(&outsider),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["error"]["code"], "AuthorizationFailed");
}

/// `POST …/providers/{ns}/unregister` answers the provider `Unregistering` (the spec's
/// `Provider` schema; the state names are the ones the spec's `registrationState` takes); it
/// then reads `NotRegistered`, and a resource write in that namespace is refused 409
/// `MissingSubscriptionRegistration` with the namespace as requested, in the message and as
/// the detail's target (raw bodies captured in hashicorp/terraform-provider-azurerm reports
/// and Azure CLI users' logs: "The subscription is not registered to use namespace
/// 'microsoft.insights'. See https://aka.ms/rps-not-found for how to register
/// subscriptions."). Registering again answers `Registering` and lets the write through.
/// Reads of existing resources are not refused: a guess (no public capture shows a read).
#[tokio::test]
async fn an_unregistered_provider_refuses_writes_until_registered_again() {
    let app = immediate_app().await;
    let token = admin_arm(&app).await;
    let s = sub(&app);
    let v = "api-version=2021-04-01";
    create_group(&app, &token, "reg").await;
    let ws = format!(
        "{s}/resourceGroups/reg/providers/Microsoft.OperationalInsights/workspaces/ws-reg?api-version=2020-08-01"
    );
    let body = json!({"location": "eastus", "properties": {"sku": {"name": "PerGB2018"}}});
    let created = send(&app, "PUT", &ws, Some(&token), Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let post = |verb: &'static str| {
        let path = format!("{s}/providers/Microsoft.OperationalInsights/{verb}?{v}");
        let (app, token) = (&app, &token);
        async move { send(app, "POST", &path, Some(token), None).await }
    };
    let state = || async {
        send(
            &app,
            "GET",
            &format!("{s}/providers/Microsoft.OperationalInsights?{v}"),
            Some(&token),
            None,
        )
        .await
        .body["registrationState"]
            .clone()
    };
    let gone = post("unregister").await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    assert_eq!(gone.body["registrationState"], "Unregistering");
    assert_eq!(state().await, "NotRegistered");
    assert_eq!(
        post("unregister").await.body["registrationState"],
        "NotRegistered"
    );
    let list = send(
        &app,
        "GET",
        &format!("{s}/providers?{v}"),
        Some(&token),
        None,
    )
    .await;
    let states: Vec<_> = list.body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter(|p| p["registrationState"] != "Registered")
        .map(|p| p["namespace"].clone())
        .collect();
    assert_eq!(states, [json!("Microsoft.OperationalInsights")]);

    let lower = ws.replace(
        "Microsoft.OperationalInsights",
        "microsoft.operationalinsights",
    );
    let refused = send(&app, "PUT", &lower, Some(&token), Some(body.clone())).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let message = "The subscription is not registered to use namespace 'microsoft.operationalinsights'. See https://aka.ms/rps-not-found for how to register subscriptions.";
    assert_eq!(
        refused.body,
        json!({"error": {"code": "MissingSubscriptionRegistration", "message": message,
            "details": [{"code": "MissingSubscriptionRegistration",
                "target": "microsoft.operationalinsights", "message": message}]}})
    );
    let patch = send(
        &app,
        "PATCH",
        &ws,
        Some(&token),
        Some(json!({"tags": {"a": "b"}})),
    )
    .await;
    assert_eq!(patch.status, StatusCode::CONFLICT);
    // Other namespaces and reads are unaffected.
    assert_eq!(
        send(&app, "GET", &ws, Some(&token), None).await.status,
        StatusCode::OK
    );
    let component = format!(
        "{s}/resourceGroups/reg/providers/Microsoft.Insights/components/c1?api-version=2020-02-02"
    );
    let c = send(
        &app,
        "PUT",
        &component,
        Some(&token),
        Some(
            json!({"location": "eastus", "kind": "web", "properties": {"Application_Type": "web"}}),
        ),
    )
    .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);

    let again = post("register").await;
    assert_eq!(again.body["registrationState"], "Registering");
    assert_eq!(state().await, "Registered");
    let written = send(&app, "PUT", &ws, Some(&token), Some(body)).await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);

    // Unregistering is an action of its own: a reader of the subscription may not.
    let outsider = seed_sp(&app, 42, time::Duration::days(1));
    let refused = send(
        &app,
        "POST",
        &format!("{s}/providers/Microsoft.OperationalInsights/unregister?{v}"),
        Some(&sp_token(&app, &outsider).await),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("Microsoft.OperationalInsights/unregister/action"),
        "{}",
        refused.body
    );
}

/// `GET /subscriptions/{s}/locations`: `{"value":[…]}` (LocationListResult) of regions shaped
/// as `GetLocations.json` (Microsoft.Resources REST spec, 2021-04-01): `id`, `name`,
/// `type` "Region", `displayName` "East US", `regionalDisplayName` "(US) East US",
/// `metadata.regionType` "Physical", `geographyGroup` "US".
#[tokio::test]
async fn locations_are_listed_as_arm_does() {
    let app = TestApp::new().await;
    let token = admin_arm(&app).await;
    let s = sub(&app);
    let a = send(
        &app,
        "GET",
        &format!("{s}/locations?api-version=2022-12-01"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let eastus = a.body["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|l| l["name"] == "eastus")
        .expect("eastus");
    assert_eq!(eastus["id"], format!("{s}/locations/eastus"));
    assert_eq!(eastus["type"], "Region");
    assert_eq!(eastus["displayName"], "East US");
    assert_eq!(eastus["regionalDisplayName"], "(US) East US");
    assert_eq!(eastus["metadata"]["regionType"], "Physical");
    assert_eq!(eastus["metadata"]["geographyGroup"], "US");
    let unknown = send(
        &app,
        "GET",
        &format!(
            "/subscriptions/{}/locations?api-version=2022-12-01",
            Uuid::from_u128(9)
        ),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], "SubscriptionNotFound");
}

/// Resource requests name a known provider type and one of its api-versions:
/// - unknown namespace: `InvalidResourceNamespace` (sources above);
/// - unknown type in a known namespace, or a version the type does not take with no region to
///   name: 404 `InvalidResourceType`, "The resource type '…' could not be found in the
///   namespace '…' for api version '…'. The supported api-versions are '…'." (verbatim shape:
///   Azure/azure-rest-api-specs issue #14807; 404: cloudquery/cloudquery issue #6629);
/// - a version the type does not take, for a resource whose region is known (a PUT's
///   `location`, a stored resource): `NoRegisteredProviderFound`, "No registered resource
///   provider found for location '…' and API version '…' for type '…'. The supported
///   api-versions are '…'. The supported locations are '…'." (verbatim:
///   Azure/azure-rest-api-specs issue #22203; its status 400 is an inference, no capture shows it).
#[tokio::test]
async fn resources_need_a_known_type_and_one_of_its_versions() {
    let app = TestApp::new().await;
    let token = admin_arm(&app).await;
    create_group(&app, &token, "rg").await;
    let rg = format!("{}/resourceGroups/rg", sub(&app));
    let body = || Some(json!({"location": "westeurope"}));
    let foo = send(
        &app,
        "PUT",
        &format!("{rg}/providers/Microsoft.Foo/bars/b?api-version=2023-01-01"),
        Some(&token),
        body(),
    )
    .await;
    assert_eq!(
        foo.body["error"]["code"], "InvalidResourceNamespace",
        "{}",
        foo.body
    );
    assert_eq!(
        foo.body["error"]["message"],
        "The resource namespace 'Microsoft.Foo' is invalid."
    );

    let bars = send(
        &app,
        "PUT",
        &format!("{rg}/providers/Microsoft.Web/bars/b?api-version=2023-01-01"),
        Some(&token),
        body(),
    )
    .await;
    assert_eq!(bars.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bars.body["error"]["message"],
        "The resource type 'bars' could not be found in the namespace 'Microsoft.Web' for api version '2023-01-01'."
    );

    let ws = format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/logs");
    let future = send(
        &app,
        "PUT",
        &format!("{ws}?api-version=2099-01-01"),
        Some(&token),
        body(),
    )
    .await;
    assert_eq!(future.status, StatusCode::BAD_REQUEST, "{}", future.body);
    assert_eq!(future.body["error"]["code"], "NoRegisteredProviderFound");
    let message = future.body["error"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("No registered resource provider found for location 'westeurope' and API version '2099-01-01' for type 'workspaces'. The supported api-versions are '2025-07-01, 2025-02-01, 2023-09-01, 2022-10-01, 2021-12-01-preview, 2021-06-01, 2021-03-01-privatepreview, 2020-10-01, 2020-08-01, "),
        "{message}"
    );
    assert!(
        message.contains("'. The supported locations are 'australiacentral, australiacentral2, "),
        "{message}"
    );
    assert!(message.ends_with(", westus3'."), "{message}");

    // Created with a version it takes, then read with one it does not: the stored region.
    let created = send(
        &app,
        "PUT",
        &format!("{ws}?api-version=2022-10-01"),
        Some(&token),
        body(),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let read = send(
        &app,
        "GET",
        &format!("{ws}?api-version=2021-04-01"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(read.body["error"]["code"], "NoRegisteredProviderFound");
    assert!(read.body["error"]["message"].as_str().expect("message").starts_with("No registered resource provider found for location 'westeurope' and API version '2021-04-01'"));

    // A list has no region: InvalidResourceType with the supported versions.
    let list = send(
        &app,
        "GET",
        &format!("{rg}/providers/Microsoft.OperationalInsights/workspaces?api-version=2099-01-01"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::NOT_FOUND);
    assert_eq!(list.body["error"]["code"], "InvalidResourceType");
    assert!(
        list.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("The supported api-versions are '2025-07-01, ")
    );
}
