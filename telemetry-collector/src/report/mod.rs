//! The report: what the store holds for a window, with every breakdown row seen from fewer
//! than K installations folded into `other`. The dashboard draws it, `GET /v1/report` and
//! `telemetry-collector report` print it as JSON.

mod answers;

use std::collections::BTreeMap;

use serde::Serialize;

pub use self::answers::{
    ErrorRate, Every, FailureRow, Failures, Outcomes, Share, Trend, TrendRow, Trends,
};
use crate::clock::date;
use crate::store::{Aggregates, Dimension, Group, Store, StoreError, Window};

/// The value of the row that holds every folded one.
pub const OTHER: &str = "other";

/// What a maintainer sees for a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The days and app covered.
    pub window: WindowInfo,
    /// K: rows seen from fewer installations are folded into `other`.
    pub min_installations: u64,
    /// Distinct installations (sessions, for hosts that send no installation id).
    pub installations: u64,
    /// Distinct sessions (processes).
    pub sessions: u64,
    /// Batches stored.
    pub batches: u64,
    /// Events stored.
    pub events: u64,
    /// Installations, sessions and events of each day with data.
    pub per_day: Vec<DayRow>,
    /// Each breakdown by its name (`app_versions`, `os`, `features`, `errors`, …): the
    /// installations that sent each value at any time in the window.
    pub breakdowns: BTreeMap<&'static str, Vec<Row>>,
    /// For the breakdowns an installation can move along (versions, OS, environment…, and
    /// `flows_defined`, `tasks_defined`): each installation once, at its latest value.
    pub adoption: BTreeMap<&'static str, Vec<Share>>,
    /// Each breakdown's totals over the window, day by day or week by week, beside the
    /// period before.
    pub trends: Trends,
    /// The same period just before the window.
    pub previous: PreviousInfo,
    /// Failed and panicked runs per run, per release and OS; error types per 1,000 runs.
    pub failures: Failures,
    /// The filters the report is narrowed by, as (breakdown, value).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub filters: BTreeMap<&'static str, String>,
    /// Set when the filters match fewer than K installations: then nothing is shown.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub below_k: bool,
    /// What batches held that this collector's release does not know: counted, left out
    /// (docs/compatibility.md, "What a collector does").
    pub left_out: LeftOutCounts,
    /// Rows the store's read skipped as holding no valid count (the server logs it).
    #[serde(skip)]
    pub skipped_rows: u64,
    /// Set when a collection config sampled some installations: every count above is then
    /// an estimate, scaled up by [`Estimate::factor`] (docs/collection.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// The collection config this collector serves and enforces, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_config: Option<ConfigInfo>,
}

/// How a report's counts were scaled up for sampling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// What each count was multiplied by: the installations there would be without
    /// sampling (each sampled one standing for `1 / sample`), over those that sent.
    pub factor: f64,
    /// Installations that sent, as stored.
    pub installations_sent: u64,
    /// Of those, the ones that sent under a sample, by the sample (`"0.5": 98`).
    pub sampled: BTreeMap<String, u64>,
}

/// The collection config in force, as a report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigInfo {
    /// Its `ETag`.
    pub etag: String,
    /// What each rule asks, one line each (`default: sample 0.5`).
    pub rules: Vec<String>,
}

/// How much of what newer clients sent was left out, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LeftOutCounts {
    /// Keys the contract does not have, at any level.
    pub fields: u64,
    /// Events of a type the contract does not have.
    pub event_types: u64,
    /// Values of a closed field the contract does not have, counted as `unknown`.
    pub values: u64,
}

/// The period before the window of a [`Report`], as long as it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PreviousInfo {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`, included: the day before the window.
    pub to: String,
    /// Whether the store still holds the ids of all of it: past the retention, its
    /// installations and sessions (and, filtered, every count) cover only what is left.
    pub complete: bool,
    /// Distinct installations seen in it.
    pub installations: u64,
    /// Distinct sessions seen in it.
    pub sessions: u64,
    /// Events of its days.
    pub events: u64,
}

/// The window of a [`Report`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WindowInfo {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`, included.
    pub to: String,
    /// The app filter, if any.
    pub app: Option<String>,
}

/// One day of a [`Report`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Distinct installations that day.
    pub installations: u64,
    /// Distinct sessions that day.
    pub sessions: u64,
    /// Events that day.
    pub events: u64,
}

/// One row of a breakdown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The version, OS, feature, error type, command… or `other`.
    pub value: String,
    /// Distinct installations with this value. For `other`, the sum over the folded rows
    /// (an installation in two of them counts twice).
    pub installations: u64,
    /// Sum of the counts: sessions for a version or platform, calls for a metric, errors
    /// for an error type.
    pub total: u64,
    /// For `features`: the share of installations that sent usage which use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

/// Builds the report of `window` from `store`, with K = `min_installations`, its trends
/// grouped `every` day or week.
pub fn build(
    store: &dyn Store,
    window: &Window,
    min_installations: u64,
    every: Every,
) -> Result<Report, StoreError> {
    let mut a = store.aggregates(window)?;
    // Filters narrower than K installations would show what few of them did; and so would
    // filters that leave out fewer than K of those the others match, by the difference
    // between two reports (`docs/collector.md`, "Filters").
    let singles_out = |n: u64| n > 0 && n < min_installations;
    let below_k = !window.filters.is_empty()
        && (a.installations < min_installations
            || a.without_one
                .iter()
                .any(|others| singles_out(others.saturating_sub(a.installations))));
    if below_k {
        a = Aggregates::default();
    }
    let mut report = from_aggregates(a, window, min_installations, every);
    report.below_k = below_k;
    Ok(report)
}

/// The report of aggregates `a` over `window`.
pub fn from_aggregates(
    a: Aggregates,
    window: &Window,
    min_installations: u64,
    every: Every,
) -> Report {
    let left_out = |key: &str| {
        a.left_out
            .iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, n)| *n)
    };
    let left_out = LeftOutCounts {
        fields: left_out("fields"),
        event_types: left_out("event_types"),
        values: left_out("values"),
    };
    let mut breakdowns = BTreeMap::new();
    for (dimension, groups) in &a.groups {
        if !dimension.is_breakdown() {
            continue;
        }
        let mut rows = fold(groups.clone(), min_installations);
        if *dimension == Dimension::Feature && a.usage_installations > 0 {
            for row in rows.iter_mut().filter(|r| r.value != OTHER) {
                let share = row.installations as f64 / a.usage_installations as f64;
                // Three decimals: a share, not a count in disguise.
                row.share = Some((share * 1000.0).round() / 1000.0);
            }
        }
        breakdowns.insert(dimension.name(), rows);
    }
    let estimate = estimate_of(a.installations, &a.sampled);
    // Every dimension that moves has its chart, empty or not.
    let adoption = Dimension::ALL
        .into_iter()
        .filter(|d| d.moves())
        .map(|d| {
            let latest = a.latest.iter().find(|(l, _)| *l == d);
            let rows = latest.map(|(_, l)| answers::adoption(l.clone(), min_installations));
            (d.name(), rows.unwrap_or_default())
        })
        .collect();
    let trends = answers::trends(&a, window, every, &breakdowns);
    let failures = answers::failures(&a, &breakdowns);
    let report = Report {
        window: WindowInfo {
            from: date(window.from),
            to: date(window.to),
            app: window.app.clone(),
        },
        min_installations,
        installations: a.installations,
        sessions: a.sessions,
        batches: a.batches,
        events: a.events,
        per_day: a
            .per_day
            .into_iter()
            .map(|d| DayRow {
                date: date(d.day),
                installations: d.installations,
                sessions: d.sessions,
                events: d.events,
            })
            .collect(),
        breakdowns,
        adoption,
        trends,
        previous: PreviousInfo {
            from: date(window.previous_from()),
            to: date(window.from - 1),
            complete: window.previous_from() >= window.ids_from,
            installations: a.previous.installations,
            sessions: a.previous.sessions,
            events: a.previous.events,
        },
        failures,
        filters: window
            .filters
            .iter()
            .map(|(d, v)| (d.name(), v.clone()))
            .collect(),
        below_k: false,
        left_out,
        skipped_rows: a.skipped_rows,
        estimate: None,
        collection_config: None,
    };
    match estimate {
        Some(e) => scaled(report, e),
        None => report,
    }
}

/// The estimate for `installations` of which `sampled` (by sample) sent under a sample;
/// `None` when none did.
fn estimate_of(installations: u64, sampled: &[(String, u64)]) -> Option<Estimate> {
    let mut stands_for = installations as f64;
    let mut by_sample = BTreeMap::new();
    for (sample, n) in sampled {
        let Ok(s) = sample.parse::<f64>() else {
            continue;
        };
        if s > 0.0 && s < 1.0 && *n > 0 {
            // Each of these stands for 1 / s installations, itself included.
            stands_for += *n as f64 * (1.0 / s - 1.0);
            by_sample.insert(sample.clone(), *n);
        }
    }
    (installations > 0 && !by_sample.is_empty()).then(|| Estimate {
        factor: ((stands_for / installations as f64) * 1000.0).round() / 1000.0,
        installations_sent: installations,
        sampled: by_sample,
    })
}

/// `report` with every count multiplied by `estimate.factor` (k-anonymity already applied
/// to the counts as stored: a row shows only if K installations really sent it).
fn scaled(mut report: Report, estimate: Estimate) -> Report {
    let f = estimate.factor;
    let up = |n: &mut u64| *n = ((*n as f64) * f).round().min(crate::model::MAX_SCALED) as u64;
    up(&mut report.installations);
    up(&mut report.sessions);
    up(&mut report.batches);
    up(&mut report.events);
    for d in &mut report.per_day {
        up(&mut d.installations);
        up(&mut d.sessions);
        up(&mut d.events);
    }
    for rows in report.breakdowns.values_mut() {
        for r in rows {
            up(&mut r.installations);
            up(&mut r.total);
        }
    }
    for rows in report.adoption.values_mut() {
        for r in rows {
            up(&mut r.installations);
        }
    }
    for trend in report.trends.breakdowns.values_mut() {
        for r in &mut trend.rows {
            r.per_period.iter_mut().for_each(&up);
            up(&mut r.total);
            up(&mut r.previous);
        }
    }
    let p = &mut report.previous;
    for n in [&mut p.installations, &mut p.sessions, &mut p.events] {
        up(n);
    }
    let f = &mut report.failures;
    for r in std::iter::once(&mut f.all)
        .chain(&mut f.by_version)
        .chain(&mut f.by_os)
    {
        for o in [&mut r.flows, &mut r.tasks] {
            up(&mut o.runs);
            up(&mut o.failed);
            up(&mut o.panicked);
        }
        up(&mut r.errors);
    }
    for r in &mut f.error_types {
        up(&mut r.occurrences);
    }
    report.estimate = Some(estimate);
    report
}

/// Rows seen from at least `k` installations, most installations first, then one `other`
/// row summing the rest (if any).
fn fold(groups: Vec<Group>, k: u64) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut other = Row {
        value: OTHER.to_owned(),
        installations: 0,
        total: 0,
        share: None,
    };
    for g in groups {
        // A value a client could send as `other` merges with the folded rows, as do the
        // values counted past a cardinality cap.
        if g.installations >= k && g.value != OTHER && g.value != crate::store::OVERFLOW {
            rows.push(Row {
                value: g.value,
                installations: g.installations,
                total: g.total,
                share: None,
            });
        } else {
            other.installations = other.installations.saturating_add(g.installations);
            other.total = crate::model::add(other.total, g.total);
        }
    }
    rows.sort_by(|a, b| {
        b.installations
            .cmp(&a.installations)
            .then_with(|| b.total.cmp(&a.total))
            .then_with(|| a.value.cmp(&b.value))
    });
    if other.installations > 0 || other.total > 0 {
        rows.push(other);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(value: &str, installations: u64, total: u64) -> Group {
        Group {
            value: value.to_owned(),
            installations,
            total,
        }
    }

    #[test]
    fn rows_below_k_are_folded_into_other() {
        let rows = fold(
            vec![
                group("linux", 7, 30),
                group("macos", 4, 9),
                group("windows", 1, 2),
            ],
            5,
        );
        let values: Vec<_> = rows.iter().map(|r| (r.value.as_str(), r.total)).collect();
        assert_eq!(values, [("linux", 30), ("other", 11)]);
        assert_eq!(rows[1].installations, 5);
    }

    #[test]
    fn nothing_folded_means_no_other_row() {
        let rows = fold(vec![group("b", 5, 1), group("a", 9, 1)], 5);
        let values: Vec<_> = rows.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values, ["a", "b"]);
    }

    #[test]
    fn feature_shares_are_of_installations_that_sent_usage() {
        let a = Aggregates {
            usage_installations: 8,
            groups: vec![(Dimension::Feature, vec![group("retries", 6, 6)])],
            ..Aggregates::default()
        };
        let w = Window::default();
        let report = from_aggregates(a, &w, 5, Every::Day);
        assert_eq!(report.breakdowns["features"][0].share, Some(0.75));
    }
}
