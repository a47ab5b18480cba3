//! The wire in the field, on both stores: every batch of the wire corpus (real batches
//! from every wire shape the runtime has had, `tests/wire_corpus/`) is accepted and counted;
//! the same batch re-serialised by another JSON writer counts the same; whatever the
//! runtime writes is accepted; counts at the wire's maximum neither wrap nor break a read;
//! the JSON Schema is served.

#[macro_use]
mod common;

use std::path::PathBuf;

use common::{Kind, Logs, Place, get, post, real_batch, variant};
use serde_json::Value;
use telemetry_collector::{Collector, Report, Today};
use telemetry_runtime::{Date, MAX_COUNT};

fn batch_url(c: &Collector) -> String {
    format!("{}/v1/batch", c.url())
}

fn corpus() -> Vec<(String, String)> {
    let dir = common::workspace().join("tests/wire_corpus");
    let mut entries: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path: PathBuf = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_owned();
            name.ends_with(".json")
                .then(|| (name, std::fs::read_to_string(&path).unwrap()))
        })
        .collect();
    entries.sort();
    assert!(entries.len() >= 2);
    entries
}

/// The day of a batch's first event, as the collector's clock sees it.
fn day_of(batch: &str) -> i64 {
    let json: Value = serde_json::from_str(batch).unwrap();
    let stamp = json["events"][0]["timestamp"].as_str().unwrap();
    let (y, m, d) = (&stamp[..4], &stamp[5..7], &stamp[8..10]);
    Date::new(y.parse().unwrap(), m.parse().unwrap(), d.parse().unwrap())
        .unwrap()
        .to_unix_days()
}

/// `batch` pretty-printed with every object's keys sorted, as `jq -S` writes it.
fn pretty_sorted(batch: &str) -> String {
    // serde_json's `Value` keeps objects in a sorted map.
    let value: Value = serde_json::from_str(batch).unwrap();
    serde_json::to_string_pretty(&value).unwrap()
}

fn start_on(place: &Place, day: i64) -> Collector {
    let mut options = place.options(&Logs::default());
    options.today = Today::Fixed(day);
    Collector::start(options).unwrap()
}

/// Every corpus batch is accepted and counted: its six events, one installation, its
/// error types, command and custom event, nothing left out.
fn every_corpus_batch_is_counted(kind: Kind) {
    for (name, batch) in corpus() {
        let place = Place::new(kind);
        let collector = start_on(&place, day_of(&batch));
        assert_eq!(
            post(&batch_url(&collector), batch.as_bytes()),
            200,
            "{name}"
        );
        let r = collector.report(30, None).unwrap();
        assert_eq!(
            (r.installations, r.sessions, r.batches, r.events),
            (1, 1, 1, 6),
            "{name}"
        );
        let total = |breakdown: &str, value: &str| {
            r.breakdowns[breakdown]
                .iter()
                .find(|row| row.value == value)
                .map(|row| row.total)
        };
        assert_eq!(
            total("errors", "std::io::Error(TimedOut)"),
            Some(2),
            "{name}"
        );
        assert_eq!(total("errors", "capture::Refused"), Some(1), "{name}");
        assert_eq!(total("metrics", "task_runs.calls"), Some(4), "{name}");
        assert_eq!(
            total("commands", "capture run --pipeline ***** --verbose *****"),
            Some(1)
        );
        assert_eq!(total("custom_events", "deploy_finished"), Some(1), "{name}");
        assert_eq!(total("integrations", "postgres"), Some(1), "{name}");
        assert_eq!(r.left_out, Default::default(), "{name}");
    }
}

/// Counts at the wire's maximum, in many batches and several events per batch, saturate
/// at it: no sum wraps (2,049 maximal counts of one key on one day pass 2^64 and would wrap
/// to below the maximum), turns into a float or fails a read.
fn maximal_counts_saturate_and_reads_still_work(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let mut template: Value = serde_json::from_str(real_batch()).unwrap();
    let usage = template["events"][1].clone();
    assert_eq!(usage["event_type"], "usage");
    let mut maximal = usage.clone();
    for key in ["cache_hits", "retry_attempts", "dropped_events"] {
        maximal["metrics"][key] = MAX_COUNT.into();
    }
    maximal["metrics"]["flow_runs"]["calls"] = MAX_COUNT.into();
    template["events"] = Value::Array(vec![maximal; 3]);
    let template = serde_json::to_string(&template).unwrap();
    let url = batch_url(&collector);
    let senders: Vec<_> = (0..3)
        .map(|_| {
            let (template, url) = (template.clone(), url.clone());
            std::thread::spawn(move || {
                for _ in 0..683 {
                    let body = variant(&template, &common::new_id(), None, None);
                    assert_eq!(post(&url, body.as_bytes()), 200);
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    // And ordinary counts beside them still read.
    let body = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(post(&batch_url(&collector), body.as_bytes()), 200);
    let check = |r: &Report| {
        assert_eq!(r.batches, 2050);
        for metric in ["cache_hits", "retry_attempts", "flow_runs.calls"] {
            let row = r.breakdowns["metrics"]
                .iter()
                .find(|row| row.value == metric)
                .unwrap();
            assert_eq!(row.total, MAX_COUNT, "{metric}");
        }
    };
    check(&collector.report(30, None).unwrap());
    let json = common::report_json(&collector, "");
    assert!(json["breakdowns"]["metrics"].is_array());
    assert_eq!(get(&format!("{}/", collector.url())).0, 200);
    // After a restart too.
    collector.shutdown();
    let collector = place.start(&Logs::default());
    check(&collector.report(30, None).unwrap());
}

/// Whatever the runtime writes (random events of every type, every metric and bucket,
/// commands across the word cap) is accepted and every event counted.
fn every_batch_the_runtime_writes_is_accepted(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let mut events = 0;
    for seed in 0..300 {
        let body = telemetry_runtime::__testing::random_batch(seed);
        let (status, answer) = common::post_for_answer(&batch_url(&collector), &body);
        assert_eq!(status, 200, "seed {seed}: {answer}");
        let json: Value = serde_json::from_slice(&body).unwrap();
        events += json["events"].as_array().unwrap().len() as u64;
    }
    let r = collector.report(30, None).unwrap();
    assert_eq!(r.events, events);
    assert_eq!(r.left_out, Default::default());
}

on_both_stores!(
    every_corpus_batch_is_counted,
    maximal_counts_saturate_and_reads_still_work,
    every_batch_the_runtime_writes_is_accepted,
);

/// The oldest corpus batch, the same batch pretty-printed with sorted keys, and a batch of
/// today's runtime: on SQLite and on ClickHouse, the two forms count the same.
#[test]
fn old_pretty_and_new_batches_count_the_same_on_both_stores() {
    let (_, old) = corpus().remove(0);
    let day = day_of(&old);
    let today = variant(real_batch(), &common::new_id(), None, None);
    // Today's batch, moved to the corpus batch's day so one window holds both.
    let stamp = &serde_json::from_str::<Value>(&old).unwrap()["events"][0]["timestamp"];
    let today = variant(
        &today,
        &common::new_id(),
        None,
        Some(&stamp.as_str().unwrap()[..13]),
    );
    let mut reports = Vec::new();
    for kind in [Kind::Sqlite, Kind::ClickHouse] {
        for form in [old.clone(), pretty_sorted(&old)] {
            let place = Place::new(kind);
            let collector = start_on(&place, day);
            assert_eq!(post(&batch_url(&collector), form.as_bytes()), 200);
            assert_eq!(post(&batch_url(&collector), today.as_bytes()), 200);
            // The pretty form is the same batch: a copy of it adds nothing.
            assert_eq!(
                post(&batch_url(&collector), pretty_sorted(&old).as_bytes()),
                200
            );
            let report = collector.report(30, None).unwrap();
            assert_eq!((report.batches, report.events), (2, 10), "{kind:?}");
            reports.push(report);
        }
    }
    for r in &reports[1..] {
        assert_eq!(r, &reports[0]);
    }
}

/// `GET /v1/schema` serves the JSON Schema the runtime generates, which the repository
/// keeps beside `TELEMETRY.md`.
#[test]
fn the_json_schema_is_served() {
    let place = Place::new(Kind::Sqlite);
    let collector = place.start(&Logs::default());
    let (status, served) = get(&format!("{}/v1/schema", collector.url()));
    assert_eq!(status, 200);
    assert_eq!(served, telemetry_runtime::cli::json_schema());
    let committed =
        std::fs::read_to_string(common::workspace().join("TELEMETRY.schema.json")).unwrap();
    assert_eq!(committed.trim_end(), served.trim_end());
}

/// A refused batch's reason reaches the host's `log`, and `status` says when.
#[test]
fn a_refusal_reason_reaches_log_and_status() {
    let place = Place::new(Kind::Sqlite);
    let collector = place.start(&Logs::default());
    // An app that is not a name: the one refusal a batch of ours can meet here.
    let acme =
        common::Acme::with_endpoint(&format!("{}/v1/batch?app=Not%20A%20Name", collector.url()));
    assert!(acme.run(&["run"]).status.success());
    let log = String::from_utf8(acme.run(&["telemetry", "log"]).stdout).unwrap();
    assert!(
        log.contains(
            "refused by the collector (HTTP 400: the query parameter is not a name at app)"
        ),
        "{log}"
    );
    let status = String::from_utf8(acme.run(&["telemetry", "status"]).stdout).unwrap();
    assert!(status.contains("Last refused: "), "{status}");
    assert!(status.contains("(HTTP 400: the query parameter is not a name at app)"));
    assert_eq!(collector.report(30, None).unwrap().batches, 0);
}
