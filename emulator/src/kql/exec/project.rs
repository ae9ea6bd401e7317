//! `project`, `extend`, `project-away` and `project-rename`: computing, choosing and renaming columns.

use std::collections::HashSet;
use std::sync::Arc;

use super::{View, duplicate_column};
use crate::kql::ast::NamedExpr;
use crate::kql::error::KqlError;
use crate::kql::eval::{self, CExpr, SEM_UNRESOLVED, Scope, Typed};
use crate::kql::limits::Governor;
use crate::kql::table::{Column, ColumnData, coerce_for_column, row_bytes};
use crate::kql::value::Value;

/// Chooses `Column1`, `Column2`, ... skipping the names of the input and output columns.
pub(super) fn next_default_name(
    counter: &mut usize,
    input: &[Column],
    output: &[Column],
) -> String {
    loop {
        *counter += 1;
        let name = format!("Column{counter}");
        if !input.iter().chain(output).any(|c| c.name == name) {
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

pub(super) fn project(
    mut view: View,
    items: &[NamedExpr],
    kw: &str,
    now: i64,
    extend: bool,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope::new(&view.columns, kw, now, gov);
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
            None => eval::infer_name(&item.expr)
                .unwrap_or_else(|| next_default_name(&mut counter, &view.columns, &out_cols)),
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

pub(super) fn wildcard_match(pattern: &str, name: &str) -> bool {
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

pub(super) fn project_away(view: View, patterns: &[String], kw: &str) -> Result<View, KqlError> {
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

pub(super) fn project_rename(
    mut view: View,
    pairs: &[(String, String)],
    kw: &str,
) -> Result<View, KqlError> {
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
