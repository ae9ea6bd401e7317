//! A pure-Rust engine for a subset of KQL (Kusto Query Language) with Log
//! Analytics semantics, meant for an offline emulator of the Azure Log
//! Analytics / Application Insights query APIs.
//!
//! [`run`] parses a query and runs it over a catalog of [`Table`]s in a [`QueryContext`].
//!
//! Supported: sources `print`, `datatable`, table names; operators `where`,
//! `project`, `project-away`, `project-rename`, `extend`, `take`/`limit`,
//! `top`, `sort`/`order`, `count`, `summarize` (`count`, `countif`, `sum`,
//! `avg`, `min`, `max`, `dcount`), `distinct`. Everything else returns a
//! [`KqlError`] naming the unsupported operator or function.
//!
//! Every run is bounded by its [`Limits`]: a memory budget, an optional deadline and
//! an optional cancel flag (see [`limits`](Limits) for how memory is counted).
#![warn(missing_docs)]

mod ast;
mod error;
mod eval;
mod exec;
mod lexer;
mod limits;
mod parser;
mod table;
mod value;

pub(crate) use error::{IngestError, KqlError, KqlErrorKind};
pub use limits::Queries;
pub(crate) use limits::{CancelFlag, Limits, Usage};
#[cfg(test)]
pub(crate) use parser::{MAX_EXPR_DEPTH, MAX_QUERY_LEN};
pub(crate) use table::{Catalog, Column, Cut, Table};
#[cfg(test)]
pub(crate) use value::TICKS_PER_MINUTE;
pub(crate) use value::{
    ColumnType, TICKS_PER_HOUR, TICKS_PER_SECOND, Value, format_datetime, parse_datetime,
};

use time::OffsetDateTime;

/// Per-query settings supplied by the host.
#[derive(Clone, Debug)]
pub(crate) struct QueryContext<'a> {
    /// The value of `now()` (and the base of `ago()`) for the whole query.
    pub(crate) now: OffsetDateTime,
    /// When set, source tables are filtered to rows whose `time_column` is in
    /// `[start, end)` before the query runs. Tables without that column (or
    /// where it is not a datetime) are left as they are.
    pub(crate) time_range: Option<(OffsetDateTime, OffsetDateTime)>,
    /// The time column the range applies to: `TimeGenerated` for Log
    /// Analytics, `timestamp` for Application Insights.
    pub(crate) time_column: &'a str,
    /// Memory budget, deadline and cancel flag of the run.
    pub(crate) limits: Limits,
}

impl QueryContext<'static> {
    /// Log Analytics defaults: no time range, time column `TimeGenerated`.
    pub(crate) fn log_analytics(now: OffsetDateTime) -> Self {
        QueryContext {
            now,
            time_range: None,
            time_column: "TimeGenerated",
            limits: Limits::default(),
        }
    }

    #[cfg(test)]
    /// Application Insights defaults: no time range, time column `timestamp`.
    pub(crate) fn app_insights(now: OffsetDateTime) -> Self {
        QueryContext {
            now,
            time_range: None,
            time_column: "timestamp",
            limits: Limits::default(),
        }
    }
}

impl<'a> QueryContext<'a> {
    /// Returns the context with a `[start, end)` time range set.
    pub(crate) fn with_time_range(mut self, start: OffsetDateTime, end: OffsetDateTime) -> Self {
        self.time_range = Some((start, end));
        self
    }

    /// Returns the context with these limits.
    pub(crate) fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Parses and runs `query` against the catalog. The result table is named
/// `PrimaryResult`. Errors are syntax errors (with line/position), semantic
/// errors (unknown names, type mismatches) or errors naming an unsupported
/// operator/function; the engine never panics on any query text. A query stopped by
/// one of `ctx.limits` fails with an error whose [`KqlError::is_limit`] holds.
pub(crate) fn run(
    query: &str,
    catalog: &dyn Catalog,
    ctx: &QueryContext<'_>,
) -> Result<Table, KqlError> {
    run_measured(query, catalog, ctx).0
}

/// [`run`], also reporting what the query used.
pub(crate) fn run_measured(
    query: &str,
    catalog: &dyn Catalog,
    ctx: &QueryContext<'_>,
) -> (Result<Table, KqlError>, Usage) {
    let gov = limits::Governor::new(&ctx.limits);
    let result = parser::parse(query).and_then(|q| exec::execute(&q, catalog, ctx, &gov));
    let usage = Usage { memory: gov.used() };
    (result, usage)
}

/// Parses `query` without running it (syntax check only).
pub(crate) fn check_syntax(query: &str) -> Result<(), KqlError> {
    parser::parse(query).map(|_| ())
}

#[cfg(test)]
mod tests;
