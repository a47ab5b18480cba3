//! `init`: decide once at startup, turn the counters on or off, and keep re-checking the
//! rules that can change while the process runs.
//!
//! The process has **one** current decision (a `static` here). `init` sets it; the re-check,
//! `set_consent(false)`, `disable`, `reset` and the first-run notice only ever switch it off;
//! the recording flag of the counters always follows it (changed under the same lock), and
//! [`Guard::decision`] reads it. So the guard, the flag and the re-check thread never disagree.
//!
//! While telemetry is on, one small thread (`telemetry-consent`) wakes every
//! [`Config::recheck_interval`](crate::Config::recheck_interval) (5 s by default) and re-runs
//! rules 2–5 (three variable lookups and at most two small file reads). If one now says off,
//! it turns the counters off at once (nothing is sent for the switch) and exits. It also
//! exits as soon as anything else switched off, or the guard is dropped: the thread exists
//! only while telemetry is on, and never with the compile-time kill switch.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use crate::config::Config;
use crate::consent::{self, Decision, Rule};
use crate::counters::set_recording;
use crate::prompt::notice_shown_this_run;
use crate::schema::Id;
use crate::worker::{Diagnostics, Settings, Worker};

/// Starts telemetry for this process: resolves consent (SPEC §4) and turns the call-path
/// counters on only if it says yes. Never panics, never prints, never writes a file while
/// consent is off. Keep the guard alive for as long as telemetry should run.
///
/// ```
/// use telemetry_runtime::{Config, Env};
///
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path().join("conf");
/// let guard = telemetry_runtime::init(
///     Config::new("acme", "1.0")
///         .env(Env::empty())
///         .config_dir(&dir)
///         .policy_file(tmp.path().join("policy.toml")) // not the real /etc/acme/telemetry.toml
///         .current_dir(tmp.path()),
/// );
/// assert!(!guard.is_enabled()); // opt-in: off until the user says yes
/// assert!(!dir.exists()); // and nothing was written
/// ```
pub fn init(config: Config) -> Guard {
    if cfg!(telemetry_disabled) {
        return Guard {
            live: None,
            worker: None,
            decision: Decision {
                enabled: false,
                rule: Rule::CompiledOut,
            },
        };
    }
    let mut decision =
        catch_unwind(AssertUnwindSafe(|| decide_at_start(&config))).unwrap_or(Decision {
            enabled: false,
            rule: Rule::InternalError,
        });
    let generation = {
        let mut current = current();
        current.generation += 1;
        // The run that showed the first-run notice sends nothing (SPEC §4, rule 9), even if
        // the host calls `init` after the prompt.
        if decision.enabled && notice_shown_this_run() && decision.rule.number() >= 8 {
            decision = Decision {
                enabled: false,
                rule: Rule::FirstRunNotice,
            };
        }
        current.decision = Some(decision.clone());
        set_recording(decision.enabled);
        current.generation
    };
    // An older guard's thread sees the new generation and exits.
    CHANGED.notify_all();
    // The worker exists only while consent holds; it stops by itself when it is withdrawn.
    let worker = match try_session_id().and_then(Id::parse) {
        Some(session) if decision.enabled => Worker::start(Settings::from_config(&config, session)),
        _ => None,
    };
    let live = Arc::new(Live { config, generation });
    if decision.enabled {
        let watcher = Arc::clone(&live);
        // Failing to spawn only loses the re-check, never the host.
        let _ = thread::Builder::new()
            .name("telemetry-consent".into())
            .spawn(move || watcher.watch());
    }
    Guard {
        live: Some(live),
        worker,
        decision,
    }
}

/// Consent, and a session id: without one (the OS random source failed) nothing can be sent.
fn decide_at_start(config: &Config) -> Decision {
    let decision = consent::resolve(config);
    if decision.enabled && try_session_id().is_none() {
        return Decision {
            enabled: false,
            rule: Rule::NoRandomness,
        };
    }
    decision
}

/// The random id of this process's session (a UUID v4), the same for the whole run. If the
/// OS random source failed, the nil UUID (all zeros); telemetry is then off (never a panic).
pub fn session_id() -> &'static str {
    try_session_id().unwrap_or("00000000-0000-0000-0000-000000000000")
}

/// The session id, or `None` if the OS random source failed.
pub(crate) fn try_session_id() -> Option<&'static str> {
    static ID: OnceLock<Option<String>> = OnceLock::new();
    ID.get_or_init(|| crate::state::random_uuid().map(|id| id.to_string()))
        .as_deref()
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

/// Held by unit tests that change the process-wide decision, so they do not interleave.
#[cfg(test)]
pub(crate) fn test_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn current() -> MutexGuard<'static, Current> {
    CURRENT.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Switches this process off, at once: the counters stop, the guard's decision becomes
/// `rule` (if it was on; an "off" already in force keeps its reason) and the re-check thread
/// exits. Called by `set_consent(false)`, `disable`, `reset` and the first-run notice.
pub(crate) fn switch_off(rule: Rule) {
    let mut current = current();
    if let Some(decision) = current.decision.as_mut().filter(|d| d.enabled) {
        *decision = Decision {
            enabled: false,
            rule,
        };
    }
    set_recording(false);
    drop(current);
    CHANGED.notify_all();
}

struct Live {
    config: Config,
    generation: u64,
}

impl Live {
    /// Whether this guard's decision is the current one, and on.
    fn is_on(&self, current: &Current) -> bool {
        current.generation == self.generation
            && current.decision.as_ref().is_some_and(|d| d.enabled)
    }

    fn watch(&self) {
        let mut current = current();
        while self.is_on(&current) {
            current = CHANGED
                .wait_timeout(current, self.config.recheck_interval)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if !self.is_on(&current) {
                return;
            }
            // Re-check without holding the lock (it reads a file).
            drop(current);
            self.refresh();
            current = self::current();
        }
    }

    /// Re-runs rules 2–5 if this guard's decision is on; switches off if one now says off.
    fn refresh(&self) -> Decision {
        if self.is_on(&current()) {
            let found = catch_unwind(AssertUnwindSafe(|| consent::recheck(&self.config)))
                .unwrap_or(Some(Decision {
                    enabled: false,
                    rule: Rule::InternalError,
                }));
            if let Some(decision) = found.filter(|d| !d.enabled) {
                let mut current = current();
                if self.is_on(&current) {
                    current.decision = Some(decision);
                    set_recording(false);
                    drop(current);
                    CHANGED.notify_all();
                }
            }
        }
        self.decision()
    }

    fn decision(&self) -> Decision {
        let current = current();
        // If a later `init` replaced this guard, its decision is the one in force.
        match &current.decision {
            Some(decision) => decision.clone(),
            // Only when a later guard was dropped meanwhile: off.
            None => Decision {
                enabled: false,
                rule: Rule::InternalError,
            },
        }
    }
}

/// Keeps telemetry running; returned by [`init`]. Dropping it sends what is pending (never
/// longer than [`Config::flush_timeout`]) and stops the worker, the re-check thread and the
/// counters, silently.
#[must_use = "telemetry stops when the guard is dropped; bind it: `let _telemetry = init(…);`"]
pub struct Guard {
    live: Option<Arc<Live>>,
    worker: Option<Worker>,
    /// The decision `init` made; in force only with the compile-time kill switch.
    decision: Decision,
}

impl Guard {
    /// The decision in force now: the process's one current decision (a re-check,
    /// `set_consent(false)`, `disable`, `reset` or the first-run notice may have switched it
    /// off since `init`).
    pub fn decision(&self) -> Decision {
        match &self.live {
            Some(live) => live.decision(),
            None => self.decision.clone(),
        }
    }

    /// Whether telemetry is on now.
    pub fn is_enabled(&self) -> bool {
        self.decision().enabled
    }

    /// Re-checks rules 2–5 now (the background thread does this every few seconds) and
    /// returns the decision in force. Only ever switches off: switching on needs a new `init`.
    pub fn refresh(&self) -> Decision {
        match &self.live {
            Some(live) => live.refresh(),
            None => self.decision.clone(),
        }
    }

    /// The settings `init` was given.
    pub fn config(&self) -> Option<&Config> {
        self.live.as_ref().map(|live| &live.config)
    }

    /// How full the pipeline's queue and spool are now.
    pub fn diagnostics(&self) -> Diagnostics {
        crate::worker::diagnostics(self.config().and_then(Config::resolved_config_dir))
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("decision", &self.decision())
            .finish()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(live) = &self.live else { return };
        // Send what is pending first (while consent still holds), never longer than the
        // flush timeout; what is not delivered by then is already in the spool.
        if let Some(worker) = self.worker.take() {
            worker.flush(live.config.flush_timeout);
        }
        // Never blocks: the thread is woken, sees the decision gone and exits on its own.
        let mut current = current();
        if current.generation == live.generation {
            if current.decision.as_ref().is_some_and(|d| d.enabled) {
                set_recording(false);
            }
            current.decision = None;
        }
        drop(current);
        CHANGED.notify_all();
    }
}
