//! Tests of the tabular operators' helpers.

use std::collections::HashSet;

use super::grouping::group_key;
use super::project::wildcard_match;
use super::summarize::unique_name;
use super::*;

#[test]
fn wildcards() {
    assert!(wildcard_match("a*", "abc"));
    assert!(wildcard_match("*c", "abc"));
    assert!(wildcard_match("a*c", "abc"));
    assert!(wildcard_match("*", "x"));
    assert!(wildcard_match("a*b*c", "aXbYc"));
    assert!(!wildcard_match("a*c", "ab"));
    assert!(!wildcard_match("abc", "abcd"));
    assert!(!wildcard_match("ab*ba", "aba"));
}

#[test]
fn unique_names() {
    let mut used = HashSet::new();
    used.insert("count_".to_string());
    assert_eq!(unique_name("count_".into(), &used), "count_1");
    assert_eq!(unique_name("x".into(), &used), "x");
}

#[test]
fn group_keys_normalize_reals() {
    assert_eq!(group_key(&Value::Real(0.0)), group_key(&Value::Real(-0.0)));
    assert_eq!(
        group_key(&Value::Real(f64::NAN)),
        group_key(&Value::Real(-f64::NAN))
    );
    assert_ne!(group_key(&Value::Long(1)), group_key(&Value::Real(1.0)));
}
