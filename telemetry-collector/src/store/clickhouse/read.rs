//! The report's reads: nine queries run at once, and the totals they add up to.
//!
//! `batches` is summed without `FINAL` (ten times faster on a table of many parts); the
//! copies two collectors stored of one batch, until ClickHouse merges them, are found on
//! the two id columns and taken out.

use std::collections::HashMap;

use serde_json::Value;

use super::{ClickHouse, id, ids, number, numbers, quote};
use crate::model::{self, EVENTS};
use crate::store::{Aggregates, DayCount, Pieces, StoreError, Window, new_day};

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

/// What a report over `w` is made of.
pub(super) fn aggregates(ch: &ClickHouse, w: &Window) -> Result<Aggregates, StoreError> {
    let db = &ch.db;
    let win = ch.window(w);
    let app = w
        .app
        .as_ref()
        .map(|a| format!(" AND app = {}", quote(a)))
        .unwrap_or_default();
    let from = w.from;
    // The queries are independent: run at once, they share the server's cores.
    let queries = [
        format!(
            // Summed as `Float64`: a `UInt64` sum wraps past 2^64 without a word.
            "SELECT day, e, b, tupleElement(m, 1) AS k, tupleElement(m, 2) AS t FROM \
             (SELECT day, sumMap(keys, arrayMap(x -> toFloat64(x), totals)) AS m, \
             sum(events) AS e, sum(first) AS b \
             FROM {db}.batches WHERE {win} GROUP BY day)"
        ),
        format!(
            // Copies are rare: find them on the two id columns alone, then read only
            // theirs (grouping every row with its arrays costs ten times as much).
            "SELECT day, count() AS c, any(first) AS b, any(events) AS e, any(keys) AS k, \
             any(totals) AS t FROM {db}.batches WHERE {win} AND (batch, install) IN \
             (SELECT batch, install FROM {db}.batches WHERE {win} GROUP BY batch, install \
             HAVING count() > 1) GROUP BY day, batch, install"
        ),
        format!(
            "SELECT day, events AS e, batches AS b, keys AS k, totals AS t \
             FROM {db}.kept FINAL WHERE {win}"
        ),
        format!(
            "SELECT key, uniqExact(install) AS n FROM {db}.latest \
             WHERE last_day >= {from}{app} GROUP BY key"
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
             WHERE {win} GROUP BY day"
        ),
    ];
    let (answers, names) = std::thread::scope(|scope| {
        let running: Vec<_> = queries
            .iter()
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
    // Days the retention emptied keep their totals.
    for r in &kept {
        if !totals.contains_key(&day_of(r)) {
            add_totals(&mut totals, r, 1, true);
        }
    }
    let text = |id: &u64| names.get(id).cloned();
    let mut pieces = Pieces {
        installations: latest
            .iter()
            .filter_map(|r| {
                let (kind, key) = text(&id(&r["key"]))?;
                Some((kind, key, number(&r["n"])))
            })
            .collect(),
        sessions: sessions.first().map_or(0, |r| number(&r["n"])),
        ..Pieces::default()
    };
    let mut by_value: HashMap<u64, u64> = HashMap::new();
    let mut per_day: HashMap<i64, DayCount> = HashMap::new();
    let mut events = 0;
    for (day, (e, b, values)) in &totals {
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
    Ok(pieces.assemble())
}
