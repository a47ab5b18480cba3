//! The contents of `telemetry_state.toml`, who changed it, and what can go wrong.

use std::fmt;
use std::io;

use crate::base::calendar::Date;
use crate::base::paths::ConfigDirError;
use crate::base::random;
use crate::decision::Identity;
use crate::files::keys::{self, Value};

/// The contents of `telemetry_state.toml`. Dates only, never times.
///
/// ```
/// use telemetry::consent::State;
///
/// let state = State::from_file_text("enabled = true\nprompted = true").unwrap();
/// assert_eq!(state.enabled, Some(true));
/// assert_eq!(state.installation_id, None);
/// // An installation id must be a UUID: anything else makes the file corrupt.
/// assert!(State::from_file_text("installation_id = \"me\"").is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// The user's decision, absent if none.
    pub enabled: Option<bool>,
    /// Whether the first-run prompt was shown in this environment.
    pub prompted: bool,
    /// When the prompt was shown.
    pub prompt_date: Option<Date>,
    /// When the decision was last changed.
    pub decision_date: Option<Date>,
    /// Random UUID v4, created only once the user consented. Parsed as a UUID, so a
    /// hand-edited value can never be shown or sent.
    pub installation_id: Option<uuid::Uuid>,
    /// When a batch was last sent.
    pub last_sent: Option<Date>,
    /// The consent version a "yes" was given for, when above 1 (absent: version 1, or no
    /// "yes"). A host raises its version when it starts collecting something new; a "yes"
    /// for a lower one no longer counts.
    pub consent_version: Option<u32>,
    /// When an HTTP proxy last refused to open a tunnel to the endpoint (`407`, `403` to
    /// `CONNECT`), and its status: until a batch is delivered again, `status` says so.
    pub proxy_refused: Option<(Date, u16)>,
}

impl State {
    /// The state a file's text holds (`key = value` lines, `files/keys.rs`); `None` if it
    /// is not one: a value of the wrong type, a date or UUID that does not parse, a key
    /// twice. Keys it does not know are skipped, so a newer version's file still reads.
    pub fn from_file_text(text: &str) -> Option<State> {
        let mut state = State::default();
        for (key, value) in keys::parse(text).ok()? {
            let date = |v: &Value| match v {
                Value::Str(s) => s.parse::<Date>().ok(),
                _ => None,
            };
            match (key.as_str(), &value) {
                ("enabled", Value::Bool(b)) => state.enabled = Some(*b),
                ("prompted", Value::Bool(b)) => state.prompted = *b,
                ("prompt_date", v) => state.prompt_date = Some(date(v)?),
                ("decision_date", v) => state.decision_date = Some(date(v)?),
                ("last_sent", v) => state.last_sent = Some(date(v)?),
                ("installation_id", Value::Str(s)) => {
                    state.installation_id = Some(uuid::Uuid::parse_str(s).ok()?);
                }
                ("consent_version", Value::Int(n)) => {
                    state.consent_version = Some(u32::try_from(*n).ok()?);
                }
                // `2026-12-04 407`; one that does not read is dropped, not a corrupt file:
                // it only ever informs `status`.
                ("proxy_refused", Value::Str(s)) => {
                    state.proxy_refused = s.split_once(' ').and_then(|(d, n)| {
                        Some((
                            d.parse().ok()?,
                            n.parse().ok().filter(|n| (100..=999).contains(n))?,
                        ))
                    });
                }
                ("enabled" | "prompted" | "installation_id" | "consent_version", _) => {
                    return None;
                }
                _ => {}
            }
        }
        Some(state)
    }

    /// The file's text for this state; what is absent is left out.
    pub fn to_file_text(&self) -> String {
        let date = |d: &Option<Date>| d.map(|d| Value::Str(d.to_string()));
        let fields: [(&str, Option<Value>); 8] = [
            ("enabled", self.enabled.map(Value::Bool)),
            ("prompted", Some(Value::Bool(self.prompted))),
            ("prompt_date", date(&self.prompt_date)),
            ("decision_date", date(&self.decision_date)),
            (
                "installation_id",
                self.installation_id
                    .map(|id| Value::Str(id.hyphenated().to_string())),
            ),
            ("last_sent", date(&self.last_sent)),
            (
                "consent_version",
                self.consent_version.map(|v| Value::Int(u64::from(v))),
            ),
            (
                "proxy_refused",
                self.proxy_refused
                    .map(|(d, status)| Value::Str(format!("{d} {status}"))),
            ),
        ];
        let present: Vec<(&str, Value)> = fields
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
        keys::write(&present)
    }
}

impl State {
    /// Records a decision made today; consenting creates the installation id if there is none.
    /// Fails (changing nothing) only if the OS random source fails while creating the id.
    pub fn decide(&mut self, enabled: bool, today: Date) -> Result<(), StateError> {
        self.decide_for(enabled, today, 1)
    }

    /// [`State::decide`], for consent version `version`: a "yes" records the version it
    /// was given for; a "no" holds for every version.
    pub fn decide_for(
        &mut self,
        enabled: bool,
        today: Date,
        version: u32,
    ) -> Result<(), StateError> {
        self.decide_as(enabled, today, version, Identity::Installation)
    }

    /// [`State::decide_for`] for a host with this `identity`: with
    /// [`Identity::Anonymous`] no installation id is made, and one stored before is dropped.
    pub(crate) fn decide_as(
        &mut self,
        enabled: bool,
        today: Date,
        version: u32,
        identity: Identity,
    ) -> Result<(), StateError> {
        if identity == Identity::Anonymous {
            self.installation_id = None;
        } else if enabled && self.installation_id.is_none() {
            self.installation_id = Some(random::uuid_v4().ok_or(StateError::NoRandomness)?);
        }
        if self.enabled != Some(enabled) {
            self.decision_date = Some(today);
        }
        // A yes given again by an older release of the host keeps the higher version.
        let version = match self.enabled {
            Some(true) if enabled => version.max(self.agreed_version()),
            _ => version,
        };
        self.enabled = Some(enabled);
        self.consent_version = (enabled && version > 1).then_some(version);
        Ok(())
    }

    /// The consent version the stored "yes" was given for (1 when none was recorded).
    pub fn agreed_version(&self) -> u32 {
        self.consent_version.unwrap_or(1)
    }

    /// Whether the stored decision is a "yes" given for a version below `current`: it no
    /// longer counts, and the user is asked again.
    pub fn yes_is_outdated(&self, current: u32) -> bool {
        self.enabled == Some(true) && self.agreed_version() < current
    }

    /// The decision as the audit log writes it: `enabled`, `enabled (consent version 2)`,
    /// `disabled` or `unset`.
    pub fn decision_text(&self) -> String {
        match (self.enabled, self.agreed_version()) {
            (Some(true), v) if v > 1 => format!("enabled (consent version {v})"),
            _ => self.decision_word().to_owned(),
        }
    }

    /// `enabled`, `disabled` or `unset`.
    pub fn decision_word(&self) -> &'static str {
        match self.enabled {
            Some(true) => "enabled",
            Some(false) => "disabled",
            None => "unset",
        }
    }
}

/// Who changed consent, as written in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// A management command (`acme telemetry enable`).
    Cli,
    /// The first-run prompt.
    Prompt,
    /// The host's code.
    Api,
    /// `reset`.
    Reset,
}

impl fmt::Display for How {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            How::Cli => "cli",
            How::Prompt => "prompt",
            How::Api => "api",
            How::Reset => "reset",
        })
    }
}

/// Why the state could not be read or written. Never shows paths or contents.
#[derive(Debug)]
pub enum StateError {
    /// The file did not parse; it was renamed to `kept_as` (a file name in the config dir),
    /// or left in place if even that failed. Also reported while such a kept copy exists and
    /// no new decision was recorded since.
    Corrupt {
        /// The name it was renamed to.
        kept_as: Option<String>,
    },
    /// Another process holds the lock: for longer than [`LOCK_TIMEOUT`](crate::files::lock::LOCK_TIMEOUT) (writers), or at all
    /// (reading never waits).
    Locked,
    /// No config dir could be determined (no home directory in the environment).
    NoConfigDir,
    /// The config dir variable (named here) holds a relative path.
    RelativeConfigDir(String),
    /// The OS random source failed, so no installation id could be created.
    NoRandomness,
    /// Reading or writing failed.
    Io(io::ErrorKind),
    /// Built with the compile-time kill switch: no file is ever read or written.
    CompiledOut,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Corrupt {
                kept_as: Some(name),
            } => {
                write!(f, "the state file could not be read (kept as {name})")
            }
            StateError::Corrupt { kept_as: None } => {
                f.write_str("the state file could not be read")
            }
            StateError::Locked => f.write_str("the state file is busy (locked by another process)"),
            StateError::NoConfigDir => f.write_str("no config directory could be determined"),
            StateError::RelativeConfigDir(var) => {
                write!(f, "{var} is not an absolute path")
            }
            StateError::NoRandomness => f.write_str("the system's random number source failed"),
            StateError::Io(kind) => {
                write!(f, "the state file could not be read or written ({kind})")
            }
            StateError::CompiledOut => f.write_str("telemetry is compiled out of this build"),
        }
    }
}

impl std::error::Error for StateError {}

impl From<io::Error> for StateError {
    fn from(e: io::Error) -> Self {
        StateError::Io(e.kind())
    }
}

impl From<ConfigDirError> for StateError {
    fn from(e: ConfigDirError) -> Self {
        match e {
            ConfigDirError::NoConfigDir => StateError::NoConfigDir,
            ConfigDirError::RelativeConfigDir(var) => StateError::RelativeConfigDir(var),
        }
    }
}
