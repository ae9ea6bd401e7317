//! An offline emulator of the Azure identity and access path: Entra ID's token endpoint,
//! discovery and keys, Microsoft Graph app registrations, ARM role assignments and the
//! Azure Monitor data planes, with the real services' wire behaviour.
//!
//! # Layout
//!
//! - [`server`]: the in-process [`Emulator`] (binds `127.0.0.1:0`, stops on drop) and the
//!   [`Server`] the binary runs on a bound listener;
//! - [`router::router`]: every route, usable without a socket;
//! - one module per service ([`entra`], [`graph`], [`arm`], …), each owning its routes, wire types and
//!   error body; `portal` serves HTML pages for people at `/_emulator/portal`;
//! - pure domain logic apart from HTTP: [`clock`], [`token`], [`keys`], [`secret`], [`directory`],
//!   [`rbac`] (built-in roles, scopes, the role assignment store and authorization decisions),
//!   [`kql`] (the query engine behind the [`monitor`] APIs);
//! - [`persist`]: the snapshot and journal under `--data-dir`;
//! - [`faults`]: fault injection (throttling, 5xx, latency, dropped connections);
//! - [`replay`]: playback of recorded exchanges (`entra-emulator --replay FIXTURE`).
//!
//! # Quick start
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = entra_emulator::Emulator::start().await?;
//! let token_url = format!("{}/{}/oauth2/v2.0/token", emulator.url(), emulator.tenant_id());
//! let admin = emulator.admin();
//! // POST client_id={admin.client_id}&client_secret=…&scope=https://graph.microsoft.com/.default
//! //      &grant_type=client_credentials to token_url.
//! # let _ = (token_url, admin);
//! # Ok(()) }
//! ```

pub mod arm;
pub mod clock;
pub mod config;
mod control;
pub mod directory;
pub mod entra;
pub mod faults;
mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
mod hosts;
mod http;
mod input;
pub mod keys;
pub mod kql;
pub mod monitor;
pub mod persist;
mod portal;
pub mod rbac;
pub mod replay;
pub mod router;
pub mod secret;
pub mod server;
pub mod state;
pub mod tls;
pub mod token;
pub mod token_cache;

pub use config::{Config, Secret, TlsMode};
pub use server::{AdminCredentials, ConnectionInfo, Emulator, EmulatorBuilder, Server, StartError};
