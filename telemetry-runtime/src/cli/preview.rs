//! `telemetry preview`: the next batch that would be sent, as pretty JSON, sending nothing
//! and writing nothing.

use std::io::{self, Write};

use crate::config::Config;
use crate::consent::rules;
use crate::pipeline::batch::{Observed, reported};
use crate::pipeline::collection::{self, InForce};
use crate::pipeline::settings::Settings;
use crate::pipeline::spool::{self, Spool};
use crate::process;
use crate::wire::json::{Json, ToJson};

/// What `telemetry preview` shows.
enum Preview {
    /// A batch an earlier run could not send: the next one the worker sends, as it is
    /// stored, and how many more wait behind it.
    Spooled { json: Json, more: usize },
    /// Nothing waits. A batch as this process would build it now (its `session` and
    /// `usage` events), narrowed by the collection config in force, to show what a run
    /// sends.
    Example {
        json: Json,
        /// The tag of the collection config it was narrowed by.
        narrowed_by: Option<String>,
        /// Whether the config leaves nothing of it (this installation is not in its sample,
        /// or none of its event types is sent).
        nothing_left: bool,
    },
}

/// The batch `preview` prints. Reads the spool and the counters; writes nothing, sends
/// nothing, and leaves what this process has reported as it was.
fn next_batch(config: &Config) -> Option<Preview> {
    let settings = Settings::from_config(config, process::session()?);
    // What the worker narrows every batch by, spooled or new.
    let stored = settings.state_dir.as_deref().map(collection::load);
    let in_force = InForce::new(stored.unwrap_or_default(), &settings);
    let (kept, narrowing) = (in_force.stored.kept.as_ref(), &in_force.narrowing);
    let app = collection::app_of(settings.endpoint.as_ref());
    if let Some(dir) = &settings.spool_dir {
        let pending = Spool::new(dir).waiting();
        for (i, path) in pending.iter().enumerate() {
            // Skipped here exactly as the worker skips it: it would never be sent. Read back
            // as written, so the keys keep their order and the content every byte.
            if let Some(json) = Spool::peek(path)
                .and_then(|b| spool::sendable(b, settings.anonymous()))
                .and_then(|b| collection::narrowed(b, kept, &app))
                .and_then(|b| Json::parse(std::str::from_utf8(&b).ok()?))
            {
                let more = pending.len() - i - 1;
                return Some(Preview::Spooled { json, more });
            }
        }
    }
    let mut copy = reported().clone();
    let batch = settings.build_from(&mut copy, Observed::look())?;
    // As the worker would send it: narrowed by the collection config in force.
    let mut json = batch.to_json();
    let narrowed = narrowing.is_everything() || narrowing.narrow(&mut json);
    Some(Preview::Example {
        json,
        narrowed_by: in_force.tag.clone(),
        nothing_left: !narrowed,
    })
}

/// Prints the next batch as pretty JSON on `out` (and only that, so it can be piped to a
/// JSON tool); what it is, and whether it would be sent, goes to `err`.
pub(crate) fn preview(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let app = config.app();
    let decision = rules::resolve_read_only(config);
    let json = match next_batch(config) {
        Some(Preview::Spooled { json, more }) => {
            writeln!(
                err,
                "The next batch to send (left by an earlier run{}):",
                match more {
                    0 => String::new(),
                    1 => "; 1 more waits after it".to_owned(),
                    n => format!("; {n} more wait after it"),
                }
            )?;
            json
        }
        Some(Preview::Example {
            json,
            narrowed_by,
            nothing_left,
        }) => {
            if nothing_left {
                writeln!(
                    err,
                    "Nothing is waiting to be sent, and the collection config in force ({}) \
                     leaves nothing of a batch from here: a run of {app} sends nothing.",
                    narrowed_by.as_deref().unwrap_or_default()
                )?;
                return Ok(0);
            }
            let narrowed = narrowed_by
                .map(|tag| format!(", narrowed by the collection config {tag}"))
                .unwrap_or_default();
            writeln!(
                err,
                "Nothing is waiting to be sent. A run of {app} sends batches like this one \
                 (a `usage` event holds counts since the previous batch{narrowed}):"
            )?;
            json
        }
        None => {
            writeln!(
                err,
                "error: no batch can be made here (no random source for ids)"
            )?;
            return Ok(1);
        }
    };
    writeln!(out, "{}", json.pretty())?;
    if !decision.enabled {
        writeln!(
            err,
            "Telemetry is disabled here (decided by: {}), so nothing is sent.",
            decision.rule
        )?;
    }
    Ok(0)
}
