//! Who decides whether telemetry is on: the nine rules of docs/consent.md, "The nine rules",
//! first match wins.
//!
//! [`resolve`] returns the decision *and* the rule that made it, so `status` can say
//! `Decided by: DO_NOT_TRACK`. Any error while deciding (an unreadable file, a bad value)
//! decides **off**, and the rule says which error. Rules 2–5 (environment and policy file)
//! are cheap and re-checked while the process runs: see [`recheck`] and `init`.

use std::path::{Path, PathBuf};

use crate::base::calendar::Date;
use crate::base::env::{self, Switch};
use crate::base::paths::{FileProblem, PROJECT_FILE};
use crate::config::Config;
use crate::consent::ci::detect_ci;
use crate::consent::policy;
use crate::decision::{Decision, DefaultConsent, Rule};
use crate::files::read::{self, SMALL_FILE};
use crate::files::state::StateError;
use crate::files::store::StateStore;

/// Whether telemetry is on, and which rule said so.
/// Decides, applying all nine rules in order. May rename a corrupt state file aside (and
/// then decides off, also in later runs until a new decision is recorded); writes nothing
/// else, and never waits for another process's lock (a busy state file decides off).
///
/// ```
/// use telemetry::config::{Config, Env};
/// use telemetry::consent::resolve;
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
        Ok(Some(Stored::Outdated(agreed))) => Decision::off(Rule::OutdatedYes {
            agreed,
            current: config.consent_version,
        }),
        Ok(Some(Stored::Decided(enabled, date))) => Decision {
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
/// use telemetry::config::{Config, Env};
/// use telemetry::consent::recheck;
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
    match policy::disabled(config) {
        Ok(false) => {}
        Ok(true) => return Some(Decision::off(Rule::Policy)),
        Err(problem) => return Some(Decision::off(Rule::PolicyUnreadable(problem))),
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

/// What the `.telemetry` that applies here says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProjectFile {
    /// No file, or one that says nothing about consent.
    Silent,
    /// `consent: true` or `consent: false`.
    Says(bool),
    /// A file that could not be read or has a bad value.
    Unreadable(FileProblem),
    /// The current directory is unknown, so no file can be looked for.
    NoCurrentDir,
}

/// Reads the nearest `.telemetry`, from the current directory up to the repository root.
pub(crate) fn project_file(config: &Config) -> ProjectFile {
    let cwd = match &config.current_dir {
        Some(dir) => dir.clone(),
        None => match std::env::current_dir() {
            Ok(dir) => dir,
            Err(_) => return ProjectFile::NoCurrentDir,
        },
    };
    let Some(file) = find_project_file(&cwd) else {
        return ProjectFile::Silent;
    };
    let consent = match read::read(&file, SMALL_FILE) {
        Ok(bytes) => std::str::from_utf8(&bytes)
            .map_err(|_| FileProblem::Invalid)
            .and_then(|text| parse_project(text).map_err(|()| FileProblem::Invalid)),
        Err(e) => Err(e.problem()),
    };
    match consent {
        Ok(Some(enabled)) => ProjectFile::Says(enabled),
        Ok(None) => ProjectFile::Silent,
        Err(problem) => ProjectFile::Unreadable(problem),
    }
}

/// Rule 7: a project file can only switch telemetry off. It comes with a repository, which
/// someone else may have written, so its `consent: true` is not the user's consent and
/// decides nothing: the rules below it do (`status` says the file was passed over).
fn project_rule(config: &Config) -> Option<Decision> {
    match project_file(config) {
        ProjectFile::Says(false) => Some(Decision::off(Rule::Project)),
        ProjectFile::Says(true) | ProjectFile::Silent => None,
        ProjectFile::Unreadable(problem) => Some(Decision::off(Rule::ProjectUnreadable(problem))),
        ProjectFile::NoCurrentDir => Some(Decision::off(Rule::CurrentDirUnknown)),
    }
}

/// The `.telemetry` that applies in `cwd`: the nearest one in `cwd` or an ancestor, up to
/// and including the repository root (the first ancestor holding `.git`). Outside a
/// repository only `cwd` itself is looked at, so a stray file far up never applies.
pub(super) fn find_project_file(cwd: &Path) -> Option<PathBuf> {
    let ancestors: Vec<&Path> = cwd.ancestors().collect();
    let root = ancestors.iter().position(|dir| dir.join(".git").exists());
    let searched = match root {
        Some(i) => &ancestors[..=i],
        None => &ancestors[..1],
    };
    searched
        .iter()
        .map(|dir| dir.join(PROJECT_FILE))
        // Whatever is there (a FIFO, a symlink) is found, and refused when read.
        .find(|file| std::fs::symlink_metadata(file).is_ok())
}

/// `consent: true` / `consent: false` (also `=`, and `1/yes/0/no`); `#` starts a comment;
/// other keys are ignored. `Ok(None)` when the file says nothing about consent.
pub(super) fn parse_project(text: &str) -> Result<Option<bool>, ()> {
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
/// A decision found in the state file.
enum Stored {
    /// On or off, and when it was made.
    Decided(bool, Option<Date>),
    /// A "yes" for this earlier consent version, which no longer counts.
    Outdated(u32),
}

fn user_decision(
    config: &Config,
    today: Date,
    set_aside: bool,
) -> Result<Option<Stored>, StateError> {
    let store = StateStore::new(config.state_dir()?);
    let state = if set_aside {
        store.read_or_set_aside(today)?
    } else {
        store.read()?
    };
    if state.yes_is_outdated(config.consent_version) {
        return Ok(Some(Stored::Outdated(state.agreed_version())));
    }
    Ok(state
        .enabled
        .map(|on| Stored::Decided(on, state.decision_date)))
}
