//! Certificates and federated identity: Graph's keyCredentials, addKey/removeKey and
//! federatedIdentityCredentials; client assertions at the token endpoint; the built-in test
//! issuer.

mod assertions;
mod federated;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::certs::{self, TestCert};
use crate::support::*;

/// Creates an application (and its service principal) with `body`'s extra properties; answers
/// (object id, client id, the creation response).
pub(crate) async fn create_app(app: &TestApp, admin: &str, body: Value) -> (String, String, Value) {
    let mut body = body;
    body["displayName"] = json!("cert-app");
    let (status, _, created) = app
        .call(Method::POST, "/v1.0/applications", Some(admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let app_id = created["appId"].as_str().expect("appId").to_owned();
    let (status, _, sp) = app
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(admin),
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    (id, app_id, created)
}

/// An addKey/removeKey proof for application `object_id` signed with `cert`, valid now
/// (`now` in Unix seconds) for ten minutes.
fn proof(cert: &TestCert, object_id: &str, now: i64) -> String {
    cert.sign(
        &json!({"alg": "RS256", "typ": "JWT", "x5t": cert.x5t()}),
        &json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": object_id, "nbf": now, "exp": now + 600}),
        false,
    )
}

#[tokio::test]
async fn certificates_are_registered_read_back_and_replaced_as_graph_does() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let cert = certs::cert(0, "CLI-Login", (2024, 5, 7), (2030, 5, 7));
    // The Azure CLI's create-for-rbac --create-cert body: `key` with line breaks, a keyId of
    // its own, `displayName: null`, dates inside the certificate (Azure/azure-cli
    // role/tests/latest/recordings/test_create_for_rbac_create_cert.yaml @ fd3b3d8c).
    let key_id = "88888888-0000-0000-0000-000000000001";
    let (id, _, created) = create_app(
        &app,
        &admin,
        json!({"keyCredentials": [{"@odata.type": "#microsoft.graph.keyCredential",
            "displayName": null, "endDateTime": "2029-05-07T06:56:26Z",
            "key": cert.base64_wrapped(), "keyId": key_id,
            "startDateTime": "2024-05-07T06:56:26Z", "type": "AsymmetricX509Cert", "usage": "Verify"}]}),
    )
    .await;
    // Read back: upper-hex SHA-1 thumbprint, the subject as display name, `key: null`, in
    // this order (same recording).
    let expected = json!([{"customKeyIdentifier": cert.thumbprint(), "displayName": "CN=CLI-Login",
        "endDateTime": "2029-05-07T06:56:26Z", "key": null, "keyId": key_id,
        "startDateTime": "2024-05-07T06:56:26Z", "type": "AsymmetricX509Cert", "usage": "Verify"}]);
    assert_eq!(created["keyCredentials"], expected);
    let keys: Vec<&String> = created["keyCredentials"][0]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(
        keys,
        [
            "customKeyIdentifier",
            "displayName",
            "endDateTime",
            "key",
            "keyId",
            "startDateTime",
            "type",
            "usage"
        ]
    );
    let (_, _, got) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got["keyCredentials"], expected);
    // `key` only with $select on one object (keyCredential resource page).
    let (_, _, selected) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(selected["keyCredentials"][0]["key"], cert.base64());

    // PATCH replaces the collection; an entry read back with `key: null` keeps its
    // certificate (the CLI's `credential reset --append`); dates default to the
    // certificate's validity.
    let second = certs::cert(1, "second", (2024, 1, 1), (2031, 1, 1));
    let mut appended = got["keyCredentials"].clone();
    appended
        .as_array_mut()
        .expect("array")
        .push(json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": second.base64(), "displayName": "rollover"}));
    let (status, _, body) = app
        .call(
            Method::PATCH,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            Some(json!({"keyCredentials": appended})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, _, got) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    let listed = got["keyCredentials"].as_array().expect("keys");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], expected[0]);
    assert_eq!(listed[1]["customKeyIdentifier"], second.thumbprint());
    assert_eq!(listed[1]["displayName"], "rollover");
    assert_eq!(listed[1]["startDateTime"], "2024-01-01T00:00:00Z");
    assert_eq!(listed[1]["endDateTime"], "2031-01-01T00:00:00Z");

    // Replacing with only the second one drops the first.
    let only_second = json!({"keyCredentials": [listed[1].clone()]});
    let (status, _, _) = app
        .call(
            Method::PATCH,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            Some(only_second),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, got) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got["keyCredentials"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        got["keyCredentials"][0]["customKeyIdentifier"],
        second.thumbprint()
    );
}

#[tokio::test]
async fn bad_key_credentials_get_graph_errors_and_change_nothing() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let cert = certs::cert(0, "bad-input", (2024, 1, 1), (2030, 1, 1));
    let (id, _, _) = create_app(&app, &admin, json!({})).await;
    let entry = |extra: Value| {
        let mut e = json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": cert.base64()});
        for (k, v) in extra.as_object().expect("object") {
            e[k] = v.clone();
        }
        json!({"keyCredentials": [e]})
    };
    let cases = [
        // "Invalid certificate: Key value is invalid certificate" is quoted in Microsoft's
        // custom signing key how-to; the code is a guess.
        (
            entry(json!({"key": "bm90IGEgY2VydGlmaWNhdGU="})),
            "Request_BadRequest",
            "Invalid certificate: Key value is invalid certificate",
        ),
        (
            entry(json!({"key": null, "keyId": "11111111-1111-1111-1111-111111111111"})),
            "Request_BadRequest",
            "Invalid certificate: Key value is invalid certificate",
        ),
        // Message observed from Graph v1.0 (microsoftgraph/msgraph-sdk-java issue 1823).
        (
            entry(json!({"usage": "Encrypt"})),
            "Request_BadRequest",
            "The value for the property \"usage\" in one of your credentials is invalid. Acceptable values are Sign, Verify.",
        ),
        // Code and message observed in terraform/app logs; the rule (inside the
        // certificate's validity) is inferred from the CLI's clamping of its dates.
        (
            entry(json!({"endDateTime": "2031-01-01T00:00:00Z"})),
            "KeyCredentialsInvalidEndDate",
            "Key credential end date is invalid.",
        ),
        (
            entry(
                json!({"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2025-01-01T00:00:00Z"}),
            ),
            "KeyCredentialsInvalidEndDate",
            "Key credential end date is invalid.",
        ),
        // A guess: no source for a start before the certificate's validity.
        (
            entry(json!({"startDateTime": "2023-01-01T00:00:00Z"})),
            "KeyCredentialsInvalidStartDate",
            "Key credential start date is invalid.",
        ),
        (
            entry(json!({"type": "Symmetric"})),
            "Request_BadRequest",
            "Invalid value specified for property 'type' of resource 'KeyCredential'.",
        ),
        (
            entry(json!({"colour": "blue"})),
            "Request_BadRequest",
            "The property 'colour' does not exist on type 'Microsoft.DirectoryServices.KeyCredential'. Make sure to only use property names that are defined by the type.",
        ),
        (
            json!({"keyCredentials": "nope"}),
            "Request_BadRequest",
            "Invalid value specified for property 'keyCredentials' of resource 'Application'.",
        ),
    ];
    for (body, code, message) in cases {
        let (status, _, err) = app
            .call(
                Method::PATCH,
                &format!("/v1.0/applications/{id}"),
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["error"]["code"], code, "{body}");
        assert_eq!(err["error"]["message"], message, "{body}");
    }
    let (_, _, got) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got["keyCredentials"], json!([]));
}

#[tokio::test]
async fn add_key_and_remove_key_need_a_proof_signed_by_a_current_certificate() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let first = certs::long_lived(0, "first");
    let second = certs::long_lived(1, "second");
    let (id, app_id, _) = create_app(
        &app,
        &admin,
        json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": first.base64()}]}),
    )
    .await;
    let now = app.emu.now().unix_timestamp();
    let add = |proof: Option<String>| {
        let mut body = json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": second.base64(), "displayName": "next"}, "passwordCredential": null});
        if let Some(p) = proof {
            body["proof"] = json!(p);
        }
        body
    };
    let path = format!("/v1.0/applications/{id}/addKey");
    // No proof: observed as "Insufficient privileges to complete the operation."
    // (microsoftgraph/msgraph-sdk-powershell issue 779; status 403 a guess).
    let (status, _, err) = app
        .call(Method::POST, &path, Some(&admin), Some(add(None)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["code"], "Authorization_RequestDenied");
    // Bad proofs: 401 Authentication_MissingOrMalformed "Access Token missing or malformed."
    // (microsoftgraph/microsoft-graph-docs issues 10686 and 22076); padding is refused
    // (rollkey proof page).
    let wrong_aud = first.sign(
        &json!({"alg": "RS256", "x5t": first.x5t()}),
        &json!({"aud": "https://graph.microsoft.com", "iss": id, "nbf": now, "exp": now + 600}),
        false,
    );
    let wrong_iss = proof(&first, &app_id, now);
    let unknown_signer = proof(&second, &id, now);
    let expired = first.sign(
        &json!({"alg": "RS256"}),
        &json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": id, "nbf": now - 3600, "exp": now - 1200}),
        false,
    );
    let padded = {
        let p = proof(&first, &id, now);
        let mut parts: Vec<String> = p.split('.').map(str::to_owned).collect();
        parts[2].push('=');
        parts.join(".")
    };
    for bad in [
        wrong_aud,
        wrong_iss,
        unknown_signer,
        expired,
        padded,
        "garbage".to_owned(),
    ] {
        let (status, _, err) = app
            .call(Method::POST, &path, Some(&admin), Some(add(Some(bad))))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
        assert_eq!(err["error"]["code"], "Authentication_MissingOrMalformed");
        assert_eq!(
            err["error"]["message"],
            "Access Token missing or malformed."
        );
    }
    // A good proof adds the key and answers it (application-addkey.md).
    let (status, _, added) = app
        .call(
            Method::POST,
            &path,
            Some(&admin),
            Some(add(Some(proof(&first, &id, now)))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(
        added["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.keyCredential"
    );
    assert_eq!(added["customKeyIdentifier"], second.thumbprint());
    assert_eq!(added["displayName"], "next");
    let new_key = added["keyId"].as_str().expect("keyId").to_owned();

    // The application itself, without any Graph permission, rolls its own keys: it signs in
    // with its new certificate and removes the old one with a proof of the new one.
    let (_, _, got) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    let old_key = got["keyCredentials"][0]["keyId"]
        .as_str()
        .expect("old")
        .to_owned();
    assert_ne!(old_key, new_key);
    let own = assertions::token_with_cert(
        &app,
        &app_id,
        &second,
        "https://graph.microsoft.com/.default",
    )
    .await;
    let remove = |key_id: &str, proof: String| json!({"keyId": key_id, "proof": proof});
    let remove_path = format!("/v1.0/applications(appId='{app_id}')/removeKey");
    let unknown = "22222222-2222-2222-2222-222222222222";
    let (status, _, err) = app
        .call(
            Method::POST,
            &remove_path,
            Some(&own),
            Some(remove(unknown, proof(&second, &id, now))),
        )
        .await;
    // A guess: Graph's answer to an unknown keyId was not found.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, _, body) = app
        .call(
            Method::POST,
            &remove_path,
            Some(&own),
            Some(remove(&old_key, proof(&second, &id, now))),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, _, got) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got["keyCredentials"].as_array().map(Vec::len), Some(1));
    assert_eq!(got["keyCredentials"][0]["keyId"], new_key.as_str());

    // Another application's token may not touch these keys.
    let (_, other_app_id, _) = create_app(&app, &admin, json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": first.base64()}]})).await;
    let other = assertions::token_with_cert(
        &app,
        &other_app_id,
        &first,
        "https://graph.microsoft.com/.default",
    )
    .await;
    let (status, _, _) = app
        .call(
            Method::POST,
            &remove_path,
            Some(&other),
            Some(remove(&new_key, proof(&second, &id, now))),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// azure-identity's CertificateCredential, WorkloadIdentityCredential and
/// DefaultAzureCredential (workload identity mode), and MSAL Python with a certificate
/// (`clients/python/tests/test_credentials.py`): each gets a token and calls ARM.
#[tokio::test]
async fn python_certificate_and_workload_identity_credentials_call_arm() {
    let Some(python) =
        real_client("credentials::python_certificate_and_workload_identity_credentials_call_arm")
    else {
        return;
    };
    run_pytest(&python, "test_credentials.py").await;
}

/// The Azure CLI (`clients/azure-cli/az-cred-flow.sh`): `create-for-rbac --create-cert`,
/// `credential reset --create-cert --append`, `login --service-principal --certificate`,
/// `federated-credential create` and `login --federated-token`.
#[tokio::test]
async fn azure_cli_signs_in_with_a_certificate_and_a_federated_token() {
    let Some(az) =
        real_client("credentials::azure_cli_signs_in_with_a_certificate_and_a_federated_token")
    else {
        return;
    };
    let bin = RunningBinary::start(&[]).await;
    let stdout = run_az_script(&az, &bin, "az-cred-flow.sh").await;
    for step in [
        "ok create-for-rbac --create-cert",
        "ok credential reset --create-cert --append keeps the first certificate",
        "ok login --service-principal --certificate, then ARM",
        "ok ad app federated-credential create/list",
        "ok login --federated-token",
    ] {
        assert!(stdout.contains(step), "missing '{step}' in:\n{stdout}");
    }
}
