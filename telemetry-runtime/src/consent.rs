//! Who decides whether telemetry is on: the nine rules of SPEC §4, first match wins.
//!
//! [`resolve`] returns the decision *and* the rule that made it, so `status` can say
//! `Decided by: DO_NOT_TRACK`. Any error while deciding (an unreadable file, a bad value)
//! decides **off**, and the rule says which error. Rules 2–5 (environment and policy file)
//! are cheap and re-checked while the process runs: see [`recheck`] and `init`.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::calendar::Date;
use crate::ci::{CiMatch, CiVariable, detect_ci};
use crate::config::{Config, DefaultConsent};
use crate::env::{self, Switch};
use crate::paths::{PROJECT_FILE, SPOOL_DIR};
use crate::state::{How, State, StateError, StateStore};

/// Whether telemetry is on, and which rule said so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// On or off.
    pub enabled: bool,
    /// The rule that decided.
    pub rule: Rule,
}

/// The rule that decided, shown by `status` after `Decided by: `.
///
/// ```
/// use telemetry_runtime::{Config, Env, resolve};
///
/// let config = Config::new("acme", "1.0").env(Env::from_pairs([("ACME_DISABLE_TELEMETRY", "1")]));
/// let decision = resolve(&config);
/// assert!(!decision.enabled);
/// assert_eq!(decision.rule.to_string(), "ACME_DISABLE_TELEMETRY");
/// assert_eq!(decision.rule.number(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// 1: built with `--cfg telemetry_disabled`.
    CompiledOut,
    /// 2: `DO_NOT_TRACK`.
    DoNotTrack,
    /// 3: `APP_DISABLE_TELEMETRY`; holds the variable's name.
    AppDisable(String),
    /// 4: the system policy file says `disabled = true`.
    Policy,
    /// 4: the system policy file exists but could not be read or parsed.
    PolicyUnreadable,
    /// 5: `APP_TELEMETRY_ENABLED`; holds the variable's name.
    AppEnabled(String),
    /// 5: `APP_TELEMETRY_ENABLED` holds something other than `1/true/yes/0/false/no`.
    AppEnabledInvalid(String),
    /// 6: a CI or build environment; the row of [`CI_ENVIRONMENTS`](crate::CI_ENVIRONMENTS)
    /// that matched (service and variable).
    Ci(&'static CiVariable),
    /// 7: a `.telemetry` project file.
    Project,
    /// 7: a `.telemetry` project file that could not be read or has a bad value.
    ProjectUnreadable,
    /// 7: the current directory could not be determined.
    CurrentDirUnknown,
    /// 8: the user's decision, and when it was made.
    User(Option<Date>),
    /// 8: the state could not be read; the error, without paths.
    StateUnreadable(String),
    /// 9: the host's default.
    Default(DefaultConsent),
    /// 9: this run showed the first-run notice, so it sends nothing (whatever the answer).
    FirstRunNotice,
    /// 8: the decision was reset in this run: off until the next start.
    Reset,
    /// The OS random source failed: no id can be made, so nothing can be sent.
    NoRandomness,
    /// Something unexpected went wrong while deciding (never reaches the host as a panic).
    InternalError,
}

impl Rule {
    /// The number of the rule in SPEC §4 (1–9; 0 for an internal error).
    pub fn number(&self) -> u8 {
        match self {
            Rule::CompiledOut => 1,
            Rule::DoNotTrack => 2,
            Rule::AppDisable(_) => 3,
            Rule::Policy | Rule::PolicyUnreadable => 4,
            Rule::AppEnabled(_) | Rule::AppEnabledInvalid(_) => 5,
            Rule::Ci(_) => 6,
            Rule::Project | Rule::ProjectUnreadable | Rule::CurrentDirUnknown => 7,
            Rule::User(_) | Rule::StateUnreadable(_) | Rule::Reset => 8,
            Rule::Default(_) | Rule::FirstRunNotice => 9,
            Rule::InternalError | Rule::NoRandomness => 0,
        }
    }

    /// A stable machine-readable name, for `status --json`.
    pub fn key(&self) -> &'static str {
        match self {
            Rule::CompiledOut => "compiled_out",
            Rule::DoNotTrack => "do_not_track",
            Rule::AppDisable(_) => "app_disable_telemetry",
            Rule::Policy => "policy_file",
            Rule::PolicyUnreadable => "policy_file_error",
            Rule::AppEnabled(_) => "app_telemetry_enabled",
            Rule::AppEnabledInvalid(_) => "app_telemetry_enabled_error",
            Rule::Ci(_) => "ci",
            Rule::Project => "project_file",
            Rule::ProjectUnreadable => "project_file_error",
            Rule::CurrentDirUnknown => "current_dir_error",
            Rule::User(_) => "user_decision",
            Rule::StateUnreadable(_) => "state_file_error",
            Rule::Default(_) => "default",
            Rule::FirstRunNotice => "first_run_notice",
            Rule::Reset => "reset",
            Rule::NoRandomness => "random_source_error",
            Rule::InternalError => "internal_error",
        }
    }

    /// Whether an error decided (always off).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Rule::PolicyUnreadable
                | Rule::AppEnabledInvalid(_)
                | Rule::ProjectUnreadable
                | Rule::CurrentDirUnknown
                | Rule::StateUnreadable(_)
                | Rule::InternalError
                | Rule::NoRandomness
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::CompiledOut => f.write_str("the compile-time kill switch (telemetry_disabled)"),
            Rule::DoNotTrack => f.write_str("DO_NOT_TRACK"),
            Rule::AppDisable(var) | Rule::AppEnabled(var) => f.write_str(var),
            Rule::Policy => f.write_str("the system policy file (disabled = true)"),
            Rule::PolicyUnreadable => f.write_str("the system policy file could not be read"),
            Rule::AppEnabledInvalid(var) => {
                write!(f, "{var} has a value other than 1/true/yes or 0/false/no")
            }
            Rule::Ci(row) => write_ci(f, row),
            Rule::Project => write!(f, "the project file {PROJECT_FILE}"),
            Rule::ProjectUnreadable => {
                write!(f, "the project file {PROJECT_FILE} could not be read")
            }
            Rule::CurrentDirUnknown => f.write_str("the current directory could not be read"),
            Rule::User(Some(date)) => write!(f, "your decision (on {date})"),
            Rule::User(None) => f.write_str("your decision"),
            Rule::StateUnreadable(why) => f.write_str(why),
            Rule::Default(DefaultConsent::OptIn) => {
                f.write_str("the default (opt-in: off until enabled)")
            }
            Rule::Default(DefaultConsent::OptOut) => {
                f.write_str("the default (opt-out: on until disabled)")
            }
            Rule::FirstRunNotice => {
                f.write_str("the first-run notice (nothing is sent in the run that shows it)")
            }
            Rule::Reset => f.write_str("reset in this run (off until the next start)"),
            Rule::NoRandomness => f.write_str("the system's random number source failed"),
            Rule::InternalError => f.write_str("an internal error"),
        }
    }
}

/// `CI environment: GitHub Actions (GITHUB_ACTIONS)`, `CI environment: Woodpecker
/// (CI=woodpecker)`, `CI environment (CI)`: the service, and the variable as it matched.
fn write_ci(f: &mut fmt::Formatter<'_>, row: &CiVariable) -> fmt::Result {
    f.write_str("CI environment")?;
    if row.service != row.variable {
        write!(f, ": {}", row.service)?;
    }
    match row.matches {
        CiMatch::Set => write!(f, " ({})", row.variable),
        CiMatch::Equals(value) => write!(f, " ({}={value})", row.variable),
        CiMatch::Without(other) => write!(f, " ({} without {other})", row.variable),
        CiMatch::With(other) => write!(f, " ({} with {other})", row.variable),
    }
}

impl Decision {
    fn off(rule: Rule) -> Decision {
        Decision {
            enabled: false,
            rule,
        }
    }
}

/// Decides, applying all nine rules in order. May rename a corrupt state file aside (and
/// then decides off, also in later runs until a new decision is recorded); writes nothing
/// else, and never waits for another process's lock (a busy state file decides off).
///
/// ```
/// use telemetry_runtime::{Config, Env, resolve};
///
/// let dir = tempfile::tempdir().unwrap();
/// let config = Config::new("acme", "1.0")
///     .env(Env::from_pairs([("CI", "true"), ("ACME_TELEMETRY_ENABLED", "1")]))
///     .config_dir(dir.path().join("conf"))
///     .policy_file(dir.path().join("policy.toml")) // not the real /etc/acme/telemetry.toml
///     .current_dir(dir.path());
/// let decision = resolve(&config);
/// assert!(decision.enabled || cfg!(telemetry_disabled)); // rule 5 beats rule 6
/// ```
pub fn resolve(config: &Config) -> Decision {
    resolve_inner(config, cfg!(telemetry_disabled))
}

pub(crate) fn resolve_inner(config: &Config, compiled_out: bool) -> Decision {
    decide(config, compiled_out, true)
}

/// Like [`resolve`], but a corrupt state file is left where it is (and decides off): for
/// commands that promise to change nothing, like `preview`.
pub(crate) fn resolve_read_only(config: &Config) -> Decision {
    decide(config, cfg!(telemetry_disabled), false)
}

fn decide(config: &Config, compiled_out: bool, set_aside: bool) -> Decision {
    if let Some(decision) = above_user(config, compiled_out) {
        return decision;
    }
    let today = config.clock.today();
    match user_decision(config, today, set_aside) {
        Ok(Some((enabled, date))) => Decision {
            enabled,
            rule: Rule::User(date),
        },
        Ok(None) => Decision {
            enabled: config.default == DefaultConsent::OptOut,
            rule: Rule::Default(config.default),
        },
        Err(e) => Decision::off(Rule::StateUnreadable(e.to_string())),
    }
}

/// Rules 1–7: what decides before the user's own decision, if anything.
pub(crate) fn above_user(config: &Config, compiled_out: bool) -> Option<Decision> {
    if compiled_out {
        return Some(Decision::off(Rule::CompiledOut));
    }
    if let Some(decision) = recheck(config) {
        return Some(decision);
    }
    if let Some(ci) = detect_ci(&config.env) {
        return Some(Decision::off(Rule::Ci(ci)));
    }
    project_rule(config)
}

/// Rules 2–5 alone: the environment and the policy file. Cheap (a few variable lookups and
/// at most one small file read), so a running process calls it every few seconds.
///
/// ```
/// use telemetry_runtime::{Config, Env, recheck};
///
/// let config = Config::new("acme", "1.0").env(Env::from_pairs([("DO_NOT_TRACK", "1")]));
/// assert_eq!(recheck(&config).unwrap().rule.to_string(), "DO_NOT_TRACK");
/// ```
pub fn recheck(config: &Config) -> Option<Decision> {
    let env = &config.env;
    if env::truthy(env.get("DO_NOT_TRACK").as_deref()) {
        return Some(Decision::off(Rule::DoNotTrack));
    }
    let disable = config.var("DISABLE_TELEMETRY");
    if env::truthy(env.get(&disable).as_deref()) {
        return Some(Decision::off(Rule::AppDisable(disable)));
    }
    match read_policy(config) {
        Ok(false) => {}
        Ok(true) => return Some(Decision::off(Rule::Policy)),
        Err(()) => return Some(Decision::off(Rule::PolicyUnreadable)),
    }
    let enabled = config.var("TELEMETRY_ENABLED");
    match env.get(&enabled) {
        None => None,
        Some(value) => match env::switch(&value) {
            Switch::On => Some(Decision {
                enabled: true,
                rule: Rule::AppEnabled(enabled),
            }),
            Switch::Off => Some(Decision::off(Rule::AppEnabled(enabled))),
            // An empty value is "unset" in practice (`ACME_TELEMETRY_ENABLED= cmd`).
            Switch::Other if value.trim().is_empty() => None,
            Switch::Other => Some(Decision::off(Rule::AppEnabledInvalid(enabled))),
        },
    }
}

/// Whether a policy file says `disabled = true`: the system one and the one named by
/// `APP_TELEMETRY_POLICY_FILE` are both read, and either decides off (the variable adds a
/// file, it never hides the system one). A missing file says nothing; an unreadable one is
/// an error, unless another file already said `disabled = true`.
fn read_policy(config: &Config) -> Result<bool, ()> {
    #[derive(Deserialize)]
    struct Policy {
        #[serde(default)]
        disabled: bool,
    }
    let mut result = Ok(false);
    for path in config.policy_files() {
        let read = match fs::read_to_string(path) {
            Ok(text) => toml::from_str::<Policy>(&text)
                .map(|p| p.disabled)
                .map_err(|_| ()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(_) => Err(()),
        };
        match read {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(()) => result = Err(()),
        }
    }
    result
}

/// Rule 7: the nearest `.telemetry`, from the current directory up to the repository root.
fn project_rule(config: &Config) -> Option<Decision> {
    let cwd = match &config.current_dir {
        Some(dir) => dir.clone(),
        None => match std::env::current_dir() {
            Ok(dir) => dir,
            Err(_) => return Some(Decision::off(Rule::CurrentDirUnknown)),
        },
    };
    let file = find_project_file(&cwd)?;
    match fs::read_to_string(file)
        .map_err(|_| ())
        .and_then(|t| parse_project(&t))
    {
        Ok(Some(enabled)) => Some(Decision {
            enabled,
            rule: Rule::Project,
        }),
        Ok(None) => None,
        Err(()) => Some(Decision::off(Rule::ProjectUnreadable)),
    }
}

/// The `.telemetry` that applies in `cwd`: the nearest one in `cwd` or an ancestor, up to
/// and including the repository root (the first ancestor holding `.git`). Outside a
/// repository only `cwd` itself is looked at, so a stray file far up never applies.
fn find_project_file(cwd: &Path) -> Option<PathBuf> {
    let ancestors: Vec<&Path> = cwd.ancestors().collect();
    let root = ancestors.iter().position(|dir| dir.join(".git").exists());
    let searched = match root {
        Some(i) => &ancestors[..=i],
        None => &ancestors[..1],
    };
    searched
        .iter()
        .map(|dir| dir.join(PROJECT_FILE))
        .find(|file| file.is_file())
}

/// `consent: true` / `consent: false` (also `=`, and `1/yes/0/no`); `#` starts a comment;
/// other keys are ignored. `Ok(None)` when the file says nothing about consent.
fn parse_project(text: &str) -> Result<Option<bool>, ()> {
    let mut consent = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once([':', '=']) else {
            return Err(());
        };
        if key.trim() != "consent" {
            continue;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        consent = match env::switch(value) {
            Switch::On => Some(true),
            Switch::Off => Some(false),
            Switch::Other => return Err(()),
        };
    }
    Ok(consent)
}

/// Rule 8: the decision in the state file, and when it was made.
fn user_decision(
    config: &Config,
    today: Date,
    set_aside: bool,
) -> Result<Option<(bool, Option<Date>)>, StateError> {
    let store = StateStore::new(config.state_dir()?);
    let state = if set_aside {
        store.read_or_set_aside(today)?
    } else {
        store.read()?
    };
    Ok(state.enabled.map(|on| (on, state.decision_date)))
}

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
/// use telemetry_runtime::{Config, Env, set_consent};
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
        crate::init::switch_off(Rule::User(Some(today)));
    }
    let store = StateStore::new(&dir);
    let (old, new) = store.update(today, how, |s| s.decide(enabled, today))?;
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
        // Nothing else to forget; create nothing.
        return Ok(Change {
            old: State::default(),
            new: State::default(),
        });
    }
    crate::init::switch_off(Rule::Reset);
    let today = config.clock.today();
    let (old, new) = store.update(today, How::Reset, |s| {
        *s = State::default();
        Ok(())
    })?;
    delete_spool(&dir);
    Ok(Change { old, new })
}

/// Unsent batches must not outlive a "no".
fn delete_spool(dir: &Path) {
    let _ = fs::remove_dir_all(dir.join(SPOOL_DIR));
}

#[cfg(test)]
mod tests;
