//! Tabular operator execution over columnar views.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::QueryContext;
use super::ast::{Expr, ExprKind, NamedExpr, OpKind, PipeOp, Query, SortKey, Source};
use super::error::KqlError;
use super::eval::{
    self, CExpr, Frame, Func, KNOWN_AGGREGATES, SEM_TYPE, SEM_UNRESOLVED, Scope, Typed,
};
use super::limits::{CHUNK, Governor};
use super::table::{Catalog, Column, ColumnData, Table, coerce_for_column, row_bytes};
use super::value::{
    ColumnType, DOTNET_EPOCH_OFFSET_TICKS, Value, compare_same_type, datetime_in_range,
    offset_datetime_to_ticks,
};

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
            let scope = Scope {
                columns: &[],
                op: "print",
                now,
                gov,
            };
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
            let scope = Scope {
                columns: &[],
                op: "datatable",
                now,
                gov,
            };
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

fn where_op(
    mut view: View,
    e: &Expr,
    kw: &str,
    now: i64,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope {
        columns: &view.columns,
        op: kw,
        now,
        gov,
    };
    let t = eval::compile(e, &scope)?;
    gov.check(kw)?;
    if t.ty != ColumnType::Bool {
        return Err(scope.type_error(format!(
            "The filter expression must be of type bool, got {}",
            t.ty
        )));
    }
    if let Some(v) = t.expr.as_const() {
        if *v != Value::Bool(true) {
            view.sel = Some(Vec::new());
        }
        return Ok(view);
    }
    let frame = view.frame(gov);
    let pred = &t.expr;
    // Room for every row, reserved at once: the selection never grows past it.
    let most = view.len();
    gov.reserve(most.saturating_mul(ID_BYTES), kw)?;
    let mut sel: Vec<usize> = Vec::with_capacity(most);
    view.try_for_each_id(gov, kw, |r| {
        if pred.eval_bool(&frame, r) == Some(true) {
            sel.push(r);
        }
    })?;
    view.sel = Some(sel);
    Ok(view)
}

/// Chooses `Column1`, `Column2`, ... skipping names already in use.
fn next_default_name(counter: &mut usize, taken: &dyn Fn(&str) -> bool) -> String {
    loop {
        *counter += 1;
        let name = format!("Column{counter}");
        if !taken(&name) {
            return name;
        }
    }
}

/// Evaluates a compiled expression for every row of the view, densely.
fn compute_column(
    view: &View,
    t: &Typed,
    gov: &Governor,
    kw: &str,
) -> Result<ColumnData, KqlError> {
    let n = view.len();
    gov.reserve(n.saturating_mul(row_bytes(t.ty)), kw)?;
    let mut out = ColumnData::with_capacity(t.ty, n);
    if let Some(v) = t.expr.as_const() {
        let v = coerce_for_column(v.clone(), t.ty).unwrap_or(Value::Null);
        view.try_for_each_id(gov, kw, |_| out.push(v.clone()))?;
        return Ok(out);
    }
    let frame = view.frame(gov);
    view.try_for_each_id(gov, kw, |r| {
        let v = t.expr.eval(&frame, r);
        out.push(coerce_for_column(v, t.ty).unwrap_or(Value::Null));
    })?;
    Ok(out)
}

enum Slot {
    /// Reuse an input column.
    Input(usize),
    /// A newly computed column (index into computed list).
    Computed(usize),
}

fn project(
    mut view: View,
    items: &[NamedExpr],
    kw: &str,
    now: i64,
    extend: bool,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope {
        columns: &view.columns,
        op: kw,
        now,
        gov,
    };
    // Output layout: for extend, the input columns followed by new ones
    // (an explicitly named existing column is replaced in place).
    let mut out_cols: Vec<Column> = Vec::new();
    let mut slots: Vec<Slot> = Vec::new();
    if extend {
        for (i, c) in view.columns.iter().enumerate() {
            out_cols.push(c.clone());
            slots.push(Slot::Input(i));
        }
    }
    let mut computed: Vec<Typed> = Vec::new();
    let mut counter = 0usize;
    let mut declared: HashSet<String> = HashSet::new();
    for item in items {
        let t = eval::compile(&item.expr, &scope)?;
        let name = match &item.name {
            Some(n) => n.clone(),
            None => match eval::infer_name(&item.expr) {
                Some(n) => n,
                None => {
                    let taken = |n: &str| {
                        view.columns.iter().any(|c| c.name == n)
                            || out_cols.iter().any(|c| c.name == n)
                    };
                    next_default_name(&mut counter, &taken)
                }
            },
        };
        if !declared.insert(name.clone()) {
            return Err(duplicate_column(kw, &name));
        }
        let slot = match t.expr {
            CExpr::Col(i) => Slot::Input(i),
            _ => {
                computed.push(t.clone());
                Slot::Computed(computed.len() - 1)
            }
        };
        let col = Column::new(name.clone(), t.ty);
        match out_cols.iter().position(|c| c.name == name) {
            Some(p) if extend => {
                // `extend x = ...` on an existing column replaces it in place.
                out_cols[p] = col;
                slots[p] = slot;
            }
            Some(_) => return Err(duplicate_column(kw, &name)),
            None => {
                out_cols.push(col);
                slots.push(slot);
            }
        }
    }
    let needs_compute = slots.iter().any(|s| matches!(s, Slot::Computed(_)));
    if !needs_compute {
        let data = slots
            .iter()
            .map(|s| match s {
                Slot::Input(i) => view.data[*i].clone(),
                Slot::Computed(_) => unreachable_data(),
            })
            .collect();
        return Ok(View {
            columns: out_cols,
            data,
            base_len: view.base_len,
            sel: view.sel,
        });
    }
    gov.check(kw)?;
    let mut new_data: Vec<Arc<ColumnData>> = Vec::with_capacity(computed.len());
    for t in &computed {
        new_data.push(Arc::new(compute_column(&view, t, gov, kw)?));
    }
    view.materialize(gov, kw)?;
    let data = slots
        .iter()
        .map(|s| match s {
            Slot::Input(i) => view.data[*i].clone(),
            Slot::Computed(k) => new_data[*k].clone(),
        })
        .collect();
    Ok(View {
        columns: out_cols,
        data,
        base_len: view.base_len,
        sel: None,
    })
}

/// Placeholder for a slot that cannot occur (kept total instead of panicking).
fn unreachable_data() -> Arc<ColumnData> {
    Arc::new(ColumnData::Long(Vec::new()))
}

fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(p) => rest = &rest[p + mid.len()..],
            None => return false,
        }
    }
    true
}

fn project_away(view: View, patterns: &[String], kw: &str) -> Result<View, KqlError> {
    let mut remove = vec![false; view.columns.len()];
    for p in patterns {
        let mut any = false;
        for (i, c) in view.columns.iter().enumerate() {
            if wildcard_match(p, &c.name) {
                remove[i] = true;
                any = true;
            }
        }
        if !any && !p.contains('*') {
            return Err(KqlError::semantic(
                SEM_UNRESOLVED,
                format!(
                    "'{kw}' operator: Failed to resolve column or scalar expression named '{p}'"
                ),
            ));
        }
    }
    let mut columns = Vec::new();
    let mut data = Vec::new();
    for (i, c) in view.columns.iter().enumerate() {
        if !remove[i] {
            columns.push(c.clone());
            data.push(view.data[i].clone());
        }
    }
    Ok(View {
        columns,
        data,
        base_len: view.base_len,
        sel: view.sel,
    })
}

fn project_rename(mut view: View, pairs: &[(String, String)], kw: &str) -> Result<View, KqlError> {
    for (new, old) in pairs {
        let Some(i) = view.columns.iter().position(|c| &c.name == old) else {
            return Err(KqlError::semantic(
                SEM_UNRESOLVED,
                format!(
                    "'{kw}' operator: Failed to resolve column or scalar expression named '{old}'"
                ),
            ));
        };
        if view
            .columns
            .iter()
            .enumerate()
            .any(|(j, c)| j != i && &c.name == new)
        {
            return Err(duplicate_column(kw, new));
        }
        view.columns[i].name = new.clone();
    }
    Ok(view)
}

fn const_count(e: &Expr, kw: &str, now: i64, gov: &Governor) -> Result<usize, KqlError> {
    let scope = Scope {
        columns: &[],
        op: kw,
        now,
        gov,
    };
    let t = eval::compile(e, &scope)?;
    match t.expr.as_const() {
        Some(Value::Long(n)) if *n >= 0 => Ok(usize::try_from(*n).unwrap_or(usize::MAX)),
        Some(Value::Int(n)) if *n >= 0 => Ok(usize::try_from(*n).unwrap_or(0)),
        _ => Err(scope.type_error("The row count must be a non-negative integer constant")),
    }
}

fn take(mut view: View, n: usize, gov: &Governor, kw: &str) -> Result<View, KqlError> {
    if n >= view.len() {
        return Ok(view);
    }
    let mut ids = match view.sel.take() {
        Some(s) => s,
        None => {
            gov.reserve(n.saturating_mul(ID_BYTES), kw)?;
            (0..n).collect()
        }
    };
    ids.truncate(n);
    view.sel = Some(ids);
    Ok(view)
}

/// Sorts the view by `keys`; with `limit`, keeps only the first rows
/// (selecting them in linear time before sorting, for `top`).
fn sort(
    mut view: View,
    keys: &[SortKey],
    kw: &str,
    now: i64,
    limit: Option<usize>,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope {
        columns: &view.columns,
        op: kw,
        now,
        gov,
    };
    let mut compiled = Vec::with_capacity(keys.len());
    for k in keys {
        let t = eval::compile(&k.expr, &scope)?;
        if t.ty == ColumnType::Dynamic {
            return Err(scope.type_error(
                "Sorting by a dynamic expression is not supported; convert it with tostring() or todouble() first",
            ));
        }
        compiled.push((t, k.desc, k.nulls_first.unwrap_or(!k.desc)));
    }
    gov.check(kw)?;
    let ids = view.ids(gov, kw)?;
    let frame = view.frame(gov);
    // Precompute key values per row (positionally aligned with `ids`).
    let n = ids.len();
    let mut key_vals: Vec<Vec<Value>> = Vec::with_capacity(compiled.len());
    for (t, _, _) in &compiled {
        gov.reserve(n.saturating_mul(std::mem::size_of::<Value>()), kw)?;
        let mut vals = Vec::with_capacity(n);
        for chunk in ids.chunks(CHUNK) {
            gov.check(kw)?;
            vals.extend(chunk.iter().map(|&r| t.expr.eval(&frame, r)));
        }
        key_vals.push(vals);
    }
    // The order, then the sorted selection.
    gov.reserve(n.saturating_mul(2 * ID_BYTES), kw)?;
    let mut order: Vec<usize> = (0..n).collect();
    let cmp = |a: &usize, b: &usize| {
        for (k, (_, desc, nulls_first)) in compiled.iter().enumerate() {
            let o = eval::sort_compare(&key_vals[k][*a], &key_vals[k][*b], *desc, *nulls_first);
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        // Ties keep input order (stable), also across the selection below.
        a.cmp(b)
    };
    if let Some(n) = limit {
        if n == 0 {
            order.clear();
        } else if n < order.len() {
            order.select_nth_unstable_by(n - 1, cmp);
            order.truncate(n);
        }
    }
    order.sort_unstable_by(cmp);
    let sorted: Vec<usize> = order.into_iter().map(|i| ids[i]).collect();
    view.sel = Some(sorted);
    Ok(view)
}

// ---------------------------------------------------------------------------
// Grouping

/// A fast hasher for group keys: folded 64×64→128-bit multiplies, seeded
/// per process from the standard library's random state so that key
/// collisions cannot be precomputed (the same approach as foldhash; SipHash
/// cost about a quarter of `summarize` time).
#[derive(Clone, Copy)]
pub(super) struct FastHashState {
    seed: u64,
}

impl Default for FastHashState {
    fn default() -> Self {
        use std::hash::BuildHasher;
        use std::sync::OnceLock;
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed = *SEED
            .get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64));
        FastHashState { seed }
    }
}

impl std::hash::BuildHasher for FastHashState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher { h: self.seed }
    }
}

pub(super) struct FastHasher {
    h: u64,
}

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.h = folded_multiply(self.h ^ i, MIX);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        folded_multiply(self.h, MIX ^ 0xA076_1D64_78BD_642F)
    }
}

/// Reads a 64-bit group key straight from column data for the common key
/// shapes (`col` and `bin(col, constant)` on long/datetime/timespan
/// columns), without building a `Value` per row. Results match the
/// general evaluator.
enum FastKey<'a> {
    Col(&'a [Option<i64>]),
    BinDateTime(&'a [Option<i64>], i64),
    Bin(&'a [Option<i64>], i64),
}

impl<'a> FastKey<'a> {
    fn new(e: &CExpr, cols: &'a [Arc<ColumnData>]) -> Option<FastKey<'a>> {
        let ticks = |c: &usize| match cols.get(*c).map(|d| d.as_ref()) {
            Some(ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v)) => {
                Some(v.as_slice())
            }
            _ => None,
        };
        match e {
            CExpr::Col(c) => ticks(c).map(FastKey::Col),
            CExpr::Call {
                f: Func::Bin, args, ..
            } => match args.as_slice() {
                [CExpr::Col(c), CExpr::Const(Value::TimeSpan(s))] if *s > 0 => {
                    match cols.get(*c).map(|d| d.as_ref()) {
                        Some(ColumnData::DateTime(v)) => Some(FastKey::BinDateTime(v, *s)),
                        Some(ColumnData::TimeSpan(v)) => Some(FastKey::Bin(v, *s)),
                        _ => None,
                    }
                }
                [CExpr::Col(c), CExpr::Const(Value::Long(s))] if *s > 0 => {
                    match cols.get(*c).map(|d| d.as_ref()) {
                        Some(ColumnData::Long(v)) => Some(FastKey::Bin(v, *s)),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        }
    }

    #[inline]
    fn get(&self, r: usize) -> Option<i64> {
        match self {
            FastKey::Col(v) => v.get(r).copied().flatten(),
            FastKey::Bin(v, s) => v
                .get(r)
                .copied()
                .flatten()
                .and_then(|t| t.div_euclid(*s).checked_mul(*s)),
            FastKey::BinDateTime(v, s) => {
                let t = v.get(r).copied().flatten()?;
                let b = t
                    .checked_add(DOTNET_EPOCH_OFFSET_TICKS)?
                    .div_euclid(*s)
                    .checked_mul(*s)?
                    - DOTNET_EPOCH_OFFSET_TICKS;
                datetime_in_range(b).then_some(b)
            }
        }
    }
}

/// Hashable form of a value used as a group key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum GroupKey {
    Null,
    Bool(bool),
    I(i64),
    F(u64),
    S(Arc<str>),
    G(u128),
    D(String),
}

/// Bytes a stored group key takes (the entry, and the text of a dynamic key).
fn group_key_bytes(k: &GroupKey) -> usize {
    let text = match k {
        GroupKey::D(s) => s.len(),
        _ => 0,
    };
    // The key and the hash table's slot and control byte.
    2 * std::mem::size_of::<GroupKey>() + text
}

fn group_key(v: &Value) -> GroupKey {
    match v {
        Value::Null => GroupKey::Null,
        Value::Bool(b) => GroupKey::Bool(*b),
        Value::Int(i) => GroupKey::I(i64::from(*i)),
        Value::Long(i) | Value::DateTime(i) | Value::TimeSpan(i) => GroupKey::I(*i),
        Value::Real(r) => {
            let r = if *r == 0.0 { 0.0 } else { *r };
            GroupKey::F(if r.is_nan() {
                f64::NAN.to_bits()
            } else {
                r.to_bits()
            })
        }
        Value::String(s) => GroupKey::S(s.clone()),
        Value::Guid(g) => GroupKey::G(g.as_u128()),
        Value::Dynamic(d) => GroupKey::D(d.to_string()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AggKind {
    Count,
    CountIf,
    Sum,
    Avg,
    Min,
    Max,
    DCount,
}

struct AggSpec {
    kind: AggKind,
    arg: Option<CExpr>,
    in_ty: ColumnType,
    out_ty: ColumnType,
}

#[derive(Clone, Debug)]
enum AggState {
    Count(i64),
    SumI(i64),
    SumF(f64),
    Avg(f64, i64),
    AvgTicks(i128, i64),
    Extreme(Value),
    DCount(HashSet<GroupKey, FastHashState>),
}

impl AggSpec {
    fn init(&self) -> AggState {
        match self.kind {
            AggKind::Count | AggKind::CountIf => AggState::Count(0),
            AggKind::Sum => {
                if self.in_ty == ColumnType::Real {
                    AggState::SumF(0.0)
                } else {
                    AggState::SumI(0)
                }
            }
            AggKind::Avg => {
                if matches!(self.in_ty, ColumnType::DateTime | ColumnType::TimeSpan) {
                    AggState::AvgTicks(0, 0)
                } else {
                    AggState::Avg(0.0, 0)
                }
            }
            AggKind::Min | AggKind::Max => AggState::Extreme(Value::Null),
            AggKind::DCount => AggState::DCount(HashSet::default()),
        }
    }

    #[inline]
    fn update(&self, st: &mut AggState, frame: &Frame<'_>, row: usize) {
        match (self.kind, st) {
            (AggKind::Count, AggState::Count(n)) => *n += 1,
            (AggKind::CountIf, AggState::Count(n)) => {
                if let Some(a) = &self.arg
                    && a.eval_bool(frame, row) == Some(true)
                {
                    *n += 1;
                }
            }
            (_, st) => {
                let Some(a) = &self.arg else { return };
                let v = a.eval(frame, row);
                if v.is_null() {
                    return;
                }
                match st {
                    AggState::SumI(s) => {
                        if let Value::Int(_) | Value::Long(_) | Value::TimeSpan(_) = v {
                            let x = match v {
                                Value::Int(i) => i64::from(i),
                                Value::Long(i) | Value::TimeSpan(i) => i,
                                _ => 0,
                            };
                            *s = s.wrapping_add(x);
                        }
                    }
                    AggState::SumF(s) => {
                        if let Some(x) = super::value::as_f64(&v) {
                            *s += x;
                        }
                    }
                    AggState::Avg(s, n) => {
                        if let Some(x) = super::value::as_f64(&v) {
                            *s += x;
                            *n += 1;
                        }
                    }
                    AggState::AvgTicks(s, n) => {
                        if let Value::DateTime(t) | Value::TimeSpan(t) = v {
                            *s += i128::from(t);
                            *n += 1;
                        }
                    }
                    AggState::Extreme(cur) => {
                        if matches!(v, Value::Real(r) if r.is_nan()) {
                            return;
                        }
                        let replace = cur.is_null() || {
                            let o = compare_same_type(&v, cur);
                            if self.kind == AggKind::Min {
                                o == std::cmp::Ordering::Less
                            } else {
                                o == std::cmp::Ordering::Greater
                            }
                        };
                        if replace {
                            *cur = v;
                        }
                    }
                    AggState::DCount(set) => {
                        let k = group_key(&v);
                        if !set.contains(&k) && frame.gov.charge(group_key_bytes(&k)) {
                            set.insert(k);
                        }
                    }
                    AggState::Count(_) => {}
                }
            }
        }
    }

    fn finish(&self, st: &AggState) -> Value {
        match st {
            AggState::Count(n) => Value::Long(*n),
            AggState::SumI(s) => match self.out_ty {
                ColumnType::TimeSpan => Value::TimeSpan(*s),
                _ => Value::Long(*s),
            },
            AggState::SumF(s) => Value::Real(*s),
            AggState::Avg(s, n) => {
                if *n == 0 {
                    Value::Null
                } else {
                    Value::Real(*s / *n as f64)
                }
            }
            AggState::AvgTicks(s, n) => {
                if *n == 0 {
                    return Value::Null;
                }
                let avg = i64::try_from(*s / i128::from(*n)).unwrap_or(0);
                if self.out_ty == ColumnType::DateTime {
                    Value::DateTime(avg)
                } else {
                    Value::TimeSpan(avg)
                }
            }
            AggState::Extreme(v) => v.clone(),
            AggState::DCount(set) => Value::Long(i64::try_from(set.len()).unwrap_or(i64::MAX)),
        }
    }
}

fn compile_aggregate(
    item: &NamedExpr,
    scope: &Scope<'_>,
) -> Result<(AggSpec, Option<String>), KqlError> {
    let ExprKind::Call { name, args } = &item.expr.kind else {
        // GUESS: wording; the service requires an aggregation function here.
        return Err(scope.type_error(
            "summarize: each aggregate must be a call to an aggregation function such as count() or sum(x)",
        ));
    };
    let kind = match name.as_str() {
        "count" => AggKind::Count,
        "countif" => AggKind::CountIf,
        "sum" => AggKind::Sum,
        "avg" => AggKind::Avg,
        "min" => AggKind::Min,
        "max" => AggKind::Max,
        "dcount" => AggKind::DCount,
        other if KNOWN_AGGREGATES.contains(&other) => {
            return Err(KqlError::unsupported(format!(
                "Aggregation function '{other}' is not supported by this KQL engine."
            )));
        }
        other => {
            return Err(KqlError::unsupported(format!(
                "Function '{other}' is unknown or not supported by this KQL engine (in summarize, an aggregation function is expected)."
            )));
        }
    };
    let (min, max) = match kind {
        AggKind::Count => (0, 0),
        AggKind::DCount => (1, 2),
        _ => (1, 1),
    };
    if args.len() < min || args.len() > max {
        return Err(scope.type_error(format!(
            "Function '{name}' expects {} argument(s), got {}",
            if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            },
            args.len()
        )));
    }
    let arg = match args.first() {
        Some(a) => Some(eval::compile(a, scope)?),
        None => None,
    };
    let in_ty = arg.as_ref().map_or(ColumnType::Long, |t| t.ty);
    let out_ty = match kind {
        AggKind::Count | AggKind::DCount => ColumnType::Long,
        AggKind::CountIf => {
            if in_ty != ColumnType::Bool {
                return Err(scope.type_error(format!(
                    "Function 'countif' expects a bool predicate, got {in_ty}"
                )));
            }
            ColumnType::Long
        }
        AggKind::Sum => match in_ty {
            ColumnType::Int | ColumnType::Long => ColumnType::Long,
            ColumnType::Real => ColumnType::Real,
            ColumnType::TimeSpan => ColumnType::TimeSpan,
            other => {
                return Err(scope.type_error(format!(
                    "Function 'sum' expects a numeric or timespan argument, got {other}"
                )));
            }
        },
        AggKind::Avg => match in_ty {
            ColumnType::Int | ColumnType::Long | ColumnType::Real => ColumnType::Real,
            ColumnType::TimeSpan => ColumnType::TimeSpan,
            ColumnType::DateTime => ColumnType::DateTime,
            other => {
                return Err(scope.type_error(format!(
                    "Function 'avg' expects a numeric, timespan or datetime argument, got {other}"
                )));
            }
        },
        AggKind::Min | AggKind::Max => match in_ty {
            ColumnType::Dynamic | ColumnType::Guid => {
                return Err(scope.type_error(format!(
                    "Function '{name}' expects an orderable argument, got {in_ty}"
                )));
            }
            other => other,
        },
    };
    let inferred = eval::infer_name(&item.expr);
    Ok((
        AggSpec {
            kind,
            arg: arg.map(|t| t.expr),
            in_ty,
            out_ty,
        },
        item.name.clone().or(inferred),
    ))
}

/// Makes `name` unique among `used` by appending 1, 2, ... (GUESS: the
/// service's exact suffixing for clashing inferred names).
fn unique_name(name: String, used: &HashSet<String>) -> String {
    if !used.contains(&name) {
        return name;
    }
    let mut k = 1;
    loop {
        let candidate = format!("{name}{k}");
        if !used.contains(&candidate) {
            return candidate;
        }
        k += 1;
    }
}

fn summarize(
    view: View,
    aggs: &[NamedExpr],
    by: &[NamedExpr],
    kw: &str,
    now: i64,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope {
        columns: &view.columns,
        op: kw,
        now,
        gov,
    };
    let mut out_cols: Vec<Column> = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    let mut counter = 0usize;
    // Group keys come first in the output.
    let mut keys: Vec<Typed> = Vec::new();
    for item in by {
        let t = eval::compile(&item.expr, &scope)?;
        if t.ty == ColumnType::Dynamic {
            let n = item
                .name
                .clone()
                .or_else(|| eval::infer_name(&item.expr))
                .unwrap_or_default();
            return Err(scope.type_error(format!(
                "Summarize group key '{n}' is of a 'dynamic' type. Please use an explicit cast"
            )));
        }
        let name = match item.name.clone().or_else(|| eval::infer_name(&item.expr)) {
            Some(n) => {
                if item.name.is_some() && used.contains(&n) {
                    return Err(duplicate_column(kw, &n));
                }
                unique_name(n, &used)
            }
            None => {
                let taken = |n: &str| used.contains(n) || view.columns.iter().any(|c| c.name == n);
                next_default_name(&mut counter, &taken)
            }
        };
        used.insert(name.clone());
        out_cols.push(Column::new(name, t.ty));
        keys.push(t);
    }
    let mut specs: Vec<AggSpec> = Vec::new();
    for item in aggs {
        let (spec, name) = compile_aggregate(item, &scope)?;
        let name = match name {
            Some(n) => {
                if item.name.is_some() && used.contains(&n) {
                    return Err(duplicate_column(kw, &n));
                }
                unique_name(n, &used)
            }
            None => {
                let taken = |n: &str| used.contains(n) || view.columns.iter().any(|c| c.name == n);
                next_default_name(&mut counter, &taken)
            }
        };
        used.insert(name.clone());
        out_cols.push(Column::new(name, spec.out_ty));
        specs.push(spec);
    }

    gov.check(kw)?;
    let frame = view.frame(gov);
    let nagg = specs.len();
    // What one new group stores: its key values, their hashed form, its aggregate
    // states, and the index entry.
    let group_bytes = keys.len()
        * (std::mem::size_of::<Value>() + 2 * std::mem::size_of::<GroupKey>())
        + nagg * std::mem::size_of::<AggState>()
        + 2 * std::mem::size_of::<usize>();
    let mut group_keys: Vec<Vec<Value>> = Vec::new();
    let mut states: Vec<AggState> = Vec::new();
    let update_group = |states: &mut Vec<AggState>, g: usize, r: usize| {
        let base = g * nagg;
        for (i, s) in specs.iter().enumerate() {
            if let Some(st) = states.get_mut(base + i) {
                s.update(st, &frame, r);
            }
        }
    };

    if keys.is_empty() {
        // One output row, even for empty input (aggregate defaults).
        group_keys.push(Vec::new());
        states.extend(specs.iter().map(AggSpec::init));
        view.try_for_each_id(gov, kw, |r| update_group(&mut states, 0, r))?;
    } else if let [key] = keys.as_slice() {
        // Single group key: no per-row vectors; consecutive rows of the same
        // group (common in time-ordered logs) skip the hash lookup.
        let mut index: HashMap<GroupKey, usize, FastHashState> = HashMap::default();
        let mut last: Option<(GroupKey, usize)> = None;
        let fast = FastKey::new(&key.expr, &view.data);
        view.try_for_each_id(gov, kw, |r| {
            let (k, v) = match &fast {
                Some(fk) => (fk.get(r).map_or(GroupKey::Null, GroupKey::I), None),
                None => {
                    let v = key.expr.eval(&frame, r);
                    (group_key(&v), Some(v))
                }
            };
            let g = match &last {
                Some((lk, lg)) if *lk == k => *lg,
                _ => {
                    let g = match index.get(&k) {
                        Some(&g) => g,
                        None => {
                            if !gov.charge(group_bytes + group_key_bytes(&k)) {
                                return;
                            }
                            let g = group_keys.len();
                            index.insert(k.clone(), g);
                            let v = v.unwrap_or_else(|| key.expr.eval(&frame, r));
                            group_keys.push(vec![v]);
                            states.extend(specs.iter().map(AggSpec::init));
                            g
                        }
                    };
                    last = Some((k, g));
                    g
                }
            };
            update_group(&mut states, g, r);
        })?;
    } else {
        let mut index: HashMap<Vec<GroupKey>, usize, FastHashState> = HashMap::default();
        let mut key_buf: Vec<GroupKey> = Vec::with_capacity(keys.len());
        let mut val_buf: Vec<Value> = Vec::with_capacity(keys.len());
        view.try_for_each_id(gov, kw, |r| {
            key_buf.clear();
            val_buf.clear();
            for k in &keys {
                let v = k.expr.eval(&frame, r);
                key_buf.push(group_key(&v));
                val_buf.push(v);
            }
            let g = match index.get(key_buf.as_slice()) {
                Some(&g) => g,
                None => {
                    let text: usize = key_buf.iter().map(group_key_bytes).sum();
                    if !gov.charge(group_bytes + text) {
                        return;
                    }
                    let g = group_keys.len();
                    index.insert(key_buf.clone(), g);
                    group_keys.push(val_buf.clone());
                    states.extend(specs.iter().map(AggSpec::init));
                    g
                }
            };
            update_group(&mut states, g, r);
        })?;
    }

    let ngroups = group_keys.len();
    let per_row: usize = out_cols.iter().map(|c| row_bytes(c.ty)).sum();
    gov.reserve(ngroups.saturating_mul(per_row), kw)?;
    let mut data: Vec<ColumnData> = out_cols
        .iter()
        .map(|c| ColumnData::with_capacity(c.ty, ngroups))
        .collect();
    for (g, kv) in group_keys.into_iter().enumerate() {
        for (i, v) in kv.into_iter().enumerate() {
            let ty = out_cols[i].ty;
            data[i].push(coerce_for_column(v, ty).unwrap_or(Value::Null));
        }
        for (i, s) in specs.iter().enumerate() {
            let v = states
                .get(g * nagg + i)
                .map_or(Value::Null, |st| s.finish(st));
            let ci = keys.len() + i;
            data[ci].push(coerce_for_column(v, out_cols[ci].ty).unwrap_or(Value::Null));
        }
    }
    Ok(View {
        columns: out_cols,
        data: data.into_iter().map(Arc::new).collect(),
        base_len: ngroups,
        sel: None,
    })
}

fn distinct(
    view: View,
    cols: Option<&[String]>,
    kw: &str,
    gov: &Governor,
) -> Result<View, KqlError> {
    let idx: Vec<usize> = match cols {
        None => (0..view.columns.len()).collect(),
        Some(names) => {
            let mut v = Vec::new();
            for n in names {
                match view.columns.iter().position(|c| &c.name == n) {
                    Some(i) => v.push(i),
                    None => {
                        return Err(KqlError::semantic(
                            SEM_UNRESOLVED,
                            format!(
                                "'{kw}' operator: Failed to resolve column or scalar expression named '{n}'"
                            ),
                        ));
                    }
                }
            }
            v
        }
    };
    let mut seen: HashSet<Vec<GroupKey>, FastHashState> = HashSet::default();
    let mut keep: Vec<usize> = Vec::new();
    view.try_for_each_id(gov, kw, |r| {
        let key: Vec<GroupKey> = idx
            .iter()
            .map(|&i| group_key(&view.data[i].get(r)))
            .collect();
        if !seen.contains(&key) {
            let bytes = key.iter().map(group_key_bytes).sum::<usize>()
                + std::mem::size_of::<Vec<GroupKey>>()
                + ID_BYTES;
            if gov.charge(bytes) {
                seen.insert(key);
                keep.push(r);
            }
        }
    })?;
    Ok(View {
        columns: idx.iter().map(|&i| view.columns[i].clone()).collect(),
        data: idx.iter().map(|&i| view.data[i].clone()).collect(),
        base_len: view.base_len,
        sel: Some(keep),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("a*", "abc"));
        assert!(wildcard_match("*c", "abc"));
        assert!(wildcard_match("a*c", "abc"));
        assert!(wildcard_match("*", "x"));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        assert!(!wildcard_match("a*c", "ab"));
        assert!(!wildcard_match("abc", "abcd"));
        assert!(!wildcard_match("ab*ba", "aba"));
    }

    #[test]
    fn unique_names() {
        let mut used = HashSet::new();
        used.insert("count_".to_string());
        assert_eq!(unique_name("count_".into(), &used), "count_1");
        assert_eq!(unique_name("x".into(), &used), "x");
    }

    #[test]
    fn group_keys_normalize_reals() {
        assert_eq!(group_key(&Value::Real(0.0)), group_key(&Value::Real(-0.0)));
        assert_eq!(
            group_key(&Value::Real(f64::NAN)),
            group_key(&Value::Real(-f64::NAN))
        );
        assert_ne!(group_key(&Value::Long(1)), group_key(&Value::Real(1.0)));
    }
}
