//! `disable` in another terminal while this process waits to retry a send (the server said
//! `Retry-After`): the retry does not go out. Its own test binary, as it starts telemetry
//! in this process.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::receiver::{Receiver, Reply};
use telemetry::Config;
use telemetry::config::Env;

#[test]
fn disable_in_another_process_stops_the_retry() {
    let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(
        503,
        vec![("Retry-After".to_owned(), "2".to_owned())],
    )]);
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("conf");
    let config = Config::new("acme", "1.0")
        .env(Env::empty().with("ACME_TELEMETRY_ENDPOINT", receiver.url()))
        .config_dir(&conf)
        .policy_file(tmp.path().join("policy.toml"))
        .current_dir(tmp.path())
        .flush_timeout(Duration::from_secs(10));
    if cfg!(telemetry_disabled) {
        return;
    }
    // Built first: the other terminal's command must be ready while the retry waits.
    let acme = common::example_exe("acme");
    telemetry::set_consent(&config, true).unwrap();
    let guard = telemetry::init(config);
    assert!(guard.is_enabled());
    let started = Instant::now();
    let flusher = std::thread::spawn(move || drop(guard));

    // The first attempt is answered 503, Retry-After: 2.
    while receiver.requests() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no first request"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Meanwhile, in another terminal:
    let disable = Command::new(acme)
        .args(["telemetry", "disable"])
        .env_clear()
        .env("ACME_TELEMETRY_CONFIG_DIR", &conf)
        .env("ACME_EXAMPLE_SYSTEM_POLICY", tmp.path().join("system.toml"))
        .output()
        .unwrap();
    assert!(disable.status.success(), "{disable:?}");

    flusher.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(receiver.requests(), 1, "no retry after `disable`");
    assert!(receiver.bodies().is_empty());
}
