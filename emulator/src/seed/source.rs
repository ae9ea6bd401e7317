//! Reading a seed from TOML or JSON text, and naming the line of a field in it.
//!
//! A field is found again by walking the text with a deserializer that stops with an error
//! at the field's path: both formats attach the position of the value being read to such an
//! error, so one walk serves TOML and JSON alike.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Seed;

/// Why a seed was refused: where (file, line, field) and what is wrong.
///
/// Displays as `seed.toml:12: applications[1].secrets[0].expires: invalid date-time …`
/// (`line 12: …` for a seed read from a string, the field alone for one built in Rust).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidSeed {
    /// The file, for a seed read with [`Seed::from_path`].
    pub file: Option<String>,
    /// The line (from 1), when the seed was read from text.
    pub line: Option<usize>,
    /// The field: `applications[1].secrets[0].expires` (empty for the whole file).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for InvalidSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(&'static str),
    Index(usize),
}

/// The path of a field of a seed: `applications[1].secrets[0].expires`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Step>);

impl FieldPath {
    /// `self.key`.
    pub(crate) fn key(&self, key: &'static str) -> Self {
        let mut path = self.clone();
        path.0.push(Step::Key(key));
        path
    }

    /// `self[index]`.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Step::Index(index));
        path
    }

    /// `key[index]`, from the root.
    pub(crate) fn item(key: &'static str, index: usize) -> Self {
        Self::default().key(key).index(index)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => f.write_str(k)?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A fault found in a field while applying a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeedFault {
    /// The field.
    pub(crate) path: FieldPath,
    /// What is wrong with it.
    pub(crate) message: String,
}

impl SeedFault {
    /// `message` about the field at `path`.
    pub(crate) fn new(path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }

    /// The error, in `file` at `line`.
    pub(crate) fn into_error(self, file: Option<String>, line: Option<usize>) -> InvalidSeed {
        InvalidSeed {
            file,
            line,
            field: self.path.to_string(),
            message: self.message,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Toml,
    Json,
}

/// The text a seed was read from.
#[derive(Clone)]
pub(super) struct Source {
    file: Option<String>,
    text: String,
    format: Format,
}

impl fmt::Debug for Source {
    // By hand: the text holds the secrets' values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("file", &self.file)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// The message a walk stops with when it reaches the field it looks for.
const FOUND: &str = "\u{0}seed field found";

impl Source {
    pub(super) fn toml(file: Option<String>, text: &str) -> Self {
        Self {
            file,
            text: text.to_owned(),
            format: Format::Toml,
        }
    }

    pub(super) fn json(file: Option<String>, text: &str) -> Self {
        Self {
            file,
            text: text.to_owned(),
            format: Format::Json,
        }
    }

    /// Deserializes the seed; an error names the field's path and line.
    pub(super) fn read(self) -> Result<Seed, InvalidSeed> {
        let seed: Seed = match self.format {
            Format::Toml => {
                let de = toml::Deserializer::parse(&self.text)
                    .map_err(|e| self.toml_error(String::new(), &e))?;
                serde_path_to_error::deserialize(de)
                    .map_err(|e| self.toml_error(field(e.path()), e.inner()))?
            }
            Format::Json => {
                let mut de = serde_json::Deserializer::from_str(&self.text);
                let seed = serde_path_to_error::deserialize(&mut de)
                    .map_err(|e| self.json_error(field(e.path()), e.inner()))?;
                de.end().map_err(|e| self.json_error(String::new(), &e))?;
                seed
            }
        };
        Ok(seed.with_source(self))
    }

    fn toml_error(&self, field: String, e: &toml::de::Error) -> InvalidSeed {
        InvalidSeed {
            file: self.file.clone(),
            line: e.span().map(|s| line_at(&self.text, s.start)),
            field,
            message: e.message().trim_end().to_owned(),
        }
    }

    fn json_error(&self, field: String, e: &serde_json::Error) -> InvalidSeed {
        let text = e.to_string();
        // serde_json appends the position, which the error carries apart.
        let message = match text.rfind(" at line ") {
            Some(i) if e.line() > 0 => text[..i].to_owned(),
            _ => text,
        };
        InvalidSeed {
            file: self.file.clone(),
            line: (e.line() > 0).then_some(e.line()),
            field,
            message,
        }
    }

    /// `fault` with the file and the line of its field.
    pub(super) fn locate(&self, fault: SeedFault) -> InvalidSeed {
        let find = Find(&fault.path.0);
        let line = match self.format {
            Format::Toml => toml::Deserializer::parse(&self.text)
                .and_then(|de| find.deserialize(de))
                .err()
                .filter(|e| e.message() == FOUND)
                .and_then(|e| e.span())
                .map(|s| line_at(&self.text, s.start)),
            Format::Json => {
                let mut de = serde_json::Deserializer::from_str(&self.text);
                find.deserialize(&mut de)
                    .err()
                    .filter(|e| e.to_string().starts_with(FOUND) && e.line() > 0)
                    .map(|e| e.line())
            }
        };
        fault.into_error(self.file.clone(), line)
    }
}

/// The path serde_path_to_error reports, without its `.` for the root.
fn field(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." { String::new() } else { text }
}

/// The line (from 1) of byte `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.matches('\n').count())
        + 1
}

/// Walks a document down `path`, then fails with [`FOUND`] on the value there.
struct Find<'a>(&'a [Step]);

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Find<'_> {
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.0.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let [Step::Key(wanted), rest @ ..] = self.0 else {
            return self.leaf();
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *wanted {
                return map.next_value_seed(Find(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let [Step::Index(wanted), rest @ ..] = self.0 else {
            return self.leaf();
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Find(rest)).map(|_| ())
    }
}
