//! A host made for `tests/canary.rs`, the privacy test; it shows users nothing new (see
//! `acme.rs` for how to embed telemetry).
//!
//! Everything this host has that telemetry must never send carries a unique canary string:
//! its module, its annotated fns and their type, their arguments and results, the messages
//! of the errors they return and of the panic one of them raises. The test adds more from
//! outside (the directories, the environment, the command line) and then looks for every
//! canary in all that left the process or was written or logged.
//!
//! ```text
//! probe run [--verbose] [--label VALUE] [--mode VALUE] [INPUT]...
//! probe telemetry <command>
//! ```
//!
//! Settings come from the environment, as in `acme`: `PROBE_TELEMETRY_CONFIG_DIR`,
//! `PROBE_TELEMETRY_ENDPOINT`, `PROBE_TELEMETRY_DEBUG`, and, for tests only, the stand-in
//! for `/etc/probe/telemetry.toml` in `PROBE_EXAMPLE_SYSTEM_POLICY`. Every `log` record of
//! any level is written to stderr, so what the crates log is part of what the test reads.
//! The host's own output never contains a canary, so all of its output can be searched.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use log::{LevelFilter, Log, Metadata, Record};

/// The host's code, in a module whose name is a canary.
mod canary_mod_bzzjwbki {
    use std::sync::atomic::{AtomicU32, Ordering};

    use telemetry::{ErrorType, KnownError, flow, task};

    /// The host's own error type. Its declared name is sent (that is the point of declaring
    /// it); its message is a canary and must not be.
    #[derive(Debug)]
    pub struct HostError {
        pub message: String,
    }

    impl std::fmt::Display for HostError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.message)
        }
    }

    impl std::error::Error for HostError {}

    impl KnownError for HostError {
        fn error_type(&self) -> ErrorType {
            ErrorType::named("host::DeclaredError")
        }
    }

    /// Returns its argument with a canary appended.
    #[task]
    pub fn canary_fn_echo_cswey4k8(input: String) -> String {
        format!("{input}/canary-result-nqybcb3u")
    }

    /// Fails with an allowlisted type: the kind is sent, the message must not be.
    #[task]
    pub fn canary_fn_io_dusw7mug(input: String) -> Result<String, std::io::Error> {
        Err(std::io::Error::other(format!(
            "canary-io-message-p9x7xx8f {input}"
        )))
    }

    /// Fails with the host's declared type.
    #[task]
    pub fn canary_fn_host_error_gq3c5hvi(input: String) -> Result<usize, HostError> {
        Err(HostError {
            message: format!("canary-host-error-qzyxrdlc {input}"),
        })
    }

    /// Fails with a type nobody declared: sent as `other`.
    #[task]
    pub fn canary_fn_other_error_gupnhe91(input: String) -> Result<usize, String> {
        Err(format!("canary-other-error-ri3047uv {input}"))
    }

    /// Panics with a canary message.
    #[task]
    pub fn canary_fn_panic_i5emwj8r(input: String) -> usize {
        panic!("canary-panic-message-rnd9phb3 {input}")
    }

    /// Runs once per distinct input.
    #[task(cache)]
    pub fn canary_fn_cached_ijhf5wq1(input: String) -> String {
        format!("canary-result-nqybcb3u {input}")
    }

    /// An async task that fails once per attempt (its input is not a number), retried
    /// after a short delay.
    #[task(retries = 1, retry_delay_ms = 1)]
    pub async fn canary_fn_async_is4utqce(input: String) -> Result<u64, std::num::ParseIntError> {
        input.parse()
    }

    /// A type whose name is a canary, with an annotated method.
    pub struct CanaryStructK6xwyv4g {
        pub prefix: String,
    }

    impl CanaryStructK6xwyv4g {
        #[task]
        pub fn canary_method_n5yj2egw(&self, input: &str) -> String {
            format!("{}{input}", self.prefix)
        }
    }

    static FLOW_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

    /// Calls every task; its first attempt fails with the host's error, so `retries` runs
    /// it again.
    #[flow(retries = 2)]
    pub fn canary_flow_ix907nk3(input: String) -> Result<usize, HostError> {
        let attempt = FLOW_ATTEMPTS.fetch_add(1, Ordering::Relaxed);
        let echoed = canary_fn_echo_cswey4k8(input.clone());
        let first = canary_fn_cached_ijhf5wq1(input.clone());
        let again = canary_fn_cached_ijhf5wq1(input.clone());
        let holder = CanaryStructK6xwyv4g {
            prefix: "canary-result-nqybcb3u:".to_owned(),
        };
        let method = holder.canary_method_n5yj2egw(&input);
        let failures = [
            canary_fn_io_dusw7mug(input.clone()).is_err(),
            canary_fn_host_error_gq3c5hvi(input.clone()).is_err(),
            canary_fn_other_error_gupnhe91(input.clone()).is_err(),
        ];
        if attempt == 0 {
            return Err(HostError {
                message: format!("canary-host-error-qzyxrdlc attempt {attempt} {input}"),
            });
        }
        let failed = failures.iter().filter(|f| **f).count();
        Ok(echoed.len() + first.len() + again.len() + method.len() + failed)
    }
}

use canary_mod_bzzjwbki as host;

/// A choice sent by name.
#[derive(telemetry::EventValue)]
enum Outcome {
    Finished,
    Failed,
}

/// The host's custom event: a count (sent as a range), a flag and a choice.
#[derive(telemetry::Event)]
struct ProbeFinished {
    inputs: usize,
    verbose: bool,
    outcome: Outcome,
}

/// The words of the command line that may be sent; everything else is `*****`.
static COMMANDS: telemetry::Commands = telemetry::Commands::new("probe")
    .subcommands(&["run", "telemetry"])
    .switches(&["--verbose"])
    .options(&["--label", "--mode"]);

fn config() -> telemetry::Config {
    let config = telemetry::Config::new("probe", env!("CARGO_PKG_VERSION"))
        .integration("sqlite")
        // Short, so each run sends a `heartbeat` too.
        .heartbeat_interval(Duration::from_millis(1))
        // Short, so the run whose endpoint keeps failing ends soon (its batch is spooled).
        .flush_timeout(Duration::from_millis(800));
    // For tests only: the stand-in for /etc/probe/telemetry.toml, so they never read /etc.
    match std::env::var_os("PROBE_EXAMPLE_SYSTEM_POLICY") {
        Some(path) => config.policy_file(path),
        None => config,
    }
}

/// Writes every record, of every level and target, to stderr.
struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }

    fn log(&self, record: &Record) {
        eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Polls `future` on this thread, parking between polls until it is woken.
fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// The values given to options (`--label VALUE`, `--mode=VALUE`) and every positional argument.
fn inputs(args: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--label" | "--mode" => found.extend(rest.next().cloned()),
            "--verbose" => {}
            a if a.starts_with("--") => {
                if let Some((_, value)) = a.split_once('=') {
                    found.push(value.to_owned());
                }
            }
            a => found.push(a.to_owned()),
        }
    }
    found
}

fn run(args: &[String]) -> ExitCode {
    let guard = telemetry::init(config());
    telemetry::record_command(&COMMANDS, args);
    let inputs = inputs(args);
    let (mut ok, mut failed, mut panicked) = (0usize, 0usize, 0usize);
    for input in &inputs {
        match host::canary_flow_ix907nk3(input.clone()) {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
        if block_on(host::canary_fn_async_is4utqce(input.clone())).is_err() {
            failed += 1;
        }
        let input = input.clone();
        if catch_unwind(AssertUnwindSafe(|| host::canary_fn_panic_i5emwj8r(input))).is_err() {
            panicked += 1;
        }
    }
    telemetry::record(&ProbeFinished {
        inputs: inputs.len(),
        verbose: args.iter().any(|a| a == "--verbose"),
        outcome: if failed == 0 {
            Outcome::Finished
        } else {
            Outcome::Failed
        },
    });
    // Longer than the heartbeat interval, so the batch carries a heartbeat.
    thread::sleep(Duration::from_millis(10));
    // Counts only: the host's output holds no canary, so all of it can be searched.
    println!(
        "probe: {} inputs, {ok} flows ok, {failed} failures, {panicked} panics caught, telemetry {}",
        inputs.len(),
        if guard.is_enabled() { "on" } else { "off" },
    );
    drop(guard);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    // Before anything else, so a record logged at any moment is seen.
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Trace);
    }
    // The default hook would print the panic's message (a canary): this host says only
    // that one happened.
    std::panic::set_hook(Box::new(|_| eprintln!("probe: a panic (message withheld)")));
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("telemetry") => telemetry::cli::run(&config(), &args[1..]),
        Some("run") => run(&args),
        _ => {
            eprintln!("usage: probe run [--verbose] [--label VALUE] [--mode VALUE] [INPUT]...");
            eprintln!("       probe telemetry <command>");
            ExitCode::from(2)
        }
    }
}
