//! An offline emulator of the Azure identity and access path: Entra ID's token endpoint,
//! discovery and keys, Microsoft Graph app registrations, ARM role assignments and the
//! Azure Monitor data planes, with the real services' wire behaviour.
//!
//! # Public API
//!
//! [`Emulator`] (in-process, stops on drop) and its [`EmulatorBuilder`]; [`Server`] for the
//! binary's bound listener; [`Config`]; fault rules ([`faults`]); the tenant declared at
//! start ([`seed`], `--seed FILE`); the bulk seed request ([`SeedRequest`]); recorded fixtures and playback ([`replay`]); the service catalog
//! ([`catalog`]). Everything else is internal: see `docs/ARCHITECTURE.md` for the layers.
//!
//! # Features
//!
//! All on by default: `monitor` (the Azure Monitor data planes and the KQL engine),
//! `persistence` (`--data-dir`; needs `monitor`), `portal` (the HTML portal) and `replay`
//! (playback of fixtures). Without them, tokens, Graph, ARM, faults and the control API
//! remain.
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

// Code that only the features a build leaves out use is checked for dead code, unused
// imports and the like on the full build (the default), not on partial ones.
#![cfg_attr(
    not(all(
        feature = "monitor",
        feature = "persistence",
        feature = "portal",
        feature = "replay"
    )),
    allow(dead_code, unused_imports, unused_mut, unused_variables)
)]

/// Builder methods that each set one field:
/// `/// doc` `name(arg: Type) => field = value;` is
/// `pub fn name(mut self, arg: Type) -> Self { self.field = value; self }`.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) => $($field:ident).+ = $value:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $arg: $ty) -> Self {
                self.$($field).+ = $value;
                self
            }
        )*
    };
}

mod arm;
pub mod catalog;
mod changes;
mod clock;
pub mod config;
mod control;
mod credentials;
mod directory;
mod entra;
pub mod faults;
mod federation;
mod files;
mod first_party;
#[doc(hidden)]
pub mod fuzzing;
mod graph;
mod hosts;
mod http;
mod identity;
mod keys;
#[cfg(feature = "monitor")]
mod kql;
mod managed_identity;
#[cfg(feature = "monitor")]
mod monitor;
#[cfg(feature = "persistence")]
mod persist;
#[cfg(feature = "portal")]
mod portal;
mod rbac;
#[cfg(feature = "replay")]
pub mod replay;
mod resources;
mod router;
mod secret;
pub mod seed;
mod server;
mod services;
#[cfg(feature = "monitor")]
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
#[cfg(feature = "persistence")]
pub use persist::PersistError;
pub use seed::{InvalidSeed, Seed};
#[doc(hidden)]
pub use server::write_atomically;
pub use server::{
    AdminCredentials, ConnectionInfo, Emulator, EmulatorBuilder, Server, StartError, router,
};
pub use services::{SeedCounts, SeedError, SeedRequest};
pub use tls::TlsError;
