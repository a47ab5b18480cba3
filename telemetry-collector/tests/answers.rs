//! The maintainer's answers on both stores: adoption (each installation once, at its latest
//! value), trends beside the period before, failure rates per release and OS, filters by any
//! breakdown (still k-anonymous) and every chart's export, from real batches of `acme` made
//! to tell a known story.

#[macro_use]
mod common;

use common::{ERRORS, Kind, Logs, Place, batch, get, post};
use serde_json::{Value, json};
use telemetry_collector::{Collector, Today};

/// 2026-06-15; the window is its last 7 days (06-09 to 06-15), the period before 06-02 to
/// 06-08.
const TODAY: i64 = 20_619;

/// Eight installations: four move from 0.1.0 to 0.2.0 (five times the failures), two stay
/// on 0.1.0 on macOS, one arrives on 0.2.0 on FreeBSD, one was seen only the week before.
fn seeded(kind: Kind) -> (Place, Collector) {
    let place = Place::new(kind);
    let logs = Logs::default();
    let mut options = place.options(&logs);
    options.min_installations = 2;
    options.today = Today::Fixed(TODAY);
    let collector = Collector::start(options).unwrap();
    let url = format!("{}/v1/batch", collector.url());
    let send = |body: String| assert_eq!(post(&url, body.as_bytes()), 200);
    for _ in 0..4 {
        let id = common::new_id();
        send(batch(&id, "0.1.0", "linux", "2026-06-10T09", 100, 1));
        send(batch(&id, "0.2.0", "linux", "2026-06-13T10", 100, 5));
    }
    for _ in 0..2 {
        send(batch(
            &common::new_id(),
            "0.1.0",
            "macos",
            "2026-06-12T08",
            100,
            1,
        ));
    }
    send(batch(
        &common::new_id(),
        "0.2.0",
        "freebsd",
        "2026-06-14T20",
        100,
        0,
    ));
    send(batch(
        &common::new_id(),
        "0.1.0",
        "linux",
        "2026-06-05T12",
        100,
        0,
    ));
    (place, collector)
}

fn report(c: &Collector, query: &str) -> Value {
    common::report_json(c, &format!("days=7{query}"))
}

/// (value, installations, share) of an adoption chart.
fn adoption(r: &Value, name: &str) -> Vec<(String, u64, f64)> {
    r["adoption"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let v = s["value"].as_str().unwrap().to_owned();
            (
                v,
                s["installations"].as_u64().unwrap(),
                s["share"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// (value, runs, failed, worse than) of a failure table.
fn failures(r: &Value, name: &str) -> Vec<(String, u64, u64, Option<String>)> {
    r["failures"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_owned(),
                f["flows"]["runs"].as_u64().unwrap(),
                f["flows"]["failed"].as_u64().unwrap(),
                f["worse_than"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn answers_follow_installations_releases_and_failures(kind: Kind) {
    let (_place, c) = seeded(kind);
    let r = report(&c, "");
    assert_eq!(r["installations"], 7);
    assert_eq!(r["previous"]["installations"], 1, "{}", r["previous"]);
    assert_eq!(r["previous"]["from"], "2026-06-02");
    // Ever sent in the window: the four that moved count under both releases.
    let ever: Vec<(String, u64)> = r["breakdowns"]["app_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                s(row["value"].as_str().unwrap()),
                row["installations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ever, [(s("0.1.0"), 6), (s("0.2.0"), 5)]);
    // Adoption: each installation once, at its latest release.
    assert_eq!(
        adoption(&r, "app_versions"),
        [(s("0.2.0"), 5, 0.714), (s("0.1.0"), 2, 0.286)]
    );
    // FreeBSD's one installation is folded.
    assert_eq!(
        adoption(&r, "os"),
        [
            (s("linux"), 4, 0.571),
            (s("macos"), 2, 0.286),
            (s("other"), 1, 0.143)
        ]
    );
    // `tasks_defined` describes installations: acme defines two tasks.
    assert_eq!(adoption(&r, "tasks_defined"), [(s("2-4"), 7, 1.0)]);
    // Failure rates: 0.2.0 fails four times as often, and says so.
    assert_eq!(
        failures(&r, "by_version"),
        [
            (s("0.2.0"), 500, 20, Some(s("0.1.0"))),
            (s("0.1.0"), 600, 6, None)
        ]
    );
    assert_eq!(r["failures"]["by_version"][0]["failure_rate"], 0.04);
    assert_eq!(r["failures"]["by_version"][1]["errors"], 6 * ERRORS);
    // Error types per 1,000 runs: 11 batches in the window, of 100 runs and two errors.
    let rate = &r["failures"]["error_types"][0];
    assert_eq!(rate["value"], "std::io::Error(TimedOut)");
    assert_eq!(
        (rate["occurrences"].as_u64(), rate["per_1000_runs"].as_f64()),
        (Some(22), Some(20.0))
    );
    assert_eq!(
        failures(&r, "by_os"),
        [
            (s("linux"), 800, 24, None),
            (s("macos"), 200, 2, None),
            (s("other"), 100, 0, None)
        ]
    );
    assert_eq!(r["failures"]["all"]["flows"]["runs"], 1100);
    // Trends: sessions per release per day, beside the week before.
    assert_eq!(r["trends"]["periods"].as_array().unwrap().len(), 7);
    let trend = &r["trends"]["breakdowns"]["app_versions"]["rows"];
    let row = |v: &str| {
        trend
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["value"] == v)
            .unwrap()
    };
    assert_eq!(row("0.1.0")["per_period"], json!([0, 4, 0, 2, 0, 0, 0]));
    assert_eq!(row("0.2.0")["per_period"], json!([0, 0, 0, 0, 4, 1, 0]));
    assert_eq!(
        (
            row("0.1.0")["total"].as_u64(),
            row("0.1.0")["previous"].as_u64()
        ),
        (Some(6), Some(1))
    );
    assert_eq!(row("0.2.0")["previous"], 0);
    // By week: one period of seven days.
    let weekly = report(&c, "&every=week");
    assert_eq!(weekly["trends"]["periods"], json!(["2026-06-09"]));
    let rows = &weekly["trends"]["breakdowns"]["app_versions"]["rows"];
    assert_eq!(rows[0]["per_period"], json!([6]));
}

fn filters_narrow_the_whole_report_and_stay_k_anonymous(kind: Kind) {
    let (_place, c) = seeded(kind);
    // The installations now on macOS: their counts alone.
    let mac = report(&c, "&os=macos");
    assert_eq!(mac["filters"], json!({"os": "macos"}));
    assert_eq!(mac["installations"], 2);
    assert_eq!(mac["sessions"], 2);
    assert_eq!(adoption(&mac, "app_versions"), [(s("0.1.0"), 2, 1.0)]);
    assert_eq!(failures(&mac, "by_os"), [(s("macos"), 200, 2, None)]);
    assert_eq!(mac["failures"]["all"]["flows"]["runs"], 200);
    let per_day: Vec<&str> = mac["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(per_day, ["2026-06-12"]);
    // By latest release: the five on 0.2.0, with what they ran before.
    let latest = report(&c, "&app_versions=0.2.0");
    assert_eq!(latest["installations"], 5);
    assert_eq!(
        failures(&latest, "by_version"),
        [
            (s("0.2.0"), 500, 20, Some(s("0.1.0"))),
            (s("0.1.0"), 400, 4, None)
        ]
    );
    // Two filters: both must hold.
    let both = report(&c, "&app_versions=0.1.0&os=macos");
    assert_eq!(
        (both["installations"].as_u64(), both["below_k"].as_bool()),
        (Some(2), None)
    );
    // Filters that leave out fewer than K of what the others match would tell those few
    // apart by the difference: 0.2.0 on Linux is 4 of the 5 on 0.2.0, and the fifth is
    // the FreeBSD one.
    let differ = report(&c, "&app_versions=0.2.0&os=linux");
    assert_eq!(differ["below_k"], true);
    assert_eq!(differ["installations"], 0);
    // A value anyone sent in the window (not one that moves): a feature, a command.
    let cached = report(&c, "&features=caching");
    assert_eq!(cached["installations"], 7);
    // Fewer than K installations: nothing at all.
    for narrow in ["&os=freebsd", "&os=plan9", "&app_versions=0.2.0&os=macos"] {
        let few = report(&c, narrow);
        assert_eq!(few["below_k"], true, "{narrow}");
        assert_eq!(few["installations"], 0, "{narrow}");
        assert_eq!(few["events"], 0, "{narrow}");
        assert_eq!(few["per_day"], json!([]), "{narrow}");
        assert_eq!(few["failures"]["by_os"], json!([]), "{narrow}");
        assert_eq!(few["adoption"]["os"], json!([]), "{narrow}");
    }
    // The dashboard takes the same query.
    let (status, page) = get(&format!("{}/?days=7&os=macos", c.url()));
    assert_eq!(status, 200);
    assert!(
        page.contains("data-filter=\"os\" data-filter-value=\"macos\""),
        "{page}"
    );
    let (status, _) = get(&format!("{}/v1/report?os=a&os=b", c.url()));
    assert_eq!(status, 400);
}

fn every_chart_exports_as_csv_and_json(kind: Kind) {
    let (_place, c) = seeded(kind);
    let r = report(&c, "&os=linux");
    for chart in [
        "per_day",
        "app_versions",
        "features",
        "adoption.app_versions",
        "trend.os",
        "failures.by_version",
        "failures.by_os",
        "failures.error_types",
    ] {
        let url = format!("{}/v1/report/{chart}.csv?days=7&os=linux", c.url());
        let answer = common::agent().get(&url).call().unwrap();
        let kind = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with("text/csv"), "{chart}: {kind}");
        let csv = answer.into_body().read_to_string().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines.len() >= 2, "{chart}: {csv}");
        let (status, body) = get(&format!(
            "{}/v1/report/{chart}.json?days=7&os=linux",
            c.url()
        ));
        assert_eq!(status, 200, "{chart}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["filters"], r["filters"], "{chart}");
        let data = &json["data"];
        let rows = data.get("rows").unwrap_or(data).as_array().unwrap();
        // One CSV line per row, after the header.
        assert_eq!(lines.len() - 1, rows.len(), "{chart}: {csv}");
    }
    let url = format!(
        "{}/v1/report/adoption.app_versions.csv?days=7&os=linux",
        c.url()
    );
    let (_, csv) = get(&url);
    assert_eq!(csv, "value,installations,share\r\n0.2.0,4,1\r\n");
    let (_, csv) = get(&format!(
        "{}/v1/report/failures.by_version.csv?days=7",
        c.url()
    ));
    assert!(csv.starts_with("value,flow_runs,flows_failed,"), "{csv}");
    assert!(csv.contains("\r\n0.2.0,500,20,0,0,0,0,"), "{csv}");
    assert!(
        csv.contains(",0.04,") && csv.contains(",0.1.0\r\n"),
        "{csv}"
    );
    // A chart with nothing in it, here a view below K, still exports (its link is on the
    // page): a header alone.
    let none = "days=7&app_versions=9.9.9";
    for (chart, header) in [
        ("os.csv", "value,installations,total,share\r\n"),
        ("trend.os.csv", "value,total,previous,"),
    ] {
        let (status, csv) = get(&format!("{}/v1/report/{chart}?{none}", c.url()));
        assert_eq!(status, 200, "{chart}");
        assert!(
            csv.starts_with(header) && csv.lines().count() == 1,
            "{chart}: {csv}"
        );
    }
    let (status, body) = get(&format!("{}/v1/report/trend.os.json?{none}", c.url()));
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["below_k"], true, "{body}");
    assert_eq!(json["data"]["rows"], serde_json::json!([]), "{body}");
    for missing in [
        "nothing.csv",
        "os.xml",
        "adoption.features.csv",
        "failures.x.json",
        "trend.nothing.json",
        "by_version.csv",
    ] {
        let (status, _) = get(&format!("{}/v1/report/{missing}", c.url()));
        assert_eq!(status, 404, "{missing}");
    }
}

on_every_store!(
    answers_follow_installations_releases_and_failures,
    filters_narrow_the_whole_report_and_stay_k_anonymous,
    every_chart_exports_as_csv_and_json,
);
