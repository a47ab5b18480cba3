//! `enable`, `disable` and `reset`: the user's decision recorded, and what it means here.

use std::io::{self, Write};

use crate::config::Config;
use crate::consent::{change, rules};
use crate::files::state::How;

pub(super) fn decide(
    config: &Config,
    on: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    match change::record(config, on, How::Cli) {
        Ok(change) => {
            if on {
                writeln!(out, "Telemetry enabled. Thank you!")?;
                if let Some(id) = &change.new.installation_id {
                    writeln!(out, "Installation ID: {id}")?;
                }
            } else {
                writeln!(out, "Telemetry disabled. Nothing will be sent from here.")?;
            }
            let now = rules::resolve(config);
            if now.enabled != on {
                let state = if now.enabled { "on" } else { "off" };
                writeln!(
                    out,
                    "Note: telemetry stays {state} here; decided by: {}",
                    now.rule
                )?;
            }
            Ok(0)
        }
        Err(e) => {
            writeln!(err, "error: could not record your decision: {e}")?;
            Ok(1)
        }
    }
}

pub(super) fn reset(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    match change::reset_with(config) {
        Ok(_) => {
            writeln!(
                out,
                "Telemetry reset: the installation ID and your decision are forgotten."
            )?;
            Ok(0)
        }
        Err(e) => {
            writeln!(err, "error: could not reset: {e}")?;
            Ok(1)
        }
    }
}
