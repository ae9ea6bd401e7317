//! Times the KQL engine on a 1,000,000-row table: the typical Log Analytics query
//! `T | where TimeGenerated > ago(7d) | summarize count() by bin(TimeGenerated, 1h)` and a few
//! others, printing the best of five runs and the rows scanned per second.
//!
//! Run with `cargo run --release -p entra-emulator --example kql_bench [rows]`.

use std::time::Instant;

use entra_emulator::kql::{Column, ColumnType, QueryContext, TICKS_PER_SECOND, Table, Value, run};
use time::macros::datetime;

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let now = datetime!(2024-06-15 12:00:00 UTC);
    let Value::DateTime(now_ticks) = Value::from_datetime(now) else {
        return;
    };

    let build = Instant::now();
    let mut t = Table::new(
        "T",
        vec![
            Column::new("TimeGenerated", ColumnType::DateTime),
            Column::new("Computer", ColumnType::String),
            Column::new("Value", ColumnType::Long),
        ],
    );
    let names: Vec<Value> = (0..50)
        .map(|i| Value::string(format!("host-{i:02}")))
        .collect();
    // Rows spread over the last 30 days by a xorshift generator (repeatable, no dependency).
    let span = 30 * 24 * 3600 * TICKS_PER_SECOND;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let offset = i64::try_from(x % span.unsigned_abs()).unwrap_or(0);
        let value = i64::try_from(x % 1000).unwrap_or(0);
        let row = vec![
            Value::DateTime(now_ticks - offset),
            names[i % names.len()].clone(),
            Value::Long(value),
        ];
        if let Err(e) = t.push_row(row) {
            eprintln!("row {i}: {e}");
            return;
        }
    }
    println!("built {rows} rows in {:.2?}", build.elapsed());

    let catalog = vec![t];
    let ctx = QueryContext::log_analytics(now);
    for query in [
        "T | where TimeGenerated > ago(7d) | summarize count() by bin(TimeGenerated, 1h)",
        "T | summarize count() by bin(TimeGenerated, 1h)",
        "T | summarize count(), avg(Value) by Computer",
        "T | where Computer == 'host-07' and Value > 500 | count",
        "T | top 10 by Value desc",
    ] {
        let mut best = f64::MAX;
        let mut out_rows = 0;
        for _ in 0..5 {
            let start = Instant::now();
            match run(query, &catalog, &ctx) {
                Ok(r) => out_rows = r.row_count(),
                Err(e) => {
                    eprintln!("{query}: {e}");
                    return;
                }
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "{query}\n  -> {out_rows} result rows, best {:.1} ms, {:.1} M rows/s",
            best * 1e3,
            rows as f64 / best / 1e6
        );
    }
}
