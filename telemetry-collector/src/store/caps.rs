//! The cardinality caps: how many distinct values of a kind a store takes for one app
//! within the retention (`ARCHITECTURE.md`, "No client can grow what others read").

use std::collections::HashMap;

use super::Dimension;
#[cfg(doc)]
use super::OVERFLOW;
use crate::model::Prepared;

/// Distinct values of one kind (error types, commands, versions…) a store takes for one app
/// within the retention, at most: values past it count under [`OVERFLOW`], so no client can
/// grow a breakdown, the report's time or the collector's memory without bound. A value not
/// counted for the whole retention frees its place, so a product's new values of next year
/// are not shut out by this year's; and each app has caps of its own, so batches sent for
/// one cannot fill another's.
pub const PER_STORE: usize = 2_000;

/// The values a store keeps of each app and kind within the retention, with the last day
/// each was counted, to cap them ([`PER_STORE`]).
pub(crate) struct Caps {
    retention_days: i64,
    /// By app, then kind.
    known: HashMap<String, HashMap<&'static str, Cap>>,
    /// The latest day a batch was of: values last counted before its retention are let go.
    latest: i64,
    /// Caps found full, and not yet said so (the writer logs them), as (app, kind).
    newly_full: Vec<(String, &'static str)>,
}

/// One app and kind's values, and whether its filling up was said.
#[derive(Default)]
struct Cap {
    last_day: HashMap<String, i64>,
    said_full: bool,
}

impl Caps {
    /// Caps with `known` (app, kind, key, last day) already kept, for a retention of
    /// `retention_days`.
    pub(crate) fn new(known: Vec<(String, String, String, i64)>, retention_days: u32) -> Caps {
        let mut caps = Caps {
            retention_days: i64::from(retention_days),
            known: HashMap::new(),
            latest: i64::MIN,
            newly_full: Vec::new(),
        };
        let kinds: Vec<&'static str> = Dimension::ALL.iter().map(|d| d.kind()).collect();
        for (app, kind, key, day) in known {
            if let Some(kind) = kinds.iter().find(|k| **k == kind) {
                let cap = caps.known.entry(app).or_default().entry(kind).or_default();
                let last = cap.last_day.entry(key).or_insert(day);
                *last = (*last).max(day);
            }
        }
        caps
    }

    /// `batch` with every value past its app and kind's cap counted under [`OVERFLOW`].
    pub(crate) fn apply(&mut self, batch: &mut Prepared) {
        if batch.day > self.latest {
            // A new day: what was last counted before the retention's start is gone from
            // the store's rows (the retention deletes it), so its place is free.
            self.latest = batch.day;
            let start = batch.day.saturating_sub(self.retention_days);
            for cap in self.known.values_mut().flat_map(HashMap::values_mut) {
                cap.last_day.retain(|_, last| *last >= start);
                cap.said_full &= cap.last_day.len() >= PER_STORE;
            }
        }
        let day = batch.day;
        let Caps {
            known, newly_full, ..
        } = self;
        let caps = known.entry(batch.app.clone()).or_default();
        for part in &mut batch.parts {
            part.rekey(|kind, key| {
                // The stores' own kinds (`*events`, `*usage`…) hold a few fixed keys.
                if kind.starts_with('*') {
                    return true;
                }
                let cap = caps.entry(kind).or_default();
                if let Some(last) = cap.last_day.get_mut(key) {
                    *last = (*last).max(day);
                    return true;
                }
                if cap.last_day.len() < PER_STORE {
                    cap.last_day.insert(key.to_owned(), day);
                    return true;
                }
                if !cap.said_full {
                    cap.said_full = true;
                    newly_full.push((batch.app.clone(), kind));
                }
                false
            });
        }
    }

    /// The caps that filled since the last call, as (app, kind).
    pub(crate) fn take_newly_full(&mut self) -> Vec<(String, &'static str)> {
        std::mem::take(&mut self.newly_full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Count, OVERFLOW, Part};

    /// A batch of day `day` counting error types `names`.
    fn errors(day: i64, names: impl Iterator<Item = String>) -> Prepared {
        Prepared {
            batch_id: String::new(),
            app: String::new(),
            day,
            parts: vec![Part {
                install: "i".into(),
                sessions: vec!["s".into()],
                events: 1,
                counts: names
                    .map(|key| Count {
                        kind: "error",
                        key,
                        value: 1,
                    })
                    .collect(),
            }],
            too_old: 0,
            narrowed_away: 0,
            left_out: Default::default(),
        }
    }

    fn keys(batch: &Prepared) -> Vec<&str> {
        batch.parts[0]
            .counts
            .iter()
            .map(|c| c.key.as_str())
            .collect()
    }

    #[test]
    fn a_cap_holds_within_the_retention_and_frees_what_it_outlives() {
        let mut caps = Caps::new(vec![("".into(), "error".into(), "kept".into(), 100)], 30);
        // The store's value plus 1,999 new ones fill the cap; the rest are one overflow.
        let mut first = errors(100, (0..2_100).map(|n| format!("a{n}")));
        caps.apply(&mut first);
        assert_eq!(first.parts[0].counts.len(), 1_999 + 1);
        let overflow = first.parts[0].counts.last().unwrap();
        assert_eq!((overflow.key.as_str(), overflow.value), (OVERFLOW, 101));
        // A value already kept is still taken; a new one is not.
        let mut again = errors(120, ["kept".to_owned(), "new".to_owned()].into_iter());
        caps.apply(&mut again);
        assert_eq!(keys(&again), ["kept", OVERFLOW]);
        // 31 days after day 100 only "kept" (counted on day 120) is still within the
        // retention: the other places are free again.
        let mut later = errors(131, ["new".to_owned()].into_iter());
        caps.apply(&mut later);
        assert_eq!(keys(&later), ["new"]);
        assert_eq!(caps.known[""]["error"].last_day.len(), 2);
        assert_eq!(caps.take_newly_full(), [(String::new(), "error")]);
        assert!(caps.take_newly_full().is_empty(), "said once");
        // Another app has caps of its own.
        let mut other = errors(131, ["fresh".to_owned()].into_iter());
        other.app = "other".into();
        caps.apply(&mut other);
        assert_eq!(keys(&other), ["fresh"]);
    }
}
