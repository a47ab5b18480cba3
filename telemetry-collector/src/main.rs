//! `telemetry-collector serve` and `telemetry-collector report`: see docs/collector.md,
//! "Commands and flags". Every flag can also be given as a `TELEMETRY_COLLECTOR_*` variable
//! (`--read-token-file` as `TELEMETRY_COLLECTOR_READ_TOKEN_FILE`); a flag wins over its
//! variable.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use telemetry_collector::{
    Collector, DEFAULT_DAYS, Level, Options, ServedConfig, StoreSpec, Today, read_operator_file,
    report_of,
};

/// Receives, stores and shows the telemetry of programs built with the telemetry crate.
#[derive(Parser)]
#[command(name = "telemetry-collector", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive batches, store them, and serve the dashboard and the report.
    Serve(Serve),
    /// Print a store's report as JSON.
    Report(Report),
}

#[derive(Args)]
struct Serve {
    /// Where to listen; port 0 picks one.
    #[arg(
        long,
        env = "TELEMETRY_COLLECTOR_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,
    /// `sqlite:PATH` or `clickhouse://HOST:PORT/DATABASE`.
    #[arg(
        long,
        env = "TELEMETRY_COLLECTOR_STORE",
        default_value = "sqlite:telemetry.db"
    )]
    store: StoreSpec,
    /// Fold breakdown rows seen from fewer installations into `other`.
    #[arg(long, env = "TELEMETRY_COLLECTOR_MIN_INSTALLATIONS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    min_installations: u64,
    /// Delete raw events older than this many days, keeping daily totals.
    #[arg(long, env = "TELEMETRY_COLLECTOR_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3660))]
    retention_days: u32,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "TELEMETRY_COLLECTOR_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM).
    #[arg(long, env = "TELEMETRY_COLLECTOR_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A file holding the key the dashboard and the report need (at least 16 characters;
    /// HTTP Basic password for browsers, `Authorization: Bearer` for scripts).
    #[arg(
        long,
        env = "TELEMETRY_COLLECTOR_READ_TOKEN_FILE",
        conflicts_with = "public"
    )]
    read_token_file: Option<PathBuf>,
    /// Serve the dashboard and the report to anyone (aggregates published on purpose).
    #[arg(long, env = "TELEMETRY_COLLECTOR_PUBLIC")]
    public: bool,
    /// A collection config to serve at /v1/config and enforce (JSON, at most 16 KiB):
    /// what clients leave out, which installations send (docs/collection.md).
    #[arg(long, env = "TELEMETRY_COLLECTOR_COLLECTION_CONFIG")]
    collection_config: Option<PathBuf>,
    /// Where the ClickHouse store's write-ahead log lives (acknowledged batches not yet in
    /// ClickHouse).
    #[arg(
        long,
        env = "TELEMETRY_COLLECTOR_WAL_DIR",
        default_value = "telemetry-wal"
    )]
    wal_dir: PathBuf,
    /// error, warn, info or debug.
    #[arg(long, env = "TELEMETRY_COLLECTOR_LOG", default_value = "info")]
    log: Level,
}

#[derive(Args)]
struct Report {
    /// As for serve.
    #[arg(
        long,
        env = "TELEMETRY_COLLECTOR_STORE",
        default_value = "sqlite:telemetry.db"
    )]
    store: StoreSpec,
    /// The last DAYS days.
    #[arg(long, default_value_t = DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=3660))]
    since: u32,
    /// Only batches sent with `?app=NAME`.
    #[arg(long)]
    app: Option<String>,
    /// As for serve.
    #[arg(long, env = "TELEMETRY_COLLECTOR_MIN_INSTALLATIONS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    min_installations: u64,
}

/// The shortest read key accepted.
const MIN_TOKEN: usize = 16;

/// The key in `path`: its first line, at most 4 KiB read.
fn read_token(path: &Path) -> Result<String, String> {
    let bytes = read_operator_file(path, 4096)
        .map_err(|e| format!("cannot read the read token file {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    if token.len() < MIN_TOKEN {
        return Err(format!(
            "the read token in {} is shorter than {MIN_TOKEN} characters \
             (`openssl rand -hex 32` makes one)",
            path.display()
        ));
    }
    Ok(token)
}

/// The collection config in `path`: read whole (at most 16 KiB), checked.
fn read_collection_config(path: &Path) -> Result<ServedConfig, String> {
    // One byte past the bound is read, so a larger file is refused as one.
    let limit = telemetry_runtime::MAX_CONFIG_BYTES as u64 + 1;
    let bytes = read_operator_file(path, limit)
        .map_err(|e| format!("cannot read the collection config {}: {e}", path.display()))?;
    ServedConfig::new(bytes)
        .map_err(|e| format!("the collection config {} is refused: {e}", path.display()))
}

/// Waits for `SIGTERM` or `SIGINT` (Ctrl-C).
fn wait_for_signal() {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            if let Ok(mut term) = signal(SignalKind::terminate()) {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    });
}

fn serve(args: Serve) -> ExitCode {
    let mut options = Options::new();
    options.listen = args.listen;
    options.store = args.store;
    options.min_installations = args.min_installations;
    options.retention_days = args.retention_days;
    options.tls = args.tls_cert.zip(args.tls_key);
    options.log_level = args.log;
    options.public = args.public;
    options.wal_dir = Some(args.wal_dir);
    // A file it cannot use stops it at start, as a store it cannot open does.
    let files = (|| -> Result<(), String> {
        options.read_token = args
            .read_token_file
            .as_deref()
            .map(read_token)
            .transpose()?;
        options.collection = (args.collection_config.as_deref())
            .map(read_collection_config)
            .transpose()?;
        Ok(())
    })();
    if let Err(e) = files {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let say = options.log_level >= Level::Info;
    let collector = match Collector::start(options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", collector.url());
    let _ = stdout.flush();
    drop(stdout);
    wait_for_signal();
    if say {
        eprintln!("info: stopping: finishing open requests and writing what is queued");
    }
    collector.shutdown();
    if say {
        eprintln!("info: stopped");
    }
    ExitCode::SUCCESS
}

fn report(args: Report) -> ExitCode {
    match report_of(
        &args.store,
        args.since,
        args.app.as_deref(),
        args.min_installations,
        Today::System,
    ) {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report).unwrap_or_default();
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Report(args) => report(args),
    }
}
