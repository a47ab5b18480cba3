//! TLS for `https://` endpoints: rustls with the *ring* provider, trusting the web PKI's
//! roots (bundled, so it works the same on every machine).

use std::sync::{Arc, OnceLock};

/// The client configuration every `https://` send uses; `None` if rustls refused it (then
/// sends give up, quietly).
pub(crate) fn client_config() -> Option<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(Arc::new(config))
        })
        .clone()
}
