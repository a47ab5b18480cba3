//! The spool: batches that could not be sent yet, kept for a later try or the next process.
//!
//! Bounded by count and size (the oldest go first), one file per batch named after its
//! random `batch_id` (no time in the name; the content is the batch exactly as it would be
//! sent, timestamps already truncated to the hour). Written only while consent holds, sent
//! only while it still holds, and deleted by `disable` and `reset`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::files::private;
use crate::wire::id::Id;

/// At most this many batches wait.
pub(crate) const MAX_FILES: usize = 32;
/// At most this many bytes wait.
pub(crate) const MAX_BYTES: u64 = 1024 * 1024;

pub(crate) struct Spool {
    dir: PathBuf,
}

impl Spool {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Spool {
        Spool { dir: dir.into() }
    }

    /// Keeps `body`; returns where, or `None` if it could not be written (never an error
    /// for the host: the batch is then only lost if the send fails too).
    pub(crate) fn write(&self, id: Id, body: &[u8]) -> Option<PathBuf> {
        private::create_dir(&self.dir).ok()?;
        let path = self.dir.join(format!("batch-{id}.json"));
        private::replace(&path, body).ok()?;
        self.trim();
        path.exists().then_some(path)
    }

    /// The waiting batches, oldest first.
    pub(crate) fn pending(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<(SystemTime, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("batch-") && name.ends_with(".json")
            })
            .filter_map(|e| {
                let modified = e.metadata().ok()?.modified().ok()?;
                Some((modified, e.path()))
            })
            .collect();
        files.sort();
        files.into_iter().map(|(_, path)| path).collect()
    }

    /// Files and bytes waiting.
    pub(crate) fn size(&self) -> (usize, u64) {
        let files = self.pending();
        let bytes = files
            .iter()
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        (files.len(), bytes)
    }

    pub(crate) fn read(path: &Path) -> Option<Vec<u8>> {
        fs::read(path).ok()
    }

    pub(crate) fn remove(path: &Path) {
        let _ = fs::remove_file(path);
    }

    /// Drops the oldest batches until both bounds hold.
    fn trim(&self) {
        let files = self.pending();
        let sizes: Vec<u64> = files
            .iter()
            .map(|p| fs::metadata(p).map_or(0, |m| m.len()))
            .collect();
        let mut total: u64 = sizes.iter().sum();
        let mut count = files.len();
        for (path, size) in files.iter().zip(sizes) {
            if count <= MAX_FILES && total <= MAX_BYTES {
                break;
            }
            Spool::remove(path);
            count -= 1;
            total -= size;
        }
    }
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
        assert_eq!(Spool::read(&first).unwrap(), b"{\"n\":0}");
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
}
