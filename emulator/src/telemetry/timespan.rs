//! ISO 8601 durations (`PT1H`, `P1DT12H`) and time intervals (`start/end`, `start/PT1H`,
//! `PT1H/end`, or a duration ending now), as the Monitor APIs take them in `timespan`.

use time::{Duration, OffsetDateTime};

use crate::kql;

/// A parsed `[start, end)` interval.
pub(crate) type Interval = (OffsetDateTime, OffsetDateTime);

/// Parses an ISO 8601 duration. Years and months count as 365 and 30 days (a guess: the
/// services' own reading of them was not found).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let rest = text.trim().strip_prefix(['P', 'p'])?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total = Duration::ZERO;
    let mut any = false;
    let mut add = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        let mut last_unit = 0usize;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            let upper = c.to_ascii_uppercase();
            let position = units.iter().position(|(u, _)| *u == upper)?;
            // Units must appear in order, each at most once.
            if position < last_unit || number.is_empty() {
                return None;
            }
            let value: f64 = number.parse().ok()?;
            if !value.is_finite() {
                return None;
            }
            total = total.checked_add(Duration::seconds_f64(value * units[position].1))?;
            any = true;
            number.clear();
            last_unit = position + 1;
        }
        number.is_empty().then_some(())
    };
    add(
        date,
        &[
            ('Y', 365.0 * 86400.0),
            ('M', 30.0 * 86400.0),
            ('W', 7.0 * 86400.0),
            ('D', 86400.0),
        ],
    )?;
    if let Some(t) = time {
        add(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    // Larger than any time the emulator can represent: refused rather than overflowing.
    (any && total <= Duration::days(3_650_000) && !total.is_negative()).then_some(total)
}

fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    let ticks = kql::parse_datetime(text)?;
    kql::Value::DateTime(ticks).as_datetime()
}

/// Parses a `timespan`: a duration ending at `now`, `start/end`, `start/duration` or
/// `duration/end`.
pub(crate) fn parse_interval(text: &str, now: OffsetDateTime) -> Option<Interval> {
    let text = text.trim();
    let (start, end) = match text.split_once('/') {
        None => {
            let d = parse_duration(text)?;
            (now.checked_sub(d)?, now)
        }
        Some((a, b)) => match (parse_instant(a), parse_instant(b)) {
            (Some(s), Some(e)) => (s, e),
            (Some(s), None) => (s, s.checked_add(parse_duration(b)?)?),
            (None, Some(e)) => (e.checked_sub(parse_duration(a)?)?, e),
            (None, None) => return None,
        },
    };
    (start <= end).then_some((start, end))
}

/// The overlap of two intervals (empty intervals collapse onto their start).
pub(crate) fn intersect(a: Interval, b: Interval) -> Interval {
    let start = a.0.max(b.0);
    let end = a.1.min(b.1).max(start);
    (start, end)
}

/// Formats a duration in the form the metrics API echoes: `PT1M`, `PT1H`, `P1D`, `PT1H30M`.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.whole_seconds();
    let (days, rem) = (secs / 86400, secs % 86400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if rem > 0 || days == 0 {
        out.push('T');
        for (v, u) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if v > 0 {
                out.push_str(&format!("{v}{u}"));
            }
        }
        if rem == 0 {
            out.push_str("0S");
        }
    }
    out
}

/// `2024-03-15T20:49:40Z`: whole seconds, as the metrics API writes its `timespan`.
pub(crate) fn format_seconds(t: OffsetDateTime) -> String {
    format!("{}Z", crate::clock::whole_seconds(t))
}

/// `2016-01-01T02:00:00.000Z`: milliseconds, as the Application Insights metrics API writes.
pub(crate) fn format_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H"), Some(Duration::hours(1)));
        assert_eq!(parse_duration("P1D"), Some(Duration::days(1)));
        assert_eq!(
            parse_duration("P1DT2H30M"),
            Some(Duration::hours(26) + Duration::minutes(30))
        );
        assert_eq!(parse_duration("PT0.5S"), Some(Duration::milliseconds(500)));
        assert_eq!(parse_duration("P2W"), Some(Duration::days(14)));
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PT1X",
            "PT1M1H",
            "P1H",
            "PTH",
            "P1DT",
            "PT1e9999S",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn intervals() {
        let now = datetime!(2024-03-15 12:00 UTC);
        assert_eq!(
            parse_interval("PT1H", now),
            Some((datetime!(2024-03-15 11:00 UTC), now))
        );
        assert_eq!(
            parse_interval("2024-03-15T00:00:00Z/2024-03-15T06:00:00Z", now),
            Some((
                datetime!(2024-03-15 0:00 UTC),
                datetime!(2024-03-15 6:00 UTC)
            ))
        );
        assert_eq!(
            parse_interval("2024-03-15T00:00:00Z/PT2H", now),
            Some((
                datetime!(2024-03-15 0:00 UTC),
                datetime!(2024-03-15 2:00 UTC)
            ))
        );
        assert_eq!(
            parse_interval("P1D/2024-03-15T00:00:00Z", now),
            Some((
                datetime!(2024-03-14 0:00 UTC),
                datetime!(2024-03-15 0:00 UTC)
            ))
        );
        assert_eq!(
            parse_interval("2024-03-15T06:00:00Z/2024-03-15T00:00:00Z", now),
            None
        );
        assert_eq!(parse_interval("yesterday", now), None);
        let a = (
            datetime!(2024-01-01 0:00 UTC),
            datetime!(2024-01-03 0:00 UTC),
        );
        let b = (
            datetime!(2024-01-02 0:00 UTC),
            datetime!(2024-01-04 0:00 UTC),
        );
        assert_eq!(intersect(a, b), (b.0, a.1));
        let c = (
            datetime!(2025-01-01 0:00 UTC),
            datetime!(2025-01-02 0:00 UTC),
        );
        assert_eq!(intersect(a, c), (c.0, c.0), "disjoint: empty");
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::minutes(1)), "PT1M");
        assert_eq!(format_duration(Duration::hours(1)), "PT1H");
        assert_eq!(format_duration(Duration::days(1)), "P1D");
        assert_eq!(format_duration(Duration::minutes(90)), "PT1H30M");
        assert_eq!(format_duration(Duration::ZERO), "PT0S");
        let t = datetime!(2024-03-15 20:49:40.123456 UTC);
        assert_eq!(format_seconds(t), "2024-03-15T20:49:40Z");
        assert_eq!(format_millis(t), "2024-03-15T20:49:40.123Z");
    }
}
