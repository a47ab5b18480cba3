//! The embedded store: one SQLite file (bundled SQLite, WAL mode). Writes are grouped: each
//! call of [`Store::write`] is one transaction, however many batches it holds.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::Prepared;
use crate::store::{Aggregates, DayCount, Dimension, Group, Source, Store, StoreError, Window};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, app TEXT NOT NULL, day INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batches_day ON batches (app, day);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, app TEXT NOT NULL, day INTEGER NOT NULL,
    install TEXT NOT NULL, session TEXT NOT NULL, event_type TEXT NOT NULL,
    app_version TEXT NOT NULL, sdk_version TEXT NOT NULL, rust_version TEXT NOT NULL,
    os TEXT NOT NULL, arch TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_day ON events (app, day);
CREATE INDEX IF NOT EXISTS events_type ON events (event_type, day);
CREATE INDEX IF NOT EXISTS events_install ON events (install);
CREATE TABLE IF NOT EXISTS facts (
    event_id TEXT NOT NULL, app TEXT NOT NULL, day INTEGER NOT NULL, install TEXT NOT NULL,
    kind TEXT NOT NULL, key TEXT NOT NULL, value INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_kind ON facts (kind, day);
CREATE INDEX IF NOT EXISTS facts_install ON facts (install);
CREATE TABLE IF NOT EXISTS daily (
    app TEXT NOT NULL, day INTEGER NOT NULL, installations INTEGER NOT NULL,
    sessions INTEGER NOT NULL, events INTEGER NOT NULL, PRIMARY KEY (app, day)
) WITHOUT ROWID;
";

/// `WHERE` for a window: days `?1`..=`?2`, and app `?3` unless it is NULL.
const IN_WINDOW: &str = "day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR app = ?3)";

pub(crate) struct Sqlite {
    /// One connection writes, one reads: WAL lets a report run while batches are stored.
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn lock(c: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    c.lock().unwrap_or_else(PoisonError::into_inner)
}

fn err(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::new(what, e)
}

impl Sqlite {
    pub(crate) fn open(path: &Path) -> Result<Sqlite, StoreError> {
        let open = || {
            Connection::open(path).map_err(|e| StoreError::new("cannot open the SQLite store", e))
        };
        let writer = open()?;
        writer
            .execute_batch(SCHEMA)
            .map_err(err("cannot create the SQLite tables"))?;
        let reader = open()?;
        Ok(Sqlite {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }
}

impl Store for Sqlite {
    fn write(&self, batches: &[Prepared]) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(err("cannot write"))?;
        {
            let mut batch = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO batches (batch_id, app, day) VALUES (?1, ?2, ?3)",
                )
                .map_err(err("cannot write"))?;
            let mut event = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (event_id, app, day, install, session, \
                     event_type, app_version, sdk_version, rust_version, os, arch) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(err("cannot write"))?;
            let mut fact = tx
                .prepare_cached(
                    "INSERT INTO facts (event_id, app, day, install, kind, key, value) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(err("cannot write"))?;
            for b in batches {
                // A batch already stored (a retry, a copy from another process) adds nothing.
                if batch
                    .execute(params![b.batch_id, b.app, b.day])
                    .map_err(err("cannot write"))?
                    == 0
                {
                    continue;
                }
                for e in &b.events {
                    event
                        .execute(params![
                            e.event_id,
                            b.app,
                            e.day,
                            e.install,
                            e.session,
                            e.event_type,
                            e.app_version,
                            e.sdk_version,
                            e.rust_version,
                            e.os,
                            e.arch
                        ])
                        .map_err(err("cannot write"))?;
                }
                for f in &b.facts {
                    fact.execute(params![
                        f.event_id,
                        b.app,
                        f.day,
                        f.install,
                        f.kind,
                        f.key,
                        f.value as i64
                    ])
                    .map_err(err("cannot write"))?;
                }
            }
        }
        tx.commit().map_err(err("cannot write"))
    }

    fn aggregates(&self, w: &Window) -> Result<Aggregates, StoreError> {
        let conn = lock(&self.reader);
        let read = err("cannot read");
        let p = params![w.from, w.to, w.app];
        let count = |sql: &str| -> Result<u64, StoreError> {
            conn.query_row(sql, p, |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(err("cannot read"))
        };
        let mut a = Aggregates {
            installations: count(&format!(
                "SELECT COUNT(DISTINCT install) FROM events WHERE {IN_WINDOW}"
            ))?,
            sessions: count(&format!(
                "SELECT COUNT(DISTINCT session) FROM events WHERE {IN_WINDOW}"
            ))?,
            events: count(&format!("SELECT COUNT(*) FROM events WHERE {IN_WINDOW}"))?,
            batches: count(&format!("SELECT COUNT(*) FROM batches WHERE {IN_WINDOW}"))?,
            usage_installations: count(&format!(
                "SELECT COUNT(DISTINCT install) FROM events \
                 WHERE event_type = 'usage' AND {IN_WINDOW}"
            ))?,
            ..Aggregates::default()
        };
        // Days with raw events, then the kept totals of days whose events are gone.
        let mut stmt = conn
            .prepare(&format!(
                "SELECT day, COUNT(DISTINCT install), COUNT(DISTINCT session), COUNT(*) \
                 FROM events WHERE {IN_WINDOW} GROUP BY day \
                 UNION ALL \
                 SELECT day, SUM(installations), SUM(sessions), SUM(events) FROM daily \
                 WHERE {IN_WINDOW} AND day NOT IN \
                 (SELECT DISTINCT day FROM events WHERE {IN_WINDOW}) GROUP BY day \
                 ORDER BY 1"
            ))
            .map_err(&read)?;
        a.per_day = stmt
            .query_map(p, |r| {
                Ok(DayCount {
                    day: r.get(0)?,
                    installations: r.get::<_, i64>(1)? as u64,
                    sessions: r.get::<_, i64>(2)? as u64,
                    events: r.get::<_, i64>(3)? as u64,
                })
            })
            .and_then(Iterator::collect)
            .map_err(&read)?;
        for dimension in Dimension::ALL {
            let sql = match dimension.source() {
                Source::SessionColumn(column) => format!(
                    "SELECT {column}, COUNT(DISTINCT install), COUNT(*) FROM events \
                     WHERE event_type = 'session' AND {IN_WINDOW} GROUP BY {column}"
                ),
                Source::Facts(kind) => format!(
                    "SELECT key, COUNT(DISTINCT install), SUM(value) FROM facts \
                     WHERE kind = '{kind}' AND {IN_WINDOW} GROUP BY key"
                ),
            };
            let mut stmt = conn.prepare(&sql).map_err(&read)?;
            let rows = stmt
                .query_map(p, |r| {
                    Ok(Group {
                        value: r.get(0)?,
                        installations: r.get::<_, i64>(1)? as u64,
                        total: r.get::<_, i64>(2)? as u64,
                    })
                })
                .and_then(Iterator::collect)
                .map_err(&read)?;
            a.groups.push((dimension, rows));
        }
        Ok(a)
    }

    fn delete_installation(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(err("cannot delete"))?;
        tx.execute("DELETE FROM events WHERE install = ?1", [id])
            .map_err(err("cannot delete"))?;
        tx.execute("DELETE FROM facts WHERE install = ?1", [id])
            .map_err(err("cannot delete"))?;
        tx.commit().map_err(err("cannot delete"))
    }

    fn retain(&self, today: i64, days: u32) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction()
            .map_err(err("cannot apply the retention"))?;
        let cutoff = today - i64::from(days);
        // Keep the totals of the days about to go, once.
        tx.execute(
            "INSERT OR IGNORE INTO daily (app, day, installations, sessions, events) \
             SELECT app, day, COUNT(DISTINCT install), COUNT(DISTINCT session), COUNT(*) \
             FROM events WHERE day < ?1 GROUP BY app, day",
            [cutoff],
        )
        .map_err(err("cannot apply the retention"))?;
        tx.execute("DELETE FROM events WHERE day < ?1", [cutoff])
            .map_err(err("cannot apply the retention"))?;
        tx.execute("DELETE FROM facts WHERE day < ?1", [cutoff])
            .map_err(err("cannot apply the retention"))?;
        tx.execute("DELETE FROM batches WHERE day < ?1", [cutoff])
            .map_err(err("cannot apply the retention"))?;
        tx.commit().map_err(err("cannot apply the retention"))
    }

    fn ping(&self) -> Result<(), StoreError> {
        lock(&self.reader)
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .optional()
            .map(|_| ())
            .map_err(err("the SQLite store does not answer"))
    }
}
