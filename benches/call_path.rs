//! The cost of one annotated call, next to the same fn without the attribute.
//!
//! `cargo bench --bench call_path`. Compare the rows: the attribute's cost is the difference
//! between `task_*` and `plain`. Built with `RUSTFLAGS="--cfg telemetry_disabled"`, `task_off`
//! measures the compiled-out case.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
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

#[task(retries = 3)]
#[inline(never)]
fn retried(x: u64) -> Result<u64, ()> {
    Ok(x.wrapping_mul(31).rotate_left(7))
}

#[task(cache)]
#[inline(never)]
fn cached(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

/// Two threads calling `f` at once; the time per call of one thread.
fn two_threads(iters: u64, f: fn(u64) -> u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(move || {
                for i in 0..iters {
                    black_box(f(black_box(i)));
                }
            });
        }
    });
    start.elapsed()
}

fn call_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("call_path");
    g.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    telemetry::set_recording(false);
    g.bench_function("task_off", |b| b.iter(|| annotated(black_box(7))));
    telemetry::set_recording(true);
    g.bench_function("task_on", |b| b.iter(|| annotated(black_box(7))));
    g.bench_function("task_on_retries", |b| b.iter(|| retried(black_box(7))));
    g.bench_function("task_on_cache_hit", |b| b.iter(|| cached(black_box(7))));
    g.bench_function("plain_two_threads", |b| {
        b.iter_custom(|n| two_threads(n, plain))
    });
    g.bench_function("task_on_two_threads", |b| {
        b.iter_custom(|n| two_threads(n, annotated))
    });
    telemetry::set_recording(false);
    g.finish();
}

criterion_group!(benches, call_path);
criterion_main!(benches);
