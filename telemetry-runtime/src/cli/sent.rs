//! `telemetry log`: what left the machine, from the record the worker keeps of every
//! delivered batch (`files::sent_log`). `preview` shows what would go next; `log` shows
//! what went.

use std::io::{self, Write};

use crate::config::Config;
use crate::files::sent_log::{self, MAX_ENTRIES};

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
        // Each batch is embedded as it was sent: it is JSON our own types wrote (the
        // record keeps nothing else), so the output is JSON byte for byte around it.
        out.write_all(b"{\"batches\":[")?;
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write!(
                out,
                "{{\"sent_hour\":\"{}\",\"bytes\":{},\"batch\":",
                entry.hour,
                entry.body.len()
            )?;
            out.write_all(&entry.body)?;
            out.write_all(b"}")?;
        }
        out.write_all(b"]}\n")?;
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
        writeln!(
            out,
            "Sent in the hour from {} ({} bytes):",
            entry.hour,
            entry.body.len()
        )?;
        out.write_all(&entry.body)?;
        writeln!(out)?;
    }
    Ok(0)
}
