//! The installations' records (`installs.seen`: each value an installation sent and the
//! last day it sent it, as text lines) read for a report: distinct installations per
//! value, each installation's latest value of each kind that moves, and, with filters, the
//! installations that match (`docs/collector.md`, "Filters"). The records are the larger
//! half of an unfiltered report's work, so this is written for speed: each line's value is
//! numbered once ([`Values`]) and looked up first through a cache with no hashing of the
//! whole text.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use crate::model;
use crate::store::{Dimension, StoreError, Window, later, value_id};

use super::err;

/// What each installation's record (`installs`) says over a window.
#[derive(Default)]
pub(super) struct Installations {
    /// Distinct installations per kind and key, seen on or after the window's first day.
    pub(super) per_value: HashMap<(String, String), u64>,
    /// Installations at their latest value, per kind and key, for the kinds that move.
    pub(super) latest: HashMap<(String, String), u64>,
    /// With filters: the installations that match them all.
    pub(super) matching: Option<HashSet<String>>,
    /// With filters: for each, how many installations match all the others.
    pub(super) without_one: Vec<u64>,
}

/// Every value met in the records, once: a record's line is looked up by its `kind TAB
/// key` text, so reading 50,000 records allocates per distinct value, not per line.
struct Values {
    index: HashMap<Box<str>, usize>,
    /// By number: the kind, the key, its id ([`value_id`]), the moving kind's number (an
    /// index of `Dimension::ALL`), how many installations sent it, how many have it as
    /// their latest.
    of: Vec<Value>,
    /// The number last looked up for each cheap hash of a line ([`Values::slot`]), plus
    /// one; 0 for none. Most lines are a few hundred values met again and again: a hit,
    /// checked against the value's text, skips the `index`'s SipHash. The texts come from
    /// clients, who can only make lines miss here, never make `index` slower.
    recent: Vec<usize>,
}

/// Slots of [`Values::recent`]: a power of two, about eight times the values a record
/// names in a typical store.
const RECENT_SLOTS: usize = 4096;

impl Default for Values {
    fn default() -> Values {
        Values {
            index: HashMap::new(),
            of: Vec::new(),
            recent: vec![0; RECENT_SLOTS],
        }
    }
}

struct Value {
    /// `kind TAB key`, as records write it.
    line: Box<str>,
    id: u64,
    moving: Option<usize>,
    /// Whether it is one of the failure rates' (`model::BY_VERSION`, `BY_OS`): those are
    /// read for their totals, by release or OS, and their installations are not counted
    /// (as the ClickHouse store does not).
    crossed: bool,
    installations: u64,
    latest: u64,
    /// The last installation (by its place in the read, from 1) that sent it: a value in
    /// two of an installation's records (two apps) counts once.
    last_install: usize,
}

impl Value {
    /// Its kind and key.
    fn kind_key(&self) -> (&str, &str) {
        self.line.split_once('\t').unwrap_or((&self.line, ""))
    }
}

impl Values {
    /// A cheap hash of `line`: its length and first and last eight bytes.
    fn slot(line: &str) -> usize {
        let bytes = line.as_bytes();
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let head = word(&bytes[..bytes.len().min(8)]);
        let tail = word(&bytes[bytes.len().saturating_sub(8)..]);
        let h =
            (head ^ tail.rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 52) as usize % RECENT_SLOTS
    }

    /// The number of the value `line` (`kind TAB key`) names.
    fn number(&mut self, line: &str) -> usize {
        let slot = Values::slot(line);
        if let Some(n) = self.recent[slot].checked_sub(1)
            && *self.of[n].line == *line
        {
            return n;
        }
        let n = match self.index.get(line) {
            Some(n) => *n,
            None => self.add(line),
        };
        self.recent[slot] = n + 1;
        n
    }

    fn add(&mut self, line: &str) -> usize {
        let (kind, key) = line.split_once('\t').unwrap_or((line, ""));
        let moving = Dimension::ALL
            .iter()
            .position(|d| d.moves() && d.kind() == kind);
        self.of.push(Value {
            line: line.into(),
            id: value_id(kind, key),
            moving,
            crossed: kind == model::BY_VERSION || kind == model::BY_OS,
            installations: 0,
            latest: 0,
            last_install: 0,
        });
        self.index.insert(line.into(), self.of.len() - 1);
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
    /// Whether it matches each of `filters` (each the filter's value number, its
    /// dimension's index and whether it moves).
    fn matches(&self, filters: &[(usize, usize, bool)]) -> Vec<bool> {
        filters
            .iter()
            .map(|(value, dimension, moves)| {
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
pub(super) fn installations(conn: &Connection, w: &Window) -> Result<Installations, StoreError> {
    let read = err("cannot read");
    let mut stmt = conn
        .prepare(
            "SELECT install, seen FROM installs WHERE (?1 IS NULL OR app = ?1) ORDER BY install",
        )
        .map_err(&read)?;
    let mut rows = stmt.query([&w.app]).map_err(&read)?;
    let mut values = Values::default();
    let filters: Vec<(usize, usize, bool)> = w
        .filters
        .iter()
        .map(|(d, v)| {
            let at = Dimension::ALL.iter().position(|a| a == d).unwrap_or(0);
            (values.number(&format!("{}\t{v}", d.kind())), at, d.moves())
        })
        .collect();
    let mut matching = (!w.filters.is_empty()).then(HashSet::new);
    let mut without_one = vec![0; w.filters.len()];
    // Rows come by installation: one installation under two apps counts once.
    let mut current = String::new();
    // `current`'s place in the read: never 0, which is no installation's (a value's
    // `last_install` before any sent it), even for a first installation whose id is "".
    let mut place = 1;
    let mut one = OneInstall::default();
    let mut flush = |install: &str, one: &mut OneInstall, values: &mut Values| {
        let one = std::mem::take(one);
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
            place += 1;
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
            let v = &mut values.of[n];
            if v.crossed {
                continue;
            }
            if v.last_install != place {
                v.last_install = place;
                one.values.push(n);
            }
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
    for v in &values.of {
        let (kind, key) = v.kind_key();
        let pair = || (kind.to_owned(), key.to_owned());
        if v.latest > 0 {
            out.latest.insert(pair(), v.latest);
        }
        if v.installations > 0 {
            out.per_value.insert(pair(), v.installations);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbered_once_whatever_the_cache_holds() {
        let mut values = Values::default();
        // Lines with the same length, start and end share a slot of the cache: each must
        // still get its own number, and the same one each time.
        let a = "os\tlinux-aaaa-x-linux";
        let b = "os\tlinux-bbbb-x-linux";
        assert_eq!(Values::slot(a), Values::slot(b));
        let (na, nb) = (values.number(a), values.number(b));
        assert_ne!(na, nb);
        for _ in 0..3 {
            assert_eq!(values.number(a), na);
            assert_eq!(values.number(b), nb);
        }
        let short = values.number("os");
        assert_eq!(values.number(""), values.number(""));
        assert_ne!(short, values.number(""));
        assert_eq!(values.of.len(), 4);
        assert_eq!(values.of[na].kind_key(), ("os", "linux-aaaa-x-linux"));
        assert_eq!(
            values.of[na].moving,
            Dimension::ALL.iter().position(|d| *d == Dimension::Os)
        );
    }
}
