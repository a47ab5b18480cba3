//! The dashboard: one server-rendered HTML page of a [`Report`], charts drawn as inline SVG.
//! No script, font or stylesheet is fetched from anywhere, so it works air-gapped, and every
//! number drawn is a number of the report (each bar carries it as `data-*` too, which the
//! browser test reads).

mod answers;
mod charts;

use std::fmt::Write;

use self::charts::{bars, every_day, per_day, shorten, with_prefixes};
use crate::query;
use crate::report::{Every, Report, Row};
use crate::store::{Dimension, Window};

/// What every link of the page keeps: the window, its app and filters, how trends group.
struct Page {
    window: Window,
    days: u32,
    every: Every,
}

impl Page {
    fn of(report: &Report, days: u32, every: Every) -> Page {
        let mut window = Window::last_days(0, days, report.window.app.as_deref());
        window.filters = report
            .filters
            .iter()
            .filter_map(|(name, v)| Some((Dimension::named(name)?, v.clone())))
            .collect();
        Page {
            window,
            days,
            every,
        }
    }

    /// The page's query string with filter `change` applied, HTML-escaped.
    fn query(&self, change: Option<(Dimension, Option<&str>)>) -> String {
        esc(&query::link(&self.window, self.days, self.every, change))
    }

    /// The links to `chart`'s data, for the end of its heading.
    fn exports(&self, chart: &str) -> String {
        let q = self.query(None);
        format!(
            " <span class=\"export\"><a href=\"v1/report/{chart}.csv?{q}\">CSV</a> \
             <a href=\"v1/report/{chart}.json?{q}\">JSON</a></span>"
        )
    }
}

/// `now` against `before`, as a change in percent (`+12%`), or `new` from nothing.
fn change(now: u64, before: u64) -> String {
    if before == 0 {
        return if now == 0 {
            "±0%".into()
        } else {
            "new".into()
        };
    }
    let pct = (now as f64 - before as f64) / before as f64 * 100.0;
    format!("{:+.0}%", pct)
}

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
.tile small{display:block;color:#5b6472;font-size:12px}
.export{float:right;font-size:12px;font-weight:normal} .export a{color:#3b6fd4;margin-left:6px}
.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin:0 0 16px}
.filters select{max-width:170px} .chip{background:#e8eefb;border-radius:12px;padding:2px 10px}
.chip a{color:#1d2330;text-decoration:none;margin-left:6px}
.part{margin:24px 0 8px} .worse{fill:#c62828} .worse-note{color:#c62828;font-weight:600}
.series{stroke:#3b6fd4;fill:none;stroke-width:1.5} .prev{fill:#9db8ee}
table{border-collapse:collapse;width:100%;font-size:13px} td,th{padding:3px 6px;text-align:right;border-bottom:1px solid #eef0f3}
td:first-child,th:first-child{text-align:left}
.s0{fill:#3b6fd4}.s1{fill:#e07b39}.s2{fill:#4caf7d}.s3{fill:#9c6ade}.s4{fill:#d4a73b}.s5{fill:#3bb3d4}.s6{fill:#d43b6f}.s7{fill:#7d8a99}.s8{fill:#a3c93b}.s9{fill:#5b3bd4}.s10{fill:#c4cad3}
";

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

/// The page of `report`, drawn for the window of `days` days, its trends `every` day or
/// week.
pub fn render(report: &Report, days: u32, every: Every) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let app = report.window.app.as_deref().unwrap_or("");
    let page = Page::of(report, days, every);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Telemetry: how it is used</title><style>{STYLE}</style></head><body>\
         <header><div><h1>How it is used</h1></div>\
         <form method=\"get\" action=\"\"><label>Last <select name=\"days\">"
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
    html.push_str("</select></label><label>by <select name=\"every\">");
    for (value, label) in [(Every::Day, "day"), (Every::Week, "week")] {
        let selected = if value == every { " selected" } else { "" };
        let _ = write!(html, "<option value=\"{label}\"{selected}>{label}</option>");
    }
    let _ = write!(
        html,
        "</select></label><label>App <input name=\"app\" value=\"{}\" \
         placeholder=\"all\" size=\"12\"></label>",
        esc(app)
    );
    // The filters in force stay in force when the window changes.
    for (name, value) in &report.filters {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            esc(value)
        );
    }
    let _ = write!(
        html,
        "<button>Show</button></form></header>\
         <p class=\"note\">{} to {}{}, compared with {} to {}. Rows seen from fewer than {} \
         are folded into <i>other</i>.</p>",
        esc(&report.window.from),
        esc(&report.window.to),
        if app.is_empty() {
            String::new()
        } else {
            format!(", app {}", esc(app))
        },
        esc(&report.previous.from),
        if report.previous.complete {
            esc(&report.previous.to)
        } else {
            format!(
                "{} (past the retention: partly kept)",
                esc(&report.previous.to)
            )
        },
        match report.min_installations {
            1 => "1 installation".to_owned(),
            k => format!("{k} installations"),
        },
    );
    answers::filter_bar(&mut html, report, &page);
    html.push_str("<div class=\"tiles\">");
    let p = &report.previous;
    // Past the retention, distinct counts of the period before are not kept, nor (when
    // filtered) anything of it.
    let kept = |n: u64| p.complete.then_some(n);
    let totals_kept = p.complete || report.filters.is_empty();
    for (name, n, before) in [
        ("installations", report.installations, kept(p.installations)),
        ("sessions", report.sessions, kept(p.sessions)),
        ("batches", report.batches, None),
        ("events", report.events, totals_kept.then_some(p.events)),
    ] {
        let _ = write!(
            html,
            "<div class=\"tile\" data-count=\"{name}\"><b>{n}</b>{name}"
        );
        if let Some(before) = before {
            let _ = write!(
                html,
                "<small data-previous=\"{before}\">{} (before: {before})</small>",
                change(n, before)
            );
        }
        html.push_str("</div>");
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
    per_day(&mut html, &every_day(report), &page);
    answers::adoption(&mut html, report, &page);
    answers::failures(&mut html, report, &page);
    let rows = |name: &str| report.breakdowns.get(name).map_or(&[][..], Vec::as_slice);
    let metrics = rows("metrics");
    let charts: [(&str, &str, Vec<Row>); 16] = [
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
            with_prefixes(metrics, &["retry_attempts", "cache_hits", "cache_misses"]),
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
    ];
    for (id, title, rows) in &charts {
        bars(&mut html, id, title, rows, &page);
    }
    html.push_str("</div><h2 class=\"part\">Trends</h2><div class=\"grid\">");
    answers::trends(&mut html, report, &page);
    html.push_str("</div></body></html>\n");
    html
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
}
