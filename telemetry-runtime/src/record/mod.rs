//! The call path: what an annotated fn does when it runs, and what a host records by hand.
//!
//! - [`callsite`]: one `static` descriptor per annotated fn, and the registry of them all;
//! - [`counters`]: each thread's shard of counters, and the sums readers take of them;
//! - [`call`]: the call in progress, what generated code calls as a call starts and ends;
//! - [`clock`]: the coarse clock calls are timed by;
//! - [`outcome`]: how a call ended, and the type of its error;
//! - [`error_types`]: a small number for each error type seen, for the shards' error counts;
//! - [`queue`]: the bounded queue of discrete events, towards the worker;
//! - [`host`]: `record` and `record_command`;
//! - [`snapshot`]: every callsite and its counters, for local display and tests.
//!
//! Uses `process`, `wire` and `base`. Nothing here blocks, does I/O or allocates after a
//! thread's first counted call (ARCHITECTURE.md, "Invariants").

pub(crate) mod call;
pub(crate) mod callsite;
pub(crate) mod clock;
pub(crate) mod counters;
pub(crate) mod error_types;
pub(crate) mod host;
pub(crate) mod outcome;
pub(crate) mod queue;
pub(crate) mod registry;
pub(crate) mod section;
pub(crate) mod snapshot;
