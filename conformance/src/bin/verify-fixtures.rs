//! Replays fixtures against a running emulator and reports, per exchange, where its status or
//! body shape differs from the recording.
//!
//! ```sh
//! entra-emulator --plain-http --bind 127.0.0.1:8443 --connection-file /tmp/conn.json &
//! cargo run -p entra-conformance --bin verify-fixtures -- /tmp/conn.json fixtures/emulator/*.json
//! ```
//! Each fixture starts from an empty tenant: the emulator is reset (`POST /_emulator/reset`)
//! before it. Exit status 1 when anything differs.

use std::process::ExitCode;

use entra_conformance::target::{Target, http_client};
use entra_conformance::verify;
use entra_emulator::replay::Recording;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((connection_file, fixtures)) = args.split_first().filter(|(_, f)| !f.is_empty())
    else {
        eprintln!("usage: verify-fixtures CONNECTION_FILE FIXTURE.json...");
        return ExitCode::from(2);
    };
    let target = match Target::url(connection_file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("verify-fixtures: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for path in fixtures {
        match verify_one(&target, path).await {
            Ok(report) if report.differences.is_empty() => {
                println!(
                    "ok    {path}: {} exchanges replay as recorded",
                    report.exchanges
                );
            }
            Ok(report) => {
                failed = true;
                println!(
                    "DIFF  {path}: {} of {} exchanges differ",
                    report.differing_exchanges(),
                    report.exchanges
                );
                for d in &report.differences {
                    println!("      {d}");
                }
            }
            Err(e) => {
                failed = true;
                println!("ERROR {path}: {e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn verify_one(target: &Target, path: &str) -> Result<verify::Report, String> {
    let recording = Recording::load(path.as_ref()).map_err(|e| e.to_string())?;
    let base = target.emulator_base().unwrap_or_default();
    let reset = http_client(&target.cloud)?
        .post(format!("{base}/_emulator/reset"))
        .send()
        .await
        .map_err(|e| format!("reset: {e}"))?;
    if !reset.status().is_success() {
        return Err(format!("reset answered {}", reset.status()));
    }
    verify::replay(&recording, target).await
}
