//! TLS for the built-in client's `https://` sends: rustls with the *ring* provider, trusting
//! the web PKI's roots (bundled, so it works the same on every machine), the operating
//! system's store (so a corporate TLS-inspecting proxy or a private CA the machine trusts
//! works too), and what the host (`Config::ca_certificates`) or the user
//! (`APP_TELEMETRY_CA_FILE`) adds. The store and the user's file are read by `roots.rs`:
//! bounded, never blocking, off the caller's thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::pipeline::roots::{StoreVars, system_roots};

/// The client configuration `https://` sends use: the bundled roots, the system's store
/// (`vars`; waited for at most `wait`), plus `extra` (DER certificates the host trusts
/// too). `None` if rustls refused it (then sends give up, quietly).
pub(crate) fn client_config(
    extra: &[Vec<u8>],
    vars: &StoreVars,
    wait: Duration,
) -> Option<Arc<rustls::ClientConfig>> {
    type Built = Vec<(StoreVars, Option<Arc<rustls::ClientConfig>>)>;
    // The common case, no extra roots, builds the root store once per process.
    static BUILT: Mutex<Built> = Mutex::new(Vec::new());
    if extra.is_empty()
        && let Some((_, config)) = BUILT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(v, _)| v == vars)
    {
        return config.clone();
    }
    let system = system_roots(vars, wait);
    let config = build(&system, extra);
    if extra.is_empty() && !system.is_empty() {
        BUILT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((vars.clone(), config.clone()));
    }
    config
}

fn build(system: &[Vec<u8>], extra: &[Vec<u8>]) -> Option<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // A certificate rustls cannot use as a root is skipped, like a bad PEM block.
    let _ = roots.add_parsable_certificates(
        system
            .iter()
            .chain(extra)
            .map(|der| rustls::pki_types::CertificateDer::from(der.clone())),
    );
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(Arc::new(config))
}

/// What a client that only ever sends a batch to a collector needs of *ring*: AES-GCM
/// suites over TLS 1.3 and 1.2, key exchange on the NIST curves, and the signature
/// algorithms of the web PKI's certificates. Left out, as every TLS server offers the
/// above: ChaCha20-Poly1305, X25519 and Ed25519, whose code would otherwise be in every
/// host's binary (README, "Cost").
fn provider() -> rustls::crypto::CryptoProvider {
    use rustls::SignatureScheme as Scheme;
    use rustls::crypto::ring::{cipher_suite as suite, kx_group};
    use webpki::ring as alg;

    static VERIFY: rustls::crypto::WebPkiSupportedAlgorithms =
        rustls::crypto::WebPkiSupportedAlgorithms {
            all: &[
                alg::ECDSA_P256_SHA256,
                alg::ECDSA_P256_SHA384,
                alg::ECDSA_P384_SHA256,
                alg::ECDSA_P384_SHA384,
                alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
                alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
                alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
                alg::RSA_PKCS1_2048_8192_SHA256,
                alg::RSA_PKCS1_2048_8192_SHA384,
                alg::RSA_PKCS1_2048_8192_SHA512,
                alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
                alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
                alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
            ],
            mapping: &[
                (
                    Scheme::ECDSA_NISTP384_SHA384,
                    &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
                ),
                (
                    Scheme::ECDSA_NISTP256_SHA256,
                    &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
                ),
                (
                    Scheme::RSA_PSS_SHA512,
                    &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
                ),
                (
                    Scheme::RSA_PSS_SHA384,
                    &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
                ),
                (
                    Scheme::RSA_PSS_SHA256,
                    &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
                ),
                (Scheme::RSA_PKCS1_SHA512, &[alg::RSA_PKCS1_2048_8192_SHA512]),
                (Scheme::RSA_PKCS1_SHA384, &[alg::RSA_PKCS1_2048_8192_SHA384]),
                (Scheme::RSA_PKCS1_SHA256, &[alg::RSA_PKCS1_2048_8192_SHA256]),
            ],
        };
    rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            suite::TLS13_AES_128_GCM_SHA256,
            suite::TLS13_AES_256_GCM_SHA384,
            suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: VERIFY,
        secure_random: &OsRandom,
        key_provider: &NoClientKeys,
    }
}

/// rustls' randomness (client hello, session ids), from the OS, as the ids are.
#[derive(Debug)]
struct OsRandom;

impl rustls::crypto::SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        getrandom::fill(buf).map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

/// The client never authenticates itself: it has no private key to load.
#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General("no client certificates".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_usable_and_offers_what_servers_take() {
        let provider = provider();
        let mut random = [0u8; 32];
        provider.secure_random.fill(&mut random).unwrap();
        assert_ne!(random, [0; 32]);
        // The suites every TLS 1.3 and 1.2 server must or does offer.
        let names: Vec<_> = provider.cipher_suites.iter().map(|s| s.suite()).collect();
        assert!(names.contains(&rustls::CipherSuite::TLS13_AES_128_GCM_SHA256));
        assert!(names.contains(&rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256));
        assert!(build(&[], &[]).is_some());
    }
}
