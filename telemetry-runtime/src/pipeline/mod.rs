//! Everything between the call path and the network: settings, batch building, the worker
//! thread, the spool and its check, the endpoint and the transport.
//!
//! - [`settings`]: what the worker runs with, and the buffers' sizes;
//! - [`batch`]: what changed since the last batch, as events (no threads, no I/O);
//! - [`worker`]: the thread that drains, builds, spools and sends, and the exit flush;
//! - [`spool`]: batches kept for later (checked by `wire::check` before one is sent);
//! - [`endpoint`], [`transport`]: where batches go, and sending them within a deadline;
//! - [`deletion`]: the one `DELETE` a user may ask for, under the same rules.
//!
//! Uses `consent` (the re-check before each send), `files`, `record`, `process`, `wire`,
//! `config` and `base`. Sends only while consent holds (ARCHITECTURE.md, "Invariants").

#[cfg(feature = "https")]
pub(crate) mod answer;
pub(crate) mod batch;
pub(crate) mod deletion;
pub(crate) mod deliver;
pub(crate) mod endpoint;
#[cfg(feature = "https")]
pub(crate) mod http;
#[cfg(feature = "https")]
pub(crate) mod proxy;
pub(crate) mod settings;
pub(crate) mod spool;
#[cfg(feature = "https")]
pub(crate) mod tls;
pub(crate) mod transport;
pub(crate) mod url;
pub(crate) mod worker;
