//! An `http://` or `https://` URL, split into what a request needs: where to connect, what to
//! put in `Host:`, and the path. Strict: a URL this refuses is one we would not want to send
//! to, and the host checked by the endpoint rules is exactly the host connected to.

use std::fmt;

/// A parsed `http(s)://[userinfo@]host[:port][/path][?query][#fragment]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    pub(crate) https: bool,
    /// `user[:password]`, still percent-encoded, if the URL has one.
    pub(crate) userinfo: Option<String>,
    /// As written: a name, an IPv4 address, or `[an IPv6 address]`.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Whether the URL named the port (then `Host:` names it too).
    explicit_port: bool,
    /// The path and query sent in the request line (`/` when the URL has none).
    pub(crate) target: String,
    /// Where the path ends in `target` (the query, if any, follows).
    path_len: usize,
}

/// Why a URL was refused; the endpoint rules turn this into their own errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlError {
    /// Not `scheme://authority…`, or characters no URL has.
    Malformed,
    /// A port that is empty, not a number, or outside 1–65535.
    BadPort,
}

impl HttpUrl {
    /// Parses `s` (already trimmed), whose scheme is `http` or `https` in any case.
    pub(crate) fn parse(s: &str) -> Result<HttpUrl, UrlError> {
        let (scheme, rest) = s.split_once("://").ok_or(UrlError::Malformed)?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(UrlError::Malformed),
        };
        if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::Malformed);
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(end);
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((info, host_port)) => (Some(info.to_owned()), host_port),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port)?;
        if host.is_empty() || !is_host(host) {
            return Err(UrlError::Malformed);
        }
        let explicit_port = port.is_some();
        let port = match port {
            Some(text) => parse_port(text)?,
            None if https => 443,
            None => 80,
        };
        let without_fragment = after.split('#').next().unwrap_or("");
        let mut target = String::new();
        if !without_fragment.starts_with('/') {
            target.push('/');
        }
        target.push_str(without_fragment);
        let path_len = target.find('?').unwrap_or(target.len());
        Ok(HttpUrl {
            https,
            userinfo,
            host: host.to_owned(),
            port,
            explicit_port,
            target,
            path_len,
        })
    }

    /// The host to resolve and connect to (an IPv6 address without its brackets).
    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub(crate) fn connect_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }

    /// What `Host:` says: the host, and the port if the URL named it.
    pub(crate) fn host_header(&self) -> String {
        if self.explicit_port {
            format!("{}:{}", self.host, self.port)
        } else {
            self.host.clone()
        }
    }
}

/// The URL without what may hold a secret (user info, query, fragment): what `status`
/// shows.
impl HttpUrl {
    /// The URL a request goes to, user info and query included (what a host transport is
    /// given); unlike [`Display`](fmt::Display), which hides them.
    pub(crate) fn to_request_url(&self) -> String {
        format!("{}{}", self.origin(), self.target)
    }

    /// This URL with its last path segment replaced by `segment`, its query dropped:
    /// `https://t.example/v1/batch?k=v` → `https://t.example/v1/<segment>`.
    pub(crate) fn sibling(&self, segment: &str) -> String {
        let path = &self.target[..self.path_len];
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{}{dir}/{segment}", self.origin())
    }

    /// `scheme://[userinfo@]host[:port]`.
    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let userinfo = self
            .userinfo
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{userinfo}{}", self.host_header())
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(
            f,
            "{scheme}://{}{}",
            self.host_header(),
            &self.target[..self.path_len]
        )
    }
}

/// `host[:port]`, `[v6][:port]`.
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), UrlError> {
    if s.starts_with('[') {
        let close = s.find(']').ok_or(UrlError::Malformed)?;
        let (host, rest) = s.split_at(close + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err(UrlError::Malformed),
        };
    }
    Ok(match s.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (s, None),
    })
}

fn parse_port(text: &str) -> Result<u16, UrlError> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::BadPort);
    }
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(UrlError::BadPort),
    }
}

/// A registered name or IPv4 address (letters, digits, `-`, `.`, `_`), or `[IPv6]`.
fn is_host(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')),
    }
}

/// `Basic <base64 of user:password>`, percent-escapes in the URL's user info decoded.
#[cfg_attr(not(telemetry_client), allow(dead_code))]
pub(crate) fn basic_auth(userinfo: &str) -> String {
    let plain: Vec<u8> = percent_encoding::percent_decode_str(userinfo).collect();
    format!("Basic {}", base64(&plain))
}

/// Standard base64 with padding: only ever a header value, so a few lines beat a crate.
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_what_a_request_needs() {
        let url = HttpUrl::parse("HTTPS://me:pw@T.example.com:8443/x/y?k=v#frag").unwrap();
        assert!(url.https);
        assert_eq!(url.userinfo.as_deref(), Some("me:pw"));
        assert_eq!((url.host.as_str(), url.port), ("T.example.com", 8443));
        assert_eq!(url.target, "/x/y?k=v");
        assert_eq!(url.host_header(), "T.example.com:8443");
        assert_eq!(url.to_string(), "https://T.example.com:8443/x/y");

        let url = HttpUrl::parse("http://[::1]:9/v1").unwrap();
        assert_eq!((url.connect_host(), url.port), ("::1", 9));
        assert_eq!(url.host_header(), "[::1]:9");
        let url = HttpUrl::parse("https://t.example.com").unwrap();
        assert_eq!((url.port, url.target.as_str()), (443, "/"));
        assert_eq!(url.host_header(), "t.example.com");
        assert_eq!(HttpUrl::parse("http://h?q").unwrap().target, "/?q");
    }

    #[test]
    fn basic_auth_is_base64_of_the_decoded_user_info() {
        assert_eq!(
            basic_auth("Aladdin:open%20sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn refuses_bad_ports_and_hosts() {
        for bad in [
            "https://h:",
            "https://h:0",
            "https://h:99999",
            "https://h:8x",
            "https://h:-1",
        ] {
            assert_eq!(HttpUrl::parse(bad), Err(UrlError::BadPort), "{bad}");
        }
        for bad in [
            "https://",
            "https:///path",
            "https://a b/",
            "https://h/p q",
            "https://[::1/",
            "https://[zz]/",
            "https://h:1:2/",
            "https://h\n/",
            "ftp://h/",
            "https:/h",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
