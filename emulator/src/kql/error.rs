//! Error types: query errors shaped after Log Analytics' `BadArgumentError`
//! body, and ingestion errors.

use std::fmt;

use serde_json::json;

/// Broad class of a query error; decides the `innererror.code` the host
/// reports (`SyntaxError` or `SemanticError`), or, for a query stopped by one of its
/// [limits](super::Limits), the answer the host gives instead of a `BadArgumentError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KqlErrorKind {
    /// The query text could not be parsed.
    Syntax,
    /// The query parsed but refers to unknown names or mixes types.
    Semantic,
    /// The query uses a real KQL operator or function that this engine does
    /// not implement. Reported as a semantic error whose innermost code is
    /// `NotSupported` (an emulator-specific code, not one the real service
    /// uses).
    Unsupported,
    /// The query needed more memory than its budget (`E_RUNAWAY_QUERY`).
    Runaway,
    /// The query ran past its deadline.
    Timeout,
    /// The query was cancelled (its client left, or the host is shutting down).
    Cancelled,
}

/// Where a syntax error was detected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ErrorLocation {
    /// 1-based line number.
    pub(crate) line: usize,
    /// 0-based character position within the line.
    pub(crate) pos: usize,
    /// The offending token text (`<EOF>` at end of input).
    pub(crate) token: String,
}

/// A query error carrying what a host needs to build Log Analytics'
/// `BadArgumentError` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KqlError {
    /// Error class.
    pub(crate) kind: KqlErrorKind,
    /// Innermost error code, e.g. `SYN0002` or `SEM0100`.
    pub(crate) code: String,
    /// Innermost error message, e.g.
    /// `Query could not be parsed at 'x' on line [1,6]`.
    pub(crate) message: String,
    /// Position details, present for syntax errors.
    pub(crate) location: Option<ErrorLocation>,
}

impl KqlError {
    /// A syntax error (`SYN0002`) at the given location.
    pub(crate) fn syntax(line: usize, pos: usize, token: impl Into<String>) -> Self {
        let token = token.into();
        KqlError {
            kind: KqlErrorKind::Syntax,
            code: "SYN0002".to_string(),
            message: format!("Query could not be parsed at '{token}' on line [{line},{pos}]"),
            location: Some(ErrorLocation { line, pos, token }),
        }
    }

    /// A syntax error with a custom message (still `SYN0002`, with location).
    pub(crate) fn syntax_with_message(
        line: usize,
        pos: usize,
        token: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        KqlError {
            kind: KqlErrorKind::Syntax,
            code: "SYN0002".to_string(),
            message: message.into(),
            location: Some(ErrorLocation {
                line,
                pos,
                token: token.into(),
            }),
        }
    }

    /// A semantic error with the given innermost code and message.
    pub(crate) fn semantic(code: &str, message: impl Into<String>) -> Self {
        KqlError {
            kind: KqlErrorKind::Semantic,
            code: code.to_string(),
            message: message.into(),
            location: None,
        }
    }

    /// An error naming an operator or function this engine does not support.
    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        KqlError {
            kind: KqlErrorKind::Unsupported,
            code: "NotSupported".to_string(),
            message: message.into(),
            location: None,
        }
    }

    /// The query needed more than `budget` bytes while `op` ran. The message follows a
    /// real Log Analytics partial error (Azure/Azure-Sentinel issue #13143:
    /// `'sort' operator has exceeded the memory budget (5368709120) during evaluation.
    /// Results may be incorrect or incomplete (E_RUNAWAY_QUERY; see
    /// https://aka.ms/kustoquerylimits).`); the code is `E_RUNAWAY_QUERY` (0x80DA0001)
    /// as a signed 32-bit number, as that answer writes it.
    pub(crate) fn runaway(op: &str, budget: usize) -> Self {
        let op = if op.is_empty() { "query" } else { op };
        KqlError {
            kind: KqlErrorKind::Runaway,
            code: "-2133196799".to_string(),
            message: format!(
                "'{op}' operator has exceeded the memory budget ({budget}) during evaluation. Results may be incorrect or incomplete (E_RUNAWAY_QUERY; see https://aka.ms/kustoquerylimits)."
            ),
            location: None,
        }
    }

    /// The query ran past its deadline.
    pub(crate) fn timeout() -> Self {
        KqlError {
            kind: KqlErrorKind::Timeout,
            code: "GatewayTimeout".to_string(),
            message: "Gateway timeout".to_string(),
            location: None,
        }
    }

    /// The query was cancelled. Code `E_QUERY_CANCELLED` (0x80DA0006, from Kusto's list of
    /// native error codes) as a signed 32-bit number; the message is Kusto's short
    /// description of that code.
    pub(crate) fn cancelled() -> Self {
        KqlError {
            kind: KqlErrorKind::Cancelled,
            code: "-2133196794".to_string(),
            message: "Query was cancelled (E_QUERY_CANCELLED).".to_string(),
            location: None,
        }
    }

    /// Whether the query was stopped by one of its limits rather than refused for its
    /// text.
    pub(crate) fn is_limit(&self) -> bool {
        matches!(
            self.kind,
            KqlErrorKind::Runaway | KqlErrorKind::Timeout | KqlErrorKind::Cancelled
        )
    }

    /// The code that goes in `error.innererror.code`: `SyntaxError` or
    /// `SemanticError` (`EngineError` for a query stopped by a limit).
    pub(crate) fn category_code(&self) -> &'static str {
        self.category().0
    }

    /// The code of [`KqlError::category_code`] and the message that goes with it in
    /// `error.innererror.message`.
    fn category(&self) -> (&'static str, &'static str) {
        match self.kind {
            KqlErrorKind::Syntax => ("SyntaxError", "A recognition error occurred in the query."),
            KqlErrorKind::Semantic | KqlErrorKind::Unsupported => {
                ("SemanticError", "A semantic error occurred.")
            }
            KqlErrorKind::Runaway | KqlErrorKind::Timeout | KqlErrorKind::Cancelled => (
                "EngineError",
                "Something went wrong processing your query on the server.",
            ),
        }
    }

    /// The object that goes under `error.innererror` of a Log Analytics
    /// `BadArgumentError` response, e.g.
    /// `{"code":"SyntaxError","message":"A recognition error occurred in the query.",
    ///   "innererror":{"code":"SYN0002","message":"...","line":1,"pos":6,"token":"x"}}`.
    pub(crate) fn innererror_json(&self) -> serde_json::Value {
        let mut inner = serde_json::Map::new();
        inner.insert("code".into(), json!(self.code));
        inner.insert("message".into(), json!(self.message));
        if let Some(loc) = &self.location {
            inner.insert("line".into(), json!(loc.line));
            inner.insert("pos".into(), json!(loc.pos));
            inner.insert("token".into(), json!(loc.token));
        }
        let (code, message) = self.category();
        json!({
            "code": code,
            "message": message,
            "innererror": serde_json::Value::Object(inner),
        })
    }

    #[cfg(test)]
    /// A complete Log Analytics error response body:
    /// `{"error":{"message":"The request had some invalid properties","code":"BadArgumentError","innererror":{...}}}`.
    /// The real service also sends a `correlationId` inside `error`; the host
    /// may add one.
    pub(crate) fn bad_argument_json(&self) -> serde_json::Value {
        json!({
            "error": {
                "message": "The request had some invalid properties",
                "code": "BadArgumentError",
                "innererror": self.innererror_json(),
            }
        })
    }
}

impl fmt::Display for KqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.category_code(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for KqlError {}

/// An error while converting JSON rows into a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IngestError {
    /// 0-based index of the offending row in the input slice.
    pub(crate) row: usize,
    /// Name of the offending column.
    pub(crate) column: String,
    /// What went wrong.
    pub(crate) message: String,
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {}: column '{}': {}",
            self.row, self.column, self.message
        )
    }
}

impl std::error::Error for IngestError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_innererror_shape() {
        let e = KqlError::syntax(1, 11, "invalid");
        assert_eq!(
            e.innererror_json(),
            json!({
                "code": "SyntaxError",
                "message": "A recognition error occurred in the query.",
                "innererror": {
                    "code": "SYN0002",
                    "message": "Query could not be parsed at 'invalid' on line [1,11]",
                    "line": 1,
                    "pos": 11,
                    "token": "invalid"
                }
            })
        );
    }

    #[test]
    fn bad_argument_body() {
        let j = KqlError::syntax(1, 3, "Not").bad_argument_json();
        assert_eq!(j["error"]["code"], "BadArgumentError");
        assert_eq!(
            j["error"]["message"],
            "The request had some invalid properties"
        );
        assert_eq!(
            j["error"]["innererror"]["innererror"]["message"],
            "Query could not be parsed at 'Not' on line [1,3]"
        );
    }

    #[test]
    fn semantic_innererror_shape() {
        let e = KqlError::semantic(
            "SEM0100",
            "'where' operator: Failed to resolve column or scalar expression named 'foo'",
        );
        let j = e.innererror_json();
        assert_eq!(j["code"], "SemanticError");
        assert_eq!(j["message"], "A semantic error occurred.");
        assert_eq!(j["innererror"]["code"], "SEM0100");
        assert!(j["innererror"].get("line").is_none());
    }

    #[test]
    fn unsupported_is_semantic_category() {
        let e = KqlError::unsupported("Operator 'join' is not supported by this KQL engine.");
        assert_eq!(e.category_code(), "SemanticError");
        assert_eq!(e.innererror_json()["innererror"]["code"], "NotSupported");
        assert!(e.to_string().contains("join"));
    }

    #[test]
    fn ingest_error_display_names_column() {
        let e = IngestError {
            row: 3,
            column: "x".into(),
            message: "expected long".into(),
        };
        assert_eq!(e.to_string(), "row 3: column 'x': expected long");
    }
}
