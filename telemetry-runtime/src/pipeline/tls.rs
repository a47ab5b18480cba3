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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(Arc::new(config))
}
