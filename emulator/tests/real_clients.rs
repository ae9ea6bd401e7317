//! Lists, at the end of `cargo test`, the real-client tests of `api` that this machine skipped
//! (they return early and show as `ok` there), each with how to enable it. One trial per real
//! client: `ignored` with the reason when the client is missing (a failure in CI, which must
//! have them all), passed when it is there (its tests then ran in `api`).
//!
//! A target of its own, without libtest's output capture, so the summary always shows.

#[path = "support/real_clients.rs"]
#[allow(dead_code, unreachable_pub)]
mod real_clients;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use real_clients::{REAL_CLIENTS, probe};

fn main() {
    let args = Arguments::from_args();
    let in_ci = std::env::var_os("CI").is_some();
    let mut skipped = Vec::new();
    let trials = REAL_CLIENTS
        .iter()
        .map(|client| {
            let outcome = probe(&client.need);
            if let Err(why) = &outcome {
                skipped.push((client, why.clone()));
            }
            Trial::ignorable_test(client.name, move || match outcome {
                Ok(_) => Ok(Completion::Completed),
                Err(why) if in_ci => Err(Failed::from(format!("CI must provide it: {why}"))),
                Err(_) => Ok(Completion::ignored_with("missing here: see the list below")),
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if skipped.is_empty() {
        println!("Every real-client test ran (Python SDKs, Azure CLI, Node.js).\n");
    } else {
        println!("SKIPPED real-client tests (shown as `ok` above, but they did not run):");
        for (client, why) in &skipped {
            println!("  {}: {}", client.name, client.tests.join(", "));
            println!("    {why}");
        }
        println!("See CONTRIBUTING.md, \"Real-client tests\".\n");
    }
    conclusion.exit();
}
