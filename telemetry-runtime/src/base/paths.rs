//! Names and places: the `APP` prefix of variables, the config dir, the policy file.
//!
//! Written by hand rather than with a `dirs`-style crate: the rules are four lines
//! (docs/consent.md, "What was sent, and the files it keeps"), and every input comes from the
//! injected [`Env`] so tests never look at the real home. Paths stay OS strings from the
//! variable to the file: converting one lossily would send a write, or an organisation's
//! policy, to another path.

use std::path::PathBuf;

use std::fmt;

use crate::base::env::Env;

/// The state file, in the config dir.
pub(crate) const STATE_FILE: &str = "telemetry_state.toml";
/// The audit log, in the config dir.
pub(crate) const AUDIT_FILE: &str = "telemetry_audit.log";
/// The lock that serialises writers of the state file and the audit log.
pub(crate) const LOCK_FILE: &str = "telemetry_state.lock";
/// The spool of unsent batches, in the config dir; deleted by `disable`.
pub(crate) const SPOOL_DIR: &str = "telemetry_spool";
/// What left the machine: the last batches delivered, in the config dir; deleted by
/// `disable` and `reset`.
pub(crate) const SENT_LOG: &str = "telemetry_sent.log";
/// The collection config last fetched from the collector (`pipeline/collection.rs`).
pub(crate) const COLLECTION_FILE: &str = "telemetry_collection.json";
/// The project file, in the current directory or an ancestor up to the repository root.
pub(crate) const PROJECT_FILE: &str = ".telemetry";

/// Why no config dir can be used. Never shows a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigDirError {
    /// No config dir could be determined (no home directory in the environment).
    NoConfigDir,
    /// The config dir variable (named here) holds a relative path.
    RelativeConfigDir(String),
}

impl fmt::Display for ConfigDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigDirError::NoConfigDir => f.write_str("no config directory could be determined"),
            ConfigDirError::RelativeConfigDir(var) => write!(f, "{var} is not an absolute path"),
        }
    }
}

impl std::error::Error for ConfigDirError {}

/// What is wrong with a file that could not be read. Never names the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileProblem {
    /// A FIFO, a device, a directory or a symlink where a regular file belongs.
    NotARegularFile,
    /// Larger than any file of ours can be.
    TooLarge,
    /// The OS refused to open or read it (permissions, I/O).
    Unreadable,
    /// Read, but not what it should hold (bad syntax, a bad value).
    Invalid,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileProblem::NotARegularFile => "it is not a regular file",
            FileProblem::TooLarge => "it is too large",
            FileProblem::Unreadable => "it could not be read",
            FileProblem::Invalid => "its contents are not valid",
        })
    }
}

/// The prefix of the host's variables: its name upper-cased, every non-alphanumeric
/// character turned into `_`.
///
/// ```
/// assert_eq!(telemetry::consent::env_prefix("acme"), "ACME");
/// assert_eq!(telemetry::consent::env_prefix("my-tool.rs"), "MY_TOOL_RS");
/// ```
pub fn env_prefix(app: &str) -> String {
    app.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `APP_suffix`, e.g. `ACME_DISABLE_TELEMETRY`.
pub(crate) fn var(app: &str, suffix: &str) -> String {
    format!("{}_{suffix}", env_prefix(app))
}

/// The config dir: `APP_TELEMETRY_CONFIG_DIR` if set, else the platform's config dir for
/// the app. An error when neither can be known (no home directory in the environment), or
/// when the variable holds a relative path: that would depend on the current directory, so
/// it is refused (like a relative `XDG_CONFIG_HOME`) and consent decides off.
pub(crate) fn config_dir(app: &str, env: &Env) -> Result<PathBuf, ConfigDirError> {
    let name = var(app, "TELEMETRY_CONFIG_DIR");
    if let Some(dir) = env.non_empty_os(&name) {
        let dir = PathBuf::from(dir);
        if !dir.is_absolute() {
            return Err(ConfigDirError::RelativeConfigDir(name));
        }
        return Ok(dir);
    }
    platform_config_dir(env)
        .map(|base| base.join(app))
        .ok_or(ConfigDirError::NoConfigDir)
}

/// The base config dir of the platform, from the environment.
fn platform_config_dir(env: &Env) -> Option<PathBuf> {
    let non_empty = |key: &str| env.non_empty_os(key).map(PathBuf::from);
    if cfg!(windows) {
        non_empty("APPDATA")
    } else if cfg!(target_os = "macos") {
        non_empty("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        // XDG: only an absolute XDG_CONFIG_HOME counts.
        non_empty("XDG_CONFIG_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty("HOME").map(|h| h.join(".config")))
    }
}

/// The system policy file: `/etc/APP/telemetry.toml` (`%ProgramData%\\app\\telemetry.toml`
/// on Windows).
pub(crate) fn system_policy_file(app: &str, env: &Env) -> Option<PathBuf> {
    if cfg!(windows) {
        env.non_empty_os("ProgramData")
            .map(|p| PathBuf::from(p).join(app).join("telemetry.toml"))
    } else {
        Some(PathBuf::from("/etc").join(app).join("telemetry.toml"))
    }
}

/// The policy file named by `APP_TELEMETRY_POLICY_FILE`, if set. Read *in addition* to the
/// system one: a user who can set a variable must not be able to skip the organisation's file.
pub(crate) fn env_policy_file(app: &str, env: &Env) -> Option<PathBuf> {
    env.non_empty_os(&var(app, "TELEMETRY_POLICY_FILE"))
        .map(PathBuf::from)
}

/// The CA certificates file named by `APP_TELEMETRY_CA_FILE`, if set: PEM certificates
/// trusted for `https://` endpoints besides the bundled and the system's roots.
pub(crate) fn ca_file(app: &str, env: &Env) -> Option<PathBuf> {
    env.non_empty_os(&var(app, "TELEMETRY_CA_FILE"))
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_cases_and_replaces() {
        assert_eq!(env_prefix("acme"), "ACME");
        assert_eq!(env_prefix("Acme-CLI 2"), "ACME_CLI_2");
        assert_eq!(env_prefix("née"), "N_E");
    }

    #[test]
    fn config_dir_prefers_the_app_variable() {
        let env = Env::from_pairs([
            ("ACME_TELEMETRY_CONFIG_DIR", "/x/conf"),
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "/xdg"),
        ]);
        assert_eq!(
            config_dir("acme", &env).ok(),
            Some(PathBuf::from("/x/conf"))
        );
        assert!(matches!(
            config_dir("acme", &Env::empty()),
            Err(ConfigDirError::NoConfigDir)
        ));
    }

    #[test]
    fn a_relative_config_dir_is_refused() {
        let env = Env::from_pairs([("ACME_TELEMETRY_CONFIG_DIR", "conf"), ("HOME", "/home/u")]);
        let err = config_dir("acme", &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ACME_TELEMETRY_CONFIG_DIR is not an absolute path"
        );
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn config_dir_follows_xdg_then_home() {
        let env = Env::from_pairs([("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/xdg")]);
        assert_eq!(
            config_dir("acme", &env).ok(),
            Some(PathBuf::from("/xdg/acme"))
        );
        let env = Env::from_pairs([("HOME", "/home/u"), ("XDG_CONFIG_HOME", "relative")]);
        assert_eq!(
            config_dir("acme", &env).ok(),
            Some(PathBuf::from("/home/u/.config/acme"))
        );
        let env = Env::from_pairs([("HOME", "/home/u")]);
        assert_eq!(
            config_dir("acme", &env).ok(),
            Some(PathBuf::from("/home/u/.config/acme"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn policy_files_are_etc_and_the_variable() {
        assert_eq!(
            system_policy_file("acme", &Env::empty()),
            Some(PathBuf::from("/etc/acme/telemetry.toml"))
        );
        assert_eq!(env_policy_file("acme", &Env::empty()), None);
        let env = Env::from_pairs([("ACME_TELEMETRY_POLICY_FILE", "/p.toml")]);
        assert_eq!(
            env_policy_file("acme", &env),
            Some(PathBuf::from("/p.toml"))
        );
        // The variable does not replace the system file.
        assert_eq!(
            system_policy_file("acme", &env),
            Some(PathBuf::from("/etc/acme/telemetry.toml"))
        );
    }
}
