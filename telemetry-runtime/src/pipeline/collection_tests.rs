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
fn fetch(client: HttpClient, reply: Reply, tag: Option<&str>) -> (Fetched, String) {
    let receiver = Receiver::with_config(reply, Vec::new());
    let url = config_url(&HttpUrl::parse(&receiver.url()).unwrap());
    let options = TransportOptions {
        client,
        ..TransportOptions::default()
    };
    let mut sender = options.sender("GET", url, "telemetry-test/0", None);
    let deadline = Instant::now() + Duration::from_secs(2);
    let fetched = sender.fetch(tag, deadline, Duration::from_secs(1));
    let head = receiver.heads().first().cloned().unwrap_or_default();
    (fetched, head)
}

fn answers_are_read_within_their_bounds(client: HttpClient) {
    let (got, head) = fetch(
        client,
        answer(200, r#"{"config_version":1}"#),
        Some("\"t1\""),
    );
    assert_eq!(
        got,
        Fetched::Document {
            body: br#"{"config_version":1}"#.to_vec(),
            etag: Some("\"t2\"".into())
        }
    );
    assert!(head.starts_with("GET /v1/config HTTP/1.1"), "{head}");
    assert!(
        head.contains("\"t1\""),
        "conditional on the tag it has: {head}"
    );
    assert_eq!(fetch(client, answer(304, ""), None).0, Fetched::NotModified);
    assert_eq!(fetch(client, answer(404, ""), None).0, Fetched::Gone);
    assert_eq!(fetch(client, answer(500, "{}"), None).0, Fetched::Failed);
    let huge = "x".repeat(MAX_CONFIG_BYTES + 1);
    assert_eq!(fetch(client, answer(200, &huge), None).0, Fetched::Failed);
    assert_eq!(fetch(client, Reply::Garbage, None).0, Fetched::Failed);
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
