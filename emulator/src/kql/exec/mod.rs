//! Tabular operator execution over columnar views.

mod distinct;
mod grouping;
mod project;
mod rows;
mod summarize;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use super::QueryContext;
use super::ast::{ExprKind, OpKind, PipeOp, Query, Source};
use super::error::KqlError;
use super::eval::{self, Frame, SEM_TYPE, SEM_UNRESOLVED, Scope};
use super::limits::{CHUNK, Governor};
use super::table::{Catalog, Column, ColumnData, Table, coerce_for_column, row_bytes};
use super::value::{ColumnType, Value, offset_datetime_to_ticks};
use distinct::distinct;
pub(super) use grouping::FastHashState;
use project::{project, project_away, project_rename};
use rows::{const_count, sort, take, where_op};
use summarize::summarize;

/// Name of the result table, as the Log Analytics API reports it.
pub(super) const RESULT_NAME: &str = "PrimaryResult";

/// Rows flowing between operators: shared column data plus an optional
/// selection of row ids (so filtering, sorting and taking never copy rows).
struct View {
    columns: Vec<Column>,
    data: Vec<Arc<ColumnData>>,
    base_len: usize,
    sel: Option<Vec<usize>>,
}

impl View {
    fn len(&self) -> usize {
        self.sel.as_ref().map_or(self.base_len, Vec::len)
    }

    /// Row ids in order (charged to the budget).
    fn ids(&self, gov: &Governor, kw: &str) -> Result<Vec<usize>, KqlError> {
        gov.reserve(self.len().saturating_mul(ID_BYTES), kw)?;
        Ok(match &self.sel {
            Some(s) => s.clone(),
            None => (0..self.base_len).collect(),
        })
    }

    /// Calls `f` with each row id in order, looking at the query's limits every
    /// [`CHUNK`] rows; stops with the error of the limit hit.
    fn try_for_each_id(
        &self,
        gov: &Governor,
        kw: &str,
        mut f: impl FnMut(usize),
    ) -> Result<(), KqlError> {
        match &self.sel {
            Some(s) => {
                for chunk in s.chunks(CHUNK) {
                    gov.check(kw)?;
                    chunk.iter().for_each(|&r| f(r));
                }
            }
            None => {
                let mut start = 0;
                while start < self.base_len {
                    gov.check(kw)?;
                    let end = (start + CHUNK).min(self.base_len);
                    (start..end).for_each(&mut f);
                    start = end;
                }
            }
        }
        gov.check(kw)
    }

    /// Applies the selection so that row ids become 0..len.
    fn materialize(&mut self, gov: &Governor, kw: &str) -> Result<(), KqlError> {
        if let Some(sel) = self.sel.take() {
            let per_row: usize = self.data.iter().map(|d| d.row_bytes()).sum();
            gov.reserve(sel.len().saturating_mul(per_row), kw)?;
            self.data = self.data.iter().map(|d| Arc::new(d.gather(&sel))).collect();
            self.base_len = sel.len();
        }
        Ok(())
    }

    fn frame<'a>(&'a self, gov: &'a Governor) -> Frame<'a> {
        Frame {
            cols: &self.data,
            gov,
        }
    }

    fn into_table(mut self, name: &str, gov: &Governor, kw: &str) -> Result<Table, KqlError> {
        self.materialize(gov, kw)?;
        Ok(Table::from_parts(
            name,
            self.columns,
            self.data,
            self.base_len,
        ))
    }

    fn from_table(t: &Table) -> View {
        View {
            columns: t.columns().to_vec(),
            data: t.data().to_vec(),
            base_len: t.row_count(),
            sel: None,
        }
    }
}

/// Bytes of one row id in a selection.
const ID_BYTES: usize = std::mem::size_of::<usize>();

fn semantic(msg: String) -> KqlError {
    KqlError::semantic(SEM_TYPE, msg)
}

/// Runs a parsed query within the limits `gov` enforces.
pub(super) fn execute(
    q: &Query,
    catalog: &dyn Catalog,
    ctx: &QueryContext<'_>,
    gov: &Governor,
) -> Result<Table, KqlError> {
    let now = offset_datetime_to_ticks(ctx.now).ok_or_else(|| {
        semantic("The query context's 'now' is outside the datetime range".into())
    })?;
    let first_op = q.ops.first().map_or("", |o| o.keyword.as_str());
    let source_kw = match &q.source {
        Source::Print(_) => "print",
        Source::DataTable { .. } => "datatable",
        Source::Table(_) => first_op,
    };
    let mut view = source(&q.source, first_op, catalog, ctx, now, gov)?;
    gov.check(source_kw)?;
    let mut last = source_kw;
    for op in &q.ops {
        view = apply(view, op, now, gov)?;
        last = op.keyword.as_str();
        gov.check(last)?;
    }
    view.into_table(RESULT_NAME, gov, last)
}

fn source(
    src: &Source,
    first_op: &str,
    catalog: &dyn Catalog,
    ctx: &QueryContext<'_>,
    now: i64,
    gov: &Governor,
) -> Result<View, KqlError> {
    match src {
        Source::Table(name) => {
            let Some(t) = catalog.table(name) else {
                let prefix = if first_op.is_empty() {
                    String::new()
                } else {
                    format!("'{first_op}' operator: ")
                };
                return Err(KqlError::semantic(
                    SEM_UNRESOLVED,
                    format!("{prefix}Failed to resolve table or column expression named '{name}'"),
                ));
            };
            let mut view = View::from_table(t);
            if let Some((start, end)) = ctx.time_range {
                apply_time_range(&mut view, ctx.time_column, start, end, gov, first_op)?;
            }
            Ok(view)
        }
        Source::Print(items) => {
            let scope = Scope::new(&[], "print", now, gov);
            let mut columns = Vec::new();
            let mut data = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let t = eval::compile(&item.expr, &scope)?;
                // Unnamed print columns are print_0, print_1, ... (by position).
                let name = item.name.clone().unwrap_or_else(|| format!("print_{i}"));
                if columns.iter().any(|c: &Column| c.name == name) {
                    return Err(duplicate_column("print", &name));
                }
                let v = t.expr.eval(&Frame { cols: &[], gov }, 0);
                let mut d = ColumnData::with_capacity(t.ty, 1);
                d.push(coerce_for_column(v, t.ty).unwrap_or(Value::Null));
                columns.push(Column::new(name, t.ty));
                data.push(Arc::new(d));
            }
            Ok(View {
                columns,
                data,
                base_len: 1,
                sel: None,
            })
        }
        Source::DataTable { columns, values } => {
            if columns.is_empty() || values.len() % columns.len() != 0 {
                return Err(semantic(format!(
                    "datatable: the number of values ({}) is not a multiple of the number of columns ({})",
                    values.len(),
                    columns.len()
                )));
            }
            let scope = Scope::new(&[], "datatable", now, gov);
            let rows = values.len() / columns.len();
            let per_row: usize = columns.iter().map(|(_, ty)| row_bytes(*ty)).sum();
            gov.reserve(rows.saturating_mul(per_row), "datatable")?;
            let mut data: Vec<ColumnData> = columns
                .iter()
                .map(|(_, ty)| ColumnData::with_capacity(*ty, rows))
                .collect();
            for (i, e) in values.iter().enumerate() {
                let ci = i % columns.len();
                let (cname, ty) = &columns[ci];
                let v = match &e.kind {
                    ExprKind::Null => Value::Null,
                    _ => {
                        let t = eval::compile(e, &scope)?;
                        match t.expr.as_const() {
                            Some(v) => v.clone(),
                            None => {
                                return Err(semantic(
                                    "datatable: values must be constant literals".into(),
                                ));
                            }
                        }
                    }
                };
                let got = v.column_type();
                let Some(v) = coerce_for_column(v, *ty) else {
                    return Err(semantic(format!(
                        "datatable: a value of type {} cannot be stored in column '{cname}' of type {ty}",
                        got.map_or("null", ColumnType::as_str)
                    )));
                };
                data[ci].push(v);
            }
            let mut cols = Vec::new();
            for (n, ty) in columns {
                if cols.iter().any(|c: &Column| &c.name == n) {
                    return Err(duplicate_column("datatable", n));
                }
                cols.push(Column::new(n.clone(), *ty));
            }
            Ok(View {
                columns: cols,
                data: data.into_iter().map(Arc::new).collect(),
                base_len: rows,
                sel: None,
            })
        }
    }
}

fn apply_time_range(
    view: &mut View,
    time_column: &str,
    start: time::OffsetDateTime,
    end: time::OffsetDateTime,
    gov: &Governor,
    kw: &str,
) -> Result<(), KqlError> {
    let Some(ci) = view.columns.iter().position(|c| c.name == time_column) else {
        return Ok(());
    };
    let Some(ColumnData::DateTime(times)) = view.data.get(ci).map(|d| d.as_ref()) else {
        return Ok(());
    };
    gov.reserve(times.len().saturating_mul(ID_BYTES), kw)?;
    let to_ticks =
        |t: time::OffsetDateTime, fallback: i64| offset_datetime_to_ticks(t).unwrap_or(fallback);
    let lo = to_ticks(start, i64::MIN);
    let hi = to_ticks(end, i64::MAX);
    let sel: Vec<usize> = times
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.filter(|t| *t >= lo && *t < hi).map(|_| i))
        .collect();
    view.sel = Some(sel);
    Ok(())
}

fn duplicate_column(op: &str, name: &str) -> KqlError {
    // GUESS: wording of the duplicate-column error.
    semantic(format!(
        "'{op}' operator: A column named '{name}' is already declared"
    ))
}

fn apply(view: View, op: &PipeOp, now: i64, gov: &Governor) -> Result<View, KqlError> {
    let kw = op.keyword.as_str();
    match &op.kind {
        OpKind::Where(e) => where_op(view, e, kw, now, gov),
        OpKind::Project(items) => project(view, items, kw, now, false, gov),
        OpKind::Extend(items) => project(view, items, kw, now, true, gov),
        OpKind::ProjectAway(patterns) => project_away(view, patterns, kw),
        OpKind::ProjectRename(pairs) => project_rename(view, pairs, kw),
        OpKind::Take(e) => {
            let n = const_count(e, kw, now, gov)?;
            take(view, n, gov, kw)
        }
        OpKind::Top { count, key } => {
            let n = const_count(count, kw, now, gov)?;
            sort(view, std::slice::from_ref(key), kw, now, Some(n), gov)
        }
        OpKind::Sort(keys) => sort(view, keys, kw, now, None, gov),
        OpKind::Count => {
            let n = i64::try_from(view.len()).unwrap_or(i64::MAX);
            Ok(View {
                columns: vec![Column::new("Count", ColumnType::Long)],
                data: vec![Arc::new(ColumnData::Long(vec![Some(n)]))],
                base_len: 1,
                sel: None,
            })
        }
        OpKind::Summarize { aggs, by } => summarize(view, aggs, by, kw, now, gov),
        OpKind::Distinct(cols) => distinct(view, cols.as_deref(), kw, gov),
    }
}
