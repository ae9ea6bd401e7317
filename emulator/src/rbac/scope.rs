//! ARM scopes: parsing, normalization and the ancestor chain.
//!
//! Accepted forms (keywords and names are case-insensitive, as in ARM):
//!
//! * `/` — the tenant root scope;
//! * `/providers/Microsoft.Management/managementGroups/{groupId}`;
//! * `/subscriptions/{subscriptionId}`;
//! * `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}`;
//! * `/subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}`
//!   followed by any number of child `{childType}/{childName}` pairs, and of
//!   extension resources `providers/{namespace}/{type}/{name}`;
//! * `/subscriptions/{s}/providers/{namespace}/{type}/{name}…` —
//!   subscription-level resources.
//!
//! A single trailing `/` is tolerated; empty segments (`//`) are not.
//! The normalized [`Scope::key`] is the whole text with ASCII letters
//! lowercased (non-ASCII characters are kept as they are), so every ancestor
//! key is a prefix of the key and [`Scope::ancestors`] allocates nothing.

use std::fmt;

/// What a [`Scope`] designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ScopeKind {
    /// `/`, the tenant root.
    Root,
    /// `/providers/Microsoft.Management/managementGroups/{id}`.
    ManagementGroup,
    /// `/subscriptions/{id}`.
    Subscription,
    /// `/subscriptions/{id}/resourceGroups/{name}`.
    ResourceGroup,
    /// A resource (top-level, child or extension resource).
    Resource,
}

/// Why a scope string was rejected by [`Scope::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScopeError {
    /// The string is empty.
    Empty,
    /// The string does not start with `/`.
    NotAbsolute,
    /// Two consecutive `/` (an empty segment) at the given byte offset.
    EmptySegment {
        /// Byte offset of the empty segment.
        offset: usize,
    },
    /// A segment contains an ASCII control character.
    InvalidCharacter {
        /// Byte offset of the offending character.
        offset: usize,
    },
    /// A keyword or name was expected but the scope ended.
    Missing {
        /// What was expected, e.g. `"resource group name"`.
        expected: &'static str,
    },
    /// A segment that cannot appear at this position.
    Unexpected {
        /// The offending segment, as written.
        segment: String,
        /// What was expected instead.
        expected: &'static str,
    },
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Empty => f.write_str("the scope is empty"),
            ScopeError::NotAbsolute => f.write_str("the scope must start with '/'"),
            ScopeError::EmptySegment { offset } => {
                write!(f, "the scope has an empty segment at offset {offset}")
            }
            ScopeError::InvalidCharacter { offset } => {
                write!(f, "the scope has a control character at offset {offset}")
            }
            ScopeError::Missing { expected } => {
                write!(f, "the scope ends where a {expected} was expected")
            }
            ScopeError::Unexpected { segment, expected } => {
                write!(
                    f,
                    "unexpected segment '{segment}' in the scope: expected {expected}"
                )
            }
        }
    }
}

impl std::error::Error for ScopeError {}

/// A parsed ARM scope.
///
/// Keeps the original text for display ([`Scope::as_str`]) and a normalized
/// lowercase key for indexing ([`Scope::key`]). Equality, ordering and hashing
/// use the key, so `/subscriptions/ABC` equals `/SUBSCRIPTIONS/abc`.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// Original text, minus a tolerated trailing `/` (kept as `/` for root).
    original: String,
    /// `original` with ASCII letters lowercased; same byte length.
    key: String,
    kind: ScopeKind,
    /// Byte lengths of the ancestor keys, outermost first, excluding the root
    /// and including the scope itself (empty for the root).
    boundaries: Vec<usize>,
    /// Byte range of the subscription id in `original`.
    subscription: Option<(usize, usize)>,
    /// Byte range of the resource group name in `original`.
    resource_group: Option<(usize, usize)>,
    /// Byte range of the management group id in `original`.
    management_group: Option<(usize, usize)>,
    /// Full resource type, e.g. `Microsoft.Sql/servers/databases`.
    resource_type: Option<String>,
    /// Byte range of the innermost resource name in `original`.
    resource_name: Option<(usize, usize)>,
}

/// Persisted as its original text.
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Scope::parse(&text).map_err(|_| serde::de::Error::custom(format!("invalid scope {text:?}")))
    }
}

/// The normalized key of the tenant root scope.
pub(crate) const ROOT_KEY: &str = "/";

impl Scope {
    /// Parses an ARM scope string; see the [module docs](self) for the forms.
    ///
    /// Errors describe what is malformed. Never panics.
    pub(crate) fn parse(s: &str) -> Result<Scope, ScopeError> {
        if s.is_empty() {
            return Err(ScopeError::Empty);
        }
        if !s.starts_with('/') {
            return Err(ScopeError::NotAbsolute);
        }
        if let Some(offset) = s.bytes().position(|b| b.is_ascii_control()) {
            return Err(ScopeError::InvalidCharacter { offset });
        }
        // Tolerate one trailing `/` (but `//` stays an empty-segment error).
        let text = match s.strip_suffix('/') {
            Some(stripped) if !stripped.is_empty() && !stripped.ends_with('/') => stripped,
            _ => s,
        };
        let mut scope = Scope {
            original: text.to_owned(),
            key: text.to_ascii_lowercase(),
            kind: ScopeKind::Root,
            boundaries: Vec::new(),
            subscription: None,
            resource_group: None,
            management_group: None,
            resource_type: None,
            resource_name: None,
        };
        if text == "/" {
            return Ok(scope);
        }
        let mut segs = Segments::new(text);
        let first = segs.next_required("'subscriptions' or 'providers'")?;
        if first.is("subscriptions") {
            let sub = segs.next_required("subscription id")?;
            scope.subscription = Some(sub.range());
            scope.kind = ScopeKind::Subscription;
            scope.boundaries.push(sub.end);
            match segs.next()? {
                None => return Ok(scope),
                Some(seg) if seg.is("resourceGroups") => {
                    let rg = segs.next_required("resource group name")?;
                    scope.resource_group = Some(rg.range());
                    scope.kind = ScopeKind::ResourceGroup;
                    scope.boundaries.push(rg.end);
                    match segs.next()? {
                        None => return Ok(scope),
                        Some(seg) if seg.is("providers") => {}
                        Some(seg) => return Err(seg.unexpected("'providers'")),
                    }
                }
                Some(seg) if seg.is("providers") => {}
                Some(seg) => return Err(seg.unexpected("'resourceGroups' or 'providers'")),
            }
            // Just consumed a `providers` segment: parse resources.
            parse_resources(&mut segs, &mut scope)?;
            Ok(scope)
        } else if first.is("providers") {
            let ns = segs.next_required("'Microsoft.Management'")?;
            if !ns.is("Microsoft.Management") {
                return Err(ns.unexpected("'Microsoft.Management'"));
            }
            let groups = segs.next_required("'managementGroups'")?;
            if !groups.is("managementGroups") {
                return Err(groups.unexpected("'managementGroups'"));
            }
            let id = segs.next_required("management group id")?;
            scope.management_group = Some(id.range());
            scope.kind = ScopeKind::ManagementGroup;
            scope.boundaries.push(id.end);
            match segs.next()? {
                None => Ok(scope),
                Some(seg) => Err(seg.unexpected("the end of a management group scope")),
            }
        } else {
            Err(first.unexpected("'subscriptions' or 'providers'"))
        }
    }

    /// Builds the scope of a subscription (`/subscriptions/{id}`).
    ///
    /// Fails if `subscription_id` is empty or contains `/`.
    pub(crate) fn subscription(subscription_id: &str) -> Result<Scope, ScopeError> {
        if subscription_id.contains('/') {
            return Err(ScopeError::Unexpected {
                segment: subscription_id.to_owned(),
                expected: "a subscription id without '/'",
            });
        }
        Scope::parse(&format!("/subscriptions/{subscription_id}"))
    }

    #[cfg(test)]
    /// The root scope `/`.
    pub(crate) fn root() -> Scope {
        Scope {
            original: "/".to_owned(),
            key: "/".to_owned(),
            kind: ScopeKind::Root,
            boundaries: Vec::new(),
            subscription: None,
            resource_group: None,
            management_group: None,
            resource_type: None,
            resource_name: None,
        }
    }

    /// The scope as written (without a trailing `/`), for display.
    pub(crate) fn as_str(&self) -> &str {
        &self.original
    }

    /// Normalized key: the scope with ASCII letters lowercased. Use it to
    /// index role assignments.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// What the scope designates.
    pub(crate) fn kind(&self) -> ScopeKind {
        self.kind
    }

    /// Normalized keys of this scope and all its ancestors, from the scope
    /// itself up to [`ROOT_KEY`] (`/`), e.g. for
    /// `/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/A`:
    /// the site, `/subscriptions/s/resourcegroups/rg`, `/subscriptions/s`, `/`.
    ///
    /// This is the chain an inherited-permission check walks. A subscription
    /// does not know its management group from the string alone, so
    /// management groups only appear when the scope itself is one (followed
    /// by `/`). Allocation-free: the keys are slices of [`Scope::key`].
    pub(crate) fn ancestors(&self) -> impl Iterator<Item = &str> + '_ {
        self.boundaries
            .iter()
            .rev()
            .filter_map(|&end| self.key.get(..end))
            .chain(std::iter::once(ROOT_KEY))
    }

    #[cfg(test)]
    /// The scope one level up, as a normalized key (`None` for the root).
    pub(crate) fn parent_key(&self) -> Option<&str> {
        self.ancestors().nth(1)
    }

    /// Subscription id as written, if the scope is in a subscription.
    pub(crate) fn subscription_id(&self) -> Option<&str> {
        self.slice(self.subscription)
    }

    /// Resource group name as written, if the scope is in a resource group.
    pub(crate) fn resource_group(&self) -> Option<&str> {
        self.slice(self.resource_group)
    }

    #[cfg(test)]
    /// Management group id as written, for management group scopes.
    pub(crate) fn management_group(&self) -> Option<&str> {
        self.slice(self.management_group)
    }

    /// Full type of the innermost resource as written, e.g.
    /// `Microsoft.OperationalInsights/workspaces`, `Microsoft.Sql/servers/databases`
    /// for a child resource, or the extension type
    /// (`Microsoft.Insights/diagnosticSettings`) for an extension resource.
    pub(crate) fn provider_type(&self) -> Option<&str> {
        self.resource_type.as_deref()
    }

    /// Name of the innermost resource as written.
    pub(crate) fn resource_name(&self) -> Option<&str> {
        self.slice(self.resource_name)
    }

    /// Whether `self` is `other` or lies below it (so an assignment at
    /// `other` is inherited by `self`). Case-insensitive; allocation-free.
    pub(crate) fn is_within(&self, other: &Scope) -> bool {
        self.is_within_key(other.key())
    }

    /// [`Scope::is_within`] against a normalized key (as produced by
    /// [`Scope::key`]); compared case-insensitively.
    pub(crate) fn is_within_key(&self, other_key: &str) -> bool {
        if other_key == ROOT_KEY {
            return true;
        }
        let len = other_key.len();
        self.boundaries.contains(&len)
            && self
                .key
                .get(..len)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(other_key))
    }

    fn slice(&self, range: Option<(usize, usize)>) -> Option<&str> {
        range.and_then(|(start, end)| self.original.get(start..end))
    }
}

/// Parses what follows a `providers` segment: `{ns}/{type}/{name}` then any
/// number of `{childType}/{childName}` pairs or nested
/// `providers/{ns}/{type}/{name}` extension resources.
fn parse_resources(segs: &mut Segments<'_>, scope: &mut Scope) -> Result<(), ScopeError> {
    let mut resource_type = String::new();
    loop {
        // At the start of this loop a `providers` segment was just consumed.
        let ns = segs.next_required("resource provider namespace")?;
        let ty = segs.next_required("resource type")?;
        let name = segs.next_required("resource name")?;
        resource_type.clear();
        resource_type.push_str(ns.text);
        resource_type.push('/');
        resource_type.push_str(ty.text);
        scope.boundaries.push(name.end);
        scope.resource_name = Some(name.range());
        loop {
            match segs.next()? {
                None => {
                    scope.kind = ScopeKind::Resource;
                    scope.resource_type = Some(resource_type);
                    return Ok(());
                }
                Some(seg) if seg.is("providers") => break,
                Some(child_type) => {
                    let child = segs.next_required("child resource name")?;
                    resource_type.push('/');
                    resource_type.push_str(child_type.text);
                    scope.boundaries.push(child.end);
                    scope.resource_name = Some(child.range());
                }
            }
        }
    }
}

/// One `/`-separated segment with its byte range in the scope text.
#[derive(Clone, Copy)]
struct Segment<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

impl Segment<'_> {
    fn is(&self, keyword: &str) -> bool {
        self.text.eq_ignore_ascii_case(keyword)
    }

    fn range(&self) -> (usize, usize) {
        (self.start, self.end)
    }

    fn unexpected(&self, expected: &'static str) -> ScopeError {
        ScopeError::Unexpected {
            segment: self.text.to_owned(),
            expected,
        }
    }
}

/// Iterator over the segments of an absolute scope (leading `/` skipped).
struct Segments<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Segments<'a> {
    fn new(text: &'a str) -> Self {
        Segments { text, pos: 1 }
    }

    fn next(&mut self) -> Result<Option<Segment<'a>>, ScopeError> {
        if self.pos > self.text.len() {
            return Ok(None);
        }
        let rest = self.text.get(self.pos..).unwrap_or("");
        let len = rest.find('/').unwrap_or(rest.len());
        if len == 0 {
            return Err(ScopeError::EmptySegment { offset: self.pos });
        }
        let start = self.pos;
        let end = start + len;
        self.pos = end + 1;
        Ok(Some(Segment {
            text: &rest[..len],
            start,
            end,
        }))
    }

    fn next_required(&mut self, expected: &'static str) -> Result<Segment<'a>, ScopeError> {
        self.next()?.ok_or(ScopeError::Missing { expected })
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Scope {}

impl std::hash::Hash for Scope {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scope {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

    fn parse(s: &str) -> Scope {
        match Scope::parse(s) {
            Ok(scope) => scope,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn ancestors(s: &str) -> Vec<String> {
        parse(s).ancestors().map(str::to_owned).collect()
    }

    #[test]
    fn root() {
        let root = parse("/");
        assert_eq!(root.kind(), ScopeKind::Root);
        assert_eq!(root.key(), "/");
        assert_eq!(root.ancestors().collect::<Vec<_>>(), ["/"]);
        assert_eq!(root.parent_key(), None);
        assert_eq!(root, Scope::root());
        assert!(root.is_within(&Scope::root()));
    }

    #[test]
    fn subscription_and_resource_group() {
        let sub = parse(&format!("/subscriptions/{SUB}"));
        assert_eq!(sub.kind(), ScopeKind::Subscription);
        assert_eq!(sub.subscription_id(), Some(SUB));
        assert_eq!(sub.resource_group(), None);
        assert_eq!(Scope::subscription(SUB).ok(), Some(sub.clone()));
        assert!(Scope::subscription("s/resourceGroups/rg").is_err());
        assert!(Scope::subscription("").is_err());

        let rg = parse(&format!("/Subscriptions/{SUB}/ResourceGroups/My-RG"));
        assert_eq!(rg.kind(), ScopeKind::ResourceGroup);
        assert_eq!(rg.subscription_id(), Some(SUB));
        assert_eq!(rg.resource_group(), Some("My-RG"));
        assert_eq!(
            rg.as_str(),
            format!("/Subscriptions/{SUB}/ResourceGroups/My-RG")
        );
        assert_eq!(
            rg.key(),
            format!("/subscriptions/{SUB}/resourcegroups/my-rg")
        );
        assert_eq!(rg.provider_type(), None);
        assert_eq!(rg.parent_key(), Some(sub.key()));
        assert!(rg.is_within(&sub));
        assert!(!sub.is_within(&rg));
    }

    #[test]
    fn resource_and_children() {
        let ws = format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.OperationalInsights/workspaces/Logs1"
        );
        let scope = parse(&ws);
        assert_eq!(scope.kind(), ScopeKind::Resource);
        assert_eq!(
            scope.provider_type(),
            Some("Microsoft.OperationalInsights/workspaces")
        );
        assert_eq!(scope.resource_name(), Some("Logs1"));
        assert_eq!(scope.resource_group(), Some("rg1"));
        assert_eq!(
            ancestors(&ws),
            [
                ws.to_ascii_lowercase(),
                format!("/subscriptions/{SUB}/resourcegroups/rg1"),
                format!("/subscriptions/{SUB}"),
                "/".to_owned(),
            ]
        );

        let db = format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Sql/servers/srv/databases/db1"
        );
        let db_scope = parse(&db);
        assert_eq!(
            db_scope.provider_type(),
            Some("Microsoft.Sql/servers/databases")
        );
        assert_eq!(db_scope.resource_name(), Some("db1"));
        let chain = ancestors(&db);
        assert_eq!(chain.len(), 5);
        assert_eq!(
            chain[1],
            format!("/subscriptions/{SUB}/resourcegroups/rg1/providers/microsoft.sql/servers/srv")
        );
        let server = parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/RG1/providers/Microsoft.Sql/servers/SRV"
        ));
        assert!(db_scope.is_within(&server));
        assert!(!server.is_within(&db_scope));
    }

    #[test]
    fn extension_and_subscription_level_resources() {
        let vm = format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
        );
        let ext = format!("{vm}/providers/Microsoft.Insights/diagnosticSettings/ds1");
        let scope = parse(&ext);
        assert_eq!(
            scope.provider_type(),
            Some("Microsoft.Insights/diagnosticSettings")
        );
        assert_eq!(scope.resource_name(), Some("ds1"));
        assert_eq!(scope.parent_key(), Some(vm.to_ascii_lowercase().as_str()));
        assert!(scope.is_within(&parse(&vm)));

        let pricing = parse(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/VirtualMachines"
        ));
        assert_eq!(pricing.kind(), ScopeKind::Resource);
        assert_eq!(pricing.resource_group(), None);
        assert_eq!(pricing.provider_type(), Some("Microsoft.Security/pricings"));
        assert_eq!(pricing.ancestors().count(), 3);
    }

    #[test]
    fn management_group() {
        let mg = parse("/providers/Microsoft.Management/managementGroups/Contoso");
        assert_eq!(mg.kind(), ScopeKind::ManagementGroup);
        assert_eq!(mg.management_group(), Some("Contoso"));
        assert_eq!(
            mg.ancestors().collect::<Vec<_>>(),
            [
                "/providers/microsoft.management/managementgroups/contoso",
                "/"
            ]
        );
        let lower = parse("/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/contoso");
        assert_eq!(mg, lower);
    }

    #[test]
    fn is_within_respects_segment_boundaries() {
        let rg1 = parse(&format!("/subscriptions/{SUB}/resourceGroups/rg1"));
        let rg10 = parse(&format!("/subscriptions/{SUB}/resourceGroups/rg10"));
        assert!(!rg10.is_within(&rg1));
        assert!(!rg1.is_within(&rg10));
        let other_sub = parse("/subscriptions/0b1f6471");
        assert!(!rg1.is_within(&other_sub));
        assert!(rg1.is_within(&rg1));
        assert!(rg1.is_within_key(&format!("/SUBSCRIPTIONS/{SUB}")));
        assert!(rg1.is_within_key("/"));
        // A "providers" prefix is not a scope of its own.
        let res = parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Web/sites/a"
        ));
        assert!(!res.is_within_key(&format!(
            "/subscriptions/{SUB}/resourcegroups/rg1/providers"
        )));
        assert!(!res.is_within_key(&format!(
            "/subscriptions/{SUB}/resourcegroups/rg1/providers/microsoft.web/sites"
        )));
        assert!(res.is_within(&rg1));
    }

    #[test]
    fn equality_is_case_insensitive_and_trailing_slash_tolerated() {
        let a = parse(&format!("/subscriptions/{SUB}/resourceGroups/RG/"));
        let b = parse(&format!(
            "/SUBSCRIPTIONS/{}/resourcegroups/rg",
            SUB.to_ascii_uppercase()
        ));
        assert_eq!(a, b);
        assert_eq!(
            a.as_str(),
            format!("/subscriptions/{SUB}/resourceGroups/RG")
        );
        assert_eq!(a.to_string(), a.as_str());
        let parsed: Result<Scope, _> = "/subscriptions/x".parse();
        assert!(parsed.is_ok());
    }

    #[test]
    fn malformed_scopes_are_rejected_with_messages() {
        let cases: &[(&str, ScopeError)] = &[
            ("", ScopeError::Empty),
            ("subscriptions/x", ScopeError::NotAbsolute),
            ("//", ScopeError::EmptySegment { offset: 1 }),
            (
                "/subscriptions",
                ScopeError::Missing {
                    expected: "subscription id",
                },
            ),
            (
                "/subscriptions//resourceGroups/x",
                ScopeError::EmptySegment { offset: 15 },
            ),
            (
                "/subscriptions/s/resourceGroups",
                ScopeError::Missing {
                    expected: "resource group name",
                },
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers",
                ScopeError::Missing {
                    expected: "resource provider namespace",
                },
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web",
                ScopeError::Missing {
                    expected: "resource type",
                },
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites",
                ScopeError::Missing {
                    expected: "resource name",
                },
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a/slots",
                ScopeError::Missing {
                    expected: "child resource name",
                },
            ),
            (
                "/providers/Microsoft.Management/managementGroups",
                ScopeError::Missing {
                    expected: "management group id",
                },
            ),
            (
                "/subscriptions/s\n",
                ScopeError::InvalidCharacter { offset: 16 },
            ),
        ];
        for (input, expected) in cases {
            match Scope::parse(input) {
                Ok(s) => panic!("{input:?} parsed as {s}"),
                Err(e) => {
                    assert_eq!(&e, expected, "{input:?}");
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        for input in [
            "/foo",
            "/subscriptions/s/foo",
            "/subscriptions/s/resourceGroups/rg/foo",
            "/providers/Microsoft.Web/sites",
            "/providers/Microsoft.Management/other/x",
            "/providers/Microsoft.Management/managementGroups/x/y",
            "/subscriptions/s/resourceGroups/rg//",
        ] {
            let err = Scope::parse(input);
            assert!(err.is_err(), "{input:?} should be rejected");
        }
        let msg = Scope::parse("/subscriptions/s/foo")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            msg.as_deref(),
            Some("unexpected segment 'foo' in the scope: expected 'resourceGroups' or 'providers'")
        );
    }

    #[test]
    fn non_ascii_never_panics() {
        let s = parse("/subscriptions/sü/resourceGroups/Grüße");
        assert_eq!(s.resource_group(), Some("Grüße"));
        assert_eq!(s.key(), "/subscriptions/sü/resourcegroups/grüße");
        assert_eq!(s.ancestors().count(), 3);
        for bad in ["/é", "/subscriptions/é/", "/subscriptions/é//"] {
            let _ = Scope::parse(bad);
        }
    }

    #[test]
    fn deep_nesting_is_fine() {
        let mut s = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/A.B/t/n");
        for i in 0..200 {
            s.push_str(&format!("/c{i}/n{i}"));
        }
        let scope = parse(&s);
        assert_eq!(scope.ancestors().count(), 204);
        assert_eq!(scope.resource_name(), Some("n199"));
    }
}
