//! Serving: a bound listener plus a shutdown future in, HTTP or HTTPS out; and the
//! in-process [`Emulator`] handle built on it.

#[cfg(feature = "persistence")]
mod durable;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as AutoBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio_rustls::TlsAcceptor;
use uuid::Uuid;

use crate::config::{
    Config, ConfigError, ExposedControlApi, Jitter, Plane, Propagation, Secret, TlsMode,
};
use crate::keys::{KeyError, KeyRing, SigningKey};
#[cfg(feature = "monitor")]
use crate::kql::Queries;
use crate::services::{AppState, SeedCounts, SeedError, SeedRequest};
use crate::tls::{self, TlsError};

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding or reading the socket failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The signing key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A non-loopback bind without an admin token.
    #[error(transparent)]
    ExposedControlApi(#[from] ExposedControlApi),
    /// A weak admin token or a malformed allowed host name.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be opened, read or written.
    #[cfg(feature = "persistence")]
    #[error(transparent)]
    Persist(#[from] crate::persist::PersistError),
    /// A data directory was given to a build without the `persistence` feature.
    #[cfg(not(feature = "persistence"))]
    #[error(
        "a data directory needs the emulator's `persistence` feature, which this build leaves out"
    )]
    NoPersistence,
    /// A start-up fault rule is malformed.
    #[error(transparent)]
    Faults(#[from] crate::faults::FaultError),
    /// The seed names something the emulator refuses (an unknown role, a bad scope, a
    /// duplicate name, …).
    #[error("invalid seed: {0}")]
    Seed(#[from] crate::seed::InvalidSeed),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The bootstrap admin's credentials.
#[derive(Debug, Clone, Serialize)]
pub struct AdminCredentials {
    /// Client (application) id.
    pub client_id: Uuid,
    /// Client secret.
    #[serde(serialize_with = "expose")]
    pub client_secret: Secret,
    /// Object id of its service principal.
    pub object_id: Uuid,
}

fn expose<S: serde::Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

/// What a client needs to reach a running emulator: the `--connection-file` document.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    /// `https://127.0.0.1:8443` (no trailing slash).
    pub base_url: String,
    /// The emulated tenant.
    pub tenant_id: Uuid,
    /// The default subscription.
    pub subscription_id: Uuid,
    /// Bootstrap admin credentials.
    pub admin: AdminCredentials,
    /// The CA certificate (PEM file) to trust; `None` for plain HTTP.
    pub ca_cert_path: Option<PathBuf>,
}

/// A bound, configured emulator that has not started serving yet.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    tls: Option<tls::TlsSetup>,
    ca_cert_path: Option<PathBuf>,
    /// The queries it runs, cancelled at shutdown.
    #[cfg(feature = "monitor")]
    queries: Queries,
}

impl Server {
    /// Sets up an emulator on an already bound listener. Generates (or loads) the TLS
    /// certificate and writes the CA PEM file when HTTPS is configured.
    pub fn new(
        listener: TcpListener,
        config: Config,
        signing_key: Option<Arc<SigningKey>>,
    ) -> Result<Self, StartError> {
        let addr = listener.local_addr()?;
        config.validate()?;
        crate::faults::validate_all(&config.faults)?;
        // First, so that the CA file it may hold goes into a checked private directory.
        #[cfg(feature = "persistence")]
        let opened = match &config.data_dir {
            Some(dir) => Some(crate::persist::open(dir)?),
            None => None,
        };
        #[cfg(not(feature = "persistence"))]
        if config.data_dir.is_some() {
            return Err(StartError::NoPersistence);
        }
        let tls = match &config.tls {
            TlsMode::Plain => None,
            TlsMode::SelfSigned { extra_sans } => Some(tls::self_signed(extra_sans)?),
            TlsMode::Files { cert, key } => Some(tls::from_files(cert, key)?),
        };
        let ca_cert_path = match (&config.tls, &tls) {
            (TlsMode::Files { cert, .. }, _) => Some(cert.clone()),
            (TlsMode::SelfSigned { .. }, Some(setup)) => {
                let path = match config.ca_cert_path.clone() {
                    Some(path) => path,
                    None => {
                        let name = format!("entra-emulator-{}", addr.port());
                        crate::files::private_temp_dir(&name)
                            .map_err(|source| StartError::Write {
                                path: std::env::temp_dir().join(&name),
                                source,
                            })?
                            .join("ca.pem")
                    }
                };
                write_atomically(&path, setup.trust_pem.as_bytes())?;
                Some(path)
            }
            _ => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{}", display_addr(addr));
        #[cfg(feature = "persistence")]
        let signing_key = signing_key.or_else(|| opened.as_ref().map(|o| o.signing_key()));
        let keys = KeyRing::new(signing_key)?;
        #[cfg(feature = "persistence")]
        let fresh = opened.as_ref().is_none_or(|o| !o.holds_state());
        #[cfg(not(feature = "persistence"))]
        let fresh = true;
        #[cfg(feature = "persistence")]
        let state = match opened {
            Some(opened) => AppState::persisted(config, base_url, keys, opened),
            None => AppState::new(config, base_url, keys),
        };
        #[cfg(not(feature = "persistence"))]
        let state = AppState::new(config, base_url, keys);
        if let Some(seed) = &state.config.seed {
            if fresh {
                state.apply_seed(seed)?;
                tracing::info!(
                    applications = seed.applications.len(),
                    resource_groups = seed.resource_groups.len(),
                    role_assignments = seed.role_assignments.len(),
                    "seed applied"
                );
            } else {
                tracing::info!(
                    "the data directory holds a tenant already: the seed is not applied again"
                );
            }
        }
        #[cfg(feature = "persistence")]
        if let Some(p) = state.persistence() {
            // A new data directory gets its first snapshot before anything is served.
            p.commit(state.stores(), crate::changes::Mark::NONE)?;
        }
        Ok(Self {
            listener,
            state,
            tls,
            ca_cert_path,
            #[cfg(feature = "monitor")]
            queries: Queries::new(),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The connection document for this server.
    pub fn connection_info(&self) -> ConnectionInfo {
        let config = &self.state.config;
        ConnectionInfo {
            base_url: self.state.base_url.clone(),
            tenant_id: config.tenant_id,
            subscription_id: config.subscription_id,
            admin: AdminCredentials {
                client_id: config.admin_client_id,
                client_secret: config.admin_client_secret.clone(),
                object_id: crate::config::DEFAULT_ADMIN_OBJECT_ID,
            },
            ca_cert_path: self.ca_cert_path.clone(),
        }
    }

    /// PEM of the certificate clients should trust (HTTPS only).
    pub fn trust_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.trust_pem.as_str())
    }

    /// Serves until `shutdown` completes, then stops accepting, cancels the queries still
    /// running (they answer at once), lets other in-flight requests finish (up to 10 s),
    /// writes any state not yet on disk (under a data directory) and returns.
    /// Refuses (`PermissionDenied`) a non-loopback listener when no admin token is set.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let addr = self.listener.local_addr()?;
        if let Err(e) = self.state.config.check_control_api(addr) {
            return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, e));
        }
        let state = self.state.clone();
        #[cfg_attr(not(feature = "persistence"), allow(unused_mut))]
        let mut app = crate::router::router(state.clone());
        #[cfg(feature = "monitor")]
        {
            app = app.layer(axum::Extension(self.queries.clone()));
        }
        #[cfg(feature = "persistence")]
        if state.persistence().is_some() {
            // Outermost, so that every response to a write waits for its commit.
            app = app.layer(axum::middleware::from_fn_with_state(
                state.clone(),
                durable::durable,
            ));
        }
        self.listen(app, shutdown).await?;
        #[cfg(feature = "persistence")]
        if state.persistence().is_some() {
            tokio::task::spawn_blocking(move || state.flush())
                .await
                .map_err(std::io::Error::other)?
                .map_err(std::io::Error::other)?;
            tracing::info!("state flushed to the data directory");
        }
        Ok(())
    }

    /// Serves `app` instead of the emulator's own routes, with the same socket, TLS set-up,
    /// connection limits and host check (the playback server uses it).
    pub async fn serve(
        self,
        app: axum::Router,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let app = crate::router::host_checked(app, &self.state.config);
        self.listen(app, shutdown).await
    }

    /// Serves `app` until `shutdown`.
    ///
    /// Connections are bounded as [`Config::max_connections`] and
    /// [`Config::header_read_timeout`] say: past the cap, new connections wait in the
    /// listen backlog until one closes; a connection that has not delivered a complete
    /// request head that long after it opened (or, on HTTP/1.1, after its previous response)
    /// is closed; HTTP/2 connections whose peer stops answering pings are closed.
    async fn listen(
        self,
        app: axum::Router,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let acceptor = self.tls.map(|t| TlsAcceptor::from(t.config));
        let graceful = GracefulShutdown::new();
        let config = &self.state.config;
        let header_timeout = config.header_read_timeout;
        let handshake_timeout = header_timeout.min(TLS_HANDSHAKE_TIMEOUT);
        let builder = connection_builder(header_timeout);
        let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
        tokio::pin!(shutdown);
        loop {
            // A free slot first, so that connections past the cap stay in the kernel's
            // backlog instead of taking a file descriptor each.
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (stream, _peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let first_request = Arc::new(Notify::new());
            let service = FirstRequest {
                inner: TowerToHyperService::new(app.clone()),
                seen: Arc::clone(&first_request),
            };
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match acceptor {
                    None => {
                        let conn =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        let conn = watcher.watch(conn.into_owned());
                        serve_connection(conn, &first_request, header_timeout).await;
                    }
                    Some(acceptor) => {
                        let handshake =
                            tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
                        match handshake.await {
                            Ok(Ok(tls)) => {
                                let conn = builder
                                    .serve_connection_with_upgrades(TokioIo::new(tls), service);
                                let conn = watcher.watch(conn.into_owned());
                                serve_connection(conn, &first_request, header_timeout).await;
                            }
                            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                    }
                }
            });
        }
        drop(self.listener);
        // A query can run for minutes; its handler answers as soon as it stops.
        #[cfg(feature = "monitor")]
        self.queries.shutdown();
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(10)) => {
                tracing::warn!("in-flight requests still running after 10 s; exiting anyway");
            }
        }
        Ok(())
    }
}

/// Longest a TLS handshake may take (or the header-read timeout, if shorter).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest HTTP/2 header list taken (names, values and 32 bytes per field). hyper's default
/// (16 KiB) would answer a long token with a bodiless 431 before the emulator sees it; this
/// leaves [`crate::catalog::MAX_HEADER_BYTES`] and [`crate::catalog::MAX_URI_LEN`] to decide, in
/// the owning service's envelope.
const H2_MAX_HEADER_LIST: u32 = 512 * 1024;

/// The HTTP/1.1 and HTTP/2 connection settings.
fn connection_builder(header_timeout: Duration) -> AutoBuilder<TokioExecutor> {
    let mut builder = AutoBuilder::new(TokioExecutor::new());
    // hyper starts this timer when a connection opens or goes idle after a response, so it
    // also ends HTTP/1.1 keep-alive connections left idle that long.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(header_timeout)
        .keep_alive_timeout(header_timeout)
        .max_header_list_size(H2_MAX_HEADER_LIST);
    builder
}

/// Drives `conn`, but drops it (closing the socket) when no complete request head has
/// arrived `header_timeout` after it opened. hyper's own HTTP/1.1 timer cannot cover this:
/// it starts only once the protocol is known, and a client that sends nothing, or part of
/// the HTTP/2 preface, never lets the protocol be known.
async fn serve_connection<C: Future>(conn: C, first_request: &Notify, header_timeout: Duration) {
    tokio::pin!(conn);
    tokio::select! {
        _ = &mut conn => return,
        () = first_request.notified() => {}
        () = tokio::time::sleep(header_timeout) => {
            tracing::debug!("no request head within the header-read timeout; closing");
            return;
        }
    }
    let _ = conn.await;
}

/// Notes the connection's first request before passing each request on.
#[derive(Debug, Clone)]
struct FirstRequest<S> {
    inner: S,
    seen: Arc<Notify>,
}

impl<S, R> hyper::service::Service<R> for FirstRequest<S>
where
    S: hyper::service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, request: R) -> Self::Future {
        // Stores a permit for the waiter (or nothing new, after the first request).
        self.seen.notify_one();
        self.inner.call(request)
    }
}

/// `0.0.0.0`/`::` are not addresses a client can use; point it at loopback instead.
fn display_addr(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("[::1]:{}", addr.port()),
        _ => addr.to_string(),
    }
}

/// The emulator's routes over a fresh tenant built from `config`, kept in memory and
/// reached as `http://localhost`, to drive without a socket (for example with
/// `tower::ServiceExt::oneshot`). [`Emulator::router`] gives a running emulator's.
pub fn router(config: Config) -> Result<axum::Router, StartError> {
    config.validate()?;
    let keys = KeyRing::new(None)?;
    let state = AppState::new(config, "http://localhost".to_owned(), keys);
    if let Some(seed) = &state.config.seed {
        state.apply_seed(seed)?;
    }
    Ok(crate::router::router(state))
}

/// Writes `bytes` to `path` via a temporary file and a rename, so readers never see a
/// partial file. The file is readable by this user only (the connection file holds the
/// admin's secret), and the temporary file is created afresh, so a link planted at its
/// predictable name is never written through. Missing directories are created private.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StartError> {
    let err = |source| StartError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::create_dirs(dir).map_err(err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut file = crate::files::create_private(&tmp).map_err(err)?;
    std::io::Write::write_all(&mut file, bytes).map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)
}

/// Builds an in-process [`Emulator`].
#[derive(Debug, Default)]
#[must_use]
pub struct EmulatorBuilder {
    config: Config,
    signing_key: Option<Arc<SigningKey>>,
}

impl EmulatorBuilder {
    setters! {
        /// Replaces the whole configuration.
        config(config: Config) => config = config;
        /// The emulated tenant id.
        tenant_id(id: Uuid) => config.tenant_id = id;
        /// The default subscription id.
        subscription_id(id: Uuid) => config.subscription_id = id;
        /// Lifetime of the tokens for clients that declare CAE capability `cp1` (24 hours unless
        /// set here or by [`Self::token_lifetime`]).
        cae_token_lifetime(lifetime: Duration) => config.cae_token_lifetime = lifetime;
        /// How long after an application's creation its service principal cannot be created yet.
        graph_replication(window: Duration) => config.graph_replication = window;
        /// How long after a federated identity credential is created or changed token exchanges
        /// still answer AADSTS70021 (none by default).
        federated_credential_propagation(delay: Duration) =>
            config.federated_credential_propagation = delay;
        /// How long a new service principal stays invisible to ARM.
        principal_replication(window: Duration) => config.principal_replication = window;
        /// Most rows a Log Analytics or Application Insights query returns before the result is
        /// truncated with a partial error (default 500,000, the service's limit).
        query_row_limit(rows: usize) => config.query_row_limit = rows;
        /// Requires `token` on the control API (`/_emulator/*` but health), as `--admin-token`
        /// does; needed to bind anything but a loopback address. A token shorter than
        /// [`MIN_ADMIN_TOKEN_LEN`](crate::config::MIN_ADMIN_TOKEN_LEN) characters, or with
        /// spaces or non-ASCII characters, makes [`start`](Self::start) fail.
        admin_token(token: impl Into<String>) => config.admin_token = Some(Secret::new(token));
        /// Persists state in `dir` (created when missing), loading what is there: the same as
        /// the binary's `--data-dir`. The state is flushed when the emulator is dropped.
        data_dir(dir: impl Into<PathBuf>) => config.data_dir = Some(dir.into());
        /// Sets up the tenant `seed` declares at start, after the bootstrap, as `--seed` does
        /// (see [`crate::seed`]); [`start`](Self::start) fails with [`StartError::Seed`] when
        /// the emulator refuses something in it. With [`data_dir`](Self::data_dir), only a new
        /// data directory is seeded.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// use entra_emulator::seed::{Application, ClientSecret, Seed};
        /// let mut app = Application::new("ci-app");
        /// app.secrets.push(ClientSecret::new("ci-secret-value"));
        /// let emulator = entra_emulator::Emulator::builder()
        ///     .seed(Seed::new().application(app))
        ///     .start()
        ///     .await?;
        /// # drop(emulator);
        /// # Ok(()) }
        /// ```
        seed(seed: crate::seed::Seed) => config.seed = Some(seed);
        /// The resource the caller runs on for the managed identity endpoints (as
        /// `PUT /_emulator/managed-identity` sets it at run time): its system-assigned identity
        /// is served when a request names none.
        managed_identity_host(resource_id: impl Into<String>) =>
            config.managed_identity_host = Some(resource_id.into());
        /// Most connections served at once (default 512); more wait in the listen backlog.
        max_connections(max: usize) => config.max_connections = max;
        /// How long a connection may go without delivering a complete request head, after it
        /// opens or (HTTP/1.1) after its previous response, before it is closed (default 30 s).
        header_read_timeout(timeout: Duration) => config.header_read_timeout = timeout;
        /// Signs tokens with this key instead of the process-wide generated one.
        signing_key(key: Arc<SigningKey>) => signing_key = Some(key);
    }

    /// Serves HTTPS with a generated certificate (the CA PEM is in [`Emulator::ca_cert_pem`]).
    pub fn https(mut self) -> Self {
        self.config.tls = TlsMode::SelfSigned { extra_sans: vec![] };
        self
    }

    /// The bootstrap admin's client id and secret.
    pub fn admin(mut self, client_id: Uuid, client_secret: impl Into<String>) -> Self {
        self.config.admin_client_id = client_id;
        self.config.admin_client_secret = Secret::new(client_secret);
        self
    }

    /// Lifetime of every issued access token, those for CAE clients included.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self.config.cae_token_lifetime = lifetime;
        self
    }

    /// Delay before role assignment changes take effect, on every plane (jitter kept).
    pub fn rbac_propagation(mut self, delay: Duration) -> Self {
        let jitter = self.config.propagation.jitter;
        self.config.propagation = Propagation {
            jitter,
            ..Propagation::uniform(delay)
        };
        self
    }

    /// Delay before role assignment changes take effect on one plane.
    pub fn plane_propagation(mut self, plane: Plane, delay: Duration) -> Self {
        self.config.propagation.set(plane, delay);
        self
    }

    /// Random extra propagation delay of up to `max`, drawn from `seed`.
    pub fn propagation_jitter(mut self, max: Duration, seed: u64) -> Self {
        self.config.propagation.jitter = Some(Jitter { max, seed });
        self
    }

    /// Also answers requests naming the host `name` (or, as `*.domain`, any one label under
    /// `domain`), as `--allowed-host` does. Loopback names and IP addresses are always
    /// answered; other names are refused with 421 (a defence against DNS rebinding).
    pub fn allowed_host(mut self, name: impl Into<String>) -> Self {
        self.config.allowed_hosts.push(name.into());
        self
    }

    /// Installs a fault injection rule at start (and again on every reset).
    pub fn fault(mut self, rule: crate::faults::FaultSpec) -> Self {
        self.config.faults.push(rule);
        self
    }

    /// Binds (127.0.0.1:0 unless configured otherwise) and starts serving in the background.
    pub async fn start(self) -> Result<Emulator, StartError> {
        self.config.validate()?;
        self.config.check_control_api(self.config.bind)?;
        let listener = TcpListener::bind(self.config.bind).await?;
        let server = Server::new(listener, self.config, self.signing_key)?;
        let info = server.connection_info();
        let ca_pem = server.trust_pem().map(str::to_owned);
        let state = server.state.clone();
        #[cfg(feature = "monitor")]
        let queries = server.queries.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            if let Err(e) = server.run(stop).await {
                tracing::error!(error = %e, "emulator stopped with an error");
            }
        });
        Ok(Emulator {
            info,
            ca_pem,
            state,
            #[cfg(feature = "monitor")]
            queries,
            shutdown: Some(tx),
        })
    }
}

/// A running in-process emulator; it shuts down when dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = entra_emulator::Emulator::start().await?;
/// assert!(emulator.url().starts_with("http://127.0.0.1:"));
/// let admin = emulator.admin();
/// println!("tenant {} admin {}", emulator.tenant_id(), admin.client_id);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Emulator {
    info: ConnectionInfo,
    ca_pem: Option<String>,
    state: AppState,
    #[cfg(feature = "monitor")]
    queries: Queries,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Emulator {
    /// A builder with the default configuration.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts an emulator with the default configuration on a free loopback port.
    pub async fn start() -> Result<Self, StartError> {
        Self::builder().start().await
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.info.base_url
    }

    /// The emulated tenant.
    pub fn tenant_id(&self) -> Uuid {
        self.info.tenant_id
    }

    /// The default subscription.
    pub fn subscription_id(&self) -> Uuid {
        self.info.subscription_id
    }

    /// The bootstrap admin's credentials.
    pub fn admin(&self) -> &AdminCredentials {
        &self.info.admin
    }

    /// The connection document (as `--connection-file` writes it).
    pub fn connection_info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// PEM of the CA to trust when serving HTTPS.
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The emulator's routes over its state, to drive without a socket (for example with
    /// `tower::ServiceExt::oneshot`); what it changes, the running emulator serves too.
    pub fn router(&self) -> axum::Router {
        crate::router::router(self.state.clone())
    }

    /// Adds synthetic objects in bulk, as `POST /_emulator/seed` does (see [`SeedRequest`]).
    pub fn seed(&self, request: &SeedRequest) -> Result<SeedCounts, SeedError> {
        self.state.seed(request)
    }

    /// The state, for the crate's test support.
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// The Log Analytics and Application Insights queries running now (and how many were
    /// cancelled), for the crate's test support.
    #[cfg(feature = "monitor")]
    pub(crate) fn queries(&self) -> &Queries {
        &self.queries
    }

    /// Moves the emulator's clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// The emulator's current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.state.clock.now()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Default for ConnectionInfo {
    fn default() -> Self {
        let config = Config::default();
        Self {
            base_url: format!("http://{}", SocketAddr::from((Ipv4Addr::LOCALHOST, 8443))),
            tenant_id: config.tenant_id,
            subscription_id: config.subscription_id,
            admin: AdminCredentials {
                client_id: config.admin_client_id,
                client_secret: config.admin_client_secret,
                object_id: crate::config::DEFAULT_ADMIN_OBJECT_ID,
            },
            ca_cert_path: None,
        }
    }
}
