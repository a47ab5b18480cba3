//! `cli_command` events: the host's command line with every value masked.
//!
//! The host declares its vocabulary in its source: the program name, its subcommands, its
//! switches (flags without a value) and its options (flags that take one). Masking keeps
//! only those declared words and replaces everything else the user typed with `*****`, so
//! `acme run --pipeline=ds --env test` becomes `acme run --pipeline ***** --env *****`. A word
//! the user typed can reach the event only if it is, letter for letter, a word the host
//! wrote in its source.

use std::ffi::OsStr;
use std::fmt;

use crate::wire::json::{Json, ToJson};
use crate::wire::text::Name;

/// At most this many words are kept; the rest become one `*****`.
const MAX_TOKENS: usize = 32;

/// Flags every CLI understands, kept without being declared.
const ALWAYS_KNOWN: [&str; 4] = ["--help", "-h", "--version", "-V"];

/// The words of a host's command line that may be sent as they are.
///
/// ```
/// use telemetry::Commands;
///
/// static ACME: Commands = Commands::new("acme")
///     .subcommands(&["run", "telemetry", "status"])
///     .switches(&["--json", "--verbose"])
///     .options(&["--pipeline", "--env"]);
///
/// let masked = ACME.mask(["run", "--pipeline=ds", "--env", "test", "/home/alice/data.csv"]);
/// assert_eq!(masked.to_string(), "acme run --pipeline ***** --env ***** *****");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Commands {
    program: &'static str,
    subcommands: &'static [&'static str],
    switches: &'static [&'static str],
    options: &'static [&'static str],
    values: &'static [(&'static str, &'static [&'static str])],
}

impl Commands {
    /// A host called `program` (checked like an integration name: lowercase letters,
    /// digits, `_` and `-`; anything else shows as `*****`).
    pub const fn new(program: &'static str) -> Commands {
        Commands {
            program,
            subcommands: &[],
            switches: &[],
            options: &[],
            values: &[],
        }
    }

    /// Subcommand names (`run`, `status`), kept where a subcommand can stand: at the start,
    /// before any value.
    pub const fn subcommands(mut self, names: &'static [&'static str]) -> Commands {
        self.subcommands = names;
        self
    }

    /// Flags without a value (`--json`, `-v`).
    pub const fn switches(mut self, flags: &'static [&'static str]) -> Commands {
        self.switches = flags;
        self
    }

    /// Flags that take a value (`--env test` or `--env=test`); the value is masked, even
    /// when it looks like a flag.
    pub const fn options(mut self, flags: &'static [&'static str]) -> Commands {
        self.options = flags;
        self
    }

    /// Values an option may keep: for each option (declared with [`Commands::options`]), the
    /// values sent as they are (`("--env", &["staging", "production"])`); any other value
    /// of it is masked. For a closed set of choices only, never for free text.
    pub const fn values(
        mut self,
        allowed: &'static [(&'static str, &'static [&'static str])],
    ) -> Commands {
        self.values = allowed;
        self
    }

    /// `args` (without the program name: `std::env::args_os().skip(1)`) with every value
    /// masked.
    pub fn mask<I, S>(&self, args: I) -> MaskedCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut tokens =
            vec![Name::new(self.program).map_or(Token::Masked, |n| Token::Known(n.as_str()))];
        let mut in_subcommands = true;
        // The option whose value comes next, if one does.
        let mut value_next: Option<&'static str> = None;
        let mut only_values = false;
        for arg in args {
            if tokens.len() >= MAX_TOKENS {
                tokens.push(Token::Masked);
                break;
            }
            // Not UTF-8: cannot be one of the host's words.
            let arg = arg.as_ref().to_str().unwrap_or("\0");
            if let Some(flag) = value_next.take() {
                tokens.push(self.value(flag, arg));
                continue;
            }
            if only_values {
                tokens.push(Token::Masked);
                continue;
            }
            if arg == "--" {
                tokens.push(Token::Known("--"));
                only_values = true;
                continue;
            }
            if arg.starts_with('-') && arg.len() > 1 {
                let before = tokens.len();
                // The host's own options first: a host may use `-h` for something that takes
                // a value.
                if let Some(word) = self.option(arg) {
                    tokens.push(Token::Known(word));
                    value_next = Some(word);
                } else if let Some(word) = ALWAYS_KNOWN.iter().find(|w| **w == arg) {
                    tokens.push(Token::Known(word));
                } else if let Some(word) = self.switch(arg) {
                    tokens.push(Token::Known(word));
                } else if let Some((flag, value)) = arg.split_once('=')
                    && let Some(word) = self.option(flag).or_else(|| self.switch(flag))
                {
                    // The flag and its value are two words: where only one fits under the
                    // cap, the line is cut here.
                    if tokens.len() + 2 > MAX_TOKENS {
                        tokens.push(Token::Masked);
                        break;
                    }
                    tokens.push(Token::Known(word));
                    tokens.push(self.value(word, value));
                } else {
                    tokens.push(Token::Masked);
                }
                // An unknown flag may have taken the next word as its value: from here on,
                // nothing counts as a subcommand.
                in_subcommands &= tokens[before] != Token::Masked;
                continue;
            }
            match self.subcommand(arg).filter(|_| in_subcommands) {
                Some(word) => tokens.push(Token::Known(word)),
                None => {
                    in_subcommands = false;
                    tokens.push(Token::Masked);
                }
            }
        }
        MaskedCommand(tokens)
    }

    /// `value` given to option `flag`: kept if the host listed it for that option, and it is
    /// a checked word; masked otherwise.
    fn value(&self, flag: &str, value: &str) -> Token {
        self.values
            .iter()
            .filter(|(f, _)| *f == flag)
            .flat_map(|(_, allowed)| allowed.iter().copied())
            .find(|v| *v == value && Name::new(v).is_some())
            .map_or(Token::Masked, Token::Known)
    }

    fn subcommand(&self, arg: &str) -> Option<&'static str> {
        self.subcommands
            .iter()
            .copied()
            .find(|w| *w == arg && Name::new(w).is_some())
    }

    fn switch(&self, arg: &str) -> Option<&'static str> {
        self.switches
            .iter()
            .copied()
            .find(|w| *w == arg && is_flag(w))
    }

    fn option(&self, arg: &str) -> Option<&'static str> {
        self.options
            .iter()
            .copied()
            .find(|w| *w == arg && is_flag(w))
    }
}

/// `-x` or `--name` with a checked name: what a declared flag must look like.
pub(crate) fn is_flag(word: &str) -> bool {
    let name = word.strip_prefix("--").or_else(|| word.strip_prefix('-'));
    name.is_some_and(|n| {
        (1..=32).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !n.starts_with('-')
    })
}

/// Whether `s` is what [`Commands::mask`] can write: the program (a name, or `*****`), then
/// at most [`MAX_TOKENS`] words, each a subcommand (a name, where one can stand), a flag,
/// `--`, a value the host allowed for the flag before it (a name), or `*****`. After `--`
/// only `*****`; after a `*****` that is not a flag's value, no more subcommands.
pub(crate) fn is_masked(s: &str) -> bool {
    let words: Vec<&str> = s.split(' ').collect();
    let (mut prev, mut values_only, mut subcommands) = (words[0], false, true);
    words.len() <= MAX_TOKENS + 1
        && (prev == MASK || Name::is_valid(prev))
        && words[1..].iter().all(|&w| {
            let allowed_value = Name::is_valid(w) && is_flag(prev);
            let declared =
                w == "--" || is_flag(w) || (subcommands && Name::is_valid(w)) || allowed_value;
            let ok = w == MASK || (declared && !values_only);
            subcommands &= w != MASK || is_flag(prev);
            values_only |= w == "--";
            prev = w;
            ok
        })
}

/// A command line with every value masked: only host-declared words (the program, known
/// subcommands and flag names) and `*****`. Made only by [`Commands::mask`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskedCommand(pub(crate) Vec<Token>);

/// One word of a [`MaskedCommand`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// Declared by the host in its source, and checked.
    Known(&'static str),
    /// Whatever the user typed there.
    Masked,
}

/// What a masked value shows as.
pub const MASK: &str = "*****";

impl fmt::Display for MaskedCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(match token {
                Token::Known(word) => word,
                Token::Masked => MASK,
            })?;
        }
        Ok(())
    }
}

impl ToJson for MaskedCommand {
    fn to_json(&self) -> Json {
        Json::str(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static ACME: Commands = Commands::new("acme")
        .subcommands(&["run", "telemetry", "status", "Bad Name"])
        .switches(&["--json", "-v", "--dry-run", "bad flag"])
        .options(&["--pipeline", "--env", "-o", "--config"]);

    fn masked(args: &[&str]) -> String {
        ACME.mask(args).to_string()
    }

    #[test]
    fn only_the_values_a_host_listed_for_an_option_are_kept() {
        static WITH_VALUES: Commands = Commands::new("acme")
            .subcommands(&["run"])
            .options(&["--env", "--pipeline"])
            .values(&[("--env", &["staging", "production", "Not A Word"])]);
        let masked = |args: &[&str]| WITH_VALUES.mask(args).to_string();
        assert_eq!(
            masked(&["run", "--env", "staging"]),
            "acme run --env staging"
        );
        assert_eq!(
            masked(&["run", "--env=production"]),
            "acme run --env production"
        );
        assert_eq!(masked(&["run", "--env", "alice"]), "acme run --env *****");
        // Listed for another option, or not a checked word: masked.
        assert_eq!(
            masked(&["run", "--pipeline", "staging"]),
            "acme run --pipeline *****"
        );
        assert_eq!(
            masked(&["run", "--env", "Not A Word"]),
            "acme run --env *****"
        );
        // A listed value where no option asked for one is still a value.
        assert_eq!(masked(&["run", "staging"]), "acme run *****");
    }

    #[test]
    fn values_are_masked_and_declared_words_kept() {
        let cases: &[(&[&str], &str)] = &[
            // The example of docs/sending.md, "What a host may add".
            (
                &["run", "--pipeline=ds", "--env=test"],
                "acme run --pipeline ***** --env *****",
            ),
            (
                &["run", "--pipeline", "ds", "--env", "test"],
                "acme run --pipeline ***** --env *****",
            ),
            (&[], "acme"),
            (
                &["telemetry", "status", "--json"],
                "acme telemetry status --json",
            ),
            // Positional values, wherever they are.
            (&["run", "/home/alice/secret.csv"], "acme run *****"),
            (&["alice@example.com"], "acme *****"),
            // A value that is also a subcommand name is still a value after a value.
            (&["run", "data", "status"], "acme run ***** *****"),
            (&["run", "--env", "run"], "acme run --env *****"),
            // Values that look like flags.
            (&["run", "--env", "--json"], "acme run --env *****"),
            (&["run", "--pipeline", "-v"], "acme run --pipeline *****"),
            (&["run", "-o", "--secret"], "acme run -o *****"),
            // Empty values.
            (&["run", "--env="], "acme run --env *****"),
            (&["run", "--env", ""], "acme run --env *****"),
            (&["run", ""], "acme run *****"),
            // An option at the end, with its value missing.
            (&["run", "--env"], "acme run --env"),
            // Unknown flags, with or without values, are masked whole.
            (&["run", "--token=s3cr3t"], "acme run *****"),
            (&["run", "--alice-laptop"], "acme run *****"),
            (&["run", "-xyz"], "acme run *****"),
            // A switch given a value: the value is masked.
            (&["run", "--json=yes"], "acme run --json *****"),
            // --help and --version are always kept.
            (&["run", "--help"], "acme run --help"),
            (&["--version"], "acme --version"),
            (&["-h"], "acme -h"),
            // After `--` everything is a value.
            (&["run", "--", "--json", "run"], "acme run -- ***** *****"),
            // A lone dash is a value (stdin), as is a negative number.
            (&["run", "-"], "acme run *****"),
            (&["run", "--env", "-5"], "acme run --env *****"),
            // Global switches before the subcommand keep it recognised; a value ends that.
            (&["-v", "run"], "acme -v run"),
            (&["--config", "x.toml", "run"], "acme --config ***** run"),
            (&["--token", "t", "run"], "acme ***** ***** *****"),
            // Declarations that are not plain words never match.
            (&["Bad Name"], "acme *****"),
            (&["run", "bad flag"], "acme run *****"),
            // Case matters: only the exact declared word is kept.
            (&["RUN"], "acme *****"),
        ];
        for (args, expected) in cases {
            assert_eq!(masked(args), *expected, "{args:?}");
        }
        // A host whose `-h` takes a value (a host name, say): the value is masked.
        static HOSTED: Commands = Commands::new("acme").options(&["-h"]);
        assert_eq!(
            HOSTED.mask(["-h", "db.internal"]).to_string(),
            "acme -h *****"
        );
    }

    /// What the masker writes, the check of a masked command accepts: the two lines it once
    /// refused among them.
    #[test]
    fn every_masked_line_passes_the_check() {
        static WITH_VALUES: Commands = Commands::new("acme")
            .subcommands(&["run"])
            .options(&["--env", "--opt"])
            .values(&[("--env", &["staging"])]);
        let masked = WITH_VALUES.mask(["run", "data.csv", "--env", "staging"]);
        assert_eq!(masked.to_string(), "acme run ***** --env staging");
        assert!(is_masked(&masked.to_string()));
        // `--opt=value` where only one word is left under the cap.
        let mut args = vec!["x"; 30];
        args.push("--opt=value");
        args.push("y");
        let masked = WITH_VALUES.mask(&args).to_string();
        assert_eq!(masked.split(' ').count(), MAX_TOKENS, "{masked}");
        assert!(
            masked.ends_with(" ***** *****"),
            "the line is cut where the pair began"
        );
        assert!(is_masked(&masked), "{masked}");
        for bad in [
            "",
            "acme  run",
            "Acme run",
            "acme run --env *****  x",
            "acme -- --env",
        ] {
            assert!(!is_masked(bad), "{bad}");
        }
    }

    #[test]
    fn long_command_lines_are_cut() {
        let args = vec!["x"; 100];
        let m = ACME.mask(&args);
        assert_eq!(m.0.len(), MAX_TOKENS + 1);
        assert!(m.0[1..].iter().all(|t| *t == Token::Masked));
    }

    #[test]
    fn non_utf8_arguments_are_masked() {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let arg = OsStr::from_bytes(b"run\xff");
            assert_eq!(ACME.mask([arg]).to_string(), "acme *****");
        }
    }

    #[test]
    fn an_unchecked_program_name_is_masked() {
        assert_eq!(
            Commands::new("/usr/bin/acme").mask(["x"]).to_string(),
            "***** *****"
        );
    }
}
