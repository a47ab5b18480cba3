//! The certificates `https://` sends trust besides the bundled web PKI roots: the operating
//! system's store, and a CA file the user names (`APP_TELEMETRY_CA_FILE`). Read like every
//! other file (`files/read.rs`): never blocking (a FIFO or a device is refused, not waited
//! on), regular files only (a symlink the user or the system named is followed to one),
//! bounded in size and in count, and off the caller's thread: whoever needs them waits at
//! most a deadline, and sends with the bundled roots if the store is not read by then.
//!
//! On Linux and the BSDs the store is a PEM bundle: `SSL_CERT_FILE` if set, else the first
//! of the usual places that exists, and the files of `SSL_CERT_DIR` if set. On macOS and
//! Windows, without those variables, it is the platform's own store (`rustls-native-certs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::base::env::Env;
use crate::base::paths::FileProblem;
use crate::files::read::{self, ReadError};

/// The most one CA file may hold: a system bundle is about 200 KiB.
pub(crate) const CA_FILE_MAX: u64 = 4 * 1024 * 1024;
/// Files read from `SSL_CERT_DIR`, at most, and bytes from all of them.
const DIR_FILES_MAX: usize = 1024;
const DIR_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// The longest a caller waits for the store to be read.
pub(crate) const ROOTS_WAIT: Duration = Duration::from_secs(2);

/// Where the system's bundle usually is, by distribution (the places OpenSSL's own builds
/// look): Debian and Ubuntu, Fedora and RHEL, openSUSE, Alpine, FreeBSD, NetBSD, and more.
#[cfg(not(any(target_os = "macos", windows)))]
const BUNDLES: [&str; 10] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/etc/pki/tls/cacert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
    "/etc/openssl/certs/ca-certificates.crt",
    "/etc/certs/ca-certificates.crt",
    "/usr/local/etc/openssl/cert.pem",
];

/// The variables that say where the system's store is, as one host's environment has them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StoreVars {
    file: Option<OsString>,
    dir: Option<OsString>,
}

impl StoreVars {
    pub(crate) fn from_env(env: &Env) -> StoreVars {
        StoreVars {
            file: env.non_empty_os("SSL_CERT_FILE"),
            dir: env.non_empty_os("SSL_CERT_DIR"),
        }
    }
}

/// The certificates (DER) of the PEM file at `path`; an error if it cannot be read or holds
/// none.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<Vec<u8>>, FileProblem> {
    let pem = read::read_named(path, CA_FILE_MAX).map_err(|e| match e {
        ReadError::Missing => FileProblem::Unreadable,
        e => e.problem(),
    })?;
    let certs = pem_certs(&pem);
    if certs.is_empty() {
        return Err(FileProblem::Invalid);
    }
    Ok(certs)
}

fn pem_certs(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .map(|der| der.as_ref().to_vec())
        .collect()
}

/// The system's trusted roots (DER) for `vars`, read on a thread of their own and waited
/// for at most `wait`; none if they are not read by then (the bundled roots still apply).
/// Once read, kept for the process.
pub(crate) fn system_roots(vars: &StoreVars, wait: Duration) -> Arc<Vec<Vec<u8>>> {
    type Certs = Arc<Vec<Vec<u8>>>;
    static READ: Mutex<Vec<(StoreVars, Certs)>> = Mutex::new(Vec::new());
    let cached = |vars: &StoreVars| {
        READ.lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(v, _)| v == vars)
            .map(|(_, roots)| Arc::clone(roots))
    };
    if let Some(roots) = cached(vars) {
        return roots;
    }
    // One channel type in the whole runtime (crossbeam's, as the worker's): std's would be
    // a second copy of the same code in every host.
    let (done, read) = crossbeam_channel::bounded(1);
    let for_thread = vars.clone();
    let spawned = std::thread::Builder::new()
        .name("telemetry-roots".into())
        .spawn(move || {
            let roots = Arc::new(load(&for_thread));
            let mut all = READ.lock().unwrap_or_else(|e| e.into_inner());
            if !all.iter().any(|(v, _)| *v == for_thread) {
                all.push((for_thread, Arc::clone(&roots)));
            }
            drop(all);
            let _ = done.send(roots);
        });
    if spawned.is_err() {
        return Arc::default();
    }
    read.recv_timeout(wait).unwrap_or_default()
}

/// Reads the store `vars` names (on the calling thread: [`system_roots`] calls it apart).
fn load(vars: &StoreVars) -> Vec<Vec<u8>> {
    #[cfg(any(target_os = "macos", windows))]
    if vars.file.is_none() && vars.dir.is_none() {
        let found = rustls_native_certs::load_native_certs().certs;
        return found.iter().map(|der| der.as_ref().to_vec()).collect();
    }
    let mut certs = Vec::new();
    match &vars.file {
        Some(file) => certs.extend(read_ca_file(Path::new(file)).unwrap_or_default()),
        None =>
        {
            #[cfg(not(any(target_os = "macos", windows)))]
            for bundle in BUNDLES {
                match read_ca_file(Path::new(bundle)) {
                    Ok(found) => {
                        certs.extend(found);
                        break;
                    }
                    Err(_) => continue,
                }
            }
        }
    }
    if let Some(dirs) = &vars.dir {
        let mut files = 0;
        let mut bytes = 0u64;
        for dir in std::env::split_paths(dirs) {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .take(DIR_FILES_MAX.saturating_sub(files))
                .collect();
            for path in paths {
                files += 1;
                let left = DIR_BYTES_MAX.saturating_sub(bytes).min(CA_FILE_MAX);
                if let Ok(pem) = read::read_named(&path, left) {
                    bytes = bytes.saturating_add(pem.len() as u64);
                    certs.extend(pem_certs(&pem));
                }
            }
        }
    }
    certs
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A PEM block: its DER is never parsed here, only decoded.
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBeDCC\n-----END CERTIFICATE-----\n";

    fn vars(file: Option<&Path>, dir: Option<&Path>) -> StoreVars {
        StoreVars {
            file: file.map(|p| p.as_os_str().to_owned()),
            dir: dir.map(|p| p.as_os_str().to_owned()),
        }
    }

    #[test]
    fn the_store_is_read_from_files_the_variables_name_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, CERT.repeat(3)).unwrap();
        let link = dir.path().join("link.pem");
        std::os::unix::fs::symlink(&bundle, &link).unwrap();
        assert_eq!(
            load(&vars(Some(&link), None)).len(),
            3,
            "a symlink is followed"
        );
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let huge = dir.path().join("huge.pem");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(CA_FILE_MAX + 1)
            .unwrap();
        for refused in [fifo.as_path(), Path::new("/dev/zero"), &huge, dir.path()] {
            assert!(
                load(&vars(Some(refused), None)).is_empty(),
                "{}",
                refused.display()
            );
        }
        // A directory: its files are read, a FIFO among them is passed over.
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::write(certs.join("a.pem"), CERT).unwrap();
        std::os::unix::fs::symlink(&fifo, certs.join("b.pem")).unwrap();
        std::os::unix::fs::symlink(&bundle, certs.join("c.pem")).unwrap();
        assert_eq!(load(&vars(Some(&huge), Some(&certs))).len(), 4);
    }
}
