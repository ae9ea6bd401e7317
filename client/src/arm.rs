//! Azure Resource Manager: subscriptions, resource groups, generic resources, role
//! definitions and role assignments.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::auth::TokenCredential;
use crate::error::{Error, Service};
use crate::http::{Pipeline, Reply, Request};

/// API version used for Microsoft.Resources calls.
pub const RESOURCES_API: &str = "2022-09-01";
/// API version used for role assignments.
pub const AUTHORIZATION_API: &str = "2022-04-01";
/// API version used for role definition look-ups: the one the Azure CLI sends.
pub const ROLE_DEFINITIONS_API: &str = "2022-05-01-preview";

/// A subscription.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Its id (GUID).
    pub subscription_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// `Enabled`, …
    #[serde(default)]
    pub state: String,
    /// Everything else ARM returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A resource group or any other ARM resource in ARM's envelope.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Resource {
    /// Full resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Type, e.g. `Microsoft.Resources/resourceGroups`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Region.
    #[serde(default)]
    pub location: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Map<String, Value>>,
    /// Resource-specific properties (`provisioningState`, `customerId`, …).
    #[serde(default)]
    pub properties: Value,
    /// Everything else (`sku`, `kind`, `managedBy`, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A role definition.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RoleDefinition {
    /// Full id (scoped as ARM returned it).
    pub id: String,
    /// The role's GUID.
    pub name: String,
    /// Its properties.
    pub properties: RoleDefinitionProperties,
}

/// Properties of a role definition.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    /// Name, e.g. `Reader`.
    pub role_name: String,
    /// `BuiltInRole` or `CustomRole`.
    #[serde(rename = "type")]
    pub role_type: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Permission blocks.
    #[serde(default)]
    pub permissions: Vec<Value>,
    /// Where it can be assigned.
    #[serde(default)]
    pub assignable_scopes: Vec<String>,
}

/// A role assignment.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RoleAssignment {
    /// Full id.
    pub id: String,
    /// Its name (a GUID).
    pub name: String,
    /// Its properties.
    pub properties: RoleAssignmentProperties,
}

/// Properties of a role assignment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    /// Full id of the role definition.
    pub role_definition_id: String,
    /// Object id of the principal.
    pub principal_id: String,
    /// `ServicePrincipal`, `User`, …
    #[serde(default)]
    pub principal_type: Option<String>,
    /// Scope.
    pub scope: String,
    /// Who created it (null in the PUT answer, as ARM does).
    #[serde(default)]
    pub created_by: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Which role assignments a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AssignmentFilter {
    /// All at, above and below the scope.
    #[default]
    All,
    /// Those at or above the scope (`atScope()`).
    AtScope,
    /// Those of one principal (`principalId eq '…'`).
    PrincipalId(String),
    /// Those of a principal, through groups too (`assignedTo('…')`).
    AssignedTo(String),
}

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

/// ARM client.
#[derive(Debug, Clone)]
pub struct Arm {
    pub(crate) pipeline: Pipeline,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) endpoint: String,
    pub(crate) scope: String,
    pub(crate) authorization_api: String,
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Arm {
    /// The same client, sending `api_version` on role assignment calls instead of
    /// [`AUTHORIZATION_API`]: tools pin their own (Az.Resources sends `2020-08-01-preview`).
    pub fn with_authorization_api(mut self, api_version: impl Into<String>) -> Self {
        self.authorization_api = api_version.into();
        self
    }

    fn url(&self, path: &str, api_version: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api-version={api_version}", self.endpoint)
    }

    async fn send(&self, req: Request) -> Result<Reply, Error> {
        self.pipeline
            .send(Service::Arm, &req, Some((&self.credential, &self.scope)))
            .await
    }

    async fn list<T: for<'de> Deserialize<'de>>(&self, url: String) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next {
            let page: Page<T> = self
                .send(Request::new(Method::GET, url))
                .await?
                .json(Service::Arm)?;
            out.extend(page.value);
            next = page.next_link;
        }
        Ok(out)
    }

    /// Subscriptions the caller can see.
    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, Error> {
        self.list(self.url("/subscriptions", RESOURCES_API)).await
    }

    /// Creates or updates a resource group.
    pub async fn create_resource_group(
        &self,
        subscription: &str,
        name: &str,
        location: &str,
        tags: Option<Map<String, Value>>,
    ) -> Result<Resource, Error> {
        let url = self.url(
            &format!("/subscriptions/{subscription}/resourcegroups/{name}"),
            RESOURCES_API,
        );
        let mut body = json!({ "location": location });
        if let Some(tags) = tags {
            body["tags"] = Value::Object(tags);
        }
        self.send(Request::new(Method::PUT, url).json(&body))
            .await?
            .json(Service::Arm)
    }

    /// Reads a resource group.
    pub async fn get_resource_group(
        &self,
        subscription: &str,
        name: &str,
    ) -> Result<Resource, Error> {
        let url = self.url(
            &format!("/subscriptions/{subscription}/resourcegroups/{name}"),
            RESOURCES_API,
        );
        self.send(Request::new(Method::GET, url))
            .await?
            .json(Service::Arm)
    }

    /// Lists resource groups.
    pub async fn list_resource_groups(&self, subscription: &str) -> Result<Vec<Resource>, Error> {
        self.list(self.url(
            &format!("/subscriptions/{subscription}/resourcegroups"),
            RESOURCES_API,
        ))
        .await
    }

    /// Deletes a resource group and waits (up to `deadline`) for ARM's deletion job to end.
    pub async fn delete_resource_group(
        &self,
        subscription: &str,
        name: &str,
        deadline: Duration,
    ) -> Result<(), Error> {
        let url = self.url(
            &format!("/subscriptions/{subscription}/resourcegroups/{name}"),
            RESOURCES_API,
        );
        let reply = self.send(Request::new(Method::DELETE, url)).await?;
        self.poll(reply, deadline).await
    }

    /// Follows a 202's `Location` until the operation answers 200/204.
    async fn poll(&self, mut reply: Reply, deadline: Duration) -> Result<(), Error> {
        let started = std::time::Instant::now();
        while reply.status == StatusCode::ACCEPTED {
            let Some(location) = reply
                .headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
            else {
                return Ok(());
            };
            let wait = reply
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs)
                .min(Duration::from_secs(15));
            if started.elapsed() + wait > deadline {
                return Err(Error::Timeout {
                    waited: started.elapsed(),
                    last: Box::new(Error::Config(format!(
                        "operation still running at {location}"
                    ))),
                });
            }
            tokio::time::sleep(wait).await;
            reply = self.send(Request::new(Method::GET, location)).await?;
        }
        Ok(())
    }

    /// Creates or replaces any resource by its full id.
    pub async fn put_resource(
        &self,
        resource_id: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Resource, Error> {
        let url = self.url(resource_id, api_version);
        self.send(Request::new(Method::PUT, url).json(body))
            .await?
            .json(Service::Arm)
    }

    /// Reads any resource by its full id.
    pub async fn get_resource(
        &self,
        resource_id: &str,
        api_version: &str,
    ) -> Result<Resource, Error> {
        self.send(Request::new(
            Method::GET,
            self.url(resource_id, api_version),
        ))
        .await?
        .json(Service::Arm)
    }

    /// Deletes any resource by its full id.
    pub async fn delete_resource(&self, resource_id: &str, api_version: &str) -> Result<(), Error> {
        self.send(Request::new(
            Method::DELETE,
            self.url(resource_id, api_version),
        ))
        .await
        .map(drop)
    }

    /// Lists the resources in a resource group.
    pub async fn list_resources_in_group(
        &self,
        subscription: &str,
        group: &str,
    ) -> Result<Vec<Resource>, Error> {
        let path = format!("/subscriptions/{subscription}/resourceGroups/{group}/resources");
        self.list(self.url(&path, RESOURCES_API)).await
    }

    /// Finds a role definition by name (`Reader`, `Log Analytics Reader`, …) at `scope`.
    pub async fn role_definition_by_name(
        &self,
        scope: &str,
        role_name: &str,
    ) -> Result<Option<RoleDefinition>, Error> {
        let filter = enc(&format!("roleName eq '{role_name}'"));
        let path =
            format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter={filter}");
        Ok(self
            .list::<RoleDefinition>(self.url(&path, ROLE_DEFINITIONS_API))
            .await?
            .into_iter()
            .next())
    }

    /// Reads a role definition by its full id (`…/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
    pub async fn get_role_definition(&self, id: &str) -> Result<RoleDefinition, Error> {
        self.send(Request::new(
            Method::GET,
            self.url(id, ROLE_DEFINITIONS_API),
        ))
        .await?
        .json(Service::Arm)
    }

    /// Assigns `role_definition_id` to `principal_id` at `scope` under a new name.
    /// `principal_type` (`ServicePrincipal`, …) lets ARM skip the directory lookup that fails
    /// while a new principal replicates.
    pub async fn create_role_assignment(
        &self,
        scope: &str,
        role_definition_id: &str,
        principal_id: &str,
        principal_type: Option<&str>,
    ) -> Result<RoleAssignment, Error> {
        let name = uuid::Uuid::new_v4();
        let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
        let mut properties =
            json!({"roleDefinitionId": role_definition_id, "principalId": principal_id});
        if let Some(t) = principal_type {
            properties["principalType"] = json!(t);
        }
        let req = Request::new(Method::PUT, self.url(&path, &self.authorization_api))
            .json(&json!({"properties": properties}));
        self.send(req).await?.json(Service::Arm)
    }

    /// Reads a role assignment by its full id.
    pub async fn get_role_assignment(&self, id: &str) -> Result<RoleAssignment, Error> {
        self.send(Request::new(
            Method::GET,
            self.url(id, &self.authorization_api),
        ))
        .await?
        .json(Service::Arm)
    }

    /// Lists role assignments at `scope`.
    pub async fn list_role_assignments(
        &self,
        scope: &str,
        filter: &AssignmentFilter,
    ) -> Result<Vec<RoleAssignment>, Error> {
        let mut path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments");
        let f = match filter {
            AssignmentFilter::All => None,
            AssignmentFilter::AtScope => Some("atScope()".to_owned()),
            AssignmentFilter::PrincipalId(id) => Some(format!("principalId eq '{id}'")),
            AssignmentFilter::AssignedTo(id) => Some(format!("assignedTo('{id}')")),
        };
        if let Some(f) = f {
            path.push_str("?$filter=");
            path.push_str(&enc(&f));
        }
        self.list(self.url(&path, &self.authorization_api)).await
    }

    /// Deletes a role assignment by id; `None` when it did not exist (ARM answers 204).
    pub async fn delete_role_assignment(&self, id: &str) -> Result<Option<RoleAssignment>, Error> {
        let reply = self
            .send(Request::new(
                Method::DELETE,
                self.url(id, &self.authorization_api),
            ))
            .await?;
        if reply.status == StatusCode::NO_CONTENT || reply.body.is_empty() {
            return Ok(None);
        }
        reply.json(Service::Arm).map(Some)
    }
}
