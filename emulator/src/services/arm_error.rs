//! Every error the emulated ARM answers with: status, code and message. The operations the
//! services layer performs for ARM and the portal return them; the ARM wire module renders
//! them in ARM's envelope (`arm::error`).
//!
//! Texts are ARM's where a capture or Microsoft's documentation showed them; the rest are
//! marked as guesses next to their variant.

use axum::http::StatusCode;
use time::OffsetDateTime;
use uuid::Uuid;

/// The audiences ARM accepts, as its wrong-audience message lists them.
pub(crate) const ALLOWED_AUDIENCES: [&str; 4] = [
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// Every failure of the emulated ARM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArmError {
    /// No `api-version` query parameter.
    MissingApiVersion,
    /// An `api-version` that ARM itself (Microsoft.Resources) does not serve.
    InvalidApiVersion {
        /// As sent.
        given: String,
        /// Comma-separated, newest first.
        supported: &'static str,
    },
    /// A provider type unknown for the `api-version` (or unknown at all).
    InvalidResourceType {
        /// Type within the namespace, e.g. `roleAssignments`.
        resource_type: String,
        /// Namespace, e.g. `Microsoft.Authorization`.
        namespace: String,
        /// As sent.
        version: String,
        /// Versions to list, when known.
        supported: Option<&'static str>,
    },
    /// A `providers/{namespace}` segment that is not a namespace. Status is a guess (404,
    /// as the captures' "NotFound" wrappers suggest).
    InvalidResourceNamespace(String),
    /// A resource write in a namespace not registered with the subscription (the namespace
    /// as the path wrote it).
    MissingSubscriptionRegistration(String),
    /// A path outside any subscription that no tenant-level provider serves.
    MissingSubscription,
    /// No `Authorization` header.
    MissingAuthorization,
    /// An `Authorization` header that is not `Bearer <token>`. Wording is a guess.
    MalformedAuthorization,
    /// A token that does not verify (structure, signature, key, algorithm).
    InvalidToken,
    /// A token for another resource.
    WrongAudience(String),
    /// A token past its expiry.
    ExpiredToken {
        /// Its `exp`.
        exp: OffsetDateTime,
        /// The emulator's time.
        now: OffsetDateTime,
    },
    /// A token issued by another tenant than the one owning the subscriptions.
    WrongTenant {
        /// The token's issuer.
        issuer: String,
        /// The emulator's tenant.
        tenant: Uuid,
    },
    /// The caller lacks the action at the scope.
    AuthorizationFailed {
        /// The caller's object id.
        principal: Uuid,
        /// The action checked.
        action: String,
        /// The scope it was checked at.
        scope: String,
    },
    /// A subscription id that is not a GUID. Wording from memory of ARM's answers (a guess).
    InvalidSubscriptionId(String),
    /// No such subscription.
    SubscriptionNotFound(String),
    /// No such resource group.
    ResourceGroupNotFound(String),
    /// No such resource.
    ResourceNotFound {
        /// Full type.
        resource_type: String,
        /// Name.
        name: String,
        /// Its resource group.
        group: String,
    },
    /// A nested resource whose parent does not exist.
    ParentResourceNotFound(String),
    /// A body that is not the JSON the operation takes.
    InvalidRequestContent(String),
    /// A resource group without `location`.
    LocationRequired,
    /// A region ARM does not know, for a resource group.
    LocationNotAvailableForResourceGroup(String),
    /// A region ARM does not know, for a resource.
    LocationNotAvailableForResourceType {
        /// As sent.
        location: String,
        /// Full type.
        resource_type: String,
    },
    /// A resource group name with characters ARM refuses.
    InvalidResourceGroup {
        /// As sent.
        name: String,
        /// The offending characters.
        invalid: String,
    },
    /// A resource group name over 90 characters. Wording is a guess.
    ResourceGroupNameTooLong(String),
    /// A parameter a resource provider refuses (Operational Insights' code for a bad
    /// workspace name), with the provider's message.
    InvalidParameter(String),
    /// A new resource's name outside its type's naming rule. Code and wording are guesses.
    InvalidResourceName {
        /// As sent.
        name: String,
        /// Full type.
        resource_type: String,
        /// What the rule forbids.
        reason: String,
    },
    /// An operation-result token that names no operation. Code and wording are guesses.
    InvalidOperationId(String),
    /// An existing resource group written with another region.
    InvalidResourceGroupLocation {
        /// As sent.
        given: String,
        /// Where it is.
        existing: String,
    },
    /// A method the addressed collection or resource does not take. Status is a guess.
    MethodNotSupported {
        /// The method.
        method: String,
        /// Whether the path names a collection.
        collection: bool,
    },
    /// A body over ARM's 4 MB request limit (ARM's documented text).
    RequestContentTooLarge,
    /// A request target over [`crate::catalog::MAX_URI_LEN`]. Code and wording are guesses.
    UriTooLong,
    /// Header fields over [`crate::catalog::MAX_HEADER_BYTES`]. Code and wording are guesses.
    HeadersTooLarge,
    /// A body sent without a JSON content type; `None` when the header is absent.
    UnsupportedMediaType(Option<String>),
    /// A request whose path or query cannot be read. Wording is a guess.
    InvalidRequestUri(String),
    /// A role assignment name that is not a GUID.
    InvalidRoleAssignmentId(String),
    /// No such role assignment. Wording is a guess (ARM's text was not captured).
    RoleAssignmentNotFound(String),
    /// The same principal, role and scope are already assigned under another name.
    RoleAssignmentExists(Uuid),
    /// An existing assignment name written with another principal, role or scope.
    RoleAssignmentUpdateNotPermitted,
    /// A principal ARM cannot see (unknown, or still replicating).
    PrincipalNotFound {
        /// The principal.
        principal: Uuid,
        /// The tenant.
        tenant: Uuid,
    },
    /// A `principalId` that is not a GUID.
    InvalidPrincipalId(String),
    /// A `principalType` that is not one of ARM's values. Code and wording are guesses.
    InvalidPrincipalType(String),
    /// A `principalType` that contradicts the directory.
    UnmatchedPrincipalType {
        /// The principal.
        principal: Uuid,
        /// Its real type.
        actual: &'static str,
        /// As sent.
        given: String,
    },
    /// A `roleDefinitionId` that is not a role definition resource id.
    InvalidRoleDefinitionId(String),
    /// A well-formed role definition id that names no role. 400 on assignment writes, 404 on
    /// reads.
    RoleDefinitionDoesNotExist {
        /// The id as ARM echoes it (GUID without dashes).
        id: String,
        /// 400 or 404.
        status: StatusCode,
    },
    /// A role with data actions assigned through an api-version older than 2018-01-01-preview.
    DataActionsNeedNewerVersion(String),
    /// A custom role assigned outside its `assignableScopes`. Code is a guess.
    RoleNotAssignableAtScope(String),
    /// A custom role name already used in the tenant.
    RoleDefinitionWithSameNameExists,
    /// Deleting a custom role still assigned. Code and wording are guesses.
    RoleDefinitionHasAssignments,
    /// Writing a built-in role. Code and wording are guesses.
    BuiltInRoleNotModifiable(String),
    /// A custom role definition missing what ARM requires. Code is a guess.
    InvalidRoleDefinition(String),
    /// A `$filter` the operation does not support. Code and wording are guesses.
    UnsupportedFilter(String),
    /// A data collection rule that does not validate: (code, message, target) of each
    /// finding, answered with ARM's `details`.
    InvalidDataCollectionRule(Vec<(String, String, String)>),
    /// A metrics query the metrics API refuses. Its body is flat, `{"code","message"}`, as
    /// third-party captures of the metrics API show.
    MetricsBadRequest(String),
    /// A `$filter` the operation cannot read (Azure/azure-sdk-for-go issue #2480: a
    /// resource group list filtered by `name eq 'foo'`).
    InvalidFilter(String),
    /// A `$top` that is not a positive integer. Code and wording are guesses, after the
    /// `$filter` answer's.
    InvalidTop(String),
    /// A provider type ARM knows, asked for with an api-version its provider does not serve
    /// (Azure/azure-rest-api-specs issue #22203). Status 400 is an inference.
    NoRegisteredProviderFound {
        /// Normalized region name of the resource, as sent.
        location: String,
        /// As sent.
        version: String,
        /// Type within the namespace, e.g. `workspaces`.
        resource_type: String,
        /// The type's api-versions, comma-separated.
        versions: String,
        /// The type's regions, comma-separated.
        locations: String,
    },
    /// A resource's `identity` that the managed identity service refuses: ARM wraps the
    /// service's own `BadRequest` (`inner`) in its message (Azure/azure-cli#31837).
    FailedIdentityOperation {
        /// The resource's id.
        resource: String,
        /// The managed identity service's message.
        inner: String,
    },
}

/// ARM's US-style timestamp, e.g. `8/17/2017 10:54:41 PM`.
pub(crate) fn us_timestamp(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    t.format(&format).unwrap_or_default()
}

impl ArmError {
    /// (status, code, message).
    pub(crate) fn parts(&self) -> (StatusCode, &'static str, String) {
        use ArmError::*;
        let bad = StatusCode::BAD_REQUEST;
        let unauthorized = StatusCode::UNAUTHORIZED;
        let not_found = StatusCode::NOT_FOUND;
        let conflict = StatusCode::CONFLICT;
        match self {
            MissingApiVersion => (
                bad,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests."
                    .to_owned(),
            ),
            InvalidApiVersion { given, supported } => (
                bad,
                "InvalidApiVersionParameter",
                format!("The api-version '{given}' is invalid. The supported versions are '{supported}'."),
            ),
            InvalidResourceType {
                resource_type,
                namespace,
                version,
                supported,
            } => {
                let mut message = format!(
                    "The resource type '{resource_type}' could not be found in the namespace '{namespace}' for api version '{version}'."
                );
                if let Some(list) = supported {
                    message.pop();
                    message.push_str(&format!(". The supported api-versions are '{list}'."));
                }
                (not_found, "InvalidResourceType", message)
            }
            InvalidResourceNamespace(ns) => (
                not_found,
                "InvalidResourceNamespace",
                format!("The resource namespace '{ns}' is invalid."),
            ),
            // Observed in many captures (e.g. a Terraform log quoted in
            // hashicorp/terraform-provider-azurerm issues, the Azure CLI's own
            // `_check_rp_not_registered_err` test): 409 with the namespace as requested in
            // the message and in `details[0].target`.
            MissingSubscriptionRegistration(ns) => (
                StatusCode::CONFLICT,
                "MissingSubscriptionRegistration",
                format!(
                    "The subscription is not registered to use namespace '{ns}'. See https://aka.ms/rps-not-found for how to register subscriptions."
                ),
            ),
            MissingSubscription => (
                bad,
                "MissingSubscription",
                "The request did not have a subscription or a valid tenant level resource provider."
                    .to_owned(),
            ),
            MissingAuthorization => (
                unauthorized,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.".to_owned(),
            ),
            MalformedAuthorization => (
                unauthorized,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format."
                    .to_owned(),
            ),
            InvalidToken => (
                unauthorized,
                "InvalidAuthenticationToken",
                "The access token is invalid.".to_owned(),
            ),
            WrongAudience(aud) => (
                unauthorized,
                "InvalidAuthenticationTokenAudience",
                format!(
                    "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences {}.",
                    ALLOWED_AUDIENCES
                        .iter()
                        .map(|a| format!("'{a}'"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
            ExpiredToken { exp, now } => (
                unauthorized,
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    us_timestamp(*exp),
                    us_timestamp(*now)
                ),
            ),
            WrongTenant { issuer, tenant } => (
                unauthorized,
                "InvalidAuthenticationTokenTenant",
                format!(
                    "The access token is from the wrong issuer '{issuer}'. It must match the tenant 'https://sts.windows.net/{tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
                ),
            ),
            AuthorizationFailed {
                principal,
                action,
                scope,
            } => (
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!(
                    "The client '{principal}' with object id '{principal}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
                ),
            ),
            InvalidSubscriptionId(id) => (
                bad,
                "InvalidSubscriptionId",
                format!("The provided subscription identifier '{id}' is malformed or invalid."),
            ),
            SubscriptionNotFound(id) => (
                not_found,
                "SubscriptionNotFound",
                format!("The subscription '{id}' could not be found."),
            ),
            ResourceGroupNotFound(name) => (
                not_found,
                "ResourceGroupNotFound",
                format!("Resource group '{name}' could not be found."),
            ),
            ResourceNotFound {
                resource_type,
                name,
                group,
            } => (
                not_found,
                "ResourceNotFound",
                format!(
                    "The Resource '{resource_type}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
                ),
            ),
            ParentResourceNotFound(parent) => (
                not_found,
                "ParentResourceNotFound",
                format!(
                    "Can not perform requested operation on nested resource. Parent resource '{parent}' not found."
                ),
            ),
            InvalidRequestContent(detail) => (
                bad,
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{detail}'."),
            ),
            LocationRequired => (
                bad,
                "LocationRequired",
                "The location property is required for this definition.".to_owned(),
            ),
            LocationNotAvailableForResourceGroup(location) => (
                bad,
                "LocationNotAvailableForResourceGroup",
                format!(
                    "The provided location '{location}' is not available for resource group. List of available regions is '{}'.",
                    crate::resources::regions::REGIONS.join(",")
                ),
            ),
            LocationNotAvailableForResourceType {
                location,
                resource_type,
            } => (
                bad,
                "LocationNotAvailableForResourceType",
                format!(
                    "The provided location '{location}' is not available for resource type '{resource_type}'. List of available regions for the resource type is '{}'.",
                    crate::resources::regions::REGIONS.join(",")
                ),
            ),
            InvalidResourceGroup { name, invalid } => (
                bad,
                "InvalidResourceGroup",
                format!(
                    "The provided resource group name '{name}' has these invalid characters: '{invalid}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'."
                ),
            ),
            ResourceGroupNameTooLong(name) => (
                bad,
                "InvalidResourceGroup",
                format!(
                    "The provided resource group name '{name}' is too long. The name can be at most 90 characters."
                ),
            ),
            InvalidParameter(message) => (bad, "InvalidParameter", message.clone()),
            InvalidResourceName {
                name,
                resource_type,
                reason,
            } => (
                bad,
                "InvalidResourceName",
                format!(
                    "The resource name '{name}' is not valid for resource type '{resource_type}': {reason}."
                ),
            ),
            InvalidOperationId(token) => (
                not_found,
                "OperationNotFound",
                format!("The operation '{token}' could not be found."),
            ),
            InvalidResourceGroupLocation { given, existing } => (
                conflict,
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{given}'. The Resource group already exists in location '{existing}'."
                ),
            ),
            MethodNotSupported { method, collection } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "HttpMethodNotSupported",
                format!(
                    "The http method '{method}' is not supported for a resource{}.",
                    if *collection { " collection" } else { "" }
                ),
            ),
            RequestContentTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestContentTooLarge",
                "The request content size exceeds the maximum size of 4 MB.".to_owned(),
            ),
            UriTooLong => (
                StatusCode::URI_TOO_LONG,
                "RequestUriTooLong",
                crate::catalog::uri_too_long_message(),
            ),
            HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "RequestHeadersTooLarge",
                crate::catalog::headers_too_large_message(),
            ),
            UnsupportedMediaType(ct) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                format!(
                    "The content media type '{}' is not supported. Only 'application/json' is supported.",
                    ct.as_deref().unwrap_or("<null>")
                ),
            ),
            InvalidRequestUri(detail) => (bad, "InvalidRequestUri", detail.clone()),
            InvalidRoleAssignmentId(name) => (
                bad,
                "InvalidRoleAssignmentId",
                format!(
                    "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
                ),
            ),
            RoleAssignmentNotFound(name) => (
                not_found,
                "RoleAssignmentNotFound",
                format!("The role assignment '{name}' is not found."),
            ),
            RoleAssignmentExists(existing) => (
                conflict,
                "RoleAssignmentExists",
                format!(
                    "The role assignment already exists. The ID of the existing role assignment is {}.",
                    existing.simple()
                ),
            ),
            RoleAssignmentUpdateNotPermitted => (
                bad,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."
                    .to_owned(),
            ),
            PrincipalNotFound { principal, tenant } => (
                bad,
                "PrincipalNotFound",
                format!(
                    "Principal {} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                    principal.simple()
                ),
            ),
            InvalidPrincipalId(given) => (
                bad,
                "InvalidPrincipalId",
                format!("The Principal ID '{given}' is not valid. Principal ID must be a GUID."),
            ),
            InvalidPrincipalType(given) => (
                bad,
                "InvalidPrincipalType",
                format!(
                    "The principal type '{given}' is not valid. Valid values are 'User', 'Group', 'ServicePrincipal', 'ForeignGroup' and 'Device'."
                ),
            ),
            UnmatchedPrincipalType {
                principal,
                actual,
                given,
            } => (
                bad,
                "UnmatchedPrincipalType",
                // The typo "PrinciaplType" and the space before the comma are ARM's.
                format!(
                    "The PrincipalId '{}' has type '{actual}' , which is different from specified PrinciaplType '{given}'.",
                    principal.simple()
                ),
            ),
            InvalidRoleDefinitionId(given) => (
                bad,
                "InvalidRoleDefinitionId",
                format!("The role definition ID '{given}' is not valid."),
            ),
            RoleDefinitionDoesNotExist { id, status } => (
                *status,
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{id}' does not exist."),
            ),
            DataActionsNeedNewerVersion(version) => (
                bad,
                "UnsupportedApiVersionForRoleDefinitionHasDataActions",
                format!(
                    "Assignments to roles with DataActions and NotDataActions are not supported on API version '{version}'. The minimum required API version for this operations is '2018-01-01-preview'."
                ),
            ),
            RoleNotAssignableAtScope(role) => (
                bad,
                "RoleNotAssignableAtScope",
                format!("The role {role} is not available for assignment at the requested scope."),
            ),
            RoleDefinitionWithSameNameExists => (
                conflict,
                "RoleDefinitionWithSameNameExists",
                "A custom role with the same name already exists in this directory.".to_owned(),
            ),
            RoleDefinitionHasAssignments => (
                conflict,
                "RoleDefinitionHasAssignments",
                "There are existing role assignments referencing role. Delete them before deleting the role definition.".to_owned(),
            ),
            BuiltInRoleNotModifiable(id) => (
                bad,
                "BuiltInRoleNotModifiable",
                format!("The built-in role definition '{id}' cannot be modified."),
            ),
            InvalidRoleDefinition(detail) => (bad, "InvalidRoleDefinition", detail.clone()),
            UnsupportedFilter(filter) => (
                bad,
                "UnsupportedQuery",
                format!("The filter '{filter}' is not supported."),
            ),
            InvalidDataCollectionRule(_) => (
                bad,
                "InvalidPayload",
                "Data collection rule is invalid".to_owned(),
            ),
            MetricsBadRequest(message) => (bad, "BadRequest", message.clone()),
            InvalidFilter(filter) => (
                bad,
                "InvalidFilterInQueryString",
                format!("Invalid $filter '{filter}' specified in the query string."),
            ),
            InvalidTop(top) => (
                bad,
                "InvalidTopInQueryString",
                format!("Invalid $top '{top}' specified in the query string."),
            ),
            NoRegisteredProviderFound {
                location,
                version,
                resource_type,
                versions,
                locations,
            } => (
                bad,
                "NoRegisteredProviderFound",
                format!(
                    "No registered resource provider found for location '{location}' and API version '{version}' for type '{resource_type}'. The supported api-versions are '{versions}'. The supported locations are '{locations}'."
                ),
            ),
            FailedIdentityOperation { resource, inner } => {
                let inner = serde_json::json!({"error": {"code": "BadRequest", "message": inner}});
                (
                    bad,
                    "FailedIdentityOperation",
                    format!(
                        "Identity operation for resource '{resource}' failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'. Response: '{inner}'.'."
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_arm_us_format() {
        let t = time::macros::datetime!(2017-08-17 22:54:41.9 UTC);
        assert_eq!(us_timestamp(t), "8/17/2017 10:54:41 PM");
        let t = time::macros::datetime!(2025-11-28 05:28:45 UTC);
        assert_eq!(us_timestamp(t), "11/28/2025 5:28:45 AM");
        let t = time::macros::datetime!(2025-01-02 00:05:09 UTC);
        assert_eq!(us_timestamp(t), "1/2/2025 12:05:09 AM");
    }

    #[test]
    fn messages_embed_ids_as_arm_does() {
        let id = Uuid::parse_str("314eb860-f90c-493b-aa0c-55e4226c2d34").expect("uuid");
        let (status, code, msg) = ArmError::RoleAssignmentExists(id).parts();
        assert_eq!((status.as_u16(), code), (409, "RoleAssignmentExists"));
        assert!(
            msg.ends_with("is 314eb860f90c493baa0c55e4226c2d34."),
            "{msg}"
        );
        let (_, _, msg) = ArmError::InvalidResourceType {
            resource_type: "roleAssignments".into(),
            namespace: "Microsoft.Authorization".into(),
            version: "x".into(),
            supported: Some("2022-04-01"),
        }
        .parts();
        assert!(
            msg.ends_with("for api version 'x'. The supported api-versions are '2022-04-01'."),
            "{msg}"
        );
        let (_, _, msg) = ArmError::WrongAudience("https://graph.microsoft.com".into()).parts();
        assert!(msg.ends_with("'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."), "{msg}");
    }
}
