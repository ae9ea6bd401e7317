//! A seed: the tenant a test or CI run wants at start, declared in a file (`--seed FILE`,
//! TOML or JSON) or built in Rust ([`Emulator::builder().seed(…)`](crate::EmulatorBuilder::seed)):
//! applications with fixed ids and the secrets the file gives, their service principals,
//! resource groups and their resources, role assignments, and the clock.
//!
//! Not to be confused with the bulk [`SeedRequest`](crate::SeedRequest) (`POST
//! /_emulator/seed`), which generates counts of anonymous objects for load tests.
//!
//! This module only declares and reads seeds; the services layer applies them at start, with
//! the rules of the APIs (`docs/seed.md` lists the schema and the errors).

mod source;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

pub use self::source::InvalidSeed;
use self::source::Source;
pub(crate) use self::source::{FieldPath, SeedFault};
use crate::secret::Secret;

/// What a seed declares. Every list may be empty; [`Seed::default`] changes nothing.
///
/// ```
/// let seed = entra_emulator::Seed::from_toml_str(r#"
///     [[applications]]
///     name = "ci-app"
///     client_id = "11111111-1111-1111-1111-111111111111"
///     secrets = [{ value = "ci-secret-value" }]
///
///     [[resource_groups]]
///     name = "rg-ci"
///     location = "eastus"
///
///     [[role_assignments]]
///     role = "Reader"
///     principal = "ci-app"
///     scope = "/subscriptions/{subscription}/resourceGroups/rg-ci"
/// "#)?;
/// assert_eq!(seed.applications[0].name, "ci-app");
/// # Ok::<(), entra_emulator::InvalidSeed>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Where the emulator's clock starts.
    #[serde(default)]
    pub clock: Option<Clock>,
    /// Application registrations.
    #[serde(default)]
    pub applications: Vec<Application>,
    /// Resource groups of the default subscription, with their resources.
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroup>,
    /// Role assignments.
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    /// The text it was read from, to name the line of an error found when it is applied.
    #[serde(skip)]
    source: Option<Arc<Source>>,
}

/// The emulator's clock at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Clock {
    /// The emulated time at start (RFC 3339). Not before the real time: the clock only moves
    /// forward.
    #[serde(with = "datetime")]
    pub start: OffsetDateTime,
}

/// An application registration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Application {
    /// Its display name; role assignments name the application by it, so it is unique in
    /// the seed.
    pub name: String,
    /// The application (client) id; a random one when absent.
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// The application's object id; a random one when absent.
    #[serde(default)]
    pub object_id: Option<Uuid>,
    /// Whether it gets a service principal (default `true`): without one it gets no token
    /// (AADSTS7000229) and no role.
    #[serde(default = "yes")]
    pub service_principal: bool,
    /// The service principal's object id (its tokens' `oid`); a random one when absent.
    #[serde(default)]
    pub service_principal_id: Option<Uuid>,
    /// Client secrets.
    #[serde(default)]
    pub secrets: Vec<ClientSecret>,
}

fn yes() -> bool {
    true
}

impl Application {
    /// An application named `name` with random ids, a service principal and no secret.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            client_id: None,
            object_id: None,
            service_principal: true,
            service_principal_id: None,
            secrets: Vec::new(),
        }
    }
}

/// A client secret whose value the seed gives. Stored as a salted hash like any secret; the
/// value is never logged (its `Debug` hides it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ClientSecret {
    /// The secret's value.
    pub value: Secret,
    /// Its description (`displayName` in Graph).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Valid from (RFC 3339); the clock's start when absent.
    #[serde(default, with = "datetime::option")]
    pub start: Option<OffsetDateTime>,
    /// Valid until (RFC 3339); two years after `start` when absent, as Graph's default.
    #[serde(default, with = "datetime::option")]
    pub expires: Option<OffsetDateTime>,
}

impl ClientSecret {
    /// A secret of this value, valid from the clock's start for two years.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: Secret::new(value),
            display_name: None,
            start: None,
            expires: None,
        }
    }
}

/// A resource group of the default subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ResourceGroup {
    /// Its name (ARM's rules: letters, digits, `-_.()`, at most 90 characters).
    pub name: String,
    /// Its region (`eastus`, `East US`, …).
    pub location: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Resources in it.
    #[serde(default)]
    pub resources: Vec<Resource>,
}

impl ResourceGroup {
    /// An empty group named `name` in `location`.
    pub fn new(name: impl Into<String>, location: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            location: location.into(),
            tags: BTreeMap::new(),
            resources: Vec::new(),
        }
    }
}

/// A resource, created as ARM's `PUT` creates it (a workspace gets its `customerId`, a
/// component its `AppId` and instrumentation key), except that the seed may fix those ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Resource {
    /// Its full type, e.g. `Microsoft.OperationalInsights/workspaces` (a child type such as
    /// `Microsoft.Sql/servers/databases` takes a `name` of one segment per level:
    /// `server/database`).
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Its name.
    pub name: String,
    /// Its region; the group's when absent.
    #[serde(default)]
    pub location: Option<String>,
    /// `kind`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `properties`, as a `PUT` body gives them.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// A Log Analytics workspace's `customerId` (the id its query API takes).
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// An Application Insights component's `AppId` (the id its query API takes).
    #[serde(default)]
    pub app_id: Option<Uuid>,
    /// An Application Insights component's `InstrumentationKey`.
    #[serde(default)]
    pub instrumentation_key: Option<Uuid>,
}

impl Resource {
    /// A resource of `resource_type` named `name`, in its group's region.
    pub fn new(resource_type: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            name: name.into(),
            location: None,
            kind: None,
            tags: BTreeMap::new(),
            properties: Map::new(),
            customer_id: None,
            app_id: None,
            instrumentation_key: None,
        }
    }
}

/// When a seeded role assignment takes effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effective {
    /// At start, on every plane.
    #[default]
    Now,
    /// After the configured propagation delay of each plane, as an assignment made through
    /// ARM.
    Pending,
}

/// A role assignment to a seeded application's service principal (or to another one of the
/// tenant, by client id).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RoleAssignment {
    /// A built-in role's name (`Reader`, `Log Analytics Reader`, …) or a role definition id.
    pub role: String,
    /// The name of an application of the seed, or the client id of an application with a
    /// service principal.
    pub principal: String,
    /// The scope; `{subscription}` stands for the default subscription's id.
    pub scope: String,
    /// When it takes effect (default `now`).
    #[serde(default)]
    pub effective: Effective,
    /// The assignment's name (a GUID); a random one when absent.
    #[serde(default)]
    pub name: Option<Uuid>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
}

impl RoleAssignment {
    /// `role` for `principal` at `scope`, effective at once.
    pub fn new(
        role: impl Into<String>,
        principal: impl Into<String>,
        scope: impl Into<String>,
    ) -> Self {
        Self {
            role: role.into(),
            principal: principal.into(),
            scope: scope.into(),
            effective: Effective::Now,
            name: None,
            description: None,
        }
    }
}

impl Seed {
    /// An empty seed, to fill in Rust.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a seed in TOML. Errors name the line and the field
    /// (`line 12: applications[1].secrets[0].expires: invalid date-time …`).
    pub fn from_toml_str(text: &str) -> Result<Self, InvalidSeed> {
        Source::toml(None, text).read()
    }

    /// Reads a seed in JSON (the same fields as the TOML form).
    pub fn from_json_str(text: &str) -> Result<Self, InvalidSeed> {
        Source::json(None, text).read()
    }

    /// Reads a seed file: JSON when its name ends in `.json`, else TOML. Errors start with
    /// the path and the line (`seed.toml:12: …`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, InvalidSeed> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InvalidSeed {
            file: Some(name.clone()),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json {
            Source::json(Some(name), &text).read()
        } else {
            Source::toml(Some(name), &text).read()
        }
    }

    /// Sets the clock's start.
    pub fn clock_start(mut self, start: OffsetDateTime) -> Self {
        self.clock = Some(Clock { start });
        self
    }

    /// Adds an application.
    pub fn application(mut self, application: Application) -> Self {
        self.applications.push(application);
        self
    }

    /// Adds a resource group.
    pub fn resource_group(mut self, group: ResourceGroup) -> Self {
        self.resource_groups.push(group);
        self
    }

    /// Adds a role assignment.
    pub fn role_assignment(mut self, assignment: RoleAssignment) -> Self {
        self.role_assignments.push(assignment);
        self
    }

    /// The error `fault` names, with the file and line of its field when the seed was read
    /// from text.
    pub(crate) fn error(&self, fault: SeedFault) -> InvalidSeed {
        match &self.source {
            Some(source) => source.locate(fault),
            None => fault.into_error(None, None),
        }
    }

    fn with_source(mut self, source: Source) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

/// RFC 3339 date-times, from a string or (in TOML) a date-time value.
mod datetime {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, MapAccess, Visitor};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    const EXPECTED: &str = "an RFC 3339 date-time with an offset, e.g. 2030-01-01T00:00:00Z";

    struct DateTime;

    impl<'de> Visitor<'de> for DateTime {
        type Value = OffsetDateTime;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(EXPECTED)
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<OffsetDateTime, E> {
            OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|_| E::custom(format!("invalid date-time '{s}': expected {EXPECTED}")))
        }

        // TOML hands its own date-time values over as a one-entry map holding their text.
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OffsetDateTime, A::Error> {
            match map.next_entry::<String, String>()? {
                Some((_, text)) => self.visit_str(&text),
                None => Err(de::Error::custom(format!("expected {EXPECTED}"))),
            }
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        d.deserialize_any(DateTime)
    }

    pub(super) mod option {
        use super::*;

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            d.deserialize_any(DateTime).map(Some)
        }
    }
}
