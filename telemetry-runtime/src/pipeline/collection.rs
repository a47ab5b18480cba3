//! The collection config on the client (docs/collection.md): fetched from the collector the
//! batches go to, at most once a day and under the rules batches are sent by (consent, the
//! endpoint's scheme, its proxy, the TLS roots, the timeouts, a 16 KiB bound); kept in the
//! config dir as `telemetry_collection.json` (a private file, read back bounded and checked);
//! and applied to every batch before it is written to the spool (`worker.rs`).
//!
//! The request is a plain `GET`: it carries nothing the collector chose before (no
//! `If-None-Match` with a tag it handed out), so a collector cannot use it to recognise a
//! client from one day to the next. The tag shown in `status` and `log` is a hash of the
//! document, worked out here.
//!
//! It can only narrow (`wire/collection.rs`). No config, a collector that does not answer, or
//! a document that does not read leaves batches as the compiled-in schema makes them (or as
//! the last good config narrowed them): never more.

use std::path::Path;
use std::time::Instant;

use crate::base::calendar::Date;
use crate::base::paths::COLLECTION_FILE;
use crate::files::private;
use crate::files::read;
use crate::files::sent_log;
use crate::pipeline::endpoint::Endpoint;
use crate::pipeline::reply::Fetched;
use crate::pipeline::settings::Settings;
use crate::pipeline::url::HttpUrl;
use crate::wire::collection::{CollectionConfig, MAX_CONFIG_BYTES, collection_tag};
use crate::wire::json::Json;
use crate::wire::narrowing::Narrowing;

/// Where a collector serves its config: beside the endpoint, its last path segment
/// replaced (`…/v1/batch` → `…/v1/config`), as the deletion request is.
pub(crate) const CONFIG_SEGMENT: &str = "config";

/// The longest a config fetch may take, connecting included.
const FETCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

/// The kept file's bound: the document and what is said of it.
const MAX_FILE: u64 = (MAX_CONFIG_BYTES + 1024) as u64;

/// What the config dir keeps: the day the collector was last asked (answered or not: at
/// most once a day, even for a host whose collector serves none), and the config in force.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stored {
    pub(crate) asked: Option<Date>,
    pub(crate) kept: Option<Kept>,
}

/// The config in force for this host, with what it asks of it worked out once (when it
/// changes, not for every batch): the worker's, and what `preview` shows.
#[derive(Clone, Debug, Default)]
pub(crate) struct InForce {
    pub(crate) stored: Stored,
    /// What the config asks of this app (the endpoint's `?app=`) and version.
    pub(crate) narrowing: Narrowing,
    /// The config's tag, if there is one.
    pub(crate) tag: Option<String>,
}

impl InForce {
    /// What `stored` asks of the host `settings` describe.
    pub(crate) fn new(stored: Stored, settings: &Settings) -> InForce {
        let app = app_of(settings.endpoint.as_ref());
        let (narrowing, tag) = match &stored.kept {
            Some(k) => (
                k.narrowing(&app, settings.app_version.as_str()),
                Some(k.tag()),
            ),
            None => (Narrowing::everything(), None),
        };
        InForce {
            stored,
            narrowing,
            tag,
        }
    }
}

/// The config in force, and where and when it came from.
#[derive(Clone, Debug)]
pub(crate) struct Kept {
    pub(crate) config: CollectionConfig,
    /// The document as it was read (its numbers as written), to keep it.
    document: Json,
    /// Its tag (`collection_tag`: what the collector's `ETag` says of the same bytes).
    tag: String,
    /// The URL it came from, without user info or query.
    pub(crate) from: String,
    /// The day it was last fetched (or found unchanged).
    pub(crate) fetched: Date,
}

impl Kept {
    /// A short name for it, for `log` and `status`: `c-` and a hash of its bytes.
    pub(crate) fn tag(&self) -> String {
        self.tag.clone()
    }

    /// What it asks of version `app_version` of `app`.
    pub(crate) fn narrowing(&self, app: &str, app_version: &str) -> Narrowing {
        self.config.narrowing(app, app_version)
    }

    fn fields(&self) -> Vec<(&'static str, Json)> {
        let mut fields = vec![
            ("fetched", Json::str(self.fetched.to_string())),
            ("from", Json::str(self.from.clone())),
        ];
        fields.push(("tag", Json::str(self.tag.clone())));
        fields.push(("config", self.document.clone()));
        fields
    }

    fn from_json(json: &Json) -> Option<Kept> {
        let text = |key: &str| json.get(key).and_then(Json::as_str);
        let document = json.get("config")?.clone();
        let config = CollectionConfig::parse(document.compact().as_bytes()).ok()?;
        Some(Kept {
            config,
            document,
            // What the log of sent batches could hold of it.
            tag: text("tag")
                .filter(|t| sent_log::is_tag(t))
                .unwrap_or("unversioned")
                .to_owned(),
            from: text("from")?
                .chars()
                .filter(char::is_ascii_graphic)
                .take(512)
                .collect(),
            fetched: text("fetched")?.parse().ok()?,
        })
    }
}

/// What `dir` keeps: a config only if it reads and checks.
pub(crate) fn load(dir: &Path) -> Stored {
    let json = read::read(&dir.join(COLLECTION_FILE), MAX_FILE)
        .ok()
        .and_then(|bytes| Json::parse_with_decimals(std::str::from_utf8(&bytes).ok()?));
    let Some(json) = json else {
        return Stored::default();
    };
    Stored {
        asked: json
            .get("asked")
            .and_then(Json::as_str)
            .and_then(|d| d.parse().ok()),
        kept: Kept::from_json(&json),
    }
}

fn save(dir: &Path, stored: &Stored) {
    let mut fields = Vec::new();
    if let Some(day) = stored.asked {
        fields.push(("asked", Json::str(day.to_string())));
    }
    if let Some(kept) = &stored.kept {
        fields.extend(kept.fields());
    }
    let _ = private::replace(
        &dir.join(COLLECTION_FILE),
        Json::object(fields).compact().as_bytes(),
    );
}

/// The config's URL for the endpoint `url`: beside it, [`CONFIG_SEGMENT`].
pub(crate) fn config_url(url: &HttpUrl) -> Option<HttpUrl> {
    HttpUrl::parse(&url.sibling(CONFIG_SEGMENT)).ok()
}

/// The app a collection config's `apps` rules are matched by: the endpoint's `?app=NAME`,
/// as the collector tells apps apart (`""`, no app, without one), so both sides apply the
/// same rule.
pub(crate) fn app_of(endpoint: Option<&Endpoint>) -> String {
    let Some(url) = endpoint.and_then(Endpoint::url) else {
        return String::new();
    };
    let query = url.target.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("app="))
        .filter(|name| crate::wire::text::is_name(name))
        .unwrap_or_default()
        .to_owned()
}

/// `stored`, brought up to date from the collector if it was not asked on the settings'
/// today: a new document replaces the config, `404` removes it, anything else (no answer, a
/// document that does not read) leaves it as it was; the day is recorded whatever the
/// answer. The exchange ends by `deadline`. Nothing is fetched in
/// debug mode, for a file endpoint or a host's own transport, or without a config dir.
pub(crate) fn refresh(settings: &Settings, stored: Stored, deadline: Instant) -> Stored {
    let today = settings.today.today();
    if stored.asked == Some(today) || settings.debug || settings.transport.host.is_some() {
        return stored;
    }
    let (Some(dir), Some(url)) = (
        &settings.state_dir,
        settings.endpoint.as_ref().and_then(|e| e.url()),
    ) else {
        return stored;
    };
    let Some(url) = config_url(&url) else {
        return stored;
    };
    let from = url.to_string();
    let mut sender = settings.transport.sender(
        "GET",
        url,
        &settings.user_agent,
        #[cfg(telemetry_client)]
        settings.proxy.clone(),
    );
    // A short budget of its own: a slow collector must not eat the exit flush's time, and
    // is simply asked again the next day.
    let budget = settings.transport.request_timeout.min(FETCH_BUDGET);
    let deadline = deadline.min(Instant::now() + budget);
    let kept = stored.kept;
    let kept = match sender.fetch(deadline, settings.transport.connect_timeout) {
        Fetched::Document(body) => {
            let read = std::str::from_utf8(&body)
                .ok()
                .and_then(Json::parse_with_decimals)
                .and_then(|json| {
                    let config = CollectionConfig::parse(json.compact().as_bytes()).ok()?;
                    Some((json, config))
                });
            match read {
                Some((document, config)) => Some(Kept {
                    config,
                    document,
                    tag: collection_tag(&body),
                    from,
                    fetched: today,
                }),
                None => kept,
            }
        }
        Fetched::Gone => None,
        Fetched::Failed => kept,
    };
    let fresh = Stored {
        asked: Some(today),
        kept,
    };
    save(dir, &fresh);
    fresh
}

/// A spooled batch's bytes narrowed by the config `kept` (for the app `app`); `None` if nothing of
/// it is left.
pub(crate) fn narrowed(body: Vec<u8>, kept: Option<&Kept>, app: &str) -> Option<Vec<u8>> {
    let Some(kept) = kept else {
        return Some(body);
    };
    let mut json = Json::parse(std::str::from_utf8(&body).ok()?)?;
    // Each event by its own version's rule: the batch may come from an older release.
    Narrowing::narrow_each(&mut json, |version| kept.narrowing(app, version))
        .then(|| json.compact().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_config_reads_back_and_a_damaged_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            r#"{"config_version":1,"default":{"sample":0.25,"omit":["metrics.cache_hits"]}}"#;
        let kept = Kept {
            config: CollectionConfig::parse(text.as_bytes()).unwrap(),
            document: Json::parse_with_decimals(text).unwrap(),
            tag: "c-1f".into(),
            from: "http://127.0.0.1:9/v1/config".into(),
            fetched: "2026-12-04".parse().unwrap(),
        };
        let day = kept.fetched;
        let stored = Stored {
            asked: Some(day),
            kept: Some(kept.clone()),
        };
        save(dir.path(), &stored);
        let back = load(dir.path());
        assert_eq!(back.asked, Some(day));
        let back = back.kept.unwrap();
        assert_eq!(back.config, kept.config);
        assert_eq!(back.tag(), "c-1f");
        assert_eq!(back.fetched, kept.fetched);
        assert_eq!(back.narrowing("acme", "1.0.0").sample(), 0.25);
        // A document that no longer reads is no config; the day asked still holds.
        let path = dir.path().join(COLLECTION_FILE);
        let damaged = std::fs::read_to_string(&path)
            .unwrap()
            .replace("0.25", "2.5");
        std::fs::write(&path, damaged).unwrap();
        let back = load(dir.path());
        assert!(back.kept.is_none() && back.asked == Some(day));
        std::fs::write(&path, vec![b' '; MAX_FILE as usize + 1]).unwrap();
        assert!(load(dir.path()).asked.is_none());
    }
}

/// The fetch itself, against a loopback server, with each built-in client.
#[cfg(all(test, feature = "https"))]
#[path = "collection_tests.rs"]
mod fetch_tests;
