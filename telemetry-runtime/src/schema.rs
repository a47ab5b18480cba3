//! Everything that can leave the machine, as types. A reviewer reads this one file to know
//! the whole privacy surface.
//!
//! Only counts, booleans, closed enumerations, duration buckets, validated version strings,
//! the hour, and random ids. No field can hold a name, a path, a message, a value of the
//! host's data, or an exact time: there is no `String` the host or the user could fill with
//! free text (versions are checked against a strict pattern and replaced by `"invalid"`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::calendar::Date;

/// The version of this wire format.
pub const SCHEMA_VERSION: u32 = 1;

/// One POST: `{"schema_version": 1, "batch_id": "<uuid>", "events": [...]}`.
#[derive(Clone, Debug, Serialize)]
pub struct Batch {
    pub schema_version: u32,
    /// Random per batch; the same on every retry, so a receiver can drop duplicates.
    pub batch_id: Id,
    pub events: Vec<Event>,
}

/// A random UUID v4. Never derived from anything about the machine or the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Id(uuid::Uuid);

impl Id {
    /// A fresh random id; `None` if the OS random source failed (then nothing is sent).
    pub fn random() -> Option<Id> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        Some(Id(uuid::Builder::from_random_bytes(bytes).into_uuid()))
    }

    /// An id read back from the state file; only a well-formed UUID is accepted.
    pub fn parse(s: &str) -> Option<Id> {
        uuid::Uuid::try_parse(s).ok().map(Id)
    }
}

impl From<uuid::Uuid> for Id {
    fn from(id: uuid::Uuid) -> Id {
        Id(id)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A time truncated to the hour (UTC), shown as `2026-11-21T04:00:00Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(i64);

impl Hour {
    /// The current hour.
    pub fn now() -> Hour {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Hour::from_unix_secs(secs)
    }

    /// The hour that contains `secs` seconds after the Unix epoch.
    pub fn from_unix_secs(secs: i64) -> Hour {
        Hour(secs.div_euclid(3600))
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = Date::from_unix_days(self.0.div_euclid(24));
        write!(f, "{date}T{:02}:00:00Z", self.0.rem_euclid(24))
    }
}

impl Serialize for Hour {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A version string that passed a strict check: up to four dot-separated numbers, with an
/// optional pre-release tag made of `alpha`, `beta`, `rc`, `pre` or `dev` and numbers
/// (`2.0.0-beta.1`, `1.0.0-rc2`). Anything else (build metadata, names, spaces, paths)
/// becomes `"invalid"`, so it cannot carry free text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version(String);

impl Version {
    /// `text` if it looks like a version, else `"invalid"`.
    ///
    /// ```
    /// use telemetry_runtime::Version;
    ///
    /// assert_eq!(Version::new("2.0.0-beta.1").as_str(), "2.0.0-beta.1");
    /// assert_eq!(Version::new("1.0.0+alice-laptop").as_str(), "invalid");
    /// ```
    pub fn new(text: &str) -> Version {
        Version(if is_version(text) {
            text.to_string()
        } else {
            "invalid".to_string()
        })
    }

    /// The checked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Versions longer than this are `"invalid"`: a long run of numbers could spell anything.
const MAX_VERSION_LEN: usize = 32;

pub(crate) fn is_version(text: &str) -> bool {
    let numbers = |part: &str| {
        !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit())
    };
    let (core, tag) = match text.split_once('-') {
        Some((core, tag)) => (core, Some(tag)),
        None => (text, None),
    };
    let core_ok = core.split('.').count() <= 4 && core.split('.').all(numbers);
    let tag_ok = tag.is_none_or(|tag| {
        tag.split('.').count() <= 2
            && tag.split('.').all(|part| {
                let rest = ["alpha", "beta", "rc", "pre", "dev"]
                    .iter()
                    .find_map(|word| part.strip_prefix(word));
                match rest {
                    Some(rest) => rest.is_empty() || numbers(rest),
                    None => numbers(part),
                }
            })
    });
    text.len() <= MAX_VERSION_LEN && core_ok && tag_ok
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A name the host declared in its source (`&'static str`), checked: 1 to 32 lowercase
/// ASCII letters, digits, `_` and `-`, starting with a letter. Never built from run-time
/// input, so it cannot carry the user's data.
///
/// ```
/// use telemetry_runtime::Name;
///
/// assert!(Name::new("postgres").is_some());
/// assert!(Name::new("/home/alice").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(&'static str);

impl Name {
    /// `name` if it passes the check.
    pub const fn new(name: &'static str) -> Option<Name> {
        if is_name(name) {
            Some(Name(name))
        } else {
            None
        }
    }

    /// The checked text.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// 1 to 32 of `a-z`, `0-9`, `_`, `-`, starting with a letter. A `const fn`, so generated
/// code can check names at compile time.
pub(crate) const fn is_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > 32 || !b[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// One event: the fields every event carries, then those of its type.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub event_id: Id,
    /// Random per process.
    pub session_id: Id,
    /// Random per installation; present only once the user has consented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<Id>,
    /// When the event was made, truncated to the hour.
    pub timestamp: Hour,
    /// This crate's version.
    pub sdk_version: Version,
    /// The host application's version.
    pub app_version: Version,
    /// The version of rustc that built the host.
    pub rust_version: Version,
    /// `std::env::consts::OS`: a fixed set of names.
    pub os: &'static str,
    /// `std::env::consts::ARCH`: a fixed set of names.
    pub arch: &'static str,
    #[serde(flatten)]
    pub body: Body,
}

/// What an event is about; serialised as `"event_type"` plus the type's own fields.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum Body {
    /// The environment, once per process.
    Session {
        /// Whether stdin and stderr are terminals (a person at a CLI) or not (a program).
        interactive: bool,
        /// `APP_TELEMETRY_ENVIRONMENT`, mapped onto a closed set.
        environment: Environment,
        /// Names the host declared in its code (enabled cargo features, plugins).
        integrations: Vec<Name>,
    },
    /// Aggregates since the previous batch.
    Usage {
        features: FeatureUse,
        metrics: Metrics,
    },
    /// The types of errors returned and panics, since the previous batch.
    Error { errors: Errors },
    /// A long-running process is still there.
    Heartbeat {
        /// When this process started, truncated to the hour.
        session_start: Hour,
    },
    /// The host's command line, every value masked.
    CliCommand {
        /// The program, known subcommands and flag names; each value is `*****`.
        command: MaskedCommand,
    },
    /// An event the host defined with `#[derive(telemetry::Event)]`.
    Custom {
        /// The event's name: its type's name in snake case.
        name: Name,
        /// Its fields: booleans, bucketed counts, declared choices and versions.
        fields: BTreeMap<Name, FieldValue>,
    },
}

impl Body {
    /// The `event_type` this body is sent as.
    pub(crate) fn event_type(&self) -> &'static str {
        match self {
            Body::Session { .. } => "session",
            Body::Usage { .. } => "usage",
            Body::Error { .. } => "error",
            Body::Heartbeat { .. } => "heartbeat",
            Body::CliCommand { .. } => "cli_command",
            Body::Custom { .. } => "custom",
        }
    }
}

/// The deployment environment, from a closed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Production,
    Staging,
    Development,
    Test,
    /// Set to something else: the value itself is not sent.
    Other,
}

impl Environment {
    /// Every value, in order.
    pub const ALL: [Environment; 5] = [
        Environment::Production,
        Environment::Staging,
        Environment::Development,
        Environment::Test,
        Environment::Other,
    ];

    /// Maps the variable's value; unset means production.
    pub fn from_setting(value: Option<&str>) -> Environment {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "production" | "prod") => Environment::Production,
            Some("staging" | "stage") => Environment::Staging,
            Some("development" | "dev" | "local") => Environment::Development,
            Some("test" | "testing") => Environment::Test,
            Some(_) => Environment::Other,
        }
    }
}

/// Which features the host's binary uses: whether any annotated fn has each one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FeatureUse {
    pub flow_decorator: bool,
    pub task_decorator: bool,
    pub async_tasks: bool,
    pub methods: bool,
    pub generics: bool,
    pub retries: bool,
    pub retry_delay: bool,
    pub caching: bool,
    pub cache_ttl: bool,
}

/// Counts since the previous batch, summed over all annotated fns of a kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub flows_defined: u64,
    pub tasks_defined: u64,
    pub flow_runs: Calls,
    pub task_runs: Calls,
    pub retry_attempts: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub flow_durations: Durations,
    pub task_durations: Durations,
    /// Discrete events dropped because the queue was full (never the events themselves).
    pub dropped_events: u64,
}

/// Completed calls and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    pub calls: u64,
    pub ok: u64,
    pub err: u64,
    pub panics: u64,
}

/// Completed calls per run-duration bucket (approximate: a 100 ms clock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Durations {
    #[serde(rename = "<1s")]
    pub under_1s: u64,
    #[serde(rename = "1-10s")]
    pub s1_10: u64,
    #[serde(rename = "10-60s")]
    pub s10_60: u64,
    #[serde(rename = "1-5min")]
    pub m1_5: u64,
    #[serde(rename = "5-30min")]
    pub m5_30: u64,
    #[serde(rename = ">30min")]
    pub over_30min: u64,
}

impl Durations {
    /// From counts in the order of the buckets.
    pub fn from_buckets(b: [u64; 6]) -> Durations {
        Durations {
            under_1s: b[0],
            s1_10: b[1],
            s10_60: b[2],
            m1_5: b[3],
            m5_30: b[4],
            over_30min: b[5],
        }
    }
}

/// A command line with every value masked: only host-declared words (the program, known
/// subcommands and flag names) and `*****`. Made only by [`Commands::mask`](crate::Commands::mask).
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

impl Serialize for MaskedCommand {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A field of a custom event. No variant can hold text the host did not write in its
/// source: integers are sent as a range, choices are declared enum variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    Bool(bool),
    /// An integer, as the range it falls in.
    Count(Bucket),
    /// A variant of an enum deriving `telemetry::EventValue`, in snake case.
    Choice(Name),
    Version(Version),
    /// An `Option` field that was `None`.
    Absent,
}

impl Serialize for FieldValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Bool(b) => s.serialize_bool(*b),
            FieldValue::Count(bucket) => s.serialize_str(bucket.label()),
            FieldValue::Choice(name) => name.serialize(s),
            FieldValue::Version(version) => version.serialize(s),
            FieldValue::Absent => s.serialize_none(),
        }
    }
}

/// The range an integer of a custom event falls in: an exact count could single out a
/// user (a file size, a row count), a range cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    Negative,
    Zero,
    One,
    From2To5,
    From6To10,
    From11To100,
    From101To1000,
    From1001To10000,
    Over10000,
}

impl Bucket {
    /// Every bucket, in order.
    pub const ALL: [Bucket; 9] = [
        Bucket::Negative,
        Bucket::Zero,
        Bucket::One,
        Bucket::From2To5,
        Bucket::From6To10,
        Bucket::From11To100,
        Bucket::From101To1000,
        Bucket::From1001To10000,
        Bucket::Over10000,
    ];

    /// The bucket of `n`.
    ///
    /// ```
    /// use telemetry_runtime::Bucket;
    ///
    /// assert_eq!(Bucket::of(7).label(), "6-10");
    /// assert_eq!(Bucket::of(-3).label(), "<0");
    /// ```
    pub fn of(n: i128) -> Bucket {
        match n {
            ..0 => Bucket::Negative,
            0 => Bucket::Zero,
            1 => Bucket::One,
            2..=5 => Bucket::From2To5,
            6..=10 => Bucket::From6To10,
            11..=100 => Bucket::From11To100,
            101..=1000 => Bucket::From101To1000,
            1001..=10000 => Bucket::From1001To10000,
            _ => Bucket::Over10000,
        }
    }

    /// What is sent.
    pub fn label(self) -> &'static str {
        match self {
            Bucket::Negative => "<0",
            Bucket::Zero => "0",
            Bucket::One => "1",
            Bucket::From2To5 => "2-5",
            Bucket::From6To10 => "6-10",
            Bucket::From11To100 => "11-100",
            Bucket::From101To1000 => "101-1000",
            Bucket::From1001To10000 => "1001-10000",
            Bucket::Over10000 => ">10000",
        }
    }
}

/// `errors.exception_types`: how often each error type occurred.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Errors {
    pub exception_types: BTreeMap<ErrorType, u64>,
}

/// The type of an error, from an allowlist of public types; never a message. Anything not
/// on the list is `other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorType {
    /// `std::io::Error`, with its kind.
    Io(IoKind),
    ParseInt,
    ParseFloat,
    ParseBool,
    ParseChar,
    AddrParse,
    Utf8,
    FromUtf8,
    TryFromInt,
    Fmt,
    SystemTime,
    /// The body panicked.
    Panic,
    /// A type the host declared safe to name; made only by [`ErrorType::named`], which
    /// checks the name.
    Named(HostTypeName),
    /// Any other type.
    Other,
}

/// The `std::io::ErrorKind`s we name; any other kind is `other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IoKind {
    NotFound,
    PermissionDenied,
    ConnectionRefused,
    ConnectionReset,
    ConnectionAborted,
    NotConnected,
    AddrInUse,
    AddrNotAvailable,
    BrokenPipe,
    AlreadyExists,
    WouldBlock,
    InvalidInput,
    InvalidData,
    TimedOut,
    WriteZero,
    Interrupted,
    Unsupported,
    UnexpectedEof,
    OutOfMemory,
    Other,
}

impl IoKind {
    /// Every kind, in order.
    pub const ALL: [IoKind; 20] = [
        IoKind::NotFound,
        IoKind::PermissionDenied,
        IoKind::ConnectionRefused,
        IoKind::ConnectionReset,
        IoKind::ConnectionAborted,
        IoKind::NotConnected,
        IoKind::AddrInUse,
        IoKind::AddrNotAvailable,
        IoKind::BrokenPipe,
        IoKind::AlreadyExists,
        IoKind::WouldBlock,
        IoKind::InvalidInput,
        IoKind::InvalidData,
        IoKind::TimedOut,
        IoKind::WriteZero,
        IoKind::Interrupted,
        IoKind::Unsupported,
        IoKind::UnexpectedEof,
        IoKind::OutOfMemory,
        IoKind::Other,
    ];

    /// Maps a kind onto the named set.
    pub fn of(kind: std::io::ErrorKind) -> IoKind {
        use std::io::ErrorKind as K;
        match kind {
            K::NotFound => IoKind::NotFound,
            K::PermissionDenied => IoKind::PermissionDenied,
            K::ConnectionRefused => IoKind::ConnectionRefused,
            K::ConnectionReset => IoKind::ConnectionReset,
            K::ConnectionAborted => IoKind::ConnectionAborted,
            K::NotConnected => IoKind::NotConnected,
            K::AddrInUse => IoKind::AddrInUse,
            K::AddrNotAvailable => IoKind::AddrNotAvailable,
            K::BrokenPipe => IoKind::BrokenPipe,
            K::AlreadyExists => IoKind::AlreadyExists,
            K::WouldBlock => IoKind::WouldBlock,
            K::InvalidInput => IoKind::InvalidInput,
            K::InvalidData => IoKind::InvalidData,
            K::TimedOut => IoKind::TimedOut,
            K::WriteZero => IoKind::WriteZero,
            K::Interrupted => IoKind::Interrupted,
            K::Unsupported => IoKind::Unsupported,
            K::UnexpectedEof => IoKind::UnexpectedEof,
            K::OutOfMemory => IoKind::OutOfMemory,
            _ => IoKind::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            IoKind::NotFound => "std::io::Error(NotFound)",
            IoKind::PermissionDenied => "std::io::Error(PermissionDenied)",
            IoKind::ConnectionRefused => "std::io::Error(ConnectionRefused)",
            IoKind::ConnectionReset => "std::io::Error(ConnectionReset)",
            IoKind::ConnectionAborted => "std::io::Error(ConnectionAborted)",
            IoKind::NotConnected => "std::io::Error(NotConnected)",
            IoKind::AddrInUse => "std::io::Error(AddrInUse)",
            IoKind::AddrNotAvailable => "std::io::Error(AddrNotAvailable)",
            IoKind::BrokenPipe => "std::io::Error(BrokenPipe)",
            IoKind::AlreadyExists => "std::io::Error(AlreadyExists)",
            IoKind::WouldBlock => "std::io::Error(WouldBlock)",
            IoKind::InvalidInput => "std::io::Error(InvalidInput)",
            IoKind::InvalidData => "std::io::Error(InvalidData)",
            IoKind::TimedOut => "std::io::Error(TimedOut)",
            IoKind::WriteZero => "std::io::Error(WriteZero)",
            IoKind::Interrupted => "std::io::Error(Interrupted)",
            IoKind::Unsupported => "std::io::Error(Unsupported)",
            IoKind::UnexpectedEof => "std::io::Error(UnexpectedEof)",
            IoKind::OutOfMemory => "std::io::Error(OutOfMemory)",
            IoKind::Other => "std::io::Error(Other)",
        }
    }
}

impl ErrorType {
    /// Every type named by this crate (all but the host's own, [`ErrorType::Named`]).
    pub fn all() -> impl Iterator<Item = ErrorType> {
        IoKind::ALL.into_iter().map(ErrorType::Io).chain([
            ErrorType::ParseInt,
            ErrorType::ParseFloat,
            ErrorType::ParseBool,
            ErrorType::ParseChar,
            ErrorType::AddrParse,
            ErrorType::Utf8,
            ErrorType::FromUtf8,
            ErrorType::TryFromInt,
            ErrorType::Fmt,
            ErrorType::SystemTime,
            ErrorType::Panic,
            ErrorType::Other,
        ])
    }

    /// The name sent on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ErrorType::Io(kind) => kind.name(),
            ErrorType::ParseInt => "core::num::ParseIntError",
            ErrorType::ParseFloat => "core::num::ParseFloatError",
            ErrorType::ParseBool => "core::str::ParseBoolError",
            ErrorType::ParseChar => "core::char::ParseCharError",
            ErrorType::AddrParse => "core::net::AddrParseError",
            ErrorType::Utf8 => "core::str::Utf8Error",
            ErrorType::FromUtf8 => "alloc::string::FromUtf8Error",
            ErrorType::TryFromInt => "core::num::TryFromIntError",
            ErrorType::Fmt => "core::fmt::Error",
            ErrorType::SystemTime => "std::time::SystemTimeError",
            ErrorType::Panic => "panic",
            ErrorType::Named(name) => name.0,
            ErrorType::Other => "other",
        }
    }

    /// The host's own error type, reported by the name written in its source, for hosts
    /// that implement [`KnownError`](crate::KnownError) for their error types. The name must
    /// look like a Rust type path (`acme::FetchError`: identifiers joined by `::`, at most
    /// 64 bytes, not `panic`, `other` or a path in `std`, `core` or `alloc`); anything else is
    /// reported as `other`.
    ///
    /// ```
    /// use telemetry_runtime::{ErrorType, KnownError};
    ///
    /// #[derive(Debug)]
    /// pub struct FetchError(String); // the message is never read
    ///
    /// impl KnownError for FetchError {
    ///     fn error_type(&self) -> ErrorType {
    ///         ErrorType::named("acme::FetchError")
    ///     }
    /// }
    ///
    /// let e = FetchError("timed out talking to db-7.internal".into());
    /// assert_eq!(e.error_type().name(), "acme::FetchError");
    /// assert_eq!(ErrorType::named("no spaces allowed").name(), "other");
    /// ```
    pub const fn named(name: &'static str) -> ErrorType {
        // A host's name may not pose as one of ours (one key, one meaning): ours are `panic`,
        // `other` and paths in `std`, `core` and `alloc`, where no host type can live. A
        // `const fn` with no lookup, as a host calls it on every error it returns.
        if is_type_path(name) && !is_reserved(name) {
            ErrorType::Named(HostTypeName(name))
        } else {
            ErrorType::Other
        }
    }
}

/// The name of a host's own error type, checked by [`ErrorType::named`]; it cannot be made
/// any other way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostTypeName(&'static str);

/// Names only this crate may report.
const fn is_reserved(name: &str) -> bool {
    const fn starts_with(name: &[u8], prefix: &[u8]) -> bool {
        if name.len() < prefix.len() {
            return false;
        }
        let mut i = 0;
        while i < prefix.len() {
            if name[i] != prefix[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    let b = name.as_bytes();
    (starts_with(b, b"panic") && b.len() == 5)
        || (starts_with(b, b"other") && b.len() == 5)
        || starts_with(b, b"std::")
        || starts_with(b, b"core::")
        || starts_with(b, b"alloc::")
}

/// `ident(::ident)*`, ASCII, at most 64 bytes.
pub(crate) const fn is_type_path(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > 64 {
        return false;
    }
    let mut i = 0;
    let mut at_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b':' {
            if at_start || i + 2 >= b.len() || b[i + 1] != b':' {
                return false;
            }
            i += 2;
            at_start = true;
            continue;
        }
        let ok = if at_start {
            c.is_ascii_alphabetic() || c == b'_'
        } else {
            c.is_ascii_alphanumeric() || c == b'_'
        };
        if !ok {
            return false;
        }
        at_start = false;
        i += 1;
    }
    !at_start
}

impl Serialize for ErrorType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_truncated_and_formatted() {
        assert_eq!(Hour::from_unix_secs(0).to_string(), "1970-01-01T00:00:00Z");
        // 2026-11-21 04:59:59 UTC
        assert_eq!(
            Hour::from_unix_secs(1_795_237_199).to_string(),
            "2026-11-21T04:00:00Z"
        );
        assert_eq!(
            Hour::from_unix_secs(1_795_237_200).to_string(),
            "2026-11-21T05:00:00Z"
        );
        assert_eq!(Hour::from_unix_secs(-1).to_string(), "1969-12-31T23:00:00Z");
    }

    #[test]
    fn versions_cannot_carry_free_text() {
        for ok in [
            "1",
            "0.1.0",
            "1.95.0",
            "2.0.0-beta.1",
            "1.0.0-rc2",
            "3.1.4-dev",
        ] {
            assert_eq!(Version::new(ok).as_str(), ok);
        }
        for bad in [
            "",
            "v1.0",
            "1.0 beta",
            "1..0",
            "/home/alice",
            "1.0.0-alice@example.com",
            "1.0.0-an-extremely-long-tag-that-could-hold-a-name",
            "1.0\n",
            "1.0.0+build.7",
            "1.0.0-alice",
            "1.0.0+alice-laptop",
            // Numbers can spell text too: length and tag parts are capped.
            "1.0.0-97.108.105.99.101",
            "123456789.123456789.123456789.1234",
        ] {
            assert_eq!(Version::new(bad).as_str(), "invalid", "{bad:?}");
        }
    }

    #[test]
    fn names_are_short_lowercase_identifiers() {
        assert!(Name::new("serde").is_some());
        assert!(Name::new("tokio-runtime_2").is_some());
        for bad in ["", "Serde", "a b", "/tmp", "1abc", "x".repeat(33).leak()] {
            assert!(Name::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn host_error_names_must_be_type_paths() {
        for ok in ["FetchError", "acme::FetchError", "a::b::C_2", "_x"] {
            assert_eq!(ErrorType::named(ok).name(), ok);
        }
        for bad in [
            "",
            "acme::",
            "::acme",
            "acme:::x",
            "acme:x",
            "a b",
            "2fast",
            "/home/alice",
            "acme::Error(timed out)",
            "ünicode",
            "x".repeat(65).leak(),
            // Our own names cannot be claimed.
            "panic",
            "other",
            "core::num::ParseIntError",
        ] {
            assert_eq!(ErrorType::named(bad), ErrorType::Other, "{bad:?}");
        }
    }

    #[test]
    fn every_name_of_ours_is_reserved() {
        for e in ErrorType::all() {
            assert!(is_reserved(e.name()), "{}", e.name());
        }
    }

    #[test]
    fn integers_are_sent_as_ranges() {
        let labels: Vec<&str> = [
            -5, 0, 1, 2, 5, 6, 10, 11, 100, 101, 1000, 1001, 10000, 10001,
        ]
        .into_iter()
        .map(|n| Bucket::of(n).label())
        .collect();
        assert_eq!(
            labels,
            [
                "<0",
                "0",
                "1",
                "2-5",
                "2-5",
                "6-10",
                "6-10",
                "11-100",
                "11-100",
                "101-1000",
                "101-1000",
                "1001-10000",
                "1001-10000",
                ">10000"
            ]
        );
        assert_eq!(Bucket::of(i128::MAX), Bucket::Over10000);
    }

    #[test]
    fn custom_events_serialise_names_and_ranges_only() {
        let body = Body::Custom {
            name: Name::new("deploy_finished").unwrap(),
            fields: [
                ("dry_run", FieldValue::Bool(true)),
                ("targets", FieldValue::Count(Bucket::of(7))),
                ("mode", FieldValue::Choice(Name::new("blue_green").unwrap())),
                ("plugin", FieldValue::Version(Version::new("2.1.0"))),
                ("region", FieldValue::Absent),
            ]
            .into_iter()
            .map(|(k, v)| (Name::new(k).unwrap(), v))
            .collect(),
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"event_type":"custom","name":"deploy_finished","fields":{"dry_run":true,"mode":"blue_green","plugin":"2.1.0","region":null,"targets":"6-10"}}"#
        );
    }

    #[test]
    fn environment_values_map_onto_a_closed_set() {
        assert_eq!(Environment::from_setting(None), Environment::Production);
        assert_eq!(
            Environment::from_setting(Some("Staging")),
            Environment::Staging
        );
        assert_eq!(
            Environment::from_setting(Some("dev")),
            Environment::Development
        );
        assert_eq!(
            Environment::from_setting(Some("alice-laptop")),
            Environment::Other
        );
    }

    #[test]
    fn an_event_serialises_with_the_spec_keys() {
        let id = Id::parse("00000000-0000-4000-8000-000000000000").unwrap();
        let event = Event {
            event_id: id,
            session_id: id,
            installation_id: None,
            timestamp: Hour::from_unix_secs(3600 * 24),
            sdk_version: Version::new("0.1.0"),
            app_version: Version::new("2.3.4"),
            rust_version: Version::new("1.95.0"),
            os: "linux",
            arch: "x86_64",
            body: Body::Error {
                errors: Errors {
                    exception_types: [(ErrorType::Io(IoKind::NotFound), 2), (ErrorType::Panic, 1)]
                        .into_iter()
                        .collect(),
                },
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event_type"], "error");
        assert_eq!(json["timestamp"], "1970-01-02T00:00:00Z");
        assert!(json.get("installation_id").is_none());
        assert_eq!(
            json["errors"]["exception_types"]["std::io::Error(NotFound)"],
            2
        );
        assert_eq!(json["errors"]["exception_types"]["panic"], 1);
        for key in [
            "event_id",
            "session_id",
            "sdk_version",
            "app_version",
            "rust_version",
            "os",
            "arch",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
