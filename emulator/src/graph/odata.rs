//! The OData query options Graph supports on applications and service principals:
//! `$filter` (a parser and evaluator for the forms real tools send), `$select`, `$top` and
//! `$skiptoken`. Pure: no HTTP.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Longest `$filter` accepted.
pub(crate) const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses/`not` accepted.
const MAX_DEPTH: usize = 32;

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not a`.
    Not(Box<Filter>),
    /// `prop eq value` / `prop ne value`.
    Compare {
        /// Property name.
        prop: String,
        /// `true` for `eq`, `false` for `ne`.
        eq: bool,
        /// The literal.
        value: Literal,
    },
    /// `startswith(prop, 'x')` / `endswith(prop, 'x')`.
    Text {
        /// Property name.
        prop: String,
        /// `true` for `startswith`, `false` for `endswith`.
        starts: bool,
        /// The prefix or suffix.
        value: String,
    },
    /// `prop/any(c:c eq 'x')`.
    Any {
        /// Collection property name.
        prop: String,
        /// The literal one element must equal.
        value: Literal,
    },
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// `'text'`.
    String(String),
    /// `true`/`false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilterError {
    /// Not a filter expression at all (Graph: 400 `BadRequest`, "Invalid filter clause").
    Syntax(String),
    /// Valid OData that Graph does not support here (400 `Request_UnsupportedQuery`).
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
}

fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | ':' | '/' => {
                chars.next();
                out.push(match c {
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    ',' => Token::Comma,
                    ':' => Token::Colon,
                    _ => Token::Slash,
                });
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\'')) => {
                            if chars.peek().map(|&(_, c)| c) == Some('\'') {
                                chars.next();
                                s.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => s.push(c),
                        None => {
                            return Err(FilterError::Syntax(format!("unterminated string at {i}")));
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '@' => {
                let mut s = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '@' {
                        s.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Ident(s));
            }
            other => return Err(FilterError::Syntax(format!("unexpected '{other}'"))),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: &Token) -> Result<(), FilterError> {
        match self.next() {
            Some(ref t) if t == want => Ok(()),
            other => Err(FilterError::Syntax(format!(
                "expected {want:?}, found {other:?}"
            ))),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        self.chain("or", Self::and, Filter::Or)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        self.chain("and", Self::unary, Filter::And)
    }

    /// `operand (word operand)*`, grouped from the left with `join`.
    fn chain(
        &mut self,
        word: &str,
        operand: fn(&mut Self) -> Result<Filter, FilterError>,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> Result<Filter, FilterError> {
        let mut left = operand(self)?;
        while self.keyword(word) {
            self.pos += 1;
            left = join(Box::new(left), Box::new(operand(self)?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::Syntax("expression nested too deeply".into()));
        }
        let result = if self.keyword("not") {
            self.pos += 1;
            self.unary().map(|f| Filter::Not(Box::new(f)))
        } else if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(&Token::RParen)?;
            Ok(inner)
        } else {
            self.primary()
        };
        self.depth -= 1;
        result
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::String(s)),
            Some(Token::Ident(w)) if w == "true" => Ok(Literal::Bool(true)),
            Some(Token::Ident(w)) if w == "false" => Ok(Literal::Bool(false)),
            Some(Token::Ident(w)) if w == "null" => Ok(Literal::Null),
            other => Err(FilterError::Syntax(format!(
                "expected a literal, found {other:?}"
            ))),
        }
    }

    fn primary(&mut self) -> Result<Filter, FilterError> {
        let Some(Token::Ident(name)) = self.next() else {
            return Err(FilterError::Syntax(
                "expected a property or function".into(),
            ));
        };
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let starts = if name.eq_ignore_ascii_case("startswith") {
                true
            } else if name.eq_ignore_ascii_case("endswith") {
                false
            } else {
                return Err(FilterError::Unsupported(format!("function '{name}'")));
            };
            let Some(Token::Ident(prop)) = self.next() else {
                return Err(FilterError::Syntax("expected a property".into()));
            };
            self.expect(&Token::Comma)?;
            let Literal::String(value) = self.literal()? else {
                return Err(FilterError::Syntax("expected a string".into()));
            };
            self.expect(&Token::RParen)?;
            return Ok(Filter::Text {
                prop,
                starts,
                value,
            });
        }
        if self.peek() == Some(&Token::Slash) {
            self.pos += 1;
            match self.next() {
                Some(Token::Ident(f)) if f.eq_ignore_ascii_case("any") => {}
                other => {
                    return Err(FilterError::Unsupported(format!("lambda {other:?}")));
                }
            }
            self.expect(&Token::LParen)?;
            let Some(Token::Ident(var)) = self.next() else {
                return Err(FilterError::Syntax("expected a lambda variable".into()));
            };
            self.expect(&Token::Colon)?;
            match self.next() {
                Some(Token::Ident(v)) if v == var => {}
                _ => {
                    return Err(FilterError::Syntax(
                        "lambda must compare its variable".into(),
                    ));
                }
            }
            if !self.keyword("eq") {
                return Err(FilterError::Unsupported(
                    "lambda operator other than eq".into(),
                ));
            }
            self.pos += 1;
            let value = self.literal()?;
            self.expect(&Token::RParen)?;
            return Ok(Filter::Any { prop: name, value });
        }
        let eq = if self.keyword("eq") {
            true
        } else if self.keyword("ne") {
            false
        } else if ["gt", "ge", "lt", "le", "in", "has"]
            .iter()
            .any(|op| self.keyword(op))
        {
            return Err(FilterError::Unsupported(format!("operator on '{name}'")));
        } else {
            return Err(FilterError::Syntax(format!(
                "expected an operator after '{name}'"
            )));
        };
        self.pos += 1;
        let value = self.literal()?;
        Ok(Filter::Compare {
            prop: name,
            eq,
            value,
        })
    }
}

impl Filter {
    /// Parses a `$filter` value.
    pub(crate) fn parse(input: &str) -> Result<Self, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError::Syntax("filter too long".into()));
        }
        let tokens = lex(input)?;
        if tokens.is_empty() {
            return Err(FilterError::Syntax("empty filter".into()));
        }
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let f = p.or()?;
        if p.pos != p.tokens.len() {
            return Err(FilterError::Syntax("unexpected trailing input".into()));
        }
        Ok(f)
    }

    /// Whether the filter uses Graph's advanced-query features (`ne`, `not`, `endswith`),
    /// which need `ConsistencyLevel: eventual`.
    pub(crate) fn is_advanced(&self) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.is_advanced() || b.is_advanced(),
            Filter::Not(_) => true,
            Filter::Compare { eq, .. } => !eq,
            Filter::Text { starts, .. } => !starts,
            Filter::Any { .. } => false,
        }
    }

    /// Every property the filter names, with whether it is used through `any`.
    pub(crate) fn properties(&self) -> Vec<(&str, bool)> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut v = a.properties();
                v.extend(b.properties());
                v
            }
            Filter::Not(a) => a.properties(),
            Filter::Compare { prop, .. } | Filter::Text { prop, .. } => {
                vec![(prop.as_str(), false)]
            }
            Filter::Any { prop, .. } => vec![(prop.as_str(), true)],
        }
    }

    /// Evaluates against an object whose property values `get` returns.
    pub(crate) fn matches<'a>(&self, get: &dyn Fn(&str) -> Option<Value<'a>>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(get) && b.matches(get),
            Filter::Or(a, b) => a.matches(get) || b.matches(get),
            Filter::Not(a) => !a.matches(get),
            Filter::Compare { prop, eq, value } => {
                let hit = match (get(prop), value) {
                    (Some(Value::Str(s)), Literal::String(v)) => s.eq_ignore_ascii_case(v),
                    (Some(Value::Bool(b)), Literal::Bool(v)) => b == *v,
                    (None, Literal::Null) => true,
                    _ => false,
                };
                hit == *eq
            }
            Filter::Text {
                prop,
                starts,
                value,
            } => match get(prop) {
                Some(Value::Str(s)) => {
                    let (s, v) = (s.to_lowercase(), value.to_lowercase());
                    if *starts {
                        s.starts_with(&v)
                    } else {
                        s.ends_with(&v)
                    }
                }
                _ => false,
            },
            Filter::Any { prop, value } => match (get(prop), value) {
                (Some(Value::List(items)), Literal::String(v)) => {
                    items.iter().any(|i| i.eq_ignore_ascii_case(v))
                }
                _ => false,
            },
        }
    }

    /// The value of `prop eq '…'` when the whole filter is exactly that (an index lookup).
    pub(crate) fn exact(&self, prop: &str) -> Option<&str> {
        match self {
            Filter::Compare {
                prop: p,
                eq: true,
                value: Literal::String(v),
            } if p.eq_ignore_ascii_case(prop) => Some(v),
            _ => None,
        }
    }
}

/// A property value as the filter sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// A boolean.
    Bool(bool),
    /// A collection of strings.
    List(Vec<Cow<'a, str>>),
}

/// Encodes a paging position as an opaque `$skiptoken`.
pub(crate) fn skiptoken(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("EmuSeq:{seq}"))
}

/// Decodes a `$skiptoken`.
pub(crate) fn parse_skiptoken(token: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("EmuSeq:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app<'a>(name: &'a str, app_id: &'a str) -> impl Fn(&str) -> Option<Value<'a>> {
        move |p| match p {
            "displayName" => Some(Value::Str(name.into())),
            "appId" => Some(Value::Str(app_id.into())),
            "servicePrincipalNames" => Some(Value::List(vec![app_id.into()])),
            "accountEnabled" => Some(Value::Bool(true)),
            _ => None,
        }
    }

    #[test]
    fn the_forms_azure_cli_sends_parse_and_match() {
        let a = app(
            "cli_sp_create_for_rbac000001",
            "6002bdc3-7496-4654-aa6a-99454f15a071",
        );
        for (f, want) in [
            ("startswith(displayName,'cli_sp')", true),
            ("startswith(displayName, 'CLI_SP')", true),
            ("displayName eq 'cli_sp_create_for_rbac000001'", true),
            ("displayName eq 'other'", false),
            ("appId eq '6002bdc3-7496-4654-aa6a-99454f15a071'", true),
            (
                "servicePrincipalNames/any(c:c eq '6002bdc3-7496-4654-aa6a-99454f15a071')",
                true,
            ),
            ("servicePrincipalNames/any(x:x eq 'nope')", false),
            (
                "accountEnabled eq true and (displayName eq 'x' or startswith(displayName,'cli'))",
                true,
            ),
        ] {
            let parsed = Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}"));
            assert_eq!(parsed.matches(&a), want, "{f}");
            assert!(!parsed.is_advanced(), "{f}");
        }
    }

    #[test]
    fn quotes_escape_by_doubling() {
        let f = Filter::parse("displayName eq 'O''Brien'").expect("parse");
        assert_eq!(f.exact("displayName"), Some("O'Brien"));
    }

    #[test]
    fn advanced_and_unsupported_and_broken_filters_are_told_apart() {
        assert!(
            Filter::parse("displayName ne 'x'")
                .expect("ne")
                .is_advanced()
        );
        assert!(
            Filter::parse("not (displayName eq 'x')")
                .expect("not")
                .is_advanced()
        );
        assert!(
            Filter::parse("endswith(displayName,'x')")
                .expect("endswith")
                .is_advanced()
        );
        assert!(matches!(
            Filter::parse("contains(displayName,'x')"),
            Err(FilterError::Unsupported(_))
        ));
        assert!(matches!(
            Filter::parse("createdDateTime gt '2020'"),
            Err(FilterError::Unsupported(_))
        ));
        for broken in [
            "",
            "displayName",
            "displayName eq",
            "eq 'x'",
            "displayName eq 'x",
            "(a eq 'b'",
            "a eq 'b')",
            "a eq 'b' c",
            "a eq b",
        ] {
            assert!(
                matches!(Filter::parse(broken), Err(FilterError::Syntax(_))),
                "{broken}"
            );
        }
        let deep = format!("{}a eq 'b'{}", "(".repeat(100), ")".repeat(100));
        assert!(matches!(Filter::parse(&deep), Err(FilterError::Syntax(_))));
        assert!(Filter::parse(&"x".repeat(MAX_FILTER_LEN + 1)).is_err());
    }

    #[test]
    fn skiptokens_round_trip_and_reject_garbage() {
        assert_eq!(parse_skiptoken(&skiptoken(42)), Some(42));
        assert_eq!(parse_skiptoken("garbage!"), None);
        assert_eq!(parse_skiptoken(&URL_SAFE_NO_PAD.encode("EmuSeq:x")), None);
    }
}
