//! Every chart's data, as CSV (a header row, then one row per bar) or JSON (the report's
//! own part): `GET /v1/report/CHART.csv` and `.json`, with the report's query. Charts are
//! named as the dashboard's `data-chart`: `per_day`, a breakdown (`os`), `adoption.os`,
//! `trend.os`, `failures.by_version`, `failures.by_os`, `failures.error_types`.

use serde_json::Value;

use crate::report::{FailureRow, Report};
use crate::store::Dimension;

/// Whether `name` is a breakdown: its chart exists (and is linked) even with nothing in
/// the window, or below K, and then exports a header alone.
fn breakdown(name: &str) -> bool {
    Dimension::named(name).is_some()
}

/// A chart's data as a table: its header and rows, every cell already text.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn cells<const N: usize>(values: [&dyn std::fmt::Display; N]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn failure_table(rows: &[FailureRow]) -> Table {
    Table {
        header: header(&[
            "value",
            "flow_runs",
            "flows_failed",
            "flows_panicked",
            "task_runs",
            "tasks_failed",
            "tasks_panicked",
            "errors",
            "failure_rate",
            "errors_per_1000_runs",
            "worse_than",
        ]),
        rows: rows
            .iter()
            .map(|r| {
                cells([
                    &r.value,
                    &r.flows.runs,
                    &r.flows.failed,
                    &r.flows.panicked,
                    &r.tasks.runs,
                    &r.tasks.failed,
                    &r.tasks.panicked,
                    &r.errors,
                    &r.failure_rate,
                    &r.errors_per_1000_runs,
                    &r.worse_than.as_deref().unwrap_or(""),
                ])
            })
            .collect(),
    }
}

/// The table of `chart` in `report`, if there is such a chart.
fn table(report: &Report, chart: &str) -> Option<Table> {
    if chart == "per_day" {
        return Some(Table {
            header: header(&["date", "installations", "sessions", "events"]),
            rows: report
                .per_day
                .iter()
                .map(|d| cells([&d.date, &d.installations, &d.sessions, &d.events]))
                .collect(),
        });
    }
    if let Some(rows) = report
        .breakdowns
        .get(chart)
        .map(Vec::as_slice)
        .or(breakdown(chart).then_some(&[][..]))
    {
        return Some(Table {
            header: header(&["value", "installations", "total", "share"]),
            rows: rows
                .iter()
                .map(|r| {
                    let share = r.share.map(|s| s.to_string()).unwrap_or_default();
                    cells([&r.value, &r.installations, &r.total, &share])
                })
                .collect(),
        });
    }
    let (part, name) = chart.split_once('.')?;
    match part {
        "adoption" => {
            let rows = report.adoption.get(name)?;
            Some(Table {
                header: header(&["value", "installations", "share"]),
                rows: rows
                    .iter()
                    .map(|r| cells([&r.value, &r.installations, &r.share]))
                    .collect(),
            })
        }
        "trend" => {
            let rows = match report.trends.breakdowns.get(name) {
                Some(trend) => &trend.rows[..],
                None if breakdown(name) => &[],
                None => return None,
            };
            let mut head = header(&["value", "total", "previous"]);
            head.extend(report.trends.periods.iter().cloned());
            Some(Table {
                header: head,
                rows: rows
                    .iter()
                    .map(|r| {
                        let mut row = cells([&r.value, &r.total, &r.previous]);
                        row.extend(r.per_period.iter().map(u64::to_string));
                        row
                    })
                    .collect(),
            })
        }
        "failures" => match name {
            "by_version" => Some(failure_table(&report.failures.by_version)),
            "by_os" => Some(failure_table(&report.failures.by_os)),
            "error_types" => Some(Table {
                header: header(&["value", "occurrences", "per_1000_runs"]),
                rows: report
                    .failures
                    .error_types
                    .iter()
                    .map(|r| cells([&r.value, &r.occurrences, &r.per_1000_runs]))
                    .collect(),
            }),
            _ => None,
        },
        _ => None,
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; and a
/// leading `= + - @`, tab or carriage return made inert, so a spreadsheet never reads a
/// value as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `chart` of `report` as CSV, if there is such a chart.
pub(crate) fn csv(report: &Report, chart: &str) -> Option<String> {
    let t = table(report, chart)?;
    let mut out = String::new();
    for row in std::iter::once(&t.header).chain(&t.rows) {
        let line: Vec<String> = row.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Some(out)
}

/// `chart` of `report` as JSON (the report's own part, with the window and the filters),
/// if there is such a chart.
pub(crate) fn json(report: &Report, chart: &str) -> Option<String> {
    table(report, chart)?;
    let all = serde_json::to_value(report).ok()?;
    let data = if chart == "per_day" {
        all["per_day"].clone()
    } else if breakdown(chart) {
        all["breakdowns"]
            .get(chart)
            .cloned()
            .unwrap_or_else(|| serde_json::json!([]))
    } else {
        let (part, name) = chart.split_once('.')?;
        match part {
            "adoption" => all["adoption"][name].clone(),
            "trend" => serde_json::json!({
                "every": all["trends"]["every"],
                "periods": all["trends"]["periods"],
                "rows": all["trends"]["breakdowns"]
                    .get(name)
                    .map_or_else(|| serde_json::json!([]), |t| t["rows"].clone()),
            }),
            _ => all["failures"][name].clone(),
        }
    };
    let out = serde_json::json!({
        "chart": chart,
        "window": all["window"],
        "filters": all.get("filters").cloned().unwrap_or(Value::Null),
        "below_k": report.below_k,
        "min_installations": all["min_installations"],
        "data": data,
    });
    serde_json::to_string_pretty(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_never_formulas() {
        assert_eq!(field("linux"), "linux");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("-x,y"), "\"'-x,y\"");
    }
}
