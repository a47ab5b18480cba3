//! For hosts built on `clap` (cargo feature `clap`): the management commands as a subcommand
//! a host adds to its own `#[derive(Subcommand)]` enum, and the masking allowlist read from
//! the host's own `clap::Command`, so it never drifts from the real command line.
//!
//! ```
//! use clap::{CommandFactory, Parser, Subcommand};
//! use telemetry::cli::clap::{TelemetryCommand, allowlist};
//!
//! #[derive(Parser)]
//! #[command(name = "acme")]
//! struct Cli {
//!     #[command(subcommand)]
//!     command: Command,
//! }
//!
//! #[derive(Subcommand)]
//! enum Command {
//!     /// Run a pipeline.
//!     Run {
//!         #[arg(long)]
//!         pipeline: Option<String>,
//!     },
//!     /// Manage usage telemetry.
//!     #[command(subcommand)]
//!     Telemetry(TelemetryCommand),
//! }
//!
//! let commands = allowlist(&Cli::command());
//! let masked = commands.mask(["run", "--pipeline", "secret-name"]);
//! assert_eq!(masked.to_string(), "acme run --pipeline *****");
//!
//! let cli = Cli::parse_from(["acme", "telemetry", "status", "--json"]);
//! assert!(matches!(cli.command, Command::Telemetry(TelemetryCommand::Status { json: true })));
//! // In the host: `Command::Telemetry(cmd) => cmd.run(&config)`.
//! ```

use std::process::ExitCode;

use crate::config::Config;
use crate::wire::command::Commands;

/// `acme telemetry …`: every management command, for a host's own clap enum.
#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum TelemetryCommand {
    /// Show whether telemetry is on, and what decided it.
    Status {
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Allow anonymous usage telemetry.
    Enable,
    /// Turn telemetry off (and delete unsent data).
    Disable {
        /// Also ask the collector to delete what it received from this installation.
        #[arg(long)]
        delete_data: bool,
    },
    /// Forget the installation ID and your decision.
    Reset {
        /// Also ask the collector to delete what it received from this installation.
        #[arg(long)]
        delete_data: bool,
    },
    /// Print the next batch that would be sent (sends nothing).
    Preview,
    /// Print the last batches sent from here, exactly as sent.
    Log {
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List every field that can ever be sent, as Markdown.
    Schema {
        /// Print the wire's JSON Schema instead.
        #[arg(long)]
        json: bool,
    },
}

impl TelemetryCommand {
    /// The command's words, as [`run`](super::run) takes them.
    fn args(&self) -> Vec<&'static str> {
        let flag = |on: bool, name: &'static str| on.then_some(name);
        let (command, flag) = match self {
            TelemetryCommand::Status { json } => ("status", flag(*json, "--json")),
            TelemetryCommand::Enable => ("enable", None),
            TelemetryCommand::Disable { delete_data } => {
                ("disable", flag(*delete_data, "--delete-data"))
            }
            TelemetryCommand::Reset { delete_data } => {
                ("reset", flag(*delete_data, "--delete-data"))
            }
            TelemetryCommand::Preview => ("preview", None),
            TelemetryCommand::Log { json } => ("log", flag(*json, "--json")),
            TelemetryCommand::Schema { json } => ("schema", flag(*json, "--json")),
        };
        std::iter::once(command).chain(flag).collect()
    }

    /// Runs the command for `config`, on stdout and stderr; the process's exit code.
    pub fn run(&self, config: &Config) -> ExitCode {
        super::run(config, self.args())
    }

    /// Runs the command, writing to `out` and `err`; 0 on success, 1 when it failed.
    pub fn run_with(
        &self,
        config: &Config,
        out: &mut dyn std::io::Write,
        err: &mut dyn std::io::Write,
    ) -> u8 {
        super::run_with(config, self.args(), out, err)
    }
}

/// The masking allowlist of the host's clap `command`: its name, every subcommand name at
/// any depth, and every flag (`--long` and `-s`), flags that take a value as options (the
/// value is masked). Every value, positional and unknown word is still masked. Build it once
/// (a `static LazyLock`): the names are kept for the life of the process.
pub fn allowlist(command: &clap::Command) -> Commands {
    allowlist_keeping(command, &[])
}

/// [`allowlist`], also keeping the values of the options named in `keep` (their ids, as in
/// `#[arg(id = "env")]` or the field name) that clap declares as a closed set of choices
/// (`PossibleValue`s, a `ValueEnum`): `acme run --env staging`. Opt in per argument, and
/// only for choices, never free text.
pub fn allowlist_keeping(command: &clap::Command, keep: &[&str]) -> Commands {
    let mut names = Names::default();
    names.walk(command, keep);
    let program = leak(command.get_name().to_owned());
    Commands::new(program)
        .subcommands(leak_all(names.subcommands))
        .switches(leak_all(names.switches))
        .options(leak_all(names.options))
        .values(Box::leak(names.values.into_boxed_slice()))
}

/// The words gathered from a clap command tree.
#[derive(Default)]
struct Names {
    subcommands: Vec<String>,
    switches: Vec<String>,
    options: Vec<String>,
    values: Vec<(&'static str, &'static [&'static str])>,
}

impl Names {
    fn walk(&mut self, command: &clap::Command, keep: &[&str]) {
        for arg in command.get_arguments() {
            let takes_value = arg.get_action().takes_values();
            let mut flags: Vec<String> = Vec::new();
            if let Some(long) = arg.get_long() {
                flags.push(format!("--{long}"));
            }
            if let Some(short) = arg.get_short() {
                flags.push(format!("-{short}"));
            }
            if flags.is_empty() {
                continue; // a positional: its values stay masked
            }
            let kept: Option<&'static [&'static str]> = (takes_value
                && keep.contains(&arg.get_id().as_str()))
            .then(|| {
                let choices: Vec<String> = arg
                    .get_possible_values()
                    .iter()
                    .filter(|v| !v.is_hide_set())
                    .map(|v| v.get_name().to_owned())
                    .collect();
                leak_all(choices)
            })
            .filter(|choices| !choices.is_empty());
            for flag in flags {
                if self.switches.contains(&flag) || self.options.contains(&flag) {
                    continue;
                }
                if takes_value {
                    if let Some(choices) = kept {
                        self.values.push((leak(flag.clone()), choices));
                    }
                    self.options.push(flag);
                } else {
                    self.switches.push(flag);
                }
            }
        }
        for sub in command.get_subcommands() {
            let name = sub.get_name().to_owned();
            if !self.subcommands.contains(&name) {
                self.subcommands.push(name);
            }
            self.walk(sub, keep);
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_all(words: Vec<String>) -> &'static [&'static str] {
    Box::leak(
        words
            .into_iter()
            .map(leak)
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn acme(extra: Option<Arg>) -> Command {
        let mut run = Command::new("run")
            .arg(Arg::new("pipeline").long("pipeline").action(ArgAction::Set))
            .arg(
                Arg::new("env")
                    .long("env")
                    .short('e')
                    .value_parser(["staging", "production"]),
            )
            .arg(
                Arg::new("verbose")
                    .long("verbose")
                    .short('v')
                    .action(ArgAction::SetTrue),
            )
            .arg(Arg::new("input").action(ArgAction::Set));
        if let Some(arg) = extra {
            run = run.arg(arg);
        }
        Command::new("acme")
            .subcommand(run)
            .subcommand(Command::new("db").subcommand(Command::new("migrate")))
    }

    #[test]
    fn the_allowlist_is_the_hosts_own_command_line() {
        let commands = allowlist(&acme(None));
        let masked = |args: &[&str]| commands.mask(args).to_string();
        assert_eq!(
            masked(&["run", "--pipeline", "nightly", "-v", "/home/alice/data.csv"]),
            "acme run --pipeline ***** -v *****"
        );
        assert_eq!(masked(&["db", "migrate"]), "acme db migrate");
        assert_eq!(masked(&["run", "--env", "staging"]), "acme run --env *****");
        assert_eq!(masked(&["run", "--dry-run"]), "acme run *****");

        // A flag added to the clap definition is kept, with no list to edit.
        let grown = allowlist(&acme(Some(
            Arg::new("dry-run")
                .long("dry-run")
                .action(ArgAction::SetTrue),
        )));
        assert_eq!(
            grown.mask(["run", "--dry-run"]).to_string(),
            "acme run --dry-run"
        );
    }

    #[test]
    fn choices_are_kept_only_for_the_arguments_a_host_names() {
        let commands = allowlist_keeping(&acme(None), &["env"]);
        let masked = |args: &[&str]| commands.mask(args).to_string();
        assert_eq!(
            masked(&["run", "--env", "staging"]),
            "acme run --env staging"
        );
        assert_eq!(
            masked(&["run", "-e", "production"]),
            "acme run -e production"
        );
        assert_eq!(masked(&["run", "--env", "alice"]), "acme run --env *****");
        // Free text is never kept, even when named.
        let commands = allowlist_keeping(&acme(None), &["pipeline"]);
        assert_eq!(
            commands.mask(["run", "--pipeline", "nightly"]).to_string(),
            "acme run --pipeline *****"
        );
    }

    #[test]
    fn every_management_command_runs_through_the_same_words() {
        for (command, words) in [
            (
                TelemetryCommand::Status { json: true },
                &["status", "--json"][..],
            ),
            (
                TelemetryCommand::Disable { delete_data: true },
                &["disable", "--delete-data"],
            ),
            (TelemetryCommand::Reset { delete_data: false }, &["reset"]),
            (TelemetryCommand::Log { json: false }, &["log"]),
            (TelemetryCommand::Schema { json: false }, &["schema"]),
            (
                TelemetryCommand::Schema { json: true },
                &["schema", "--json"],
            ),
        ] {
            assert_eq!(command.args(), words);
        }
    }
}
