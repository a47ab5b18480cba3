//! The deletion request (`disable --delete-data`, `reset --delete-data`): one `DELETE` of
//! the installation's data, to the collector the batches went to. The only request ever made
//! after a user said no, and only when they ask for it.
//!
//! It follows the rules batches follow: only `https://` (plain `http://` to loopback
//! only), the same TLS roots, proxy and timeouts, no redirects, and a hard bound: the whole
//! exchange ends within the config's flush timeout.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::pipeline::client::TransportOptions;
use crate::pipeline::endpoint::Endpoint;
#[cfg(telemetry_client)]
use crate::pipeline::proxy::Proxy;
use crate::pipeline::settings::user_agent;
use crate::wire::deliver::Delivery;

/// How a deletion request went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Deletion {
    /// The collector answered 2xx: it deleted (or never had) the installation's data.
    Confirmed,
    /// The collector answered, but not 2xx: this status.
    Refused(u16),
    /// No answer within the time allowed (offline, refused, too slow, a TLS failure).
    NoAnswer,
    /// There is nowhere to send it: no endpoint, a file endpoint, or one that is not
    /// allowed; the text says which.
    Nowhere(&'static str),
}

const NOT_ALLOWED: &str = "the endpoint is not one batches may be sent to";
const FILE_ENDPOINT: &str = "a file endpoint has no collector to ask";

/// Where the deletion request for `id` goes: `Config::deletion_endpoint` with `{id}`
/// replaced, or the batch endpoint with its last path segment replaced by
/// `installations/<id>` (its query and fragment dropped): `https://t.example/v1/batch` →
/// `https://t.example/v1/installations/<id>`.
pub(crate) fn deletion_url(config: &Config, id: &str) -> Result<String, &'static str> {
    if let Some(template) = &config.deletion_endpoint {
        return Ok(template.replace("{id}", id));
    }
    let endpoint = config
        .effective_endpoint()
        .ok_or("no endpoint is configured")?;
    let url = Endpoint::parse(&endpoint)
        .map_err(|_| NOT_ALLOWED)?
        .url()
        .ok_or(FILE_ENDPOINT)?;
    Ok(url.sibling(&format!("installations/{id}")))
}

/// Sends the deletion request for installation `id`, within the config's flush timeout.
pub(crate) fn request_deletion(config: &Config, id: &str) -> Deletion {
    let url = match deletion_url(config, id) {
        Ok(url) => url,
        Err(why) => return Deletion::Nowhere(why),
    };
    let Ok(endpoint) = Endpoint::parse(&url) else {
        return Deletion::Nowhere(NOT_ALLOWED);
    };
    let Some(http) = endpoint.url() else {
        return Deletion::Nowhere(FILE_ENDPOINT);
    };
    let options = TransportOptions::for_config(config);
    #[cfg(telemetry_client)]
    let proxy = Proxy::for_url(config.environment(), &http);
    let user_agent = user_agent();
    let mut sender = options.sender(
        "DELETE",
        http,
        &user_agent,
        #[cfg(telemetry_client)]
        proxy,
    );
    let deadline = Instant::now() + config.flush_timeout;
    // A second try only for a connection that failed, and only while time is left.
    for attempt in 0..2 {
        let attempt_deadline = deadline.min(Instant::now() + options.request_timeout);
        match sender.send(b"", attempt_deadline, options.connect_timeout) {
            Delivery::Answered { status, .. } if (200..300).contains(&status) => {
                return Deletion::Confirmed;
            }
            Delivery::Answered { status, .. } => return Deletion::Refused(status),
            Delivery::Broken => return Deletion::NoAnswer,
            Delivery::NoAnswer if attempt == 0 && Instant::now() + PAUSE < deadline => {
                std::thread::sleep(PAUSE);
            }
            Delivery::NoAnswer => return Deletion::NoAnswer,
        }
    }
    Deletion::NoAnswer
}

/// The pause before the second try.
const PAUSE: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::env::Env;

    fn config(endpoint: &str) -> Config {
        Config::new("acme", "1.0")
            .env(Env::empty())
            .endpoint(endpoint)
    }

    #[test]
    fn the_url_replaces_the_last_path_segment() {
        let id = "6f1c0000-0000-4000-8000-000000000000";
        for (endpoint, expected) in [
            (
                "https://t.example/v1/batch",
                "https://t.example/v1/installations/",
            ),
            (
                "https://t.example/v1/batch?key=s3cret#x",
                "https://t.example/v1/installations/",
            ),
            ("https://t.example", "https://t.example/installations/"),
            ("https://t.example/", "https://t.example/installations/"),
            (
                "http://127.0.0.1:8080/v1/batch",
                "http://127.0.0.1:8080/v1/installations/",
            ),
        ] {
            assert_eq!(
                deletion_url(&config(endpoint), id).unwrap(),
                format!("{expected}{id}"),
                "{endpoint}"
            );
        }
        let own = config("https://t.example/v1/batch")
            .deletion_endpoint("https://privacy.example/forget?who={id}");
        assert_eq!(
            deletion_url(&own, id).unwrap(),
            format!("https://privacy.example/forget?who={id}")
        );
        assert!(deletion_url(&Config::new("acme", "1.0").env(Env::empty()), id).is_err());
    }

    #[test]
    fn nothing_is_sent_where_batches_may_not_go() {
        let id = "6f1c0000-0000-4000-8000-000000000000";
        for endpoint in ["http://t.example/v1/batch", "file:///tmp/batches.jsonl"] {
            assert!(
                matches!(
                    request_deletion(&config(endpoint), id),
                    Deletion::Nowhere(_)
                ),
                "{endpoint}"
            );
        }
    }
}
