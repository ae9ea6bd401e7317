//! The reference corpus: public recordings of real Azure traffic in `fixtures/azure/`
//! (imported by [`import`], sourced in `SOURCES.md`), replayed against in-process emulators
//! and scored per exchange ([`score`]): the status, the recorded JSON key paths, the recorded
//! error codes and the response headers clients read. Divergences accepted on purpose are in
//! `ALLOWED.md` ([`allow`]); the replay fails when a status differs or fewer than
//! [`KEY_PATH_THRESHOLD`] of the key paths are met, leaving those aside, and when an allowed
//! divergence no longer happens (so that a fix removes its entry).

pub mod allow;
pub mod import;
pub mod replay;
pub mod score;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use entra_emulator::replay::Recording;

use self::allow::Allowance;
use self::replay::Replayed;

/// Share of the recorded key paths (not allowed to differ) the emulator's answers must have.
pub const KEY_PATH_THRESHOLD: f64 = 0.98;

/// `fixtures/azure/`.
pub fn corpus_dir() -> PathBuf {
    crate::harness::fixtures_dir().join("azure")
}

/// The corpus recordings, by file stem, sorted.
pub fn recordings(dir: &Path) -> Result<Vec<(String, Recording)>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Recording::load(&p)
                .map(|r| (stem, r))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Counts of one kind of check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Checks made.
    pub total: usize,
    /// Held.
    pub held: usize,
    /// Did not hold, allowed.
    pub allowed: usize,
}

impl Tally {
    fn add(&mut self, held: bool, allowed: bool) {
        self.total += 1;
        if held {
            self.held += 1;
        } else if allowed {
            self.allowed += 1;
        }
    }

    /// Diverging and not allowed.
    pub fn failed(&self) -> usize {
        self.total - self.held - self.allowed
    }

    /// Share held among the checks not allowed to differ (1 when there are none).
    pub fn rate(&self) -> f64 {
        let counted = self.total - self.allowed;
        if counted == 0 {
            1.0
        } else {
            self.held as f64 / counted as f64
        }
    }

    fn merge(&mut self, other: Tally) {
        self.total += other.total;
        self.held += other.held;
        self.allowed += other.allowed;
    }

    fn cell(&self) -> String {
        let mut s = format!("{}/{}", self.held, self.total);
        if self.allowed > 0 {
            let _ = write!(s, " (+{} allowed)", self.allowed);
        }
        s
    }
}

/// The scores of one recording.
#[derive(Debug, Clone, Default)]
pub struct RecordingScore {
    /// File stem.
    pub name: String,
    /// Exchanges replayed.
    pub exchanges: usize,
    /// Statuses.
    pub status: Tally,
    /// Key paths.
    pub keys: Tally,
    /// Error codes.
    pub codes: Tally,
    /// Headers.
    pub headers: Tally,
    /// Divergences not allowed: `#index METHOD /path: label: detail`.
    pub failures: Vec<String>,
}

/// Scores a replay, applying the allow-list; marks each allowance that was used.
pub fn score(
    name: &str,
    replayed: &[Replayed],
    allowances: &[Allowance],
    used: &mut [bool],
) -> RecordingScore {
    let mut s = RecordingScore {
        name: name.to_owned(),
        exchanges: replayed.len(),
        ..RecordingScore::default()
    };
    for r in replayed {
        // Missing key paths of one answer are reported on one line.
        let mut missing_keys = Vec::new();
        for (check, held) in &r.scored.checks {
            let label = check.label();
            let mut allowed = false;
            if !held {
                for (i, a) in allowances.iter().enumerate() {
                    if a.covers(name, r.index, &label) {
                        used[i] = true;
                        allowed = true;
                    }
                }
                if !allowed {
                    match check {
                        score::Check::Key(path) => missing_keys.push(path.clone()),
                        _ => s.failures.push(format!(
                            "#{} {}: {label}: {}",
                            r.index,
                            r.request,
                            check.detail()
                        )),
                    }
                }
            }
            let tally = match check {
                score::Check::Status { .. } => &mut s.status,
                score::Check::Key(_) => &mut s.keys,
                score::Check::Code { .. } => &mut s.codes,
                score::Check::Header(_) => &mut s.headers,
            };
            tally.add(*held, allowed);
        }
        if !missing_keys.is_empty() {
            let shown: Vec<&str> = missing_keys.iter().take(4).map(String::as_str).collect();
            let more = missing_keys.len().saturating_sub(shown.len());
            s.failures.push(format!(
                "#{} {}: {} key paths missing in the emulator's answer: {}{}",
                r.index,
                r.request,
                missing_keys.len(),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }
    s
}

/// The outcome of the whole corpus.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per recording.
    pub recordings: Vec<RecordingScore>,
    /// Allow-list entries that matched nothing.
    pub stale: Vec<Allowance>,
}

impl Report {
    /// Totals over every recording.
    pub fn totals(&self) -> RecordingScore {
        let mut t = RecordingScore {
            name: "total".into(),
            ..RecordingScore::default()
        };
        for r in &self.recordings {
            t.exchanges += r.exchanges;
            t.status.merge(r.status);
            t.keys.merge(r.keys);
            t.codes.merge(r.codes);
            t.headers.merge(r.headers);
        }
        t
    }

    /// Why the corpus fails, if it does.
    pub fn verdict(&self) -> Result<(), String> {
        let t = self.totals();
        let mut problems = Vec::new();
        if t.status.failed() > 0 {
            problems.push(format!("{} statuses differ", t.status.failed()));
        }
        if t.keys.rate() < KEY_PATH_THRESHOLD {
            problems.push(format!(
                "key paths {:.1} % < {:.0} %",
                t.keys.rate() * 100.0,
                KEY_PATH_THRESHOLD * 100.0
            ));
        }
        for a in &self.stale {
            problems.push(format!(
                "ALLOWED.md line {}: `{} | {} | {}` no longer diverges: remove the entry",
                a.line,
                a.recording,
                a.exchange.map_or("*".into(), |e| e.to_string()),
                a.divergence
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The table: per recording, exchanges and each kind of check; then the totals and every
    /// divergence not allowed.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Replay of the Azure corpus (fixtures/azure) against the emulator: held/checked (+ allowed divergences, fixtures/azure/ALLOWED.md)\n"
        );
        let _ = writeln!(
            out,
            "| recording | exchanges | status | key paths | key % | codes | headers |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        let mut rows: Vec<&RecordingScore> = self.recordings.iter().collect();
        let totals = self.totals();
        rows.push(&totals);
        for r in rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.1} | {} | {} |",
                r.name,
                r.exchanges,
                r.status.cell(),
                r.keys.cell(),
                r.keys.rate() * 100.0,
                r.codes.cell(),
                r.headers.cell()
            );
        }
        let t = &totals;
        let _ = writeln!(
            out,
            "\nTotals: {} recordings, {} exchanges; statuses {}/{} equal ({} allowed to differ, {} not); key paths {}/{} present ({} allowed missing; {:.1} % of the rest, threshold {:.0} %); error codes {}/{} equal ({} allowed); headers {}/{} present ({} allowed).",
            self.recordings.len(),
            t.exchanges,
            t.status.held,
            t.status.total,
            t.status.allowed,
            t.status.failed(),
            t.keys.held,
            t.keys.total,
            t.keys.allowed,
            t.keys.rate() * 100.0,
            KEY_PATH_THRESHOLD * 100.0,
            t.codes.held,
            t.codes.total,
            t.codes.allowed,
            t.headers.held,
            t.headers.total,
            t.headers.allowed
        );
        let failures: Vec<String> = self
            .recordings
            .iter()
            .flat_map(|r| r.failures.iter().map(move |f| format!("{}: {f}", r.name)))
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(out, "\nDivergences not in the allow-list:");
            for f in failures {
                let _ = writeln!(out, "  {f}");
            }
        }
        out
    }
}

/// Replays every recording of `dir` with the allow-list of `dir/ALLOWED.md`.
pub async fn run(dir: &Path) -> Result<Report, String> {
    let allowances = allow::load(&dir.join("ALLOWED.md"))?;
    let mut used = vec![false; allowances.len()];
    let mut report = Report::default();
    for (name, recording) in recordings(dir)? {
        let replayed = replay::replay(&recording)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        report
            .recordings
            .push(score(&name, &replayed, &allowances, &mut used));
    }
    report.stale = allowances
        .into_iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(a, _)| a)
        .collect();
    Ok(report)
}

/// Checks that every recording is sanitized and named in `SOURCES.md` with its source path.
pub fn check_sources(dir: &Path) -> Result<usize, String> {
    let sources = std::fs::read_to_string(dir.join("SOURCES.md"))
        .map_err(|e| format!("cannot read SOURCES.md: {e}"))?;
    let mut problems = Vec::new();
    let all = recordings(dir)?;
    for (name, recording) in &all {
        let leaks = crate::sanitize::leaks(recording);
        if !leaks.is_empty() {
            problems.push(format!("{name}: not sanitized: {}", leaks.join("; ")));
        }
        let row = sources
            .lines()
            .find(|l| l.contains(&format!("`{name}.json`")));
        let source = recording.variables.get("SourcePath").cloned().or_else(|| {
            recording
                .variables
                .contains_key("Scenario")
                .then(|| "conformance/tests/scenarios".to_owned())
        });
        match (row, source) {
            (None, _) => problems.push(format!("{name}.json has no row in SOURCES.md")),
            (_, None) => problems.push(format!("{name}.json has no SourcePath variable")),
            (Some(row), Some(path)) if !row.contains(&path) => {
                problems.push(format!(
                    "SOURCES.md row of {name}.json does not name {path}"
                ));
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(all.len())
    } else {
        Err(problems.join("\n"))
    }
}

/// Adds the `SOURCES.md` row of a scenario recorded on Azure, unless it has one.
pub fn add_scenario_source(dir: &Path, file: &str, scenario: &str) -> Result<(), String> {
    let path = dir.join("SOURCES.md");
    let mut text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.contains(&format!("`{file}`")) {
        return Ok(());
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "| `{file}` | this repository | `conformance/tests/scenarios` (scenario `{scenario}`) | — | `RecordedOn` in the file | whole |"
    );
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn replayed() -> Vec<Replayed> {
        vec![Replayed {
            index: 0,
            request: "GET /x".into(),
            scored: score::Scored::of(
                200,
                &json!({"a": 1, "b": {"c": 2}}),
                &[],
                204,
                &json!(null),
                &[],
            ),
        }]
    }

    #[test]
    fn divergences_fail_unless_allowed_and_stale_allowances_fail_too() {
        let none: Vec<Allowance> = Vec::new();
        let report = Report {
            recordings: vec![score("r", &replayed(), &none, &mut [])],
            stale: Vec::new(),
        };
        let verdict = report.verdict().unwrap_err();
        assert!(verdict.contains("1 statuses differ"), "{verdict}");
        assert!(verdict.contains("key paths 0.0 %"), "{verdict}");
        assert!(report.table().contains("| r | 1 | 0/1 | 0/3 | 0.0 |"));

        let allowed = allow::parse(
            "| recording | exchange | divergence | reason |\n|---|---|---|---|\n\
             | r | 0 | status | pending: issue 18 item 3 |\n\
             | r | * | key $.* | pending: issue 18 item 3 |\n\
             | other | 0 | status | accepted: gone |\n",
        )
        .expect("parsed");
        let mut used = vec![false; allowed.len()];
        let scored = score("r", &replayed(), &allowed, &mut used);
        assert_eq!(used, [true, true, false]);
        assert_eq!((scored.status.allowed, scored.keys.allowed), (1, 3));
        assert!(scored.failures.is_empty());
        let report = Report {
            recordings: vec![scored],
            stale: vec![allowed[2].clone()],
        };
        let verdict = report.verdict().unwrap_err();
        assert!(verdict.contains("line 5"), "{verdict}");
        assert!(verdict.contains("no longer diverges"), "{verdict}");
    }
}

#[cfg(test)]
mod own_recordings {
    use super::*;

    /// This project's scenarios recorded on an emulator stand for the ones recorded on Azure
    /// (`fixtures/azure/conformance_*.json`): the corpus replay must reproduce them exactly.
    #[tokio::test]
    async fn the_scenario_recordings_replay_without_divergence() {
        let dir = crate::harness::recording_dir(false);
        let mut report = Report::default();
        for (name, recording) in recordings(&dir).expect("fixtures/emulator") {
            let replayed = replay::replay(&recording).await.expect("replayed");
            report
                .recordings
                .push(score(&name, &replayed, &[], &mut []));
        }
        assert_eq!(report.recordings.len(), 13);
        let t = report.totals();
        assert_eq!(
            (t.status.failed(), t.keys.failed(), t.codes.failed()),
            (0, 0, 0),
            "{}",
            report.table()
        );
    }
}
