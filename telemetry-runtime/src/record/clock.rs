//! A coarse clock for duration buckets.
//!
//! Reading `Instant::now()` twice per call costs ~45 ns, several times the whole budget of the
//! call path. The buckets (`<1s`, `1-10s`, …) only need to tell seconds apart, so one thread
//! publishes the elapsed time in 100 ms ticks and a call reads it with one relaxed load at
//! each end. The thread runs only while recording is on; each tick it also samples the calls
//! in flight (`counters.rs`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::process;

/// The resolution of call durations.
pub(crate) const TICK: Duration = Duration::from_millis(100);

static TICKS: AtomicU32 = AtomicU32::new(0);
static THREAD: OnceLock<Option<Thread>> = OnceLock::new();
/// What else runs every tick (sampling the calls in flight, `counters.rs`).
static ON_TICK: OnceLock<fn()> = OnceLock::new();

/// Ticks since the clock started.
#[inline(always)]
pub(crate) fn ticks() -> u32 {
    TICKS.load(Relaxed)
}

/// Starts the clock thread, or wakes it: call after turning the recording flag on. The thread
/// parks by itself once the flag is off (`process::recording`). `on_tick` runs after every
/// tick (the first one given is kept).
pub(crate) fn resume(on_tick: fn()) {
    let _ = ON_TICK.set(on_tick);
    let thread = THREAD.get_or_init(|| {
        let origin = Instant::now();
        // A failure to spawn leaves every call in the first bucket; never the host's problem.
        thread::Builder::new()
            .name("telemetry-clock".into())
            .spawn(move || {
                loop {
                    if process::recording() {
                        thread::sleep(TICK);
                        let elapsed = origin.elapsed().as_millis() / TICK.as_millis();
                        TICKS.store(u32::try_from(elapsed).unwrap_or(u32::MAX), Relaxed);
                        if let Some(on_tick) = ON_TICK.get() {
                            on_tick();
                        }
                    } else {
                        thread::park();
                    }
                }
            })
            .ok()
            .map(|handle| handle.thread().clone())
    });
    if let Some(thread) = thread {
        thread.unpark();
    }
}
