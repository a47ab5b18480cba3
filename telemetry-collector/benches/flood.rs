//! The collector under a flood, as docs/performance.md, "The collector", reports it: 1,500
//! connections that announce a body and then drip it, a byte every half second, reconnecting
//! as soon as they are cut, while real clients post real batches (a new connection each, as
//! a runtime's process does). The figure is the real clients' time to `200`: p50, p99, max.
//!
//! `cargo bench -p telemetry-collector --bench flood` (SQLite store; the attackers and the
//! clients run on the same two cores as the collector). Every socket is on 127.0.0.1 and the
//! run stops by itself.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{real_batch, variant};

const ATTACKERS: usize = 1_500;
const CLIENTS: usize = 8;
const RUN: Duration = Duration::from_secs(20);

/// Raises this process's limit on open files to its hard limit (1,500 sockets and more).
fn raise_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads and writes the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// One slow sender: announces 100 KB, then sends a byte every 500 ms until it is cut, then
/// comes back.
fn attacker(addr: String, stop: Arc<AtomicBool>, cuts: Arc<AtomicUsize>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(&addr) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let head = "POST /v1/batch HTTP/1.1\r\nHost: flood\r\nContent-Type: application/json\r\n\
                    Content-Length: 100000\r\n\r\n{";
        if s.write_all(head.as_bytes()).is_err() {
            continue;
        }
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 256];
        while !stop.load(Ordering::Relaxed) {
            if s.write_all(b" ").is_err() {
                break;
            }
            match s.read(&mut buf) {
                // An answer (408) or the close: cut.
                Ok(_) => break,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
        cuts.fetch_add(1, Ordering::Relaxed);
    }
}

/// One real client: a batch a connection, as a host process sends it; each one's time.
fn client(url: String, stop: Arc<AtomicBool>, times: Arc<Mutex<Vec<(Duration, u16)>>>) {
    while !stop.load(Ordering::Relaxed) {
        let body = variant(real_batch(), &common::new_id(), None, None);
        let started = Instant::now();
        let status = common::post(&url, body.as_bytes());
        times.lock().unwrap().push((started.elapsed(), status));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn main() {
    raise_file_limit();
    // Captured once, before the clock runs (it builds and runs the `acme` example).
    let _ = real_batch();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("t.db").display());
    let (mut child, url) =
        common::serve_binary(&["--store", &store, "--log", "error"], Stdio::inherit());
    let addr = url.trim_start_matches("http://").to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let cuts = Arc::new(AtomicUsize::new(0));
    let times = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    let attackers: usize = std::env::var("FLOOD_ATTACKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ATTACKERS);
    for _ in 0..attackers {
        let (addr, stop, cuts) = (addr.clone(), Arc::clone(&stop), Arc::clone(&cuts));
        threads.push(
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || attacker(addr, stop, cuts))
                .unwrap(),
        );
    }
    // The flood first, then the real clients in it.
    std::thread::sleep(Duration::from_secs(3));
    for _ in 0..CLIENTS {
        let (url, stop, times) = (
            format!("{url}/v1/batch"),
            Arc::clone(&stop),
            Arc::clone(&times),
        );
        threads.push(std::thread::spawn(move || client(url, stop, times)));
    }
    std::thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let _ = child.kill();
    let _ = child.wait();
    let times = times.lock().unwrap();
    let mut ok: Vec<Duration> = times
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(d, _)| *d)
        .collect();
    ok.sort();
    let pct = |p: f64| {
        let i = ((ok.len() as f64 * p).ceil() as usize).clamp(1, ok.len()) - 1;
        ok[i].as_secs_f64() * 1e3
    };
    println!(
        "flood: {attackers} slow connections ({} cut and back), {} real batches, {} answered 200: \
         p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        cuts.load(Ordering::Relaxed),
        times.len(),
        ok.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}
