//! A host behind a corporate proxy, end to end: a proxy that refuses the tunnel stops the
//! sends of that run after one `CONNECT`, the batch waits in the spool, and `status` says the
//! proxy refused; a loopback endpoint, `http://` or `https://`, never goes through a proxy.

#[path = "common/acme.rs"]
mod acme;
#[path = "common/receiver.rs"]
mod receiver;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use acme::Sandbox;
use receiver::Receiver;

/// A proxy on loopback that answers every `CONNECT` with `407`, keeping each head.
struct RefusingProxy {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

fn refusing_proxy() -> RefusingProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (h, c) = (Arc::clone(&heads), Arc::clone(&connections));
    std::thread::spawn(move || {
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
            let _ = stream.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    RefusingProxy {
        url,
        heads,
        connections,
    }
}

#[test]
fn a_proxys_refusal_stops_the_run_keeps_the_batch_and_shows_in_status() {
    let proxy = refusing_proxy();
    let sb = Sandbox::new();
    sb.stdout(&["telemetry", "enable"], &[]);
    // `.invalid` never resolves, and is never looked up: the proxy is asked to connect.
    let vars = [
        ("HTTPS_PROXY", proxy.url.as_str()),
        (
            "ACME_TELEMETRY_ENDPOINT",
            "https://collector.invalid/v1/batch",
        ),
    ];
    let out = sb.acme(&["run"], &vars);
    assert!(out.status.success(), "{out:?}");
    let heads = proxy.heads.lock().unwrap().clone();
    // One for the collection config, one for the batch; no retry of either.
    assert_eq!(heads.len(), 2, "two CONNECTs, no retry: {heads:?}");
    assert!(
        heads
            .iter()
            .all(|h| h.starts_with("CONNECT collector.invalid:443 ")),
        "{heads:?}"
    );
    let spooled = std::fs::read_dir(sb.config_dir().join("telemetry_spool"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        spooled, 1,
        "the batch waits for a run the proxy lets through"
    );
    let status = sb.stdout(&["telemetry", "status"], &[]);
    assert!(
        status.contains("Proxy: refused to reach the endpoint on "),
        "{status}"
    );
    assert!(status.contains("(HTTP 407 to CONNECT)"), "{status}");
}

#[test]
fn loopback_endpoints_never_go_through_a_proxy() {
    let proxy = refusing_proxy();
    let receiver = Receiver::start();
    let http = receiver.url();
    let https = http.replacen("http://", "https://", 1);
    for endpoint in [&http, &https] {
        let sb = Sandbox::new();
        sb.stdout(&["telemetry", "enable"], &[]);
        let vars = [
            ("HTTPS_PROXY", proxy.url.as_str()),
            ("ALL_PROXY", proxy.url.as_str()),
            ("ACME_TELEMETRY_ENDPOINT", endpoint.as_str()),
        ];
        let before = receiver.connections();
        assert!(sb.acme(&["run"], &vars).status.success());
        assert!(receiver.connections() > before, "{endpoint}: sent directly");
    }
    assert_eq!(proxy.connections.load(Ordering::Relaxed), 0);
    // Plain http arrived as a batch; https found a server that speaks no TLS.
    assert_eq!(receiver.bodies().len(), 1);
}
