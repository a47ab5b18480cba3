//! HTTPS end to end: a collector serving a certificate from a CA made in this test, and the
//! runtime, in this process, told to trust that CA, delivering its batch.
//!
//! One test in this binary: `telemetry::init` is once per process.

use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use telemetry::config::Env;
use telemetry_collector::{Collector, Options, StoreSpec};

#[telemetry::task]
fn work(n: u32) -> u32 {
    n * 2
}

#[test]
fn the_runtime_delivers_over_https_to_a_collector_it_was_told_to_trust() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let got: Arc<Mutex<usize>> = Arc::default();
    let mut options = Options::new();
    options.listen = ([127, 0, 0, 1], 0).into();
    options.store = StoreSpec::Sqlite(dir.path().join("telemetry.db"));
    options.min_installations = 1;
    options.tls = Some((cert_path, key_path));
    let counter = Arc::clone(&got);
    options.tap = Some(Arc::new(move |_: &[u8]| *counter.lock().unwrap() += 1));
    let collector = Collector::start(options).unwrap();
    assert!(collector.url().starts_with("https://127.0.0.1:"));

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
            .ca_certificates(ca.pem()),
    );
    assert!(guard.decision().enabled, "{:?}", guard.decision());
    assert_eq!(work(21), 42);
    // Dropping the guard flushes: the batch goes over TLS and is committed before the 200.
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
