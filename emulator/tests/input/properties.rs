//! Property tests of the four parsers that read untrusted input, through the narrow
//! `entra_emulator::fuzzing` entry points the fuzz targets use too: no input makes them
//! panic, and generated valid input means what it says. Case counts are kept small so that
//! the suite stays fast; `PROPTEST_CASES=10000` runs more.

use entra_emulator::fuzzing;
use proptest::prelude::*;
use time::OffsetDateTime;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        // An explicit `PROPTEST_CASES` wins over the default.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FORM: &[u8] = b"application/x-www-form-urlencoded";

/// A form value: any text, including the characters the encoding has to escape.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &=+%/.~:'\"é€\\x00-\\x1f-]{1,40}"
}

/// A property name for filters.
fn prop_name() -> impl Strategy<Value = String> {
    // The parser reads keywords in any case (`nOT` is `not`).
    "[a-z][a-zA-Z]{0,10}".prop_filter("keywords", |s| {
        !matches!(
            s.to_ascii_lowercase().as_str(),
            "and"
                | "or"
                | "not"
                | "eq"
                | "ne"
                | "true"
                | "false"
                | "null"
                | "startswith"
                | "endswith"
        )
    })
}

/// A simple filter predicate and the model of what it means.
#[derive(Debug, Clone)]
enum Pred {
    Eq(String, String),
    Ne(String, String),
    StartsWith(String, String),
}

#[derive(Debug, Clone)]
enum Tree {
    Leaf(Pred),
    And(Box<Tree>, Box<Tree>),
    Or(Box<Tree>, Box<Tree>),
    Not(Box<Tree>),
}

fn quoted(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

impl Tree {
    fn render(&self) -> String {
        match self {
            Tree::Leaf(Pred::Eq(p, v)) => format!("{p} eq {}", quoted(v)),
            Tree::Leaf(Pred::Ne(p, v)) => format!("{p} ne {}", quoted(v)),
            Tree::Leaf(Pred::StartsWith(p, v)) => format!("startswith({p}, {})", quoted(v)),
            Tree::And(a, b) => format!("({}) and ({})", a.render(), b.render()),
            Tree::Or(a, b) => format!("({}) or ({})", a.render(), b.render()),
            Tree::Not(a) => format!("not ({})", a.render()),
        }
    }

    /// What the filter should answer for an object whose every property is `value`.
    fn eval(&self, value: &str) -> bool {
        match self {
            Tree::Leaf(Pred::Eq(_, v)) => value.eq_ignore_ascii_case(v),
            Tree::Leaf(Pred::Ne(_, v)) => !value.eq_ignore_ascii_case(v),
            Tree::Leaf(Pred::StartsWith(_, v)) => {
                value.to_lowercase().starts_with(&v.to_lowercase())
            }
            Tree::And(a, b) => a.eval(value) && b.eval(value),
            Tree::Or(a, b) => a.eval(value) || b.eval(value),
            Tree::Not(a) => !a.eval(value),
        }
    }
}

fn tree() -> impl Strategy<Value = Tree> {
    let value = "[a-zA-Z' ]{0,6}";
    let leaf = prop_oneof![
        (prop_name(), value).prop_map(|(p, v)| Tree::Leaf(Pred::Eq(p, v))),
        (prop_name(), value).prop_map(|(p, v)| Tree::Leaf(Pred::Ne(p, v))),
        (prop_name(), value).prop_map(|(p, v)| Tree::Leaf(Pred::StartsWith(p, v))),
    ];
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Tree::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Tree::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Tree::Not(Box::new(a))),
        ]
    })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn token_form_takes_any_bytes(ct in proptest::collection::vec(any::<u8>(), 0..40),
                                  auth in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..60)),
                                  body in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::token_form(&ct, auth.as_deref(), &body);
        fuzzing::token_form(FORM, None, &body);
    }

    #[test]
    fn token_form_reads_back_what_was_encoded(grant in text(), id in text(), secret in text(),
                                              scope in text(), noise in text()) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("noise", noise.as_str()), ("grant_type", &grant), ("client_id", &id),
                           ("client_secret", &secret), ("scope", &scope), ("grant_type", "second")])
            .finish();
        let fields = fuzzing::token_form(b"application/x-www-form-urlencoded; charset=utf-8", None, body.as_bytes());
        // The first occurrence wins; the v1 `resource` was not sent.
        prop_assert_eq!(fields, [Some(grant), Some(id), Some(secret), Some(scope), None]);
        // A body not declared as a form is not read as one.
        let fields = fuzzing::token_form(b"application/json", None, body.as_bytes());
        prop_assert_eq!(fields, [None, None, None, None, None]);
    }

    #[test]
    fn odata_filter_takes_any_text(input in "\\PC{0,80}") {
        fuzzing::odata_filter(&input);
    }

    #[test]
    fn odata_filter_takes_filter_like_text(input in "[a-z()' ,/:]{0,12}( (eq|ne|and|or|not) [a-z()' ,/:]{0,12}){0,4}") {
        fuzzing::odata_filter(&input);
    }

    #[test]
    fn generated_filters_parse_and_evaluate_as_their_model(t in tree(), value in "[a-zA-Z' ]{0,6}") {
        let text = t.render();
        let matched = fuzzing::odata_filter_on(&text, &value)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(matched, t.eval(&value), "{}", text);
    }

    #[test]
    fn kql_takes_any_text(input in "\\PC{0,80}") {
        fuzzing::kql(&input);
    }

    #[test]
    fn kql_takes_query_like_text(input in "(T|print|datatable)( \\| (where|project|extend|summarize|take|top|sort by|count|distinct) [a-z0-9 =<>!()+*/,.'\"-]{0,16}){0,4}") {
        fuzzing::kql(&input);
    }

    /// Queries that multiply what they build at every stage (string functions, new
    /// columns, per-row copies) stay within the budget `fuzzing::kql` asserts, and either
    /// run or stop with the memory error.
    #[test]
    fn kql_amplifying_queries_stay_within_the_budget(
        source in prop::sample::select(vec!["print a = 'abcdefgh'", "T | extend a = s", "T | project a = tostring(t)"]),
        stages in prop::collection::vec((1usize..64, prop::sample::select(vec!["strcat", "toupper", "tolower"])), 1..8),
        tail in prop::sample::select(vec!["", " | summarize count() by COL", " | distinct COL", " | sort by COL", " | where COL has 'x'"]),
    ) {
        let mut query = source.to_owned();
        for (i, (copies, f)) in stages.iter().enumerate() {
            let arg = if i == 0 { "a".to_owned() } else { format!("a{}", i - 1) };
            let call = match *f {
                "strcat" => format!("strcat({})", vec![arg.as_str(); *copies].join(", ")),
                other => format!("{other}(strcat({arg}, {arg}))"),
            };
            query.push_str(&format!(" | extend a{i} = {call}"));
        }
        // Group, sort or filter by the last (largest) column.
        query.push_str(&tail.replace("COL", &format!("a{}", stages.len() - 1)));
        fuzzing::kql(&query);
    }

    #[test]
    fn kql_where_and_take_count_rows(n in -2i64..12, k in 0usize..15) {
        // The sample table holds x = 0..10.
        let expected = (0..10).filter(|x| *x > n).count();
        let rows = fuzzing::kql(&format!("T | where x > {n}"));
        prop_assert_eq!(rows, Some(expected));
        let rows = fuzzing::kql(&format!("T | take {k}"));
        prop_assert_eq!(rows, Some(k.min(10)));
        let rows = fuzzing::kql(&format!("T | where x > {n} | count"));
        prop_assert_eq!(rows, Some(1));
    }

    #[test]
    fn jwt_refuses_any_text(input in "\\PC{0,200}", dots in "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}") {
        let now = OffsetDateTime::now_utc();
        prop_assert!(!fuzzing::jwt(&input, now));
        prop_assert!(!fuzzing::jwt(&dots, now));
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn a_token_with_any_byte_changed_is_refused(at in any::<proptest::sample::Index>(),
                                                to in 0x21u8..0x7f) {
        let now = OffsetDateTime::now_utc();
        let token = fuzzing::mint_token(now);
        prop_assert!(fuzzing::jwt(&token, now), "the untouched token is valid");
        let mut bytes = token.into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != to);
        bytes[i] = to;
        let tampered = String::from_utf8(bytes).expect("ASCII");
        prop_assert!(!fuzzing::jwt(&tampered, now), "accepted with byte {} changed", i);
    }
}
