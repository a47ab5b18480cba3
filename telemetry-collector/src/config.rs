//! What the collector is started with: where it listens, where it stores, and its privacy
//! and retention settings.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use crate::clock::Today;
use crate::log::{Level, Sink};

/// Where batches are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    /// `sqlite:PATH`: one file, the default.
    Sqlite(PathBuf),
    /// `clickhouse://HOST:PORT/DATABASE`: ClickHouse's HTTP interface.
    ClickHouse {
        /// Host name or address.
        host: String,
        /// The HTTP port (8123 by default in ClickHouse).
        port: u16,
        /// The database; created on start, with its tables.
        database: String,
    },
    /// `clickhouse://HOST:PORT,HOST:PORT/DATABASE?cluster=NAME`: ClickHouse shards, each
    /// holding the collector's tables as local tables under `Distributed` tables over the
    /// cluster `NAME` of their configuration (`docs/collector.md`, "How it scales").
    /// The collector reads and writes through the first; it creates the tables, deletes and
    /// applies the retention on each.
    ClickHouseCluster {
        /// Every shard's host and HTTP port, the first the one the collector goes through.
        shards: Vec<(String, u16)>,
        /// The database, on every shard.
        database: String,
        /// The cluster, as the shards' `remote_servers` name it.
        cluster: String,
    },
}

impl fmt::Display for StoreSpec {
    /// The spec as `--store` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreSpec::ClickHouse {
                host,
                port,
                database,
            } => write!(f, "clickhouse://{host}:{port}/{database}"),
            StoreSpec::ClickHouseCluster {
                shards,
                database,
                cluster,
            } => {
                let shards: Vec<String> = shards.iter().map(|(h, p)| format!("{h}:{p}")).collect();
                write!(
                    f,
                    "clickhouse://{}/{database}?cluster={cluster}",
                    shards.join(",")
                )
            }
        }
    }
}

/// Whether `s` can name a database or a cluster: ASCII letters, digits and `_`.
fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Why a `--store` was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadStore(String);

impl fmt::Display for BadStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadStore {}

impl FromStr for StoreSpec {
    type Err = BadStore;

    /// `sqlite:PATH`, `clickhouse://HOST:PORT/DATABASE`, or
    /// `clickhouse://HOST:PORT,HOST:PORT/DATABASE?cluster=NAME` for shards.
    ///
    /// ```
    /// use telemetry_collector::StoreSpec;
    ///
    /// assert!(matches!("sqlite:telemetry.db".parse(), Ok(StoreSpec::Sqlite(_))));
    /// assert!(matches!("clickhouse://127.0.0.1:8123/telemetry".parse(), Ok(StoreSpec::ClickHouse { .. })));
    /// let sharded = "clickhouse://ch1:8123,ch2:8123/telemetry?cluster=shards";
    /// let spec: StoreSpec = sharded.parse().unwrap();
    /// assert!(matches!(&spec, StoreSpec::ClickHouseCluster { shards, .. } if shards.len() == 2));
    /// assert_eq!(spec.to_string(), sharded);
    /// assert!("clickhouse://ch1:8123,ch2:8123/telemetry".parse::<StoreSpec>().is_err());
    /// assert!("mysql://x".parse::<StoreSpec>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<StoreSpec, BadStore> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(BadStore(
                    "`sqlite:` needs a path, like `sqlite:telemetry.db`".into(),
                ));
            }
            return Ok(StoreSpec::Sqlite(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("clickhouse://") {
            let usage = || {
                BadStore(
                    "a ClickHouse store is `clickhouse://HOST:PORT/DATABASE`, like \
                     `clickhouse://127.0.0.1:8123/telemetry`, or for shards \
                     `clickhouse://HOST:PORT,HOST:PORT/DATABASE?cluster=NAME`"
                        .into(),
                )
            };
            let (hosts, rest) = rest.split_once('/').ok_or_else(usage)?;
            let (database, cluster) = match rest.split_once('?') {
                Some((database, query)) => {
                    let cluster = query.strip_prefix("cluster=").ok_or_else(usage)?;
                    (database, Some(cluster))
                }
                None => (rest, None),
            };
            let mut shards = Vec::new();
            for host_port in hosts.split(',') {
                let (host, port) = host_port.rsplit_once(':').ok_or_else(usage)?;
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(usage)?;
                if host.is_empty() {
                    return Err(usage());
                }
                shards.push((host.to_owned(), port));
            }
            if !is_identifier(database) || !cluster.is_none_or(is_identifier) {
                return Err(usage());
            }
            let database = database.to_owned();
            return match (cluster, shards.len()) {
                (Some(cluster), _) => Ok(StoreSpec::ClickHouseCluster {
                    shards,
                    database,
                    cluster: cluster.to_owned(),
                }),
                (None, 1) => {
                    let (host, port) = shards.remove(0);
                    Ok(StoreSpec::ClickHouse {
                        host,
                        port,
                        database,
                    })
                }
                (None, _) => Err(BadStore(
                    "shards need their cluster: `clickhouse://HOST:PORT,HOST:PORT/DATABASE\
                     ?cluster=NAME`"
                        .into(),
                )),
            };
        }
        Err(BadStore(format!(
            "unknown store `{}`: use `sqlite:PATH` or `clickhouse://HOST:PORT/DATABASE`",
            s.split(':').next().unwrap_or_default()
        )))
    }
}

/// The bytes of a file an operator names (a certificate, a key, a read key, a collection
/// config), at most `max` of them: the runtime's own reader (`telemetry_runtime::
/// read_regular_file`), so a FIFO or a device given by mistake stops the start with an
/// error rather than hanging it, and `/dev/zero` cannot fill the memory.
///
/// ```
/// let dir = std::env::temp_dir();
/// assert!(telemetry_collector::read_operator_file(&dir, 1024).is_err(), "a folder");
/// ```
pub fn read_operator_file(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    telemetry_runtime::read_regular_file(path, max)
}

/// Sees each accepted batch's bytes (a demo prints them; tests count them).
pub type Tap = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// How to run a collector.
#[derive(Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where to store.
    pub store: StoreSpec,
    /// A breakdown row seen from fewer installations than this is folded into `other`.
    pub min_installations: u64,
    /// Raw events older than this many days are deleted; daily aggregates are kept.
    pub retention_days: u32,
    /// A certificate chain and its key (PEM) to serve HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where today's date comes from (tests fix it).
    pub today: Today,
    /// Optional: sees every accepted batch.
    pub tap: Option<Tap>,
    /// The most the log says (`info` by default).
    pub log_level: Level,
    /// Where log lines go instead of stderr.
    pub log: Option<Sink>,
    /// The key reads (the dashboard, `/v1/report`) need: HTTP Basic's password or
    /// `Authorization: Bearer`. Without it and without `public`, reads are served only when
    /// listening on a loopback address (and a collector listening elsewhere refuses to start).
    pub read_token: Option<String>,
    /// Serve reads to anyone: for maintainers who publish their aggregates.
    pub public: bool,
    /// Where the ClickHouse store's write-ahead log lives: batches acknowledged and not yet
    /// in ClickHouse (`telemetry-wal` in the working directory when not set).
    pub wal_dir: Option<PathBuf>,
    /// The collection config to serve at `GET /v1/config` and to enforce on every batch
    /// (docs/collection.md).
    pub collection: Option<ServedConfig>,
}

/// A collection config a collector serves and enforces: the document as given, read.
///
/// ```
/// use telemetry_collector::ServedConfig;
///
/// let served = ServedConfig::new(br#"{"config_version":1,"default":{"sample":0.5}}"#.to_vec())
///     .unwrap();
/// assert!(served.etag().starts_with("\"c-"));
/// assert!(ServedConfig::new(br#"{"config_version":1,"default":{"omit":["metrics.nope"]}}"#.to_vec())
///     .is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ServedConfig {
    bytes: Arc<[u8]>,
    config: telemetry_runtime::CollectionConfig,
    etag: String,
}

impl ServedConfig {
    /// Reads `bytes` as a collection config. Refused when it does not read, or when it names
    /// a key, event type or path this release does not know: a typo would narrow nothing,
    /// silently.
    pub fn new(bytes: Vec<u8>) -> Result<ServedConfig, String> {
        let config =
            telemetry_runtime::CollectionConfig::parse(&bytes).map_err(|e| e.to_string())?;
        if let Some(first) = config.unknown().first() {
            return Err(format!("this release does not know {first}"));
        }
        // The same document, the same tag, on every collector and on the clients.
        let etag = format!("\"{}\"", telemetry_runtime::collection_tag(&bytes));
        Ok(ServedConfig {
            bytes: bytes.into(),
            config,
            etag,
        })
    }

    /// The document, as given.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The document, read.
    pub fn config(&self) -> &telemetry_runtime::CollectionConfig {
        &self.config
    }

    /// Its `ETag`: `"c-"` and a hash of its bytes, quoted.
    pub fn etag(&self) -> &str {
        &self.etag
    }
}

impl Options {
    /// The defaults: `127.0.0.1:8080`, `sqlite:telemetry.db`, K = 5, 90 days, plain HTTP.
    pub fn new() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            store: StoreSpec::Sqlite(PathBuf::from("telemetry.db")),
            min_installations: 5,
            retention_days: 90,
            tls: None,
            today: Today::System,
            tap: None,
            log_level: Level::Info,
            log: None,
            read_token: None,
            public: false,
            wal_dir: None,
            collection: None,
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options::new()
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("listen", &self.listen)
            .field("store", &self.store)
            .field("min_installations", &self.min_installations)
            .field("retention_days", &self.retention_days)
            .field("tls", &self.tls.is_some())
            .field("today", &self.today)
            .field("log_level", &self.log_level)
            // Whether a key is set, never the key.
            .field("read_token", &self.read_token.is_some())
            .field("public", &self.public)
            .field(
                "collection",
                &self.collection.as_ref().map(ServedConfig::etag),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, unix))]
mod file_tests {
    use super::read_operator_file;

    #[test]
    fn a_fifo_a_device_or_a_huge_file_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(
            read_operator_file(&fifo, 1024).is_err(),
            "no writer: not waited for"
        );
        assert!(read_operator_file(std::path::Path::new("/dev/zero"), 1024).is_err());
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        assert!(read_operator_file(&big, 1024).is_err());
        let ok = dir.path().join("ok");
        std::fs::write(&ok, b"key").unwrap();
        assert_eq!(read_operator_file(&ok, 1024).unwrap(), b"key");
    }
}
