//! The allow-list (`fixtures/azure/ALLOWED.md`): divergences from the recorded answers that are
//! accepted, each with its reason. A Markdown table:
//!
//! ```text
//! | recording | exchange | divergence | reason |
//! |---|---|---|---|
//! | py_monitor_query_logs_single_query | 2 | status | pending: issue 18 item 3 — … |
//! | * | * | key $.statistics.* | accepted: … |
//! ```
//!
//! `recording` is a file stem or `*`; `exchange` an entry index or `*`; `divergence` a check's
//! label ([`super::score::Check::label`]), where a trailing `*` matches any rest. The reason
//! starts with `pending:` (to be fixed: `pending: issue 18 item N`, `pending: issue 19`,
//! `pending: unassigned`) or `accepted:` (kept on purpose).

use std::path::Path;

/// One allowed divergence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// Line in the file, for messages.
    pub line: usize,
    /// File stem or `*`.
    pub recording: String,
    /// Entry index, or `None` for any.
    pub exchange: Option<usize>,
    /// A check label, possibly ending in `*`.
    pub divergence: String,
    /// Why.
    pub reason: String,
}

impl Allowance {
    /// Whether this allows `label` at `exchange` of `recording`.
    pub fn covers(&self, recording: &str, exchange: usize, label: &str) -> bool {
        let recording_ok = self.recording == "*" || self.recording == recording;
        let exchange_ok = self.exchange.is_none_or(|e| e == exchange);
        let label_ok = match self.divergence.strip_suffix('*') {
            Some(prefix) => label.starts_with(prefix),
            None => label == self.divergence,
        };
        recording_ok && exchange_ok && label_ok
    }
}

/// Reads the allow-list; an entry without a `pending:` or `accepted:` reason is an error.
pub fn load(path: &Path) -> Result<Vec<Allowance>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text)
}

/// Parses the table rows of `text`.
pub fn parse(text: &str) -> Result<Vec<Allowance>, String> {
    let mut out = Vec::new();
    let mut in_table = false;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if !trimmed.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<String> = trimmed
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_owned())
            .collect();
        if cells.first().is_some_and(|c| c == "recording") {
            in_table = true;
            continue;
        }
        if !in_table
            || cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
        {
            continue;
        }
        let [recording, exchange, divergence, reason] = <[String; 4]>::try_from(cells)
            .map_err(|c| format!("line {line_no}: expected 4 cells, got {}", c.len()))?;
        let exchange = match exchange.as_str() {
            "*" => None,
            n => Some(
                n.parse()
                    .map_err(|_| format!("line {line_no}: exchange {n:?} is not a number or *"))?,
            ),
        };
        if !(reason.starts_with("pending:") || reason.starts_with("accepted:")) {
            return Err(format!(
                "line {line_no}: the reason must start with `pending:` or `accepted:`"
            ));
        }
        out.push(Allowance {
            line: line_no,
            recording,
            exchange,
            divergence,
            reason,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_and_match_with_wildcards() {
        let text = "intro\n\n| recording | exchange | divergence | reason |\n|---|---|---|---|\n\
                    | a | 2 | status | pending: issue 18 item 3 |\n\
                    | * | * | key $.statistics* | accepted: engine numbers |\n";
        let list = parse(text).expect("parsed");
        assert_eq!(list.len(), 2);
        assert!(list[0].covers("a", 2, "status"));
        assert!(!list[0].covers("a", 1, "status"));
        assert!(!list[0].covers("b", 2, "status"));
        assert!(list[1].covers("x", 9, "key $.statistics.query"));
        assert!(!list[1].covers("x", 9, "key $.tables"));
        let bad = "| recording | exchange | divergence | reason |\n|---|---|---|---|\n| a | 1 | status | because |\n";
        assert!(parse(bad).unwrap_err().contains("pending:"));
    }
}
