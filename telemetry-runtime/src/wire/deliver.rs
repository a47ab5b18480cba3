//! The contract between the runtime and a host's own transport (`Config::transport`): one
//! call, send these bytes to this URL within this time, and say how it went. What is
//! sent, where, and what happens next (retries, `Retry-After`, stopping on a 4xx, the
//! breaker, the exit bound) stays in `pipeline/`, above it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A host's own way to send telemetry's requests: its HTTP client (reqwest, hyper, a
/// proxy-aware corporate client), so no second HTTP or TLS stack is compiled in
/// (`default-features = false`).
///
/// An implementation sends `request.body` with `request.method` to `request.url` (already
/// checked: `https://`, or `http://` to a loopback address), with `Content-Type:
/// application/json` for a body and `User-Agent: request.user_agent`, follows **no**
/// redirects, gives up by `request.timeout`, and says what happened. It must not panic; a
/// panic is caught and counts as no answer.
///
/// ```
/// use std::time::Duration;
/// use telemetry::config::{Deliver, Delivery, DeliveryRequest};
///
/// /// Answers every request with 204, as a test double would.
/// struct Accepting;
///
/// impl Deliver for Accepting {
///     fn deliver(&self, request: &DeliveryRequest<'_>) -> Delivery {
///         assert!(request.timeout <= Duration::from_secs(5));
///         Delivery::Answered { status: 204, retry_after: None }
///     }
/// }
///
/// let config = telemetry::Config::new("acme", "1.0").transport(Accepting);
/// # let _ = config;
/// ```
pub trait Deliver: Send + Sync {
    /// Sends one request and says how it went.
    fn deliver(&self, request: &DeliveryRequest<'_>) -> Delivery;
}

/// One request for a [`Deliver`].
#[derive(Debug)]
#[non_exhaustive]
pub struct DeliveryRequest<'a> {
    /// `POST` (a batch) or `DELETE` (a deletion request, with an empty body).
    pub method: &'a str,
    /// Where: `https://…`, or `http://` to a loopback address.
    pub url: &'a str,
    /// The batch, JSON; empty for a `DELETE`.
    pub body: &'a [u8],
    /// What to send as `User-Agent`.
    pub user_agent: &'a str,
    /// How long the whole exchange may take, from resolving the name to the last byte.
    pub timeout: Duration,
}

/// What became of a request, for the runtime's policy to decide what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The server answered with this HTTP status (a redirect is an answer, not followed),
    /// and its `Retry-After`, if it gave one as seconds.
    Answered {
        /// The status code.
        status: u16,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// No answer: offline, refused, reset, timed out. Another try may work.
    NoAnswer,
    /// It cannot work as configured (TLS, a proxy, a URL the client refuses): another try
    /// would give the same.
    Broken,
}

/// A host transport, for settings that must be `Debug` and `Clone`.
#[derive(Clone)]
pub(crate) struct HostTransport(pub(crate) Arc<dyn Deliver>);

impl fmt::Debug for HostTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<host transport>")
    }
}
