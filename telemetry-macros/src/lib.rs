//! The `#[flow]` and `#[task]` attributes and the `Event` / `EventValue` derives of the
//! `telemetry` crate.
//!
//! Use them through the facade (`use telemetry::{flow, task};`,
//! `#[derive(telemetry::Event)]`), which documents them with runnable examples; the generated
//! code refers to the facade as `::telemetry`, or by the path given with `crate = path`.
//!
//! Laid out as parse → check → expand: `attr` for the attributes, `derive` for the
//! derives, `common` for what both share (error collection, `crate = path`).

mod attr;
mod common;
mod derive;

use proc_macro::TokenStream;

/// Marks a flow: the unit of work a user runs.
///
/// Options (all optional, comma-separated): `retries = N`, `retry_delay_ms = N` (with
/// `retries`), `cache`, `cache_ttl_secs = N` (with `cache`), `crate = path`. The `telemetry`
/// crate's documentation has a runnable example; docs/macros.md ("Options") describes each option.
#[proc_macro_attribute]
pub fn flow(args: TokenStream, item: TokenStream) -> TokenStream {
    attr::expand(attr::Kind::Flow, args.into(), item.into(), instrument()).into()
}

/// Marks a task: a step inside a flow. Takes the same options as [`macro@flow`].
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    attr::expand(attr::Kind::Task, args.into(), item.into(), instrument()).into()
}

/// Derives `telemetry::Event` for a struct with named fields: a custom event, sent under
/// the type's name in snake case (`DeployFinished` → `deploy_finished`), each field under its
/// own name.
///
/// A field may only hold a value that cannot carry free text: `bool`, an integer (sent as a
/// range such as `"6-10"`), an enum deriving [`EventValue`](derive@EventValue),
/// `telemetry::Version`, or an `Option` of those. `String`, `&str`, `char`, `PathBuf`,
/// `OsString`, floats, collections, addresses, URLs, times and durations are refused by name
/// with a message saying why; any other type fails on the missing `telemetry::wire::EventField`
/// impl. Every problem is reported at once, each on the offending token.
///
/// Options, in `#[telemetry(...)]` on the struct: `name = "..."` (the event's name instead
/// of the type's), `crate = path` (where the `telemetry` facade is, for hosts that re-export
/// it). Generic parameters and lifetimes are refused: the derive checks each field's type as
/// written, and a parameter could stand for `String`.
///
/// The `telemetry` crate re-exports this derive, with a runnable example.
#[proc_macro_derive(Event, attributes(telemetry))]
pub fn derive_event(item: TokenStream) -> TokenStream {
    derive::derive::<derive::event::EventItem>(item.into()).into()
}

/// Derives `telemetry::EventValue` (and `telemetry::wire::EventField`) for an enum whose
/// variants have no fields, so it can be a field of an [`Event`](derive@Event): a value is
/// sent as its variant's name in snake case (`BlueGreen` → `blue_green`).
///
/// Options: `#[telemetry(name = "...")]` on a variant sends it under that name;
/// `#[telemetry(crate = path)]` on the enum says where the `telemetry` facade is. Variants
/// with fields are refused: they could carry any value. Names are checked against the rule
/// of `telemetry::wire::Name` when the macro runs, and again by the compiler in the generated
/// code.
///
/// The `telemetry` crate re-exports this derive, with a runnable example.
#[proc_macro_derive(EventValue, attributes(telemetry))]
pub fn derive_event_value(item: TokenStream) -> TokenStream {
    derive::derive::<derive::value::ValueItem>(item.into()).into()
}

/// False when this crate was built with `--cfg telemetry_disabled` (the kill switch). The
/// runtime checks the same flag, so a build where only one of them saw it still counts
/// nothing.
fn instrument() -> bool {
    !cfg!(telemetry_disabled)
}

#[cfg(test)]
mod snapshot_tests;
