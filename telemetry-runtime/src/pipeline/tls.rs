//! TLS for `https://` endpoints: rustls with the *ring* provider, trusting the web PKI's
//! roots (bundled, so it works the same on every machine), the operating system's store (so
//! a corporate TLS-inspecting proxy or a private CA the machine trusts works too), and what
//! the host (`Config::ca_certificates`) or the user (`APP_TELEMETRY_CA_FILE`) adds.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::base::paths::FileProblem;
use crate::files::read::{self, ReadError};

/// The most a CA file may hold: a bundle of a few hundred certificates.
const CA_FILE_MAX: u64 = 1024 * 1024;

/// The certificates (DER) of the PEM file at `path`; an error if it cannot be read or holds
/// none. Read without blocking and bounded, like every file (`files/read.rs`).
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<Vec<u8>>, FileProblem> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let pem = read::read(path, CA_FILE_MAX).map_err(|e| match e {
        ReadError::Missing => FileProblem::Unreadable,
        e => e.problem(),
    })?;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .map(|der| der.as_ref().to_vec())
        .collect();
    if certs.is_empty() {
        return Err(FileProblem::Invalid);
    }
    Ok(certs)
}

/// The operating system's trusted roots (DER), loaded once per process, on the first
/// `https://` send. What cannot be loaded is skipped: the bundled roots still apply.
fn system_roots() -> &'static [rustls::pki_types::CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

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
    // A system certificate rustls cannot use is skipped, as is a bad extra one below.
    let _ = roots.add_parsable_certificates(system_roots().iter().cloned());
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
