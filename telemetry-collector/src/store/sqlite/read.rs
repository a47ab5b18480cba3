//! The report's reads: the aggregate tables, never every batch, so a report costs what
//! the number of installations and values does, not of events. A filtered report is the
//! exception: the totals of some installations are in their batches' rows alone, so it
//! reads the rows of the window (`docs/collector.md`, "Filters").

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};

use super::records::installations;
use super::{BATCHES, IN_WINDOW, Sqlite, decode, err, lock, stored_count};
use crate::model::{EVENTS, add};
use crate::store::{Aggregates, DayCount, Pieces, StoreError, Window, new_day};

fn triples(map: HashMap<(String, String), u64>) -> Vec<(String, String, u64)> {
    map.into_iter().map(|((k, v), n)| (k, v, n)).collect()
}

/// Totals by kind, key and day.
type Totals = HashMap<(String, String, i64), u64>;

/// Totals per kind, key and day from day `from` to the window's last, summed here: SQL's
/// `SUM` fails past 2^63 and `TOTAL` is inexact, while these sums saturate at `MAX_COUNT`.
/// From `sums`, or, for the installations `only`, from their batches' rows. With the rows
/// skipped as holding no valid count.
fn day_totals(
    conn: &Connection,
    w: &Window,
    from: i64,
    only: Option<&HashSet<String>>,
) -> Result<(Totals, u64), StoreError> {
    let read = err("cannot read");
    let mut totals: Totals = HashMap::new();
    let mut skipped = 0;
    let mut put = |kind: &str, key: &str, day: i64, n: u64| {
        let t = totals
            .entry((kind.to_owned(), key.to_owned(), day))
            .or_default();
        *t = add(*t, n);
    };
    let p = params![from, w.to, w.app];
    if let Some(only) = only {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT install, day, counts FROM batches WHERE {IN_WINDOW}"
            ))
            .map_err(&read)?;
        let mut rows = stmt.query(p).map_err(&read)?;
        while let Some(row) = rows.next().map_err(&read)? {
            let install: String = row.get(0).map_err(&read)?;
            if !only.contains(&install) {
                continue;
            }
            let day: i64 = row.get(1).map_err(&read)?;
            let counts: String = row.get(2).map_err(&read)?;
            for (kind, key, n) in decode::<u64>(&counts) {
                put(kind, key, day, n);
            }
        }
        return Ok((totals, skipped));
    }
    let mut stmt = conn
        .prepare(&format!(
            "SELECT kind, key, day, total FROM sums WHERE {IN_WINDOW}"
        ))
        .map_err(&read)?;
    let mut rows = stmt.query(p).map_err(&read)?;
    while let Some(row) = rows.next().map_err(&read)? {
        let (Ok(kind), Ok(key), Ok(day), Some(n)) = (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, i64>(2),
            row.get_ref(3).ok().and_then(stored_count),
        ) else {
            skipped += 1;
            continue;
        };
        put(&kind, &key, day, n);
    }
    Ok((totals, skipped))
}

/// `(day, install)` of each row of `table` (`day_installs`, `day_sessions`) from day `from`
/// to the window's last, counted per day, of the installations `only` if given; with how
/// many distinct ones (`install` or `session`, column `distinct`) there were before the
/// window.
fn per_day_of(
    conn: &Connection,
    w: &Window,
    table: &str,
    distinct: &str,
    only: Option<&HashSet<String>>,
) -> Result<(HashMap<i64, u64>, u64), StoreError> {
    let read = err("cannot read");
    let Some(only) = only else {
        // Everyone: counted by SQLite, on the tables' keys.
        let mut days: HashMap<i64, u64> = HashMap::new();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT day, COUNT(*) FROM {table} WHERE {IN_WINDOW} GROUP BY app, day"
            ))
            .map_err(&read)?;
        let mut rows = stmt.query(params![w.from, w.to, w.app]).map_err(&read)?;
        while let Some(row) = rows.next().map_err(&read)? {
            let (day, n) = (row.get::<_, i64>(0), row.get::<_, i64>(1));
            // Rows are unique per app, day and id: an id belongs to one app.
            *days.entry(day.map_err(&read)?).or_default() += n.map_err(&read)? as u64;
        }
        let before: i64 = conn
            .query_row(
                &format!("SELECT COUNT(DISTINCT {distinct}) FROM {table} WHERE {IN_WINDOW}"),
                params![w.previous_from(), w.from - 1, w.app],
                |r| r.get(0),
            )
            .map_err(&read)?;
        return Ok((days, before as u64));
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT day, install, {distinct} FROM {table} WHERE {IN_WINDOW}"
        ))
        .map_err(&read)?;
    let mut rows = stmt
        .query(params![w.previous_from(), w.to, w.app])
        .map_err(&read)?;
    let mut days: HashMap<i64, u64> = HashMap::new();
    let mut before: HashSet<String> = HashSet::new();
    while let Some(row) = rows.next().map_err(&read)? {
        let day: i64 = row.get(0).map_err(&read)?;
        let install: String = row.get(1).map_err(&read)?;
        if !only.contains(&install) {
            continue;
        }
        if day >= w.from {
            // Rows are unique per app, day and id: an id belongs to one app.
            *days.entry(day).or_default() += 1;
        } else {
            before.insert(row.get(2).map_err(&read)?);
        }
    }
    Ok((days, before.len() as u64))
}

/// A read transaction on `conn` with its snapshot taken: every statement in it sees the
/// store as it was now. Rolled back when dropped (it only reads).
fn snapshot(conn: &Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    let read = err("cannot read");
    let tx = conn.unchecked_transaction().map_err(&read)?;
    // WAL mode takes the snapshot at a transaction's first read, not at `BEGIN`.
    tx.query_row(
        "SELECT count(*) FROM (SELECT 1 FROM installs LIMIT 1)",
        [],
        |_| Ok(()),
    )
    .map_err(&read)?;
    Ok(tx)
}

/// What a report over `w` is made of.
pub(super) fn aggregates(sqlite: &Sqlite, w: &Window) -> Result<Aggregates, StoreError> {
    let conn = lock(&sqlite.reader);
    let (found, rest) = if w.filters.is_empty() {
        // The records and the rest are independent: read at once, on a connection each,
        // the two halves of the work share the cores (ARCHITECTURE.md, `store/sqlite/`).
        // Both take their snapshot while no write can commit, so they read one moment: a
        // value's installations never count a batch its totals lack.
        let writes = lock(&sqlite.writer);
        let (pinned, on_pinned) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let records = std::thread::Builder::new().spawn_scoped(scope, move || {
                let records = lock(&sqlite.records);
                let tx = snapshot(&records);
                let _ = pinned.send(());
                let tx = tx?;
                installations(&tx, w)
            });
            let tx = snapshot(&conn);
            // An error or a panic in the thread drops `pinned`: this returns at once.
            let _ = on_pinned.recv();
            drop(writes);
            let rest = tx.and_then(|tx| counts(&tx, w, None));
            let records = match records {
                Ok(records) => records
                    .join()
                    .unwrap_or_else(|_| Err(StoreError("a read panicked".into()))),
                Err(e) => Err(StoreError::new("cannot start a reader thread", e)),
            };
            (records, rest)
        })
    } else {
        let tx = snapshot(&conn)?;
        let found = installations(&tx, w)?;
        let rest = counts(&tx, w, found.matching.as_ref());
        (Ok(found), rest)
    };
    let (found, rest) = (found?, rest?);
    let pieces = Pieces {
        installations: triples(found.per_value),
        latest: triples(found.latest),
        without_one: found.without_one,
        ..rest.pieces
    };
    let mut aggregates = pieces.assemble(w);
    aggregates.skipped_rows = rest.skipped;
    Ok(aggregates)
}

/// What a report reads besides the installations' records.
struct Counts {
    /// Everything but what the records give.
    pieces: Pieces,
    /// Rows skipped as holding no valid count.
    skipped: u64,
}

/// The totals, sessions and days of `w`, of the installations in `only` if given.
fn counts(
    conn: &Connection,
    w: &Window,
    only: Option<&HashSet<String>>,
) -> Result<Counts, StoreError> {
    let read = err("cannot read");
    let p = params![w.from, w.to, w.app];
    let (totals, mut skipped) = day_totals(conn, w, w.previous_from(), only)?;
    let mut sums: HashMap<(String, String), u64> = HashMap::new();
    let mut days: HashMap<i64, DayCount> = HashMap::new();
    let mut day_totals = Vec::with_capacity(totals.len());
    for ((kind, key, day), n) in totals {
        if day >= w.from {
            if kind == EVENTS {
                let d = new_day(&mut days, day);
                d.events = add(d.events, n);
            }
            let t = sums.entry((kind.clone(), key.clone())).or_default();
            *t = add(*t, n);
        }
        day_totals.push((kind, key, day, n));
    }
    let sessions = match only {
        None => conn
            .query_row(
                "SELECT COUNT(*) FROM sessions \
                 WHERE last_day >= ?1 AND ?2 = ?2 AND (?3 IS NULL OR app = ?3)",
                p,
                |r| r.get::<_, i64>(0),
            )
            .map_err(&read)? as u64,
        Some(only) => {
            let mut stmt = conn
                .prepare(
                    "SELECT install FROM sessions \
                     WHERE last_day >= ?1 AND ?2 = ?2 AND (?3 IS NULL OR app = ?3)",
                )
                .map_err(&read)?;
            let mut rows = stmt.query(p).map_err(&read)?;
            let mut n = 0u64;
            while let Some(row) = rows.next().map_err(&read)? {
                let install: String = row.get(0).map_err(&read)?;
                n += u64::from(only.contains(&install));
            }
            n
        }
    };
    // Per day: who was seen (or, for days the retention emptied, what was kept), and
    // the events, whose totals carry no id and are kept.
    let (installs_per_day, installs_before) = per_day_of(conn, w, "day_installs", "install", only)?;
    let (sessions_per_day, sessions_before) = per_day_of(conn, w, "day_sessions", "session", only)?;
    for (d, n) in installs_per_day {
        new_day(&mut days, d).installations = n;
    }
    for (d, n) in sessions_per_day {
        new_day(&mut days, d).sessions = n;
    }
    // What the retention kept of a day has no id: a filtered report cannot use it.
    if only.is_none() {
        let mut kept: HashMap<i64, (u64, u64)> = HashMap::new();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT day, installations, sessions FROM daily WHERE {IN_WINDOW}"
            ))
            .map_err(&read)?;
        let mut rows = stmt.query(p).map_err(&read)?;
        while let Some(row) = rows.next().map_err(&read)? {
            let (Ok(day), Some(i), Some(s)) = (
                row.get::<_, i64>(0),
                row.get_ref(1).ok().and_then(stored_count),
                row.get_ref(2).ok().and_then(stored_count),
            ) else {
                skipped += 1;
                continue;
            };
            let k = kept.entry(day).or_default();
            *k = (add(k.0, i), add(k.1, s));
        }
        for (d, (installations, sessions)) in kept {
            let entry = new_day(&mut days, d);
            if entry.installations == 0 {
                entry.installations = installations;
                entry.sessions = sessions;
            }
        }
    }
    let batches = sums
        .get(&(BATCHES.to_owned(), String::new()))
        .copied()
        .unwrap_or(0);
    let pieces = Pieces {
        installations: Vec::new(),
        latest: Vec::new(),
        totals: triples(sums),
        sessions,
        batches,
        per_day: days
            .into_values()
            .filter(|d| d.events > 0 || d.installations > 0)
            .collect(),
        day_totals,
        previous_installations: installs_before,
        previous_sessions: sessions_before,
        without_one: Vec::new(),
    };
    Ok(Counts { pieces, skipped })
}
