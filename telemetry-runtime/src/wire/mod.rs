//! Everything that can leave the machine, as types: the whole privacy surface, in one
//! folder a reviewer reads (ARCHITECTURE.md, "What may leave the machine").
//!
//! Only counts, booleans, closed enumerations, ranges, checked version strings, names the
//! host wrote in its source, the hour, and random ids. No field can hold a name, a path, a
//! message, a value of the host's data, or an exact time: there is no `String` the host or
//! the user could fill with free text.
//!
//! - [`event`]: a batch and its six event types;
//! - [`features`]: the one table of feature flags, and the `usage` event's `features`;
//! - [`buckets`]: duration buckets and the ranges custom integers are sent as;
//! - [`errors`]: the error types that may be named;
//! - [`text`]: checked versions and names; [`id`]: random ids and the hour;
//! - [`command`]: masking a command line; [`custom`]: what a host's own event may hold;
//! - [`json`]: the one JSON writer and reader; [`samples`]: one event of every type, and
//!   random batches for the property tests;
//! - [`schema`]: the contract read off the writer: every key, what its value must be,
//!   which are optional, the schema versions;
//! - [`received`]: a batch as a receiver gets it, and what reading it gives; [`read`]:
//!   reading it by its meaning (what a newer runtime adds is left out and counted);
//! - [`check`]: whether bytes are, exactly, a batch our own writer could have written (a
//!   spooled batch before it is sent again, a line of the sent log);
//! - [`deliver`]: the contract a host's own transport fulfils (what it is handed, what it
//!   answers);
//! - [`collection`]: a collection config, which can only narrow what is sent;
//!   [`narrowing`]: what it asks of one app and version, and a batch narrowed by it.
//!
//! This layer uses only `base`.

pub(crate) mod buckets;
pub(crate) mod check;
pub(crate) mod collection;
pub(crate) mod command;
pub(crate) mod custom;
pub(crate) mod deliver;
pub(crate) mod errors;
pub(crate) mod event;
pub(crate) mod features;
pub(crate) mod id;
pub(crate) mod json;
pub(crate) mod narrowing;
pub(crate) mod read;
pub(crate) mod received;
pub(crate) mod samples;
pub(crate) mod schema;
pub(crate) mod text;
