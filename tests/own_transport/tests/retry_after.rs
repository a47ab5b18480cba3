//! A server's `Retry-After`, reported by the host's transport, is honoured by the runtime.

use std::time::Duration;

use own_transport::{Answer, Scripted, config, work};
use telemetry::config::Delivery;

#[test]
fn retry_after_is_waited_out_before_the_next_try() {
    static T: std::sync::LazyLock<Scripted> = std::sync::LazyLock::new(|| {
        Scripted::new(vec![Answer::Give(Delivery::Answered {
            status: 503,
            retry_after: Some(Duration::from_millis(400)),
        })])
    });
    let dir = tempfile::tempdir().unwrap();
    let guard = telemetry::init(config(dir.path(), &T));
    work(1);
    drop(guard);
    let seen = T.seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    // The runtime waited at least what the server asked before trying again.
    assert!(seen[1].at.duration_since(seen[0].at) >= Duration::from_millis(400));
}
