//! `telemetry status`: whether telemetry is on, what decided it, and what identifies this
//! installation and session.

use std::io::{self, Write};

use crate::base::paths::PROJECT_FILE;
use crate::config::Config;
use crate::consent::rules;
use crate::decision::{Decision, Identity};
use crate::files::sent_log;
use crate::files::state::State;
use crate::files::store::StateStore;
use crate::pipeline::collection;
use crate::pipeline::endpoint::Endpoint;
#[cfg(telemetry_client)]
use crate::pipeline::roots;
use crate::process;
use crate::wire::json::Json;
use crate::wire::text::Version;

/// What `status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The decision in force, and what made it.
    pub decision: Decision,
    /// The installation id, if the user ever consented (and did not reset).
    pub installation_id: Option<String>,
    /// This process's session id.
    pub session_id: String,
    /// When a batch was last sent.
    pub last_sent: Option<String>,
    /// When an HTTP proxy last refused to open a tunnel to the endpoint, and its status
    /// (`2026-12-04 (HTTP 407 to CONNECT)`), until a batch is delivered again.
    pub proxy_refused: Option<String>,
    /// When the collector last refused a batch, with its status and reason
    /// (`2026-12-04T20:00:00Z (HTTP 400: a count is over 2^53 - 1 at …)`), if the log of
    /// sent batches holds one.
    pub last_refused: Option<String>,
    /// Where batches go, without user info, query or fragment (they may hold tokens); an
    /// endpoint that is not allowed is shown as why, not as given.
    pub endpoint: Option<String>,
    /// Whether a `.telemetry` project file said `consent: true` and was passed over: a
    /// project file can only turn telemetry off, so the rules below it decided.
    pub project_yes_ignored: bool,
    /// Why the CA file `APP_TELEMETRY_CA_FILE` names cannot be used (then `https://` sends
    /// fail), if it is set and cannot.
    pub ca_file_problem: Option<String>,
    /// The collection config the collector asked this host to narrow by, if one is kept.
    pub collection_config: Option<CollectionInForce>,
}

/// A collection config in force (docs/collection.md), as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionInForce {
    /// Its tag: its `ETag`, cleaned (`c-1f2e`), or `unversioned`.
    pub tag: String,
    /// Where it came from (`https://t.example/v1/config`).
    pub from: String,
    /// The day it was last fetched or found unchanged.
    pub fetched: String,
    /// What it asks of this host's version: `sample 0.5; omit metrics.cache_hits`.
    pub in_force: String,
}

/// Gathers what `status` shows: resolves consent (renaming a corrupt state file aside, as
/// resolving does) and reads the state file without changing it.
pub fn status_of(config: &Config) -> Status {
    let decision = rules::resolve(config);
    // Rule 7 was reached (nothing above it decided) and the file said yes.
    let project_yes_ignored =
        decision.rule.number() > 7 && rules::project_file(config) == rules::ProjectFile::Says(true);
    let state = if cfg!(telemetry_disabled) {
        State::default()
    } else {
        config
            .resolved_config_dir()
            .and_then(|dir| StateStore::new(dir).read().ok())
            .unwrap_or_default()
    };
    Status {
        decision,
        // An anonymous host sends none, whatever an older state file holds.
        installation_id: state
            .installation_id
            .filter(|_| config.identity == Identity::Installation)
            .map(|id| id.to_string()),
        session_id: process::session_id().to_owned(),
        last_sent: state.last_sent.map(|d| d.to_string()),
        last_refused: last_refused(config),
        proxy_refused: state
            .proxy_refused
            .map(|(day, code)| format!("{day} (HTTP {code} to CONNECT)")),
        endpoint: config
            .effective_endpoint()
            .map(|given| match Endpoint::parse(&given) {
                Ok(endpoint) => endpoint.to_string(),
                Err(why) => format!("<invalid: {why}>"),
            }),
        project_yes_ignored,
        ca_file_problem: ca_file_problem(config),
        collection_config: collection_in_force(config),
    }
}

/// The kept collection config, and what it asks of this host.
fn collection_in_force(config: &Config) -> Option<CollectionInForce> {
    if cfg!(telemetry_disabled) {
        return None;
    }
    let kept = collection::load(&config.resolved_config_dir()?).kept?;
    let endpoint = config
        .effective_endpoint()
        .and_then(|e| Endpoint::parse(&e).ok());
    let app = collection::app_of(endpoint.as_ref());
    Some(CollectionInForce {
        tag: kept.tag(),
        from: kept.from.clone(),
        fetched: kept.fetched.to_string(),
        in_force: kept
            .narrowing(&app, Version::new(config.version()).as_str())
            .describe(),
    })
}

/// The newest refusal the log of sent batches holds.
fn last_refused(config: &Config) -> Option<String> {
    if cfg!(telemetry_disabled) {
        return None;
    }
    let entries = sent_log::entries(&config.resolved_config_dir()?).ok()?;
    entries.iter().rev().find_map(|e| {
        let (status, reason) = e.refused.as_ref()?;
        Some(match reason.as_str() {
            "" => format!("{} (HTTP {status})", e.hour),
            reason => format!("{} (HTTP {status}: {reason})", e.hour),
        })
    })
}

/// Why the CA file `APP_TELEMETRY_CA_FILE` names cannot be used by the built-in transport.
#[cfg(telemetry_client)]
fn ca_file_problem(config: &Config) -> Option<String> {
    config
        .ca_file()
        .and_then(|path| roots::read_ca_file(&path).err())
        .map(|problem| problem.to_string())
}

/// Without the built-in transport there is no TLS of ours to configure.
#[cfg(not(telemetry_client))]
fn ca_file_problem(_: &Config) -> Option<String> {
    None
}

pub(super) fn status(config: &Config, json: bool, out: &mut dyn Write) -> io::Result<u8> {
    let s = status_of(config);
    if json {
        let text = |v: &Option<String>| v.as_deref().map_or(Json::Null, Json::str);
        let value = Json::object([
            ("enabled", Json::Bool(s.decision.enabled)),
            ("decided_by", Json::str(s.decision.rule.to_string())),
            ("rule", Json::str(s.decision.rule.key())),
            (
                "rule_number",
                Json::Int(u64::from(s.decision.rule.number())),
            ),
            ("installation_id", text(&s.installation_id)),
            ("session_id", Json::str(s.session_id.as_str())),
            ("last_sent", text(&s.last_sent)),
            ("last_refused", text(&s.last_refused)),
            ("proxy_refused", text(&s.proxy_refused)),
            ("endpoint", text(&s.endpoint)),
            ("project_yes_ignored", Json::Bool(s.project_yes_ignored)),
            ("ca_file_problem", text(&s.ca_file_problem)),
            (
                "collection_config",
                s.collection_config.as_ref().map_or(Json::Null, |c| {
                    Json::object([
                        ("tag", Json::str(c.tag.as_str())),
                        ("from", Json::str(c.from.as_str())),
                        ("fetched", Json::str(c.fetched.as_str())),
                        ("in_force", Json::str(c.in_force.as_str())),
                    ])
                }),
            ),
        ]);
        writeln!(out, "{}", value.compact())?;
    } else {
        let on = if s.decision.enabled {
            "Enabled"
        } else {
            "Disabled"
        };
        writeln!(out, "Telemetry: {on}")?;
        writeln!(out, "Decided by: {}", s.decision.rule)?;
        if s.project_yes_ignored {
            writeln!(
                out,
                "Note: the project file {PROJECT_FILE} says consent: true, which is not your \
                 consent; a project file can only turn telemetry off"
            )?;
        }
        writeln!(
            out,
            "Installation ID: {}",
            s.installation_id.as_deref().unwrap_or("<none>")
        )?;
        writeln!(out, "Session ID: {}", s.session_id)?;
        writeln!(
            out,
            "Last sent: {}",
            s.last_sent.as_deref().unwrap_or("Never")
        )?;
        if let Some(refused) = &s.last_refused {
            writeln!(out, "Last refused: {refused}; `log` shows the batch")?;
        }
        if let Some(refused) = &s.proxy_refused {
            writeln!(
                out,
                "Proxy: refused to reach the endpoint on {refused}; batches wait in the spool \
                 until the proxy (HTTPS_PROXY, its credentials) lets them through"
            )?;
        }
        writeln!(
            out,
            "Endpoint: {}",
            s.endpoint.as_deref().unwrap_or("<none>")
        )?;
        match &s.collection_config {
            Some(c) => writeln!(
                out,
                "Collection config: {} from {}, fetched {}: {}",
                c.tag, c.from, c.fetched, c.in_force
            )?,
            None => writeln!(
                out,
                "Collection config: none (batches hold what this version collects)"
            )?,
        }
        if let Some(problem) = &s.ca_file_problem {
            let var = config.var("TELEMETRY_CA_FILE");
            writeln!(
                out,
                "CA file: the file {var} names could not be used ({problem}); \
                 HTTPS sends will fail until it is fixed or unset"
            )?;
        }
    }
    Ok(0)
}
