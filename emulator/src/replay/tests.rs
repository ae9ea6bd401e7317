//! Tests of the parent module.

use super::*;

fn entry(method: &str, uri: &str, body: Value, status: u16, response: Value) -> Entry {
    Entry {
        request_uri: uri.into(),
        request_method: method.into(),
        request_headers: BTreeMap::new(),
        request_body: body,
        status_code: status,
        response_headers: BTreeMap::from([(
            "Content-Type".to_owned(),
            "application/json".to_owned(),
        )]),
        response_body: response,
    }
}

fn req<'a>(method: &'a str, path: &'a str, body: &'a str) -> Incoming<'a> {
    Incoming {
        method,
        path_and_query: path,
        headers: &[],
        body: body.as_bytes(),
    }
}

fn playback(entries: Vec<Entry>) -> Playback {
    Playback::new(vec![(
        "fixtures/x.json".into(),
        Recording {
            entries,
            variables: BTreeMap::new(),
        },
    )])
}

const APP: &str = "https://graph.microsoft.com/v1.0/applications";

#[test]
fn method_path_query_and_body_must_agree() {
    let e = entry(
        "POST",
        APP,
        json!({"displayName": "a", "keyCredentials": []}),
        201,
        json!({}),
    );
    assert!(
        compare(
            &e,
            &req(
                "POST",
                "/v1.0/applications",
                r#"{"keyCredentials":[],"displayName":"a"}"#
            )
        )
        .matches()
    );
    let c = compare(&e, &req("GET", "/v1.0/applications", ""));
    assert_eq!(c.differences[0], "method: recorded POST, got GET");
    let c = compare(
        &e,
        &req("POST", "/v1.0/applications", r#"{"displayName":"b"}"#),
    );
    assert_eq!(
        c.differences,
        [
            r#"body $.displayName: recorded "a", got "b""#,
            "body $.keyCredentials: recorded [], got nothing"
        ]
    );
    let q = entry(
        "GET",
        "https://graph.microsoft.com/v1.0/servicePrincipals?$filter=displayName%20eq%20%27x%27",
        Value::Null,
        200,
        json!({"value": []}),
    );
    assert!(
        compare(
            &q,
            &req(
                "GET",
                "/v1.0/servicePrincipals?%24filter=displayName+eq+'x'",
                ""
            )
        )
        .matches()
    );
    let c = compare(
        &q,
        &req(
            "GET",
            "/v1.0/servicePrincipals?$filter=displayName eq 'y'",
            "",
        ),
    );
    assert_eq!(
        c.differences,
        [r#"query $filter: recorded "displayName eq 'x'", got "displayName eq 'y'""#]
    );
}

#[test]
fn guids_datetimes_and_sanitized_values_match_by_shape() {
    let e = entry(
        "POST",
        "https://login.microsoftonline.com/e17a0000-0000-4000-8000-000000000001/oauth2/v2.0/token",
        json!(
            "grant_type=client_credentials&client_id=e17a0000-0000-4000-8000-000000000003&client_secret=Sanitized-secret-1&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        ),
        200,
        json!({}),
    );
    let c = compare(
        &e,
        &req(
            "POST",
            "/0c2b7a5e-1111-4222-8333-444455556666/oauth2/v2.0/token",
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret=whatever&client_id=0c2b7a5e-1111-4222-8333-444455556667&grant_type=client_credentials",
        ),
    );
    assert!(c.matches(), "{c:?}");
    assert_eq!(c.by_shape, 3, "tenant, client id and secret");
    let dated = entry(
        "POST",
        "https://graph.microsoft.com/v1.0/applications/88cf6d82-d8e6-41af-8205-71bfbff43d56/addPassword",
        json!({"passwordCredential": {"displayName": "rbac", "startDateTime": "2025-01-01T00:00:00Z"}}),
        200,
        json!({}),
    );
    assert!(compare(&dated, &req("POST", "/v1.0/applications/88cf6d82-d8e6-41af-8205-71bfbff43d56/addPassword", r#"{"passwordCredential":{"displayName":"rbac","startDateTime":"2026-03-04T05:06:07.1234567Z"}}"#)).matches());
    assert!(
        !compare(
            &dated,
            &req(
                "POST",
                "/v1.0/applications/88cf6d82-d8e6-41af-8205-71bfbff43d56/addPassword",
                r#"{"passwordCredential":{"displayName":"rbac","startDateTime":"tomorrow"}}"#
            )
        )
        .matches()
    );
}

#[test]
fn exact_matches_win_then_unserved_entries_in_order() {
    let a = "https://graph.microsoft.com/v1.0/applications/11111111-1111-4111-8111-111111111111";
    let p = playback(vec![
        entry("GET", a, Value::Null, 200, json!({"n": 1})),
        entry("GET", a, Value::Null, 200, json!({"n": 2})),
        entry(
            "GET",
            "https://graph.microsoft.com/v1.0/applications/22222222-2222-4222-8222-222222222222",
            Value::Null,
            404,
            json!({}),
        ),
    ]);
    let r = req(
        "GET",
        "/v1.0/applications/11111111-1111-4111-8111-111111111111",
        "",
    );
    assert_eq!(p.answer(&r), Answer::Entry(0));
    assert_eq!(p.answer(&r), Answer::Entry(1));
    assert_eq!(
        p.answer(&r),
        Answer::Entry(0),
        "all served: the first again"
    );
    let other = req(
        "GET",
        "/v1.0/applications/22222222-2222-4222-8222-222222222222",
        "",
    );
    assert_eq!(p.answer(&other), Answer::Entry(2), "exact beats shape");
    let unknown = req(
        "GET",
        "/v1.0/applications/33333333-3333-4333-8333-333333333333",
        "",
    );
    assert_eq!(
        p.answer(&unknown),
        Answer::Entry(0),
        "a GUID matches by shape"
    );
}

#[test]
fn no_match_names_the_closest_request() {
    let p = playback(vec![
        entry("GET", APP, Value::Null, 200, json!({"value": []})),
        entry("POST", APP, json!({"displayName": "a"}), 201, json!({})),
    ]);
    let Answer::NoMatch(Some((i, differences))) =
        p.answer(&req("POST", "/v1.0/applications", r#"{"displayName":"z"}"#))
    else {
        panic!("expected no match");
    };
    assert_eq!(i, 1);
    assert_eq!(
        differences,
        [r#"body $.displayName: recorded "a", got "z""#]
    );
    assert_eq!(
        p.answer(&req("DELETE", "/nowhere", "")),
        Answer::NoMatch(Some((
            0,
            vec![
                "method: recorded GET, got DELETE".into(),
                "path: recorded /v1.0/applications, got /nowhere".into()
            ]
        )))
    );
}

#[test]
fn bodies_round_trip_through_the_recording_form() {
    assert_eq!(body_value(b""), Value::Null);
    assert_eq!(body_value(br#"{"a":1}"#), json!({"a": 1}));
    assert_eq!(body_value(b"a=1&b=2"), json!("a=1&b=2"));
    assert_eq!(body_bytes(&json!({"a": 1})), br#"{"a":1}"#);
    assert_eq!(body_bytes(&json!("a=1")), b"a=1");
    assert!(body_bytes(&Value::Null).is_empty());
}

#[test]
fn datetimes_are_recognised_in_every_service_format() {
    for s in [
        "2023-08-23T12:43:55.3291131Z",
        "2023-08-23T12:43:54Z",
        "2023-02-14T11:10:50",
        "2025-04-23 02:35:17Z",
        "2023-09-04T09:29:16.895907+00:00",
    ] {
        assert!(is_datetime(s), "{s}");
    }
    for s in ["2023-08-23", "tomorrow", "2023-08-23T12:43Z"] {
        assert!(!is_datetime(s), "{s}");
    }
    assert_eq!(datetime_len(b"2025-04-23 02:35:17Z and more"), Some(20));
}

#[test]
fn percent_decoding_keeps_plus_and_broken_escapes() {
    assert_eq!(percent_decode("a%20b+c%2"), "a b+c%2");
    assert_eq!(path_and_query_of("https://h/x?y=1"), "/x?y=1");
    assert_eq!(path_and_query_of("https://h"), "/");
    assert_eq!(path_and_query_of("/x"), "/x");
}

#[tokio::test]
async fn the_router_answers_as_recorded() {
    use tower::ServiceExt as _;
    let p = playback(vec![entry(
        "POST",
        APP,
        json!({"displayName": "a"}),
        201,
        json!({"id": "x", "displayName": "a"}),
    )]);
    let app = p.router();
    let r = app
        .clone()
        .oneshot(
            axum::http::Request::post("/v1.0/applications")
                .body(axum::body::Body::from(r#"{"displayName":"a"}"#))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .expect("body");
    assert_eq!(&body[..], br#"{"id":"x","displayName":"a"}"#);
    let r = app
        .oneshot(
            axum::http::Request::get("/v1.0/servicePrincipals")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["error"]["code"], "RecordingNotFound");
    assert_eq!(body["error"]["closest"]["uri"], APP);
}

#[test]
fn matchers_relax_bodies_headers_fields_and_query_values() {
    let mut e = entry(
        "POST",
        "https://graph.microsoft.com/v1.0/applications?api-version=1&x=2",
        json!({"displayName": "recorded", "keyCredentials": []}),
        201,
        json!({}),
    );
    e.request_headers.insert(
        "Content-Type".into(),
        "application/json;charset=utf-8".into(),
    );
    e.request_headers
        .insert("Authorization".into(), "Bearer Sanitized".into());
    e.request_headers
        .insert("User-Agent".into(), "rec/1".into());
    let headers = vec![
        (
            "content-type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        ),
        ("authorization".to_owned(), "Bearer eyJ.mine".to_owned()),
        ("user-agent".to_owned(), "mine/2".to_owned()),
        ("x-extra".to_owned(), "only mine".to_owned()),
    ];
    let mine = |body: &'static str, path: &'static str| Incoming {
        method: "POST",
        path_and_query: path,
        headers: &headers,
        body: body.as_bytes(),
    };
    let own_name = r#"{"displayName":"mine","keyCredentials":[]}"#;
    let same = r#"{"displayName":"recorded","keyCredentials":[]}"#;
    let default = Matcher::default();
    assert!(
        compare_with(
            &e,
            &mine(same, "/v1.0/applications?x=2&api-version=1"),
            &default
        )
        .matches(),
        "volatile headers, credentials, a tool's own headers and query order do not count"
    );
    let c = compare_with(
        &e,
        &mine(own_name, "/v1.0/applications?api-version=1&x=2"),
        &default,
    );
    assert_eq!(
        c.differences,
        [r#"body $.displayName: recorded "recorded", got "mine""#]
    );
    for m in [
        Matcher::parse("BodilessMatcher").expect("known"),
        Matcher::parse(r#"JsonBodyMatcher:{"ignoredBodyFields": "displayName"}"#).expect("known"),
        Matcher::parse(r#"CustomDefaultMatcher:{"compareBodies": false}"#).expect("known"),
    ] {
        let c = compare_with(
            &e,
            &mine(own_name, "/v1.0/applications?api-version=1&x=2"),
            &m,
        );
        assert!(c.matches(), "{}: {:?}", m.name, c.differences);
        assert_eq!(c.echoes, [("recorded".to_owned(), "mine".to_owned())]);
    }
    let strict_order =
        Matcher::parse(r#"CustomDefaultMatcher:{"ignoreQueryOrdering": false}"#).expect("known");
    assert!(
        !compare_with(
            &e,
            &mine(same, "/v1.0/applications?x=2&api-version=1"),
            &strict_order
        )
        .matches()
    );
    let volatile_x =
        Matcher::parse(r#"CustomDefaultMatcher:{"ignoredQueryParameters": "x"}"#).expect("known");
    assert!(
        compare_with(
            &e,
            &mine(same, "/v1.0/applications?api-version=1&x=9"),
            &volatile_x
        )
        .matches()
    );
    assert!(
        !compare_with(
            &e,
            &mine(same, "/v1.0/applications?api-version=1"),
            &volatile_x
        )
        .matches(),
        "an ignored parameter must still be present"
    );
    let other_type = vec![("content-type".to_owned(), "text/plain".to_owned())];
    let plain = Incoming {
        method: "POST",
        path_and_query: "/v1.0/applications?api-version=1&x=2",
        headers: &other_type,
        body: same.as_bytes(),
    };
    assert!(!compare_with(&e, &plain, &default).matches());
    assert!(
        compare_with(
            &e,
            &plain,
            &Matcher::parse("HeaderlessMatcher").expect("known")
        )
        .matches()
    );
    assert!(
        compare_with(
            &e,
            &plain,
            &Matcher::parse(r#"CustomDefaultMatcher:{"excludedHeaders": "Content-Type"}"#)
                .expect("known")
        )
        .matches()
    );
}

#[tokio::test]
async fn the_answer_echoes_the_clients_own_values_and_the_matcher_is_set_per_session() {
    use tower::ServiceExt as _;
    let recorded_id = "11111111-1111-4111-8111-111111111111";
    let p = playback(vec![
        entry(
            "POST",
            APP,
            json!({"displayName": "recorded-name"}),
            201,
            json!({"id": recorded_id, "displayName": "recorded-name", "@odata.context": format!("x/{recorded_id}")}),
        ),
        entry(
            "GET",
            &format!("{APP}/{recorded_id}"),
            Value::Null,
            200,
            json!({"id": recorded_id, "displayName": "recorded-name"}),
        ),
    ]);
    let app = p.router();
    let call = |r: axum::http::Request<axum::body::Body>| {
        let app = app.clone();
        async move {
            let resp = app.oneshot(r).await.expect("response");
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .expect("body");
            (
                status,
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
            )
        }
    };
    let create = || {
        axum::http::Request::post("/v1.0/applications")
            .body(axum::body::Body::from(r#"{"displayName":"my-tool"}"#))
            .expect("request")
    };
    let (status, body) = call(create()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the default matcher compares bodies"
    );
    assert_eq!(body["error"]["code"], "RecordingNotFound");
    let (status, body) = call(
        axum::http::Request::post("/_emulator/replay/matcher")
            .body(axum::body::Body::from(r#"{"matcher": "NoSuch"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidMatcher"))
    );
    let (status, body) = call(
        axum::http::Request::post("/Admin/SetMatcher")
            .header("x-abstraction-identifier", "BodilessMatcher")
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, &body["name"]),
        (StatusCode::OK, &json!("BodilessMatcher"))
    );
    let (status, body) = call(create()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["displayName"], "my-tool",
        "the client's own name is echoed"
    );
    assert_eq!(body["id"], recorded_id);
    let own_id = "22222222-2222-4222-8222-222222222222";
    let (status, body) = call(
        axum::http::Request::get(format!("/v1.0/applications/{own_id}"))
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], own_id, "an id in the path is echoed");
    let (_, body) = call(
        axum::http::Request::get("/_emulator/replay/matcher")
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(body["compareBodies"], false);
}
