//! A host against a hostile server, through each built-in HTTP client (the runtime's own and
//! ureq): endless interim answers, endless trailers, chunk sizes that overflow, a head sent a
//! byte at a time, header floods, framing that could be read two ways, and answers with bare
//! line feeds. Whatever the server does, the host's exit ends within its flush timeout, and
//! the host's heap grows by less than 1 MB while it sends (counted by the allocator of this
//! test binary).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use telemetry::config::{Env, HttpClient};

/// Counts the heap in use, and its peak since the last reset.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How the server answers every request.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// `100 Continue`, again and again.
    EndlessInterim,
    /// A chunked body's last chunk, then trailer lines without end.
    EndlessTrailers,
    /// A chunk, then a size past `u64`, then bytes without end.
    OverflowingChunk,
    /// `ffffffff` chunks one after another: their sizes add up past any bound.
    GrowingChunks,
    /// A head that never ends, one byte every 20 ms.
    SlowDrip,
    /// Header lines without end, as fast as the client reads.
    HeaderFlood,
    /// Two `Content-Length`s that disagree, then a body.
    ConflictingLengths,
    /// `Transfer-Encoding: chunked` and `Content-Length` together.
    ChunkedWithLength,
    /// A `200` written with bare line feeds: acceptable, and delivered.
    BareLineFeeds,
}

/// A loopback server answering every request as `how`, counting the batches (`POST`s).
struct Server {
    port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<thread::JoinHandle<()>>>>,
}

impl Server {
    fn start(how: Hostile) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = Arc::new(Mutex::new(Vec::new()));
        let (r, s, t) = (
            Arc::clone(&requests),
            Arc::clone(&stop),
            Arc::clone(&threads),
        );
        let acceptor = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (r, s) = (Arc::clone(&r), Arc::clone(&s));
                        let handle = thread::spawn(move || serve(stream, how, &r, &s));
                        t.lock().unwrap().push(handle);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        threads.lock().unwrap().push(acceptor);
        Server {
            port,
            requests,
            stop,
            threads,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for handle in self.threads.lock().unwrap().drain(..) {
            let _ = handle.join();
        }
    }
}

/// Reads one request (its head and `Content-Length` body), then answers as `how` until the
/// client goes or the test stops.
fn serve(mut stream: TcpStream, how: Hostile, requests: &AtomicUsize, stop: &AtomicBool) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let body_end = loop {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..i]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            break i + 4 + length;
        }
    };
    while got.len() < body_end {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        got.extend_from_slice(&buf[..n]);
    }
    // Batches are counted; the worker's `GET /v1/config` meets the same hostile answers
    // (and must cost the host no more), but is not a batch.
    if got.starts_with(b"POST ") {
        requests.fetch_add(1, Ordering::Relaxed);
    }
    let write = |stream: &mut TcpStream, bytes: &[u8]| stream.write_all(bytes).is_ok();
    // Endless patterns stop when the client closes, or after 20 s at the most.
    let until = Instant::now() + Duration::from_secs(20);
    let endless = |stream: &mut TcpStream, start: &[u8], repeat: &[u8]| {
        if !write(stream, start) {
            return;
        }
        let block = repeat.repeat(4096 / repeat.len().max(1) + 1);
        while !stop.load(Ordering::Relaxed) && Instant::now() < until && write(stream, &block) {}
    };
    match how {
        Hostile::EndlessInterim => endless(&mut stream, b"", b"HTTP/1.1 100 Continue\r\n\r\n"),
        Hostile::EndlessTrailers => endless(
            &mut stream,
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
            b"X-Trailer: 1\r\n",
        ),
        Hostile::OverflowingChunk => endless(
            &mut stream,
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\nffffffffffffffff\r\n",
            b"x",
        ),
        Hostile::GrowingChunks => endless(
            &mut stream,
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"7fffffff\r\n",
        ),
        Hostile::SlowDrip => {
            if write(&mut stream, b"HTTP/1.1 200 OK\r\n") {
                while !stop.load(Ordering::Relaxed)
                    && Instant::now() < until
                    && write(&mut stream, b"X")
                {
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
        Hostile::HeaderFlood => endless(&mut stream, b"HTTP/1.1 200 OK\r\n", b"X-Flood: 1\r\n"),
        Hostile::ConflictingLengths => {
            let _ = write(
                &mut stream,
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello",
            );
        }
        Hostile::ChunkedWithLength => {
            let _ = write(
                &mut stream,
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
            );
        }
        Hostile::BareLineFeeds => {
            let _ = write(&mut stream, b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}");
        }
    }
    // Let the client read what was written before the connection goes.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    while !stop.load(Ordering::Relaxed) && matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// A host sending one batch to `port` through `client`: how long its exit took, and how
/// much its heap grew at the most while it sent.
fn send_once(port: u16, client: HttpClient, flush: Duration) -> (Duration, usize) {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::empty().with("ACME_TELEMETRY_ENABLED", "1").with(
        "ACME_TELEMETRY_ENDPOINT",
        format!("http://127.0.0.1:{port}/v1/batch"),
    );
    let config = common::isolated_config(dir.path(), env)
        .flush_timeout(flush)
        .http_client(client);
    let guard = telemetry::init(config);
    assert!(guard.decision().enabled);
    static COMMANDS: telemetry::Commands = telemetry::Commands::new("acme").subcommands(&["run"]);
    telemetry::record_command(&COMMANDS, ["run"]);
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    drop(guard);
    let took = started.elapsed();
    (took, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

#[test]
fn a_hostile_server_holds_no_host_up_and_costs_it_under_a_megabyte() {
    const FLUSH: Duration = Duration::from_secs(2);
    let cases = [
        Hostile::EndlessInterim,
        Hostile::EndlessTrailers,
        Hostile::OverflowingChunk,
        Hostile::GrowingChunks,
        Hostile::SlowDrip,
        Hostile::HeaderFlood,
        Hostile::ConflictingLengths,
        Hostile::ChunkedWithLength,
        Hostile::BareLineFeeds,
    ];
    let mut problems = Vec::new();
    let clients = [
        HttpClient::Builtin,
        // With `--features ureq` (the README's test command runs this file so too).
        #[cfg(feature = "ureq")]
        HttpClient::Ureq,
    ];
    for client in clients {
        for how in cases {
            let server = Server::start(how);
            let (took, grew) = send_once(server.port, client, FLUSH);
            let requests = server.requests.load(Ordering::Relaxed);
            drop(server);
            eprintln!(
                "{client:?} {how:?}: exit in {took:?}, heap +{grew} bytes, {requests} request(s)"
            );
            // A hang guard, not a speed test: the flush timeout bounds the exit.
            if took > FLUSH + Duration::from_secs(3) {
                problems.push(format!("{client:?} {how:?}: exit took {took:?}"));
            }
            if grew >= 1 << 20 {
                problems.push(format!("{client:?} {how:?}: the heap grew by {grew} bytes"));
            }
            if requests == 0 {
                problems.push(format!("{client:?} {how:?}: no request reached the server"));
            }
            // A well-formed answer with bare line feeds is an answer: delivered, not retried.
            if matches!(how, Hostile::BareLineFeeds) && requests != 1 {
                problems.push(format!("{client:?} bare LF: {requests} requests"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
