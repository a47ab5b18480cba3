//! The dashboard in a real browser: Debian's `chromium`, headless, loads the page of a
//! seeded store; every chart's bars carry the numbers of `/v1/report`, and a screenshot is
//! kept in the target directory (`dashboard.png`).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Kind, Logs, Place, batch, post};
use serde_json::Value;
use telemetry_collector::{Collector, Today};

/// Runs chromium headless with `args` then `url`, bounded in time; its stdout.
fn chromium(profile: &Path, args: &[&str], url: &str) -> String {
    let exe = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|exe| {
            Command::new("sh")
                .args(["-c", &format!("command -v {exe}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect(
            "chromium is not installed: run the README's test command (.ci/test), which \
             installs Debian's chromium package",
        );
    let out_file = profile.join(format!("out-{}.html", args.len()));
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox", // CI runs as root, where the sandbox cannot start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(out_file).unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The attributes of a tag's text (` name="value"` pairs), unescaped.
fn attrs(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].rsplit(' ').next().unwrap_or("").to_owned();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        out.insert(name, unescape(&after[..end]));
        rest = &after[end + 1..];
    }
    out
}

/// The part of `dom` that draws chart `chart`: from its `data-chart` to the next chart's or
/// the end of its section.
fn chart<'d>(dom: &'d str, chart: &str) -> Option<&'d str> {
    let start = dom.find(&format!("data-chart=\"{chart}\""))?;
    let after = &dom[start + 12..];
    let end = [after.find("data-chart=\""), after.find("</section>")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(after.len());
    Some(&dom[start..start + 12 + end])
}

/// The attributes of every tag of class `class` in chart `name` of `dom`.
fn marks(dom: &str, name: &str, class: &str) -> Vec<HashMap<String, String>> {
    let part = chart(dom, name).unwrap_or_else(|| panic!("no chart {name}"));
    part.split('<')
        .filter(|t| t.contains(&format!(" class=\"{class}\"")))
        .map(|t| attrs(&t[..t.find('>').unwrap_or(t.len())]))
        .collect()
}

/// `(value, installations, total)` of the breakdown chart `name`.
fn rows(dom: &str, name: &str) -> Vec<(String, u64, u64)> {
    marks(dom, name, "row")
        .iter()
        .map(|m| {
            (
                m["data-value"].clone(),
                m["data-installations"].parse().unwrap(),
                m["data-total"].parse().unwrap(),
            )
        })
        .collect()
}

fn float(s: &str) -> f64 {
    s.parse().unwrap()
}

fn number(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// Six installations over two releases and three OSes, one more in the period before:
/// 0.2.0 fails more often than 0.1.0.
fn seed(collector: &Collector) {
    let url = format!("{}/v1/batch", collector.url());
    let send = |body: String| assert_eq!(post(&url, body.as_bytes()), 200);
    for _ in 0..3 {
        let id = common::new_id();
        send(batch(&id, "0.1.0", "linux", "2026-06-10T09", 100, 1));
        send(batch(&id, "0.2.0", "linux", "2026-06-13T14", 100, 6));
    }
    for _ in 0..2 {
        send(batch(
            &common::new_id(),
            "0.1.0",
            "macos",
            "2026-06-12T08",
            50,
            1,
        ));
    }
    send(batch(
        &common::new_id(),
        "0.2.0",
        "freebsd",
        "2026-06-14T20",
        10,
        0,
    ));
    send(batch(
        &common::new_id(),
        "0.1.0",
        "linux",
        "2026-05-10T10",
        10,
        0,
    ));
}

/// Every number the page draws against `/v1/report` with the same query.
fn check_page(dom: &str, report: &Value) {
    assert!(dom.contains("How it is used"), "{dom}");
    // The tiles, with the period before.
    for count in ["installations", "sessions", "batches", "events"] {
        let tag = format!("data-count=\"{count}\"><b>{}</b>", report[count]);
        assert!(dom.contains(&tag), "tile {count}: {tag}");
    }
    let tag = format!("data-previous=\"{}\"", report["previous"]["installations"]);
    assert!(dom.contains(&tag), "{tag}");
    // Every breakdown is a chart with the same rows, in the same order; `metrics` is cut
    // into three, and what describes installations is drawn as adoption.
    for (name, expected) in report["breakdowns"].as_object().unwrap() {
        if ["metrics", "flows_defined", "tasks_defined"].contains(&name.as_str()) {
            continue;
        }
        let expected: Vec<(String, u64, u64)> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["value"].as_str().unwrap().to_owned(),
                    r["installations"].as_u64().unwrap(),
                    r["total"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(rows(dom, name), expected, "chart {name}");
    }
    // Adoption: each installation once, at its latest value.
    let mut adoption = 0;
    for (name, shares) in report["adoption"].as_object().unwrap() {
        let shares = shares.as_array().unwrap();
        if shares.is_empty() {
            continue;
        }
        adoption += 1;
        let drawn: Vec<(String, String, f64)> = marks(dom, &format!("adoption.{name}"), "share")
            .iter()
            .map(|m| {
                (
                    m["data-value"].clone(),
                    m["data-installations"].clone(),
                    float(&m["data-share"]),
                )
            })
            .collect();
        let expected: Vec<(String, String, f64)> = shares
            .iter()
            .map(|s| {
                (
                    number(&s["value"]),
                    number(&s["installations"]),
                    s["share"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(drawn, expected, "adoption.{name}");
    }
    assert!(adoption >= 5, "{adoption} adoption charts");
    // A release's spread: each period's sessions per release.
    let periods = report["trends"]["periods"].as_array().unwrap();
    let spread = marks(dom, "spread", "period");
    assert_eq!(spread.len(), periods.len());
    let versions = report["trends"]["breakdowns"]["app_versions"]["rows"]
        .as_array()
        .unwrap();
    for (p, drawn) in spread.iter().enumerate() {
        assert_eq!(drawn["data-period"], number(&periods[p]));
        let expected: Vec<String> = versions
            .iter()
            .filter(|r| r["per_period"][p].as_u64().unwrap() > 0)
            .map(|r| format!("{}:{}", number(&r["value"]), r["per_period"][p]))
            .collect();
        assert_eq!(drawn["data-values"], expected.join(","), "period {p}");
    }
    // Failure rates per release and OS.
    for table in ["by_version", "by_os"] {
        let drawn: Vec<(String, String, f64, Option<String>)> =
            marks(dom, &format!("failures.{table}"), "failure")
                .iter()
                .map(|m| {
                    (
                        m["data-value"].clone(),
                        m["data-runs"].clone(),
                        float(&m["data-failure-rate"]),
                        m.get("data-worse-than").cloned(),
                    )
                })
                .collect();
        let expected: Vec<(String, String, f64, Option<String>)> = report["failures"][table]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let runs =
                    f["flows"]["runs"].as_u64().unwrap() + f["tasks"]["runs"].as_u64().unwrap();
                (
                    number(&f["value"]),
                    runs.to_string(),
                    f["failure_rate"].as_f64().unwrap(),
                    f["worse_than"].as_str().map(str::to_owned),
                )
            })
            .collect();
        assert_eq!(drawn, expected, "failures.{table}");
    }
    // Every trend, beside the period before.
    for (name, trend) in report["trends"]["breakdowns"].as_object().unwrap() {
        let drawn: Vec<(String, String, String, String)> =
            marks(dom, &format!("trend.{name}"), "trend")
                .iter()
                .map(|m| {
                    (
                        m["data-value"].clone(),
                        m["data-total"].clone(),
                        m["data-previous"].clone(),
                        m["data-series"].clone(),
                    )
                })
                .collect();
        let expected: Vec<(String, String, String, String)> = trend["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let series: Vec<String> = r["per_period"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(number)
                    .collect();
                (
                    number(&r["value"]),
                    number(&r["total"]),
                    number(&r["previous"]),
                    series.join(","),
                )
            })
            .collect();
        assert_eq!(drawn, expected, "trend.{name}");
    }
    // Each day of the window is a column; the days with data carry the report's numbers.
    let days: Vec<&str> = dom.split("<g class=\"day\"").skip(1).collect();
    assert_eq!(days.len(), 30);
    for day in report["per_day"].as_array().unwrap() {
        let tag = format!(
            "data-date=\"{}\" data-installations=\"{}\" data-sessions=\"{}\" data-events=\"{}\"",
            day["date"].as_str().unwrap(),
            day["installations"],
            day["sessions"],
            day["events"]
        );
        assert!(dom.contains(&tag), "{tag}");
    }
    // Nothing is fetched from anywhere, and every link stays on this collector.
    assert!(!dom.contains(" src="));
    for link in dom.split(" href=\"").skip(1) {
        assert!(
            link.starts_with('?') || link.starts_with("v1/report/"),
            "{}",
            &link[..link.len().min(80)]
        );
    }
}

fn screenshot(profile: &Path, page: &str, name: &str) {
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&shot);
    chromium(
        profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,4200",
        ],
        page,
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot kept at {}", shot.display());
}

#[test]
fn the_dashboard_shows_the_reports_numbers_in_a_real_browser() {
    let place = Place::new(Kind::Sqlite);
    let logs = Logs::default();
    let mut options = place.options(&logs);
    options.min_installations = 2;
    // 2026-06-15; batches from the days before.
    options.today = Today::Fixed(20_619);
    let collector = Collector::start(options).unwrap();
    seed(&collector);
    let report = common::report_json(&collector, "days=30");
    assert_eq!(report["installations"], 6);
    assert_eq!(report["previous"]["installations"], 1);
    assert_eq!(report["failures"]["by_version"][0]["worse_than"], "0.1.0");

    let profile = tempfile::tempdir().unwrap();
    let page = format!("{}/?days=30", collector.url());
    let dom = chromium(profile.path(), &["--dump-dom"], &page);
    check_page(&dom, &report);
    // The folded OS: freebsd (one installation) is `other`.
    let os: Vec<String> = rows(&dom, "os").into_iter().map(|r| r.0).collect();
    assert_eq!(os, ["linux", "macos", "other"]);
    // The worse release is marked.
    assert!(dom.contains("worse than 0.1.0"));
    // The filter bar offers the breakdowns' values.
    assert!(dom.contains("<select name=\"os\""), "no OS filter");
    assert!(dom.contains("<option value=\"macos\">macos</option>"));
    screenshot(profile.path(), &page, "dashboard.png");

    // A filtered view, as a link would share it: the same page narrowed.
    let query = "days=30&os=linux&every=day";
    let filtered = common::report_json(&collector, query);
    assert_eq!(filtered["installations"], 3);
    let page = format!("{}/?{query}", collector.url());
    let dom = chromium(profile.path(), &["--dump-dom"], &page);
    check_page(&dom, &filtered);
    assert!(dom.contains("data-filter=\"os\" data-filter-value=\"linux\""));
    assert!(
        dom.contains("<option value=\"linux\" selected=\"\">linux</option>"),
        "the filter's list shows it"
    );
    screenshot(profile.path(), &page, "dashboard-filtered.png");
}
