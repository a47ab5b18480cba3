//! Where environment variables come from: the process, or a map a test injects.
//!
//! Consent reads a handful of variables (docs/consent.md, "The nine rules"). Reading them
//! through [`Env`] lets tests decide every rule without touching the real environment, and
//! keeps the variables' values out of every `Debug` output.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;

/// The environment consent reads: the process's, with variables set on top, or (for
/// tests) only the variables set.
///
/// ```
/// use telemetry::config::Env;
///
/// // A test's own environment: nothing but what it sets.
/// let env = Env::empty().with("DO_NOT_TRACK", "1");
/// assert_eq!(env.get("DO_NOT_TRACK").as_deref(), Some("1"));
/// assert_eq!(env.get("CI"), None);
///
/// // A host's settings for one run, on top of the process environment: the user's
/// // `DO_NOT_TRACK`, `*_DISABLE_TELEMETRY`, proxy and CA variables still count.
/// let env = Env::process().with("ACME_TELEMETRY_ENDPOINT", "http://127.0.0.1:8080/v1/batch");
/// assert_eq!(env.get("PATH"), std::env::var("PATH").ok());
/// ```
#[derive(Clone)]
pub struct Env {
    /// Whether a variable not set below is looked up in the process environment, live (rules
    /// 2–5 are re-checked while running).
    process: bool,
    /// Variables set on top. Values are kept as the OS gave them: a variable that names a
    /// file may not be UTF-8.
    set: BTreeMap<String, OsString>,
}

impl Env {
    /// The process environment, read afresh on every lookup.
    pub fn process() -> Self {
        Env {
            process: true,
            set: BTreeMap::new(),
        }
    }

    /// An empty, injected environment: nothing is set. What tests start from.
    pub fn empty() -> Self {
        Env {
            process: false,
            set: BTreeMap::new(),
        }
    }

    /// An injected environment holding `pairs` and nothing else.
    ///
    /// ```
    /// let env = telemetry::config::Env::from_pairs([("CI", "true"), ("HOME", "/nowhere")]);
    /// assert_eq!(env.get("CI").as_deref(), Some("true"));
    /// ```
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        Env {
            process: false,
            set: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Sets `key` to `value` on top of this environment: over the process environment for
    /// [`Env::process`] (every other variable, a user's opt-out among them, still reads
    /// through), over nothing for [`Env::empty`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<OsString>) -> Self {
        self.set.insert(key.into(), value.into());
        self
    }

    /// The value of `key`, if set. A value that is not valid Unicode is read lossily: it
    /// still counts as set, which is what every rule needs. Use [`get_os`](Self::get_os) for
    /// a variable that names a file or directory.
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_os(key).map(|v| v.to_string_lossy().into_owned())
    }

    /// The value of `key` exactly as the OS holds it: for paths, which need not be UTF-8.
    ///
    /// ```
    /// use telemetry::config::Env;
    ///
    /// let env = Env::empty().with("ACME_TELEMETRY_CONFIG_DIR", "/etc/acme");
    /// assert_eq!(env.get_os("ACME_TELEMETRY_CONFIG_DIR").as_deref(), Some("/etc/acme".as_ref()));
    /// ```
    pub fn get_os(&self, key: &str) -> Option<OsString> {
        match self.set.get(key) {
            Some(value) => Some(value.clone()),
            None if self.process => std::env::var_os(key),
            None => None,
        }
    }

    /// Whether `key` is set to something other than nothing.
    pub(crate) fn non_empty_os(&self, key: &str) -> Option<OsString> {
        self.get_os(key).filter(|v| !OsStr::is_empty(v))
    }

    /// Whether this reads the process environment (with or without variables on top).
    pub fn is_process(&self) -> bool {
        self.process
    }
}

impl Default for Env {
    /// The process environment, as [`Env::process`].
    fn default() -> Self {
        Env::process()
    }
}

impl fmt::Debug for Env {
    // Never print values: they may hold paths or tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.process, self.set.len()) {
            (true, 0) => f.write_str("Env::process()"),
            (true, n) => write!(f, "Env::process() with {n} variables set on top"),
            (false, n) => write!(f, "Env::injected({n} variables)"),
        }
    }
}

/// How a variable reads as a switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Switch {
    /// `1`, `true`, `yes` (any case).
    On,
    /// `0`, `false`, `no` (any case).
    Off,
    /// Set to something else.
    Other,
}

/// Reads a value as `1/true/yes` or `0/false/no`, case-insensitively, ignoring spaces.
pub(crate) fn switch(value: &str) -> Switch {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Switch::On,
        "0" | "false" | "no" => Switch::Off,
        _ => Switch::Other,
    }
}

/// `DO_NOT_TRACK` semantics: set to anything but empty, `0`, `false`, `no` means yes.
pub(crate) fn truthy(value: Option<&str>) -> bool {
    match value {
        None => false,
        Some(v) => !v.trim().is_empty() && switch(v) != Switch::Off,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthy_follows_do_not_track_semantics() {
        for v in ["1", "true", "TRUE", "yes", "on", "anything", " 2 "] {
            assert!(truthy(Some(v)), "{v:?}");
        }
        for v in ["", " ", "0", "false", "False", "NO", "no"] {
            assert!(!truthy(Some(v)), "{v:?}");
        }
        assert!(!truthy(None));
    }

    #[test]
    fn switch_reads_both_ways() {
        for v in ["1", "true", "Yes", " TRUE "] {
            assert_eq!(switch(v), Switch::On, "{v:?}");
        }
        for v in ["0", "false", "No", "FALSE"] {
            assert_eq!(switch(v), Switch::Off, "{v:?}");
        }
        for v in ["", "2", "maybe", "on"] {
            assert_eq!(switch(v), Switch::Other, "{v:?}");
        }
    }

    #[test]
    fn debug_never_shows_values() {
        let env = Env::empty().with("SECRET", "hunter2");
        assert!(!format!("{env:?}").contains("hunter2"));
    }
}
