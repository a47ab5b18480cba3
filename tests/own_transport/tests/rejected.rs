//! A 4xx that means "not here" stops sending: no retry, the batch is dropped, not spooled.

use own_transport::{Answer, Scripted, config, spooled, work};
use telemetry::config::Delivery;

#[test]
fn a_404_is_not_retried_and_the_batch_is_dropped() {
    static T: std::sync::LazyLock<Scripted> = std::sync::LazyLock::new(|| {
        Scripted::new(vec![Answer::Give(Delivery::Answered {
            status: 404,
            retry_after: None,
        })])
    });
    let dir = tempfile::tempdir().unwrap();
    let guard = telemetry::init(config(dir.path(), &T));
    work(1);
    drop(guard);
    assert_eq!(T.seen.lock().unwrap().len(), 1);
    assert_eq!(spooled(dir.path()), 0);
}
