//! The dashboard in a real browser: Debian's `chromium`, headless, loads the page of a
//! seeded store; every chart's bars carry the numbers of `/v1/report`, and a screenshot is
//! kept in the target directory (`dashboard.png`).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Kind, Logs, Place, post, real_batch, variant};
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

/// The value of attribute `name` in the tag text `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// The opening tags of every `<g class="row">` inside the chart `chart` of `dom`.
fn rows(dom: &str, chart: &str) -> Option<Vec<(String, u64, u64)>> {
    let start = dom.find(&format!("data-chart=\"{chart}\""))?;
    let end = dom[start..].find("</section>")? + start;
    let section = &dom[start..end];
    Some(
        section
            .split("<g ")
            .skip(1)
            .filter(|g| g.starts_with("class=\"row\""))
            .map(|g| {
                let tag = format!(" {}", &g[..g.find('>').unwrap()]);
                (
                    attr(&tag, "data-value").unwrap(),
                    attr(&tag, "data-installations").unwrap().parse().unwrap(),
                    attr(&tag, "data-total").unwrap().parse().unwrap(),
                )
            })
            .collect(),
    )
}

#[test]
fn the_dashboard_shows_the_reports_numbers_in_a_real_browser() {
    let place = Place::new(Kind::Sqlite);
    let logs = Logs::default();
    let mut options = place.options(&logs);
    options.min_installations = 2;
    // 2026-06-15; batches from the five days before.
    options.today = Today::Fixed(20_619);
    let collector = Collector::start(options).unwrap();
    let seeds = [
        ("linux", "2026-06-10T09", 3),
        ("linux", "2026-06-12T14", 2),
        ("macos", "2026-06-13T08", 2),
        ("freebsd", "2026-06-14T20", 1),
    ];
    for (os, hour, installs) in seeds {
        for _ in 0..installs {
            let body = variant(real_batch(), &common::new_id(), Some(os), Some(hour));
            assert_eq!(
                post(&format!("{}/v1/batch", collector.url()), body.as_bytes()),
                200
            );
        }
    }
    let (status, json) = common::get(&format!("{}/v1/report?days=30", collector.url()));
    assert_eq!(status, 200);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["installations"], 8);

    let profile = tempfile::tempdir().unwrap();
    let page = format!("{}/?days=30", collector.url());
    let dom = chromium(profile.path(), &["--dump-dom"], &page);
    assert!(dom.contains("How it is used"), "{dom}");

    // The tiles.
    for count in ["installations", "sessions", "batches", "events"] {
        let tag = format!("data-count=\"{count}\"><b>{}</b>", report[count]);
        assert!(dom.contains(&tag), "tile {count}: {tag}");
    }
    // Every breakdown the report has is a chart with the same rows, in the same order.
    let mut charts = 0;
    for (name, expected) in report["breakdowns"].as_object().unwrap() {
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
        let shown = rows(&dom, name).unwrap_or_else(|| panic!("no chart {name}"));
        assert_eq!(shown, expected, "chart {name}");
        charts += usize::from(!shown.is_empty());
    }
    assert!(charts >= 10, "only {charts} charts have bars");
    // The folded OS: freebsd (one installation) is `other`.
    let os = rows(&dom, "os").unwrap();
    assert_eq!(
        os.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["linux", "macos", "other"]
    );
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
    // Nothing is fetched from anywhere.
    assert!(!dom.contains(" src=") && !dom.contains(" href="));

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,2600",
        ],
        &page,
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot kept at {}", shot.display());
}
