//! A coarse clock for duration buckets.
//!
//! Reading `Instant::now()` twice per call costs ~45 ns, several times the whole budget of the
//! call path. The buckets (`<1s`, `1-10s`, …) only need to tell seconds apart, so one thread
//! publishes the elapsed time in 100 ms ticks and a call reads it with one relaxed load at
//! each end. The thread runs only while recording is on.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// The resolution of call durations.
pub(crate) const TICK: Duration = Duration::from_millis(100);

static TICKS: AtomicU32 = AtomicU32::new(0);
static RUNNING: AtomicBool = AtomicBool::new(false);
static THREAD: OnceLock<Option<Thread>> = OnceLock::new();

/// Ticks since the clock started.
#[inline(always)]
pub(crate) fn ticks() -> u32 {
    TICKS.load(Relaxed)
}

/// The duration bucket of a call that lasted `ticks` ticks.
#[inline(always)]
pub(crate) fn bucket(ticks: u32) -> usize {
    const PER_SEC: u32 = 10; // ticks per second
    match ticks {
        t if t < PER_SEC => 0,
        t if t < 10 * PER_SEC => 1,
        t if t < 60 * PER_SEC => 2,
        t if t < 300 * PER_SEC => 3,
        t if t < 1800 * PER_SEC => 4,
        _ => 5,
    }
}

/// Starts the clock thread, or wakes it.
pub(crate) fn resume() {
    RUNNING.store(true, Relaxed);
    let thread = THREAD.get_or_init(|| {
        let origin = Instant::now();
        // A failure to spawn leaves every call in the first bucket; never the host's problem.
        thread::Builder::new()
            .name("telemetry-clock".into())
            .spawn(move || {
                loop {
                    if RUNNING.load(Relaxed) {
                        thread::sleep(TICK);
                        let elapsed = origin.elapsed().as_millis() / TICK.as_millis();
                        TICKS.store(u32::try_from(elapsed).unwrap_or(u32::MAX), Relaxed);
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

/// Lets the clock thread park; it stops waking up until `resume`.
pub(crate) fn pause() {
    RUNNING.store(false, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn buckets_follow_the_spec_boundaries() {
        let cases = [
            (0, 0),
            (9, 0),
            (10, 1),
            (99, 1),
            (100, 2),
            (599, 2),
            (600, 3),
            (2999, 3),
            (3000, 4),
            (17999, 4),
            (18000, 5),
            (u32::MAX, 5),
        ];
        for (ticks, expected) in cases {
            assert_eq!(bucket(ticks), expected, "{ticks} ticks");
        }
    }
}
