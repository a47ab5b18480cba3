//! The files of SPEC §5: `telemetry_state.toml` (the user's decision) and
//! `telemetry_audit.log` (one line per change of consent).
//!
//! # Several writers at once
//!
//! Every change is a read-modify-write done while holding the operating system's lock on
//! `telemetry_state.lock` ([`File::try_lock`]: `flock` on unix, `LockFileEx` on Windows).
//! The OS releases that lock when its holder exits or crashes, so a crash never blocks later
//! commands, and the lock file itself is never deleted (deleting it by path could remove a
//! file another process holds). Under the lock the current file is read afresh, changed,
//! written to a temporary file in the same directory (mode 0600), synced, and renamed over
//! the old one, so a reader never sees half a file. The audit line is appended under the same
//! lock *before* the state is replaced, and taken back if replacing fails, so the log and the
//! state always agree. A writer that cannot get the lock within [`LOCK_TIMEOUT`] gives up
//! with an error instead of blocking the host.
//!
//! # A corrupt file
//!
//! A state file that does not parse (including an `installation_id` that is not a UUID) is
//! renamed aside (`telemetry_state.toml.corrupt-YYYY-MM-DD`, then `-2`, `-3`, …), never
//! overwritten, and consent decides off until a new decision is recorded (`enable`,
//! `disable`, or the prompt). Reading never waits for the lock: if another process holds it,
//! the corrupt file is left for later and consent decides off ("busy") for this run.
//! `reset` deletes the kept copies too: they may hold the old installation id.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::paths::{AUDIT_FILE, LOCK_FILE, STATE_FILE};

/// How long a writer waits for the lock before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// The prefix of the names corrupt state files are kept under.
const CORRUPT_PREFIX: &str = "telemetry_state.toml.corrupt-";

/// The contents of `telemetry_state.toml`. Dates only, never times.
///
/// ```
/// let state: telemetry_runtime::State = toml::from_str("enabled = true\nprompted = true").unwrap();
/// assert_eq!(state.enabled, Some(true));
/// assert_eq!(state.installation_id, None);
/// // An installation id must be a UUID: anything else makes the file corrupt.
/// assert!(toml::from_str::<telemetry_runtime::State>("installation_id = \"me\"").is_err());
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
    /// Random UUID v4, created only once the user consented. Parsed as a UUID, so a
    /// hand-edited value can never be shown or sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<uuid::Uuid>,
    /// When a batch was last sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sent: Option<Date>,
}

impl State {
    /// Records a decision made today; consenting creates the installation id if there is none.
    /// Fails (changing nothing) only if the OS random source fails while creating the id.
    pub fn decide(&mut self, enabled: bool, today: Date) -> Result<(), StateError> {
        if enabled && self.installation_id.is_none() {
            self.installation_id = Some(random_uuid().ok_or(StateError::NoRandomness)?);
        }
        if self.enabled != Some(enabled) {
            self.decision_date = Some(today);
        }
        self.enabled = Some(enabled);
        Ok(())
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

/// A random UUID v4 from the OS random source; `None` if that fails (never a panic, unlike
/// `Uuid::new_v4`).
pub(crate) fn random_uuid() -> Option<uuid::Uuid> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(uuid::Builder::from_random_bytes(bytes).into_uuid())
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
    /// Another process holds the lock: for longer than [`LOCK_TIMEOUT`] (writers), or at all
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

/// The state file and audit log of one config dir.
///
/// ```
/// use telemetry_runtime::{Date, How, StateStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = StateStore::new(dir.path());
/// let today = Date::new(2030, 1, 2).unwrap();
/// let (old, new) = store.update(today, How::Api, |s| s.decide(true, today)).unwrap();
/// assert_eq!((old.enabled, new.enabled), (None, Some(true)));
/// assert!(store.audit_lines().unwrap()[0].ends_with("unset -> enabled (api)"));
/// ```
#[derive(Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl fmt::Debug for StateStore {
    // Never print the path: it usually holds the user's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &format_args!("<redacted>"))
            .finish()
    }
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

    /// Like [`read`](Self::read), but a corrupt file is renamed aside and reported as
    /// `Corrupt { kept_as: Some(name) }`. Never waits and creates no file but the renamed
    /// one: if another process holds the lock, the file is left alone and the answer is
    /// [`StateError::Locked`]. While a kept copy exists and the state holds no decision, the
    /// answer stays `Corrupt` (naming the newest copy): the user's last word is unknown.
    pub fn read_or_set_aside(&self, today: Date) -> Result<State, StateError> {
        match self.read() {
            Err(StateError::Corrupt { .. }) => {
                // Hold the lock if the lock file exists; without one no writer is active.
                let _lock = Lock::try_existing(&self.dir)?;
                // Another writer may have replaced it meanwhile.
                match self.read() {
                    Err(StateError::Corrupt { .. }) => Err(StateError::Corrupt {
                        kept_as: self.set_aside(today).ok(),
                    }),
                    other => self.unless_corrupt_kept(other),
                }
            }
            other => self.unless_corrupt_kept(other),
        }
    }

    /// `Corrupt` if `read` found no decision while a kept corrupt copy exists.
    fn unless_corrupt_kept(&self, read: Result<State, StateError>) -> Result<State, StateError> {
        match read {
            Ok(state) if state.enabled.is_none() => match self.corrupt_copies().pop() {
                Some(name) => Err(StateError::Corrupt {
                    kept_as: Some(name),
                }),
                None => Ok(state),
            },
            other => other,
        }
    }

    /// The names of the corrupt state files kept aside, oldest first.
    pub fn corrupt_copies(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(CORRUPT_PREFIX))
            .collect();
        // `…-DATE` < `…-DATE-2` < … < `…-DATE-10` in time: order by date, then number.
        names.sort_by_key(|n| {
            let rest = &n[CORRUPT_PREFIX.len()..];
            let (date, num) = match rest.get(10..) {
                Some(tail) if tail.starts_with('-') => {
                    (&rest[..10], tail[1..].parse().unwrap_or(0))
                }
                _ => (rest, 1u32),
            };
            (date.to_owned(), num)
        });
        names
    }

    /// Deletes the kept corrupt copies (they may hold an old installation id); for `reset`.
    pub(crate) fn delete_corrupt_copies(&self) {
        for name in self.corrupt_copies() {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }

    /// Changes the state with `change`, atomically and under the lock, creating the config
    /// dir if needed; appends one audit line if the decision changed. Returns the state
    /// before and after. If `change` fails, nothing is written and its error is returned.
    pub fn update(
        &self,
        today: Date,
        how: How,
        change: impl FnOnce(&mut State) -> Result<(), StateError>,
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
        change(&mut new)?;
        if new != old {
            if old.enabled != new.enabled {
                // Audit first; if the state cannot then be replaced, take the line back, so
                // a failure leaves neither file changed.
                let line = format!(
                    "{today} {} -> {} ({how})\n",
                    old.decision_word(),
                    new.decision_word()
                );
                let audit = self.audit_path();
                let before = append_private(&audit, line.as_bytes())?;
                if let Err(e) = self.write(&new) {
                    let _ = truncate(&audit, before);
                    return Err(e);
                }
            } else {
                self.write(&new)?;
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
                format!("{CORRUPT_PREFIX}{today}")
            } else {
                format!("{CORRUPT_PREFIX}{today}-{n}")
            };
            let target = self.dir.join(&name);
            // Writers pick names under the lock; a reader that found no lock file races only
            // with another reader, and the loser's rename fails (its source is gone).
            if fs::symlink_metadata(&target).is_err() {
                fs::rename(self.state_path(), target)?;
                return Ok(name);
            }
        }
        Err(StateError::Io(io::ErrorKind::AlreadyExists))
    }
}

/// The OS lock on `telemetry_state.lock`, held until dropped (or the process dies). The
/// file stays: it is never deleted, so nobody can remove a lock someone else holds.
struct Lock {
    _file: File,
}

impl Lock {
    /// Waits up to [`LOCK_TIMEOUT`] for the lock, creating the lock file if needed.
    fn acquire(dir: &Path) -> Result<Lock, StateError> {
        let file = open_private(&dir.join(LOCK_FILE), true)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(TryLockError::WouldBlock) if start.elapsed() < LOCK_TIMEOUT => {
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => return Err(StateError::Locked),
                Err(TryLockError::Error(e)) => return Err(e.into()),
            }
        }
    }

    /// Tries the lock once, without creating the lock file: `None` if there is no lock file
    /// (then no writer is active), `Err(Locked)` if another process holds it.
    fn try_existing(dir: &Path) -> Result<Option<Lock>, StateError> {
        let file = match open_private(&dir.join(LOCK_FILE), false) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(Lock { _file: file })),
            Err(TryLockError::WouldBlock) => Err(StateError::Locked),
            Err(TryLockError::Error(e)) => Err(e.into()),
        }
    }
}

/// Opens `path` for writing (creating it if `create`), readable and writable by the user
/// alone; never truncates.
fn open_private(path: &Path, create: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(create);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Creates `path` exclusively, readable and writable by the user alone.
fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Appends to `path`, creating it readable and writable by the user alone; returns the
/// length it had before.
fn append_private(path: &Path, bytes: &[u8]) -> io::Result<u64> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let before = file.metadata()?.len();
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_data()) {
        let _ = file.set_len(before);
        return Err(e);
    }
    Ok(before)
}

/// Cuts `path` back to `len` bytes.
fn truncate(path: &Path, len: u64) -> io::Result<()> {
    OpenOptions::new().write(true).open(path)?.set_len(len)
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
                s.decide(true, today())
            })
            .unwrap();
        assert_eq!(store.read().unwrap(), new);
        let text = fs::read_to_string(store.state_path()).unwrap();
        assert!(text.contains("prompt_date = \"2030-04-05\""), "{text}");
        // Dates only: no value holds a time (the header comment is not a value).
        let values: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(values.len(), 6, "{text}");
        assert!(values.iter().all(|l| !l.contains(':')), "no times: {text}");
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
        state.decide(false, today()).unwrap();
        assert_eq!(state.installation_id, None);
        state.decide(true, today()).unwrap();
        let id = state.installation_id.unwrap();
        assert_eq!(id.get_version_num(), 4);
        state.decide(false, today()).unwrap();
        state.decide(true, today()).unwrap();
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
            .update(today(), How::Cli, |s| {
                s.prompted = true;
                Ok(())
            })
            .unwrap();
        store
            .update(today(), How::Reset, |s| {
                *s = State::default();
                Ok(())
            })
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
            .filter(|n| n.contains(".tmp."))
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

    #[test]
    fn a_lock_file_left_by_a_crash_blocks_nobody_and_is_never_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        // What a crashed holder leaves: the file, but no OS lock (the OS released it).
        fs::write(dir.path().join(LOCK_FILE), "").unwrap();
        let start = Instant::now();
        store
            .update(today(), How::Cli, |s| s.decide(true, today()))
            .unwrap();
        assert!(start.elapsed() < Duration::from_secs(1), "no waiting");
        assert!(dir.path().join(LOCK_FILE).exists(), "never deleted by path");
        // Released when the holder goes away.
        drop(Lock::acquire(dir.path()).unwrap());
        let _again = Lock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn reading_never_waits_for_the_lock_nor_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        fs::write(store.state_path(), "garbage {{{").unwrap();
        let held = Lock::acquire(dir.path()).unwrap();
        let start = Instant::now();
        assert!(matches!(
            store.read_or_set_aside(today()),
            Err(StateError::Locked)
        ));
        assert!(start.elapsed() < Duration::from_secs(1), "no waiting");
        assert!(store.state_path().exists(), "left for later");
        drop(held);
        fs::remove_file(dir.path().join(LOCK_FILE)).unwrap();
        assert!(store.read_or_set_aside(today()).is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["telemetry_state.toml.corrupt-2030-04-05"]);
    }

    #[test]
    fn a_kept_corrupt_copy_decides_until_a_new_decision() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        fs::write(store.state_path(), "garbage {{{").unwrap();
        let first = store.read_or_set_aside(today()).unwrap_err().to_string();
        // The next run finds no state file, but still the kept copy.
        let next = store.read_or_set_aside(today()).unwrap_err().to_string();
        assert_eq!(first, next);
        store
            .update(today(), How::Cli, |s| {
                s.prompted = true;
                Ok(())
            })
            .unwrap();
        assert!(store.read_or_set_aside(today()).is_err(), "no decision yet");
        store
            .update(today(), How::Cli, |s| s.decide(false, today()))
            .unwrap();
        assert_eq!(
            store.read_or_set_aside(today()).unwrap().enabled,
            Some(false)
        );
        store.delete_corrupt_copies();
        assert!(store.corrupt_copies().is_empty());
    }

    #[test]
    fn corrupt_copies_are_ordered_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        for name in ["2030-04-05-10", "2030-04-05-2", "2030-04-06", "2030-04-05"] {
            fs::write(dir.path().join(format!("{CORRUPT_PREFIX}{name}")), "").unwrap();
        }
        let names: Vec<_> = store
            .corrupt_copies()
            .into_iter()
            .map(|n| n[CORRUPT_PREFIX.len()..].to_owned())
            .collect();
        assert_eq!(
            names,
            ["2030-04-05", "2030-04-05-2", "2030-04-05-10", "2030-04-06"]
        );
    }

    #[test]
    fn a_bad_installation_id_makes_the_file_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        fs::write(
            store.state_path(),
            "enabled = true\ninstallation_id = \"Jane Doe's laptop\"\n",
        )
        .unwrap();
        assert!(matches!(store.read(), Err(StateError::Corrupt { .. })));
        let id = "0b6c1a52-3b8e-4b8a-9c39-3f1f0f4e2a77";
        fs::write(store.state_path(), format!("installation_id = \"{id}\"\n")).unwrap();
        assert_eq!(
            store.read().unwrap().installation_id.unwrap().to_string(),
            id
        );
    }

    #[test]
    fn reset_without_a_change_of_consent_writes_no_audit_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        store
            .update(today(), How::Prompt, |s| {
                s.prompted = true;
                Ok(())
            })
            .unwrap();
        store
            .update(today(), How::Reset, |s| {
                *s = State::default();
                Ok(())
            })
            .unwrap();
        assert!(store.audit_lines().unwrap().is_empty());
    }

    #[test]
    fn a_failed_audit_line_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        fs::create_dir(store.audit_path()).unwrap(); // cannot be appended to
        let err = store.update(today(), How::Cli, |s| s.decide(true, today()));
        assert!(matches!(err, Err(StateError::Io(_))), "{err:?}");
        assert!(
            !store.state_path().exists(),
            "the decision is not half made"
        );
    }

    #[test]
    fn a_failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let err = store.update(today(), How::Cli, |s| {
            s.prompted = true;
            Err(StateError::NoRandomness)
        });
        assert!(matches!(err, Err(StateError::NoRandomness)));
        assert!(!store.state_path().exists());
    }

    #[test]
    fn debug_never_shows_the_path() {
        let store = StateStore::new("/home/jane.doe/.config/acme");
        let text = format!("{store:?}");
        assert!(!text.contains("jane"), "{text}");
    }
}
