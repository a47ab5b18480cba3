//! A group of batches into the tables: one tab-separated `INSERT` per table.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::{ClickHouse, array, key_id, tsv};
use crate::model::{EVENTS, Prepared, hash};
use crate::store::StoreError;

impl ClickHouse {
    /// Stores `batches` (`Store::write`).
    pub(super) fn write_batches(&self, batches: &[Prepared]) -> Result<(), StoreError> {
        let ids: Vec<u64> = batches.iter().map(|b| hash(&b.batch_id)).collect();
        let known = self.known(&ids)?;
        let mut seen_here = HashSet::new();
        let (mut seen, mut rows, mut latest_rows, mut installs, mut sessions, mut key_rows) = (
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        );
        let mut latest: HashMap<(u64, &str, u64), i64> = HashMap::new();
        let mut new_keys = Vec::new();
        // The ids in `new_keys`, so a count looks its key up once rather than along the list.
        let mut queued = HashSet::new();
        {
            let written = self.keys_written.lock().unwrap_or_else(|e| e.into_inner());
            for (b, id) in batches.iter().zip(&ids) {
                if known.contains(id) || !seen_here.insert(*id) {
                    continue;
                }
                let app = tsv(&b.app);
                let _ = writeln!(seen, "{id}\t{}", b.day);
                if b.parts.is_empty() {
                    // No installation's events in it, but what was left out of it (events
                    // of types this release does not know) is counted: a row of its own,
                    // of no installation (`latest` has none, so no one is counted).
                    let left_out: Vec<_> = b.left_out_counts().collect();
                    if !left_out.is_empty() {
                        let keys: Vec<u64> =
                            left_out.iter().map(|(k, v, _)| key_id(k, v)).collect();
                        let _ = writeln!(
                            rows,
                            "{id}\t0\t{app}\t{}\t0\t0\t{}\t{}",
                            b.day,
                            array(keys.iter().copied()),
                            array(left_out.iter().map(|c| c.2)),
                        );
                        for (&(kind, key, _), k) in left_out.iter().zip(&keys) {
                            if !written.contains(k) && queued.insert(*k) {
                                new_keys.push((*k, kind, key));
                            }
                        }
                    }
                }
                for (i, part) in b.parts.iter().enumerate() {
                    let install = hash(&part.install);
                    let keys: Vec<u64> =
                        part.counts.iter().map(|c| key_id(c.kind, &c.key)).collect();
                    let _ = writeln!(
                        rows,
                        "{id}\t{install}\t{app}\t{}\t{}\t{}\t{}\t{}",
                        b.day,
                        u8::from(i == 0),
                        part.events,
                        array(keys.iter().copied()),
                        array(part.counts.iter().map(|c| c.value)),
                    );
                    for (c, k) in part.counts.iter().zip(&keys) {
                        if !written.contains(k) && queued.insert(*k) {
                            new_keys.push((*k, c.kind, c.key.as_str()));
                        }
                    }
                    for k in keys.iter().copied().chain([key_id(EVENTS, "")]) {
                        let last = latest.entry((k, b.app.as_str(), install)).or_insert(b.day);
                        *last = (*last).max(b.day);
                    }
                    let _ = writeln!(installs, "{app}\t{}\t{install}", b.day);
                    for s in &part.sessions {
                        let _ = writeln!(sessions, "{app}\t{}\t{}\t{install}", b.day, hash(s));
                    }
                }
            }
        }
        let events_key = key_id(EVENTS, "");
        if !self
            .keys_written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&events_key)
        {
            new_keys.push((events_key, EVENTS, ""));
        }
        for ((key, app, install), day) in &latest {
            let _ = writeln!(latest_rows, "{key}\t{}\t{install}\t{day}", tsv(app));
        }
        for (id, kind, key) in &new_keys {
            let _ = writeln!(key_rows, "{id}\t{}\t{}", tsv(kind), tsv(key));
        }
        // The value names first, the `seen` marks last: a batch is only known once all its
        // rows are in, so a failure part-way is retried whole rather than lost.
        self.insert("keys", &key_rows)?;
        self.insert("batches", &rows)?;
        self.insert("latest", &latest_rows)?;
        self.insert("day_installs", &installs)?;
        self.insert("day_sessions", &sessions)?;
        self.insert("seen", &seen)?;
        self.keys_written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(new_keys.iter().map(|k| k.0));
        Ok(())
    }
}
