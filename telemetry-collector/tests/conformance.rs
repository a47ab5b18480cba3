//! One suite, run against both stores: SQLite (a file in the test's directory) and a real
//! ClickHouse server (Debian's `clickhouse-server`, started on a free loopback port with a
//! temporary data directory, see `common/mod.rs`). Each test has its own SQLite file or
//! ClickHouse database.

#[macro_use]
mod common;

use common::{
    Acme, Kind, Logs, Place, delete, files_containing, get, post, post_at_once, real_batch, variant,
};
use telemetry_collector::{Collector, Today};

fn batch_url(c: &Collector) -> String {
    format!("{}/v1/batch", c.url())
}

/// Real runs of `acme` land, and the report and the dashboard show them.
fn acme_runs_land_and_show_in_the_report(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let (first, second) = (Acme::new(&collector.url()), Acme::new(&collector.url()));
    for (acme, args) in [
        (&first, &["run", "--pipeline", "nightly"][..]),
        (&first, &["run", "--verbose"][..]),
        (&second, &["run"][..]),
    ] {
        let out = acme.run(args);
        assert!(out.status.success(), "{out:?}");
    }
    let report = collector.report(30, None).unwrap();
    assert_eq!(
        (
            report.installations,
            report.sessions,
            report.batches,
            report.events
        ),
        (2, 3, 3, 12),
        "{report:#?}"
    );
    let commands = common::values(&report, "commands");
    assert!(
        commands.contains(&"acme run --pipeline *****".to_owned()),
        "{commands:?}"
    );
    assert!(
        commands.contains(&"acme run --verbose".to_owned()),
        "{commands:?}"
    );
    let caching = report.breakdowns["features"]
        .iter()
        .find(|r| r.value == "caching")
        .unwrap();
    assert_eq!((caching.installations, caching.share), (2, Some(1.0)));
    let custom = &report.breakdowns["custom_events"][0];
    assert_eq!(
        (custom.value.as_str(), custom.total),
        ("pipeline_finished", 3)
    );
    let retries = report.breakdowns["metrics"]
        .iter()
        .find(|r| r.value == "retry_attempts")
        .unwrap();
    assert_eq!(retries.total, 3, "acme's fetch fails once per run");

    // `/v1/report` is the same report, as JSON.
    let json = common::report_json(&collector, "");
    assert_eq!(json, serde_json::to_value(&report).unwrap());
    let (status, page) = get(&format!("{}/", collector.url()));
    assert_eq!(status, 200);
    assert!(page.contains("data-chart=\"features\""));
    assert!(page.contains("data-value=\"acme run --pipeline *****\""));
}

/// Every kind of off-schema batch is refused with 400 (or 413) naming the field, nothing
/// of it is stored; what a newer client may add is left out and counted instead; and the
/// canary either carries is in no file of the store and no log line.
fn off_schema_batches_are_refused_and_leave_no_trace(kind: Kind) {
    const CANARY: &str = "Canary-7Hq!private";
    let place = Place::new(kind);
    let logs = Logs::default();
    let collector = place.start(&logs);
    let good = variant(real_batch(), &common::new_id(), None, None);
    let tail = good.rfind('}').unwrap();
    let bad: Vec<(&str, String, &str)> = vec![
        (
            "the canary as a version",
            good.replacen(
                "\"app_version\":\"0.1.0\"",
                &format!("\"app_version\":\"{CANARY}\""),
                1,
            ),
            "events[0].app_version",
        ),
        (
            "the canary as a command",
            good.replacen(
                "acme run --pipeline *****",
                &format!("acme run {CANARY}"),
                1,
            ),
            "events[2].command",
        ),
        (
            "the canary as an os",
            good.replacen("\"os\":\"linux\"", &format!("\"os\":\"{CANARY}\""), 1),
            "events[0].os",
        ),
        (
            "a wrong type",
            good.replacen("\"interactive\":false", "\"interactive\":\"no\"", 1),
            "events[0].interactive",
        ),
        (
            "another schema version",
            good.replacen("\"schema_version\":1", "\"schema_version\":2", 1),
            "schema_version",
        ),
        (
            "an exact count as a field",
            good.replacen("\"words\":\"6-10\"", "\"words\":7", 1),
            "events[3].fields.words",
        ),
        (
            "a count past 2^53 - 1",
            good.replacen("\"cache_hits\":1", "\"cache_hits\":9007199254740992", 1),
            "events[1].metrics.cache_hits",
        ),
        (
            "a key twice",
            good.replacen("\"cache_hits\":1", "\"cache_hits\":1,\"cache_hits\":1", 1),
            "events[1].metrics.cache_hits",
        ),
        ("not JSON", format!("{CANARY} {{"), ""),
        ("trailing bytes", format!("{good}{CANARY}"), ""),
        ("nothing", String::new(), ""),
    ];
    for (what, body, at) in &bad {
        assert_ne!(body, &good, "{what}: the variant changed nothing");
        let (status, answer) = common::post_for_answer(&batch_url(&collector), body.as_bytes());
        assert_eq!(status, 400, "{what}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["at"], *at, "{what}: {answer}");
        assert!(!answer["error"].as_str().unwrap().is_empty());
    }
    // An app that is not a name, and a body over 1 MiB.
    let url = format!("{}?app={CANARY}", batch_url(&collector));
    assert_eq!(post(&url, good.as_bytes()), 400);
    let huge = format!("{}{}{CANARY}\"}}", &good[..tail], " ".repeat(1 << 20));
    // Refused on its announced length, unread: the connection may close while it is sent.
    let status = post(&batch_url(&collector), huge.as_bytes());
    assert!(matches!(status, 413 | 0), "{status}");
    let report = collector.report(30, None).unwrap();
    assert_eq!((report.batches, report.events), (0, 0));
    // What a newer client may add is taken, left out and counted, the canary with it.
    let newer = variant(real_batch(), &common::new_id(), None, None);
    let tail = newer.rfind('}').unwrap();
    let newer = format!("{},\"user\":\"{CANARY}\"}}", &newer[..tail])
        .replacen("\"<1s\":", &format!("\"{CANARY}\":2,\"<1s\":"), 1)
        .replacen("\"event_type\":\"session\"", "\"event_type\":\"visit\"", 1);
    assert_eq!(post(&batch_url(&collector), newer.as_bytes()), 200);
    let report = collector.report(30, None).unwrap();
    assert_eq!((report.batches, report.events), (1, 3));
    let l = report.left_out;
    assert_eq!((l.fields, l.event_types, l.values), (2, 1, 0));
    // The good one is taken.
    assert_eq!(post(&batch_url(&collector), good.as_bytes()), 200);
    collector.shutdown();

    let log = logs.text();
    assert!(
        log.contains("debug: refused a batch"),
        "refusals are logged at debug: {log}"
    );
    assert!(!log.contains("warn") && !log.contains("error"), "{log}");
    assert!(!log.contains(CANARY), "{log}");
    let dirs = match kind {
        Kind::Sqlite => vec![place.dir.path().to_owned()],
        // The server's data and its own logs.
        Kind::ClickHouse => vec![common::clickhouse().dir.clone()],
        Kind::Sharded => common::shards().iter().map(|s| s.dir.clone()).collect(),
    };
    for dir in dirs {
        let found = files_containing(&dir, CANARY.as_bytes());
        assert!(found.is_empty(), "the canary is in {found:?}");
        // The scan would have found it: the good batch's ids are there.
        if kind == Kind::Sqlite {
            let id = &good[good.find("\"batch_id\":\"").unwrap() + 12..][..36];
            assert!(!files_containing(&dir, id.as_bytes()).is_empty());
        }
    }
}

/// The same batch, sent again or many times at once, is acknowledged each time and stored
/// once.
fn duplicates_are_stored_once(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let once = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(post(&batch_url(&collector), once.as_bytes()), 200);
    assert_eq!(post(&batch_url(&collector), once.as_bytes()), 200);
    let racing = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(
        post_at_once(&vec![batch_url(&collector); 8], &racing),
        [200; 8]
    );
    let report = collector.report(30, None).unwrap();
    assert_eq!(
        (report.batches, report.events, report.installations),
        (2, 8, 2)
    );
    let runs = report.breakdowns["metrics"]
        .iter()
        .find(|r| r.value == "flow_runs.calls")
        .unwrap();
    assert_eq!(runs.total, 2, "counts are summed once per batch");
}

/// `DELETE /v1/installations/{id}` removes everything of that installation, and only that.
fn an_installation_can_be_deleted(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let (gone, kept) = (common::new_id(), common::new_id());
    for install in [&gone, &gone, &kept] {
        let body = variant(real_batch(), install, None, None);
        assert_eq!(post(&batch_url(&collector), body.as_bytes()), 200);
    }
    assert_eq!(collector.report(30, None).unwrap().installations, 2);
    let url = |id: &str| format!("{}/v1/installations/{id}", collector.url());
    assert_eq!(delete(&url(&gone.to_uppercase())), 204);
    let report = collector.report(30, None).unwrap();
    assert_eq!((report.installations, report.events), (1, 4));
    let features = &report.breakdowns["features"];
    assert!(
        features.iter().all(|r| r.installations == 1),
        "{features:?}"
    );
    // A batch acknowledged just before the request is deleted with the rest: it does not
    // land after the `204` and bring the installation back.
    let late = variant(real_batch(), &gone, None, None);
    assert_eq!(post(&batch_url(&collector), late.as_bytes()), 200);
    assert_eq!(delete(&url(&gone)), 204);
    let report = collector.report(30, None).unwrap();
    assert_eq!((report.installations, report.events), (1, 4));
    // Again, or an id never seen: nothing to delete, still done.
    assert_eq!(delete(&url(&gone)), 204);
    assert_eq!(delete(&url("not-an-id")), 400);
    assert_eq!(collector.report(30, None).unwrap().installations, 1);
}

/// A breakdown row seen from fewer than K installations is folded into `other`, in the
/// report, its JSON and the dashboard.
fn rare_values_are_folded_into_other(kind: Kind) {
    let place = Place::new(kind);
    let logs = Logs::default();
    let mut options = place.options(&logs);
    options.min_installations = 5;
    let collector = Collector::start(options).unwrap();
    for os in ["linux"; 6]
        .into_iter()
        .chain(["macos", "macos", "freebsd"])
    {
        let body = variant(real_batch(), &common::new_id(), Some(os), None);
        assert_eq!(post(&batch_url(&collector), body.as_bytes()), 200);
    }
    let report = collector.report(30, None).unwrap();
    assert_eq!(report.installations, 9);
    let os: Vec<_> = report.breakdowns["os"]
        .iter()
        .map(|r| (r.value.as_str(), r.installations))
        .collect();
    assert_eq!(os, [("linux", 6), ("other", 3)]);
    let json = get(&format!("{}/v1/report", collector.url())).1;
    let page = get(&format!("{}/", collector.url())).1;
    for text in [&json, &page] {
        assert!(!text.contains("macos") && !text.contains("freebsd"));
        assert!(text.contains("linux"));
    }
}

/// Raw events older than the retention are deleted (at start, here, as the clock moved
/// on); the days keep their totals, so the per-day chart keeps its history.
fn the_retention_deletes_old_events_and_keeps_daily_totals(kind: Kind) {
    let place = Place::new(kind);
    let logs = Logs::default();
    let mut options = place.options(&logs);
    options.retention_days = 90;
    // 2026-03-08 (day 20520): yesterday's batch arrives.
    options.today = Today::Fixed(20_520);
    let collector = Collector::start(options.clone()).unwrap();
    let old = variant(
        real_batch(),
        &common::new_id(),
        Some("macos"),
        Some("2026-03-07T10"),
    );
    assert_eq!(post(&batch_url(&collector), old.as_bytes()), 200);
    // The same day, for another app: each app's totals of the day are kept.
    let other = variant(
        real_batch(),
        &common::new_id(),
        Some("macos"),
        Some("2026-03-07T11"),
    );
    let url = format!("{}?app=other", batch_url(&collector));
    assert_eq!(post(&url, other.as_bytes()), 200);
    collector.shutdown();

    // 2026-06-15 (day 20619): yesterday's batch arrives; the March ones are 100 days old.
    options.today = Today::Fixed(20_619);
    let collector = Collector::start(options.clone()).unwrap();
    let recent = variant(real_batch(), &common::new_id(), None, Some("2026-06-14T10"));
    assert_eq!(post(&batch_url(&collector), recent.as_bytes()), 200);
    let after = collector.report(365, None).unwrap();
    // The March installation is gone; the totals of its day, which carry no id, stay.
    assert_eq!(
        (after.installations, after.batches, after.events),
        (1, 3, 12)
    );
    // Its values too, as totals no installation of the window stands for: folded.
    let os: Vec<_> = after.breakdowns["os"]
        .iter()
        .map(|r| (r.value.as_str(), r.installations, r.total))
        .collect();
    assert_eq!(os, [("linux", 1, 1), ("other", 0, 2)]);
    let days: Vec<_> = after
        .per_day
        .iter()
        .map(|d| (d.date.as_str(), d.installations, d.events))
        .collect();
    assert_eq!(days, [("2026-03-07", 2, 8), ("2026-06-14", 1, 4)]);
    // The window bounds the kept totals too.
    assert_eq!(collector.report(30, None).unwrap().per_day.len(), 1);
    // A batch as old as that, arriving late, is acknowledged but not kept.
    let late = variant(
        real_batch(),
        &common::new_id(),
        Some("macos"),
        Some("2026-03-01T10"),
    );
    assert_eq!(post(&batch_url(&collector), late.as_bytes()), 200);
    let report = collector.report(365, None).unwrap();
    assert_eq!((report.events, report.per_day.len()), (12, 2));
}

/// A collector started again on the same store shows what the first one stored.
fn a_restart_keeps_the_data(kind: Kind) {
    let place = Place::new(kind);
    let logs = Logs::default();
    let first = place.start(&logs);
    for _ in 0..3 {
        let body = variant(real_batch(), &common::new_id(), None, None);
        assert_eq!(post(&batch_url(&first), body.as_bytes()), 200);
    }
    let before = first.report(30, None).unwrap();
    first.shutdown();
    let second = place.start(&logs);
    assert_eq!(second.report(30, None).unwrap(), before);
    assert_eq!(before.batches, 3);
    // And it still stores each batch once.
    let again = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(post(&batch_url(&second), again.as_bytes()), 200);
    assert_eq!(post(&batch_url(&second), again.as_bytes()), 200);
    assert_eq!(second.report(30, None).unwrap().batches, 4);
}

/// Health, unknown routes and bad report windows.
fn health_and_bad_requests(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let base = collector.url();
    assert_eq!(get(&format!("{base}/healthz")), (200, "ok\n".to_owned()));
    assert_eq!(get(&format!("{base}/nothing-here")).0, 404);
    assert_eq!(get(&format!("{base}/v1/report?days=0")).0, 400);
    assert_eq!(get(&format!("{base}/v1/report?app=Not%20A%20Name")).0, 400);
    assert_eq!(get(&format!("{base}/v1/batch")).0, 405);
    // The app filter keeps batches sent to `?app=`.
    let body = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(
        post(&format!("{base}/v1/batch?app=acme"), body.as_bytes()),
        200
    );
    let other = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(post(&format!("{base}/v1/batch"), other.as_bytes()), 200);
    assert_eq!(common::report_json(&collector, "app=acme")["batches"], 1);
    assert_eq!(common::report_json(&collector, "")["batches"], 2);
}

on_every_store!(
    acme_runs_land_and_show_in_the_report,
    off_schema_batches_are_refused_and_leave_no_trace,
    duplicates_are_stored_once,
    an_installation_can_be_deleted,
    rare_values_are_folded_into_other,
    the_retention_deletes_old_events_and_keeps_daily_totals,
    a_restart_keeps_the_data,
    health_and_bad_requests,
);

/// Two collectors in front of one ClickHouse, each batch arriving on both at the same
/// moment: every batch is stored once.
#[test]
fn two_collectors_on_one_clickhouse_store_each_batch_once() {
    let place = Place::new(Kind::ClickHouse);
    let logs = Logs::default();
    // Each collector has a write-ahead log of its own (a shared one refuses the second).
    let a = place.start(&logs);
    let mut second = place.options(&logs);
    second.wal_dir = Some(place.dir.path().join("wal-b"));
    let b = Collector::start(second).unwrap();
    let urls = [batch_url(&a), batch_url(&b)];
    for _ in 0..20 {
        let body = variant(real_batch(), &common::new_id(), None, None);
        assert_eq!(post_at_once(&urls, &body), [200, 200]);
    }
    // Both buffers written, then each collector reports on everything.
    assert!(a.flush() && b.flush());
    for c in [&a, &b] {
        let report = c.report(30, None).unwrap();
        assert_eq!(
            (report.batches, report.events, report.installations),
            (20, 80, 20)
        );
        let calls = report.breakdowns["metrics"]
            .iter()
            .find(|r| r.value == "flow_runs.calls")
            .unwrap();
        assert_eq!(calls.total, 20);
    }
}
