//! Naming rules of the resource types the emulator stores, checked when a resource is
//! created (an existing resource keeps its name).
//!
//! Lengths and character sets are those of Microsoft's "Resource naming restrictions" page
//! (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
//! Resource groups have their own check, next to their handler.

use uuid::Uuid;

use super::arm_error::ArmError;
use crate::resources::{COMPONENT_TYPE, WORKSPACE_TYPE};

/// Longest name accepted for a type without a rule of its own. A guess: 260 characters
/// is the bound of the Azure Monitor types the page lists; no general ARM limit was found.
const GENERIC_MAX: usize = 260;

/// Checks `name`, the last segment of a new resource of `full_type`
/// (`Microsoft.OperationalInsights/workspaces`, …).
pub(crate) fn check(full_type: &str, name: &str) -> Result<(), ArmError> {
    if full_type.eq_ignore_ascii_case(WORKSPACE_TYPE) {
        workspace(name)
    } else if full_type.eq_ignore_ascii_case(COMPONENT_TYPE) {
        component(name)
    } else {
        generic(full_type, name)
    }
}

/// Log Analytics workspaces: 4 to 63 ASCII letters, digits and hyphens, starting and
/// ending with a letter or digit.
fn workspace(name: &str) -> Result<(), ArmError> {
    // The Operational Insights provider ends its messages with an operation id.
    let operation = || Uuid::new_v4().simple().to_string();
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let chars_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && alnum(name.chars().next())
        && alnum(name.chars().next_back());
    if !chars_ok {
        // Text as the provider answered a name with an underscore (Azure/AzureMonitorStarterPacks
        // issue 173: "… (Code: InvalidParameter)").
        return Err(ArmError::InvalidParameter(format!(
            "Workspace name must start and end with an alphanumeric character, and may contain only alphanumeric and hyphen characters. Operation Id: '{}'",
            operation()
        )));
    }
    if !(4..=63).contains(&name.len()) {
        // Wording is a guess, in the form of the character rule's message.
        return Err(ArmError::InvalidParameter(format!(
            "Workspace name must be between 4 and 63 characters long. Operation Id: '{}'",
            operation()
        )));
    }
    Ok(())
}

/// Application Insights components: 1 to 260 characters, none of `%&\?/` or a control
/// character, not ending with a space or a period.
fn component(name: &str) -> Result<(), ArmError> {
    let reason = if name.chars().count() > GENERIC_MAX {
        Some(format!("it can have at most {GENERIC_MAX} characters"))
    } else if name.chars().any(|c| "%&\\?/".contains(c) || c.is_control()) {
        Some("it cannot contain '%', '&', '\\', '?', '/' or control characters".to_owned())
    } else if name.ends_with(['.', ' ']) {
        Some("it cannot end with a period or a space".to_owned())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ArmError::InvalidResourceName {
            name: name.to_owned(),
            resource_type: COMPONENT_TYPE.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Any other type: at most [`GENERIC_MAX`] characters, no control character (a guess).
fn generic(full_type: &str, name: &str) -> Result<(), ArmError> {
    let reason = if name.chars().count() > GENERIC_MAX {
        format!("it can have at most {GENERIC_MAX} characters")
    } else if name.chars().any(char::is_control) {
        "it cannot contain control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(ArmError::InvalidResourceName {
        name: name.to_owned(),
        resource_type: full_type.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<(), ArmError>) -> Option<&'static str> {
        r.err().map(|e| e.parts().1)
    }

    #[test]
    fn workspace_names_follow_the_documented_rule() {
        for ok in ["logs", "a-b-c", "W0rkspace", &"a".repeat(63)] {
            assert_eq!(code(check(WORKSPACE_TYPE, ok)), None, "{ok}");
        }
        for bad in [
            "abc",
            &"a".repeat(64),
            "-abc",
            "abc-",
            "a_bc",
            "abcé",
            "ab cd",
        ] {
            assert_eq!(
                code(check("microsoft.operationalinsights/WORKSPACES", bad)),
                Some("InvalidParameter"),
                "{bad}"
            );
        }
    }

    #[test]
    fn component_and_other_names_are_bounded() {
        for ok in ["ai", "my app (prod)", &"a".repeat(260)] {
            assert_eq!(code(check(COMPONENT_TYPE, ok)), None, "{ok}");
        }
        for bad in [&"a".repeat(261), "a%b", "a?b", "a\u{1}", "ends.", "ends "] {
            assert_eq!(
                code(check(COMPONENT_TYPE, bad)),
                Some("InvalidResourceName"),
                "{bad}"
            );
        }
        let dcr = "Microsoft.Insights/dataCollectionRules";
        assert_eq!(code(check(dcr, "rule-1")), None);
        assert_eq!(
            code(check(dcr, &"r".repeat(261))),
            Some("InvalidResourceName")
        );
    }
}
