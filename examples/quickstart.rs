//! The main job, as a newcomer meets it: `cargo run --example quickstart`.
//!
//! The whole loop in one process: starts the real collector on 127.0.0.1 (SQLite in a
//! temporary directory), switches telemetry on for this run only (your saved decision, if
//! any, is not touched, and `DO_NOT_TRACK` still wins), runs a small flow whose tasks really
//! retry and really cache, flushes, and prints every byte the collector received and then
//! the report a maintainer sees. The collector serves a collection config (README,
//! "Narrowing collection") that leaves out the concurrency buckets: the batch arrives
//! without them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use telemetry::config::Env;
use telemetry::{Config, flow, task};
use telemetry_collector::{Collector, Options, ServedConfig, StoreSpec};

/// What the maintainer decided, after a release, not to collect any more: the concurrency
/// buckets. Clients fetch it from the collector and leave them out; none can be added.
const COLLECTION_CONFIG: &str = r#"{"config_version": 1,
  "default": {"omit": ["metrics.flow_concurrency", "metrics.task_concurrency"]}}"#;

#[derive(Debug)]
struct Unavailable;

static FETCH_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Fails twice (a flaky network, say), then succeeds: `retries = 3` absorbs it.
#[task(retries = 3, retry_delay_ms = 50)]
fn fetch(id: u32) -> Result<String, Unavailable> {
    if FETCH_ATTEMPTS.fetch_add(1, Ordering::Relaxed) < 2 {
        return Err(Unavailable);
    }
    Ok(format!("record-{id}"))
}

/// Pure and costly: `cache` runs it once per distinct input.
#[task(cache)]
fn word_count(text: String) -> usize {
    text.split_whitespace().count()
}

#[flow]
fn nightly() -> Result<usize, Unavailable> {
    let record = fetch(7)?;
    let mut total = 0;
    for _ in 0..3 {
        total += word_count(format!("{record} was fetched and parsed"));
    }
    Ok(total)
}

fn main() {
    // A scratch directory, so the demo writes nothing where your real settings live.
    let scratch = std::env::temp_dir().join(format!("telemetry-quickstart-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&scratch);

    // The collector a maintainer runs (`telemetry-collector serve`), here in-process. A demo
    // has one installation: with the default K = 5 every breakdown row would be folded into
    // `other`, so this one shows rows seen from a single installation.
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let mut options = Options::new();
    options.listen = ([127, 0, 0, 1], 0).into();
    options.store = StoreSpec::Sqlite(scratch.join("telemetry.db"));
    options.min_installations = 1;
    options.collection = ServedConfig::new(COLLECTION_CONFIG.as_bytes().to_vec()).ok();
    let tap = Arc::clone(&received);
    options.tap = Some(Arc::new(move |body: &[u8]| {
        tap.lock().unwrap().push(body.to_vec());
    }));
    let collector = match Collector::start(options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("the collector did not start: {e}");
            std::process::exit(1);
        }
    };
    println!("Collector listening on {}", collector.url());
    println!("It serves this collection config at /v1/config:\n{COLLECTION_CONFIG}");

    let env = Env::process().with("ACME_TELEMETRY_ENABLED", "1").with(
        "ACME_TELEMETRY_ENDPOINT",
        format!("{}/v1/batch", collector.url()),
    );
    let guard = telemetry::init(
        Config::new("acme", env!("CARGO_PKG_VERSION"))
            .env(env)
            .config_dir(scratch.join("config")),
    );
    let decision = guard.decision();
    println!(
        "Telemetry for this run: {}",
        if decision.enabled { "on" } else { "off" }
    );
    println!("Decided by: {}", decision.rule);

    let result = nightly();
    println!("\nnightly() returned {result:?}");
    println!(
        "fetch's body ran {} times for one call (2 failures, then success); word_count's once for 3 calls",
        FETCH_ATTEMPTS.load(Ordering::Relaxed)
    );

    // Dropping the guard flushes, bounded by the flush timeout.
    drop(guard);

    let bodies = std::mem::take(&mut *received.lock().unwrap());
    if bodies.is_empty() {
        println!("\nThe collector got nothing: telemetry is off for this run (see above).");
    } else {
        println!(
            "\nThe collector on {} got {} batch(es), {} bytes in all. All of it, pretty-printed:\n",
            collector.url(),
            bodies.len(),
            bodies.iter().map(Vec::len).sum::<usize>()
        );
        for body in &bodies {
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(batch) => println!("{batch:#}"),
                Err(_) => println!("{}", String::from_utf8_lossy(body)),
            }
        }
        println!(
            "\nNo fn names, arguments, results, messages, paths or exact times: only counts, \
             flags, buckets, versions and random ids. And no concurrency buckets: the \
             collection config left them out."
        );
    }

    match collector.report(30, None) {
        Ok(report) => {
            println!(
                "\nThe report the maintainer sees (the collector's dashboard `/` and \
                 `/v1/report` show the same), with K = 1 for this demo (5 by default):\n"
            );
            println!(
                "  {} to {}: {} installation(s), {} session(s), {} batch(es), {} event(s)",
                report.window.from,
                report.window.to,
                report.installations,
                report.sessions,
                report.batches,
                report.events
            );
            for (name, rows) in &report.breakdowns {
                if rows.is_empty() {
                    continue;
                }
                let shown: Vec<String> = rows
                    .iter()
                    .map(|r| match r.share {
                        Some(share) => format!("{} {:.0}%", r.value, share * 100.0),
                        None => format!("{} {}", r.value, r.total),
                    })
                    .collect();
                println!("  {name:<14} {}", shown.join(", "));
            }
        }
        Err(e) => eprintln!("the report failed: {e}"),
    }
    collector.shutdown();
    let _ = std::fs::remove_dir_all(&scratch);
}
