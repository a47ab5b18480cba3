//! Sending through blocking ureq 3 (feature `ureq`): for hosts that already have the `http`
//! crate in their tree, where the built-in client would only add a second HTTP stack
//! (docs/sending.md, "Choosing the HTTP client"). The same rules as the built-in client:
//! the same roots (the bundled web PKI ones, the system's store, the host's and the user's
//! CA certificates), the same proxy from the environment (`proxy.rs`), no redirects, the
//! request within its deadline, at most [`MAX_BODY`] of an answer read (for a refusal's
//! reason). Retries, `Retry-After`, the breaker and the exit bound stay in `transport.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::pipeline::proxy::Proxy;
use crate::pipeline::reply::{Fetched, Why, parse_retry_after, reason_of};
use crate::pipeline::url::HttpUrl;
use crate::wire::deliver::Delivery;

/// The longest answer body read; a longer one is not read.
const MAX_BODY: u64 = 16 * 1024;
/// The longest answer head ureq reads.
const MAX_HEAD: usize = 64 * 1024;

/// Sends requests of one method to one URL through ureq.
pub(crate) struct UreqClient {
    agent: ureq::Agent,
    method: &'static str,
    url: String,
}

impl UreqClient {
    /// A client for `url`, trusting `roots` (DER) besides the bundled web PKI roots; `None`
    /// roots means the CA file the user named could not be used: every send gives up.
    pub(crate) fn new(
        method: &'static str,
        url: &HttpUrl,
        user_agent: &str,
        roots: Option<&[Vec<u8>]>,
        proxy: Option<Proxy>,
    ) -> Option<UreqClient> {
        let roots = roots?;
        let certs: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .chain(
                roots
                    .iter()
                    .map(|der| Certificate::from_der(der).to_owned()),
            )
            .collect();
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(Arc::new(certs)))
            .build();
        let proxy = match proxy {
            Some(p) => {
                let mut builder = ureq::Proxy::builder(ureq::ProxyProtocol::Http)
                    .host(&p.host)
                    .port(p.port);
                if let Some(user) = &p.user {
                    builder = builder.username(user);
                }
                if let Some(password) = &p.password {
                    builder = builder.password(password);
                }
                Some(builder.build().ok()?)
            }
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_response_header_size(MAX_HEAD)
            // The proxy is ours to choose (`proxy.rs`): none from ureq's own reading of the
            // environment.
            .proxy(proxy)
            .tls_config(tls)
            .user_agent(user_agent)
            .build();
        Some(UreqClient {
            agent: config.new_agent(),
            method,
            url: url.to_request_url(),
        })
    }

    /// One request, ending by `deadline`, connecting within `connect_timeout`.
    pub(crate) fn send(
        &mut self,
        body: &[u8],
        deadline: Instant,
        connect_timeout: Duration,
    ) -> (Delivery, Option<Why>) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (Delivery::NoAnswer, None);
        }
        let sent = match self.method {
            "DELETE" => within(self.agent.delete(&self.url), left, connect_timeout).call(),
            _ => within(
                self.agent
                    .post(&self.url)
                    .header("Content-Type", "application/json"),
                left,
                connect_timeout,
            )
            .send(body),
        };
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                // Read whole (within its bound) so the connection can be reused, and for a
                // refusal's reason.
                let reason = read_body(&mut response)
                    .filter(|_| (400..500).contains(&status))
                    .and_then(|b| reason_of(&b))
                    .map(Why::Reason);
                (
                    Delivery::Answered {
                        status,
                        retry_after,
                    },
                    reason,
                )
            }
            Err(ureq::Error::ConnectProxyFailed(why)) => match proxy_status(&why) {
                Some(status) => (Delivery::Broken, Some(Why::ProxyRefused(status))),
                None => (Delivery::NoAnswer, None),
            },
            // TLS and configuration errors do not heal by retrying.
            Err(
                ureq::Error::Tls(_)
                | ureq::Error::Rustls(_)
                | ureq::Error::BadUri(_)
                | ureq::Error::InvalidProxyUrl
                | ureq::Error::TlsRequired,
            ) => (Delivery::Broken, None),
            Err(_) => (Delivery::NoAnswer, None),
        }
    }

    /// A `GET` of this client's URL, ending by `deadline`.
    pub(crate) fn fetch(&mut self, deadline: Instant, connect_timeout: Duration) -> Fetched {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Fetched::Failed;
        }
        let Ok(mut response) = within(self.agent.get(&self.url), left, connect_timeout).call()
        else {
            return Fetched::Failed;
        };
        let status = response.status().as_u16();
        Fetched::of(status, read_body(&mut response))
    }
}

/// `request`, to end within `left`, connecting within `connect_timeout` (cut to `left`).
fn within<B>(
    request: ureq::RequestBuilder<B>,
    left: Duration,
    connect_timeout: Duration,
) -> ureq::RequestBuilder<B> {
    request
        .config()
        .timeout_global(Some(left))
        .timeout_connect(Some(connect_timeout.min(left)))
        .build()
}

/// An answer's body, if it is at most [`MAX_BODY`] (a longer one is not read).
fn read_body(response: &mut ureq::http::Response<ureq::Body>) -> Option<Vec<u8>> {
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .ok()
}

/// The status of a proxy's refusal in ureq's `CONNECT proxy failed` text
/// (`proxy server responded 407/Proxy Authentication Required`), if it is one that is
/// final (a `4xx` but a timeout or a rate limit).
fn proxy_status(why: &str) -> Option<u16> {
    let status: u16 = why
        .strip_prefix("proxy server responded ")?
        .split('/')
        .next()?
        .parse()
        .ok()?;
    ((400..500).contains(&status) && ![408, 429].contains(&status)).then_some(status)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_proxy_refusal_is_read_from_ureqs_text() {
        assert_eq!(
            super::proxy_status("proxy server responded 407/Proxy Authentication Required"),
            Some(407)
        );
        assert_eq!(
            super::proxy_status("proxy server responded 403/Forbidden"),
            Some(403)
        );
        assert_eq!(
            super::proxy_status("proxy server responded 502/Bad Gateway"),
            None
        );
        assert_eq!(super::proxy_status("proxy server did not respond"), None);
    }
}
