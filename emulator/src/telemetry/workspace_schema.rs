//! The tables every Log Analytics workspace knows before any row arrives: the common
//! standard tables, and the tables its data collection rules write to. A query is resolved
//! against them, so a known table without rows answers its columns and no rows, and an
//! unknown one a semantic error.
//!
//! Column lists come from Microsoft's table reference
//! (learn.microsoft.com/azure/azure-monitor/reference/tables/{table}; MicrosoftDocs/
//! azure-reference-other, `azure-monitor-ref/tables/*.md`). Where a recorded answer shows a
//! table's physical column order, that order is used: `AppRequests` from a recorded
//! `AppRequests | take 5` (Azure/azure-sdk-assets, python/sdk/monitor/azure-monitor-query/
//! tests/recordings/test_logs_client.pyTestLogsClienttest_logs_query_result_row_type.json,
//! kept in `fixtures/azure/py_monitor_query_logs_take_schema.json`), `Heartbeat` from a
//! recorded batch (Azure/azure-sdk-for-net, sdk/monitor/Azure.Monitor.Query/tests/
//! SessionRecords/LogsQueryClientClientLiveTests/CanQueryBatch.json, kept in
//! `fixtures/azure/net_monitor_query_logs_batch.json`). The others keep the reference's
//! (alphabetical) order.

use std::sync::OnceLock;

use serde_json::Value;
use time::OffsetDateTime;

use super::dcr::{destinations, output_table, stream_schemas, transform, transform_of};
use super::{Tables, with_time_generated};
use crate::kql::{Column, ColumnType, Table};
use crate::resources::{ArmStore, DCR_TYPE};

/// `(table, "Name type, Name type, …")`.
const STANDARD: &[(&str, &str)] = &[
    (
        "AppRequests",
        "TenantId string, TimeGenerated datetime, Id string, Source string, Name string, \
         Url string, Success bool, ResultCode string, DurationMs real, PerformanceBucket string, \
         Properties dynamic, Measurements dynamic, OperationName string, OperationId string, \
         OperationLinks dynamic, ParentId string, SyntheticSource string, SessionId string, \
         UserId string, UserAuthenticatedId string, UserAccountId string, AppVersion string, \
         AppRoleName string, AppRoleInstance string, ClientType string, ClientModel string, \
         ClientOS string, ClientIP string, ClientCity string, ClientStateOrProvince string, \
         ClientCountryOrRegion string, ClientBrowser string, ResourceGUID string, IKey string, \
         SDKVersion string, ItemCount int, ReferencedItemId string, ReferencedType string, \
         SourceSystem string, Type string, _ResourceId string",
    ),
    (
        "AppDependencies",
        "AppRoleInstance string, AppRoleName string, AppVersion string, ClientBrowser string, \
         ClientCity string, ClientCountryOrRegion string, ClientIP string, ClientModel string, \
         ClientOS string, ClientStateOrProvince string, ClientType string, Data string, \
         DependencyType string, DurationMs real, Id string, IKey string, ItemCount int, \
         Measurements dynamic, Name string, OperationId string, OperationName string, \
         ParentId string, Properties dynamic, ReferencedItemId string, ReferencedType string, \
         ResourceGUID string, _ResourceId string, ResultCode string, SDKVersion string, \
         SessionId string, SourceSystem string, _SubscriptionId string, Success bool, \
         SyntheticSource string, Target string, TenantId string, TimeGenerated datetime, \
         Type string, UserAccountId string, UserAuthenticatedId string, UserId string",
    ),
    (
        "AppExceptions",
        "AppRoleInstance string, AppRoleName string, AppVersion string, Assembly string, \
         ClientBrowser string, ClientCity string, ClientCountryOrRegion string, ClientIP string, \
         ClientModel string, ClientOS string, ClientStateOrProvince string, ClientType string, \
         Details dynamic, ExceptionType string, HandledAt string, IKey string, \
         InnermostAssembly string, InnermostMessage string, InnermostMethod string, \
         InnermostType string, ItemCount int, Measurements dynamic, Message string, \
         Method string, OperationId string, OperationName string, OuterAssembly string, \
         OuterMessage string, OuterMethod string, OuterType string, ParentId string, \
         ProblemId string, Properties dynamic, ResourceGUID string, _ResourceId string, \
         SDKVersion string, SessionId string, SeverityLevel int, SourceSystem string, \
         _SubscriptionId string, SyntheticSource string, TenantId string, \
         TimeGenerated datetime, Type string, UserAccountId string, UserAuthenticatedId string, \
         UserId string",
    ),
    (
        "AppTraces",
        "AppRoleInstance string, AppRoleName string, AppVersion string, ClientBrowser string, \
         ClientCity string, ClientCountryOrRegion string, ClientIP string, ClientModel string, \
         ClientOS string, ClientStateOrProvince string, ClientType string, IKey string, \
         ItemCount int, Measurements dynamic, Message string, OperationId string, \
         OperationName string, ParentId string, Properties dynamic, ReferencedItemId string, \
         ReferencedType string, ResourceGUID string, _ResourceId string, SDKVersion string, \
         SessionId string, SeverityLevel int, SourceSystem string, _SubscriptionId string, \
         SyntheticSource string, TenantId string, TimeGenerated datetime, Type string, \
         UserAccountId string, UserAuthenticatedId string, UserId string",
    ),
    (
        "AzureActivity",
        "ActivityStatus string, ActivityStatusValue string, ActivitySubstatus string, \
         ActivitySubstatusValue string, Authorization string, Authorization_d dynamic, \
         Caller string, CallerIpAddress string, Category string, CategoryValue string, \
         Claims string, Claims_d dynamic, CorrelationId string, EventDataId string, \
         EventSubmissionTimestamp datetime, Hierarchy string, HTTPRequest string, Level string, \
         OperationId string, OperationName string, OperationNameValue string, \
         Properties string, Properties_d dynamic, Resource string, ResourceGroup string, \
         _ResourceId string, ResourceId string, ResourceProvider string, \
         ResourceProviderValue string, SourceSystem string, SubscriptionId string, \
         _SubscriptionId string, TenantId string, TimeGenerated datetime, Type string",
    ),
    (
        "Heartbeat",
        "TenantId string, SourceSystem string, TimeGenerated datetime, MG string, \
         ManagementGroupName string, SourceComputerId string, ComputerIP string, \
         Computer string, Category string, OSType string, OSName string, OSMajorVersion string, \
         OSMinorVersion string, Version string, SCAgentChannel string, IsGatewayInstalled bool, \
         RemoteIPLongitude real, RemoteIPLatitude real, RemoteIPCountry string, \
         SubscriptionId string, ResourceGroup string, ResourceProvider string, Resource string, \
         ResourceId string, ResourceType string, ComputerEnvironment string, Solutions string, \
         VMUUID string, ComputerPrivateIPs dynamic, Type string, _ResourceId string",
    ),
    (
        "Usage",
        "AvgLatencyInSeconds real, BatchesCapped long, BatchesOutsideSla long, \
         BatchesWithinSla long, Computer string, DataType string, EndTime datetime, \
         IsBillable bool, LinkedMeterId string, LinkedResourceUri string, MeterId string, \
         Quantity real, QuantityUnit string, ResourceUri string, Solution string, \
         SourceSystem string, StartTime datetime, TimeGenerated datetime, TotalBatches long, \
         Type string",
    ),
    (
        "Perf",
        "BucketEndTime datetime, BucketStartTime datetime, Computer string, CounterName string, \
         CounterPath string, CounterValue real, InstanceName string, Max real, Min real, \
         ObjectName string, _ResourceId string, SampleCount int, SourceSystem string, \
         StandardDeviation real, _SubscriptionId string, TimeGenerated datetime, Type string",
    ),
    (
        "Syslog",
        "Computer string, EventTime datetime, Facility string, HostIP string, HostName string, \
         ProcessID int, ProcessName string, _ResourceId string, SeverityLevel string, \
         SourceSystem string, _SubscriptionId string, SyslogMessage string, \
         TimeGenerated datetime, Type string",
    ),
    (
        "Event",
        "AzureDeploymentID string, _BilledSize real, Computer string, EventCategory int, \
         EventData string, EventID int, EventLevel int, EventLevelName string, EventLog string, \
         _IsBillable string, ManagementGroupName string, Message string, ParameterXml string, \
         RenderedDescription string, _ResourceId string, Role string, Source string, \
         SourceSystem string, _SubscriptionId string, TimeGenerated datetime, Type string, \
         UserName string",
    ),
];

fn columns(spec: &str) -> Vec<Column> {
    spec.split(',')
        .filter_map(|c| {
            let (name, ty) = c.trim().split_once(' ')?;
            Some(Column::new(name, ColumnType::parse(ty)?))
        })
        .collect()
}

/// The standard tables, without rows.
pub(crate) fn standard_tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        STANDARD
            .iter()
            .map(|(name, spec)| ((*name).to_owned(), Table::new(*name, columns(spec))))
            .collect()
    })
}

/// The tables the data collection rules in `arm` write to in the workspace `workspace_id`
/// (its ARM id), without rows: what ingestion creates on the first rows, i.e. the
/// transformation's output over the stream's declared columns, with `TimeGenerated` first
/// when the output lacks it. A transformation that fails adds no table (ingestion would
/// fail too).
pub(crate) fn rule_tables(arm: &ArmStore, workspace_id: &str, now: OffsetDateTime) -> Tables {
    let mut out = Tables::new();
    for rule in arm
        .all_resources()
        .filter(|r| r.resource_type.eq_ignore_ascii_case(DCR_TYPE))
    {
        let props = &rule.properties;
        let here: Vec<String> = destinations(props)
            .into_iter()
            .filter(|(_, ws)| ws.eq_ignore_ascii_case(workspace_id))
            .map(|(name, _)| name)
            .collect();
        if here.is_empty() {
            continue;
        }
        let schemas = stream_schemas(props).unwrap_or_default();
        let flows = props.get("dataFlows").and_then(Value::as_array);
        for flow in flows.into_iter().flatten() {
            let to_here = flow
                .get("destinations")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|n| here.iter().any(|h| n == h)));
            if !to_here {
                continue;
            }
            let streams = flow.get("streams").and_then(Value::as_array);
            for stream in streams.into_iter().flatten().filter_map(Value::as_str) {
                let Some((_, declared)) = schemas.iter().find(|(n, _)| n == stream) else {
                    continue;
                };
                let target = flow
                    .get("outputStream")
                    .and_then(Value::as_str)
                    .unwrap_or(stream);
                let name = output_table(target);
                if out.contains_key(name) || standard_tables().contains_key(name) {
                    continue;
                }
                let source = Table::new("source", declared.clone());
                let Ok(shaped) = transform(transform_of(flow), source, now) else {
                    continue;
                };
                let columns = with_time_generated(shaped.columns());
                out.insert(name.to_owned(), Table::new(name, columns));
            }
        }
    }
    out
}

/// What a workspace's queries resolve against: its stored tables, then the tables its rules
/// write to, then the standard tables, each name taken from the first that has it.
pub(crate) fn workspace_catalog(stored: Option<&Tables>, rules: Tables) -> Tables {
    let mut catalog = stored.cloned().unwrap_or_default();
    for (name, table) in rules.into_iter().chain(
        standard_tables()
            .iter()
            .map(|(n, t)| (n.clone(), t.clone())),
    ) {
        catalog.entry(name).or_insert(table);
    }
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_column_has_a_known_type() {
        for (name, spec) in STANDARD {
            assert_eq!(
                columns(spec).len(),
                spec.split(',').count(),
                "{name}: a column with an unknown type"
            );
        }
        // Counts of the reference pages' column lists (Heartbeat and AppRequests: of the
        // recorded answers).
        let count = |t: &str| standard_tables()[t].columns().len();
        assert_eq!(count("AppRequests"), 41);
        assert_eq!(count("Heartbeat"), 31);
        assert_eq!(count("Perf"), 17);
        assert_eq!(count("Event"), 22);
    }

    #[test]
    fn stored_tables_win_over_standard_ones() {
        let mut stored = Tables::new();
        stored.insert(
            "Heartbeat".into(),
            Table::new("Heartbeat", vec![Column::new("x", ColumnType::Long)]),
        );
        let catalog = workspace_catalog(Some(&stored), Tables::new());
        assert_eq!(catalog["Heartbeat"].columns().len(), 1);
        assert!(catalog.contains_key("AppTraces"));
    }
}
