//! Collection configs end to end, on both stores: real `acme` processes fetch the config
//! from a real collector and send less; the collector serves it with an `ETag`, enforces it
//! on what older clients send, and scales sampled counts back up as estimates.

#[macro_use]
mod common;

use common::{Acme, Kind, Logs, Place, get, post_for_answer, real_batch, variant};
use telemetry_collector::{Collector, ServedConfig};

fn start(place: &Place, config: &str) -> Collector {
    let mut options = place.options(&Logs::default());
    options.collection = Some(ServedConfig::new(config.as_bytes().to_vec()).unwrap());
    Collector::start(options).unwrap()
}

/// Whether `acme`'s log of sent batches holds any batch.
fn sent_anything(acme: &Acme) -> bool {
    let out = acme.run(&["telemetry", "log"]);
    !String::from_utf8_lossy(&out.stdout).contains("No batch sent from here is on record.")
}

fn sampling_zero_sends_nothing(kind: Kind) {
    let place = Place::new(kind);
    let collector = start(&place, r#"{"config_version":1,"default":{"sample":0}}"#);
    for _ in 0..3 {
        let acme = Acme::new(&collector.url());
        let out = acme.run(&["run"]);
        assert!(out.status.success(), "{out:?}");
        assert!(!sent_anything(&acme), "a batch left the machine");
        let status = String::from_utf8(acme.run(&["telemetry", "status"]).stdout).unwrap();
        assert!(
            status.contains("Collection config: c-") && status.contains(": sample 0"),
            "{status}"
        );
    }
    let report = collector.report(30, None).unwrap();
    assert_eq!((report.installations, report.batches), (0, 0));
}

fn half_the_installations_send_and_the_report_estimates_all(kind: Kind) {
    let place = Place::new(kind);
    let collector = start(&place, r#"{"config_version":1,"default":{"sample":0.5}}"#);
    let mut sent = 0;
    for _ in 0..200 {
        let acme = Acme::new(&collector.url());
        assert!(acme.run(&["run"]).status.success());
        sent += usize::from(sent_anything(&acme));
    }
    assert!((70..=130).contains(&sent), "{sent} of 200 sent");
    let report = collector.report(30, None).unwrap();
    let estimate = report.estimate.clone().expect("marked as an estimate");
    assert_eq!(
        estimate.installations_sent as usize, sent,
        "the same sample on both sides"
    );
    assert_eq!(estimate.sampled["0.5"] as usize, sent);
    assert!(
        (140..=260).contains(&report.installations),
        "estimated {} installations",
        report.installations
    );
    assert_eq!(estimate.factor, 2.0);
    // Every count is scaled alike: each run sent one batch.
    assert_eq!(report.batches, report.installations);
}

fn a_config_without_cli_command_stops_commands(kind: Kind) {
    let place = Place::new(kind);
    let collector = start(
        &place,
        r#"{"config_version":1,"default":{"send":["session","usage","error","custom"]}}"#,
    );
    let acme = Acme::new(&collector.url());
    assert!(acme.run(&["run", "--pipeline", "x"]).status.success());
    let log = String::from_utf8(acme.run(&["telemetry", "log"]).stdout).unwrap();
    assert!(log.contains("narrowed by collection config c-"), "{log}");
    assert!(!log.contains("cli_command"), "{log}");
    assert!(log.contains("\"usage\""), "{log}");
    let report = collector.report(30, None).unwrap();
    assert_eq!(report.installations, 1);
    assert!(report.breakdowns["commands"].is_empty(), "{report:?}");
}

/// A client that has not fetched the config (an older release, say) sends it all: the
/// collector leaves out what the config does, at once.
fn the_collector_enforces_the_config_on_what_arrives(kind: Kind) {
    let place = Place::new(kind);
    let collector = start(
        &place,
        r#"{"config_version":1,"default":{"omit":["metrics.cache_hits","cli_command","features.caching"]}}"#,
    );
    let url = format!("{}/v1/batch", collector.url());
    let batch = variant(real_batch(), &common::new_id(), None, None);
    assert!(batch.contains("\"cache_hits\":") && batch.contains("cli_command"));
    let (status, _) = post_for_answer(&url, batch.as_bytes());
    assert_eq!(status, 200);
    let report = collector.report(30, None).unwrap();
    let metrics = common::values(&report, "metrics");
    assert!(
        !metrics.iter().any(|m| m.starts_with("cache_hits")),
        "{metrics:?}"
    );
    assert!(
        metrics.iter().any(|m| m.starts_with("task_runs")),
        "{metrics:?}"
    );
    assert!(report.breakdowns["commands"].is_empty());
    assert!(!common::values(&report, "features").contains(&"caching".to_owned()));
    assert!(report.estimate.is_none(), "nothing was sampled");
}

/// `GET /v1/config`: the document with its `ETag`, `304` for a client that has it.
fn the_config_is_served_with_its_etag(kind: Kind) {
    let place = Place::new(kind);
    let text = r#"{"config_version":1,"default":{"sample":0.25}}"#;
    let collector = start(&place, text);
    let url = format!("{}/v1/config", collector.url());
    let response = common::agent().get(&url).call().unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("\"c-"), "{etag}");
    assert_eq!(response.into_body().read_to_string().unwrap(), text);
    let again = common::agent()
        .get(&url)
        .header("If-None-Match", &etag)
        .call()
        .unwrap();
    assert_eq!(again.status(), 304);
    // The dashboard and the report say which config is in force.
    let (_, page) = get(&format!("{}/", collector.url()));
    assert!(page.contains("default: sample 0.25"), "{page}");
    // A collector without one answers 404, and a client then keeps none.
    let other = Place::new(kind);
    let plain = other.start(&Logs::default());
    assert_eq!(get(&format!("{}/v1/config", plain.url())).0, 404);
}

on_both_stores!(
    sampling_zero_sends_nothing,
    half_the_installations_send_and_the_report_estimates_all,
    a_config_without_cli_command_stops_commands,
    the_collector_enforces_the_config_on_what_arrives,
    the_config_is_served_with_its_etag,
    an_app_rule_applies_to_the_endpoints_app,
);

#[test]
fn a_config_this_release_cannot_read_or_does_not_know_is_refused_at_start() {
    for (text, why) in [
        (r#"{"config_version":1,"default":{"sample":2}}"#, "sample"),
        (
            r#"{"config_version":1,"default":{"omit":["metrics.cache_hit"]}}"#,
            "metrics.cache_hit",
        ),
        (r#"{"config_version":9}"#, "config_version"),
    ] {
        let e = ServedConfig::new(text.as_bytes().to_vec()).unwrap_err();
        assert!(e.contains(why), "{e}");
    }
}

/// `apps` rules apply by the endpoint's `?app=`, on the client and the collector alike.
fn an_app_rule_applies_to_the_endpoints_app(kind: Kind) {
    let place = Place::new(kind);
    let collector = start(
        &place,
        r#"{"config_version":1,"apps":{"acme":[{"send":["session"]}]}}"#,
    );
    let tagged = Acme::with_endpoint(&format!("{}/v1/batch?app=acme", collector.url()));
    let plain = Acme::new(&collector.url());
    for acme in [&tagged, &plain] {
        assert!(acme.run(&["run"]).status.success());
    }
    let log = |acme: &Acme| String::from_utf8(acme.run(&["telemetry", "log"]).stdout).unwrap();
    assert!(!log(&tagged).contains("\"usage\""), "{}", log(&tagged));
    assert!(log(&plain).contains("\"usage\""), "{}", log(&plain));
    let acme = collector.report(30, Some("acme")).unwrap();
    assert_eq!(acme.installations, 1);
    assert!(common::values(&acme, "metrics").is_empty());
    let all = collector.report(30, None).unwrap();
    assert!(!common::values(&all, "metrics").is_empty());
}
