//! Hostile files and busy machines, against the real `acme` binary: a FIFO, a device, a
//! huge file or a symlink where a file of ours belongs, paths that are not UTF-8, and many
//! processes at once. Each must end, decide off (or go on) for a reason `status` gives, keep
//! memory bounded, write nothing through a link, and send every batch exactly once.
#![cfg(unix)]

#[path = "common/acme.rs"]
mod acme;
#[path = "common/receiver.rs"]
mod receiver;

use std::collections::BTreeSet;
use std::ffi::{CString, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use acme::Sandbox;
use receiver::Receiver;

/// The longest any command here may take; far beyond what each needs.
const BOUND: Duration = Duration::from_secs(20);

/// How a bounded run ended.
struct Ended {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// The child's peak resident memory, in KiB.
    max_rss_kib: i64,
}

/// Runs `cmd` to the end, or kills it and fails the test after [`BOUND`].
fn bounded(mut cmd: Command) -> Ended {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut raw = 0;
    // SAFETY: rusage is plain data, filled in by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child only; WNOHANG never blocks.
        let done = unsafe { libc::wait4(pid, &mut raw, libc::WNOHANG, &mut usage) };
        if done == pid {
            break;
        }
        if started.elapsed() > BOUND {
            // SAFETY: our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!(
                "{:?} did not end within {BOUND:?}",
                cmd.get_args().collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let read = |pipe: Option<&mut dyn std::io::Read>| {
        let mut text = String::new();
        if let Some(pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    };
    let mut child = child;
    let stdout = read(child.stdout.as_mut().map(|p| p as &mut dyn std::io::Read));
    let stderr = read(child.stderr.as_mut().map(|p| p as &mut dyn std::io::Read));
    Ended {
        status: std::os::unix::process::ExitStatusExt::from_raw(raw),
        stdout,
        stderr,
        max_rss_kib: usage.ru_maxrss,
    }
}

fn mkfifo(path: &Path) {
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string; creates a FIFO nobody ever opens for writing.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
}

fn status(sb: &Sandbox, extra: &[(&str, &str)]) -> Ended {
    bounded(sb.command(&["telemetry", "status"], extra))
}

/// `status`' first two lines.
fn decided(ended: &Ended) -> (String, String) {
    let mut lines = ended.stdout.lines();
    (
        lines.next().unwrap_or_default().to_owned(),
        lines.next().unwrap_or_default().to_owned(),
    )
}

fn enabled(sb: &Sandbox) {
    let out = sb.acme(&["telemetry", "enable"], &[]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_fifo_where_a_file_belongs_never_blocks() {
    // The policy file the variable names: off, with the reason.
    let sb = Sandbox::new();
    enabled(&sb);
    mkfifo(&sb.policy_file());
    let run = bounded(sb.command(&["run"], &[]));
    assert!(run.status.success(), "{}", run.stderr);
    let (on, by) = decided(&status(&sb, &[]));
    assert_eq!(on, "Telemetry: Disabled");
    assert_eq!(
        by,
        "Decided by: the system policy file could not be read: it is not a regular file"
    );

    // The state file: kept aside like a corrupt one, and off.
    let sb = Sandbox::new();
    fs::create_dir(sb.config_dir()).unwrap();
    mkfifo(&sb.config_dir().join("telemetry_state.toml"));
    assert!(bounded(sb.command(&["run"], &[])).status.success());
    let (on, by) = decided(&status(&sb, &[]));
    assert_eq!(on, "Telemetry: Disabled");
    assert!(
        by.starts_with("Decided by: the state file could not be read"),
        "{by}"
    );

    // The lock file next to a corrupt state file, and the audit log when deciding.
    let sb = Sandbox::new();
    fs::create_dir(sb.config_dir()).unwrap();
    fs::write(sb.config_dir().join("telemetry_state.toml"), "garbage {{").unwrap();
    mkfifo(&sb.config_dir().join("telemetry_state.lock"));
    assert!(bounded(sb.command(&["run"], &[])).status.success());
    assert_eq!(decided(&status(&sb, &[])).0, "Telemetry: Disabled");
    let sb = Sandbox::new();
    fs::create_dir(sb.config_dir()).unwrap();
    mkfifo(&sb.config_dir().join("telemetry_audit.log"));
    let enable = bounded(sb.command(&["telemetry", "enable"], &[]));
    assert!(
        !enable.status.success(),
        "the decision cannot be audited, so it is not made"
    );
    assert!(
        enable.stderr.contains("could not record your decision"),
        "{}",
        enable.stderr
    );
    assert_eq!(decided(&status(&sb, &[])).0, "Telemetry: Disabled");

    // A spool entry: `preview` passes over it, a run removes it and sends nothing of it.
    let sb = Sandbox::new();
    let spool = sb.config_dir().join("telemetry_spool");
    fs::create_dir_all(&spool).unwrap();
    let fifo = spool.join("batch-00000000-0000-4000-8000-000000000001.json");
    mkfifo(&fifo);
    let preview = bounded(sb.command(&["telemetry", "preview"], &[]));
    assert!(preview.status.success(), "{}", preview.stderr);
    assert!(
        preview.stderr.contains("Nothing is waiting"),
        "{}",
        preview.stderr
    );
    let receiver = Receiver::start();
    let on = [
        ("ACME_TELEMETRY_ENABLED", "1"),
        ("ACME_TELEMETRY_ENDPOINT", &receiver.url()),
    ];
    let started = Instant::now();
    assert!(bounded(sb.command(&["run"], &on)).status.success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        fs::symlink_metadata(&fifo).is_err(),
        "not ours to keep: removed"
    );
    assert_eq!(
        receiver.bodies().len(),
        1,
        "this run's batch, and nothing else"
    );
}

#[test]
fn reads_are_bounded() {
    let huge = |path: &Path| {
        // Sparse: 100 MB that take no disk.
        let file = fs::File::create(path).unwrap();
        file.set_len(100 * 1024 * 1024).unwrap();
    };
    for (what, make) in [
        (
            "/dev/zero",
            &(|p: &Path| symlink("/dev/zero", p).unwrap()) as &dyn Fn(&Path),
        ),
        ("100 MB", &huge),
    ] {
        // As the policy file.
        let sb = Sandbox::new();
        make(&sb.policy_file());
        let run = bounded(sb.command(&["run"], &[("ACME_TELEMETRY_ENABLED", "1")]));
        assert!(run.status.success(), "{what}: {}", run.stderr);
        assert!(
            run.max_rss_kib < 64 * 1024,
            "{what}: {} KiB",
            run.max_rss_kib
        );
        let (on, by) = decided(&status(&sb, &[("ACME_TELEMETRY_ENABLED", "1")]));
        assert_eq!(on, "Telemetry: Disabled", "{what}");
        assert!(
            by.starts_with("Decided by: the system policy file could not be read: it is"),
            "{by}"
        );

        // As the state file.
        let sb = Sandbox::new();
        fs::create_dir(sb.config_dir()).unwrap();
        make(&sb.config_dir().join("telemetry_state.toml"));
        let s = status(&sb, &[]);
        assert!(s.max_rss_kib < 64 * 1024, "{what}: {} KiB", s.max_rss_kib);
        assert_eq!(decided(&s).0, "Telemetry: Disabled", "{what}");

        // As a spooled batch: removed unread, on every run.
        let sb = Sandbox::new();
        let spool = sb.config_dir().join("telemetry_spool");
        fs::create_dir_all(&spool).unwrap();
        let entry = spool.join("batch-00000000-0000-4000-8000-000000000002.json");
        make(&entry);
        let receiver = Receiver::start();
        let run = bounded(sb.command(
            &["run"],
            &[
                ("ACME_TELEMETRY_ENABLED", "1"),
                ("ACME_TELEMETRY_ENDPOINT", &receiver.url()),
            ],
        ));
        assert!(
            run.max_rss_kib < 64 * 1024,
            "{what}: {} KiB",
            run.max_rss_kib
        );
        assert!(fs::symlink_metadata(&entry).is_err(), "{what}: removed");
        assert_eq!(receiver.bodies().len(), 1, "{what}");
    }
}

#[test]
fn paths_are_never_converted_lossily() {
    // An organisation's policy at a path that is not UTF-8 is read, and obeyed.
    let sb = Sandbox::new();
    enabled(&sb);
    let mut name = sb.dir.path().as_os_str().as_bytes().to_vec();
    name.extend_from_slice(b"/policy-\xff.toml");
    let policy = PathBuf::from(OsString::from_vec(name));
    fs::write(&policy, "disabled = true\n").unwrap();
    let mut cmd = sb.command(&["telemetry", "status"], &[]);
    cmd.env("ACME_TELEMETRY_POLICY_FILE", &policy);
    let (on, by) = decided(&bounded(cmd));
    assert_eq!(on, "Telemetry: Disabled");
    assert_eq!(by, "Decided by: the system policy file (disabled = true)");

    // A config dir that is not UTF-8: the state lands there, not in a lossy look-alike.
    let sb = Sandbox::new();
    let mut dir = sb.dir.path().as_os_str().as_bytes().to_vec();
    dir.extend_from_slice(b"/c\xff");
    let dir = PathBuf::from(OsString::from_vec(dir));
    let mut cmd = sb.command(&["telemetry", "enable"], &[]);
    cmd.env("ACME_TELEMETRY_CONFIG_DIR", &dir);
    assert!(bounded(cmd).status.success());
    assert!(dir.join("telemetry_state.toml").is_file());
    let lossy = PathBuf::from(dir.to_string_lossy().into_owned());
    assert!(!lossy.exists(), "nothing at {}", lossy.display());
}

#[test]
fn nothing_is_written_through_a_symlink() {
    let outside = tempfile::tempdir().unwrap();
    // The audit log: the decision is not made, and the target is untouched.
    let sb = Sandbox::new();
    fs::create_dir(sb.config_dir()).unwrap();
    let target = outside.path().join("victim");
    fs::write(&target, "precious\n").unwrap();
    symlink(&target, sb.config_dir().join("telemetry_audit.log")).unwrap();
    let enable = bounded(sb.command(&["telemetry", "enable"], &[]));
    assert!(!enable.status.success());
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");

    // The lock file: its target is never created.
    let sb = Sandbox::new();
    fs::create_dir(sb.config_dir()).unwrap();
    let created = outside.path().join("created-by-lock");
    symlink(&created, sb.config_dir().join("telemetry_state.lock")).unwrap();
    let _ = bounded(sb.command(&["telemetry", "enable"], &[]));
    assert!(fs::symlink_metadata(&created).is_err());

    // The spool directory: batches are not written where it points.
    let sb = Sandbox::new();
    fs::create_dir(sb.config_dir()).unwrap();
    let elsewhere = outside.path().join("spool-elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    symlink(&elsewhere, sb.config_dir().join("telemetry_spool")).unwrap();
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/batch", listener.local_addr().unwrap())
    };
    let run = bounded(sb.command(
        &["run"],
        &[
            ("ACME_TELEMETRY_ENABLED", "1"),
            ("ACME_TELEMETRY_ENDPOINT", &dead),
        ],
    ));
    assert!(run.status.success());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn a_corrupt_state_file_set_aside_by_racing_processes_is_never_lost() {
    use telemetry::config::Date;
    use telemetry::consent::StateStore;

    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    let today = Date::new(2031, 1, 2).unwrap();
    let rounds = 100;
    let written = std::sync::atomic::AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    std::thread::scope(|s| {
        // One writer puts corrupt files in place, one at a time, never over an earlier one.
        s.spawn(|| {
            for i in 0..rounds {
                let tmp = dir.path().join(format!("tmp-{i}"));
                fs::write(&tmp, format!("corrupt {i} {{")).unwrap();
                while fs::hard_link(&tmp, store.state_path()).is_err() {
                    if Instant::now() > deadline {
                        return;
                    }
                    std::thread::yield_now();
                }
                fs::remove_file(&tmp).unwrap();
                written.store(i + 1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        // Four readers set them aside as they come, until every one was.
        for _ in 0..4 {
            s.spawn(|| {
                while Instant::now() < deadline {
                    let _ = store.read_or_set_aside(today);
                    let all_written = written.load(std::sync::atomic::Ordering::SeqCst) == rounds;
                    if all_written && !store.state_path().exists() {
                        break;
                    }
                }
            });
        }
    });
    let rounds = written.into_inner();
    assert!(rounds > 10, "only {rounds} rounds in time");
    let kept: BTreeSet<String> = store
        .corrupt_copies()
        .iter()
        .map(|name| fs::read_to_string(dir.path().join(name)).unwrap())
        .collect();
    for i in 0..rounds {
        assert!(kept.contains(&format!("corrupt {i} {{")), "copy {i} lost");
    }
}

#[test]
fn the_endpoint_is_checked_and_shown_without_secrets() {
    let sb = Sandbox::new();
    for bad in ["https://t.example:99999/v1", "https://t.example:/v1"] {
        let s = status(&sb, &[("ACME_TELEMETRY_ENDPOINT", bad)]);
        let shown = s
            .stdout
            .lines()
            .find(|l| l.starts_with("Endpoint: "))
            .unwrap();
        assert!(
            shown.contains("<invalid: telemetry endpoint has a port"),
            "{shown}"
        );
    }
    let secret = "https://user:pa55@t.example:8443/v1/batch?token=s3cr3t#frag";
    let s = status(&sb, &[("ACME_TELEMETRY_ENDPOINT", secret)]);
    assert!(
        s.stdout
            .contains("Endpoint: https://t.example:8443/v1/batch\n"),
        "{}",
        s.stdout
    );
    let json = bounded(sb.command(
        &["telemetry", "status", "--json"],
        &[("ACME_TELEMETRY_ENDPOINT", secret)],
    ));
    assert!(
        json.stdout
            .contains(r#""endpoint":"https://t.example:8443/v1/batch""#),
        "{}",
        json.stdout
    );
    for secret in ["pa55", "s3cr3t", "frag", "user"] {
        assert!(
            !s.stdout.contains(secret) && !json.stdout.contains(secret),
            "{secret}"
        );
    }
}

/// Every batch id the receiver got, and how many requests carried them.
fn batch_ids(receiver: &Receiver) -> (usize, BTreeSet<String>) {
    let bodies = receiver.bodies();
    let ids = bodies
        .iter()
        .map(|b| {
            let v: serde_json::Value = serde_json::from_slice(b).unwrap();
            v["batch_id"].as_str().unwrap().to_owned()
        })
        .collect();
    (bodies.len(), ids)
}

/// `n` runs of `acme run`, `at_once` at a time, all sharing `sb`'s config dir.
fn runs_at_once(sb: &Sandbox, n: usize, at_once: usize, env: &[(&str, &str)]) {
    let mut left = n;
    while left > 0 {
        let wave = left.min(at_once);
        let children: Vec<_> = (0..wave)
            .map(|_| {
                sb.command(&["run"], env)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        left -= wave;
    }
}

#[test]
fn concurrent_runs_send_each_batch_exactly_once() {
    let sb = Sandbox::new();
    // Ten batches left in the spool by runs whose endpoint was down.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/batch", listener.local_addr().unwrap())
    };
    runs_at_once(
        &sb,
        10,
        1,
        &[
            ("ACME_TELEMETRY_ENABLED", "1"),
            ("ACME_TELEMETRY_ENDPOINT", &dead),
        ],
    );
    let spooled = fs::read_dir(sb.config_dir().join("telemetry_spool"))
        .unwrap()
        .count();
    assert_eq!(spooled, 10);

    // Forty runs, eight at a time, against one live receiver: their forty batches and the
    // ten spooled ones, each once.
    let receiver = Receiver::start();
    let url = receiver.url();
    runs_at_once(
        &sb,
        40,
        8,
        &[
            ("ACME_TELEMETRY_ENABLED", "1"),
            ("ACME_TELEMETRY_ENDPOINT", &url),
        ],
    );
    let (requests, ids) = batch_ids(&receiver);
    assert_eq!(ids.len(), 50, "every batch arrived");
    assert_eq!(requests, 50, "and none twice");
    assert_eq!(receiver.requests(), 50);
}
