//! The transport against real loopback servers that misbehave in every way it handles, with
//! each built-in HTTP client: the runtime's own, and ureq when it is compiled in (`cargo test
//! -p telemetry-runtime --features ureq`, which the README's test command runs too).

#[path = "../../../tests/common/receiver.rs"]
#[allow(unreachable_pub)] // shared with the integration tests, where it is public
pub(crate) mod receiver;

use super::*;
use crate::config::HttpClient;
use receiver::{Receiver, Reply};
use std::thread;

const BODY: &[u8] = br#"{"schema_version":1,"batch_id":"b","events":[]}"#;

/// Short everything, so failures are quick; tests override what they exercise.
fn quick(client: HttpClient) -> TransportOptions {
    TransportOptions {
        client,
        connect_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(300),
        max_retries: 2,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_secs(60),
        ..TransportOptions::default()
    }
}

fn to(receiver: &Receiver, options: TransportOptions) -> Transport {
    let endpoint = Endpoint::parse(&receiver.url()).expect("receiver url is loopback http");
    Transport::new(endpoint, "telemetry-test/0", options)
}

fn within(d: Duration) -> Instant {
    Instant::now() + d
}

/// A loopback URL on which nothing listens (bound, then released).
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1/batch")
}

#[test]
fn backoff_doubles_with_jitter_and_is_capped() {
    let options = TransportOptions {
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
        ..TransportOptions::default()
    };
    let mut t = Transport::new(Endpoint::File("/nonexistent".into()), "", options);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let first = t.backoff(1);
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
        let second = t.backoff(2);
        assert!(second >= Duration::from_millis(200) && second <= Duration::from_millis(400));
        let huge = t.backoff(200);
        assert!(huge >= Duration::from_millis(2500) && huge <= Duration::from_secs(5));
        seen.insert(first);
    }
    assert!(
        seen.len() > 10,
        "jitter varies: {} distinct values",
        seen.len()
    );
}

fn delivers_once_with_the_body_intact(client: HttpClient) {
    let receiver = Receiver::start();
    let mut t = to(&receiver, quick(client));
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Delivered
    );
    assert_eq!(t.requests_made(), 1);
    assert_eq!(receiver.requests(), 1);
    assert_eq!(receiver.bodies(), vec![BODY.to_vec()]);
    let head = receiver.heads().remove(0).to_ascii_lowercase();
    assert!(head.starts_with("post /v1/batch http/1.1"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("user-agent: telemetry-test/0"), "{head}");
    assert!(!head.contains("cookie"), "{head}");

    // A second batch reuses the connection (keep-alive on both sides).
    assert_eq!(
        t.send(b"{}", within(Duration::from_secs(5))),
        SendOutcome::Delivered
    );
    assert_eq!(receiver.bodies(), vec![BODY.to_vec(), b"{}".to_vec()]);
    assert_eq!(receiver.connections(), 1);
}

fn connection_refused_is_retried_then_failed_by_the_deadline(client: HttpClient) {
    let endpoint = Endpoint::parse(&closed_port_url()).unwrap();
    let options = TransportOptions {
        client,
        ..TransportOptions::default()
    };
    let mut t = Transport::new(endpoint, "", options);
    let started = Instant::now();
    let deadline = within(Duration::from_secs(3));
    assert_eq!(t.send(BODY, deadline), SendOutcome::Failed);
    assert!(Instant::now() <= deadline + Duration::from_millis(200));
    assert_eq!(t.requests_made(), 3, "one try and max_retries = 2 retries");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

fn a_server_that_never_answers_fails_within_the_request_timeout(client: HttpClient) {
    let receiver = Receiver::with_script(vec![Reply::NeverAnswer]);
    let options = TransportOptions {
        max_retries: 0,
        ..quick(client)
    };
    let mut t = to(&receiver, options);
    let started = Instant::now();
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(10))),
        SendOutcome::Failed
    );
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(
        took < Duration::from_millis(300) + Duration::from_secs(1),
        "{took:?}"
    );
    assert_eq!(receiver.requests(), 1);
    assert!(receiver.bodies().is_empty());
}

fn the_deadline_cuts_an_attempt_short(client: HttpClient) {
    // The request timeout (5 s) would allow a long wait; the deadline does not.
    let receiver = Receiver::with_script(vec![Reply::NeverAnswer]);
    let options = TransportOptions {
        client,
        ..TransportOptions::default()
    };
    let mut t = to(&receiver, options);
    let started = Instant::now();
    assert_eq!(
        t.send(BODY, within(Duration::from_millis(300))),
        SendOutcome::Failed
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(300) + Duration::from_secs(1),
        "{took:?}"
    );
    assert_eq!(t.requests_made(), 1);
}

fn a_deadline_already_past_sends_nothing(client: HttpClient) {
    let receiver = Receiver::start();
    let mut t = to(&receiver, quick(client));
    assert_eq!(t.send(BODY, Instant::now()), SendOutcome::Failed);
    assert_eq!(t.requests_made(), 0);
    assert_eq!(receiver.connections(), 0);
}

fn a_slow_server_beyond_the_timeout_fails_and_gets_no_batch(client: HttpClient) {
    let receiver = Receiver::with_script(vec![Reply::Slow(Duration::from_millis(800), 200)]);
    let options = TransportOptions {
        max_retries: 0,
        ..quick(client)
    };
    let mut t = to(&receiver, options);
    let started = Instant::now();
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Failed
    );
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    // Past the server's delay: it saw the client gone and did not count a delivery.
    thread::sleep(Duration::from_millis(1000));
    assert_eq!(receiver.requests(), 1);
    assert!(receiver.bodies().is_empty());
}

fn a_slow_server_within_the_timeout_delivers(client: HttpClient) {
    let receiver = Receiver::with_script(vec![Reply::Slow(Duration::from_millis(100), 200)]);
    let mut t = to(&receiver, quick(client));
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Delivered
    );
    assert_eq!(receiver.bodies().len(), 1);
}

fn a_500_then_200_delivers_the_batch_exactly_once(client: HttpClient) {
    let receiver = Receiver::with_script(vec![Reply::Status(500)]);
    let mut t = to(&receiver, quick(client));
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Delivered
    );
    assert_eq!(t.requests_made(), 2);
    assert_eq!(receiver.requests(), 2);
    assert_eq!(receiver.bodies(), vec![BODY.to_vec()]);
}

fn retryable_statuses_are_retried_up_to_max_retries(client: HttpClient) {
    for status in [408, 429, 500, 502, 503, 504] {
        let receiver = Receiver::with_script(vec![Reply::Status(status); 3]);
        let mut t = to(&receiver, quick(client));
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed
        );
        assert_eq!(t.requests_made(), 3, "{status}");
        assert_eq!(receiver.requests(), 3, "{status}");
        assert!(receiver.bodies().is_empty());
    }
}

fn retry_after_is_waited_for(client: HttpClient) {
    let retry_after = vec![("Retry-After".to_owned(), "1".to_owned())];
    let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(429, retry_after)]);
    let mut t = to(&receiver, quick(client));
    let started = Instant::now();
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Delivered
    );
    // 1 s, not the 20 ms backoff: the server's word wins.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(t.requests_made(), 2);
    assert_eq!(receiver.bodies().len(), 1);
}

fn retry_after_past_the_deadline_fails_at_once_and_holds_later_sends(client: HttpClient) {
    let retry_after = vec![("Retry-After".to_owned(), "30".to_owned())];
    let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(503, retry_after)]);
    let mut t = to(&receiver, quick(client));
    let started = Instant::now();
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(3))),
        SendOutcome::Failed
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(t.requests_made(), 1);
    // The server asked for 30 s: the next send does not knock before then.
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(3))),
        SendOutcome::CircuitOpen
    );
    assert_eq!(t.requests_made(), 1);
    assert_eq!(receiver.requests(), 1);
}

fn an_http_date_retry_after_falls_back_to_the_backoff(client: HttpClient) {
    let date = vec![(
        "Retry-After".to_owned(),
        "Wed, 21 Oct 2099 07:28:00 GMT".to_owned(),
    )];
    let receiver = Receiver::with_script(vec![Reply::StatusWithHeaders(429, date)]);
    let mut t = to(&receiver, quick(client));
    let started = Instant::now();
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(3))),
        SendOutcome::Delivered
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(t.requests_made(), 2);
}

fn rejections_stop_sending_for_good(client: HttpClient) {
    for status in [400, 401, 403, 404, 410] {
        let receiver = Receiver::with_script(vec![Reply::Status(status)]);
        let mut t = to(&receiver, quick(client));
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Rejected
        );
        assert_eq!(t.requests_made(), 1, "{status}: not retried");
        for _ in 0..3 {
            assert_eq!(
                t.send(BODY, within(Duration::from_secs(5))),
                SendOutcome::Stopped
            );
        }
        assert_eq!(t.requests_made(), 1, "{status}");
        assert_eq!(receiver.requests(), 1, "{status}");
        assert!(receiver.bodies().is_empty());
    }
}

fn redirects_and_other_4xx_fail_without_retry(client: HttpClient) {
    let elsewhere = vec![("Location".to_owned(), closed_port_url())];
    for reply in [
        Reply::StatusWithHeaders(307, elsewhere.clone()),
        Reply::StatusWithHeaders(301, elsewhere),
        Reply::Status(413),
        Reply::Status(422),
    ] {
        let receiver = Receiver::with_script(vec![reply.clone()]);
        let mut t = to(&receiver, quick(client));
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed,
            "{reply:?}"
        );
        assert_eq!(t.requests_made(), 1, "{reply:?}");
        assert_eq!(receiver.requests(), 1, "{reply:?}");
        // Not a rejection: the next send goes out (and is answered 200).
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered
        );
    }
}

fn garbage_and_dropped_connections_are_retried(client: HttpClient) {
    for reply in [Reply::Garbage, Reply::CloseImmediately] {
        let receiver = Receiver::with_script(vec![reply.clone(); 3]);
        let mut t = to(&receiver, quick(client));
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed,
            "{reply:?}"
        );
        assert_eq!(t.requests_made(), 3, "{reply:?}");
        assert!(receiver.bodies().is_empty());

        let receiver = Receiver::with_script(vec![reply.clone()]);
        let mut t = to(&receiver, quick(client));
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Delivered,
            "{reply:?}"
        );
        assert_eq!(receiver.bodies(), vec![BODY.to_vec()], "{reply:?}");
    }
}

fn the_breaker_opens_after_consecutive_failures_and_sends_nothing(client: HttpClient) {
    let receiver = Receiver::with_script(vec![Reply::Status(500); 3]);
    let options = TransportOptions {
        max_retries: 0,
        ..quick(client)
    };
    let mut t = to(&receiver, options);
    for _ in 0..3 {
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed
        );
    }
    let (connections, requests) = (receiver.connections(), receiver.requests());
    assert_eq!(requests, 3);
    for _ in 0..5 {
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::CircuitOpen
        );
    }
    assert_eq!(receiver.connections(), connections);
    assert_eq!(receiver.requests(), requests);
    assert_eq!(t.requests_made(), 3);
}

fn a_success_resets_the_failure_count(client: HttpClient) {
    // fail, fail, ok, fail, fail: never three in a row.
    let script = vec![
        Reply::Status(500),
        Reply::Status(500),
        Reply::Status(200),
        Reply::Status(500),
        Reply::Status(500),
    ];
    let receiver = Receiver::with_script(script);
    let options = TransportOptions {
        max_retries: 0,
        ..quick(client)
    };
    let mut t = to(&receiver, options);
    let outcomes: Vec<_> = (0..6)
        .map(|_| t.send(BODY, within(Duration::from_secs(5))))
        .collect();
    use SendOutcome::{Delivered as D, Failed as F};
    assert_eq!(outcomes, [F, F, D, F, F, D]);
}

fn after_the_cooldown_one_send_decides(client: HttpClient) {
    let receiver = Receiver::with_script(vec![Reply::Status(500); 4]);
    let options = TransportOptions {
        max_retries: 0,
        breaker_cooldown: Duration::from_millis(200),
        ..quick(client)
    };
    let mut t = to(&receiver, options);
    for _ in 0..3 {
        assert_eq!(
            t.send(BODY, within(Duration::from_secs(5))),
            SendOutcome::Failed
        );
    }
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::CircuitOpen
    );
    thread::sleep(Duration::from_millis(250));
    // Half-open: one more failure reopens it at once.
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Failed
    );
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::CircuitOpen
    );
    thread::sleep(Duration::from_millis(250));
    // Half-open again, and now the endpoint is back: one success closes it.
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Delivered
    );
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Delivered
    );
    assert_eq!(receiver.bodies().len(), 2);
}

/// The receiver itself: chunked and `Content-Length` bodies on one kept-alive connection,
/// as another client might send them.
#[test]
fn receiver_reads_chunked_and_sized_bodies_on_one_connection() {
    use std::io::{Read, Write};
    let receiver = Receiver::start();
    let addr = receiver
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(
            b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\n{\"a\r\n4;ext=1\r\n\":1}\r\n0\r\n\r\n\
              POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\
              Connection: close\r\n\r\n[]",
        )
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    assert_eq!(
        receiver.bodies(),
        vec![br#"{"a":1}"#.to_vec(), b"[]".to_vec()]
    );
    assert_eq!(receiver.connections(), 1);
    assert!(receiver.wait_for_bodies(2, Duration::ZERO));
    assert!(!receiver.wait_for_bodies(3, Duration::from_millis(50)));
}

/// Dropping the receiver is prompt even while a client holds a `NeverAnswer` connection.
#[test]
fn receiver_drop_releases_held_connections() {
    use std::io::{Read, Write};
    let receiver = Receiver::with_script(vec![Reply::NeverAnswer]);
    let addr = receiver
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let started = Instant::now();
    while receiver.requests() == 0 && started.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(receiver.requests(), 1);
    let dropping = Instant::now();
    drop(receiver);
    assert!(
        dropping.elapsed() < Duration::from_secs(1),
        "{:?}",
        dropping.elapsed()
    );
    // And the client sees the connection closed, with no answer.
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    assert_eq!(
        stream
            .read_to_end(&mut answer)
            .map(|_| answer.len())
            .unwrap_or(0),
        0
    );
}

#[test]
fn file_endpoints_append_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batches.jsonl");
    let url = format!("file://{}", path.display());
    let endpoint = Endpoint::parse(&url).unwrap();
    assert_eq!(endpoint, Endpoint::File(path.clone()));
    let mut t = Transport::new(endpoint, "", TransportOptions::default());
    let deadline = within(Duration::from_secs(5));
    assert_eq!(t.send(br#"{"a":1}"#, deadline), SendOutcome::Delivered);
    assert_eq!(
        t.send(b"{\n\"b\": 2\r\n}", deadline),
        SendOutcome::Delivered
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "{\"a\":1}\n{ \"b\": 2  }\n");
    assert_eq!(t.requests_made(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_file_endpoint_in_a_missing_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("batches.jsonl");
    let mut t = Transport::new(
        Endpoint::File(path.clone()),
        "",
        TransportOptions::default(),
    );
    assert_eq!(
        t.send(BODY, within(Duration::from_secs(5))),
        SendOutcome::Failed
    );
    assert!(!path.exists());
    assert!(!dir.path().join("missing").exists());
}

/// Every test above that sends over HTTP, once per built-in client.
macro_rules! with_each_client {
    ($($name:ident),* $(,)?) => {
        mod builtin {
            $( #[test] fn $name() { super::$name(super::HttpClient::Builtin) } )*
        }
        #[cfg(feature = "ureq")]
        mod ureq {
            $( #[test] fn $name() { super::$name(super::HttpClient::Ureq) } )*
        }
    };
}

with_each_client!(
    delivers_once_with_the_body_intact,
    connection_refused_is_retried_then_failed_by_the_deadline,
    a_server_that_never_answers_fails_within_the_request_timeout,
    the_deadline_cuts_an_attempt_short,
    a_deadline_already_past_sends_nothing,
    a_slow_server_beyond_the_timeout_fails_and_gets_no_batch,
    a_slow_server_within_the_timeout_delivers,
    a_500_then_200_delivers_the_batch_exactly_once,
    retryable_statuses_are_retried_up_to_max_retries,
    retry_after_is_waited_for,
    retry_after_past_the_deadline_fails_at_once_and_holds_later_sends,
    an_http_date_retry_after_falls_back_to_the_backoff,
    rejections_stop_sending_for_good,
    redirects_and_other_4xx_fail_without_retry,
    garbage_and_dropped_connections_are_retried,
    the_breaker_opens_after_consecutive_failures_and_sends_nothing,
    a_success_resets_the_failure_count,
    after_the_cooldown_one_send_decides,
);
