//! The real clients the test suite drives (Python SDKs, the Azure CLI, Node's @azure/identity),
//! how to tell whether this machine has each, and how to enable a missing one. Shared by the
//! `api` tests, which skip a test whose client is missing (failing instead when `CI` is set),
//! and by the `real_clients` target, which lists what was skipped at the end of `cargo test`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a group of tests needs.
pub(crate) enum Need {
    /// `ENTRA_EMULATOR_TEST_PYTHON` (else `python3`) able to import these modules.
    Python(&'static str),
    /// `ENTRA_EMULATOR_TEST_AZ` (else `az`).
    AzureCli,
    /// `node` on PATH and `npm ci` done in `clients/node`.
    Node,
}

/// A real client and the tests that need it.
pub(crate) struct RealClient {
    pub(crate) name: &'static str,
    pub(crate) need: Need,
    pub(crate) tests: &'static [&'static str],
}

/// The modules every pytest-driven test needs besides its client: pytest and the fixture
/// package.
pub(crate) const PYTEST: &str = "pytest, entra_emulator_pytest";

/// Every real client the suite drives.
pub(crate) const REAL_CLIENTS: &[RealClient] = &[
    RealClient {
        name: "pytest fixture (entra-emulator-pytest)",
        need: Need::Python(PYTEST),
        tests: &["cli::entra_emulator_pytest_fixture_starts_and_stops_the_binary"],
    },
    RealClient {
        name: "MSAL for Python",
        need: Need::Python("pytest, entra_emulator_pytest, msal"),
        tests: &["entra::msal_python_gets_a_token_over_https"],
    },
    RealClient {
        name: "azure-identity for Python",
        need: Need::Python("pytest, entra_emulator_pytest, azure.identity"),
        tests: &["entra::azure_identity_python_credentials_get_tokens_over_https"],
    },
    RealClient {
        name: "azure-identity ManagedIdentityCredential (IMDS, App Service, DefaultAzureCredential)",
        need: Need::Python(
            "pytest, entra_emulator_pytest, azure.identity, azure.mgmt.authorization, azure.mgmt.resource",
        ),
        tests: &["identity::azure_identity_python_managed_identity_reads_arm"],
    },
    RealClient {
        name: "azure-monitor-query and azure-monitor-ingestion",
        need: Need::Python(
            "pytest, entra_emulator_pytest, azure.identity, azure.monitor.query, azure.monitor.ingestion",
        ),
        tests: &["monitor::azure_monitor_python_clients_ingest_and_query"],
    },
    RealClient {
        name: "Azure SDK for Python management clients",
        need: Need::Python(
            "pytest, entra_emulator_pytest, azure.identity, azure.monitor.query, azure.mgmt.authorization, azure.mgmt.resource",
        ),
        tests: &["monitor::azure_sdk_for_python_grants_log_analytics_access_that_propagates"],
    },
    RealClient {
        name: "pip's HTTP stack with the banner's exports",
        need: Need::Python("pip._vendor.requests"),
        tests: &[
            "cli::pip_in_a_shell_with_the_banner_exports_trusts_the_emulator_and_the_system_roots",
        ],
    },
    RealClient {
        name: "Azure CLI",
        need: Need::AzureCli,
        tests: &["arm::azure_cli_manages_apps_and_roles_and_sees_propagation"],
    },
    RealClient {
        name: "@azure/identity for Node.js (entra-emulator-node helper)",
        need: Need::Node,
        tests: &["entra::azure_identity_node_credential_gets_a_token_arm_accepts"],
    },
];

/// The `clients/` directory of the repository.
pub(crate) fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients")
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The program that provides `need` (the Python interpreter, `az`, `node`), or why it is
/// missing and how to enable it.
pub(crate) fn probe(need: &Need) -> Result<String, String> {
    match need {
        Need::Python(modules) => {
            let python =
                std::env::var("ENTRA_EMULATOR_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
            if runs(&python, &["-c", &format!("import {modules}")]) {
                return Ok(python);
            }
            Err(format!(
                "{python} cannot import {modules}. Enable: python3 -m venv target/ci-venv && \
                 target/ci-venv/bin/pip install -r clients/python/requirements.txt \
                 ./clients/python/entra_emulator_pytest, then \
                 ENTRA_EMULATOR_TEST_PYTHON=$PWD/target/ci-venv/bin/python cargo test (or run .ci/run)"
            ))
        }
        Need::AzureCli => {
            let az = std::env::var("ENTRA_EMULATOR_TEST_AZ").unwrap_or_else(|_| "az".into());
            if runs(&az, &["--version"]) {
                return Ok(az);
            }
            Err(format!(
                "no Azure CLI at {az}. Enable: python3 -m venv target/ci-az && target/ci-az/bin/pip \
                 install -r clients/azure-cli/requirements.txt, then \
                 ENTRA_EMULATOR_TEST_AZ=$PWD/target/ci-az/bin/az cargo test (or run .ci/run)"
            ))
        }
        Need::Node => {
            let installed = clients_dir().join("node/node_modules/@azure/identity");
            if runs("node", &["--version"]) && installed.is_dir() {
                return Ok("node".into());
            }
            Err(
                "no node on PATH or no clients/node/node_modules. Enable: install Node.js 18 or \
                 later, then (cd clients/node && npm ci) (or run .ci/run)"
                    .into(),
            )
        }
    }
}
