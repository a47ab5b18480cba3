//! The one way this crate writes a file: readable and writable by the user alone (0600 in
//! a 0700 directory on unix), created exclusively or replaced atomically, and appended to in
//! one write. The state file, the audit log, the lock file, the spool and the file transport
//! all go through here.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// Creates `dir` and its parents; the last one private to the user (0700) on unix.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Opens `path` for writing (creating it if `create`), never truncating it.
pub(crate) fn open_write(path: &Path, create: bool) -> io::Result<File> {
    options().write(true).create(create).open(path)
}

/// Appends `bytes` to `path` in one write, creating the file if needed, and syncs it.
/// Returns the length the file had before, so a caller can take the write back with
/// [`truncate`]. A failed write is taken back here.
pub(crate) fn append(path: &Path, bytes: &[u8]) -> io::Result<u64> {
    let mut file = options().append(true).create(true).open(path)?;
    let before = file.metadata()?.len();
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_data()) {
        let _ = file.set_len(before);
        return Err(e);
    }
    Ok(before)
}

/// Cuts `path` back to `len` bytes.
pub(crate) fn truncate(path: &Path, len: u64) -> io::Result<()> {
    OpenOptions::new().write(true).open(path)?.set_len(len)
}

/// Replaces `path` with `bytes` atomically: written to a temporary file beside it (a name
/// no other writer uses), synced, then renamed over it, so a reader never sees half a file.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(
        ".tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = Path::new(&tmp);
    let written = (|| {
        let mut file = options().write(true).create_new(true).open(tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(tmp);
    }
    written
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn everything_written_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a").join("b");
        create_dir(&sub).unwrap();
        assert_eq!(mode(&sub), 0o700);
        replace(&sub.join("r"), b"one").unwrap();
        replace(&sub.join("r"), b"two").unwrap();
        assert_eq!(fs::read(sub.join("r")).unwrap(), b"two");
        assert_eq!(mode(&sub.join("r")), 0o600);
        assert_eq!(append(&sub.join("l"), b"x\n").unwrap(), 0);
        assert_eq!(append(&sub.join("l"), b"y\n").unwrap(), 2);
        assert_eq!(mode(&sub.join("l")), 0o600);
        truncate(&sub.join("l"), 2).unwrap();
        assert_eq!(fs::read(sub.join("l")).unwrap(), b"x\n");
        drop(open_write(&sub.join("k"), true).unwrap());
        assert_eq!(mode(&sub.join("k")), 0o600);
        let names: Vec<_> = fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
    }
}
