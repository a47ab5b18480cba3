//! The one way this crate writes a file: readable and writable by the user alone (0600 in
//! a 0700 directory on unix), created exclusively or replaced atomically, and appended to in
//! one write; never through a symlink, never into a FIFO or a device, never blocking. The
//! state file, the audit log, the lock file, the spool and the file transport all go through
//! here.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether `dir` is a real directory, not a symlink to one: a directory of ours inside the
/// config dir (the spool) must be, or what is written there could land anywhere.
pub(crate) fn is_real_dir(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir())
}

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
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    options
}

/// `file`, if it is a regular file (not a FIFO, a device or a directory).
fn regular(file: File) -> io::Result<File> {
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    }
}

/// Where `path` is a symlink, refuses it (on unix `O_NOFOLLOW` does, without a window).
#[cfg(not(unix))]
fn not_a_symlink(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a symlink where a file belongs",
        )),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn not_a_symlink(_: &Path) -> io::Result<()> {
    Ok(())
}

/// Opens `path` for writing (creating it if `create`), never truncating it.
pub(crate) fn open_write(path: &Path, create: bool) -> io::Result<File> {
    not_a_symlink(path)?;
    regular(options().write(true).create(create).open(path)?)
}

/// Appends `bytes` to `path` in one write, creating the file if needed, and syncs it.
/// Returns the length the file had before, so a caller can take the write back with
/// [`truncate`]. A failed write is taken back here.
pub(crate) fn append(path: &Path, bytes: &[u8]) -> io::Result<u64> {
    not_a_symlink(path)?;
    let mut file = regular(options().append(true).create(true).open(path)?)?;
    let before = file.metadata()?.len();
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_data()) {
        let _ = file.set_len(before);
        return Err(e);
    }
    Ok(before)
}

/// Cuts `path` back to `len` bytes.
pub(crate) fn truncate(path: &Path, len: u64) -> io::Result<()> {
    open_write(path, false)?.set_len(len)
}

/// Replaces `path` with `bytes` atomically: written to a temporary file beside it (a name
/// no other writer uses), synced, then renamed over it, so a reader never sees half a file.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    // `.NAME.tmp.PID.N`: a hidden name no reader of the directory takes for the real file.
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(
        ".tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(name);
    let tmp = tmp.as_path();
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

/// Renames `from` to `to` only if `to` does not exist (`AlreadyExists` if it does), in one
/// step where the system offers it (Linux `renameat2(RENAME_NOREPLACE)`). Elsewhere a hard
/// link takes the new name (it fails if the name is taken) and the old one is removed only
/// if it is still the same file, which leaves a window only against a process that replaces
/// `from` at that very moment.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
        };
        let (from_c, to_c) = (c(from)?, c(to)?);
        // SAFETY: two valid C strings; the call only renames.
        let done = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from_c.as_ptr(),
                libc::AT_FDCWD,
                to_c.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if done == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // Filesystems without the flag answer EINVAL: fall through to the link.
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(e);
        }
    }
    fs::hard_link(from, to)?;
    if same_file(from, to) {
        fs::remove_file(from)?;
    }
    Ok(())
}

/// Whether two paths name one file (unix: device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::symlink_metadata(a), fs::symlink_metadata(b)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn renaming_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        fs::write(&a, "one").unwrap();
        fs::write(&b, "two").unwrap();
        let taken = rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(taken.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&b).unwrap(), "two");
        rename_no_replace(&a, &c).unwrap();
        assert_eq!(fs::read_to_string(&c).unwrap(), "one");
        assert!(!a.exists());
        let gone = rename_no_replace(&a, &dir.path().join("d")).unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn never_through_a_symlink_nor_into_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(append(&link, b"x").is_err());
        assert!(open_write(&link, true).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        let missing = dir.path().join("made-by-link");
        std::os::unix::fs::symlink(&missing, dir.path().join("dangling")).unwrap();
        assert!(open_write(&dir.path().join("dangling"), true).is_err());
        assert!(
            !missing.exists(),
            "a dangling symlink does not create its target"
        );
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(
            append(&fifo, b"x").is_err(),
            "no reader: refused, not blocked"
        );
        assert!(open_write(&fifo, false).is_err());
    }

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
