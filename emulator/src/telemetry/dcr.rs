//! Data collection rules and endpoints: the stream declarations, destinations and data
//! flows ARM validates when a rule is written, and the Logs Ingestion API reads when rows
//! arrive. Findings are `(code, message, target)`; ARM answers them in its envelope.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::kql::{self, Column, ColumnType, QueryContext, Table};
use crate::resources::{ArmStore, Resource, WORKSPACE_TYPE};

/// A DCR column type as ARM spells it, in KQL terms.
pub(crate) fn column_type(name: &str) -> Option<ColumnType> {
    Some(match name.to_ascii_lowercase().as_str() {
        "string" => ColumnType::String,
        "int" => ColumnType::Int,
        "long" => ColumnType::Long,
        "real" => ColumnType::Real,
        "boolean" => ColumnType::Bool,
        "datetime" => ColumnType::DateTime,
        "dynamic" => ColumnType::Dynamic,
        _ => return None,
    })
}

/// One finding of rule validation: code, message, target.
pub(crate) type Finding = (String, String, String);

pub(crate) fn finding(code: &str, message: String, target: String) -> Finding {
    (code.to_owned(), message, target)
}

/// The names a data flow lists under `key` (its streams or destinations), with a finding
/// at `target` when it lists no `noun`.
fn flow_list<'a>(
    flow: &'a Value,
    key: &str,
    noun: &str,
    target: &str,
    findings: &mut Vec<Finding>,
) -> Vec<&'a str> {
    let names: Vec<&str> = flow
        .get(key)
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if names.is_empty() {
        findings.push(finding(
            "InvalidDataFlow",
            format!("A data flow must name at least one {noun}."),
            target.to_owned(),
        ));
    }
    names
}

/// The declared columns of each stream of a rule.
pub(crate) fn stream_schemas(
    props: &Map<String, Value>,
) -> Result<Vec<(String, Vec<Column>)>, Finding> {
    let mut out = Vec::new();
    let Some(decls) = props.get("streamDeclarations").filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let Some(decls) = decls.as_object() else {
        return Err(finding(
            "InvalidPayload",
            "'streamDeclarations' must be an object".into(),
            "properties.streamDeclarations".into(),
        ));
    };
    for (name, decl) in decls {
        let target = format!("properties.streamDeclarations.{name}");
        if !name.starts_with("Custom-") {
            return Err(finding(
                "InvalidStreamDeclaration",
                format!("Stream declaration '{name}' must start with 'Custom-'."),
                target,
            ));
        }
        let columns = decl
            .get("columns")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                finding(
                    "InvalidStreamDeclaration",
                    format!("Stream declaration '{name}' must declare at least one column."),
                    target.clone(),
                )
            })?;
        let mut schema = Vec::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            let col_target = format!("{target}.columns[{i}]");
            let col_name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let ty = c.get("type").and_then(Value::as_str).unwrap_or_default();
            if col_name.is_empty() {
                return Err(finding(
                    "InvalidStreamDeclaration",
                    "Column name must not be empty.".into(),
                    col_target,
                ));
            }
            let ty = column_type(ty).ok_or_else(|| {
                finding(
                    "InvalidStreamDeclaration",
                    format!(
                        "Column '{col_name}' has type '{ty}'; supported types are string, int, long, real, boolean, datetime and dynamic."
                    ),
                    col_target.clone(),
                )
            })?;
            if schema.iter().any(|s: &Column| s.name == col_name) {
                return Err(finding(
                    "InvalidStreamDeclaration",
                    format!("Column '{col_name}' is declared twice."),
                    col_target,
                ));
            }
            schema.push(Column::new(col_name, ty));
        }
        out.push((name.clone(), schema));
    }
    Ok(out)
}

/// The Log Analytics destinations of a rule: name → workspace resource id.
pub(crate) fn destinations(props: &Map<String, Value>) -> Vec<(String, String)> {
    props
        .get("destinations")
        .and_then(|d| d.get("logAnalytics"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|d| {
                    Some((
                        d.get("name")?.as_str()?.to_owned(),
                        d.get("workspaceResourceId")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The table an `outputStream` names: `Custom-X_CL` → `X_CL`, `Microsoft-Syslog` → `Syslog`.
pub(crate) fn output_table(stream: &str) -> &str {
    stream
        .strip_prefix("Custom-")
        .or_else(|| stream.strip_prefix("Microsoft-"))
        .unwrap_or(stream)
}

pub(crate) fn transform_of(flow: &Value) -> &str {
    flow.get("transformKql")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("source")
}

/// Runs a transformation over `source` (the stream's rows, as table `source`).
pub(crate) fn transform(
    query: &str,
    source: Table,
    now: OffsetDateTime,
) -> Result<Table, kql::KqlError> {
    if query == "source" {
        return Ok(source);
    }
    let mut source = source;
    source.set_name("source");
    let catalog = vec![source];
    kql::run(query, &catalog, &QueryContext::log_analytics(now))
}

/// Checks a data collection rule's properties (every finding, or none) and fills the ones ARM owns: `immutableId`,
/// the logs ingestion endpoint (the emulator's base URL) for `kind: Direct`, each Log
/// Analytics destination's `workspaceId`, and `provisioningState`.
pub(crate) fn dcr_properties(
    store: &ArmStore,
    existing: Option<&Resource>,
    mut given: Map<String, Value>,
    kind: Option<&str>,
    base: &str,
    now: OffsetDateTime,
) -> Result<Map<String, Value>, Vec<Finding>> {
    let mut findings = Vec::new();
    let schemas = match stream_schemas(&given) {
        Ok(s) => s,
        Err(f) => return Err(vec![f]),
    };
    let dests = destinations(&given);
    if let Some(Value::Object(d)) = given.get_mut("destinations")
        && let Some(Value::Array(items)) = d.get_mut("logAnalytics")
    {
        for (i, item) in items.iter_mut().enumerate() {
            let ws = item
                .get("workspaceResourceId")
                .and_then(Value::as_str)
                .and_then(|id| store.resource(id))
                .filter(|r| r.resource_type.eq_ignore_ascii_case(WORKSPACE_TYPE))
                .and_then(|r| r.properties.get("customerId").cloned());
            match (ws, item.as_object_mut()) {
                (Some(customer), Some(obj)) => {
                    obj.insert("workspaceId".into(), customer);
                }
                _ => findings.push(finding(
                    "InvalidDestination",
                    "The workspace resource id of the destination does not name an existing Log Analytics workspace.".into(),
                    format!("properties.destinations.logAnalytics[{i}].workspaceResourceId"),
                )),
            }
        }
    }
    let flows = given
        .get("dataFlows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, flow) in flows.iter().enumerate() {
        let target = format!("properties.dataFlows[{i}]");
        let streams = flow_list(flow, "streams", "stream", &target, &mut findings);
        for stream in &streams {
            if !schemas.iter().any(|(n, _)| n == stream) {
                findings.push(finding(
                    "InvalidStream",
                    format!(
                        "'Streams' stream '{stream}' must be a custom stream declared in 'streamDeclarations'."
                    ),
                    target.clone(),
                ));
            }
        }
        let flow_dests = flow_list(flow, "destinations", "destination", &target, &mut findings);
        for d in &flow_dests {
            if !dests.iter().any(|(n, _)| n == d) {
                findings.push(finding(
                    "InvalidDestination",
                    format!("Destination '{d}' is not defined in 'destinations'."),
                    target.clone(),
                ));
            }
        }
        match flow.get("outputStream").and_then(Value::as_str) {
            Some(out) if out.starts_with("Custom-") || out.starts_with("Microsoft-") => {}
            Some(out) => findings.push(finding(
                "InvalidOutputTable",
                format!("Output stream '{out}' must start with 'Custom-' or 'Microsoft-'."),
                target.clone(),
            )),
            None => findings.push(finding(
                "InvalidOutputTable",
                "A data flow of custom streams must name its 'outputStream'.".into(),
                target.clone(),
            )),
        }
        // The transformation must run over each of its streams.
        let query = transform_of(flow);
        for stream in &streams {
            if let Some((_, schema)) = schemas.iter().find(|(n, _)| n == stream)
                && let Err(e) = transform(query, Table::new("source", schema.clone()), now)
            {
                findings.push(finding(
                    "InvalidTransformQuery",
                    format!("The transformation query is invalid: {}", e.message),
                    format!("{target}.transformKql"),
                ));
            }
        }
    }
    if !findings.is_empty() {
        return Err(findings);
    }
    let kept = |key: &str| existing.and_then(|r| r.properties.get(key)).cloned();
    let immutable =
        kept("immutableId").unwrap_or_else(|| json!(format!("dcr-{}", Uuid::new_v4().simple())));
    let mut p = Map::new();
    p.insert("immutableId".into(), immutable);
    if kind.is_some_and(|k| k.eq_ignore_ascii_case("Direct")) {
        p.insert(
            "endpoints".into(),
            json!({"logsIngestion": base, "metricsIngestion": base}),
        );
    }
    for (k, v) in given {
        if !["immutableId", "endpoints", "provisioningState"].contains(&k.as_str()) {
            p.insert(k, v);
        }
    }
    p.insert("provisioningState".into(), json!("Succeeded"));
    Ok(p)
}

/// Fills a data collection endpoint's server-owned properties: every endpoint it names is
/// the emulator's base URL.
pub(crate) fn dce_properties(
    existing: Option<&Resource>,
    given: Map<String, Value>,
    base: &str,
) -> Map<String, Value> {
    let kept = |key: &str| existing.and_then(|r| r.properties.get(key)).cloned();
    let mut p = Map::new();
    p.insert(
        "immutableId".into(),
        kept("immutableId").unwrap_or_else(|| json!(format!("dce-{}", Uuid::new_v4().simple()))),
    );
    p.insert("configurationAccess".into(), json!({"endpoint": base}));
    p.insert("logsIngestion".into(), json!({"endpoint": base}));
    p.insert("metricsIngestion".into(), json!({"endpoint": base}));
    p.insert(
        "networkAcls".into(),
        json!({"publicNetworkAccess": "Enabled"}),
    );
    let owned = [
        "immutableId",
        "configurationAccess",
        "logsIngestion",
        "metricsIngestion",
        "provisioningState",
    ];
    for (k, v) in given {
        if !owned.contains(&k.as_str()) {
            p.insert(k, v);
        }
    }
    p.insert("provisioningState".into(), json!("Succeeded"));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_streams_name_tables() {
        assert_eq!(output_table("Custom-App_CL"), "App_CL");
        assert_eq!(output_table("Microsoft-Syslog"), "Syslog");
        assert_eq!(output_table("Plain"), "Plain");
    }

    #[test]
    fn transformations_run_over_source() {
        let mut t = Table::new("x", vec![Column::new("n", ColumnType::Long)]);
        t.push_row(vec![kql::Value::Long(1)]).expect("row");
        t.push_row(vec![kql::Value::Long(5)]).expect("row");
        let now = OffsetDateTime::UNIX_EPOCH;
        let out =
            transform("source | where n > 2 | extend m = n * 2", t.clone(), now).expect("runs");
        assert_eq!(out.row_count(), 1);
        assert_eq!(out.columns().len(), 2);
        assert_eq!(
            transform("source", t.clone(), now).map(|t| t.row_count()),
            Ok(2)
        );
        assert!(transform("source | where nope > 1", t, now).is_err());
    }

    #[test]
    fn rules_are_validated() {
        let store = ArmStore::default();
        let props = json!({
            "streamDeclarations": {"Custom-In": {"columns": [{"name": "n", "type": "long"}]}},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/nope"}]},
            "dataFlows": [{"streams": ["Custom-Other"], "destinations": ["x"], "transformKql": "source | where zz > 1"}]
        });
        let Err(findings) = dcr_properties(
            &store,
            None,
            props.as_object().cloned().unwrap_or_default(),
            None,
            "http://e",
            OffsetDateTime::UNIX_EPOCH,
        ) else {
            panic!("invalid rule accepted");
        };
        let codes: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            codes,
            [
                "InvalidDestination",
                "InvalidStream",
                "InvalidDestination",
                "InvalidOutputTable"
            ]
        );
        let bad_type = json!({"streamDeclarations": {"Custom-In": {"columns": [{"name": "n", "type": "float"}]}}});
        assert!(
            dcr_properties(
                &store,
                None,
                bad_type.as_object().cloned().unwrap_or_default(),
                None,
                "http://e",
                OffsetDateTime::UNIX_EPOCH
            )
            .is_err()
        );
    }
}
