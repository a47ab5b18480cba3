//! Privacy-first, opt-in usage telemetry for Rust SDKs, frameworks and CLIs.
//!
//! Annotate functions with [`flow`] and [`task`]. The options give real behaviour, and every
//! annotated fn becomes a callsite whose calls are counted, at one relaxed atomic load per
//! call while telemetry is off. [`init`] decides, with the user's consent, whether anything
//! is counted and sent at all.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use telemetry::config::Env;
//! use telemetry::{Config, flow, task};
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
//! // Consent decides. Here the user said yes for this run (`ACME_TELEMETRY_ENABLED=1`); a
//! // real host reads its environment and its user's stored decision, and opts in by default.
//! let tmp = tempfile::tempdir().unwrap();
//! let config = Config::new("acme", "1.0")
//!     .env(Env::empty().with("ACME_TELEMETRY_ENABLED", "1"))
//!     .config_dir(tmp.path())
//!     .policy_file(tmp.path().join("policy.toml")); // not the real /etc/acme/telemetry.toml
//! let _telemetry = telemetry::init(config); // no endpoint set: counts, sends nowhere
//!
//! assert_eq!(nightly().unwrap(), 46);
//! assert_eq!(ATTEMPTS.load(Ordering::Relaxed), 2);
//!
//! // Every callsite is known without calling it, and its counters can be read locally.
//! use telemetry::introspect::{callsites, flows_defined, tasks_defined};
//! assert_eq!((flows_defined(), tasks_defined()), (1, 2));
//! let parse_site = callsites().into_iter().find(|c| c.name == "parse").unwrap();
//! if _telemetry.is_enabled() {
//!     assert_eq!((parse_site.counts.cache_hits, parse_site.counts.cache_misses), (1, 1));
//! }
//! ```
//!
//! `async fn`s work the same on any executor; docs/macros.md describes every option, the
//! generated code and the kill switch (`--cfg telemetry_disabled`), and docs/sending.md
//! what is sent.
//!
//! # Where things are
//!
//! What a host calls is at the root. The rest is grouped by who needs it:
//! [`config`] (settings and what tests inject), [`consent`] (the rules, the state file,
//! for hosts with their own consent UI), [`wire`] (the values a host's events may hold),
//! [`introspect`] (reading callsites and counters locally), [`testing`] (switches that
//! bypass consent, for tests and benchmarks only), and [`cli`] (the management commands).
//!
//! # Cargo features
//!
//! - `https` (on by default): the built-in transport, HTTP/1.1 over rustls with the
//!   bundled and the system's roots. With `default-features = false` no HTTP or TLS crate is
//!   compiled and the host sends through its own client (`Config::transport`, see
//!   [`config::Deliver`]).
//! - `clap` (off by default): `telemetry::cli::clap`, the management commands as a
//!   `clap::Subcommand` a host adds as one variant of its own enum
//!   (`TelemetryCommand`, with `run(&config)`), and the masking allowlist read from the
//!   host's own `clap::Command` (`allowlist`, `allowlist_keeping` for opted-in choices).
//!   Without it, [`Commands`] and [`cli::run`] do the same by hand.

// Lets the facade's own code and doctests use `::telemetry::…` paths like users do.
extern crate self as telemetry;

/// `#[derive(Event)]` makes a struct a custom event; `#[derive(EventValue)]` makes a
/// field-less enum a value one of its fields can hold. The derives refuse, at compile time,
/// every field type that could carry free text (`String`, `&str`, `PathBuf`, `f64`, `Vec`, …).
///
/// ```
/// use telemetry::wire::{Bucket, FieldValue};
/// use telemetry::{Event, EventValue};
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
    Commands, Config, DefaultConsent, Diagnostics, ErrorType, Event, EventValue, Guard, KnownError,
    Version, cli, first_run_prompt, init, record, record_command, reset_consent, set_consent,
};

/// The host's settings, and what a test injects into them: the environment, today's date.
pub mod config {
    #[cfg(any(feature = "https", feature = "ureq"))]
    pub use telemetry_runtime::HttpClient;
    pub use telemetry_runtime::{
        BadDate, Clock, Config, DEFAULT_FLUSH_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL,
        DEFAULT_PROMPT_TIMEOUT, DEFAULT_RECHECK_INTERVAL, Date, DefaultConsent, Deliver, Delivery,
        DeliveryRequest, Env, Identity,
    };
}

/// How consent is decided and stored, for hosts with their own consent UI and for tests.
pub mod consent {
    pub use telemetry_runtime::{
        CI_ENVIRONMENTS, Change, CiMatch, CiVariable, ConfigDirError, Decision, FileProblem, How,
        LOCK_TIMEOUT, NotShown, PromptOutcome, Rule, State, StateError, StateStore, detect_ci,
        env_prefix, notice_shown_this_run, recheck, resolve,
    };
}

/// The values that can leave the machine, as far as a host names them (what its own
/// events' fields hold, its masked command line, the ranges numbers are sent as), and a
/// batch as a receiver reads it by its meaning ([`read_batch`](wire::read_batch)), under
/// the compatibility contract (docs/compatibility.md).
pub mod wire {
    pub use telemetry_runtime::{
        Bucket, ConcurrencyBucket, Document, DurationBucket, ErrorType, EventField, FieldValue,
        HostTypeName, IoKind, KNOWN_SCHEMA_VERSIONS, LeftOut, MASK, MAX_COUNT, MaskedCommand, Name,
        ReceivedBatch, ReceivedBody, ReceivedEvent, Refusal, SCHEMA_VERSION, UNKNOWN, Version,
        normalize_id, read_batch,
    };
}

/// Reading this process's callsites and counters locally: nothing here is ever sent.
pub mod introspect {
    pub use telemetry_runtime::{
        CallsiteSnapshot, Counts, Features, Kind, callsites, flows_defined, is_recording,
        session_id, tasks_defined,
    };
}

/// For tests and benchmarks only: switches that bypass consent.
pub mod testing {
    pub use telemetry_runtime::set_recording;
}

#[doc(hidden)]
pub mod __private {
    pub use telemetry_runtime::__private::*;
}
