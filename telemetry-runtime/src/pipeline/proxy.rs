//! A corporate HTTP proxy from the environment, for `https://` endpoints only: `HTTPS_PROXY`
//! (or `https_proxy`, `ALL_PROXY`, `all_proxy`) naming an `http://` proxy that accepts
//! `CONNECT`, unless `NO_PROXY` (or `no_proxy`) lists the endpoint's host. A loopback
//! endpoint never goes through a proxy. SOCKS and `https://` proxies are not supported and
//! are ignored (the endpoint is then tried directly).

use crate::base::env::Env;
use crate::pipeline::url::{HttpUrl, basic_auth};

/// Where to tunnel through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Proxy-Authorization`, from the proxy URL's user info.
    pub(crate) authorization: Option<String>,
}

impl Proxy {
    /// The proxy `env` names for `url`, if any applies.
    pub(crate) fn for_url(env: &Env, url: &HttpUrl) -> Option<Proxy> {
        if !url.https {
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
        Some(Proxy {
            host: url.connect_host().to_owned(),
            port: url.port,
            authorization: url.userinfo.as_deref().map(basic_auth),
        })
    }
}

/// Whether `NO_PROXY` (comma-separated hosts and domain suffixes, `*` for all) lists `host`.
fn bypassed(no_proxy: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.to_ascii_lowercase();
        let domain = entry.trim_start_matches('.');
        entry == "*"
            || (!domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}"))))
    })
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
        assert!(Proxy::for_url(&with(""), &url("http://127.0.0.1:9/v1")).is_none());
        for unsupported in ["socks5://proxy:1080", "https://proxy:443"] {
            let env = Env::from_pairs([("HTTPS_PROXY", unsupported)]);
            assert!(Proxy::for_url(&env, &target).is_none(), "{unsupported}");
        }
    }
}
