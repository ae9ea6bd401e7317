//! The role picker of the access control page: the common roles first, then the other
//! roles that match the search box (`?q=`), by name or by the words of their description.
//!
//! The server filters on `?q=`, so the picker works without script; `portal.js` applies
//! the same rule to the rendered options as the user types.

use maud::{Markup, html};

use super::html::BASE;
use crate::rbac::Scope;
use crate::rbac::roles::ids;
use crate::resources::ArmStore;

/// The roles most assignments use, in the order the picker lists them: ARM's general
/// roles, then the data roles that the emulator's own data planes check (Logs Ingestion
/// and custom metrics need Monitoring Metrics Publisher; Log Analytics queries and
/// metrics reads need a reader role).
const COMMON: [&str; 9] = [
    ids::OWNER,
    ids::CONTRIBUTOR,
    ids::READER,
    ids::USER_ACCESS_ADMINISTRATOR,
    ids::MONITORING_METRICS_PUBLISHER,
    ids::LOG_ANALYTICS_READER,
    ids::MONITORING_READER,
    ids::LOG_ANALYTICS_CONTRIBUTOR,
    ids::MONITORING_CONTRIBUTOR,
];

/// A role the picker can offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Role {
    /// The role definition's GUID (the form's value).
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
}

impl Role {
    fn new(id: impl ToString, name: &str, description: &str) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_owned(),
            description: description.to_owned(),
        }
    }
}

/// What the picker shows: the common roles that match, then the other matches.
#[derive(Debug, Default)]
pub(super) struct Choices {
    pub(super) common: Vec<Role>,
    pub(super) others: Vec<Role>,
}

/// Every role assignable at `scope`: the built-in roles and the tenant's custom roles
/// whose assignable scopes cover it.
pub(super) fn assignable(store: &ArmStore, scope: &Scope) -> Vec<Role> {
    let built_in = crate::rbac::roles::all()
        .iter()
        .filter(|r| r.assignable_at(scope))
        .map(|r| Role::new(r.id, r.role_name, r.description));
    let custom = store
        .authz
        .custom_roles()
        .into_iter()
        .filter(|c| c.assignable_at(scope))
        .map(|c| Role::new(c.id, &c.role_name, &c.description));
    built_in.chain(custom).collect()
}

/// The search's terms: its words, lowercased.
fn terms(query: &str) -> Vec<String> {
    query.split_whitespace().map(str::to_lowercase).collect()
}

/// How a role matches the search terms: `Some(true)` when every term is in its name,
/// `Some(false)` when each is in its name or starts a word of its description, `None`
/// when some term is in neither. Case is ignored.
fn matching(role: &Role, terms: &[String]) -> Option<bool> {
    let name = role.name.to_lowercase();
    let description = role.description.to_lowercase();
    let words: Vec<&str> = description
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut by_name = true;
    for term in terms {
        if name.contains(term.as_str()) {
            continue;
        }
        if !words.iter().any(|w| w.starts_with(term.as_str())) {
            return None;
        }
        by_name = false;
    }
    Some(by_name)
}

/// Splits `roles` into the picker's two lists for the search `query` (blank: every
/// role). Common roles keep [`COMMON`]'s order; the others come by name, those whose name
/// matches the whole search before those found through their description.
pub(super) fn choose(roles: Vec<Role>, query: &str) -> Choices {
    let terms = terms(query);
    let mut common: Vec<(usize, Role)> = Vec::new();
    let mut others: Vec<(bool, Role)> = Vec::new();
    for role in roles {
        let Some(by_name) = matching(&role, &terms) else {
            continue;
        };
        match COMMON
            .iter()
            .position(|id| role.id.eq_ignore_ascii_case(id))
        {
            Some(rank) => common.push((rank, role)),
            None => others.push((by_name, role)),
        }
    }
    common.sort_by_key(|(rank, _)| *rank);
    others.sort_by_cached_key(|(by_name, role)| (!*by_name, role.name.to_lowercase()));
    Choices {
        common: common.into_iter().map(|(_, r)| r).collect(),
        others: others.into_iter().map(|(_, r)| r).collect(),
    }
}

/// The search box: a GET form back to this page with `q`, which the script also reads
/// as the user types (it filters the select named by `data-filter`).
pub(super) fn search_form(scope: &str, query: &str) -> Markup {
    html! {
        form method="get" action={ (BASE) "/iam" } role="search" class="search" {
            input type="hidden" name="scope" value=(scope);
            label {
                "Search roles "
                input type="search" name="q" value=(query) data-filter="role"
                    placeholder="Name or description" autocomplete="off";
            }
            " "
            button type="submit" { "Search" }
        }
    }
}

/// The role select of the add-assignment form.
pub(super) fn select(choices: &Choices, query: &str) -> Markup {
    let option = |role: &Role| {
        html! { option value=(role.id) title=(role.description) { (role.name) } }
    };
    let others = if query.trim().is_empty() {
        "All other roles".to_owned()
    } else {
        format!("Other roles matching “{}”", query.trim())
    };
    html! {
        select name="role" id="role" required {
            option value="" { "Select a role" }
            @if !choices.common.is_empty() {
                optgroup label="Common roles" {
                    @for role in &choices.common { (option(role)) }
                }
            }
            @if !choices.others.is_empty() {
                optgroup label=(others) {
                    @for role in &choices.others { (option(role)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: &str, name: &str, description: &str) -> Role {
        Role {
            id: id.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
        }
    }

    fn built_in() -> Vec<Role> {
        crate::rbac::roles::all()
            .iter()
            .map(|r| role(r.id, r.role_name, r.description))
            .collect()
    }

    fn names(roles: &[Role]) -> Vec<&str> {
        roles.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn common_roles_are_built_in_and_come_first_in_their_order() {
        for id in COMMON {
            assert!(crate::rbac::find_by_id(id).is_some(), "{id}");
        }
        // Whatever order the roles come in (here: reversed), the common ones keep COMMON's.
        let mut reversed = built_in();
        reversed.reverse();
        let chosen = choose(reversed, "");
        let common: Vec<&str> = chosen.common.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(common, COMMON);
        let all = choose(built_in(), "");
        // Every other role once, by name.
        assert_eq!(
            all.common.len() + all.others.len(),
            crate::rbac::roles::all().len()
        );
        let others = names(&all.others);
        let mut sorted = others.clone();
        sorted.sort_by_key(|n| n.to_lowercase());
        assert_eq!(others, sorted);
        assert!(!others.contains(&"Reader"));
    }

    #[test]
    fn the_search_matches_names_ignoring_case() {
        let found = choose(built_in(), "METRICS publisher");
        assert_eq!(names(&found.common), ["Monitoring Metrics Publisher"]);
        assert!(!names(&found.others).iter().any(|n| n.contains("Reader")));
        let readers = choose(built_in(), "reader");
        assert_eq!(
            names(&readers.common),
            ["Reader", "Log Analytics Reader", "Monitoring Reader"]
        );
        assert!(names(&readers.others).contains(&"Key Vault Reader"));
        assert!(!names(&readers.others).contains(&"Owner"));
        // Part of a word of the name is enough.
        assert_eq!(names(&choose(built_in(), "acrpul").others), ["AcrPull"]);
        assert!(choose(built_in(), "no such role zzz").others.is_empty());
    }

    #[test]
    fn the_search_matches_the_start_of_description_words() {
        let roles = vec![
            role("1", "Zeta", "Lets you publish telemetry."),
            role("2", "Alpha telemetry", "Something else."),
            role("3", "Beta", "Reads nothing; unpublished."),
        ];
        // A name match comes before a description match, whatever the names.
        let found = choose(roles.clone(), "Telemetry");
        assert_eq!(names(&found.others), ["Alpha telemetry", "Zeta"]);
        // Words start a description word: "publish" is not found inside "unpublished".
        assert_eq!(names(&choose(roles.clone(), "PUBL").others), ["Zeta"]);
        // Every term must match, each in the name or the description.
        assert_eq!(names(&choose(roles, "zeta lets").others), ["Zeta"]);
        // Real descriptions: Monitoring Metrics Publisher's mentions enabling publishing.
        let built = choose(built_in(), "enables publishing");
        assert!(
            names(&built.common).contains(&"Monitoring Metrics Publisher"),
            "{:?}",
            names(&built.common)
        );
    }

    #[test]
    fn the_select_escapes_and_groups() {
        let choices = Choices {
            common: vec![role(ids::READER, "Reader", "View all.")],
            others: vec![role("x", r#"<b>"q"</b>"#, r#"a "quoted" <i>"#)],
        };
        let html = select(&choices, r#"<"q">"#).into_string();
        assert!(html.contains(&format!(
            r#"<optgroup label="Common roles"><option value="{}" title="View all.">Reader</option></optgroup>"#,
            ids::READER
        )));
        assert!(html.contains(
            r#"<optgroup label="Other roles matching “&lt;&quot;q&quot;&gt;”"><option value="x" title="a &quot;quoted&quot; &lt;i&gt;">&lt;b&gt;&quot;q&quot;&lt;/b&gt;</option>"#
        ));
        let empty = select(&Choices::default(), "").into_string();
        assert!(!empty.contains("optgroup"));
    }
}
