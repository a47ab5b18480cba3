//! The main job, as a newcomer meets it: `cargo run --example quickstart`.
//!
//! Starts a receiver on 127.0.0.1 inside this process, switches telemetry on for this run
//! only (your saved decision, if any, is not touched, and `DO_NOT_TRACK` still wins), runs a
//! small flow whose tasks really retry and really cache, flushes, and prints exactly what the
//! receiver got.

#[path = "../tests/common/receiver.rs"]
mod receiver;

use std::sync::atomic::{AtomicU32, Ordering};

use telemetry::config::Env;
use telemetry::{Config, flow, task};

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
    let receiver = receiver::Receiver::start();
    // A scratch config dir, so the demo writes nothing where your real settings live.
    let scratch = std::env::temp_dir().join(format!("telemetry-quickstart-{}", std::process::id()));
    let env = Env::process()
        .with("ACME_TELEMETRY_ENABLED", "1")
        .with("ACME_TELEMETRY_ENDPOINT", receiver.url());
    let guard = telemetry::init(
        Config::new("acme", env!("CARGO_PKG_VERSION"))
            .env(env)
            .config_dir(&scratch),
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
    let _ = std::fs::remove_dir_all(&scratch);

    let bodies = receiver.bodies();
    if bodies.is_empty() {
        println!("\nThe receiver got nothing: telemetry is off for this run (see above).");
        return;
    }
    println!(
        "\nThe receiver on {} got {} batch(es), {} bytes in all. Every byte of it:\n",
        receiver.url(),
        bodies.len(),
        bodies.iter().map(Vec::len).sum::<usize>()
    );
    for body in bodies {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(batch) => println!("{:#}", batch),
            Err(_) => println!("{}", String::from_utf8_lossy(&body)),
        }
    }
    println!(
        "\nNo fn names, arguments, results, messages, paths or exact times: only counts, \
         flags, buckets, versions and random ids (the types are in telemetry-runtime/src/schema.rs)."
    );
}
