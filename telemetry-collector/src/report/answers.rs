//! The answers a maintainer opens the dashboard for, from a store's [`Aggregates`]:
//! adoption (each installation once, at its latest value), trends beside the period before,
//! and failure rates per release and OS. Every row is folded for k-anonymity as the
//! breakdowns are.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{OTHER, Row};
use crate::clock::date;
use crate::model::{OUTCOMES, add};
use crate::store::{Aggregates, Dimension, Group, OVERFLOW, Window};

/// Values a trend shows one by one; the rest are its `other`.
pub const TREND_VALUES: usize = 10;

/// One value of an adoption chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Share {
    /// The version, OS… or `other`.
    pub value: String,
    /// Installations whose latest value in the window this is: each counted once.
    pub installations: u64,
    /// Of the installations that sent this kind of value (three decimals).
    pub share: f64,
}

/// Each installation counted once, at the latest value it sent: rows of at least `k`
/// installations, most first, then `other`; shares of their sum.
pub(super) fn adoption(latest: Vec<(String, u64)>, k: u64) -> Vec<Share> {
    let mut rows: Vec<Share> = Vec::new();
    let mut other = 0u64;
    let mut all = 0u64;
    for (value, n) in latest {
        all = all.saturating_add(n);
        if n >= k && value != OTHER && value != OVERFLOW {
            rows.push(Share {
                value,
                installations: n,
                share: 0.0,
            });
        } else {
            other = other.saturating_add(n);
        }
    }
    rows.sort_by(|a, b| {
        b.installations
            .cmp(&a.installations)
            .then_with(|| a.value.cmp(&b.value))
    });
    if other > 0 {
        rows.push(Share {
            value: OTHER.to_owned(),
            installations: other,
            share: 0.0,
        });
    }
    for r in &mut rows {
        r.share = three_decimals(r.installations as f64 / all.max(1) as f64);
    }
    rows
}

fn three_decimals(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// How a trend's days are grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Every {
    /// One period per day.
    #[default]
    Day,
    /// One period per seven days, from the window's first.
    Week,
}

/// A breakdown's totals over the window, period by period, beside the period before.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    /// The values with the most installations (as the breakdown orders them), then `other`.
    pub rows: Vec<TrendRow>,
}

/// One value of a [`Trend`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrendRow {
    /// The value, or `other`.
    pub value: String,
    /// Its total in each period of [`Trends::periods`].
    pub per_period: Vec<u64>,
    /// Its total over the window.
    pub total: u64,
    /// Its total over the period as long just before the window.
    pub previous: u64,
}

/// Every breakdown's trend.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Trends {
    /// Days or weeks.
    pub every: Every,
    /// The first day of each period (`YYYY-MM-DD`), the last one included.
    pub periods: Vec<String>,
    /// By breakdown name.
    pub breakdowns: BTreeMap<&'static str, Trend>,
}

/// The trends of `a` over `window`, for the rows `breakdowns` shows (already folded).
pub(super) fn trends(
    a: &Aggregates,
    window: &Window,
    every: Every,
    breakdowns: &BTreeMap<&'static str, Vec<Row>>,
) -> Trends {
    let step = match every {
        Every::Day => 1,
        Every::Week => 7,
    };
    let span = (window.to - window.from + 1).max(1);
    let periods = usize::try_from((span + step - 1) / step).unwrap_or(0);
    // Periods end with the window, so the last week is a whole one; the first may be
    // shorter, and starts with the window.
    let period_of = |day: i64| -> Option<usize> {
        let back = usize::try_from((window.to - day) / step).ok()?;
        periods.checked_sub(back + 1)
    };
    let mut out = Trends {
        every,
        periods: (0..periods)
            .map(|i| {
                let back = (periods - 1 - i) as i64;
                date((window.to - back * step - (step - 1)).max(window.from))
            })
            .collect(),
        breakdowns: BTreeMap::new(),
    };
    let empty = Vec::new();
    for (dimension, series) in &a.series {
        let Some(rows) = breakdowns.get(dimension.name()) else {
            continue;
        };
        let shown: Vec<&str> = rows
            .iter()
            .map(|r| r.value.as_str())
            .filter(|v| *v != OTHER)
            .take(TREND_VALUES)
            .collect();
        let mut trend: Vec<TrendRow> = shown
            .iter()
            .chain([&OTHER])
            .map(|v| TrendRow {
                value: (*v).to_owned(),
                per_period: vec![0; periods],
                total: 0,
                previous: 0,
            })
            .collect();
        let at = |value: &str| {
            shown
                .iter()
                .position(|v| *v == value)
                .unwrap_or(shown.len())
        };
        for (value, day, n) in series {
            let Some(i) = period_of(*day).filter(|_| *day >= window.from) else {
                continue;
            };
            let row = &mut trend[at(value)];
            if let Some(p) = row.per_period.get_mut(i) {
                *p = add(*p, *n);
                row.total = add(row.total, *n);
            }
        }
        let previous = a
            .previous
            .totals
            .iter()
            .find(|(d, _)| d == dimension)
            .map_or(&empty, |(_, t)| t);
        for (value, n) in previous {
            let row = &mut trend[at(value)];
            row.previous = add(row.previous, *n);
        }
        if trend
            .last()
            .is_some_and(|o| o.total == 0 && o.previous == 0)
        {
            trend.pop();
        }
        out.breakdowns
            .insert(dimension.name(), Trend { rows: trend });
    }
    out
}

/// How runs of one kind ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outcomes {
    /// Calls (`flow_runs.calls` or `task_runs.calls`).
    pub runs: u64,
    /// Calls that returned an error.
    pub failed: u64,
    /// Calls that panicked.
    pub panicked: u64,
}

/// Failure rates per release or OS.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FailureRow {
    /// The app version, OS or `other`.
    pub value: String,
    /// How flows ended.
    pub flows: Outcomes,
    /// How tasks ended.
    pub tasks: Outcomes,
    /// Error types' occurrences, summed.
    pub errors: u64,
    /// Failed and panicked runs (flows and tasks) per run (four decimals).
    pub failure_rate: f64,
    /// Errors per 1,000 runs (one decimal).
    pub errors_per_1000_runs: f64,
    /// For a release: the release before it (in version order) when this one's failure
    /// rate is at least half as high again and a point higher: it made things worse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worse_than: Option<String>,
}

/// What failed, overall and per release and OS.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Failures {
    /// Every run of the window.
    pub all: FailureRow,
    /// Newest release first; releases the `app_versions` breakdown folds are `other`.
    pub by_version: Vec<FailureRow>,
    /// Most runs first; OSes the `os` breakdown folds are `other`.
    pub by_os: Vec<FailureRow>,
    /// Each error type's occurrences per 1,000 runs (of the `errors` breakdown's rows).
    pub error_types: Vec<ErrorRate>,
}

/// One error type's rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorRate {
    /// The error type, or `other`.
    pub value: String,
    /// How often it occurred.
    pub occurrences: u64,
    /// Occurrences per 1,000 runs (flows and tasks; one decimal).
    pub per_1000_runs: f64,
}

impl FailureRow {
    fn count(&mut self, outcome: &str, n: u64) {
        let slot = match outcome {
            "flow_runs.calls" => &mut self.flows.runs,
            "flow_runs.err" => &mut self.flows.failed,
            "flow_runs.panics" => &mut self.flows.panicked,
            "task_runs.calls" => &mut self.tasks.runs,
            "task_runs.err" => &mut self.tasks.failed,
            "task_runs.panics" => &mut self.tasks.panicked,
            "errors" => &mut self.errors,
            _ => return,
        };
        *slot = add(*slot, n);
    }

    fn runs(&self) -> u64 {
        add(self.flows.runs, self.tasks.runs)
    }

    fn rates(mut self) -> FailureRow {
        let runs = self.runs();
        if runs > 0 {
            let failed = [
                self.flows.failed,
                self.flows.panicked,
                self.tasks.failed,
                self.tasks.panicked,
            ]
            .into_iter()
            .fold(0, add);
            self.failure_rate = (failed as f64 / runs as f64 * 10_000.0).round() / 10_000.0;
            self.errors_per_1000_runs = per_1000(self.errors, runs);
        }
        self
    }
}

fn per_1000(n: u64, runs: u64) -> f64 {
    (n as f64 * 1000.0 / runs.max(1) as f64 * 10.0).round() / 10.0
}

/// Rows of `groups` (keyed `VALUE OUTCOME`), one per value `shown` (a release or OS its
/// breakdown shows: sent by at least K installations), the rest as `other`.
fn failure_rows(groups: &[Group], shown: &[&str]) -> Vec<FailureRow> {
    let split = |key: &str| -> Option<(String, &'static str)> {
        let (value, outcome) = key.split_once(' ')?;
        let outcome = OUTCOMES.iter().copied().find(|o| *o == outcome)?;
        Some((value.to_owned(), outcome))
    };
    let mut rows: HashMap<String, FailureRow> = HashMap::new();
    for g in groups {
        // What a cap counted as overflow mixes outcomes: nothing to count it as.
        let Some((value, outcome)) = split(&g.value) else {
            continue;
        };
        // A group with installations but no count (a skipped row) is no run: it must not
        // make a row, nor change which releases sit side by side.
        if g.total == 0 {
            continue;
        }
        let value = if value != OTHER && shown.contains(&value.as_str()) {
            value
        } else {
            OTHER.to_owned()
        };
        let row = rows.entry(value.clone()).or_insert_with(|| FailureRow {
            value,
            ..FailureRow::default()
        });
        row.count(outcome, g.total);
    }
    rows.into_values().map(FailureRow::rates).collect()
}

/// The failure rates of `a`, by the releases and OSes `breakdowns` show (the rest as
/// `other`); the error types are the `errors` breakdown's rows.
pub(super) fn failures(a: &Aggregates, breakdowns: &BTreeMap<&'static str, Vec<Row>>) -> Failures {
    let shown = |name: &str| -> Vec<&str> {
        breakdowns
            .get(name)
            .map(|rows| {
                rows.iter()
                    .map(|r| r.value.as_str())
                    .filter(|v| *v != OTHER)
                    .collect()
            })
            .unwrap_or_default()
    };
    let groups_of = |d: Dimension| -> &[Group] {
        a.groups
            .iter()
            .find(|(g, _)| *g == d)
            .map_or(&[], |(_, rows)| rows.as_slice())
    };
    let totals_of = |d: Dimension| -> Vec<(String, u64)> {
        groups_of(d)
            .iter()
            .map(|g| (g.value.clone(), g.total))
            .collect()
    };
    let mut all = FailureRow {
        value: "all".to_owned(),
        ..FailureRow::default()
    };
    for (metric, n) in totals_of(Dimension::Metric) {
        all.count(&metric, n);
    }
    for (_, n) in totals_of(Dimension::Error) {
        all.count("errors", n);
    }
    let all = all.rates();
    let runs = all.runs();
    let mut by_version = failure_rows(groups_of(Dimension::ByVersion), &shown("app_versions"));
    // Newest release first; what is not a release (`other`, `invalid`) last.
    let release = |v: &str| v != OTHER && v.starts_with(|c: char| c.is_ascii_digit());
    by_version.sort_by(|x, y| match (release(&x.value), release(&y.value)) {
        (true, true) => version_order(&y.value, &x.value),
        (a, b) => b.cmp(&a).then_with(|| x.value.cmp(&y.value)),
    });
    // Each release against the one before it.
    for i in 0..by_version.len().saturating_sub(1) {
        let (newer, older) = (&by_version[i], &by_version[i + 1]);
        if release(&newer.value)
            && release(&older.value)
            && newer.runs() > 0
            && older.runs() > 0
            && newer.failure_rate >= older.failure_rate * 1.5
            && newer.failure_rate >= older.failure_rate + 0.01
        {
            by_version[i].worse_than = Some(by_version[i + 1].value.clone());
        }
    }
    let mut by_os = failure_rows(groups_of(Dimension::ByOs), &shown("os"));
    by_os.sort_by(|x, y| {
        (x.value == OTHER)
            .cmp(&(y.value == OTHER))
            .then_with(|| y.runs().cmp(&x.runs()))
            .then_with(|| x.value.cmp(&y.value))
    });
    let error_types = breakdowns
        .get("errors")
        .map(|rows| {
            rows.iter()
                .map(|r| ErrorRate {
                    value: r.value.clone(),
                    occurrences: r.total,
                    per_1000_runs: per_1000(r.total, runs),
                })
                .collect()
        })
        .unwrap_or_default();
    Failures {
        all,
        by_version,
        by_os,
        error_types,
    }
}

/// Semantic-version order of `a` and `b` (a pre-release before its release; numbers as
/// numbers), falling back to text for what is not a version.
pub fn version_order(a: &str, b: &str) -> Ordering {
    fn parts(v: &str) -> (Vec<&str>, Option<Vec<&str>>) {
        let v = v.split('+').next().unwrap_or(v);
        let (core, pre) = match v.split_once('-') {
            Some((core, pre)) => (core, Some(pre.split('.').collect())),
            None => (v, None),
        };
        (core.split('.').collect(), pre)
    }
    fn field(a: &str, b: &str) -> Ordering {
        match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            // A number sorts before a word, as semver orders pre-release fields.
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            // `rc2` before `rc10`: a word, then its number as a number.
            (Err(_), Err(_)) => {
                let split = |s: &'_ str| {
                    let at = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                    (s[..at].to_owned(), s[at..].parse::<u64>().ok())
                };
                split(a).cmp(&split(b)).then_with(|| a.cmp(b))
            }
        }
    }
    fn fields(a: &[&str], b: &[&str]) -> Ordering {
        a.iter()
            .zip(b)
            .map(|(x, y)| field(x, y))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.len().cmp(&b.len()))
    }
    let ((core_a, pre_a), (core_b, pre_b)) = (parts(a), parts(b));
    fields(&core_a, &core_b)
        .then_with(|| match (pre_a, pre_b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => fields(&x, &y),
        })
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
#[path = "answers_tests.rs"]
mod tests;
