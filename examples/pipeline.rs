//! A host that makes many annotated calls from several threads, then exits: the shape of a
//! short-lived CLI or a batch job. It shows the sending pipeline at work, and
//! `tests/pipeline.rs` drives it as a real process against receivers it starts on loopback.
//!
//! ```sh
//! ACME_TELEMETRY_ENABLED=1 ACME_TELEMETRY_DEBUG=1 cargo run --example pipeline -- --calls 1000
//! ```
//!
//! Options: `--threads T` (4), `--calls N` per thread (1000), `--errors K` calls per thread
//! that return an `Err` (0), `--events E` custom events per thread (0; discrete events go
//! through the bounded queue, errors are counted in the threads' shards), `--diagnostics`
//! (print queue and spool sizes at the end).
//! It prints its own results on stdout, and how long dropping the telemetry guard took.

use std::time::Instant;

use telemetry::{flow, task};

#[task]
fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

#[task]
fn parse_number(text: &str) -> Result<u64, std::num::ParseIntError> {
    text.parse()
}

/// A custom event: one per `--events`.
#[derive(telemetry::Event)]
struct StepDone {
    thread: u64,
}

#[flow]
fn job(thread: u64, calls: u64, errors: u64, events: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..calls {
        sum = sum.wrapping_add(square(thread * calls + i));
    }
    for i in 0..errors {
        // Inputs that cannot parse: the error's type is counted, never its text.
        let _ = parse_number(&format!("not a number {i}"));
    }
    for _ in 0..events {
        telemetry::record(&StepDone { thread });
    }
    sum
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads = arg(&args, "--threads", 4);
    let calls = arg(&args, "--calls", 1000);
    let errors = arg(&args, "--errors", 0);
    let events = arg(&args, "--events", 0);

    let mut config = telemetry::Config::new("acme", env!("CARGO_PKG_VERSION"));
    // For this example's own tests only: they point the system policy file (normally
    // /etc/acme/telemetry.toml) at a file of theirs, so they never depend on the machine.
    // A real host leaves this out.
    if let Some(path) = std::env::var_os("ACME_EXAMPLE_SYSTEM_POLICY") {
        config = config.policy_file(path);
    }
    let guard = telemetry::init(config);

    let handles: Vec<_> = (0..threads)
        .map(|t| std::thread::spawn(move || job(t, calls, errors, events)))
        .collect();
    let total = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(0u64, u64::wrapping_add);
    println!("result={total}");

    if args.iter().any(|a| a == "--diagnostics") {
        let d = guard.diagnostics();
        println!(
            "queue_len={} queue_capacity={} dropped_events={} spool_files={} spool_bytes={}",
            d.queue_len, d.queue_capacity, d.dropped_events, d.spool_files, d.spool_bytes
        );
    }
    let started = Instant::now();
    drop(guard);
    println!("drop_ms={}", started.elapsed().as_millis());
}
