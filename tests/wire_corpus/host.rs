//! The host `capture.sh` builds at a commit to capture one real batch of that commit's
//! runtime: every event type in one batch. Copied into the checkout's `examples/` as
//! `wire_capture.rs`, so it may use only the public API every commit since the corpus began
//! (`3450baa`) has: `Config`, `set_consent`, `init`, `record`, `record_command`, the
//! attributes and the derives.
//!
//! `wire_capture CONFIG_DIR OUT_FILE`: consent is given in `CONFIG_DIR`, and the batch is
//! appended to `OUT_FILE` through a `file://` endpoint (nothing leaves the machine).

use std::time::Duration;

use telemetry::{flow, task};

#[derive(Debug)]
struct Refused;

impl telemetry::KnownError for Refused {
    fn error_type(&self) -> telemetry::ErrorType {
        telemetry::ErrorType::named("capture::Refused")
    }
}

#[task(retries = 1)]
fn timed_out() -> Result<u32, std::io::Error> {
    Err(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

#[task]
fn refused() -> Result<u32, Refused> {
    Err(Refused)
}

#[task(cache)]
fn cached(n: u32) -> u32 {
    n + 1
}

#[flow]
fn pipeline() -> Result<u32, std::io::Error> {
    let a = cached(1) + cached(1);
    let _ = refused();
    Ok(a + timed_out()?)
}

#[derive(telemetry::EventValue)]
enum Strategy {
    BlueGreen,
}

#[derive(telemetry::Event)]
struct DeployFinished {
    targets: u32,
    dry_run: bool,
    strategy: Strategy,
    region: Option<u32>,
}

static COMMANDS: telemetry::Commands = telemetry::Commands::new("capture")
    .subcommands(&["run"])
    .switches(&["--verbose"])
    .options(&["--pipeline"]);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, out) = (&args[0], &args[1]);
    let config = telemetry::Config::new("capture", "1.4.2")
        .endpoint(format!("file://{out}"))
        .config_dir(dir)
        .heartbeat_interval(Duration::from_millis(100))
        .integration("postgres");
    telemetry::set_consent(&config, true).expect("consent");
    let guard = telemetry::init(config);
    telemetry::record_command(
        &COMMANDS,
        &["run", "--pipeline", "nightly", "--verbose", "data.csv"],
    );
    let _ = pipeline();
    telemetry::record(&DeployFinished {
        targets: 3,
        dry_run: false,
        strategy: Strategy::BlueGreen,
        region: None,
    });
    // Past the heartbeat interval, so the batch sent on exit holds a heartbeat too.
    std::thread::sleep(Duration::from_millis(300));
    drop(guard);
}
