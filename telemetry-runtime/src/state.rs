//! The files of SPEC §5: `telemetry_state.toml` (the user's decision) and
//! `telemetry_audit.log` (one line per change of consent).
//!
//! # Several writers at once
//!
//! Every change is a read-modify-write done while holding a lock file
//! (`telemetry_state.lock`, created with `create_new`, so exactly one process or thread holds
//! it). Under the lock the current file is read afresh, changed, written to a temporary file
//! in the same directory (mode 0600), synced, and renamed over the old one, so a reader never
//! sees half a file, and the audit line is appended under the same lock, so the log and the
//! state always agree. A writer that cannot get the lock within [`LOCK_TIMEOUT`] gives up
//! with an error instead of blocking the host. A lock left by a crashed process is broken
//! once it is older than [`STALE_LOCK`] (every holder keeps it for milliseconds).
//!
//! # A corrupt file
//!
//! A state file that does not parse is renamed aside
//! (`telemetry_state.toml.corrupt-YYYY-MM-DD`, then `-2`, `-3`, …), never overwritten, and
//! consent decides off for that run.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::paths::{AUDIT_FILE, LOCK_FILE, STATE_FILE};

/// How long a writer waits for the lock before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// How old a lock file must be to be taken for the leftover of a crashed process.
pub const STALE_LOCK: Duration = Duration::from_secs(30);

/// The contents of `telemetry_state.toml`. Dates only, never times.
///
/// ```
/// let state: telemetry_runtime::State = toml::from_str("enabled = true\nprompted = true").unwrap();
/// assert_eq!(state.enabled, Some(true));
/// assert_eq!(state.installation_id, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The user's decision, absent if none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether the first-run prompt was shown in this environment.
    pub prompted: bool,
    /// When the prompt was shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_date: Option<Date>,
    /// When the decision was last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_date: Option<Date>,
    /// Random UUID v4, created only once the user consented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<String>,
    /// When a batch was last sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sent: Option<Date>,
}

impl State {
    /// Records a decision made today; consenting creates the installation id if there is none.
    pub fn decide(&mut self, enabled: bool, today: Date) {
        if self.enabled != Some(enabled) {
            self.decision_date = Some(today);
        }
        self.enabled = Some(enabled);
        if enabled && self.installation_id.is_none() {
            self.installation_id = Some(uuid::Uuid::new_v4().to_string());
        }
    }

    /// `enabled`, `disabled` or `unset`, as in the audit log.
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
    /// or left in place if even that failed.
    Corrupt {
        /// The name it was renamed to.
        kept_as: Option<String>,
    },
    /// Another writer held the lock for longer than [`LOCK_TIMEOUT`].
    Locked,
    /// No config dir could be determined (no home directory in the environment).
    NoConfigDir,
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
            StateError::Locked => f.write_str("the state file is locked by another process"),
            StateError::NoConfigDir => f.write_str("no config directory could be determined"),
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

/// The state file and audit log of one config dir.
///
/// ```
/// use telemetry_runtime::{Date, How, StateStore};
///
/// let dir = std::env::temp_dir().join(format!("telemetry-doc-{}", std::process::id()));
/// let store = StateStore::new(&dir);
/// let today = Date::new(2030, 1, 2).unwrap();
/// let (old, new) = store.update(today, How::Api, |s| s.decide(true, today)).unwrap();
/// assert_eq!((old.enabled, new.enabled), (None, Some(true)));
/// assert!(store.audit_lines().unwrap()[0].ends_with("unset -> enabled (api)"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// The files in `dir` (nothing is created until the first [`update`](Self::update)).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateStore { dir: dir.into() }
    }

    /// The config dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `telemetry_state.toml`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// `telemetry_audit.log`.
    pub fn audit_path(&self) -> PathBuf {
        self.dir.join(AUDIT_FILE)
    }

    /// The state, without changing anything: a missing file is the default state, a corrupt
    /// one an error (left where it is).
    pub fn read(&self) -> Result<State, StateError> {
        match fs::read_to_string(self.state_path()) {
            Ok(text) => toml::from_str(&text).map_err(|_| StateError::Corrupt { kept_as: None }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Err(StateError::Corrupt { kept_as: None })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Like [`read`](Self::read), but a corrupt file is renamed aside (under the lock) and
    /// reported as `Corrupt { kept_as: Some(name) }`.
    pub fn read_or_set_aside(&self, today: Date) -> Result<State, StateError> {
        match self.read() {
            Err(StateError::Corrupt { .. }) => {
                let _lock = Lock::acquire(&self.dir)?;
                // Another writer may have replaced it meanwhile.
                match self.read() {
                    Err(StateError::Corrupt { .. }) => Err(StateError::Corrupt {
                        kept_as: self.set_aside(today).ok(),
                    }),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Changes the state with `change`, atomically and under the lock, creating the config
    /// dir if needed; appends one audit line if the decision changed (or, for `reset`,
    /// anything changed). Returns the state before and after.
    pub fn update(
        &self,
        today: Date,
        how: How,
        change: impl FnOnce(&mut State),
    ) -> Result<(State, State), StateError> {
        create_private_dir(&self.dir)?;
        let _lock = Lock::acquire(&self.dir)?;
        let old = match self.read() {
            Ok(state) => state,
            Err(StateError::Corrupt { .. }) => {
                self.set_aside(today)?;
                State::default()
            }
            Err(e) => return Err(e),
        };
        let mut new = old.clone();
        change(&mut new);
        if new != old {
            self.write(&new)?;
            if old.enabled != new.enabled || how == How::Reset {
                let line = format!(
                    "{today} {} -> {} ({how})\n",
                    old.decision_word(),
                    new.decision_word()
                );
                append_private(&self.audit_path(), line.as_bytes())?;
            }
        }
        Ok((old, new))
    }

    /// The lines of the audit log (none if it does not exist).
    pub fn audit_lines(&self) -> io::Result<Vec<String>> {
        match fs::read_to_string(self.audit_path()) {
            Ok(text) => Ok(text.lines().map(str::to_owned).collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Writes `state` to a temporary file and renames it over the state file.
    fn write(&self, state: &State) -> Result<(), StateError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let text =
            toml::to_string(state).map_err(|_| StateError::Io(io::ErrorKind::InvalidData))?;
        let tmp = self.dir.join(format!(
            "{STATE_FILE}.tmp.{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = create_private_file(&tmp)?;
            file.write_all(b"# Telemetry consent of this user. See `telemetry status`.\n")?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, self.state_path())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        Ok(result?)
    }

    /// Renames the state file to a free `…corrupt-DATE[-N]` name; returns that name.
    fn set_aside(&self, today: Date) -> Result<String, StateError> {
        for n in 1..1000 {
            let name = if n == 1 {
                format!("{STATE_FILE}.corrupt-{today}")
            } else {
                format!("{STATE_FILE}.corrupt-{today}-{n}")
            };
            let target = self.dir.join(&name);
            // Under the lock no other writer picks names, so check-then-rename is safe.
            if fs::symlink_metadata(&target).is_err() {
                fs::rename(self.state_path(), target)?;
                return Ok(name);
            }
        }
        Err(StateError::Io(io::ErrorKind::AlreadyExists))
    }
}

/// Holds `telemetry_state.lock` until dropped.
struct Lock {
    path: PathBuf,
}

impl Lock {
    fn acquire(dir: &Path) -> Result<Lock, StateError> {
        let path = dir.join(LOCK_FILE);
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match create_private_file(&path) {
                Ok(_) => return Ok(Lock { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .is_some_and(|age| age > STALE_LOCK);
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if start.elapsed() > LOCK_TIMEOUT {
                        return Err(StateError::Locked);
                    }
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                // The directory vanished or is read-only: report, never spin.
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Creates `path` exclusively, readable and writable by the user alone.
fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Appends to `path`, creating it readable and writable by the user alone.
fn append_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

/// Creates `dir` and its parents; the last one private to the user (0700) on unix.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn today() -> Date {
        Date::new(2030, 4, 5).unwrap()
    }

    #[test]
    fn missing_file_is_the_default_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("conf"));
        assert_eq!(store.read().unwrap(), State::default());
        assert!(!dir.path().join("conf").exists(), "reading creates nothing");
    }

    #[test]
    fn round_trips_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let (_, new) = store
            .update(today(), How::Prompt, |s| {
                s.prompted = true;
                s.prompt_date = Some(today());
                s.last_sent = Some(today());
                s.decide(true, today());
            })
            .unwrap();
        assert_eq!(store.read().unwrap(), new);
        let text = fs::read_to_string(store.state_path()).unwrap();
        assert!(text.contains("prompt_date = \"2030-04-05\""), "{text}");
        assert!(
            !text.contains(':') || text.contains('#'),
            "no times: {text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("conf"));
        store
            .update(today(), How::Cli, |s| s.decide(true, today()))
            .unwrap();
        let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.state_path()), 0o600);
        assert_eq!(mode(store.audit_path()), 0o600);
        assert_eq!(mode(store.dir().to_owned()), 0o700);
    }

    #[test]
    fn installation_id_only_once_consented() {
        let mut state = State::default();
        state.decide(false, today());
        assert_eq!(state.installation_id, None);
        state.decide(true, today());
        let id = state.installation_id.clone().unwrap();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
        state.decide(false, today());
        state.decide(true, today());
        assert_eq!(state.installation_id, Some(id), "kept across decisions");
    }

    #[test]
    fn one_audit_line_per_change_of_consent() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        store
            .update(today(), How::Cli, |s| s.decide(true, today()))
            .unwrap();
        store
            .update(today(), How::Cli, |s| s.decide(true, today()))
            .unwrap();
        store
            .update(today(), How::Api, |s| s.decide(false, today()))
            .unwrap();
        store
            .update(today(), How::Cli, |s| s.prompted = true)
            .unwrap();
        store
            .update(today(), How::Reset, |s| *s = State::default())
            .unwrap();
        assert_eq!(
            store.audit_lines().unwrap(),
            [
                "2030-04-05 unset -> enabled (cli)",
                "2030-04-05 enabled -> disabled (api)",
                "2030-04-05 disabled -> unset (reset)",
            ]
        );
    }

    #[test]
    fn corrupt_file_is_set_aside_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        fs::write(store.state_path(), "garbage {{{").unwrap();
        assert!(matches!(
            store.read(),
            Err(StateError::Corrupt { kept_as: None })
        ));
        assert!(store.state_path().exists(), "read alone changes nothing");
        let err = store.read_or_set_aside(today()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the state file could not be read (kept as telemetry_state.toml.corrupt-2030-04-05)"
        );
        let kept = dir.path().join("telemetry_state.toml.corrupt-2030-04-05");
        assert_eq!(fs::read_to_string(&kept).unwrap(), "garbage {{{");
        // A second corrupt file gets its own name.
        fs::write(store.state_path(), "enabled = 'perhaps'").unwrap();
        store
            .update(today(), How::Cli, |s| s.decide(false, today()))
            .unwrap();
        let kept2 = dir.path().join("telemetry_state.toml.corrupt-2030-04-05-2");
        assert_eq!(fs::read_to_string(kept2).unwrap(), "enabled = 'perhaps'");
        assert_eq!(fs::read_to_string(kept).unwrap(), "garbage {{{");
        assert_eq!(store.read().unwrap().enabled, Some(false));
    }

    #[test]
    fn concurrent_toggles_never_lose_or_tear_anything() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(StateStore::new(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = Arc::clone(&store);
                thread::spawn(move || {
                    for i in 0..25 {
                        let on = (t + i) % 2 == 0;
                        store
                            .update(today(), How::Api, |s| s.decide(on, today()))
                            .unwrap();
                        store.read().expect("never a torn file");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_audit_chain_matches(&store);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp.") || n.ends_with(".lock"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    /// Every audit line starts where the previous one ended, and the last ends in the state.
    pub(crate) fn assert_audit_chain_matches(store: &StateStore) {
        let lines = store.audit_lines().unwrap();
        let mut current = "unset".to_owned();
        for line in &lines {
            let words: Vec<_> = line.split(' ').collect();
            assert_eq!(words[1], current, "{lines:#?}");
            assert_eq!(words[2], "->");
            assert_ne!(words[1], words[3], "a line without a change: {line}");
            current = words[3].to_owned();
        }
        assert_eq!(store.read().unwrap().decision_word(), current);
    }

    #[test]
    fn lock_timeout_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let _held = Lock::acquire(dir.path()).unwrap();
        let start = Instant::now();
        let err = store.update(today(), How::Cli, |s| s.decide(true, today()));
        assert!(matches!(err, Err(StateError::Locked)));
        assert!(start.elapsed() < LOCK_TIMEOUT + Duration::from_secs(2));
    }
}
