//! `init`: decide once at startup, turn the counters on or off, and keep re-checking the
//! rules that can change while the process runs. The top layer: it starts what every layer
//! below provides, and nothing below calls it.
//!
//! The decision in force is the process's one current decision (`process`); the guard reads
//! it, so the guard, the recording flag and the re-check thread never disagree.
//!
//! While telemetry is on, one small thread (`telemetry-consent`) wakes every
//! [`Config::recheck_interval`] (5 s by default) and re-runs rules 2–5 (three variable
//! lookups and at most two small file reads). If one now says off, it turns the counters off
//! at once (nothing is sent for the switch) and exits. It also exits as soon as anything else
//! switched off, or the guard is dropped: the thread exists only while telemetry is on, and
//! never with the compile-time kill switch.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;

use crate::config::Config;
use crate::consent::rules;
use crate::decision::{Decision, Rule};
use crate::pipeline::settings::{Diagnostics, Settings, diagnostics};
use crate::pipeline::worker::Worker;
use crate::process;
use crate::record::counters::set_recording;

/// Starts telemetry for this process: resolves consent (docs/consent.md, "The nine rules") and
/// turns the call-path counters on only if it says yes. Never panics, never prints, never
/// writes a file while consent is off. Keep the guard alive for as long as telemetry should
/// run.
///
/// ```
/// use telemetry::config::Env;
/// use telemetry::{Config, DefaultConsent};
///
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path().join("conf");
/// let config = Config::new("acme", "1.0")
///     .env(Env::empty())
///     .config_dir(&dir)
///     .policy_file(tmp.path().join("policy.toml")) // not the real /etc/acme/telemetry.toml
///     .current_dir(tmp.path());
///
/// let guard = telemetry::init(config.clone());
/// assert!(!guard.is_enabled()); // opt-in: off until the user says yes
/// assert!(!dir.exists()); // and nothing was written
/// drop(guard);
///
/// // The user says yes (`acme telemetry enable`, or the first-run prompt): the next run counts.
/// if !cfg!(telemetry_disabled) {
///     telemetry::set_consent(&config, true).unwrap();
///     let guard = telemetry::init(config); // no endpoint: counts, but sends nowhere
///     assert!(guard.is_enabled());
///     assert_eq!(guard.decision().rule.number(), 8); // decided by the user's own decision
/// }
/// ```
pub fn init(config: Config) -> Guard {
    if cfg!(telemetry_disabled) {
        return Guard {
            live: None,
            worker: None,
            decision: Decision::off(Rule::CompiledOut),
        };
    }
    let decision = catch_unwind(AssertUnwindSafe(|| decide_at_start(&config)))
        .unwrap_or(Decision::off(Rule::InternalError));
    let (generation, decision) = process::begin(decision, set_recording);
    // The worker exists only while consent holds; it stops by itself when it is withdrawn.
    let worker = match process::session() {
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
    let decision = rules::resolve(config);
    if decision.enabled && process::session().is_none() {
        return Decision::off(Rule::NoRandomness);
    }
    decision
}

struct Live {
    config: Config,
    generation: u64,
}

impl Live {
    fn watch(&self) {
        while process::wait_while_on(self.generation, self.config.recheck_interval) {
            self.refresh();
        }
    }

    /// Re-runs rules 2–5 if this guard's decision is on; switches off if one now says off.
    fn refresh(&self) -> Decision {
        if process::is_on(self.generation) {
            let found = catch_unwind(AssertUnwindSafe(|| rules::recheck(&self.config)))
                .unwrap_or(Some(Decision::off(Rule::InternalError)));
            if let Some(decision) = found.filter(|d| !d.enabled) {
                process::switch_off_if_current(self.generation, decision);
            }
        }
        process::decision()
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
            Some(_) => process::decision(),
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
        diagnostics(self.config().and_then(Config::resolved_config_dir))
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
        process::end(live.generation);
    }
}

#[cfg(test)]
mod tests {
    use crate::consent::prompt::prompt_with;
    use crate::consent::prompt::tests::config;
    use crate::decision::{DefaultConsent, Rule};
    use crate::record::counters::is_recording;

    /// The prompt's own tests cannot start telemetry (a lower layer); this one does.
    #[test]
    fn the_notice_switches_this_run_off_and_says_what_the_default_is() {
        for (default, answer) in [
            (DefaultConsent::OptOut, "n\n"),
            (DefaultConsent::OptOut, "y\n"),
            (DefaultConsent::OptIn, "y\n"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let config = config(dir.path()).default_consent(default);
            let _process = crate::process::test_lock();
            crate::process::forget_notice_shown();
            let guard = super::init(config.clone());
            assert_eq!(guard.is_enabled(), default == DefaultConsent::OptOut);
            let mut err = Vec::new();
            prompt_with(&config, true, &mut err, |_| Some(answer.to_owned()));
            let err = String::from_utf8(err).unwrap();
            assert!(!guard.is_enabled(), "{default:?} {answer:?}");
            assert!(!is_recording());
            if default == DefaultConsent::OptOut {
                assert_eq!(guard.decision().rule, Rule::FirstRunNotice);
                assert!(err.contains("It is on by default"), "{err}");
                assert!(!err.contains("Nothing is sent unless you say yes"), "{err}");
            } else {
                assert_eq!(guard.decision().rule, Rule::Default(DefaultConsent::OptIn));
                assert!(err.contains("Nothing is sent unless you say yes"), "{err}");
            }
            drop(guard);
            // A later `init` in the same run (after the prompt) stays off too.
            let guard = super::init(config.clone());
            assert!(!guard.is_enabled());
            assert!(!is_recording());
            drop(guard);
            crate::process::forget_notice_shown();
        }
    }
}
