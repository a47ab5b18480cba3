//! The OS lock that serialises writers of the state file and the audit log.

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::base::paths::LOCK_FILE;
use crate::files::private;
use crate::files::state::StateError;

/// How long a writer waits for the lock before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// The OS lock on `telemetry_state.lock`, held until dropped (or the process dies). The
/// file stays: it is never deleted, so nobody can remove a lock someone else holds.
pub(crate) struct Lock {
    _file: File,
}

impl Lock {
    /// Waits up to [`LOCK_TIMEOUT`] for the lock, creating the lock file if needed.
    pub(crate) fn acquire(dir: &Path) -> Result<Lock, StateError> {
        Lock::acquire_within(dir, LOCK_TIMEOUT)
    }

    /// Waits up to `limit` for the lock, creating the lock file if needed.
    pub(crate) fn acquire_within(dir: &Path, limit: Duration) -> Result<Lock, StateError> {
        let file = private::open_write(&dir.join(LOCK_FILE), true)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(TryLockError::WouldBlock) if start.elapsed() < limit => {
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
    pub(crate) fn try_existing(dir: &Path) -> Result<Option<Lock>, StateError> {
        let file = match private::open_write(&dir.join(LOCK_FILE), false) {
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
