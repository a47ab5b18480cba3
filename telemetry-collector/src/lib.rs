//! The receiving side of `telemetry`: validates the batches hosts send, stores them (SQLite
//! by default, ClickHouse at scale) and shows what arrived, as a dashboard and as JSON.
//!
//! Run it as a binary (`telemetry-collector serve`, see docs/collector.md, "Running it")
//! or embed it, as the quickstart and the tests do:
//!
//! ```
//! use telemetry_collector::{Collector, Options, StoreSpec};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut options = Options::new();
//! options.listen = "127.0.0.1:0".parse().unwrap();
//! options.store = StoreSpec::Sqlite(dir.path().join("telemetry.db"));
//! let collector = Collector::start(options).unwrap();
//! assert!(collector.url().starts_with("http://127.0.0.1:"));
//! let report = collector.report(30, None).unwrap();
//! assert_eq!(report.events, 0);
//! collector.shutdown();
//! ```
//!
//! The code map is in `ARCHITECTURE.md`.

#![warn(missing_docs)]

mod clock;
mod config;
mod dashboard;
mod export;
mod ingest;
mod log;
mod model;
mod parse;
mod query;
mod report;
mod server;
mod state;
mod store;
mod wal;
mod writer;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

pub use clock::Today;
pub use config::{BadStore, Options, ServedConfig, StoreSpec, Tap, read_operator_file};
pub use ingest::MAX_BODY;
pub use log::{Level, Sink};
pub use query::DEFAULT_DAYS;
pub use report::{
    ConfigInfo, DayRow, ErrorRate, Estimate, Every, FailureRow, Failures, LeftOutCounts, OTHER,
    Outcomes, PreviousInfo, Report, Row, Share, Trend, TrendRow, Trends, WindowInfo,
};
pub use store::StoreError;

use crate::log::Log;
use crate::state::{Readers, Shared};
use crate::store::{Store, Window};

/// Bytes of batches waiting for the store at most; more are answered `503`.
const WRITE_BUFFER_KIB: usize = 64 * 1024;
/// Batches parsed at once, at most (each on a blocking thread).
/// Reads of the store run at once, at most (`state.rs`).
const READ_SLOTS: usize = 2;
const PARSE_SLOTS: usize = 4;
/// The longest [`Collector::flush`] waits.
const FLUSH_LIMIT: Duration = Duration::from_secs(10);
/// How often the retention runs after the one at start.
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a collector did not start.
#[derive(Debug)]
pub enum StartError {
    /// The store could not be opened or created.
    Store(StoreError),
    /// The address could not be bound.
    Listen(SocketAddr, std::io::Error),
    /// The certificate or key could not be used.
    Tls(String),
    /// Reads would be open to anyone on a network address: neither a read key nor
    /// `public` was given.
    Unprotected(SocketAddr),
    /// The write-ahead log (ClickHouse) could not be opened or read.
    Wal(PathBuf, std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Store(e) => write!(f, "cannot open the store: {e}"),
            StartError::Listen(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            StartError::Tls(e) => write!(f, "cannot serve HTTPS: {e}"),
            StartError::Wal(dir, e) => write!(
                f,
                "cannot open the write-ahead log in {}: {e}",
                dir.display()
            ),
            StartError::Unprotected(addr) => write!(
                f,
                "{addr} is not a loopback address, and reads (the dashboard, /v1/report) \
                 would be open to anyone: give --read-token-file FILE, or --public to \
                 publish them on purpose"
            ),
        }
    }
}

impl std::error::Error for StartError {}

/// A running collector. Dropping it (or [`Collector::shutdown`]) stops it gracefully:
/// open requests finish and every acknowledged batch is in the store.
pub struct Collector {
    addr: SocketAddr,
    https: bool,
    store: Arc<dyn Store>,
    /// To flush before a report; dropped before the writer thread is joined.
    writer: Option<writer::Writer>,
    min_installations: u64,
    retention_days: u32,
    today: Today,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

/// The largest certificate chain or key file read.
const MAX_PEM: u64 = 1 << 20;

fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, StartError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let problem = |path: &Path, e: &dyn fmt::Display| {
        StartError::Tls(format!("cannot read {}: {e}", path.display()))
    };
    let read = |path: &Path| read_operator_file(path, MAX_PEM).map_err(|e| problem(path, &e));
    let chain = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(cert, &e))?;
    if chain.is_empty() {
        return Err(problem(cert, &"no certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|e| problem(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| StartError::Tls(format!("the certificate and key do not fit: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

impl Collector {
    /// Opens the store (creating its tables), applies the retention, binds the address and
    /// serves on a thread of its own. Returns once requests are accepted.
    pub fn start(options: Options) -> Result<Collector, StartError> {
        let log = Log {
            level: options.log_level,
            sink: options.log.clone(),
        };
        let readers = match (&options.read_token, options.public) {
            (_, true) => Readers::Anyone,
            (Some(key), false) => Readers::WithKey(key.clone()),
            (None, false) if options.listen.ip().is_loopback() => Readers::Anyone,
            (None, false) => return Err(StartError::Unprotected(options.listen)),
        };
        let store: Arc<dyn Store> =
            Arc::from(store::open(&options.store).map_err(StartError::Store)?);
        let tls = match &options.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        retain(&*store, &options, &log);
        let listener = listen(options.listen).map_err(|e| StartError::Listen(options.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Listen(options.listen, e))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("collector")
            .enable_all()
            .build()
            .map_err(|e| StartError::Listen(addr, e))?;
        // ClickHouse is written in blocks a second apart: what is acknowledged meanwhile
        // is durable in the collector's own write-ahead log. SQLite commits durably itself.
        let wal = match &options.store {
            StoreSpec::Sqlite(_) => None,
            StoreSpec::ClickHouse { .. } | StoreSpec::ClickHouseCluster { .. } => {
                let dir = options
                    .wal_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("telemetry-wal"));
                Some(wal::Wal::open(&dir).map_err(|e| StartError::Wal(dir, e))?)
            }
        };
        let (writer, writer_thread) = writer::start(
            Arc::clone(&store),
            wal,
            WRITE_BUFFER_KIB,
            writer::Days {
                today: options.today,
                retention: options.retention_days,
            },
            log.clone(),
        );
        let shared = Arc::new(Shared {
            writer: writer.clone(),
            store: Arc::clone(&store),
            min_installations: options.min_installations,
            retention_days: options.retention_days,
            today: options.today,
            tap: options.tap.clone(),
            log: log.clone(),
            readers,
            collection: options.collection.clone(),
            reads_failing: Default::default(),
            parsing: tokio::sync::Semaphore::new(PARSE_SLOTS),
            receiving: tokio::sync::Semaphore::new(ingest::RECEIVING_KIB),
            reading: Arc::new(tokio::sync::Semaphore::new(READ_SLOTS)),
            deleting: tokio::sync::Semaphore::new(1),
            health: tokio::sync::Mutex::new(None),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let https = tls.is_some();
        let (min_installations, today, retention_days) = (
            options.min_installations,
            options.today,
            options.retention_days,
        );
        let thread = std::thread::Builder::new()
            .name("collector".into())
            .spawn(move || {
                runtime.block_on(async {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            log.at(Level::Error, &format!("cannot listen: {e}"));
                            return;
                        }
                    };
                    let retention = tokio::spawn(retain_daily(
                        Arc::clone(&shared.store),
                        options.clone(),
                        log.clone(),
                    ));
                    let router = server::router(shared);
                    let shutdown = async {
                        let _ = stopped.await;
                    };
                    server::serve(listener, tls, router, shutdown, log.clone()).await;
                    retention.abort();
                });
                // Requests still running after the drain are cancelled here, which lets go
                // of the last handles on the writer; it then writes what is queued and stops.
                runtime.shutdown_timeout(Duration::from_secs(1));
                writer_thread.finish();
            })
            .map_err(|e| StartError::Listen(addr, e))?;
        Ok(Collector {
            addr,
            https,
            store,
            writer: Some(writer),
            min_installations,
            retention_days,
            today,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on (with the port bound, when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (or `https://`): the base of its routes, and what hosts send
    /// `/v1/batch` to.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Returns once every batch acknowledged so far is in the store (or after 10 s, with
    /// `false`, if the store keeps failing).
    pub fn flush(&self) -> bool {
        self.writer
            .as_ref()
            .is_some_and(|w| w.flush_blocking(FLUSH_LIMIT))
    }

    /// The report of the last `days` days (for `app`, if given), as `GET /v1/report`
    /// answers it: with every batch acknowledged before the call.
    pub fn report(&self, days: u32, app: Option<&str>) -> Result<Report, StoreError> {
        self.flush();
        let today = self.today.day();
        let mut window = Window::last_days(today, days, app);
        window.ids_from = today - i64::from(self.retention_days);
        report::build(
            &*self.store,
            &window,
            self.min_installations,
            report::Every::Day,
        )
    }

    /// Stops accepting, lets open requests finish, writes every queued batch and returns.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        // The writer thread ends once every handle on it is gone.
        self.writer = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Connections that may wait to be accepted: the kernel's default queue of 128 overflows
/// under a reconnecting flood, and a client's connection attempt then waits seconds to be
/// tried again.
const BACKLOG: i32 = 4096;

/// A non-blocking listening socket on `addr`, with room for [`BACKLOG`] waiting connections.
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Applies the retention once; a failure is the operator's to see, not a reason to stop.
fn retain(store: &dyn Store, options: &Options, log: &Log) {
    match store.retain(options.today.day(), options.retention_days) {
        Ok(()) => log.debug("applied the retention"),
        Err(e) => log.warn(&format!("could not apply the retention: {e}")),
    }
}

async fn retain_daily(store: Arc<dyn Store>, options: Options, log: Log) {
    loop {
        tokio::time::sleep(RETENTION_EVERY).await;
        let (store, options, log) = (Arc::clone(&store), options.clone(), log.clone());
        let _ = tokio::task::spawn_blocking(move || retain(&*store, &options, &log)).await;
    }
}

/// The report of the last `days` days of the store `spec` names, with K =
/// `min_installations`: what `telemetry-collector report` prints.
pub fn report_of(
    spec: &StoreSpec,
    days: u32,
    app: Option<&str>,
    min_installations: u64,
    today: Today,
) -> Result<Report, StoreError> {
    // A report reads a store; it does not make an empty one where a path was mistyped.
    if let StoreSpec::Sqlite(path) = spec
        && !path.is_file()
    {
        return Err(StoreError(format!("no SQLite store at {}", path.display())));
    }
    let store = store::open(spec)?;
    let day = today.day();
    let window = Window::last_days(day, days, app);
    report::build(&*store, &window, min_installations, report::Every::Day)
}
