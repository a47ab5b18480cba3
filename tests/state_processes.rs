//! Several processes toggling consent at once: the state file is never torn, and the audit
//! log holds exactly one line per real change, each starting where the previous one ended.

#[path = "common/acme.rs"]
mod acme;

use acme::Sandbox;

#[test]
fn concurrent_processes_toggle_safely() {
    let sb = Sandbox::new();
    for _wave in 0..3 {
        let children: Vec<_> = (0..12)
            .map(|i| {
                let cmd = if i % 2 == 0 { "enable" } else { "disable" };
                sb.command(&["telemetry", cmd], &[])
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
    }
    let store = telemetry::consent::StateStore::new(sb.config_dir());
    let state = store.read().expect("never a torn or corrupt file");
    let lines = store.audit_lines().unwrap();
    assert!(!lines.is_empty());
    let mut current = "unset".to_owned();
    for line in &lines {
        let words: Vec<_> = line.split(' ').collect();
        assert_eq!(
            (words[1], words[2], words[4]),
            (current.as_str(), "->", "(cli)"),
            "{lines:#?}"
        );
        assert_ne!(words[1], words[3], "a line without a change: {line}");
        current = words[3].to_owned();
    }
    assert_eq!(state.decision_word(), current);
    let leftovers: Vec<_> = std::fs::read_dir(sb.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        // The lock file stays (it is never deleted: see `state.rs`); nothing else may.
        .filter(|n| {
            ![
                "telemetry_state.toml",
                "telemetry_audit.log",
                "telemetry_state.lock",
            ]
            .contains(&n.as_str())
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
