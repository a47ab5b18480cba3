//! Batches go through the host's transport, as the runtime built them.

use own_transport::{Answer, Scripted, config, spooled, work};
use telemetry::config::Delivery;

#[test]
fn a_batch_is_delivered_through_the_hosts_transport() {
    static T: std::sync::LazyLock<Scripted> = std::sync::LazyLock::new(|| {
        // Offline twice (retried), then accepted.
        Scripted::new(vec![Answer::Give(Delivery::NoAnswer), Answer::Give(Delivery::NoAnswer)])
    });
    let dir = tempfile::tempdir().unwrap();
    let guard = telemetry::init(config(dir.path(), &T));
    assert!(guard.decision().enabled);
    assert_eq!(work(1), 2);
    drop(guard);
    let seen = T.seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in seen.iter() {
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://collector.invalid/v1/batch");
        assert!(request.body.starts_with(b"{\"schema_version\":1,"));
        assert!(request.timeout <= std::time::Duration::from_secs(5));
    }
    assert_eq!(seen[0].body, seen[2].body, "a retry sends the same batch");
    assert_eq!(spooled(dir.path()), 0, "delivered, so not kept");
}
