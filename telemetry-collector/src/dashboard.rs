//! The dashboard: one server-rendered HTML page of a [`Report`], charts drawn as inline SVG.
//! No script, font or stylesheet is fetched from anywhere, so it works air-gapped, and every
//! number drawn is a number of the report (each bar carries it as `data-*` too, which the
//! browser test reads).

use std::fmt::Write;

use crate::report::{DayRow, Report, Row};

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px} h2{font-size:15px;margin:0 0 8px}
header{display:flex;justify-content:space-between;align-items:flex-end;flex-wrap:wrap;gap:12px}
form{display:flex;gap:8px;align-items:center} input,select,button{font:inherit;padding:3px 6px}
.note{color:#5b6472;margin:4px 0 16px}
.tiles{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}
.tile{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 16px;min-width:120px}
.tile b{display:block;font-size:24px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 14px}
.wide{grid-column:1/-1} .empty{color:#8a929e;margin:0}
svg text{font-size:12px;fill:#1d2330} .bar{fill:#3b6fd4} .bar2{fill:#9db8ee} .axis{stroke:#c4cad3}
.legend{color:#5b6472;font-size:12px}
";

/// Width of the label column and of the longest bar of a horizontal bar chart.
const LABEL: usize = 230;
const BAR: usize = 260;
const ROW: usize = 22;

/// `s` with HTML's special characters escaped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page of `report`, drawn for the window of `days` days.
pub fn render(report: &Report, days: u32) -> String {
    let mut html = String::with_capacity(32 * 1024);
    let app = report.window.app.as_deref().unwrap_or("");
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Telemetry: how it is used</title><style>{STYLE}</style></head><body>\
         <header><div><h1>How it is used</h1></div>\
         <form method=\"get\" action=\"/\"><label>Last <select name=\"days\">"
    );
    let mut choices = vec![7, 30, 90, 365];
    if !choices.contains(&days) {
        choices.push(days);
        choices.sort_unstable();
    }
    for d in choices {
        let selected = if d == days { " selected" } else { "" };
        let _ = write!(html, "<option value=\"{d}\"{selected}>{d} days</option>");
    }
    let _ = write!(
        html,
        "</select></label><label>App <input name=\"app\" value=\"{}\" \
         placeholder=\"all\" size=\"12\"></label><button>Show</button></form></header>\
         <p class=\"note\">{} to {}{}. Rows seen from fewer than {} are folded into \
         <i>other</i>.</p><div class=\"tiles\">",
        esc(app),
        esc(&report.window.from),
        esc(&report.window.to),
        if app.is_empty() {
            String::new()
        } else {
            format!(", app {}", esc(app))
        },
        match report.min_installations {
            1 => "1 installation".to_owned(),
            k => format!("{k} installations"),
        },
    );
    for (name, n) in [
        ("installations", report.installations),
        ("sessions", report.sessions),
        ("batches", report.batches),
        ("events", report.events),
    ] {
        let _ = write!(
            html,
            "<div class=\"tile\" data-count=\"{name}\"><b>{n}</b>{name}</div>"
        );
    }
    html.push_str("</div>");
    let l = report.left_out;
    if l != crate::report::LeftOutCounts::default() {
        let _ = write!(
            html,
            "<p class=\"note\" data-left-out=\"{}\">Left out as unknown to this collector \
             (sent by newer clients): {} field(s), {} event(s) of new types, {} value(s) \
             counted as <i>unknown</i>. Upgrade the collector to see them.</p>",
            l.fields + l.event_types + l.values,
            l.fields,
            l.event_types,
            l.values
        );
    }
    if let Some(e) = &report.estimate {
        let sampled: Vec<String> = e
            .sampled
            .iter()
            .map(|(sample, n)| format!("{n} at sample {}", esc(sample)))
            .collect();
        let _ = write!(
            html,
            "<p class=\"note\" data-estimate=\"{}\"><b>Estimates.</b> A collection config \
             sampled installations, so every count on this page is scaled up by {} from what \
             {} installations sent ({}).</p>",
            e.factor,
            e.factor,
            e.installations_sent,
            sampled.join(", ")
        );
    }
    if let Some(c) = &report.collection_config {
        let _ = write!(
            html,
            "<p class=\"note\" data-collection-config=\"{}\">Collection config in force ({}): ",
            esc(&c.etag),
            esc(&c.etag)
        );
        for (i, rule) in c.rules.iter().enumerate() {
            let _ = write!(html, "{}{}", if i > 0 { "; " } else { "" }, esc(rule));
        }
        html.push_str(".</p>");
    }
    html.push_str("<div class=\"grid\">");
    per_day(&mut html, &every_day(report));
    let rows = |name: &str| report.breakdowns.get(name).map_or(&[][..], Vec::as_slice);
    let metrics = rows("metrics");
    let charts: [(&str, &str, Vec<Row>); 17] = [
        (
            "app_versions",
            "App versions (installations)",
            rows("app_versions").to_vec(),
        ),
        (
            "sdk_versions",
            "SDK versions",
            rows("sdk_versions").to_vec(),
        ),
        (
            "rust_versions",
            "Rust versions",
            rows("rust_versions").to_vec(),
        ),
        ("os", "Operating systems", rows("os").to_vec()),
        ("arch", "Architectures", rows("arch").to_vec()),
        (
            "environments",
            "Environments",
            rows("environments").to_vec(),
        ),
        (
            "interactive",
            "Interactive sessions",
            rows("interactive").to_vec(),
        ),
        (
            "integrations",
            "Integrations",
            rows("integrations").to_vec(),
        ),
        (
            "features",
            "Feature adoption (share of installations)",
            rows("features").to_vec(),
        ),
        (
            "runs",
            "Run outcomes (calls)",
            with_prefixes(metrics, &["flow_runs.", "task_runs."]),
        ),
        (
            "durations",
            "Run durations (calls)",
            with_prefixes(metrics, &["flow_durations.", "task_durations."]),
        ),
        (
            "counts",
            "Retries and cache (calls)",
            with_prefixes(
                metrics,
                &[
                    "retry_attempts",
                    "cache_hits",
                    "cache_misses",
                    "flows_defined",
                    "tasks_defined",
                ],
            ),
        ),
        (
            "errors",
            "Error types (occurrences)",
            rows("errors").to_vec(),
        ),
        (
            "commands",
            "CLI commands, masked (runs)",
            rows("commands").to_vec(),
        ),
        (
            "custom_events",
            "Custom events",
            rows("custom_events").to_vec(),
        ),
        (
            "custom_fields",
            "Custom event fields",
            rows("custom_fields").to_vec(),
        ),
        ("metrics", "Every count", metrics.to_vec()),
    ];
    for (id, title, rows) in &charts {
        bars(&mut html, id, title, rows);
    }
    html.push_str("</div></body></html>\n");
    html
}

/// The rows of `metrics` whose path starts with one of `prefixes`, in the order of the
/// prefixes (so the duration buckets stay in the order the report lists them).
fn with_prefixes(metrics: &[Row], prefixes: &[&str]) -> Vec<Row> {
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

fn bars(html: &mut String, chart: &str, title: &str, rows: &[Row]) {
    let _ = write!(
        html,
        "<section data-chart=\"{chart}\"><h2>{}</h2>",
        esc(title)
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
fn shorten(s: &str) -> String {
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
fn every_day(report: &Report) -> Vec<DayRow> {
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
fn per_day(html: &mut String, days: &[DayRow]) {
    html.push_str(
        "<section class=\"wide\" data-chart=\"per_day\"><h2>Installations and sessions per \
         day</h2>",
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
        // About ten dates under the columns, however long the window.
        if i % step == 0 {
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
    fn values_are_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

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
