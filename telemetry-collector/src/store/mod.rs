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

mod caps;
mod clickhouse;
mod dimension;
mod sqlite;

pub(crate) use caps::Caps;
pub use caps::PER_STORE;
pub use dimension::Dimension;

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::config::StoreSpec;
pub(crate) use crate::model::OVERFLOW;
use crate::model::{EVENTS, LEFT_OUT, Prepared, SAMPLED, USAGE};

/// The days and app a report covers: the last days up to today.
///
/// Distinct installations are those seen from `from` on: the stores keep, per value, the
/// last day each installation sent it, which answers "the last N days" exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// First day, included (days since 1970-01-01).
    pub from: i64,
    /// Last day, included: today.
    pub to: i64,
    /// Only this app's batches, if set.
    pub app: Option<String>,
    /// Only the installations that match every one of these: for a dimension an
    /// installation can move along ([`Dimension::moves`]), its latest value in the window;
    /// for the others, a value it sent in the window.
    pub filters: Vec<(Dimension, String)>,
    /// The first day whose ids the store still holds (today less the retention): before
    /// it, distinct installations and sessions, and what a filter reads, are gone.
    pub ids_from: i64,
}

impl Window {
    /// The window of the last `days` days up to `today`, for `app` if given.
    pub fn last_days(today: i64, days: u32, app: Option<&str>) -> Window {
        Window {
            from: today - i64::from(days.max(1)) + 1,
            to: today,
            app: app.map(str::to_owned),
            filters: Vec::new(),
            ids_from: i64::MIN,
        }
    }

    /// The window without its filter number `i`.
    pub fn without(&self, i: usize) -> Window {
        let mut w = self.clone();
        w.filters.remove(i);
        w
    }

    /// The first day of the period as long as this one just before it: what a trend is
    /// compared with.
    pub fn previous_from(&self) -> i64 {
        self.from - (self.to - self.from + 1)
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
    /// For each dimension an installation can move along ([`Dimension::moves`]): every
    /// installation counted once, at the latest value it sent in the window.
    pub latest: Vec<(Dimension, Vec<(String, u64)>)>,
    /// Each value's total per day of the window, by dimension, as (value, day, total).
    pub series: Vec<(Dimension, Vec<DayTotal>)>,
    /// The same period just before the window ([`Window::previous_from`]).
    pub previous: Previous,
    /// With filters: for each, the installations the others match (all of them, with one
    /// filter), so a report can refuse filters that single out fewer than K installations
    /// by what they leave out.
    pub without_one: Vec<u64>,
}

/// A value's total on one day: (value, day, total).
pub type DayTotal = (String, i64, u64);

/// What the period before a window held: to compare with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Previous {
    pub installations: u64,
    pub sessions: u64,
    pub events: u64,
    /// Each value's total over the period, by dimension.
    pub totals: Vec<(Dimension, Vec<(String, u64)>)>,
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
    /// Installations at their latest value, per kind and key, for the kinds that move.
    pub(crate) latest: Vec<(String, String, u64)>,
    /// Totals per kind, key and day, from the previous period's first day to the window's
    /// last (with `*events`).
    pub(crate) day_totals: Vec<(String, String, i64, u64)>,
    /// Distinct installations and sessions of the previous period.
    pub(crate) previous_installations: u64,
    pub(crate) previous_sessions: u64,
    /// [`Aggregates::without_one`].
    pub(crate) without_one: Vec<u64>,
}

/// The id of a value (its kind and key hashed together): how ClickHouse keys it, and what
/// breaks a tie between two latest values of one day in both stores ([`later`]).
pub(crate) fn value_id(kind: &str, key: &str) -> u64 {
    // The hash of `kind`, U+001F and `key` written one after the other, without writing
    // them: a report takes the id of every value of every installation.
    crate::model::hash_of(kind.bytes().chain([0x1f]).chain(key.bytes()))
}

/// Whether value `(day, id)` is later than `than`: by day, then, within one day (the
/// stores keep days, not hours), by the high half of the value's id, the same order
/// ClickHouse's `argMax` is given, so both stores pick the same value.
pub(crate) fn later(day: i64, id: u64, than: Option<(i64, u64)>) -> bool {
    than.is_none_or(|(d, i)| (day, id >> 32) > (d, i >> 32))
}

impl Pieces {
    pub(crate) fn assemble(self, window: &Window) -> Aggregates {
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
            ..Aggregates::default()
        };
        a.previous.installations = self.previous_installations;
        a.without_one = self.without_one;
        a.previous.sessions = self.previous_sessions;
        let mut series: HashMap<&str, Vec<DayTotal>> = HashMap::new();
        let mut previous: HashMap<(&str, &str), u64> = HashMap::new();
        for (kind, key, day, n) in &self.day_totals {
            if *day >= window.from {
                series
                    .entry(kind.as_str())
                    .or_default()
                    .push((key.clone(), *day, *n));
            } else if *day >= window.previous_from() {
                let p = previous.entry((kind.as_str(), key.as_str())).or_default();
                *p = crate::model::add(*p, *n);
            }
        }
        a.previous.events = previous.get(&(EVENTS, "")).copied().unwrap_or(0);
        for dimension in Dimension::ALL {
            let kind = dimension.kind();
            if let Some(mut rows) = series.remove(kind) {
                rows.sort();
                a.series.push((dimension, rows));
            }
            let mut before: Vec<(String, u64)> = previous
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, key), n)| ((*key).to_owned(), *n))
                .collect();
            before.sort();
            a.previous.totals.push((dimension, before));
            if dimension.moves() {
                a.latest.push((dimension, all_of(&self.latest, kind)));
            }
        }
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

/// Opens (and creates) the store `spec` names.
pub fn open(spec: &StoreSpec) -> Result<Box<dyn Store>, StoreError> {
    match spec {
        StoreSpec::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open(path)?)),
        StoreSpec::ClickHouse {
            host,
            port,
            database,
        } => Ok(Box::new(clickhouse::ClickHouse::open(
            &[(host.clone(), *port)],
            database,
            None,
        )?)),
        StoreSpec::ClickHouseCluster {
            shards,
            database,
            cluster,
        } => Ok(Box::new(clickhouse::ClickHouse::open(
            shards,
            database,
            Some(cluster),
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_id_is_the_hash_of_its_kind_and_key() {
        assert_eq!(value_id("os", "linux"), crate::model::hash("os\u{1f}linux"));
    }
}
