//! The printed result: conditions, one table row per figure with its peer or limit and its
//! target, and notes (step costs, the profile).

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::load::{self, Load, Wrk};

/// Whether a figure met its target, and by what measure.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    measured: String,
    met: bool,
}

impl Verdict {
    /// Met when `value ≥ min`.
    pub(crate) fn at_least(value: f64, min: f64, unit: &str) -> Self {
        Self {
            measured: format!("{value:.2}{unit}"),
            met: value >= min,
        }
    }

    /// Met when `value < max` (or `≤` with `inclusive`).
    pub(crate) fn below(value: f64, max: f64, unit: &str, inclusive: bool) -> Self {
        Self {
            measured: format!("{value:.2}{unit}"),
            met: if inclusive { value <= max } else { value < max },
        }
    }
}

/// One figure.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    figure: String,
    value: String,
    side: String,
    target: String,
    verdict: Verdict,
    /// One-minute load average when the figure was taken (the machine may be shared).
    load: String,
}

impl Row {
    pub(crate) fn new(
        figure: &str,
        value: String,
        side: String,
        target: &str,
        verdict: Verdict,
    ) -> Self {
        Self {
            figure: figure.to_owned(),
            value,
            side,
            target: target.to_owned(),
            verdict,
            load: String::new(),
        }
    }
}

/// Everything one run measured.
#[derive(Debug)]
pub(crate) struct Report {
    date: String,
    machine: String,
    tools: Vec<(&'static str, String)>,
    method: String,
    load_start: String,
    load_end: String,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    pub(crate) fn new(machine: String, tools: Vec<(&'static str, String)>, method: String) -> Self {
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        Self {
            date,
            machine,
            tools,
            method,
            load_start: load::loadavg(),
            load_end: String::new(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a figure just measured, with the load average of this moment.
    pub(crate) fn row(&mut self, mut row: Row) {
        row.load = load::loadavg()
            .split_whitespace()
            .next()
            .unwrap_or("?")
            .to_owned();
        self.rows.push(row);
    }

    pub(crate) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub(crate) fn finish(&mut self, load_end: String) {
        self.load_end = load_end;
    }

    /// Markdown: the conditions, the table, the notes.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Performance ({})", self.date);
        let _ = writeln!(out);
        let _ = writeln!(out, "- Machine: {}", self.machine);
        let _ = writeln!(
            out,
            "- Load average (1/5/15 min): {} at the start, {} at the end",
            self.load_start, self.load_end
        );
        let tools: Vec<String> = self
            .tools
            .iter()
            .map(|(name, v)| format!("{name}: {v}"))
            .collect();
        let _ = writeln!(out, "- Tools: {}", tools.join("; "));
        let _ = writeln!(out, "- Method: {}", self.method);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| figure | emulator | peer / limit | target | measured | met | load |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.figure,
                r.value,
                r.side,
                r.target,
                r.verdict.measured,
                if r.verdict.met { "yes" } else { "**no**" },
                r.load
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out);
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

/// `perf record` of the emulator while `wrk` loads it, and the top symbols by self time;
/// `None` when perf is not usable here.
pub(crate) async fn profile(
    pid: Option<u32>,
    wrk: &Wrk,
    load: &Load,
    seconds: u64,
) -> Option<String> {
    let pid = pid?;
    let data = PathBuf::from("target/bench/perf.data");
    let mut record = tokio::process::Command::new("perf")
        .args(["record", "-q", "-F", "997", "-p", &pid.to_string(), "-o"])
        .arg(&data)
        .args(["--", "sleep", &seconds.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let run = wrk.run(load, seconds).await;
    let recorded = record.wait().await.ok()?.success();
    if run.is_err() || !recorded {
        return None;
    }
    let out = tokio::process::Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "symbol",
            "-q",
            "-i",
        ])
        .arg(&data)
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let top: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .take(12)
        .map(|l| {
            let mut parts = l.split_whitespace();
            let share = parts.next().unwrap_or_default();
            // `[.]` (user) or `[k]` (kernel), then the symbol; perf pads with `-` columns.
            let symbol: Vec<&str> = parts.skip(1).filter(|t| *t != "-").collect();
            format!("{share} `{}`", symbol.join(" "))
        })
        .collect();
    if top.is_empty() {
        return None;
    }
    Some(format!(
        "Profile of the emulator under token load (perf, self time, top symbols): {}.",
        top.join(", ")
    ))
}
