//! The files in the config dir that decide and record consent, and the one helper every
//! writer of a file uses.
//!
//! - [`private`]: create 0600 files in a 0700 directory, append in one write, replace
//!   atomically;
//! - [`state`]: what `telemetry_state.toml` holds, and its errors;
//! - [`lock`]: the OS lock writers take;
//! - [`store`]: reading and changing the state and the audit log;
//! - [`sent_log`]: the record of what was delivered.
//!
//! Uses `wire` and `base`. Never writes while consent is off, except what the user asked for
//! (`enable`, `disable`, `reset`, the prompt).

pub(crate) mod keys;
pub(crate) mod lock;
pub(crate) mod private;
pub(crate) mod read;
pub(crate) mod sent_log;
pub(crate) mod state;
pub(crate) mod store;
