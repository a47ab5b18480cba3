//! A received batch, turned into what every store keeps: per installation in the batch,
//! its sessions, how many events it sent, and each count it carries, summed by *kind* and
//! *key* (a feature used, a metric, an error type, a command, a version, a custom field…).
//! Nothing is kept that the batch did not hold, and nothing of the request: no address, no
//! header, no event id, no exact hour.
//!
//! A batch counts on the day of its first event (`ARCHITECTURE.md`, "Collector").

use telemetry_runtime::{
    CollectionConfig, LeftOut, MAX_COUNT, Narrowing, ReceivedBatch, ReceivedBody,
};

/// What the kind of the count of events is called in the stores.
pub const EVENTS: &str = "*events";
/// The count of `usage` events: its installations are what feature shares are shares of.
pub const USAGE: &str = "*usage";
/// The kind of what a batch held that this release does not know (keys `fields`,
/// `event_types`, `values`): counted, never stored as text.
pub const LEFT_OUT: &str = "*left_out";
/// The key every value past a cardinality cap is counted under (`Caps`, and per batch
/// [`PER_BATCH`]); the report folds it into `other`. No value on the wire can be it.
pub const OVERFLOW: &str = "*overflow";
/// The kind under which an installation in a collection config's sample is counted, keyed
/// by the sample (`0.5`): what the report scales its counts up by.
pub const SAMPLED: &str = "*sampled";
/// Distinct values of one kind (error types, commands, custom fields…) one batch may add;
/// the rest count under [`OVERFLOW`]. A real batch holds a handful.
pub const PER_BATCH: usize = 256;
/// Installations in one batch, at most: a runtime's batch holds one.
pub const MAX_INSTALLATIONS: usize = 16;
/// Run outcomes and errors by the app version the events were sent from, keyed
/// `VERSION OUTCOME` ([`OUTCOMES`]): what failure rates per release are read from.
pub const BY_VERSION: &str = "by_version";
/// The same by operating system, keyed `OS OUTCOME`.
pub const BY_OS: &str = "by_os";
/// What [`BY_VERSION`] and [`BY_OS`] count: the usage metrics of runs and their ends, and
/// `errors` (every error type's occurrences, summed).
pub const OUTCOMES: [&str; 7] = [
    "flow_runs.calls",
    "flow_runs.err",
    "flow_runs.panics",
    "task_runs.calls",
    "task_runs.err",
    "task_runs.panics",
    "errors",
];
/// The usage metrics that describe an installation rather than count what it did: each
/// counted as a kind of its own, keyed by a range of its value ([`described`]), so a report
/// shows how installations are spread over them instead of a sum over batches.
pub const DESCRIBED: [&str; 2] = ["flows_defined", "tasks_defined"];

/// Every kind of count a [`Part`] holds, as `&'static str`: what a count read back (the
/// write-ahead log, `wal.rs`) is matched against.
const KINDS: [&str; 20] = [
    "app_version",
    "sdk_version",
    "rust_version",
    "os",
    "arch",
    "environment",
    "interactive",
    "integration",
    "feature",
    "metric",
    "error",
    "command",
    "custom",
    "custom_field",
    "flows_defined",
    "tasks_defined",
    BY_VERSION,
    BY_OS,
    USAGE,
    LEFT_OUT,
];

/// `kind` as the `&'static str` a [`Count`] holds, if it is one.
pub fn static_kind(kind: &str) -> Option<&'static str> {
    KINDS.iter().copied().find(|k| *k == kind)
}

/// A batch, ready to store.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub batch_id: String,
    /// The app the endpoint named (`?app=`), or empty.
    pub app: String,
    /// The day of its first kept event (days since 1970-01-01).
    pub day: i64,
    /// One per installation among its events (almost always one).
    pub parts: Vec<Part>,
    /// Events left out as older than the retention.
    pub too_old: usize,
    /// Events left out by the collection config (not kept in the write-ahead log: it only
    /// decides whether a batch is kept at all).
    pub narrowed_away: usize,
    /// What the reader left out as unknown to this release.
    pub left_out: LeftOut,
}

impl Prepared {
    /// The counts of what was left out, as `(LEFT_OUT, key, n)`; none if nothing was.
    pub fn left_out_counts(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> {
        let l = self.left_out;
        [
            ("fields", l.fields),
            ("event_types", l.event_types),
            ("values", l.values),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(key, n)| (LEFT_OUT, key, n.min(MAX_COUNT)))
    }
}

/// What one installation sent in a batch.
#[derive(Clone, Debug, Default)]
pub struct Part {
    /// The installation id; for events without one, `session:` and the session id, so
    /// such hosts are counted by session.
    pub install: String,
    /// Its sessions (processes), each once.
    pub sessions: Vec<String>,
    /// Its events.
    pub events: u64,
    /// Each count by kind and key, summed over its events, each (kind, key) once.
    pub counts: Vec<Count>,
}

/// A count of a [`Part`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    pub kind: &'static str,
    pub key: String,
    pub value: u64,
}

impl Part {
    /// Each count's key replaced by `admit(kind, key)` (a cap's [`OVERFLOW`]), and counts
    /// that now share a key merged.
    pub fn rekey(&mut self, mut admit: impl FnMut(&'static str, &str) -> bool) {
        for c in &mut self.counts {
            if !admit(c.kind, &c.key) {
                c.key = OVERFLOW.to_owned();
            }
        }
        self.merge();
    }

    /// Counts of the same kind and key summed into the first of them. Through an index,
    /// not a search: a 1 MiB batch can hold 50,000 distinct names in one part.
    fn merge(&mut self) {
        let mut at: std::collections::HashMap<(&'static str, String), usize> =
            std::collections::HashMap::with_capacity(self.counts.len());
        let mut merged: Vec<Count> = Vec::with_capacity(self.counts.len());
        for c in std::mem::take(&mut self.counts) {
            match at.entry((c.kind, c.key)) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    let m = &mut merged[*e.get()];
                    m.value = add(m.value, c.value);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    let key = e.key().1.clone();
                    e.insert(merged.len());
                    merged.push(Count {
                        kind: c.kind,
                        key,
                        value: c.value.min(MAX_COUNT),
                    });
                }
            }
        }
        self.counts = merged;
    }

    /// A count, merged with its kind and key's others by [`Part::merge`].
    fn push(&mut self, kind: &'static str, key: &str, value: u64) {
        self.counts.push(Count {
            kind,
            key: key.to_owned(),
            value,
        });
    }

    fn add(&mut self, kind: &'static str, key: &str, value: u64) {
        match self
            .counts
            .iter_mut()
            .find(|c| c.kind == kind && c.key == key)
        {
            // Counts are at most 2^53 - 1 each, but a batch may repeat one 10,000 times:
            // the sum saturates rather than wraps, here and in every store.
            Some(c) => c.value = c.value.saturating_add(value).min(MAX_COUNT),
            None => self.counts.push(Count {
                kind,
                key: key.to_owned(),
                value: value.min(MAX_COUNT),
            }),
        }
    }
}

/// The rows of `batch`, sent to the endpoint of `app` and arrived on `today`. Events from
/// before day `cutoff` are left out: the retention would delete them at its next run, and
/// their day's totals are already kept. With a collection `config`, what it leaves out is
/// left out here too (a client that has not fetched it yet sends it all), and an
/// installation in a sample is marked with the sample it is in ([`SAMPLED`]), for the
/// report's estimates.
pub fn prepare(
    batch: ReceivedBatch,
    app: &str,
    today: i64,
    cutoff: i64,
    config: Option<&CollectionConfig>,
) -> Prepared {
    let mut parts: Vec<Part> = Vec::new();
    let mut day = None;
    let (mut too_old, mut narrowed_away) = (0, 0);
    let left_out = batch.left_out;
    // Most batches hold one app version: its narrowing, worked out once.
    let mut narrowings: Vec<(String, Narrowing)> = Vec::new();
    for e in batch.events {
        let event_day = e.hour.div_euclid(24);
        if event_day < cutoff {
            too_old += 1;
            continue;
        }
        let narrowing =
            config.map(
                |c| match narrowings.iter().find(|(v, _)| *v == e.app_version) {
                    Some((_, n)) => n.clone(),
                    None => {
                        let n = c.narrowing(app, &e.app_version);
                        narrowings.push((e.app_version.clone(), n.clone()));
                        n
                    }
                },
            );
        let keep = |path: &[&str]| narrowing.as_ref().is_none_or(|n| n.keeps(path));
        if let Some(n) = &narrowing {
            let unit = e.installation_id.as_deref().unwrap_or(&e.session_id);
            let kept_whole = match &e.body {
                ReceivedBody::Custom { name, .. } => keep(&["custom", name]),
                // An error event with no error type left says nothing: the client drops it.
                ReceivedBody::Error { types } => {
                    types.is_empty() || types.iter().any(|(t, _)| keep(&["errors", t]))
                }
                _ => true,
            };
            if !n.includes(unit) || !n.keeps_event_type(e.body.event_type()) || !kept_whole {
                narrowed_away += 1;
                continue;
            }
        }
        day.get_or_insert(event_day);
        let install = match e.installation_id {
            Some(id) => id,
            None => format!("session:{}", e.session_id),
        };
        let at = match parts.iter().position(|p| p.install == install) {
            Some(at) => at,
            // Refused whole past this (`ingest.rs`): no need to look further, and the
            // search along `parts` stays short.
            None if parts.len() > MAX_INSTALLATIONS => break,
            None => {
                parts.push(Part {
                    install,
                    ..Part::default()
                });
                parts.len() - 1
            }
        };
        let part = &mut parts[at];
        part.events += 1;
        if !part.sessions.contains(&e.session_id) {
            part.sessions.push(e.session_id);
        }
        if let Some(sample) = narrowing
            .as_ref()
            .map(Narrowing::sample)
            .filter(|s| *s < 1.0)
        {
            part.push(SAMPLED, &sample.to_string(), 1);
        }
        match &e.body {
            ReceivedBody::Session {
                interactive,
                environment,
                integrations,
            } => {
                // Constant for a process: counted once per session, on its `session` event.
                part.push("app_version", &e.app_version, 1);
                part.push("sdk_version", &e.sdk_version, 1);
                part.push("rust_version", &e.rust_version, 1);
                part.push("os", &e.os, 1);
                part.push("arch", &e.arch, 1);
                part.push("environment", environment, 1);
                part.push(
                    "interactive",
                    if *interactive { "true" } else { "false" },
                    1,
                );
                for name in integrations.iter().filter(|n| keep(&["integrations", n])) {
                    part.push("integration", name, 1);
                }
            }
            ReceivedBody::Usage { features, metrics } => {
                part.push(USAGE, "", 1);
                for (feature, used) in features {
                    if *used && keep(&["features", feature]) {
                        part.push("feature", feature, 1);
                    }
                }
                for (path, n) in metrics {
                    let mut segments = vec!["metrics"];
                    segments.extend(path.split('.'));
                    if !keep(&segments) {
                        continue;
                    }
                    if let Some(kind) = DESCRIBED.iter().copied().find(|k| *k == path.as_str()) {
                        part.push(kind, described(*n), 1);
                    }
                    if *n > 0 {
                        part.push("metric", path, *n);
                        if OUTCOMES.contains(&path.as_str()) {
                            part.push(BY_VERSION, &format!("{} {path}", e.app_version), *n);
                            part.push(BY_OS, &format!("{} {path}", e.os), *n);
                        }
                    }
                }
            }
            ReceivedBody::Error { types } => {
                let mut errors = 0;
                for (name, n) in types.iter().filter(|(t, _)| keep(&["errors", t])) {
                    part.push("error", name, *n);
                    errors = add(errors, *n);
                }
                if errors > 0 {
                    part.push(BY_VERSION, &format!("{} errors", e.app_version), errors);
                    part.push(BY_OS, &format!("{} errors", e.os), errors);
                }
            }
            ReceivedBody::Heartbeat { .. } => {}
            ReceivedBody::CliCommand { command } => part.push("command", command, 1),
            ReceivedBody::Custom { name, fields } => {
                part.push("custom", name, 1);
                for (field, value) in fields.iter().filter(|(f, _)| keep(&["custom", name, f])) {
                    part.push("custom_field", &format!("{name}.{field}={value}"), 1);
                }
            }
        }
    }
    for part in &mut parts {
        part.merge();
    }
    let mut prepared = Prepared {
        batch_id: batch.batch_id,
        app: app.to_owned(),
        // A client's clock a little ahead (up to a day, `ingest.rs`) counts on today, so a
        // batch lands in every total of the same window.
        day: day.unwrap_or(today).min(today),
        parts,
        too_old,
        narrowed_away,
        left_out,
    };
    // At most `PER_BATCH` distinct values of a kind per batch; the rest count as one.
    let mut seen: std::collections::HashMap<&'static str, std::collections::HashSet<String>> =
        std::collections::HashMap::new();
    for part in &mut prepared.parts {
        part.rekey(|kind, key| {
            let keys = seen.entry(kind).or_default();
            keys.contains(key) || (keys.len() < PER_BATCH && keys.insert(key.to_owned()))
        });
    }
    // Counted with the batch's first part, so they come off the totals with it if that
    // installation is deleted. A batch with no part left keeps them itself (the stores
    // write its `left_out_counts`).
    let counts: Vec<_> = prepared.left_out_counts().collect();
    if let Some(first) = prepared.parts.first_mut() {
        for (kind, key, n) in counts {
            first.add(kind, key, n);
        }
    }
    prepared
}

/// The range a [`DESCRIBED`] metric's value `n` falls in: what is stored of it.
pub fn described(n: u64) -> &'static str {
    match n {
        0 => "0",
        1 => "1",
        2..=4 => "2-4",
        5..=16 => "5-16",
        17..=64 => "17-64",
        65..=256 => "65-256",
        _ => ">256",
    }
}

/// The largest scaled-up estimate a report shows: [`MAX_COUNT`], as a float.
pub const MAX_SCALED: f64 = MAX_COUNT as f64;

/// `a + b`, at most `MAX_COUNT`: how every stored count adds up.
pub fn add(a: u64, b: u64) -> u64 {
    a.saturating_add(b).min(MAX_COUNT)
}

/// A stable 64-bit hash (FNV-1a) of `s`: how the ClickHouse store keys ids and values, so
/// it keeps no id in the clear and sorts on numbers.
pub fn hash(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

/// [`hash`] of any bytes (the write-ahead log's record checksum).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    hash_of(bytes.iter().copied())
}

/// [`hash`] of bytes as they come, so pieces can be hashed as one without being joined.
pub fn hash_of(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_at_the_wire_maximum() {
        let sample = telemetry_runtime::__testing::sample_batch();
        let mut batch: serde_json::Value = serde_json::from_slice(&sample).unwrap();
        let mut usage = batch["events"][1].clone();
        usage["metrics"]["cache_hits"] = MAX_COUNT.into();
        // The usage event 3,000 times over: its count 3,000 times the maximum.
        batch["events"] = serde_json::Value::Array(vec![usage; 3000]);
        let body = serde_json::to_vec(&batch).unwrap();
        let p = prepare(crate::parse::batch(&body).unwrap(), "", 20_000, 0, None);
        let hits = p.parts[0]
            .counts
            .iter()
            .find(|c| c.kind == "metric" && c.key == "cache_hits")
            .unwrap();
        assert_eq!(hits.value, MAX_COUNT);
        assert_eq!(add(MAX_COUNT, MAX_COUNT), MAX_COUNT);
    }

    #[test]
    fn the_hash_is_fnv_1a() {
        // The published FNV-1a 64 values: the stores depend on them staying put.
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
