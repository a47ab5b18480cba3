//! End to end: `examples/pipeline.rs` runs as a real process against receivers started here
//! on 127.0.0.1, with an environment built from scratch (nothing inherited from the runner).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::receiver::{Receiver, Reply};
use serde_json::Value;

/// The `pipeline` example, built once per test binary if `cargo test` has not already.
fn pipeline_exe() -> &'static Path {
    common::example_exe("pipeline")
}

struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        Host { dir }
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn spool_files(&self) -> usize {
        std::fs::read_dir(self.config_dir().join("telemetry_spool"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(pipeline_exe());
        cmd.args(args)
            .env_clear()
            .env("ACME_TELEMETRY_CONFIG_DIR", self.config_dir())
            .env(
                "ACME_TELEMETRY_POLICY_FILE",
                self.dir.path().join("policy.toml"),
            )
            .env(
                "ACME_EXAMPLE_SYSTEM_POLICY",
                self.dir.path().join("system-policy.toml"),
            )
            .current_dir(self.dir.path().join("work"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run the pipeline example")
    }

    /// Runs `examples/acme.rs` (same app name, so same config dir) with `args`.
    fn acme(&self, args: &[&str]) -> Output {
        Command::new(common::example_exe("acme"))
            .args(args)
            .env_clear()
            .env("ACME_TELEMETRY_CONFIG_DIR", self.config_dir())
            .env(
                "ACME_EXAMPLE_SYSTEM_POLICY",
                self.dir.path().join("system-policy.toml"),
            )
            .output()
            .expect("run the acme example")
    }

    /// Runs with telemetry switched on for this process and sent to `endpoint`.
    fn run_on(&self, endpoint: &str, args: &[&str]) -> Output {
        self.run(
            args,
            &[
                ("ACME_TELEMETRY_ENABLED", "1"),
                ("ACME_TELEMETRY_ENDPOINT", endpoint),
            ],
        )
    }
}

/// A loopback address where nothing listens: connections are refused at once.
fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1/batch")
}

/// Telemetry wrote nothing to stderr (nothing logged, nothing printed).
fn assert_quiet(out: &Output) {
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn field(out: &Output, name: &str) -> u64 {
    let text = stdout(out);
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text:?}"))
}

/// What the host prints when telemetry does nothing at all.
fn baseline(args: &[&str]) -> String {
    let host = Host::new();
    let out = host.run(args, &[]);
    assert!(out.status.success());
    stdout(&out).lines().next().unwrap().to_string()
}

fn batches(receiver: &Receiver) -> Vec<Value> {
    receiver
        .bodies()
        .iter()
        .map(|b| serde_json::from_slice(b).expect("a batch is JSON"))
        .collect()
}

fn events(batches: &[Value]) -> Vec<Value> {
    batches
        .iter()
        .flat_map(|b| b["events"].as_array().unwrap().clone())
        .collect()
}

/// Sums a metric of every `usage` event, e.g. `["task_runs", "calls"]`.
fn usage_sum(events: &[Value], path: &[&str]) -> u64 {
    events
        .iter()
        .filter(|e| e["event_type"] == "usage")
        .map(|e| {
            path.iter()
                .fold(&e["metrics"], |v, k| &v[*k])
                .as_u64()
                .unwrap()
        })
        .sum()
}

#[test]
fn counts_from_several_threads_arrive_exactly_once_in_well_formed_batches() {
    let receiver = Receiver::start();
    let host = Host::new();
    let args = ["--threads", "4", "--calls", "2500", "--errors", "3"];
    let out = host.run_on(&receiver.url(), &args);
    assert!(out.status.success(), "{out:?}");
    assert_quiet(&out);
    assert_eq!(stdout(&out).lines().next().unwrap(), baseline(&args));

    let batches = batches(&receiver);
    assert!(!batches.is_empty());
    for batch in &batches {
        assert_eq!(batch["schema_version"], 1);
        assert_eq!(batch["batch_id"].as_str().unwrap().len(), 36);
    }
    let events = events(&batches);
    for e in &events {
        for key in [
            "event_id",
            "session_id",
            "timestamp",
            "event_type",
            "sdk_version",
            "app_version",
            "rust_version",
            "os",
            "arch",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
        assert!(e["timestamp"].as_str().unwrap().ends_with(":00:00Z"), "{e}");
        // Consent came from a variable, not from the user: no installation id.
        assert!(e.get("installation_id").is_none());
    }
    let sessions: Vec<_> = events
        .iter()
        .filter(|e| e["event_type"] == "session")
        .collect();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["environment"], "production");
    assert_eq!(sessions[0]["interactive"], false);

    assert_eq!(
        usage_sum(&events, &["task_runs", "calls"]),
        4 * 2500 + 4 * 3
    );
    assert_eq!(usage_sum(&events, &["task_runs", "err"]), 4 * 3);
    assert_eq!(usage_sum(&events, &["flow_runs", "calls"]), 4);
    let usage = events.iter().find(|e| e["event_type"] == "usage").unwrap();
    assert_eq!(usage["metrics"]["flows_defined"], 1);
    assert_eq!(usage["metrics"]["tasks_defined"], 2);
    assert_eq!(usage["features"]["flow_decorator"], true);
    assert_eq!(usage["features"]["caching"], false);
    let parse_errors: u64 = events
        .iter()
        .filter(|e| e["event_type"] == "error")
        .map(|e| {
            e["errors"]["exception_types"]["core::num::ParseIntError"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(parse_errors, 4 * 3);
    // Delivered batches leave nothing in the spool.
    assert_eq!(host.spool_files(), 0);
}

#[test]
fn with_consent_off_nothing_is_sent_and_nothing_is_written() {
    let receiver = Receiver::start();
    let url = receiver.url();
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("DO_NOT_TRACK", "1")],
        &[("ACME_DISABLE_TELEMETRY", "true")],
        &[("ACME_TELEMETRY_ENABLED", "0")],
        &[("CI", "true")],
        &[("GITHUB_ACTIONS", "true")],
        &[("DO_NOT_TRACK", "yes"), ("ACME_TELEMETRY_ENABLED", "1")],
    ];
    for extra in cases {
        let host = Host::new();
        let mut env = vec![("ACME_TELEMETRY_ENDPOINT", url.as_str())];
        env.extend_from_slice(extra);
        let out = host.run(&["--errors", "2"], &env);
        assert!(out.status.success());
        assert!(out.stderr.is_empty(), "{extra:?}");
        assert!(!host.config_dir().exists(), "{extra:?} wrote a file");
    }
    // A project file, and a saved "no", each keep everything off too.
    let host = Host::new();
    std::fs::write(host.dir.path().join("work/.telemetry"), "consent: false\n").unwrap();
    let out = host.run(
        &["--errors", "2"],
        &[("ACME_TELEMETRY_ENDPOINT", url.as_str())],
    );
    assert!(out.status.success());
    assert!(!host.config_dir().exists());
    let host = Host::new();
    let acme = host.acme(&["telemetry", "disable"]);
    assert!(acme.status.success());
    let listing = |dir: &Path| -> Vec<_> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing(&host.config_dir());
    let out = host.run(
        &["--errors", "2"],
        &[("ACME_TELEMETRY_ENDPOINT", url.as_str())],
    );
    assert!(out.status.success());
    assert_eq!(listing(&host.config_dir()), before, "no new file while off");
    // The organisation's policy wins over the user's variable.
    let host = Host::new();
    std::fs::write(host.dir.path().join("policy.toml"), "disabled = true\n").unwrap();
    let out = host.run_on(&url, &["--errors", "2"]);
    assert!(out.status.success());
    assert!(!host.config_dir().exists());
    assert_eq!(receiver.connections(), 0);
}

/// A fault must not change what the host does or prints, and the guard's drop stays bounded.
fn check_fault(receiver: &Receiver, host: &Host) -> Output {
    let args = ["--threads", "2", "--calls", "100", "--errors", "1"];
    let out = host.run_on(&receiver.url(), &args);
    assert!(out.status.success(), "{out:?}");
    assert_quiet(&out);
    let text = stdout(&out);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2, "only the host's own output: {text:?}");
    assert_eq!(lines[0], baseline(&args));
    // flush_timeout (2 s) plus a margin for a loaded machine.
    assert!(field(&out, "drop_ms") <= 3000, "{text}");
    out
}

#[test]
fn faults_leave_the_host_unchanged_and_exit_bounded() {
    let refused = refused_url();
    let host = Host::new();
    let out = host.run_on(
        &refused,
        &["--threads", "2", "--calls", "100", "--errors", "1"],
    );
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert!(field(&out, "drop_ms") <= 3000);
    assert!(host.spool_files() >= 1, "an undelivered batch is kept");

    for script in [
        vec![Reply::NeverAnswer; 8],
        vec![Reply::Slow(Duration::from_secs(10), 200); 8],
        vec![Reply::Status(500); 8],
        vec![Reply::Garbage; 8],
    ] {
        let receiver = Receiver::with_script(script.clone());
        let host = Host::new();
        check_fault(&receiver, &host);
        assert!(receiver.bodies().is_empty(), "{script:?}");
        assert!(
            host.spool_files() >= 1,
            "{script:?}: the batch waits in the spool"
        );
    }
}

#[test]
fn after_a_404_no_further_request_is_made() {
    // A first process leaves a batch in the spool, so the next one has two to send.
    let host = Host::new();
    host.run_on(&refused_url(), &["--calls", "10"]);
    assert!(host.spool_files() >= 1);
    let receiver = Receiver::with_script(vec![Reply::Status(404)]);
    check_fault(&receiver, &host);
    assert_eq!(
        receiver.requests(),
        1,
        "the 404 stops sending for the process"
    );
    assert!(receiver.bodies().is_empty());
}

#[test]
fn a_500_then_200_delivers_the_counts_exactly_once() {
    let receiver = Receiver::with_script(vec![Reply::Status(500)]);
    let host = Host::new();
    check_fault(&receiver, &host);
    let events = events(&batches(&receiver));
    assert_eq!(usage_sum(&events, &["task_runs", "calls"]), 2 * 100 + 2);
    assert_eq!(receiver.requests(), 2);
    assert_eq!(host.spool_files(), 0);
}

#[test]
fn a_429_with_retry_after_is_honoured() {
    let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(
        429,
        vec![("Retry-After".into(), "1".into())],
    )]);
    let host = Host::new();
    let out = check_fault(&receiver, &host);
    // The one-second wait happened (inside the flush, which is bounded by flush_timeout).
    assert!(field(&out, "drop_ms") >= 900, "{}", stdout(&out));
    assert_eq!(receiver.requests(), 2);
    let events = events(&batches(&receiver));
    assert_eq!(usage_sum(&events, &["task_runs", "calls"]), 2 * 100 + 2);
}

#[test]
fn a_batch_a_process_could_not_send_is_sent_by_the_next_one() {
    let receiver = Receiver::with_script(vec![Reply::CloseImmediately; 20]);
    let host = Host::new();
    let out = host.run_on(&receiver.url(), &["--threads", "3", "--calls", "50"]);
    assert!(out.status.success());
    assert!(receiver.bodies().is_empty());
    assert!(host.spool_files() >= 1);

    let live = Receiver::start();
    let out = host.run_on(&live.url(), &["--threads", "1", "--calls", "7"]);
    assert!(out.status.success());
    let events = events(&batches(&live));
    assert_eq!(usage_sum(&events, &["task_runs", "calls"]), 3 * 50 + 7);
    assert_eq!(usage_sum(&events, &["flow_runs", "calls"]), 3 + 1);
    assert_eq!(host.spool_files(), 0);
}

#[test]
fn the_spool_waits_only_while_consent_holds() {
    let host = Host::new();
    host.run_on(&refused_url(), &["--calls", "10"]);
    assert!(host.spool_files() >= 1);
    // Consent is gone in the next process: the spool is not sent.
    let live = Receiver::start();
    let out = host.run(
        &[],
        &[
            ("DO_NOT_TRACK", "1"),
            ("ACME_TELEMETRY_ENDPOINT", &live.url()),
        ],
    );
    assert!(out.status.success());
    assert_eq!(live.connections(), 0);
    assert!(host.spool_files() >= 1);
}

#[test]
fn memory_stays_bounded_when_the_endpoint_is_down() {
    let host = Host::new();
    // A million calls, a hundred thousand errors (counted in the shards) and a hundred
    // thousand discrete events (through the bounded queue), endpoint refusing.
    let out = host.run_on(
        &refused_url(),
        &[
            "--threads",
            "4",
            "--calls",
            "250000",
            "--errors",
            "25000",
            "--events",
            "25000",
            "--diagnostics",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty());
    let capacity = field(&out, "queue_capacity");
    assert!(capacity > 0);
    assert!(field(&out, "queue_len") <= capacity);
    // The queue really filled up: events were dropped (and counted) instead of growing it.
    assert!(field(&out, "dropped_events") > 0, "{}", stdout(&out));
    assert!(field(&out, "spool_files") <= 32);
    assert!(field(&out, "spool_bytes") <= 1024 * 1024);
    assert!(host.spool_files() <= 32);
}

#[test]
fn debug_mode_prints_batches_to_stderr_and_sends_nothing() {
    let receiver = Receiver::start();
    let host = Host::new();
    let out = host.run(
        &["--calls", "5"],
        &[
            ("ACME_TELEMETRY_ENABLED", "1"),
            ("ACME_TELEMETRY_DEBUG", "1"),
            ("ACME_TELEMETRY_ENDPOINT", &receiver.url()),
        ],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"schema_version\": 1"), "{err}");
    assert_eq!(receiver.connections(), 0);
    assert_eq!(stdout(&out).lines().count(), 2);
}

#[test]
fn a_file_endpoint_appends_json_lines() {
    let host = Host::new();
    let file = host.dir.path().join("batches.jsonl");
    let url = format!("file://{}", file.display());
    host.run_on(&url, &["--calls", "3"]);
    host.run_on(&url, &["--calls", "4"]);
    let text = std::fs::read_to_string(&file).unwrap();
    let batches: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(batches.len() >= 2);
    assert_eq!(
        usage_sum(&events(&batches), &["task_runs", "calls"]),
        4 * 3 + 4 * 4
    );
}

#[test]
fn disable_deletes_the_spool() {
    let host = Host::new();
    host.run_on(&refused_url(), &["--calls", "10"]);
    assert!(host.spool_files() >= 1);
    let acme = host.acme(&["telemetry", "disable"]);
    assert!(acme.status.success(), "{acme:?}");
    assert_eq!(host.spool_files(), 0);
}

#[test]
fn the_quickstart_prints_the_batch_its_collector_got_and_the_report() {
    let out = Command::new(common::example_exe("quickstart"))
        .env_remove("DO_NOT_TRACK")
        .env_remove("ACME_DISABLE_TELEMETRY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    if text.contains("Telemetry for this run: on") {
        assert!(text.contains("\"schema_version\": 1"), "{text}");
        assert!(text.contains("\"event_type\": \"usage\""), "{text}");
        assert!(text.contains("\"retry_attempts\": 2"), "{text}");
        // The collection config the collector serves left the concurrency buckets out.
        assert!(text.contains("It serves this collection config"), "{text}");
        assert!(!text.contains("\"task_concurrency\""), "{text}");
        // The collector stored it: the report counts it and shows the feature shares.
        assert!(
            text.contains("1 installation(s), 1 session(s), 1 batch(es)"),
            "{text}"
        );
        assert!(text.contains("retries 100%"), "{text}");
        assert!(text.contains("retry_attempts 2"), "{text}");
    } else {
        // An organisation policy on this machine said no: the demo must respect it.
        assert!(text.contains("The collector got nothing"), "{text}");
        assert!(text.contains("0 installation(s)"), "{text}");
    }
}

#[test]
fn a_worker_stuck_on_a_hanging_endpoint_still_spools_the_exit_batch() {
    let host = Host::new();
    // First process: nothing listens, its batch waits in the spool.
    host.run_on(&refused_url(), &["--threads", "1", "--calls", "11"]);
    assert!(host.spool_files() >= 1);
    // Second: the endpoint accepts and never answers, so the worker is stuck sending the
    // spooled batch when the guard drops. The guard's bounded flush spools this run's counts.
    let hanging = Receiver::with_script(vec![Reply::NeverAnswer; 8]);
    let out = host.run_on(&hanging.url(), &["--threads", "1", "--calls", "13"]);
    assert!(out.status.success());
    assert!(field(&out, "drop_ms") <= 3000);
    // Third: a live endpoint gets both earlier runs' counts, and its own.
    let live = Receiver::start();
    host.run_on(&live.url(), &["--threads", "1", "--calls", "17"]);
    let events = events(&batches(&live));
    assert_eq!(usage_sum(&events, &["task_runs", "calls"]), 11 + 13 + 17);
    assert_eq!(usage_sum(&events, &["flow_runs", "calls"]), 3);
}

/// `log` shows what left the machine: every delivered batch, byte for byte as the receiver
/// got it, with the hour; `disable` deletes the record, and nothing is recorded while off.
#[test]
fn the_log_shows_each_delivered_batch_exactly_as_received() {
    let receiver = Receiver::start();
    let host = Host::new();
    for _ in 0..2 {
        let out = host.run_on(&receiver.url(), &["--threads", "1", "--calls", "3"]);
        assert!(out.status.success());
    }
    assert!(receiver.wait_for_bodies(2, Duration::from_secs(10)));
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2);

    let log = host.acme(&["telemetry", "log"]);
    assert!(log.status.success());
    let text = stdout(&log);
    let sent: Vec<&str> = text.lines().filter(|l| l.starts_with('{')).collect();
    let received: Vec<String> = bodies
        .iter()
        .map(|b| String::from_utf8(b.clone()).unwrap())
        .collect();
    assert_eq!(sent, received, "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("Sent in the hour from "))
            .count(),
        2
    );
    let json: Value = serde_json::from_slice(&host.acme(&["telemetry", "log", "--json"]).stdout)
        .expect("log --json is JSON");
    let batches = json["batches"].as_array().unwrap();
    for (entry, body) in batches.iter().zip(&bodies) {
        let got: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(entry["batch"], got);
        assert_eq!(entry["bytes"], body.len());
        assert!(entry["sent_hour"].as_str().unwrap().ends_with(":00:00Z"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = host.config_dir().join("telemetry_sent.log");
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // `disable` deletes it; a run while off sends nothing and records nothing.
    assert!(host.acme(&["telemetry", "disable"]).status.success());
    assert!(!host.config_dir().join("telemetry_sent.log").exists());
    let out = host.run(
        &["--threads", "1", "--calls", "3"],
        &[("ACME_TELEMETRY_ENDPOINT", receiver.url().as_str())],
    );
    assert!(out.status.success());
    assert!(!host.config_dir().join("telemetry_sent.log").exists());
    assert_eq!(receiver.bodies().len(), 2);
    assert!(stdout(&host.acme(&["telemetry", "log"])).starts_with("No batch sent from here"));
}
