//! The runtime of the `telemetry` crate. Hosts depend on the `telemetry` facade, which
//! re-exports what is public here, grouped by who needs it; generated code reaches the rest
//! through `__private`.
//!
//! # Layers
//!
//! The crate is built in layers. A module may `use` the layers listed before its own and
//! never one after it, and the files of one folder never import each other in a circle
//! (ARCHITECTURE.md has the map, and what each layer owns):
//!
//! 1. `base`: environment variables, dates, randomness, the names and places of files;
//! 2. `wire`: everything that can leave the machine, and the one JSON writer;
//! 3. `decision`: what a decision is (on/off and the rule that made it);
//! 4. `config`: what a host passes to `init`;
//! 5. `process`: the decision in force, the recording flag, the session id;
//! 6. `record`: the call path: callsites, counter shards, the clock, the queue;
//! 7. `options`: what `retries` and `cache` really do;
//! 8. `files`: the state file, the audit log, the lock, private-file writes;
//! 9. `consent`: the nine rules, CI detection, recording a decision, the prompt;
//! 10. `pipeline`: settings, batches, the worker, the spool, the transport;
//! 11. `cli`: the management commands, `preview` and `schema`;
//! 12. `init`: `init` and its guard.

#![warn(unreachable_pub)]

mod base;
mod wire;

mod decision;

mod config;

mod process;

mod record;

mod options;

mod files;

mod consent;

mod pipeline;

pub mod cli;

mod init;

// What a host calls.
pub use config::Config;
pub use consent::change::{reset_consent, set_consent};
pub use consent::prompt::first_run_prompt;
pub use decision::{DefaultConsent, Identity};
pub use init::{Guard, init};
pub use pipeline::settings::Diagnostics;
pub use record::host::{record, record_command};
pub use record::outcome::KnownError;
pub use wire::command::Commands;
pub use wire::custom::{Event, EventValue};
pub use wire::deliver::{Deliver, Delivery, DeliveryRequest};
pub use wire::errors::ErrorType;
pub use wire::text::Version;

// Settings and what tests inject into them.
pub use base::calendar::{BadDate, Clock, Date};
pub use base::env::Env;
#[cfg(telemetry_client)]
pub use config::HttpClient;
pub use config::{
    DEFAULT_FLUSH_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_PROMPT_TIMEOUT,
    DEFAULT_RECHECK_INTERVAL,
};

// Consent, for hosts with their own consent UI and for tests.
pub use base::paths::{ConfigDirError, FileProblem, env_prefix};
pub use consent::change::Change;
pub use consent::ci::{CI_ENVIRONMENTS, detect_ci};
pub use consent::prompt::{NotShown, PromptOutcome, notice_shown_this_run};
pub use consent::rules::{recheck, resolve};
pub use decision::{CiMatch, CiVariable, Decision, Rule};
pub use files::lock::LOCK_TIMEOUT;
pub use files::state::{How, State, StateError};
pub use files::store::StateStore;

// For the collector, which reads its operator's files as the runtime reads its own.
pub use files::read::read_regular_file;

// What leaves the machine, as far as a host can name it.
pub use wire::buckets::{Bucket, ConcurrencyBucket, DurationBucket};
pub use wire::collection::{
    COLLECTION_CONFIG_VERSION, CollectionConfig, ConfigError, MAX_CONFIG_BYTES, collection_tag,
};
pub use wire::command::{MASK, MaskedCommand};
pub use wire::custom::{EventField, FieldValue};
pub use wire::errors::{HostTypeName, IoKind};
pub use wire::event::SCHEMA_VERSION;
pub use wire::json::MAX_COUNT;
pub use wire::narrowing::{Narrowing, sample_draw};
pub use wire::read::read_batch;
pub use wire::received::{
    Document, LeftOut, ReceivedBatch, ReceivedBody, ReceivedEvent, Refusal, normalize_id,
};
pub use wire::schema::{KNOWN_SCHEMA_VERSIONS, UNKNOWN};
pub use wire::text::Name;

// What a developer can read back locally.
pub use process::session_id;
pub use record::counters::{Counts, is_recording, set_recording};
pub use record::snapshot::{CallsiteSnapshot, callsites, flows_defined, tasks_defined};
pub use wire::features::{Features, Kind};

/// Batches for tests of a receiver (the collector's property and compatibility tests). Not
/// public API: no stability promise.
#[doc(hidden)]
pub mod __testing {
    use crate::wire::json::ToJson;

    /// A batch of random events of every type from `seed`, as the worker writes it.
    pub fn random_batch(seed: u64) -> Vec<u8> {
        crate::wire::samples::random_batch(seed).to_bytes()
    }

    /// One event of every type, with made-up values, as the worker writes it.
    pub fn sample_batch() -> Vec<u8> {
        crate::wire::samples::sample_batch(crate::wire::samples::samples())
            .to_json()
            .compact()
            .into_bytes()
    }
}

/// Support for the code the macros generate. Not public API: no stability promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::options::cache::{Cache, CacheKey, CacheValue, Miss, key, key_ref};
    pub use crate::options::retry::{Question, Retries, RetryOutcome, retry, run, typed};
    pub use crate::options::sleep::Sleep;
    pub use crate::record::call::{
        AsyncCall, Call, CallOf, Scope, ScopeOf, Site, enter, enter_async, scope, scope_async,
    };
    pub use crate::record::callsite::Callsite;
    pub use crate::record::counters::Slot;
    pub use crate::record::outcome::{
        CallOutcome, KnownErrOutcome, NotResultOutcome, OtherErrOutcome, Probe,
    };
    pub use crate::wire::custom::{SealedEvent, SealedField};
    pub use crate::wire::features::{Features, Kind};
    pub use crate::{__callsite as callsite, __outcome as outcome};
}
