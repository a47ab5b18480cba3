//! `disable --delete-data` end to end: a real `acme` sends batches to a real collector (in
//! this process, SQLite in a temporary directory), then asks it to delete them; and against
//! a collector that never answers, the request ends within the flush timeout and prints the
//! installation id.

#[path = "common/acme.rs"]
mod acme;
#[path = "common/receiver.rs"]
mod receiver;

use std::time::{Duration, Instant};

use acme::Sandbox;
use receiver::{Receiver, Reply};
use telemetry_collector::{Collector, Options, StoreSpec};

fn installation_id(sb: &Sandbox) -> String {
    let status = sb.stdout(&["telemetry", "status"], &[]);
    status
        .lines()
        .find_map(|l| l.strip_prefix("Installation ID: "))
        .unwrap()
        .to_owned()
}

#[test]
fn the_collector_deletes_everything_of_the_installation_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new();
    options.listen = ([127, 0, 0, 1], 0).into();
    options.store = StoreSpec::Sqlite(dir.path().join("t.db"));
    options.min_installations = 1;
    let collector = Collector::start(options).unwrap();
    let endpoint = format!("{}/v1/batch", collector.url());
    let to_collector = [("ACME_TELEMETRY_ENDPOINT", endpoint.as_str())];

    // Two installations send; one of them asks for deletion.
    let (gone, kept) = (Sandbox::new(), Sandbox::new());
    for sb in [&gone, &kept] {
        sb.stdout(&["telemetry", "enable"], &[]);
        sb.stdout(&["run"], &to_collector);
    }
    let id = installation_id(&gone);
    assert_eq!(collector.report(30, None).unwrap().installations, 2);

    let out = gone.stdout(&["telemetry", "disable", "--delete-data"], &to_collector);
    assert!(
        out.contains(&format!(
            "The collector confirmed it deleted the data of installation {id}."
        )),
        "{out}"
    );
    let report = collector.report(30, None).unwrap();
    assert_eq!(report.installations, 1, "{report:?}");
    assert_eq!(
        report.batches, 1,
        "only the other installation's batch is left"
    );
    // Forgotten here too, and off.
    let status = gone.stdout(&["telemetry", "status"], &[]);
    assert!(status.starts_with("Telemetry: Disabled\n"), "{status}");
    assert!(status.contains("Installation ID: <none>"), "{status}");
    // Asked again with nothing stored: nothing is sent.
    let out = gone.stdout(&["telemetry", "disable", "--delete-data"], &to_collector);
    assert!(out.contains("No installation ID was stored here"), "{out}");
}

#[test]
fn a_collector_that_never_answers_cannot_hold_the_command_and_the_id_is_printed() {
    let receiver = Receiver::with_script(vec![Reply::NeverAnswer; 4]);
    let endpoint = receiver.url(); // ends in /v1/batch
    let sb = Sandbox::new();
    sb.stdout(&["telemetry", "enable"], &[]);
    let id = installation_id(&sb);
    let started = Instant::now();
    let out = sb.acme(
        &["telemetry", "reset", "--delete-data"],
        &[("ACME_TELEMETRY_ENDPOINT", endpoint.as_str())],
    );
    // A hang guard, not a speed test: the flush timeout is 2 s.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("did not confirm the deletion"), "{text}");
    assert!(
        text.contains(&format!("quote this installation ID: {id}")),
        "{text}"
    );
    // One request, a DELETE of that installation, and nothing else.
    let heads = receiver.heads();
    assert!(!heads.is_empty());
    assert!(
        heads
            .iter()
            .all(|h| h.starts_with(&format!("DELETE /v1/installations/{id} "))),
        "{heads:?}"
    );
    // Reset all the same.
    let status = sb.stdout(&["telemetry", "status"], &[]);
    assert!(status.contains("Installation ID: <none>"), "{status}");
}
