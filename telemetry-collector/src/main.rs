//! `telemetry-collector serve` and `telemetry-collector report`: see docs/collector.md,
//! "Commands and flags".

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use telemetry_collector::{Collector, DEFAULT_DAYS, Level, Options, StoreSpec, Today, report_of};

const USAGE: &str = "\
Receives, stores and shows the telemetry of programs built with the telemetry crate.

Usage:
  telemetry-collector serve [OPTIONS]
      --listen ADDR              where to listen [default: 127.0.0.1:8080; port 0 picks one]
      --store STORE              sqlite:PATH or clickhouse://HOST:PORT/DATABASE
                                 [default: sqlite:telemetry.db]
      --min-installations K      fold breakdown rows seen from fewer installations into
                                 `other` [default: 5]
      --retention-days N         delete raw events older than N days, keeping daily totals
                                 [default: 90]
      --tls-cert PEM --tls-key PEM
                                 serve HTTPS with this certificate chain and key
      --log LEVEL                error, warn, info or debug [default: info]
  telemetry-collector report [OPTIONS]
      --store STORE              as for serve
      --since DAYS               the last DAYS days [default: 30]
      --app NAME                 only batches sent with `?app=NAME`
      --min-installations K      as for serve [default: 5]
  telemetry-collector --help | --version
";

/// A command line, read.
enum Command {
    Serve(Options),
    Report {
        store: StoreSpec,
        days: u32,
        app: Option<String>,
        min_installations: u64,
    },
    Help,
    Version,
}

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| format!("{flag} `{value}`: {e}"))
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("a command is needed: `serve` or `report`".into());
    };
    let mut options = Options::new();
    let (mut days, mut app) = (DEFAULT_DAYS, None);
    let (mut cert, mut key) = (None, None);
    let serve = match command.as_str() {
        "serve" => true,
        "report" => false,
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" => return Ok(Command::Version),
        other => {
            return Err(format!(
                "unknown command `{other}`: use `serve` or `report`"
            ));
        }
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag.as_str(), None),
        };
        let known = if serve {
            [
                "--listen",
                "--store",
                "--min-installations",
                "--retention-days",
                "--tls-cert",
                "--tls-key",
                "--log",
            ]
            .contains(&name)
        } else {
            ["--store", "--since", "--app", "--min-installations"].contains(&name)
        };
        if !known {
            return Err(format!("unknown option `{name}` for `{command}`"));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name {
            "--listen" => options.listen = parse(name, &value)?,
            "--store" => options.store = parse(name, &value)?,
            "--min-installations" => {
                options.min_installations = parse(name, &value)?;
                if options.min_installations == 0 {
                    return Err("--min-installations is at least 1".into());
                }
            }
            "--retention-days" => {
                options.retention_days = parse(name, &value)?;
                if options.retention_days == 0 {
                    return Err("--retention-days is at least 1".into());
                }
            }
            "--tls-cert" => cert = Some(PathBuf::from(value)),
            "--tls-key" => key = Some(PathBuf::from(value)),
            "--log" => options.log_level = parse::<Level>(name, &value)?,
            "--since" => {
                days = parse(name, &value)?;
                if days == 0 {
                    return Err("--since is at least 1 day".into());
                }
            }
            "--app" => app = Some(value),
            _ => unreachable!("checked above"),
        }
    }
    options.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(if serve {
        Command::Serve(options)
    } else {
        Command::Report {
            store: options.store,
            days,
            app,
            min_installations: options.min_installations,
        }
    })
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("telemetry-collector {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Report {
            store,
            days,
            app,
            min_installations,
        } => match report_of(
            &store,
            days,
            app.as_deref(),
            min_installations,
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
        },
        Command::Serve(options) => {
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
    }
}
