//! The conformance scenarios (`scenarios/`, one file per story), their snapshots
//! (`snapshots/`, the contract) and the replay of every committed fixture.

use std::process::ExitCode;

mod scenarios;

fn main() -> ExitCode {
    entra_conformance::harness::main(scenarios::all(), check_snapshot)
}

fn check_snapshot(name: &str, snapshot: &serde_json::Value) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_json_snapshot!(name, snapshot));
}
