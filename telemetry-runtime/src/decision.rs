//! What a decision is: on or off, and the rule that made it (the nine consent rules of
//! docs/consent.md, "The nine rules"). Only the vocabulary lives here, so that every layer can
//! name a decision; the rules themselves are applied by `consent`.

use std::fmt;

use crate::base::calendar::Date;
use crate::base::env::{self, Env};
use crate::base::paths::{FileProblem, PROJECT_FILE};

/// The host's default when nobody decided (rule 9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultConsent {
    /// Off until the user says yes. The default.
    #[default]
    OptIn,
    /// On until the user says no; nothing is sent in the run that shows the first-run notice.
    OptOut,
}

/// Whether a consenting installation is counted by an id of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Identity {
    /// A random installation id, made when the user consents and forgotten by `reset`,
    /// counts installations. The default.
    #[default]
    Installation,
    /// No installation id is ever made, stored or sent: events carry only the per-process
    /// session id, so the maintainer counts runs, not installations.
    Anonymous,
}

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
/// use telemetry::config::{Config, Env};
/// use telemetry::consent::resolve;
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
    /// 4: a policy file exists but could not be read or parsed, and why.
    PolicyUnreadable(FileProblem),
    /// 5: `APP_TELEMETRY_ENABLED`; holds the variable's name.
    AppEnabled(String),
    /// 5: `APP_TELEMETRY_ENABLED` holds something other than `1/true/yes/0/false/no`.
    AppEnabledInvalid(String),
    /// 6: a CI or build environment; the row of [`CI_ENVIRONMENTS`](crate::consent::ci::CI_ENVIRONMENTS)
    /// that matched (service and variable).
    Ci(&'static CiVariable),
    /// 7: a `.telemetry` project file that says `consent: false` (its `true` decides nothing).
    Project,
    /// 7: a `.telemetry` project file that could not be read or has a bad value, and why.
    ProjectUnreadable(FileProblem),
    /// 7: the current directory could not be determined.
    CurrentDirUnknown,
    /// 8: the user's decision, and when it was made.
    User(Option<Date>),
    /// 8: the user said yes for an earlier consent version (`agreed`) than the host's
    /// (`current`): it counts for nothing until they are asked again. Always off.
    OutdatedYes {
        /// The version the "yes" was given for.
        agreed: u32,
        /// The host's version now.
        current: u32,
    },
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
    /// The number of the rule in the list of docs/consent.md, "The nine rules" (1–9; 0 for an
    /// internal error).
    pub fn number(&self) -> u8 {
        match self {
            Rule::CompiledOut => 1,
            Rule::DoNotTrack => 2,
            Rule::AppDisable(_) => 3,
            Rule::Policy | Rule::PolicyUnreadable(_) => 4,
            Rule::AppEnabled(_) | Rule::AppEnabledInvalid(_) => 5,
            Rule::Ci(_) => 6,
            Rule::Project | Rule::ProjectUnreadable(_) | Rule::CurrentDirUnknown => 7,
            Rule::User(_) | Rule::OutdatedYes { .. } | Rule::StateUnreadable(_) | Rule::Reset => 8,
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
            Rule::PolicyUnreadable(_) => "policy_file_error",
            Rule::AppEnabled(_) => "app_telemetry_enabled",
            Rule::AppEnabledInvalid(_) => "app_telemetry_enabled_error",
            Rule::Ci(_) => "ci",
            Rule::Project => "project_file",
            Rule::ProjectUnreadable(_) => "project_file_error",
            Rule::CurrentDirUnknown => "current_dir_error",
            Rule::User(_) => "user_decision",
            Rule::OutdatedYes { .. } => "user_decision_outdated",
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
            Rule::PolicyUnreadable(_)
                | Rule::AppEnabledInvalid(_)
                | Rule::ProjectUnreadable(_)
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
            Rule::PolicyUnreadable(problem) => {
                write!(f, "the system policy file could not be read: {problem}")
            }
            Rule::AppEnabledInvalid(var) => {
                write!(f, "{var} has a value other than 1/true/yes or 0/false/no")
            }
            Rule::Ci(row) => write_ci(f, row),
            Rule::Project => write!(f, "the project file {PROJECT_FILE}"),
            Rule::ProjectUnreadable(problem) => {
                write!(
                    f,
                    "the project file {PROJECT_FILE} could not be read: {problem}"
                )
            }
            Rule::CurrentDirUnknown => f.write_str("the current directory could not be read"),
            Rule::User(Some(date)) => write!(f, "your decision (on {date})"),
            Rule::User(None) => f.write_str("your decision"),
            Rule::OutdatedYes { agreed, current } => write!(
                f,
                "your yes was for consent version {agreed}; the app now collects more \
                 (version {current}), so it counts once you say yes again"
            ),
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
        CiMatch::Contains(text) => write!(f, " ({} containing {text})", row.variable),
    }
}

impl Decision {
    pub(crate) fn off(rule: Rule) -> Decision {
        Decision {
            enabled: false,
            rule,
        }
    }
}

/// What the variable of a [`CiVariable`] must look like. New kinds of rows may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CiMatch {
    /// Set to a true-ish value (not empty, `0`, `false`, `no`).
    Set,
    /// Equal to this value, ignoring case.
    Equals(&'static str),
    /// Set, while this other variable is not.
    Without(&'static str),
    /// Set, and this other variable set too.
    With(&'static str),
    /// Set to a value containing this text.
    Contains(&'static str),
}

/// One row of the CI table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CiVariable {
    /// The service, for people (`"GitHub Actions"`).
    pub service: &'static str,
    /// The variable it sets (`"GITHUB_ACTIONS"`), shown in `Decided by:`.
    pub variable: &'static str,
    /// How the variable must look.
    pub matches: CiMatch,
}

impl CiVariable {
    /// Whether `env` shows this environment.
    pub fn is_detected(&self, env: &Env) -> bool {
        let value = env.get(self.variable);
        match self.matches {
            CiMatch::Set => env::truthy(value.as_deref()),
            CiMatch::Equals(expected) => {
                value.is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
            }
            CiMatch::Without(other) => {
                env::truthy(value.as_deref()) && env.get(other).is_none_or(|v| v.is_empty())
            }
            CiMatch::With(other) => {
                env::truthy(value.as_deref()) && env.get(other).is_some_and(|v| !v.is_empty())
            }
            CiMatch::Contains(text) => value.is_some_and(|v| v.contains(text)),
        }
    }

    /// A minimal environment in which this row is detected (for tests and docs).
    pub fn example_env(&self) -> Env {
        let value = match self.matches {
            CiMatch::Equals(v) | CiMatch::Contains(v) => v,
            _ => "true",
        };
        let env = Env::empty().with(self.variable, value);
        match self.matches {
            CiMatch::With(other) => env.with(other, "1"),
            _ => env,
        }
    }
}
