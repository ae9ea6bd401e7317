//! `summarize`: aggregation functions and grouping.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::grouping::{FastHashState, FastKey, GroupKey, group_key, group_key_bytes};
use super::project::next_default_name;
use super::{View, duplicate_column};
use crate::kql::ast::{ExprKind, NamedExpr};
use crate::kql::error::KqlError;
use crate::kql::eval::{self, CExpr, Frame, KNOWN_AGGREGATES, Scope, Typed};
use crate::kql::limits::Governor;
use crate::kql::table::{Column, ColumnData, coerce_for_column, row_bytes};
use crate::kql::value::{ColumnType, Value, compare_same_type};

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
                        if let Some(x) = crate::kql::value::as_f64(&v) {
                            *s += x;
                        }
                    }
                    AggState::Avg(s, n) => {
                        if let Some(x) = crate::kql::value::as_f64(&v) {
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
pub(super) fn unique_name(name: String, used: &HashSet<String>) -> String {
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

pub(super) fn summarize(
    view: View,
    aggs: &[NamedExpr],
    by: &[NamedExpr],
    kw: &str,
    now: i64,
    gov: &Governor,
) -> Result<View, KqlError> {
    let scope = Scope::new(&view.columns, kw, now, gov);
    let mut out_cols: Vec<Column> = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    let mut counter = 0usize;
    // Names an output column: its own or inferred name made unique (a name given twice is an
    // error), else the next free default name.
    let mut add_column = |name: Option<String>, given: bool, ty: ColumnType| {
        let name = match name {
            Some(n) => {
                if given && used.contains(&n) {
                    return Err(duplicate_column(kw, &n));
                }
                unique_name(n, &used)
            }
            None => next_default_name(&mut counter, &view.columns, &out_cols),
        };
        used.insert(name.clone());
        out_cols.push(Column::new(name, ty));
        Ok(())
    };
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
        let name = item.name.clone().or_else(|| eval::infer_name(&item.expr));
        add_column(name, item.name.is_some(), t.ty)?;
        keys.push(t);
    }
    let mut specs: Vec<AggSpec> = Vec::new();
    for item in aggs {
        let (spec, name) = compile_aggregate(item, &scope)?;
        add_column(name, item.name.is_some(), spec.out_ty)?;
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
