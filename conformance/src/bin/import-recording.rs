//! Imports a public recording (test-proxy JSON, as the Azure SDKs write it) into the corpus:
//! sanitized with the project's sanitizer, its provenance in `Variables`.
//!
//! ```sh
//! cargo run -p entra-conformance --bin import-recording -- \
//!   --source Azure/azure-sdk-for-net --path sdk/…/GetToken.json --commit 0bd662a… \
//!   --recorded-on 2020-12-11 --cut whole raw.json fixtures/azure/net_identity_get_token.json
//! ```
//! `--spec-example` marks a REST API spec example rendered as an exchange. Add the file's row
//! to `fixtures/azure/SOURCES.md`.

use std::process::ExitCode;

use entra_conformance::corpus::import::{Provenance, import};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("import-recording: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut p = Provenance {
        cut: "whole".into(),
        ..Provenance::default()
    };
    let mut files = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--source" => p.repository = value()?,
            "--path" => p.path = value()?,
            "--commit" => p.commit = Some(value()?),
            "--recorded-on" => p.recorded_on = Some(value()?),
            "--cut" => p.cut = value()?,
            "--spec-example" => p.spec_example = true,
            _ => files.push(arg),
        }
    }
    let [input, output] = <[String; 2]>::try_from(files)
        .map_err(|_| "usage: import-recording --source REPO --path PATH [--commit SHA] [--recorded-on DATE] [--cut TEXT] [--spec-example] IN.json OUT.json".to_owned())?;
    if p.repository.is_empty() || p.path.is_empty() {
        return Err("--source and --path are required".into());
    }
    let raw: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&input).map_err(|e| format!("cannot read {input}: {e}"))?,
    )
    .map_err(|e| format!("{input}: {e}"))?;
    let recording = import(&raw, &p)?;
    let leaks = entra_conformance::sanitize::leaks(&recording);
    if !leaks.is_empty() {
        return Err(format!("still not sanitized: {}", leaks.join("; ")));
    }
    let mut json = serde_json::to_string_pretty(&recording).map_err(|e| e.to_string())?;
    json.push('\n');
    std::fs::write(&output, json).map_err(|e| format!("cannot write {output}: {e}"))
}
