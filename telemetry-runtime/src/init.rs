//! `init`: decide once at startup, turn the counters on or off, and keep re-checking the
//! rules that can change while the process runs.
//!
//! While telemetry is on, one small thread (`telemetry-consent`) wakes every
//! [`Config::recheck_interval`](crate::Config::recheck_interval) (5 s by default) and re-runs
//! rules 2–5 (three variable lookups and at most one small file read). If one now says off,
//! it turns the counters off at once (nothing is sent for the switch) and exits. The thread
//! exists only while telemetry is on, and never with the compile-time kill switch.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread;

use crate::config::Config;
use crate::consent::{self, Decision, Rule};
use crate::counters::set_recording;

/// Starts telemetry for this process: resolves consent (SPEC §4) and turns the call-path
/// counters on only if it says yes. Never panics, never prints, never writes a file while
/// consent is off. Keep the guard alive for as long as telemetry should run.
///
/// ```
/// use telemetry_runtime::{Config, Env};
///
/// let dir = std::env::temp_dir().join(format!("acme-doc-init-{}", std::process::id()));
/// let guard = telemetry_runtime::init(
///     Config::new("acme", "1.0").env(Env::empty()).config_dir(&dir).current_dir(&dir),
/// );
/// assert!(!guard.is_enabled()); // opt-in: off until the user says yes
/// assert!(!dir.exists()); // and nothing was written
/// ```
pub fn init(config: Config) -> Guard {
    if cfg!(telemetry_disabled) {
        return Guard {
            live: None,
            decision: Decision {
                enabled: false,
                rule: Rule::CompiledOut,
            },
        };
    }
    let decision =
        catch_unwind(AssertUnwindSafe(|| consent::resolve(&config))).unwrap_or(Decision {
            enabled: false,
            rule: Rule::InternalError,
        });
    set_recording(decision.enabled);
    let live = Arc::new(Live {
        config,
        decision: Mutex::new(decision.clone()),
        stop: Mutex::new(false),
        wake: Condvar::new(),
    });
    if decision.enabled {
        let watcher = Arc::clone(&live);
        // Failing to spawn only loses the re-check, never the host.
        let _ = thread::Builder::new()
            .name("telemetry-consent".into())
            .spawn(move || watcher.watch());
    }
    Guard {
        live: Some(live),
        decision,
    }
}

/// The random id of this process's session (a UUID v4), the same for the whole run.
pub fn session_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().to_string())
}

struct Live {
    config: Config,
    decision: Mutex<Decision>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Live {
    fn watch(&self) {
        let mut stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let (guard, _) = self
                .wake
                .wait_timeout(stop, self.config.recheck_interval)
                .unwrap_or_else(PoisonError::into_inner);
            stop = guard;
            if *stop || !self.refresh().enabled {
                return;
            }
        }
    }

    /// Re-runs rules 2–5; switches off if one of them now says off.
    fn refresh(&self) -> Decision {
        let mut current = self.decision.lock().unwrap_or_else(PoisonError::into_inner);
        if current.enabled {
            let found = catch_unwind(AssertUnwindSafe(|| consent::recheck(&self.config)))
                .unwrap_or(Some(Decision {
                    enabled: false,
                    rule: Rule::InternalError,
                }));
            if let Some(decision) = found.filter(|d| !d.enabled) {
                set_recording(false);
                *current = decision;
            }
        }
        current.clone()
    }
}

/// Keeps telemetry running; returned by [`init`]. Dropping it stops the re-check thread
/// and the counters, at once and silently (later: flushes, bounded by the flush timeout).
#[must_use = "telemetry stops when the guard is dropped; bind it: `let _telemetry = init(…);`"]
pub struct Guard {
    live: Option<Arc<Live>>,
    decision: Decision,
}

impl Guard {
    /// The decision in force now (a re-check may have switched it off since `init`).
    pub fn decision(&self) -> Decision {
        match &self.live {
            Some(live) => live
                .decision
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
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
        // Never blocks: the thread is told to stop and exits on its own.
        *live.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        live.wake.notify_all();
        if live
            .decision
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .enabled
        {
            set_recording(false);
        }
    }
}
