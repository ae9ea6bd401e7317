//! An offline emulator of the Azure identity and access path: Entra ID's token endpoint,
//! discovery and keys, Microsoft Graph app registrations, ARM role assignments and the
//! Azure Monitor data planes, with the real services' wire behaviour.
//!
//! # Public API
//!
//! [`Emulator`] (in-process, stops on drop) and its [`EmulatorBuilder`]; [`Server`] for the
//! binary's bound listener; [`Config`]; fault rules ([`faults`]); the seed request
//! ([`SeedRequest`]); recorded fixtures and playback ([`replay`]); the service catalog
//! ([`catalog`]). Everything else is internal: see `docs/ARCHITECTURE.md` for the layers.
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

mod arm;
pub mod catalog;
mod changes;
mod clock;
pub mod config;
mod control;
mod directory;
mod entra;
pub mod faults;
mod files;
mod first_party;
#[doc(hidden)]
pub mod fuzzing;
mod graph;
mod hosts;
mod http;
mod keys;
mod kql;
mod monitor;
mod persist;
mod portal;
mod rbac;
pub mod replay;
mod resources;
mod router;
mod secret;
mod server;
mod services;
mod telemetry;
#[doc(hidden)]
pub mod test_support;
mod tls;
mod token;
mod token_cache;
mod wire;

pub use config::{Config, ConfigError, ExposedControlApi, Secret, TlsMode};
#[doc(hidden)]
pub use keys::generate_in_background;
pub use keys::{KeyError, SigningKey};
pub use persist::PersistError;
#[doc(hidden)]
pub use server::write_atomically;
pub use server::{
    AdminCredentials, ConnectionInfo, Emulator, EmulatorBuilder, Server, StartError, router,
};
pub use services::{SeedCounts, SeedError, SeedRequest};
pub use tls::TlsError;
