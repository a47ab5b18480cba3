//! The `#[flow]` and `#[task]` attributes of the `telemetry` crate.
//!
//! Use them through the facade (`use telemetry::{flow, task};`), which documents the
//! options; the generated code refers to the runtime through `::telemetry::__private`, or
//! through the path given with `crate = path`.

mod attr;
mod expand;

use proc_macro::TokenStream;

/// Marks a flow: the unit of work a user runs.
///
/// Options (all optional, comma-separated): `retries = N`, `retry_delay_ms = N` (with
/// `retries`), `cache`, `cache_ttl_secs = N` (with `cache`), `crate = path`. The `telemetry`
/// crate's documentation has a runnable example; the README describes each option.
#[proc_macro_attribute]
pub fn flow(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Kind::Flow, args.into(), item.into(), instrument()).into()
}

/// Marks a task: a step inside a flow. Takes the same options as [`macro@flow`].
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Kind::Task, args.into(), item.into(), instrument()).into()
}

/// False when this crate was built with `--cfg telemetry_disabled` (the kill switch). The
/// runtime checks the same flag, so a build where only one of them saw it still counts
/// nothing.
fn instrument() -> bool {
    !cfg!(telemetry_disabled)
}

#[cfg(test)]
mod snapshot_tests;
