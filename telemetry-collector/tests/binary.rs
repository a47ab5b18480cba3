//! The `telemetry-collector` binary as an operator runs it: its first line, its errors at
//! start, its quiet log, and `SIGTERM` losing nothing it acknowledged.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{post, real_batch, variant};

const EXE: &str = env!("CARGO_BIN_EXE_telemetry-collector");

/// `serve ARGS` on a free port, its stderr kept to read; the child and its URL.
fn serve(args: &[&str]) -> (Child, String) {
    common::serve_binary(args, Stdio::piped())
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_first_line_names_the_bound_port() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("t.db").display());
    let (mut child, url) = serve(&["--store", &store]);
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(url.starts_with("http://127.0.0.1:") && port > 0, "{url}");
    assert_eq!(common::get(&format!("{url}/healthz")).0, 200);
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// Batches keep arriving from several clients while `SIGTERM` comes: every batch answered
/// `200` is in the store afterwards, and the process exits cleanly.
#[test]
fn sigterm_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("t.db").display());
    let (mut child, url) = serve(&["--store", &store]);
    let acked = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (url, acked) = (format!("{url}/v1/batch"), Arc::clone(&acked));
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let body = variant(real_batch(), &common::new_id(), None, None);
                    match post(&url, body.as_bytes()) {
                        200 => {
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        // Refused or cut off by the shutdown: not acknowledged.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    while acked.load(Ordering::SeqCst) < 50 {
        std::thread::yield_now();
    }
    sigterm(&child);
    for s in senders {
        s.join().unwrap();
    }
    assert!(child.wait().unwrap().success());
    let err = stderr_of(&mut child);
    assert!(!err.contains("warn") && !err.contains("error"), "{err}");

    let out = Command::new(EXE)
        .args([
            "report",
            "--store",
            &store,
            "--since",
            "3650",
            "--min-installations",
            "1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let acked = acked.load(Ordering::SeqCst) as u64;
    let stored = report["batches"].as_u64().unwrap();
    // A batch stored whose answer the shutdown cut off may be there too, never fewer.
    assert!(stored >= acked, "{acked} acknowledged, {stored} stored");
    assert!(stored <= acked + 4, "{acked} acknowledged, {stored} stored");
}

#[test]
fn a_bad_store_is_refused_at_start_with_a_clear_error() {
    let run = |args: &[&str]| {
        let out = Command::new(EXE).args(args).output().unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, err) = run(&["serve", "--store", "mysql://db/x"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown store `mysql`"), "{err}");
    let (code, err) = run(&["serve", "--store", "clickhouse://127.0.0.1/telemetry"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("clickhouse://HOST:PORT/DATABASE"), "{err}");
    // Nothing listens on port 1.
    let (code, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--store",
        "clickhouse://127.0.0.1:1/t",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot reach ClickHouse at 127.0.0.1:1"),
        "{err}"
    );
    let (code, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--store",
        "sqlite:/nonexistent/dir/t.db",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot open the SQLite store"), "{err}");
    let (code, err) = run(&["serve", "--tls-cert", "c.pem"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--tls-key"), "{err}");
    let (code, err) = run(&["serve", "--frobnicate"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unexpected argument '--frobnicate'"), "{err}");
}

/// A stream of bad requests leaves the log (at its default level) empty, and the answers
/// never echo what was sent.
#[test]
fn bad_requests_are_not_the_operators_problem() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("t.db").display());
    let (mut child, url) = serve(&["--store", &store]);
    for body in ["{", "{\"user\":\"Canary-Zq9\"}", "Canary-Zq9"] {
        let mut r = common::agent()
            .post(&format!("{url}/v1/batch"))
            .send(body)
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let answer = r.body_mut().read_to_string().unwrap();
        assert!(!answer.contains("Canary"), "{answer}");
    }
    assert_eq!(common::get(&format!("{url}/v1/report?days=-1")).0, 400);
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let err = stderr_of(&mut child);
    assert!(
        !err.contains("Canary") && !err.contains("warn") && !err.contains("debug"),
        "{err}"
    );
}
