//! What a host records itself, besides its annotated calls: its masked command line and its
//! own events. Both go through the queue to the worker, and both do nothing while telemetry
//! is off.

use std::ffi::OsStr;

use crate::process;
use crate::record::queue::{self, Message};
use crate::wire::command::Commands;
use crate::wire::custom::Event;
use crate::wire::event::Body;
use crate::wire::text::Name;

/// Sends `event` with the next batch (a `custom` event). Does nothing while telemetry is
/// off; never blocks (the event is dropped and counted if the queue is full).
///
/// ```
/// #[derive(telemetry::Event)]
/// struct CacheCleared {
///     entries: u32,
/// }
///
/// telemetry::record(&CacheCleared { entries: 120 }); // sent as "101-1000", if consented
/// ```
pub fn record<E: Event>(event: &E) {
    if !process::recording() {
        return;
    }
    // The derive checks names at compile time; a hand-written impl is checked here.
    let Some(name) = Name::new(E::NAME) else {
        return;
    };
    let fields = event
        .fields()
        .into_iter()
        .filter_map(|(field, value)| Some((Name::new(field)?, value)))
        .collect();
    queue::push(Message::Event(Box::new(Body::Custom { name, fields })));
}

/// Records this process's command line as a `cli_command` event, every value masked:
/// call it once, after [`init`](crate::init::init), with the arguments after the program
/// name. Does nothing while telemetry is off.
///
/// ```
/// use telemetry::{Commands, record_command};
///
/// static ACME: Commands = Commands::new("acme").subcommands(&["run"]);
/// record_command(&ACME, std::env::args_os().skip(1));
/// ```
pub fn record_command<I, S>(commands: &Commands, args: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    if !process::recording() {
        return;
    }
    queue::push(Message::Event(Box::new(Body::CliCommand {
        command: commands.mask(args),
    })));
}
