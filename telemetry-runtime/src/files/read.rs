//! The one way this crate reads a file: without blocking (a FIFO or a device where a file is
//! expected must never hold the host up), without following a symlink, only if it is a
//! regular file, and never more than a bound. The policy file, the project file, the state
//! file, the audit log and every spooled batch are read through here. A file the user named
//! in a variable (a CA bundle: `APP_TELEMETRY_CA_FILE`, `SSL_CERT_FILE`) is read by
//! [`read_named`] alike, but a symlink to it is followed: system bundles usually are links.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use crate::base::paths::FileProblem;

/// The most a policy, project or state file may hold: they are a few lines.
pub(crate) const SMALL_FILE: u64 = 64 * 1024;

/// Why [`read`] gave no contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Nothing there.
    Missing,
    /// Something there, but not a file of ours to read.
    Problem(FileProblem),
    /// The OS refused to open or read it.
    Io(io::ErrorKind),
}

/// The contents of the regular file at `path`, at most `max` bytes.
pub(crate) fn read(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    read_opened(open(path, false), max)
}

/// [`read`], following symlinks to the file they name: for a file the user (or the system)
/// named, such as a CA bundle. Still never blocking, a regular file only, bounded.
pub(crate) fn read_named(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    read_opened(open(path, true), max)
}

/// The bytes of the regular file at `path` (a symlink followed), at most `max` of them,
/// read as the runtime reads every file a person names: opened without blocking, so a FIFO
/// or a device given by mistake is refused at once rather than waited on, and never more
/// than `max` bytes, so `/dev/zero` cannot fill the memory. For the collector, which reads
/// its operator's files (a certificate, a key, a read key, a collection config) so.
///
/// ```
/// let dir = std::env::temp_dir();
/// let err = telemetry_runtime::read_regular_file(&dir, 1024).unwrap_err();
/// assert_eq!(err.to_string(), "it is not a regular file");
/// ```
pub fn read_regular_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_named(path, max).map_err(|e| match e {
        ReadError::Missing => io::Error::from(io::ErrorKind::NotFound),
        ReadError::Io(kind) => io::Error::from(kind),
        ReadError::Problem(problem) => {
            io::Error::new(io::ErrorKind::InvalidInput, problem.to_string())
        }
    })
}

fn read_opened(opened: io::Result<File>, max: u64) -> Result<Vec<u8>, ReadError> {
    let file = opened.map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::Missing,
        _ if is_symlink_error(&e) => ReadError::Problem(FileProblem::NotARegularFile),
        kind => ReadError::Io(kind),
    })?;
    let meta = file.metadata().map_err(|e| ReadError::Io(e.kind()))?;
    if !meta.is_file() {
        return Err(ReadError::Problem(FileProblem::NotARegularFile));
    }
    if meta.len() > max {
        return Err(ReadError::Problem(FileProblem::TooLarge));
    }
    // The length can change under us: read one byte past the bound to know.
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(e.kind()))?;
    if bytes.len() as u64 > max {
        return Err(ReadError::Problem(FileProblem::TooLarge));
    }
    Ok(bytes)
}

/// Opens for reading without blocking (a FIFO opens at once and is then refused as not a
/// regular file), following a symlink only if `follow`.
#[cfg(unix)]
fn open(path: &Path, follow: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | nofollow | libc::O_CLOEXEC)
        .open(path)
}

/// Elsewhere: looked at first, then opened (a narrow window, where unix has none).
#[cfg(not(unix))]
fn open(path: &Path, follow: bool) -> io::Result<File> {
    let meta = if follow {
        std::fs::metadata(path)?
    } else {
        std::fs::symlink_metadata(path)?
    };
    if !meta.is_file() {
        return Err(io::Error::other(NotRegular));
    }
    OpenOptions::new().read(true).open(path)
}

#[cfg(not(unix))]
#[derive(Debug)]
struct NotRegular;

#[cfg(not(unix))]
impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a regular file")
    }
}

#[cfg(not(unix))]
impl std::error::Error for NotRegular {}

/// `O_NOFOLLOW` on a symlink fails with `ELOOP`.
#[cfg(unix)]
fn is_symlink_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_symlink_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<NotRegular>())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_bound_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(read(&file, 5).unwrap(), b"hello");
        assert_eq!(
            read(&file, 4),
            Err(ReadError::Problem(FileProblem::TooLarge))
        );
        assert_eq!(read(&dir.path().join("none"), 9), Err(ReadError::Missing));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(
            read(&link, 9),
            Err(ReadError::Problem(FileProblem::NotARegularFile))
        );
        assert_eq!(
            read(dir.path(), 9),
            Err(ReadError::Problem(FileProblem::NotARegularFile))
        );
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        // Would block forever with a plain open: nobody writes to it.
        assert_eq!(
            read(&fifo, 9),
            Err(ReadError::Problem(FileProblem::NotARegularFile))
        );
        assert_eq!(
            read(Path::new("/dev/zero"), 9),
            Err(ReadError::Problem(FileProblem::NotARegularFile))
        );
        // A named file: the symlink is followed to the regular file, and nothing else.
        assert_eq!(read_named(&link, 9).unwrap(), b"hello");
        let to_fifo = dir.path().join("to-fifo");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        for refused in [&fifo, &to_fifo, Path::new("/dev/zero"), dir.path()] {
            assert_eq!(
                read_named(refused, 9),
                Err(ReadError::Problem(FileProblem::NotARegularFile)),
                "{}",
                refused.display()
            );
        }
        assert_eq!(
            read_named(&link, 4),
            Err(ReadError::Problem(FileProblem::TooLarge))
        );
    }
}

impl ReadError {
    /// What to tell the user about it (`Missing` only ever reaches here by mistake).
    pub(crate) fn problem(self) -> FileProblem {
        match self {
            ReadError::Problem(problem) => problem,
            ReadError::Missing | ReadError::Io(_) => FileProblem::Unreadable,
        }
    }
}
