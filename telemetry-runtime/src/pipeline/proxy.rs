//! A corporate HTTP proxy from the environment, for `https://` endpoints only: `HTTPS_PROXY`
//! (or `https_proxy`, `ALL_PROXY`, `all_proxy`) naming an `http://` proxy that accepts
//! `CONNECT`, unless `NO_PROXY` (or `no_proxy`) lists the endpoint's host, read as curl
//! reads it. A loopback endpoint (`localhost`, `127.0.0.0/8`, `::1`), `http://` or
//! `https://`, never goes through a proxy. SOCKS and `https://` proxies are not supported
//! and are ignored (the endpoint is then tried directly).

use std::net::IpAddr;

use crate::base::env::Env;
use crate::pipeline::url::{HttpUrl, basic_auth};

/// Where to tunnel through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Proxy-Authorization`, from the proxy URL's user info.
    pub(crate) authorization: Option<String>,
    /// The user info itself, decoded, for a client that writes the header itself (ureq).
    #[cfg_attr(not(feature = "ureq"), allow(dead_code))]
    pub(crate) user: Option<String>,
    #[cfg_attr(not(feature = "ureq"), allow(dead_code))]
    pub(crate) password: Option<String>,
}

impl Proxy {
    /// The proxy `env` names for `url`, if any applies.
    pub(crate) fn for_url(env: &Env, url: &HttpUrl) -> Option<Proxy> {
        if !url.https || is_loopback(url.connect_host()) {
            return None;
        }
        let value = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .find_map(|name| env.get(name).filter(|v| !v.trim().is_empty()))?;
        let no_proxy = ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|name| env.get(name))
            .unwrap_or_default();
        if bypassed(&no_proxy, url.connect_host()) {
            return None;
        }
        Proxy::parse(value.trim())
    }

    /// `http://[user:password@]host[:port]`, or `host:port` alone (port 80 by default when
    /// not given).
    fn parse(value: &str) -> Option<Proxy> {
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let url = HttpUrl::parse(&with_scheme).ok()?;
        if url.https {
            return None;
        }
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8_lossy()
                .into_owned()
        };
        let (user, password) = match url.userinfo.as_deref().map(|u| u.split_once(':')) {
            Some(Some((user, password))) => (Some(decode(user)), Some(decode(password))),
            Some(None) => (url.userinfo.as_deref().map(decode), None),
            None => (None, None),
        };
        Some(Proxy {
            host: url.connect_host().to_owned(),
            port: url.port,
            authorization: url.userinfo.as_deref().map(basic_auth),
            user,
            password,
        })
    }
}

/// Whether `host` is this machine: `localhost` (and names under it), or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `NO_PROXY` lists `host`, as curl reads it: comma-separated entries, spaces around
/// them and case ignored; `*` alone matches every host; an IP address matches that address
/// and `ADDRESS/BITS` every address in that network (IPv6 in brackets or not); a name
/// matches itself and every name under it, with or without a leading dot
/// (`example.com`, `.example.com`); a trailing dot is ignored on both sides.
fn bypassed(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_end_matches('.').to_ascii_lowercase();
        if entry == "*" {
            return true;
        }
        let (address, bits) = match entry.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (entry.as_str(), None),
        };
        let address = address.trim_start_matches('[').trim_end_matches(']');
        if let Ok(net) = address.parse::<IpAddr>() {
            return host_ip.is_some_and(|ip| match bits {
                None => ip == net,
                Some(bits) => bits
                    .parse::<u32>()
                    .is_ok_and(|bits| in_network(ip, net, bits)),
            });
        }
        let domain = entry.trim_start_matches('.');
        host_ip.is_none()
            && !domain.is_empty()
            && (host == domain || host.ends_with(&format!(".{domain}")))
    })
}

/// Whether `ip` is in the network `net/bits` (both of one family).
fn in_network(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    // `checked_shr`: a /0 network shifts by the whole width, and matches everything.
    ip.checked_shr(shift).unwrap_or(0) == net.checked_shr(shift).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> HttpUrl {
        HttpUrl::parse(s).unwrap()
    }

    #[test]
    fn the_environment_names_the_proxy() {
        let env = Env::from_pairs([("HTTPS_PROXY", "http://me:pw@proxy.corp:3128")]);
        let proxy = Proxy::for_url(&env, &url("https://t.example.com/v1")).unwrap();
        assert_eq!((proxy.host.as_str(), proxy.port), ("proxy.corp", 3128));
        assert_eq!(proxy.authorization.as_deref(), Some("Basic bWU6cHc="));
        assert_eq!(
            (proxy.user.as_deref(), proxy.password.as_deref()),
            (Some("me"), Some("pw"))
        );
        let env = Env::from_pairs([("all_proxy", "proxy.corp:8080")]);
        assert_eq!(
            Proxy::for_url(&env, &url("https://t.example.com")).map(|p| p.port),
            Some(8080)
        );
    }

    #[test]
    fn no_proxy_loopback_and_unsupported_proxies_go_direct() {
        let with = |no_proxy: &str| {
            Env::from_pairs([("HTTPS_PROXY", "http://proxy:3128"), ("NO_PROXY", no_proxy)])
        };
        let target = url("https://api.t.example.com/v1");
        assert!(Proxy::for_url(&with(""), &target).is_some());
        for bypass in ["*", "t.example.com", ".example.com", "x, api.t.example.com"] {
            assert!(Proxy::for_url(&with(bypass), &target).is_none(), "{bypass}");
        }
        assert!(Proxy::for_url(&with("ample.com"), &target).is_some());
        // Loopback goes direct, http or https, whatever NO_PROXY says.
        for local in [
            "http://127.0.0.1:9/v1",
            "https://127.0.0.1:9/v1",
            "https://127.8.9.10/v1",
            "https://[::1]:9/v1",
            "https://localhost:9/v1",
            "https://api.localhost/v1",
        ] {
            assert!(Proxy::for_url(&with(""), &url(local)).is_none(), "{local}");
        }
        for unsupported in ["socks5://proxy:1080", "https://proxy:443"] {
            let env = Env::from_pairs([("HTTPS_PROXY", unsupported)]);
            assert!(Proxy::for_url(&env, &target).is_none(), "{unsupported}");
        }
    }

    /// `NO_PROXY` entries as curl matches them.
    #[test]
    fn no_proxy_reads_as_curl_reads_it() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "anything.example", true),
            ("example.com", "example.com", true),
            ("example.com", "api.example.com", true),
            (".example.com", "example.com", true),
            ("EXAMPLE.com.", "Api.Example.COM", true),
            ("example.com", "notexample.com", false),
            ("  x.org , example.com ", "example.com", true),
            ("10.0.0.5", "10.0.0.5", true),
            ("10.0.0.5", "10.0.0.50", false),
            ("10.0.0.0/8", "10.20.30.40", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.77", true),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("::1", "::1", true),
            ("[fd00::]/8", "fd12::3", true),
            ("fd00::/8", "fe80::1", false),
            ("10.0.0.0/33", "10.0.0.1", false),
            ("example.com", "10.0.0.1", false),
            ("10.0.0.0/8", "ten.example", false),
            ("", "example.com", false),
            (",,", "example.com", false),
        ];
        for (no_proxy, host, bypass) in cases {
            assert_eq!(
                bypassed(no_proxy, host),
                *bypass,
                "NO_PROXY={no_proxy:?} {host}"
            );
        }
    }
}
