//! The process-wide state every layer may read: the decision in force, the flag the call
//! path checks, whether the first-run notice was shown, and the session id.
//!
//! There is **one** current decision. `init` sets it; the re-check, `set_consent(false)`,
//! `disable`, `reset`, the worker's own re-check and the first-run notice only ever switch it
//! off ([`switch_off`]). The recording flag always follows it, changed under the same lock,
//! so the guard, the flag and the re-check thread never disagree. Nothing here calls any
//! other layer: turning recording *on* is done by `init`, through the hook it passes to
//! [`begin`] (ARCHITECTURE.md, "Layers").

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use crate::decision::{Decision, Rule};
use crate::wire::id::Id;

/// Whether calls are being counted: the one load the call path pays when telemetry is off.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Whether calls are being counted now.
#[inline(always)]
pub(crate) fn recording() -> bool {
    !cfg!(telemetry_disabled) && RECORDING.load(Relaxed)
}

/// Sets the flag the call path reads. Everything else about turning recording on or off
/// (numbering callsites, the clock thread) is the `record` layer's.
pub(crate) fn set_recording_flag(on: bool) {
    RECORDING.store(on && !cfg!(telemetry_disabled), Relaxed);
}

/// The process's current decision; `None` before the first `init` and after its guard.
struct Current {
    /// Bumped by every `init`, so a guard only ever acts on its own decision.
    generation: u64,
    decision: Option<Decision>,
}

static CURRENT: Mutex<Current> = Mutex::new(Current {
    generation: 0,
    decision: None,
});
/// Signalled whenever the current decision changes: wakes the re-check thread.
static CHANGED: Condvar = Condvar::new();

fn current() -> MutexGuard<'static, Current> {
    CURRENT.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes `decision` the one in force, as a new generation, and sets the recording flag
/// through `set_recording` under the same lock. The run that showed the first-run notice
/// sends nothing (rule 9), even if the host calls `init` after the prompt: then the decision
/// becomes "off, first-run notice". Returns the generation and the decision in force.
pub(crate) fn begin(mut decision: Decision, set_recording: impl FnOnce(bool)) -> (u64, Decision) {
    let mut current = current();
    current.generation += 1;
    if decision.enabled && notice_shown() && decision.rule.number() >= 8 {
        decision = Decision::off(Rule::FirstRunNotice);
    }
    current.decision = Some(decision.clone());
    set_recording(decision.enabled);
    let generation = current.generation;
    drop(current);
    // An older guard's thread sees the new generation and exits.
    CHANGED.notify_all();
    (generation, decision)
}

/// Ends `generation` (its guard was dropped): recording stops, and no decision is in force,
/// unless a later `init` replaced it already.
pub(crate) fn end(generation: u64) {
    let mut current = current();
    if current.generation == generation {
        if current.decision.as_ref().is_some_and(|d| d.enabled) {
            set_recording_flag(false);
        }
        current.decision = None;
    }
    drop(current);
    CHANGED.notify_all();
}

/// Switches this process off, at once: the counters stop, the decision in force becomes
/// `rule` (if it was on; an "off" already in force keeps its reason) and the re-check thread
/// exits.
pub(crate) fn switch_off(rule: Rule) {
    let mut current = current();
    if let Some(decision) = current.decision.as_mut().filter(|d| d.enabled) {
        *decision = Decision::off(rule);
    }
    set_recording_flag(false);
    drop(current);
    CHANGED.notify_all();
}

/// Like [`switch_off`], but only while `generation` is in force and on: a re-check done for
/// an older guard changes nothing.
pub(crate) fn switch_off_if_current(generation: u64, decision: Decision) {
    let mut current = current();
    if is_on_locked(&current, generation) {
        current.decision = Some(decision);
        set_recording_flag(false);
        drop(current);
        CHANGED.notify_all();
    }
}

fn is_on_locked(current: &Current, generation: u64) -> bool {
    current.generation == generation && current.decision.as_ref().is_some_and(|d| d.enabled)
}

/// Whether `generation` is the one in force, and on.
pub(crate) fn is_on(generation: u64) -> bool {
    is_on_locked(&current(), generation)
}

/// Waits until the decision changes or `timeout` passes; returns whether `generation` is
/// still in force and on.
pub(crate) fn wait_while_on(generation: u64, timeout: Duration) -> bool {
    let current = current();
    if !is_on_locked(&current, generation) {
        return false;
    }
    let current = CHANGED
        .wait_timeout(current, timeout)
        .unwrap_or_else(PoisonError::into_inner)
        .0;
    is_on_locked(&current, generation)
}

/// The decision in force: if a later `init` replaced a guard, its decision; off (an
/// internal error) if none is, which happens only when a later guard was dropped meanwhile.
pub(crate) fn decision() -> Decision {
    current()
        .decision
        .clone()
        .unwrap_or(Decision::off(Rule::InternalError))
}

static NOTICE_SHOWN: AtomicBool = AtomicBool::new(false);

/// Whether this process showed the first-run notice (then it sends nothing, rule 9).
pub(crate) fn notice_shown() -> bool {
    NOTICE_SHOWN.load(Relaxed)
}

/// Notes that the first-run notice is being shown, and switches this run off.
pub(crate) fn show_notice() {
    NOTICE_SHOWN.store(true, Relaxed);
    switch_off(Rule::FirstRunNotice);
}

/// Forgets that the notice was shown (unit tests run many "processes" in one).
#[cfg(test)]
pub(crate) fn forget_notice_shown() {
    NOTICE_SHOWN.store(false, Relaxed);
}

/// The random id of this process's session (a UUID v4), the same for the whole run; `None`
/// if the OS random source failed (then nothing can be sent).
pub(crate) fn session() -> Option<Id> {
    static ID: OnceLock<Option<Id>> = OnceLock::new();
    *ID.get_or_init(Id::random)
}

/// The session id as text; the nil UUID (all zeros) if the OS random source failed.
///
/// ```
/// let id = telemetry::introspect::session_id();
/// assert_eq!(id.len(), 36);
/// assert_eq!(id, telemetry::introspect::session_id(), "one per process");
/// ```
pub fn session_id() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        session().map_or_else(|| uuid::Uuid::nil().to_string(), |id| id.to_string())
    })
}

/// Held by unit tests that change the process-wide decision, so they do not interleave.
#[cfg(test)]
pub(crate) fn test_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}
