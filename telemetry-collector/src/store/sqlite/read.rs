//! The report's reads: the aggregate tables, never every batch, so a report costs what
//! the number of installations and values does, not of events.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};

use super::{BATCHES, IN_WINDOW, Sqlite, decode, err, lock, stored_count};
use crate::model::{EVENTS, add};
use crate::store::{Aggregates, DayCount, Pieces, StoreError, Window, new_day};

/// Distinct installations per kind and key, seen on or after the window's first day: read
/// from each installation's record.
fn installations(conn: &Connection, w: &Window) -> Result<Vec<(String, String, u64)>, StoreError> {
    let read = err("cannot read");
    let mut stmt = conn
        .prepare(
            "SELECT install, seen FROM installs WHERE (?1 IS NULL OR app = ?1) ORDER BY install",
        )
        .map_err(&read)?;
    let mut rows = stmt.query([&w.app]).map_err(&read)?;
    let mut counts: HashMap<(String, String), u64> = HashMap::new();
    // Rows come by installation: one installation under two apps counts once.
    let mut current = String::new();
    let mut values: HashSet<(String, String)> = HashSet::new();
    let mut flush = |values: &mut HashSet<(String, String)>| {
        for v in values.drain() {
            *counts.entry(v).or_default() += 1;
        }
    };
    while let Some(row) = rows.next().map_err(&read)? {
        let install: String = row.get(0).map_err(&read)?;
        if install != current {
            flush(&mut values);
            current = install;
        }
        let seen: String = row.get(1).map_err(&read)?;
        for (kind, key, day) in decode::<i64>(&seen) {
            if day >= w.from {
                values.insert((kind.to_owned(), key.to_owned()));
            }
        }
    }
    flush(&mut values);
    Ok(counts
        .into_iter()
        .map(|((kind, key), n)| (kind, key, n))
        .collect())
}

/// What a report over `w` is made of.
pub(super) fn aggregates(sqlite: &Sqlite, w: &Window) -> Result<Aggregates, StoreError> {
    let conn = lock(&sqlite.reader);
    let read = err("cannot read");
    let p = params![w.from, w.to, w.app];
    let mut skipped = 0u64;
    // Totals per kind and key, and events per day, summed here: SQL's `SUM` fails past
    // 2^63 and `TOTAL` is inexact, while these sums saturate at `MAX_COUNT`.
    let mut totals: HashMap<(String, String), u64> = HashMap::new();
    let mut day_events: HashMap<i64, u64> = HashMap::new();
    {
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
            if kind == EVENTS {
                let e = day_events.entry(day).or_default();
                *e = add(*e, n);
            }
            let t = totals.entry((kind, key)).or_default();
            *t = add(*t, n);
        }
    }
    let mut pieces = Pieces {
        installations: installations(&conn, w)?,
        totals: totals
            .into_iter()
            .map(|((kind, key), n)| (kind, key, n))
            .collect(),
        // Seen on or after the first day of the window (which ends today).
        sessions: conn
            .query_row(
                "SELECT COUNT(*) FROM sessions \
                 WHERE last_day >= ?1 AND ?2 = ?2 AND (?3 IS NULL OR app = ?3)",
                p,
                |r| r.get::<_, i64>(0),
            )
            .map_err(&read)? as u64,
        ..Pieces::default()
    };
    pieces.batches = pieces
        .totals
        .iter()
        .find(|(k, _, _)| k == BATCHES)
        .map_or(0, |t| t.2);
    let pairs = |sql: &str| -> Result<Vec<(i64, u64)>, StoreError> {
        let mut stmt = conn.prepare(sql).map_err(&read)?;
        stmt.query_map(p, |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .and_then(Iterator::collect)
            .map_err(&read)
    };
    // Per day: who was seen (or, for days the retention emptied, what was kept), and
    // the events, whose totals carry no id and are kept.
    let mut days: HashMap<i64, DayCount> = HashMap::new();
    for (d, n) in pairs(&format!(
        "SELECT day, COUNT(*) FROM day_installs WHERE {IN_WINDOW} GROUP BY app, day"
    ))? {
        // An installation id belongs to one app: per-app counts add up.
        new_day(&mut days, d).installations += n;
    }
    for (d, n) in pairs(&format!(
        "SELECT day, COUNT(*) FROM day_sessions WHERE {IN_WINDOW} GROUP BY app, day"
    ))? {
        new_day(&mut days, d).sessions += n;
    }
    for (d, n) in day_events {
        new_day(&mut days, d).events = n;
    }
    let mut kept: HashMap<i64, (u64, u64)> = HashMap::new();
    {
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
    }
    for (d, (installations, sessions)) in kept {
        let entry = new_day(&mut days, d);
        if entry.installations == 0 {
            entry.installations = installations;
            entry.sessions = sessions;
        }
    }
    pieces.per_day = days
        .into_values()
        .filter(|d| d.events > 0 || d.installations > 0)
        .collect();
    let mut aggregates = pieces.assemble();
    aggregates.skipped_rows = skipped;
    Ok(aggregates)
}
