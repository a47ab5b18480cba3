//! The organisation's policy files (rule 4): the system one and the one
//! `APP_TELEMETRY_POLICY_FILE` names. Read at `init` and again before every send and every
//! retry, so a policy that appears or changes switches a running process off; a file is read
//! again only when it changed.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::base::paths::FileProblem;
use crate::config::Config;
use crate::files::keys::{self, Value};
use crate::files::read::{self, ReadError, SMALL_FILE};

/// Whether a policy file says `disabled = true`: either file decides off (the variable adds
/// a file, it never hides the system one). A missing file says nothing; an unreadable one is
/// an error, unless another file already said `disabled = true`.
pub(crate) fn disabled(config: &Config) -> Result<bool, FileProblem> {
    let mut result = Ok(false);
    for path in config.policy_files() {
        match said(&path) {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(problem) => result = Err(problem),
        }
    }
    result
}

/// What one policy file says, read now or remembered from a read of the same file.
fn said(path: &Path) -> Said {
    // How it looks before it is read: a change made while reading shows next time.
    let before = looks(path);
    if let Some(said) = before.as_ref().and_then(|now| remembered(path, now)) {
        return said;
    }
    #[cfg(test)]
    READS.lock().unwrap().push(path.to_owned());
    let read = read::read(path, SMALL_FILE);
    let said = match &read {
        Ok(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(says_disabled)
            .ok_or(FileProblem::Invalid),
        Err(ReadError::Missing) => Ok(false),
        Err(e) => Err(e.problem()),
    };
    // An error of the OS (too many open files, permissions) may pass without the file
    // changing: only what the file itself said is remembered.
    if !matches!(read, Err(ReadError::Io(_)))
        && let Some(before) = before
    {
        remember(path, before, said);
    }
    said
}

/// `disabled = true`; other keys are the organisation's own and skipped.
fn says_disabled(text: &str) -> Option<bool> {
    let pairs = keys::parse(text).ok()?;
    match pairs.iter().find(|(k, _)| k == "disabled").map(|(_, v)| v) {
        None => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => None,
    }
}

/// What a policy file said: `disabled = true` or not, or why it could not be read.
type Said = Result<bool, FileProblem>;

/// What a file looked like: its length, modified time and, where there is one, what no
/// writer can set (on Unix the device, inode and change time; elsewhere the creation time).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Looks {
    len: u64,
    modified: Option<SystemTime>,
    unforgeable: (u64, u64, i64, i64),
}

/// Every policy file read by this process, with how it looked and what it said.
static READ: Mutex<Vec<(PathBuf, Looks, Said)>> = Mutex::new(Vec::new());

/// Every read of a policy file, for the tests.
#[cfg(test)]
pub(super) static READS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn looks(path: &Path) -> Option<Looks> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    #[cfg(unix)]
    let unforgeable = {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let unforgeable = {
        let created = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
        (
            0,
            0,
            created.map_or(0, |d| d.as_secs() as i64),
            created.map_or(0, |d| i64::from(d.subsec_nanos())),
        )
    };
    Some(Looks {
        len: meta.len(),
        modified: meta.modified().ok(),
        unforgeable,
    })
}

/// What `path` said when last read, if it still looks the same.
fn remembered(path: &Path, now: &Looks) -> Option<Said> {
    let read = READ.lock().unwrap_or_else(PoisonError::into_inner);
    read.iter()
        .find(|(p, seen, _)| p == path && seen == now)
        .map(|(_, _, said)| *said)
}

/// Filesystems that keep times to the second (or two) cannot tell two writes within that
/// time apart: a file modified that recently is read again next time, as git does.
const SETTLED: Duration = Duration::from_secs(3);

fn remember(path: &Path, looked: Looks, said: Said) {
    let settled = looked
        .modified
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age >= SETTLED);
    let mut read = READ.lock().unwrap_or_else(PoisonError::into_inner);
    read.retain(|(p, _, _)| p != path);
    if !settled {
        return;
    }
    // A host passes at most two policy files; the bound only keeps a test process with a
    // file per test from growing the list without end.
    if read.len() >= 16 {
        read.drain(..1);
    }
    read.push((path.to_owned(), looked, said));
}
