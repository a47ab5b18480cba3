//! Whether a worker may go on sending: consent still holds (the cheap re-check of the
//! environment and policy file, and every rule again when the state file changed), and it
//! is still the worker in charge. Kept apart from the transport, which asks it before every
//! attempt.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::SystemTime;

use crate::base::paths::STATE_FILE;
use crate::consent::rules::{self, recheck};
use crate::pipeline::settings::Settings;
use crate::process;

/// The worker in charge; an older one stops at its next step.
pub(crate) static CURRENT_WORKER: AtomicU64 = AtomicU64::new(0);

/// Whether sending may go on: consent still holds, and this is still the worker in charge.
/// Kept apart from the transport so the transport can ask it before every attempt.
pub(crate) struct Watch<'a> {
    id: u64,
    settings: &'a Settings,
    /// The state file as last seen (modified, length): re-read only when it changes.
    state_seen: Option<(Option<SystemTime>, u64)>,
}

impl<'a> Watch<'a> {
    /// The watch of worker `id`, running with `settings`.
    pub(crate) fn new(id: u64, settings: &'a Settings) -> Watch<'a> {
        Watch {
            id,
            settings,
            state_seen: state_file_seen(settings),
        }
    }

    /// Re-checks rules 2–5 (the environment, the policy file) and, when the state file
    /// changed since last seen (`enable`, `disable` or `reset` in another process), every
    /// rule; switches the process off if they now say off. Turning off never sends anything,
    /// and it takes effect before the next attempt.
    pub(crate) fn holds(&mut self) -> bool {
        if CURRENT_WORKER.load(Relaxed) != self.id || !process::recording() {
            return false;
        }
        let settings = self.settings;
        let Some(config) = &settings.config else {
            return true;
        };
        if let Some(decision) = recheck(config).filter(|d| !d.enabled) {
            process::switch_off(decision.rule);
            return false;
        }
        let seen = state_file_seen(settings);
        if seen != self.state_seen {
            self.state_seen = seen;
            let decision = rules::resolve_read_only(config);
            if !decision.enabled {
                process::switch_off(decision.rule);
                return false;
            }
        }
        true
    }
}

/// The state file's modification time and length, as cheap a look as there is.
fn state_file_seen(settings: &Settings) -> Option<(Option<SystemTime>, u64)> {
    let dir = settings.state_dir.as_ref()?;
    let meta = std::fs::symlink_metadata(dir.join(STATE_FILE)).ok()?;
    Some((meta.modified().ok(), meta.len()))
}
