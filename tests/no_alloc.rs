//! The enabled call path allocates nothing (after a thread's first counted call, which takes
//! its counter shard): plain calls, retries, cache hits, `async` tasks and flows polled to
//! completion, a flow calling tasks, and calls that return an allowlisted `Err`, which go
//! through the bounded queue to a running worker.
//!
//! Allocations are counted per thread, so the worker's and the clock's own work (on their
//! threads) is not counted; only what a call does on the caller's thread is.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::io::ErrorKind;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;

use telemetry::config::Env;
use telemetry::{flow, task};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; only counts, per thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Recording is process-wide: the tests here take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls a future that never waits to completion, with a waker that does nothing (a real
/// executor's waker would be made once, outside the calls being counted).
fn complete<F: Future>(future: F) -> F::Output {
    let mut cx = common::noop_context();
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[task]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[task(retries = 2)]
fn flaky(n: u64) -> Result<u64, u64> {
    if n.is_multiple_of(3) { Err(n) } else { Ok(n) }
}

#[task(cache)]
fn cached(n: u64) -> u64 {
    n * 2
}

/// An allowlisted error: its type is reported as `std::io::Error(NotFound)`. Made from an
/// `ErrorKind`, so the error itself allocates nothing either.
#[task(retries = 1)]
fn missing(n: u64) -> Result<u64, std::io::Error> {
    if n.is_multiple_of(2) {
        Err(ErrorKind::NotFound.into())
    } else {
        Ok(n)
    }
}

#[task]
async fn double(n: u64) -> u64 {
    n * 2
}

#[task(retries = 2)]
async fn maybe(n: u64) -> Result<u64, std::io::Error> {
    if n.is_multiple_of(4) {
        Err(ErrorKind::TimedOut.into())
    } else {
        Ok(n)
    }
}

#[flow]
fn nightly(n: u64) -> Result<u64, std::io::Error> {
    let a = add(n, 1);
    let b = cached(5);
    let c = missing(n)?;
    Ok(a + b + c)
}

#[flow]
async fn nightly_async(n: u64) -> Result<u64, std::io::Error> {
    let a = double(n).await;
    let b = maybe(n).await?;
    Ok(a + b + add(n, 1))
}

#[test]
fn counted_calls_do_not_allocate() {
    let _serial = serial();
    telemetry::testing::set_recording(true);
    // The first counted call on this thread takes a shard; the cache entry is made once.
    add(1, 2);
    cached(5);
    let n = allocations_during(|| {
        for i in 0..10_000 {
            std::hint::black_box(add(i, 1));
            let _ = std::hint::black_box(flaky(i));
            std::hint::black_box(cached(5));
        }
    });
    telemetry::testing::set_recording(false);
    assert_eq!(n, 0);
    let add_calls = common::counts("no_alloc", "add").calls();
    assert!(add_calls >= 10_001, "the calls were counted: {add_calls}");
}

#[test]
fn async_calls_and_errors_sent_to_the_worker_do_not_allocate() {
    let _serial = serial();
    // A real `init` with consent on, so errors go through the bounded queue to a running
    // worker. No endpoint is set: the worker drains and sends nothing.
    let dir = tempfile::tempdir().unwrap();
    let guard = telemetry::init(common::isolated_config(
        dir.path(),
        Env::empty().with("ACME_TELEMETRY_ENABLED", "1"),
    ));
    assert!(guard.is_enabled(), "{}", guard.decision().rule);
    let before = (
        common::counts("no_alloc", "missing"),
        common::counts("no_alloc", "nightly_async"),
    );

    // Warm up: this thread's shard, and the cache entry.
    let _ = nightly(1);
    let _ = complete(nightly_async(1));

    const CALLS: u64 = 2_000;
    let n = allocations_during(|| {
        for i in 0..CALLS {
            let _ = std::hint::black_box(nightly(i));
            let _ = std::hint::black_box(complete(nightly_async(i)));
            let _ = std::hint::black_box(complete(maybe(i)));
        }
    });
    let after = (
        common::counts("no_alloc", "missing"),
        common::counts("no_alloc", "nightly_async"),
    );
    drop(guard);
    assert_eq!(n, 0);

    // Every other `missing` call returned `Err` after its retry, and was counted as such.
    assert_eq!(after.0.err - before.0.err, CALLS / 2);
    assert_eq!(after.0.retries - before.0.retries, CALLS / 2);
    // One in four async flows failed (its `maybe` task did), the rest succeeded.
    assert_eq!(after.1.err - before.1.err, CALLS / 4);
    assert_eq!(after.1.calls() - before.1.calls(), CALLS + 1);
}
