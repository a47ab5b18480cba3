//! The cost of one annotated call, next to the same fn without the attribute, under
//! `#[tracing::instrument]` and with `metrics::counter!`: every row in one run.
//!
//! `benches/run.sh` runs this twice (a normal build, then one built with `--cfg
//! telemetry_disabled` into its own target dir for the compiled-out rows), runs the worker
//! benchmark, and prints the table docs/performance.md shows ("The call path"). `cargo bench
//! --bench call_path` alone runs the normal build and prints the table from whatever results
//! exist.
//!
//! Every fn has the same body (a multiply and a rotate) and is `#[inline(never)]`, so a row's
//! cost over `plain` is what the attribute adds to a call.

use std::hint::black_box;
#[cfg(not(telemetry_disabled))]
use std::sync::Barrier;
use std::time::Duration;
#[cfg(not(telemetry_disabled))]
use std::time::Instant;

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use telemetry::task;

#[inline(never)]
fn plain(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[task]
#[inline(never)]
fn annotated(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[cfg(not(telemetry_disabled))]
mod instrumented {
    //! The rows that only make sense with telemetry compiled in.

    use telemetry::{flow, task};

    /// The baseline of the `retries` rows: the same fn, returning the same `Result`.
    #[inline(never)]
    pub fn plain_result(x: u64) -> Result<u64, std::io::Error> {
        Ok(x.wrapping_mul(31).rotate_left(7))
    }

    /// The baseline of the error row: the same fn returning the same `Err`.
    #[inline(never)]
    pub fn plain_err(x: u64) -> Result<u64, std::io::Error> {
        if x == u64::MAX {
            return Ok(x);
        }
        Err(std::io::ErrorKind::NotFound.into())
    }

    /// A call that fails: its error type is counted in the thread's shard.
    #[task]
    #[inline(never)]
    pub fn failing(x: u64) -> Result<u64, std::io::Error> {
        if x == u64::MAX {
            return Ok(x);
        }
        Err(std::io::ErrorKind::NotFound.into())
    }

    #[task(retries = 3)]
    #[inline(never)]
    pub fn retried(x: u64) -> Result<u64, std::io::Error> {
        Ok(x.wrapping_mul(31).rotate_left(7))
    }

    #[task(cache)]
    #[inline(never)]
    pub fn cached(x: u64) -> u64 {
        x.wrapping_mul(31).rotate_left(7)
    }

    #[inline(never)]
    pub async fn plain_async(x: u64) -> u64 {
        x.wrapping_mul(31).rotate_left(7)
    }

    #[flow]
    #[inline(never)]
    pub async fn flow_async(x: u64) -> u64 {
        x.wrapping_mul(31).rotate_left(7)
    }

    #[tracing::instrument]
    #[inline(never)]
    pub fn traced(x: u64) -> u64 {
        x.wrapping_mul(31).rotate_left(7)
    }

    #[tracing::instrument]
    #[inline(never)]
    pub async fn traced_async(x: u64) -> u64 {
        x.wrapping_mul(31).rotate_left(7)
    }

    #[inline(never)]
    pub fn metered(x: u64) -> u64 {
        metrics::counter!("calls").increment(1);
        x.wrapping_mul(31).rotate_left(7)
    }
}

/// Polls a future that never waits, once, with a waker that does nothing: the cost of the
/// future itself, without an executor's. The caller pins it where it is built (as `.await`
/// does inside another async fn), so no row pays for moving it.
#[cfg(not(telemetry_disabled))]
#[inline(never)]
fn poll_ready<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut cx = Context::from_waker(Waker::noop());
    match future.poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("these futures never wait"),
    }
}

/// Two threads calling `f` at the same time, `iters` calls each, released together by a
/// barrier: the time from the first one starting to the last one finishing (thread
/// start-up is not included; a thread held up by the scheduler is, so a sample never looks
/// faster than a truly simultaneous run). Each thread's loop runs inside `on_thread`, which
/// may set up per-thread state (a tracing dispatcher).
#[cfg(not(telemetry_disabled))] // the two-thread rows need telemetry compiled in
fn two_threads(
    iters: u64,
    f: &(impl Fn(u64) -> u64 + Sync),
    on_thread: &(impl Fn(&mut dyn FnMut()) + Sync),
) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            let mut span = None;
            on_thread(&mut || {
                barrier.wait();
                let start = Instant::now();
                for i in 0..iters {
                    black_box(f(black_box(i)));
                }
                span = Some((start, Instant::now()));
            });
            span.expect("on_thread runs the loop")
        };
        let other = s.spawn(run);
        let (start_a, end_a) = run();
        let (start_b, end_b) = other.join().expect("bench thread");
        end_a.max(end_b) - start_a.min(start_b)
    })
}

fn one(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, f: impl Fn(u64) -> u64) {
    g.bench_function(id, |b| b.iter(|| f(black_box(7))));
}

#[cfg(not(telemetry_disabled))] // the two-thread rows need telemetry compiled in
fn two(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, f: impl Fn(u64) -> u64 + Sync) {
    two_in(g, id, f, |body| body());
}

#[cfg(not(telemetry_disabled))] // the two-thread rows need telemetry compiled in
fn two_in(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    f: impl Fn(u64) -> u64 + Sync,
    on_thread: impl Fn(&mut dyn FnMut()) + Sync,
) {
    g.bench_function(id, |b| b.iter_custom(|n| two_threads(n, &f, &on_thread)));
}

#[cfg(not(telemetry_disabled))]
fn single_thread(c: &mut Criterion) {
    use instrumented::*;
    use tracing_subscriber::Registry;

    let mut g = c.benchmark_group("call_path");
    one(&mut g, "plain", plain);
    one(&mut g, "plain_result", |x| plain_result(x).unwrap_or(0));
    one(&mut g, "plain_err", |x| plain_err(x).unwrap_or(0));

    telemetry::testing::set_recording(false);
    one(&mut g, "task_off", annotated);
    one(&mut g, "retries_off", |x| retried(x).unwrap_or(0));
    cached(7); // the first call fills the cache; the rows measure hits
    one(&mut g, "cache_hit_off", cached);
    g.bench_function("async_plain", |b| {
        b.iter(|| poll_ready(std::pin::pin!(plain_async(black_box(7)))))
    });
    g.bench_function("async_flow_off", |b| {
        b.iter(|| poll_ready(std::pin::pin!(flow_async(black_box(7)))))
    });

    telemetry::testing::set_recording(true);
    one(&mut g, "task_on", annotated);
    one(&mut g, "retries_on", |x| retried(x).unwrap_or(0));
    one(&mut g, "error_on", |x| failing(x).unwrap_or(0));
    one(&mut g, "cache_hit_on", cached);
    g.bench_function("async_flow_on", |b| {
        b.iter(|| poll_ready(std::pin::pin!(flow_async(black_box(7)))))
    });
    telemetry::testing::set_recording(false);

    one(&mut g, "tracing_no_subscriber", traced);
    g.bench_function("async_tracing_no_subscriber", |b| {
        b.iter(|| poll_ready(std::pin::pin!(traced_async(black_box(7)))))
    });
    tracing::subscriber::with_default(Registry::default(), || {
        one(&mut g, "tracing_registry", traced);
        g.bench_function("async_tracing_registry", |b| {
            b.iter(|| poll_ready(std::pin::pin!(traced_async(black_box(7)))))
        });
    });
    one(&mut g, "metrics_no_recorder", metered);
    g.finish();
}

#[cfg(not(telemetry_disabled))]
fn two_thread(c: &mut Criterion) {
    use instrumented::*;
    use tracing::Dispatch;
    use tracing_subscriber::Registry;

    let mut g = c.benchmark_group("two_threads");
    two(&mut g, "plain", plain);
    telemetry::testing::set_recording(false);
    two(&mut g, "task_off", annotated);
    telemetry::testing::set_recording(true);
    two(&mut g, "task_on", annotated);
    // Both threads ask for the same entry, so every call is a hit (the argument the
    // loop passes would make every call a new key).
    cached(7);
    let hit = |_| cached(black_box(7));
    two(&mut g, "cache_hit_on", hit);
    telemetry::testing::set_recording(false);
    two(&mut g, "cache_hit_off", hit);
    telemetry::testing::set_recording(false);
    // One subscriber shared by both threads, as a process-wide default would be.
    let registry = Dispatch::new(Registry::default());
    two_in(&mut g, "tracing_registry", traced, |body| {
        tracing::dispatcher::with_default(&registry, body)
    });
    two(&mut g, "metrics_no_recorder", metered);
    g.finish();
}

/// With the kill switch: `annotated` is expanded to exactly `plain`, and this shows it.
#[cfg(telemetry_disabled)]
fn compiled_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("compiled_out");
    one(&mut g, "plain", plain);
    one(&mut g, "task", annotated);
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        // Short, for a 2-core CI machine; `--measurement-time` etc. still override these.
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    #[cfg(not(telemetry_disabled))]
    {
        single_thread(&mut c);
        two_thread(&mut c);
        c.final_summary();
        // `cargo test --benches` runs each row once, without `--bench`: no figures then.
        if std::env::args().any(|a| a == "--bench") {
            report::print(&criterion_home());
        }
    }
    #[cfg(telemetry_disabled)]
    {
        compiled_out(&mut c);
        c.final_summary();
    }
}

/// Where criterion writes its results (its own rule, less the `cargo metadata` fallback).
#[cfg(not(telemetry_disabled))]
fn criterion_home() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| "target".into(), std::path::PathBuf::from)
        .join("criterion")
}

#[cfg(not(telemetry_disabled))]
#[path = "support/call_path_report.rs"]
mod report;
