//! A batch as a receiver gets it: a parsed [`Document`], and what reading it by its
//! meaning gives (`read.rs`): the batch's events as plain values a collector stores, what
//! was left out as unknown to this release, or why it was refused. Nothing here can hold
//! what the wire cannot: every string is an id, an hour, a checked version, a name, a
//! closed value or `unknown`, an error type path, a masked command or a bucket label.

use std::fmt;

use crate::wire::id::Id;
use crate::wire::json::Json;

/// A JSON document as a receiver parsed it, before it is read as a batch: objects keep
/// their keys in order, duplicates included (a duplicate is refused, not resolved).
///
/// ```
/// use telemetry::wire::{Document, read_batch};
///
/// let batch = Document::Object(vec![
///     ("schema_version".into(), Document::Count(1)),
///     ("batch_id".into(), Document::Str("00000000-0000-4000-8000-00000000b47c".into())),
///     ("events".into(), Document::Array(vec![])),
/// ]);
/// assert_eq!(read_batch(&batch).unwrap().events.len(), 0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number from 0 to `u64::MAX`.
    Count(u64),
    /// Any other number: negative, with a fraction or an exponent, or too large.
    OtherNumber,
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Document>),
    /// An object: its keys in order, duplicates kept.
    Object(Vec<(String, Document)>),
}

impl From<&Json> for Document {
    fn from(json: &Json) -> Document {
        match json {
            Json::Null => Document::Null,
            Json::Bool(b) => Document::Bool(*b),
            Json::Int(n) => Document::Count(*n),
            Json::Decimal(_) => Document::OtherNumber,
            Json::Str(s) => Document::Str(s.clone()),
            Json::Array(items) => Document::Array(items.iter().map(Document::from).collect()),
            Json::Object(fields) => Document::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Document::from(v)))
                    .collect(),
            ),
        }
    }
}

/// A batch read by its meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedBatch {
    /// The schema version it was written in.
    pub schema_version: u32,
    /// Random per batch, in lowercase: a receiver stores each once.
    pub batch_id: String,
    /// Its events this release knows, in order.
    pub events: Vec<ReceivedEvent>,
    /// What was left out because this release does not know it.
    pub left_out: LeftOut,
}

/// What a reader left out of a batch, by kind: parts a newer runtime may send that this
/// release does not know. Counted, never kept as text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// Keys not in the contract, at any level (each dropped with whatever it held).
    pub fields: u64,
    /// Events of a type not in the contract (each dropped whole).
    pub event_types: u64,
    /// Values of a closed field (an `os`, an `environment`, an error type of the standard
    /// library) not in the contract: kept as `unknown`.
    pub values: u64,
}

impl LeftOut {
    /// Whether nothing was left out.
    pub fn is_empty(&self) -> bool {
        *self == LeftOut::default()
    }
}

/// One event of a [`ReceivedBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedEvent {
    /// Random per event.
    pub event_id: String,
    /// Random per process.
    pub session_id: String,
    /// Random per installation; absent when the user never consented or the host sends none.
    pub installation_id: Option<String>,
    /// The hour the event was made, in hours since 1970-01-01 (UTC).
    pub hour: i64,
    /// The telemetry crate's version.
    pub sdk_version: String,
    /// The host's version (or `invalid`).
    pub app_version: String,
    /// The compiler's version.
    pub rust_version: String,
    /// `std::env::consts::OS`, or `unknown`.
    pub os: String,
    /// `std::env::consts::ARCH`, or `unknown`.
    pub arch: String,
    /// What the event is about.
    pub body: ReceivedBody,
}

/// The type-specific part of a [`ReceivedEvent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceivedBody {
    /// Once per process.
    Session {
        /// A person at a terminal, or a program.
        interactive: bool,
        /// `production`, `staging`, `development`, `test`, `other` (or `unknown`).
        environment: String,
        /// Names the host declared.
        integrations: Vec<String>,
    },
    /// Aggregates since the previous batch.
    Usage {
        /// Each feature's key and whether the binary uses it (the ones sent).
        features: Vec<(String, bool)>,
        /// Each count by its path (`flow_runs.calls`, `task_durations.<1s`, `cache_hits`).
        metrics: Vec<(String, u64)>,
    },
    /// How often each error type occurred.
    Error {
        /// Type name and count.
        types: Vec<(String, u64)>,
    },
    /// A long-running process is still there.
    Heartbeat {
        /// When it started, in hours since 1970-01-01.
        session_start: i64,
    },
    /// The host's masked command line.
    CliCommand {
        /// Declared words and `*****`.
        command: String,
    },
    /// An event the host defined.
    Custom {
        /// Its name.
        name: String,
        /// Each field's name and value as sent (`true`, `6-10`, `blue_green`, `2.0.0`, `null`).
        fields: Vec<(String, String)>,
    },
}

impl ReceivedBody {
    /// The `event_type` it was sent as.
    pub fn event_type(&self) -> &'static str {
        match self {
            ReceivedBody::Session { .. } => "session",
            ReceivedBody::Usage { .. } => "usage",
            ReceivedBody::Error { .. } => "error",
            ReceivedBody::Heartbeat { .. } => "heartbeat",
            ReceivedBody::CliCommand { .. } => "cli_command",
            ReceivedBody::Custom { .. } => "custom",
        }
    }
}

/// Why a document was refused as a batch: the first problem, and where it is
/// (`events[1].metrics.flow_runs`; empty for the batch itself). Never repeats what was
/// sent: the place names only keys of the contract and positions in arrays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    error: String,
    at: String,
}

impl Refusal {
    /// A refusal for `error` at `at`.
    pub fn new(error: impl Into<String>, at: impl Into<String>) -> Refusal {
        Refusal {
            error: error.into(),
            at: at.into(),
        }
    }

    /// What is wrong.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// Where: a path of contract keys and array positions.
    pub fn at(&self) -> &str {
        &self.at
    }

    /// `{"error":"…","at":"…"}`, as a receiver answers a refused batch.
    ///
    /// ```
    /// use telemetry::wire::Refusal;
    ///
    /// let r = Refusal::new("a count is at most 2^53 - 1", "events[1].metrics.cache_hits");
    /// assert_eq!(r.to_json(), r#"{"error":"a count is at most 2^53 - 1","at":"events[1].metrics.cache_hits"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        Json::object([
            ("error", Json::str(self.error.as_str())),
            ("at", Json::str(self.at.as_str())),
        ])
        .compact()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.error)
        } else {
            write!(f, "{} at {}", self.error, self.at)
        }
    }
}

impl std::error::Error for Refusal {}

/// `s` as an id prints in a batch (hyphenated, lowercase), if it is a UUID at all: what a
/// receiver compares stored ids with, as when asked to delete an installation's data.
///
/// ```
/// use telemetry::wire::normalize_id;
///
/// let id = "0F0E0D0C-0B0A-4908-8706-050403020100";
/// assert_eq!(normalize_id(id).as_deref(), Some("0f0e0d0c-0b0a-4908-8706-050403020100"));
/// assert_eq!(normalize_id("alice"), None);
/// ```
pub fn normalize_id(s: &str) -> Option<String> {
    Id::parse(s).map(|id| id.to_string())
}

/// A value read at one place, as the contract shapes it.
pub(crate) enum Value {
    Text(String),
    Count(u64),
    Bool(bool),
    Hour(i64),
    Names(Vec<String>),
    Counts(Vec<(String, u64)>),
    Fields(Vec<(String, String)>),
    Object(Vec<(&'static str, Value)>),
    Events(Vec<ReceivedEvent>),
}

/// An event type's own fields, read.
pub(crate) fn body(
    event_type: &str,
    v: &mut Vec<(&'static str, Value)>,
    at: &str,
) -> Result<ReceivedBody, Refusal> {
    Ok(match event_type {
        "session" => ReceivedBody::Session {
            interactive: matches!(take(v, "interactive"), Some(Value::Bool(true))),
            environment: text(take(v, "environment")),
            integrations: match take(v, "integrations") {
                Some(Value::Names(names)) => names,
                _ => Vec::new(),
            },
        },
        "usage" => {
            let features = match take(v, "features") {
                Some(Value::Object(flags)) => flags
                    .into_iter()
                    .filter_map(|(k, v)| match v {
                        Value::Bool(b) => Some((k.to_owned(), b)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut metrics = Vec::new();
            if let Some(m) = take(v, "metrics") {
                leaves("", m, &mut metrics);
            }
            ReceivedBody::Usage { features, metrics }
        }
        "error" => {
            let types = match take(v, "errors") {
                Some(Value::Object(mut inner)) => match take(&mut inner, "exception_types") {
                    Some(Value::Counts(types)) => types,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            ReceivedBody::Error { types }
        }
        "heartbeat" => ReceivedBody::Heartbeat {
            session_start: match take(v, "session_start") {
                Some(Value::Hour(h)) => h,
                _ => 0,
            },
        },
        "cli_command" => ReceivedBody::CliCommand {
            command: text(take(v, "command")),
        },
        "custom" => ReceivedBody::Custom {
            name: text(take(v, "name")),
            fields: match take(v, "fields") {
                Some(Value::Fields(fields)) => fields,
                _ => Vec::new(),
            },
        },
        _ => return Err(Refusal::new("not an event type", join(at, "event_type"))),
    })
}

/// The value read at `key`, taken out.
pub(crate) fn take(values: &mut Vec<(&'static str, Value)>, key: &str) -> Option<Value> {
    let i = values.iter().position(|(k, _)| *k == key)?;
    Some(values.swap_remove(i).1)
}

pub(crate) fn text(value: Option<Value>) -> String {
    match value {
        Some(Value::Text(s)) => s,
        _ => String::new(),
    }
}

/// Every count under `value`, by its dotted path.
fn leaves(path: &str, value: Value, out: &mut Vec<(String, u64)>) {
    match value {
        Value::Object(fields) => {
            for (key, value) in fields {
                leaves(&join(path, key), value, out);
            }
        }
        Value::Count(n) => out.push((path.to_owned(), n)),
        _ => {}
    }
}

/// `parent.key`, or `key` at the top.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}
