//! Privacy-first, opt-in usage telemetry for Rust SDKs, frameworks and CLIs.
#![doc = "See the README for an overview."]

// Lets the facade's own code and doctests use `::telemetry::…` paths like users do.
extern crate self as telemetry;

pub use telemetry_macros::{flow, task};
pub use telemetry_runtime::{
    CallsiteSnapshot, Counts, DURATION_BUCKETS, Features, Kind, callsites, flows_defined,
    is_recording, set_recording, tasks_defined,
};

#[doc(hidden)]
pub mod __private {
    pub use telemetry_runtime::__private::*;
}
