//! A hostile or broken collector cannot widen what a client collects through its collection
//! config: a real `acme` run against a scripted server that answers `GET /v1/config` with
//! configs that try to add fields, raise the sample past 1, name unknown event types, are
//! huge, malformed, not HTTP, or never answer. Every time, the batch that leaves (or waits
//! in the spool) holds exactly the keys a run with no config sends; a config that only
//! narrows is honoured.

#[path = "common/acme.rs"]
mod acme;
#[path = "common/receiver.rs"]
mod receiver;

use std::collections::BTreeSet;

use acme::Sandbox;
use receiver::{Receiver, Reply};
use serde_json::Value;

/// An answer of `status` with `body` and an `ETag`.
fn answer(status: u16, body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nETag: \"t1\"\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// Every key path of every event (`usage.metrics.cache_hits`), values aside.
fn shape(batch: &Value) -> BTreeSet<String> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
        if let Value::Object(map) = v {
            for (k, inner) in map {
                let path = format!("{prefix}.{k}");
                out.insert(path.clone());
                // A custom event's fields and the error types are the host's names.
                walk(&path, inner, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    for event in batch["events"].as_array().unwrap() {
        let t = event["event_type"].as_str().unwrap().to_owned();
        out.insert(t.clone());
        walk(&t, event, &mut out);
    }
    out
}

/// One `acme run` against a server whose answer to the config request is `config`: the
/// batch it sent, or (if it could not send) the one it left for the next run.
fn run_against(config: Reply) -> (Value, Vec<String>) {
    let receiver = Receiver::with_config(config, Vec::new());
    let sb = Sandbox::new();
    sb.stdout(&["telemetry", "enable"], &[]);
    let endpoint = [("ACME_TELEMETRY_ENDPOINT", receiver.url())];
    let endpoint: Vec<(&str, &str)> = endpoint.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = sb.acme(&["run"], &endpoint);
    assert!(out.status.success(), "{out:?}");
    let heads = receiver.heads();
    assert!(heads[0].starts_with("GET /v1/config HTTP/1.1"), "{heads:?}");
    assert_eq!(receiver.config_requests(), 1, "asked once");
    let sent: Vec<Value> = receiver
        .bodies()
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect();
    let batch = match sent.as_slice() {
        [one] => one.clone(),
        [] => {
            // Not sent in time: it waits in the spool, as `preview` shows.
            let preview = sb.stdout(&["telemetry", "preview"], &[]);
            serde_json::from_str(&preview).unwrap()
        }
        more => panic!("{} batches", more.len()),
    };
    (batch, heads)
}

#[test]
fn no_config_a_collector_serves_can_widen_what_is_sent() {
    if cfg!(telemetry_disabled) {
        return;
    }
    let (baseline, _) = run_against(Reply::Status(404));
    let wide = shape(&baseline);
    assert!(
        wide.contains("usage.metrics.cache_hits") && wide.contains("cli_command"),
        "{wide:?}"
    );
    let huge = format!(
        r#"{{"config_version":1,"default":{{"omit":[]}},"padding":"{}"}}"#,
        "x".repeat(20_000)
    );
    let endless_chunks = {
        let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..5_000 {
            r.extend_from_slice(b"10\r\n{{{{{{{{{{{{{{{{\r\n");
        }
        Reply::Raw(r)
    };
    let hostile = [
        (
            "adds keys and event types",
            answer(
                200,
                r#"{"config_version":1,"default":{"sample":1,"send":["session","usage","error",
                "heartbeat","cli_command","custom","hostname","env_vars"],"omit":[],
                "collect":["hostname","cwd"],"upload_logs":true,"interval_secs":0}}"#,
            ),
        ),
        (
            "a sample above 1",
            answer(200, r#"{"config_version":1,"default":{"sample":50}}"#),
        ),
        (
            "a negative sample",
            answer(200, r#"{"config_version":1,"default":{"sample":-1}}"#),
        ),
        ("huge", answer(200, &huge)),
        ("endless chunks", endless_chunks),
        (
            "malformed",
            answer(200, r#"{"config_version":1,"default":"#),
        ),
        (
            "a newer config_version",
            answer(200, r#"{"config_version":7}"#),
        ),
        ("not HTTP", Reply::Garbage),
        ("a server error", answer(500, r#"{"config_version":1}"#)),
        ("never answers", Reply::NeverAnswer),
    ];
    for (name, reply) in hostile {
        let (batch, _) = run_against(reply);
        assert_eq!(shape(&batch), wide, "{name}");
    }
    // A config that only narrows is honoured.
    let (narrow, _) = run_against(answer(
        200,
        r#"{"config_version":1,"default":{"omit":["metrics.cache_hits","cli_command"]}}"#,
    ));
    let narrow = shape(&narrow);
    let removed: Vec<&String> = wide.difference(&narrow).collect();
    assert!(narrow.is_subset(&wide));
    assert!(
        removed
            .iter()
            .all(|p| p.starts_with("cli_command") || p.ends_with("cache_hits")),
        "{removed:?}"
    );
    assert!(removed.iter().any(|p| p.ends_with("cache_hits")));
}
