//! The collector's own write-ahead log, for a store that is not durable on its own time
//! (ClickHouse: batches are inserted in large blocks, a second apart). A batch is
//! acknowledged once it is appended here and synced (`fsync`), many batches to one sync.
//! The log is a folder of segments, `NNNNNNNNNNNN.wal`: the writer appends to the newest,
//! and seals it when its batches go to the store; a sealed segment is deleted once the store
//! holds its batches. At start, every segment left is read and written to the store again
//! (each batch is stored once: the store knows its ids).
//!
//! A record is a length (4 bytes), a checksum (8 bytes, FNV-1a of the payload) and the
//! payload: a prepared batch as JSON, what the store would keep (`model.rs`), nothing of the
//! request; its installation and session ids are still in the clear (the ClickHouse store
//! hashes them as it writes), for the second or so until the segment is deleted. A record
//! cut short by a crash, or not matching its checksum, ends its segment there (and is
//! logged); an append that fails is cut off again, or its segment retired, so no later
//! record sits behind a torn one.
//!
//! One collector at a time: the folder is locked (`flock`) while the log is open.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use telemetry_runtime::LeftOut;

use crate::model::{Count, Part, Prepared, hash_bytes, static_kind};

/// The largest record read back: a prepared batch is far smaller than a 1 MiB body.
const MAX_RECORD: usize = 8 << 20;
/// The largest segment read back at start.
const MAX_SEGMENT: u64 = 1 << 30;

/// The log: the segment being appended to.
pub(crate) struct Wal {
    dir: PathBuf,
    seq: u64,
    file: File,
    /// Bytes appended to the current segment, all synced.
    len: u64,
    /// Segments given up after a failed append that could not be cut off: what they hold
    /// before the failure is acknowledged, so they go with the next sealed segment.
    retired: Vec<PathBuf>,
    /// Held open for the lock on the folder.
    _lock: File,
}

/// Batches the log held at start, and the segments they were in.
pub(crate) struct Held {
    pub(crate) batches: Vec<Prepared>,
    pub(crate) segments: Vec<PathBuf>,
    /// Segments whose reading stopped at a torn or damaged record before their end.
    pub(crate) torn: usize,
}

/// Locks `dir` for this process: a second collector on the same folder would replay and
/// delete the segments the first is appending to.
fn lock(dir: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        // A FIFO named `lock` fails to open instead of waiting for a reader.
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(dir.join("lock"))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another collector uses this write-ahead log folder",
            ));
        }
    }
    Ok(file)
}

fn segment(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:012}.wal"))
}

impl Wal {
    /// Opens (creating `dir` if needed) the log in `dir`: what its segments held (batches
    /// acknowledged and maybe not stored yet), and a new segment to append to.
    pub(crate) fn open(dir: &Path) -> io::Result<(Wal, Held)> {
        std::fs::create_dir_all(dir)?;
        let lock = lock(dir)?;
        let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
            .filter_map(|e| {
                let e = e.ok()?;
                // Segments are regular files we wrote; anything else (a FIFO, a link) is
                // not one, and opening it could block.
                if !e.file_type().ok()?.is_file() {
                    return None;
                }
                let path = e.path();
                let seq = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".wal")?
                    .parse::<u64>()
                    .ok()?;
                Some((seq, path))
            })
            .collect();
        found.sort();
        let mut held = Held {
            batches: Vec::new(),
            segments: Vec::new(),
            torn: 0,
        };
        for (_, path) in &found {
            let (batches, whole) = read(path)?;
            held.batches.extend(batches);
            held.torn += usize::from(!whole);
            held.segments.push(path.clone());
        }
        let seq = found.last().map_or(0, |(seq, _)| seq + 1);
        let file = Wal::create(dir, seq)?;
        let wal = Wal {
            dir: dir.to_owned(),
            seq,
            file,
            len: 0,
            retired: Vec::new(),
            _lock: lock,
        };
        Ok((wal, held))
    }

    fn create(dir: &Path, seq: u64) -> io::Result<File> {
        let path = segment(dir, seq);
        let file = match OpenOptions::new().create_new(true).append(true).open(&path) {
            Ok(file) => file,
            // Left by an earlier try whose folder sync failed: empty, so it can be used.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let file = OpenOptions::new().append(true).open(&path)?;
                if file.metadata()?.len() != 0 {
                    return Err(e);
                }
                file
            }
            Err(e) => return Err(e),
        };
        // The new name is durable too, so a crash cannot lose the segment's entry.
        File::open(dir)?.sync_all()?;
        Ok(file)
    }

    /// Appends `batches` and syncs them to disk: when this returns `Ok`, they survive the
    /// collector's crash and the machine's.
    pub(crate) fn append<'a>(
        &mut self,
        batches: impl IntoIterator<Item = &'a Prepared>,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        for batch in batches {
            let payload = serde_json::to_vec(&encode(batch)).map_err(io::Error::other)?;
            let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&hash_bytes(&payload).to_le_bytes());
            bytes.extend_from_slice(&payload);
        }
        if let Err(e) = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
        {
            // Whatever part of it reached the file must not stay in front of the next
            // records: cut it off, or if that fails too, give the segment up.
            let cut = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data());
            if cut.is_err() {
                self.retire()?;
            }
            return Err(e);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Moves on to a new segment, keeping the current one (what it holds is acknowledged)
    /// for the next [`Wal::seal`].
    fn retire(&mut self) -> io::Result<()> {
        let file = Wal::create(&self.dir, self.seq + 1)?;
        let old = segment(&self.dir, self.seq);
        self.file = file;
        self.seq += 1;
        if self.len > 0 {
            self.retired.push(old);
        } else {
            let _ = std::fs::remove_file(old);
        }
        self.len = 0;
        Ok(())
    }

    /// Seals the current segment (its batches are on their way to the store) and starts a
    /// new one; the sealed segments' paths (with any retired since the last seal). Delete
    /// them once the store holds their batches.
    pub(crate) fn seal(&mut self) -> io::Result<Vec<PathBuf>> {
        if self.len > 0 {
            self.retire()?;
        }
        Ok(std::mem::take(&mut self.retired))
    }
}

/// The batches the segment at `path` holds, up to the first record that is cut short or
/// does not match its checksum; and whether that was its end.
fn read(path: &Path) -> io::Result<(Vec<Prepared>, bool)> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(MAX_SEGMENT)
        .read_to_end(&mut bytes)?;
    let mut held = Vec::new();
    let mut at = 0usize;
    while let Some(head) = bytes.get(at..at + 12) {
        let len = u32::from_le_bytes(head[..4].try_into().unwrap_or_default()) as usize;
        let sum = u64::from_le_bytes(head[4..12].try_into().unwrap_or_default());
        let Some(payload) = bytes
            .get(at + 12..at + 12 + len)
            .filter(|_| len <= MAX_RECORD)
        else {
            break;
        };
        if hash_bytes(payload) != sum {
            break;
        }
        match serde_json::from_slice::<Value>(payload)
            .ok()
            .and_then(|v| decode(&v))
        {
            Some(batch) => held.push(batch),
            None => break,
        }
        at += 12 + len;
    }
    Ok((held, at == bytes.len()))
}

fn encode(b: &Prepared) -> Value {
    let parts: Vec<Value> = b
        .parts
        .iter()
        .map(|p| {
            let counts: Vec<Value> = p
                .counts
                .iter()
                .map(|c| json!([c.kind, c.key, c.value]))
                .collect();
            json!({"install": p.install, "sessions": p.sessions, "events": p.events, "counts": counts})
        })
        .collect();
    let l = b.left_out;
    json!({
        "batch_id": b.batch_id,
        "app": b.app,
        "day": b.day,
        "too_old": b.too_old,
        "left_out": [l.fields, l.event_types, l.values],
        "parts": parts,
    })
}

fn decode(v: &Value) -> Option<Prepared> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let parts = v["parts"]
        .as_array()?
        .iter()
        .map(|p| {
            Some(Part {
                install: text(&p["install"])?,
                sessions: p["sessions"]
                    .as_array()?
                    .iter()
                    .map(text)
                    .collect::<Option<_>>()?,
                events: p["events"].as_u64()?,
                counts: p["counts"]
                    .as_array()?
                    .iter()
                    .map(|c| {
                        Some(Count {
                            kind: static_kind(c[0].as_str()?)?,
                            key: text(&c[1])?,
                            value: c[2].as_u64()?,
                        })
                    })
                    .collect::<Option<_>>()?,
            })
        })
        .collect::<Option<_>>()?;
    let left_out = v["left_out"].as_array()?;
    let count = |i: usize| left_out.get(i).and_then(Value::as_u64);
    let l = LeftOut {
        fields: count(0)?,
        event_types: count(1)?,
        values: count(2)?,
    };
    Some(Prepared {
        batch_id: text(&v["batch_id"])?,
        app: text(&v["app"])?,
        day: v["day"].as_i64()?,
        too_old: usize::try_from(v["too_old"].as_u64()?).ok()?,
        narrowed_away: 0,
        left_out: l,
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: u64) -> Prepared {
        let body = telemetry_runtime::__testing::random_batch(n);
        let read = crate::parse::batch(&body).unwrap();
        crate::model::prepare(read, "acme", 20_000, 0, None)
    }

    fn ids(b: &[Prepared]) -> Vec<String> {
        b.iter().map(|b| b.batch_id.clone()).collect()
    }

    #[test]
    fn what_is_appended_is_read_back_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, held) = Wal::open(dir.path()).unwrap();
        assert!(held.batches.is_empty() && held.segments.is_empty());
        let batches: Vec<Prepared> = (1..=5).map(batch).collect();
        wal.append(&batches[..3]).unwrap();
        let sealed = wal.seal().unwrap().pop().unwrap();
        wal.append(&batches[3..]).unwrap();
        assert_eq!(wal.seal().unwrap().len(), 1);
        assert!(wal.seal().unwrap().is_empty(), "nothing new to seal");
        // One collector at a time on a folder.
        assert_eq!(
            Wal::open(dir.path()).err().map(|e| e.kind()),
            Some(io::ErrorKind::WouldBlock)
        );
        drop(wal);
        let (wal, held) = Wal::open(dir.path()).unwrap();
        assert_eq!(ids(&held.batches), ids(&batches));
        assert_eq!(held.torn, 0);
        assert_eq!(
            format!("{:?}", held.batches[4]),
            format!("{:?}", batches[4])
        );
        drop(wal);
        // The first segment stored: deleted. A crash in the middle of a record of the
        // second: the records before it are kept.
        std::fs::remove_file(&sealed).unwrap();
        let (_, held) = Wal::open(dir.path()).unwrap();
        let second = held.segments[0].clone();
        let len = std::fs::metadata(&second).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&second)
            .unwrap()
            .set_len(len - 7)
            .unwrap();
        let (_, held) = Wal::open(dir.path()).unwrap();
        assert_eq!(ids(&held.batches), ids(&batches[3..4]));
        assert_eq!(held.torn, 1, "the torn record is reported");
    }

    #[test]
    fn an_empty_segment_left_by_a_failed_start_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path()).unwrap();
        let next = segment(dir.path(), wal.seq + 1);
        std::fs::write(&next, b"").unwrap();
        let mut wal = wal;
        wal.append(&[batch(1)]).unwrap();
        assert_eq!(
            wal.seal().unwrap().len(),
            1,
            "sealed onto the empty segment"
        );
        std::fs::write(segment(dir.path(), wal.seq + 1), b"x").unwrap();
        wal.append(&[batch(2)]).unwrap();
        assert!(
            wal.seal().is_err(),
            "a segment with bytes in it is never reused"
        );
    }
}
