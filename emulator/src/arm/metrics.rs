//! The Azure Monitor metrics read API behind ARM: `metrics`, `metricDefinitions` and
//! `metricNamespaces` under `{resourceId}/providers/Microsoft.Insights/`, over the custom
//! metrics posted to the resource. The emulator has no platform metrics: a resource's
//! platform namespace (its type) exists and lists no metric.
//!
//! Shapes follow the published examples and recorded answers (`cost`, `timespan`,
//! `interval`, `value[].timeseries[].data[].timeStamp`, `namespace`, `resourceregion`).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::arm::{ArmError, Call, json as arm_json};
use crate::rbac::{Scope, ScopeKind};
use crate::resources::Resource;
use crate::services::access::require_exists;
use crate::telemetry::timespan::{self, Interval};
use crate::telemetry::{Aggregate, Metric, Namespace};

/// Time grains the API serves (the ones recorded definitions list).
const GRAINS: [(&str, i64); 8] = [
    ("PT1M", 60),
    ("PT5M", 300),
    ("PT15M", 900),
    ("PT30M", 1800),
    ("PT1H", 3600),
    ("PT6H", 21600),
    ("PT12H", 43200),
    ("P1D", 86400),
];

/// Most data points one series may have in an answer (a guess, bounding the work).
const MAX_POINTS: i64 = 100_000;
/// Documented: at most 20 metric names per call.
const MAX_NAMES: usize = 20;

/// An aggregation the API computes over a time grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregation {
    Average,
    Count,
    Minimum,
    Maximum,
    Total,
}

impl Aggregation {
    fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "average" | "avg" => Self::Average,
            "count" => Self::Count,
            "minimum" | "min" => Self::Minimum,
            "maximum" | "max" => Self::Maximum,
            "total" | "sum" => Self::Total,
            _ => return None,
        })
    }

    fn key(self) -> &'static str {
        match self {
            Self::Average => "average",
            Self::Count => "count",
            Self::Minimum => "minimum",
            Self::Maximum => "maximum",
            Self::Total => "total",
        }
    }

    fn of(self, a: &Aggregate) -> f64 {
        match self {
            Self::Average => a.sum / a.count,
            Self::Count => a.count,
            Self::Minimum => a.min,
            Self::Maximum => a.max,
            Self::Total => a.sum,
        }
    }
}

/// Checks the caller's `action` at a resource scope and returns (a copy of) the resource,
/// releasing the ARM store before the telemetry store is read.
fn resource(call: &Call<'_>, scope: &str, action: &str) -> Result<Resource, ArmError> {
    let store = call.state.arm();
    let parsed = Scope::parse(scope).map_err(|_| ArmError::MissingSubscription)?;
    if let Some(sub) = parsed.subscription_id() {
        crate::arm::known_subscription(&store, sub)?;
    }
    call.require(&store, action, &parsed)?;
    if parsed.kind() != ScopeKind::Resource {
        // Metrics of subscriptions and groups are not modelled (a guess at ARM's answer).
        return Err(ArmError::MetricsBadRequest(format!(
            "The metrics API of the emulator serves resources only, not '{scope}'."
        )));
    }
    require_exists(&store, &parsed)?;
    store
        .resource(scope)
        .cloned()
        .ok_or(ArmError::MissingSubscription)
}

fn localized(name: &str) -> Value {
    json!({"value": name, "localizedValue": name})
}

/// `{resourceId}/providers/Microsoft.Insights/metrics?...`.
pub(crate) fn list(call: &Call<'_>, scope: &str) -> Result<Response, ArmError> {
    let res = resource(call, scope, "Microsoft.Insights/metrics/read")?;
    let q = &call.query;
    let bad = |m: String| ArmError::MetricsBadRequest(m);
    let range: Interval = match q.get("timespan") {
        None => (call.now - Duration::hours(1), call.now),
        Some(t) => timespan::parse_interval(t, call.now)
            .ok_or_else(|| bad(format!("Invalid timespan: '{t}'.")))?,
    };
    let full = q
        .get("interval")
        .is_some_and(|i| i.eq_ignore_ascii_case("FULL"));
    let grain = match q.get("interval") {
        None => 60,
        Some(_) if full => (range.1 - range.0).whole_seconds().max(60),
        Some(i) => {
            let seconds = timespan::parse_duration(i)
                .map(|d| d.whole_seconds())
                .ok_or_else(|| bad(format!("Invalid interval: '{i}'.")))?;
            let auto = q
                .get("AutoAdjustTimegrain")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            match GRAINS.iter().find(|(_, s)| *s == seconds) {
                Some((_, s)) => *s,
                None if auto => GRAINS
                    .iter()
                    .min_by_key(|(_, s)| (s - seconds).abs())
                    .map_or(60, |(_, s)| *s),
                // Wording is a guess.
                None => {
                    return Err(bad(format!(
                        "Invalid interval '{i}': supported time grains are {}.",
                        GRAINS.map(|g| g.0).join(", ")
                    )));
                }
            }
        }
    };
    let aggregations: Vec<Aggregation> = match q.get("aggregation") {
        None => vec![Aggregation::Average],
        Some(list) => list
            .split(',')
            .filter(|a| !a.trim().is_empty())
            .map(|a| {
                Aggregation::parse(a).ok_or_else(|| bad(format!("Invalid aggregation: '{a}'.")))
            })
            .collect::<Result<_, _>>()?,
    };
    let filter = q.get("$filter").map(parse_filter).transpose()?;
    let top = match q.get("top") {
        None => 10,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| bad(format!("Invalid top: '{t}'.")))?,
    };
    let order = q.get("orderby").map(parse_order).transpose()?;
    let platform = res.resource_type.clone();
    let namespace_name = q.get("metricnamespace").unwrap_or(&platform).to_owned();
    let store = call.state.telemetry();
    let namespace: Option<&Namespace> = store
        .namespaces(&res.id)
        .and_then(|n| n.get(&namespace_name.to_ascii_lowercase()));
    let names: Vec<String> = match q.get("metricnames") {
        Some(list) => list
            .split(',')
            .map(|n| n.trim().replace("%2", ","))
            .filter(|n| !n.is_empty())
            .collect(),
        // A guess: without names, every metric of the namespace.
        None => namespace
            .map(|n| n.metrics.values().map(|m| m.name.clone()).collect())
            .unwrap_or_default(),
    };
    if names.len() > MAX_NAMES {
        return Err(bad(format!(
            "At most {MAX_NAMES} metric names can be requested at once."
        )));
    }
    let start = range.0.unix_timestamp();
    // The end is exclusive; a window ending now, part-way through a second, keeps that
    // second, so a point posted in the first second of a minute reads back at once.
    let end = range.1.unix_timestamp() + i64::from(range.1.nanosecond() > 0);
    let first = if full {
        start
    } else {
        start.div_euclid(grain) * grain
    };
    let buckets = if full {
        1
    } else {
        (end - first + grain - 1).div_euclid(grain).max(0)
    };
    if buckets > MAX_POINTS {
        return Err(bad(format!(
            "The requested timespan holds {buckets} intervals of the requested grain; at most {MAX_POINTS} can be returned."
        )));
    }
    let mut value = Vec::with_capacity(names.len());
    for name in &names {
        let metric = namespace.and_then(|n| n.metrics.get(&name.to_ascii_lowercase()));
        let Some(metric) = metric else {
            let valid: Vec<&str> = namespace
                .map(|n| n.metrics.values().map(|m| m.name.as_str()).collect())
                .unwrap_or_default();
            let (provider, kind) = platform.split_once('/').unwrap_or((&platform, ""));
            // The observed platform wording, used for custom namespaces too (a guess).
            return Err(bad(format!(
                "Failed to find metric configuration for provider: {provider}, resource Type: {kind}, metric: {name}, Valid metrics: {}",
                valid.join(",")
            )));
        };
        let series = series_of(metric, filter.as_ref(), order, top, |minute| {
            let t = minute * 60;
            if t < start || t >= end {
                return None;
            }
            Some(if full {
                first
            } else {
                (t - first).div_euclid(grain) * grain + first
            })
        })?;
        let timeseries: Vec<Value> = series
            .into_iter()
            .map(|(dims, points)| {
                let data: Vec<Value> = (0..buckets)
                    .map(|i| {
                        let t = first + i * grain;
                        let mut point = Map::new();
                        point.insert("timeStamp".into(), json!(stamp(t)));
                        // Empty intervals carry only their time stamp (a guess for custom
                        // metrics, whose count-like aggregations Azure may fill with 0).
                        if let Some(a) = points.get(&t) {
                            for agg in &aggregations {
                                point.insert(agg.key().into(), json!(agg.of(a)));
                            }
                        }
                        Value::Object(point)
                    })
                    .collect();
                let metadata: Vec<Value> = dims
                    .into_iter()
                    .map(|(n, v)| json!({"name": localized(&n), "value": v}))
                    .collect();
                json!({"metadatavalues": metadata, "data": data})
            })
            .collect();
        value.push(json!({
            "id": format!("{}/providers/Microsoft.Insights/metrics/{}", res.id, metric.name),
            "type": "Microsoft.Insights/metrics",
            "name": localized(&metric.name),
            "unit": "Unspecified",
            "timeseries": timeseries,
            "errorCode": "Success",
        }));
    }
    let minutes = (end - start) / 60;
    let interval = if full {
        timespan::format_duration(Duration::seconds(grain))
    } else {
        GRAINS.iter().find(|(_, s)| *s == grain).map_or_else(
            || timespan::format_duration(Duration::seconds(grain)),
            |g| g.0.to_owned(),
        )
    };
    let body = json!({
        // Recorded answers charge one unit per metric and minute of the timespan, less one.
        "cost": (minutes - 1).max(0) * value.len() as i64,
        "timespan": format!("{}/{}", timespan::format_seconds(range.0), timespan::format_seconds(range.1)),
        "interval": interval,
        "value": value,
        "namespace": namespace_name,
        "resourceregion": res.location.clone().unwrap_or_default(),
    });
    Ok(arm_json(StatusCode::OK, &body))
}

fn stamp(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_or_else(|_| String::new(), timespan::format_seconds)
}

/// A `$filter`: per dimension (as written), the values asked for (`None` for `*`).
type Filter = Vec<(String, Option<Vec<String>>)>;

/// Parses `A eq 'a1' and B eq 'b1' or B eq 'b2' and C eq '*'`: clauses joined by `and`, each
/// a disjunction over one dimension.
fn parse_filter(text: &str) -> Result<Filter, ArmError> {
    let bad = || {
        // Wording is a guess.
        ArmError::MetricsBadRequest(format!(
            "Invalid $filter '{text}': expected clauses like \"Dimension eq 'value'\" joined by 'and' and 'or'."
        ))
    };
    let mut out: Filter = Vec::new();
    for clause in split_words(text, "and") {
        let mut dim: Option<String> = None;
        let mut values: Option<Vec<String>> = Some(Vec::new());
        for term in split_words(&clause, "or") {
            let (name, value) = term
                .split_once(" eq ")
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(bad)?;
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .ok_or_else(bad)?;
            if name.is_empty() || dim.as_ref().is_some_and(|d| !d.eq_ignore_ascii_case(name)) {
                return Err(bad());
            }
            dim = Some(name.to_owned());
            if value == "*" {
                values = None;
            } else if let Some(v) = values.as_mut() {
                v.push(value.to_owned());
            }
        }
        out.push((dim.ok_or_else(bad)?, values));
    }
    Ok(out)
}

/// Splits on a keyword surrounded by spaces, outside quotes, case-insensitively.
fn split_words(text: &str, word: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let chars: Vec<char> = text.chars().collect();
    let needle: Vec<char> = format!(" {word} ").chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\'' {
            quoted = !quoted;
        }
        let matches = !quoted
            && chars.len() >= i + needle.len()
            && chars[i..i + needle.len()]
                .iter()
                .zip(&needle)
                .all(|(a, b)| a.eq_ignore_ascii_case(b));
        if matches {
            parts.push(String::new());
            i += needle.len();
            continue;
        }
        if let Some(last) = parts.last_mut() {
            last.push(chars[i]);
        }
        i += 1;
    }
    parts.into_iter().map(|p| p.trim().to_owned()).collect()
}

fn parse_order(text: &str) -> Result<(Aggregation, bool), ArmError> {
    let mut words = text.split_whitespace();
    let agg = words.next().and_then(Aggregation::parse);
    let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            return Err(ArmError::MetricsBadRequest(format!(
                "Invalid orderby: '{text}'."
            )));
        }
    };
    agg.map(|a| (a, desc))
        .ok_or_else(|| ArmError::MetricsBadRequest(format!("Invalid orderby: '{text}'.")))
}

/// One answer series: its (dimension, value) pairs and its aggregates by interval start.
type Series = (Vec<(String, String)>, BTreeMap<i64, Aggregate>);

/// Groups a metric's stored series as the filter asks: split by the dimensions it names,
/// keeping only the values it lists, aggregated over the others; `bucket` maps a point's
/// minute onto its interval start, or drops it.
fn series_of(
    metric: &Metric,
    filter: Option<&Filter>,
    order: Option<(Aggregation, bool)>,
    top: usize,
    bucket: impl Fn(i64) -> Option<i64>,
) -> Result<Vec<Series>, ArmError> {
    let empty = Vec::new();
    let filter = filter.unwrap_or(&empty);
    let mut split: Vec<(usize, String, &Option<Vec<String>>)> = Vec::new();
    for (dim, values) in filter {
        let index = metric
            .dimensions
            .iter()
            .position(|d| d.eq_ignore_ascii_case(dim))
            .ok_or_else(|| {
                // Wording is a guess, after the service's "does not support requested
                // dimension combination" answers.
                ArmError::MetricsBadRequest(format!(
                    "Metric: {} does not support requested dimension combination: {dim}, supported ones are: {}",
                    metric.name,
                    metric.dimensions.join(",")
                ))
            })?;
        split.push((index, metric.dimensions[index].clone(), values));
    }
    let mut grouped: BTreeMap<Vec<String>, BTreeMap<i64, Aggregate>> = BTreeMap::new();
    for (key, points) in &metric.series {
        let keep = split.iter().all(|(i, _, values)| {
            values
                .as_ref()
                .is_none_or(|vs| vs.iter().any(|v| v.eq_ignore_ascii_case(&key[*i])))
        });
        if !keep {
            continue;
        }
        let group: Vec<String> = split.iter().map(|(i, _, _)| key[*i].clone()).collect();
        for (minute, agg) in points {
            if let Some(b) = bucket(*minute) {
                grouped
                    .entry(group.clone())
                    .or_default()
                    .entry(b)
                    .and_modify(|a| a.merge(agg))
                    .or_insert(*agg);
            }
        }
    }
    let mut out: Vec<Series> = grouped
        .into_iter()
        .map(|(values, points)| {
            let dims = split
                .iter()
                .map(|(_, n, _)| n.clone())
                .zip(values)
                .collect();
            (dims, points)
        })
        .collect();
    if let Some((agg, desc)) = order {
        let total = |s: &Series| {
            let mut all: Option<Aggregate> = None;
            for a in s.1.values() {
                match all.as_mut() {
                    Some(t) => t.merge(a),
                    None => all = Some(*a),
                }
            }
            all.map_or(f64::NEG_INFINITY, |a| agg.of(&a))
        };
        out.sort_by(|a, b| {
            let o = total(a).total_cmp(&total(b));
            if desc { o.reverse() } else { o }
        });
    }
    if !filter.is_empty() {
        out.truncate(top);
    }
    Ok(out)
}

fn availabilities() -> Value {
    Value::Array(
        GRAINS
            .iter()
            .map(|(g, _)| json!({"timeGrain": g, "retention": "P93D"}))
            .collect(),
    )
}

/// `{resourceId}/providers/Microsoft.Insights/metricDefinitions[?metricnamespace=]`.
pub(crate) fn definitions(call: &Call<'_>, scope: &str) -> Result<Response, ArmError> {
    let res = resource(call, scope, "Microsoft.Insights/metricDefinitions/read")?;
    let namespace = call
        .query
        .get("metricnamespace")
        .unwrap_or(&res.resource_type)
        .to_ascii_lowercase();
    let store = call.state.telemetry();
    let items: Vec<Value> = store
        .namespaces(&res.id)
        .and_then(|n| n.get(&namespace))
        .map(|ns| {
            ns.metrics
                .values()
                .map(|m| {
                    json!({
                        "id": format!("{}/providers/microsoft.insights/metricdefinitions/{}", res.id, m.name),
                        "resourceId": res.id,
                        "namespace": ns.name,
                        "name": localized(&m.name),
                        "isDimensionRequired": false,
                        // Custom metrics have no unit; their primary aggregation is a guess.
                        "unit": "Unspecified",
                        "primaryAggregationType": "Average",
                        "supportedAggregationTypes": ["None", "Average", "Minimum", "Maximum", "Total", "Count"],
                        "metricAvailabilities": availabilities(),
                        "dimensions": m.dimensions.iter().map(|d| localized(d)).collect::<Vec<_>>(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(arm_json(StatusCode::OK, &json!({ "value": items })))
}

/// `{resourceId}/providers/microsoft.insights/metricNamespaces`: the platform namespace and
/// each custom one.
pub(crate) fn namespaces(call: &Call<'_>, scope: &str) -> Result<Response, ArmError> {
    let res = resource(call, scope, "Microsoft.Insights/metricNamespaces/read")?;
    let entry = |name: &str, classification: &str, full: &str| {
        json!({
            "id": format!("{}/providers/microsoft.insights/metricNamespaces/{name}", res.id),
            "name": name,
            "type": "Microsoft.Insights/metricNamespaces",
            "classification": classification,
            "properties": {"metricNamespaceName": full},
        })
    };
    let mut items = vec![entry(
        &res.resource_type.replace('/', "-"),
        "Platform",
        &res.resource_type,
    )];
    let store = call.state.telemetry();
    if let Some(custom) = store.namespaces(&res.id) {
        items.extend(custom.values().map(|n| entry(&n.name, "Custom", &n.name)));
    }
    Ok(arm_json(StatusCode::OK, &json!({ "value": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_into_dimension_value_sets() {
        let f = parse_filter("A eq 'a1' and B eq 'b1' or B eq 'b2' and C eq '*'").expect("parses");
        assert_eq!(
            f,
            vec![
                ("A".to_owned(), Some(vec!["a1".to_owned()])),
                ("B".to_owned(), Some(vec!["b1".to_owned(), "b2".to_owned()])),
                ("C".to_owned(), None),
            ]
        );
        assert!(
            parse_filter("A eq 'x' or B eq 'y'").is_err(),
            "or across dimensions"
        );
        assert!(parse_filter("A ne 'x'").is_err());
        assert!(parse_filter("A eq x").is_err());
        let quoted = parse_filter("Name eq 'rock and roll'").expect("parses");
        assert_eq!(quoted[0].1, Some(vec!["rock and roll".to_owned()]));
    }

    fn metric() -> Metric {
        let agg = |v: f64| Aggregate {
            min: v,
            max: v,
            sum: v,
            count: 1.0,
        };
        let mut m = Metric {
            name: "Latency".into(),
            dimensions: vec!["Host".into(), "Verb".into()],
            ..Metric::default()
        };
        m.series.insert(
            vec!["h1".into(), "GET".into()],
            BTreeMap::from([(0, agg(1.0)), (1, agg(3.0))]),
        );
        m.series.insert(
            vec!["h2".into(), "GET".into()],
            BTreeMap::from([(0, agg(10.0))]),
        );
        m.series.insert(
            vec!["h2".into(), "PUT".into()],
            BTreeMap::from([(5, agg(7.0))]),
        );
        m
    }

    #[test]
    fn series_split_filter_and_aggregate() {
        let m = metric();
        let all = series_of(&m, None, None, 10, Some).expect("ok");
        assert_eq!(all.len(), 1, "no filter: one aggregated series");
        assert_eq!(all[0].1[&0].sum, 11.0);
        let by_host = parse_filter("Host eq '*'").expect("filter");
        let split = series_of(&m, Some(&by_host), None, 10, Some).expect("ok");
        assert_eq!(split.len(), 2);
        assert_eq!(split[0].0, [("Host".to_owned(), "h1".to_owned())]);
        let get_only = parse_filter("Verb eq 'get'").expect("filter");
        let gets = series_of(&m, Some(&get_only), None, 10, Some).expect("ok");
        assert_eq!(gets.len(), 1);
        assert!(!gets[0].1.contains_key(&5));
        let top = series_of(
            &m,
            Some(&by_host),
            Some((Aggregation::Total, true)),
            1,
            Some,
        )
        .expect("ok");
        assert_eq!(top[0].0[0].1, "h2", "h2 totals 17");
        let hourly = series_of(&m, None, None, 10, |minute| (minute < 5).then_some(0)).expect("ok");
        assert_eq!(
            hourly[0].1[&0].count, 3.0,
            "points outside the window are dropped"
        );
        assert!(
            series_of(
                &m,
                Some(&parse_filter("Nope eq '*'").expect("f")),
                None,
                10,
                Some
            )
            .is_err()
        );
    }

    #[test]
    fn aggregations_read_the_aggregate() {
        let a = Aggregate {
            min: 1.0,
            max: 5.0,
            sum: 12.0,
            count: 4.0,
        };
        assert_eq!(Aggregation::Average.of(&a), 3.0);
        assert_eq!(Aggregation::parse("Total"), Some(Aggregation::Total));
        assert_eq!(Aggregation::parse("median"), None);
        assert_eq!(
            parse_order("average asc").ok(),
            Some((Aggregation::Average, false))
        );
        assert!(parse_order("sideways").is_err());
    }
}
