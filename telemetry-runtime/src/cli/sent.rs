//! `telemetry log`: what left the machine, from the record the worker keeps of every
//! batch it sent (`files::sent_log`), delivered or refused, with a refusal's reason.
//! `preview` shows what would go next; `log` shows what went.

use std::io::{self, Write};

use crate::config::Config;
use crate::files::sent_log::{self, MAX_ENTRIES};
use crate::wire::json::Json;

pub(super) fn log(
    config: &Config,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let entries = match config.resolved_config_dir() {
        None => Vec::new(),
        Some(dir) => match sent_log::entries(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                writeln!(
                    err,
                    "error: the log of sent batches could not be read: {}",
                    e.problem()
                )?;
                return Ok(1);
            }
        },
    };
    if json {
        // Each batch is JSON our own types wrote (the record keeps nothing else), so it
        // reads back into the same values and is written out again as it was sent.
        let batches = entries.iter().filter_map(|entry| {
            let batch = Json::parse(std::str::from_utf8(&entry.body).ok()?)?;
            let refused = entry
                .refused
                .as_ref()
                .map_or(Json::Null, |(status, reason)| {
                    Json::object([
                        ("status", Json::Int(u64::from(*status))),
                        ("reason", Json::str(reason.as_str())),
                    ])
                });
            Some(Json::object([
                ("sent_hour", Json::str(entry.hour.as_str())),
                ("bytes", Json::Int(entry.body.len() as u64)),
                ("refused", refused),
                (
                    "collection_config",
                    entry.config.as_deref().map_or(Json::Null, Json::str),
                ),
                ("batch", batch),
            ]))
        });
        let all = Json::object([("batches", Json::Array(batches.collect()))]);
        writeln!(out, "{}", all.compact())?;
        return Ok(0);
    }
    if entries.is_empty() {
        writeln!(out, "No batch sent from here is on record.")?;
        writeln!(
            out,
            "`{} telemetry preview` shows what would be sent next.",
            config.app()
        )?;
        return Ok(0);
    }
    writeln!(
        out,
        "The last {} batch(es) sent from here (at most {MAX_ENTRIES} are kept), oldest first, \
         each exactly as sent:",
        entries.len()
    )?;
    for entry in &entries {
        writeln!(out)?;
        let narrowed = entry
            .config
            .as_deref()
            .map(|tag| format!(", narrowed by collection config {tag}"))
            .unwrap_or_default();
        match &entry.refused {
            None => writeln!(
                out,
                "Sent in the hour from {} ({} bytes{narrowed}):",
                entry.hour,
                entry.body.len()
            )?,
            Some((status, reason)) => writeln!(
                out,
                "Sent in the hour from {} ({} bytes{narrowed}), and refused by the collector \
                 (HTTP {status}{}{reason}):",
                entry.hour,
                entry.body.len(),
                if reason.is_empty() { "" } else { ": " },
            )?,
        }
        out.write_all(&entry.body)?;
        writeln!(out)?;
    }
    Ok(0)
}
