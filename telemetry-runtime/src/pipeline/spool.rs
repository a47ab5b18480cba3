//! The spool: batches that could not be sent yet, kept for a later try or the next process.
//!
//! Bounded by count and size (the oldest go first), one file per batch named after its
//! random `batch_id` (no time in the name; the content is the batch exactly as it would be
//! sent, timestamps already truncated to the hour). Written only while consent holds, sent
//! only while it still holds, and deleted by `disable` and `reset`.
//!
//! # One sender per batch
//!
//! Several processes of the same host share the spool. A batch is *claimed* before it is
//! sent, by renaming `batch-ID.json` to `batch-ID.json.claim-PID`: a rename succeeds for one
//! process only, and a claimed batch is invisible to the others. A process writes the batch
//! it is about to send already claimed. Delivered, the claim is removed; not delivered, it is
//! renamed back for a later try. A claim whose process is gone (or, where that cannot be
//! told, that is older than any send can take) is renamed back by the next process that
//! looks.
//!
//! Nothing here follows a symlink: a spool directory that is one is not used, and an entry
//! that is not a regular file is removed unread.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::files::private;
use crate::files::read::{self, ReadError};
use crate::wire::check::checked_batch;
use crate::wire::id::Id;
use crate::wire::json::Json;

/// At most this many batches wait.
pub(crate) const MAX_FILES: usize = 32;
/// At most this many bytes wait.
pub(crate) const MAX_BYTES: u64 = 1024 * 1024;
/// The largest batch file read back (the spool check refuses larger ones anyway).
pub(crate) const MAX_BATCH: u64 = 256 * 1024;
/// A claim this old is released even if its process seems alive: no send takes this long.
const STALE_CLAIM: Duration = Duration::from_secs(10 * 60);

const CLAIM: &str = ".claim-";

pub(crate) struct Spool {
    dir: PathBuf,
}

/// A batch this process has claimed: only it sends it.
pub(crate) struct Claim {
    /// Where the claimed file is now.
    claimed: PathBuf,
    /// Its unclaimed name, to go back to if it is not delivered.
    name: PathBuf,
    /// When it was written, restored when released so the order of the spool is kept.
    written: Option<SystemTime>,
}

impl Claim {
    /// The batch, if it is a regular file of a batch's size; anything else is removed.
    pub(crate) fn read(&self) -> Option<Vec<u8>> {
        read_entry(&self.claimed)
    }

    /// Delivered (or refused for good): gone.
    pub(crate) fn done(self) {
        let _ = fs::remove_file(&self.claimed);
    }

    /// Not delivered: back in the spool for a later try.
    pub(crate) fn release(self) {
        if fs::rename(&self.claimed, &self.name).is_ok()
            && let Some(written) = self.written
            && let Ok(file) = private::open_write(&self.name, false)
        {
            let _ = file.set_modified(written);
        }
    }
}

impl Spool {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Spool {
        Spool { dir: dir.into() }
    }

    /// The directory, created if needed; `None` if it is not a real directory of ours.
    fn ready(&self) -> Option<&Path> {
        private::create_dir(&self.dir).ok()?;
        private::is_real_dir(&self.dir).then_some(&self.dir)
    }

    fn path(&self, id: Id) -> PathBuf {
        self.dir.join(format!("batch-{id}.json"))
    }

    /// Keeps `body` for a later try, unclaimed; returns where, or `None` if it could not be
    /// written (never an error for the host).
    pub(crate) fn write(&self, id: Id, body: &[u8]) -> Option<PathBuf> {
        self.ready()?;
        let path = self.path(id);
        private::replace(&path, body).ok()?;
        self.trim();
        path.exists().then_some(path)
    }

    /// Keeps `body`, already claimed by this process: the batch it is about to send, which
    /// no other process may pick up meanwhile.
    pub(crate) fn write_claimed(&self, id: Id, body: &[u8]) -> Option<Claim> {
        self.ready()?;
        let name = self.path(id);
        let claimed = claimed_name(&name);
        private::replace(&claimed, body).ok()?;
        self.trim();
        Some(Claim {
            claimed,
            name,
            written: Some(SystemTime::now()),
        })
    }

    /// Claims the batch at `path` (from [`pending`](Self::pending)); `None` if another
    /// process claimed it first.
    pub(crate) fn claim(&self, path: &Path) -> Option<Claim> {
        let written = fs::symlink_metadata(path).ok()?.modified().ok();
        let claimed = claimed_name(path);
        fs::rename(path, &claimed).ok()?;
        // The claim's age starts now: a stale claim is told by it.
        if let Ok(file) = private::open_write(&claimed, false) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(Claim {
            claimed,
            name: path.to_owned(),
            written,
        })
    }

    /// The waiting batches nobody has claimed, oldest first. Entries that are not regular
    /// files are removed; claims left by processes that are gone are released first.
    pub(crate) fn pending(&self) -> Vec<PathBuf> {
        self.release_stale_claims();
        self.entries(false)
    }

    /// The same, changing nothing (no removal, no release): for `preview`.
    pub(crate) fn waiting(&self) -> Vec<PathBuf> {
        self.list(false, false)
    }

    /// The batch files (`claimed`: the claims instead), oldest first; entries that are not
    /// regular files are removed.
    fn entries(&self, claimed: bool) -> Vec<PathBuf> {
        self.list(claimed, true)
    }

    fn list(&self, claimed: bool, clean: bool) -> Vec<PathBuf> {
        if !private::is_real_dir(&self.dir) {
            return Vec::new();
        }
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<(SystemTime, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("batch-")
                    && if claimed {
                        name.contains(".json.claim-")
                    } else {
                        name.ends_with(".json")
                    }
            })
            .filter_map(|e| {
                let meta = e.metadata().ok()?; // `DirEntry::metadata` does not follow links
                if !meta.is_file() {
                    if clean {
                        let _ = fs::remove_file(e.path());
                    }
                    return None;
                }
                Some((meta.modified().ok()?, e.path()))
            })
            .collect();
        files.sort_unstable(); // paths are unique: no tie to keep stable
        files.into_iter().map(|(_, path)| path).collect()
    }

    /// Renames back every claim whose process is gone, or that is older than any send.
    fn release_stale_claims(&self) {
        for claimed in self.entries(true) {
            // Our names are ASCII; the directory's path need not be UTF-8, so it is kept as is.
            let Some((unclaimed, pid)) = claimed
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit_once(CLAIM))
            else {
                continue;
            };
            let unclaimed = self.dir.join(unclaimed);
            // Not a claim of ours (a name that only looks like one): left alone.
            let Ok(pid) = pid.parse::<u32>() else {
                continue;
            };
            if pid == std::process::id() {
                continue;
            }
            let age = fs::symlink_metadata(&claimed)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            if age > STALE_CLAIM || !process_alive(pid) {
                let _ = fs::rename(&claimed, unclaimed);
            }
        }
    }

    /// Files and bytes waiting, claimed or not.
    pub(crate) fn size(&self) -> (usize, u64) {
        let files: Vec<PathBuf> = self
            .entries(false)
            .into_iter()
            .chain(self.entries(true))
            .collect();
        let bytes = files
            .iter()
            .filter_map(|p| fs::symlink_metadata(p).ok())
            .map(|m| m.len())
            .sum();
        (files.len(), bytes)
    }

    /// The batch at `path`, if it is one to read (see [`Claim::read`]), changing nothing:
    /// for `preview`, which claims nothing and removes nothing.
    pub(crate) fn peek(path: &Path) -> Option<Vec<u8>> {
        read::read(path, MAX_BATCH).ok()
    }

    /// Drops the oldest unclaimed batches until both bounds hold.
    fn trim(&self) {
        let claimed_bytes: u64 = self
            .entries(true)
            .iter()
            .filter_map(|p| fs::symlink_metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let claimed = self.entries(true).len();
        let files = self.entries(false);
        let sizes: Vec<u64> = files
            .iter()
            .map(|p| fs::symlink_metadata(p).map_or(0, |m| m.len()))
            .collect();
        let mut total: u64 = sizes.iter().sum::<u64>() + claimed_bytes;
        let mut count = files.len() + claimed;
        for (path, size) in files.iter().zip(sizes) {
            if count <= MAX_FILES && total <= MAX_BYTES {
                break;
            }
            let _ = fs::remove_file(path);
            count -= 1;
            total -= size;
        }
    }
}

/// `batch-ID.json.claim-PID` for this process.
fn claimed_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!("{CLAIM}{}", std::process::id()));
    PathBuf::from(name)
}

/// A spooled file's contents if it is a regular file no larger than a batch; otherwise it is
/// not ours to send, and it is removed.
fn read_entry(path: &Path) -> Option<Vec<u8>> {
    match read::read(path, MAX_BATCH) {
        Ok(bytes) => Some(bytes),
        Err(ReadError::Missing) => None,
        Err(_) => {
            let _ = fs::remove_file(path);
            None
        }
    }
}

/// Whether process `pid` still runs (unix: signal 0 is delivered, or refused for lack of
/// permission); elsewhere it cannot be told here, and only a claim's age releases it.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: `kill` with signal 0 sends nothing; it only checks the process exists.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// A spooled batch as it may be sent (and shown by `preview`): only if our own types could
/// have written it (`wire/check.rs`), and, for a host that is now anonymous
/// (`Identity::Anonymous`), without the installation id an earlier run stored in it: no id
/// kept before the switch leaves the machine afterwards.
pub(crate) fn sendable(body: Vec<u8>, anonymous: bool) -> Option<Vec<u8>> {
    let json = checked_batch(&body)?;
    const KEY: &[u8] = b"\"installation_id\"";
    if !anonymous || !body.windows(KEY.len()).any(|w| w == KEY) {
        return Some(body);
    }
    let Json::Object(mut top) = json else {
        return None;
    };
    for (key, value) in &mut top {
        if let (true, Json::Array(events)) = (key == "events", value) {
            for event in events {
                if let Json::Object(fields) = event {
                    fields.retain(|(k, _)| k != "installation_id");
                }
            }
        }
    }
    let rewritten = Json::Object(top).compact().into_bytes();
    // Still exactly what our types write: an event without an id is one they write too.
    checked_batch(&rewritten).map(|_| rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Id {
        Id::random().unwrap()
    }

    #[test]
    fn keeps_batches_and_bounds_their_number() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool"));
        assert!(spool.pending().is_empty());
        let first = spool.write(id(), b"{\"n\":0}").unwrap();
        assert_eq!(Spool::peek(&first).unwrap(), b"{\"n\":0}");
        for n in 1..(MAX_FILES + 10) {
            spool.write(id(), format!("{{\"n\":{n}}}").as_bytes());
        }
        let (files, _) = spool.size();
        assert_eq!(files, MAX_FILES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&spool.pending()[0])
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bounds_the_bytes_too() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        let big = vec![b'x'; (MAX_BYTES / 4) as usize];
        for _ in 0..6 {
            spool.write(id(), &big);
        }
        let (files, bytes) = spool.size();
        assert!(bytes <= MAX_BYTES, "{bytes}");
        assert_eq!(files, 4);
    }

    #[test]
    fn a_claimed_batch_is_sent_by_one_process_only() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        let path = spool.write(id(), b"{}").unwrap();
        assert_eq!(spool.pending(), std::slice::from_ref(&path));
        let claim = spool.claim(&path).unwrap();
        assert!(spool.claim(&path).is_none(), "claimed once");
        assert!(spool.pending().is_empty(), "a claim is invisible");
        assert_eq!(claim.read().unwrap(), b"{}");
        claim.release();
        assert_eq!(
            spool.pending(),
            std::slice::from_ref(&path),
            "released: back for a later try"
        );
        spool.claim(&path).unwrap().done();
        assert!(spool.pending().is_empty());
        assert_eq!(spool.size(), (0, 0));
        // What this process is sending itself is never picked up, even by itself.
        let own = spool.write_claimed(id(), b"[]").unwrap();
        assert!(spool.pending().is_empty());
        own.done();
    }

    #[cfg(unix)]
    #[test]
    fn a_claim_left_by_a_gone_process_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        let path = spool.write(id(), b"{}").unwrap();
        // A process that has exited: a child, waited for.
        let child = std::process::Command::new("true").spawn().unwrap().wait();
        assert!(child.is_ok());
        let mut gone = path.as_os_str().to_owned();
        gone.push(format!("{CLAIM}{}", u32::MAX - 7));
        fs::rename(&path, &gone).unwrap();
        assert_eq!(spool.pending(), [path], "released and pending again");
    }

    #[cfg(unix)]
    #[test]
    fn entries_that_are_not_regular_files_are_removed_unread() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        let link = dir.path().join(format!("batch-{}.json", id()));
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(spool.pending().is_empty());
        assert!(fs::symlink_metadata(&link).is_err(), "removed");
        // A spool directory that is a symlink is not used at all.
        let elsewhere = tempfile::tempdir().unwrap();
        let linked = dir.path().join("linked");
        std::os::unix::fs::symlink(elsewhere.path(), &linked).unwrap();
        let spool = Spool::new(&linked);
        assert!(spool.write(id(), b"{}").is_none());
        assert!(spool.write_claimed(id(), b"{}").is_none());
        assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}
