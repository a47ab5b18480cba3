//! Privacy-first, opt-in usage telemetry for Rust SDKs, frameworks and CLIs.
//!
//! Annotate functions with [`flow`] and [`task`]. The options give real behaviour, and every
//! annotated fn becomes a callsite whose calls are counted, at one relaxed atomic load per
//! call while telemetry is off.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use telemetry::{flow, task};
//!
//! static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
//!
//! /// Fails once, then succeeds: `retries` runs the body again after an `Err`.
//! #[task(retries = 2)]
//! fn fetch(id: u32) -> Result<u32, std::io::Error> {
//!     if ATTEMPTS.fetch_add(1, Ordering::Relaxed) == 0 {
//!         return Err(std::io::ErrorKind::TimedOut.into());
//!     }
//!     Ok(id * 10)
//! }
//!
//! /// Runs once per distinct argument.
//! #[task(cache)]
//! fn parse(raw: String) -> usize {
//!     raw.len()
//! }
//!
//! #[flow]
//! fn nightly() -> Result<usize, std::io::Error> {
//!     let n = fetch(4)?;
//!     Ok(n as usize + parse("abc".into()) + parse("abc".into()))
//! }
//!
//! telemetry::set_recording(true); // consent decides this in a real host
//! assert_eq!(nightly().unwrap(), 46);
//! assert_eq!(ATTEMPTS.load(Ordering::Relaxed), 2);
//!
//! // Every callsite is known without calling it, and its counters can be read.
//! assert_eq!((telemetry::flows_defined(), telemetry::tasks_defined()), (1, 2));
//! let parse_site = telemetry::callsites().into_iter().find(|c| c.name == "parse").unwrap();
//! assert_eq!((parse_site.counts.cache_hits, parse_site.counts.cache_misses), (1, 1));
//! ```
//!
//! `async fn`s work the same on any executor; see the README for every option, the
//! generated code and the kill switch (`--cfg telemetry_disabled`).

// Lets the facade's own code and doctests use `::telemetry::…` paths like users do.
extern crate self as telemetry;

/// `#[derive(Event)]` makes a struct a custom event; `#[derive(EventValue)]` makes a
/// field-less enum a value one of its fields can hold. The derives refuse, at compile time,
/// every field type that could carry free text (`String`, `&str`, `PathBuf`, `f64`, `Vec`, …).
///
/// ```
/// use telemetry::{Bucket, Event, EventValue, FieldValue};
///
/// #[derive(telemetry::EventValue)]
/// enum Strategy {
///     BlueGreen,
///     #[telemetry(name = "canary_release")]
///     Canary,
/// }
///
/// #[derive(telemetry::Event)]
/// struct DeployFinished {
///     dry_run: bool,
///     targets: u32,
///     strategy: Strategy,
///     retries: Option<u8>,
/// }
///
/// let event = DeployFinished {
///     dry_run: false,
///     targets: 7,
///     strategy: Strategy::Canary,
///     retries: None,
/// };
/// assert_eq!(DeployFinished::NAME, "deploy_finished");
/// assert_eq!(Strategy::VARIANTS, ["blue_green", "canary_release"]);
/// assert_eq!(event.fields()[1], ("targets", FieldValue::Count(Bucket::of(7)))); // "6-10"
/// assert_eq!(event.fields()[3], ("retries", FieldValue::Absent));
///
/// telemetry::record(&event); // sent with the next batch, if the user consented
/// ```
pub use telemetry_macros::{Event, EventValue};
pub use telemetry_macros::{flow, task};
pub use telemetry_runtime::{
    CallsiteSnapshot, Counts, DURATION_BUCKETS, Features, Kind, callsites, flows_defined,
    is_recording, set_recording, tasks_defined,
};

// The pipeline (SPEC §6, §7).
pub use telemetry_runtime::{
    DEFAULT_FLUSH_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, Diagnostics, ErrorType, IoKind, KnownError,
};

// What a host may add to what is sent (SPEC §6): its masked command line, its own events
// and the names of its own error types.
pub use telemetry_runtime::{
    Bucket, Commands, Event, EventField, EventValue, FieldValue, MASK, MaskedCommand, Name,
    Version, record, record_command,
};

#[doc(hidden)]
pub mod __private {
    pub use telemetry_runtime::__private::*;
}

// Consent and control (SPEC §4, §5, §8).
pub use telemetry_runtime::{
    BadDate, CI_ENVIRONMENTS, Change, CiMatch, CiVariable, Clock, Config, DEFAULT_PROMPT_TIMEOUT,
    DEFAULT_RECHECK_INTERVAL, Date, Decision, DefaultConsent, Env, Guard, How, NotShown,
    PromptOutcome, Rule, State, StateError, StateStore, cli, detect_ci, env_prefix,
    first_run_prompt, init, notice_shown_this_run, recheck, reset_consent, resolve, session_id,
    set_consent,
};
