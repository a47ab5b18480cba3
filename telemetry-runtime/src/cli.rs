//! The management commands of SPEC §8, for a host to embed in one line:
//! `acme telemetry <command>` → [`run`]. Output goes to the writers given (stdout and stderr
//! for [`run`]); nothing else in telemetry ever prints to stdout.

use std::io::{self, Write};
use std::process::ExitCode;

use crate::config::Config;
use crate::consent::{self, Decision};
use crate::init::session_id;
use crate::state::{How, State, StateStore};
use crate::worker::{self, Preview};

/// Runs one management command (`args` are what follows `telemetry` on the host's command
/// line) with output on stdout and errors on stderr.
///
/// ```no_run
/// // In the host's `main`, for `acme telemetry …`:
/// let config = telemetry_runtime::Config::new("acme", "1.0");
/// let args = std::env::args().skip(2); // after `acme telemetry`
/// std::process::exit(match telemetry_runtime::cli::run(&config, args) {
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
/// use telemetry_runtime::{Config, Env, cli};
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
        ["status"] => status(config, false, out),
        ["status", "--json"] => status(config, true, out),
        ["enable"] => decide(config, true, out, err),
        ["disable"] => decide(config, false, out, err),
        ["reset"] => reset(config, out, err),
        ["preview"] => preview(config, out, err),
        ["schema"] => out
            .write_all(crate::schema_doc::markdown().as_bytes())
            .map(|()| 0),
        [
            cmd @ ("status" | "enable" | "disable" | "reset" | "preview" | "schema" | "help"),
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
    let prefix = crate::paths::env_prefix(app);
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
        "  reset            Forget the installation ID and your decision"
    )?;
    writeln!(
        out,
        "  preview          Print the next batch that would be sent (sends nothing)"
    )?;
    writeln!(
        out,
        "  schema           List every field that can ever be sent, as Markdown"
    )?;
    writeln!(out, "  help             Show this message")?;
    writeln!(out)?;
    writeln!(
        out,
        "DO_NOT_TRACK=1 or {prefix}_DISABLE_TELEMETRY=1 turns telemetry off, whatever was decided."
    )
}

/// What `status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The decision in force, and what made it.
    pub decision: Decision,
    /// The installation id, if the user ever consented (and did not reset).
    pub installation_id: Option<String>,
    /// This process's session id.
    pub session_id: String,
    /// When a batch was last sent.
    pub last_sent: Option<String>,
    /// Where batches go.
    pub endpoint: Option<String>,
}

/// Gathers what `status` shows: resolves consent (renaming a corrupt state file aside, as
/// resolving does) and reads the state file without changing it.
pub fn status_of(config: &Config) -> Status {
    let decision = consent::resolve(config);
    let state = if cfg!(telemetry_disabled) {
        State::default()
    } else {
        config
            .resolved_config_dir()
            .and_then(|dir| StateStore::new(dir).read().ok())
            .unwrap_or_default()
    };
    Status {
        decision,
        installation_id: state.installation_id.map(|id| id.to_string()),
        session_id: session_id().to_owned(),
        last_sent: state.last_sent.map(|d| d.to_string()),
        endpoint: config.effective_endpoint(),
    }
}

fn status(config: &Config, json: bool, out: &mut dyn Write) -> io::Result<u8> {
    let s = status_of(config);
    if json {
        let opt = |v: &Option<String>| v.as_deref().map_or("null".to_owned(), json_string);
        writeln!(
            out,
            "{{\"enabled\":{},\"decided_by\":{},\"rule\":{},\"rule_number\":{},\
             \"installation_id\":{},\"session_id\":{},\"last_sent\":{},\"endpoint\":{}}}",
            s.decision.enabled,
            json_string(&s.decision.rule.to_string()),
            json_string(s.decision.rule.key()),
            s.decision.rule.number(),
            opt(&s.installation_id),
            json_string(&s.session_id),
            opt(&s.last_sent),
            opt(&s.endpoint),
        )?;
    } else {
        let on = if s.decision.enabled {
            "Enabled"
        } else {
            "Disabled"
        };
        writeln!(out, "Telemetry: {on}")?;
        writeln!(out, "Decided by: {}", s.decision.rule)?;
        writeln!(
            out,
            "Installation ID: {}",
            s.installation_id.as_deref().unwrap_or("<none>")
        )?;
        writeln!(out, "Session ID: {}", s.session_id)?;
        writeln!(
            out,
            "Last sent: {}",
            s.last_sent.as_deref().unwrap_or("Never")
        )?;
        writeln!(
            out,
            "Endpoint: {}",
            s.endpoint.as_deref().unwrap_or("<none>")
        )?;
    }
    Ok(0)
}

fn decide(config: &Config, on: bool, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    match consent::record(config, on, How::Cli) {
        Ok(change) => {
            if on {
                writeln!(out, "Telemetry enabled. Thank you!")?;
                if let Some(id) = &change.new.installation_id {
                    writeln!(out, "Installation ID: {id}")?;
                }
            } else {
                writeln!(out, "Telemetry disabled. Nothing will be sent from here.")?;
            }
            let now = consent::resolve(config);
            if now.enabled != on {
                let state = if now.enabled { "on" } else { "off" };
                writeln!(
                    out,
                    "Note: telemetry stays {state} here; decided by: {}",
                    now.rule
                )?;
            }
            Ok(0)
        }
        Err(e) => {
            writeln!(err, "error: could not record your decision: {e}")?;
            Ok(1)
        }
    }
}

/// Prints the next batch as pretty JSON on `out` (and only that, so it can be piped to a
/// JSON tool); what it is, and whether it would be sent, goes to `err`.
fn preview(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let app = config.app();
    let decision = consent::resolve_read_only(config);
    let json = match worker::preview(config) {
        Some(Preview::Spooled { json, more }) => {
            writeln!(
                err,
                "The next batch to send (left by an earlier run{}):",
                match more {
                    0 => String::new(),
                    1 => "; 1 more waits after it".to_owned(),
                    n => format!("; {n} more wait after it"),
                }
            )?;
            json
        }
        Some(Preview::Example(batch)) => {
            writeln!(
                err,
                "Nothing is waiting to be sent. A run of {app} sends batches like this one \
                 (a `usage` event holds counts since the previous batch):"
            )?;
            serde_json::to_string_pretty(&batch).map_err(io::Error::other)?
        }
        None => {
            writeln!(
                err,
                "error: no batch can be made here (no random source for ids)"
            )?;
            return Ok(1);
        }
    };
    writeln!(out, "{json}")?;
    if !decision.enabled {
        writeln!(
            err,
            "Telemetry is disabled here (decided by: {}), so nothing is sent.",
            decision.rule
        )?;
    }
    Ok(0)
}

fn reset(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    match consent::reset_with(config) {
        Ok(_) => {
            writeln!(
                out,
                "Telemetry reset: the installation ID and your decision are forgotten."
            )?;
            Ok(0)
        }
        Err(e) => {
            writeln!(err, "error: could not reset: {e}")?;
            Ok(1)
        }
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::json_string;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
