//! A host CLI, `acme`, embedding telemetry the way a real one would: a `clap` program whose
//! `telemetry` subcommand is one variant of its own enum, and whose masking allowlist is
//! read from its own clap definition (cargo feature `clap`):
//!
//! ```text
//! cargo run --example acme -- --help
//! cargo run --example acme -- telemetry status
//! cargo run --example acme -- telemetry enable
//! cargo run --example acme -- run --pipeline nightly --env staging data.csv
//! cargo run --example acme -- telemetry preview
//! cargo run --example acme -- telemetry schema
//! ```
//!
//! Set `ACME_TELEMETRY_CONFIG_DIR` to try it without touching your real config dir.

use std::process::ExitCode;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

use clap::{CommandFactory, Parser, Subcommand};
use telemetry::cli::clap::{TelemetryCommand, allowlist_keeping};
use telemetry::{flow, task};

static FETCHES: AtomicU32 = AtomicU32::new(0);

#[derive(Debug)]
struct Flaky;

/// Fails on the first attempt; `retries` runs it again.
#[task(retries = 2)]
fn fetch(id: u32) -> Result<u32, Flaky> {
    if FETCHES.fetch_add(1, Ordering::Relaxed) == 0 {
        return Err(Flaky);
    }
    Ok(id * 10)
}

/// Runs once per distinct input.
#[task(cache)]
fn parse(raw: String) -> usize {
    raw.split_whitespace().count()
}

#[flow]
fn pipeline() -> Result<usize, Flaky> {
    let record = fetch(4)?;
    let words = parse(format!("record {record} has words"));
    let again = parse(format!("record {record} has words"));
    Ok(words + again)
}

/// acme's command line.
#[derive(Parser)]
#[command(name = "acme", about = "acme: an example host CLI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a small pipeline.
    Run {
        /// Which pipeline (free text: sent as `*****`).
        #[arg(long)]
        pipeline: Option<String>,
        /// The environment to run in.
        #[arg(long, value_parser = ["development", "staging", "production"])]
        env: Option<String>,
        /// Say more.
        #[arg(long)]
        verbose: bool,
        /// Input files (free text: sent as `*****`).
        inputs: Vec<std::ffi::OsString>,
    },
    /// Ask your name on stdin, and greet you.
    Hello,
    /// Manage usage telemetry.
    #[command(subcommand)]
    Telemetry(TelemetryCommand),
}

/// The words of acme's command line that may be sent as they are, read from its clap
/// definition: subcommand and flag names, and the choices of `--env`. Every other word the
/// user types is sent as `*****` (`acme run --pipeline ***** --env staging`).
static COMMANDS: LazyLock<telemetry::Commands> =
    LazyLock::new(|| allowlist_keeping(&Cli::command(), &["env"]));

/// Sent as `{"event_type": "custom", "name": "pipeline_finished", "fields": {"words":
/// "6-10", "verbose": false}}`: the count goes as a range, and a `String` field would not
/// compile.
#[derive(telemetry::Event)]
struct PipelineFinished {
    words: usize,
    verbose: bool,
}

fn config() -> telemetry::Config {
    let config = telemetry::Config::new("acme", env!("CARGO_PKG_VERSION"))
        .endpoint("https://telemetry.acme.example/v1/batch");
    // For this example's own tests only: they point the system policy file (normally
    // /etc/acme/telemetry.toml) at a file of theirs, so they never depend on the machine.
    // A real host leaves this out.
    let config = match std::env::var_os("ACME_EXAMPLE_SYSTEM_POLICY") {
        Some(path) => config.policy_file(path),
        None => config,
    };
    // Also for its tests: play a later release of acme that collects something new, so it
    // raises the consent version a user's yes must have been given for.
    let version = std::env::var("ACME_EXAMPLE_CONSENT_VERSION").ok();
    let config = match version.and_then(|v| v.parse().ok()) {
        Some(v) => config
            .consent_version(v)
            .consent_change("It now also counts which output formats are used."),
        None => config,
    };
    // And a release that counts runs only, with no installation id at all.
    match std::env::var_os("ACME_EXAMPLE_ANONYMOUS") {
        Some(_) => config.identity(telemetry::config::Identity::Anonymous),
        None => config,
    }
}

fn main() -> ExitCode {
    // `args_os`: a non-UTF-8 argument must not panic (telemetry masks it like any value).
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cli = Cli::parse();
    match cli.command {
        Command::Telemetry(command) => command.run(&config()),
        Command::Run {
            pipeline: name,
            verbose,
            ..
        } => {
            let _telemetry = telemetry::init(config());
            // Interactive command: ask once (on stderr, never without a terminal or in CI).
            telemetry::first_run_prompt(&config());
            telemetry::record_command(&COMMANDS, &args);
            match pipeline() {
                Ok(n) => {
                    telemetry::record(&PipelineFinished { words: n, verbose });
                    if verbose {
                        eprintln!("pipeline {:?} done", name.as_deref().unwrap_or("default"));
                    }
                    println!("pipeline finished: {n} words");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("pipeline failed: {e:?}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Hello => {
            let _telemetry = telemetry::init(config());
            telemetry::first_run_prompt(&config());
            telemetry::record_command(&COMMANDS, &args);
            // The host reads stdin right after the prompt: the prompt must leave it alone.
            eprint!("Your name? ");
            let mut name = String::new();
            let _ = std::io::stdin().read_line(&mut name);
            println!("hello, {}", name.trim());
            ExitCode::SUCCESS
        }
    }
}
