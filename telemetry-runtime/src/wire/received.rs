//! A batch as a receiver gets it: checked to be, byte for byte, what these types could have
//! written (`check.rs`), then read back into plain values a collector stores. Nothing here
//! can hold what the wire cannot: every string is an id, an hour, a checked version, a name,
//! a platform name, an error type path, a masked command or a bucket label.

use std::fmt;

use crate::base::calendar::Date;
use crate::wire::check::checked_batch;
use crate::wire::id::Id;
use crate::wire::json::Json;

/// A batch that passed the check, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedBatch {
    /// Random per batch: a receiver stores each once.
    pub batch_id: String,
    /// Its events, in order.
    pub events: Vec<ReceivedEvent>,
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
    /// `std::env::consts::OS`.
    pub os: String,
    /// `std::env::consts::ARCH`.
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
        /// `production`, `staging`, `development`, `test` or `other`.
        environment: String,
        /// Names the host declared.
        integrations: Vec<String>,
    },
    /// Aggregates since the previous batch.
    Usage {
        /// Each feature's key and whether the binary uses it.
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

/// Why bytes were refused as a batch. Never repeats what was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotABatch;

impl fmt::Display for NotABatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a batch this version of telemetry sends")
    }
}

impl std::error::Error for NotABatch {}

/// Reads `body` as a batch: only if it is, byte for byte, one these types could have
/// written, so an unknown field, a wrong type, a version, name or bucket no client would
/// produce, or anything carrying free text is refused.
///
/// ```
/// use telemetry::wire::parse_batch;
///
/// let batch = br#"{"schema_version":1,"batch_id":"00000000-0000-4000-8000-00000000b47c","events":[]}"#;
/// assert_eq!(parse_batch(batch).unwrap().events.len(), 0);
/// assert!(parse_batch(br#"{"schema_version":1,"batch_id":"x","events":[],"user":"alice"}"#).is_err());
/// ```
pub fn parse_batch(body: &[u8]) -> Result<ReceivedBatch, NotABatch> {
    let json = checked_batch(body).ok_or(NotABatch)?;
    let text = |j: &Json, key: &str| j.get(key).and_then(Json::as_str).map(str::to_owned);
    let batch_id = text(&json, "batch_id").ok_or(NotABatch)?;
    let Some(Json::Array(events)) = json.get("events") else {
        return Err(NotABatch);
    };
    let events = events
        .iter()
        .map(|e| {
            Some(ReceivedEvent {
                event_id: text(e, "event_id")?,
                session_id: text(e, "session_id")?,
                installation_id: text(e, "installation_id"),
                hour: hour(e.get("timestamp")?.as_str()?)?,
                sdk_version: text(e, "sdk_version")?,
                app_version: text(e, "app_version")?,
                rust_version: text(e, "rust_version")?,
                os: text(e, "os")?,
                arch: text(e, "arch")?,
                body: body_of(e)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(NotABatch)?;
    Ok(ReceivedBatch { batch_id, events })
}

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

/// `YYYY-MM-DDTHH:00:00Z` as hours since 1970-01-01.
fn hour(s: &str) -> Option<i64> {
    let (date, time) = s.split_once('T')?;
    let date: Date = date.parse().ok()?;
    let h: i64 = time.get(..2)?.parse().ok()?;
    Some(date.to_unix_days() * 24 + h)
}

fn body_of(e: &Json) -> Option<ReceivedBody> {
    let strings = |j: &Json| match j {
        Json::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    };
    Some(match e.get("event_type")?.as_str()? {
        "session" => ReceivedBody::Session {
            interactive: matches!(e.get("interactive")?, Json::Bool(true)),
            environment: e.get("environment")?.as_str()?.to_owned(),
            integrations: strings(e.get("integrations")?)?,
        },
        "usage" => {
            let Json::Object(features) = e.get("features")? else {
                return None;
            };
            let mut metrics = Vec::new();
            leaves("", e.get("metrics")?, &mut metrics);
            ReceivedBody::Usage {
                features: features
                    .iter()
                    .map(|(k, v)| (k.clone(), matches!(v, Json::Bool(true))))
                    .collect(),
                metrics,
            }
        }
        "error" => {
            let Json::Object(types) = e.get("errors")?.get("exception_types")? else {
                return None;
            };
            ReceivedBody::Error {
                types: types
                    .iter()
                    .map(|(k, v)| match v {
                        Json::Int(n) => Some((k.clone(), *n)),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            }
        }
        "heartbeat" => ReceivedBody::Heartbeat {
            session_start: hour(e.get("session_start")?.as_str()?)?,
        },
        "cli_command" => ReceivedBody::CliCommand {
            command: e.get("command")?.as_str()?.to_owned(),
        },
        "custom" => {
            let Json::Object(fields) = e.get("fields")? else {
                return None;
            };
            ReceivedBody::Custom {
                name: e.get("name")?.as_str()?.to_owned(),
                fields: fields
                    .iter()
                    .map(|(k, v)| {
                        let value = match v {
                            Json::Str(s) => s.clone(),
                            other => other.compact(),
                        };
                        (k.clone(), value)
                    })
                    .collect(),
            }
        }
        _ => return None,
    })
}

/// Every count under `json`, by its dotted path.
fn leaves(path: &str, json: &Json, out: &mut Vec<(String, u64)>) {
    match json {
        Json::Object(fields) => {
            for (key, value) in fields {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaves(&p, value, out);
            }
        }
        Json::Int(n) => out.push((path.to_owned(), *n)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::json::ToJson;
    use crate::wire::samples::{sample_batch, samples};

    #[test]
    fn every_sample_reads_back() {
        let bytes = sample_batch(samples()).to_json().compact();
        let batch = parse_batch(bytes.as_bytes()).unwrap();
        assert_eq!(batch.batch_id, "00000000-0000-4000-8000-00000000b47c");
        let types: Vec<&str> = batch.events.iter().map(|e| e.body.event_type()).collect();
        assert_eq!(
            types,
            [
                "session",
                "usage",
                "error",
                "heartbeat",
                "cli_command",
                "custom"
            ]
        );
        let first = &batch.events[0];
        assert_eq!(
            first.installation_id.as_deref(),
            Some("000a11ce-0000-4000-8000-000000000000")
        );
        // 2026-11-21T04:00:00Z
        assert_eq!(first.hour, 1_795_237_199 / 3600);
        let ReceivedBody::Usage { features, metrics } = &batch.events[1].body else {
            panic!()
        };
        assert!(features.contains(&("retries".to_owned(), true)));
        assert!(metrics.contains(&("task_runs.calls".to_owned(), 41)));
        assert!(metrics.contains(&("flow_durations.1-10s".to_owned(), 2)));
        let ReceivedBody::Custom { fields, .. } = &batch.events[5].body else {
            panic!()
        };
        assert_eq!(fields[1], ("strategy".to_owned(), "blue_green".to_owned()));
        assert_eq!(fields[2], ("targets".to_owned(), "2-5".to_owned()));
    }

    #[test]
    fn anything_the_check_refuses_is_not_a_batch() {
        let good = sample_batch(samples()).to_json().compact();
        let bad = good.replacen(r#""os":"linux""#, r#""os":"linux","user":"alice""#, 1);
        assert_eq!(parse_batch(bad.as_bytes()), Err(NotABatch));
        assert_eq!(parse_batch(b"{}"), Err(NotABatch));
    }
}
