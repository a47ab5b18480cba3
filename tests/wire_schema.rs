//! The published JSON Schema (`TELEMETRY.schema.json`): kept in step with the types, and
//! checked by a standard validator (Python's `jsonschema`, draft 2020-12, which the README's
//! test command installs when missing): it accepts every corpus batch and every batch the
//! runtime writes, and refuses batches off the wire (wrong types, malformed ids, counts out
//! of range).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
data = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(data["schema"])
validator = Draft202012Validator(data["schema"])
problems = []
for i, batch in enumerate(data["accept"]):
    for error in validator.iter_errors(batch):
        problems.append("accept[%d] refused at %s: %s" % (i, list(error.absolute_path), error.message[:160]))
        break
for label, batch in data["refuse"]:
    if validator.is_valid(batch):
        problems.append("accepted: " + label)
print("\n".join(problems))
print("%d accepted, %d refused" % (len(data["accept"]), len(data["refuse"])), file=sys.stderr)
sys.exit(1 if problems else 0)
"#;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let committed = std::fs::read_to_string(workspace().join("TELEMETRY.schema.json")).unwrap();
    assert_eq!(
        committed,
        format!("{}\n", telemetry::cli::json_schema()),
        "TELEMETRY.schema.json is out of date: regenerate it with \
         `cargo run --example acme -- telemetry schema --json > TELEMETRY.schema.json`"
    );
}

/// `batch` with the value at `path` (keys and indexes) replaced.
fn mutated(batch: &Value, path: &[&str], value: Value) -> Value {
    let mut out = batch.clone();
    let mut at = &mut out;
    for key in path {
        at = match key.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*key],
        };
    }
    *at = value;
    out
}

#[test]
fn a_standard_validator_accepts_our_batches_and_refuses_others() {
    let schema: Value = serde_json::from_str(&telemetry::cli::json_schema()).unwrap();
    let mut accept: Vec<Value> = Vec::new();
    let corpus = workspace().join("tests/wire_corpus");
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            accept.push(serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap());
        }
    }
    assert!(accept.len() >= 2);
    for seed in 0..2000 {
        let batch = telemetry_runtime::__testing::random_batch(seed);
        accept.push(serde_json::from_slice(&batch).unwrap());
    }
    let sample: Value =
        serde_json::from_slice(&telemetry_runtime::__testing::sample_batch()).unwrap();
    accept.push(sample.clone());
    // What a newer runtime may add: a field anywhere, a new event type, a new os.
    let mut newer = mutated(&sample, &["events", "0", "os"], json!("plan9"));
    newer["events"][1]["metrics"]["gpu_seconds"] = json!(3);
    newer["gpu"] = json!(true);
    newer["events"]
        .as_array_mut()
        .unwrap()
        .push(json!({"event_type": "gpu_usage", "anything": [1, 2]}));
    accept.push(newer);

    let refuse: Vec<(&str, Value)> = vec![
        (
            "schema_version 2",
            mutated(&sample, &["schema_version"], json!(2)),
        ),
        (
            "a malformed batch_id",
            mutated(&sample, &["batch_id"], json!("alice")),
        ),
        (
            "a UUID without hyphens",
            mutated(
                &sample,
                &["events", "0", "event_id"],
                json!("00000002000040008000000000000000"),
            ),
        ),
        (
            "a count as a string",
            mutated(
                &sample,
                &["events", "1", "metrics", "cache_hits"],
                json!("17"),
            ),
        ),
        (
            "a count past 2^53 - 1",
            mutated(
                &sample,
                &["events", "1", "metrics", "cache_hits"],
                json!(9_007_199_254_740_992u64),
            ),
        ),
        (
            "a negative count",
            mutated(
                &sample,
                &["events", "1", "metrics", "flow_runs", "ok"],
                json!(-1),
            ),
        ),
        (
            "a fraction",
            mutated(
                &sample,
                &["events", "1", "metrics", "flow_runs", "ok"],
                json!(1.5),
            ),
        ),
        (
            "a boolean that is not",
            mutated(&sample, &["events", "1", "features", "retries"], json!(1)),
        ),
        (
            "an exact time",
            mutated(
                &sample,
                &["events", "0", "timestamp"],
                json!("2026-11-21T04:13:09Z"),
            ),
        ),
        (
            "free text as a version",
            mutated(
                &sample,
                &["events", "0", "app_version"],
                json!("1.0 (alice)"),
            ),
        ),
        (
            "free text as an os",
            mutated(&sample, &["events", "0", "os"], json!("Alice's Mac")),
        ),
        (
            "free text as an event type",
            mutated(
                &sample,
                &["events", "3", "event_type"],
                json!("Alice Smith"),
            ),
        ),
        (
            "free text in a command",
            mutated(
                &sample,
                &["events", "4", "command"],
                json!("acme run alice@example.com"),
            ),
        ),
        (
            "an exact count in a custom field",
            mutated(&sample, &["events", "5", "fields", "targets"], json!(7)),
        ),
        (
            "free text as an error type",
            mutated(
                &sample,
                &["events", "2", "errors", "exception_types"],
                json!({"timed out talking to db-7": 1}),
            ),
        ),
        ("a session without its environment", {
            let mut b = sample.clone();
            b["events"][0]
                .as_object_mut()
                .unwrap()
                .remove("environment");
            b
        }),
        ("an event without a session id", {
            let mut b = sample.clone();
            b["events"][3].as_object_mut().unwrap().remove("session_id");
            b
        }),
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    let cases = json!({"schema": schema, "accept": accept, "refuse": refuse});
    std::fs::write(&input, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = Command::new("python3")
        .args(["-c", VALIDATE])
        .arg(&input)
        .output()
        .expect("python3: the README's test command installs it with jsonschema");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'jsonschema'"),
        "Python's jsonschema is missing: run the README's test command (.ci/test), which \
         installs it"
    );
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
}
