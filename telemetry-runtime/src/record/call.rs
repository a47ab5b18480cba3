//! One call of an annotated fn in progress: what generated code calls as a call starts and
//! ends. Only the checks of whether there is anything to record are inline; what a call
//! records is out of line, one copy in the runtime rather than one per annotated fn, which
//! keeps annotating cheap to compile (docs/performance.md, "Compile time").
//!
//! A sync call starts and ends on one thread, so it finds its slot in that thread's shard
//! once, as it starts, and holds it ([`Call`]). An async call may end on another thread:
//! it holds its callsite and finds the slot of the thread it is on at each step
//! ([`AsyncCall`]), as a shard has exactly one writer.

use std::sync::atomic::AtomicU64;

use crate::process;
use crate::record::callsite::Callsite;
use crate::record::clock;
use crate::record::counters::{Slot, bump, count_error, ended_without_slot, here};
use crate::record::outcome::CallOutcome;
use crate::wire::buckets::DurationBucket;
use crate::wire::errors::ErrorType;

/// What a call in progress holds to find its counters: the slot itself (a sync call), or
/// its callsite (an async call, which may move between threads). Generated code only.
#[doc(hidden)]
pub trait Site: Copy + sealed::Sealed {
    /// The slot of the thread this runs on.
    #[doc(hidden)]
    fn slot(self) -> Option<&'static Slot>;

    /// The call that started at `start` returned something other than an `Err`.
    #[doc(hidden)]
    fn ok(self, start: u32);

    /// The slot of the thread the call ends on. An async call may end on a thread with no
    /// slot left (its thread-locals torn down at exit): it is then counted as ended all the
    /// same, for the calls in flight (`counters::ended_without_slot`).
    #[doc(hidden)]
    fn ending(self) -> Option<&'static Slot>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &'static super::Slot {}
    impl Sealed for &'static super::Callsite {}
}

impl Site for &'static Slot {
    #[inline(always)]
    fn slot(self) -> Option<&'static Slot> {
        Some(self)
    }

    #[inline(always)]
    fn ending(self) -> Option<&'static Slot> {
        Some(self)
    }

    // Inline: one increment and a look at the clock, the whole end of most calls.
    #[inline(always)]
    fn ok(self, start: u32) {
        if clock::ticks().wrapping_sub(start) < SECOND {
            bump(&self.ok);
        } else {
            record_long(self, start, &self.ok);
        }
    }
}

impl Site for &'static Callsite {
    // Out of line: the look-up is one copy in the runtime, not one per async fn.
    #[inline(never)]
    fn slot(self) -> Option<&'static Slot> {
        here(self)
    }

    #[inline(always)]
    fn ok(self, start: u32) {
        record_finish_async(self, start);
    }

    #[inline(never)]
    fn ending(self) -> Option<&'static Slot> {
        let slot = here(self);
        if slot.is_none() {
            ended_without_slot(self.kind);
        }
        slot
    }
}

/// One call of an annotated fn in progress. Generated code only.
///
/// When recording is off it holds nothing and every method is an untaken branch.
#[doc(hidden)]
pub struct CallOf<S: Site> {
    site: Option<S>,
    start: u32,
}

/// A sync call: it ends on the thread it started on.
#[doc(hidden)]
pub type Call = CallOf<&'static Slot>;

/// An async call: it may end on another thread.
#[doc(hidden)]
pub type AsyncCall = CallOf<&'static Callsite>;

/// Starts a sync call: the only thing an annotated fn does before its body.
#[doc(hidden)]
#[inline(always)]
pub fn enter(callsite: &'static Callsite) -> Call {
    if process::recording() {
        record_enter(callsite)
    } else {
        Call::OFF
    }
}

/// Starts an async call.
#[doc(hidden)]
#[inline(always)]
pub fn enter_async(callsite: &'static Callsite) -> AsyncCall {
    if process::recording() {
        record_enter_async(callsite)
    } else {
        AsyncCall::OFF
    }
}

impl<S: Site> CallOf<S> {
    /// A call that records nothing.
    pub const OFF: Self = Self {
        site: None,
        start: 0,
    };

    /// One more attempt is about to run after an `Err`.
    #[inline(always)]
    pub fn retried(&self) {
        if let Some(site) = self.site {
            record_retry(site.slot());
        }
    }

    /// The result came from the cache; the call is over.
    #[inline(always)]
    pub fn cache_hit(mut self) {
        if let Some(site) = self.site.take() {
            record_cache_hit(site.ending());
        }
    }

    /// The cache had no entry; the body runs.
    #[inline(always)]
    pub fn cache_miss(&self) {
        if let Some(site) = self.site {
            record_cache_miss(site.slot());
        }
    }

    /// The body returned a value that cannot be an `Err`.
    #[inline(always)]
    pub fn done(self) {
        self.finish(CallOutcome::Ok);
    }

    /// The body returned, and this is how the call ended.
    #[inline(always)]
    pub fn finish(mut self, outcome: CallOutcome) {
        if let Some(site) = self.site.take() {
            match outcome {
                CallOutcome::Ok => site.ok(self.start),
                CallOutcome::Err(error) => record_err(site.ending(), self.start, &error),
            }
        }
    }
}

impl<S: Site> Drop for CallOf<S> {
    #[inline(always)]
    fn drop(&mut self) {
        // Still holding the site means neither `finish` nor `cache_hit` ran: the body
        // panicked, or an async call was dropped before completing (not a completed call).
        if let Some(site) = self.site {
            record_unfinished(site.ending());
        }
    }
}

/// A call whose result is not looked at (the fn returns `impl Trait` or `!`, so it cannot
/// be an `Err`): the body runs in place, where it was written, and the call ends when this is
/// dropped: as ok, or, while unwinding, as a panic. Generated code only.
#[doc(hidden)]
pub struct ScopeOf<S: Site>(CallOf<S>);

/// The scope of a sync call.
#[doc(hidden)]
pub type Scope = ScopeOf<&'static Slot>;

/// Starts a call that ends with its scope.
#[doc(hidden)]
#[inline(always)]
pub fn scope(callsite: &'static Callsite) -> Scope {
    ScopeOf(enter(callsite))
}

/// Starts an async call that ends with its scope (an `async fn` returning `impl Trait`).
#[doc(hidden)]
#[inline(always)]
pub fn scope_async(callsite: &'static Callsite) -> ScopeOf<&'static Callsite> {
    ScopeOf(enter_async(callsite))
}

impl<S: Site> Drop for ScopeOf<S> {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(site) = self.0.site.take() {
            if std::thread::panicking() {
                record_unfinished(site.ending());
            } else {
                site.ok(self.0.start);
            }
        }
    }
}

/// Counts the call started; returns what it holds.
#[inline(never)]
fn record_enter(cs: &'static Callsite) -> Call {
    match here(cs) {
        Some(slot) => {
            bump(&slot.started);
            Call {
                site: Some(slot),
                start: clock::ticks(),
            }
        }
        None => Call::OFF,
    }
}

#[inline(never)]
fn record_enter_async(cs: &'static Callsite) -> AsyncCall {
    // As a sync call starts; it then holds its callsite rather than this thread's slot.
    let mut call = record_enter(cs);
    AsyncCall {
        site: call.site.take().map(|_| cs),
        start: call.start,
    }
}

/// The ticks of a second: calls shorter than that are counted by no duration bucket of
/// their own (readers derive them, `counters.rs`).
const SECOND: u32 = 10;

/// A call that lasted a second or more: its duration bucket.
#[cold]
#[inline(never)]
fn record_long(slot: &'static Slot, start: u32, ended: &AtomicU64) {
    let ticks = clock::ticks().wrapping_sub(start);
    let bucket = &slot.durations[DurationBucket::of_tenths(ticks).index()];
    // Both counts move together for a reader (`Slot::write`): the calls under a second are
    // derived from them, and must not see one without the other.
    slot.write(|| {
        bump(ended);
        bump(bucket);
    });
}

// The first bucket is the one readers derive: a call of `SECOND` ticks or more must fall in
// another.
const _: () = assert!(
    matches!(
        DurationBucket::of_tenths(SECOND - 1),
        DurationBucket::Under1s
    ) && !matches!(DurationBucket::of_tenths(SECOND), DurationBucket::Under1s)
);

#[inline(never)]
fn record_finish_async(cs: &'static Callsite, start: u32) {
    match here(cs) {
        Some(slot) => slot.ok(start),
        None => ended_without_slot(cs.kind),
    }
}

/// A call that returned an `Err`: counted, with its duration and its error's type.
#[inline(never)]
fn record_err(slot: Option<&'static Slot>, start: u32, error: &ErrorType) {
    let Some(slot) = slot else {
        return;
    };
    if clock::ticks().wrapping_sub(start) < SECOND {
        bump(&slot.err);
    } else {
        record_long(slot, start, &slot.err);
    }
    count_error(error);
}

#[inline(never)]
fn record_retry(slot: Option<&'static Slot>) {
    if let Some(slot) = slot {
        bump(&slot.retries);
    }
}

#[inline(never)]
fn record_cache_hit(slot: Option<&'static Slot>) {
    if let Some(slot) = slot {
        bump(&slot.cache_hits);
        bump(&slot.ok);
    }
}

#[inline(never)]
fn record_cache_miss(slot: Option<&'static Slot>) {
    if let Some(slot) = slot {
        bump(&slot.cache_misses);
    }
}

#[cold]
#[inline(never)]
fn record_unfinished(slot: Option<&'static Slot>) {
    let Some(slot) = slot else {
        return;
    };
    // Ended either way: a panic, or an async call dropped before it completed.
    if std::thread::panicking() {
        bump(&slot.panics);
        count_error(&ErrorType::Panic);
    } else {
        bump(&slot.abandoned);
    }
}

#[cfg(all(test, not(telemetry_disabled)))]
mod tests {
    use super::*;
    use crate::record::counters::set_recording;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn every_way_a_call_ends_takes_it_out_of_flight() {
        crate::__callsite!(Flow, "every_way", []);
        let _process = crate::process::test_lock();
        set_recording(true);
        let slot = here(&__TELEMETRY_CALLSITE).expect("callsites are gathered here");

        let sync = enter(&__TELEMETRY_CALLSITE);
        let moving = enter_async(&__TELEMETRY_CALLSITE);
        let scoped = scope(&__TELEMETRY_CALLSITE);
        assert_eq!(slot.in_flight(), 3);
        sync.finish(CallOutcome::Err(ErrorType::Other));
        drop(moving); // an async call dropped before it completed
        drop(scoped);
        assert_eq!(slot.in_flight(), 0);
        let panicked = std::panic::catch_unwind(|| {
            let _call = enter(&__TELEMETRY_CALLSITE);
            panic!("counted as a panic");
        });
        assert!(panicked.is_err());
        assert_eq!(slot.in_flight(), 0);
        let counts = [&slot.ok, &slot.err, &slot.panics, &slot.abandoned].map(|c| c.load(Relaxed));
        assert_eq!(counts, [1, 1, 1, 1]);
        set_recording(false);
    }
}
