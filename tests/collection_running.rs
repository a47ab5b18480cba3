//! A collection config reaches a process that is already running: it keeps the config it
//! fetched today, and on the next day (an injected clock) asks again and leaves out the
//! metric the new one omits, from its next batch on. The collector (in this process,
//! SQLite) leaves that metric out at once, whatever the client sent.
//!
//! One test in this binary: `telemetry::init` is once per process.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use telemetry::config::{Clock, Date, Env};
use telemetry_collector::{Collector, Options, ServedConfig, StoreSpec};

static DAY: AtomicI64 = AtomicI64::new(0);

#[telemetry::task(cache)]
fn lookup(n: u32) -> u32 {
    n * 2
}

/// Waits until `bodies` holds more than `seen` batches; the newest.
fn next_batch(bodies: &Mutex<Vec<Vec<u8>>>, seen: usize) -> String {
    let started = Instant::now();
    loop {
        if let Some(b) = bodies.lock().unwrap().get(seen) {
            return String::from_utf8(b.clone()).unwrap();
        }
        // A hang guard, not a speed test: batches go every second.
        assert!(started.elapsed() < Duration::from_secs(60), "no batch came");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_running_process_narrows_from_the_next_day_and_the_collector_at_once() {
    if cfg!(telemetry_disabled) {
        return;
    }
    let today = Date::today().to_unix_days();
    DAY.store(today, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let mut options = Options::new();
    options.listen = ([127, 0, 0, 1], 0).into();
    options.store = StoreSpec::Sqlite(dir.path().join("t.db"));
    options.min_installations = 1;
    options.collection = Some(
        ServedConfig::new(
            br#"{"config_version":1,"default":{"omit":["metrics.cache_hits"]}}"#.to_vec(),
        )
        .unwrap(),
    );
    let tap = Arc::clone(&bodies);
    options.tap = Some(Arc::new(move |b: &[u8]| {
        tap.lock().unwrap().push(b.to_vec())
    }));
    let collector = Collector::start(options).unwrap();

    // Fetched earlier today: a config that leaves nothing out. The process keeps it until
    // its clock says another day.
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("telemetry_collection.json"),
        format!(
            r#"{{"asked":"{0}","fetched":"{0}","from":"{1}/v1/config","etag":"\"old\"","config":{{"config_version":1}}}}"#,
            Date::from_unix_days(today),
            collector.url()
        ),
    )
    .unwrap();
    let env = Env::empty()
        .with("ACME_TELEMETRY_ENABLED", "1")
        .with(
            "ACME_TELEMETRY_ENDPOINT",
            format!("{}/v1/batch", collector.url()),
        )
        .with("ACME_TELEMETRY_BATCH_INTERVAL_SECONDS", "1");
    let config = common::isolated_config(dir.path(), env).clock(Clock::following(&DAY));
    let guard = telemetry::init(config);
    assert!(guard.is_enabled());

    assert_eq!(lookup(1) + lookup(1), 4, "one miss, one hit");
    let first = next_batch(&bodies, 0);
    assert!(
        first.contains("\"cache_hits\":1"),
        "sent under the old config: {first}"
    );
    // The collector left it out at once.
    let report = collector.report(30, None).unwrap();
    let metrics: Vec<&str> = report.breakdowns["metrics"]
        .iter()
        .map(|r| r.value.as_str())
        .collect();
    assert!(
        metrics.iter().all(|m| !m.starts_with("cache_hits")),
        "{metrics:?}"
    );
    assert!(metrics.contains(&"cache_misses"), "{metrics:?}");

    // The next day: the next batch asks first, and leaves the metric out.
    DAY.store(today + 1, Ordering::Relaxed);
    assert_eq!(lookup(1), 2, "a hit");
    let mut seen = bodies.lock().unwrap().len();
    let second = loop {
        let batch = next_batch(&bodies, seen);
        seen += 1;
        if batch.contains("\"usage\"") {
            break batch;
        }
    };
    assert!(!second.contains("cache_hits"), "{second}");
    assert!(second.contains("\"cache_misses\""), "{second}");
    let kept = std::fs::read_to_string(conf.join("telemetry_collection.json")).unwrap();
    assert!(kept.contains("metrics.cache_hits"), "{kept}");
    drop(guard);
    collector.shutdown();
}
