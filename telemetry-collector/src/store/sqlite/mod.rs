//! The embedded store: one SQLite file (bundled SQLite, WAL mode). Each call of
//! [`Store::write`] is one transaction, however many batches it holds; their counts are
//! summed in memory first, so a group of batches costs one upsert per distinct value.
//!
//! A report reads the aggregate tables (`installs`, `sums`, `sessions`, `day_installs`,
//! `day_sessions`), never every batch: its cost follows the number of installations and
//! values, not of events. `installs` holds one row per installation: each value it sent
//! and the last day it sent it (`records.rs` reads them), so a group of batches costs one
//! read and one write per installation rather than one upsert per value.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use telemetry_runtime::MAX_COUNT;

mod read;
mod records;
use crate::model::{EVENTS, Prepared, add};
use crate::store::{Store, StoreError, Window};

/// WAL mode with `synchronous = FULL`: a commit is on disk before it returns (the WAL is
/// synced), so what the collector acknowledges survives `kill -9` and power loss alike.
/// `secure_delete`: a deleted row's bytes are overwritten, not left in free pages.
const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT NOT NULL, install TEXT NOT NULL, app TEXT NOT NULL, day INTEGER NOT NULL,
    counts TEXT NOT NULL, PRIMARY KEY (batch_id, install)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS installs (
    install TEXT NOT NULL, app TEXT NOT NULL, seen TEXT NOT NULL, PRIMARY KEY (install, app)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    session TEXT NOT NULL PRIMARY KEY, app TEXT NOT NULL, install TEXT NOT NULL,
    last_day INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sums (
    kind TEXT NOT NULL, key TEXT NOT NULL, app TEXT NOT NULL, day INTEGER NOT NULL,
    total INTEGER NOT NULL, PRIMARY KEY (kind, key, app, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_installs (
    app TEXT NOT NULL, day INTEGER NOT NULL, install TEXT NOT NULL,
    PRIMARY KEY (app, day, install)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_sessions (
    app TEXT NOT NULL, day INTEGER NOT NULL, session TEXT NOT NULL, install TEXT NOT NULL,
    PRIMARY KEY (app, day, session)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily (
    app TEXT NOT NULL, day INTEGER NOT NULL, installations INTEGER NOT NULL,
    sessions INTEGER NOT NULL, PRIMARY KEY (app, day)
) WITHOUT ROWID;
";

/// The kind of the count of batches (in `sums` only).
const BATCHES: &str = "*batches";

/// `WHERE` for a window: days `?1`..=`?2`, and app `?3` unless it is NULL.
const IN_WINDOW: &str = "day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR app = ?3)";

pub(crate) struct Sqlite {
    /// One connection writes, two read (a report's second one, its installations' records
    /// beside the rest): WAL lets reports run while batches are stored.
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    records: Mutex<Connection>,
}

fn lock(c: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    c.lock().unwrap_or_else(PoisonError::into_inner)
}

fn err(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::new(what, e)
}

/// `kind TAB key TAB number` lines: a batch row's counts, and an `installs.seen` value (the
/// last day each value was sent). Kinds and keys are names, versions, paths and labels the
/// wire check allowed: none holds a tab or a newline.
fn encode<'a, N: fmt::Display>(rows: impl IntoIterator<Item = (&'a str, &'a str, N)>) -> String {
    let mut text = String::new();
    for (kind, key, n) in rows {
        let _ = writeln!(text, "{kind}\t{key}\t{n}");
    }
    text
}

/// A count as a row holds it: an integer from 0 to `MAX_COUNT` (`INTEGER` columns only ever
/// get those). `None` for anything else a store written by an older collector may hold (a
/// sum SQLite turned into a `REAL` when it overflowed, a negative): the read skips that row
/// and says so, rather than failing every report.
fn stored_count(v: ValueRef<'_>) -> Option<u64> {
    match v {
        ValueRef::Integer(n) => u64::try_from(n).ok().map(|n| n.min(MAX_COUNT)),
        _ => None,
    }
}

/// The lines [`encode`] wrote; a line that is not one is skipped.
fn decode<N: FromStr>(text: &str) -> impl Iterator<Item = (&str, &str, N)> {
    text.lines().filter_map(|line| {
        let mut f = line.split('\t');
        Some((f.next()?, f.next()?, f.next()?.parse().ok()?))
    })
}

/// Copies the WAL into the database file and empties it: what was deleted is then in no
/// file.
fn checkpoint(conn: &Connection) -> Result<(), StoreError> {
    // A report reading at that moment holds the WAL: try again for a moment.
    for _ in 0..100 {
        let busy = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(err("cannot checkpoint"))?;
        if busy == 0 {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(StoreError(
        "the checkpoint after a deletion stayed blocked".into(),
    ))
}

impl Sqlite {
    pub(crate) fn open(path: &Path) -> Result<Sqlite, StoreError> {
        let open = || {
            let conn = Connection::open(path)
                .map_err(|e| StoreError::new("cannot open the SQLite store", e))?;
            // Pages in memory rather than read through the kernel for every lookup: a
            // bounded cache (64 MiB) and the file mapped (up to 1 GiB of address space).
            conn.execute_batch(
                "PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824; \
                 PRAGMA temp_store = MEMORY; PRAGMA synchronous = FULL; \
                 PRAGMA secure_delete = ON;",
            )
            .map_err(|e| StoreError::new("cannot set up the SQLite store", e))
            .map(|()| conn)
        };
        let writer = open()?;
        writer
            .execute_batch(SCHEMA)
            .map_err(err("cannot create the SQLite tables"))?;
        Ok(Sqlite {
            writer: Mutex::new(writer),
            reader: Mutex::new(open()?),
            records: Mutex::new(open()?),
        })
    }
}

/// Each (kind, key) an installation sent, and the last day it sent it.
type LastSeen<'a> = HashMap<(&'a str, &'a str), i64>;

/// What a group of fresh batches adds to the aggregate tables, summed in memory.
#[derive(Default)]
struct Adds<'a> {
    sums: HashMap<(&'a str, &'a str, &'a str, i64), u64>,
    /// Per (app, installation): each (kind, key) and the last day it was sent.
    installs: HashMap<(&'a str, &'a str), LastSeen<'a>>,
    sessions: HashMap<&'a str, (&'a str, &'a str, i64)>,
    day_installs: HashSet<(&'a str, i64, &'a str)>,
    day_sessions: HashSet<(&'a str, i64, &'a str, &'a str)>,
}

impl Store for Sqlite {
    fn write(&self, batches: &[Prepared]) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(err("cannot write"))?;
        {
            let e = err("cannot write");
            let mut known = tx
                .prepare_cached("SELECT 1 FROM batches WHERE batch_id = ?1 LIMIT 1")
                .map_err(&e)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO batches (batch_id, install, app, day, counts) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&e)?;
            let mut adds = Adds::default();
            let mut seen = HashSet::new();
            for b in batches {
                // A batch already stored (a retry, a copy from another process) adds nothing.
                if !seen.insert(b.batch_id.as_str())
                    || known
                        .query_row([&b.batch_id], |_| Ok(()))
                        .optional()
                        .map_err(&e)?
                        .is_some()
                {
                    continue;
                }
                if b.parts.is_empty() {
                    // An empty batch: remembered, so a copy of it is known too, with what
                    // was left out of it (events of types this release does not know).
                    let left_out: Vec<_> = b.left_out_counts().collect();
                    insert
                        .execute(params![
                            b.batch_id,
                            "",
                            b.app,
                            b.day,
                            encode(left_out.iter().copied())
                        ])
                        .map_err(&e)?;
                    for (kind, key, n) in left_out {
                        let total = adds
                            .sums
                            .entry((kind, key, b.app.as_str(), b.day))
                            .or_default();
                        *total = add(*total, n);
                    }
                    continue;
                }
                for (i, part) in b.parts.iter().enumerate() {
                    let mut counts: Vec<(&str, &str, u64)> = part
                        .counts
                        .iter()
                        .map(|c| (c.kind, c.key.as_str(), c.value))
                        .collect();
                    counts.push((EVENTS, "", part.events));
                    if i == 0 {
                        counts.push((BATCHES, "", 1));
                    }
                    insert
                        .execute(params![
                            b.batch_id,
                            part.install,
                            b.app,
                            b.day,
                            encode(counts.iter().copied())
                        ])
                        .map_err(&e)?;
                    let seen = adds
                        .installs
                        .entry((b.app.as_str(), part.install.as_str()))
                        .or_default();
                    for &(kind, key, value) in &counts {
                        let total = adds
                            .sums
                            .entry((kind, key, b.app.as_str(), b.day))
                            .or_default();
                        *total = add(*total, value);
                        if kind != BATCHES {
                            let last = seen.entry((kind, key)).or_insert(b.day);
                            *last = (*last).max(b.day);
                        }
                    }
                    adds.day_installs
                        .insert((b.app.as_str(), b.day, part.install.as_str()));
                    for s in &part.sessions {
                        let last = adds.sessions.entry(s.as_str()).or_insert((
                            b.app.as_str(),
                            part.install.as_str(),
                            b.day,
                        ));
                        last.2 = last.2.max(b.day);
                        adds.day_sessions.insert((
                            b.app.as_str(),
                            b.day,
                            s.as_str(),
                            part.install.as_str(),
                        ));
                    }
                }
            }
            let mut sum = tx
                .prepare_cached(
                    "INSERT INTO sums (kind, key, app, day, total) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (kind, key, app, day) DO UPDATE SET total = \
                     MIN(total + excluded.total, 9007199254740991)",
                )
                .map_err(&e)?;
            for ((kind, key, app, day), total) in &adds.sums {
                sum.execute(params![kind, key, app, day, *total as i64])
                    .map_err(&e)?;
            }
            // Each installation's record: read, merged, written back.
            let mut read_seen = tx
                .prepare_cached("SELECT seen FROM installs WHERE install = ?1 AND app = ?2")
                .map_err(&e)?;
            let mut write_seen_row = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO installs (install, app, seen) VALUES (?1, ?2, ?3)",
                )
                .map_err(&e)?;
            for ((app, install), values) in &adds.installs {
                let old: Option<String> = read_seen
                    .query_row(params![install, app], |r| r.get(0))
                    .optional()
                    .map_err(&e)?;
                let mut merged: HashMap<(&str, &str), i64> = values.clone();
                for (kind, key, day) in decode::<i64>(old.as_deref().unwrap_or_default()) {
                    let last = merged.entry((kind, key)).or_insert(day);
                    *last = (*last).max(day);
                }
                let text = encode(merged.iter().map(|((k, v), d)| (*k, *v, *d)));
                write_seen_row
                    .execute(params![install, app, text])
                    .map_err(&e)?;
            }
            let mut session = tx
                .prepare_cached(
                    "INSERT INTO sessions (session, app, install, last_day) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (session) \
                     DO UPDATE SET last_day = max(last_day, excluded.last_day)",
                )
                .map_err(&e)?;
            for (id, (app, install, day)) in &adds.sessions {
                session
                    .execute(params![id, app, install, day])
                    .map_err(&e)?;
            }
            let mut day_install = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO day_installs (app, day, install) VALUES (?1, ?2, ?3)",
                )
                .map_err(&e)?;
            for (app, day, install) in &adds.day_installs {
                day_install
                    .execute(params![app, day, install])
                    .map_err(&e)?;
            }
            let mut day_session = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO day_sessions (app, day, session, install) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&e)?;
            for (app, day, session, install) in &adds.day_sessions {
                day_session
                    .execute(params![app, day, session, install])
                    .map_err(&e)?;
            }
        }
        tx.commit().map_err(err("cannot write"))
    }

    fn aggregates(&self, w: &Window) -> Result<crate::store::Aggregates, StoreError> {
        read::aggregates(self, w)
    }

    fn delete_installation(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        // Anyone may ask (the id is the capability): an id never seen costs one lookup on
        // the key of `installs`, not a scan of every table.
        let known: bool = conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM installs WHERE install = ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(err("cannot delete"))?;
        if !known {
            return Ok(());
        }
        let tx = conn.transaction().map_err(err("cannot delete"))?;
        {
            let e = err("cannot delete");
            // Its counts come off the totals, day by day, before its rows go.
            let mut rows = tx
                .prepare("SELECT app, day, counts FROM batches WHERE install = ?1")
                .map_err(&e)?;
            let rows: Vec<(String, i64, String)> = rows
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(Iterator::collect)
                .map_err(&e)?;
            // A sum that reached the maximum stays there: what it held beyond the maximum
            // is unknown, and subtracting one installation's counts from it could take
            // others' with them.
            let mut subtract = tx
                .prepare_cached(&format!(
                    "UPDATE sums SET total = total - ?5 \
                     WHERE kind = ?1 AND key = ?2 AND app = ?3 AND day = ?4 \
                     AND total < {MAX_COUNT}"
                ))
                .map_err(&e)?;
            for (app, day, counts) in &rows {
                for (kind, key, value) in decode::<u64>(counts) {
                    subtract
                        .execute(params![kind, key, app, day, value.min(MAX_COUNT) as i64])
                        .map_err(&e)?;
                }
            }
            tx.execute("DELETE FROM sums WHERE total <= 0", [])
                .map_err(&e)?;
            for table in [
                "batches",
                "installs",
                "sessions",
                "day_installs",
                "day_sessions",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE install = ?1"), [id])
                    .map_err(&e)?;
            }
        }
        tx.commit().map_err(err("cannot delete"))?;
        // Gone from the WAL too: its frames are copied into the file (where secure_delete
        // zeroed the rows) and the WAL is emptied.
        checkpoint(&conn)
    }

    fn retain(&self, today: i64, days: u32) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let e = err("cannot apply the retention");
        let tx = conn.transaction().map_err(&e)?;
        let cutoff = today - i64::from(days);
        // Keep who-was-seen counts of the days about to lose their ids, once.
        tx.execute(
            "INSERT OR IGNORE INTO daily (app, day, installations, sessions) \
             SELECT d.app, d.day, COUNT(DISTINCT d.install), \
             (SELECT COUNT(DISTINCT s.session) FROM day_sessions s \
              WHERE s.app = d.app AND s.day = d.day) \
             FROM day_installs d WHERE d.day < ?1 GROUP BY d.app, d.day",
            [cutoff],
        )
        .map_err(&e)?;
        for (table, column) in [
            ("batches", "day"),
            ("day_installs", "day"),
            ("day_sessions", "day"),
            ("sessions", "last_day"),
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE {column} < ?1"),
                [cutoff],
            )
            .map_err(&e)?;
        }
        // Each installation's record forgets values not sent since the cutoff, and goes
        // when nothing is left.
        {
            let mut stmt = tx
                .prepare("SELECT install, app, seen FROM installs")
                .map_err(&e)?;
            let rows: Vec<(String, String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(Iterator::collect)
                .map_err(&e)?;
            for (install, app, seen) in rows {
                if decode::<i64>(&seen).all(|(_, _, day)| day >= cutoff) {
                    continue;
                }
                let kept = encode(decode::<i64>(&seen).filter(|(_, _, day)| *day >= cutoff));
                if kept.is_empty() {
                    tx.execute(
                        "DELETE FROM installs WHERE install = ?1 AND app = ?2",
                        params![install, app],
                    )
                } else {
                    tx.execute(
                        "UPDATE installs SET seen = ?3 WHERE install = ?1 AND app = ?2",
                        params![install, app, kept],
                    )
                }
                .map_err(&e)?;
            }
        }
        tx.commit().map_err(&e)?;
        checkpoint(&conn)
    }

    fn ping(&self) -> Result<(), StoreError> {
        // A read of the table reports are made of, not only a `SELECT 1`.
        lock(&self.reader)
            .query_row(
                "SELECT count(*) FROM (SELECT kind, key, total FROM sums LIMIT 1)",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|_| ())
            .map_err(err("the SQLite store does not answer"))
    }

    fn known_values(&self, since: i64) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn
            .prepare(
                "SELECT app, kind, key, MAX(day) FROM sums WHERE day >= ?1 \
                 GROUP BY app, kind, key",
            )
            .map_err(err("cannot read"))?;
        stmt.query_map([since], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .and_then(Iterator::collect)
        .map_err(err("cannot read"))
    }
}
