//! Where batches go: an endpoint string checked once, so that sending never has to.
//!
//! `https://` is the normal case; plain `http://` is accepted for loopback addresses alone;
//! `file:///absolute/path` appends batches as JSON lines (air-gapped sites, audits). Error
//! messages never repeat a URL's host, path or query: they may hold tokens.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use crate::pipeline::url::{HttpUrl, UrlError};

/// Where batches go, checked once by [`Endpoint::parse`] so that sending never has to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `https://…`, the normal case.
    Https(String),
    /// `http://…` whose host is `localhost`, an address in 127.0.0.0/8 or `::1`: a local
    /// collector or a test receiver. Never goes through a proxy.
    LoopbackHttp(String),
    /// `file:///abs/path`: each batch is appended as one JSON line (air-gapped sites, audits).
    File(PathBuf),
}

/// Why an endpoint string was refused. The message never repeats the URL's host, path or query
/// (they may hold tokens); at most it names the scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EndpointError {
    /// Empty or only whitespace.
    Empty,
    /// No `scheme://` at all, or a URL that cannot be parsed.
    Malformed,
    /// A scheme other than `https`, `http` (loopback) or `file`.
    UnsupportedScheme(String),
    /// `http://` to a host that is not a loopback address.
    PlainHttpNotLoopback,
    /// A port that is empty, not a number, or outside 1–65535.
    BadPort,
    /// `http://user@…` to loopback: never needed, and easy to misread as a host.
    Credentials,
    /// `file:` that is not `file:///absolute/path`.
    FileNotAbsolute,
    /// `file:` with a `?query` or `#fragment`.
    FileQueryOrFragment,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Empty => f.write_str("telemetry endpoint is empty"),
            EndpointError::Malformed => {
                f.write_str("telemetry endpoint is not a valid https://, http:// or file:// URL")
            }
            EndpointError::UnsupportedScheme(scheme) => write!(
                f,
                "telemetry endpoint scheme `{scheme}:` is not supported \
                 (use https://, http:// to a loopback address, or file:///absolute/path)"
            ),
            EndpointError::PlainHttpNotLoopback => f.write_str(
                "telemetry endpoint uses plain http:// to a non-loopback host; \
                 only https:// is allowed there (http:// is for 127.0.0.1, ::1 and localhost)",
            ),
            EndpointError::BadPort => {
                f.write_str("telemetry endpoint has a port that is not a number from 1 to 65535")
            }
            EndpointError::Credentials => {
                f.write_str("telemetry endpoint must not carry credentials in an http:// URL")
            }
            EndpointError::FileNotAbsolute => f.write_str(
                "telemetry file endpoint must be an absolute path written file:///absolute/path",
            ),
            EndpointError::FileQueryOrFragment => {
                f.write_str("telemetry file endpoint must not have a ?query or #fragment")
            }
        }
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    /// Checks an endpoint string (surrounding whitespace ignored).
    ///
    /// `https://host/…` is accepted; `http://` only when the host is `localhost`, an address
    /// in 127.0.0.0/8 or `[::1]`; `file:///abs/path` (percent-escapes decoded) appends JSON
    /// lines. Everything else is an [`EndpointError`].
    pub(crate) fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(EndpointError::Empty);
        }
        let Some((scheme, rest)) = s.split_once(':') else {
            return Err(EndpointError::Malformed);
        };
        if !is_scheme(scheme) {
            return Err(EndpointError::Malformed);
        }
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "file" => parse_file(rest).map(Endpoint::File),
            "https" | "http" => {
                // The same parse the transport connects with: the host checked here is the
                // host it connects to (no `http://127.0.0.1@elsewhere/` games).
                let url = HttpUrl::parse(s).map_err(|e| match e {
                    UrlError::Malformed => EndpointError::Malformed,
                    UrlError::BadPort => EndpointError::BadPort,
                })?;
                if url.https {
                    return Ok(Endpoint::Https(s.to_owned()));
                }
                if url.userinfo.is_some() {
                    return Err(EndpointError::Credentials);
                }
                if is_loopback_host(&url.host) {
                    Ok(Endpoint::LoopbackHttp(s.to_owned()))
                } else {
                    Err(EndpointError::PlainHttpNotLoopback)
                }
            }
            _ => Err(EndpointError::UnsupportedScheme(scheme)),
        }
    }
}

impl Endpoint {
    /// The URL to send to; `None` for a file endpoint.
    pub(crate) fn url(&self) -> Option<HttpUrl> {
        match self {
            Endpoint::Https(s) | Endpoint::LoopbackHttp(s) => HttpUrl::parse(s).ok(),
            Endpoint::File(_) => None,
        }
    }
}

/// The endpoint as `status` shows it: an `http(s)` URL without user info, query or
/// fragment (they may hold tokens); a file endpoint as given.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.url()) {
            (_, Some(url)) => url.fmt(f),
            (Endpoint::File(path), _) => write!(f, "file://{}", path.display()),
            _ => Ok(()),
        }
    }
}

/// RFC 3986 scheme syntax, capped in length so an error message naming it stays short.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 16
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// `rest` is what follows `file:`; only `///absolute/path` is accepted.
fn parse_file(rest: &str) -> Result<PathBuf, EndpointError> {
    let Some(path) = rest.strip_prefix("//") else {
        return Err(EndpointError::FileNotAbsolute);
    };
    // An empty authority, so the path starts with '/'; `file://host/…` is refused.
    if !path.starts_with('/') || path.len() < 2 {
        return Err(EndpointError::FileNotAbsolute);
    }
    if path.contains(['?', '#']) {
        return Err(EndpointError::FileQueryOrFragment);
    }
    // `percent_decode` passes a stray `%` through; a malformed escape is refused instead.
    let escapes_ok = path
        .split('%')
        .skip(1)
        .all(|after| after.len() >= 2 && after.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit));
    if !escapes_ok {
        return Err(EndpointError::Malformed);
    }
    path_from_bytes(percent_encoding::percent_decode_str(path).collect())
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> Result<PathBuf, EndpointError> {
    use std::os::unix::ffi::OsStringExt;
    if bytes.contains(&0) {
        return Err(EndpointError::Malformed);
    }
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> Result<PathBuf, EndpointError> {
    let s = String::from_utf8(bytes).map_err(|_| EndpointError::Malformed)?;
    // `file:///C:/dir/x` names `C:/dir/x` on Windows.
    let b = s.as_bytes();
    let s = if b.len() >= 3 && b[0] == b'/' && b[1].is_ascii_alphabetic() && b[2] == b':' {
        &s[1..]
    } else {
        &s[..]
    };
    let path = PathBuf::from(s);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(EndpointError::FileNotAbsolute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing() {
        use Endpoint as E;
        let ok: &[(&str, Endpoint)] = &[
            (
                "https://t.example.com/v1/batch",
                E::Https("https://t.example.com/v1/batch".into()),
            ),
            (
                "  https://t.example.com  ",
                E::Https("https://t.example.com".into()),
            ),
            (
                "HTTPS://T.example.com:8443/x?k=v",
                E::Https("HTTPS://T.example.com:8443/x?k=v".into()),
            ),
            (
                "http://127.0.0.1:9/v1",
                E::LoopbackHttp("http://127.0.0.1:9/v1".into()),
            ),
            (
                "http://127.8.9.10/",
                E::LoopbackHttp("http://127.8.9.10/".into()),
            ),
            (
                "http://localhost:8080/v1",
                E::LoopbackHttp("http://localhost:8080/v1".into()),
            ),
            (
                "http://LOCALHOST/",
                E::LoopbackHttp("http://LOCALHOST/".into()),
            ),
            (
                "http://[::1]:8080/v1",
                E::LoopbackHttp("http://[::1]:8080/v1".into()),
            ),
            (
                "file:///var/spool/t.jsonl",
                E::File(PathBuf::from("/var/spool/t.jsonl")),
            ),
            (
                "file:///tmp/a%20b.jsonl",
                E::File(PathBuf::from("/tmp/a b.jsonl")),
            ),
        ];
        for (input, expected) in ok {
            assert_eq!(Endpoint::parse(input).as_ref(), Ok(expected), "{input}");
        }

        use EndpointError as X;
        let bad: &[(&str, EndpointError)] = &[
            ("", X::Empty),
            ("   ", X::Empty),
            ("http://example.com/v1", X::PlainHttpNotLoopback),
            ("http://10.0.0.1/v1", X::PlainHttpNotLoopback),
            ("http://[::2]/v1", X::PlainHttpNotLoopback),
            ("http://127.1/v1", X::PlainHttpNotLoopback),
            ("http://localhost.example.com/", X::PlainHttpNotLoopback),
            ("http://127.0.0.1@example.com/", X::Credentials),
            ("ftp://127.0.0.1/x", X::UnsupportedScheme("ftp".into())),
            ("ws://localhost/x", X::UnsupportedScheme("ws".into())),
            ("garbage", X::Malformed),
            ("://nothing", X::Malformed),
            ("https://", X::Malformed),
            ("file://relative/path", X::FileNotAbsolute),
            ("file:relative", X::FileNotAbsolute),
            ("file:///tmp/x?y=1", X::FileQueryOrFragment),
            ("file:///tmp/%zz", X::Malformed),
        ];
        for (input, expected) in bad {
            assert_eq!(Endpoint::parse(input).as_ref(), Err(expected), "{input}");
        }
    }

    #[test]
    fn endpoint_errors_never_echo_host_path_or_query() {
        for input in [
            "http://secret-host.example/secret-path?secret=token",
            "ftp://secret-host/secret-path?secret=token",
            "secret-garbage-token",
            "file://secret-host/secret-path",
            "file:///secret-path?secret=token",
        ] {
            let message = Endpoint::parse(input).unwrap_err().to_string();
            assert!(!message.contains("secret"), "{input} -> {message}");
            assert!(message.starts_with("telemetry "), "{message}");
        }
        let message = Endpoint::parse("ftp://h/p").unwrap_err().to_string();
        assert!(message.contains("`ftp:`"), "{message}");
    }
}
