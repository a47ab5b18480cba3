//! One HTTP/1.1 request at a time (a batch's `POST`, a deletion request's `DELETE`), over TCP
//! or TLS, within a deadline: all the HTTP the runtime needs, and no more.
//!
//! Written here rather than taken from an HTTP crate: the usual clients bring the `http`
//! crate, whose `impl PartialEq<StatusCode> for u16` (and friends) would change how every
//! host's own code type-checks the moment it depends on this crate (docs/sending.md, "What
//! adding the crate changes"); hosts that already have it can choose ureq (`ureq.rs`). What
//! is needed is small: a request with a `Content-Length` body, an answer's status and
//! framing (parsed by `httparse`, `answer.rs`), its body read to reuse the connection and
//! for a refusal's reason, an optional `CONNECT` proxy, and TLS from rustls.
//!
//! Every step is bounded: name resolution, connecting, writing and each read get what is left
//! of the deadline; everything read for one answer (interim answers, head, body, trailers)
//! counts against one bound of 64 KiB, and a body over 16 KiB is left unread and the
//! connection closed (`answer.rs`). Redirects are never followed.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pipeline::answer::{MAX_HEADS, Reader, Timed};
use crate::pipeline::proxy::Proxy;
use crate::pipeline::reply::reason_of;
use crate::pipeline::url::{HttpUrl, basic_auth};

/// What the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// `Retry-After`, when given as a number of seconds.
    pub(crate) retry_after: Option<Duration>,
    /// Why a `4xx` refused the request, as its body says (`reason_of`).
    pub(crate) reason: Option<String>,
    /// A `2xx` answer's body, if it was read whole (at most 16 KiB).
    pub(crate) body: Option<Vec<u8>>,
}

/// Why there is no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Offline, refused, reset, too slow, or not HTTP: another try may work.
    Retry,
    /// The certificate or the TLS setup is wrong: trying again would give the same.
    GiveUp,
    /// The proxy refused to open a tunnel (a `4xx` to `CONNECT`: `407` for credentials,
    /// `403` by policy): another try would meet the same answer.
    ProxyRefused(u16),
}

/// A connection, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Timed for Stream {
    fn limit(&self, deadline: Instant) -> io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.socket().set_read_timeout(Some(left))?;
        self.socket().set_write_timeout(Some(left))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Sends to one URL, keeping one idle connection for the next send.
pub(crate) struct Client {
    url: HttpUrl,
    head: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    proxy: Option<Proxy>,
    idle: Option<Stream>,
}

/// How one exchange on a connection went.
enum Exchange {
    Answered(Answer, bool),
    /// The connection was closed before a byte of answer: on a reused connection, the
    /// server had closed it while idle.
    Closed,
    Failed(Failure),
}

impl Client {
    /// A client that sends `method` requests to `url`; `tls` is required for `https`
    /// (without it every send gives up).
    pub(crate) fn with_method(
        method: &str,
        url: HttpUrl,
        user_agent: &str,
        tls: Option<Arc<rustls::ClientConfig>>,
        proxy: Option<Proxy>,
    ) -> Client {
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\n",
            url.target,
            url.host_header()
        );
        if !user_agent.is_empty() {
            head.push_str(&format!("User-Agent: {user_agent}\r\n"));
        }
        if let Some(info) = &url.userinfo {
            head.push_str(&format!("Authorization: {}\r\n", basic_auth(info)));
        }
        head.push_str("Content-Type: application/json\r\nAccept: */*\r\n");
        Client {
            url,
            head,
            tls,
            proxy,
            idle: None,
        }
    }

    /// Sends `body` (empty for a `DELETE`); returns the answer's status by `deadline`,
    /// connecting within `connect_timeout` (cut to the deadline).
    pub(crate) fn post(
        &mut self,
        body: &[u8],
        deadline: Instant,
        connect_timeout: Duration,
    ) -> Result<Answer, Failure> {
        self.request(body, deadline, connect_timeout)
    }

    /// A `GET` (the client's method), with no body and nothing of the client's but the
    /// head every request has.
    pub(crate) fn get(
        &mut self,
        deadline: Instant,
        connect_timeout: Duration,
    ) -> Result<Answer, Failure> {
        self.request(b"", deadline, connect_timeout)
    }

    fn request(
        &mut self,
        body: &[u8],
        deadline: Instant,
        connect_timeout: Duration,
    ) -> Result<Answer, Failure> {
        let mut request = self.head.clone().into_bytes();
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(body);
        if let Some(mut stream) = self.idle.take() {
            match exchange(&mut stream, &request, deadline) {
                Exchange::Answered(answer, reusable) => {
                    self.idle = reusable.then_some(stream);
                    return Ok(answer);
                }
                // Closed while idle: the request never reached the server; a fresh
                // connection sends it.
                Exchange::Closed => {}
                Exchange::Failed(failure) => return Err(failure),
            }
        }
        let mut stream = self.connect(deadline, connect_timeout)?;
        match exchange(&mut stream, &request, deadline) {
            Exchange::Answered(answer, reusable) => {
                self.idle = reusable.then_some(stream);
                Ok(answer)
            }
            Exchange::Closed => Err(Failure::Retry),
            Exchange::Failed(failure) => Err(failure),
        }
    }

    fn connect(&self, deadline: Instant, connect_timeout: Duration) -> Result<Stream, Failure> {
        let (host, port) = match &self.proxy {
            Some(proxy) => (proxy.host.as_str(), proxy.port),
            None => (self.url.connect_host(), self.url.port),
        };
        let tcp = connect_tcp(host, port, deadline, connect_timeout)?;
        let _ = tcp.set_nodelay(true);
        let mut stream = Stream::Plain(tcp);
        if let Some(proxy) = &self.proxy {
            proxy_tunnel(&mut stream, proxy, &self.url, deadline)?;
        }
        if !self.url.https {
            return Ok(stream);
        }
        let config = self.tls.clone().ok_or(Failure::GiveUp)?;
        let name = rustls::pki_types::ServerName::try_from(self.url.connect_host().to_owned())
            .map_err(|_| Failure::GiveUp)?;
        let connection =
            rustls::ClientConnection::new(config, name).map_err(|_| Failure::GiveUp)?;
        let Stream::Plain(tcp) = stream else {
            return Err(Failure::Retry);
        };
        Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(
            connection, tcp,
        ))))
    }
}

/// Resolves `host` (in a helper thread, so that a hanging resolver cannot outlive the
/// deadline) and connects to the first address that answers.
fn connect_tcp(
    host: &str,
    port: u16,
    deadline: Instant,
    connect_timeout: Duration,
) -> Result<TcpStream, Failure> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let name = (host.to_owned(), port);
            std::thread::Builder::new()
                .name("telemetry-resolve".into())
                .spawn(move || {
                    let found = name.to_socket_addrs().map(Iterator::collect::<Vec<_>>);
                    let _ = tx.send(found);
                })
                .map_err(|_| Failure::Retry)?;
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(addrs)) => addrs,
                _ => return Err(Failure::Retry),
            }
        }
    };
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Ok(tcp) = TcpStream::connect_timeout(&addr, connect_timeout.min(left)) {
            return Ok(tcp);
        }
    }
    Err(Failure::Retry)
}

/// `CONNECT host:port` through the proxy; anything but a 2xx answer is a failed attempt.
fn proxy_tunnel(
    stream: &mut Stream,
    proxy: &Proxy,
    url: &HttpUrl,
    deadline: Instant,
) -> Result<(), Failure> {
    let target = format!("{}:{}", url.host, url.port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = &proxy.authorization {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    stream.limit(deadline).map_err(|_| Failure::Retry)?;
    stream
        .write_all(request.as_bytes())
        .map_err(|_| Failure::Retry)?;
    let mut reader = Reader::new(stream, deadline);
    match reader.head() {
        Ok(Some(head)) if (200..300).contains(&head.status) => Ok(()),
        // A refusal for good (credentials, policy); a timeout or rate limit may pass.
        Ok(Some(head))
            if (400..500).contains(&head.status) && ![408, 429].contains(&head.status) =>
        {
            Err(Failure::ProxyRefused(head.status))
        }
        _ => Err(Failure::Retry),
    }
}

/// Writes `request` and reads the answer.
fn exchange(stream: &mut Stream, request: &[u8], deadline: Instant) -> Exchange {
    if stream.limit(deadline).is_err() {
        return Exchange::Failed(Failure::Retry);
    }
    if let Err(e) = stream.write_all(request).and_then(|()| stream.flush()) {
        return match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Exchange::Closed,
            _ => Exchange::Failed(classify(&e)),
        };
    }
    let mut reader = Reader::new(stream, deadline);
    let mut heads = 0;
    let head = loop {
        heads += 1;
        if heads > MAX_HEADS {
            return Exchange::Failed(Failure::Retry);
        }
        match reader.head() {
            // An interim answer (`100 Continue`): the final one follows, within the same
            // bound as everything read for this answer.
            Ok(Some(head)) if (100..200).contains(&head.status) && head.status != 101 => {}
            Ok(Some(head)) => break head,
            // Closed before a byte of the first head: a reused connection the server had
            // closed while idle.
            Ok(None) if heads == 1 => return Exchange::Closed,
            Ok(None) => return Exchange::Failed(Failure::Retry),
            Err(e) => return Exchange::Failed(classify(&e)),
        }
    };
    // The body is read to reuse the connection, and for a refusal's reason; failing to
    // read it changes nothing else.
    let body = reader.body(&head);
    let reusable = head.keep_alive && body.is_ok();
    let body = body.ok();
    let reason = body
        .as_ref()
        .filter(|_| (400..500).contains(&head.status))
        .and_then(|b| reason_of(b));
    let answer = Answer {
        status: head.status,
        retry_after: head.retry_after,
        reason,
        body: body.filter(|_| (200..300).contains(&head.status)),
    };
    Exchange::Answered(answer, reusable)
}

/// What a TLS error says never heals; everything else may.
fn classify(e: &io::Error) -> Failure {
    let tls = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
    if tls { Failure::GiveUp } else { Failure::Retry }
}
