//! The counters of each callsite move exactly as calls happen.

mod common;

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use common::{block_on, counts};
use telemetry::{flow, task};

fn on() {
    telemetry::testing::set_recording(true);
}

#[task]
fn add_one(x: u64) -> u64 {
    x + 1
}

#[test]
fn calls_from_several_threads_add_up_exactly() {
    on();
    const THREADS: u64 = 4;
    const CALLS: u64 = 25_000;
    let handles: Vec<_> = (0..THREADS)
        .map(|_| std::thread::spawn(|| (0..CALLS).map(add_one).sum::<u64>()))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let c = counts("counters", "add_one");
    assert_eq!(c.calls(), THREADS * CALLS);
    assert_eq!(c.ok, THREADS * CALLS);
    assert_eq!(c.durations[0], THREADS * CALLS);
    assert_eq!((c.err, c.panics, c.retries), (0, 0, 0));
}

#[test]
fn threads_that_exit_hand_back_their_shard_without_losing_counts() {
    on();
    for round in 1..=20u64 {
        std::thread::spawn(|| {
            for _ in 0..10 {
                short_lived(1);
            }
        })
        .join()
        .unwrap();
        assert_eq!(counts("counters", "short_lived").calls(), round * 10);
    }
}

#[task]
fn short_lived(x: u8) -> u8 {
    x
}

static FLAKY_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 2)]
fn flaky() -> Result<(), String> {
    if FLAKY_RUNS.fetch_add(1, SeqCst) % 3 == 2 {
        Ok(())
    } else {
        Err("nope".into())
    }
}

#[task(retries = 1)]
fn hopeless() -> Result<(), String> {
    Err("never".into())
}

#[test]
fn outcomes_and_retry_attempts() {
    on();
    for _ in 0..5 {
        assert!(flaky().is_ok());
    }
    let c = counts("counters", "flaky");
    assert_eq!((c.ok, c.err, c.retries), (5, 0, 10));
    assert!(hopeless().is_err());
    assert!(hopeless().is_err());
    let c = counts("counters", "hopeless");
    assert_eq!((c.ok, c.err, c.retries, c.calls()), (0, 2, 2, 2));
}

#[task]
fn explodes(really: bool) -> u8 {
    if really {
        panic!("boom");
    }
    1
}

#[test]
fn panics_are_counted_and_still_propagate() {
    on();
    assert_eq!(explodes(false), 1);
    let caught = std::panic::catch_unwind(|| explodes(true));
    assert!(caught.is_err());
    let c = counts("counters", "explodes");
    assert_eq!((c.ok, c.err, c.panics), (1, 0, 1));
}

#[task(cache)]
fn cached_len(s: String) -> usize {
    s.len()
}

#[test]
fn cache_hits_and_misses() {
    on();
    cached_len("a".into());
    cached_len("a".into());
    cached_len("a".into());
    cached_len("bb".into());
    let c = counts("counters", "cached_len");
    assert_eq!((c.cache_misses, c.cache_hits, c.calls()), (2, 2, 4));
}

#[flow]
fn takes_over_a_second() {
    std::thread::sleep(Duration::from_millis(1300));
}

#[test]
fn durations_fall_in_their_bucket() {
    on();
    // Give the coarse clock time to start ticking.
    std::thread::sleep(Duration::from_millis(250));
    takes_over_a_second();
    let c = counts("counters", "takes_over_a_second");
    assert_eq!(c.durations, [0, 1, 0, 0, 0, 0]);
}

#[task]
async fn async_step(fail: bool) -> Result<u8, std::io::Error> {
    if fail {
        Err(std::io::Error::other("x"))
    } else {
        Ok(1)
    }
}

#[test]
fn async_outcomes() {
    on();
    assert!(block_on(async_step(false)).is_ok());
    assert!(block_on(async_step(true)).is_err());
    // A future dropped before completing is not a call that happened.
    drop(async_step(false));
    let c = counts("counters", "async_step");
    assert_eq!((c.ok, c.err, c.panics), (1, 1, 0));
}

#[test]
fn snapshot_describes_the_callsite() {
    let snap = telemetry::introspect::callsites()
        .into_iter()
        .find(|c| c.name == "flaky")
        .unwrap();
    assert_eq!(snap.kind, telemetry::introspect::Kind::Task);
    assert_eq!(snap.features, telemetry::introspect::Features::RETRIES);
    let snap = telemetry::introspect::callsites()
        .into_iter()
        .find(|c| c.name == "async_step")
        .unwrap();
    assert!(
        snap.features
            .contains(telemetry::introspect::Features::ASYNC)
    );
}
