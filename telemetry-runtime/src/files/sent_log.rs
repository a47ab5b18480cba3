//! `telemetry_sent.log`: what left the machine. Each batch sent, exactly as sent, with the
//! hour it was sent, so a user can read what went (`log`) as `preview` shows what would go
//! next; a batch the collector refused is kept too, with its answer's status and reason
//! (`status` says when the last one was). Written only after a send, so never while consent
//! is off; bounded to the last [`MAX_ENTRIES`] batches and [`MAX_BYTES`]; deleted by
//! `disable` and `reset`.
//!
//! One line per batch: the hour (`2026-11-21T04:00:00Z`), a tab, the batch's bytes (compact
//! JSON holds no raw tab or newline). A batch narrowed by a collection config has a field
//! after the hour: `=` and the config's tag (`=c-1f2e`, at most 40 of `[A-Za-z0-9._-]`). A
//! refused batch's line has two more fields before the batch: `!` and the HTTP status
//! (`!400`), then the collector's reason, made of printable ASCII without tabs, at most
//! [`MAX_REASON`] bytes. Reading keeps only lines whose batch
//! our own types could have written, so a line put there by anyone else is never shown as
//! ours.

use std::path::Path;
use std::time::Duration;

use crate::base::paths::SENT_LOG;
use crate::files::lock::Lock;
use crate::files::private;
use crate::files::read::{self, ReadError};
use crate::files::store::StateStore;
use crate::wire::check::is_valid_batch;
use crate::wire::id::Hour;

/// The most batches kept.
pub(crate) const MAX_ENTRIES: usize = 20;
/// The most bytes of batches the log holds.
pub(crate) const MAX_BYTES: usize = 256 * 1024;
/// The longest reason kept for a refused batch.
pub(crate) const MAX_REASON: usize = 200;
/// What a line adds to its batch at most: the hour, a refusal's status and reason, tabs
/// and a newline.
const LINE_EXTRA: usize = "2026-11-21T04:00:00Z\t=\t!400\t\t\n".len() + MAX_TAG + MAX_REASON;
/// The longest config tag kept.
const MAX_TAG: usize = 40;
/// The most the file can hold.
const FILE_MAX: u64 = (MAX_BYTES + MAX_ENTRIES * LINE_EXTRA) as u64;
/// How long a delivery waits for another process writing the config dir; past it this
/// entry is not recorded rather than written unlocked over someone else's.
const LOCK_WAIT: Duration = Duration::from_millis(250);

/// One batch on record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentBatch {
    /// The hour it was sent (UTC), as `2026-11-21T04:00:00Z`.
    pub(crate) hour: String,
    /// The batch, byte for byte as it was sent.
    pub(crate) body: Vec<u8>,
    /// If the collector refused it: the status, and its reason (empty if it gave none).
    pub(crate) refused: Option<(u16, String)>,
    /// The tag of the collection config it was narrowed by, if one was in force.
    pub(crate) config: Option<String>,
}

/// Whether `tag` is one a line may hold: 1 to [`MAX_TAG`] of `[A-Za-z0-9._-]`.
pub(crate) fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `reason` as the log keeps it: printable ASCII only (anything else as `?`), tabs and line
/// breaks as spaces, at most [`MAX_REASON`] bytes. It comes from a server, which could
/// answer anything.
pub(crate) fn clean_reason(reason: &str) -> String {
    reason
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            ' '..='~' => c,
            _ => '?',
        })
        .take(MAX_REASON)
        .collect()
}

/// A line of the log, if it is one our own code wrote: an hour, a refusal if any, a batch
/// our types could have written.
fn parse(line: &[u8]) -> Option<SentBatch> {
    let mut fields = line.splitn(2, |b| *b == b'\t');
    let hour = std::str::from_utf8(fields.next()?).ok()?;
    let mut rest = fields.next()?;
    let mut config = None;
    if let Some(after) = rest.strip_prefix(b"=") {
        let mut parts = after.splitn(2, |b| *b == b'\t');
        let tag = std::str::from_utf8(parts.next()?).ok()?;
        if !is_tag(tag) {
            return None;
        }
        config = Some(tag.to_owned());
        rest = parts.next()?;
    }
    let mut refused = None;
    if let Some(after) = rest.strip_prefix(b"!") {
        let mut parts = after.splitn(3, |b| *b == b'\t');
        let status: u16 = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
        let reason = std::str::from_utf8(parts.next()?).ok()?;
        if !(100..=999).contains(&status) || clean_reason(reason) != reason {
            return None;
        }
        refused = Some((status, reason.to_owned()));
        rest = parts.next()?;
    }
    (Hour::is_printed_form(hour) && is_valid_batch(rest)).then(|| SentBatch {
        hour: hour.to_owned(),
        body: rest.to_vec(),
        refused,
        config,
    })
}

/// Appends `body`, delivered in `hour`, to the log in `dir`, dropping the oldest entries
/// past the bounds. Under the state lock, and only while the stored decision is not "no":
/// a `disable` that ran during the send (and deleted the log) is not undone. Best effort: a
/// log that cannot be written never stops a delivery.
pub(crate) fn record(dir: &Path, hour: Hour, body: &[u8], config: Option<&str>) {
    add(dir, hour, body, None, config);
}

/// Appends `body`, refused in `hour` with `status` and the collector's `reason`, as
/// [`record`] appends a delivered one.
pub(crate) fn record_refused(
    dir: &Path,
    hour: Hour,
    body: &[u8],
    status: u16,
    reason: &str,
    config: Option<&str>,
) {
    add(
        dir,
        hour,
        body,
        Some((status, clean_reason(reason))),
        config,
    );
}

fn add(dir: &Path, hour: Hour, body: &[u8], refused: Option<(u16, String)>, config: Option<&str>) {
    if body.len() > MAX_BYTES {
        return;
    }
    let Ok(_lock) = Lock::acquire_within(dir, LOCK_WAIT) else {
        return;
    };
    if StateStore::new(dir)
        .read()
        .is_ok_and(|s| s.enabled == Some(false))
    {
        return;
    }
    let path = dir.join(SENT_LOG);
    // Something there that is not a log of ours (too big, a FIFO) is replaced; lines that
    // are not ours are dropped.
    let old = read::read(&path, FILE_MAX).unwrap_or_default();
    let mut kept: Vec<SentBatch> = old.split(|b| *b == b'\n').filter_map(parse).collect();
    kept.push(SentBatch {
        hour: hour.to_string(),
        body: body.to_vec(),
        refused,
        config: config.filter(|t| is_tag(t)).map(str::to_owned),
    });
    let (mut keep, mut size) = (0, 0);
    for entry in kept.iter().rev() {
        if keep == MAX_ENTRIES || size + entry.body.len() > MAX_BYTES {
            break;
        }
        size += entry.body.len();
        keep += 1;
    }
    let mut bytes = Vec::with_capacity(size + keep * LINE_EXTRA);
    for entry in &kept[kept.len() - keep..] {
        bytes.extend_from_slice(entry.hour.as_bytes());
        bytes.push(b'\t');
        if let Some(tag) = &entry.config {
            bytes.extend_from_slice(format!("={tag}\t").as_bytes());
        }
        if let Some((status, reason)) = &entry.refused {
            bytes.extend_from_slice(format!("!{status}\t{reason}\t").as_bytes());
        }
        bytes.extend_from_slice(&entry.body);
        bytes.push(b'\n');
    }
    let _ = private::replace(&path, &bytes);
}

/// The batches on record in `dir`, oldest first. A missing log is an empty one.
pub(crate) fn entries(dir: &Path) -> Result<Vec<SentBatch>, ReadError> {
    match read::read(&dir.join(SENT_LOG), FILE_MAX) {
        Ok(bytes) => Ok(bytes.split(|b| *b == b'\n').filter_map(parse).collect()),
        Err(ReadError::Missing) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Deletes the log in `dir` (`disable`, `reset`), under the state lock so that no delivery
/// writes it back meanwhile (if the lock stays busy, it is deleted all the same).
pub(crate) fn delete(dir: &Path) {
    let _lock = Lock::acquire(dir).ok();
    let _ = std::fs::remove_file(dir.join(SENT_LOG));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::id::Id;
    use crate::wire::samples::{sample_batch, samples};

    /// A real batch, told apart by `n` in its id.
    fn batch(n: usize) -> Vec<u8> {
        let mut b = sample_batch(samples());
        b.batch_id = Id::parse(&format!("{n:08x}-0000-4000-8000-00000000b47c")).unwrap();
        b.to_bytes()
    }

    #[test]
    fn keeps_the_last_twenty_in_order_with_their_hour() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(entries(dir.path()).unwrap(), []);
        for n in 0..25 {
            record(
                dir.path(),
                Hour::from_unix_secs(3600 * n as i64),
                &batch(n),
                None,
            );
        }
        let kept = entries(dir.path()).unwrap();
        assert_eq!(kept.len(), MAX_ENTRIES);
        assert_eq!(kept[0].body, batch(5));
        assert_eq!(kept[0].hour, "1970-01-01T05:00:00Z");
        assert_eq!(kept[19].body, batch(24));
        assert_eq!(kept[19].hour, "1970-01-02T00:00:00Z");
    }

    #[test]
    fn stays_under_its_byte_bound() {
        let dir = tempfile::tempdir().unwrap();
        let one = batch(0).len() + "1970-01-01T00:00:00Z\t\n".len();
        for n in 0..MAX_ENTRIES {
            record(dir.path(), Hour::from_unix_secs(0), &batch(n), None);
        }
        let size = std::fs::metadata(dir.path().join(SENT_LOG)).unwrap().len() as usize;
        let kept = entries(dir.path()).unwrap().len();
        assert!(size as u64 <= FILE_MAX);
        assert_eq!(kept, MAX_ENTRIES.min(MAX_BYTES / batch(0).len()));
        assert_eq!(size, kept * one);
    }

    #[test]
    fn lines_not_written_by_us_are_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), Hour::from_unix_secs(0), &batch(1), None);
        let path = dir.path().join(SENT_LOG);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"1970-01-01T00:00:00Z\t{\"name\":\"secret\"}\nnot a line\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(entries(dir.path()).unwrap().len(), 1);
        // The next record keeps the good line and the new one; the others go.
        record(dir.path(), Hour::from_unix_secs(0), &batch(2), None);
        let kept: Vec<_> = entries(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.body)
            .collect();
        assert_eq!(kept, [batch(1), batch(2)]);
        assert!(!String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains("secret"));
        delete(dir.path());
        assert!(!path.exists());
    }

    #[test]
    fn a_refused_batch_is_kept_with_its_status_and_a_clean_reason() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), Hour::from_unix_secs(0), &batch(1), None);
        let reason = format!(
            "a count is over 2^53 - 1\tat events[1]\n\u{1b}[31m{}",
            "x".repeat(500)
        );
        record_refused(
            dir.path(),
            Hour::from_unix_secs(3600),
            &batch(2),
            400,
            &reason,
            Some("c-1f2e"),
        );
        let kept = entries(dir.path()).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].refused, None);
        assert_eq!(
            (kept[0].config.as_deref(), kept[1].config.as_deref()),
            (None, Some("c-1f2e"))
        );
        let (status, reason) = kept[1].refused.clone().unwrap();
        assert_eq!(status, 400);
        assert!(reason.starts_with("a count is over 2^53 - 1 at events[1] ?[31mxxx"));
        assert_eq!(reason.len(), MAX_REASON);
        assert_eq!(kept[1].body, batch(2));
        // A refusal line someone else wrote with raw control bytes is not ours.
        let path = dir.path().join(SENT_LOG);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"1970-01-01T00:00:00Z\t!400\t\x07bell\t");
        text.extend_from_slice(&batch(3));
        text.push(b'\n');
        std::fs::write(&path, text).unwrap();
        assert_eq!(entries(dir.path()).unwrap().len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn is_private_and_replaces_a_fifo() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SENT_LOG);
        let fifo = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(entries(dir.path()).is_err());
        record(dir.path(), Hour::from_unix_secs(0), &batch(1), None);
        assert_eq!(entries(dir.path()).unwrap().len(), 1);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[cfg(test)]
mod after_a_no {
    use super::*;
    use crate::base::calendar::Date;
    use crate::files::state::How;

    #[test]
    fn nothing_is_recorded_once_the_stored_decision_is_no() {
        let dir = tempfile::tempdir().unwrap();
        let today = Date::new(2031, 7, 8).unwrap();
        StateStore::new(dir.path())
            .update(today, How::Cli, |s| s.decide(false, today))
            .unwrap();
        let body = crate::wire::samples::sample_batch(crate::wire::samples::samples()).to_bytes();
        record(dir.path(), Hour::from_unix_secs(0), &body, None);
        assert!(!dir.path().join(SENT_LOG).exists());
    }
}
