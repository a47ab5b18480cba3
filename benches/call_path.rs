//! The cost of one annotated call, next to the same fn without the attribute, under
//! `#[tracing::instrument]` and with `metrics::counter!`: every row in one run.
//!
//! `benches/run.sh` runs this twice (a normal build, then one built with
//! `--cfg telemetry_disabled` into its own target dir for the compiled-out rows), runs the
//! worker benchmark, and prints the table the README shows. `cargo bench --bench call_path`
//! alone runs the normal build and prints the table from whatever results exist.
//!
//! Every fn has the same body (a multiply and a rotate) and is `#[inline(never)]`, so a row's
//! cost over `plain` is what the attribute adds to a call.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

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

fn two(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, f: impl Fn(u64) -> u64 + Sync) {
    two_in(g, id, f, |body| body());
}

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

    telemetry::set_recording(false);
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

    telemetry::set_recording(true);
    one(&mut g, "task_on", annotated);
    one(&mut g, "retries_on", |x| retried(x).unwrap_or(0));
    one(&mut g, "cache_hit_on", cached);
    g.bench_function("async_flow_on", |b| {
        b.iter(|| poll_ready(std::pin::pin!(flow_async(black_box(7)))))
    });
    telemetry::set_recording(false);

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
    telemetry::set_recording(false);
    two(&mut g, "task_off", annotated);
    telemetry::set_recording(true);
    two(&mut g, "task_on", annotated);
    // Both threads ask for the same entry, so every call is a hit (the argument the
    // loop passes would make every call a new key).
    cached(7);
    let hit = |_| cached(black_box(7));
    two(&mut g, "cache_hit_on", hit);
    telemetry::set_recording(false);
    two(&mut g, "cache_hit_off", hit);
    telemetry::set_recording(false);
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
mod report {
    //! The README's table, from the results criterion saved: each row's time per call, its
    //! ratio to its baseline and to `#[tracing::instrument]` in the same state.

    use std::path::Path;

    /// `(row, what it measures, its baseline, the tracing row to compare with)`.
    const ROWS: [(&str, &str, &str, Option<&str>); 22] = [
        ("call_path/plain", "plain fn", "call_path/plain", None),
        (
            "call_path/task_off",
            "`#[task]`, telemetry off",
            "call_path/plain",
            Some("call_path/tracing_no_subscriber"),
        ),
        (
            "call_path/task_on",
            "`#[task]`, telemetry on",
            "call_path/plain",
            Some("call_path/tracing_registry"),
        ),
        (
            "compiled_out/task",
            "`#[task]`, compiled out (vs plain of the same build)",
            "compiled_out/plain",
            None,
        ),
        (
            "call_path/retries_off",
            "`#[task(retries = 3)]`, off, first attempt ok",
            "call_path/plain_result",
            Some("call_path/tracing_no_subscriber"),
        ),
        (
            "call_path/retries_on",
            "`#[task(retries = 3)]`, on, first attempt ok",
            "call_path/plain_result",
            Some("call_path/tracing_registry"),
        ),
        (
            "call_path/cache_hit_off",
            "`#[task(cache)]`, off, hit",
            "call_path/plain",
            Some("call_path/tracing_no_subscriber"),
        ),
        (
            "call_path/cache_hit_on",
            "`#[task(cache)]`, on, hit (telemetry's share: vs off)",
            "call_path/cache_hit_off",
            Some("call_path/tracing_registry"),
        ),
        (
            "call_path/async_flow_off",
            "`async` `#[flow]`, off, polled once",
            "call_path/async_plain",
            Some("call_path/async_tracing_no_subscriber"),
        ),
        (
            "call_path/async_flow_on",
            "`async` `#[flow]`, on, polled once",
            "call_path/async_plain",
            Some("call_path/async_tracing_registry"),
        ),
        (
            "call_path/tracing_no_subscriber",
            "`#[tracing::instrument]`, no subscriber",
            "call_path/plain",
            None,
        ),
        (
            "call_path/tracing_registry",
            "`#[tracing::instrument]`, `Registry` subscriber",
            "call_path/plain",
            None,
        ),
        (
            "call_path/async_tracing_no_subscriber",
            "`async` `#[tracing::instrument]`, no subscriber, polled once",
            "call_path/async_plain",
            None,
        ),
        (
            "call_path/async_tracing_registry",
            "`async` `#[tracing::instrument]`, `Registry`, polled once",
            "call_path/async_plain",
            None,
        ),
        (
            "call_path/metrics_no_recorder",
            "`metrics::counter!`, no recorder",
            "call_path/plain",
            Some("call_path/tracing_no_subscriber"),
        ),
        (
            "two_threads/plain",
            "two threads: plain fn",
            "two_threads/plain",
            None,
        ),
        (
            "two_threads/task_off",
            "two threads: `#[task]`, off",
            "two_threads/plain",
            None,
        ),
        (
            "two_threads/task_on",
            "two threads: `#[task]`, on",
            "two_threads/plain",
            Some("two_threads/tracing_registry"),
        ),
        (
            "two_threads/cache_hit_off",
            "two threads: `#[task(cache)]`, off, hit",
            "two_threads/plain",
            None,
        ),
        (
            "two_threads/cache_hit_on",
            "two threads: `#[task(cache)]`, on, hit (vs off)",
            "two_threads/cache_hit_off",
            Some("two_threads/tracing_registry"),
        ),
        (
            "two_threads/tracing_registry",
            "two threads: `#[tracing::instrument]`, `Registry`",
            "two_threads/plain",
            None,
        ),
        (
            "two_threads/metrics_no_recorder",
            "two threads: `metrics::counter!`, no recorder",
            "two_threads/plain",
            None,
        ),
    ];

    /// One benchmark's latest run: the median time per call, and the fastest sample's.
    #[derive(Clone, Copy)]
    struct Times {
        median: f64,
        best: f64,
    }

    fn times(home: &Path, id: &str) -> Option<Times> {
        let read = |file: &str| -> Option<serde_json::Value> {
            let text = std::fs::read_to_string(home.join(id).join("new").join(file)).ok()?;
            serde_json::from_str(&text).ok()
        };
        let estimates = read("estimates.json")?;
        let sample = read("sample.json")?;
        let per_call = sample["iters"]
            .as_array()?
            .iter()
            .zip(sample["times"].as_array()?)
            .filter_map(|(n, t)| Some(t.as_f64()? / n.as_f64()?));
        Some(Times {
            median: estimates["median"]["point_estimate"].as_f64()?,
            best: per_call.fold(f64::INFINITY, f64::min),
        })
    }

    fn ns(t: Option<f64>) -> String {
        t.map_or_else(|| "–".into(), |t| format!("{t:.2}"))
    }

    fn ratio(a: Option<f64>, b: Option<f64>) -> String {
        match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "–".into(),
        }
    }

    pub fn print(home: &Path) {
        // On a shared machine another process can slow any sample down, never speed one up:
        // the fastest of a row's samples is its least disturbed figure, and the ratios and
        // targets use it. The median is shown beside it.
        let m = |id: &str| times(home, id).map(|t| t.best);
        println!("\nTime per call (ns), from {}:\n", home.display());
        println!(
            "| call | fastest sample | median | over its baseline | × baseline | × tracing, same state |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        for (id, what, base, tracing) in ROWS {
            let (t, b) = (m(id), m(base));
            let over = match (t, b) {
                (Some(t), Some(b)) if id != base => format!("{:+.2} ns", t - b),
                _ => "–".into(),
            };
            let base_name = base.rsplit('/').next().unwrap_or(base);
            println!(
                "| {what} | {} | {} | {over} ({base_name}) | {} | {} |",
                ns(t),
                ns(times(home, id).map(|t| t.median)),
                ratio(t, b),
                ratio(t, tracing.and_then(m)),
            );
        }
        println!("\nTargets:");
        let over = |a: &str, b: &str| Some(m(a)? - m(b)?);
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        if let Some(d) = over("call_path/task_off", "call_path/plain") {
            println!(
                "- off: {d:+.2} ns over plain (target ≤ +0.5 ns): {}",
                verdict(d <= 0.5)
            );
        }
        if let Some(d) = over("call_path/task_on", "call_path/plain") {
            println!(
                "- on: {d:+.2} ns over plain (target ≤ +10 ns): {}",
                verdict(d <= 10.0)
            );
        }
        // The same ratio for `plain` says what the machine itself gives two threads (on a
        // loaded machine they do not both get a core all the time).
        let machine = m("two_threads/plain")
            .zip(m("call_path/plain"))
            .map(|(two, one)| two / one);
        for (what, two, one) in [
            ("on", "two_threads/task_on", "call_path/task_on"),
            (
                "cache hit",
                "two_threads/cache_hit_on",
                "call_path/cache_hit_on",
            ),
        ] {
            if let (Some(two), Some(one)) = (m(two), m(one)) {
                let r = two / one;
                println!(
                    "- two threads, {what}: {r:.2}× one thread (target ≤ 2×; plain fn: {}×): {}",
                    machine.map_or_else(|| "–".into(), |x| format!("{x:.2}")),
                    verdict(r <= 2.0)
                );
            }
        }
        if let Some(d) = over("call_path/async_flow_off", "call_path/async_plain") {
            println!(
                "- async, off: {d:+.2} ns over the same async fn without the attribute \
                 (the ≤ +0.5 ns target is for a sync call): {}",
                verdict(d <= 0.5)
            );
        }
        if let Some(d) = over("compiled_out/task", "compiled_out/plain") {
            println!("- compiled out: {d:+.2} ns over plain of the same build (target: noise)");
        } else {
            println!("- compiled out: not measured (benches/run.sh builds it)");
        }
    }
}
