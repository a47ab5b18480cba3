//! The collector's own log: one line per message on stderr (or wherever a test or an
//! embedding program sends it), filtered by level.
//!
//! Messages are fixed sentences with counts and settings in them; none holds a request's
//! address, header or body, nor anything stored. A client's bad request is `debug`: a
//! collector on the internet sees plenty, and they are not the operator's problem.

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;

/// How much the collector says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The collector cannot go on.
    Error,
    /// Something the operator should look at (the store failing).
    Warn,
    /// Start, stop, retention.
    Info,
    /// Every refused request, by reason.
    Debug,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        Ok(match s {
            "error" => Level::Error,
            "warn" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            _ => {
                return Err(format!(
                    "unknown log level `{s}`: use error, warn, info or debug"
                ));
            }
        })
    }
}

/// Where log lines go.
pub type Sink = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// The level filter and the sink.
#[derive(Clone)]
pub(crate) struct Log {
    pub(crate) level: Level,
    pub(crate) sink: Option<Sink>,
}

impl Log {
    pub(crate) fn at(&self, level: Level, message: &str) {
        if level > self.level {
            return;
        }
        match &self.sink {
            Some(sink) => sink(level, message),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{level}: {message}");
            }
        }
    }

    pub(crate) fn debug(&self, message: &str) {
        self.at(Level::Debug, message);
    }

    pub(crate) fn info(&self, message: &str) {
        self.at(Level::Info, message);
    }

    pub(crate) fn warn(&self, message: &str) {
        self.at(Level::Warn, message);
    }
}
