//! What an answer says beyond its status, for the built-in clients (`http.rs`, `ureq.rs`):
//! `Retry-After`, a refusal's reason, a proxy's refusal.

use std::time::Duration;

use crate::wire::json::Json;

/// What the built-in client knows of an outcome besides the `Delivery`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(telemetry_client), allow(dead_code))]
pub(crate) enum Why {
    /// The reason a `4xx` answer's body gave.
    Reason(String),
    /// The proxy answered `CONNECT` with this `4xx`: no request reached the endpoint.
    ProxyRefused(u16),
}

/// What a `GET` of the collection config brought (`pipeline/collection.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(telemetry_client), allow(dead_code))]
pub(crate) enum Fetched {
    /// `200`: the document (read whole, at most 16 KiB).
    Document(Vec<u8>),
    /// `404` or `410`: the collector serves none, so no kept config holds any more.
    Gone,
    /// Anything else: no answer, another status, a body over the bound, or a host's own
    /// transport (which only sends batches).
    Failed,
}

impl Fetched {
    /// What an answer of `status`, with `body` (if read whole), means.
    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub(crate) fn of(status: u16, body: Option<Vec<u8>>) -> Fetched {
        match (status, body) {
            (200, Some(body)) => Fetched::Document(body),
            (404 | 410, _) => Fetched::Gone,
            _ => Fetched::Failed,
        }
    }
}

/// The delay-seconds form of `Retry-After`. An HTTP-date counts as "not given" (the normal
/// backoff applies); a number too large for `u64` as "longer than any deadline".
#[cfg_attr(not(telemetry_client), allow(dead_code))]
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        value
            .parse::<u64>()
            .map(Duration::from_secs)
            .unwrap_or(Duration::MAX),
    )
}

/// The reason a refusal's body gives: a collector's `{"error": "…", "at": "…"}`, or the
/// first line of a plain-text body. Cleaned further before it is kept (`sent_log.rs`).
#[cfg_attr(not(telemetry_client), allow(dead_code))]
pub(crate) fn reason_of(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if let Some(json) = Json::parse(text) {
        let error = json.get("error").and_then(Json::as_str)?;
        return Some(match json.get("at").and_then(Json::as_str) {
            Some(at) if !at.is_empty() => format!("{error} at {at}"),
            _ => error.to_owned(),
        });
    }
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::MAX)
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn a_refusal_gives_its_reason() {
        let json = br#"{"error":"a key appears twice","at":"events[1].metrics"}"#;
        assert_eq!(
            reason_of(json).as_deref(),
            Some("a key appears twice at events[1].metrics")
        );
        assert_eq!(
            reason_of(br#"{"error":"nope","at":""}"#).as_deref(),
            Some("nope")
        );
        assert_eq!(
            reason_of(b"not a batch\nmore").as_deref(),
            Some("not a batch")
        );
        assert_eq!(reason_of(b"").as_deref(), None);
        assert_eq!(reason_of(b"\xff").as_deref(), None);
    }
}
