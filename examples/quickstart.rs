//! The main job, as a newcomer meets it: `cargo run --example quickstart`.
//!
//! Runs a small flow whose tasks use real retries and a real cache, with the call-path
//! counters switched on for this process only, then prints what was counted. Nothing is
//! sent anywhere: the sending pipeline is not part of this build yet, and the numbers below
//! are read straight from this process's memory.

use std::sync::atomic::{AtomicU32, Ordering};

use telemetry::{flow, task};

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
    // Counting on for this process only; no consent is recorded and nothing leaves it.
    telemetry::set_recording(true);

    let result = nightly();
    println!("nightly() returned {result:?}");
    println!(
        "fetch ran {} times for one call (2 failures + 1 success)\n",
        FETCH_ATTEMPTS.load(Ordering::Relaxed)
    );

    println!(
        "{} flow(s) and {} task(s) defined in this binary; what was counted:\n",
        telemetry::flows_defined(),
        telemetry::tasks_defined()
    );
    println!(
        "{:<6} {:<11} {:>5} {:>3} {:>3} {:>6} {:>7} {:>10} {:>12}  features",
        "kind", "fn", "calls", "ok", "err", "panics", "retries", "cache hits", "cache misses"
    );
    for site in telemetry::callsites() {
        let c = site.counts;
        let features: Vec<_> = site.features.names().collect();
        println!(
            "{:<6} {:<11} {:>5} {:>3} {:>3} {:>6} {:>7} {:>10} {:>12}  {}",
            format!("{:?}", site.kind).to_lowercase(),
            site.name,
            c.calls(),
            c.ok,
            c.err,
            c.panics,
            c.retries,
            c.cache_hits,
            c.cache_misses,
            features.join(", ")
        );
    }
    println!(
        "\nFn names are shown here, locally, to tell the rows apart; they are never part of \
         anything telemetry sends."
    );
}
