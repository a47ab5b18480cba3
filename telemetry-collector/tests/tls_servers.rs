//! The built-in client's TLS against the servers it meets: TLS 1.3 and TLS 1.2 only (a
//! TLS-inspecting proxy, an old load balancer), with P-256, P-384 and RSA certificates. The
//! client offers a narrowed set of algorithms (docs/sending.md, "TLS"); each server here
//! takes one suite and one key exchange group of it, so that every one the client offers is
//! met once, and a batch must get through every time.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

mod common;

/// What the server saw of one connection: the TLS version, the suite, and the request line.
type Seen = (rustls::ProtocolVersion, rustls::CipherSuite, String);

/// A server of `version` that takes only `suite` and `group`, with a certificate made with
/// `alg`, answering every request `200` (a `GET` of the collection config `404`); the CA's
/// PEM and what it saw.
fn server(
    version: &'static rustls::SupportedProtocolVersion,
    suite: rustls::CipherSuite,
    group: rustls::NamedGroup,
    alg: &'static SignatureAlgorithm,
) -> (String, String, Arc<Mutex<Vec<Seen>>>) {
    let key = |n: usize| match alg == &PKCS_RSA_SHA256 {
        // *ring* cannot make RSA keys: two made once with openssl, for these tests only.
        true => KeyPair::from_pem_and_sign_algo([RSA_CA, RSA_LEAF][n], alg).unwrap(),
        false => KeyPair::generate_for(alg).unwrap(),
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "tls_servers test CA");
    let ca = CertifiedIssuer::self_signed(ca, key(0)).unwrap();
    let leaf_key = key(1);
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.retain(|s| s.suite() == suite);
    provider.kx_groups.retain(|g| g.name() == group);
    assert_eq!(
        (provider.cipher_suites.len(), provider.kx_groups.len()),
        (1, 1)
    );
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
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
fn a_batch_gets_through_every_suite_group_and_certificate_the_client_offers() {
    use rustls::version::{TLS12, TLS13};
    use rustls::{CipherSuite as S, NamedGroup as G, ProtocolVersion as V};
    let (p256, p384, rsa) = (
        &PKCS_ECDSA_P256_SHA256,
        &PKCS_ECDSA_P384_SHA384,
        &PKCS_RSA_SHA256,
    );
    let cases = [
        (&TLS13, S::TLS13_AES_128_GCM_SHA256, G::secp256r1, p256),
        (&TLS13, S::TLS13_AES_256_GCM_SHA384, G::secp384r1, p384),
        (&TLS13, S::TLS13_AES_128_GCM_SHA256, G::secp384r1, rsa),
        (
            &TLS12,
            S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            G::secp256r1,
            p256,
        ),
        (
            &TLS12,
            S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            G::secp384r1,
            p384,
        ),
        (
            &TLS12,
            S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            G::secp256r1,
            rsa,
        ),
        (
            &TLS12,
            S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            G::secp384r1,
            rsa,
        ),
    ];
    for (version, suite, group, alg) in cases {
        let (url, ca, seen) = server(version, suite, group, alg);
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
        assert_eq!(posts.len(), 1, "{suite:?} {group:?} {alg:?}: {seen:?}");
        let expected = if version == &TLS13 {
            V::TLSv1_3
        } else {
            V::TLSv1_2
        };
        assert_eq!((posts[0].0, posts[0].1), (expected, suite));
    }
}

const RSA_CA: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCXAng5NXiME66x
zSAxsVAjCZvoj/ZFtupcFhe3Y+hIOx+40mR/Wmj7XAnsVHL5J4rmoC5OQP29EM3Y
npw9UHtQoUPEic8QhlcIZQrPsGWilOZD8Agup+LImp5+hmLP4memA5W0ECLCW6aa
LiGQQK0Gctc3j10kFQR5fGaqAbdIavghDhhsIpXOLBU61taqsZkTQ+CoDibRDrN0
u5/v1bCNOHaMNmJYLXKnpnpsHd99L15VUdKn+KQOOVgrBvbkfeRyiP7lmsT6HT2B
M5nTuQhN371PIg2rdPn+NBhT4GGqXYU/qaTtCE3b7MGSiEAiddWiJCOTctBKxqNO
3x+eRlEFAgMBAAECggEAKhj4JwqvBm3eP5btqKzDqGDfY9/uSdUKVI2cIvXpJWnG
GCIe/hnYNmqcIZQRUUAiytRQ1GPt2K08lWzyJW2wUvQCDmJUpUiuLprsfqWwT7iu
0LWzsj3/TOk90gvotAdr2a4aJ85vwjsGoOjHVo2RLsEJGmYPEyYAz1VM0YwU6kzq
KaW53OdJuySu8FIXx+7RlAAa/h7WaSQBWPYSJuJI7CZgDiTFIMRXgn1I+RyYbawO
FJSROy/eGhJlJmJSNHkrRij7k5I4XgJYAeXNu4TmDbPRmX517Eo6Ilzqu72znMHY
ww6GpSOyr1AYKRTodtLhOyZqeMbwI/pTZu7675F+aQKBgQDGv2QeGZTaJwbrk1TP
aNn3xzpwD5XmqaCXyBHHChfcHnle5qNKkC+NstlycRx7oEpfRTBNVoptAVzykXWp
6yUimam/ywQmz7rM+JYtNK24Z9XjtyokziOE6dTlDABF2CHmpC7ZwNhtO6B3OsWN
+qRYGm20NmQgAWZVVwLwU+KKvwKBgQDCgqZenKIY/r4d9EeKaNfqyu8yA7+Qf9cb
hVNnx2KkZKrpgwmPlzWTB7vqflxAKAxfpzMfXrLT9TrK+ucS+yYmNfbnC1/Gi4i4
Yk8EoiVhZ7xYWy7t16CQOgWCBOt3rYA6sFbtT4VE8C8KZ0VZvknv5V/DBtXmItYn
jryE89hpOwKBgCqT5gbsxA7YPYtKTOkCNW/3pnVLYXnA7T6XBff2GZZ2kNnb3y+i
JA3fOuZhhRCXDlfKosZuu8kOebMdpm94iMQY11zXSVRnPEWdG88jcfQHirL2EnlA
ECvxTEKlh4lu/BRFKCRORA9irsXcOWZpQ7v8LXRmEp0or5uowGBsGCRRAoGAU4ks
zmFStI1jNRYeS3EvmeTByacWdIaS6XzfDyjwUk3xoQvn5UU5ewXNTK4sDFmmxsXW
DNjs0F73ewk6iEpYXfy7JwsZfPmcJCQEb6b7itO0bfXrN7ZtfMOObgKS5fkboxjs
nEqUn8DPUxZ7EEnLEz5dXDLpVkcL1j1U9XyMKtUCgYAaqDT1cmIjYTy/RoaFM6f8
HMtt+tYhJvqz3ivSX4rGffXbsku1QL3vr0L36zjlREGk/d0YBOMsAhaXz3Z2Z56Y
S9zVXf+I/H2/8SXh47MiafBqyYgaD85afsmPeiFvbjIpFBUttcyZbcKGxcmkGzG+
ZJzdufGzA6nT/DAMiOQH1A==
-----END PRIVATE KEY-----
";

const RSA_LEAF: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC4eblEVdYHIWRG
Z1Hmm/77PntCkjV231QJO72S+RqWg4s1pedt6KWjXocpnZwYhQSdGcZiMv6SyiDi
YVma3HV/0Pt8ZXe8KlwnYJN8qbNIvDMYUvn5gilQs++4fiDoVfjbEFCdozLxJCwv
3dQVbwhpFOHaNMCGM6x4caHzVURIqOAsQF+3Ho1FtZ1djSrGpuaOe9aQVDvZvZjq
lZfiFsfd3pLwwGGEpP8BQsb0XJjn6xHCbdcZ3xoznUmHvx47KUVh+gQSJJc6wU4J
VsYmuAQYBXWz19Oa9LriQ6DKSrOcNl9Lot08ABOcPFBuvUTmloWXvP4OHh019Zo1
wVy1Q0XvAgMBAAECggEACOtQAMJ19nUCNMoSe5WsQgFgJUbpI48iQqqY2BKsf6IP
RBRoCsFtMVVE5v4f5Sq9Q93SYJoVlQsqFtyBqTjrp22bwOAtnQ7DigORSWHxqBNo
y5dZKkl8SXdBsvXKMoYdBnVLsat3QZGdqHOq4AtHMeThylKOwmnBCTcwIW2DUb3x
oFQvmvEBw41rGTeGBFy0vc793tKOEcZJEdmZifdCHo37SGI7mBEHBYBDmkl0XJPG
GBwda/5uibg86ZAvO74dF3YiWJAREI83bXQejuwP1P2isXeuuG/7B0JKCG7VCuQe
4DMkjn4Ce29k5RR89IB0hqFe4Zm117xiBzGojVRgeQKBgQD2MohOjFYykyYvvI66
oI2dNivVptDc5pvscInB4TUwmnMlI8t2YBbChUNyRqDCVu01CKJLrbJoagSh8F5O
/f9fvxJjVHv6hw2DDln7uPmlA3mihTHwo8jQ5qDVudcepSTg/RyJwsy7fTGqVjsp
u6EKfn39LkKGgdtTiBTqBI0aWQKBgQC/0hDCMcp5EIp4brhWkfdtKdI2uQ++X2pp
DoKmK2Hqcp9ojeRLZ62MJ3pN/e0pOC9T1uReQcnAPiOciHzDN+hBcEDU6pd2Yo2e
r+NG5ATLow9AmzImGvIt95UL7YUdnKqkLYx1AiYOWfLgCvNQxh7uNs6RvfbKjZTW
vbgCnC9JhwKBgQDAnO5JTcAOV1Nz23hrCDti+MO4pocXnA/3HmCYX6JmgR9+ug9v
cGO+EdafrCQPh0STzkpzHNTMnc08CLsv38YQ2YMAVVOdwFVQ6ER8DM67TAm4na5h
jzIIRbclHvzvS9Kbd0sBeHcGZD8b/dTRpKqsdCQLlUqUwzmdk4SRRbhDGQKBgDCq
Z+wM29SZOLhTRttXzxFYAeg2TWM8K/AZaVYlPYNQr1bEYP4sgKBFR8dPvAKwKXm4
1FmBkWD/ouNM0XJp1bf8dcZO+jxjxpBTCXNr2Ded1/nJJhD61ySIYr0S9qnLnJNo
pvDsqaEMew0SWibNDP3c082wB1PeVbuhiHTJEUozAoGAOhd5p/mWlyC10QwSI8ta
GPAxswucayroS/tp/RVAdUGf/uXxhXLl2qmi0FO1rOUe9fK+9bh2BqXvk2FreoV1
9QbeYJ9+F0zzVBXaq9YBuUvw2xTruldIAYpA+2tWSM0Q2VQjeqnIALGBH36fYfU3
miikNtbujEJEXkLpjIZDOuU=
-----END PRIVATE KEY-----
";
