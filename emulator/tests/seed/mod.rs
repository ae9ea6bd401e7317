//! Seed files (`--seed`, `EmulatorBuilder::seed`): a declared tenant at start, applied with
//! the APIs' rules; errors that name the line and the field; fresh data directories only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use entra_emulator::seed::{Application, ClientSecret, Effective, ResourceGroup, RoleAssignment};
use entra_emulator::{Emulator, Seed, StartError};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{RunningBinary, TestApp, claims_of};

const ARM: &str = "https://management.azure.com/.default";
const GROUPS_VERSION: &str = "api-version=2021-04-01";
const CLIENT_ID: &str = "6a1f0c9e-3b7d-4c52-9e84-1d2f3a4b5c6d";
const SP_ID: &str = "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918";
const SECRET: &str = "ci-secret-value-kept-in-ci-config";

/// The seed most tests start from: one application with a fixed client id and secret,
/// `Reader` on one of two groups.
const SEED: &str = r#"
[[applications]]
name = "ci-app"
client_id = "6a1f0c9e-3b7d-4c52-9e84-1d2f3a4b5c6d"
service_principal_id = "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918"
secrets = [{ value = "ci-secret-value-kept-in-ci-config", display_name = "ci" }]

[[resource_groups]]
name = "rg-ci"
location = "eastus"

[[resource_groups]]
name = "rg-other"
location = "westeurope"

[[role_assignments]]
role = "Reader"
principal = "ci-app"
scope = "/subscriptions/{subscription}/resourceGroups/rg-ci"
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `GET` of a resource group of the default subscription as `token`.
async fn get_group(
    http: &reqwest::Client,
    base: &str,
    sub: &str,
    group: &str,
    token: &str,
) -> (StatusCode, Value) {
    let r = http
        .get(format!(
            "{base}/subscriptions/{sub}/resourcegroups/{group}?{GROUPS_VERSION}"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn token(app: &TestApp, client_id: &str, secret: &str) -> (StatusCode, Value) {
    app.token_v2(client_id, secret, ARM).await
}

#[tokio::test]
async fn a_seeded_app_gets_a_token_with_the_files_secret_and_reads_arm_with_the_files_role() {
    let seed = Seed::from_toml_str(SEED).expect("seed");
    let app = TestApp::with(Emulator::builder().seed(seed)).await;
    let sub = app.emu.subscription_id().to_string();

    let (status, body) = token(&app, CLIENT_ID, SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().expect("token");
    let claims = claims_of(access);
    assert_eq!(claims["oid"], SP_ID, "{claims}");
    assert_eq!(claims["appid"], CLIENT_ID, "{claims}");

    let (status, group) = get_group(&app.http, app.emu.url(), &sub, "rg-ci", access).await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(group["location"], "eastus");
    // Reader on rg-ci only: the other seeded group is refused.
    let (status, body) = get_group(&app.http, app.emu.url(), &sub, "rg-other", access).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "AuthorizationFailed");

    // The secret is checked like any other: a wrong one is refused.
    let (status, body) = token(&app, CLIENT_ID, "not-the-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS7000215")),
        "{body}"
    );

    // Graph shows the seeded secret as any other: a hint, never the value.
    let (_, admin) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    let r = app
        .http
        .get(app.url(&format!("/v1.0/applications(appId='{CLIENT_ID}')")))
        .bearer_auth(admin["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("request");
    let graph: Value = r.json().await.expect("json");
    let credential = &graph["passwordCredentials"][0];
    assert_eq!(credential["hint"], "ci-", "{graph}");
    assert_eq!(credential["displayName"], "ci");
    assert_eq!(credential["secretText"], Value::Null);
    assert!(!graph.to_string().contains(SECRET));
}

#[tokio::test]
async fn a_pending_assignment_is_refused_until_the_clock_passes_the_propagation_delay() {
    // Built in Rust rather than read from a file.
    let mut application = Application::new("late-app");
    application
        .secrets
        .push(ClientSecret::new("late-app-secret"));
    let mut reader = RoleAssignment::new(
        "Reader",
        "late-app",
        "/subscriptions/{subscription}/resourceGroups/rg-late",
    );
    reader.effective = Effective::Pending;
    let seed = Seed::new()
        .application(application)
        .resource_group(ResourceGroup::new("rg-late", "eastus"))
        .role_assignment(reader);
    let app = TestApp::with(
        Emulator::builder()
            .rbac_propagation(Duration::from_secs(300))
            .seed(seed),
    )
    .await;
    let sub = app.emu.subscription_id().to_string();
    let (status, body) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    assert_eq!(status, StatusCode::OK);
    let r = app
        .http
        .get(app.url("/v1.0/applications?$filter=displayName eq 'late-app'"))
        .bearer_auth(body["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("request");
    let list: Value = r.json().await.expect("json");
    let client_id = list["value"][0]["appId"]
        .as_str()
        .expect("appId")
        .to_owned();

    let (status, body) = token(&app, &client_id, "late-app-secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().expect("token").to_owned();
    let (status, body) = get_group(&app.http, app.emu.url(), &sub, "rg-late", &access).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "AuthorizationFailed");
    // Margins of a minute either side: real time passes too on a loaded machine.
    app.emu.advance_clock(Duration::from_secs(240));
    let (status, _) = get_group(&app.http, app.emu.url(), &sub, "rg-late", &access).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.emu.advance_clock(Duration::from_secs(120));
    let (status, body) = get_group(&app.http, app.emu.url(), &sub, "rg-late", &access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_example_seed_file_parses_and_brings_up_its_tenant() {
    let seed = Seed::from_path(repo().join("docs/seed.example.toml")).expect("example seed");
    let app = TestApp::with(Emulator::builder().seed(seed)).await;
    assert!(
        app.emu.now() >= time::macros::datetime!(2099-01-01 0:00 UTC),
        "{}",
        app.emu.now()
    );
    let (status, body) = token(&app, CLIENT_ID, SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().expect("token");
    let base = format!(
        "{}/subscriptions/{}/resourceGroups/rg-ci/providers",
        app.emu.url(),
        app.emu.subscription_id()
    );
    for (path, property, id) in [
        (
            "Microsoft.OperationalInsights/workspaces/ws-ci?api-version=2023-09-01",
            "customerId",
            "5b4a3928-1706-4f5e-9d8c-7b6a59483726",
        ),
        (
            "Microsoft.Insights/components/ai-ci?api-version=2020-02-02",
            "AppId",
            "4a392817-06f5-4e4d-8c7b-6a5948372615",
        ),
    ] {
        let r = app
            .http
            .get(format!("{base}/{path}"))
            .bearer_auth(access)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let resource: Value = r.json().await.expect("json");
        assert_eq!(resource["properties"][property], id, "{resource}");
    }
}

/// Lines joined into a document, so that a test names its lines by index.
fn doc(lines: &[&str]) -> String {
    lines.join("\n")
}

/// The start error of an emulator seeded with `seed`.
async fn refused(seed: Seed) -> String {
    match Emulator::builder().seed(seed).start().await {
        Err(StartError::Seed(e)) => e.to_string(),
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("the seed was accepted"),
    }
}

const APP: &[&str] = &["[[applications]]", "name = \"a\""];
const GROUP: &[&str] = &[
    "[[resource_groups]]",
    "name = \"rg\"",
    "location = \"eastus\"",
];

#[tokio::test]
async fn errors_in_the_file_name_the_line_and_the_field() {
    // Refused while reading: types, unknown and missing fields.
    for (lines, expected) in [
        (
            [
                APP,
                &[
                    "secrets = [",
                    "  { value = \"v\", expires = \"tomorrow\" },",
                    "]",
                ],
            ]
            .concat(),
            "line 4: applications[0].secrets[0].expires: invalid date-time 'tomorrow'",
        ),
        (
            [
                APP,
                &[
                    "[[applications.secrets]]",
                    "value = \"v\"",
                    "expires = 2030-13-01T00:00:00Z",
                ],
            ]
            .concat(),
            "line 5: invalid date",
        ),
        (
            [APP, &["colour = \"blue\""]].concat(),
            "line 3: applications[0].colour: unknown field `colour`",
        ),
        (
            [APP, &["client_id = \"not-a-guid\""]].concat(),
            "line 3: applications[0].client_id: ",
        ),
        (
            ["[[resource_groups]]", "name = \"rg\""].to_vec(),
            "line 1: resource_groups[0]: missing field `location`",
        ),
        (
            [
                GROUP,
                &[
                    "[[role_assignments]]",
                    "role = \"Reader\"",
                    "principal = \"a\"",
                    "scope = \"/\"",
                    "effective = \"later\"",
                ],
            ]
            .concat(),
            "line 8: role_assignments[0].effective: unknown variant `later`",
        ),
    ] {
        let err = Seed::from_toml_str(&doc(&lines))
            .expect_err("refused")
            .to_string();
        assert!(err.starts_with(expected), "{err}\nexpected: {expected}");
    }

    // Refused when applied, with the APIs' rules.
    let assignment = |role: &str, principal: &str, scope: &str| {
        vec![
            "[[role_assignments]]".to_owned(),
            format!("role = \"{role}\""),
            format!("principal = \"{principal}\""),
            format!("scope = \"{scope}\""),
        ]
    };
    let rg_scope = "/subscriptions/{subscription}/resourceGroups/rg";
    let owned = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    for (lines, expected) in [
        (
            [owned(APP), owned(&["[[applications]]", "name = \"a\""])].concat(),
            "line 4: applications[1].name: 'a' also names applications[0]",
        ),
        (
            [owned(APP), owned(GROUP), assignment("Raeder", "a", rg_scope)].concat(),
            "line 7: role_assignments[0].role: no built-in role is named 'Raeder'",
        ),
        (
            [owned(APP), owned(GROUP), assignment("Reader", "a", "/subscriptions/{subscription}/resourceGroups/nope")].concat(),
            "line 9: role_assignments[0].scope: ResourceGroupNotFound: ",
        ),
        (
            [owned(APP), owned(GROUP), assignment("Reader", "a", "/subscriptions/00000000-0000-0000-0000-00000000000f")].concat(),
            "line 9: role_assignments[0].scope: SubscriptionNotFound: ",
        ),
        (
            [owned(GROUP), assignment("Reader", "b", rg_scope)].concat(),
            "line 6: role_assignments[0].principal: 'b' is neither the name of an application",
        ),
        (
            owned(&["[[resource_groups]]", "name = \"rg\"", "location = \"atlantis\""]),
            "line 3: resource_groups[0].location: LocationNotAvailableForResourceGroup: ",
        ),
        (
            owned(&["[[resource_groups]]", "name = \"r g\"", "location = \"eastus\""]),
            "line 2: resource_groups[0].name: InvalidResourceGroup: ",
        ),
        (
            [owned(GROUP), owned(&["[[resource_groups.resources]]", "type = \"Microsoft.Insights/components\"", "name = \"ai\"", "customer_id = \"5b4a3928-1706-4f5e-9d8c-7b6a59483726\""])].concat(),
            "line 7: resource_groups[0].resources[0].customer_id: only a resource of type Microsoft.OperationalInsights/workspaces has one",
        ),
        (
            [owned(GROUP), owned(&["[[resource_groups.resources]]", "type = \"Microsoft.OperationalInsights/workspaces\"", "name = \"w\""])].concat(),
            "line 6: resource_groups[0].resources[0].name: InvalidParameter: Workspace name must be between 4 and 63 characters long.",
        ),
        (
            owned(&["[clock]", "start = 2001-01-01T00:00:00Z"]),
            "line 2: clock.start: 2001-01-01T00:00:00Z is before the emulator's time",
        ),
        (
            [owned(APP), owned(&["secrets = [{ value = \"v\", start = 2099-01-02T00:00:00Z, expires = 2099-01-01T00:00:00Z }]"])].concat(),
            "line 3: applications[0].secrets[0].expires: 2099-01-01T00:00:00Z is not after the secret's start",
        ),
        (
            owned(&[
                "[[applications]]",
                "name = \"a\"",
                &format!("client_id = \"{}\"", entra_emulator::config::DEFAULT_ADMIN_CLIENT_ID),
            ]),
            "line 3: applications[0].client_id: ",
        ),
    ] {
        let text = lines.join("\n");
        let seed = Seed::from_toml_str(&text).expect("reads");
        let err = refused(seed).await;
        assert!(err.starts_with(expected), "{err}\nexpected: {expected}\n{text}");
    }
}

#[tokio::test]
async fn json_seeds_name_lines_too_and_a_seed_built_in_rust_names_the_field() {
    let json = r#"{
  "applications": [{"name": "a"}],
  "role_assignments": [
    {
      "role": "Reader",
      "principal": "a",
      "scope": "/subscriptions/{subscription}/resourceGroups/missing"
    }
  ]
}"#;
    let err = refused(Seed::from_json_str(json).expect("reads")).await;
    assert!(
        err.starts_with("line 7: role_assignments[0].scope: ResourceGroupNotFound: "),
        "{err}"
    );
    let err = Seed::from_json_str(r#"{"applications": [{"name": 5}]}"#)
        .expect_err("refused")
        .to_string();
    assert!(
        err.starts_with("line 1: applications[0].name: invalid type: integer `5`"),
        "{err}"
    );
    let seed = Seed::new().role_assignment(RoleAssignment::new("Reader", "nobody", "/"));
    let err = refused(seed).await;
    assert!(err.starts_with("role_assignments[0].principal: "), "{err}");
}

#[test]
fn a_seeds_debug_never_shows_a_secret() {
    let seed = Seed::from_toml_str(SEED).expect("seed");
    let debug = format!("{seed:?}");
    assert!(debug.contains("ci-app"), "{debug}");
    assert!(!debug.contains(SECRET), "{debug}");
}

/// A file in a fresh temporary directory.
fn temp_file(name: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("entra-emulator-seed-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

/// Every byte the data directory holds, concatenated.
fn contents(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            all.extend(contents(&path));
        } else {
            all.extend(std::fs::read(&path).expect("read"));
        }
    }
    all
}

#[tokio::test]
async fn the_binary_seeds_a_new_data_directory_only_and_never_writes_the_secret() {
    let (files, seed_path) = temp_file("seed.toml", SEED);
    let data = files.join("data");
    let seed_arg = seed_path.to_str().expect("utf-8");
    let bin =
        RunningBinary::spawn_in(data.clone(), &["--plain-http", "--seed", seed_arg], &[]).await;
    let http = reqwest::Client::new();
    let sub = bin.info["subscription_id"]
        .as_str()
        .expect("sub")
        .to_owned();
    let tenant = bin.info["tenant_id"].as_str().expect("tenant").to_owned();
    let get_token = |base: String, client_id: &'static str, secret: &'static str| {
        let http = http.clone();
        let tenant = tenant.clone();
        async move {
            let r = http
                .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", ARM),
                ])
                .send()
                .await
                .expect("request");
            (r.status(), r.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = get_token(bin.url().to_owned(), CLIENT_ID, SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().expect("token");
    let (status, body) = get_group(&http, bin.url(), &sub, "rg-ci", access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stderr = bin.stop_and_collect_stderr().await;
    assert!(stderr.contains("seed applied"), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
    assert!(
        !contents(&data)
            .windows(SECRET.len())
            .any(|w| w == SECRET.as_bytes()),
        "the secret's value is in the data directory"
    );

    // Restarted on the same directory with another seed: the tenant is the stored one.
    let other = SEED.replace("ci-app", "other-app").replace(
        "6a1f0c9e-3b7d-4c52-9e84-1d2f3a4b5c6d",
        "1a1f0c9e-3b7d-4c52-9e84-1d2f3a4b5c6d",
    );
    std::fs::write(&seed_path, other).expect("write");
    let bin = RunningBinary::spawn_in(
        data.clone(),
        &["--plain-http"],
        &[("ENTRA_EMULATOR_SEED", seed_arg)],
    )
    .await;
    let (status, body) = get_token(bin.url().to_owned(), CLIENT_ID, SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get_token(
        bin.url().to_owned(),
        "1a1f0c9e-3b7d-4c52-9e84-1d2f3a4b5c6d",
        SECRET,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let stderr = bin.stop_and_collect_stderr().await;
    assert!(stderr.contains("the seed is not applied again"), "{stderr}");
    let _ = std::fs::remove_dir_all(&files);
}

#[tokio::test]
async fn the_binary_refuses_a_bad_seed_before_listening() {
    let bad_role = SEED.replace("role = \"Reader\"", "role = \"Raeder\"");
    for (name, text, expected) in [
        (
            "seed.toml",
            bad_role.as_str(),
            ":17: role_assignments[0].role: no built-in role is named 'Raeder'",
        ),
        (
            "seed.json",
            "{\n  \"clock\": 7\n}",
            ":2: clock: invalid type: integer `7`",
        ),
        ("seed.toml", "[[applications]\n", ":1: "),
    ] {
        let (dir, path) = temp_file(name, text);
        let conn = dir.join("conn.json");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
            .args(["--plain-http", "--bind", "127.0.0.1:0", "--seed"])
            .arg(&path)
            .arg("--connection-file")
            .arg(&conn)
            .output()
            .await
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        let at = format!("invalid seed: {}{expected}", path.display());
        assert!(stderr.contains(&at), "{stderr}\nexpected: {at}");
        assert!(!conn.exists(), "it started");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
