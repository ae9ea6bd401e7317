//! Columnar tables, JSON ingestion, API rendering and the catalog trait.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::error::IngestError;
use super::value::{self, ColumnType, Value};

/// A column's name and type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Column {
    /// Column name (case-sensitive, as in KQL).
    pub(crate) name: String,
    /// Column type.
    pub(crate) ty: ColumnType,
}

impl Column {
    /// Creates a column description.
    pub(crate) fn new(name: impl Into<String>, ty: ColumnType) -> Column {
        Column {
            name: name.into(),
            ty,
        }
    }
}

/// Typed storage of one column.
#[derive(Clone, Debug)]
pub(super) enum ColumnData {
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i32>>),
    Long(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    DateTime(Vec<Option<i64>>),
    TimeSpan(Vec<Option<i64>>),
    String(Vec<Arc<str>>),
    Dynamic(Vec<Option<Arc<Json>>>),
    Guid(Vec<Option<Uuid>>),
}

/// Bytes one row of a column of type `ty` takes in [`ColumnData`] (a string or dynamic
/// cell holds a pointer to text counted where the text is made).
pub(super) fn row_bytes(ty: ColumnType) -> usize {
    // An empty column allocates nothing.
    ColumnData::with_capacity(ty, 0).row_bytes()
}

/// Bytes one cell of `cells` takes.
fn cell_bytes<T>(_cells: &[T]) -> usize {
    std::mem::size_of::<T>()
}

/// The cells at `idx`, in that order; an index out of range reads as the empty cell.
fn gather<T: Clone + Default>(cells: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter()
        .map(|&i| cells.get(i).cloned().unwrap_or_default())
        .collect()
}

/// Implements [`ColumnData`]'s per-type operations once for every variant named: each of
/// these stores `Option<T>` cells of the [`Value`] and [`ColumnType`] variant of the same
/// name. `String`, whose cells are never null (a null string is ""), is written out.
macro_rules! column_data_ops {
    ($($kind:ident),*) => {
        impl ColumnData {
            /// An empty column of type `ty` with room for `cap` rows.
            pub(super) fn with_capacity(ty: ColumnType, cap: usize) -> ColumnData {
                match ty {
                    $(ColumnType::$kind => ColumnData::$kind(Vec::with_capacity(cap)),)*
                    ColumnType::String => ColumnData::String(Vec::with_capacity(cap)),
                }
            }

            /// Bytes one row of this column takes (see [`row_bytes`]).
            pub(super) fn row_bytes(&self) -> usize {
                match self {
                    $(ColumnData::$kind(cells) => cell_bytes(cells),)*
                    ColumnData::String(cells) => cell_bytes(cells),
                }
            }

            /// Value at `row`; out-of-range rows read as null.
            #[inline]
            pub(super) fn get(&self, row: usize) -> Value {
                match self {
                    $(ColumnData::$kind(cells) => {
                        cells.get(row).cloned().flatten().map_or(Value::Null, Value::$kind)
                    })*
                    ColumnData::String(cells) => {
                        cells.get(row).map_or(Value::Null, |s| Value::String(s.clone()))
                    }
                }
            }

            /// Appends a value that has already been coerced to this column's type.
            /// Values of another type are stored as null.
            pub(super) fn push(&mut self, v: Value) {
                match (self, v) {
                    $(
                        (ColumnData::$kind(cells), Value::$kind(x)) => cells.push(Some(x)),
                        (ColumnData::$kind(cells), _) => cells.push(None),
                    )*
                    (ColumnData::String(cells), Value::String(s)) => cells.push(s),
                    (ColumnData::String(cells), _) => cells.push(Arc::from("")),
                }
            }

            /// New column holding the rows at `idx`, in that order.
            pub(super) fn gather(&self, idx: &[usize]) -> ColumnData {
                match self {
                    $(ColumnData::$kind(cells) => ColumnData::$kind(gather(cells, idx)),)*
                    ColumnData::String(cells) => ColumnData::String(gather(cells, idx)),
                }
            }

            /// Appends the rows of `other`, a column of the same type.
            fn append(&mut self, other: ColumnData) {
                match (self, other) {
                    $((ColumnData::$kind(a), ColumnData::$kind(b)) => a.extend(b),)*
                    (ColumnData::String(a), ColumnData::String(b)) => a.extend(b),
                    // Staged columns are created from the same schema, so kinds match.
                    _ => {}
                }
            }
        }
    };
}

column_data_ops!(Bool, Int, Long, Real, DateTime, TimeSpan, Dynamic, Guid);

/// Converts a value to `ty` for storage, allowing lossless numeric widening
/// (`int`→`long`→`real`) and narrowing `long`→`int` when it fits. `None`
/// means the value cannot be stored in such a column.
pub(super) fn coerce_for_column(v: Value, ty: ColumnType) -> Option<Value> {
    Some(match (v, ty) {
        (Value::Null, ColumnType::String) => Value::string(""),
        (Value::Null, _) => Value::Null,
        (Value::Int(i), ColumnType::Long) => Value::Long(i64::from(i)),
        (Value::Int(i), ColumnType::Real) => Value::Real(f64::from(i)),
        (Value::Long(i), ColumnType::Real) => Value::Real(i as f64),
        (Value::Long(i), ColumnType::Int) => Value::Int(i32::try_from(i).ok()?),
        (Value::DateTime(t), ColumnType::DateTime) if !value::datetime_in_range(t) => return None,
        (v, ty) if v.column_type() == Some(ty) => v,
        _ => return None,
    })
}

/// `v` converted for storage in `col` ([`coerce_for_column`]); the error names `row`.
fn store(v: Value, col: &Column, row: usize) -> Result<Value, IngestError> {
    let got = v.column_type();
    coerce_for_column(v, col.ty).ok_or_else(|| IngestError {
        row,
        column: col.name.clone(),
        message: format!(
            "cannot store a value of type {} in a {} column",
            got.map_or("null", ColumnType::as_str),
            col.ty
        ),
    })
}

/// A named, typed, columnar table.
///
/// Column data is reference counted, so cloning a table (or projecting
/// columns out of it during a query) does not copy rows.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    name: String,
    columns: Vec<Column>,
    data: Vec<Arc<ColumnData>>,
    len: usize,
}

impl Table {
    /// Creates an empty table with the given schema.
    pub(crate) fn new(name: impl Into<String>, columns: Vec<Column>) -> Table {
        let data = columns
            .iter()
            .map(|c| Arc::new(ColumnData::with_capacity(c.ty, 0)))
            .collect();
        Table {
            name: name.into(),
            columns,
            data,
            len: 0,
        }
    }

    pub(super) fn from_parts(
        name: impl Into<String>,
        columns: Vec<Column>,
        data: Vec<Arc<ColumnData>>,
        len: usize,
    ) -> Table {
        Table {
            name: name.into(),
            columns,
            data,
            len,
        }
    }

    pub(super) fn data(&self) -> &[Arc<ColumnData>] {
        &self.data
    }

    /// The table's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Renames the table.
    pub(crate) fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// The schema.
    pub(crate) fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Number of rows.
    pub(crate) fn row_count(&self) -> usize {
        self.len
    }

    /// Index of the first column called `name` (case-sensitive).
    pub(crate) fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The cell at (`row`, `col`), or `None` if out of range.
    pub(crate) fn value(&self, row: usize, col: usize) -> Option<Value> {
        if row >= self.len {
            return None;
        }
        self.data.get(col).map(|d| d.get(row))
    }

    #[cfg(test)]
    /// All cells of one row, or `None` if out of range.
    pub(crate) fn row(&self, row: usize) -> Option<Vec<Value>> {
        if row >= self.len {
            return None;
        }
        Some(self.data.iter().map(|d| d.get(row)).collect())
    }

    /// Iterates over rows as vectors of values.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Vec<Value>> + '_ {
        (0..self.len).map(move |r| self.data.iter().map(|d| d.get(r)).collect())
    }

    /// Appends one row of values, converting numerics losslessly
    /// (`int`→`long`→`real`). A null string cell is stored as "".
    pub(crate) fn push_row(&mut self, row: Vec<Value>) -> Result<(), IngestError> {
        if row.len() != self.columns.len() {
            return Err(IngestError {
                row: 0,
                column: String::new(),
                message: format!("expected {} values, got {}", self.columns.len(), row.len()),
            });
        }
        let mut converted = Vec::with_capacity(row.len());
        for (v, col) in row.into_iter().zip(&self.columns) {
            converted.push(store(v, col, 0)?);
        }
        for (d, v) in self.data.iter_mut().zip(converted) {
            Arc::make_mut(d).push(v);
        }
        self.len += 1;
        Ok(())
    }

    /// Appends JSON objects as rows, converting each property to the declared
    /// column type: numbers to `int`/`long`/`real`, RFC 3339 strings to
    /// `datetime`, `[-][d.]hh:mm:ss[.f]` strings to `timespan`, GUID strings to
    /// `guid`, any JSON to `dynamic`. Missing keys and JSON nulls become null
    /// ("" for strings); keys not in the schema are ignored. On a type
    /// mismatch nothing is appended and the error names the row and column.
    /// Returns the number of rows appended.
    pub(crate) fn append_json_rows(
        &mut self,
        rows: &[Map<String, Json>],
    ) -> Result<usize, IngestError> {
        let mut staged: Vec<ColumnData> = self
            .columns
            .iter()
            .map(|c| ColumnData::with_capacity(c.ty, rows.len()))
            .collect();
        for (ri, obj) in rows.iter().enumerate() {
            for (col, out) in self.columns.iter().zip(staged.iter_mut()) {
                let v = match obj.get(&col.name) {
                    None => Value::Null,
                    Some(j) => json_to_value(j, col.ty).map_err(|message| IngestError {
                        row: ri,
                        column: col.name.clone(),
                        message,
                    })?,
                };
                out.push(v);
            }
        }
        for (d, s) in self.data.iter_mut().zip(staged) {
            Arc::make_mut(d).append(s);
        }
        self.len += rows.len();
        Ok(rows.len())
    }

    /// Builds a table from JSON objects, inferring the schema: integers →
    /// `long` (`real` if any value is fractional or out of range), booleans →
    /// `bool`, strings that are all RFC 3339 timestamps → `datetime`, other
    /// strings (GUID-shaped ones included) → `string`, objects/arrays (or a mix
    /// of kinds) → `dynamic`. Columns appear in first-seen order across rows
    /// (within one object, in `serde_json::Map` iteration order, which is
    /// alphabetical unless serde_json's `preserve_order` feature is on); a
    /// column that is null everywhere is `string`.
    pub(crate) fn from_json_rows(
        name: impl Into<String>,
        rows: &[Map<String, Json>],
    ) -> Result<Table, IngestError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Kind {
            Unknown,
            Integer,
            Float,
            Bool,
            DateTime,
            Str,
            Dynamic,
        }
        fn kind_of(j: &Json) -> Kind {
            match j {
                Json::Null => Kind::Unknown,
                Json::Bool(_) => Kind::Bool,
                Json::Number(n) if n.is_i64() => Kind::Integer,
                Json::Number(_) => Kind::Float,
                Json::String(s) if value::parse_rfc3339(s).is_some() => Kind::DateTime,
                Json::String(_) => Kind::Str,
                Json::Array(_) | Json::Object(_) => Kind::Dynamic,
            }
        }
        fn merge(a: Kind, b: Kind) -> Kind {
            use Kind::*;
            match (a, b) {
                (x, Unknown) | (Unknown, x) => x,
                (x, y) if x == y => x,
                (Integer, Float) | (Float, Integer) => Float,
                (DateTime, Str) | (Str, DateTime) => Str,
                _ => Dynamic,
            }
        }
        let mut order: Vec<String> = Vec::new();
        let mut kinds: HashMap<String, Kind> = HashMap::new();
        for obj in rows {
            for (k, v) in obj {
                let kind = kind_of(v);
                match kinds.get_mut(k) {
                    Some(existing) => *existing = merge(*existing, kind),
                    None => {
                        order.push(k.clone());
                        kinds.insert(k.clone(), kind);
                    }
                }
            }
        }
        let columns = order
            .into_iter()
            .map(|name| {
                let ty = match kinds.get(&name).copied().unwrap_or(Kind::Unknown) {
                    Kind::Integer => ColumnType::Long,
                    Kind::Float => ColumnType::Real,
                    Kind::Bool => ColumnType::Bool,
                    Kind::DateTime => ColumnType::DateTime,
                    Kind::Str | Kind::Unknown => ColumnType::String,
                    Kind::Dynamic => ColumnType::Dynamic,
                };
                Column::new(name, ty)
            })
            .collect();
        let mut t = Table::new(name, columns);
        t.append_json_rows(rows)?;
        Ok(t)
    }

    /// [`Table::to_api_json`] of at most `max_rows` rows whose rendering (the JSON text
    /// of `rows`) stays within `max_bytes`: rows are measured before they are rendered,
    /// so a cell far larger than the limit is never copied. Also says which limit cut the
    /// rows, if one did.
    pub(crate) fn to_api_json_within(
        &self,
        max_rows: usize,
        max_bytes: usize,
    ) -> (Json, Option<Cut>) {
        let mut cut = None;
        let mut rows = Vec::new();
        // `[` and `]` around the rows.
        let mut size = 2usize;
        for r in 0..self.len {
            if r >= max_rows {
                cut = Some(Cut::Records);
                break;
            }
            let cells: usize = self.data.iter().map(|d| cell_json_len(&d.get(r))).sum();
            // The row's brackets, the commas between its cells, and the comma before it.
            let row = cells + 2 + self.data.len().saturating_sub(1) + usize::from(r > 0);
            if size.saturating_add(row) > max_bytes {
                cut = Some(Cut::Size);
                break;
            }
            size += row;
            rows.push(self.row_json(r));
        }
        (self.api_json(rows), cut)
    }

    /// Row `r` as the query API renders it.
    fn row_json(&self, r: usize) -> Json {
        Json::Array(self.data.iter().map(|d| d.get(r).to_api_json()).collect())
    }

    /// The query API's `{"name","columns","rows"}` with these rendered `rows`.
    fn api_json(&self, rows: Vec<Json>) -> Json {
        let columns: Vec<Json> = self
            .columns
            .iter()
            .map(|c| serde_json::json!({"name": c.name, "type": c.ty.as_str()}))
            .collect();
        serde_json::json!({"name": self.name, "columns": columns, "rows": rows})
    }

    /// Renders the table exactly as the Log Analytics query API renders one
    /// entry of `tables`: `{"name":..,"columns":[{"name":..,"type":..}],"rows":[[..]]}`.
    pub(crate) fn to_api_json(&self) -> Json {
        self.api_json((0..self.len).map(|r| self.row_json(r)).collect())
    }

    /// Appends the rows of `other`, matching columns by name: a column `other` lacks is
    /// filled with nulls, a column only `other` has is dropped, and values are converted as
    /// [`Table::push_row`] converts them. On a value that does not fit nothing is appended
    /// and the error names the row and column. Returns the number of rows appended.
    pub(crate) fn append_table(&mut self, other: &Table) -> Result<usize, IngestError> {
        let sources: Vec<Option<usize>> = self
            .columns
            .iter()
            .map(|c| other.column_index(&c.name))
            .collect();
        let mut staged: Vec<ColumnData> = self
            .columns
            .iter()
            .map(|c| ColumnData::with_capacity(c.ty, other.len))
            .collect();
        for ((col, source), out) in self.columns.iter().zip(&sources).zip(staged.iter_mut()) {
            for row in 0..other.len {
                let v = source.map_or(Value::Null, |i| other.data[i].get(row));
                out.push(store(v, col, row)?);
            }
        }
        for (d, s) in self.data.iter_mut().zip(staged) {
            Arc::make_mut(d).append(s);
        }
        self.len += other.len;
        Ok(other.len)
    }
}

/// Which limit [`Table::to_api_json_within`] cut the rows at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The row count limit.
    Records,
    /// The size limit.
    Size,
}

/// Length of a string once written as a JSON string literal, quotes included (the
/// escapes serde_json writes: two characters for a quote, a backslash and the common
/// control characters, six for the other control characters).
fn json_str_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Length of a cell in the API's JSON rendering, measured without copying text cells.
fn cell_json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match v {
        Value::String(s) => json_str_len(s),
        other => {
            let mut n = Count(0);
            // Writing to a counter cannot fail.
            let _ = serde_json::to_writer(&mut n, &other.to_api_json());
            n.0
        }
    }
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Converts one JSON cell to a value of the declared column type.
fn json_to_value(j: &Json, ty: ColumnType) -> Result<Value, String> {
    if j.is_null() {
        return Ok(if ty == ColumnType::String {
            Value::string("")
        } else {
            Value::Null
        });
    }
    let mismatch = || format!("expected a value for a {ty} column, got {}", json_kind(j));
    match ty {
        ColumnType::Dynamic => Ok(Value::dynamic(j.clone())),
        ColumnType::String => j.as_str().map(Value::string).ok_or_else(mismatch),
        ColumnType::Bool => j.as_bool().map(Value::Bool).ok_or_else(mismatch),
        ColumnType::Long => json_integer(j)
            .map(Value::Long)
            .ok_or_else(|| format!("expected an integer for a long column, got {j}")),
        ColumnType::Int => json_integer(j)
            .and_then(|i| i32::try_from(i).ok())
            .map(Value::Int)
            .ok_or_else(|| format!("expected a 32-bit integer for an int column, got {j}")),
        ColumnType::Real => j.as_f64().map(Value::Real).ok_or_else(mismatch),
        ColumnType::DateTime => {
            let s = j.as_str().ok_or_else(mismatch)?;
            value::parse_datetime(s)
                .map(Value::DateTime)
                .ok_or_else(|| format!("'{s}' is not a valid datetime (expected RFC 3339)"))
        }
        ColumnType::TimeSpan => {
            let s = j.as_str().ok_or_else(mismatch)?;
            value::parse_timespan(s)
                .map(Value::TimeSpan)
                .ok_or_else(|| {
                    format!("'{s}' is not a valid timespan (expected [-][d.]hh:mm:ss[.fffffff])")
                })
        }
        ColumnType::Guid => {
            let s = j.as_str().ok_or_else(mismatch)?;
            Uuid::try_parse(s)
                .map(Value::Guid)
                .map_err(|_| format!("'{s}' is not a valid guid"))
        }
    }
}

/// An integer from a JSON number, also accepting integral floats.
fn json_integer(j: &Json) -> Option<i64> {
    if let Some(i) = j.as_i64() {
        return Some(i);
    }
    let f = j.as_f64()?;
    if f.fract() == 0.0 && f.abs() < 9.0e18 {
        Some(f as i64)
    } else {
        None
    }
}

/// Where a query finds its source tables. Implement this over the host's
/// store; implementations are provided for maps and slices of tables.
pub(crate) trait Catalog {
    /// The table called `name` (case-sensitive), if any.
    fn table(&self, name: &str) -> Option<&Table>;
}

impl Catalog for HashMap<String, Table> {
    fn table(&self, name: &str) -> Option<&Table> {
        self.get(name)
    }
}

impl Catalog for BTreeMap<String, Table> {
    fn table(&self, name: &str) -> Option<&Table> {
        self.get(name)
    }
}

impl Catalog for [Table] {
    fn table(&self, name: &str) -> Option<&Table> {
        self.iter().find(|t| t.name == name)
    }
}

impl Catalog for Vec<Table> {
    fn table(&self, name: &str) -> Option<&Table> {
        self.as_slice().table(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objs(v: Json) -> Vec<Map<String, Json>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn append_json_converts_declared_types() {
        let mut t = Table::new(
            "T",
            vec![
                Column::new("TimeGenerated", ColumnType::DateTime),
                Column::new("Name", ColumnType::String),
                Column::new("N", ColumnType::Long),
                Column::new("R", ColumnType::Real),
                Column::new("D", ColumnType::Dynamic),
                Column::new("G", ColumnType::Guid),
                Column::new("S", ColumnType::TimeSpan),
                Column::new("B", ColumnType::Bool),
                Column::new("I", ColumnType::Int),
            ],
        );
        let rows = objs(json!([
            {"TimeGenerated": "2024-01-01T00:00:00.5Z", "Name": "a", "N": 1, "R": 2,
             "D": {"x": [1]}, "G": "74be27de-1e4e-49d9-b579-fe0b331d3642", "S": "00:00:10",
             "B": true, "I": 5, "extra": "ignored"},
            {}
        ]));
        assert_eq!(t.append_json_rows(&rows).unwrap(), 2);
        assert_eq!(t.row_count(), 2);
        let j = t.to_api_json();
        assert_eq!(
            j["rows"][0],
            json!([
                "2024-01-01T00:00:00.5Z",
                "a",
                1,
                2,
                "{\"x\":[1]}",
                "74be27de-1e4e-49d9-b579-fe0b331d3642",
                "00:00:10",
                true,
                5
            ])
        );
        assert_eq!(
            j["rows"][1],
            json!([null, "", null, null, null, null, null, null, null])
        );
    }

    #[test]
    fn append_json_mismatch_names_column_and_is_atomic() {
        let mut t = Table::new("T", vec![Column::new("N", ColumnType::Long)]);
        let rows = objs(json!([{"N": 1}, {"N": "two"}]));
        let e = t.append_json_rows(&rows).unwrap_err();
        assert_eq!(e.row, 1);
        assert_eq!(e.column, "N");
        assert_eq!(t.row_count(), 0, "no partial append");
        let e = t.append_json_rows(&objs(json!([{"N": 1.5}]))).unwrap_err();
        assert!(e.message.contains("integer"), "{}", e.message);
    }

    #[test]
    fn append_json_bad_datetime_and_int_range() {
        let mut t = Table::new(
            "T",
            vec![
                Column::new("T", ColumnType::DateTime),
                Column::new("I", ColumnType::Int),
            ],
        );
        let e = t
            .append_json_rows(&objs(json!([{"T": "yesterday"}])))
            .unwrap_err();
        assert_eq!(e.column, "T");
        let e = t
            .append_json_rows(&objs(json!([{"I": 5_000_000_000_i64}])))
            .unwrap_err();
        assert_eq!(e.column, "I");
    }

    #[test]
    fn from_json_rows_infers_schema() {
        let rows = objs(json!([
            {"t": "2024-01-01T00:00:00Z", "id": "74be27de-1e4e-49d9-b579-fe0b331d3642",
             "n": 1, "r": 1, "b": false, "o": {"a": 1}, "mixed": 1, "nul": null},
            {"t": "2024-01-02T00:00:00Z", "n": 2, "r": 1.5, "o": [1], "mixed": "x"}
        ]));
        let t = Table::from_json_rows("X", &rows).unwrap();
        let types: Vec<(String, ColumnType)> =
            t.columns().iter().map(|c| (c.name.clone(), c.ty)).collect();
        assert_eq!(
            types,
            // Columns in order of first appearance (serde_json keeps object order here).
            vec![
                ("t".into(), ColumnType::DateTime),
                ("id".into(), ColumnType::String),
                ("n".into(), ColumnType::Long),
                ("r".into(), ColumnType::Real),
                ("b".into(), ColumnType::Bool),
                ("o".into(), ColumnType::Dynamic),
                ("mixed".into(), ColumnType::Dynamic),
                ("nul".into(), ColumnType::String),
            ]
        );
        assert_eq!(t.row_count(), 2);
        assert_eq!(t.value(1, 3), Some(Value::Real(1.5)));
        assert_eq!(t.value(1, 1), Some(Value::string("")));
    }

    #[test]
    fn datetime_and_string_mix_becomes_string() {
        let rows = objs(json!([{"a": "2024-01-01T00:00:00Z"}, {"a": "hello"}]));
        let t = Table::from_json_rows("X", &rows).unwrap();
        assert_eq!(t.columns()[0].ty, ColumnType::String);
        assert_eq!(t.value(0, 0), Some(Value::string("2024-01-01T00:00:00Z")));
    }

    #[test]
    fn push_row_widens_and_rejects() {
        let mut t = Table::new(
            "T",
            vec![
                Column::new("r", ColumnType::Real),
                Column::new("s", ColumnType::String),
            ],
        );
        t.push_row(vec![Value::Long(2), Value::Null]).unwrap();
        assert_eq!(t.row(0), Some(vec![Value::Real(2.0), Value::string("")]));
        let mut d = Table::new("D", vec![Column::new("t", ColumnType::DateTime)]);
        assert!(
            d.push_row(vec![Value::DateTime(i64::MAX)]).is_err(),
            "out of range"
        );
        assert!(d.push_row(vec![Value::DateTime(0)]).is_ok());
        assert!(t.push_row(vec![Value::string("x"), Value::Null]).is_err());
        assert!(t.push_row(vec![Value::Null]).is_err());
        assert_eq!(t.row_count(), 1);
    }

    #[test]
    fn catalogs() {
        let t = Table::new("A", vec![]);
        let v = vec![t.clone()];
        assert!(v.table("A").is_some());
        assert!(v.table("a").is_none(), "case-sensitive");
        let mut m = HashMap::new();
        m.insert("A".to_string(), t);
        assert!(m.table("A").is_some());
    }

    #[test]
    fn append_table_matches_columns_by_name() {
        let mut dst = Table::new(
            "T",
            vec![
                Column::new("a", ColumnType::Long),
                Column::new("b", ColumnType::String),
                Column::new("r", ColumnType::Real),
            ],
        );
        let mut src = Table::new(
            "S",
            vec![
                Column::new("r", ColumnType::Long),
                Column::new("extra", ColumnType::Bool),
                Column::new("a", ColumnType::Int),
            ],
        );
        src.push_row(vec![Value::Long(2), Value::Bool(true), Value::Int(7)])
            .unwrap();
        assert_eq!(dst.append_table(&src).unwrap(), 1);
        assert_eq!(
            dst.row(0),
            Some(vec![Value::Long(7), Value::string(""), Value::Real(2.0)])
        );
        let mut bad = Table::new("B", vec![Column::new("a", ColumnType::String)]);
        bad.push_row(vec![Value::string("x")]).unwrap();
        let e = dst.append_table(&bad).unwrap_err();
        assert_eq!((e.row, e.column.as_str()), (0, "a"));
        assert_eq!(dst.row_count(), 1, "nothing appended on error");
    }

    #[test]
    fn clone_shares_and_copy_on_write() {
        let mut a = Table::new("A", vec![Column::new("x", ColumnType::Long)]);
        a.push_row(vec![Value::Long(1)]).unwrap();
        let b = a.clone();
        a.push_row(vec![Value::Long(2)]).unwrap();
        assert_eq!(a.row_count(), 2);
        assert_eq!(b.row_count(), 1);
        assert_eq!(b.rows().collect::<Vec<_>>(), vec![vec![Value::Long(1)]]);
    }
}
