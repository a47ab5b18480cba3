//! A scripted HTTP/1.1 receiver on 127.0.0.1 for transport and end-to-end tests.
//!
//! Standard library only, so it can be included both as `mod receiver;` from `tests/common`
//! and with `#[path]` from unit tests inside `telemetry-runtime`. One thread accepts, one
//! thread serves each connection (keep-alive, `Content-Length` and chunked bodies,
//! `Expect: 100-continue`). Replies are scripted per request, in the order requests finish
//! arriving. Dropping the receiver stops every thread within about 50 ms, including
//! connections held open by [`Reply::NeverAnswer`].
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);
/// The longest a connection is kept (idle, or held by `NeverAnswer`) before it is closed.
const MAX_HOLD: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The answer to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// That status, with body `{}`.
    Status(u16),
    /// That status with extra headers (e.g. `Retry-After`), with body `{}`.
    StatusWithHeaders(u16, Vec<(String, String)>),
    /// Read the request, then say nothing and keep the connection open (until the receiver is
    /// dropped, the client closes it, or 30 s pass).
    NeverAnswer,
    /// Wait this long, then answer with that status (only if the client is still there).
    Slow(Duration, u16),
    /// Bytes that are not HTTP, then close.
    Garbage,
    /// Read the request, then close the connection without a byte of answer.
    CloseImmediately,
    /// These bytes as the whole answer, then close (a collection config, a hostile answer).
    Raw(Vec<u8>),
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    /// The answer to `GET /v1/config` (a collection config), every time; `None`: `404`.
    config: Option<Reply>,
    /// `GET /v1/config` requests read (not in `requests`, and not answered from the script).
    config_requests: usize,
    connections: usize,
    requests: usize,
    bodies: Vec<Vec<u8>>,
    heads: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the data from the assertions that follow.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Answers every request 200 with body `{}`.
    pub fn start() -> Receiver {
        Receiver::with_script(Vec::new())
    }

    /// The i-th request gets `replies[i]`; requests after the script get 200.
    pub fn with_script(replies: Vec<Reply>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                script: replies.into(),
                ..State::default()
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let for_thread = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("test-receiver".into())
            .spawn(move || accept_loop(listener, for_thread))
            .expect("spawn receiver");
        Receiver {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// [`Receiver::with_script`], answering every `GET /v1/config` with `config` (without
    /// it, `404`: no collection config).
    pub fn with_config(config: Reply, replies: Vec<Reply>) -> Receiver {
        let receiver = Receiver::with_script(replies);
        receiver.shared.lock().config = Some(config);
        receiver
    }

    /// `GET /v1/config` requests read so far.
    pub fn config_requests(&self) -> usize {
        self.shared.lock().config_requests
    }

    /// `http://127.0.0.1:PORT/v1/batch`.
    pub fn url(&self) -> String {
        format!("http://{}/v1/batch", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Bodies of the requests answered 2xx, in order.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.shared.lock().bodies.clone()
    }

    /// Requests read so far, whatever their answer.
    pub fn requests(&self) -> usize {
        self.shared.lock().requests
    }

    /// The request line and headers of every request read, in order (to check what a client
    /// sends, e.g. `content-type`, and what it does not).
    pub fn heads(&self) -> Vec<String> {
        self.shared.lock().heads.clone()
    }

    /// Waits until at least `n` bodies were answered 2xx; false if `timeout` passed first.
    pub fn wait_for_bodies(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.bodies.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.changed.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.lock().connections += 1;
                let for_thread = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("test-receiver-conn".into())
                    .spawn(move || serve(stream, &for_thread));
                if let Ok(handle) = spawned {
                    workers.push(handle);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(POLL),
        }
        workers.retain(|w| !w.is_finished());
    }
    for worker in workers {
        let _ = worker.join();
    }
}

/// One parsed request.
struct Request {
    head: String,
    body: Vec<u8>,
    close: bool,
}

/// A connection's bytes, read with a short timeout so the stop flag is seen.
struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
    buf: Vec<u8>,
    opened: Instant,
}

impl Conn<'_> {
    /// Reads more bytes into `buf`; false on EOF, error, stop or `MAX_HOLD`.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        loop {
            if self.shared.stopping() || self.opened.elapsed() > MAX_HOLD {
                return false;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return false,
            }
        }
    }

    /// Takes `n` bytes from the front of `buf`, reading more as needed.
    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// Takes one CRLF-terminated line (without the CRLF).
    fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).take(pos).collect();
                return Some(line);
            }
            if self.buf.len() > MAX_HEAD || !self.fill() {
                return None;
            }
        }
    }

    /// Reads one request; `None` when the connection is done.
    fn request(&mut self) -> Option<Request> {
        let head_end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            if self.buf.len() > MAX_HEAD || !self.fill() {
                return None;
            }
        };
        let head: Vec<u8> = self.buf.drain(..head_end + 4).collect();
        let head = String::from_utf8_lossy(&head[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next()?;
        let http10 = request_line.ends_with("HTTP/1.0");
        let mut length = 0usize;
        let mut chunked = false;
        let mut close = http10;
        let mut expect_continue = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().ok()?,
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => {
                    let value = value.to_ascii_lowercase();
                    if value.contains("close") {
                        close = true;
                    } else if value.contains("keep-alive") {
                        close = false;
                    }
                }
                "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
                _ => {}
            }
        }
        if expect_continue {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .ok()?;
        }
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let size_line = self.line()?;
                let size_line = String::from_utf8_lossy(&size_line);
                let size = size_line.split(';').next()?.trim();
                let size = usize::from_str_radix(size, 16).ok()?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !self.line()?.is_empty() {}
                    break;
                }
                if body.len() + size > MAX_BODY {
                    return None;
                }
                body.extend(self.take(size)?);
                if !self.take(2)?.eq(b"\r\n") {
                    return None;
                }
            }
            body
        } else {
            if length > MAX_BODY {
                return None;
            }
            self.take(length)?
        };
        Some(Request { head, body, close })
    }

    /// Whether the client has gone (EOF or reset), without consuming anything.
    fn peer_gone(&self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return true;
        }
        let mut byte = [0u8; 1];
        let gone = match self.stream.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != ErrorKind::WouldBlock,
        };
        let _ = self.stream.set_nonblocking(false);
        gone
    }

    /// Sleeps `d` in short steps; false if the receiver is stopping.
    fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.shared.stopping() {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            thread::sleep(left.min(POLL));
        }
    }

    /// Writes a response; records the body first when the status is 2xx.
    fn respond(&mut self, status: u16, headers: &[(String, String)], body: Vec<u8>) -> bool {
        let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if status == 204 || status == 304 {
            // These never carry a body; one here would corrupt the next response.
            out.push_str("\r\n");
        } else {
            out.push_str("Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
        }
        // Recorded before the answer goes out, so a client that saw its 2xx also sees the
        // body in `bodies()` (no race between the client's assertion and this thread).
        if (200..300).contains(&status) {
            self.shared.lock().bodies.push(body);
            self.shared.changed.notify_all();
        }
        self.stream.write_all(out.as_bytes()).is_ok() && self.stream.flush().is_ok()
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    // Accepted sockets inherit non-blocking mode on some platforms.
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        shared,
        buf: Vec::new(),
        opened: Instant::now(),
    };
    while let Some(request) = conn.request() {
        let reply = {
            let mut state = shared.lock();
            state.heads.push(request.head.clone());
            // The worker asks for the collection config before it sends: answered apart, so
            // scripts and counts stay those of the batches.
            if request.head.starts_with("GET /v1/config ") {
                state.config_requests += 1;
                Some(state.config.clone().unwrap_or(Reply::Status(404)))
            } else {
                state.requests += 1;
                state.script.pop_front()
            }
        };
        shared.changed.notify_all();
        let keep_going = match reply.unwrap_or(Reply::Status(200)) {
            Reply::Status(status) => conn.respond(status, &[], request.body),
            Reply::StatusWithHeaders(status, headers) => {
                conn.respond(status, &headers, request.body)
            }
            Reply::Slow(delay, status) => {
                conn.pause(delay) && !conn.peer_gone() && conn.respond(status, &[], request.body)
            }
            Reply::NeverAnswer => {
                // Hold the connection until the client leaves, the receiver stops, or MAX_HOLD.
                while conn.pause(POLL) && !conn.peer_gone() && conn.opened.elapsed() < MAX_HOLD {}
                false
            }
            Reply::Garbage => {
                let _ = conn
                    .stream
                    .write_all(b"SURPRISE \x00\x01 this is not http\r\n\r\n");
                false
            }
            Reply::CloseImmediately => false,
            Reply::Raw(bytes) => {
                let _ = conn.stream.write_all(&bytes);
                false
            }
        };
        if !keep_going || request.close {
            break;
        }
    }
    let _ = conn.stream.shutdown(Shutdown::Both);
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
