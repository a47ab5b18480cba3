//! Per-callsite counters, updated on every call without a lock and without allocating.
//!
//! Each thread owns a *shard*: one cache-line-aligned [`Slot`] per callsite. Only the owning
//! thread writes a shard, so an increment is a plain relaxed load and store (no `lock`
//! prefix, no contention between threads); readers sum every shard. A shard is returned to
//! a free list when its thread exits and reused by the next new thread, so memory is bounded
//! by the peak number of threads that made annotated calls, not by how many ever existed.
//! Counters only grow; whoever reads them takes differences between snapshots.
//!
//! Each shard also counts the calls in flight on its thread (flows and tasks), raised when a
//! call starts and lowered when it ends (on the thread it ends on: an async call may move,
//! so one shard's count can go "below zero", while the sum over shards is right). The coarse
//! clock's thread sums them every tick and keeps the peak, which the next batch takes
//! ([`take_peaks`]). And it counts the error types its calls returned, by the number
//! `error_types` gives each type: a failing call costs one more increment, never a channel.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::wire::features::Kind;
use std::sync::{Mutex, PoisonError};

use crate::process;
use crate::record::callsite::Callsite;
use crate::record::clock;
use crate::record::error_types::{self, KINDS};
use crate::record::outcome::CallOutcome;
use crate::record::registry::{self, slot_of};
use crate::wire::buckets::DurationBucket;
use crate::wire::errors::ErrorType;

/// Turns the call-path counters on or off for the whole process.
///
/// Consent decides this: `telemetry::init` calls it with the decision, and tests and
/// benchmarks may call it directly (`telemetry::testing::set_recording`). Turning it on
/// numbers the callsites and starts the coarse clock thread that times calls; turning it off
/// makes every annotated call cost one relaxed atomic load, and lets that thread park. With
/// the compile-time kill switch this does nothing.
///
/// ```
/// telemetry::testing::set_recording(true);
/// assert!(telemetry::introspect::is_recording() || cfg!(telemetry_disabled));
/// telemetry::testing::set_recording(false);
/// assert!(!telemetry::introspect::is_recording());
/// ```
pub fn set_recording(on: bool) {
    if cfg!(telemetry_disabled) {
        return;
    }
    process::set_recording_flag(on);
    if on {
        clock::resume(sample_in_flight);
    }
}

/// Whether calls are currently being counted.
pub fn is_recording() -> bool {
    process::recording()
}

/// The counters of one callsite in one shard.
#[derive(Default)]
#[repr(align(128))] // two threads' slots never share a cache line (nor its prefetch pair)
pub(crate) struct Slot {
    ok: AtomicU64,
    err: AtomicU64,
    panics: AtomicU64,
    retries: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    durations: [AtomicU64; DurationBucket::COUNT],
}

/// Adds one to a counter that only the current thread writes.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Takes one from a counter that only the current thread writes (wrapping: see the
/// module docs on calls in flight).
#[inline(always)]
fn unbump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_sub(1), Relaxed);
}

/// One thread's counters.
pub(crate) struct ShardData {
    /// One per callsite, at the callsite's slot.
    slots: Box<[Slot]>,
    /// Flows and tasks in flight.
    in_flight: [AtomicU64; 2],
    /// Errors per error type number; the last counts types past the table (`other`).
    errors: [AtomicU64; KINDS + 1],
}

type Shard = &'static ShardData;

/// Every shard ever made (summed by readers), and those whose thread has exited.
static ALL_SHARDS: Mutex<Vec<Shard>> = Mutex::new(Vec::new());
static FREE_SHARDS: Mutex<Vec<Shard>> = Mutex::new(Vec::new());

thread_local! {
    // `const` and without a destructor: reading it is a plain thread-local load.
    static SHARD: Cell<Option<Shard>> = const { Cell::new(None) };
    // Hands the shard back when the thread exits.
    static RELEASE: Release = const { Release(Cell::new(None)) };
}

struct Release(Cell<Option<Shard>>);

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(shard) = self.0.take() {
            // Calls made by later thread-local destructors find no shard and are not counted,
            // rather than writing into a shard another thread may already own.
            SHARD.with(|s| s.set(None));
            lock(&FREE_SHARDS).push(shard);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The first counted call on a thread: take a free shard or make one.
#[cold]
#[inline(never)]
fn acquire_shard() -> Option<Shard> {
    RELEASE
        .try_with(|release| {
            let shard = lock(&FREE_SHARDS).pop().unwrap_or_else(|| {
                let shard: Shard = Box::leak(Box::new(ShardData {
                    slots: (0..registry::slots()).map(|_| Slot::default()).collect(),
                    in_flight: Default::default(),
                    errors: [const { AtomicU64::new(0) }; KINDS + 1],
                }));
                lock(&ALL_SHARDS).push(shard);
                shard
            });
            release.0.set(Some(shard));
            SHARD.with(|s| s.set(Some(shard)));
            shard
        })
        .ok()
}

/// This thread's shard, made on its first counted call; none while the thread exits.
#[inline(always)]
fn shard() -> Option<Shard> {
    match SHARD.with(Cell::get) {
        Some(shard) => Some(shard),
        None => acquire_shard(),
    }
}

/// Runs `f` on this thread's slot for `callsite`; does nothing if there is none.
#[inline(always)]
fn with_slot(callsite: &'static Callsite, f: impl FnOnce(&Slot)) {
    let Some(shard) = shard() else {
        return;
    };
    if let Some(slot) = slot_of(callsite).and_then(|i| shard.slots.get(i)) {
        f(slot);
    }
}

/// Counts one `error` in `shard`.
#[inline(always)]
fn count_error(shard: Shard, error: ErrorType) {
    bump(&shard.errors[error_types::index_of(error).unwrap_or(KINDS)]);
}

/// A call of `callsite` ends on this thread: one look-up of the shard, which lowers the
/// calls in flight and gives the callsite's slot for whatever else the ending counts.
#[inline(always)]
fn end_call(callsite: &'static Callsite) -> Option<(Shard, Option<&'static Slot>)> {
    let shard = shard()?;
    unbump(&shard.in_flight[in_flight_index(callsite.kind)]);
    Some((shard, slot_of(callsite).and_then(|i| shard.slots.get(i))))
}

/// Errors per type since the process started, summed over every shard.
pub(crate) fn error_totals() -> Vec<(ErrorType, u64)> {
    let mut totals = [0u64; KINDS + 1];
    for shard in lock(&ALL_SHARDS).iter() {
        for (total, count) in totals.iter_mut().zip(&shard.errors) {
            *total += count.load(Relaxed);
        }
    }
    let mut out: Vec<(ErrorType, u64)> = Vec::new();
    for (i, total) in totals.into_iter().enumerate().filter(|(_, t)| *t > 0) {
        let error = error_types::type_at(i).unwrap_or(ErrorType::Other);
        match out.iter_mut().find(|(e, _)| *e == error) {
            Some((_, t)) => *t += total,
            None => out.push((error, total)),
        }
    }
    out
}

/// Where calls of `kind` in flight are counted in a shard.
#[inline(always)]
fn in_flight_index(kind: Kind) -> usize {
    match kind {
        Kind::Flow => 0,
        Kind::Task => 1,
    }
}

/// The most flows and tasks seen in flight since [`take_peaks`] last ran.
static PEAKS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// The flows and tasks in flight now, summed over every shard; `None` for a sum read while
/// a call moved between threads (a "negative" total, for an instant: not a count).
fn in_flight_now() -> [Option<u64>; 2] {
    let (mut flows, mut tasks) = (0u64, 0u64);
    for shard in lock(&ALL_SHARDS).iter() {
        flows = flows.wrapping_add(shard.in_flight[0].load(Relaxed));
        tasks = tasks.wrapping_add(shard.in_flight[1].load(Relaxed));
    }
    [flows, tasks].map(|n| (n <= i64::MAX as u64).then_some(n))
}

/// Sums the calls in flight over every shard and keeps the peak: the coarse clock's thread
/// calls it every tick while recording.
pub(crate) fn sample_in_flight() {
    for (peak, now) in PEAKS.iter().zip(in_flight_now()) {
        if let Some(now) = now {
            peak.fetch_max(now, Relaxed);
        }
    }
}

/// The peak numbers of flows and tasks in flight since the last call, counting those in
/// flight now, resetting them.
pub(crate) fn take_peaks() -> (u64, u64) {
    sample_in_flight();
    (PEAKS[0].swap(0, Relaxed), PEAKS[1].swap(0, Relaxed))
}

/// What [`take_peaks`] would return, leaving the peaks as they are (for `preview`).
pub(crate) fn peaks() -> (u64, u64) {
    let [flows, tasks] = in_flight_now();
    (
        PEAKS[0].load(Relaxed).max(flows.unwrap_or(0)),
        PEAKS[1].load(Relaxed).max(tasks.unwrap_or(0)),
    )
}

/// One call of an annotated fn in progress. Generated code only.
///
/// When recording is off it holds nothing and every method is an untaken branch.
#[doc(hidden)]
pub struct Call {
    callsite: Option<&'static Callsite>,
    start: u32,
}

/// Starts a call: the only thing an annotated fn does before its body.
#[doc(hidden)]
#[inline(always)]
pub fn enter(callsite: &'static Callsite) -> Call {
    if process::recording() {
        Call {
            callsite: Some(callsite),
            start: record_enter(callsite),
        }
    } else {
        Call::OFF
    }
}

impl Call {
    /// A call that records nothing.
    pub const OFF: Call = Call {
        callsite: None,
        start: 0,
    };

    // Each method looks up the slot of the thread it runs on: an async call may finish on
    // another thread than it started on, and a shard has exactly one writer.

    /// One more attempt is about to run after an `Err`.
    #[inline(always)]
    pub fn retried(&self) {
        if let Some(cs) = self.callsite {
            record_retry(cs);
        }
    }

    /// The result came from the cache; the call is over.
    #[inline(always)]
    pub fn cache_hit(mut self) {
        if let Some(cs) = self.callsite.take() {
            record_cache_hit(cs);
        }
    }

    /// The cache had no entry; the body runs.
    #[inline(always)]
    pub fn cache_miss(&self) {
        if let Some(cs) = self.callsite {
            record_cache_miss(cs);
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
        if let Some(cs) = self.callsite.take() {
            record_finish(cs, self.start, outcome);
        }
    }
}

// What a call records while telemetry is on, out of line: one copy in the runtime rather
// than one per annotated fn, which keeps annotating cheap to compile (docs/performance.md,
// "Compile time"). The call path with telemetry off stays the inline check of `callsite` above.

/// Counts the call in flight; returns when it started.
#[inline(never)]
fn record_enter(cs: &'static Callsite) -> u32 {
    if let Some(shard) = shard() {
        bump(&shard.in_flight[in_flight_index(cs.kind)]);
    }
    clock::ticks()
}

#[inline(never)]
fn record_finish(cs: &'static Callsite, start: u32, outcome: CallOutcome) {
    finish_call(cs, start, outcome);
}

#[inline(always)]
fn finish_call(cs: &'static Callsite, start: u32, outcome: CallOutcome) {
    let bucket = DurationBucket::of_tenths(clock::ticks().wrapping_sub(start));
    let Some((shard, slot)) = end_call(cs) else {
        return;
    };
    if let Some(s) = slot {
        bump(if outcome.is_err() { &s.err } else { &s.ok });
        bump(&s.durations[bucket.index()]);
    }
    if let CallOutcome::Err(error) = outcome {
        count_error(shard, error);
    }
}

#[inline(never)]
fn record_retry(cs: &'static Callsite) {
    with_slot(cs, |s| bump(&s.retries));
}

#[inline(never)]
fn record_cache_hit(cs: &'static Callsite) {
    if let Some((_, Some(s))) = end_call(cs) {
        bump(&s.cache_hits);
        bump(&s.ok);
        bump(&s.durations[DurationBucket::Under1s.index()]);
    }
}

#[inline(never)]
fn record_cache_miss(cs: &'static Callsite) {
    with_slot(cs, |s| bump(&s.cache_misses));
}

/// A call whose result is not looked at (the fn returns `impl Trait` or `!`, so it cannot
/// be an `Err`): the body runs in place, where it was written, and the call ends when this is
/// dropped: as ok, or, while unwinding, as a panic. Generated code only.
#[doc(hidden)]
pub struct Scope(Call);

/// Starts a call that ends with its scope.
#[doc(hidden)]
#[inline(always)]
pub fn scope(callsite: &'static Callsite) -> Scope {
    Scope(enter(callsite))
}

impl Drop for Scope {
    #[inline(always)]
    fn drop(&mut self) {
        // Only the check is inline: what ending the call records, and telling a return
        // from a panic, is one copy in the runtime (docs/performance.md, "Compile time").
        if let Some(cs) = self.0.callsite.take() {
            record_scope_end(cs, self.0.start);
        }
    }
}

#[inline(never)]
fn record_scope_end(cs: &'static Callsite, start: u32) {
    if std::thread::panicking() {
        record_unfinished(cs);
    } else {
        finish_call(cs, start, CallOutcome::Ok);
    }
}

impl Drop for Call {
    #[inline(always)]
    fn drop(&mut self) {
        // Still holding the callsite means neither `finish` nor `cache_hit` ran: the body
        // panicked, or an async call was dropped before completing (not counted).
        if let Some(cs) = self.callsite {
            record_unfinished(cs);
        }
    }
}

#[cold]
#[inline(never)]
fn record_unfinished(cs: &'static Callsite) {
    // Ended either way: a panic, or an async call dropped before it completed.
    let Some((shard, slot)) = end_call(cs) else {
        return;
    };
    if std::thread::panicking() {
        if let Some(s) = slot {
            bump(&s.panics);
        }
        count_error(shard, ErrorType::Panic);
    }
}

/// Counters of one callsite, summed over every thread.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Calls that returned something other than `Err` (including cache hits).
    pub ok: u64,
    /// Calls that returned `Err` (after their last retry).
    pub err: u64,
    /// Calls whose body panicked.
    pub panics: u64,
    /// Extra attempts made by `retries`.
    pub retries: u64,
    /// Calls answered from the cache.
    pub cache_hits: u64,
    /// Calls that found no cached entry and ran the body.
    pub cache_misses: u64,
    /// Completed calls per run-duration bucket, in the order of
    /// [`DurationBucket::ALL`](crate::wire::buckets::DurationBucket::ALL).
    /// Approximate by design: calls are timed by a clock that ticks every 100 ms.
    pub durations: [u64; DurationBucket::COUNT],
}

impl Counts {
    /// Completed calls: ok + err + panics.
    pub fn calls(&self) -> u64 {
        self.ok + self.err + self.panics
    }
}

/// Sums every shard, one `Counts` per registered callsite.
pub(crate) fn totals(callsites: usize) -> Vec<Counts> {
    let mut totals = vec![Counts::default(); callsites];
    for shard in lock(&ALL_SHARDS).iter() {
        for (total, slot) in totals.iter_mut().zip(shard.slots.iter()) {
            total.ok += slot.ok.load(Relaxed);
            total.err += slot.err.load(Relaxed);
            total.panics += slot.panics.load(Relaxed);
            total.retries += slot.retries.load(Relaxed);
            total.cache_hits += slot.cache_hits.load(Relaxed);
            total.cache_misses += slot.cache_misses.load(Relaxed);
            for (t, d) in total.durations.iter_mut().zip(&slot.durations) {
                *t += d.load(Relaxed);
            }
        }
    }
    totals
}
