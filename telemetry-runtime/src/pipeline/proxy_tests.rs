//! Sends through an HTTP proxy, with each built-in client: a proxy that refuses the tunnel
//! (`407` for credentials, `403` by policy) ends the send at once (one `CONNECT`, no retry)
//! and every send after it in this process, keeping the batch; one that lets it through
//! carries the request to the endpoint.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use super::*;
use crate::config::HttpClient;

/// A proxy on loopback answering every `CONNECT` with `status`, keeping each request's head.
struct FakeProxy {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

impl FakeProxy {
    fn start(status: &'static str) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (h, c) = (Arc::clone(&heads), Arc::clone(&connections));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                c.fetch_add(1, Ordering::Relaxed);
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
                h.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&got).into_owned());
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        FakeProxy {
            port,
            heads,
            connections,
        }
    }

    fn proxy(&self) -> Proxy {
        Proxy {
            host: "127.0.0.1".into(),
            port: self.port,
            authorization: Some("Basic bWU6cHc=".into()),
            user: Some("me".into()),
            password: Some("pw".into()),
        }
    }
}

fn clients() -> Vec<HttpClient> {
    vec![
        HttpClient::Builtin,
        #[cfg(feature = "ureq")]
        HttpClient::Ureq,
    ]
}

#[test]
fn a_proxys_refusal_ends_the_send_at_once_and_keeps_the_batch() {
    for client in clients() {
        for (status, code) in [
            ("407 Proxy Authentication Required", 407),
            ("403 Forbidden", 403),
        ] {
            let proxy = FakeProxy::start(status);
            let endpoint = Endpoint::parse("https://collector.invalid/v1/batch").unwrap();
            let options = TransportOptions {
                max_retries: 2,
                base_backoff: Duration::from_millis(10),
                client,
                ..TransportOptions::default()
            };
            let mut transport = Transport::through(endpoint, "t/0", options, Some(proxy.proxy()));
            let deadline = Instant::now() + Duration::from_secs(10);
            assert_eq!(
                transport.send(b"{}", deadline),
                SendOutcome::ProxyRefused(code),
                "{client:?} {status}"
            );
            assert_eq!(transport.send(b"{}", deadline), SendOutcome::Stopped);
            let heads = proxy.heads.lock().unwrap().clone();
            assert_eq!(
                heads.len(),
                1,
                "{client:?}: one CONNECT, no retry: {heads:?}"
            );
            assert!(
                heads[0].starts_with("CONNECT collector.invalid:443 HTTP/1.1\r\n"),
                "{heads:?}"
            );
            assert!(heads[0].contains("Basic bWU6cHc="), "{heads:?}");
            assert_eq!(proxy.connections.load(Ordering::Relaxed), 1);
        }
    }
}

#[test]
fn a_proxy_that_fails_otherwise_is_retried() {
    for client in clients() {
        let proxy = FakeProxy::start("502 Bad Gateway");
        let endpoint = Endpoint::parse("https://collector.invalid/v1/batch").unwrap();
        let options = TransportOptions {
            max_retries: 2,
            base_backoff: Duration::from_millis(10),
            client,
            ..TransportOptions::default()
        };
        let mut transport = Transport::through(endpoint, "t/0", options, Some(proxy.proxy()));
        let outcome = transport.send(b"{}", Instant::now() + Duration::from_secs(10));
        assert_eq!(outcome, SendOutcome::Failed, "{client:?}");
        assert_eq!(
            proxy.heads.lock().unwrap().len(),
            3,
            "{client:?}: retried twice"
        );
    }
}
