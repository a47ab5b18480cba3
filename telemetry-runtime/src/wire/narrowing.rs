//! What a collection config asks of one app and version (docs/collection.md): a
//! [`Narrowing`] of the compiled-in schema, applied to a batch as the writer makes it; and
//! the sample draw, the same on the client and the collector.

use std::collections::BTreeSet;

use crate::wire::json::Json;

/// What a config asks of one app and version: the compiled-in schema, narrowed.
#[derive(Clone, Debug, PartialEq)]
pub struct Narrowing {
    sample: f64,
    /// The event types sent; `None`: all of them.
    send: Option<BTreeSet<String>>,
    /// Paths left out, by segment.
    omit: Vec<Vec<String>>,
    interval_secs: Option<u64>,
}

impl Default for Narrowing {
    fn default() -> Narrowing {
        Narrowing::everything()
    }
}

impl Narrowing {
    /// No narrowing: what the compiled-in schema sends.
    pub fn everything() -> Narrowing {
        Narrowing {
            sample: 1.0,
            send: None,
            omit: Vec::new(),
            interval_secs: None,
        }
    }

    /// What a rule's keys ask: a `sample` (1 if not given), the event types to `send` (all
    /// if not given), the paths to `omit`, an `interval_secs`.
    pub(crate) fn of(
        sample: Option<f64>,
        send: Option<Vec<String>>,
        omit: Option<Vec<String>>,
        interval_secs: Option<u64>,
    ) -> Narrowing {
        Narrowing {
            sample: sample.unwrap_or(1.0),
            send: send.map(|names| names.into_iter().collect()),
            omit: omit
                .unwrap_or_default()
                .iter()
                .map(|p| segments(p))
                .collect(),
            interval_secs,
        }
    }

    /// Whether it narrows nothing.
    pub fn is_everything(&self) -> bool {
        *self == Narrowing::everything()
    }

    /// The fraction of installations that send at all, from 0 to 1.
    pub fn sample(&self) -> f64 {
        self.sample
    }

    /// The shortest time between two batches of a long-running process, if the config
    /// sets one.
    pub fn interval_secs(&self) -> Option<u64> {
        self.interval_secs
    }

    /// Whether the installation (or, for a host that sends no installation id, the
    /// session) with random id `id` is in the sample: for good, as its id never changes,
    /// and the same on the client and the collector.
    pub fn includes(&self, id: &str) -> bool {
        self.sample >= 1.0 || sample_draw(id) < self.sample
    }

    /// Whether events of type `event_type` are sent.
    pub fn keeps_event_type(&self, event_type: &str) -> bool {
        self.send.as_ref().is_none_or(|s| s.contains(event_type)) && self.keeps(&[event_type])
    }

    /// Whether what `path` names is sent: `["metrics", "flow_runs", "err"]`,
    /// `["features", "caching"]`, `["integrations", "postgres"]`, `["errors", "panic"]`,
    /// `["custom", "deploy_finished", "region"]`. Left out when an `omit` path is the whole of
    /// it or a part of it from the start.
    pub fn keeps(&self, path: &[&str]) -> bool {
        !self
            .omit
            .iter()
            .any(|o| o.len() <= path.len() && o.iter().zip(path).all(|(a, b)| a == b))
    }

    /// One line for `status` and the dashboard: `sample 0.5; send session, usage; omit
    /// metrics.cache_hits`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.sample < 1.0 {
            parts.push(format!("sample {}", self.sample));
        }
        if let Some(send) = &self.send {
            let names: Vec<&str> = send.iter().map(String::as_str).collect();
            parts.push(format!("send only {}", names.join(", ")));
        }
        if !self.omit.is_empty() {
            let paths: Vec<String> = self.omit.iter().map(|p| printable(&p.join("."))).collect();
            parts.push(format!("omit {}", paths.join(", ")));
        }
        if let Some(secs) = self.interval_secs {
            parts.push(format!("at most one batch every {secs} s"));
        }
        if parts.is_empty() {
            "nothing left out".to_owned()
        } else {
            parts.join("; ")
        }
    }

    /// `batch` (a batch's JSON, as the writer makes it) narrowed: events of types not sent
    /// removed, paths left out removed, and every event removed if its installation is not
    /// in the sample. `false` if no event is left.
    pub(crate) fn narrow(&self, batch: &mut Json) -> bool {
        Narrowing::narrow_each(batch, |_| self.clone())
    }

    /// `batch` narrowed event by event, each by what `narrowing_of` says for its
    /// `app_version` (a spooled batch may hold another version's events); `false` if no
    /// event is left.
    pub(crate) fn narrow_each(batch: &mut Json, narrowing_of: impl Fn(&str) -> Narrowing) -> bool {
        let Json::Object(fields) = batch else {
            return false;
        };
        let Some((_, Json::Array(events))) = fields.iter_mut().find(|(k, _)| k == "events") else {
            return false;
        };
        let mut known: Vec<(String, Narrowing)> = Vec::new();
        events.retain_mut(|event| {
            let version = event
                .get("app_version")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            let at = match known.iter().position(|(v, _)| *v == version) {
                Some(at) => at,
                None => {
                    let n = narrowing_of(&version);
                    known.push((version, n));
                    known.len() - 1
                }
            };
            known[at].1.narrow_event(event)
        });
        !events.is_empty()
    }

    fn narrow_event(&self, event: &mut Json) -> bool {
        let text = |key: &str| event.get(key).and_then(Json::as_str).map(str::to_owned);
        let (Some(event_type), Some(session)) = (text("event_type"), text("session_id")) else {
            return false;
        };
        let unit = text("installation_id").unwrap_or(session);
        if !self.includes(&unit) || !self.keeps_event_type(&event_type) {
            return false;
        }
        let Json::Object(fields) = event else {
            return false;
        };
        let name = fields
            .iter()
            .find(|(k, _)| k == "name")
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned);
        for (key, value) in fields.iter_mut() {
            match (event_type.as_str(), key.as_str()) {
                ("usage", "metrics" | "features") => self.prune(value, &mut vec![key.clone()]),
                ("session", "integrations") => {
                    if let Json::Array(names) = value {
                        names.retain(|n| {
                            n.as_str().is_some_and(|n| self.keeps(&["integrations", n]))
                        });
                    }
                }
                ("error", "errors") => {
                    if let Json::Object(inner) = value {
                        for (_, types) in inner.iter_mut() {
                            if let Json::Object(types) = types {
                                types.retain(|(t, _)| self.keeps(&["errors", t]));
                            }
                        }
                    }
                }
                ("custom", "fields") => {
                    let name = name.as_deref().unwrap_or_default();
                    if let Json::Object(inner) = value {
                        inner.retain(|(f, _)| self.keeps(&["custom", name, f]));
                    }
                }
                _ => {}
            }
        }
        match event_type.as_str() {
            "custom" => self.keeps(&["custom", name.as_deref().unwrap_or_default()]),
            // An error event with no error type left says nothing.
            "error" => event
                .get("errors")
                .and_then(|e| e.get("exception_types"))
                .is_some_and(|t| matches!(t, Json::Object(t) if !t.is_empty())),
            _ => true,
        }
    }

    /// Removes, under `value` at `path`, every key whose path is left out.
    fn prune(&self, value: &mut Json, path: &mut Vec<String>) {
        if let Json::Object(fields) = value {
            fields.retain_mut(|(key, inner)| {
                path.push(key.clone());
                let segments: Vec<&str> = path.iter().map(String::as_str).collect();
                let kept = self.keeps(&segments);
                if kept {
                    self.prune(inner, path);
                }
                path.pop();
                kept
            });
        }
    }
}

/// Where the installation (or session) with random id `id` falls in `[0, 1)`: the same for
/// the same id, on every machine and in every release, and unrelated to any other hash of
/// the id. An installation is in a sample of `s` when its draw is below `s`, so lowering
/// `s` only ever takes installations out.
///
/// ```
/// let draw = telemetry_runtime::sample_draw("6f1c0000-0000-4000-8000-000000000000");
/// assert!((0.0..1.0).contains(&draw));
/// ```
pub fn sample_draw(id: &str) -> f64 {
    // FNV-1a over a domain tag and the id in lowercase, then SplitMix64's finaliser to
    // spread FNV's weak low bits; the top 53 bits as a fraction.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"telemetry-sample:"
        .iter()
        .copied()
        .chain(id.bytes().map(|b| b.to_ascii_lowercase()))
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// `path` split at its dots; an error type (`errors.std::io::Error(NotFound)`) is one
/// segment whatever it holds.
pub(crate) fn segments(path: &str) -> Vec<String> {
    match path.split_once('.') {
        Some(("errors", rest)) => vec!["errors".to_owned(), rest.to_owned()],
        _ => path.split('.').map(str::to_owned).collect(),
    }
}

/// A name or path as it may be shown back: printable ASCII, at most 64 characters.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}
