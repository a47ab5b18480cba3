//! Sends one batch to the configured endpoint. Called by the worker thread only.
//!
//! What it promises, because the worker and the exit flush rely on it:
//!
//! - **Bounded.** No call outlives the `deadline` it is given: every attempt's total timeout is
//!   cut to the time left, and a backoff or `Retry-After` that would end past it is not slept;
//!   the send returns [`SendOutcome::Failed`] at once and the batch goes to the spool.
//! - **HTTPS only**, plain `http://` for loopback addresses alone; redirects are never followed,
//!   so nothing can bounce a batch to a weaker scheme or another host.
//! - **Polite.** 429, 5xx, connection errors, timeouts and garbage are retried a couple of times
//!   with exponential backoff and jitter, honouring `Retry-After` (within one send and, when it
//!   could not be waited out, for the sends after it). 400/401/403/404/410 stop all sending for
//!   the rest of the process. Repeated failed sends open a circuit breaker.
//! - **Silent.** Offline is normal: nothing is printed or logged here, nothing panics; every
//!   failure is a [`SendOutcome`].

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::base::random;
use crate::files::private;
use crate::pipeline::client::TransportOptions;
use crate::pipeline::deliver::Sender;
use crate::pipeline::endpoint::Endpoint;
#[cfg(telemetry_client)]
use crate::pipeline::proxy::Proxy;
use crate::pipeline::reply::Why;
use crate::wire::deliver::Delivery;

/// What became of one batch; the worker decides what to do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// The endpoint answered 2xx (or the line was appended to the file).
    Delivered,
    /// Not delivered, possibly after retries: keep the batch (spool it).
    Failed,
    /// The endpoint answered 400/401/403/404/410: drop the batch and send nothing more for the
    /// rest of the process.
    Rejected,
    /// An earlier send was rejected: nothing was sent.
    Stopped,
    /// Consent was withdrawn before an attempt: nothing more was sent, and the batch is to
    /// be dropped.
    Withdrawn,
    /// The circuit breaker is open (or a `Retry-After` has not elapsed): nothing was sent,
    /// keep the batch.
    CircuitOpen,
    /// The proxy refused to open a tunnel to the endpoint (`407`, `403` to `CONNECT`):
    /// nothing reached the endpoint; keep the batch for a later process, and send nothing
    /// more in this one.
    ProxyRefused(u16),
}

/// Sends batches to one endpoint, remembering across sends whether to stop, back off or wait.
pub(crate) struct Transport {
    endpoint: Endpoint,
    /// `None` for file endpoints.
    sender: Option<Sender>,
    options: TransportOptions,
    stopped: bool,
    consecutive_failures: u32,
    /// When the breaker opened; it stays open for `options.breaker_cooldown`.
    breaker_opened: Option<Instant>,
    /// A `Retry-After` that could not be waited out within its send: (received at, wait).
    retry_after: Option<(Instant, Duration)>,
    requests: u64,
    rng: u64,
    /// The status and reason of the last refusal (a `Rejected` send), until taken.
    refusal: Option<(u16, String)>,
}

/// What one HTTP attempt says about the next step.
enum Attempt {
    Delivered,
    Rejected,
    ProxyRefused(u16),
    /// Retryable, with the server's `Retry-After` if it gave one.
    Retry(Option<Duration>),
    /// Not delivered and a retry would not help (redirect, other 4xx, TLS or URL errors).
    GiveUp,
}

impl Transport {
    /// A transport for `endpoint`, announcing itself as `user_agent` (empty: no header).
    #[cfg(test)]
    pub(crate) fn new(
        endpoint: Endpoint,
        user_agent: &str,
        options: TransportOptions,
    ) -> Transport {
        Transport::through(
            endpoint,
            user_agent,
            options,
            #[cfg(telemetry_client)]
            None,
        )
    }

    /// [`new`](Self::new), with `https://` sends of the built-in client tunnelled through
    /// `proxy` (from the environment, see `proxy.rs`); a host transport does its own
    /// proxying.
    pub(crate) fn through(
        endpoint: Endpoint,
        user_agent: &str,
        options: TransportOptions,
        #[cfg(telemetry_client)] proxy: Option<Proxy>,
    ) -> Transport {
        let sender = endpoint.url().map(|url| {
            options.sender(
                "POST",
                url,
                user_agent,
                #[cfg(telemetry_client)]
                proxy,
            )
        });
        Transport {
            endpoint,
            sender,
            options,
            stopped: false,
            consecutive_failures: 0,
            breaker_opened: None,
            retry_after: None,
            requests: 0,
            rng: seed(),
            refusal: None,
        }
    }

    /// POSTs one batch (`body`: JSON, sent as `application/json`), retrying what is worth
    /// retrying, and returns by `deadline` (give or take the scheduler).
    ///
    /// For a file endpoint, appends `body` and a newline instead (raw newlines inside `body`,
    /// which JSON only allows as whitespace, become spaces so the line stays one line).
    #[cfg(test)]
    pub(crate) fn send(&mut self, body: &[u8], deadline: Instant) -> SendOutcome {
        self.send_checked(body, deadline, &mut || true)
    }

    /// [`send`](Self::send), asking `allowed` before every retry: a `false` (consent was
    /// withdrawn meanwhile, perhaps by `disable` in another terminal) ends the send at once
    /// with [`SendOutcome::Withdrawn`], whatever `Retry-After` said.
    pub(crate) fn send_checked(
        &mut self,
        body: &[u8],
        deadline: Instant,
        allowed: &mut dyn FnMut() -> bool,
    ) -> SendOutcome {
        if self.stopped {
            return SendOutcome::Stopped;
        }
        let now = Instant::now();
        if let Some(opened) = self.breaker_opened {
            if now.saturating_duration_since(opened) < self.options.breaker_cooldown {
                return SendOutcome::CircuitOpen;
            }
            // Half-open: this send decides. Another failure reopens the breaker at once
            // because `consecutive_failures` is still at the threshold.
            self.breaker_opened = None;
        }
        if let Some((at, wait)) = self.retry_after {
            if now.saturating_duration_since(at) < wait {
                return SendOutcome::CircuitOpen;
            }
            self.retry_after = None;
        }
        if deadline <= now {
            // Nothing was tried, so nothing counts against the endpoint.
            return SendOutcome::Failed;
        }

        let outcome = match &self.endpoint {
            Endpoint::File(path) => {
                self.requests += 1;
                append_line(path, body)
            }
            Endpoint::Https(_) | Endpoint::LoopbackHttp(_) => {
                self.send_http(body, deadline, allowed)
            }
        };

        match outcome {
            SendOutcome::Delivered => {
                self.consecutive_failures = 0;
                self.breaker_opened = None;
            }
            SendOutcome::Rejected | SendOutcome::ProxyRefused(_) => self.stopped = true,
            SendOutcome::Failed => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                let threshold = self.options.breaker_threshold;
                if threshold > 0 && self.consecutive_failures >= threshold {
                    self.breaker_opened = Some(Instant::now());
                }
            }
            SendOutcome::Stopped | SendOutcome::CircuitOpen | SendOutcome::Withdrawn => {}
        }
        outcome
    }

    /// The status and reason of the refusal that made the last send `Rejected`, once.
    pub(crate) fn take_refusal(&mut self) -> Option<(u16, String)> {
        self.refusal.take()
    }

    /// Requests attempted so far (each retry counts; a file append counts as one).
    #[cfg(test)]
    pub(crate) fn requests_made(&self) -> u64 {
        self.requests
    }

    fn send_http(
        &mut self,
        body: &[u8],
        deadline: Instant,
        allowed: &mut dyn FnMut() -> bool,
    ) -> SendOutcome {
        let mut retries = 0u32;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return SendOutcome::Failed;
            }
            let retry_after = match self.attempt(body, remaining) {
                Attempt::Delivered => return SendOutcome::Delivered,
                Attempt::Rejected => return SendOutcome::Rejected,
                Attempt::ProxyRefused(status) => return SendOutcome::ProxyRefused(status),
                Attempt::GiveUp => return SendOutcome::Failed,
                Attempt::Retry(retry_after) => retry_after,
            };
            if retries >= self.options.max_retries {
                self.remember_retry_after(retry_after);
                return SendOutcome::Failed;
            }
            retries += 1;
            let wait = match retry_after {
                Some(wait) => wait,
                None => self.backoff(retries),
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            // Waiting until the deadline itself would leave no time for the attempt.
            if wait >= remaining {
                self.remember_retry_after(retry_after);
                return SendOutcome::Failed;
            }
            std::thread::sleep(wait);
            if !allowed() {
                return SendOutcome::Withdrawn;
            }
        }
    }

    fn remember_retry_after(&mut self, retry_after: Option<Duration>) {
        if let Some(wait) = retry_after {
            self.retry_after = Some((Instant::now(), wait));
        }
    }

    /// One POST, its total time cut to `budget`.
    fn attempt(&mut self, body: &[u8], budget: Duration) -> Attempt {
        let Some(sender) = &mut self.sender else {
            return Attempt::GiveUp;
        };
        self.requests += 1;
        let request_timeout = self.options.request_timeout.min(budget);
        let connect_timeout = self.options.connect_timeout.min(request_timeout);
        match sender.send_for_reason(body, Instant::now() + request_timeout, connect_timeout) {
            (
                Delivery::Answered {
                    status,
                    retry_after,
                },
                reason,
            ) => {
                let next = classify_status(status, retry_after);
                if matches!(next, Attempt::Rejected) {
                    let reason = match reason {
                        Some(Why::Reason(reason)) => reason,
                        _ => String::new(),
                    };
                    self.refusal = Some((status, reason));
                }
                next
            }
            (_, Some(Why::ProxyRefused(status))) => Attempt::ProxyRefused(status),
            // Offline, refused, reset, slow or garbled: worth another try.
            (Delivery::NoAnswer, _) => Attempt::Retry(None),
            // TLS and configuration errors do not heal by retrying.
            (Delivery::Broken, _) => Attempt::GiveUp,
        }
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, capped.
    fn backoff(&mut self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let full = self
            .options
            .base_backoff
            .saturating_mul(factor)
            .min(self.options.max_backoff);
        let half = full / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 {
            0
        } else {
            self.next_random() % nanos.saturating_add(1)
        };
        half.saturating_add(Duration::from_nanos(jitter))
    }

    /// xorshift64: jitter needs to differ between processes, not to be unpredictable.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}

/// Jitter must differ between processes started at once: from the OS random source, or, if
/// that fails, from the time and the process id.
fn seed() -> u64 {
    if let Some(seed) = random::u64().filter(|s| *s != 0) {
        return seed;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    let address = &local as *const u8 as usize as u64;
    let mixed = nanos ^ address.rotate_left(32) ^ u64::from(std::process::id()).rotate_left(16);
    // xorshift must not start at zero.
    if mixed == 0 {
        0x9E37_79B9_7F4A_7C15
    } else {
        mixed
    }
}

fn classify_status(status: u16, retry_after: Option<Duration>) -> Attempt {
    match status {
        200..=299 => Attempt::Delivered,
        400 | 401 | 403 | 404 | 410 => Attempt::Rejected,
        408 | 429 | 500..=599 => Attempt::Retry(retry_after),
        // 3xx (not followed) and other 4xx: the same request would get the same answer.
        300..=499 => Attempt::GiveUp,
        // 1xx as a final answer, or a number outside HTTP's range: garbage.
        _ => Attempt::Retry(None),
    }
}

/// Appends `body` as one line, in one write so concurrent appenders do not interleave.
fn append_line(path: &std::path::Path, body: &[u8]) -> SendOutcome {
    let mut line = Vec::with_capacity(body.len() + 1);
    line.extend(
        body.iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    line.push(b'\n');
    match private::append(path, &line) {
        Ok(_) => SendOutcome::Delivered,
        Err(_) => SendOutcome::Failed,
    }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
pub(crate) mod tests;

#[cfg(all(test, feature = "https"))]
#[path = "proxy_tests.rs"]
mod proxy_tests;
