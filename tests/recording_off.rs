//! With recording off (the default), annotated fns count nothing and start nothing.

use telemetry::task;

#[task(retries = 1, cache)]
fn work(x: u32) -> Result<u32, ()> {
    if x == 0 { Err(()) } else { Ok(x) }
}

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
                .map(|s| s.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn nothing_is_counted_or_started_while_off() {
    assert!(!telemetry::introspect::is_recording());
    for x in 0..100 {
        let _ = work(x % 3);
    }
    let snap = telemetry::introspect::callsites();
    assert_eq!(snap.len(), 1);
    assert_eq!(snap[0].counts, telemetry::introspect::Counts::default());
    if cfg!(target_os = "linux") {
        let names = thread_names();
        assert!(!names.is_empty());
        assert!(
            names.iter().all(|n| !n.starts_with("telemetry")),
            "unexpected threads: {names:?}"
        );
    }
}
