//! `disable --delete-data` and `reset --delete-data`: turn off (or reset), then ask the
//! collector to delete what it received under this installation id, then forget the id.
//! Telemetry is off before the request goes, so nothing else leaves with it.

use std::io::{self, Write};

use crate::config::Config;
use crate::files::state::How;
use crate::files::store::StateStore;
use crate::pipeline::deletion::{Deletion, request_deletion};

/// The installation id stored here, if any.
fn stored_id(config: &Config) -> Option<String> {
    let dir = config.state_dir().ok()?;
    let state = StateStore::new(dir).read().ok()?;
    state.installation_id.map(|id| id.to_string())
}

pub(super) fn disable_and_delete(
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let id = stored_id(config);
    let code = super::decide(config, false, out, err)?;
    if code != 0 {
        return Ok(code);
    }
    let Some(id) = id else {
        return no_id(out);
    };
    let code = ask(config, &id, out)?;
    // The collector was asked to delete what it holds under this id: it is not used again.
    let forgotten = config.state_dir().ok().map(|dir| {
        StateStore::new(dir).update(config.clock.today(), How::Cli, |s| {
            s.installation_id = None;
            Ok(())
        })
    });
    if let Some(Err(e)) = forgotten {
        writeln!(err, "error: could not forget the installation ID: {e}")?;
        return Ok(1);
    }
    Ok(code)
}

pub(super) fn reset_and_delete(
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let id = stored_id(config);
    let code = super::reset(config, out, err)?;
    if code != 0 {
        return Ok(code);
    }
    match id {
        Some(id) => ask(config, &id, out),
        None => no_id(out),
    }
}

fn no_id(out: &mut dyn Write) -> io::Result<u8> {
    writeln!(
        out,
        "No installation ID was stored here, so no collector holds data under one."
    )?;
    Ok(0)
}

/// Sends the request and says how it went: 0 if the collector confirmed it.
fn ask(config: &Config, id: &str, out: &mut dyn Write) -> io::Result<u8> {
    writeln!(
        out,
        "Asking the collector to delete what it received from installation {id}…"
    )?;
    out.flush()?;
    let why = match request_deletion(config, id) {
        Deletion::Confirmed => {
            writeln!(
                out,
                "The collector confirmed it deleted the data of installation {id}."
            )?;
            return Ok(0);
        }
        // Never sent anywhere from here: nothing to delete.
        Deletion::Nowhere(why @ "no endpoint is configured") => {
            writeln!(out, "No deletion request was sent: {why}.")?;
            return Ok(0);
        }
        Deletion::Nowhere(why) => format!("no request was sent: {why}"),
        Deletion::Refused(status) => format!("it answered HTTP {status}"),
        Deletion::NoAnswer => format!("no answer within {} s", config.flush_timeout.as_secs_f32()),
    };
    writeln!(out, "The collector did not confirm the deletion ({why}).")?;
    writeln!(
        out,
        "To ask for it another way, quote this installation ID: {id}"
    )?;
    writeln!(out, "It is forgotten here all the same.")?;
    Ok(1)
}
