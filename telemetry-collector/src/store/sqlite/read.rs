//! The report's reads: the aggregate tables, never every batch, so a report costs what
//! the number of installations and values does, not of events. A filtered report is the
//! exception: the totals of some installations are in their batches' rows alone, so it
//! reads the rows of the window (`docs/collector.md`, "Filters").

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};

use super::{BATCHES, IN_WINDOW, Sqlite, decode, err, lock, stored_count};
use crate::model::{EVENTS, add};
use crate::store::{
    Aggregates, DayCount, Dimension, Pieces, StoreError, Window, later, new_day, value_id,
};

/// What each installation's record (`installs`) says over a window.
#[derive(Default)]
struct Installations {
    /// Distinct installations per kind and key, seen on or after the window's first day.
    per_value: HashMap<(String, String), u64>,
    /// Installations at their latest value, per kind and key, for the kinds that move.
    latest: HashMap<(String, String), u64>,
    /// With filters: the installations that match them all.
    matching: Option<HashSet<String>>,
    /// With filters: for each, how many installations match all the others.
    without_one: Vec<u64>,
}

/// Every value met in the records, once: a record's line is looked up by its `kind TAB
/// key` text, so reading 50,000 records allocates per distinct value, not per line.
#[derive(Default)]
struct Values {
    index: HashMap<String, usize>,
    /// By number: the kind, the key, its id ([`value_id`]), the moving kind's number (an
    /// index of `Dimension::ALL`), how many installations sent it, how many have it as
    /// their latest.
    of: Vec<Value>,
}

struct Value {
    kind: String,
    key: String,
    id: u64,
    moving: Option<usize>,
    installations: u64,
    latest: u64,
}

impl Values {
    /// The number of the value `line` (`kind TAB key`) names.
    fn number(&mut self, line: &str) -> usize {
        if let Some(n) = self.index.get(line) {
            return *n;
        }
        let (kind, key) = line.split_once('\t').unwrap_or((line, ""));
        let moving = Dimension::ALL
            .iter()
            .position(|d| d.moves() && d.kind() == kind);
        self.of.push(Value {
            kind: kind.to_owned(),
            key: key.to_owned(),
            id: value_id(kind, key),
            moving,
            installations: 0,
            latest: 0,
        });
        self.index.insert(line.to_owned(), self.of.len() - 1);
        self.of.len() - 1
    }
}

/// One installation's values in the window (by number), and the latest of each kind that
/// moves (by `Dimension::ALL` index: the value's number and day).
#[derive(Default)]
struct OneInstall {
    values: Vec<usize>,
    latest: [Option<(usize, i64)>; Dimension::ALL.len()],
}

impl OneInstall {
    /// Whether it matches each of `filters` (each the filter's value number, if any
    /// record holds it, and its dimension's index).
    fn matches(&self, filters: &[(Option<usize>, usize, bool)]) -> Vec<bool> {
        filters
            .iter()
            .map(|(value, dimension, moves)| {
                let Some(value) = value else { return false };
                if *moves {
                    self.latest[*dimension].is_some_and(|(n, _)| n == *value)
                } else {
                    self.values.contains(value)
                }
            })
            .collect()
    }
}

/// Read from each installation's record.
fn installations(conn: &Connection, w: &Window) -> Result<Installations, StoreError> {
    let read = err("cannot read");
    let mut stmt = conn
        .prepare(
            "SELECT install, seen FROM installs WHERE (?1 IS NULL OR app = ?1) ORDER BY install",
        )
        .map_err(&read)?;
    let mut rows = stmt.query([&w.app]).map_err(&read)?;
    let mut values = Values::default();
    let filters: Vec<(Option<usize>, usize, bool)> = w
        .filters
        .iter()
        .map(|(d, v)| {
            let at = Dimension::ALL.iter().position(|a| a == d).unwrap_or(0);
            (
                Some(values.number(&format!("{}\t{v}", d.kind()))),
                at,
                d.moves(),
            )
        })
        .collect();
    let mut matching = (!w.filters.is_empty()).then(HashSet::new);
    let mut without_one = vec![0; w.filters.len()];
    // Rows come by installation: one installation under two apps counts once.
    let mut current = String::new();
    let mut one = OneInstall::default();
    let mut flush = |install: &str, one: &mut OneInstall, values: &mut Values| {
        let mut one = std::mem::take(one);
        if one.values.is_empty() {
            return;
        }
        if let Some(matching) = &mut matching {
            let matches = one.matches(&filters);
            let failed = matches.iter().filter(|m| !**m).count();
            for (i, m) in matches.iter().enumerate() {
                // It matches every filter but (perhaps) this one.
                if failed == 0 || (failed == 1 && !m) {
                    without_one[i] += 1;
                }
            }
            if failed > 0 {
                return;
            }
            matching.insert(install.to_owned());
        }
        one.values.sort_unstable();
        one.values.dedup();
        for n in one.values {
            values.of[n].installations += 1;
        }
        for (n, _) in one.latest.into_iter().flatten() {
            values.of[n].latest += 1;
        }
    };
    while let Some(row) = rows.next().map_err(&read)? {
        let text = |i: usize| -> Result<&str, StoreError> {
            row.get_ref(i)
                .map_err(&read)?
                .as_str()
                .map_err(|e| StoreError::new("cannot read", e))
        };
        let install = text(0)?;
        if install != current {
            flush(&current, &mut one, &mut values);
            current.clear();
            current.push_str(install);
        }
        let seen = text(1)?;
        for line in seen.lines() {
            let Some((value, day)) = line.rsplit_once('\t') else {
                continue;
            };
            let Ok(day) = day.parse::<i64>() else {
                continue;
            };
            if day < w.from {
                continue;
            }
            let n = values.number(value);
            one.values.push(n);
            let v = &values.of[n];
            if let Some(d) = v.moving {
                let held = one.latest[d].map(|(h, day)| (day, values.of[h].id));
                if later(day, v.id, held) {
                    one.latest[d] = Some((n, day));
                }
            }
        }
    }
    flush(&current, &mut one, &mut values);
    let mut out = Installations {
        matching,
        without_one,
        ..Installations::default()
    };
    for v in values.of {
        if v.latest > 0 {
            out.latest.insert((v.kind.clone(), v.key.clone()), v.latest);
        }
        if v.installations > 0 {
            out.per_value.insert((v.kind, v.key), v.installations);
        }
    }
    Ok(out)
}

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

/// What a report over `w` is made of.
pub(super) fn aggregates(sqlite: &Sqlite, w: &Window) -> Result<Aggregates, StoreError> {
    let conn = lock(&sqlite.reader);
    let (found, rest) = if w.filters.is_empty() {
        // The records and the rest are independent: read at once, on a connection each,
        // the two halves of the work share the cores (ARCHITECTURE.md, `store/sqlite/`).
        std::thread::scope(|scope| {
            let records = scope.spawn(|| installations(&lock(&sqlite.records), w));
            let rest = counts(&conn, w, None);
            let records = records
                .join()
                .unwrap_or_else(|_| Err(StoreError("a read panicked".into())));
            (records, rest)
        })
    } else {
        let found = installations(&conn, w)?;
        let rest = counts(&conn, w, found.matching.as_ref());
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
