//! HTTPS end to end: a collector serving a certificate from a CA made in this test, and the
//! runtime told to trust that CA, by the host (`Config::ca_certificates`, in this process),
//! by the user (`APP_TELEMETRY_CA_FILE`) or by the system's store; without it, refused.
//!
//! One test in this binary calls `telemetry::init` (once per process); the others run the
//! `acme` example.

use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use telemetry::config::Env;
use telemetry_collector::{Collector, Options, StoreSpec};

#[telemetry::task]
fn work(n: u32) -> u32 {
    n * 2
}

mod common;

/// A collector on 127.0.0.1 serving a certificate of a CA made here: the collector, the CA
/// (PEM) and the count of batches it received.
fn tls_collector(dir: &std::path::Path) -> (Collector, String, Arc<Mutex<usize>>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let got: Arc<Mutex<usize>> = Arc::default();
    let mut options = Options::new();
    options.listen = ([127, 0, 0, 1], 0).into();
    options.store = StoreSpec::Sqlite(dir.join("telemetry.db"));
    options.min_installations = 1;
    options.tls = Some((cert_path, key_path));
    let counter = Arc::clone(&got);
    options.tap = Some(Arc::new(move |_: &[u8]| *counter.lock().unwrap() += 1));
    let collector = Collector::start(options).unwrap();
    assert!(collector.url().starts_with("https://127.0.0.1:"));
    (collector, ca.pem(), got)
}

#[test]
fn the_runtime_delivers_over_https_to_a_collector_it_was_told_to_trust() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, ca, got) = tls_collector(dir.path());

    // Plain HTTP to the TLS port is not served.
    let plain = format!("http://{}/healthz", collector.addr());
    assert!(
        ureq::get(&plain).call().is_err(),
        "plain HTTP must not be answered"
    );

    let env = Env::empty().with("ACME_TELEMETRY_ENABLED", "1").with(
        "ACME_TELEMETRY_ENDPOINT",
        format!("{}/v1/batch", collector.url()),
    );
    let guard = telemetry::init(
        telemetry::Config::new("acme", "1.0")
            .env(env)
            .config_dir(dir.path().join("conf"))
            .policy_file(dir.path().join("policy.toml"))
            .current_dir(dir.path())
            .ca_certificates(&ca),
    );
    assert!(guard.decision().enabled, "{:?}", guard.decision());
    assert_eq!(work(21), 42);
    // Dropping the guard flushes: the batch goes over TLS, and the report shows it.
    drop(guard);

    assert_eq!(*got.lock().unwrap(), 1, "one batch delivered over HTTPS");
    let report = collector.report(30, None).unwrap();
    assert_eq!(report.batches, 1);
    let calls = report.breakdowns["metrics"]
        .iter()
        .find(|r| r.value == "task_runs.calls")
        .unwrap();
    assert_eq!(calls.total, 1);
}

/// A user behind a TLS-inspecting proxy, or sending to a collector on a private CA, trusts
/// it with `APP_TELEMETRY_CA_FILE` or the system's store; without either, nothing is
/// delivered and the host notices nothing. A CA file that cannot be used fails the sends
/// quietly, and `status` says why.
#[test]
fn a_user_trusts_a_private_ca_with_a_ca_file_or_the_system_store() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, ca, got) = tls_collector(dir.path());
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let ca_file = ca_file.to_str().unwrap();
    let acme = common::Acme::new(&collector.url());
    let delivered = || *got.lock().unwrap();

    // Not trusted: not delivered (kept in the spool), and nothing on the host's output.
    let out = acme.run(&["run"]);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert_eq!(delivered(), 0);

    // Trusted through the CA file: the spooled batch and this run's are delivered.
    let out = acme.run_with(&["run"], &[("ACME_TELEMETRY_CA_FILE", ca_file)]);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert_eq!(delivered(), 2);

    // Trusted through the system's store (`SSL_CERT_FILE` stands in for it here).
    let out = acme.run_with(&["run"], &[("SSL_CERT_FILE", ca_file)]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(delivered(), 3);

    // A CA file that is not one: the send fails quietly, and `status` says why.
    let bad = dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "hello").unwrap();
    let bad = [("ACME_TELEMETRY_CA_FILE", bad.to_str().unwrap())];
    let out = acme.run_with(&["run"], &bad);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert_eq!(delivered(), 3);
    let status = String::from_utf8(acme.run_with(&["telemetry", "status"], &bad).stdout).unwrap();
    assert!(status.starts_with("Telemetry: Enabled\n"), "{status}");
    assert!(
        status.contains("CA file: the file ACME_TELEMETRY_CA_FILE names could not be used"),
        "{status}"
    );
    assert!(
        !status.contains("not-a-ca"),
        "the path is not shown: {status}"
    );
    assert_eq!(collector.report(30, None).unwrap().batches, 3);
}
