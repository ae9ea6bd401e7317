//! The `entra-emulator` binary: parses flags, binds, prints how to connect, serves until
//! SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::builder::TypedValueParser as _;
use clap::{ArgAction, CommandFactory as _, Parser};
use entra_emulator::config::{Config, Jitter, Plane, Propagation};
use entra_emulator::faults::FaultSpec;
use entra_emulator::write_atomically;
use entra_emulator::{Secret, Seed, Server, TlsMode};
use uuid::Uuid;

/// Offline emulator of Entra ID, Microsoft Graph, ARM RBAC and Azure Monitor data planes.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Listen address; port 0 picks a free one.
    #[arg(long, env = "ENTRA_EMULATOR_BIND", default_value = "127.0.0.1:8443")]
    bind: SocketAddr,
    /// Serve plain HTTP instead of HTTPS (the variable takes 1/0, true/false, yes/no, on/off).
    #[arg(long, env = "ENTRA_EMULATOR_PLAIN_HTTP", action = ArgAction::Set, num_args = 0..=1,
          default_value = "false", default_missing_value = "true", value_parser = BoolishValueParser::new())]
    plain_http: bool,
    /// Certificate chain (PEM) to serve instead of a generated one; needs --tls-key.
    #[arg(long, env = "ENTRA_EMULATOR_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "ENTRA_EMULATOR_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Extra DNS name or IP for the generated certificate (repeatable).
    #[arg(
        long = "tls-san",
        env = "ENTRA_EMULATOR_TLS_SAN",
        value_delimiter = ','
    )]
    tls_san: Vec<String>,
    /// Once ready, write the connection JSON here (atomically).
    #[arg(long, env = "ENTRA_EMULATOR_CONNECTION_FILE")]
    connection_file: Option<PathBuf>,
    /// Delay before a role assignment change takes effect, on every plane (e.g. 0s, 90s, 5m,
    /// 1h); the per-plane flags below refine it.
    #[arg(long, env = "ENTRA_EMULATOR_RBAC_PROPAGATION", value_parser = humantime::parse_duration)]
    rbac_propagation: Option<Duration>,
    /// How long after an application's creation Graph refuses to create its service
    /// principal, as directory replication does (e.g. 10s).
    #[arg(long, env = "ENTRA_EMULATOR_GRAPH_REPLICATION", value_parser = humantime::parse_duration, default_value = "0s")]
    graph_replication: Duration,
    /// How long after a federated identity credential is created or changed token exchanges
    /// with it still fail with AADSTS70021, as Entra's propagation does (e.g. 2m).
    #[arg(long, env = "ENTRA_EMULATOR_FEDERATED_CREDENTIAL_PROPAGATION", value_parser = humantime::parse_duration, default_value = "0s")]
    federated_credential_propagation: Duration,
    /// Propagation delay on ARM [default: 10m].
    #[arg(long, env = "ENTRA_EMULATOR_RBAC_PROPAGATION_ARM", value_parser = humantime::parse_duration)]
    rbac_propagation_arm: Option<Duration>,
    /// Propagation delay on the Log Analytics query API [default: 10m].
    #[arg(long, env = "ENTRA_EMULATOR_RBAC_PROPAGATION_LOG_ANALYTICS", value_parser = humantime::parse_duration)]
    rbac_propagation_log_analytics: Option<Duration>,
    /// Propagation delay on custom metrics ingestion [default: 10m].
    #[arg(long, env = "ENTRA_EMULATOR_RBAC_PROPAGATION_METRICS", value_parser = humantime::parse_duration)]
    rbac_propagation_metrics: Option<Duration>,
    /// Propagation delay on the Application Insights query API [default: 1h].
    #[arg(long, env = "ENTRA_EMULATOR_RBAC_PROPAGATION_APP_INSIGHTS", value_parser = humantime::parse_duration)]
    rbac_propagation_app_insights: Option<Duration>,
    /// Random extra propagation delay of up to this much, per assignment and plane.
    #[arg(long, env = "ENTRA_EMULATOR_RBAC_PROPAGATION_JITTER", value_parser = humantime::parse_duration)]
    rbac_propagation_jitter: Option<Duration>,
    /// Seed of the jitter draw (same seed, same delays).
    #[arg(
        long,
        env = "ENTRA_EMULATOR_RBAC_PROPAGATION_SEED",
        default_value_t = 0
    )]
    rbac_propagation_seed: u64,
    /// How long a new service principal stays invisible to ARM role assignments that do not
    /// name a principalType.
    #[arg(long, env = "ENTRA_EMULATOR_PRINCIPAL_REPLICATION", value_parser = humantime::parse_duration, default_value = "60s")]
    principal_replication: Duration,
    /// Lifetime of every issued access token (default: 1h, and 24h for clients that declare
    /// CAE capability cp1)
    #[arg(long, env = "ENTRA_EMULATOR_TOKEN_LIFETIME", value_parser = humantime::parse_duration)]
    token_lifetime: Option<Duration>,
    /// The emulated tenant id.
    #[arg(long, env = "ENTRA_EMULATOR_TENANT_ID", default_value_t = entra_emulator::config::DEFAULT_TENANT_ID)]
    tenant_id: Uuid,
    /// The tenant's default subscription id.
    #[arg(long, env = "ENTRA_EMULATOR_SUBSCRIPTION_ID", default_value_t = entra_emulator::config::DEFAULT_SUBSCRIPTION_ID)]
    subscription_id: Uuid,
    /// Client id of the bootstrap admin.
    #[arg(long, env = "ENTRA_EMULATOR_ADMIN_CLIENT_ID", default_value_t = entra_emulator::config::DEFAULT_ADMIN_CLIENT_ID)]
    admin_client_id: Uuid,
    /// Client secret of the bootstrap admin.
    #[arg(long, env = "ENTRA_EMULATOR_ADMIN_CLIENT_SECRET", default_value = entra_emulator::config::DEFAULT_ADMIN_CLIENT_SECRET, hide_default_value = true)]
    admin_client_secret: String,
    /// Token the control API (/_emulator/*, portal included, health excepted) requires, as
    /// "Authorization: Bearer <token>" (the portal also takes it as an HTTP Basic password);
    /// required to bind a non-loopback address. At least 16 printable ASCII characters.
    #[arg(long, env = "ENTRA_EMULATOR_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Host name the emulator also answers to, besides localhost, IP addresses and the
    /// --tls-san names (repeatable; "*.domain" covers one label under domain). Requests
    /// naming other hosts are refused (421), against DNS rebinding.
    #[arg(
        long = "allowed-host",
        env = "ENTRA_EMULATOR_ALLOWED_HOST",
        value_delimiter = ','
    )]
    allowed_host: Vec<String>,
    /// Directory for persisted state (journal, snapshot, signing key) and the generated CA
    /// certificate; created when missing.
    #[arg(long, env = "ENTRA_EMULATOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Instead of emulating, answer from these recordings (fixture files or directories of
    /// them; repeatable).
    #[arg(long, env = "ENTRA_EMULATOR_REPLAY", value_delimiter = ',')]
    replay: Vec<PathBuf>,
    /// How --replay matches a request to a recorded one: DefaultMatcher, BodilessMatcher,
    /// HeaderlessMatcher, CustomDefaultMatcher or JsonBodyMatcher, options after a colon as
    /// JSON (`JsonBodyMatcher:{"ignoredBodyFields":"displayName"}`); changeable at
    /// POST /_emulator/replay/matcher.
    #[arg(long, env = "ENTRA_EMULATOR_REPLAY_MATCHER", requires = "replay", value_parser = entra_emulator::replay::Matcher::parse)]
    replay_matcher: Option<entra_emulator::replay::Matcher>,
    /// Fault injection rules to install at start and on every reset (a JSON file: an array
    /// of rules, as POST /_emulator/faults takes them).
    #[arg(long, env = "ENTRA_EMULATOR_FAULTS")]
    faults: Option<PathBuf>,
    /// A seed file (TOML, or JSON when named *.json) declaring the tenant to set up at start:
    /// applications with fixed ids and secrets, resource groups and resources, role
    /// assignments, the clock (see docs/seed.md). Under --data-dir, only a new data
    /// directory is seeded.
    #[arg(long, env = "ENTRA_EMULATOR_SEED", conflicts_with = "replay")]
    seed: Option<PathBuf>,
    /// Most connections served at once; more wait in the listen backlog until one closes.
    /// Keep it under the open-file limit (ulimit -n).
    #[arg(long, env = "ENTRA_EMULATOR_MAX_CONNECTIONS", default_value_t = entra_emulator::config::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    max_connections: usize,
    /// How long a connection may go without sending a complete request head, after it
    /// opens or after its previous response (so it also closes idle keep-alive
    /// connections); HTTP/2 connections are pinged at this interval.
    #[arg(long, env = "ENTRA_EMULATOR_HEADER_READ_TIMEOUT", value_parser = positive_duration, default_value = "30s")]
    header_read_timeout: Duration,
}

/// A duration longer than zero.
fn positive_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

impl Args {
    fn into_config(self, faults: Vec<FaultSpec>, seed: Option<Seed>) -> Config {
        let defaults = Config::default();
        let tls = match (self.plain_http, self.tls_cert, self.tls_key) {
            (true, _, _) => TlsMode::Plain,
            (false, Some(cert), Some(key)) => TlsMode::Files { cert, key },
            _ => TlsMode::SelfSigned {
                extra_sans: self.tls_san,
            },
        };
        let mut propagation = self
            .rbac_propagation
            .map_or_else(Propagation::default, Propagation::uniform);
        for (plane, delay) in [
            (Plane::Arm, self.rbac_propagation_arm),
            (Plane::LogAnalytics, self.rbac_propagation_log_analytics),
            (Plane::Metrics, self.rbac_propagation_metrics),
            (Plane::AppInsights, self.rbac_propagation_app_insights),
        ] {
            if let Some(delay) = delay {
                propagation.set(plane, delay);
            }
        }
        propagation.jitter = self.rbac_propagation_jitter.map(|max| Jitter {
            max,
            seed: self.rbac_propagation_seed,
        });
        Config {
            bind: self.bind,
            tls,
            ca_cert_path: self.data_dir.as_ref().map(|d| d.join("ca.pem")),
            tenant_id: self.tenant_id,
            subscription_id: self.subscription_id,
            admin_client_id: self.admin_client_id,
            admin_client_secret: Secret::new(self.admin_client_secret),
            token_lifetime: self.token_lifetime.unwrap_or(defaults.token_lifetime),
            cae_token_lifetime: self.token_lifetime.unwrap_or(defaults.cae_token_lifetime),
            graph_replication: self.graph_replication,
            federated_credential_propagation: self.federated_credential_propagation,
            propagation,
            principal_replication: self.principal_replication,
            data_dir: self.data_dir,
            admin_token: self.admin_token.map(Secret::new),
            faults,
            seed,
            max_connections: self.max_connections,
            header_read_timeout: self.header_read_timeout,
            managed_identity_host: None,
            // An empty entry (`a,,b`, or the variable set empty) names nothing.
            allowed_hosts: self
                .allowed_host
                .into_iter()
                .filter(|h| !h.is_empty())
                .collect(),
            ..defaults
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let args = Args::parse();
    // Checked here rather than by clap, which would count ENTRA_EMULATOR_PLAIN_HTTP=0 as a
    // conflict.
    if args.plain_http && args.tls_cert.is_some() {
        Args::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--plain-http cannot be used with --tls-cert",
            )
            .exit();
    }
    if args.replay.is_empty() {
        // Tens to hundreds of milliseconds: overlap it with binding and announcing.
        entra_emulator::generate_in_background();
    }
    let connection_file = args.connection_file.clone();
    let replay = args.replay.clone();
    let matcher = args.replay_matcher.clone();
    let faults = match args
        .faults
        .as_deref()
        .map(entra_emulator::faults::load_file)
    {
        None => Vec::new(),
        Some(Ok(rules)) => rules,
        Some(Err(e)) => {
            eprintln!("entra-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seed = match args.seed.as_deref().map(Seed::from_path) {
        None => None,
        Some(Ok(seed)) => Some(seed),
        Some(Err(e)) => {
            eprintln!("entra-emulator: invalid seed: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(
        args.into_config(faults, seed),
        connection_file,
        replay,
        matcher,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("entra-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    config: Config,
    connection_file: Option<PathBuf>,
    replay: Vec<PathBuf>,
    matcher: Option<entra_emulator::replay::Matcher>,
) -> Result<(), Box<dyn std::error::Error>> {
    let playback = if replay.is_empty() {
        None
    } else {
        let p = entra_emulator::replay::Playback::load(&replay)?;
        if let Some(m) = matcher {
            p.set_matcher(m);
        }
        Some(p)
    };
    config.validate()?;
    if playback.is_none() {
        config.check_control_api(config.bind)?;
    }
    if config.seed.is_some() {
        // Tried on a throwaway tenant first, so that a seed the emulator refuses stops it
        // before it binds its port.
        drop(entra_emulator::router(config.clone())?);
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let generated_ca = matches!(config.tls, TlsMode::SelfSigned { .. });
    let server = Server::new(listener, config, None)?;
    let shutdown = shutdown_signal();
    let info = server.connection_info();
    let ca_bundle_path = match (&info.ca_cert_path, server.trust_pem()) {
        (Some(ca_path), Some(ca_pem)) if generated_ca => {
            let path = ca_path.with_file_name("ca-bundle.pem");
            write_atomically(&path, ca_bundle(ca_pem).as_bytes())?;
            Some(path)
        }
        _ => None,
    };
    match &playback {
        Some(p) => println!(
            "Replaying {} recorded exchanges from {replay:?} on {}",
            p.len(),
            info.base_url
        ),
        None => print_banner(
            &info,
            ca_bundle_path.as_deref(),
            server.config().admin_token().is_some(),
        ),
    }
    if let Some(path) = connection_file {
        let file = ConnectionFile {
            info: &info,
            ca_bundle_path: ca_bundle_path.as_deref(),
        };
        write_atomically(&path, &serde_json::to_vec_pretty(&file)?)?;
    }
    match playback {
        Some(p) => server.serve(p.router(), shutdown).await?,
        None => server.run(shutdown).await?,
    }
    tracing::info!("stopped");
    Ok(())
}

/// The `--connection-file` document: the connection info (the external contract) plus the
/// CA bundle the banner exports.
#[derive(serde::Serialize)]
struct ConnectionFile<'a> {
    #[serde(flatten)]
    info: &'a entra_emulator::ConnectionInfo,
    /// The system's roots plus the emulator's CA (`None` without a generated CA).
    ca_bundle_path: Option<&'a Path>,
}

/// Files where operating systems keep their trusted roots as one PEM bundle: Debian, Ubuntu
/// and Alpine; Fedora and RHEL; macOS and the BSDs.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// A trust bundle for `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE` / `CURL_CA_BUNDLE`: those
/// variables replace a tool's whole trust store, so the bundle holds the system's roots
/// (the first bundle file found, else Mozilla's roots as compiled into `webpki-root-certs`)
/// followed by the emulator's CA, and other HTTPS keeps working in a shell that exports it.
/// `SSL_CERT_FILE` itself is not read: it may name an earlier emulator's bundle.
fn ca_bundle(emulator_ca_pem: &str) -> String {
    let system = SYSTEM_BUNDLES
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .find(|text| text.contains("-----BEGIN CERTIFICATE-----"));
    let mut bundle = system.unwrap_or_else(|| {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| certificate_pem(der.as_ref()))
            .collect()
    });
    if !bundle.is_empty() && !bundle.ends_with('\n') {
        bundle.push('\n');
    }
    bundle.push_str("# Entra Emulator Local CA\n");
    bundle.push_str(emulator_ca_pem);
    bundle
}

/// One DER certificate as PEM (base64 in 64-character lines).
fn certificate_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn print_banner(
    info: &entra_emulator::ConnectionInfo,
    ca_bundle: Option<&Path>,
    admin_token: bool,
) {
    let ca = info.ca_cert_path.as_ref().map(|p| p.display().to_string());
    println!("Entra emulator listening on {}", info.base_url);
    println!("  tenant:        {}", info.tenant_id);
    println!("  subscription:  {}", info.subscription_id);
    println!("  admin client:  {}", info.admin.client_id);
    println!("  admin secret:  {}", info.admin.client_secret.expose());
    println!("  admin object:  {}", info.admin.object_id);
    println!(
        "  CA cert:       {}",
        ca.as_deref().unwrap_or("(plain HTTP)")
    );
    if admin_token {
        println!(
            "  control API:   {}/_emulator/ needs the admin token",
            info.base_url
        );
    }
    println!();
    println!("Point Azure SDKs and MSAL at it:");
    println!("  export AZURE_AUTHORITY_HOST={}", info.base_url);
    println!("  export AZURE_TENANT_ID={}", info.tenant_id);
    println!("  export AZURE_CLIENT_ID={}", info.admin.client_id);
    println!(
        "  export AZURE_CLIENT_SECRET={}",
        info.admin.client_secret.expose()
    );
    if let (Some(ca), Some(bundle)) = (&ca, ca_bundle) {
        let bundle = bundle.display();
        println!();
        println!("Trust its CA: the bundle is the system's roots plus the emulator's CA, so pip,");
        println!("curl and other HTTPS keep working in a shell with these exports:");
        println!(
            "  export REQUESTS_CA_BUNDLE={bundle} SSL_CERT_FILE={bundle} CURL_CA_BUNDLE={bundle}"
        );
        println!("  export NODE_EXTRA_CA_CERTS={ca}");
    } else if let Some(cert) = ca {
        println!("Trust the issuer of {cert} (see docs/trust.md).");
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is called,
/// not when the future is first polled: a signal sent as soon as the connection file exists
/// must stop the emulator cleanly rather than kill it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        let received = |s: Option<Signal>| async move {
            match s {
                Some(mut s) => drop(s.recv().await),
                None => std::future::pending().await,
            }
        };
        async move {
            tokio::select! {
                () = received(term) => {}
                () = received(int) => {}
            }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifetime_sets_every_token_and_defaults_apart() {
        let config = |args: &[&str]| {
            let args = Args::try_parse_from([&["entra-emulator"], args].concat()).expect("args");
            let c = args.into_config(Vec::new(), None);
            (c.token_lifetime, c.cae_token_lifetime)
        };
        assert_eq!(
            config(&[]),
            (Duration::from_secs(3600), Duration::from_secs(86_400))
        );
        assert_eq!(
            config(&["--token-lifetime", "10m"]),
            (Duration::from_secs(600), Duration::from_secs(600))
        );
    }
}
