//! `where`, `take`/`limit`, `top` and `sort`/`order`: selecting and ordering rows.

use super::{ID_BYTES, View};
use crate::kql::ast::{Expr, SortKey};
use crate::kql::error::KqlError;
use crate::kql::eval::{self, Scope};
use crate::kql::limits::{CHUNK, Governor};
use crate::kql::value::{ColumnType, Value};

pub(super) fn where_op(
    mut view: View,
    e: &Expr,
    kw: &str,
    now: i64,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope::new(&view.columns, kw, now, gov);
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

pub(super) fn const_count(e: &Expr, kw: &str, now: i64, gov: &Governor) -> Result<usize, KqlError> {
    let scope = Scope::new(&[], kw, now, gov);
    let t = eval::compile(e, &scope)?;
    match t.expr.as_const() {
        Some(Value::Long(n)) if *n >= 0 => Ok(usize::try_from(*n).unwrap_or(usize::MAX)),
        Some(Value::Int(n)) if *n >= 0 => Ok(usize::try_from(*n).unwrap_or(0)),
        _ => Err(scope.type_error("The row count must be a non-negative integer constant")),
    }
}

pub(super) fn take(mut view: View, n: usize, gov: &Governor, kw: &str) -> Result<View, KqlError> {
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
pub(super) fn sort(
    mut view: View,
    keys: &[SortKey],
    kw: &str,
    now: i64,
    limit: Option<usize>,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope::new(&view.columns, kw, now, gov);
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
