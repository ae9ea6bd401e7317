//! The classic Application Insights tables (`requests`, `dependencies`, `exceptions`, …):
//! their schemas, and what the ingestion pipeline fills in on rows seeded into them.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Tables;
use crate::kql::{Column, ColumnType, Table, Value as K};
use crate::resources::Resource;

use ColumnType::{DateTime as Dt, Dynamic as Dy, Int as I, Real as R, String as S};

/// Columns every classic telemetry table ends with.
const CONTEXT: &[(&str, ColumnType)] = &[
    ("operation_Name", S),
    ("operation_Id", S),
    ("operation_ParentId", S),
    ("operation_SyntheticSource", S),
    ("session_Id", S),
    ("user_Id", S),
    ("user_AuthenticatedId", S),
    ("user_AccountId", S),
    ("application_Version", S),
    ("client_Type", S),
    ("client_Model", S),
    ("client_OS", S),
    ("client_IP", S),
    ("client_City", S),
    ("client_StateOrProvince", S),
    ("client_CountryOrRegion", S),
    ("client_Browser", S),
    ("cloud_RoleName", S),
    ("cloud_RoleInstance", S),
    ("appId", S),
    ("appName", S),
    ("iKey", S),
    ("sdkVersion", S),
    ("itemId", S),
    ("itemCount", I),
];

/// A classic telemetry table: name, event type (singular), the columns of its own. Every
/// table starts with `timestamp`, then its own columns, `itemType`, `customDimensions`,
/// `customMeasurements` where it has measurements, and [`CONTEXT`].
pub(crate) struct Kind {
    pub(crate) table: &'static str,
    pub(crate) event: &'static str,
    own: &'static [(&'static str, ColumnType)],
    measurements: bool,
}

pub(crate) const KINDS: &[Kind] = &[
    Kind {
        table: "requests",
        event: "request",
        own: &[
            ("id", S),
            ("source", S),
            ("name", S),
            ("url", S),
            ("success", S),
            ("resultCode", S),
            ("duration", R),
            ("performanceBucket", S),
        ],
        measurements: true,
    },
    Kind {
        table: "dependencies",
        event: "dependency",
        own: &[
            ("id", S),
            ("target", S),
            ("type", S),
            ("name", S),
            ("data", S),
            ("success", S),
            ("resultCode", S),
            ("duration", R),
            ("performanceBucket", S),
        ],
        measurements: true,
    },
    Kind {
        table: "traces",
        event: "trace",
        own: &[("message", S), ("severityLevel", I)],
        measurements: true,
    },
    Kind {
        table: "exceptions",
        event: "exception",
        own: &[
            ("problemId", S),
            ("handledAt", S),
            ("type", S),
            ("message", S),
            ("assembly", S),
            ("method", S),
            ("outerType", S),
            ("outerMessage", S),
            ("outerAssembly", S),
            ("outerMethod", S),
            ("innermostType", S),
            ("innermostMessage", S),
            ("innermostAssembly", S),
            ("innermostMethod", S),
            ("severityLevel", I),
            ("details", Dy),
        ],
        measurements: true,
    },
    Kind {
        table: "customEvents",
        event: "customEvent",
        own: &[("name", S)],
        measurements: true,
    },
    Kind {
        table: "pageViews",
        event: "pageView",
        own: &[
            ("id", S),
            ("name", S),
            ("url", S),
            ("duration", R),
            ("performanceBucket", S),
        ],
        measurements: true,
    },
    Kind {
        table: "availabilityResults",
        event: "availabilityResult",
        own: &[
            ("id", S),
            ("name", S),
            ("location", S),
            ("success", S),
            ("message", S),
            ("size", R),
            ("duration", R),
            ("performanceBucket", S),
        ],
        measurements: true,
    },
    Kind {
        table: "customMetrics",
        event: "customMetric",
        own: &[
            ("name", S),
            ("value", R),
            ("valueCount", I),
            ("valueSum", R),
            ("valueMin", R),
            ("valueMax", R),
            ("valueStdDev", R),
        ],
        measurements: false,
    },
    Kind {
        table: "performanceCounters",
        event: "performanceCounter",
        own: &[
            ("name", S),
            ("category", S),
            ("counter", S),
            ("instance", S),
            ("value", R),
        ],
        measurements: false,
    },
];
pub(crate) fn kind_of_table(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.table == name)
}

/// The full schema of a classic table.
pub(crate) fn schema(table: &str) -> Option<Vec<Column>> {
    let kind = kind_of_table(table)?;
    let measurements: &[_] = if kind.measurements {
        &[("customMeasurements", Dy)]
    } else {
        &[]
    };
    Some(
        [("timestamp", Dt)]
            .iter()
            .chain(kind.own)
            .chain(&[("itemType", S), ("customDimensions", Dy)])
            .chain(measurements)
            .chain(CONTEXT)
            .map(|(n, t)| Column::new(*n, *t))
            .collect(),
    )
}

/// Names of the classic tables.
pub(crate) fn table_names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.table)
}

/// Seeded telemetry rows with what the ingestion pipeline would fill in: `itemType`,
/// `itemCount` 1, a fresh `itemId`, the component's `appId`, `appName` and `iKey`, and the
/// current time as `timestamp` when missing.
pub(crate) fn complete_rows(
    table: &str,
    component: &Resource,
    rows: &mut [Map<String, Value>],
    now: OffsetDateTime,
) {
    let Some(kind) = kind_of_table(table) else {
        return;
    };
    let prop = |k: &str| {
        component
            .properties
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let stamp = crate::kql::format_datetime(match K::from_datetime(now) {
        K::DateTime(t) => t,
        _ => 0,
    });
    for row in rows {
        let mut fill = |k: &str, v: Value| {
            if row.get(k).is_none_or(Value::is_null) {
                row.insert(k.to_owned(), v);
            }
        };
        fill("timestamp", json!(stamp));
        fill("itemType", json!(kind.event));
        fill("itemCount", json!(1));
        fill("itemId", json!(Uuid::new_v4()));
        fill("appId", json!(prop("AppId")));
        fill("appName", json!(component.name));
        fill("iKey", json!(prop("InstrumentationKey")));
    }
}

/// A component's catalog: every classic table, empty where nothing was seeded.
pub(crate) fn catalog(seeded: Option<&Tables>) -> Tables {
    let mut tables = seeded.cloned().unwrap_or_default();
    for name in table_names() {
        if !tables.contains_key(name) {
            let columns = schema(name).unwrap_or_default();
            tables.insert(name.to_owned(), Table::new(name, columns));
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_classic_table_has_time_and_item_columns() {
        for name in table_names() {
            let cols = schema(name).expect("schema");
            for needed in ["timestamp", "itemType", "itemId", "itemCount", "appId"] {
                assert!(
                    cols.iter().any(|c| c.name == needed),
                    "{name} lacks {needed}"
                );
            }
        }
        assert!(schema("nope").is_none());
    }
}
