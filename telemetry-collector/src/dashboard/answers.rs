//! The parts of the page that answer a maintainer's questions: the filter bar, adoption
//! (who is on what, and how fast a release spreads), failure rates per release and OS, and
//! every breakdown's trend beside the period before. Each drawn number is the report's, and
//! carried as `data-*` for the browser test.

use std::fmt::Write;

use super::{Page, change, esc, shorten};
use crate::report::{FailureRow, OTHER, Report};
use crate::store::Dimension;

/// Values a filter's list offers, at most (the breakdown's first ones).
const CHOICES: usize = 60;

/// Colour classes of stacked segments; the last is `other`'s.
fn colour(i: usize, value: &str) -> String {
    if value == OTHER {
        "s10".to_owned()
    } else {
        format!("s{}", i.min(9))
    }
}

/// The filters in force (each with a link that takes it off), and a list per breakdown to
/// add one.
pub(super) fn filter_bar(html: &mut String, report: &Report, page: &Page) {
    html.push_str("<form class=\"filters\" method=\"get\" action=\"\" data-filters>");
    let _ = write!(
        html,
        "<input type=\"hidden\" name=\"days\" value=\"{}\">",
        page.days
    );
    if let Some(app) = &page.window.app {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"app\" value=\"{}\">",
            esc(app)
        );
    }
    if page.every == crate::report::Every::Week {
        html.push_str("<input type=\"hidden\" name=\"every\" value=\"week\">");
    }
    html.push_str("<b>Filter</b>");
    for (d, value) in &page.window.filters {
        let _ = write!(
            html,
            "<span class=\"chip\" data-filter=\"{name}\" data-filter-value=\"{v}\">{name}: \
             {v}<a href=\"?{off}\" title=\"take off\">×</a></span>",
            name = d.name(),
            v = esc(value),
            off = page.query(Some((*d, None))),
        );
    }
    for d in Dimension::ALL.into_iter().filter(|d| d.is_breakdown()) {
        let name = d.name();
        let current = page
            .window
            .filters
            .iter()
            .find(|(f, _)| *f == d)
            .map(|(_, v)| v.as_str());
        let mut values: Vec<&str> = report
            .breakdowns
            .get(name)
            .map(|rows| {
                rows.iter()
                    .map(|r| r.value.as_str())
                    .filter(|v| *v != OTHER)
                    .take(CHOICES)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(c) = current.filter(|c| !values.contains(c)) {
            values.push(c);
        }
        if values.is_empty() {
            continue;
        }
        let _ = write!(
            html,
            "<select name=\"{name}\" aria-label=\"{name}\"><option value=\"\">{name}: any</option>"
        );
        for v in values {
            let selected = if Some(v) == current { " selected" } else { "" };
            let _ = write!(
                html,
                "<option value=\"{e}\"{selected}>{s}</option>",
                e = esc(v),
                s = esc(&shorten(v))
            );
        }
        html.push_str("</select>");
    }
    html.push_str("<button>Filter</button></form>");
    if report.below_k {
        let _ = write!(
            html,
            "<p class=\"note\" data-below-k>Fewer than {} installations match these filters: \
             nothing is shown, so that no one installation's use can be told apart.</p>",
            report.min_installations
        );
    }
}

/// Each installation once, at its latest value, as shares; and a release's spread over
/// the window (its sessions' share per day or week).
pub(super) fn adoption(html: &mut String, report: &Report, page: &Page) {
    const TITLES: [(&str, &str); 9] = [
        ("app_versions", "App versions"),
        ("os", "Operating systems"),
        ("environments", "Environments"),
        ("rust_versions", "Rust versions"),
        ("sdk_versions", "SDK versions"),
        ("arch", "Architectures"),
        ("interactive", "Interactive"),
        ("flows_defined", "Flows defined"),
        ("tasks_defined", "Tasks defined"),
    ];
    html.push_str(
        "<section class=\"wide\" data-part=\"adoption\"><h2>Who is on what: each \
         installation once, at the latest value it sent</h2>",
    );
    let (width, bar, label) = (1000.0_f64, 640.0_f64, 150.0_f64);
    let drawn: Vec<_> = TITLES
        .iter()
        .filter_map(|(name, title)| Some((*name, *title, report.adoption.get(name)?)))
        .filter(|(_, _, rows)| !rows.is_empty())
        .collect();
    if drawn.is_empty() {
        html.push_str("<p class=\"empty\">Nothing in this window.</p>");
    }
    for (name, title, rows) in drawn {
        let _ = write!(
            html,
            "<div data-chart=\"adoption.{name}\"><svg width=\"100%\" height=\"26\" \
             viewBox=\"0 0 {width} 26\" preserveAspectRatio=\"xMinYMin meet\" role=\"img\" \
             aria-label=\"{title}\"><text x=\"0\" y=\"17\">{title}</text>"
        );
        let mut x = label;
        for (i, r) in rows.iter().enumerate() {
            let w = r.share * bar;
            let _ = write!(
                html,
                "<g class=\"share\" data-value=\"{v}\" data-installations=\"{n}\" \
                 data-share=\"{s}\"><title>{v}: {n} installations, {p:.1}%</title>\
                 <rect class=\"{c}\" x=\"{x:.1}\" y=\"3\" width=\"{w:.1}\" height=\"20\"></rect>",
                v = esc(&r.value),
                n = r.installations,
                s = r.share,
                p = r.share * 100.0,
                c = colour(i, &r.value),
            );
            if w > 54.0 {
                let _ = write!(
                    html,
                    "<text x=\"{tx:.1}\" y=\"17\" style=\"fill:#fff\">{}</text>",
                    esc(&shorten(&r.value).chars().take(8).collect::<String>()),
                    tx = x + 4.0,
                );
            }
            html.push_str("</g>");
            x += w;
        }
        let list: Vec<String> = rows
            .iter()
            .take(4)
            .map(|r| format!("{} {:.0}%", esc(&r.value), r.share * 100.0))
            .collect();
        let _ = write!(
            html,
            "<text x=\"{lx}\" y=\"17\">{}</text></svg>{}</div>",
            list.join(" · "),
            page.exports(&format!("adoption.{name}")),
            lx = label + bar + 8.0,
        );
    }
    spread(html, report, page);
    html.push_str("</section>");
}

/// The share of each release among the sessions of each period: how fast one spreads.
fn spread(html: &mut String, report: &Report, page: &Page) {
    let Some(trend) = report.trends.breakdowns.get("app_versions") else {
        return;
    };
    let periods = &report.trends.periods;
    let (width, height, left) = (1000.0_f64, 140.0_f64, 40.0_f64);
    let slot = (width - left) / periods.len().max(1) as f64;
    let _ = write!(
        html,
        "<h2>Release adoption over the window (share of sessions){}</h2>\
         <svg width=\"100%\" height=\"{h}\" viewBox=\"0 0 {width} {h}\" \
         preserveAspectRatio=\"xMinYMin meet\" role=\"img\" aria-label=\"Release adoption\" \
         data-chart=\"spread\">",
        page.exports("trend.app_versions"),
        h = height + 20.0,
    );
    let step = periods.len().div_ceil(10).max(1);
    for (p, period) in periods.iter().enumerate() {
        let all: u64 = trend.rows.iter().map(|r| r.per_period[p]).sum();
        let parts: Vec<String> = trend
            .rows
            .iter()
            .filter(|r| r.per_period[p] > 0)
            .map(|r| format!("{}:{}", r.value, r.per_period[p]))
            .collect();
        let x = left + p as f64 * slot;
        let _ = write!(
            html,
            "<g class=\"period\" data-period=\"{}\" data-values=\"{}\">",
            esc(period),
            esc(&parts.join(","))
        );
        let mut y = height;
        for (i, r) in trend.rows.iter().enumerate() {
            if all == 0 || r.per_period[p] == 0 {
                continue;
            }
            let h = r.per_period[p] as f64 / all as f64 * height;
            y -= h;
            let _ = write!(
                html,
                "<rect class=\"{c}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\">\
                 <title>{period}: {v} {n}</title></rect>",
                c = colour(i, &r.value),
                w = (slot - 1.0).max(1.0),
                v = esc(&r.value),
                n = r.per_period[p],
                period = esc(period),
            );
        }
        if (p % step == 0 && periods.len() - p > step / 2) || p + 1 == periods.len() {
            let _ = write!(
                html,
                "<text x=\"{x:.1}\" y=\"{ty}\">{}</text>",
                esc(period.get(5..).unwrap_or(period)),
                ty = height + 15.0
            );
        }
        html.push_str("</g>");
    }
    let legend: Vec<String> = trend
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "<svg width=\"10\" height=\"10\"><rect class=\"{}\" width=\"10\" \
                 height=\"10\"></rect></svg> {}",
                colour(i, &r.value),
                esc(&r.value)
            )
        })
        .collect();
    let _ = write!(
        html,
        "</svg><p class=\"legend\">{}</p>",
        legend.join(" &nbsp; ")
    );
}

fn failure_table(html: &mut String, chart: &str, title: &str, rows: &[FailureRow], page: &Page) {
    let _ = write!(
        html,
        "<div data-chart=\"{chart}\"><h2>{title}{}</h2>",
        page.exports(chart)
    );
    if rows.is_empty() {
        html.push_str("<p class=\"empty\">No runs in this window.</p></div>");
        return;
    }
    html.push_str(
        "<table><tr><th></th><th>runs</th><th>failed</th><th>panicked</th>\
         <th>failure rate</th><th></th><th>errors / 1,000 runs</th></tr>",
    );
    let worst = rows
        .iter()
        .map(|r| r.failure_rate)
        .fold(0.0, f64::max)
        .max(1e-9);
    for r in rows {
        let runs = r.flows.runs.saturating_add(r.tasks.runs);
        let failed = r.flows.failed.saturating_add(r.tasks.failed);
        let panicked = r.flows.panicked.saturating_add(r.tasks.panicked);
        let worse = r.worse_than.as_deref().map(esc);
        let _ = write!(
            html,
            "<tr class=\"failure\" data-value=\"{v}\" data-runs=\"{runs}\" \
             data-failure-rate=\"{rate}\" data-errors-per-1000=\"{e}\"{w}><td>{v}{note}</td>\
             <td>{runs}</td><td>{failed}</td><td>{panicked}</td><td>{pct:.2}%</td>\
             <td><svg width=\"120\" height=\"12\"><rect class=\"{class}\" width=\"{bar:.1}\" \
             height=\"12\"></rect></svg></td><td>{e}</td></tr>",
            v = esc(&r.value),
            rate = r.failure_rate,
            e = r.errors_per_1000_runs,
            w = worse
                .as_ref()
                .map(|o| format!(" data-worse-than=\"{o}\""))
                .unwrap_or_default(),
            note = worse
                .as_ref()
                .map(|o| format!(" <span class=\"worse-note\">worse than {o}</span>"))
                .unwrap_or_default(),
            pct = r.failure_rate * 100.0,
            class = if worse.is_some() { "worse" } else { "bar" },
            bar = (r.failure_rate / worst * 120.0).max(1.0),
        );
    }
    html.push_str("</table></div>");
}

/// Failed and panicked runs per run by release and OS, and error types per 1,000 runs.
pub(super) fn failures(html: &mut String, report: &Report, page: &Page) {
    let f = &report.failures;
    let _ = write!(
        html,
        "<section class=\"wide\" data-part=\"failures\"><h2>Failures: {:.2}% of {} runs failed \
         or panicked; {} errors per 1,000 runs</h2>",
        f.all.failure_rate * 100.0,
        f.all.flows.runs.saturating_add(f.all.tasks.runs),
        f.all.errors_per_1000_runs,
    );
    failure_table(
        html,
        "failures.by_version",
        "By release, newest first",
        &f.by_version,
        page,
    );
    failure_table(
        html,
        "failures.by_os",
        "By operating system",
        &f.by_os,
        page,
    );
    let _ = write!(
        html,
        "<div data-chart=\"failures.error_types\"><h2>Error types per 1,000 runs{}</h2>",
        page.exports("failures.error_types")
    );
    if f.error_types.is_empty() {
        html.push_str("<p class=\"empty\">No errors in this window.</p>");
    } else {
        html.push_str("<table><tr><th></th><th>occurrences</th><th>per 1,000 runs</th></tr>");
        for r in &f.error_types {
            let _ = write!(
                html,
                "<tr class=\"error-rate\" data-value=\"{v}\" data-per-1000=\"{p}\"><td>{s}</td>\
                 <td>{n}</td><td>{p}</td></tr>",
                v = esc(&r.value),
                s = esc(&shorten(&r.value)),
                n = r.occurrences,
                p = r.per_1000_runs,
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</div></section>");
}

/// Every breakdown's values over the window, a line each, beside the period before.
pub(super) fn trends(html: &mut String, report: &Report, page: &Page) {
    let t = &report.trends;
    let compare = report.previous.complete || report.filters.is_empty();
    let every = match t.every {
        crate::report::Every::Day => "day",
        crate::report::Every::Week => "week",
    };
    let mut any = false;
    for d in Dimension::ALL.into_iter().filter(|d| d.is_breakdown()) {
        let name = d.name();
        let Some(trend) = t.breakdowns.get(name) else {
            continue;
        };
        any = true;
        let _ = write!(
            html,
            "<section data-chart=\"trend.{name}\"><h2>{name}, by {every}{}</h2><table>\
             <tr><th></th><th>over the window</th><th>total</th><th>before</th><th></th></tr>",
            page.exports(&format!("trend.{name}"))
        );
        let max = trend
            .rows
            .iter()
            .flat_map(|r| r.per_period.iter().copied())
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        for r in &trend.rows {
            let n = r.per_period.len().max(2) as f64 - 1.0;
            let points: Vec<String> = r
                .per_period
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    format!(
                        "{:.1},{:.1}",
                        i as f64 / n * 200.0,
                        20.0 - *v as f64 / max * 18.0
                    )
                })
                .collect();
            let series: Vec<String> = r.per_period.iter().map(u64::to_string).collect();
            let _ = write!(
                html,
                "<tr class=\"trend\" data-value=\"{v}\" data-total=\"{total}\" \
                 data-previous=\"{prev}\" data-series=\"{series}\"><td>{s}</td><td><svg \
                 width=\"200\" height=\"22\"><polyline class=\"series\" points=\"{points}\">\
                 </polyline></svg></td><td>{total}</td><td>{prev}</td><td>{change}</td></tr>",
                v = esc(&r.value),
                s = esc(&shorten(&r.value)),
                total = r.total,
                prev = r.previous,
                series = series.join(","),
                points = points.join(" "),
                change = if compare {
                    change(r.total, r.previous)
                } else {
                    String::new()
                },
            );
        }
        html.push_str("</table></section>");
    }
    if !any {
        html.push_str("<section><p class=\"empty\">Nothing in this window.</p></section>");
    }
}
