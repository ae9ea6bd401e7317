//! Resource names far past Azure's limits are refused with the owning service's error, not
//! stored: each type's naming rule from Microsoft's "Resource naming restrictions" page.

use std::time::Duration;

use entra_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// PUTs `{rg}/providers/{resource_type}/{name}` as the admin; (status, body).
async fn put(
    app: &TestApp,
    token: &str,
    rg: &str,
    resource_type: &str,
    name: &str,
) -> (StatusCode, Value) {
    // A version each type takes (ARM refuses one it does not before reading the name).
    let version = match resource_type {
        "Microsoft.Insights/components" => "2020-02-02",
        "Microsoft.Insights/dataCollectionRules" => "2022-06-01",
        _ => "2022-10-01",
    };
    let (status, _, body) = app
        .call(
            Method::PUT,
            &format!("{rg}/providers/{resource_type}/{name}?api-version={version}"),
            Some(token),
            Some(json!({"location": "eastus"})),
        )
        .await;
    (status, body)
}

async fn admin_with_group() -> (TestApp, String, String) {
    let app = TestApp::with(Emulator::builder().rbac_propagation(Duration::ZERO)).await;
    let (status, body) = app
        .admin_token_v2("https://management.azure.com/.default")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();
    let rg = format!(
        "/subscriptions/{}/resourceGroups/names",
        app.emu.subscription_id()
    );
    let (status, _, body) = app
        .call(
            Method::PUT,
            &format!("{rg}?api-version=2022-09-01"),
            Some(&token),
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (app, token, rg)
}

/// Log Analytics workspaces: 4–63 letters, digits and hyphens, alphanumeric at both ends.
/// The character message is the provider's (Azure/AzureMonitorStarterPacks issue 173:
/// "Workspace name must start and end with an alphanumeric character, and may contain only
/// alphanumeric and hyphen characters. Operation Id: '…' (Code: InvalidParameter)"); the
/// length message is a guess in the same form.
#[tokio::test]
async fn workspace_names_follow_log_analytics_rules() {
    let (app, token, rg) = admin_with_group().await;
    let ws = "Microsoft.OperationalInsights/workspaces";
    let chars = "Workspace name must start and end with an alphanumeric character, and may contain only alphanumeric and hyphen characters. Operation Id: '";
    let length = "Workspace name must be between 4 and 63 characters long. Operation Id: '";
    for (name, prefix) in [
        ("a".repeat(60_000), length),
        ("a".repeat(64), length),
        ("abc".to_owned(), length),
        ("my_logs".to_owned(), chars),
        ("-logs".to_owned(), chars),
        ("logs-".to_owned(), chars),
    ] {
        let (status, body) = put(&app, &token, &rg, ws, &name).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "InvalidParameter", "{body}");
        let message = body["error"]["message"].as_str().expect("message");
        let operation = message
            .strip_prefix(prefix)
            .and_then(|m| m.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{message}"));
        assert!(
            operation.len() == 32 && operation.bytes().all(|b| b.is_ascii_hexdigit()),
            "{message}"
        );
    }
    for name in ["logs", &"a".repeat(63), "my-logs-2"] {
        let (status, body) = put(&app, &token, &rg, ws, name).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
    }
}

/// Application Insights components: 1–260 characters, none of `%&\?/` or control
/// characters, not ending with a period or space; other stored types: at most 260. The
/// error code and message are guesses (no capture of ARM refusing these was found).
#[tokio::test]
async fn component_and_other_resource_names_are_bounded() {
    let (app, token, rg) = admin_with_group().await;
    let component = "Microsoft.Insights/components";
    let dcr = "Microsoft.Insights/dataCollectionRules";
    for (resource_type, name, reason) in [
        (
            component,
            "a".repeat(60_000),
            "it can have at most 260 characters",
        ),
        (
            component,
            "ends.".to_owned(),
            "it cannot end with a period or a space",
        ),
        (
            component,
            "a%25b".to_owned(),
            "it cannot contain '%', '&', '\\', '?', '/' or control characters",
        ),
        (dcr, "r".repeat(261), "it can have at most 260 characters"),
    ] {
        let (status, body) = put(&app, &token, &rg, resource_type, &name).await;
        let shown = name.replace("%25", "%");
        assert_eq!(
            (status, &body),
            (
                StatusCode::BAD_REQUEST,
                &json!({"error": {
                    "code": "InvalidResourceName",
                    "message": format!("The resource name '{shown}' is not valid for resource type '{resource_type}': {reason}."),
                }})
            )
        );
    }
    let (status, body) = put(&app, &token, &rg, component, &"a".repeat(260)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Resource groups: 1–90 characters (the 90 from Microsoft's naming page; the wording of
/// ARM's too-long message is a guess). This held before; kept here with the other limits.
#[tokio::test]
async fn a_resource_group_name_past_90_characters_is_refused() {
    let (app, token, _) = admin_with_group().await;
    let sub = format!("/subscriptions/{}", app.emu.subscription_id());
    for len in [91, 60_000] {
        let (status, _, body) = app
            .call(
                Method::PUT,
                &format!(
                    "{sub}/resourcegroups/{}?api-version=2022-09-01",
                    "g".repeat(len)
                ),
                Some(&token),
                Some(json!({"location": "eastus"})),
            )
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("InvalidResourceGroup")),
            "{len}"
        );
    }
}
