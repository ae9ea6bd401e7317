//! Which `api-version` each route takes, and ARM's answer to one it does not.

use super::{ArmError, Route};
use crate::resources::providers;

/// Microsoft.Resources (subscriptions, tenants, resource groups, resource lists), newest
/// first, as ARM listed them in an October 2024 error message (its odd tail included), plus
/// 2024-11-01 and 2025-04-01, which later SDKs and the Azure CLI 2.91 send.
pub(crate) const RESOURCES: &str = "2025-04-01,2024-11-01,2024-08-01,2024-06-01-preview,2024-03-01,2023-07-01,2023-07-01-preview,2023-03-01-preview,2022-12-01,2022-11-01-preview,2022-09-01,2022-06-01,2022-05-01,2022-03-01-preview,2022-01-01,2021-04-01,2021-01-01,2020-10-01,2020-09-01,2020-08-01,2020-07-01,2020-06-01,2020-05-01,2020-01-01,2019-11-01,2019-10-01,2019-09-01,2019-08-01,2019-07-01,2019-06-01,2019-05-10,2019-05-01,2019-03-01,2018-11-01,2018-09-01,2018-08-01,2018-07-01,2018-06-01,2018-05-01,2018-02-01,2018-01-01,2017-12-01,2017-08-01,2017-06-01,2017-05-10,2017-05-01,2017-03-01,2016-09-01,2016-07-01,2016-06-01,2016-02-01,2015-11-01,2015-01-01,2014-04-01-preview,2014-04-01,2014-01-01,2013-03-01,2014-02-26,2014-04";

/// Microsoft.Authorization/roleAssignments, oldest first, as ARM listed them in a December
/// 2024 error message.
pub(crate) const ROLE_ASSIGNMENTS: &str = "2014-04-01-preview,2014-07-01-preview,2014-10-01-preview,2015-05-01-preview,2015-06-01,2015-07-01,2016-07-01,2017-05-01,2017-09-01,2017-10-01-preview,2018-01-01-preview,2018-07-01,2018-09-01-preview,2018-12-01-preview,2019-04-01-preview,2020-03-01-preview,2020-04-01-preview,2020-08-01-preview,2020-10-01-preview,2021-04-01-preview,2022-01-01-preview,2022-04-01";

/// Microsoft.Authorization/roleDefinitions. A guess: no error listing them was found; these
/// are the versions the published API specs and the Azure CLI use.
pub(crate) const ROLE_DEFINITIONS: &str = "2014-04-01-preview,2014-07-01-preview,2014-10-01-preview,2015-05-01-preview,2015-06-01,2015-07-01,2016-07-01,2017-05-01,2017-09-01,2018-01-01-preview,2018-07-01,2022-04-01,2022-05-01-preview";

/// Microsoft.Insights/metrics. A guess: the versions of the published API specs.
pub(crate) const METRICS: &str = "2016-06-01,2016-09-01,2017-05-01-preview,2018-01-01,2019-07-01,2021-05-01,2023-10-01,2024-02-01";

/// Microsoft.Insights/metricDefinitions. A guess, as for [`METRICS`].
pub(crate) const METRIC_DEFINITIONS: &str =
    "2016-03-01,2017-05-01-preview,2018-01-01,2021-05-01,2023-10-01,2024-02-01";

/// Microsoft.Insights/metricNamespaces. A guess, as for [`METRICS`].
pub(crate) const METRIC_NAMESPACES: &str = "2017-12-01-preview,2024-02-01";

fn listed(list: &str, version: &str) -> bool {
    list.split(',').any(|v| v.eq_ignore_ascii_case(version))
}

/// Whether `version` has the shape of an api-version: a date, optionally `-suffix`.
pub(crate) fn well_formed(version: &str) -> bool {
    let (date, suffix) = version.split_at(version.len().min(10));
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && (suffix.is_empty()
            || suffix
                .strip_prefix('-')
                .is_some_and(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric())))
}

/// Checks `version` against what `route` takes. Provider types the emulator stores
/// generically take any well-formed version, since their real lists are not known.
pub(crate) fn check(route: &Route, version: &str) -> Result<(), ArmError> {
    let provider = |resource_type: &str, namespace: &str, supported| {
        Err(ArmError::InvalidResourceType {
            resource_type: resource_type.to_owned(),
            namespace: namespace.to_owned(),
            version: version.to_owned(),
            supported,
        })
    };
    let fixed = match route {
        Route::RoleAssignments(_) | Route::RoleAssignment(..) => Some((
            "roleAssignments",
            "Microsoft.Authorization",
            ROLE_ASSIGNMENTS,
        )),
        Route::RoleDefinitions(_) | Route::RoleDefinition(..) => Some((
            "roleDefinitions",
            "Microsoft.Authorization",
            ROLE_DEFINITIONS,
        )),
        Route::Metrics(_) => Some(("metrics", "Microsoft.Insights", METRICS)),
        Route::MetricDefinitions(_) => Some((
            "metricDefinitions",
            "Microsoft.Insights",
            METRIC_DEFINITIONS,
        )),
        Route::MetricNamespaces(_) => {
            Some(("metricNamespaces", "Microsoft.Insights", METRIC_NAMESPACES))
        }
        _ => None,
    };
    if let Some((resource_type, namespace, list)) = fixed {
        return if listed(list, version) {
            Ok(())
        } else {
            provider(resource_type, namespace, Some(list))
        };
    }
    match route {
        Route::Resource(a) | Route::ResourcesOfType(a) => {
            let known = providers::provider(&a.namespace)
                .ok_or_else(|| ArmError::InvalidResourceNamespace(a.namespace.clone()))?;
            match known.resource_type(&a.type_path()) {
                Some(ty) if ty.takes(version) => Ok(()),
                Some(ty) => provider(&a.type_path(), known.namespace, Some(ty.api_versions)),
                None => provider(&a.type_path(), known.namespace, None),
            }
        }
        _ => {
            if listed(RESOURCES, version) {
                Ok(())
            } else {
                Err(ArmError::InvalidApiVersion {
                    given: version.to_owned(),
                    supported: RESOURCES,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_api_versions() {
        for ok in [
            "2022-04-01",
            "2022-05-01-preview",
            "2015-07-01",
            "2020-01-01-privatepreview",
        ] {
            assert!(well_formed(ok), "{ok}");
        }
        for bad in [
            "",
            "dummyapi",
            "2022-4-01",
            "2022-04-01-",
            "2022-04-01x",
            "2022-04-01-pré",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn each_route_family_checks_its_own_list() {
        assert!(check(&Route::Subscriptions, "2022-12-01").is_ok());
        assert!(matches!(
            check(&Route::Subscriptions, "2022-04-01-preview"),
            Err(ArmError::InvalidApiVersion { .. })
        ));
        let ra = Route::RoleAssignments("/".into());
        assert!(check(&ra, "2022-04-01").is_ok());
        assert!(check(&ra, "2015-07-01").is_ok());
        assert!(matches!(
            check(&ra, "2022-12-01"),
            Err(ArmError::InvalidResourceType {
                supported: Some(_),
                ..
            })
        ));
        assert!(check(&Route::RoleDefinitions("/".into()), "2022-05-01-preview").is_ok());
    }
}
