//! Per-callsite counters, updated on every call without a lock and without allocating.
//!
//! Each thread owns a *shard*: one cache-line-aligned [`Slot`] per callsite. Only the owning
//! thread writes a shard, so an increment is a plain relaxed load and store (no `lock`
//! prefix, no contention between threads); readers sum every shard. A shard is returned to
//! a free list when its thread exits and reused by the next new thread, so memory is bounded
//! by the peak number of threads that made annotated calls, not by how many ever existed.
//! Counters only grow; whoever reads them takes differences between snapshots.
//!
//! A call counts as little as it can and readers derive the rest (docs/performance.md,
//! "Peak concurrency"): it counts itself *started* as it begins and ok, `Err` or panicked
//! as it ends, and its duration only when it lasted a second or more; calls under a second
//! are the ended calls no longer bucket counts. The calls in flight are the started ones
//! not ended yet: the coarse clock's thread sums them over every shard each tick and keeps
//! the peak, which the next batch takes ([`take_peaks`]). An async call may end on another
//! thread than it started on; sums over every shard are right all the same. Each shard also
//! counts the error types its calls returned, by the number `error_types` gives each type:
//! a failing call costs one more increment, never a channel.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{
    AtomicU32, AtomicU64, Ordering, Ordering::Acquire, Ordering::Relaxed, fence,
};
use std::sync::{Mutex, PoisonError};

use crate::process;
use crate::record::callsite::Callsite;
use crate::record::clock;
use crate::record::error_types::{self, KINDS};
use crate::record::registry::{self, slot_of};
use crate::wire::buckets::DurationBucket;
use crate::wire::errors::ErrorType;
use crate::wire::features::Kind;

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

/// The counters of one callsite in one shard. Generated code holds a reference to one for
/// the length of a call (`Call`); only the runtime reads or writes it.
#[doc(hidden)]
#[derive(Default)]
#[repr(align(128))] // two threads' slots never share a cache line (nor its prefetch pair)
pub struct Slot {
    pub(crate) started: AtomicU64,
    pub(crate) ok: AtomicU64,
    pub(crate) err: AtomicU64,
    pub(crate) panics: AtomicU64,
    /// Async calls dropped before they completed: ended, though not calls that completed.
    pub(crate) abandoned: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    /// Per duration bucket, except the first (under a second), which readers derive.
    pub(crate) durations: [AtomicU64; DurationBucket::COUNT],
    /// Odd while a call of a second or more is being counted ([`Slot::write`]).
    seq: AtomicU64,
}

impl Slot {
    /// Runs `write`, which moves counters a reader must see together (a long call's end and
    /// its duration bucket): a sequence lock, whose writer is the slot's one thread. Only
    /// calls of a second or more take it; the others move one counter.
    pub(crate) fn write(&self, write: impl FnOnce()) {
        let seq = self.seq.load(Relaxed);
        self.seq.store(seq.wrapping_add(1), Relaxed);
        fence(Ordering::Release);
        write();
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The slot's counts, read as [`Slot::write`] left them. A reader waits out a writer
    /// caught half-way (a few instructions, unless its thread was descheduled there); after
    /// many tries it takes what it read, off by one call for one read at worst.
    fn read(&self) -> Counts {
        let mut tries = 0u32;
        loop {
            let before = self.seq.load(Acquire);
            let counts = Counts {
                ok: self.ok.load(Relaxed),
                err: self.err.load(Relaxed),
                panics: self.panics.load(Relaxed),
                retries: self.retries.load(Relaxed),
                cache_hits: self.cache_hits.load(Relaxed),
                cache_misses: self.cache_misses.load(Relaxed),
                durations: std::array::from_fn(|i| {
                    if i == 0 {
                        0
                    } else {
                        self.durations[i].load(Relaxed)
                    }
                }),
            };
            fence(Acquire);
            let settled = before.is_multiple_of(2) && self.seq.load(Relaxed) == before;
            tries += 1;
            if settled || tries > 1000 {
                return counts;
            }
            if tries.is_multiple_of(16) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// Calls that started and have not ended, in this shard (wrapping: a call may start in
    /// one shard and end in another).
    pub(crate) fn in_flight(&self) -> u64 {
        let ended = [&self.ok, &self.err, &self.panics, &self.abandoned]
            .iter()
            .fold(0u64, |sum, c| sum.wrapping_add(c.load(Relaxed)));
        self.started.load(Relaxed).wrapping_sub(ended)
    }
}

/// Adds one to a counter that only the current thread writes.
#[inline(always)]
pub(crate) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// One thread's counters.
pub(crate) struct ShardData {
    /// One per callsite, at the callsite's slot.
    slots: Box<[Slot]>,
    /// Errors per error type number (`error_types`).
    errors: [AtomicU64; KINDS],
}

type Shard = &'static ShardData;

/// Every shard ever made (summed by readers), and those whose thread has exited.
static ALL_SHARDS: Mutex<Vec<Shard>> = Mutex::new(Vec::new());
static FREE_SHARDS: Mutex<Vec<Shard>> = Mutex::new(Vec::new());

thread_local! {
    // `const` and without a destructor: reading them is a plain thread-local load. The
    // shard's slots are kept apart from the shard, so the call path finds a slot with no
    // load in between; empty until the thread's first counted call.
    static SHARD: Cell<Option<Shard>> = const { Cell::new(None) };
    static SLOTS: Cell<&'static [Slot]> = const { Cell::new(&[]) };
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
            SLOTS.with(|s| s.set(&[]));
            lock(&FREE_SHARDS).push(shard);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every shard, copied out from under the lock: readers walk them without holding up a new
/// thread's first call (a shard is never freed, so the copy stays valid).
fn shards() -> Vec<Shard> {
    lock(&ALL_SHARDS).clone()
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
                    errors: [const { AtomicU64::new(0) }; KINDS],
                }));
                lock(&ALL_SHARDS).push(shard);
                shard
            });
            release.0.set(Some(shard));
            SHARD.with(|s| s.set(Some(shard)));
            SLOTS.with(|s| s.set(&shard.slots));
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

/// This thread's slot for `callsite`; none while the thread exits, or where callsites are
/// not gathered.
#[inline(always)]
pub(crate) fn here(callsite: &'static Callsite) -> Option<&'static Slot> {
    let slot = slot_of(callsite);
    match SLOTS.with(Cell::get).get(slot) {
        Some(slot) => Some(slot),
        None => here_first(slot),
    }
}

/// [`here`] on a thread with no shard yet (or for a callsite not in the section).
#[cold]
#[inline(never)]
fn here_first(slot: usize) -> Option<&'static Slot> {
    shard()?.slots.get(slot)
}

/// Counts one `error` in this thread's shard.
#[inline(always)]
pub(crate) fn count_error(error: &ErrorType) {
    if let Some(count) = shard().and_then(|shard| shard.errors.get(error_types::index_of(error))) {
        bump(count);
    }
}

/// Errors per type since the process started, summed over every shard.
pub(crate) fn error_totals() -> Vec<(ErrorType, u64)> {
    let mut totals = [0u64; KINDS];
    for shard in shards() {
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

/// The most flows and tasks seen in flight since [`take_peaks`] last ran.
static PEAKS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Async calls, per kind (flows, tasks), that ended on a thread with no slot left: counted
/// as started in one slot and ended in none, they are taken off the calls in flight here.
static ENDED_WITHOUT_SLOT: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Counts an async call of `kind` that ended where no slot could count it (rare: a
/// thread's last moments, so a shared atomic is fine).
#[cold]
pub(crate) fn ended_without_slot(kind: Kind) {
    let i = match kind {
        Kind::Flow => 0,
        Kind::Task => 1,
    };
    ENDED_WITHOUT_SLOT[i].fetch_add(1, Relaxed);
}

/// The kind of the callsite in each slot (`None` for linker padding), found once.
fn kinds() -> &'static [Option<Kind>] {
    static KINDS_OF: OnceLock<Box<[Option<Kind>]>> = OnceLock::new();
    KINDS_OF.get_or_init(|| {
        let mut kinds = vec![None; registry::slots()];
        for (slot, cs) in registry::numbered() {
            kinds[slot] = Some(cs.kind);
        }
        kinds.into_boxed_slice()
    })
}

/// The flows and tasks in flight now, summed over every slot of every shard; `None` for a
/// sum read while a call moved between threads (a "negative" total, for an instant: not a
/// count).
fn in_flight_now() -> [Option<u64>; 2] {
    let kinds = kinds();
    let (mut flows, mut tasks) = (0u64, 0u64);
    for shard in shards() {
        for (slot, kind) in shard.slots.iter().zip(kinds) {
            match kind {
                Some(Kind::Flow) => flows = flows.wrapping_add(slot.in_flight()),
                Some(Kind::Task) => tasks = tasks.wrapping_add(slot.in_flight()),
                None => {}
            }
        }
    }
    flows = flows.wrapping_sub(ENDED_WITHOUT_SLOT[0].load(Relaxed));
    tasks = tasks.wrapping_sub(ENDED_WITHOUT_SLOT[1].load(Relaxed));
    [flows, tasks].map(|n| (n <= i64::MAX as u64).then_some(n))
}

/// Sums the calls in flight over every shard and keeps the peak: the coarse clock's thread
/// calls it every tick while recording.
pub(crate) fn sample_in_flight() {
    // The walk reads every slot of every shard: with many threads and callsites it is kept
    // to about 1% of the clock thread's time by skipping ticks (docs/performance.md, "Peak
    // concurrency").
    if SKIP.load(Relaxed) > 0 {
        SKIP.fetch_sub(1, Relaxed);
        return;
    }
    let started = std::time::Instant::now();
    for (peak, now) in PEAKS.iter().zip(in_flight_now()) {
        if let Some(now) = now {
            peak.fetch_max(now, Relaxed);
        }
    }
    let took = started.elapsed().as_micros();
    let skip = took.saturating_mul(100) / clock::TICK.as_micros();
    SKIP.store(u32::try_from(skip).unwrap_or(u32::MAX), Relaxed);
}

/// Ticks the next samples skip, after a walk that took long (see [`sample_in_flight`]).
static SKIP: AtomicU32 = AtomicU32::new(0);

/// The peak numbers of flows and tasks in flight since the last call, counting those in
/// flight now, resetting them.
pub(crate) fn take_peaks() -> (u64, u64) {
    SKIP.store(0, Relaxed);
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
    for shard in shards() {
        for (total, slot) in totals.iter_mut().zip(shard.slots.iter()) {
            let c = slot.read();
            total.ok += c.ok;
            total.err += c.err;
            total.panics += c.panics;
            total.retries += c.retries;
            total.cache_hits += c.cache_hits;
            total.cache_misses += c.cache_misses;
            for (t, d) in total.durations.iter_mut().zip(c.durations) {
                *t += d;
            }
        }
    }
    // Every call that returned (ok or `Err`) is in one duration bucket; only those of a
    // second or more were counted in theirs, together with their end (`Slot::read`).
    for total in &mut totals {
        let longer: u64 = total.durations[1..].iter().sum();
        total.durations[0] = (total.ok + total.err).saturating_sub(longer);
    }
    totals
}

#[cfg(all(test, not(telemetry_disabled)))]
mod tests {
    use super::*;
    use crate::record::call::{AsyncCall, enter_async};

    thread_local! {
        // Dropped at thread exit, with whatever call it holds.
        static LATE: Cell<Option<AsyncCall>> = const { Cell::new(None) };
    }

    #[test]
    fn an_async_call_ending_after_its_threads_slots_is_still_out_of_flight() {
        crate::__callsite!(Flow, "late", []);
        let _process = crate::process::test_lock();
        set_recording(true);
        let lost_before = ENDED_WITHOUT_SLOT[0].load(Relaxed);
        std::thread::spawn(|| {
            // `LATE` first, the shard after: thread-locals are torn down in the reverse
            // order, so (where the platform keeps that order) the call ends with no slot.
            LATE.with(|late| late.set(None));
            late_call_site();
            LATE.with(|late| late.set(Some(enter_async(&__TELEMETRY_CALLSITE))));
        })
        .join()
        .unwrap();
        let slot = slot_of(&__TELEMETRY_CALLSITE);
        let sum = |count: fn(&Slot) -> &AtomicU64| -> u64 {
            shards()
                .iter()
                .map(|s| count(&s.slots[slot]).load(Relaxed))
                .sum()
        };
        let lost = ENDED_WITHOUT_SLOT[0].load(Relaxed) - lost_before;
        assert_eq!(sum(|s| &s.started), 2);
        assert_eq!(sum(|s| &s.ok) + sum(|s| &s.abandoned) + lost, 2);
        if cfg!(target_os = "linux") {
            assert_eq!(
                lost, 1,
                "the call ended after the thread's shard was handed back"
            );
        }
        set_recording(false);

        /// A first counted call on the thread: it takes a shard.
        fn late_call_site() {
            let call = crate::record::call::enter(&__TELEMETRY_CALLSITE);
            call.done();
        }
    }
}
