//! Federated identity credentials: an application's trust in tokens an external identity
//! provider issues (GitHub Actions, Kubernetes), their rules, and how a presented token is
//! matched against them.
//!
//! Rules from Graph's `federatedIdentityCredential` resource page and Entra's workload
//! identity considerations page (microsoftgraph/microsoft-graph-docs-contrib
//! `api-reference/v1.0/resources/federatedidentitycredential.md`; MicrosoftDocs/entra-docs
//! `docs/workload-id/workload-identity-federation-considerations.md`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// At most this many federated credentials per application (the resource page).
pub(crate) const MAX_PER_APP: usize = 20;

/// Longest `issuer`, `subject`, audience and `description` (the resource page: 600).
pub(crate) const MAX_FIELD: usize = 600;

/// One federated identity credential (persisted as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FederatedCredential {
    /// Object id.
    pub(crate) id: Uuid,
    /// Unique per application, immutable.
    pub(crate) name: String,
    /// Must equal the external token's `iss` exactly.
    pub(crate) issuer: String,
    /// Must equal the external token's `sub` exactly (case-sensitive).
    pub(crate) subject: String,
    /// Exactly one value that the token's `aud` must contain.
    pub(crate) audiences: Vec<String>,
    /// Free text.
    pub(crate) description: Option<String>,
    /// When it was created or last changed: token exchanges see it once the propagation
    /// delay has passed since. Absent in journals written before propagation was modelled:
    /// such credentials are long propagated.
    #[serde(default = "long_ago")]
    pub(crate) changed: OffsetDateTime,
}

fn long_ago() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

impl FederatedCredential {
    /// Whether a change made at [`Self::changed`] has reached token exchanges by `now`,
    /// `delay` after it. Entra's considerations page says a token request "several minutes"
    /// after configuring a credential may still fail with AADSTS70021; the delay is the
    /// emulator's `--federated-credential-propagation`.
    pub(crate) fn propagated(&self, now: OffsetDateTime, delay: Duration) -> bool {
        now >= self.changed + delay
    }
}

/// Hosts of Entra's own token issuers. A federated credential may name one, but a token
/// exchange with it fails (AADSTS700222): the considerations page lists
/// `*.login.microsoftonline.com`, `*.login.windows.net`, `*.login.microsoft.com` and
/// `*.sts.windows.net`.
const ENTRA_ISSUER_HOSTS: [&str; 4] = [
    "login.microsoftonline.com",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
];

/// Whether `issuer` is an Entra token issuer (that host or a subdomain of it, over https).
pub(crate) fn is_entra_issuer(issuer: &str) -> bool {
    let Some(rest) = issuer.strip_prefix("https://") else {
        return false;
    };
    let host = rest
        .split(['/', ':', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    ENTRA_ISSUER_HOSTS
        .iter()
        .any(|h| host == *h || host.strip_suffix(h).is_some_and(|sub| sub.ends_with('.')))
}

/// Whether `name` is a valid credential name: 3 to 120 characters, letters, digits, `-`
/// and `_`, starting with a letter or digit (the considerations page).
pub(crate) fn valid_name(name: &str) -> bool {
    (3..=120).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A rule a federated credential breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Broken {
    /// The name is not 3–120 URL-friendly characters.
    Name,
    /// Not exactly one audience.
    Audiences,
    /// A field over [`MAX_FIELD`] characters.
    TooLong(&'static str),
    /// Another credential of the application has this name.
    DuplicateName,
    /// Another has the same issuer and subject.
    DuplicateIssuerSubject,
    /// The application already has [`MAX_PER_APP`].
    Limit,
}

/// Checks `cred` against the rules and the application's `others` (without `cred` itself).
pub(crate) fn check(
    cred: &FederatedCredential,
    others: &[FederatedCredential],
) -> Result<(), Broken> {
    if !valid_name(&cred.name) {
        return Err(Broken::Name);
    }
    if cred.audiences.len() != 1 {
        return Err(Broken::Audiences);
    }
    let long = |s: &str| s.chars().count() > MAX_FIELD;
    for (field, value) in [
        ("issuer", cred.issuer.as_str()),
        ("subject", cred.subject.as_str()),
        ("audiences", cred.audiences[0].as_str()),
        ("description", cred.description.as_deref().unwrap_or("")),
    ] {
        if long(value) {
            return Err(Broken::TooLong(field));
        }
    }
    if others
        .iter()
        .any(|o| o.name.eq_ignore_ascii_case(&cred.name))
    {
        return Err(Broken::DuplicateName);
    }
    if others
        .iter()
        .any(|o| o.issuer == cred.issuer && o.subject == cred.subject)
    {
        return Err(Broken::DuplicateIssuerSubject);
    }
    if others.len() >= MAX_PER_APP {
        return Err(Broken::Limit);
    }
    Ok(())
}

/// Why no federated credential matched a presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoMatch {
    /// The application has no federated credential at all.
    NoRecords,
    /// None has the token's issuer.
    Issuer,
    /// Some have its issuer, none its subject; `case_only`: one would match ignoring case.
    Subject {
        /// Matches only case-insensitively.
        case_only: bool,
    },
    /// Issuer and subject match, but no audience is in the token's `aud`.
    Audience,
}

/// The credential of `creds` that a token with `iss`, `sub` and audiences `aud` matches.
/// Which mismatch Entra reports first when several differ is not documented (a guess:
/// issuer, then subject, then audience).
pub(crate) fn find_match<'a>(
    creds: &'a [FederatedCredential],
    iss: &str,
    sub: &str,
    aud: &[&str],
) -> Result<&'a FederatedCredential, NoMatch> {
    if creds.is_empty() {
        return Err(NoMatch::NoRecords);
    }
    let by_issuer: Vec<_> = creds.iter().filter(|c| c.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(NoMatch::Issuer);
    }
    let by_subject: Vec<_> = by_issuer.iter().filter(|c| c.subject == sub).collect();
    if by_subject.is_empty() {
        let case_only = by_issuer
            .iter()
            .any(|c| c.subject.eq_ignore_ascii_case(sub));
        return Err(NoMatch::Subject { case_only });
    }
    by_subject
        .into_iter()
        .find(|c| c.audiences.iter().any(|a| aud.contains(&a.as_str())))
        .copied()
        .ok_or(NoMatch::Audience)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fic(issuer: &str, subject: &str, audience: &str) -> FederatedCredential {
        FederatedCredential {
            id: Uuid::new_v4(),
            name: "ci-main".into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: vec![audience.into()],
            description: None,
            changed: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn entra_issuers_are_recognised_by_host() {
        for entra in [
            "https://login.microsoftonline.com/e17a0000-0000-4000-8000-000000000001/v2.0",
            "https://sts.windows.net/e17a0000-0000-4000-8000-000000000001/",
            "https://LOGIN.WINDOWS.NET/x",
            "https://eu.login.microsoft.com/x/v2.0",
        ] {
            assert!(is_entra_issuer(entra), "{entra}");
        }
        for other in [
            "https://token.actions.githubusercontent.com",
            "http://login.microsoftonline.com/x",
            "https://evillogin.microsoftonline.com/x",
            "https://login.microsoftonline.com.example/x",
            "https://127.0.0.1:8443/_emulator/issuer",
        ] {
            assert!(!is_entra_issuer(other), "{other}");
        }
    }

    #[test]
    fn a_change_propagates_after_the_delay() {
        let mut c = fic("i", "s", "a");
        c.changed = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(100);
        let delay = Duration::from_secs(60);
        assert!(!c.propagated(c.changed, delay));
        assert!(!c.propagated(c.changed + Duration::from_secs(59), delay));
        assert!(c.propagated(c.changed + delay, delay));
        assert!(c.propagated(c.changed, Duration::ZERO));
    }

    #[test]
    fn names_follow_the_documented_rule() {
        for ok in ["abc", "ci-main_1", &"a".repeat(120)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "_abc",
            "a b c",
            "naïve",
            &"a".repeat(121),
            "a/b",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn rules_refuse_bad_and_duplicate_credentials() {
        let gh = "https://token.actions.githubusercontent.com";
        let a = fic(
            gh,
            "repo:o/r:ref:refs/heads/main",
            "api://AzureADTokenExchange",
        );
        assert_eq!(check(&a, &[]), Ok(()));
        let mut two = a.clone();
        two.audiences.push("x".into());
        assert_eq!(check(&two, &[]), Err(Broken::Audiences));
        let mut long = a.clone();
        long.subject = "s".repeat(601);
        assert_eq!(check(&long, &[]), Err(Broken::TooLong("subject")));
        let mut renamed = a.clone();
        renamed.name = "other".into();
        assert_eq!(
            check(&renamed, std::slice::from_ref(&a)),
            Err(Broken::DuplicateIssuerSubject)
        );
        let mut same_name = a.clone();
        same_name.subject = "other".into();
        assert_eq!(
            check(&same_name, std::slice::from_ref(&a)),
            Err(Broken::DuplicateName)
        );
        let many: Vec<_> = (0..20)
            .map(|i| {
                let mut f = a.clone();
                f.name = format!("n{i:02}");
                f.subject = format!("s{i}");
                f
            })
            .collect();
        assert_eq!(check(&renamed, &many), Err(Broken::Limit));
        assert_eq!(check(&renamed, &many[..19]), Ok(()));
    }

    #[test]
    fn matching_is_exact_and_names_the_first_mismatch() {
        let gh = "https://token.actions.githubusercontent.com";
        let aud = "api://AzureADTokenExchange";
        let creds = vec![
            fic(gh, "repo:org/repo:ref:refs/heads/main", aud),
            fic(gh, "repo:org/repo:environment:prod", aud),
        ];
        let ok = find_match(&creds, gh, "repo:org/repo:environment:prod", &[aud]);
        assert_eq!(
            ok.map(|c| c.subject.as_str()),
            Ok("repo:org/repo:environment:prod")
        );
        assert_eq!(find_match(&[], gh, "x", &[aud]), Err(NoMatch::NoRecords));
        // A trailing slash is another issuer.
        assert_eq!(
            find_match(
                &creds,
                &format!("{gh}/"),
                "repo:org/repo:environment:prod",
                &[aud]
            ),
            Err(NoMatch::Issuer)
        );
        assert_eq!(
            find_match(&creds, gh, "repo:Org/Repo:environment:prod", &[aud]),
            Err(NoMatch::Subject { case_only: true })
        );
        assert_eq!(
            find_match(&creds, gh, "repo:org/other:pull_request", &[aud]),
            Err(NoMatch::Subject { case_only: false })
        );
        assert_eq!(
            find_match(
                &creds,
                gh,
                "repo:org/repo:environment:prod",
                &["https://github.com/org"]
            ),
            Err(NoMatch::Audience)
        );
        // Kubernetes sends `aud` as an array.
        assert!(
            find_match(
                &creds,
                gh,
                "repo:org/repo:environment:prod",
                &["other", aud]
            )
            .is_ok()
        );
    }
}
