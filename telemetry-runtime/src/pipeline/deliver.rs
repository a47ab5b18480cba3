//! How a request leaves the process: the built-in HTTP/1.1 client over rustls (cargo feature
//! `https`, on by default), or a host's own transport (`wire::deliver::Deliver`).
//!
//! Everything else stays here and in `transport.rs`, whichever transport sends: which
//! endpoints are allowed (HTTPS, or plain HTTP to loopback), retries and backoff,
//! `Retry-After`, stopping on a 4xx, the circuit breaker, and the exit bound (the host never
//! waits for a transport longer than the flush timeout, even one that never returns).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::wire::deliver::{Deliver, Delivery, DeliveryRequest};

/// Sends requests of one method to one URL, through the host's transport or the built-in
/// client.
pub(crate) enum Sender {
    Host {
        transport: Arc<dyn Deliver>,
        method: &'static str,
        url: String,
        user_agent: String,
    },
    #[cfg(feature = "https")]
    Builtin(crate::pipeline::http::Client),
    /// Nothing can send to this URL (built without `https`, and no host transport).
    #[cfg(not(feature = "https"))]
    Nothing,
}

impl Sender {
    /// One request, ending by `deadline`; the built-in client connects within
    /// `connect_timeout`.
    pub(crate) fn send(
        &mut self,
        body: &[u8],
        deadline: Instant,
        connect_timeout: Duration,
    ) -> Delivery {
        self.send_for_reason(body, deadline, connect_timeout).0
    }

    /// [`send`](Self::send), with the reason a `4xx` answer gave, where the client reads
    /// one (the built-in client does; a host's transport hands over no body).
    pub(crate) fn send_for_reason(
        &mut self,
        body: &[u8],
        deadline: Instant,
        connect_timeout: Duration,
    ) -> (Delivery, Option<String>) {
        match self {
            Sender::Host {
                transport,
                method,
                url,
                user_agent,
            } => {
                let request = DeliveryRequest {
                    method,
                    url,
                    body,
                    user_agent,
                    timeout: deadline.saturating_duration_since(Instant::now()),
                };
                // A host's code must not take the worker down with it.
                let delivery = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    transport.deliver(&request)
                }))
                .unwrap_or(Delivery::NoAnswer);
                (delivery, None)
            }
            #[cfg(feature = "https")]
            Sender::Builtin(client) => {
                use crate::pipeline::http::Failure;
                match client.post(body, deadline, connect_timeout) {
                    Ok(answer) => (
                        Delivery::Answered {
                            status: answer.status,
                            retry_after: answer.retry_after,
                        },
                        answer.reason,
                    ),
                    Err(Failure::Retry) => (Delivery::NoAnswer, None),
                    Err(Failure::GiveUp) => (Delivery::Broken, None),
                }
            }
            #[cfg(not(feature = "https"))]
            Sender::Nothing => {
                let _ = (body, connect_timeout);
                (Delivery::Broken, None)
            }
        }
    }
}
