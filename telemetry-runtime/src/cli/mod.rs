//! The management commands, for a host to embed in one line: `acme telemetry <command>` →
//! [`run`]. Output goes to the writers given (stdout and stderr for [`run`]); nothing else
//! in telemetry ever prints to stdout.
//!
//! This is the top layer but `init`: it may use every layer below (ARCHITECTURE.md).

mod change;
#[cfg(feature = "clap")]
pub mod clap;
mod forget;
mod json_schema;
mod preview;
mod schema_doc;
mod sent;
mod status;

use std::io::{self, Write};
use std::process::ExitCode;

use crate::base::paths::env_prefix;
use crate::config::Config;

pub use status::{Status, status_of};

/// The wire's JSON Schema (draft 2020-12), generated from the types that write a batch:
/// what `telemetry schema --json` prints, `TELEMETRY.schema.json` holds and a collector
/// serves at `GET /v1/schema`. Keys it does not list are allowed (a newer runtime's,
/// docs/compatibility.md, "The JSON Schema").
///
/// ```
/// let schema = telemetry::cli::json_schema();
/// assert!(schema.contains("\"$schema\": \"https://json-schema.org/draft/2020-12/schema\""));
/// ```
pub fn json_schema() -> String {
    json_schema::json_schema()
}

/// Runs one management command (`args` are what follows `telemetry` on the host's command
/// line) with output on stdout and errors on stderr.
///
/// ```no_run
/// // In the host's `main`, for `acme telemetry …`:
/// let config = telemetry::Config::new("acme", "1.0");
/// let args = std::env::args().skip(2); // after `acme telemetry`
/// std::process::exit(match telemetry::cli::run(&config, args) {
///     code if code == std::process::ExitCode::SUCCESS => 0,
///     _ => 1,
/// });
/// ```
pub fn run<I, S>(config: &Config, args: I) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let code = run_with(
        config,
        args,
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// Like [`run`], writing to `out` and `err`; returns the exit code (0 on success, 1 when a
/// command failed, 2 for a usage error).
///
/// ```
/// use telemetry::config::Env;
/// use telemetry::{Config, cli};
///
/// let dir = tempfile::tempdir().unwrap();
/// let config = Config::new("acme", "1.0")
///     .env(Env::empty())
///     .config_dir(dir.path().join("conf"))
///     .policy_file(dir.path().join("policy.toml")) // not the real /etc/acme/telemetry.toml
///     .current_dir(dir.path());
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// assert_eq!(cli::run_with(&config, ["status"], &mut out, &mut err), 0);
/// assert!(String::from_utf8(out).unwrap().starts_with("Telemetry: Disabled\n"));
/// assert_eq!(cli::run_with(&config, ["frobnicate"], &mut Vec::new(), &mut err), 2);
/// ```
pub fn run_with<I, S>(config: &Config, args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let app = config.app();
    // A closed pipe must not become a panic or an error of the command itself.
    let result = match args.as_slice() {
        [] | ["help" | "--help" | "-h"] => usage(app, out).map(|()| 0),
        ["status"] => status::status(config, false, out),
        ["status", "--json"] => status::status(config, true, out),
        ["enable"] => change::decide(config, true, out, err),
        ["disable"] => change::decide(config, false, out, err),
        ["disable", "--delete-data"] => forget::forget_and_delete(config, false, out, err),
        ["reset"] => change::reset(config, out, err),
        ["reset", "--delete-data"] => forget::forget_and_delete(config, true, out, err),
        ["preview"] => preview::preview(config, out, err),
        ["log"] => sent::log(config, false, out, err),
        ["log", "--json"] => sent::log(config, true, out, err),
        ["schema"] => out.write_all(schema_doc::markdown().as_bytes()).map(|()| 0),
        ["schema", "--json"] => writeln!(out, "{}", json_schema()).map(|()| 0),
        [
            cmd @ ("status" | "enable" | "disable" | "reset" | "preview" | "log" | "schema"
            | "help"),
            extra,
            ..,
        ] => writeln!(
            err,
            "error: unexpected argument '{extra}' for '{app} telemetry {cmd}'"
        )
        .and_then(|()| writeln!(err, "Run '{app} telemetry help' for usage."))
        .map(|()| 2),
        [other, ..] => writeln!(err, "error: unknown command '{other}'")
            .and_then(|()| writeln!(err, "Run '{app} telemetry help' for usage."))
            .map(|()| 2),
    };
    result.unwrap_or(1)
}

fn usage(app: &str, out: &mut dyn Write) -> io::Result<()> {
    let prefix = env_prefix(app);
    writeln!(out, "Usage: {app} telemetry <command>")?;
    writeln!(out)?;
    writeln!(out, "Commands:")?;
    writeln!(
        out,
        "  status [--json]  Show whether telemetry is on, and what decided it"
    )?;
    writeln!(out, "  enable           Allow anonymous usage telemetry")?;
    writeln!(
        out,
        "  disable          Turn telemetry off (and delete unsent data)"
    )?;
    writeln!(
        out,
        "  disable --delete-data  ... and ask the collector to delete what it received"
    )?;
    writeln!(
        out,
        "  reset            Forget the installation ID and your decision"
    )?;
    writeln!(
        out,
        "  reset --delete-data    ... and ask the collector to delete what it received"
    )?;
    writeln!(
        out,
        "  preview          Print the next batch that would be sent (sends nothing)"
    )?;
    writeln!(
        out,
        "  log [--json]     Print the last batches sent from here, exactly as sent"
    )?;
    writeln!(
        out,
        "  schema [--json]  List every field that can ever be sent, as Markdown (or the wire's JSON Schema)"
    )?;
    writeln!(out, "  help             Show this message")?;
    writeln!(out)?;
    writeln!(
        out,
        "DO_NOT_TRACK=1 or {prefix}_DISABLE_TELEMETRY=1 turns telemetry off, whatever was decided."
    )
}
