//! The binary's command line and banner: boolean spellings, the CA bundle it exports, and
//! the flags table of the README.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::Value;

use crate::support::{RunningBinary, https_client_with_roots, real_client, run_pytest};

/// Runs the binary to completion with `args` and `env` (for the ones that exit at once).
fn run_binary(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run the binary")
}

#[tokio::test]
async fn plain_http_variable_takes_the_usual_boolean_spellings() {
    // Refused before ("invalid value '1' for '--plain-http'"): clap's bare switch took only
    // true/false.
    for (spelling, scheme) in [
        ("1", "http://"),
        ("true", "http://"),
        ("TRUE", "http://"),
        ("yes", "http://"),
        ("Yes", "http://"),
        ("on", "http://"),
        ("ON", "http://"),
        ("0", "https://"),
        ("false", "https://"),
        ("False", "https://"),
        ("no", "https://"),
        ("NO", "https://"),
        ("off", "https://"),
    ] {
        let bin = RunningBinary::spawn(&[], &[("ENTRA_EMULATOR_PLAIN_HTTP", spelling)]).await;
        assert!(
            bin.url().starts_with(scheme),
            "ENTRA_EMULATOR_PLAIN_HTTP={spelling}: {}",
            bin.url()
        );
    }
    // The flag alone, and the flag with a value.
    for (args, scheme) in [
        (&["--plain-http"][..], "http://"),
        (&["--plain-http=yes"][..], "http://"),
        (&["--plain-http", "0"][..], "https://"),
        (&["--plain-http=off"][..], "https://"),
    ] {
        let bin = RunningBinary::spawn(args, &[]).await;
        assert!(bin.url().starts_with(scheme), "{args:?}: {}", bin.url());
    }
}

#[test]
fn a_word_that_is_not_a_boolean_is_refused_and_plain_http_still_conflicts_with_a_certificate() {
    let out = run_binary(&[], &[("ENTRA_EMULATOR_PLAIN_HTTP", "maybe")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'maybe'"), "{err}");

    let out = run_binary(
        &[
            "--plain-http",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--plain-http cannot be used with --tls-cert"),
        "{err}"
    );
    // Switched off through the environment, it is no conflict: the start gets as far as
    // reading the (missing) certificate.
    let out = run_binary(
        &[
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ],
        &[("ENTRA_EMULATOR_PLAIN_HTTP", "0")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not read /nonexistent/cert.pem"),
        "{err}"
    );
}

/// The banner's `export NAME=VALUE …` lines, as a shell would set them.
fn banner_exports(banner: &str) -> Vec<(String, String)> {
    banner
        .lines()
        .filter_map(|line| line.trim().strip_prefix("export "))
        .flat_map(|rest| rest.split_whitespace())
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Files where operating systems keep their roots (the emulator reads the first it finds).
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

fn certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .map(|c| c.expect("every PEM section is a certificate"))
        .collect()
}

#[tokio::test]
async fn the_exported_ca_bundle_is_the_system_roots_plus_the_emulator_ca() {
    let bin = RunningBinary::start(&[]).await;
    let exports = banner_exports(&bin.printed().await);
    let bundle_path = bin.info["ca_bundle_path"]
        .as_str()
        .expect("ca_bundle_path in the connection file")
        .to_owned();
    let ca_path = bin.ca_path().to_owned();
    assert_eq!(
        std::path::Path::new(&bundle_path).parent(),
        std::path::Path::new(&ca_path).parent(),
        "next to ca.pem"
    );
    for name in ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"] {
        assert!(
            exports.contains(&(name.to_owned(), bundle_path.clone())),
            "{name} names the bundle: {exports:?}"
        );
    }
    assert!(
        exports.contains(&("NODE_EXTRA_CA_CERTS".to_owned(), ca_path.clone())),
        "{exports:?}"
    );

    let bundle = certificates(&std::fs::read(&bundle_path).expect("bundle"));
    let ca = certificates(&std::fs::read(&ca_path).expect("ca.pem"));
    assert_eq!(ca.len(), 1);
    assert!(
        bundle.contains(&ca[0]),
        "the emulator's CA is in the bundle"
    );
    match SYSTEM_BUNDLES.iter().find_map(|p| {
        std::fs::read(p)
            .ok()
            .filter(|b| !certificates(b).is_empty())
    }) {
        Some(system) => {
            let system = certificates(&system);
            assert_eq!(bundle.len(), system.len() + 1);
            assert!(system.iter().all(|c| bundle.contains(c)));
        }
        // Mozilla's roots from webpki-root-certs: well over a hundred.
        None => assert!(bundle.len() > 100, "{}", bundle.len()),
    }

    // A client that trusts exactly the bundle reaches the emulator over HTTPS.
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(bundle);
    assert!(added > 1);
    let health = https_client_with_roots(roots)
        .get(format!("{}/_emulator/health", bin.url()))
        .send()
        .await
        .expect("TLS verified with the bundle");
    assert_eq!(health.status(), 200);
}

/// pip's own HTTP stack (its vendored requests) in a shell with the banner's exports: the
/// emulator verifies, and the trust store still holds the system's roots, so `pip install`
/// from a public index keeps working (which a test cannot show offline).
#[tokio::test]
async fn pip_in_a_shell_with_the_banner_exports_trusts_the_emulator_and_the_system_roots() {
    let Some(python) = real_client(
        "cli::pip_in_a_shell_with_the_banner_exports_trusts_the_emulator_and_the_system_roots",
    ) else {
        return;
    };
    let bin = RunningBinary::start(&[]).await;
    let exports = banner_exports(&bin.printed().await);
    let script = r#"
import json, os, ssl, sys
from pip._vendor import requests
r = requests.get(sys.argv[1] + "/_emulator/health")
ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
print(json.dumps({"status": r.status_code, "body": r.json(), "roots": len(ctx.get_ca_certs())}))
"#;
    let out = tokio::process::Command::new(&python)
        .args(["-c", script, bin.url()])
        .envs(exports.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["body"]["status"], "ok");
    let bundle = certificates(
        &std::fs::read(bin.info["ca_bundle_path"].as_str().expect("bundle")).expect("read"),
    );
    assert_eq!(result["roots"], bundle.len(), "{result}");
}

/// The pytest fixture package (`clients/python/entra_emulator_pytest`) on its own tests: the
/// connection details it yields, its flags marker, the clock, and a clean stop.
#[tokio::test]
async fn entra_emulator_pytest_fixture_starts_and_stops_the_binary() {
    let Some(python) =
        real_client("cli::entra_emulator_pytest_fixture_starts_and_stops_the_binary")
    else {
        return;
    };
    let output = run_pytest(&python, "test_helper.py").await;
    assert!(output.contains("5 passed"), "{output}");
}
