//! Shared helpers: a started emulator with an HTTP client, JWT decoding and verification,
//! the binary as a process, and the Python real clients.

pub(crate) mod certs;

use std::path::Path;
use std::time::Duration;

use entra_emulator::Emulator;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A started emulator plus an HTTP client.
pub(crate) struct TestApp {
    pub(crate) emu: Emulator,
    pub(crate) http: reqwest::Client,
}

impl TestApp {
    pub(crate) async fn new() -> Self {
        Self::with(Emulator::builder()).await
    }

    pub(crate) async fn with(builder: entra_emulator::EmulatorBuilder) -> Self {
        let emu = builder.start().await.expect("emulator starts");
        Self {
            emu,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.url())
    }

    pub(crate) fn admin_id(&self) -> String {
        self.emu.admin().client_id.to_string()
    }

    pub(crate) fn admin_secret(&self) -> String {
        self.emu.admin().client_secret.expose().to_owned()
    }

    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn token_v2(
        &self,
        client_id: &str,
        secret: &str,
        scope: &str,
    ) -> (StatusCode, Value) {
        let path = format!("/{}/oauth2/v2.0/token", self.emu.tenant_id());
        self.post_form(
            &path,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", scope),
            ],
        )
        .await
    }

    pub(crate) async fn admin_token_v2(&self, scope: &str) -> (StatusCode, Value) {
        self.token_v2(&self.admin_id(), &self.admin_secret(), scope)
            .await
    }

    pub(crate) async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("request");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// Decodes a JWT's payload without verifying it.
pub(crate) fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

pub(crate) fn header_of(token: &str) -> Value {
    jsonwebtoken::decode_header(token)
        .map(|h| serde_json::to_value(h).expect("json"))
        .expect("header")
}

/// Verifies `token` with a standard JWT library against the key the emulator publishes.
pub(crate) async fn verify_with_jwks(
    app: &TestApp,
    token: &str,
    jwks_path: &str,
    aud: &str,
    iss: &str,
) -> Value {
    let (status, jwks) = app.get_json(jwks_path).await;
    assert_eq!(status, StatusCode::OK);
    let kid = header_of(token)["kid"].as_str().expect("kid").to_owned();
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("token's kid is published");
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().expect("n"),
        jwk["e"].as_str().expect("e"),
    )
    .expect("rsa key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[iss]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies")
        .claims
}

/// Entra error body with its volatile parts checked and removed, for snapshotting.
pub(crate) fn entra_error_shape(body: &Value) -> Value {
    let desc = body["error_description"]
        .as_str()
        .expect("error_description");
    let (text, tail) = desc.split_once("\r\nTrace ID: ").expect("trace line");
    let trace = body["trace_id"].as_str().expect("trace_id");
    let correlation = body["correlation_id"].as_str().expect("correlation_id");
    let stamp = body["timestamp"].as_str().expect("timestamp");
    assert_eq!(
        tail,
        format!("{trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}")
    );
    assert_eq!(stamp.len(), "2025-04-23 02:35:17Z".len(), "{stamp}");
    let code = body["error_codes"][0].as_u64().expect("code");
    assert!(text.starts_with(&format!("AADSTS{code}: ")), "{text}");
    assert_eq!(
        body["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
    json!({"error": body["error"], "error_description": text, "error_codes": body["error_codes"]})
}

pub(crate) fn https_client(ca_pem: &str) -> reqwest::Client {
    https_client_with_roots(roots_of(ca_pem))
}

pub(crate) fn https_client_with_roots(roots: rustls::RootCertStore) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(roots))
        .build()
        .expect("client")
}

/// The certificates of `ca_pem` as trust roots.
pub(crate) fn roots_of(ca_pem: &str) -> rustls::RootCertStore {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("pem")).expect("add root");
    }
    roots
}

/// A TLS client configuration trusting `roots` (no ALPN: HTTP/1.1).
pub(crate) fn tls_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A TLS client configuration trusting `ca_pem` that offers HTTP/2 and HTTP/1.1 by ALPN.
pub(crate) fn alpn_tls_config(ca_pem: &str) -> rustls::ClientConfig {
    let mut config = tls_config(roots_of(ca_pem));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// The binary started as a process, with its connection file read and its stderr collected.
pub(crate) struct RunningBinary {
    pub(crate) child: tokio::process::Child,
    pub(crate) info: Value,
    pub(crate) dir: std::path::PathBuf,
    stdout: std::sync::Arc<tokio::sync::Mutex<String>>,
    stderr: std::sync::Arc<tokio::sync::Mutex<String>>,
    /// Whether dropping this removes `dir` (not when a restart reuses it).
    owns_dir: bool,
}

/// Appends everything `pipe` yields to `sink` until it closes, so that a chatty process
/// never blocks on a full pipe.
fn drain(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> std::sync::Arc<tokio::sync::Mutex<String>> {
    use tokio::io::AsyncReadExt as _;
    let text = std::sync::Arc::new(tokio::sync::Mutex::new(String::new()));
    let sink = text.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock()
                .await
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

impl RunningBinary {
    /// Starts the binary serving HTTPS on a free port.
    pub(crate) async fn start(extra_env: &[(&str, &str)]) -> Self {
        Self::spawn(&[], extra_env).await
    }

    /// Starts the binary serving plain HTTP on a free port.
    pub(crate) async fn start_plain(extra_env: &[(&str, &str)]) -> Self {
        Self::spawn(&["--plain-http"], extra_env).await
    }

    /// Starts the binary with `args` (on `127.0.0.1:0` unless they name a `--bind`).
    pub(crate) async fn spawn(args: &[&str], extra_env: &[(&str, &str)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("entra-emulator-test-{}", uuid::Uuid::new_v4()));
        let mut running = Self::spawn_in(dir, args, extra_env).await;
        running.owns_dir = true;
        running
    }

    /// Starts the binary on the data directory `dir`, which outlives it (for restarts).
    pub(crate) async fn spawn_in(
        dir: std::path::PathBuf,
        args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Self {
        let conn = dir.join("conn.json");
        let _ = std::fs::remove_file(&conn);
        let bind: &[&str] = if args.contains(&"--bind") {
            &[]
        } else {
            &["--bind", "127.0.0.1:0"]
        };
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
            .args(bind)
            .arg("--connection-file")
            .arg(&conn)
            .arg("--data-dir")
            .arg(&dir)
            .args(args)
            .envs(extra_env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn binary");
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = drain(child.stderr.take().expect("stderr"));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !conn.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "connection file never appeared"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let info = serde_json::from_slice(&std::fs::read(&conn).expect("read")).expect("json");
        Self {
            child,
            info,
            dir,
            stdout,
            stderr,
            owns_dir: false,
        }
    }

    /// Base URL.
    pub(crate) fn url(&self) -> &str {
        self.info["base_url"].as_str().expect("base_url")
    }

    /// Everything the process has logged so far.
    pub(crate) async fn stderr(&self) -> String {
        self.stderr.lock().await.clone()
    }

    pub(crate) fn conn_path(&self) -> std::path::PathBuf {
        self.dir.join("conn.json")
    }

    /// Runs `clients/shell/{script}` with this emulator's connection file (needs bash, curl and
    /// jq); fails unless it succeeds, and returns what it printed.
    pub(crate) async fn run_client_script(&self, script: &str) -> String {
        let path = format!("{}/../clients/shell/{script}", env!("CARGO_MANIFEST_DIR"));
        let out = tokio::process::Command::new("bash")
            .arg(&path)
            .arg(self.conn_path())
            .output()
            .await
            .unwrap_or_else(|e| panic!("run {script} (needs bash, curl, jq): {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    pub(crate) fn ca_path(&self) -> &str {
        self.info["ca_cert_path"].as_str().expect("ca_cert_path")
    }

    /// What the process has printed on stdout, once it has exited (the pipe drained).
    pub(crate) async fn printed(&self) -> String {
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.stdout.lock().await.clone()
    }

    /// Sends SIGTERM, waits for a clean exit and returns everything the process logged.
    pub(crate) async fn stop_and_collect_stderr(self) -> String {
        self.stop_and_collect_output().await.1
    }

    /// Sends SIGTERM, waits for a clean exit and returns what the process printed (stdout)
    /// and logged (stderr).
    pub(crate) async fn stop_and_collect_output(mut self) -> (String, String) {
        let pid = self.child.id().expect("pid");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("exits")
            .expect("wait");
        assert!(exit.success(), "{exit:?}");
        // Give the drain task a moment to read the last bytes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        (
            self.stdout.lock().await.clone(),
            self.stderr.lock().await.clone(),
        )
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub(crate) mod real_clients;

/// The program a real-client test needs (see [`real_clients::REAL_CLIENTS`], which must list
/// `test`), or `None` when this machine lacks it: outside CI the test then returns early
/// (shown as `ok`; the `real_clients` target lists it at the end of `cargo test`), in CI
/// (`CI` set) it fails.
pub(crate) fn real_client(test: &str) -> Option<String> {
    let client = real_clients::REAL_CLIENTS
        .iter()
        .find(|c| c.tests.contains(&test))
        .unwrap_or_else(|| panic!("{test} is not listed in support/real_clients.rs"));
    match real_clients::probe(&client.need) {
        Ok(program) => Some(program),
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must provide {}: {why}",
                client.name
            );
            eprintln!("SKIPPED: {test}: {why}");
            None
        }
    }
}

/// Runs `clients/azure-cli/{script}` with the Azure CLI `az` on PATH against `bin` (its
/// connection file as the argument, a fresh `AZURE_CONFIG_DIR`); fails unless it exits 0.
/// Returns what it printed.
pub(crate) async fn run_az_script(az: &str, bin: &RunningBinary, script: &str) -> String {
    let az_dir = Path::new(az)
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let path = format!("{az_dir}:{}", std::env::var("PATH").unwrap_or_default());
    let out = tokio::process::Command::new("bash")
        .arg(real_clients::clients_dir().join("azure-cli").join(script))
        .arg(bin.conn_path())
        .env("PATH", path)
        .env("AZURE_CONFIG_DIR", bin.dir.join("az-config"))
        .output()
        .await
        .expect("run an Azure CLI flow");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs the pytest file `clients/python/tests/{file}` with `python`: its `entra_emulator`
/// fixture starts this build's binary, and the fixture package is the tree's (so a stale
/// install is not what is tested). Fails unless every test in the file passed; returns the
/// output.
pub(crate) async fn run_pytest(python: &str, file: &str) -> String {
    let python_dir = real_clients::clients_dir().join("python");
    let out = tokio::process::Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(python_dir.join("tests").join(file))
        .env("ENTRA_EMULATOR_BIN", env!("CARGO_BIN_EXE_entra-emulator"))
        .env("PYTHONPATH", python_dir.join("entra_emulator_pytest/src"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .await
        .expect("run pytest");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{output}");
    let summary = output
        .lines()
        .rev()
        .find(|l| l.contains(" passed"))
        .unwrap_or_default();
    assert!(
        !summary.contains("skipped") && !summary.contains("failed") && !summary.contains("error"),
        "{output}"
    );
    output
}

/// The member names of a JSON object, in the order the answer wrote them.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Replaces volatile values by their shape, for snapshots: GUIDs → `[uuid]`, date-times →
/// `[datetime]`, JWTs → `[jwt]`.
pub(crate) fn redact(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact_str(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), redact(v))).collect())
        }
        other => other.clone(),
    }
}

fn redact_str(s: &str) -> String {
    if s.starts_with("eyJ") && s.matches('.').count() == 2 {
        return "[jwt]".into();
    }
    let is_guid = |t: &str| uuid::Uuid::parse_str(t).is_ok() && t.len() == 36;
    if is_guid(s) {
        return "[uuid]".into();
    }
    let looks_like_datetime = s.len() >= 19
        && s.as_bytes().get(4) == Some(&b'-')
        && s.as_bytes().get(10) == Some(&b'T')
        && s[..4].bytes().all(|b| b.is_ascii_digit());
    if looks_like_datetime {
        return "[datetime]".into();
    }
    // GUIDs inside longer strings (messages, ids, URLs).
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s.len() - i >= 36
            && s.is_char_boundary(i)
            && s.is_char_boundary(i + 36)
            && is_guid(&s[i..i + 36])
        {
            out.push_str("[uuid]");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Creates an app with a secret and a service principal; returns (app, secret, sp).
pub(crate) async fn app_with_sp(app: &TestApp, token: &str, name: &str) -> (Value, String, Value) {
    let (status, _, created) = app
        .call(
            reqwest::Method::POST,
            "/v1.0/applications",
            Some(token),
            Some(json!({"displayName": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id");
    let (status, _, cred) = app
        .call(
            reqwest::Method::POST,
            &format!("/v1.0/applications/{id}/addPassword"),
            Some(token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cred}");
    let (status, _, sp) = app
        .call(
            reqwest::Method::POST,
            "/v1.0/servicePrincipals",
            Some(token),
            Some(json!({"appId": created["appId"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    (
        created,
        cred["secretText"].as_str().expect("secret").to_owned(),
        sp,
    )
}

impl TestApp {
    /// Rotates the signing keys through the control API; answers the new key's id.
    pub(crate) async fn rotate_keys(&self) -> String {
        let r = self
            .http
            .post(self.url("/_emulator/keys/rotate"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.expect("json")["kid"]
            .as_str()
            .expect("kid")
            .to_owned()
    }

    /// A Graph token for the bootstrap admin.
    pub(crate) async fn admin_graph_token(&self) -> String {
        let (status, body) = self
            .admin_token_v2("https://graph.microsoft.com/.default")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Sends a request with a bearer token and an optional JSON body.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        (status, headers, body)
    }
}
