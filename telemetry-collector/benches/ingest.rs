//! The collector under load, as docs/performance.md, "The collector", reports it:
//!
//! - ingest: real batches (variants of one `acme run`, each with its own ids) posted over
//!   HTTP/1.1 keep-alive connections by concurrent clients, into the `telemetry-collector`
//!   binary; batches per second until all are stored (the clock stops after a report, which
//!   flushes the write buffer), and the collector's peak memory (`VmHWM`);
//! - the report over 10⁶ stored events (250,000 batches from 50,000 installations over 30
//!   days): the median time of `GET /v1/report` (for ClickHouse also a minute later, once
//!   it has merged the last inserts' parts in the background).
//!
//! - the acknowledgement: batches posted at 5,000 a second for 10 s, the time from each
//!   request to its `200` (which now means durable: `writer.rs`), p50 and p99.
//!
//! - a flood of distinct names: 90 batches of 12,000 error type names after 10,000 real
//!   ones; the report's and the dashboard's times after them, and the peak memory.
//!
//! `cargo bench -p telemetry-collector --bench ingest` runs both stores (ClickHouse is
//! started as the tests start it); `-- sqlite` or `-- clickhouse` runs one, `-- acks`,
//! `-- load` or `-- names` one part. The client runs
//! on the same two cores as the collector (and ClickHouse): the figures are for the whole
//! machine.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Kind, real_batch, variant};

/// The parts one can run alone.
const PARTS: [&str; 3] = ["acks", "load", "names"];

/// Concurrent client connections: a collector in the field serves many hosts at once, each
/// on its own connection, and more of them in flight let durable groups grow.
const CLIENTS: usize = 256;

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn serve(store: &str, wal: &std::path::Path) -> Server {
    let args = [
        "--store",
        store,
        "--wal-dir",
        wal.to_str().unwrap(),
        "--log",
        "warn",
    ];
    let (child, url) = common::serve_binary(&args, Stdio::inherit());
    let addr = url.trim_start_matches("http://").to_owned();
    Server { child, addr }
}

/// Peak resident memory of `pid`, in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One keep-alive connection: sends a request, reads the whole answer; the status.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, request: &[u8]) -> u16 {
        self.reader.get_mut().write_all(request).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        status
    }
}

fn post(body: &str) -> Vec<u8> {
    let mut request = format!(
        "POST /v1/batch HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

fn get_report(addr: &str) -> Duration {
    let start = Instant::now();
    let mut conn = Conn::new(addr);
    let status = conn.send(b"GET /v1/report?days=30 HTTP/1.1\r\nHost: bench\r\n\r\n");
    assert_eq!(status, 200);
    start.elapsed()
}

/// `count` distinct batches: `installs` installations, spread over the last 30 days.
fn batches(count: usize, installs: usize) -> Vec<Vec<u8>> {
    let template = real_batch();
    let ids: Vec<String> = (0..installs).map(|_| common::new_id()).collect();
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let os = ["linux", "macos", "windows", "freebsd"];
    (0..count)
        .map(|i| {
            let day = telemetry_runtime::Date::from_unix_days(today as i64 - (i % 30) as i64);
            let hour = format!("{day}T{:02}", i % 24);
            post(&variant(
                template,
                &ids[i % installs],
                Some(os[i % 7 % 4]),
                Some(&hour),
            ))
        })
        .collect()
}

/// Posts every request over `CLIENTS` connections; batches per second until stored.
fn ingest(addr: &str, requests: Arc<Vec<Vec<u8>>>) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (requests, next, addr) =
                (Arc::clone(&requests), Arc::clone(&next), addr.to_owned());
            std::thread::spawn(move || {
                let mut conn = Conn::new(&addr);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(i) else {
                        break;
                    };
                    // A full buffer answers 503: wait as the runtime would, and resend.
                    while conn.send(request) == 503 {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    // The report flushes the buffer: the clock stops when every batch is stored.
    get_report(addr);
    requests.len() as f64 / start.elapsed().as_secs_f64()
}

/// Posts `requests` at `rate` a second over `clients` connections: the time from each
/// request's start to its `200` (durable), sorted.
fn paced(addr: &str, requests: Arc<Vec<Vec<u8>>>, rate: f64, clients: usize) -> Vec<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(requests.len())));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (requests, next, addr, latencies) = (
                Arc::clone(&requests),
                Arc::clone(&next),
                addr.to_owned(),
                Arc::clone(&latencies),
            );
            std::thread::spawn(move || {
                let mut conn = Conn::new(&addr);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(i) else {
                        break;
                    };
                    // Request i is due at i / rate seconds.
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let sent = Instant::now();
                    while conn.send(request) == 503 {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    latencies.lock().unwrap().push(sent.elapsed());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut all = std::mem::take(&mut *latencies.lock().unwrap());
    all.sort();
    all
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// The time to a durable acknowledgement at 5,000 batches a second, for 10 s.
fn acks(kind: Kind) {
    let place = common::Place::new(kind);
    let store = store_of(&place);
    let name = format!("{kind:?}");
    let server = serve(&store, &place.dir.path().join("wal"));
    let requests = Arc::new(batches(50_000, 10_000));
    let lat = paced(&server.addr, requests, 5_000.0, 128);
    println!(
        "{name}: acknowledgement at 5,000 batches/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
}

/// A flood of distinct names: 90 batches of 12,000 error type names each (about 0.3 MB
/// apiece) on top of 10,000 real ones; then the report's and the dashboard's times and the
/// collector's peak memory, which the caps (`store.rs`) bound whatever clients send.
fn names(kind: Kind) {
    let place = common::Place::new(kind);
    let store = store_of(&place);
    let name = format!("{kind:?}");
    let server = serve(&store, &place.dir.path().join("wal"));
    ingest(&server.addr, Arc::new(batches(10_000, 2_000)));
    let floods: Vec<Vec<u8>> = (0..90)
        .map(|b| post(&common::names_batch(&format!("f{b}"), 12, 1_000)))
        .collect();
    let start = Instant::now();
    let mut conn = Conn::new(&server.addr);
    for request in &floods {
        assert_eq!(conn.send(request), 200);
    }
    let per_batch = start.elapsed().as_secs_f64() * 1e3 / floods.len() as f64;
    println!("{name}: 90 batches of 12,000 names: {per_batch:.0} ms each to acknowledge");
    report_times(&name, "after the names", &server.addr);
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let status =
                Conn::new(&server.addr).send(b"GET /?days=30 HTTP/1.1\r\nHost: bench\r\n\r\n");
            assert_eq!(status, 200);
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name}: dashboard after the names: median {:.0} ms (max {:.0}), peak RSS {:.0} MiB",
        times[2].as_secs_f64() * 1e3,
        times[4].as_secs_f64() * 1e3,
        peak_mib(server.child.id())
    );
}

fn store_of(place: &common::Place) -> String {
    place.spec.to_string()
}

fn run(kind: Kind) {
    let place = common::Place::new(kind);
    let store = store_of(&place);
    let name = format!("{kind:?}");
    eprintln!("{name}: preparing 250,000 batches");
    let all = batches(250_000, 50_000);
    let server = serve(&store, &place.dir.path().join("wal"));
    // Ingest: the first 50,000 batches, timed.
    let (timed, rest) = all.split_at(50_000);
    let rate = ingest(&server.addr, Arc::new(timed.to_vec()));
    let peak = peak_mib(server.child.id());
    println!(
        "{name}: ingest {rate:.0} batches/s over {CLIENTS} connections, peak RSS {peak:.0} MiB"
    );
    // Then the rest, to reach 10^6 events, and the report over them.
    ingest(&server.addr, Arc::new(rest.to_vec()));
    report_times(&name, "over 10^6 events, right after ingest", &server.addr);
    if kind == Kind::ClickHouse {
        // ClickHouse merges the parts of the last inserts in the background, and a table
        // of many small parts reads slower; a minute later, the report a maintainer sees.
        std::thread::sleep(Duration::from_secs(60));
        report_times(&name, "over 10^6 events, a minute later", &server.addr);
    }
}

/// Five reports: the median, min and max.
fn report_times(name: &str, when: &str, addr: &str) {
    let mut times: Vec<Duration> = (0..5).map(|_| get_report(addr)).collect();
    times.sort();
    println!(
        "{name}: report, {when}: median {:.0} ms (min {:.0}, max {:.0})",
        times[2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[4].as_secs_f64() * 1e3
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |k: &str| {
        let stores: Vec<&String> = which
            .iter()
            .filter(|w| !PARTS.contains(&w.as_str()))
            .collect();
        stores.is_empty() || stores.iter().any(|w| *w == k)
    };
    // `acks`: the acknowledgement times alone; `load`: ingest and the report alone;
    // `names`: the flood of distinct names alone.
    let part = |p: &str| {
        !which.iter().any(|w| PARTS.contains(&w.as_str())) || which.iter().any(|w| w == p)
    };
    for (store, kind) in [("sqlite", Kind::Sqlite), ("clickhouse", Kind::ClickHouse)] {
        if wants(store) && part("acks") {
            acks(kind);
        }
        if wants(store) && part("load") {
            run(kind);
        }
        if wants(store) && part("names") {
            names(kind);
        }
    }
}
