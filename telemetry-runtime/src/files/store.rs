//! The files of docs/consent.md, "What was sent, and the files it keeps":
//! `telemetry_state.toml` (the user's decision) and `telemetry_audit.log` (one line per change
//! of consent).
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
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::base::calendar::Date;
use crate::base::paths::{AUDIT_FILE, STATE_FILE};
use crate::files::lock::Lock;
use crate::files::private;
use crate::files::read::{self, ReadError, SMALL_FILE};

/// The most of the audit log `audit_lines` reads (one short line per change of consent).
const AUDIT_MAX: u64 = 1024 * 1024;
use crate::files::state::{How, State, StateError};

/// The prefix of the names corrupt state files are kept under.
const CORRUPT_PREFIX: &str = "telemetry_state.toml.corrupt-";

/// The state file and audit log of one config dir.
///
/// ```
/// use telemetry::config::Date;
/// use telemetry::consent::{How, StateStore};
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
    ///
    /// A state file that is not a regular file (a FIFO, a symlink) or that is too large to be
    /// ours counts as corrupt: it is never read, and resolving sets it aside.
    pub fn read(&self) -> Result<State, StateError> {
        let corrupt = StateError::Corrupt { kept_as: None };
        match read::read(&self.state_path(), SMALL_FILE) {
            Ok(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(State::from_file_text)
                .ok_or(corrupt),
            Err(ReadError::Missing) => Ok(State::default()),
            Err(ReadError::Problem(_)) => Err(corrupt),
            Err(ReadError::Io(kind)) => Err(StateError::Io(kind)),
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
        names.sort_unstable_by_key(|n| {
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
        private::create_dir(&self.dir)?;
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
            if old.enabled != new.enabled || old.consent_version != new.consent_version {
                // Audit first; if the state cannot then be replaced, take the line back, so
                // a failure leaves neither file changed.
                let line = format!(
                    "{today} {} -> {} ({how})\n",
                    old.decision_text(),
                    new.decision_text()
                );
                let audit = self.audit_path();
                let before = private::append(&audit, line.as_bytes())?;
                if let Err(e) = self.write(&new) {
                    let _ = private::truncate(&audit, before);
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
        match read::read(&self.audit_path(), AUDIT_MAX) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_owned)
                .collect()),
            Err(ReadError::Missing) => Ok(Vec::new()),
            Err(ReadError::Io(kind)) => Err(kind.into()),
            Err(ReadError::Problem(problem)) => Err(io::Error::other(problem.to_string())),
        }
    }

    /// Writes `state` atomically over the state file.
    fn write(&self, state: &State) -> Result<(), StateError> {
        let text = state.to_file_text();
        let mut bytes = b"# Telemetry consent of this user. See `telemetry status`.\n".to_vec();
        bytes.extend_from_slice(text.as_bytes());
        Ok(private::replace(&self.state_path(), &bytes)?)
    }

    /// Moves the state file to a free `…corrupt-DATE[-N]` name; returns that name.
    ///
    /// The move takes the new name only if it is free, in one step (see
    /// [`private::rename_no_replace`]), so processes setting aside at once can never overwrite
    /// one another's kept copy: whatever each one moves is kept under a name of its own.
    fn set_aside(&self, today: Date) -> Result<String, StateError> {
        let state = self.state_path();
        for n in 1..1000 {
            let name = if n == 1 {
                format!("{CORRUPT_PREFIX}{today}")
            } else {
                format!("{CORRUPT_PREFIX}{today}-{n}")
            };
            match private::rename_no_replace(&state, &self.dir.join(&name)) {
                Ok(()) => return Ok(name),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StateError::Io(io::ErrorKind::AlreadyExists))
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
