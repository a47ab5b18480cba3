//! Offline is normal: a failing endpoint logs nothing above `debug` through the `log`
//! facade (which rustls and most HTTP clients write to, should a dependency of ours ever
//! start logging), and prints nothing.

use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};
use telemetry::Config;
use telemetry::config::Env;

struct Capture(Mutex<Vec<(Level, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }
    fn log(&self, record: &Record) {
        self.0
            .lock()
            .unwrap()
            .push((record.level(), record.target().to_string()));
    }
    fn flush(&self) {}
}

static LOGGER: Capture = Capture(Mutex::new(Vec::new()));

#[telemetry::task]
fn work(x: u32) -> Result<u32, std::num::ParseIntError> {
    if x.is_multiple_of(2) {
        Ok(x)
    } else {
        "x".parse()
    }
}

#[test]
fn an_unreachable_endpoint_logs_nothing_above_debug() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(LevelFilter::Trace);
    let dir = tempfile::tempdir().unwrap();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/v1/batch")
    };
    let guard = telemetry::init(
        Config::new("acme", "1.0.0")
            .env(Env::from_pairs([
                ("ACME_TELEMETRY_ENABLED", "1"),
                ("ACME_TELEMETRY_ENDPOINT", refused.as_str()),
            ]))
            .config_dir(dir.path().join("conf"))
            .policy_file(dir.path().join("policy.toml"))
            .current_dir(dir.path()),
    );
    assert!(guard.is_enabled());
    for i in 0..100 {
        let _ = work(i);
    }
    drop(guard);
    let records = LOGGER.0.lock().unwrap();
    let loud: Vec<_> = records.iter().filter(|(l, _)| *l < Level::Debug).collect();
    assert!(loud.is_empty(), "{loud:?}");
    // The send was really attempted (and failed) while the logger listened.
    assert!(
        dir.path()
            .join("conf/telemetry_spool")
            .read_dir()
            .unwrap()
            .count()
            >= 1
    );
}
