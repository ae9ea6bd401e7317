//! Recognising volatile values inside text: GUIDs, date-times, e-mail addresses and JWTs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_emulator::replay::{datetime_len, is_guid};
use serde_json::Value;

/// What kind of volatile value a piece of text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A GUID.
    Guid,
    /// A date-time (ISO 8601 or Entra's `YYYY-MM-DD HH:MM:SSZ`).
    DateTime,
    /// An e-mail address.
    Email,
    /// A JSON Web Token.
    Jwt,
}

/// Whether `s` is a whole JWT (`eyJ….….…`).
pub fn is_jwt(s: &str) -> bool {
    s.starts_with("eyJ")
        && s.matches('.').count() == 2
        && s.bytes().all(|b| is_b64url(b) || b == b'.')
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The header and claims of a JWT, unverified.
pub fn decode_jwt(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let mut part = || {
        let bytes = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        serde_json::from_slice::<Value>(&bytes).ok()
    };
    Some((part()?, part()?))
}

/// A JWT made of `header` and `claims` whose signature says it was sanitized: it has the
/// shape of a token and can be decoded, but nothing accepts it.
pub fn encode_unsigned_jwt(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(header),
        part(claims),
        URL_SAFE_NO_PAD.encode(entra_emulator::replay::SANITIZED)
    )
}

fn email_len(b: &[u8]) -> Option<usize> {
    let local = |c: &u8| c.is_ascii_alphanumeric() || b"._%+-".contains(c);
    let at = b.iter().position(|c| !local(c))?;
    if at == 0 || b[at] != b'@' {
        return None;
    }
    let domain = |c: &u8| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-';
    let end = at + 1 + b[at + 1..].iter().take_while(|c| domain(c)).count();
    let host = std::str::from_utf8(&b[at + 1..end])
        .ok()?
        .trim_end_matches('.');
    let tld = host.rsplit_once('.')?.1;
    (tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())).then_some(at + 1 + host.len())
}

/// Replaces each volatile value found in `s` by what `f` returns for it (`None` keeps it).
pub fn replace_shapes(s: &str, mut f: impl FnMut(Kind, &str) -> Option<String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut kept_from = 0;
    while i < b.len() {
        let word_start =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b"._%+-".contains(&b[i - 1]));
        let found = if b[i..].starts_with(b"eyJ") {
            let len = b[i..]
                .iter()
                .take_while(|c| is_b64url(**c) || **c == b'.')
                .count();
            is_jwt(&s[i..i + len]).then_some((Kind::Jwt, len))
        } else {
            None
        }
        .or_else(|| {
            (b.len() - i >= 36 && s.is_char_boundary(i + 36) && is_guid(&s[i..i + 36]))
                .then_some((Kind::Guid, 36))
        })
        .or_else(|| {
            // ARM's dash-free form, as a word of its own.
            let hex = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            let alone = (i == 0 || !b[i - 1].is_ascii_alphanumeric())
                && b.get(i + hex).is_none_or(|c| !c.is_ascii_alphanumeric());
            (hex == 32 && alone).then_some((Kind::Guid, 32))
        })
        .or_else(|| datetime_len(&b[i..]).map(|len| (Kind::DateTime, len)))
        .or_else(|| {
            word_start
                .then(|| email_len(&b[i..]))
                .flatten()
                .map(|len| (Kind::Email, len))
        });
        match found {
            Some((kind, len)) => {
                if let Some(replacement) = f(kind, &s[i..i + len]) {
                    out.push_str(&s[kept_from..i]);
                    out.push_str(&replacement);
                    kept_from = i + len;
                }
                i += len;
            }
            None => {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    out.push_str(&s[kept_from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_each_kind_inside_text() {
        let text = "AADSTS7000215: app '6583ff8c-9c43-450b-a63d-6934afda87b8'.\r\nTimestamp: 2025-04-23 02:35:17Z, ask admin@contoso.com or bob.smith@x.io. token eyJhbGciOiJub25lIn0.eyJhIjoxfQ.c2ln end";
        let seen = std::cell::RefCell::new(Vec::new());
        let out = replace_shapes(text, |k, v| {
            seen.borrow_mut().push((k, v.to_owned()));
            Some(format!("[{k:?}]"))
        });
        assert_eq!(
            out,
            "AADSTS7000215: app '[Guid]'.\r\nTimestamp: [DateTime], ask [Email] or [Email]. token [Jwt] end"
        );
        assert_eq!(seen.borrow()[3].1, "bob.smith@x.io");
        assert_eq!(
            replace_shapes("no@tld and 1@2.3", |_, _| Some("X".into())),
            "no@tld and 1@2.3"
        );
        assert_eq!(replace_shapes("keep é", |_, _| None), "keep é");
        assert_eq!(
            replace_shapes(
                "Principal 276e83506a9647be8d4de0fd63825794 x276e83506a9647be8d4de0fd63825794 276e83506a9647be8d4de0fd638257941",
                |k, _| Some(format!("[{k:?}]"))
            ),
            "Principal [Guid] x276e83506a9647be8d4de0fd63825794 276e83506a9647be8d4de0fd638257941"
        );
    }

    #[test]
    fn unsigned_tokens_decode_back() {
        let token = encode_unsigned_jwt(&json!({"alg": "RS256"}), &json!({"tid": "t"}));
        assert!(is_jwt(&token));
        assert_eq!(
            decode_jwt(&token),
            Some((json!({"alg": "RS256"}), json!({"tid": "t"})))
        );
        assert!(token.ends_with(".U2FuaXRpemVk"));
        assert!(!is_jwt("eyJ.not a token.x"));
    }
}
