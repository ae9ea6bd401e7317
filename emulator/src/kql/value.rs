//! Scalar types and values, plus the datetime/timespan/real text formats
//! KQL and the Log Analytics API use.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

/// 100-nanosecond ticks in one second (KQL's datetime/timespan precision).
pub(crate) const TICKS_PER_SECOND: i64 = 10_000_000;
/// Ticks in one millisecond.
pub(crate) const TICKS_PER_MILLISECOND: i64 = 10_000;
/// Ticks in one minute.
pub(crate) const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
/// Ticks in one hour.
pub(crate) const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
/// Ticks in one day.
pub(crate) const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;
/// Ticks from 0001-01-01 (the .NET/KQL epoch) to 1970-01-01.
pub(super) const DOTNET_EPOCH_OFFSET_TICKS: i64 = 621_355_968_000_000_000;

/// Smallest valid datetime (0001-01-01T00:00:00Z) in ticks since the Unix epoch.
pub(super) const MIN_DATETIME_TICKS: i64 = -DOTNET_EPOCH_OFFSET_TICKS;
/// Largest valid datetime (9999-12-31T23:59:59.9999999Z) in ticks since the Unix epoch.
pub(super) const MAX_DATETIME_TICKS: i64 = 2_534_023_007_999_999_999;

/// A KQL scalar column type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ColumnType {
    /// `bool`
    Bool,
    /// `int` (32-bit)
    Int,
    /// `long` (64-bit)
    Long,
    /// `real` (64-bit float)
    Real,
    /// `datetime` (100 ns precision, UTC)
    DateTime,
    /// `timespan` (100 ns precision)
    TimeSpan,
    /// `string`
    String,
    /// `dynamic` (JSON)
    Dynamic,
    /// `guid`
    Guid,
}

impl ColumnType {
    /// The type name as the Log Analytics API reports it in `columns[].type`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ColumnType::Bool => "bool",
            ColumnType::Int => "int",
            ColumnType::Long => "long",
            ColumnType::Real => "real",
            ColumnType::DateTime => "datetime",
            ColumnType::TimeSpan => "timespan",
            ColumnType::String => "string",
            ColumnType::Dynamic => "dynamic",
            ColumnType::Guid => "guid",
        }
    }

    /// Parses a KQL type name, accepting the usual aliases
    /// (`double`, `boolean`, `date`, `time`, `uuid`, `uniqueid`, `int64`, `int32`).
    pub(crate) fn parse(name: &str) -> Option<ColumnType> {
        Some(match name {
            "bool" | "boolean" => ColumnType::Bool,
            "int" | "int32" => ColumnType::Int,
            "long" | "int64" => ColumnType::Long,
            "real" | "double" => ColumnType::Real,
            "datetime" | "date" => ColumnType::DateTime,
            "timespan" | "time" => ColumnType::TimeSpan,
            "string" => ColumnType::String,
            "dynamic" => ColumnType::Dynamic,
            "guid" | "uuid" | "uniqueid" => ColumnType::Guid,
            _ => return None,
        })
    }

    /// True for `int`, `long` and `real`.
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Long | ColumnType::Real)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed KQL scalar value.
///
/// Datetimes and timespans are stored as 100-nanosecond ticks (KQL's own
/// precision); datetimes count from the Unix epoch. Use
/// [`Value::from_datetime`] / [`Value::as_datetime`] and
/// [`Value::from_duration`] / [`Value::as_duration`] to convert.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A null of any type.
    Null,
    /// `bool`
    Bool(bool),
    /// `int`
    Int(i32),
    /// `long`
    Long(i64),
    /// `real`
    Real(f64),
    /// `datetime`: ticks since 1970-01-01T00:00:00Z.
    DateTime(i64),
    /// `timespan`: ticks.
    TimeSpan(i64),
    /// `string` (KQL strings are never null; null converts to "").
    String(Arc<str>),
    /// `dynamic`: any JSON value except JSON null (which is [`Value::Null`]).
    Dynamic(Arc<serde_json::Value>),
    /// `guid`
    Guid(Uuid),
}

impl Value {
    /// A string value.
    pub(crate) fn string(s: impl AsRef<str>) -> Value {
        Value::String(Arc::from(s.as_ref()))
    }

    /// A dynamic value; JSON null becomes [`Value::Null`].
    pub(crate) fn dynamic(v: serde_json::Value) -> Value {
        if v.is_null() {
            Value::Null
        } else {
            Value::Dynamic(Arc::new(v))
        }
    }

    /// A datetime value from an `OffsetDateTime` (truncated to 100 ns).
    /// Returns `Value::Null` outside KQL's range (years 1..=9999).
    pub(crate) fn from_datetime(dt: OffsetDateTime) -> Value {
        match offset_datetime_to_ticks(dt) {
            Some(t) => Value::DateTime(t),
            None => Value::Null,
        }
    }

    #[cfg(test)]
    /// A timespan value from a `time::Duration` (truncated to 100 ns).
    /// Returns `Value::Null` if it does not fit.
    pub(crate) fn from_duration(d: time::Duration) -> Value {
        let ticks = d.whole_nanoseconds() / 100;
        match i64::try_from(ticks) {
            Ok(t) => Value::TimeSpan(t),
            Err(_) => Value::Null,
        }
    }

    /// The datetime as an `OffsetDateTime` (UTC), if this is a datetime.
    pub(crate) fn as_datetime(&self) -> Option<OffsetDateTime> {
        match self {
            Value::DateTime(t) => ticks_to_offset_datetime(*t),
            _ => None,
        }
    }

    #[cfg(test)]
    /// The timespan as a `time::Duration`, if this is a timespan.
    pub(crate) fn as_duration(&self) -> Option<time::Duration> {
        match self {
            Value::TimeSpan(t) => Some(time::Duration::nanoseconds_i128(i128::from(*t) * 100)),
            _ => None,
        }
    }

    /// True for [`Value::Null`].
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value's type, or `None` for an untyped null.
    pub(crate) fn column_type(&self) -> Option<ColumnType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ColumnType::Bool,
            Value::Int(_) => ColumnType::Int,
            Value::Long(_) => ColumnType::Long,
            Value::Real(_) => ColumnType::Real,
            Value::DateTime(_) => ColumnType::DateTime,
            Value::TimeSpan(_) => ColumnType::TimeSpan,
            Value::String(_) => ColumnType::String,
            Value::Dynamic(_) => ColumnType::Dynamic,
            Value::Guid(_) => ColumnType::Guid,
        })
    }

    /// Renders the value as the Log Analytics query API renders a cell:
    /// datetimes as `2024-01-01T00:00:00.5Z` strings, timespans as
    /// `d.hh:mm:ss.fffffff` strings, dynamic as a JSON-encoded string, guids
    /// as strings, reals as numbers (integral ones without a fraction) or
    /// `"NaN"`/`"Infinity"`/`"-Infinity"`.
    pub(crate) fn to_api_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Long(i) => J::from(*i),
            Value::Real(r) => real_to_json(*r),
            Value::DateTime(t) => J::String(format_datetime(*t)),
            Value::TimeSpan(t) => J::String(format_timespan(*t)),
            Value::String(s) => J::String(s.to_string()),
            Value::Dynamic(d) => J::String(d.to_string()),
            Value::Guid(g) => J::String(g.hyphenated().to_string()),
        }
    }

    /// KQL's `tostring()` of this value (null becomes "").
    pub(crate) fn to_kql_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Long(i) => i.to_string(),
            Value::Real(r) => format_real(*r),
            Value::DateTime(t) => format_datetime(*t),
            Value::TimeSpan(t) => format_timespan(*t),
            Value::String(s) => s.to_string(),
            Value::Dynamic(d) => match d.as_ref() {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            Value::Guid(g) => g.hyphenated().to_string(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kql_string())
    }
}

/// Renders a real as the API does: integral values as JSON integers,
/// non-finite values as the strings `NaN`, `Infinity`, `-Infinity`.
pub(super) fn real_to_json(r: f64) -> serde_json::Value {
    if r.is_nan() {
        return serde_json::Value::String("NaN".into());
    }
    if r.is_infinite() {
        let s = if r > 0.0 { "Infinity" } else { "-Infinity" };
        return serde_json::Value::String(s.into());
    }
    if r.fract() == 0.0 && r.abs() < 9.0e15 {
        // Exact: |r| < 2^53 region, so the cast is lossless.
        return serde_json::Value::from(r as i64);
    }
    serde_json::Number::from_f64(r)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// KQL `tostring()` of a real: shortest round-trip digits, exponent
/// notation (`1E+15`, `1E-05`) outside [1e-5, 1e15) as .NET prints doubles.
pub(super) fn format_real(r: f64) -> String {
    if r.is_nan() {
        return "NaN".into();
    }
    if r.is_infinite() {
        return if r > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if r == 0.0 {
        return "0".into();
    }
    let a = r.abs();
    if (1e-5..1e15).contains(&a) {
        return format!("{r}");
    }
    // Rust's `{:e}` gives shortest mantissa digits, e.g. "1.5e20".
    let s = format!("{r:e}");
    match s.split_once('e') {
        Some((mant, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let digits = if digits.len() < 2 {
                format!("0{digits}")
            } else {
                digits.to_string()
            };
            format!("{mant}E{sign}{digits}")
        }
        None => s,
    }
}

// ---------------------------------------------------------------------------
// Civil date arithmetic (proleptic Gregorian), after H. Hinnant's algorithms.

/// Days since 1970-01-01 for a civil date.
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) for days since 1970-01-01.
pub(super) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// True when ticks (since Unix epoch) is inside KQL's datetime range.
pub(super) fn datetime_in_range(t: i64) -> bool {
    (MIN_DATETIME_TICKS..=MAX_DATETIME_TICKS).contains(&t)
}

/// Formats datetime ticks as the API does: `YYYY-MM-DDTHH:MM:SS[.f{1,7}]Z`,
/// with trailing zero digits of the fraction (and an empty fraction) dropped.
pub(crate) fn format_datetime(ticks: i64) -> String {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let rem = ticks.rem_euclid(TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let hh = rem / TICKS_PER_HOUR;
    let mm = (rem % TICKS_PER_HOUR) / TICKS_PER_MINUTE;
    let ss = (rem % TICKS_PER_MINUTE) / TICKS_PER_SECOND;
    let frac = rem % TICKS_PER_SECOND;
    let mut s = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
    if frac != 0 {
        let f = format!("{frac:07}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Formats timespan ticks in .NET's constant ("c") format:
/// `[-][d.]hh:mm:ss[.fffffff]` (seven fraction digits when present).
pub(crate) fn format_timespan(ticks: i64) -> String {
    let neg = ticks < 0;
    let a = ticks.unsigned_abs();
    let tpd = TICKS_PER_DAY as u64;
    let days = a / tpd;
    let rem = a % tpd;
    let hh = rem / TICKS_PER_HOUR as u64;
    let mm = (rem % TICKS_PER_HOUR as u64) / TICKS_PER_MINUTE as u64;
    let ss = (rem % TICKS_PER_MINUTE as u64) / TICKS_PER_SECOND as u64;
    let frac = rem % TICKS_PER_SECOND as u64;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if days > 0 {
        s.push_str(&format!("{days}."));
    }
    s.push_str(&format!("{hh:02}:{mm:02}:{ss:02}"));
    if frac != 0 {
        s.push_str(&format!(".{frac:07}"));
    }
    s
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Reads exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut v = 0i64;
        for _ in 0..n {
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
            self.i += 1;
        }
        Some(v)
    }
    /// Reads 1+ digits as a fraction, returning ticks (first 7 digits used).
    fn fraction_ticks(&mut self) -> Option<i64> {
        let mut ticks = 0i64;
        let mut n = 0;
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            if n < 7 {
                ticks = ticks * 10 + i64::from(c - b'0');
            }
            n += 1;
            self.i += 1;
        }
        if n == 0 {
            return None;
        }
        for _ in n..7 {
            ticks *= 10;
        }
        Some(ticks)
    }
    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// Parses a datetime: `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|±HH:MM]`.
/// Returns ticks since the Unix epoch, in UTC.
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
    parse_datetime_impl(s.trim(), false)
}

/// Parses a strict RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.f]Z|±HH:MM`).
pub(super) fn parse_rfc3339(s: &str) -> Option<i64> {
    parse_datetime_impl(s, true)
}

fn parse_datetime_impl(s: &str, strict: bool) -> Option<i64> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let y = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let mo = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let d = c.digits(2)?;
    if !(1..=9999).contains(&y) || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut tod = 0i64;
    let mut has_time = false;
    if c.eat(b'T') || c.eat(b't') || (!strict && c.eat(b' ')) {
        has_time = true;
        let hh = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        let mi = c.digits(2)?;
        let mut ss = 0;
        let mut frac = 0;
        if c.eat(b':') {
            ss = c.digits(2)?;
            if c.eat(b'.') {
                frac = c.fraction_ticks()?;
            }
        } else if strict {
            return None;
        }
        if hh > 23 || mi > 59 || ss > 59 {
            return None;
        }
        tod = hh * TICKS_PER_HOUR + mi * TICKS_PER_MINUTE + ss * TICKS_PER_SECOND + frac;
    } else if strict {
        return None;
    }
    let mut offset = 0i64;
    let mut has_zone = false;
    if has_time {
        if c.eat(b'Z') || c.eat(b'z') {
            has_zone = true;
        } else if let Some(sign) = c.peek().filter(|ch| *ch == b'+' || *ch == b'-') {
            c.i += 1;
            let oh = c.digits(2)?;
            c.eat(b':');
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            offset = oh * TICKS_PER_HOUR + om * TICKS_PER_MINUTE;
            if sign == b'-' {
                offset = -offset;
            }
            has_zone = true;
        }
    }
    if strict && !has_zone {
        return None;
    }
    if !c.at_end() {
        return None;
    }
    let ticks = days_from_civil(y, mo, d) * TICKS_PER_DAY + tod - offset;
    datetime_in_range(ticks).then_some(ticks)
}

/// Parses a timespan in .NET constant format `[-][d.]hh:mm[:ss[.fffffff]]`.
pub(crate) fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (days, time_part) = match body.split_once(':') {
        Some((head, _)) => match head.split_once('.') {
            Some((d, _)) => {
                let d: i64 = d
                    .parse()
                    .ok()
                    .filter(|_| d.bytes().all(|b| b.is_ascii_digit()))?;
                (d, &body[head.find('.')? + 1..])
            }
            None => (0, body),
        },
        None => return None,
    };
    let mut parts = time_part.split(':');
    let hh: i64 = parse_small(parts.next()?)?;
    let mm: i64 = parse_small(parts.next()?)?;
    let (ss, frac) = match parts.next() {
        Some(sec) => match sec.split_once('.') {
            Some((whole, f)) => {
                let mut c = Cursor {
                    b: f.as_bytes(),
                    i: 0,
                };
                let fr = c.fraction_ticks()?;
                if !c.at_end() {
                    return None;
                }
                (parse_small(whole)?, fr)
            }
            None => (parse_small(sec)?, 0),
        },
        None => (0, 0),
    };
    if parts.next().is_some() || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let t = i128::from(days) * i128::from(TICKS_PER_DAY)
        + i128::from(hh * TICKS_PER_HOUR + mm * TICKS_PER_MINUTE + ss * TICKS_PER_SECOND + frac);
    let t = if neg { -t } else { t };
    i64::try_from(t).ok()
}

fn parse_small(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `OffsetDateTime` to ticks since the Unix epoch (UTC), if in KQL's range.
pub(super) fn offset_datetime_to_ticks(dt: OffsetDateTime) -> Option<i64> {
    let t = i64::try_from(dt.unix_timestamp_nanos().div_euclid(100)).ok()?;
    datetime_in_range(t).then_some(t)
}

/// Ticks since the Unix epoch to a UTC `OffsetDateTime`.
pub(super) fn ticks_to_offset_datetime(t: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 100).ok()
}

/// Total order used by sorting: values of the same type compare naturally;
/// reals use IEEE total order for finite values. Nulls and NaN are handled
/// by the caller.
pub(super) fn compare_same_type(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Long(x), Value::Long(y)) => x.cmp(y),
        (Value::Real(x), Value::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        (Value::TimeSpan(x), Value::TimeSpan(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Guid(x), Value::Guid(y)) => x.cmp(y),
        (Value::Dynamic(x), Value::Dynamic(y)) => x.to_string().cmp(&y.to_string()),
        // Mixed numeric (e.g. after widening) compares as f64.
        _ => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        },
    }
}

/// Numeric value as f64 (int, long, real).
pub(super) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(f64::from(*i)),
        Value::Long(i) => Some(*i as f64),
        Value::Real(r) => Some(*r),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn datetime_formats_trim_fraction() {
        let t = parse_datetime("2015-12-31 23:59:59.9").unwrap();
        assert_eq!(format_datetime(t), "2015-12-31T23:59:59.9Z");
        let t = parse_datetime("2000-01-02T03:04:05Z").unwrap();
        assert_eq!(format_datetime(t), "2000-01-02T03:04:05Z");
        let t = parse_datetime("2024-02-29T10:00:00.1234567Z").unwrap();
        assert_eq!(format_datetime(t), "2024-02-29T10:00:00.1234567Z");
    }

    #[test]
    fn datetime_parse_variants() {
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(
            parse_datetime("1970-01-01T00:00:01Z"),
            Some(TICKS_PER_SECOND)
        );
        assert_eq!(
            parse_datetime("1970-01-01T01:00:00+01:00"),
            Some(0),
            "offset is applied"
        );
        assert_eq!(parse_datetime("1970-01-01T00:00"), Some(0));
        assert_eq!(parse_datetime("2023-02-29"), None, "not a leap year");
        assert_eq!(parse_datetime("2024-13-01"), None);
        assert_eq!(parse_datetime("2024-01-01T25:00:00Z"), None);
        assert_eq!(parse_datetime("hello"), None);
        assert_eq!(parse_datetime("2024-01-01Tx"), None);
        // Extra fraction digits beyond 7 are ignored.
        assert_eq!(
            parse_datetime("1970-01-01T00:00:00.123456789Z"),
            Some(1_234_567)
        );
    }

    #[test]
    fn rfc3339_is_strict() {
        assert!(parse_rfc3339("2024-01-01T00:00:00Z").is_some());
        assert!(parse_rfc3339("2024-01-01T00:00:00.5+02:00").is_some());
        assert!(parse_rfc3339("2024-01-01").is_none());
        assert!(parse_rfc3339("2024-01-01 00:00:00Z").is_none());
        assert!(parse_rfc3339("2024-01-01T00:00:00").is_none());
    }

    #[test]
    fn datetime_range_limits() {
        assert_eq!(parse_datetime("0001-01-01"), Some(MIN_DATETIME_TICKS));
        assert_eq!(
            parse_datetime("9999-12-31T23:59:59.9999999Z"),
            Some(MAX_DATETIME_TICKS)
        );
        assert_eq!(format_datetime(MIN_DATETIME_TICKS), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn civil_roundtrip() {
        for days in [-719_162, -1, 0, 1, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn timespan_c_format() {
        assert_eq!(format_timespan(10 * TICKS_PER_SECOND), "00:00:10");
        assert_eq!(format_timespan(4 * TICKS_PER_DAY), "4.00:00:00");
        assert_eq!(format_timespan(5 * TICKS_PER_HOUR), "05:00:00");
        assert_eq!(format_timespan(TICKS_PER_SECOND / 2), "00:00:00.5000000");
        assert_eq!(
            format_timespan(-(TICKS_PER_DAY + TICKS_PER_MINUTE + 1)),
            "-1.00:01:00.0000001"
        );
        assert_eq!(format_timespan(0), "00:00:00");
    }

    #[test]
    fn timespan_parse() {
        assert_eq!(parse_timespan("00:00:10"), Some(10 * TICKS_PER_SECOND));
        assert_eq!(
            parse_timespan("1.02:00:00"),
            Some(TICKS_PER_DAY + 2 * TICKS_PER_HOUR)
        );
        assert_eq!(parse_timespan("-00:00:00.5"), Some(-TICKS_PER_SECOND / 2));
        assert_eq!(parse_timespan("0.00:03:00"), Some(3 * TICKS_PER_MINUTE));
        assert_eq!(
            parse_timespan("12:30"),
            Some(12 * TICKS_PER_HOUR + 30 * TICKS_PER_MINUTE)
        );
        assert_eq!(parse_timespan("25:00:00"), None);
        assert_eq!(parse_timespan("abc"), None);
        assert_eq!(parse_timespan("1.x:00:00"), None);
    }

    #[test]
    fn real_rendering() {
        assert_eq!(real_to_json(1.0), serde_json::json!(1));
        assert_eq!(real_to_json(102.1), serde_json::json!(102.1));
        assert_eq!(real_to_json(f64::NAN), serde_json::json!("NaN"));
        assert_eq!(real_to_json(f64::INFINITY), serde_json::json!("Infinity"));
        assert_eq!(
            real_to_json(f64::NEG_INFINITY),
            serde_json::json!("-Infinity")
        );
        assert_eq!(format_real(1.5), "1.5");
        assert_eq!(format_real(2.0), "2");
        assert_eq!(format_real(1e20), "1E+20");
        assert_eq!(format_real(1.5e-7), "1.5E-07");
        assert_eq!(format_real(-0.25), "-0.25");
    }

    #[test]
    fn api_json_of_each_type() {
        assert_eq!(Value::Null.to_api_json(), serde_json::Value::Null);
        assert_eq!(Value::Bool(true).to_api_json(), serde_json::json!(true));
        assert_eq!(Value::Long(7).to_api_json(), serde_json::json!(7));
        assert_eq!(
            Value::dynamic(serde_json::json!({"hello": "world"})).to_api_json(),
            serde_json::json!("{\"hello\":\"world\"}")
        );
        let g = Uuid::parse_str("74BE27DE-1E4E-49D9-B579-FE0B331D3642").unwrap();
        assert_eq!(
            Value::Guid(g).to_api_json(),
            serde_json::json!("74be27de-1e4e-49d9-b579-fe0b331d3642")
        );
        assert_eq!(
            Value::TimeSpan(10 * TICKS_PER_SECOND).to_api_json(),
            serde_json::json!("00:00:10")
        );
    }

    #[test]
    fn offset_datetime_conversions() {
        let v = Value::from_datetime(datetime!(2024-01-01 00:00:00.5 UTC));
        assert_eq!(v.to_kql_string(), "2024-01-01T00:00:00.5Z");
        assert_eq!(v.as_datetime(), Some(datetime!(2024-01-01 00:00:00.5 UTC)));
        let d = Value::from_duration(time::Duration::minutes(90));
        assert_eq!(d.to_kql_string(), "01:30:00");
        assert_eq!(d.as_duration(), Some(time::Duration::minutes(90)));
    }

    #[test]
    fn type_names_and_aliases() {
        assert_eq!(ColumnType::parse("double"), Some(ColumnType::Real));
        assert_eq!(ColumnType::parse("uniqueid"), Some(ColumnType::Guid));
        assert_eq!(ColumnType::parse("decimal"), None);
        assert_eq!(ColumnType::TimeSpan.to_string(), "timespan");
    }

    #[test]
    fn dynamic_tostring() {
        assert_eq!(Value::dynamic(serde_json::json!("x")).to_kql_string(), "x");
        assert_eq!(
            Value::dynamic(serde_json::json!([1, 2])).to_kql_string(),
            "[1,2]"
        );
        assert!(Value::dynamic(serde_json::Value::Null).is_null());
    }
}
