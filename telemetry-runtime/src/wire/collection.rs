//! A collection config: what a maintainer's collector asks its clients to leave out, without
//! a release (docs/collection.md). The collector serves it (`GET /v1/config`) and enforces
//! it; the worker fetches it and applies it before a batch is written to the spool.
//!
//! A config can only **narrow**: whatever it says, a client sends a subset of what its
//! schema allows and its user agreed to. It can leave out event types, fields, metrics,
//! features, integrations, error types and custom events; keep installations out by
//! sampling; and make batches rarer. It has no way to add anything: there is no key that
//! names something to collect, a `sample` outside 0 to 1 refuses the whole document, an
//! interval can only lengthen the client's own, and a malformed or unknown document is no
//! config at all (the compiled-in schema, as before any config existed).
//!
//! # Compatibility
//!
//! The document follows the wire's contract (docs/compatibility.md): `config_version` says
//! how to read it; a newer config may add keys, event types and paths, which a client of
//! this release ignores (it narrows less than asked, never more than its schema allows; the
//! collector still enforces the rest), and lists them in [`CollectionConfig::unknown`].

use std::collections::BTreeSet;

use crate::wire::json::Json;
use crate::wire::narrowing::Narrowing;
use crate::wire::narrowing::{printable, segments};
use crate::wire::schema::{CONTRACT, Shape};
use crate::wire::text::is_name;

/// The `config_version` this release reads.
pub const COLLECTION_CONFIG_VERSION: u64 = 1;

/// The largest config document read, in bytes: a client keeps no more, a collector serves
/// no more.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024;

/// Rules under `apps`, at most, all apps together.
const MAX_RULES: usize = 256;
/// Entries of one `send` or `omit` list, at most.
const MAX_LIST: usize = 256;
/// The longest path in `omit`.
const MAX_PATH: usize = 128;
/// The longest `versions` range.
const MAX_RANGE: usize = 64;
/// The longest `interval_secs`: a day, the longest interval a worker keeps.
const MAX_INTERVAL_SECS: u64 = 24 * 3600;
/// The smallest `sample` other than 0: an estimate scales counts by its inverse.
const MIN_SAMPLE: f64 = 1e-6;
/// The deepest nesting a document may have: a config is a few levels deep, and the kept
/// copy wraps it in one more.
const MAX_DEPTH: usize = 16;

/// A config document's tag: `c-` and the FNV-1a hash of its bytes, in hex. The collector
/// sends it as its `ETag` (quoted); the client shows it in `status` and `log` (worked out
/// from the bytes it got, never sent back).
///
/// ```
/// assert_eq!(telemetry_runtime::collection_tag(b""), "c-cbf29ce484222325");
/// ```
pub fn collection_tag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("c-{hash:016x}")
}

/// Why a config document was not read: its first problem and where it is (`at`, the keys
/// leading to it as the document names them), never a value it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// What is wrong.
    pub error: String,
    /// Where: `apps.acme[0].sample`, or empty for the whole document.
    pub at: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.error)
        } else {
            write!(f, "{} at {}", self.error, self.at)
        }
    }
}

impl std::error::Error for ConfigError {}

fn bad(error: &str, at: &str) -> ConfigError {
    ConfigError {
        error: error.to_owned(),
        at: at.to_owned(),
    }
}

/// One rule: each key it gives overrides the one before it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Rule {
    sample: Option<f64>,
    send: Option<Vec<String>>,
    omit: Option<Vec<String>>,
    interval_secs: Option<u64>,
}

impl Rule {
    fn narrowing(&self) -> Narrowing {
        let r = self.clone();
        Narrowing::of(r.sample, r.send, r.omit, r.interval_secs)
    }
}

/// A rule for one app, and the versions of it it applies to.
#[derive(Clone, Debug, PartialEq)]
struct AppRule {
    app: String,
    /// The range as written, and as read.
    versions: Option<(String, semver::VersionReq)>,
    rule: Rule,
}

/// A collection config, read and checked.
///
/// ```
/// use telemetry_runtime::CollectionConfig;
///
/// let config = CollectionConfig::parse(br#"{
///   "config_version": 1,
///   "default": { "sample": 1.0, "omit": ["metrics.cache_hits"] },
///   "apps": { "acme": [ { "versions": "<0.3.0", "sample": 0.5 } ] }
/// }"#).unwrap();
/// let old = config.narrowing("acme", "0.2.9");
/// assert_eq!(old.sample(), 0.5);
/// assert!(!old.keeps(&["metrics", "cache_hits"]));
/// assert_eq!(config.narrowing("acme", "0.3.0").sample(), 1.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionConfig {
    default: Rule,
    apps: Vec<AppRule>,
    unknown: Vec<String>,
}

impl CollectionConfig {
    /// Reads a config document: at most [`MAX_CONFIG_BYTES`], UTF-8 JSON, each key once,
    /// `config_version` 1, every value of its type and range.
    pub fn parse(bytes: &[u8]) -> Result<CollectionConfig, ConfigError> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(bad("the config is over 16 KiB", ""));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("the config is not UTF-8", ""))?;
        let json =
            Json::parse_with_decimals(text).ok_or_else(|| bad("the config is not JSON", ""))?;
        if depth(&json) > MAX_DEPTH {
            return Err(bad("the config is nested more than 16 deep", ""));
        }
        let mut reader = Read::default();
        let top = reader.object(&json, "")?;
        match top.iter().find(|(k, _)| k == "config_version") {
            Some((_, Json::Int(COLLECTION_CONFIG_VERSION))) => {}
            Some(_) => {
                return Err(bad(
                    "a config_version this release does not read",
                    "config_version",
                ));
            }
            None => return Err(bad("config_version is missing", "")),
        }
        let mut config = CollectionConfig {
            default: Rule::default(),
            apps: Vec::new(),
            unknown: Vec::new(),
        };
        for (key, value) in top {
            match key.as_str() {
                "config_version" => {}
                "default" => config.default = reader.rule(value, "default", false)?.1,
                "apps" => {
                    for (app, rules) in reader.object(value, "apps")? {
                        let at = format!("apps.{app}");
                        if !is_name(app) {
                            return Err(bad("an app is a name (a-z, 0-9, _ and -)", &at));
                        }
                        let Json::Array(rules) = rules else {
                            return Err(bad("an app's rules are a list", &at));
                        };
                        for (i, rule) in rules.iter().enumerate() {
                            if config.apps.len() >= MAX_RULES {
                                return Err(bad("more than 256 app rules", "apps"));
                            }
                            let (versions, rule) =
                                reader.rule(rule, &format!("{at}[{i}]"), true)?;
                            config.apps.push(AppRule {
                                app: app.clone(),
                                versions,
                                rule,
                            });
                        }
                    }
                }
                other => reader.unknown.push(other.to_owned()),
            }
        }
        config.unknown = reader.unknown;
        Ok(config)
    }

    /// What this release did not understand and ignores: keys, event types and paths a
    /// newer config may use. A collector refuses to start with any (a typo narrows
    /// nothing); a client narrows by the rest.
    pub fn unknown(&self) -> &[String] {
        &self.unknown
    }

    /// One line per rule, for a dashboard: `default: sample 0.5`, `acme <0.3.0: omit
    /// metrics.cache_hits`. Each line says what that rule asks on its own (an app's rule
    /// takes the default's keys it does not give).
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!("default: {}", self.default.narrowing().describe())];
        for r in &self.apps {
            let versions = r
                .versions
                .as_ref()
                .map(|(text, _)| format!(" {}", printable(text)))
                .unwrap_or_default();
            lines.push(format!(
                "{}{versions}: {}",
                r.app,
                r.rule.narrowing().describe()
            ));
        }
        lines
    }

    /// What applies to version `app_version` of `app`: `default`, with each key the first
    /// matching rule of `app` gives instead (a rule without `versions` matches every version;
    /// one with `versions` matches a version that range takes, as Cargo reads ranges).
    pub fn narrowing(&self, app: &str, app_version: &str) -> Narrowing {
        let mut rule = self.default.clone();
        let version = semver_of(app_version);
        let matched = self.apps.iter().find(|r| {
            r.app == app
                && match &r.versions {
                    None => true,
                    Some((_, range)) => version.as_ref().is_some_and(|v| range.matches(v)),
                }
        });
        if let Some(r) = matched {
            let o = r.rule.clone();
            rule.sample = o.sample.or(rule.sample);
            rule.send = o.send.or(rule.send);
            rule.omit = o.omit.or(rule.omit);
            rule.interval_secs = o.interval_secs.or(rule.interval_secs);
        }
        rule.narrowing()
    }
}

/// `text` as a semver version: `1.2` as `1.2.0`, `1` as `1.0.0`; four numbers have no
/// semver form.
fn semver_of(text: &str) -> Option<semver::Version> {
    let (core, tag) = match text.split_once('-') {
        Some((core, tag)) => (core, Some(tag)),
        None => (text, None),
    };
    let padded = match core.split('.').count() {
        1 => format!("{core}.0.0"),
        2 => format!("{core}.0"),
        _ => core.to_owned(),
    };
    let full = match tag {
        Some(tag) => format!("{padded}-{tag}"),
        None => padded,
    };
    semver::Version::parse(&full).ok()
}

/// The reading of one document: what it did not understand, so far.
#[derive(Default)]
struct Read {
    unknown: Vec<String>,
}

impl Read {
    /// `json` as an object whose keys are each given once.
    fn object<'a>(&self, json: &'a Json, at: &str) -> Result<&'a [(String, Json)], ConfigError> {
        let Json::Object(fields) = json else {
            return Err(bad("an object is expected", at));
        };
        let mut seen = BTreeSet::new();
        for (key, _) in fields {
            if !seen.insert(key.as_str()) {
                return Err(bad("a key is given twice", &join(at, key)));
            }
        }
        Ok(fields)
    }

    /// A rule at `at`, and its `versions` if `in_app`.
    #[allow(clippy::type_complexity)]
    fn rule(
        &mut self,
        json: &Json,
        at: &str,
        in_app: bool,
    ) -> Result<(Option<(String, semver::VersionReq)>, Rule), ConfigError> {
        let mut rule = Rule::default();
        let mut versions = None;
        for (key, value) in self.object(json, at)? {
            let here = join(at, key);
            match key.as_str() {
                "sample" => rule.sample = Some(fraction(value, &here)?),
                "send" => {
                    let names = strings(value, &here, MAX_LIST, 32)?;
                    for name in &names {
                        if !is_event_type(name) {
                            self.unknown.push(format!("{here}: {}", printable(name)));
                        }
                    }
                    rule.send = Some(names);
                }
                "omit" => {
                    let paths = strings(value, &here, MAX_LIST, MAX_PATH)?;
                    for path in &paths {
                        if !is_known_path(path) {
                            self.unknown.push(format!("{here}: {}", printable(path)));
                        }
                    }
                    rule.omit = Some(paths);
                }
                "interval_secs" => match value {
                    Json::Int(n) if *n <= MAX_INTERVAL_SECS => rule.interval_secs = Some(*n),
                    _ => {
                        return Err(bad(
                            "interval_secs is a count of seconds, at most a day",
                            &here,
                        ));
                    }
                },
                "versions" if in_app => {
                    let Json::Str(text) = value else {
                        return Err(bad("versions is a version range", &here));
                    };
                    let range = (text.len() <= MAX_RANGE)
                        .then(|| semver::VersionReq::parse(text).ok())
                        .flatten()
                        .ok_or_else(|| bad("versions is not a version range Cargo reads", &here))?;
                    versions = Some((text.clone(), range));
                }
                _ => self.unknown.push(here),
            }
        }
        Ok((versions, rule))
    }
}

/// `a.b`, or `b` at the top.
fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// A number from 0 to 1.
fn fraction(json: &Json, at: &str) -> Result<f64, ConfigError> {
    let value = match json {
        Json::Int(n) => *n as f64,
        Json::Decimal(text) => text.parse::<f64>().unwrap_or(f64::NAN),
        _ => f64::NAN,
    };
    if value == 0.0 || (MIN_SAMPLE..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(bad("sample is 0, or a fraction from 0.000001 to 1", at))
    }
}

/// How deep `json` nests (a scalar is 0 deep).
fn depth(json: &Json) -> usize {
    match json {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(fields) => 1 + fields.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// A list of at most `max` strings of at most `len` bytes each.
fn strings(json: &Json, at: &str, max: usize, len: usize) -> Result<Vec<String>, ConfigError> {
    let Json::Array(items) = json else {
        return Err(bad("a list of strings is expected", at));
    };
    if items.len() > max {
        return Err(bad("the list is too long", at));
    }
    items
        .iter()
        .map(|item| match item {
            Json::Str(s) if s.len() <= len && s.chars().all(|c| c.is_ascii_graphic()) => {
                Ok(s.clone())
            }
            _ => Err(bad("an entry is not a short printable string", at)),
        })
        .collect()
}

fn is_event_type(name: &str) -> bool {
    CONTRACT.event(name).is_some()
}

/// Whether this release knows what `path` names (docs/collection.md, "Paths").
fn is_known_path(path: &str) -> bool {
    let segments = segments(path);
    let named = |rest: &[String]| rest.iter().all(|s| !s.is_empty());
    match segments.first().map(String::as_str) {
        Some(t) if is_event_type(t) && segments.len() == 1 => true,
        Some(top @ ("metrics" | "features")) => {
            // The usage event's own keys, as the writer sends them.
            let Some(usage) = CONTRACT.event("usage") else {
                return false;
            };
            let mut fields = &usage.fields;
            let mut path = vec![top];
            path.extend(segments[1..].iter().map(String::as_str));
            for (depth, key) in path.iter().enumerate() {
                let Some(field) = fields.iter().find(|f| f.key == *key) else {
                    return false;
                };
                match &field.shape {
                    Shape::Object(inner) => fields = inner,
                    _ => return depth + 1 == path.len(),
                }
            }
            true
        }
        Some("integrations" | "errors") => segments.len() <= 2 && named(&segments[1..]),
        Some("custom") => (2..=3).contains(&segments.len()) && named(&segments[1..]),
        _ => false,
    }
}

#[cfg(test)]
#[path = "collection_tests.rs"]
mod tests;
