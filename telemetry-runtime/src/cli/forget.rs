//! `disable --delete-data` and `reset --delete-data`: turn off (or reset), forget the
//! installation id here, and ask the collector to delete what it received under it.
//! Telemetry is off before the request goes, so nothing else leaves with it.
//!
//! A batch a running host was sending at that moment can still reach the collector after
//! the deletion (docs/consent.md, "Deleting what was sent").

use std::io::{self, Write};

use crate::config::Config;
use crate::files::state::{How, State, StateError};
use crate::files::store::StateStore;
use crate::pipeline::deletion::{Deletion, request_deletion};

/// The state stored here, or why it cannot be read (then nothing is changed or sent: the id
/// the deletion needs may be in it).
fn stored(config: &Config, err: &mut dyn Write) -> io::Result<Result<State, u8>> {
    let read = config
        .state_dir()
        .map_err(StateError::from)
        .and_then(|dir| StateStore::new(dir).read());
    match read {
        Ok(state) => Ok(Ok(state)),
        Err(e) => {
            writeln!(
                err,
                "error: the installation ID could not be read ({e}); nothing was changed"
            )?;
            Ok(Err(1))
        }
    }
}

/// `disable --delete-data` (`reset` false) or `reset --delete-data` (`reset` true).
pub(super) fn forget_and_delete(
    config: &Config,
    reset: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let state = match stored(config, err)? {
        Ok(state) => state,
        Err(code) => return Ok(code),
    };
    // The id first, before anything that can fail or wait (the state's lock, the request):
    // once forgotten here, the printed line is the only way left to ask for the deletion.
    if let Some(id) = state.installation_id {
        writeln!(
            out,
            "Installation ID: {id} (quote it to ask the collector's maintainers for deletion)"
        )?;
        out.flush()?;
    }
    let code = if reset {
        super::change::reset(config, out, err)?
    } else {
        super::change::decide(config, false, out, err)?
    };
    if code != 0 {
        return Ok(code);
    }
    let Some(id) = state.installation_id.map(|id| id.to_string()) else {
        return no_id(out);
    };
    // `reset` forgot the id already; `disable` keeps it, so it is forgotten here, before
    // the request: whatever happens to the request (or to our output), it is not used again.
    if !reset {
        let forgotten = config
            .state_dir()
            .map_err(StateError::from)
            .and_then(|dir| {
                StateStore::new(dir).update(config.clock.today(), How::Cli, |s| {
                    s.installation_id = None;
                    Ok(())
                })
            });
        if let Err(e) = forgotten {
            writeln!(err, "error: could not forget the installation ID: {e}")?;
        }
    }
    ask(config, &id, &state, out)
}

fn no_id(out: &mut dyn Write) -> io::Result<u8> {
    writeln!(
        out,
        "No installation ID was stored here, so no collector holds data under one."
    )?;
    Ok(0)
}

/// Sends the request and says how it went: 0 if the collector confirmed it, or if nothing
/// was ever sent from here.
fn ask(config: &Config, id: &str, state: &State, out: &mut dyn Write) -> io::Result<u8> {
    let why = match request_deletion(config, id) {
        Deletion::Nowhere(why) if state.last_sent.is_none() => {
            writeln!(
                out,
                "No deletion request was sent ({why}), and nothing was ever sent from here."
            )?;
            return Ok(0);
        }
        Deletion::Confirmed => {
            writeln!(
                out,
                "The collector confirmed it deleted the data of installation {id}."
            )?;
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
