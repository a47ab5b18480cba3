//! The enabled call path allocates nothing (after a thread's first counted call, which takes
//! its counter shard), and neither do retries or cache hits.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use telemetry::task;

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

#[test]
fn counted_calls_do_not_allocate() {
    telemetry::set_recording(true);
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
    assert_eq!(n, 0);
    let c = telemetry::callsites();
    let add_calls = c.iter().find(|s| s.name == "add").unwrap().counts.calls();
    assert_eq!(add_calls, 10_001, "the calls were counted");
}
