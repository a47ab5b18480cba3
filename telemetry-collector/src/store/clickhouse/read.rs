//! The report's reads: eleven queries and a read of the value names, run at once, and the
//! totals they add up to.
//!
//! `batches` is summed without `FINAL` (ten times faster on a table of many parts); the
//! copies two collectors stored of one batch, until ClickHouse merges them, are found on
//! the two id columns and taken out.

use std::collections::HashMap;

use serde_json::Value;

use std::fmt::Write as _;

use super::{ClickHouse, id, ids, number, numbers, quote};
use crate::model::{self, EVENTS};
use crate::store::{
    Aggregates, DayCount, Dimension, Pieces, StoreError, Window, new_day, value_id,
};

/// Per day: the events, the batches, and each value's total.
type DayTotals = HashMap<i64, (u64, u64, HashMap<u64, u64>)>;

/// Adds a row of columns `day`, `e` (events), `b` (batches), `k` (value ids) and `t` (their
/// totals) to `into`, `times` times, or takes it out `times` times if not `add`; saturating
/// at 0 and `MAX_COUNT`.
fn add_totals(into: &mut DayTotals, r: &Value, times: u64, add: bool) {
    let entry = into
        .entry(r["day"].as_i64().unwrap_or_default())
        .or_default();
    let apply = |v: &mut u64, n: u64| {
        let n = n.saturating_mul(times);
        *v = if add {
            model::add(*v, n)
        } else {
            v.saturating_sub(n)
        };
    };
    apply(&mut entry.0, number(&r["e"]));
    apply(&mut entry.1, number(&r["b"]));
    for (k, t) in ids(&r["k"]).iter().zip(numbers(&r["t"])) {
        apply(entry.2.entry(*k).or_default(), t);
    }
}

/// Which of a value's rows is the latest, as one number: its day, then the high half of
/// its id (`store::later`, the same order the SQLite store uses).
const RANK: &str = "bitOr(bitShiftLeft(toUInt64(last_day), 32), bitShiftRight(key, 32))";

/// ` AND install IN (…)` for each of the window's filters (nothing without one): the
/// installations whose latest value of a kind that moves is the one asked for, or that sent
/// the value asked for, on or after the window's first day.
fn only_of(db: &str, w: &Window) -> String {
    let app = w
        .app
        .as_ref()
        .map(|a| format!(" AND app = {}", quote(a)))
        .unwrap_or_default();
    let mut sql = String::new();
    for (d, value) in &w.filters {
        let id = value_id(d.kind(), value);
        let from = w.from;
        if d.moves() {
            let _ = write!(
                sql,
                " AND install GLOBAL IN (SELECT install FROM {db}.latest WHERE key GLOBAL IN \
                 (SELECT id FROM {db}.keys WHERE kind = {kind}) AND last_day >= {from}{app} \
                 GROUP BY install HAVING argMax(key, {RANK}) = {id})",
                kind = quote(d.kind()),
            );
        } else {
            let _ = write!(
                sql,
                " AND install GLOBAL IN (SELECT install FROM {db}.latest WHERE key = {id} \
                 AND last_day >= {from}{app})"
            );
        }
    }
    sql
}

/// What a report over `w` is made of.
pub(super) fn aggregates(ch: &ClickHouse, w: &Window) -> Result<Aggregates, StoreError> {
    let db = &ch.db;
    let only = only_of(db, w);
    let filtered = !w.filters.is_empty();
    // The window, and the window with the period before it, of the chosen installations.
    let win = format!("{}{only}", ch.window(w));
    let both = format!(
        "{}{only}",
        ch.window(&Window {
            from: w.previous_from(),
            ..w.clone()
        })
    );
    let before = format!(
        "{}{only}",
        ch.window(&Window {
            from: w.previous_from(),
            to: w.from - 1,
            ..w.clone()
        })
    );
    let app = w
        .app
        .as_ref()
        .map(|a| format!(" AND app = {}", quote(a)))
        .unwrap_or_default();
    let from = w.from;
    let moving: Vec<String> = Dimension::ALL
        .iter()
        .filter(|d| d.moves())
        .map(|d| quote(d.kind()))
        .collect();
    // One `argMaxIf` per kind that moves (numbered from 1, as `indexOf` numbers them),
    // beside whether the installation sent that kind at all: without, `argMaxIf` gives 0,
    // which a value's id can also be.
    let each_kind = |of: &dyn Fn(usize) -> String| -> String {
        (1..=moving.len()).map(of).collect::<Vec<_>>().join(", ")
    };
    let latest_of_each = each_kind(&|k| format!("argMaxIf(key, r, k = {k})"));
    let has_each = each_kind(&|k| format!("countIf(k = {k}) > 0"));
    let moving = moving.join(", ");
    let crossed = format!("{}, {}", quote(model::BY_VERSION), quote(model::BY_OS));
    // What the retention kept of a day has no id: a filtered report cannot use it.
    let unfiltered = if filtered { " AND 0" } else { "" };
    // The queries are independent: run at once, they share the server's cores.
    let queries = [
        format!(
            // Summed as `Float64`: a `UInt64` sum wraps past 2^64 without a word.
            "SELECT day, e, b, tupleElement(m, 1) AS k, tupleElement(m, 2) AS t FROM \
             (SELECT day, sumMap(keys, arrayMap(x -> toFloat64(x), totals)) AS m, \
             sum(events) AS e, sum(first) AS b \
             FROM {db}.batches WHERE {both} GROUP BY day)"
        ),
        format!(
            // Copies are rare: find them on the two id columns alone, then read only
            // theirs (grouping every row with its arrays costs ten times as much).
            "SELECT day, count() AS c, any(first) AS b, any(events) AS e, any(keys) AS k, \
             any(totals) AS t FROM {db}.batches WHERE {both} AND (batch, install) GLOBAL IN \
             (SELECT batch, install FROM {db}.batches WHERE {both} GROUP BY batch, install \
             HAVING count() > 1) GROUP BY day, batch, install"
        ),
        format!(
            "SELECT day, events AS e, batches AS b, keys AS k, totals AS t \
             FROM {db}.kept FINAL WHERE {}{unfiltered}",
            ch.window(&Window {
                from: w.previous_from(),
                ..w.clone()
            })
        ),
        format!(
            // Not the failure rates' values: they are folded by their release or OS.
            "SELECT key, uniqExact(install) AS n FROM {db}.latest \
             WHERE key GLOBAL NOT IN (SELECT id FROM {db}.keys WHERE kind IN ({crossed})) \
             AND last_day >= {from}{app}{only} GROUP BY key"
        ),
        format!("SELECT uniqExact(session) AS n FROM {db}.day_sessions WHERE {win}"),
        format!(
            "SELECT day, uniqExact(install) AS n FROM {db}.day_installs WHERE {win} GROUP BY day"
        ),
        format!(
            "SELECT day, uniqExact(session) AS n FROM {db}.day_sessions WHERE {win} GROUP BY day"
        ),
        format!(
            "SELECT day, sum(installations) AS i, sum(sessions) AS s FROM {db}.daily FINAL \
             WHERE {}{unfiltered} GROUP BY day",
            ch.window(w)
        ),
        format!(
            // Each installation once per kind that moves, at its latest value: the rows
            // of those kinds first (found on the table's key), numbered by kind, then one
            // group per installation holding each kind's latest (a group per installation
            // and kind costs twice as much).
            "SELECT v AS key, count() AS n FROM (SELECT install, [{latest_of_each}] AS vs, \
             [{has_each}] AS hs FROM (SELECT install, key, {RANK} AS r FROM {db}.latest \
             PREWHERE key GLOBAL IN (SELECT id FROM {db}.keys WHERE kind IN ({moving})) \
             WHERE last_day >= {from}{app}{only}) GLOBAL ALL INNER JOIN \
             (SELECT DISTINCT id AS key, toUInt8(indexOf([{moving}], kind)) AS k \
             FROM {db}.keys WHERE kind IN ({moving})) USING key GROUP BY install) \
             ARRAY JOIN vs AS v, hs AS h WHERE h GROUP BY v"
        ),
        format!("SELECT uniqExact(install) AS n FROM {db}.day_installs WHERE {before}"),
        format!("SELECT uniqExact(session) AS n FROM {db}.day_sessions WHERE {before}"),
    ];
    // With filters: the installations each leaves in, as the others match them.
    let without_one: Vec<String> = (0..w.filters.len())
        .map(|i| {
            let others = only_of(db, &w.without(i));
            format!(
                "SELECT uniqExact(install) AS n FROM {db}.latest \
                 WHERE last_day >= {from}{app}{others}"
            )
        })
        .collect();
    let (answers, names) = std::thread::scope(|scope| {
        let running: Vec<_> = queries
            .iter()
            .chain(&without_one)
            .map(|sql| scope.spawn(move || ch.rows(sql)))
            .collect();
        let names = ch.key_names();
        let answers: Vec<_> = running
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(StoreError("a query panicked".into())))
            })
            .collect();
        (answers, names)
    });
    let names = names?;
    let mut answers = answers.into_iter();
    let mut next = || answers.next().unwrap_or_else(|| Ok(Vec::new()));
    let (sums, copies, kept, latest, sessions, day_installs, day_sessions, daily) = (
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
    );
    let (at_latest, installs_before, sessions_before) = (next()?, next()?, next()?);
    let mut left_in = Vec::new();
    for _ in &without_one {
        left_in.push(next()?.first().map_or(0, |r| number(&r["n"])));
    }

    let day_of = |r: &Value| r["day"].as_i64().unwrap_or_default();
    let mut totals: DayTotals = HashMap::new();
    for r in &sums {
        add_totals(&mut totals, r, 1, true);
    }
    // Copies of a batch two collectors stored at once, not merged away yet.
    for r in &copies {
        let extra = number(&r["c"]).saturating_sub(1);
        add_totals(&mut totals, r, extra, false);
    }
    // Days the retention emptied keep their totals: a row per app and day, every app's
    // added for a day no batch is left of.
    let emptied: Vec<i64> = kept
        .iter()
        .map(day_of)
        .filter(|d| !totals.contains_key(d))
        .collect();
    for r in &kept {
        if emptied.contains(&day_of(r)) {
            add_totals(&mut totals, r, 1, true);
        }
    }
    let text = |id: &u64| names.get(id).cloned();
    let per_key = |rows: &[Value]| -> Vec<(String, String, u64)> {
        rows.iter()
            .filter_map(|r| {
                let (kind, key) = text(&id(&r["key"]))?;
                Some((kind, key, number(&r["n"])))
            })
            .collect()
    };
    let first = |rows: &[Value]| rows.first().map_or(0, |r| number(&r["n"]));
    let mut pieces = Pieces {
        installations: per_key(&latest),
        latest: per_key(&at_latest),
        sessions: first(&sessions),
        previous_installations: first(&installs_before),
        previous_sessions: first(&sessions_before),
        without_one: left_in,
        ..Pieces::default()
    };
    let mut by_value: HashMap<u64, u64> = HashMap::new();
    let mut per_day: HashMap<i64, DayCount> = HashMap::new();
    let mut events = 0;
    for (day, (e, b, values)) in &totals {
        for (k, t) in values {
            if let Some((kind, key)) = text(k) {
                pieces.day_totals.push((kind, key, *day, *t));
            }
        }
        pieces
            .day_totals
            .push((EVENTS.to_owned(), String::new(), *day, *e));
        if *day < w.from {
            continue;
        }
        events = model::add(events, *e);
        pieces.batches = model::add(pieces.batches, *b);
        for (k, t) in values {
            let v = by_value.entry(*k).or_default();
            *v = model::add(*v, *t);
        }
        new_day(&mut per_day, *day).events = *e;
    }
    pieces.totals = by_value
        .iter()
        .filter_map(|(id, t)| {
            let (kind, key) = text(id)?;
            Some((kind, key, *t))
        })
        .chain([(EVENTS.to_owned(), String::new(), events)])
        .collect();
    for r in &day_installs {
        new_day(&mut per_day, day_of(r)).installations = number(&r["n"]);
    }
    for r in &day_sessions {
        new_day(&mut per_day, day_of(r)).sessions = number(&r["n"]);
    }
    for r in &daily {
        let d = new_day(&mut per_day, day_of(r));
        if d.installations == 0 {
            d.installations = number(&r["i"]);
            d.sessions = number(&r["s"]);
        }
    }
    pieces.per_day = per_day
        .into_values()
        .filter(|d| d.events > 0 || d.installations > 0)
        .collect();
    Ok(pieces.assemble(w))
}
