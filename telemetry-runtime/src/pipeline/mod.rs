//! Everything between the call path and the network: settings, batch building, the worker
//! thread, the spool and its check, the endpoint and the transport.
//!
//! - [`settings`]: what the worker runs with, and the buffers' sizes;
//! - [`batch`]: what changed since the last batch, as events (no threads, no I/O);
//! - [`worker`]: the thread that drains, builds, spools and sends, and the exit flush;
//!   [`watch`]: whether it may go on (consent still holds, it is still the one in charge);
//! - [`spool`]: batches kept for later (checked by `wire::check` before one is sent);
//! - [`endpoint`], [`transport`]: where batches go, and sending them within a deadline;
//! - the built-in clients, when compiled in: `http` (with `answer`, `tls`: feature
//!   `https`) or `ureq` (feature `ureq`), and what both use, `proxy` and `roots` (the
//!   system's trusted certificates, CA files);
//! - [`deletion`]: the one `DELETE` a user may ask for, under the same rules;
//! - [`collection`]: the collection config, fetched once a day under the same rules, kept
//!   in the config dir, and applied to each batch before it is spooled.
//!
//! Uses `consent` (the re-check before each send), `files`, `record`, `process`, `wire`,
//! `config` and `base`. Sends only while consent holds (ARCHITECTURE.md, "Invariants").

#[cfg(feature = "https")]
pub(crate) mod answer;
pub(crate) mod batch;
pub(crate) mod client;
pub(crate) mod collection;
pub(crate) mod deletion;
pub(crate) mod deliver;
pub(crate) mod endpoint;
#[cfg(feature = "https")]
pub(crate) mod http;
#[cfg(telemetry_client)]
pub(crate) mod proxy;
pub(crate) mod reply;
#[cfg(telemetry_client)]
pub(crate) mod roots;
pub(crate) mod settings;
pub(crate) mod spool;
#[cfg(feature = "https")]
pub(crate) mod tls;
pub(crate) mod transport;
#[cfg(feature = "ureq")]
pub(crate) mod ureq;
pub(crate) mod url;
pub(crate) mod watch;
pub(crate) mod worker;
