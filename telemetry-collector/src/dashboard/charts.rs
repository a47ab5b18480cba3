//! The page's plain charts: a breakdown's horizontal bars, and installations and sessions
//! per day.

use std::fmt::Write;

use super::{Page, esc};
use crate::report::{DayRow, Report, Row};

/// Width of the label column and of the longest bar of a horizontal bar chart.
const LABEL: usize = 230;
const BAR: usize = 260;
const ROW: usize = 22;

/// The rows of `metrics` whose path starts with one of `prefixes`, in the order of the
/// prefixes (so the duration buckets stay in the order the report lists them).
pub(super) fn with_prefixes(metrics: &[Row], prefixes: &[&str]) -> Vec<Row> {
    let mut out: Vec<Row> = prefixes
        .iter()
        .flat_map(|p| metrics.iter().filter(move |r| r.value.starts_with(p)))
        .cloned()
        .collect();
    // Buckets read best shortest first; the report sorts by installations.
    out.sort_by_key(|r| {
        let rank = telemetry_runtime::DurationBucket::ALL
            .iter()
            .position(|b| r.value.ends_with(&format!(".{}", b.label())))
            .unwrap_or(0);
        (r.value.split('.').next().map(str::to_owned), rank)
    });
    out
}

/// What a bar of `chart` measures: a share for features, a total for counts, installations
/// for the rest.
fn measure(chart: &str, row: &Row) -> (f64, String) {
    match chart {
        "features" => match row.share {
            Some(s) => (s, format!("{:.0}%", s * 100.0)),
            None => (0.0, format!("{} inst.", row.installations)),
        },
        "runs" | "durations" | "counts" | "metrics" | "errors" | "commands" | "custom_events"
        | "custom_fields" => (row.total as f64, row.total.to_string()),
        _ => (row.installations as f64, row.installations.to_string()),
    }
}

pub(super) fn bars(html: &mut String, chart: &str, title: &str, rows: &[Row], page: &Page) {
    // The three charts cut from `metrics` export it whole.
    let data = match chart {
        "runs" | "durations" | "counts" => "metrics",
        _ => chart,
    };
    let _ = write!(
        html,
        "<section data-chart=\"{chart}\"><h2>{}{}</h2>",
        esc(title),
        page.exports(data)
    );
    if rows.is_empty() {
        html.push_str("<p class=\"empty\">Nothing in this window.</p></section>");
        return;
    }
    let max = rows
        .iter()
        .map(|r| measure(chart, r).0)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = rows.len() * ROW + 4;
    let width = LABEL + BAR + 80;
    let _ = write!(
        html,
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    for (i, row) in rows.iter().enumerate() {
        let (value, label) = measure(chart, row);
        let y = i * ROW;
        let w = ((value / max) * BAR as f64).round().max(1.0);
        let share = row
            .share
            .map(|s| format!(" data-share=\"{s}\""))
            .unwrap_or_default();
        let _ = write!(
            html,
            "<g class=\"row\" data-value=\"{v}\" data-installations=\"{i}\" \
             data-total=\"{t}\"{share}><title>{v}: {i} installations, total {t}</title>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{short}</text>\
             <rect class=\"bar\" x=\"{LABEL}\" y=\"{ry}\" width=\"{w}\" height=\"{h}\"></rect>\
             <text x=\"{vx}\" y=\"{ty}\">{label}</text></g>",
            v = esc(&row.value),
            i = row.installations,
            t = row.total,
            lx = LABEL - 6,
            ty = y + 15,
            short = esc(&shorten(&row.value)),
            ry = y + 3,
            h = ROW - 6,
            vx = LABEL as f64 + w + 6.0,
        );
    }
    html.push_str("</svg></section>");
}

/// A label that fits its column.
pub(super) fn shorten(s: &str) -> String {
    const MAX: usize = 34;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX - 1).collect();
        format!("{head}…")
    }
}

/// Each day of the window, with zeros for days without data, so the chart's axis is the
/// window's.
pub(super) fn every_day(report: &Report) -> Vec<DayRow> {
    let day = |s: &str| {
        s.parse::<telemetry_runtime::Date>()
            .ok()
            .map(|d| d.to_unix_days())
    };
    let (Some(from), Some(to)) = (day(&report.window.from), day(&report.window.to)) else {
        return report.per_day.clone();
    };
    // Days with data outside the window (none, from the stores) are kept as they are.
    let mut rows = report.per_day.clone();
    for d in from..=to {
        let date = crate::clock::date(d);
        if !rows.iter().any(|r| r.date == date) {
            rows.push(DayRow {
                date,
                installations: 0,
                sessions: 0,
                events: 0,
            });
        }
    }
    rows.sort_by(|a, b| a.date.cmp(&b.date));
    rows
}

/// Installations (dark) and sessions (light) per day, as paired columns.
pub(super) fn per_day(html: &mut String, days: &[DayRow], page: &Page) {
    let _ = write!(
        html,
        "<section class=\"wide\" data-chart=\"per_day\"><h2>Installations and sessions per \
         day{}</h2>",
        page.exports("per_day")
    );
    if days.is_empty() {
        html.push_str("<p class=\"empty\">Nothing in this window.</p></section>");
        return;
    }
    let (width, height, left, bottom) = (1000.0_f64, 180.0_f64, 40.0_f64, 20.0_f64);
    let max = days
        .iter()
        .map(|d| d.installations.max(d.sessions))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let slot = ((width - left) / days.len() as f64).min(60.0);
    let column = (slot / 2.0 - 1.0).max(1.0);
    let step = days.len().div_ceil(10).max(1);
    let _ = write!(
        html,
        "<svg width=\"100%\" height=\"{total}\" viewBox=\"0 0 {width} {total}\" \
         preserveAspectRatio=\"xMinYMin meet\" role=\"img\" \
         aria-label=\"Installations and sessions per day\">\
         <line class=\"axis\" x1=\"{left}\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\"></line>\
         <text x=\"{lx}\" y=\"12\" text-anchor=\"end\">{max}</text>\
         <text x=\"{lx}\" y=\"{height}\" text-anchor=\"end\">0</text>",
        total = height + bottom,
        lx = left - 4.0,
    );
    for (i, d) in days.iter().enumerate() {
        let x = left + i as f64 * slot;
        let h_i = d.installations as f64 / max * (height - 14.0);
        let h_s = d.sessions as f64 / max * (height - 14.0);
        let _ = write!(
            html,
            "<g class=\"day\" data-date=\"{date}\" data-installations=\"{inst}\" \
             data-sessions=\"{sess}\" data-events=\"{ev}\"><title>{date}: {inst} installations, \
             {sess} sessions, {ev} events</title>\
             <rect class=\"bar\" x=\"{x:.1}\" y=\"{yi:.1}\" width=\"{column:.1}\" height=\"{h_i:.1}\"></rect>\
             <rect class=\"bar2\" x=\"{x2:.1}\" y=\"{ys:.1}\" width=\"{column:.1}\" height=\"{h_s:.1}\"></rect>",
            date = esc(&d.date),
            inst = d.installations,
            sess = d.sessions,
            ev = d.events,
            yi = height - h_i,
            x2 = x + column + 1.0,
            ys = height - h_s,
        );
        // About ten dates under the columns, however long the window, and the last one.
        if (i % step == 0 && days.len() - i > step / 2) || i + 1 == days.len() {
            let _ = write!(
                html,
                "<text x=\"{x:.1}\" y=\"{ty}\">{}</text>",
                esc(d.date.get(5..).unwrap_or(&d.date)),
                ty = height + 15.0,
            );
        }
        html.push_str("</g>");
    }
    html.push_str("</svg><p class=\"legend\">Dark: installations. Light: sessions.</p></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_buckets_keep_their_order() {
        let row = |v: &str| Row {
            value: v.to_owned(),
            installations: 5,
            total: 1,
            share: None,
        };
        let metrics = [
            row("flow_durations.1-10s"),
            row("flow_durations.<1s"),
            row("cache_hits"),
        ];
        let picked = with_prefixes(&metrics, &["flow_durations."]);
        let values: Vec<_> = picked.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values, ["flow_durations.<1s", "flow_durations.1-10s"]);
    }
}
