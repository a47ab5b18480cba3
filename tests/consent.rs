//! `init`, the guard and the live re-check, through the facade, with everything injected.

use std::time::{Duration, Instant};

use telemetry::DefaultConsent;
use telemetry::config::Env;

mod common;

use common::isolated_config as config;

// One test: recording is process-wide, so the steps must not interleave with other tests.
#[test]
fn init_follows_consent_and_a_recheck_switches_off() {
    let dir = tempfile::tempdir().unwrap();

    // Off: nothing written, counters off.
    let guard = telemetry::init(config(dir.path(), Env::empty()));
    assert!(!guard.is_enabled());
    assert!(!telemetry::introspect::is_recording());
    assert!(!dir.path().join("conf").exists());
    drop(guard);

    // OptOut with nobody deciding: on, and still nothing written.
    let guard =
        telemetry::init(config(dir.path(), Env::empty()).default_consent(DefaultConsent::OptOut));
    assert!(guard.is_enabled());
    assert!(telemetry::introspect::is_recording());
    assert!(!dir.path().join("conf").exists());
    drop(guard);
    assert!(
        !telemetry::introspect::is_recording(),
        "dropping the guard stops the counters"
    );

    // On by the user's decision; then the organisation's policy appears while running.
    telemetry::set_consent(&config(dir.path(), Env::empty()), true).unwrap();
    let guard = telemetry::init(
        config(dir.path(), Env::empty()).recheck_interval(Duration::from_millis(50)),
    );
    assert_eq!(guard.decision().rule.number(), 8);
    assert!(telemetry::introspect::is_recording());
    std::fs::write(dir.path().join("policy.toml"), "disabled = true").unwrap();
    let start = Instant::now();
    while telemetry::introspect::is_recording() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !telemetry::introspect::is_recording(),
        "the background re-check switched off"
    );
    assert_eq!(guard.decision().rule, telemetry::consent::Rule::Policy);
    let dropped = Instant::now();
    drop(guard);
    assert!(
        dropped.elapsed() < Duration::from_millis(100),
        "drop is bounded"
    );
    std::fs::remove_file(dir.path().join("policy.toml")).unwrap();

    // `refresh` does the same on demand; `set_consent(false)` switches off at once: the
    // counters, the guard's decision and the re-check thread all follow.
    let guard = telemetry::init(config(dir.path(), Env::empty()));
    assert!(guard.is_enabled());
    assert!(guard.refresh().enabled);
    let start = Instant::now();
    while consent_threads() == 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10)); // it names itself once started
    }
    assert!(consent_threads() == 1 || !cfg!(target_os = "linux"));
    telemetry::set_consent(&config(dir.path(), Env::empty()), false).unwrap();
    assert!(!telemetry::introspect::is_recording());
    assert!(!guard.is_enabled(), "the guard says off too");
    assert_eq!(guard.decision().rule.number(), 8);
    assert!(!guard.refresh().enabled);
    let start = Instant::now();
    while consent_threads() > 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(consent_threads(), 0, "the re-check thread exits when off");
    drop(guard);
    let guard = telemetry::init(config(dir.path(), Env::empty()));
    assert!(!guard.is_enabled());
    drop(guard);

    // `reset` switches the running process off as well (an opt-out host would otherwise
    // keep recording after the user asked for a fresh start).
    let optout = || config(dir.path(), Env::empty()).default_consent(DefaultConsent::OptOut);
    telemetry::set_consent(&optout(), true).unwrap();
    let guard = telemetry::init(optout());
    assert!(guard.is_enabled());
    telemetry::reset_consent(&optout()).unwrap();
    assert!(!telemetry::introspect::is_recording());
    assert_eq!(guard.decision().rule, telemetry::consent::Rule::Reset);
    drop(guard);

    let audit = telemetry::consent::StateStore::new(dir.path().join("conf"))
        .audit_lines()
        .unwrap();
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(
        audit[0].ends_with("unset -> enabled (api)")
            && audit[1].ends_with("enabled -> disabled (api)")
            && audit[2].ends_with("disabled -> enabled (api)")
            && audit[3].ends_with("enabled -> unset (reset)"),
        "{audit:?}"
    );
}

/// How many `telemetry-consent` threads this process has (Linux: from /proc; 0 elsewhere).
fn consent_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        // The kernel keeps 15 bytes of a thread's name.
        .filter(|name| name.trim_end() == "telemetry-conse")
        .count()
}
