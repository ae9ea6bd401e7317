//! The conformance suite: scenarios real users live (register an app and its secret, get
//! tokens and every way that fails, `az ad sp create-for-rbac`, Azure PowerShell), run
//! against the emulator or real Azure; insta snapshots of their normalized exchanges are the
//! contract both must meet; sanitized recordings of them (fixtures) let other tools be checked
//! against recorded behaviour.
//!
//! # Layout
//!
//! - [`target`]: where scenarios run (`CONFORMANCE_TARGET=emulator|url|azure`) and how time
//!   passes there;
//! - [`scenario`]: what a scenario works with (recorded clients, unique names, waits,
//!   retries, clean-up); [`tape`] records what it did;
//! - [`normalize`]: exchanges → snapshot (volatile values by shape);
//! - [`sanitize`]: exchanges → committed fixture (test-proxy format, no secrets);
//! - [`verify`]: replays a fixture against a live emulator and reports differences;
//! - [`corpus`]: public recordings of real Azure traffic (`fixtures/azure/`), replayed against
//!   the emulator and scored, divergences allowed by `fixtures/azure/ALLOWED.md`;
//! - [`harness`]: runs it all as tests. The scenarios themselves are in `tests/scenarios/`,
//!   one file per story.
//!
//! # Quick start
//!
//! ```sh
//! cargo test -p entra-conformance                      # every scenario, in-process emulators
//! CONFORMANCE_RECORD=1 cargo test -p entra-conformance # rewrite fixtures/emulator/
//! ```

pub mod corpus;
pub mod harness;
pub mod normalize;
pub mod sanitize;
pub mod scenario;
pub mod shape;
pub mod tape;
pub mod target;
pub mod verify;

pub use scenario::Scenario;
