//! The sending pipeline, measured through the public API against receivers on 127.0.0.1:
//!
//! - how many failing calls per second one thread makes (each error is counted in the
//!   thread's own shard, by type), and whether every one reached the receiver;
//! - how long `drop(guard)` takes with a live receiver, and with one that reads the request
//!   and never answers (bounded by the flush timeout, 2 s).
//!
//! `cargo bench --bench worker` (a plain `main`: these are milliseconds and seconds, not
//! nanoseconds, and each run needs a fresh `init`). Run without `--bench` (as
//! `cargo test --benches` does) it makes one short pass of each, as a smoke test.
//!
//! Telemetry is switched on for this process only, through an injected environment; the
//! state, spool and policy paths are in a temporary directory, and nothing is sent anywhere
//! but the receivers started here.

#[path = "../tests/common/receiver.rs"]
mod receiver;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use receiver::{Receiver, Reply};
use telemetry::config::Env;
use telemetry::{Config, Guard, task};

/// An allowlisted error made from an `ErrorKind`: no allocation, no message.
#[task]
#[inline(never)]
fn failing(n: u64) -> Result<u64, std::io::Error> {
    if black_box(n) == u64::MAX {
        return Ok(n);
    }
    Err(std::io::ErrorKind::NotFound.into())
}

#[task]
#[inline(never)]
fn work(n: u64) -> u64 {
    n.wrapping_mul(31).rotate_left(7)
}

/// Telemetry on for this run, sending to `endpoint`, with every file inside `dir`.
fn start(dir: &Path, endpoint: &str) -> Guard {
    // `Env::empty()`: the machine's own variables (CI, DO_NOT_TRACK) do not decide here;
    // this measurement only ever talks to a receiver on loopback.
    let env = Env::empty()
        .with("ACME_TELEMETRY_ENABLED", "1")
        .with("ACME_TELEMETRY_ENDPOINT", endpoint);
    let guard = telemetry::init(
        Config::new("acme", "1.0")
            .env(env)
            .config_dir(dir.join("conf"))
            .policy_file(dir.join("policy.toml"))
            .current_dir(dir),
    );
    assert!(
        guard.is_enabled() || cfg!(telemetry_disabled),
        "telemetry did not switch on: {}",
        guard.decision().rule
    );
    guard
}

/// Sum of every `error` event's counts in the batches a receiver got.
fn errors_received(receiver: &Receiver) -> u64 {
    receiver
        .bodies()
        .iter()
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .flat_map(|batch| batch["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["event_type"] == "error")
        .flat_map(|e| {
            e["errors"]["exception_types"]
                .as_object()
                .map(|m| m.values().filter_map(|v| v.as_u64()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .sum()
}

fn spooled(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("conf/telemetry_spool")).map_or(0, |d| d.count())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// min, median, max.
fn spread(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    (ms(v[0]), ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

/// One thread returns errors as fast as it can for `run`; every one must reach the receiver.
fn throughput(run: Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = Receiver::start();
    let guard = start(dir.path(), &receiver.url());
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < run {
        // Between clock reads, enough calls that reading the clock costs nothing.
        for i in 0..1024 {
            let _ = black_box(failing(black_box(i)));
        }
        calls += 1024;
    }
    let produced_for = started.elapsed();
    let exit = Instant::now();
    drop(guard);
    let exit = exit.elapsed();
    let delivered = errors_received(&receiver);
    let secs = produced_for.as_secs_f64();
    println!("\nThroughput: one thread returning `Err(io::Error)` for {secs:.1} s");
    println!("| what | count | per second |");
    println!("| --- | ---: | ---: |");
    println!(
        "| failing calls made (each error counted in the thread's shard) | {calls} | {:.2} M \
         ({:.1} ns per call) |",
        calls as f64 / secs / 1e6,
        secs * 1e9 / calls as f64
    );
    println!("drop(guard) after it: {:.1} ms", ms(exit));
    if delivered == calls {
        println!("Every error reached the receiver, counted by type ({calls}).");
    } else {
        println!("NOTE: {calls} errors returned, but {delivered} counted at the receiver");
    }
}

/// `drop(guard)` after a little work, `runs` times, each with a fresh `init` and directory.
fn exit_live(runs: usize) -> Vec<Duration> {
    let receiver = Receiver::start();
    (0..runs)
        .map(|_| {
            let dir = tempfile::tempdir().expect("temp dir");
            let guard = start(dir.path(), &receiver.url());
            for i in 0..1000 {
                black_box(work(black_box(i)));
            }
            for i in 0..10 {
                let _ = black_box(failing(i));
            }
            let t = Instant::now();
            drop(guard);
            let t = t.elapsed();
            assert_eq!(spooled(dir.path()), 0, "a live receiver got everything");
            t
        })
        .collect()
}

/// `drop(guard)` when the receiver reads the batch and never answers.
fn exit_hanging(runs: usize) -> (Vec<Duration>, usize) {
    let mut kept = 0;
    let times = (0..runs)
        .map(|_| {
            let dir = tempfile::tempdir().expect("temp dir");
            let receiver = Receiver::with_script(vec![Reply::NeverAnswer; 8]);
            let guard = start(dir.path(), &receiver.url());
            let _ = black_box(failing(1));
            let t = Instant::now();
            drop(guard);
            let t = t.elapsed();
            // What could not be sent waits in the spool for the next process.
            kept += usize::from(spooled(dir.path()) > 0);
            t
        })
        .collect();
    (times, kept)
}

fn main() {
    if cfg!(telemetry_disabled) {
        println!("worker: built with --cfg telemetry_disabled, nothing to measure");
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let (run, live_runs, hanging_runs) = if full {
        (Duration::from_secs(2), 20, 3)
    } else {
        (Duration::from_millis(100), 2, 1)
    };
    println!(
        "worker benchmark ({} cores){}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if full { "" } else { ": smoke run" }
    );
    throughput(run);

    let live = spread(exit_live(live_runs));
    let (times, kept) = exit_hanging(hanging_runs);
    let hanging = spread(times);
    println!("\nExit: drop(guard), each run with a fresh init and config dir");
    println!("| receiver | runs | min | median | max |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!(
        "| live, on 127.0.0.1 | {live_runs} | {:.1} ms | {:.1} ms | {:.1} ms |",
        live.0, live.1, live.2
    );
    println!(
        "| reads the request, never answers | {hanging_runs} | {:.0} ms | {:.0} ms | {:.0} ms |",
        hanging.0, hanging.1, hanging.2
    );
    println!(
        "Never answering: the batch was left in the spool for the next process in {kept} of \
         {hanging_runs} runs."
    );
    println!(
        "Target: exit ≤ 50 ms with a live local receiver: {} (slowest of {live_runs}: {:.1} ms)",
        if live.2 <= 50.0 { "met" } else { "MISSED" },
        live.2
    );
}
