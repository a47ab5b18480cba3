//! The reader by meaning: the samples and their re-serialisations read the same; what a
//! newer runtime adds is left out and counted; everything off the contract is refused, at
//! the place named.

use super::*;
use crate::wire::json::{Json, ToJson};
use crate::wire::received::ReceivedBody;
use crate::wire::samples::{random_batch, sample_batch, samples};

fn sample() -> Json {
    sample_batch(samples()).to_json()
}

fn read(json: &Json) -> Result<ReceivedBatch, Refusal> {
    read_batch(&Document::from(json))
}

/// `json` with every object's keys sorted, as `jq -S` writes it.
fn sorted(json: &Json) -> Json {
    match json {
        Json::Object(fields) => {
            let mut fields: Vec<(String, Json)> =
                fields.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(fields)
        }
        Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The value at `path` (`events.1.metrics`) replaced by `value`, or removed if `None`.
fn edit(json: &mut Json, path: &str, value: Option<Json>) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    match (json, rest) {
        (Json::Array(items), Some(rest)) => {
            edit(&mut items[head.parse::<usize>().unwrap()], rest, value)
        }
        (Json::Object(fields), Some(rest)) => {
            let (_, v) = fields.iter_mut().find(|(k, _)| k == head).unwrap();
            edit(v, rest, value);
        }
        (Json::Object(fields), None) => match value {
            Some(value) => match fields.iter_mut().find(|(k, _)| k == head) {
                Some((_, v)) => *v = value,
                None => fields.push((head.to_owned(), value)),
            },
            None => fields.retain(|(k, _)| k != head),
        },
        _ => panic!("{path}"),
    }
}

#[test]
fn every_sample_reads_back() {
    let batch = read(&sample()).unwrap();
    assert_eq!(batch.batch_id, "00000000-0000-4000-8000-00000000b47c");
    assert_eq!(batch.schema_version, 1);
    assert!(batch.left_out.is_empty());
    let types: Vec<&str> = batch.events.iter().map(|e| e.body.event_type()).collect();
    assert_eq!(
        types,
        [
            "session",
            "usage",
            "error",
            "heartbeat",
            "cli_command",
            "custom"
        ]
    );
    let first = &batch.events[0];
    assert_eq!(
        first.installation_id.as_deref(),
        Some("000a11ce-0000-4000-8000-000000000000")
    );
    // 2026-11-21T04:00:00Z
    assert_eq!(first.hour, 1_795_237_199 / 3600);
    let ReceivedBody::Usage { features, metrics } = &batch.events[1].body else {
        panic!()
    };
    assert!(features.contains(&("retries".to_owned(), true)));
    assert!(metrics.contains(&("task_runs.calls".to_owned(), 41)));
    assert!(metrics.contains(&("flow_durations.1-10s".to_owned(), 2)));
    assert!(metrics.contains(&("task_concurrency.2-4".to_owned(), 1)));
    let ReceivedBody::Custom { fields, .. } = &batch.events[5].body else {
        panic!()
    };
    assert_eq!(fields[1], ("strategy".to_owned(), "blue_green".to_owned()));
    assert_eq!(fields[2], ("targets".to_owned(), "2-5".to_owned()));
}

/// `batch` with the lists whose order follows the keys' sorted, to compare by meaning.
fn normalized(mut batch: ReceivedBatch) -> ReceivedBatch {
    for e in &mut batch.events {
        match &mut e.body {
            ReceivedBody::Usage { features, metrics } => {
                features.sort();
                metrics.sort();
            }
            ReceivedBody::Error { types } => types.sort(),
            ReceivedBody::Custom { fields, .. } => fields.sort(),
            _ => {}
        }
    }
    batch
}

#[test]
fn whitespace_and_key_order_change_nothing() {
    let json = sample();
    let pretty = Json::parse(&sorted(&json).pretty()).unwrap();
    assert_ne!(pretty.compact(), json.compact());
    assert_eq!(
        normalized(read(&json).unwrap()),
        normalized(read(&pretty).unwrap())
    );
}

#[test]
fn an_older_usage_event_without_the_newer_metrics_is_read() {
    let mut json = sample();
    edit(&mut json, "events.1.metrics.flow_concurrency", None);
    edit(&mut json, "events.1.metrics.task_concurrency", None);
    let batch = read(&json).unwrap();
    assert!(batch.left_out.is_empty());
    let ReceivedBody::Usage { metrics, .. } = &batch.events[1].body else {
        panic!()
    };
    assert!(!metrics.iter().any(|(k, _)| k.contains("concurrency")));
}

#[test]
fn what_a_newer_runtime_adds_is_left_out_and_counted() {
    let mut json = sample();
    let canary = || Some(Json::str("Alice Smith, /home/alice"));
    edit(&mut json, "gpu", canary());
    edit(&mut json, "events.0.hostname", canary());
    edit(
        &mut json,
        "events.1.metrics.gpu_seconds",
        Some(Json::Int(5)),
    );
    edit(
        &mut json,
        "events.1.metrics.flow_durations.>1h",
        Some(Json::Int(5)),
    );
    edit(&mut json, "events.1.features.gpu", Some(Json::Bool(true)));
    edit(&mut json, "events.0.os", Some(Json::str("plan9")));
    edit(&mut json, "events.0.environment", Some(Json::str("canary")));
    edit(
        &mut json,
        "events.2.errors.exception_types",
        Some(Json::object([
            ("std::io::Error(QuotaExceeded)", Json::Int(2)),
            ("core::num::NewError", Json::Int(3)),
            ("acme::FetchError", Json::Int(1)),
        ])),
    );
    let Json::Object(top) = &mut json else {
        panic!()
    };
    let Json::Array(events) = &mut top[2].1 else {
        panic!()
    };
    let mut newer = events[3].clone();
    edit(&mut newer, "event_type", Some(Json::str("gpu_usage")));
    events.push(newer);
    let batch = read(&json).unwrap();
    assert_eq!(
        batch.left_out,
        LeftOut {
            fields: 5,
            event_types: 1,
            values: 4
        }
    );
    assert_eq!(batch.events.len(), 6);
    assert_eq!(batch.events[0].os, "unknown");
    let ReceivedBody::Error { types } = &batch.events[2].body else {
        panic!()
    };
    assert_eq!(
        types,
        &[
            ("unknown".to_owned(), 5),
            ("acme::FetchError".to_owned(), 1)
        ]
    );
    let stored = format!("{batch:?}");
    assert!(!stored.contains("Alice") && !stored.contains("plan9") && !stored.contains("gpu"));
}

#[test]
fn anything_off_the_contract_is_refused_where_it_is() {
    let cases: Vec<(&str, Option<Json>, &str, &str)> = vec![
        (
            "schema_version",
            Some(Json::Int(2)),
            "schema version",
            "schema_version",
        ),
        (
            "schema_version",
            Some(Json::str("1")),
            "schema version",
            "schema_version",
        ),
        ("schema_version", None, "missing", "schema_version"),
        ("batch_id", Some(Json::str("alice")), "UUID", "batch_id"),
        (
            "batch_id",
            Some(Json::str("00000000000040008000000000000000")),
            "UUID",
            "batch_id",
        ),
        ("events", Some(Json::object([])), "array", "events"),
        ("events.1.event_id", None, "missing", "events[1].event_id"),
        (
            "events.1.event_type",
            Some(Json::str("Alice Smith")),
            "event type",
            "events[1].event_type",
        ),
        (
            "events.1.event_type",
            Some(Json::Int(1)),
            "string",
            "events[1].event_type",
        ),
        (
            "events.1.timestamp",
            Some(Json::str("2026-11-21T04:13:09Z")),
            "hour",
            "events[1].timestamp",
        ),
        (
            "events.1.app_version",
            Some(Json::str("1.0 (alice)")),
            "version",
            "events[1].app_version",
        ),
        (
            "events.1.os",
            Some(Json::str("/home/alice")),
            "value",
            "events[1].os",
        ),
        ("events.1.os", Some(Json::Null), "string", "events[1].os"),
        (
            "events.1.metrics.cache_hits",
            Some(Json::Int(MAX_COUNT + 1)),
            "2^53",
            "events[1].metrics.cache_hits",
        ),
        (
            "events.1.metrics.cache_hits",
            Some(Json::str("17")),
            "count",
            "events[1].metrics.cache_hits",
        ),
        (
            "events.1.metrics.flow_runs",
            Some(Json::Int(3)),
            "object",
            "events[1].metrics.flow_runs",
        ),
        (
            "events.1.metrics.flow_runs.ok",
            Some(Json::Bool(true)),
            "count",
            "events[1].metrics.flow_runs.ok",
        ),
        (
            "events.1.features.retries",
            Some(Json::Int(1)),
            "true or false",
            "events[1].features.retries",
        ),
        ("events.1.features", None, "missing", "events[1].features"),
        (
            "events.0.integrations",
            Some(Json::Array(vec![Json::str("Alice Smith")])),
            "name",
            "events[0].integrations[0]",
        ),
        (
            "events.0.interactive",
            Some(Json::str("yes")),
            "true or false",
            "events[0].interactive",
        ),
        (
            "events.4.command",
            Some(Json::str("acme run alice@example.com")),
            "command",
            "events[4].command",
        ),
        (
            "events.2.errors.exception_types",
            Some(Json::object([("a b", Json::Int(1))])),
            "error type",
            "events[2].errors.exception_types",
        ),
        (
            "events.5.fields.targets",
            Some(Json::Int(7)),
            "expected",
            "events[5].fields.targets",
        ),
        (
            "events.5.name",
            Some(Json::str("Deploy Finished")),
            "name",
            "events[5].name",
        ),
    ];
    for (path, value, says, at) in cases {
        let mut json = sample();
        edit(&mut json, path, value);
        let refusal = read(&json).unwrap_err();
        assert!(refusal.error().contains(says), "{path}: {refusal}");
        assert_eq!(refusal.at(), at, "{path}: {refusal}");
    }
    // A key twice, at the top and deep down; a number that is not a count.
    let text = sample().compact();
    for (from, to, at) in [
        (
            r#"{"schema_version":1"#,
            r#"{"schema_version":1,"schema_version":1"#,
            "schema_version",
        ),
        (
            r#""cache_hits":17"#,
            r#""cache_hits":17,"cache_hits":17"#,
            "events[1].metrics.cache_hits",
        ),
        (
            r#""os":"linux""#,
            r#""x":1,"x":2,"os":"linux""#,
            "events[0]",
        ),
    ] {
        let json = Json::parse(&text.replacen(from, to, 1)).unwrap();
        let refusal = read(&json).unwrap_err();
        assert_eq!((refusal.error(), refusal.at()), ("a key appears twice", at));
    }
    let mut doc = Document::from(&sample());
    if let Document::Object(top) = &mut doc {
        top[0].1 = Document::OtherNumber;
    }
    assert!(
        read_batch(&doc)
            .unwrap_err()
            .error()
            .contains("schema version")
    );
    assert_eq!(read_batch(&Document::Null).unwrap_err().at(), "");
}

#[test]
fn a_refusal_never_repeats_what_was_sent() {
    let mut json = sample();
    edit(&mut json, "events.1.Alice Smith", Some(Json::Int(1)));
    let text = json.compact().replacen(
        r#""Alice Smith":1"#,
        r#""Alice Smith":1,"Alice Smith":2"#,
        1,
    );
    let refusal = read(&Json::parse(&text).unwrap()).unwrap_err();
    assert_eq!(refusal.at(), "events[1]");
    assert!(!refusal.to_json().contains("Alice"));
}

/// Whatever the writer makes of random events, the strict check of our own batches and
/// the reader by meaning accept it, leaving nothing out.
#[test]
fn every_batch_the_writer_makes_is_accepted() {
    for seed in 0..20_000 {
        let batch = random_batch(seed);
        let bytes = batch.to_bytes();
        assert!(
            crate::wire::check::is_valid_batch(&bytes),
            "seed {seed}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let read = read(&batch.to_json()).unwrap_or_else(|r| panic!("seed {seed}: {r}"));
        assert!(read.left_out.is_empty(), "seed {seed}");
        assert_eq!(read.events.len(), batch.events.len());
    }
}
