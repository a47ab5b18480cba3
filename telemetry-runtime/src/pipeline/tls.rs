//! TLS for `https://` endpoints: rustls with the *ring* provider, trusting the web PKI's
//! roots (bundled, so it works the same on every machine).

use std::sync::{Arc, OnceLock};

/// The client configuration `https://` sends use: the bundled roots, plus `extra` (DER
/// certificates the host trusts too). `None` if rustls refused it (then sends give up,
/// quietly).
pub(crate) fn client_config(extra: &[Vec<u8>]) -> Option<Arc<rustls::ClientConfig>> {
    // The common case, no extra roots, builds the root store once per process.
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    if extra.is_empty() {
        return CONFIG.get_or_init(|| build(&[])).clone();
    }
    build(extra)
}

fn build(extra: &[Vec<u8>]) -> Option<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra {
        // A certificate rustls cannot use as a root is skipped, like a bad PEM block.
        let _ = roots.add(rustls::pki_types::CertificateDer::from(der.clone()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(Arc::new(config))
}
