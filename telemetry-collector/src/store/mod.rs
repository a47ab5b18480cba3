//! Where batches are kept: SQLite (one file, the default) or ClickHouse (at scale), behind
//! one trait, so the server, the report and the tests do not care which.
//!
//! Both keep the same tables: `batches` (each `batch_id` once, with its app and day),
//! `events` (one row per event: ids, day, versions, platform), `facts` (what an event
//! carries: a feature used, a count, an error type, a command, a custom field) and `daily`
//! (per-day totals, kept after the raw rows are deleted by the retention). No table has a
//! column for anything of the request: no address, no header.

mod clickhouse;
mod sqlite;

use std::fmt;

use crate::config::StoreSpec;
use crate::model::Prepared;

/// The days and app a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// First day, included (days since 1970-01-01).
    pub from: i64,
    /// Last day, included.
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

/// Where a dimension's values are.
pub(crate) enum Source {
    /// A column of the `session` events.
    SessionColumn(&'static str),
    /// The `key` of the facts of this kind.
    Facts(&'static str),
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

    pub(crate) fn source(self) -> Source {
        match self {
            // Constant for a process: counted over its `session` event, one per process.
            Dimension::AppVersion => Source::SessionColumn("app_version"),
            Dimension::SdkVersion => Source::SessionColumn("sdk_version"),
            Dimension::RustVersion => Source::SessionColumn("rust_version"),
            Dimension::Os => Source::SessionColumn("os"),
            Dimension::Arch => Source::SessionColumn("arch"),
            Dimension::Environment => Source::Facts("environment"),
            Dimension::Interactive => Source::Facts("interactive"),
            Dimension::Integration => Source::Facts("integration"),
            Dimension::Feature => Source::Facts("feature"),
            Dimension::Error => Source::Facts("error"),
            Dimension::Command => Source::Facts("command"),
            Dimension::Custom => Source::Facts("custom"),
            Dimension::CustomField => Source::Facts("custom_field"),
            Dimension::Metric => Source::Facts("metric"),
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
    /// Deletes every event and fact of installation `id`.
    fn delete_installation(&self, id: &str) -> Result<(), StoreError>;
    /// Deletes raw rows (batches, events, facts) older than `days` days before `today`,
    /// keeping each deleted day's totals.
    fn retain(&self, today: i64, days: u32) -> Result<(), StoreError>;
    /// Whether the store answers.
    fn ping(&self) -> Result<(), StoreError>;
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
