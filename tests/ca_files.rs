//! Certificate files that could hold a host: `SSL_CERT_FILE`, `SSL_CERT_DIR` and
//! `ACME_TELEMETRY_CA_FILE` naming a FIFO nobody writes to, `/dev/zero`, a 100 MB file, or a
//! directory full of those. `run`, `status` and `disable --delete-data` each end within
//! their bound (the flush timeout, 2 s here), and `--delete-data` prints the installation id
//! before anything that could wait, so it is never lost unprinted. A symlink the user names
//! to a real bundle is followed.

#![cfg(unix)]

#[path = "common/acme.rs"]
mod acme;
#[path = "common/receiver.rs"]
mod receiver;

use std::path::Path;
use std::time::{Duration, Instant};

use acme::Sandbox;
use receiver::Receiver;

/// A PEM block: the runtime decodes it, and trusts whatever DER it holds.
const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBeDCC\n-----END CERTIFICATE-----\n";

fn fifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

fn installation_id(sb: &Sandbox) -> String {
    let state = std::fs::read_to_string(sb.config_dir().join("telemetry_state.toml")).unwrap();
    let start = state.find("installation_id = \"").unwrap() + "installation_id = \"".len();
    state[start..start + 36].to_owned()
}

/// `acme ARGS` with `vars`, and how long it took; a hang guard fails the test.
fn timed(sb: &Sandbox, args: &[&str], vars: &[(&str, &str)]) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = sb.acme(args, vars);
    let took = started.elapsed();
    // A hang guard, not a speed test: the flush timeout is 2 s, reading a file takes none.
    assert!(
        took < Duration::from_secs(20),
        "acme {args:?} with {vars:?} took {took:?}"
    );
    (out, took)
}

#[test]
fn certificate_files_that_could_hold_the_host_are_passed_over() {
    let files = tempfile::tempdir().unwrap();
    let pipe = files.path().join("ca.pipe");
    fifo(&pipe);
    let huge = files.path().join("huge.pem");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let dir = files.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    fifo(&dir.join("a.pem"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("b.pem")).unwrap();
    // Somewhere to send to over `https://`, so the trusted roots are read: it speaks no TLS,
    // and the send fails at once, as any TLS failure does.
    let receiver = Receiver::start();
    let endpoint = receiver.url().replacen("http://", "https://", 1);
    for bad in [pipe.as_path(), Path::new("/dev/zero"), huge.as_path()] {
        let bad = bad.to_str().unwrap();
        let vars = [
            ("SSL_CERT_FILE", bad),
            ("SSL_CERT_DIR", dir.to_str().unwrap()),
            ("ACME_TELEMETRY_CA_FILE", bad),
            ("ACME_TELEMETRY_ENDPOINT", endpoint.as_str()),
        ];
        let sb = Sandbox::new();
        sb.stdout(&["telemetry", "enable"], &[]);
        let id = installation_id(&sb);
        let (run, _) = timed(&sb, &["run"], &vars);
        assert!(run.status.success(), "{bad}: {run:?}");
        let (status, _) = timed(&sb, &["telemetry", "status"], &vars);
        let status = String::from_utf8(status.stdout).unwrap();
        assert!(
            status.contains("CA file: the file ACME_TELEMETRY_CA_FILE names could not be used"),
            "{bad}: {status}"
        );
        let (gone, _) = timed(&sb, &["telemetry", "disable", "--delete-data"], &vars);
        let text = String::from_utf8(gone.stdout).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert!(first.contains(&id), "{bad}: the id comes first: {text}");
        let status = sb.stdout(&["telemetry", "status"], &[]);
        assert!(status.contains("Installation ID: <none>"), "{status}");
    }
}

#[test]
fn a_symlink_the_user_names_to_a_bundle_is_followed() {
    let files = tempfile::tempdir().unwrap();
    let bundle = files.path().join("bundle.pem");
    std::fs::write(&bundle, PEM).unwrap();
    let link = files.path().join("link.pem");
    std::os::unix::fs::symlink(&bundle, &link).unwrap();
    let sb = Sandbox::new();
    let status = sb.stdout(
        &["telemetry", "status"],
        &[("ACME_TELEMETRY_CA_FILE", link.to_str().unwrap())],
    );
    assert!(!status.contains("CA file:"), "{status}");
    // The same link to a FIFO is refused, and said so.
    let pipe = files.path().join("pipe");
    fifo(&pipe);
    let to_pipe = files.path().join("to-pipe.pem");
    std::os::unix::fs::symlink(&pipe, &to_pipe).unwrap();
    let status = sb.stdout(
        &["telemetry", "status"],
        &[("ACME_TELEMETRY_CA_FILE", to_pipe.to_str().unwrap())],
    );
    assert!(status.contains("CA file:"), "{status}");
}
