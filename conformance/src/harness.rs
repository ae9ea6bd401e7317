//! The test harness: every scenario, and every committed fixture's replay, as a test with
//! libtest's interface (filters, `--list`, `--ignored`). A target that is not configured marks
//! its tests ignored, with the reason, rather than passing them.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;

use entra_emulator::replay::Recording;
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;

use crate::normalize::Normalizer;
use crate::scenario::Scenario;
use crate::target::{Target, Unavailable};
use crate::{sanitize, verify};

/// A scenario's body.
pub type Run = for<'a> fn(&'a Scenario) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A named scenario.
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    /// Its name: the test's, the snapshot's and the fixture's.
    pub name: &'static str,
    /// Its body.
    pub run: Run,
}

/// Definitions of the scenario functions named, each named after its function.
#[macro_export]
macro_rules! scenarios {
    ($($f:ident),* $(,)?) => {
        vec![$($crate::harness::Definition {
            name: stringify!($f),
            run: |s| ::std::boxed::Box::pin($f(s)),
        }),*]
    };
}

/// Checks a scenario's snapshot (the test binary owns the snapshot files).
pub type SnapshotCheck = fn(&str, &Value);

/// `fixtures/` at the workspace root.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("fixtures")
}

/// Where a scenario's fixture is written: `fixtures/emulator/` when recorded on an emulator,
/// `fixtures/azure/` when recorded on Azure (beside the public recordings).
pub fn recording_dir(on_azure: bool) -> PathBuf {
    fixtures_dir().join(if on_azure { "azure" } else { "emulator" })
}

/// Runs the scenarios and the fixture replays as tests; `CONFORMANCE_RECORD=1` also writes
/// each passing scenario's fixture.
pub fn main(scenarios: Vec<Definition>, check: SnapshotCheck) -> ExitCode {
    let args = Arguments::from_args();
    let record = std::env::var("CONFORMANCE_RECORD").is_ok_and(|v| v == "1");
    let names: Vec<&'static str> = scenarios.iter().map(|d| d.name).collect();
    let mut trials: Vec<Trial> = scenarios
        .into_iter()
        .map(|def| {
            Trial::ignorable_test(format!("scenario::{}", def.name), move || {
                run_scenario(def, record, check)
            })
        })
        .collect();
    for path in fixture_files() {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        trials.push(Trial::ignorable_test(
            format!("fixture::{stem}"),
            move || replay_fixture(&path, record),
        ));
    }
    trials.push(Trial::ignorable_test("corpus::azure_replay", replay_corpus));
    trials.push(Trial::test("corpus::azure_sources", || {
        crate::corpus::check_sources(&crate::corpus::corpus_dir())
            .map(drop)
            .map_err(Failed::from)
    }));
    trials.push(Trial::ignorable_test(
        "fixture::every_scenario_has_one",
        move || {
            if record {
                return Ok(Completion::ignored_with(
                    "recording: fixtures are being written",
                ));
            }
            every_scenario_has_a_fixture(&names).map(|()| Completion::Completed)
        },
    ));
    libtest_mimic::run(&args, trials).exit_code()
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(recording_dir(false))
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("runtime: {e}")))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}

fn run_scenario(def: Definition, record: bool, check: SnapshotCheck) -> Result<Completion, Failed> {
    let outcome = runtime()?.block_on(async {
        let target = match Target::from_env().await {
            Ok(t) => t,
            Err(Unavailable::Skip(reason)) => return Ok(Err(reason)),
            Err(Unavailable::Broken(e)) => return Err(e),
        };
        let scenario = Arc::new(Scenario::start(def.name, target).await?);
        // Spawned so that a failing assertion still leaves the scenario to clean up.
        let task = tokio::spawn({
            let s = scenario.clone();
            async move { (def.run)(&s).await }
        });
        let result = task.await;
        let problems = scenario.clean_up().await;
        let mut failure = match result {
            Ok(()) => None,
            Err(e) if e.is_panic() => Some(panic_message(&*e.into_panic())),
            Err(e) => Some(e.to_string()),
        };
        if !problems.is_empty() {
            let list = format!("clean-up failed: {}", problems.join("; "));
            failure = Some(failure.map_or(list.clone(), |f| format!("{f}\n{list}")));
        }
        if let Some(f) = failure {
            return Err(f);
        }
        if let Some(reason) = scenario.skipped() {
            return Ok(Err(reason));
        }
        Ok(Ok((
            scenario.snapshot(),
            record.then(|| (scenario.recording(), !scenario.target().is_emulator())),
        )))
    })?;
    let (snapshot, recording) = match outcome {
        Ok(done) => done,
        Err(reason) => return Ok(Completion::ignored_with(reason)),
    };
    if let Some((recording, on_azure)) = recording {
        write_fixture(def.name, &recording, on_azure)?;
    }
    check(def.name, &snapshot);
    Ok(Completion::Completed)
}

/// Writes a scenario's recording: `fixtures/emulator/{name}.json`, or on Azure
/// `fixtures/azure/conformance_{name}.json` (with its row in `SOURCES.md`). An existing file
/// is kept when the new recording differs from it only in volatile values, so that
/// re-recording with nothing changed leaves the tree as it was.
fn write_fixture(name: &str, recording: &Recording, on_azure: bool) -> Result<(), Failed> {
    let file = if on_azure {
        format!("conformance_{name}.json")
    } else {
        format!("{name}.json")
    };
    let path = recording_dir(on_azure).join(&file);
    if let Ok(old) = Recording::load(&path)
        && same_but_volatile(&old, recording)
    {
        return Ok(());
    }
    let mut json = serde_json::to_string_pretty(recording)
        .map_err(|e| Failed::from(format!("fixture: {e}")))?;
    json.push('\n');
    std::fs::write(&path, json)
        .map_err(|e| Failed::from(format!("cannot write {}: {e}", path.display())))?;
    if on_azure {
        crate::corpus::add_scenario_source(&recording_dir(true), &file, name)
            .map_err(Failed::from)?;
    }
    Ok(())
}

/// Whether two recordings of a scenario differ only in what changes on every run: ids,
/// date-times, tokens, secrets and hints (normalized by shape as snapshots are), and the
/// date and clock the recording was made at.
pub fn same_but_volatile(old: &Recording, new: &Recording) -> bool {
    let n = Normalizer::new();
    let normalized = |r: &Recording| -> Vec<Value> {
        r.entries
            .iter()
            .map(|e| {
                // ARM's routing id carries the time in a compact form no shape matches.
                let headers = |h: &std::collections::BTreeMap<String, String>| {
                    let mut h = h.clone();
                    if let Some(v) = h.get_mut("x-ms-routing-request-id") {
                        "[routing-id]".clone_into(v);
                    }
                    n.walk(None, &serde_json::to_value(h).unwrap_or_default(), false)
                };
                serde_json::json!([
                    e.request_method,
                    n.text(None, &e.request_uri, false),
                    headers(&e.request_headers),
                    n.walk(None, &e.request_body, false),
                    e.status_code,
                    headers(&e.response_headers),
                    n.walk(None, &e.response_body, false),
                ])
            })
            .collect()
    };
    let stable = |r: &Recording| {
        let mut v = r.variables.clone();
        v.remove("RecordedOn");
        v.remove("StartTime");
        v
    };
    let same =
        |a: Vec<Value>, b: Vec<Value>| canonical(&Value::Array(a)) == canonical(&Value::Array(b));
    same(normalized(old), normalized(new)) && stable(old) == stable(new)
}

/// A normalized value made comparable across runs: ids written as 32 hex digits (ARM quotes
/// them so in messages) become `[hex]`, and the items of every array are put in one order
/// (the services' lists have none; the emulator's follow its generated ids).
fn canonical(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(hex_runs(s)),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(canonical).collect();
            items.sort_by_cached_key(Value::to_string);
            Value::Array(items)
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        other => other.clone(),
    }
}

/// `s` with every run of exactly 32 hex digits replaced by `[hex]`.
fn hex_runs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == 32 {
            out.push_str("[hex]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn replay_fixture(path: &Path, record: bool) -> Result<Completion, Failed> {
    if record {
        return Ok(Completion::ignored_with(
            "recording: fixtures are being rewritten",
        ));
    }
    let recording = Recording::load(path).map_err(|e| Failed::from(e.to_string()))?;
    let leaks = sanitize::leaks(&recording);
    if !leaks.is_empty() {
        return Err(Failed::from(format!(
            "not sanitized, must not be committed:\n{}",
            leaks.join("\n")
        )));
    }
    runtime()?.block_on(async {
        let target = match Target::from_env().await {
            Ok(t) if t.is_emulator() => t,
            Ok(_) => {
                return Ok(Completion::ignored_with(
                    "fixtures replay against an emulator (CONFORMANCE_TARGET=emulator or url)",
                ));
            }
            Err(Unavailable::Skip(reason)) => return Ok(Completion::ignored_with(reason)),
            Err(Unavailable::Broken(e)) => return Err(Failed::from(e)),
        };
        if !target.is_in_process() {
            return Ok(Completion::ignored_with(
                "a running emulator keeps other scenarios' objects; replay with the verify-fixtures binary after a reset",
            ));
        }
        let report = verify::replay(&recording, &target).await?;
        if report.differences.is_empty() {
            Ok(Completion::Completed)
        } else {
            let lines: Vec<String> = report.differences.iter().map(ToString::to_string).collect();
            Err(Failed::from(format!(
                "{} of {} exchanges differ:\n{}",
                report.differing_exchanges(),
                report.exchanges,
                lines.join("\n")
            )))
        }
    })
}

/// Replays the Azure corpus against in-process emulators and prints its table (this harness
/// does not capture output, so CI logs show it).
fn replay_corpus() -> Result<Completion, Failed> {
    match crate::target::Kind::from_env() {
        Ok(crate::target::Kind::InProcess) => {}
        _ => {
            return Ok(Completion::ignored_with(
                "the corpus replays against in-process emulators (CONFORMANCE_TARGET=emulator)",
            ));
        }
    }
    let report = runtime()?.block_on(crate::corpus::run(&crate::corpus::corpus_dir()))?;
    print!("\n{}", report.table());
    report.verdict().map_err(Failed::from)?;
    Ok(Completion::Completed)
}

fn every_scenario_has_a_fixture(names: &[&str]) -> Result<(), Failed> {
    let stems: Vec<String> = fixture_files()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let missing: Vec<&&str> = names
        .iter()
        .filter(|n| !stems.iter().any(|s| s == *n))
        .collect();
    let orphans: Vec<&String> = stems
        .iter()
        .filter(|s| !names.contains(&s.as_str()))
        .collect();
    if missing.is_empty() && orphans.is_empty() {
        Ok(())
    } else {
        Err(Failed::from(format!(
            "scenarios without a fixture (record with CONFORMANCE_RECORD=1): {missing:?}; fixtures without a scenario: {orphans:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn record_once() -> (String, Recording) {
        let target = Target::in_process().await.expect("emulator");
        let s = Scenario::start("stable-recording", target)
            .await
            .expect("scenario");
        let graph = s.admin().graph();
        let name = s.unique_name("app");
        let app = graph.create_application(&name).await.expect("create");
        graph
            .add_password(&app.id, &entra_client::graph::SecretOptions::default())
            .await
            .expect("secret");
        (name, s.recording())
    }

    #[tokio::test]
    async fn recording_twice_differs_only_in_volatile_values() {
        let (name1, first) = record_once().await;
        let (name2, second) = record_once().await;
        assert_eq!(name1, name2, "run names derive from the scenario name");
        assert_ne!(first, second, "ids, tokens and dates differ");
        assert!(same_but_volatile(&first, &second));
        let mut renamed = second.clone();
        renamed.entries[1].response_body["displayName"] = serde_json::json!("other");
        assert!(!same_but_volatile(&first, &renamed));
        let mut status = second;
        status.entries[1].status_code = 400;
        assert!(!same_but_volatile(&first, &status));
    }

    #[test]
    fn hex_ids_and_list_order_are_volatile() {
        assert_eq!(
            hex_runs("id a3a4d294dbbb41919e84d3ce64576ffa. x 12ab"),
            "id [hex]. x 12ab"
        );
        let a = serde_json::json!({"value": [{"n": 1}, {"n": 2}]});
        let b = serde_json::json!({"value": [{"n": 2}, {"n": 1}]});
        assert_eq!(canonical(&a), canonical(&b));
    }
}
