//! Entry points for the property tests and the fuzz targets (`fuzz/`): one function per
//! parser that reads untrusted input. Each takes arbitrary input, runs the parser the way
//! the emulator does and checks what must hold whatever the input; it panics only when
//! such an invariant breaks, so a fuzzer reports exactly the inputs worth a look.
//!
//! Not part of the emulator's API: hidden from the docs and free to change.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::graph::odata::{Filter, Value as FilterValue};
use crate::keys::KeyRing;
#[cfg(feature = "monitor")]
use crate::kql::{Column, ColumnType, KqlErrorKind, Limits, QueryContext, Table, Value};

/// The token endpoint's form parser: `grant_type`, `client_id`, `client_secret`, `scope`
/// and `resource` as parsed from `body` sent with `content_type` (and an optional
/// `Authorization` header). Fields are never present but empty.
pub fn token_form(
    content_type: &[u8],
    authorization: Option<&[u8]>,
    body: &[u8],
) -> [Option<String>; 5] {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Some(Ok(v)) = authorization.map(HeaderValue::from_bytes) {
        headers.insert(header::AUTHORIZATION, v);
    }
    let fields = crate::entra::parse_token_form(&headers, body);
    // A field sent empty reads as absent (Entra then names it as missing).
    assert!(
        fields.iter().flatten().all(|v| !v.is_empty()) || authorization.is_some(),
        "an empty field was kept"
    );
    fields
}

/// Graph's `$filter` parser and evaluator on `filter`, against an object whose every
/// property is the string `value`: whether it matches, or why it does not parse.
pub fn odata_filter_on(filter: &str, value: &str) -> Result<bool, String> {
    let filter = Filter::parse(filter).map_err(|e| format!("{e:?}"))?;
    Ok(filter.matches(&|_: &str| Some(FilterValue::Str(value.into()))))
}

/// Graph's `$filter` parser; when `input` parses, the filter is also inspected and
/// evaluated against an object with a few properties.
pub fn odata_filter(input: &str) -> bool {
    let Ok(filter) = Filter::parse(input) else {
        return false;
    };
    let _ = filter.is_advanced();
    assert!(
        !filter.properties().is_empty(),
        "a filter names no property"
    );
    let get = |prop: &str| -> Option<FilterValue<'static>> {
        match prop.len() % 4 {
            0 => Some(FilterValue::Str("Contoso App".into())),
            1 => Some(FilterValue::Bool(true)),
            2 => Some(FilterValue::List(vec!["a".into(), "B".into()])),
            _ => None,
        }
    };
    let _ = filter.exact("displayName");
    filter.matches(&get)
}

#[cfg(feature = "monitor")]
/// Memory budget of the queries [`kql`] runs: small, so that a query that amplifies what
/// it builds reaches it within a few operators.
pub const KQL_BUDGET: usize = 4 << 20;

#[cfg(feature = "monitor")]
/// The KQL engine: `input` is syntax-checked, then run against a table `T` with columns
/// `x` (long), `s` (string) and `t` (datetime) of a few rows, within a memory budget of
/// [`KQL_BUDGET`] bytes that the run's account must never exceed. Returns the result's row
/// count when it runs.
pub fn kql(input: &str) -> Option<usize> {
    let syntax = crate::kql::check_syntax(input);
    let ctx = QueryContext::log_analytics(OffsetDateTime::UNIX_EPOCH).with_limits(Limits {
        memory_budget: KQL_BUDGET,
        ..Limits::default()
    });
    let (result, usage) = crate::kql::run_measured(input, &vec![sample_table()], &ctx);
    assert!(
        usage.memory <= KQL_BUDGET,
        "charged {} bytes, over the budget: {input:?}",
        usage.memory
    );
    match &result {
        Ok(_) => assert!(syntax.is_ok(), "ran but failed the syntax check: {input:?}"),
        Err(e) => assert!(
            !matches!(e.kind, KqlErrorKind::Timeout | KqlErrorKind::Cancelled),
            "stopped without a deadline or a cancel flag: {input:?}"
        ),
    }
    result.ok().map(|t| t.row_count())
}

/// The memory bomb of issue 15: `print` concatenates 64 copies of a 10-byte literal, then
/// each of the `stages - 1` following `extend`s concatenates 64 copies of the previous
/// column: 640 B, 40 KiB, 2.5 MiB, 160 MiB, 10 GiB, … from 5 KB of query text per stage.
pub fn memory_bomb(stages: usize) -> String {
    let mut q = format!("print a0 = strcat({})", ["'0123456789'"; 64].join(", "));
    for i in 1..stages {
        let prev = format!("a{}", i - 1);
        let args = vec![prev.as_str(); 64].join(", ");
        q.push_str(&format!(" | extend a{i} = strcat({args})"));
    }
    q
}

#[cfg(feature = "monitor")]
/// The sample table [`kql`] queries: `x` = 0..10, `s` = "row{x}", `t` = epoch + x hours.
pub(crate) fn sample_table() -> Table {
    let mut t = Table::new(
        "T",
        vec![
            Column::new("x", ColumnType::Long),
            Column::new("s", ColumnType::String),
            Column::new("t", ColumnType::DateTime),
        ],
    );
    for x in 0..10i64 {
        let ticks = crate::kql::parse_datetime("1970-01-01T00:00:00Z").unwrap_or(0)
            + x * crate::kql::TICKS_PER_HOUR;
        // Rows of the right types always fit.
        let _ = t.push_row(vec![
            Value::Long(x),
            Value::String(format!("row{x}").into()),
            Value::DateTime(ticks),
        ]);
    }
    t
}

/// A key ring made once per process (an RSA key takes a moment to generate).
pub(crate) fn key_ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| KeyRing::new(None).expect("a signing key"))
}

/// The tenant and instance tag [`jwt`] validates against.
pub const TENANT: Uuid = Uuid::from_u128(0xe17a_0000_0000_4000_8000_0000_0000_0001);
/// See [`TENANT`].
pub const INSTANCE: &str = "fuzz";

/// The JWT validator: `token` against the fuzzing key ring at `now`. Whatever the input, only a
/// token signed by that ring's key can pass.
pub fn jwt(token: &str, now: OffsetDateTime) -> bool {
    crate::token::validate(token, key_ring(), INSTANCE, &TENANT, now).is_ok()
}

/// A valid token from the fuzzing key ring, issued at `now` for an hour, as [`jwt`] accepts it.
pub fn mint_token(now: OffsetDateTime) -> String {
    use crate::token::{Grant, TokenVersion, claims, mint};
    let client = Uuid::from_u128(3);
    let object = Uuid::from_u128(4);
    let grant = Grant {
        version: TokenVersion::V2,
        aud: "https://graph.microsoft.com",
        tenant: &TENANT,
        client_id: &client,
        client_name: "fuzz",
        object_id: &object,
        roles: vec!["Application.ReadWrite.All".into()],
        instance_tag: INSTANCE,
    };
    let claims = claims(grant, now, std::time::Duration::from_secs(3600));
    mint(&key_ring().current(), &claims)
}
