//! `examples/service.rs`, run as a process: heartbeats reach its collector while it runs,
//! and Ctrl-C (SIGINT) stops it cleanly, its flush bounded.

#[path = "common/example.rs"]
mod example;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The heartbeats in a line `collector received a batch: N event(s), H heartbeat(s)`.
fn heartbeats(line: &str) -> usize {
    line.strip_prefix("collector received a batch: ")
        .and_then(|rest| rest.split(", ").nth(1))
        .and_then(|h| h.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(unix)]
#[test]
fn heartbeats_arrive_and_ctrl_c_stops_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(example::example_exe("service"))
        .env_clear()
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    // Hang guards, not speed tests: heartbeats come every 2 s.
    while !seen.iter().any(|l: &String| heartbeats(l) > 0) {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no heartbeat arrived: {seen:?}"));
        seen.push(line);
    }
    assert!(
        seen[0].starts_with("sending to http://127.0.0.1:"),
        "{seen:?}"
    );

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    let out = done
        .recv_timeout(Duration::from_secs(60))
        .expect("the service did not stop after Ctrl-C")
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The reader ends at the end of output, which the exit closed.
    let rest: Vec<String> = lines.iter().collect();
    assert!(
        rest.iter().any(|l| l.starts_with("stopping after ")),
        "{rest:?}"
    );
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

/// The user's opt-out holds in the example hosts copy: the service sets its own variables
/// on top of the process environment, so `DO_NOT_TRACK` and `ACME_DISABLE_TELEMETRY` still
/// switch it off, and nothing reaches its collector.
#[cfg(unix)]
#[test]
fn the_service_honours_the_users_opt_out() {
    for opt_out in ["DO_NOT_TRACK", "ACME_DISABLE_TELEMETRY"] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(example::example_exe("service"))
            .args(["--seconds", "5"])
            .env_clear()
            .env("TMPDIR", dir.path())
            .env(opt_out, "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Batches go every 2 s when on: five seconds would have sent two.
        assert!(
            stdout.starts_with("sending to http://127.0.0.1:"),
            "{stdout}"
        );
        assert!(
            !stdout.contains("collector received a batch"),
            "{opt_out}=1 was ignored:\n{stdout}"
        );
    }
}
