//! Recording the user's decision: `enable`, `disable`, `reset`, and their API forms.
//! Turning off takes effect in this process at once and never sends anything.

use std::fs;
use std::path::Path;

use crate::base::paths::{COLLECTION_FILE, SPOOL_DIR};
use crate::config::Config;
use crate::decision::Rule;
use crate::files::sent_log;
use crate::files::state::{How, State, StateError};
use crate::files::store::StateStore;
use crate::process;

/// A change of the stored decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The state before.
    pub old: State,
    /// The state after.
    pub new: State,
}

/// Records the user's decision (`enable`/`disable` from a host's own UI: audited as `api`).
/// Disabling takes effect at once in this process and deletes the spool; enabling takes
/// effect at the next `init`, if no rule above 8 decides otherwise.
///
/// ```
/// use telemetry::config::Env;
/// use telemetry::{Config, set_consent};
///
/// let dir = tempfile::tempdir().unwrap();
/// let config = Config::new("acme", "1.0").env(Env::empty()).config_dir(dir.path());
/// if !cfg!(telemetry_disabled) {
///     let change = set_consent(&config, true).unwrap();
///     assert_eq!(change.new.enabled, Some(true));
///     assert!(change.new.installation_id.is_some());
/// }
/// ```
pub fn set_consent(config: &Config, enabled: bool) -> Result<Change, StateError> {
    record(config, enabled, How::Api)
}

/// Forgets the installation id and the decision (a fresh start; the prompt shows again),
/// and deletes the corrupt state files kept aside (they may hold the old installation id).
/// Audited as `reset` when a decision was forgotten. This process stays off until it
/// restarts.
pub fn reset_consent(config: &Config) -> Result<Change, StateError> {
    reset_with(config)
}

pub(crate) fn record(config: &Config, enabled: bool, how: How) -> Result<Change, StateError> {
    if cfg!(telemetry_disabled) {
        return Err(StateError::CompiledOut);
    }
    let dir = config.state_dir()?;
    let today = config.clock.today();
    if !enabled {
        // Off now, before anything else: turning off never sends anything. The whole
        // process follows: the guard's decision, the counters, the re-check thread.
        process::switch_off(Rule::User(Some(today)));
    }
    let store = StateStore::new(&dir);
    let version = config.consent_version;
    let identity = config.identity;
    let (old, new) = store.update(today, how, |s| {
        s.decide_as(enabled, today, version, identity)
    })?;
    if !enabled {
        delete_spool(&dir);
    }
    Ok(Change { old, new })
}

pub(crate) fn reset_with(config: &Config) -> Result<Change, StateError> {
    if cfg!(telemetry_disabled) {
        return Err(StateError::CompiledOut);
    }
    let dir = config.state_dir()?;
    let store = StateStore::new(&dir);
    // Kept corrupt copies may hold the old installation id: a fresh start forgets them too
    // (this also ends the "state file could not be read" condition).
    store.delete_corrupt_copies();
    if !store.state_path().exists() {
        // No decision to forget; what an environment variable's consent sent and left
        // behind goes all the same. Create nothing.
        delete_spool(&dir);
        return Ok(Change {
            old: State::default(),
            new: State::default(),
        });
    }
    process::switch_off(Rule::Reset);
    let today = config.clock.today();
    let (old, new) = store.update(today, How::Reset, |s| {
        *s = State::default();
        Ok(())
    })?;
    delete_spool(&dir);
    Ok(Change { old, new })
}

/// Unsent batches must not outlive a "no", nor the record of what was sent, nor the
/// collection config fetched while sending (a "yes" fetches it again).
fn delete_spool(dir: &Path) {
    let _ = fs::remove_dir_all(dir.join(SPOOL_DIR));
    let _ = fs::remove_file(dir.join(COLLECTION_FILE));
    sent_log::delete(dir);
}
