//! A batch and its events: what one POST carries.

use std::collections::BTreeMap;

use crate::wire::buckets::{Concurrency, Durations};
use crate::wire::command::MaskedCommand;
use crate::wire::custom::FieldValue;
use crate::wire::errors::ErrorType;
use crate::wire::features::FeatureUse;
use crate::wire::id::{Hour, Id};
use crate::wire::json::{Json, ToJson};
use crate::wire::text::{Name, Version};

/// The version of this wire format.
pub const SCHEMA_VERSION: u32 = 1;

/// One POST: `{"schema_version": 1, "batch_id": "<uuid>", "events": [...]}`.
#[derive(Clone, Debug)]
pub(crate) struct Batch {
    pub(crate) schema_version: u32,
    /// Random per batch; the same on every retry, so a receiver can drop duplicates.
    pub(crate) batch_id: Id,
    pub(crate) events: Vec<Event>,
}

impl Batch {
    /// A batch of `events` under a fresh id; `None` if no id can be made.
    pub(crate) fn new(events: Vec<Event>) -> Option<Batch> {
        Some(Batch {
            schema_version: SCHEMA_VERSION,
            batch_id: Id::random()?,
            events,
        })
    }

    /// The bytes sent: compact JSON.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.to_json().compact().into_bytes()
    }
}

impl ToJson for Batch {
    fn to_json(&self) -> Json {
        Json::object([
            ("schema_version", Json::Int(u64::from(self.schema_version))),
            ("batch_id", self.batch_id.to_json()),
            (
                "events",
                Json::Array(self.events.iter().map(ToJson::to_json).collect()),
            ),
        ])
    }
}

/// One event: the fields every event carries, then those of its type.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) event_id: Id,
    /// Random per process.
    pub(crate) session_id: Id,
    /// Random per installation; present only once the user has consented.
    pub(crate) installation_id: Option<Id>,
    /// When the event was made, truncated to the hour.
    pub(crate) timestamp: Hour,
    /// This crate's version.
    pub(crate) sdk_version: Version,
    /// The host application's version.
    pub(crate) app_version: Version,
    /// The version of rustc that built the host.
    pub(crate) rust_version: Version,
    /// `std::env::consts::OS`: a fixed set of names.
    pub(crate) os: &'static str,
    /// `std::env::consts::ARCH`: a fixed set of names.
    pub(crate) arch: &'static str,
    pub(crate) body: Body,
}

impl ToJson for Event {
    fn to_json(&self) -> Json {
        let mut fields = vec![
            ("event_id", self.event_id.to_json()),
            ("session_id", self.session_id.to_json()),
        ];
        if let Some(id) = self.installation_id {
            fields.push(("installation_id", id.to_json()));
        }
        fields.extend([
            ("timestamp", self.timestamp.to_json()),
            ("sdk_version", self.sdk_version.to_json()),
            ("app_version", self.app_version.to_json()),
            ("rust_version", self.rust_version.to_json()),
            ("os", Json::str(self.os)),
            ("arch", Json::str(self.arch)),
            ("event_type", Json::str(self.body.event_type())),
        ]);
        fields.extend(self.body.fields());
        Json::object(fields)
    }
}

/// What an event is about; sent as `"event_type"` plus the type's own fields.
// `Usage` is the large one (its counts), and a batch holds a handful of events, built once
// per send: boxing it would add an allocation per batch and save nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub(crate) enum Body {
    /// The environment, once per process.
    Session {
        /// Whether stdin and stderr are terminals (a person at a CLI) or not (a program).
        interactive: bool,
        /// `APP_TELEMETRY_ENVIRONMENT`, mapped onto a closed set.
        environment: Environment,
        /// Names the host declared in its code (enabled cargo features, plugins).
        integrations: Vec<Name>,
    },
    /// Aggregates since the previous batch.
    Usage {
        features: FeatureUse,
        metrics: Metrics,
    },
    /// The types of errors returned and panics, since the previous batch.
    Error { errors: Errors },
    /// A long-running process is still there.
    Heartbeat {
        /// When this process started, truncated to the hour.
        session_start: Hour,
    },
    /// The host's command line, every value masked.
    CliCommand {
        /// The program, known subcommands and flag names; each value is `*****`.
        command: MaskedCommand,
    },
    /// An event the host defined with `#[derive(telemetry::Event)]`.
    Custom {
        /// The event's name: its type's name in snake case.
        name: Name,
        /// Its fields: booleans, bucketed counts, declared choices and versions.
        fields: BTreeMap<Name, FieldValue>,
    },
}

impl Body {
    /// The `event_type` this body is sent as.
    pub(crate) fn event_type(&self) -> &'static str {
        match self {
            Body::Session { .. } => "session",
            Body::Usage { .. } => "usage",
            Body::Error { .. } => "error",
            Body::Heartbeat { .. } => "heartbeat",
            Body::CliCommand { .. } => "cli_command",
            Body::Custom { .. } => "custom",
        }
    }

    /// The type's own fields, in the order they are sent.
    fn fields(&self) -> Vec<(&'static str, Json)> {
        match self {
            Body::Session {
                interactive,
                environment,
                integrations,
            } => vec![
                ("interactive", Json::Bool(*interactive)),
                ("environment", environment.to_json()),
                (
                    "integrations",
                    Json::Array(integrations.iter().map(ToJson::to_json).collect()),
                ),
            ],
            Body::Usage { features, metrics } => vec![
                ("features", features.to_json()),
                ("metrics", metrics.to_json()),
            ],
            Body::Error { errors } => vec![("errors", errors.to_json())],
            Body::Heartbeat { session_start } => vec![("session_start", session_start.to_json())],
            Body::CliCommand { command } => vec![("command", command.to_json())],
            Body::Custom { name, fields } => vec![
                ("name", name.to_json()),
                (
                    "fields",
                    Json::Object(
                        fields
                            .iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.to_json()))
                            .collect(),
                    ),
                ),
            ],
        }
    }
}

/// The deployment environment, from a closed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Environment {
    Production,
    Staging,
    Development,
    Test,
    /// Set to something else: the value itself is not sent.
    Other,
}

impl Environment {
    /// Every value, in order.
    pub(crate) const ALL: [Environment; 5] = [
        Environment::Production,
        Environment::Staging,
        Environment::Development,
        Environment::Test,
        Environment::Other,
    ];

    /// Maps the variable's value; unset means production.
    pub(crate) fn from_setting(value: Option<&str>) -> Environment {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "production" | "prod") => Environment::Production,
            Some("staging" | "stage") => Environment::Staging,
            Some("development" | "dev" | "local") => Environment::Development,
            Some("test" | "testing") => Environment::Test,
            Some(_) => Environment::Other,
        }
    }

    /// What is sent.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Other => "other",
        }
    }
}

impl ToJson for Environment {
    fn to_json(&self) -> Json {
        Json::str(self.label())
    }
}

/// Counts since the previous batch, summed over all annotated fns of a kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Metrics {
    pub(crate) flows_defined: u64,
    pub(crate) tasks_defined: u64,
    pub(crate) flow_runs: Calls,
    pub(crate) task_runs: Calls,
    pub(crate) retry_attempts: u64,
    pub(crate) cache_hits: u64,
    pub(crate) cache_misses: u64,
    pub(crate) flow_durations: Durations,
    pub(crate) task_durations: Durations,
    /// The most flows, and tasks, seen running at once since the previous batch.
    pub(crate) flow_concurrency: Concurrency,
    pub(crate) task_concurrency: Concurrency,
    /// Discrete events dropped because the queue was full (never the events themselves).
    pub(crate) dropped_events: u64,
}

impl ToJson for Metrics {
    fn to_json(&self) -> Json {
        Json::object([
            ("flows_defined", Json::count(self.flows_defined)),
            ("tasks_defined", Json::count(self.tasks_defined)),
            ("flow_runs", self.flow_runs.to_json()),
            ("task_runs", self.task_runs.to_json()),
            ("retry_attempts", Json::count(self.retry_attempts)),
            ("cache_hits", Json::count(self.cache_hits)),
            ("cache_misses", Json::count(self.cache_misses)),
            ("flow_durations", self.flow_durations.to_json()),
            ("task_durations", self.task_durations.to_json()),
            ("flow_concurrency", self.flow_concurrency.to_json()),
            ("task_concurrency", self.task_concurrency.to_json()),
            ("dropped_events", Json::count(self.dropped_events)),
        ])
    }
}

/// Completed calls and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Calls {
    pub(crate) calls: u64,
    pub(crate) ok: u64,
    pub(crate) err: u64,
    pub(crate) panics: u64,
}

impl ToJson for Calls {
    fn to_json(&self) -> Json {
        Json::object([
            ("calls", Json::count(self.calls)),
            ("ok", Json::count(self.ok)),
            ("err", Json::count(self.err)),
            ("panics", Json::count(self.panics)),
        ])
    }
}

/// `errors.exception_types`: how often each error type occurred.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Errors {
    pub(crate) exception_types: BTreeMap<ErrorType, u64>,
}

impl ToJson for Errors {
    fn to_json(&self) -> Json {
        let types = self
            .exception_types
            .iter()
            .map(|(t, n)| (t.name().to_owned(), Json::count(*n)))
            .collect();
        Json::object([("exception_types", Json::Object(types))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::buckets::Bucket;
    use crate::wire::errors::IoKind;

    #[test]
    fn custom_events_serialise_names_and_ranges_only() {
        let body = Body::Custom {
            name: Name::new("deploy_finished").unwrap(),
            fields: [
                ("dry_run", FieldValue::Bool(true)),
                ("targets", FieldValue::Count(Bucket::of(7))),
                ("mode", FieldValue::Choice(Name::new("blue_green").unwrap())),
                ("plugin", FieldValue::Version(Version::new("2.1.0"))),
                ("region", FieldValue::Absent),
            ]
            .into_iter()
            .map(|(k, v)| (Name::new(k).unwrap(), v))
            .collect(),
        };
        let mut fields = vec![("event_type", Json::str(body.event_type()))];
        fields.extend(body.fields());
        assert_eq!(
            Json::object(fields).compact(),
            r#"{"event_type":"custom","name":"deploy_finished","fields":{"dry_run":true,"mode":"blue_green","plugin":"2.1.0","region":null,"targets":"6-10"}}"#
        );
    }

    #[test]
    fn environment_values_map_onto_a_closed_set() {
        assert_eq!(Environment::from_setting(None), Environment::Production);
        assert_eq!(
            Environment::from_setting(Some("Staging")),
            Environment::Staging
        );
        assert_eq!(
            Environment::from_setting(Some("dev")),
            Environment::Development
        );
        assert_eq!(
            Environment::from_setting(Some("alice-laptop")),
            Environment::Other
        );
    }

    #[test]
    fn an_event_serialises_with_the_spec_keys() {
        let id = Id::parse("00000000-0000-4000-8000-000000000000").unwrap();
        let event = Event {
            event_id: id,
            session_id: id,
            installation_id: None,
            timestamp: Hour::from_unix_secs(3600 * 24),
            sdk_version: Version::new("0.1.0"),
            app_version: Version::new("2.3.4"),
            rust_version: Version::new("1.95.0"),
            os: "linux",
            arch: "x86_64",
            body: Body::Error {
                errors: Errors {
                    exception_types: [(ErrorType::Io(IoKind::NotFound), 2), (ErrorType::Panic, 1)]
                        .into_iter()
                        .collect(),
                },
            },
        };
        let json = event.to_json();
        assert_eq!(json.get("event_type"), Some(&Json::str("error")));
        assert_eq!(
            json.get("timestamp"),
            Some(&Json::str("1970-01-02T00:00:00Z"))
        );
        assert!(json.get("installation_id").is_none());
        let types = json.get("errors").and_then(|e| e.get("exception_types"));
        assert_eq!(
            types.and_then(|t| t.get("std::io::Error(NotFound)")),
            Some(&Json::Int(2))
        );
        assert_eq!(types.and_then(|t| t.get("panic")), Some(&Json::Int(1)));
        for key in [
            "event_id",
            "session_id",
            "sdk_version",
            "app_version",
            "rust_version",
            "os",
            "arch",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
