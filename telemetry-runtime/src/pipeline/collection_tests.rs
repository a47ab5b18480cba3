//! The collection config's fetch against a loopback server, with each built-in client.

use std::time::Duration;

use super::*;
use crate::config::HttpClient;
use crate::pipeline::client::TransportOptions;
// The loopback server the transport's tests use.
use crate::pipeline::transport::tests::receiver::{Receiver, Reply};

fn answer(status: u16, body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 {status} X\r\nETag: \"t2\"\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// What a `GET` of the config at a server answering `reply` brings, and the request's
/// head.
fn fetch(client: HttpClient, reply: Reply) -> (Fetched, String) {
    let receiver = Receiver::with_config(reply, Vec::new());
    let url = config_url(&HttpUrl::parse(&receiver.url()).unwrap()).unwrap();
    let options = TransportOptions {
        client,
        ..TransportOptions::default()
    };
    let mut sender = options.sender("GET", url, "telemetry-test/0", None);
    let deadline = Instant::now() + Duration::from_secs(2);
    let fetched = sender.fetch(deadline, Duration::from_secs(1));
    let head = receiver.heads().first().cloned().unwrap_or_default();
    (fetched, head)
}

fn answers_are_read_within_their_bounds(client: HttpClient) {
    let (got, head) = fetch(client, answer(200, r#"{"config_version":1}"#));
    assert_eq!(got, Fetched::Document(br#"{"config_version":1}"#.to_vec()));
    assert!(head.starts_with("GET /v1/config HTTP/1.1"), "{head}");
    // Nothing the collector chose goes back to it.
    assert!(
        !head.to_ascii_lowercase().contains("if-none-match"),
        "{head}"
    );
    assert_eq!(fetch(client, answer(404, "")).0, Fetched::Gone);
    assert_eq!(fetch(client, answer(304, "")).0, Fetched::Failed);
    assert_eq!(fetch(client, answer(500, "{}")).0, Fetched::Failed);
    let huge = "x".repeat(MAX_CONFIG_BYTES + 1);
    assert_eq!(fetch(client, answer(200, &huge)).0, Fetched::Failed);
    assert_eq!(fetch(client, Reply::Garbage).0, Fetched::Failed);
}

#[test]
fn builtin() {
    answers_are_read_within_their_bounds(HttpClient::Builtin);
}

#[cfg(feature = "ureq")]
#[test]
fn ureq() {
    answers_are_read_within_their_bounds(HttpClient::Ureq);
}
