//! The runtime of the `telemetry` crate. Users depend on the `telemetry` facade, which
//! re-exports what is public here; generated code reaches the rest via `__private`.

mod cache;
mod callsite;
mod clock;
mod command;
mod counters;
mod custom;
mod errors;
mod json;
mod queue;
mod retry;
mod schema;
mod schema_doc;
mod spool;
mod spool_check;
mod timer;

mod calendar;
mod ci;
pub mod cli;
mod config;
mod consent;
mod env;
mod init;
mod paths;
mod prompt;
mod state;
mod transport;
mod worker;

pub use callsite::{CallsiteSnapshot, Features, Kind, callsites, flows_defined, tasks_defined};
pub use command::{Commands, record_command};
pub use counters::{Counts, DURATION_BUCKETS, is_recording, set_recording};
pub use custom::{Event, EventField, EventValue, record};
pub use errors::KnownError;
pub use schema::{
    Bucket, ErrorType, FieldValue, HostTypeName, IoKind, MASK, MaskedCommand, Name, Version,
};

pub use calendar::{BadDate, Clock, Date};
pub use ci::{CI_ENVIRONMENTS, CiMatch, CiVariable, detect_ci};
pub use config::{
    Config, DEFAULT_FLUSH_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_PROMPT_TIMEOUT,
    DEFAULT_RECHECK_INTERVAL, DefaultConsent,
};
pub use consent::{Change, Decision, Rule, recheck, reset_consent, resolve, set_consent};
pub use env::Env;
pub use init::{Guard, init, session_id};
pub use paths::env_prefix;
pub use prompt::{NotShown, PromptOutcome, first_run_prompt, notice_shown_this_run};
pub use state::{How, State, StateError, StateStore};
pub use worker::Diagnostics;

/// Support for the code the macros generate. Not public API: no stability promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::cache::{Cache, CacheKey, CacheValue, Miss, key, key_ref};
    pub use crate::callsite::{Callsite, Features, Kind, Registration};
    pub use crate::counters::{Call, enter};
    pub use crate::custom::{SealedEvent, SealedField};
    pub use crate::errors::{
        CallOutcome, KnownErrOutcome, NotResultOutcome, OtherErrOutcome, Probe,
    };
    pub use crate::retry::{Retries, RetryOutcome, retry, run, typed};
    pub use crate::timer::Sleep;
    pub use crate::{__outcome as outcome, __register as register};
    pub use inventory;
}
