//! A received batch, turned into the rows every store keeps: one per event, and one per
//! fact an event carries (a feature used, a count, an error type, a command, a custom
//! field). Nothing is kept that the batch did not hold, and nothing of the request: no
//! address, no header.

use telemetry_runtime::{ReceivedBatch, ReceivedBody};

/// A batch, ready to store.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub batch_id: String,
    /// The app the endpoint named (`?app=`), or empty.
    pub app: String,
    /// The day of the batch: its first event's, or the day it arrived if it has none.
    pub day: i64,
    pub events: Vec<EventRow>,
    pub facts: Vec<FactRow>,
    /// Events left out as older than the retention.
    pub too_old: usize,
}

/// One event.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub event_id: String,
    pub day: i64,
    /// The installation id; for an event without one, `session:` and its session id, so
    /// such hosts are counted by session.
    pub install: String,
    pub session: String,
    pub event_type: &'static str,
    pub app_version: String,
    pub sdk_version: String,
    pub rust_version: String,
    pub os: String,
    pub arch: String,
}

/// One fact of an event: `kind` names what `key` is.
#[derive(Clone, Debug)]
pub struct FactRow {
    pub event_id: String,
    pub day: i64,
    pub install: String,
    pub kind: &'static str,
    pub key: String,
    pub value: u64,
}

/// The rows of `batch`, sent to the endpoint of `app` and arrived on `today`. Events from
/// before day `cutoff` are left out: the retention would delete them at its next run, and
/// their day's totals are already kept.
pub fn prepare(batch: ReceivedBatch, app: &str, today: i64, cutoff: i64) -> Prepared {
    let mut events = Vec::with_capacity(batch.events.len());
    let mut facts = Vec::new();
    let mut too_old = 0;
    for e in batch.events {
        let day = e.hour.div_euclid(24);
        if day < cutoff {
            too_old += 1;
            continue;
        }
        let install = match e.installation_id {
            Some(id) => id,
            None => format!("session:{}", e.session_id),
        };
        let mut fact = |kind: &'static str, key: String, value: u64| {
            facts.push(FactRow {
                event_id: e.event_id.clone(),
                day,
                install: install.clone(),
                kind,
                key,
                value,
            });
        };
        match &e.body {
            ReceivedBody::Session {
                interactive,
                environment,
                integrations,
            } => {
                fact("environment", environment.clone(), 1);
                fact("interactive", interactive.to_string(), 1);
                for name in integrations {
                    fact("integration", name.clone(), 1);
                }
            }
            ReceivedBody::Usage { features, metrics } => {
                for (feature, used) in features {
                    if *used {
                        fact("feature", feature.clone(), 1);
                    }
                }
                for (path, n) in metrics {
                    if *n > 0 {
                        fact("metric", path.clone(), *n);
                    }
                }
            }
            ReceivedBody::Error { types } => {
                for (name, n) in types {
                    fact("error", name.clone(), *n);
                }
            }
            ReceivedBody::Heartbeat { .. } => {}
            ReceivedBody::CliCommand { command } => fact("command", command.clone(), 1),
            ReceivedBody::Custom { name, fields } => {
                fact("custom", name.clone(), 1);
                for (field, value) in fields {
                    fact("custom_field", format!("{name}.{field}={value}"), 1);
                }
            }
        }
        events.push(EventRow {
            event_type: e.body.event_type(),
            event_id: e.event_id,
            day,
            install,
            session: e.session_id,
            app_version: e.app_version,
            sdk_version: e.sdk_version,
            rust_version: e.rust_version,
            os: e.os,
            arch: e.arch,
        });
    }
    Prepared {
        day: events.first().map_or(today, |e| e.day),
        batch_id: batch.batch_id,
        app: app.to_owned(),
        events,
        facts,
        too_old,
    }
}
