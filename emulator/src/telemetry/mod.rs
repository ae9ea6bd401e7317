//! The data behind the Monitor APIs: Log Analytics workspace tables (by `customerId`),
//! Application Insights component tables (by `AppId`) and custom metric points (by resource
//! id).
//!
//! Tables are columnar with reference-counted columns, so handing a query its tables is a
//! cheap clone; a write while a query still holds one copies only the columns it appends to.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) mod app_tables;
pub(crate) mod dcr;
pub(crate) mod timespan;
pub(crate) mod workspace_schema;

use crate::changes::{Counter, Log, Mark};
use crate::kql::{Column, ColumnType, IngestError, Table};

/// Every table of one workspace or component, by name (case-sensitive, as in KQL).
pub(crate) type Tables = BTreeMap<String, Table>;

/// One minute's aggregate of a metric time series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Aggregate {
    /// Smallest value seen.
    pub(crate) min: f64,
    /// Largest value seen.
    pub(crate) max: f64,
    /// Sum of the values.
    pub(crate) sum: f64,
    /// Number of values.
    pub(crate) count: f64,
}

/// Persisted as `[min, max, sum, count]`, a value that is not finite as its text.
impl Serialize for Aggregate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.min, self.max, self.sum, self.count]
            .map(Float)
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Aggregate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let [min, max, sum, count] = <[Float; 4]>::deserialize(d)?.map(|f| f.0);
        Ok(Self {
            min,
            max,
            sum,
            count,
        })
    }
}

/// A float that survives JSON even when not finite.
struct Float(f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(&self.0.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_f64()
                .map(Float)
                .ok_or_else(|| serde::de::Error::custom("bad number")),
            serde_json::Value::String(s) => s
                .parse()
                .map(Float)
                .map_err(|_| serde::de::Error::custom("bad float")),
            _ => Err(serde::de::Error::custom("expected a number")),
        }
    }
}

impl Aggregate {
    /// Folds `other` into this aggregate.
    pub(crate) fn merge(&mut self, other: &Aggregate) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// One custom metric of a resource: its dimensions and, per combination of dimension values,
/// its points by minute.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metric {
    /// Name as first written.
    pub(crate) name: String,
    /// Dimension names, as first written, in order of first appearance.
    pub(crate) dimensions: Vec<String>,
    /// Series by dimension values (one per entry of `dimensions`; "" where a post did not
    /// name one), each with its points keyed by the Unix minute they fall in.
    pub(crate) series: BTreeMap<Vec<String>, BTreeMap<i64, Aggregate>>,
}

/// A custom metric namespace of a resource.
#[derive(Debug, Clone, Default)]
pub(crate) struct Namespace {
    /// Name as first written.
    pub(crate) name: String,
    /// Metrics by lower-case name.
    pub(crate) metrics: BTreeMap<String, Metric>,
}

/// One posted series, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Point {
    /// Dimension names with their values.
    pub(crate) dimensions: Vec<(String, String)>,
    /// The minute's aggregate.
    pub(crate) value: Aggregate,
}

/// Everything the Monitor APIs store.
#[derive(Debug, Default, Clone)]
pub(crate) struct MonitorStore {
    workspaces: HashMap<Uuid, Tables>,
    apps: HashMap<Uuid, Tables>,
    /// Lower-case resource id → namespaces by lower-case name.
    metrics: HashMap<String, BTreeMap<String, Namespace>>,
    /// Writes since persistence last looked (`None`: not persisted). Rows are appended,
    /// never rewritten, so the writes themselves are journaled rather than whole tables.
    log: Option<Log<MonitorOp>>,
}

/// Custom metric points posted for one minute of one metric (persisted as it is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Points {
    /// Resource id.
    pub(crate) resource: String,
    /// Namespace.
    pub(crate) namespace: String,
    /// Metric.
    pub(crate) metric: String,
    /// Unix minute.
    pub(crate) minute: i64,
    /// The series.
    pub(crate) points: Vec<Point>,
}

/// A write to a [`MonitorStore`], as persistence journals and replays it.
#[derive(Debug, Clone)]
pub(crate) enum MonitorOp {
    /// [`MonitorStore::append_workspace`].
    Workspace {
        /// The workspace's `customerId`.
        customer_id: Uuid,
        /// Table name.
        table: String,
        /// The rows as given.
        rows: Table,
        /// The arrival time stamped on rows without `TimeGenerated`.
        now: OffsetDateTime,
    },
    /// [`MonitorStore::append_app`].
    App {
        /// The component's `AppId`.
        app_id: Uuid,
        /// Table name.
        table: String,
        /// The table's schema.
        schema: Vec<Column>,
        /// The rows as given.
        rows: Table,
    },
    /// [`MonitorStore::add_points`].
    Points(Points),
}

impl MonitorStore {
    /// The tables of the workspace with this `customerId` (none until data arrives).
    pub(crate) fn workspace_tables(&self, customer_id: &Uuid) -> Option<&Tables> {
        self.workspaces.get(customer_id)
    }

    /// The tables seeded into the component with this `AppId`.
    pub(crate) fn app_tables(&self, app_id: &Uuid) -> Option<&Tables> {
        self.apps.get(app_id)
    }

    /// Appends `rows` to a workspace table, creating it with their schema (plus a
    /// `TimeGenerated` column) when it does not exist yet. Returns the table's row count.
    pub(crate) fn append_workspace(
        &mut self,
        customer_id: Uuid,
        name: &str,
        rows: &Table,
        now: OffsetDateTime,
    ) -> Result<usize, IngestError> {
        // Journaled whatever the outcome: a failed append may still have created the table,
        // and replay fails the same way.
        self.record(|| MonitorOp::Workspace {
            customer_id,
            table: name.to_owned(),
            rows: rows.clone(),
            now,
        });
        let tables = self.workspaces.entry(customer_id).or_default();
        append(tables, name, rows, Some(now), || {
            with_time_generated(rows.columns())
        })
    }

    /// Appends `rows` to a component table whose schema is `schema`.
    pub(crate) fn append_app(
        &mut self,
        app_id: Uuid,
        name: &str,
        schema: &[Column],
        rows: &Table,
    ) -> Result<usize, IngestError> {
        self.record(|| MonitorOp::App {
            app_id,
            table: name.to_owned(),
            schema: schema.to_vec(),
            rows: rows.clone(),
        });
        let tables = self.apps.entry(app_id).or_default();
        append(tables, name, rows, None, || schema.to_vec())
    }

    /// Stores custom metric points for a resource, merging points of the same minute and
    /// series.
    pub(crate) fn add_points(
        &mut self,
        resource_id: &str,
        namespace: &str,
        metric: &str,
        minute: i64,
        points: &[Point],
    ) {
        self.record(|| {
            MonitorOp::Points(Points {
                resource: resource_id.to_owned(),
                namespace: namespace.to_owned(),
                metric: metric.to_owned(),
                minute,
                points: points.to_vec(),
            })
        });
        let ns = self
            .metrics
            .entry(resource_id.to_ascii_lowercase())
            .or_default()
            .entry(namespace.to_ascii_lowercase())
            .or_insert_with(|| Namespace {
                name: namespace.to_owned(),
                ..Namespace::default()
            });
        let m = ns
            .metrics
            .entry(metric.to_ascii_lowercase())
            .or_insert_with(|| Metric {
                name: metric.to_owned(),
                ..Metric::default()
            });
        for point in points {
            for (dim, _) in &point.dimensions {
                if !m.dimensions.iter().any(|d| d.eq_ignore_ascii_case(dim)) {
                    m.dimensions.push(dim.clone());
                    // Existing series had no value for the new dimension.
                    m.series = std::mem::take(&mut m.series)
                        .into_iter()
                        .map(|(mut key, points)| {
                            key.push(String::new());
                            (key, points)
                        })
                        .collect();
                }
            }
            let key: Vec<String> = m
                .dimensions
                .iter()
                .map(|d| {
                    point
                        .dimensions
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(d))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect();
            m.series
                .entry(key)
                .or_default()
                .entry(minute)
                .and_modify(|a| a.merge(&point.value))
                .or_insert(point.value);
        }
    }

    /// The custom metric namespaces of a resource, by lower-case name.
    pub(crate) fn namespaces(&self, resource_id: &str) -> Option<&BTreeMap<String, Namespace>> {
        self.metrics.get(&resource_id.to_ascii_lowercase())
    }

    fn record(&mut self, op: impl FnOnce() -> MonitorOp) {
        if let Some(log) = &mut self.log {
            log.push(op());
        }
    }

    /// Starts journaling writes, for persistence (see [`crate::persist`]).
    pub(crate) fn track(&mut self, counter: Counter) {
        self.log = Some(Log::new(counter));
    }

    /// The writes since the last call, in order.
    pub(crate) fn take_ops(&mut self) -> Vec<MonitorOp> {
        self.log.as_mut().map(Log::take).unwrap_or_default()
    }

    /// Replays a journaled write (its outcome was already reported when it first ran).
    pub(crate) fn apply(&mut self, op: &MonitorOp) {
        let _ = match op {
            MonitorOp::Workspace {
                customer_id,
                table,
                rows,
                now,
            } => self.append_workspace(*customer_id, table, rows, *now),
            MonitorOp::App {
                app_id,
                table,
                schema,
                rows,
            } => self.append_app(*app_id, table, schema, rows),
            MonitorOp::Points(p) => {
                self.add_points(&p.resource, &p.namespace, &p.metric, p.minute, &p.points);
                Ok(0)
            }
        };
    }

    /// Every workspace's and component's tables (`true` for components), for a snapshot.
    pub(crate) fn all_tables(&self) -> impl Iterator<Item = (bool, &Uuid, &Tables)> {
        (self.workspaces.iter().map(|(id, t)| (false, id, t)))
            .chain(self.apps.iter().map(|(id, t)| (true, id, t)))
    }

    /// Puts back a whole table as persisted (replay).
    pub(crate) fn load_table(&mut self, component: bool, id: Uuid, table: Table) {
        let map = if component {
            &mut self.apps
        } else {
            &mut self.workspaces
        };
        map.entry(id)
            .or_default()
            .insert(table.name().to_owned(), table);
    }

    /// Every resource's custom metrics (lower-case id → namespaces), for a snapshot.
    pub(crate) fn all_metrics(
        &self,
    ) -> impl Iterator<Item = (&String, &BTreeMap<String, Namespace>)> {
        self.metrics.iter()
    }

    /// Puts back a resource's custom metrics as persisted (replay).
    pub(crate) fn load_metrics(
        &mut self,
        resource: String,
        namespaces: BTreeMap<String, Namespace>,
    ) {
        self.metrics.insert(resource, namespaces);
    }
}

/// `columns` as a workspace table holds them: with a `TimeGenerated` first where they lack
/// one (rows without it are stamped with their arrival time).
pub(crate) fn with_time_generated(columns: &[Column]) -> Vec<Column> {
    let mut columns = columns.to_vec();
    if !columns.iter().any(|c| c.name == "TimeGenerated") {
        columns.insert(0, Column::new("TimeGenerated", ColumnType::DateTime));
    }
    columns
}

fn append(
    tables: &mut Tables,
    name: &str,
    rows: &Table,
    time_generated: Option<OffsetDateTime>,
    schema: impl FnOnce() -> Vec<Column>,
) -> Result<usize, IngestError> {
    let table = tables
        .entry(name.to_owned())
        .or_insert_with(|| Table::new(name, schema()));
    match time_generated {
        // Rows without a TimeGenerated get the time they arrived, as Log Analytics does.
        Some(now) => {
            let stamp = crate::kql::Value::from_datetime(now);
            let at = rows.column_index("TimeGenerated");
            let mut stamped = Table::new(name, with_time_generated(rows.columns()));
            for mut row in rows.rows() {
                match at {
                    Some(i) if row[i].is_null() => row[i] = stamp.clone(),
                    Some(_) => {}
                    None => row.insert(0, stamp.clone()),
                }
                stamped.push_row(row)?;
            }
            table.append_table(&stamped)?;
        }
        None => {
            table.append_table(rows)?;
        }
    }
    Ok(table.row_count())
}

impl crate::changes::Tracked for MonitorStore {
    /// The mark of the last write journaled (see [`crate::changes`]).
    fn last_mark(&self) -> Mark {
        self.log.as_ref().map_or(Mark::NONE, Log::last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kql::Value;

    #[test]
    fn workspace_tables_are_created_with_time_generated_and_keep_their_schema() {
        let mut store = MonitorStore::default();
        let ws = Uuid::from_u128(1);
        let now = time::macros::datetime!(2024-01-01 0:00 UTC);
        let mut rows = Table::new("x", vec![Column::new("Msg", ColumnType::String)]);
        rows.push_row(vec![Value::string("a")]).expect("row");
        assert_eq!(store.append_workspace(ws, "T_CL", &rows, now), Ok(1));
        let t = &store.workspace_tables(&ws).expect("tables")["T_CL"];
        assert_eq!(t.columns()[0].name, "TimeGenerated");
        assert_eq!(t.value(0, 0), Some(Value::from_datetime(now)));
        let mut more = Table::new(
            "y",
            vec![
                Column::new("Msg", ColumnType::String),
                Column::new("New", ColumnType::Long),
            ],
        );
        more.push_row(vec![Value::string("b"), Value::Long(1)])
            .expect("row");
        assert_eq!(store.append_workspace(ws, "T_CL", &more, now), Ok(2));
        let t = &store.workspace_tables(&ws).expect("tables")["T_CL"];
        assert_eq!(
            t.columns().len(),
            2,
            "columns unknown to the table are dropped"
        );
    }

    #[test]
    fn points_merge_per_minute_and_series() {
        let mut store = MonitorStore::default();
        let agg = |v: f64| Aggregate {
            min: v,
            max: v,
            sum: v,
            count: 1.0,
        };
        let p = |dims: &[(&str, &str)], v| Point {
            dimensions: dims
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            value: agg(v),
        };
        store.add_points("/R", "NS", "M", 10, &[p(&[("Proc", "a")], 1.0)]);
        store.add_points("/r", "ns", "m", 10, &[p(&[("proc", "a")], 3.0)]);
        store.add_points(
            "/r",
            "ns",
            "m",
            11,
            &[p(&[("Proc", "b"), ("Host", "h")], 5.0)],
        );
        let ns = &store.namespaces("/R").expect("resource")["ns"];
        assert_eq!(ns.name, "NS");
        let m = &ns.metrics["m"];
        assert_eq!(m.dimensions, ["Proc", "Host"]);
        let a = &m.series[&vec!["a".to_owned(), String::new()]][&10];
        assert_eq!((a.min, a.max, a.sum, a.count), (1.0, 3.0, 4.0, 2.0));
        assert!(m.series.contains_key(&vec!["b".to_owned(), "h".to_owned()]));
    }
}
