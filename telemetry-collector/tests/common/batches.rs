//! Batches for the tests: variants of one real batch of `acme`, with fresh ids and the
//! versions, systems, hours and outcomes a test needs.

use serde_json::Value;

use super::{real_batch, unique};

/// A fresh random-looking UUID v4 (a counter: unique within the test binary).
pub fn new_id() -> String {
    let n = unique();
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        n & 0xffff_ffff_ffff
    )
}

/// A variant of `batch`: every id replaced by a fresh one (the installation id by
/// `install`), every `"os"` by `os` and every hour by `hour` (`YYYY-MM-DDTHH`) if given.
pub fn variant(batch: &str, install: &str, os: Option<&str>, hour: Option<&str>) -> String {
    let json: Value = serde_json::from_str(batch).unwrap();
    let old_install = json["events"][0]["installation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut out = batch.replace(&old_install, install);
    // Every other id: the batch's, each event's, the session's.
    let mut ids = vec![json["batch_id"].as_str().unwrap().to_owned()];
    for e in json["events"].as_array().unwrap() {
        for key in ["event_id", "session_id"] {
            let id = e[key].as_str().unwrap().to_owned();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    for id in ids {
        out = out.replace(&id, &new_id());
    }
    if let Some(os) = os {
        out = out.replace("\"os\":\"linux\"", &format!("\"os\":\"{os}\""));
    }
    if let Some(hour) = hour {
        let mut rewritten = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find("\"timestamp\":\"") {
            let start = at + "\"timestamp\":\"".len();
            rewritten.push_str(&rest[..start]);
            rewritten.push_str(hour);
            rest = &rest[start + hour.len()..];
        }
        rewritten.push_str(rest);
        out = rewritten;
    }
    out
}

/// Error types each batch below counts: two time-outs.
pub const ERRORS: u64 = 2;

/// A real batch of installation `install`, sent from `version` on `os` at `hour`, whose
/// flows ran `calls` times and failed `failed` times (no task ran), with an error event of
/// [`ERRORS`] occurrences.
pub fn batch(
    install: &str,
    version: &str,
    os: &str,
    hour: &str,
    calls: u64,
    failed: u64,
) -> String {
    let body = variant(real_batch(), install, Some(os), Some(hour)).replace(
        "\"app_version\":\"0.1.0\"",
        &format!("\"app_version\":\"{version}\""),
    );
    let mut json: Value = serde_json::from_str(&body).unwrap();
    let events = json["events"].as_array_mut().unwrap();
    events.retain(|e| e["event_type"] != "error");
    let mut error = events[0].clone();
    for e in events.iter_mut().filter(|e| e["event_type"] == "usage") {
        e["metrics"]["flow_runs"] =
            serde_json::json!({"calls": calls, "ok": calls - failed, "err": failed, "panics": 0});
        e["metrics"]["task_runs"] = serde_json::json!({"calls": 0, "ok": 0, "err": 0, "panics": 0});
    }
    let fields = error.as_object_mut().unwrap();
    fields.retain(|k, _| {
        [
            "event_id",
            "session_id",
            "installation_id",
            "timestamp",
            "sdk_version",
            "app_version",
            "rust_version",
            "os",
            "arch",
        ]
        .contains(&k.as_str())
    });
    fields.insert("event_id".into(), new_id().into());
    fields.insert("event_type".into(), "error".into());
    fields.insert(
        "errors".into(),
        serde_json::json!({"exception_types": {"std::io::Error(TimedOut)": ERRORS}}),
    );
    events.push(error);
    serde_json::to_string(&json).unwrap()
}

/// A batch of `real_batch()`'s session event and `events` error events, each naming
/// `per_event` error types no other batch names (`tag` keeps them apart): what a client
/// flooding the store with distinct values sends.
pub fn names_batch(tag: &str, events: usize, per_event: usize) -> String {
    let mut template: Value = serde_json::from_str(real_batch()).unwrap();
    let session = template["events"][0].clone();
    let mut evs = vec![session.clone()];
    for e in 0..events {
        let mut error = session.clone();
        let obj = error.as_object_mut().unwrap();
        for key in ["interactive", "environment", "integrations"] {
            obj.remove(key);
        }
        obj.insert("event_type".into(), "error".into());
        let names: serde_json::Map<String, Value> = (0..per_event)
            .map(|n| (format!("acme::E{tag}x{e}x{n}"), Value::from(1)))
            .collect();
        obj.insert(
            "errors".into(),
            serde_json::json!({ "exception_types": names }),
        );
        evs.push(error);
    }
    template["events"] = Value::Array(evs);
    variant(
        &serde_json::to_string(&template).unwrap(),
        &new_id(),
        None,
        None,
    )
}
