//! DNS rebinding: a page whose own name is made to resolve to the emulator's address is on
//! the emulator's origin to the browser, so only the names the emulator is known by are
//! answered (421 Misdirected Request otherwise), on every route.

use entra_emulator::Emulator;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// `request` as a page served on `host` makes it: that `Host`, and that page's `Origin`.
fn from_page_on(request: RequestBuilder, host: &str) -> RequestBuilder {
    request
        .header("host", host)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
}

async fn clock(app: &TestApp) -> String {
    let body: Value = app
        .http
        .get(app.url("/_emulator/clock"))
        .send()
        .await
        .expect("clock")
        .json()
        .await
        .expect("json");
    body["now"].as_str().expect("now").to_owned()
}

#[tokio::test]
async fn a_rebound_host_name_can_neither_mint_a_secret_nor_move_the_clock_nor_read() {
    let app = TestApp::new().await;
    let evil = format!("rebind.attacker.test:{}", port_of(app.emu.url()));
    let graph = app.admin_graph_token().await;
    let (_, _, created) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(&graph),
            Some(json!({"displayName": "target"})),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let before = clock(&app).await;

    // The portal's secret form, posted by the rebound page.
    let secrets = app.url(&format!("/_emulator/portal/apps/{id}/secrets"));
    let r = from_page_on(app.http.post(&secrets), &evil)
        .form(&[("description", "stolen"), ("expires", "180d")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    let html = r.text().await.expect("html");
    assert!(html.contains("DNS rebinding"), "{html}");
    assert!(!html.contains("secret-value"), "{html}");

    // The control API's clock, and reads anywhere (the page could read what it is sent).
    let r = from_page_on(app.http.post(app.url("/_emulator/clock/advance")), &evil)
        .json(&json!({"seconds": 86400}))
        .send()
        .await
        .expect("advance");
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "MisdirectedRequest", "{body}");
    let tenant = app.emu.tenant_id();
    for path in [
        "/_emulator/clock".to_owned(),
        "/_emulator/portal".to_owned(),
        format!("/{tenant}/v2.0/.well-known/openid-configuration"),
        format!("/v1.0/applications/{id}"),
    ] {
        let r = from_page_on(app.http.get(app.url(&path)), &evil)
            .bearer_auth(&graph)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
    }
    // A token with the bootstrap admin's (documented) secret.
    let r = from_page_on(
        app.http
            .post(app.url(&format!("/{tenant}/oauth2/v2.0/token"))),
        &evil,
    )
    .form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &app.admin_id()),
        ("client_secret", &app.admin_secret()),
        ("scope", "https://graph.microsoft.com/.default"),
    ])
    .send()
    .await
    .expect("token");
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);

    // Nothing changed (the clock runs, but by less than the day asked for).
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339")
    };
    let moved = parse(&clock(&app).await) - parse(&before);
    assert!(
        moved < time::Duration::hours(1),
        "the clock moved by {moved}"
    );
    let (_, _, app_now) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&graph),
            None,
        )
        .await;
    assert_eq!(app_now["passwordCredentials"], json!([]), "{app_now}");

    // The same form from the emulator's own page is taken.
    let own = format!("127.0.0.1:{}", port_of(app.emu.url()));
    let r = from_page_on(app.http.post(&secrets), &own)
        .form(&[("description", "mine"), ("expires", "180d")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn loopback_names_addresses_and_allowed_names_are_answered_with_their_own_urls() {
    let app = TestApp::with(
        Emulator::builder()
            .allowed_host("emulator.test")
            .allowed_host("*.apps.test"),
    )
    .await;
    let port = port_of(app.emu.url());
    let discovery = format!(
        "/{}/v2.0/.well-known/openid-configuration",
        app.emu.tenant_id()
    );
    let refused = [
        format!("two.levels.apps.test:{port}"),
        format!("apps.test:{port}"),
        format!("emulator.test.attacker.test:{port}"),
        format!("localhost.attacker.test:{port}"),
    ];
    for host in [
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "10.9.8.7".to_owned(),
        format!("localhost:{port}"),
        format!("LocalHost.:{port}"),
        format!("emulator.localhost:{port}"),
        // Another port: a forwarded one keeps the name.
        "localhost:9000".to_owned(),
        format!("emulator.test:{port}"),
        format!("one.apps.test:{port}"),
    ]
    .iter()
    .chain(&refused)
    {
        let r = from_page_on(app.http.get(app.url(&discovery)), host)
            .send()
            .await
            .expect("get");
        if refused.contains(host) {
            assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "{host}");
        let doc: Value = r.json().await.expect("json");
        let endpoint = doc["token_endpoint"].as_str().expect("token_endpoint");
        assert!(
            endpoint.starts_with(&format!("http://{host}/")),
            "{host}: {endpoint}"
        );
    }
}

#[tokio::test]
async fn the_generated_certificates_extra_names_are_answered() {
    let config = entra_emulator::Config {
        tls: entra_emulator::TlsMode::SelfSigned {
            extra_sans: vec!["san.emulator.test".into()],
        },
        ..Default::default()
    };
    let emu = Emulator::builder()
        .config(config)
        .start()
        .await
        .expect("start");
    let port = port_of(emu.url());
    let ca =
        reqwest::Certificate::from_pem(emu.ca_cert_pem().expect("ca").as_bytes()).expect("pem");
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .resolve("san.emulator.test", ([127, 0, 0, 1], port).into())
        .build()
        .expect("client");
    let url = format!("https://san.emulator.test:{port}/_emulator/clock");
    let ok = http.get(&url).send().await.expect("san");
    assert_eq!(ok.status(), StatusCode::OK);
    let other = http.get(&url).header("host", "other.emulator.test");
    let refused = other.send().await.expect("other");
    assert_eq!(refused.status(), StatusCode::MISDIRECTED_REQUEST);
}

/// The binary's `--allowed-host` (repeatable) and `ENTRA_EMULATOR_ALLOWED_HOST`
/// (comma-separated); with an admin token on a non-loopback bind, the token does not admit
/// a request for another host.
#[tokio::test]
async fn the_binary_takes_allowed_hosts_from_its_flag_and_variable_and_refuses_bad_ones() {
    const TOKEN: &str = "adm-tok-hosts-0123456789";
    let bin = RunningBinary::spawn(
        &[
            "--bind",
            "0.0.0.0:0",
            "--plain-http",
            "--allowed-host",
            "flag-one.test",
            "--allowed-host",
            "flag-two.test",
        ],
        &[("ENTRA_EMULATOR_ADMIN_TOKEN", TOKEN)],
    )
    .await;
    let url = format!("{}/_emulator/clock", bin.url());
    let http = reqwest::Client::new();
    let status = |host: &'static str| {
        http.get(&url)
            .header("host", host)
            .bearer_auth(TOKEN)
            .send()
    };
    for host in ["flag-one.test", "flag-two.test", "localhost"] {
        assert_eq!(status(host).await.expect("get").status(), StatusCode::OK);
    }
    let refused = status("rebind.attacker.test").await.expect("get");
    assert_eq!(refused.status(), StatusCode::MISDIRECTED_REQUEST);
    drop(bin.stop_and_collect_stderr().await);

    let bin = RunningBinary::spawn(
        &["--plain-http"],
        &[("ENTRA_EMULATOR_ALLOWED_HOST", "var-one.test,*.var.test")],
    )
    .await;
    let url = format!("{}/_emulator/clock", bin.url());
    for (host, expected) in [
        ("var-one.test", StatusCode::OK),
        ("a.var.test", StatusCode::OK),
        ("flag-one.test", StatusCode::MISDIRECTED_REQUEST),
    ] {
        let r = http.get(&url).header("host", host).send().await;
        assert_eq!(r.expect("get").status(), expected, "{host}");
    }
    drop(bin.stop_and_collect_stderr().await);

    for bad in ["emulator:8443", "http://emulator", "a b"] {
        let args = ["--bind", "127.0.0.1:0", "--allowed-host", bad];
        let stderr = super::refused_start(&args, &[]).await;
        assert!(
            stderr.contains(&format!("--allowed-host '{bad}' is not a host name")),
            "{stderr}"
        );
    }
}
