//! Peak concurrency, end to end: three tasks running at once in three threads reach the
//! receiver as `task_concurrency: {"2-4": 1}` in the next `usage` event.
//!
//! One test in this binary: `telemetry::init` is once per process.

mod common;

use std::time::Duration;

use common::receiver::Receiver;
use serde_json::Value;
use telemetry::config::Env;

/// Long enough for the coarse clock (100 ms ticks) to see all three running.
#[telemetry::task]
fn slow_step(n: u32) -> u32 {
    std::thread::sleep(Duration::from_millis(450));
    n
}

#[telemetry::flow]
fn one_flow() -> u32 {
    let threads: Vec<_> = (0..3)
        .map(|i| std::thread::spawn(move || slow_step(i)))
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

#[test]
fn three_tasks_at_once_show_as_the_2_to_4_bucket() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let env = Env::empty()
        .with("ACME_TELEMETRY_ENABLED", "1")
        .with("ACME_TELEMETRY_ENDPOINT", receiver.url());
    let guard = telemetry::init(common::isolated_config(dir.path(), env));
    assert!(guard.decision().enabled || cfg!(telemetry_disabled));
    assert_eq!(one_flow(), 3);
    drop(guard);
    if cfg!(telemetry_disabled) {
        return;
    }
    let bodies = receiver.bodies();
    let usage: Vec<Value> = bodies
        .iter()
        .flat_map(|b| {
            let batch: Value = serde_json::from_slice(b).unwrap();
            batch["events"].as_array().unwrap().clone()
        })
        .filter(|e| e["event_type"] == "usage")
        .collect();
    let sum = |kind: &str, bucket: &str| -> u64 {
        usage
            .iter()
            .map(|e| e["metrics"][kind][bucket].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("task_concurrency", "2-4"), 1, "{usage:?}");
    assert_eq!(
        sum("task_concurrency", "1") + sum("task_concurrency", "5-16"),
        0
    );
    assert_eq!(sum("flow_concurrency", "1"), 1, "{usage:?}");
}
