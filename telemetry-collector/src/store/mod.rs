//! Where batches are kept: SQLite (one file, the default) or ClickHouse (at scale), behind
//! one trait, so the server, the report and the tests do not care which.
//!
//! Both keep the same things, shaped so a report reads aggregates rather than every batch:
//!
//! - `batches`: each batch once per installation in it, with its day and its counts (the
//!   raw record: what deletion and the retention work from);
//! - `latest`: per kind, key and installation, the last day it was seen (distinct
//!   installations over the last N days);
//! - `sums` (SQLite) or the batches' count arrays (ClickHouse): totals per kind, key and day;
//! - `day_installs`, `day_sessions`: who was seen each day (the per-day chart);
//! - `daily` and kept totals: what remains of a day once the retention deleted its ids.
//!
//! No table has a column for anything of the request: no address, no header.

mod clickhouse;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::config::StoreSpec;
pub(crate) use crate::model::OVERFLOW;
use crate::model::{EVENTS, LEFT_OUT, Prepared, SAMPLED, USAGE};

/// The days and app a report covers: the last days up to today.
///
/// Distinct installations are those seen from `from` on: the stores keep, per value, the
/// last day each installation sent it, which answers "the last N days" exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// First day, included (days since 1970-01-01).
    pub from: i64,
    /// Last day, included: today.
    pub to: i64,
    /// Only this app's batches, if set.
    pub app: Option<String>,
}

/// What a breakdown is by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    AppVersion,
    SdkVersion,
    RustVersion,
    Os,
    Arch,
    Environment,
    Interactive,
    Integration,
    Feature,
    Error,
    Command,
    Custom,
    CustomField,
    Metric,
}

impl Dimension {
    /// Every dimension, in the order the report lists them.
    pub const ALL: [Dimension; 14] = [
        Dimension::AppVersion,
        Dimension::SdkVersion,
        Dimension::RustVersion,
        Dimension::Os,
        Dimension::Arch,
        Dimension::Environment,
        Dimension::Interactive,
        Dimension::Integration,
        Dimension::Feature,
        Dimension::Error,
        Dimension::Command,
        Dimension::Custom,
        Dimension::CustomField,
        Dimension::Metric,
    ];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::AppVersion => "app_versions",
            Dimension::SdkVersion => "sdk_versions",
            Dimension::RustVersion => "rust_versions",
            Dimension::Os => "os",
            Dimension::Arch => "arch",
            Dimension::Environment => "environments",
            Dimension::Interactive => "interactive",
            Dimension::Integration => "integrations",
            Dimension::Feature => "features",
            Dimension::Error => "errors",
            Dimension::Command => "commands",
            Dimension::Custom => "custom_events",
            Dimension::CustomField => "custom_fields",
            Dimension::Metric => "metrics",
        }
    }

    /// The kind of count its values are stored as (`model.rs`).
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Dimension::AppVersion => "app_version",
            Dimension::SdkVersion => "sdk_version",
            Dimension::RustVersion => "rust_version",
            Dimension::Os => "os",
            Dimension::Arch => "arch",
            Dimension::Environment => "environment",
            Dimension::Interactive => "interactive",
            Dimension::Integration => "integration",
            Dimension::Feature => "feature",
            Dimension::Error => "error",
            Dimension::Command => "command",
            Dimension::Custom => "custom",
            Dimension::CustomField => "custom_field",
            Dimension::Metric => "metric",
        }
    }
}

/// One row of a breakdown, before k-anonymity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub value: String,
    /// Distinct installations (sessions, for hosts that send no installation id).
    pub installations: u64,
    /// Sum of the counts (events, calls, errors).
    pub total: u64,
}

/// One day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCount {
    pub day: i64,
    pub installations: u64,
    pub sessions: u64,
    pub events: u64,
}

/// Everything a report is made of, straight from the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aggregates {
    pub installations: u64,
    pub sessions: u64,
    pub batches: u64,
    pub events: u64,
    /// Installations that sent a `usage` event: what feature shares are shares of.
    pub usage_installations: u64,
    pub per_day: Vec<DayCount>,
    /// Every breakdown, in the order of [`Dimension::ALL`]. The counts of the `usage`
    /// events (`flow_runs.calls`, …) are the breakdown [`Dimension::Metric`].
    pub groups: Vec<(Dimension, Vec<Group>)>,
    /// What batches held that this release does not know, by key (`fields`,
    /// `event_types`, `values`): counted, left out.
    pub left_out: Vec<(String, u64)>,
    /// Rows the read skipped because they held no count (`store/sqlite`: left by an older
    /// collector); the server logs how many.
    pub skipped_rows: u64,
    /// Installations in a collection config's sample, by the sample (`0.5`): what the
    /// report's estimates scale up by.
    pub sampled: Vec<(String, u64)>,
}

/// What a store reads for a report, before it is sorted into [`Aggregates`].
#[derive(Debug, Default)]
pub(crate) struct Pieces {
    /// Distinct installations per kind and key (with `*events` and `*usage`).
    pub(crate) installations: Vec<(String, String, u64)>,
    /// Totals per kind and key (with `*events`).
    pub(crate) totals: Vec<(String, String, u64)>,
    pub(crate) sessions: u64,
    pub(crate) batches: u64,
    pub(crate) per_day: Vec<DayCount>,
}

impl Pieces {
    pub(crate) fn assemble(self) -> Aggregates {
        let find = |rows: &[(String, String, u64)], kind: &str, key: &str| {
            rows.iter()
                .find(|(k, v, _)| k == kind && v == key)
                .map_or(0, |r| r.2)
        };
        // Every key of `kind` with its count, sorted by key.
        let all_of = |rows: &[(String, String, u64)], kind: &str| {
            let mut of: Vec<(String, u64)> = rows
                .iter()
                .filter(|(k, _, _)| k == kind)
                .map(|(_, key, n)| (key.clone(), *n))
                .collect();
            of.sort();
            of
        };
        let mut a = Aggregates {
            installations: find(&self.installations, EVENTS, ""),
            usage_installations: find(&self.installations, USAGE, ""),
            events: find(&self.totals, EVENTS, ""),
            sessions: self.sessions,
            batches: self.batches,
            per_day: self.per_day,
            groups: Vec::new(),
            left_out: all_of(&self.totals, LEFT_OUT),
            skipped_rows: 0,
            sampled: all_of(&self.installations, SAMPLED),
        };
        a.per_day.sort_by_key(|d| d.day);
        // Each value's total, and which values an installation sent, looked up by key
        // rather than along the lists: a report has one row per value.
        let totals: HashMap<(&str, &str), u64> = self
            .totals
            .iter()
            .map(|(k, v, n)| ((k.as_str(), v.as_str()), *n))
            .collect();
        let installed: HashSet<(&str, &str)> = self
            .installations
            .iter()
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
            .collect();
        for dimension in Dimension::ALL {
            let kind = dimension.kind();
            let mut groups: Vec<Group> = self
                .installations
                .iter()
                .filter(|(k, _, _)| k == kind)
                .map(|(_, key, n)| Group {
                    value: key.clone(),
                    installations: *n,
                    total: totals.get(&(kind, key.as_str())).copied().unwrap_or(0),
                })
                .collect();
            // Totals of values no installation of the window sent any more (kept past the
            // retention): counted, and folded into `other` by k-anonymity.
            for (_, key, total) in self.totals.iter().filter(|(k, _, _)| k == kind) {
                if !installed.contains(&(kind, key.as_str())) {
                    groups.push(Group {
                        value: key.clone(),
                        installations: 0,
                        total: *total,
                    });
                }
            }
            a.groups.push((dimension, groups));
        }
        a
    }
}

/// The entry of day `d`, made empty if absent.
pub(crate) fn new_day(days: &mut HashMap<i64, DayCount>, d: i64) -> &mut DayCount {
    days.entry(d).or_insert(DayCount {
        day: d,
        installations: 0,
        sessions: 0,
        events: 0,
    })
}

/// Why the store failed. Never holds what was stored.
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    pub(crate) fn new(what: &str, e: impl fmt::Display) -> StoreError {
        StoreError(format!("{what}: {e}"))
    }
}

/// A place batches are kept. Calls block (SQLite works on files, ClickHouse answers over
/// HTTP): the server makes them on its blocking threads.
pub trait Store: Send + Sync {
    /// Stores `batches`, each `batch_id` once (one already stored changes nothing).
    fn write(&self, batches: &[Prepared]) -> Result<(), StoreError>;
    /// What a report over `window` is made of.
    fn aggregates(&self, window: &Window) -> Result<Aggregates, StoreError>;
    /// Deletes everything stored of installation `id`: its batches, sessions and ids, and
    /// its share of the totals.
    fn delete_installation(&self, id: &str) -> Result<(), StoreError>;
    /// Deletes the rows holding ids (batches, installations, sessions) older than `days`
    /// days before `today`, keeping each deleted day's totals.
    fn retain(&self, today: i64, days: u32) -> Result<(), StoreError>;
    /// Whether the store answers, and reads.
    fn ping(&self) -> Result<(), StoreError>;
    /// Every (app, kind, key) counted on day `since` or later, with the last day it was,
    /// for the cardinality caps.
    fn known_values(&self, since: i64) -> Result<Vec<(String, String, String, i64)>, StoreError>;
    /// How long the writer may wait for more batches to write them as one group (at most a
    /// second). Zero: write whatever is queued as soon as the store is free.
    fn linger(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Distinct values of one kind (error types, commands, versions…) a store takes for one app
/// within the retention, at most: values past it count under [`OVERFLOW`], so no client can
/// grow a breakdown, the report's time or the collector's memory without bound. A value not
/// counted for the whole retention frees its place, so a product's new values of next year
/// are not shut out by this year's; and each app has caps of its own, so batches sent for
/// one cannot fill another's.
pub const PER_STORE: usize = 2_000;

/// The values a store keeps of each app and kind within the retention, with the last day
/// each was counted, to cap them ([`PER_STORE`]).
pub(crate) struct Caps {
    retention_days: i64,
    /// By app, then kind.
    known: HashMap<String, HashMap<&'static str, Cap>>,
    /// The latest day a batch was of: values last counted before its retention are let go.
    latest: i64,
    /// Caps found full, and not yet said so (the writer logs them), as (app, kind).
    newly_full: Vec<(String, &'static str)>,
}

/// One app and kind's values, and whether its filling up was said.
#[derive(Default)]
struct Cap {
    last_day: HashMap<String, i64>,
    said_full: bool,
}

impl Caps {
    /// Caps with `known` (app, kind, key, last day) already kept, for a retention of
    /// `retention_days`.
    pub(crate) fn new(known: Vec<(String, String, String, i64)>, retention_days: u32) -> Caps {
        let mut caps = Caps {
            retention_days: i64::from(retention_days),
            known: HashMap::new(),
            latest: i64::MIN,
            newly_full: Vec::new(),
        };
        let kinds: Vec<&'static str> = Dimension::ALL.iter().map(|d| d.kind()).collect();
        for (app, kind, key, day) in known {
            if let Some(kind) = kinds.iter().find(|k| **k == kind) {
                let cap = caps.known.entry(app).or_default().entry(kind).or_default();
                let last = cap.last_day.entry(key).or_insert(day);
                *last = (*last).max(day);
            }
        }
        caps
    }

    /// `batch` with every value past its app and kind's cap counted under [`OVERFLOW`].
    pub(crate) fn apply(&mut self, batch: &mut Prepared) {
        if batch.day > self.latest {
            // A new day: what was last counted before the retention's start is gone from
            // the store's rows (the retention deletes it), so its place is free.
            self.latest = batch.day;
            let start = batch.day.saturating_sub(self.retention_days);
            for cap in self.known.values_mut().flat_map(HashMap::values_mut) {
                cap.last_day.retain(|_, last| *last >= start);
                cap.said_full &= cap.last_day.len() >= PER_STORE;
            }
        }
        let day = batch.day;
        let Caps {
            known, newly_full, ..
        } = self;
        let caps = known.entry(batch.app.clone()).or_default();
        for part in &mut batch.parts {
            part.rekey(|kind, key| {
                // The stores' own kinds (`*events`, `*usage`…) hold a few fixed keys.
                if kind.starts_with('*') {
                    return true;
                }
                let cap = caps.entry(kind).or_default();
                if let Some(last) = cap.last_day.get_mut(key) {
                    *last = (*last).max(day);
                    return true;
                }
                if cap.last_day.len() < PER_STORE {
                    cap.last_day.insert(key.to_owned(), day);
                    return true;
                }
                if !cap.said_full {
                    cap.said_full = true;
                    newly_full.push((batch.app.clone(), kind));
                }
                false
            });
        }
    }

    /// The caps that filled since the last call, as (app, kind).
    pub(crate) fn take_newly_full(&mut self) -> Vec<(String, &'static str)> {
        std::mem::take(&mut self.newly_full)
    }
}

/// Opens (and creates) the store `spec` names.
pub fn open(spec: &StoreSpec) -> Result<Box<dyn Store>, StoreError> {
    match spec {
        StoreSpec::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open(path)?)),
        StoreSpec::ClickHouse {
            host,
            port,
            database,
        } => Ok(Box::new(clickhouse::ClickHouse::open(
            host, *port, database,
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Count, Part};

    /// A batch of day `day` counting error types `names`.
    fn errors(day: i64, names: impl Iterator<Item = String>) -> Prepared {
        Prepared {
            batch_id: String::new(),
            app: String::new(),
            day,
            parts: vec![Part {
                install: "i".into(),
                sessions: vec!["s".into()],
                events: 1,
                counts: names
                    .map(|key| Count {
                        kind: "error",
                        key,
                        value: 1,
                    })
                    .collect(),
            }],
            too_old: 0,
            narrowed_away: 0,
            left_out: Default::default(),
        }
    }

    fn keys(batch: &Prepared) -> Vec<&str> {
        batch.parts[0]
            .counts
            .iter()
            .map(|c| c.key.as_str())
            .collect()
    }

    #[test]
    fn a_cap_holds_within_the_retention_and_frees_what_it_outlives() {
        let mut caps = Caps::new(vec![("".into(), "error".into(), "kept".into(), 100)], 30);
        // The store's value plus 1,999 new ones fill the cap; the rest are one overflow.
        let mut first = errors(100, (0..2_100).map(|n| format!("a{n}")));
        caps.apply(&mut first);
        assert_eq!(first.parts[0].counts.len(), 1_999 + 1);
        let overflow = first.parts[0].counts.last().unwrap();
        assert_eq!((overflow.key.as_str(), overflow.value), (OVERFLOW, 101));
        // A value already kept is still taken; a new one is not.
        let mut again = errors(120, ["kept".to_owned(), "new".to_owned()].into_iter());
        caps.apply(&mut again);
        assert_eq!(keys(&again), ["kept", OVERFLOW]);
        // 31 days after day 100 only "kept" (counted on day 120) is still within the
        // retention: the other places are free again.
        let mut later = errors(131, ["new".to_owned()].into_iter());
        caps.apply(&mut later);
        assert_eq!(keys(&later), ["new"]);
        assert_eq!(caps.known[""]["error"].last_day.len(), 2);
        assert_eq!(caps.take_newly_full(), [(String::new(), "error")]);
        assert!(caps.take_newly_full().is_empty(), "said once");
        // Another app has caps of its own.
        let mut other = errors(131, ["fresh".to_owned()].into_iter());
        other.app = "other".into();
        caps.apply(&mut other);
        assert_eq!(keys(&other), ["fresh"]);
    }
}
