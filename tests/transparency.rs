//! `telemetry preview` and `telemetry schema`, against the real `acme` example binary and a
//! receiver on 127.0.0.1: preview prints the next batch and sends nothing, changes nothing;
//! schema prints exactly the checked-in `TELEMETRY.md`.

#[path = "common/acme.rs"]
mod acme;
#[path = "common/receiver.rs"]
mod receiver;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use acme::Sandbox;
use receiver::{Receiver, Reply};

const TELEMETRY_MD: &str = include_str!("../TELEMETRY.md");

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Nothing reached `receiver` (given a moment to arrive), and the config dir is as `before`.
fn assert_sent_and_changed_nothing(
    receiver: &Receiver,
    sb: &Sandbox,
    before: &BTreeMap<PathBuf, Vec<u8>>,
) {
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(receiver.connections(), 0, "preview sends nothing");
    assert_eq!(
        &snapshot(&sb.config_dir()),
        before,
        "preview changes nothing"
    );
}

fn spool_files(sb: &Sandbox) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(sb.config_dir().join("telemetry_spool"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn schema_prints_the_checked_in_telemetry_md() {
    let sb = Sandbox::new();
    let out = sb.acme(&["telemetry", "schema"], &[]);
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed == TELEMETRY_MD,
        "TELEMETRY.md is stale: regenerate it with \
         `cargo run --example acme -- telemetry schema > TELEMETRY.md`"
    );
    assert!(out.stderr.is_empty());
    assert!(!sb.config_dir().exists(), "schema writes nothing");
}

#[test]
fn the_schema_lists_every_event_type_and_field_sent() {
    // Every top-level key of every event the pipeline can send appears in the table.
    for needle in [
        "## `session` events",
        "## `usage` events",
        "## `error` events",
        "## `heartbeat` events",
        "## `cli_command` events",
        "## `custom` events",
        "| `installation_id` |",
        "| `metrics.dropped_events` |",
        "| `errors.exception_types` |",
        "## Never sent",
    ] {
        assert!(TELEMETRY_MD.contains(needle), "{needle}");
    }
}

#[test]
fn preview_with_nothing_pending_says_so_and_shows_a_usage_event() {
    let sb = Sandbox::new();
    let receiver = Receiver::start();
    let url = receiver.url();
    let env = [("ACME_TELEMETRY_ENDPOINT", url.as_str())];
    sb.stdout(&["telemetry", "enable"], &[]);
    let before = snapshot(&sb.config_dir());

    let out = sb.acme(&["telemetry", "preview"], &env);
    assert!(out.status.success(), "{out:?}");
    let batch: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Nothing is waiting to be sent"), "{stderr}");
    assert_eq!(batch["schema_version"], 1);
    let types: Vec<&str> = batch["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["session", "usage"]);
    let usage = &batch["events"][1];
    // acme's own callsites: one flow, two tasks, with retries and a cache.
    assert_eq!(usage["metrics"]["flows_defined"], 1);
    assert_eq!(usage["metrics"]["tasks_defined"], 2);
    assert_eq!(usage["features"]["retries"], true);
    assert!(usage["installation_id"].is_string(), "consented: {usage}");

    assert_sent_and_changed_nothing(&receiver, &sb, &before);
}

#[test]
fn preview_prints_the_spooled_batch_that_goes_next_and_sends_nothing() {
    let sb = Sandbox::new();
    sb.stdout(&["telemetry", "enable"], &[]);
    // A run whose endpoint keeps failing leaves its batch in the spool.
    let silent = Receiver::with_script((0..20).map(|_| Reply::Status(503)).collect());
    let silent_url = silent.url();
    let run = sb.acme(
        &["run", "--pipeline", "nightly"],
        &[("ACME_TELEMETRY_ENDPOINT", silent_url.as_str())],
    );
    assert!(run.status.success(), "{run:?}");
    let spooled = spool_files(&sb);
    assert_eq!(spooled.len(), 1, "the unsent batch is spooled");
    let stored: serde_json::Value =
        serde_json::from_slice(&fs::read(&spooled[0]).unwrap()).unwrap();
    let before = snapshot(&sb.config_dir());

    let receiver = Receiver::start();
    let url = receiver.url();
    let out = sb.acme(
        &["telemetry", "preview"],
        &[("ACME_TELEMETRY_ENDPOINT", url.as_str())],
    );
    assert!(out.status.success(), "{out:?}");
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(
        printed, stored,
        "preview shows the very batch that is sent next"
    );
    // Same bytes, re-indented: the order of keys is kept too.
    let compact: String = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| l.trim_start().replace("\": ", "\":"))
        .collect();
    assert_eq!(
        compact.as_bytes(),
        fs::read(&spooled[0]).unwrap().as_slice()
    );
    let commands: Vec<&str> = printed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "cli_command")
        .map(|e| e["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["acme run --pipeline *****"]);
    let custom: Vec<&serde_json::Value> = printed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "custom")
        .collect();
    assert_eq!(custom.len(), 1, "{printed}");
    assert_eq!(custom[0]["name"], "pipeline_finished");
    assert_eq!(
        custom[0]["fields"],
        serde_json::json!({"verbose": false, "words": "6-10"})
    );

    assert_sent_and_changed_nothing(&receiver, &sb, &before);
}

#[test]
fn preview_while_disabled_shows_the_batch_and_says_nothing_is_sent() {
    let sb = Sandbox::new();
    let out = sb.acme(&["telemetry", "preview"], &[("DO_NOT_TRACK", "1")]);
    assert!(out.status.success(), "{out:?}");
    let batch: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(batch["events"][0].get("installation_id").is_none());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Telemetry is disabled here"), "{stderr}");
    assert!(!sb.config_dir().exists(), "preview writes nothing");
}

#[test]
fn preview_and_schema_take_no_arguments() {
    let sb = Sandbox::new();
    for cmd in ["preview", "schema"] {
        let out = sb.acme(&["telemetry", cmd, "--now"], &[]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("unexpected argument '--now'"), "{stderr}");
    }
}

#[test]
fn preview_leaves_a_corrupt_state_file_where_it_is() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.config_dir()).unwrap();
    fs::write(
        sb.config_dir().join("telemetry_state.toml"),
        "enabled = [[[",
    )
    .unwrap();
    let before = snapshot(&sb.config_dir());
    let out = sb.acme(&["telemetry", "preview"], &[]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("valid JSON");
    assert_eq!(
        snapshot(&sb.config_dir()),
        before,
        "preview changes nothing"
    );
}

#[test]
fn a_foreign_file_in_the_spool_is_never_previewed_as_ours() {
    let sb = Sandbox::new();
    sb.stdout(&["telemetry", "enable"], &[]);
    let spool = sb.config_dir().join("telemetry_spool");
    fs::create_dir_all(&spool).unwrap();
    // The right shape at a glance, but not something our types could have written.
    fs::write(
        spool.join("batch-00000000-0000-4000-8000-000000000001.json"),
        r#"{"schema_version":1,"batch_id":"00000000-0000-4000-8000-000000000001","events":[{"user":"alice","cwd":"/home/alice/secret"}]}"#,
    )
    .unwrap();
    let out = sb.acme(&["telemetry", "preview"], &[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("alice"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Nothing is waiting to be sent"), "{stderr}");
}
