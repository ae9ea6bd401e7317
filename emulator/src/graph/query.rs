//! OData query options of Graph collections: `$filter`, `$select`, `$top`, `$count`,
//! `$skiptoken`, and the page they select.

use std::borrow::Cow;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::odata::{self, Filter, FilterError};
use super::*;

/// Default and largest page sizes of directory collections.
pub(super) const DEFAULT_PAGE: usize = 100;

pub(super) const MAX_PAGE: usize = 999;

/// Query options of a collection request.
#[derive(Debug, Default)]
pub(super) struct ListQuery {
    pub(super) filter: Option<Filter>,
    pub(super) select: Option<Vec<String>>,
    pub(super) top: usize,
    pub(super) after: u64,
    pub(super) count: bool,
    /// `$orderby=displayName` (`true`: descending).
    pub(super) order_by_name: Option<bool>,
    /// `$expand=owners`.
    pub(super) expand_owners: bool,
}

impl ListQuery {
    /// Whether an object whose property values `values` returns passes `$filter`.
    pub(super) fn matches<'a>(&self, values: &dyn Fn(&str) -> Option<odata::Value<'a>>) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(values))
    }
}

pub(super) fn parse_list_query(
    raw: Option<&str>,
    headers: &HeaderMap,
    template: &Value,
    ty: &str,
    filterable: &[(&str, bool)],
) -> Result<ListQuery, GraphError> {
    let advanced = headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    let mut q = ListQuery {
        top: DEFAULT_PAGE,
        ..ListQuery::default()
    };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "$filter" => {
                let f = Filter::parse(&v).map_err(|e| match e {
                    FilterError::Syntax(_) => {
                        GraphError::ODataBadRequest("Invalid filter clause".into())
                    }
                    FilterError::Unsupported(_) => {
                        GraphError::UnsupportedQuery("Unsupported Query.".into())
                    }
                })?;
                if f.is_advanced() && !advanced {
                    return Err(GraphError::UnsupportedQuery("Unsupported Query.".into()));
                }
                for (prop, any) in f.properties() {
                    if !filterable
                        .iter()
                        .any(|(p, a)| p.eq_ignore_ascii_case(prop) && *a == any)
                    {
                        return Err(GraphError::UnsupportedQuery(format!(
                            "Unsupported or invalid query filter clause specified for property '{prop}' of resource '{ty}'."
                        )));
                    }
                }
                q.filter = Some(f);
            }
            "$select" => {
                let fields: Vec<String> = v
                    .split(',')
                    .map(|f| f.trim().to_owned())
                    .filter(|f| !f.is_empty())
                    .collect();
                if let Some(bad) = fields.iter().find(|f| {
                    template
                        .as_object()
                        .is_none_or(|t| !t.keys().any(|k| k.eq_ignore_ascii_case(f)))
                }) {
                    return Err(GraphError::ODataBadRequest(format!(
                        "Parsing OData Select and Expand failed: Could not find a property named '{bad}' on type 'microsoft.graph.{}'.",
                        lower_first(ty)
                    )));
                }
                q.select = Some(fields);
            }
            "$top" => {
                q.top = v.parse().ok().filter(|n| (1..=MAX_PAGE).contains(n)).ok_or_else(|| {
                    GraphError::ODataBadRequest(format!(
                        "Invalid page size specified: '{v}'. Must be between 1 and 999 inclusive."
                    ))
                })?;
            }
            "$skiptoken" => {
                q.after = odata::parse_skiptoken(&v)
                    .ok_or_else(|| GraphError::ODataBadRequest("Invalid skip token.".into()))?;
            }
            // Without `ConsistencyLevel: eventual` Graph ignores `$count=true` and answers
            // without `@odata.count` (concepts/aad-advanced-queries.md).
            "$count" => q.count = advanced && v == "true",
            // displayName "Supports … $orderby" (Graph docs, application resource); other
            // properties are refused as before.
            "$orderby" => {
                let mut words = v.split_whitespace();
                let prop = words.next().unwrap_or_default();
                let desc = match words.next() {
                    None => false,
                    Some(d) if d.eq_ignore_ascii_case("asc") => false,
                    Some(d) if d.eq_ignore_ascii_case("desc") => true,
                    Some(_) => {
                        return Err(GraphError::ODataBadRequest(
                            "Invalid $orderby clause".into(),
                        ));
                    }
                };
                if !prop.eq_ignore_ascii_case("displayName") || words.next().is_some() {
                    return Err(GraphError::UnsupportedQuery("Unsupported Query.".into()));
                }
                q.order_by_name = Some(desc);
            }
            "$expand" if ty == "Application" && v.trim().eq_ignore_ascii_case("owners") => {
                q.expand_owners = true;
            }
            "$search" | "$expand" | "$skip" => {
                return Err(GraphError::UnsupportedQuery("Unsupported Query.".into()));
            }
            _ => {}
        }
    }
    Ok(q)
}

pub(super) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

pub(super) fn context_url(collection: &str, select: Option<&[String]>, entity: bool) -> String {
    let sel = select
        .map(|s| format!("({})", s.join(",")))
        .unwrap_or_default();
    let ent = if entity { "/$entity" } else { "" };
    format!("{METADATA}#{collection}{sel}{ent}")
}

pub(super) fn app_values<'a>(
    app: &'a Application,
) -> impl Fn(&str) -> Option<odata::Value<'a>> + 'a {
    move |p: &str| {
        let p = p.to_ascii_lowercase();
        Some(match p.as_str() {
            "signinaudience" => odata::Value::Str(Cow::Borrowed(&app.sign_in_audience)),
            "identifieruris" => odata::Value::List(
                app.identifier_uris
                    .iter()
                    .map(|u| Cow::Borrowed(u.as_str()))
                    .collect(),
            ),
            _ => return shared_value(&p, app.id, app.app_id, &app.display_name, &app.props),
        })
    }
}

pub(super) fn prop_strings<'a>(props: &'a Map<String, Value>, key: &str) -> Vec<Cow<'a, str>> {
    props
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(Cow::Borrowed)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn sp_values<'a>(
    sp: &'a ServicePrincipal,
    dir: &'a Directory,
) -> impl Fn(&str) -> Option<odata::Value<'a>> + 'a {
    move |p: &str| {
        let p = p.to_ascii_lowercase();
        Some(match p.as_str() {
            "accountenabled" => odata::Value::Bool(sp.account_enabled),
            // `ManagedIdentity` for a managed identity's principal (kept in its props).
            "serviceprincipaltype" => odata::Value::Str(Cow::Borrowed(
                sp.props
                    .get("servicePrincipalType")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("Application"),
            )),
            "serviceprincipalnames" => {
                let mut names = vec![Cow::Owned(sp.app_id.to_string())];
                if let Some(app) = dir.app_by_app_id(&sp.app_id) {
                    names.extend(
                        app.identifier_uris
                            .iter()
                            .map(|u| Cow::Borrowed(u.as_str())),
                    );
                }
                odata::Value::List(names)
            }
            _ => return shared_value(&p, sp.id, sp.app_id, &sp.display_name, &sp.props),
        })
    }
}

/// The filterable properties applications and service principals share, by lower-case
/// name.
fn shared_value<'a>(
    p: &str,
    id: Uuid,
    app_id: Uuid,
    display_name: &'a str,
    props: &'a Map<String, Value>,
) -> Option<odata::Value<'a>> {
    Some(match p {
        "id" => odata::Value::Str(Cow::Owned(id.to_string())),
        "appid" => odata::Value::Str(Cow::Owned(app_id.to_string())),
        "displayname" => odata::Value::Str(Cow::Borrowed(display_name)),
        "tags" => odata::Value::List(prop_strings(props, "tags")),
        _ => return None,
    })
}

pub(super) const APP_FILTERABLE: &[(&str, bool)] = &[
    ("id", false),
    ("appId", false),
    ("displayName", false),
    ("signInAudience", false),
    ("identifierUris", true),
    ("tags", true),
];

pub(super) const SP_FILTERABLE: &[(&str, bool)] = &[
    ("id", false),
    ("appId", false),
    ("displayName", false),
    ("accountEnabled", false),
    ("servicePrincipalType", false),
    ("servicePrincipalNames", true),
    ("tags", true),
];

/// A page's objects with their positions (the last one's is the next skip token).
pub(super) type Items = Vec<(u64, Map<String, Value>)>;

/// Renders one page of a collection: `@odata.context`, `@odata.nextLink`, `value`.
pub(super) fn page(
    ctx: &Ctx,
    path: &str,
    q: &ListQuery,
    raw_query: Option<&str>,
    items: Items,
    count: Option<usize>,
) -> Response {
    let collection = path.trim_start_matches("/v1.0/");
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context_url(collection, q.select.as_deref(), false)),
    );
    if let Some(count) = count {
        body.insert("@odata.count".into(), json!(count));
    }
    let more = items.len() > q.top;
    let items: Vec<_> = items.into_iter().take(q.top).collect();
    if more && let Some((last, _)) = items.last() {
        // Keep the client's query as sent (Graph echoes `$filter`, `$top`, … unencoded)
        // and replace the skip token.
        let mut query: Vec<&str> = raw_query
            .unwrap_or_default()
            .split('&')
            .filter(|part| {
                !part.is_empty()
                    && form_urlencoded::parse(part.as_bytes())
                        .next()
                        .is_none_or(|(k, _)| k != "$skiptoken")
            })
            .collect();
        let token = format!("$skiptoken={}", odata::skiptoken(*last));
        query.push(&token);
        let kept = query.join("&");
        body.insert(
            "@odata.nextLink".into(),
            json!(format!("{}{path}?{kept}", ctx.base)),
        );
    }
    let value: Vec<Value> = items.into_iter().map(|(_, o)| Value::Object(o)).collect();
    body.insert("value".into(), Value::Array(value));
    ctx.json(StatusCode::OK, Value::Object(body))
}

/// The query options of a single object: `$select` (and `$expand` where allowed).
pub(super) fn object_query(
    raw: Option<&str>,
    template: &Value,
    ty: &str,
) -> Result<ListQuery, GraphError> {
    parse_list_query(raw, &HeaderMap::new(), template, ty, &[])
}

/// The page `q` asks of a collection and, with `$count`, how many objects match: `indexed`
/// is what an index lookup found (`Some(None)`: nothing) when the filter allows one; else
/// the objects that match come in creation order from `after(seq)` (or by display name),
/// `top + 1` of them so that [`page`] knows whether more follow. Each is rendered with
/// `render`, then cut to the `$select`ed properties.
pub(super) fn select_page<'a, T, I>(
    q: &ListQuery,
    indexed: Option<Option<&'a T>>,
    after: impl Fn(u64) -> I,
    matches: impl Fn(&T) -> bool,
    render: impl Fn(&T) -> Map<String, Value>,
) -> (Items, Option<usize>)
where
    T: std::ops::Deref<Target = crate::directory::Object> + 'a,
    I: Iterator<Item = (u64, &'a T)>,
{
    let render = |t: &T| render::select(render(t), q.select.as_deref());
    let items = match (indexed, q.order_by_name) {
        (Some(found), _) => found
            .filter(|_| q.after == 0)
            .map(|t| (1, render(t)))
            .into_iter()
            .collect(),
        (None, Some(desc)) => {
            let all = after(0).filter(|(_, t)| matches(t)).collect();
            order_by_name(all, |t| t.display_name.clone(), desc, q.after)
                .into_iter()
                .take(q.top + 1)
                .map(|(pos, t)| (pos, render(t)))
                .collect()
        }
        (None, None) => after(q.after)
            .filter(|(_, t)| matches(t))
            .take(q.top + 1)
            .map(|(seq, t)| (seq, render(t)))
            .collect(),
    };
    let count = q
        .count
        .then(|| after(0).filter(|(_, t)| matches(t)).count());
    (items, count)
}

/// Orders `items` by display name for `$orderby` (ties keep creation order) and numbers
/// them by position, so that the skip token of a sorted page is a position.
pub(super) fn order_by_name<T>(
    mut items: Vec<(u64, T)>,
    name: impl Fn(&T) -> String,
    desc: bool,
    after: u64,
) -> Vec<(u64, T)> {
    items.sort_by_cached_key(|(_, t)| name(t).to_lowercase());
    if desc {
        items.reverse();
    }
    (1..)
        .zip(items)
        .filter(|(pos, _)| *pos > after)
        .map(|(pos, (_, t))| (pos, t))
        .collect()
}
