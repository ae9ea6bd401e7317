//! Microsoft Graph: applications, their client secrets, and service principals.

use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::auth::TokenCredential;
use crate::error::{Error, Service};
use crate::http::{Pipeline, Request};

/// A client secret's metadata as Graph shows it (never the value).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    /// Credential id (what `removePassword` takes).
    pub key_id: String,
    /// Description.
    pub display_name: Option<String>,
    /// First three characters of the value.
    pub hint: Option<String>,
    /// Valid from.
    pub start_date_time: Option<String>,
    /// Valid until.
    pub end_date_time: Option<String>,
}

/// An application registration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Object id.
    pub id: String,
    /// Application (client) id.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
    /// App id of the client that created it (Graph's `createdByAppId`; absent from older
    /// answers).
    #[serde(default)]
    pub created_by_app_id: Option<String>,
    /// Who can sign in.
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    /// Application ID URIs.
    #[serde(default)]
    pub identifier_uris: Vec<String>,
    /// Client secrets (metadata only).
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    /// Every other property Graph returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A service principal.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Object id: the `principalId` of its role assignments and the `oid` of its tokens.
    pub id: String,
    /// The application's client id.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
    /// App id of the client that created it (`createdByAppId`).
    #[serde(default)]
    pub created_by_app_id: Option<String>,
    /// Whether it can sign in.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// Names it is known by (the app id first).
    #[serde(default)]
    pub service_principal_names: Vec<String>,
    /// Every other property Graph returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A secret value Graph shows exactly once, when it is created. Keep it; it cannot be read
/// again. Its `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeSecret(String);

impl OneTimeSecret {
    /// The value.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value, consuming the wrapper.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for OneTimeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeSecret(***)")
    }
}

/// What `addPassword` returns: the credential's metadata and its value, this one time.
#[derive(Debug, Clone)]
pub struct NewSecret {
    /// Metadata, as later reads show it.
    pub credential: PasswordCredential,
    /// The value.
    pub secret: OneTimeSecret,
}

/// Options of a new client secret.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretOptions {
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Valid from (RFC 3339); default now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    /// Valid until (RFC 3339); default start + 2 years.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<String>,
    /// A key id chosen by the client. Graph ignores it and generates its own; Azure
    /// PowerShell sends one all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// Graph client.
#[derive(Debug, Clone)]
pub struct Graph {
    pub(crate) pipeline: Pipeline,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) endpoint: String,
    pub(crate) scope: String,
}

impl Graph {
    fn url(&self, path: &str) -> String {
        format!("{}/v1.0{path}", self.endpoint)
    }

    async fn send(&self, req: Request) -> Result<crate::http::Reply, Error> {
        self.pipeline
            .send(Service::Graph, &req, Some((&self.credential, &self.scope)))
            .await
    }

    async fn list<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        filter: Option<&str>,
    ) -> Result<Vec<T>, Error> {
        let mut url = self.url(path);
        if let Some(filter) = filter {
            url.push_str("?$filter=");
            url.push_str(&form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>());
        }
        let mut out = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next {
            let page: Page<T> = self
                .send(Request::new(Method::GET, url))
                .await?
                .json(Service::Graph)?;
            out.extend(page.value);
            next = page.next_link;
        }
        Ok(out)
    }

    /// Registers an application.
    pub async fn create_application(&self, display_name: &str) -> Result<Application, Error> {
        self.create_application_with(json!({"displayName": display_name}))
            .await
    }

    /// Registers an application from a full Graph body.
    pub async fn create_application_with(&self, body: Value) -> Result<Application, Error> {
        let req = Request::new(Method::POST, self.url("/applications")).json(&body);
        self.send(req).await?.json(Service::Graph)
    }

    /// Reads an application by object id.
    pub async fn get_application(&self, object_id: &str) -> Result<Application, Error> {
        self.send(Request::new(
            Method::GET,
            self.url(&format!("/applications/{object_id}")),
        ))
        .await?
        .json(Service::Graph)
    }

    /// Reads an application by client id.
    pub async fn get_application_by_app_id(&self, app_id: &str) -> Result<Application, Error> {
        let url = self.url(&format!("/applications(appId='{app_id}')"));
        self.send(Request::new(Method::GET, url))
            .await?
            .json(Service::Graph)
    }

    /// Lists applications, following `@odata.nextLink`; `filter` is an OData `$filter`.
    pub async fn list_applications(&self, filter: Option<&str>) -> Result<Vec<Application>, Error> {
        self.list("/applications", filter).await
    }

    /// Updates an application with a partial Graph body.
    pub async fn update_application(&self, object_id: &str, patch: Value) -> Result<(), Error> {
        let req = Request::new(
            Method::PATCH,
            self.url(&format!("/applications/{object_id}")),
        )
        .json(&patch);
        self.send(req).await.map(drop)
    }

    /// Deletes an application (and its service principal) into deleted items.
    pub async fn delete_application(&self, object_id: &str) -> Result<(), Error> {
        self.send(Request::new(
            Method::DELETE,
            self.url(&format!("/applications/{object_id}")),
        ))
        .await
        .map(drop)
    }

    /// Adds a client secret; the returned [`OneTimeSecret`] is the only time Graph shows it.
    pub async fn add_password(
        &self,
        object_id: &str,
        options: &SecretOptions,
    ) -> Result<NewSecret, Error> {
        let url = self.url(&format!("/applications/{object_id}/addPassword"));
        let reply = self
            .send(Request::new(Method::POST, url).json(&json!({"passwordCredential": options})))
            .await?;
        let mut body: Value = reply.json(Service::Graph)?;
        let secret = body["secretText"]
            .as_str()
            .map(|s| OneTimeSecret(s.to_owned()))
            .ok_or_else(|| Error::Decode {
                service: Service::Graph,
                message: "no secretText".into(),
            })?;
        body["secretText"] = Value::Null;
        let credential = serde_json::from_value(body).map_err(|e| Error::Decode {
            service: Service::Graph,
            message: e.to_string(),
        })?;
        Ok(NewSecret { credential, secret })
    }

    /// Removes a client secret by its key id.
    pub async fn remove_password(&self, object_id: &str, key_id: &str) -> Result<(), Error> {
        let url = self.url(&format!("/applications/{object_id}/removePassword"));
        self.send(Request::new(Method::POST, url).json(&json!({"keyId": key_id})))
            .await
            .map(drop)
    }

    /// Creates the service principal of an application, enabled (the body the Azure CLI sends).
    pub async fn create_service_principal(&self, app_id: &str) -> Result<ServicePrincipal, Error> {
        self.create_service_principal_with(json!({"appId": app_id, "accountEnabled": true}))
            .await
    }

    /// Creates a service principal from a full Graph body (`appId` required).
    pub async fn create_service_principal_with(
        &self,
        body: Value,
    ) -> Result<ServicePrincipal, Error> {
        let req = Request::new(Method::POST, self.url("/servicePrincipals")).json(&body);
        self.send(req).await?.json(Service::Graph)
    }

    /// Reads a service principal by object id.
    pub async fn get_service_principal(&self, object_id: &str) -> Result<ServicePrincipal, Error> {
        let url = self.url(&format!("/servicePrincipals/{object_id}"));
        self.send(Request::new(Method::GET, url))
            .await?
            .json(Service::Graph)
    }

    /// Reads the service principal of a client id.
    pub async fn get_service_principal_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<ServicePrincipal, Error> {
        let url = self.url(&format!("/servicePrincipals(appId='{app_id}')"));
        self.send(Request::new(Method::GET, url))
            .await?
            .json(Service::Graph)
    }

    /// Lists service principals, following `@odata.nextLink`.
    pub async fn list_service_principals(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<ServicePrincipal>, Error> {
        self.list("/servicePrincipals", filter).await
    }

    /// `POST /directoryObjects/getByIds`: the objects among `ids` that exist, each with its
    /// `@odata.type`, optionally only of `types` (`servicePrincipal`, `application`, …).
    pub async fn get_by_ids(&self, ids: &[&str], types: &[&str]) -> Result<Vec<Value>, Error> {
        let mut body = json!({ "ids": ids });
        if !types.is_empty() {
            body["types"] = json!(types);
        }
        let req = Request::new(Method::POST, self.url("/directoryObjects/getByIds")).json(&body);
        let page: Page<Value> = self.send(req).await?.json(Service::Graph)?;
        Ok(page.value)
    }

    /// `GET /applications/{id}/owners`: the owners as directory objects, each with its
    /// `@odata.type` (the emulator's are service principals).
    pub async fn list_owners(&self, object_id: &str) -> Result<Vec<Value>, Error> {
        let url = self.url(&format!("/applications/{object_id}/owners"));
        let page: Page<Value> = self
            .send(Request::new(Method::GET, url))
            .await?
            .json(Service::Graph)?;
        Ok(page.value)
    }

    /// `POST /applications/{id}/owners/$ref`: makes directory object `owner_id` an owner.
    pub async fn add_owner(&self, object_id: &str, owner_id: &str) -> Result<(), Error> {
        let url = self.url(&format!("/applications/{object_id}/owners/$ref"));
        let body = json!({
            "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{owner_id}")
        });
        self.send(Request::new(Method::POST, url).json(&body))
            .await
            .map(drop)
    }

    /// Deletes a service principal.
    pub async fn delete_service_principal(&self, object_id: &str) -> Result<(), Error> {
        let url = self.url(&format!("/servicePrincipals/{object_id}"));
        self.send(Request::new(Method::DELETE, url)).await.map(drop)
    }

    /// Deletes an object from deleted items for good (it can no longer be restored).
    pub async fn purge_deleted(&self, object_id: &str) -> Result<(), Error> {
        let url = self.url(&format!("/directory/deletedItems/{object_id}"));
        self.send(Request::new(Method::DELETE, url)).await.map(drop)
    }
}
