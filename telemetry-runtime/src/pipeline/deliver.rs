//! How a request leaves the process: the built-in HTTP/1.1 client over rustls (cargo feature
//! `https`, on by default), ureq (feature `ureq`), or a host's own transport
//! (`wire::deliver::Deliver`); and what an answer says beyond its status (`Retry-After`, a
//! refusal's reason), for the built-in clients.
//!
//! Everything else stays here and in `transport.rs`, whichever transport sends: which
//! endpoints are allowed (HTTPS, or plain HTTP to loopback), retries and backoff,
//! `Retry-After`, stopping on a 4xx, the circuit breaker, and the exit bound (the host never
//! waits for a transport longer than the flush timeout, even one that never returns).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pipeline::reply::{Fetched, Why};
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
    #[cfg(feature = "ureq")]
    Ureq(crate::pipeline::ureq::UreqClient),
    /// Nothing can send to this URL (no built-in client compiled in, or its CA file cannot
    /// be used, and no host transport).
    #[cfg_attr(all(feature = "https", not(feature = "ureq")), allow(dead_code))]
    Nothing,
}

impl Sender {
    /// A `GET` (for a sender made for `GET`): what the collection config's URL answered.
    /// A host's own transport only sends batches.
    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub(crate) fn fetch(&mut self, deadline: Instant, connect_timeout: Duration) -> Fetched {
        match self {
            #[cfg(feature = "https")]
            Sender::Builtin(client) => match client.get(deadline, connect_timeout) {
                Ok(answer) => Fetched::of(answer.status, answer.body),
                Err(_) => Fetched::Failed,
            },
            #[cfg(feature = "ureq")]
            Sender::Ureq(client) => client.fetch(deadline, connect_timeout),
            _ => {
                let _ = (deadline, connect_timeout);
                Fetched::Failed
            }
        }
    }

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

    /// [`send`](Self::send), with what the built-in client knows besides: the reason a
    /// `4xx` answer gave, and a proxy's refusal (a host's transport hands over neither).
    pub(crate) fn send_for_reason(
        &mut self,
        body: &[u8],
        deadline: Instant,
        connect_timeout: Duration,
    ) -> (Delivery, Option<Why>) {
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
                        answer.reason.map(Why::Reason),
                    ),
                    Err(Failure::Retry) => (Delivery::NoAnswer, None),
                    Err(Failure::GiveUp) => (Delivery::Broken, None),
                    Err(Failure::ProxyRefused(status)) => {
                        (Delivery::Broken, Some(Why::ProxyRefused(status)))
                    }
                }
            }
            #[cfg(feature = "ureq")]
            Sender::Ureq(client) => client.send(body, deadline, connect_timeout),
            Sender::Nothing => {
                let _ = (body, connect_timeout);
                (Delivery::Broken, None)
            }
        }
    }
}
