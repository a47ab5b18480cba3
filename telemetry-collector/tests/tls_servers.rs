//! The built-in client's TLS against the servers it meets: TLS 1.3 and TLS 1.2 only (a
//! TLS-inspecting proxy, an old load balancer), with P-256 and P-384 certificates. The
//! client offers a narrowed set of algorithms (docs/sending.md, "TLS"); each server here
//! takes only its own part of it, and a batch must get through every time.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

mod common;

/// What the server saw of one connection: the TLS version, the suite, and the request line.
type Seen = (rustls::ProtocolVersion, rustls::CipherSuite, String);

/// A server of `version` with a certificate made with `alg`, answering every request
/// `200` (a `GET` of the collection config `404`); the CA's PEM and what it saw.
fn server(
    version: &'static rustls::SupportedProtocolVersion,
    alg: &'static SignatureAlgorithm,
) -> (String, String, Arc<Mutex<Vec<Seen>>>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate_for(alg).unwrap()).unwrap();
    let key = KeyPair::generate_for(alg).unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://localhost:{}/v1/batch",
        listener.local_addr().unwrap().port()
    );
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let Some(head) = read_request(&mut tls) else {
                continue;
            };
            let line = head.lines().next().unwrap_or_default().to_owned();
            let status = if line.starts_with("GET") {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tls.write_all(answer.as_bytes());
            let _ = tls.flush();
            let version = tls.conn.protocol_version().unwrap();
            let suite = tls.conn.negotiated_cipher_suite().unwrap().suite();
            log.lock().unwrap().push((version, suite, line));
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (url, ca.pem(), seen)
}

/// A request's head, and its body read to its `content-length` (bounded: a test server).
fn read_request(tls: &mut impl Read) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 64 * 1024 {
        let n = tls.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let end = got.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().ok())
        })
        .flatten()
        .unwrap_or(0);
    let mut body = got.len() - end;
    while body < length {
        let n = tls.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        body += n;
    }
    Some(head)
}

#[test]
fn a_batch_gets_through_tls_1_3_and_1_2_servers_with_p256_and_p384_certificates() {
    use rustls::{CipherSuite as S, ProtocolVersion as V};
    let cases: [(
        &'static rustls::SupportedProtocolVersion,
        &'static SignatureAlgorithm,
        V,
    ); 4] = [
        (&rustls::version::TLS13, &PKCS_ECDSA_P256_SHA256, V::TLSv1_3),
        (&rustls::version::TLS13, &PKCS_ECDSA_P384_SHA384, V::TLSv1_3),
        (&rustls::version::TLS12, &PKCS_ECDSA_P256_SHA256, V::TLSv1_2),
        (&rustls::version::TLS12, &PKCS_ECDSA_P384_SHA384, V::TLSv1_2),
    ];
    for (version, alg, expected) in cases {
        let (url, ca, seen) = server(version, alg);
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca).unwrap();
        let acme = common::Acme::with_endpoint(&url);
        let out = acme.run_with(
            &["run"],
            &[("ACME_TELEMETRY_CA_FILE", ca_file.to_str().unwrap())],
        );
        assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
        let seen = seen.lock().unwrap().clone();
        let posts: Vec<&Seen> = seen
            .iter()
            .filter(|(_, _, l)| l.starts_with("POST"))
            .collect();
        assert_eq!(posts.len(), 1, "{expected:?} {alg:?}: {seen:?}");
        let (got, suite, _) = posts[0];
        assert_eq!(*got, expected);
        // AES-GCM, the suites every server offers, rather than ChaCha20, which is left out.
        assert!(
            matches!(
                suite,
                S::TLS13_AES_128_GCM_SHA256
                    | S::TLS13_AES_256_GCM_SHA384
                    | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                    | S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            ),
            "{suite:?}"
        );
    }
}
