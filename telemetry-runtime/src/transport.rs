//! Sends one batch to the configured endpoint (SPEC §7). Called by the worker thread only.
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

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where batches go, checked once by [`Endpoint::parse`] so that sending never has to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `https://…`, the normal case.
    Https(String),
    /// `http://…` whose host is `localhost`, an address in 127.0.0.0/8 or `::1`: a local
    /// collector or a test receiver. Never goes through a proxy.
    LoopbackHttp(String),
    /// `file:///abs/path`: each batch is appended as one JSON line (air-gapped sites, audits).
    File(PathBuf),
}

/// Why an endpoint string was refused. The message never repeats the URL's host, path or query
/// (they may hold tokens); at most it names the scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EndpointError {
    /// Empty or only whitespace.
    Empty,
    /// No `scheme://` at all, or a URL that cannot be parsed.
    Malformed,
    /// A scheme other than `https`, `http` (loopback) or `file`.
    UnsupportedScheme(String),
    /// `http://` to a host that is not a loopback address.
    PlainHttpNotLoopback,
    /// `http(s)://` without a host.
    MissingHost,
    /// `http://user@…` to loopback: never needed, and easy to misread as a host.
    Credentials,
    /// `file:` that is not `file:///absolute/path`.
    FileNotAbsolute,
    /// `file:` with a `?query` or `#fragment`.
    FileQueryOrFragment,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Empty => f.write_str("telemetry endpoint is empty"),
            EndpointError::Malformed => {
                f.write_str("telemetry endpoint is not a valid https://, http:// or file:// URL")
            }
            EndpointError::UnsupportedScheme(scheme) => write!(
                f,
                "telemetry endpoint scheme `{scheme}:` is not supported \
                 (use https://, http:// to a loopback address, or file:///absolute/path)"
            ),
            EndpointError::PlainHttpNotLoopback => f.write_str(
                "telemetry endpoint uses plain http:// to a non-loopback host; \
                 only https:// is allowed there (http:// is for 127.0.0.1, ::1 and localhost)",
            ),
            EndpointError::MissingHost => f.write_str("telemetry endpoint has no host"),
            EndpointError::Credentials => {
                f.write_str("telemetry endpoint must not carry credentials in an http:// URL")
            }
            EndpointError::FileNotAbsolute => f.write_str(
                "telemetry file endpoint must be an absolute path written file:///absolute/path",
            ),
            EndpointError::FileQueryOrFragment => {
                f.write_str("telemetry file endpoint must not have a ?query or #fragment")
            }
        }
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    /// Checks an endpoint string (surrounding whitespace ignored).
    ///
    /// `https://host/…` is accepted; `http://` only when the host is `localhost`, an address
    /// in 127.0.0.0/8 or `[::1]`; `file:///abs/path` (percent-escapes decoded) appends JSON
    /// lines. Everything else is an [`EndpointError`].
    pub(crate) fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(EndpointError::Empty);
        }
        let Some((scheme, rest)) = s.split_once(':') else {
            return Err(EndpointError::Malformed);
        };
        if !is_scheme(scheme) {
            return Err(EndpointError::Malformed);
        }
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "file" => parse_file(rest).map(Endpoint::File),
            "https" | "http" => {
                // Parse with the same parser ureq uses, so the host checked here is the host
                // it connects to (no `http://127.0.0.1@elsewhere/` games).
                let uri: ureq::http::Uri = s.parse().map_err(|_| EndpointError::Malformed)?;
                let Some(authority) = uri.authority() else {
                    return Err(EndpointError::MissingHost);
                };
                let host = authority.host();
                if host.is_empty() {
                    return Err(EndpointError::MissingHost);
                }
                if scheme == "https" {
                    return Ok(Endpoint::Https(s.to_owned()));
                }
                if authority.as_str().contains('@') {
                    return Err(EndpointError::Credentials);
                }
                if is_loopback_host(host) {
                    Ok(Endpoint::LoopbackHttp(s.to_owned()))
                } else {
                    Err(EndpointError::PlainHttpNotLoopback)
                }
            }
            _ => Err(EndpointError::UnsupportedScheme(scheme)),
        }
    }
}

/// RFC 3986 scheme syntax, capped in length so an error message naming it stays short.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 16
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// `rest` is what follows `file:`; only `///absolute/path` is accepted.
fn parse_file(rest: &str) -> Result<PathBuf, EndpointError> {
    let Some(path) = rest.strip_prefix("//") else {
        return Err(EndpointError::FileNotAbsolute);
    };
    // An empty authority, so the path starts with '/'; `file://host/…` is refused.
    if !path.starts_with('/') || path.len() < 2 {
        return Err(EndpointError::FileNotAbsolute);
    }
    if path.contains(['?', '#']) {
        return Err(EndpointError::FileQueryOrFragment);
    }
    let bytes = percent_decode(path).ok_or(EndpointError::Malformed)?;
    path_from_bytes(bytes)
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> Result<PathBuf, EndpointError> {
    use std::os::unix::ffi::OsStringExt;
    if bytes.contains(&0) {
        return Err(EndpointError::Malformed);
    }
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> Result<PathBuf, EndpointError> {
    let s = String::from_utf8(bytes).map_err(|_| EndpointError::Malformed)?;
    // `file:///C:/dir/x` names `C:/dir/x` on Windows.
    let b = s.as_bytes();
    let s = if b.len() >= 3 && b[0] == b'/' && b[1].is_ascii_alphabetic() && b[2] == b':' {
        &s[1..]
    } else {
        &s[..]
    };
    let path = PathBuf::from(s);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(EndpointError::FileNotAbsolute)
    }
}

/// Timeouts, retries and breaker settings. [`Default`] is what production uses.
#[derive(Clone, Debug)]
pub(crate) struct TransportOptions {
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest one attempt may take, from DNS to the end of the response.
    pub request_timeout: Duration,
    /// Extra attempts after the first, for retryable failures.
    pub max_retries: u32,
    /// First backoff; doubled for each retry, then jittered.
    pub base_backoff: Duration,
    /// Cap on one backoff (a server's `Retry-After` is honoured even when longer).
    pub max_backoff: Duration,
    /// Consecutive failed sends that open the breaker; 0 disables it.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses sends before letting one through again.
    pub breaker_cooldown: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            max_retries: 2,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(5 * 60),
        }
    }
}

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
    /// The circuit breaker is open (or a `Retry-After` has not elapsed): nothing was sent,
    /// keep the batch.
    CircuitOpen,
}

/// Sends batches to one endpoint, remembering across sends whether to stop, back off or wait.
pub(crate) struct Transport {
    endpoint: Endpoint,
    /// `None` for file endpoints.
    agent: Option<ureq::Agent>,
    options: TransportOptions,
    stopped: bool,
    consecutive_failures: u32,
    /// When the breaker opened; it stays open for `options.breaker_cooldown`.
    breaker_opened: Option<Instant>,
    /// A `Retry-After` that could not be waited out within its send: (received at, wait).
    retry_after: Option<(Instant, Duration)>,
    requests: u64,
    rng: u64,
}

/// What one HTTP attempt says about the next step.
enum Attempt {
    Delivered,
    Rejected,
    /// Retryable, with the server's `Retry-After` if it gave one.
    Retry(Option<Duration>),
    /// Not delivered and a retry would not help (redirect, other 4xx, TLS or URL errors).
    GiveUp,
}

impl Transport {
    /// A transport for `endpoint`, announcing itself as `user_agent` (empty: no header).
    pub(crate) fn new(
        endpoint: Endpoint,
        user_agent: &str,
        options: TransportOptions,
    ) -> Transport {
        let agent = build_agent(&endpoint, user_agent, &options);
        Transport {
            endpoint,
            agent,
            options,
            stopped: false,
            consecutive_failures: 0,
            breaker_opened: None,
            retry_after: None,
            requests: 0,
            rng: seed(),
        }
    }

    /// POSTs one batch (`body`: JSON, sent as `application/json`), retrying what is worth
    /// retrying, and returns by `deadline` (give or take the scheduler).
    ///
    /// For a file endpoint, appends `body` and a newline instead (raw newlines inside `body`,
    /// which JSON only allows as whitespace, become spaces so the line stays one line).
    pub(crate) fn send(&mut self, body: &[u8], deadline: Instant) -> SendOutcome {
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
            Endpoint::Https(url) | Endpoint::LoopbackHttp(url) => {
                let url = url.clone();
                self.send_http(&url, body, deadline)
            }
        };

        match outcome {
            SendOutcome::Delivered => {
                self.consecutive_failures = 0;
                self.breaker_opened = None;
            }
            SendOutcome::Rejected => self.stopped = true,
            SendOutcome::Failed => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                let threshold = self.options.breaker_threshold;
                if threshold > 0 && self.consecutive_failures >= threshold {
                    self.breaker_opened = Some(Instant::now());
                }
            }
            SendOutcome::Stopped | SendOutcome::CircuitOpen => {}
        }
        outcome
    }

    /// Requests attempted so far (each retry counts; a file append counts as one).
    #[cfg(test)]
    pub(crate) fn requests_made(&self) -> u64 {
        self.requests
    }

    fn send_http(&mut self, url: &str, body: &[u8], deadline: Instant) -> SendOutcome {
        let mut retries = 0u32;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return SendOutcome::Failed;
            }
            let retry_after = match self.attempt(url, body, remaining) {
                Attempt::Delivered => return SendOutcome::Delivered,
                Attempt::Rejected => return SendOutcome::Rejected,
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
        }
    }

    fn remember_retry_after(&mut self, retry_after: Option<Duration>) {
        if let Some(wait) = retry_after {
            self.retry_after = Some((Instant::now(), wait));
        }
    }

    /// One POST, its total time cut to `budget`.
    fn attempt(&mut self, url: &str, body: &[u8], budget: Duration) -> Attempt {
        let Some(agent) = &self.agent else {
            return Attempt::GiveUp;
        };
        self.requests += 1;
        let request_timeout = self.options.request_timeout.min(budget);
        let connect_timeout = self.options.connect_timeout.min(request_timeout);
        let result = agent
            .post(url)
            .config()
            .timeout_global(Some(request_timeout))
            .timeout_connect(Some(connect_timeout))
            .build()
            .content_type("application/json")
            .send(body);
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(ureq::http::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(parse_retry_after);
                // Read the (small) answer so the connection can be reused; what it says does
                // not matter and a failure here does not change the status.
                let _ = response
                    .body_mut()
                    .with_config()
                    .limit(16 * 1024)
                    .read_to_vec();
                classify_status(status, retry_after)
            }
            Err(error) => classify_error(&error),
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

fn seed() -> u64 {
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

fn build_agent(
    endpoint: &Endpoint,
    user_agent: &str,
    options: &TransportOptions,
) -> Option<ureq::Agent> {
    let (https_only, proxy) = match endpoint {
        // A corporate HTTP(S) CONNECT proxy from the environment is honoured; a SOCKS one is
        // not (no `socks-proxy` feature) and is dropped here rather than have ureq warn.
        Endpoint::Https(_) => (
            true,
            ureq::Proxy::try_from_env().filter(|proxy| {
                matches!(
                    proxy.protocol(),
                    ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
                )
            }),
        ),
        // A loopback collector is on this machine: a proxy could only get in the way.
        Endpoint::LoopbackHttp(_) => (false, None),
        Endpoint::File(_) => return None,
    };
    let config = ureq::Agent::config_builder()
        // Statuses are outcomes we classify, not errors.
        .http_status_as_error(false)
        .https_only(https_only)
        // Never follow a redirect: the simplest way to never be sent to a weaker scheme or
        // another host. A 3xx is a failed send.
        .max_redirects(0)
        .proxy(proxy)
        .user_agent(user_agent)
        .timeout_connect(Some(options.connect_timeout))
        .timeout_global(Some(options.request_timeout))
        .max_idle_connections(1)
        .max_idle_connections_per_host(1)
        .build();
    Some(ureq::Agent::new_with_config(config))
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

fn classify_error(error: &ureq::Error) -> Attempt {
    use ureq::Error as E;
    match error {
        // Offline, refused, reset, slow or garbled: worth another try.
        E::Io(_)
        | E::Timeout(_)
        | E::ConnectionFailed
        | E::HostNotFound
        | E::Protocol(_)
        | E::LargeResponseHeader(..)
        | E::BodyStalled
        | E::ConnectProxyFailed(_) => Attempt::Retry(None),
        // TLS, URL and configuration errors do not heal by retrying.
        _ => Attempt::GiveUp,
    }
}

/// The delay-seconds form of `Retry-After`. An HTTP-date counts as "not given" (the normal
/// backoff applies); a number too large for `u64` as "longer than any deadline".
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        value
            .parse::<u64>()
            .map(Duration::from_secs)
            .unwrap_or(Duration::MAX),
    )
}

/// Appends `body` as one line, in one `write` so concurrent appenders do not interleave.
fn append_line(path: &std::path::Path, body: &[u8]) -> SendOutcome {
    let mut line = Vec::with_capacity(body.len() + 1);
    line.extend(
        body.iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    line.push(b'\n');
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options
        .open(path)
        .and_then(|mut file| file.write_all(&line))
    {
        Ok(()) => SendOutcome::Delivered,
        Err(_) => SendOutcome::Failed,
    }
}

#[cfg(test)]
#[path = "../../tests/common/receiver.rs"]
mod receiver;

#[cfg(test)]
mod tests {
    use super::receiver::{Receiver, Reply};
    use super::*;
    use std::thread;

    const BODY: &[u8] = br#"{"schema_version":1,"batch_id":"b","events":[]}"#;

    /// Short everything, so failures are quick; tests override what they exercise.
    fn quick() -> TransportOptions {
        TransportOptions {
            connect_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_millis(300),
            max_retries: 2,
            base_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(60),
        }
    }

    fn to(receiver: &Receiver, options: TransportOptions) -> Transport {
        let endpoint = Endpoint::parse(&receiver.url()).expect("receiver url is loopback http");
        Transport::new(endpoint, "telemetry-test/0", options)
    }

    fn within(d: Duration) -> Instant {
        Instant::now() + d
    }

    /// A loopback URL on which nothing listens (bound, then released).
    fn closed_port_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/v1/batch")
    }

    #[test]
    fn endpoint_parsing() {
        use Endpoint as E;
        let ok: &[(&str, Endpoint)] = &[
            (
                "https://t.example.com/v1/batch",
                E::Https("https://t.example.com/v1/batch".into()),
            ),
            (
                "  https://t.example.com  ",
                E::Https("https://t.example.com".into()),
            ),
            (
                "HTTPS://T.example.com:8443/x?k=v",
                E::Https("HTTPS://T.example.com:8443/x?k=v".into()),
            ),
            (
                "http://127.0.0.1:9/v1",
                E::LoopbackHttp("http://127.0.0.1:9/v1".into()),
            ),
            (
                "http://127.8.9.10/",
                E::LoopbackHttp("http://127.8.9.10/".into()),
            ),
            (
                "http://localhost:8080/v1",
                E::LoopbackHttp("http://localhost:8080/v1".into()),
            ),
            (
                "http://LOCALHOST/",
                E::LoopbackHttp("http://LOCALHOST/".into()),
            ),
            (
                "http://[::1]:8080/v1",
                E::LoopbackHttp("http://[::1]:8080/v1".into()),
            ),
            (
                "file:///var/spool/t.jsonl",
                E::File(PathBuf::from("/var/spool/t.jsonl")),
            ),
            (
                "file:///tmp/a%20b.jsonl",
                E::File(PathBuf::from("/tmp/a b.jsonl")),
            ),
        ];
        for (input, expected) in ok {
            assert_eq!(Endpoint::parse(input).as_ref(), Ok(expected), "{input}");
        }

        use EndpointError as X;
        let bad: &[(&str, EndpointError)] = &[
            ("", X::Empty),
            ("   ", X::Empty),
            ("http://example.com/v1", X::PlainHttpNotLoopback),
            ("http://10.0.0.1/v1", X::PlainHttpNotLoopback),
            ("http://[::2]/v1", X::PlainHttpNotLoopback),
            ("http://127.1/v1", X::PlainHttpNotLoopback),
            ("http://localhost.example.com/", X::PlainHttpNotLoopback),
            ("http://127.0.0.1@example.com/", X::Credentials),
            ("ftp://127.0.0.1/x", X::UnsupportedScheme("ftp".into())),
            ("ws://localhost/x", X::UnsupportedScheme("ws".into())),
            ("garbage", X::Malformed),
            ("://nothing", X::Malformed),
            ("https://", X::Malformed),
            ("file://relative/path", X::FileNotAbsolute),
            ("file:relative", X::FileNotAbsolute),
            ("file:///tmp/x?y=1", X::FileQueryOrFragment),
            ("file:///tmp/%zz", X::Malformed),
        ];
        for (input, expected) in bad {
            assert_eq!(Endpoint::parse(input).as_ref(), Err(expected), "{input}");
        }
    }

    #[test]
    fn endpoint_errors_never_echo_host_path_or_query() {
        for input in [
            "http://secret-host.example/secret-path?secret=token",
            "ftp://secret-host/secret-path?secret=token",
            "secret-garbage-token",
            "file://secret-host/secret-path",
            "file:///secret-path?secret=token",
        ] {
            let message = Endpoint::parse(input).unwrap_err().to_string();
            assert!(!message.contains("secret"), "{input} -> {message}");
            assert!(message.starts_with("telemetry "), "{message}");
        }
        let message = Endpoint::parse("ftp://h/p").unwrap_err().to_string();
        assert!(message.contains("`ftp:`"), "{message}");
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::MAX)
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let options = TransportOptions {
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            ..TransportOptions::default()
        };
        let mut t = Transport::new(Endpoint::File("/nonexistent".into()), "", options);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let first = t.backoff(1);
            assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
            let second = t.backoff(2);
            assert!(second >= Duration::from_millis(200) && second <= Duration::from_millis(400));
            let huge = t.backoff(200);
            assert!(huge >= Duration::from_millis(2500) && huge <= Duration::from_secs(5));
            seen.insert(first);
        }
        assert!(
            seen.len() > 10,
            "jitter varies: {} distinct values",
            seen.len()
        );
    }

    #[test]
    fn delivers_once_with_the_body_intact() {
        let receiver = Receiver::start();
        let mut t = to(&receiver, quick());
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
        assert_eq!(t.requests_made(), 1);
        assert_eq!(receiver.requests(), 1);
        assert_eq!(receiver.bodies(), vec![BODY.to_vec()]);
        let head = receiver.heads().remove(0).to_ascii_lowercase();
        assert!(head.starts_with("post /v1/batch http/1.1"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("user-agent: telemetry-test/0"), "{head}");
        assert!(!head.contains("cookie"), "{head}");

        // A second batch reuses the connection (keep-alive on both sides).
        assert_eq!(
            t.send(b"{}", within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
        assert_eq!(receiver.bodies(), vec![BODY.to_vec(), b"{}".to_vec()]);
        assert_eq!(receiver.connections(), 1);
    }

    #[test]
    fn connection_refused_is_retried_then_failed_by_the_deadline() {
        let endpoint = Endpoint::parse(&closed_port_url()).unwrap();
        let mut t = Transport::new(endpoint, "", quick());
        let started = Instant::now();
        let deadline = within(Duration::from_secs(3));
        assert_eq!(t.send(BODY, deadline), SendOutcome::Failed);
        assert!(Instant::now() <= deadline + Duration::from_millis(200));
        assert_eq!(t.requests_made(), 3, "one try and max_retries = 2 retries");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_server_that_never_answers_fails_within_the_request_timeout() {
        let receiver = Receiver::with_script(vec![Reply::NeverAnswer]);
        let options = TransportOptions {
            max_retries: 0,
            ..quick()
        };
        let mut t = to(&receiver, options);
        let started = Instant::now();
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(10))),
            SendOutcome::Failed
        );
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(250), "{took:?}");
        assert!(
            took < Duration::from_millis(300) + Duration::from_secs(1),
            "{took:?}"
        );
        assert_eq!(receiver.requests(), 1);
        assert!(receiver.bodies().is_empty());
    }

    #[test]
    fn the_deadline_cuts_an_attempt_short() {
        // The request timeout (5 s) would allow a long wait; the deadline does not.
        let receiver = Receiver::with_script(vec![Reply::NeverAnswer]);
        let mut t = to(&receiver, TransportOptions::default());
        let started = Instant::now();
        assert_eq!(
            t.send(BODY, within(Duration::from_millis(300))),
            SendOutcome::Failed
        );
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(300) + Duration::from_secs(1),
            "{took:?}"
        );
        assert_eq!(t.requests_made(), 1);
    }

    #[test]
    fn a_deadline_already_past_sends_nothing() {
        let receiver = Receiver::start();
        let mut t = to(&receiver, quick());
        assert_eq!(t.send(BODY, Instant::now()), SendOutcome::Failed);
        assert_eq!(t.requests_made(), 0);
        assert_eq!(receiver.connections(), 0);
    }

    #[test]
    fn a_slow_server_beyond_the_timeout_fails_and_gets_no_batch() {
        let receiver = Receiver::with_script(vec![Reply::Slow(Duration::from_millis(800), 200)]);
        let options = TransportOptions {
            max_retries: 0,
            ..quick()
        };
        let mut t = to(&receiver, options);
        let started = Instant::now();
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed
        );
        assert!(
            started.elapsed() < Duration::from_millis(800),
            "{:?}",
            started.elapsed()
        );
        // Past the server's delay: it saw the client gone and did not count a delivery.
        thread::sleep(Duration::from_millis(1000));
        assert_eq!(receiver.requests(), 1);
        assert!(receiver.bodies().is_empty());
    }

    #[test]
    fn a_slow_server_within_the_timeout_delivers() {
        let receiver = Receiver::with_script(vec![Reply::Slow(Duration::from_millis(100), 200)]);
        let mut t = to(&receiver, quick());
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
        assert_eq!(receiver.bodies().len(), 1);
    }

    #[test]
    fn a_500_then_200_delivers_the_batch_exactly_once() {
        let receiver = Receiver::with_script(vec![Reply::Status(500)]);
        let mut t = to(&receiver, quick());
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
        assert_eq!(t.requests_made(), 2);
        assert_eq!(receiver.requests(), 2);
        assert_eq!(receiver.bodies(), vec![BODY.to_vec()]);
    }

    #[test]
    fn retryable_statuses_are_retried_up_to_max_retries() {
        for status in [408, 429, 500, 502, 503, 504] {
            let receiver = Receiver::with_script(vec![Reply::Status(status); 3]);
            let mut t = to(&receiver, quick());
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Failed
            );
            assert_eq!(t.requests_made(), 3, "{status}");
            assert_eq!(receiver.requests(), 3, "{status}");
            assert!(receiver.bodies().is_empty());
        }
    }

    #[test]
    fn retry_after_is_waited_for() {
        let retry_after = vec![("Retry-After".to_owned(), "1".to_owned())];
        let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(429, retry_after)]);
        let mut t = to(&receiver, quick());
        let started = Instant::now();
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
        // 1 s, not the 20 ms backoff: the server's word wins.
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(t.requests_made(), 2);
        assert_eq!(receiver.bodies().len(), 1);
    }

    #[test]
    fn retry_after_past_the_deadline_fails_at_once_and_holds_later_sends() {
        let retry_after = vec![("Retry-After".to_owned(), "30".to_owned())];
        let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(503, retry_after)]);
        let mut t = to(&receiver, quick());
        let started = Instant::now();
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(3))),
            SendOutcome::Failed
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(t.requests_made(), 1);
        // The server asked for 30 s: the next send does not knock before then.
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(3))),
            SendOutcome::CircuitOpen
        );
        assert_eq!(t.requests_made(), 1);
        assert_eq!(receiver.requests(), 1);
    }

    #[test]
    fn an_http_date_retry_after_falls_back_to_the_backoff() {
        let date = vec![(
            "Retry-After".to_owned(),
            "Wed, 21 Oct 2099 07:28:00 GMT".to_owned(),
        )];
        let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(429, date)]);
        let mut t = to(&receiver, quick());
        let started = Instant::now();
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(3))),
            SendOutcome::Delivered
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(t.requests_made(), 2);
    }

    #[test]
    fn rejections_stop_sending_for_good() {
        for status in [400, 401, 403, 404, 410] {
            let receiver = Receiver::with_script(vec![Reply::Status(status)]);
            let mut t = to(&receiver, quick());
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Rejected
            );
            assert_eq!(t.requests_made(), 1, "{status}: not retried");
            for _ in 0..3 {
                assert_eq!(
                    t.send(BODY, within(Duration::from_secs(5))),
                    SendOutcome::Stopped
                );
            }
            assert_eq!(t.requests_made(), 1, "{status}");
            assert_eq!(receiver.requests(), 1, "{status}");
            assert!(receiver.bodies().is_empty());
        }
    }

    #[test]
    fn redirects_and_other_4xx_fail_without_retry() {
        let elsewhere = vec![("Location".to_owned(), closed_port_url())];
        for reply in [
            Reply::StatusWithHeaders(307, elsewhere.clone()),
            Reply::StatusWithHeaders(301, elsewhere),
            Reply::Status(413),
            Reply::Status(422),
        ] {
            let receiver = Receiver::with_script(vec![reply.clone()]);
            let mut t = to(&receiver, quick());
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Failed,
                "{reply:?}"
            );
            assert_eq!(t.requests_made(), 1, "{reply:?}");
            assert_eq!(receiver.requests(), 1, "{reply:?}");
            // Not a rejection: the next send goes out (and is answered 200).
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Delivered
            );
        }
    }

    #[test]
    fn garbage_and_dropped_connections_are_retried() {
        for reply in [Reply::Garbage, Reply::CloseImmediately] {
            let receiver = Receiver::with_script(vec![reply.clone(); 3]);
            let mut t = to(&receiver, quick());
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Failed,
                "{reply:?}"
            );
            assert_eq!(t.requests_made(), 3, "{reply:?}");
            assert!(receiver.bodies().is_empty());

            let receiver = Receiver::with_script(vec![reply.clone()]);
            let mut t = to(&receiver, quick());
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Delivered,
                "{reply:?}"
            );
            assert_eq!(receiver.bodies(), vec![BODY.to_vec()], "{reply:?}");
        }
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_sends_nothing() {
        let receiver = Receiver::with_script(vec![Reply::Status(500); 3]);
        let options = TransportOptions {
            max_retries: 0,
            ..quick()
        };
        let mut t = to(&receiver, options);
        for _ in 0..3 {
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Failed
            );
        }
        let (connections, requests) = (receiver.connections(), receiver.requests());
        assert_eq!(requests, 3);
        for _ in 0..5 {
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::CircuitOpen
            );
        }
        assert_eq!(receiver.connections(), connections);
        assert_eq!(receiver.requests(), requests);
        assert_eq!(t.requests_made(), 3);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        // fail, fail, ok, fail, fail: never three in a row.
        let script = vec![
            Reply::Status(500),
            Reply::Status(500),
            Reply::Status(200),
            Reply::Status(500),
            Reply::Status(500),
        ];
        let receiver = Receiver::with_script(script);
        let options = TransportOptions {
            max_retries: 0,
            ..quick()
        };
        let mut t = to(&receiver, options);
        let outcomes: Vec<_> = (0..6)
            .map(|_| t.send(BODY, within(Duration::from_secs(5))))
            .collect();
        use SendOutcome::{Delivered as D, Failed as F};
        assert_eq!(outcomes, [F, F, D, F, F, D]);
    }

    #[test]
    fn after_the_cooldown_one_send_decides() {
        let receiver = Receiver::with_script(vec![Reply::Status(500); 4]);
        let options = TransportOptions {
            max_retries: 0,
            breaker_cooldown: Duration::from_millis(200),
            ..quick()
        };
        let mut t = to(&receiver, options);
        for _ in 0..3 {
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Failed
            );
        }
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::CircuitOpen
        );
        thread::sleep(Duration::from_millis(250));
        // Half-open: one more failure reopens it at once.
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed
        );
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::CircuitOpen
        );
        thread::sleep(Duration::from_millis(250));
        // Half-open again, and now the endpoint is back: one success closes it.
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
        assert_eq!(receiver.bodies().len(), 2);
    }

    /// The receiver itself: chunked and `Content-Length` bodies on one kept-alive connection,
    /// as a client other than ureq might send them.
    #[test]
    fn receiver_reads_chunked_and_sized_bodies_on_one_connection() {
        use std::io::{Read, Write};
        let receiver = Receiver::start();
        let addr = receiver
            .url()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(
                b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3\r\n{\"a\r\n4;ext=1\r\n\":1}\r\n0\r\n\r\n\
                  POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\
                  Connection: close\r\n\r\n[]",
            )
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
        assert_eq!(
            receiver.bodies(),
            vec![br#"{"a":1}"#.to_vec(), b"[]".to_vec()]
        );
        assert_eq!(receiver.connections(), 1);
        assert!(receiver.wait_for_bodies(2, Duration::ZERO));
        assert!(!receiver.wait_for_bodies(3, Duration::from_millis(50)));
    }

    /// Dropping the receiver is prompt even while a client holds a `NeverAnswer` connection.
    #[test]
    fn receiver_drop_releases_held_connections() {
        use std::io::{Read, Write};
        let receiver = Receiver::with_script(vec![Reply::NeverAnswer]);
        let addr = receiver
            .url()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            .unwrap();
        let started = Instant::now();
        while receiver.requests() == 0 && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(receiver.requests(), 1);
        let dropping = Instant::now();
        drop(receiver);
        assert!(
            dropping.elapsed() < Duration::from_secs(1),
            "{:?}",
            dropping.elapsed()
        );
        // And the client sees the connection closed, with no answer.
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = Vec::new();
        assert_eq!(
            stream
                .read_to_end(&mut answer)
                .map(|_| answer.len())
                .unwrap_or(0),
            0
        );
    }

    #[test]
    fn file_endpoints_append_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batches.jsonl");
        let url = format!("file://{}", path.display());
        let endpoint = Endpoint::parse(&url).unwrap();
        assert_eq!(endpoint, Endpoint::File(path.clone()));
        let mut t = Transport::new(endpoint, "", quick());
        let deadline = within(Duration::from_secs(5));
        assert_eq!(t.send(br#"{"a":1}"#, deadline), SendOutcome::Delivered);
        assert_eq!(
            t.send(b"{\n\"b\": 2\r\n}", deadline),
            SendOutcome::Delivered
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"a\":1}\n{ \"b\": 2  }\n");
        assert_eq!(t.requests_made(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_file_endpoint_in_a_missing_directory_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("batches.jsonl");
        let mut t = Transport::new(Endpoint::File(path.clone()), "", quick());
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed
        );
        assert!(!path.exists());
        assert!(!dir.path().join("missing").exists());
    }
}
