//! `Identity::Anonymous`: a consenting installation gets no id. Nothing the runtime writes or
//! sends holds one: not the state file, a spooled batch, a delivered batch or the log of
//! what was sent.

#[path = "common/acme.rs"]
mod acme;
#[path = "common/receiver.rs"]
mod receiver;

use std::path::Path;
use std::time::Duration;

use acme::Sandbox;
use receiver::{Receiver, Reply};

/// Every file under `dir`, with its contents.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn an_anonymous_host_never_makes_stores_or_sends_an_installation_id() {
    let sb = Sandbox::new();
    let anon = [("ACME_EXAMPLE_ANONYMOUS", "1")];
    let out = sb.stdout(&["telemetry", "enable"], &anon);
    assert!(!out.contains("Installation ID"), "{out}");
    let status = sb.stdout(&["telemetry", "status"], &anon);
    assert!(status.starts_with("Telemetry: Enabled\n"), "{status}");
    assert!(status.contains("Installation ID: <none>"), "{status}");

    // A collector that is down: the batch waits in the spool.
    let down = Receiver::with_script(vec![Reply::CloseImmediately; 20]);
    let env = |url: &str| {
        vec![
            ("ACME_EXAMPLE_ANONYMOUS", "1".to_owned()),
            ("ACME_TELEMETRY_ENDPOINT", url.to_owned()),
        ]
    };
    let run = |url: &str| {
        let vars = env(url);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert!(sb.acme(&["run"], &vars).status.success());
    };
    run(&down.url());
    let spooled: Vec<_> = files(&sb.config_dir().join("telemetry_spool"));
    assert!(!spooled.is_empty(), "a batch is spooled");

    // Then up: the spooled batch and the new one arrive.
    let up = Receiver::start();
    run(&up.url());
    assert!(up.wait_for_bodies(2, Duration::from_secs(10)));
    let bodies = up.bodies();
    for body in &bodies {
        assert!(holds(body, "\"session_id\""));
        assert!(
            !holds(body, "installation_id"),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert!(sb.config_dir().join("telemetry_sent.log").exists());
    for (name, bytes) in spooled.into_iter().chain(files(&sb.config_dir())) {
        assert!(!holds(&bytes, "installation_id"), "{name}");
    }
    // The collector's view: with no installation id, runs are counted by session.
    let report_sessions: std::collections::HashSet<Vec<u8>> = bodies
        .iter()
        .map(|b| {
            let at = b.windows(13).position(|w| w == b"\"session_id\":").unwrap();
            b[at..at + 52].to_vec()
        })
        .collect();
    assert_eq!(report_sessions.len(), 2, "two runs, two sessions");
}

/// A host that switches to `Identity::Anonymous` with batches spooled while it sent an id:
/// neither `preview` nor the sends after the switch show the stored id; the batch itself is
/// still sent, without it.
#[test]
fn after_a_switch_to_anonymous_no_stored_id_leaves_or_shows() {
    let sb = Sandbox::new();
    sb.stdout(&["telemetry", "enable"], &[]);
    let state = std::fs::read_to_string(sb.config_dir().join("telemetry_state.toml")).unwrap();
    let start = state.find("installation_id = \"").unwrap() + "installation_id = \"".len();
    let id = state[start..start + 36].to_owned();
    // Sent with the id, to a collector that is down: spooled, the id in it.
    let down = Receiver::with_script(vec![Reply::CloseImmediately; 20]);
    let vars = [("ACME_TELEMETRY_ENDPOINT", down.url())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(sb.acme(&["run"], &vars).status.success());
    let spooled = files(&sb.config_dir().join("telemetry_spool"));
    assert!(
        spooled.iter().any(|(_, b)| holds(b, &id)),
        "the spooled batch holds the id"
    );

    // Now anonymous: `preview` shows the spooled batch without it.
    let anon = [("ACME_EXAMPLE_ANONYMOUS", "1")];
    let preview = sb.acme(&["telemetry", "preview"], &anon);
    let shown = String::from_utf8(preview.stdout).unwrap();
    assert!(shown.contains("\"session_id\""), "{shown}");
    assert!(
        !shown.contains("installation_id") && !shown.contains(&id),
        "{shown}"
    );

    // And the sends: the spooled batch arrives without it, as does the new one.
    let up = Receiver::start();
    let vars = [
        ("ACME_EXAMPLE_ANONYMOUS", "1"),
        ("ACME_TELEMETRY_ENDPOINT", &up.url()),
    ];
    assert!(sb.acme(&["run"], &vars).status.success());
    assert!(up.wait_for_bodies(2, Duration::from_secs(10)));
    for body in up.bodies() {
        assert!(!holds(&body, &id), "{}", String::from_utf8_lossy(&body));
        assert!(!holds(&body, "installation_id"));
    }
}
