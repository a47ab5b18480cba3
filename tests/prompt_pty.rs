//! The first-run prompt in a real pseudo-terminal (made here with `openpty`, so these run
//! in CI with no terminal and no stdin): `y`, `n`, plain Enter, no answer until the timeout,
//! and never a prompt when stdin is not a terminal.
#![cfg(unix)]

#[path = "common/acme.rs"]
mod acme;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use acme::Sandbox;

/// A pseudo-terminal: the master side for the test, the slave side for the child.
struct Pty {
    master: File,
    slave: OwnedFd,
}

fn openpty() -> Pty {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into the pointers; null name/termios/winsize are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // openpty's descriptors are inherited by every child; tests run in parallel, so another
    // test's child would keep this terminal open (and its reader would never see the end).
    // Close-on-exec on both: the child gets its own copy through `Stdio` (dup2 clears it).
    for fd in [master, slave] {
        // SAFETY: fcntl on a descriptor we just opened and still own.
        let ok = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) == 0
        };
        assert!(ok, "fcntl(FD_CLOEXEC) failed");
    }
    // SAFETY: both fds were just opened and are owned by nobody else.
    unsafe {
        Pty {
            master: File::from_raw_fd(master),
            slave: OwnedFd::from_raw_fd(slave),
        }
    }
}

/// Everything the child writes to the terminal, collected by a reader thread.
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Screen {
    fn new(mut master: File) -> Screen {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            // EIO once the child closed its side: the end.
            while let Ok(n) = master.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Screen(buf)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.text().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

/// `acme run` with stdin, stdout and stderr on a fresh terminal.
fn run_in_pty(sb: &Sandbox, extra: &[(&str, &str)]) -> (Child, File, Screen) {
    cmd_in_pty(sb, "run", extra)
}

/// `acme <cmd>` with stdin, stdout and stderr on a fresh terminal.
fn cmd_in_pty(sb: &Sandbox, cmd: &str, extra: &[(&str, &str)]) -> (Child, File, Screen) {
    let pty = openpty();
    let slave = || Stdio::from(pty.slave.try_clone().unwrap());
    let child = sb
        .command(&[cmd], extra)
        .stdin(slave())
        .stdout(slave())
        .stderr(slave())
        .spawn()
        .unwrap();
    drop(pty.slave);
    let writer = pty.master.try_clone().unwrap();
    (child, writer, Screen::new(pty.master))
}

const PROMPT: &str = "Enable telemetry? [y/N]";
const WAIT: Duration = Duration::from_secs(20);

fn answer(sb: &Sandbox, keys: &str) -> (String, std::process::ExitStatus) {
    let (mut child, mut tty, screen) = run_in_pty(sb, &[]);
    assert!(
        screen.wait_for(PROMPT, WAIT),
        "no prompt: {:?}",
        screen.text()
    );
    tty.write_all(keys.as_bytes()).unwrap();
    let status = child.wait().unwrap();
    screen.wait_for("pipeline finished", Duration::from_secs(2));
    (screen.text(), status)
}

fn status_line(sb: &Sandbox) -> String {
    sb.stdout(&["telemetry", "status"], &[])
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn yes_enables_and_is_recorded() {
    let sb = Sandbox::new();
    let (screen, status) = answer(&sb, "y\n");
    assert!(status.success(), "{screen}");
    assert!(
        screen.contains('╭') && screen.contains("DO_NOT_TRACK"),
        "{screen}"
    );
    assert!(screen.contains("Telemetry enabled"), "{screen}");
    assert!(screen.contains("pipeline finished: 8 words"), "{screen}");
    assert_eq!(status_line(&sb), "Telemetry: Enabled");
    let audit = sb.audit_lines();
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].ends_with(" unset -> enabled (prompt)"),
        "{audit:?}"
    );
    let state = std::fs::read_to_string(sb.config_dir().join("telemetry_state.toml")).unwrap();
    assert!(
        state.contains("prompted = true") && state.contains("prompt_date = "),
        "{state}"
    );

    // Once per environment: the next interactive run is not asked again.
    let (mut child, _tty, screen) = run_in_pty(&sb, &[]);
    child.wait().unwrap();
    assert!(
        screen.wait_for("pipeline finished", WAIT),
        "{}",
        screen.text()
    );
    assert!(!screen.text().contains(PROMPT));
}

#[test]
fn no_declines() {
    let sb = Sandbox::new();
    let (screen, status) = answer(&sb, "n\n");
    assert!(status.success(), "{screen}");
    assert!(screen.contains("Telemetry stays off"), "{screen}");
    assert_eq!(status_line(&sb), "Telemetry: Disabled");
    let audit = sb.audit_lines();
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].ends_with(" unset -> disabled (prompt)"),
        "{audit:?}"
    );
}

#[test]
fn plain_enter_declines() {
    let sb = Sandbox::new();
    let (screen, status) = answer(&sb, "\n");
    assert!(status.success(), "{screen}");
    assert_eq!(status_line(&sb), "Telemetry: Disabled");
    assert!(sb.audit_lines()[0].ends_with(" unset -> disabled (prompt)"));
}

#[test]
fn no_answer_times_out_to_no() {
    let sb = Sandbox::new();
    let start = Instant::now();
    let (mut child, _tty, screen) = run_in_pty(&sb, &[]);
    assert!(
        screen.wait_for(PROMPT, WAIT),
        "no prompt: {:?}",
        screen.text()
    );
    let status = child.wait().unwrap();
    let took = start.elapsed();
    screen.wait_for("pipeline finished", Duration::from_secs(2));
    assert!(status.success(), "{}", screen.text());
    assert!(
        screen.text().contains("No answer: telemetry stays off"),
        "{}",
        screen.text()
    );
    // The real default: 10 s, then on with the host's work.
    assert!(took >= Duration::from_secs(10), "{took:?}");
    assert!(took < Duration::from_secs(10) + WAIT, "{took:?}");
    assert_eq!(status_line(&sb), "Telemetry: Disabled");
    assert!(sb.audit_lines()[0].ends_with(" unset -> disabled (prompt)"));
}

#[test]
fn never_when_stdin_is_not_a_terminal() {
    let sb = Sandbox::new();
    let pty = openpty();
    let mut child = sb
        .command(&["run"], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()))
        .spawn()
        .unwrap();
    drop(pty.slave);
    let screen = Screen::new(pty.master);
    assert!(child.wait().unwrap().success());
    assert!(
        screen.wait_for("pipeline finished", WAIT),
        "{}",
        screen.text()
    );
    assert!(!screen.text().contains(PROMPT), "{}", screen.text());
    assert!(!sb.config_dir().exists(), "nothing recorded");
}

#[test]
fn never_in_ci_even_at_a_terminal() {
    let sb = Sandbox::new();
    let (mut child, _tty, screen) = run_in_pty(&sb, &[("CI", "true")]);
    assert!(child.wait().unwrap().success());
    assert!(
        screen.wait_for("pipeline finished", WAIT),
        "{}",
        screen.text()
    );
    assert!(!screen.text().contains(PROMPT), "{}", screen.text());
    assert!(!sb.config_dir().exists());
}

#[test]
fn never_when_stderr_is_not_a_terminal() {
    let sb = Sandbox::new();
    let pty = openpty();
    let child = sb
        .command(&["run"], &[])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(pty.slave);
    let _screen = Screen::new(pty.master);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pipeline finished: 8 words\n"
    );
    assert!(out.stderr.is_empty(), "no prompt: {out:?}");
    assert!(!sb.config_dir().exists(), "nothing recorded");
}

#[test]
fn after_a_timeout_the_host_still_reads_its_own_input() {
    let sb = Sandbox::new();
    let (mut child, mut tty, screen) = cmd_in_pty(&sb, "hello", &[]);
    assert!(
        screen.wait_for("Your name? ", WAIT + Duration::from_secs(10)),
        "{}",
        screen.text()
    );
    assert!(screen.text().contains("No answer: telemetry stays off"));
    tty.write_all(b"Ada\n").unwrap();
    assert!(
        screen.wait_for("hello, Ada", WAIT),
        "the prompt swallowed the host's line: {}",
        screen.text()
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(status_line(&sb), "Telemetry: Disabled");
}

/// A host that starts collecting something new raises its consent version: a yes given for
/// less counts for nothing, `status` says why, the prompt asks again with the host's words
/// for what changed, and the new yes is recorded for the new version. A no is never asked
/// again, whatever the version.
#[test]
fn a_yes_for_an_earlier_consent_version_is_asked_again() {
    let sb = Sandbox::new();
    assert!(
        sb.stdout(&["telemetry", "enable"], &[])
            .contains("Telemetry enabled")
    );
    let v2 = [("ACME_EXAMPLE_CONSENT_VERSION", "2")];
    let status = sb.stdout(&["telemetry", "status"], &v2);
    assert!(status.starts_with("Telemetry: Disabled\n"), "{status}");
    assert!(
        status.contains(
            "Decided by: your yes was for consent version 1; the app now collects \
                         more (version 2)"
        ),
        "{status}"
    );
    // Version 1 (the example's default) still counts it.
    assert_eq!(status_line(&sb), "Telemetry: Enabled");

    let (mut child, mut tty, screen) = run_in_pty(&sb, &v2);
    assert!(
        screen.wait_for(PROMPT, WAIT),
        "no prompt: {:?}",
        screen.text()
    );
    let text = screen.text();
    assert!(
        text.contains("acme now collects more than when you said yes"),
        "{text}"
    );
    assert!(
        text.contains("It now also counts which output formats are used."),
        "{text}"
    );
    tty.write_all(b"y\n").unwrap();
    assert!(child.wait().unwrap().success());
    let status = sb.stdout(&["telemetry", "status"], &v2);
    assert!(status.starts_with("Telemetry: Enabled\n"), "{status}");
    let audit = sb.audit_lines();
    assert!(
        audit
            .last()
            .unwrap()
            .ends_with(" enabled -> enabled (consent version 2) (prompt)"),
        "{audit:?}"
    );

    // A no stays a no, whatever the version: no prompt.
    assert!(
        sb.stdout(&["telemetry", "disable"], &v2)
            .contains("disabled")
    );
    let v3 = [("ACME_EXAMPLE_CONSENT_VERSION", "3")];
    let (mut child, _tty, screen) = run_in_pty(&sb, &v3);
    child.wait().unwrap();
    assert!(
        screen.wait_for("pipeline finished", WAIT),
        "{}",
        screen.text()
    );
    assert!(!screen.text().contains(PROMPT), "{}", screen.text());
    assert!(
        sb.stdout(&["telemetry", "status"], &v3)
            .starts_with("Telemetry: Disabled\n")
    );
}
