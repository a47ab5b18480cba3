//! A host transport that never returns cannot hold the host's exit: the guard returns
//! within the flush timeout and the batch waits in the spool for the next run.

use std::time::{Duration, Instant};

use own_transport::{Answer, Scripted, config, spooled, work};

#[test]
fn a_hanging_transport_cannot_hold_the_exit() {
    static T: std::sync::LazyLock<Scripted> =
        std::sync::LazyLock::new(|| Scripted::new(vec![Answer::Hang]));
    let dir = tempfile::tempdir().unwrap();
    let guard = telemetry::init(config(dir.path(), &T).flush_timeout(Duration::from_secs(1)));
    work(1);
    let started = Instant::now();
    drop(guard);
    // A hang guard, not a speed test: the transport sleeps ten minutes.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(T.seen.lock().unwrap().len(), 1);
    assert_eq!(spooled(dir.path()), 1, "the batch waits for the next run");
}
