//! The types of errors that may be reported: an allowlist of public types, and the host's
//! own by a name written in its source. Never a message.

use crate::wire::json::{Json, ToJson};

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
    #[inline]
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
    /// that implement [`KnownError`](crate::record::outcome::KnownError) for their error types. The name must
    /// look like a Rust type path (`acme::FetchError`: identifiers joined by `::`, at most
    /// 64 bytes, not `panic`, `other` or a path in `std`, `core` or `alloc`); anything else is
    /// reported as `other`.
    ///
    /// ```
    /// use telemetry::{ErrorType, KnownError};
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

/// Whether `name` is shaped like a name only this crate reports, though this release does
/// not know it: a type path in `std`, `core` or `alloc`, or `std::io::Error(Kind)`. A
/// newer runtime may name more of them; a reader counts them as `unknown`.
pub(crate) fn is_ours_shaped(name: &str) -> bool {
    let io_kind = name
        .strip_prefix("std::io::Error(")
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|kind| is_type_path(kind) && !kind.contains(':'));
    io_kind || (is_type_path(name) && is_reserved(name))
}

/// Names only this crate may report.
pub(crate) const fn is_reserved(name: &str) -> bool {
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

impl ToJson for ErrorType {
    fn to_json(&self) -> Json {
        Json::str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
