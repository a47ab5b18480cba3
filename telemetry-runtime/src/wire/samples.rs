//! One event of every type, with made-up values. The schema table (`telemetry schema`) is
//! read off them, and the spool check takes each event type's keys from them, so both
//! follow the types: a field added to an event shows up in both without touching either.

use crate::wire::buckets::{Bucket, Concurrency, Durations};
use crate::wire::command::{MaskedCommand, Token};
use crate::wire::custom::FieldValue;
use crate::wire::errors::{ErrorType, IoKind};
use crate::wire::event::{Batch, Body, Calls, Environment, Errors, Event, Metrics, SCHEMA_VERSION};
use crate::wire::features::{FeatureUse, Features};
use crate::wire::id::{Hour, Id};
use crate::wire::text::{Name, Version};

/// One event of every type, in the order the schema table lists them.
pub(crate) fn samples() -> Vec<Event> {
    let bodies = vec![
        Body::Session {
            interactive: true,
            environment: Environment::Production,
            integrations: ["postgres", "s3"]
                .into_iter()
                .filter_map(Name::new)
                .collect(),
        },
        Body::Usage {
            features: FeatureUse {
                flows: true,
                tasks: true,
                flags: Features::RETRIES.union(Features::CACHE),
            },
            metrics: Metrics {
                flows_defined: 2,
                tasks_defined: 9,
                flow_runs: Calls {
                    calls: 3,
                    ok: 2,
                    err: 1,
                    panics: 0,
                },
                task_runs: Calls {
                    calls: 41,
                    ok: 38,
                    err: 3,
                    panics: 0,
                },
                retry_attempts: 2,
                cache_hits: 17,
                cache_misses: 5,
                flow_durations: Durations([1, 2, 0, 0, 0, 0]),
                task_durations: Durations([39, 2, 0, 0, 0, 0]),
                flow_concurrency: Concurrency::peak(1),
                task_concurrency: Concurrency::peak(3),
                dropped_events: 0,
            },
        },
        Body::Error {
            errors: Errors {
                exception_types: [
                    (ErrorType::Io(IoKind::TimedOut), 2),
                    (ErrorType::named("acme::FetchError"), 1),
                ]
                .into_iter()
                .collect(),
            },
        },
        Body::Heartbeat {
            session_start: Hour::from_unix_secs(1_795_230_000),
        },
        Body::CliCommand {
            command: MaskedCommand(vec![
                Token::Known("acme"),
                Token::Known("run"),
                Token::Known("--pipeline"),
                Token::Masked,
                Token::Known("--env"),
                Token::Masked,
            ]),
        },
        Body::Custom {
            name: Name::new("deploy_finished").expect("a valid name"),
            fields: [
                ("dry_run", FieldValue::Bool(false)),
                ("targets", FieldValue::Count(Bucket::of(3))),
                (
                    "strategy",
                    FieldValue::Choice(Name::new("blue_green").expect("a valid name")),
                ),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((Name::new(k)?, v)))
            .collect(),
        },
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Event {
            event_id: sample_id(i as u32 + 2),
            session_id: sample_id(1),
            installation_id: Some(sample_id(0xa11ce)),
            timestamp: Hour::from_unix_secs(1_795_237_199),
            sdk_version: Version::new("0.1.0"),
            app_version: Version::new("1.4.2"),
            rust_version: Version::new("1.95.0"),
            os: "linux",
            arch: "x86_64",
            body,
        })
        .collect()
}

/// A batch of `events` under a fixed, recognisable id.
pub(crate) fn sample_batch(events: Vec<Event>) -> Batch {
    Batch {
        schema_version: SCHEMA_VERSION,
        batch_id: Id::parse("00000000-0000-4000-8000-00000000b47c").expect("uuid"),
        events,
    }
}

/// A recognisable id: `n` in hex, then the UUID v4 markers.
fn sample_id(n: u32) -> Id {
    Id::parse(&format!("{n:08x}-0000-4000-8000-000000000000")).expect("uuid")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_samples_cover_every_event_type() {
        let types: Vec<&str> = super::samples()
            .iter()
            .map(|e| e.body.event_type())
            .collect();
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
    }
}
