//! The playback server (`entra-emulator --replay`): a committed fixture's exchanges, answered
//! to a plain HTTP client exactly as recorded.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::RunningBinary;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/emulator/create_for_rbac_without_role.json"
);

#[tokio::test]
async fn a_recorded_create_for_rbac_exchange_is_answered_as_recorded() {
    let recording: Value =
        serde_json::from_slice(&std::fs::read(FIXTURE).expect("fixture")).expect("json");
    let entry = recording["Entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| {
            e["RequestMethod"] == "POST"
                && e["RequestUri"] == "https://graph.microsoft.com/v1.0/applications"
        })
        .expect("create-for-rbac creates an application")
        .clone();
    let bin = RunningBinary::spawn(&["--plain-http", "--replay", FIXTURE], &[]).await;
    let base = bin.info["base_url"].as_str().expect("base_url").to_owned();
    let http = reqwest::Client::new();

    let r = http
        .post(format!("{base}/v1.0/applications"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&entry["RequestBody"]).expect("body"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), entry["StatusCode"]);
    for (name, value) in entry["ResponseHeaders"].as_object().expect("headers") {
        assert_eq!(
            r.headers()[name.as_str()],
            value.as_str().expect("text"),
            "{name}"
        );
    }
    let body = r.bytes().await.expect("body");
    assert_eq!(
        body,
        serde_json::to_vec(&entry["ResponseBody"]).expect("json"),
        "the recorded body, byte for byte"
    );

    // Another display name is another request: a 404 that names the closest recording.
    let r = http
        .post(format!("{base}/v1.0/applications"))
        .json(&json!({"displayName": "someone-else", "keyCredentials": []}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "RecordingNotFound");
    assert_eq!(body["error"]["closest"]["uri"], entry["RequestUri"]);
    let differences = body["error"]["closest"]["differences"].to_string();
    assert!(differences.contains("someone-else"), "{differences}");
    let log = bin.stop_and_collect_stderr().await;
    assert!(log.contains("replay POST /v1.0/applications 201"), "{log}");
}

/// `clients/shell/replay-own-name.sh`: a tool creates an app with its own display name against
/// the playback; refused under the default matcher, answered with its name echoed once the
/// session's matcher leaves the name out.
#[tokio::test]
async fn a_tool_with_its_own_app_name_replays_with_a_matcher() {
    let bin = RunningBinary::spawn(&["--plain-http", "--replay", FIXTURE], &[]).await;
    let stdout = bin.run_client_script("replay-own-name.sh").await;
    assert!(
        stdout.contains("2. own name, default matcher: 404 RecordingNotFound"),
        "{stdout}"
    );
    assert!(
        stdout.contains("4. own name, JsonBodyMatcher: 201 displayName=my-tool-"),
        "{stdout}"
    );
}

/// The playback server refuses a host it is not known by (421, against DNS rebinding), as
/// the emulator does, and answers `--allowed-host` names.
#[tokio::test]
async fn the_playback_refuses_unknown_hosts() {
    let bin = RunningBinary::spawn(
        &[
            "--plain-http",
            "--replay",
            FIXTURE,
            "--allowed-host",
            "known.test",
        ],
        &[],
    )
    .await;
    let url = format!("{}/_emulator/replay/matcher", bin.url());
    let http = reqwest::Client::new();
    for (host, expected) in [
        ("known.test", StatusCode::OK),
        ("localhost", StatusCode::OK),
        ("rebind.attacker.test", StatusCode::MISDIRECTED_REQUEST),
    ] {
        let r = http
            .get(&url)
            .header("host", host)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), expected, "{host}");
    }
}

/// `--replay-matcher` chooses the session's matcher at start.
#[tokio::test]
async fn the_matcher_flag_sets_the_sessions_matcher() {
    let bin = RunningBinary::spawn(
        &[
            "--plain-http",
            "--replay",
            FIXTURE,
            "--replay-matcher",
            r#"CustomDefaultMatcher:{"compareBodies": false}"#,
        ],
        &[],
    )
    .await;
    let base = bin.info["base_url"].as_str().expect("base_url").to_owned();
    let matcher: Value = reqwest::get(format!("{base}/_emulator/replay/matcher"))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(matcher["name"], "CustomDefaultMatcher");
    assert_eq!(matcher["compareBodies"], false);
    let r = reqwest::Client::new()
        .post(format!("{base}/v1.0/applications"))
        .json(&json!({"displayName": "flagged", "keyCredentials": []}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["displayName"], "flagged");
}
