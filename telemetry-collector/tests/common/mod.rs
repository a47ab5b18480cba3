//! Shared by the collector's tests: a real ClickHouse server on a free loopback port, the
//! `acme` example as a real host, real batches from it (and variants of them), and a small
//! HTTP client.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use telemetry_collector::{Collector, Level, Options, Report, StoreSpec};

mod batches;
#[allow(unused_imports)] // each test binary uses a different subset
pub use batches::*;

/// `on_both_stores!(a, b)`: tests `sqlite::a`, `clickhouse::a`, … calling each function of
/// the test file with its store's `Kind` (in scope there as `Kind`).
#[allow(unused_macros)] // the benches include this file too
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Kind::Sqlite) } )*
        }
        mod clickhouse {
            $( #[test] fn $name() { super::$name(super::Kind::ClickHouse) } )*
        }
    };
}

/// `on_every_store!(a, b)`: [`on_both_stores!`], and `sharded::a`, … on a ClickHouse of
/// two shards ([`Kind::Sharded`]).
#[allow(unused_macros)] // the benches include this file too
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        on_both_stores!($($name),*);
        mod sharded {
            $( #[test] fn $name() { super::$name(super::Kind::Sharded) } )*
        }
    };
}

/// Which store a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    ClickHouse,
    /// ClickHouse as two shards of one cluster: the collector's tables `Distributed` over
    /// local tables on each ([`shards`]).
    Sharded,
}

/// The cluster the two test shards form.
pub const CLUSTER: &str = "telemetry_shards";

/// A place for one test: its directory, and (for ClickHouse) its own database.
pub struct Place {
    pub dir: tempfile::TempDir,
    pub spec: StoreSpec,
}

static NEXT: AtomicU64 = AtomicU64::new(1);

fn unique() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Place {
    pub fn new(kind: Kind) -> Place {
        let dir = tempfile::tempdir().unwrap();
        let spec = match kind {
            Kind::Sqlite => StoreSpec::Sqlite(dir.path().join("telemetry.db")),
            Kind::ClickHouse => StoreSpec::ClickHouse {
                host: "127.0.0.1".into(),
                port: clickhouse().http_port,
                database: format!("t{}_{}", std::process::id(), unique()),
            },
            Kind::Sharded => StoreSpec::ClickHouseCluster {
                shards: shards()
                    .iter()
                    .map(|s| ("127.0.0.1".to_owned(), s.http_port))
                    .collect(),
                database: format!("t{}_{}", std::process::id(), unique()),
                cluster: CLUSTER.into(),
            },
        };
        Place { dir, spec }
    }

    /// Options for a collector on a free port over this place's store, logging everything
    /// (debug included) into `log`.
    pub fn options(&self, log: &Logs) -> Options {
        let mut options = Options::new();
        options.listen = ([127, 0, 0, 1], 0).into();
        options.store = self.spec.clone();
        options.wal_dir = Some(self.dir.path().join("wal"));
        options.min_installations = 1;
        options.log_level = Level::Debug;
        let lines = Arc::clone(&log.0);
        options.log = Some(Arc::new(move |level, message| {
            lines.lock().unwrap().push(format!("{level}: {message}"));
        }));
        options
    }

    pub fn start(&self, log: &Logs) -> Collector {
        Collector::start(self.options(log)).expect("start the collector")
    }
}

/// What a collector logged.
#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<String>>>);

impl Logs {
    pub fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

// ---------------------------------------------------------------------------------------
// ClickHouse

/// A `clickhouse-server` of this test binary, on free loopback ports with a temporary data
/// directory. A watchdog shell stops it and deletes the directory when the test binary
/// exits, however it exits.
pub struct ClickHouseServer {
    pub http_port: u16,
    pub dir: PathBuf,
    /// Outlives every test: it ends after this process does.
    _watchdog: std::process::Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server, started on first use.
pub fn clickhouse() -> &'static ClickHouseServer {
    static SERVER: OnceLock<ClickHouseServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let ports = (free_port(), free_port(), free_port());
        start_clickhouse(Path::new("/etc/clickhouse-server/config.xml"), ports, None)
    })
}

/// Two servers, started on first use: the shards of the cluster [`CLUSTER`], which each
/// one's configuration names (a copy of Debian's, in its temporary directory).
pub fn shards() -> &'static [ClickHouseServer; 2] {
    static SHARDS: OnceLock<[ClickHouseServer; 2]> = OnceLock::new();
    SHARDS.get_or_init(|| {
        let ports = [0, 1].map(|_| (free_port(), free_port(), free_port()));
        let replica = |tcp: u16| {
            format!("<shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>")
        };
        let cluster = format!(
            "<remote_servers><{CLUSTER}>{}{}</{CLUSTER}></remote_servers>",
            replica(ports[0].1),
            replica(ports[1].1)
        );
        let debian = std::fs::read_to_string("/etc/clickhouse-server/config.xml")
            .expect("clickhouse-server's configuration: run the README's test command");
        let start = debian.find("<remote_servers").unwrap();
        let end = debian.find("</remote_servers>").unwrap() + "</remote_servers>".len();
        let config = format!("{}{cluster}{}", &debian[..start], &debian[end..]);
        ports.map(|p| start_clickhouse(Path::new("config.xml"), p, Some(&config)))
    })
}

/// Starts `clickhouse-server` on loopback ports `(http, tcp, interserver)` with a
/// temporary data directory, with configuration `config_file` (relative to that directory,
/// written with `config` and a copy of Debian's users if given).
fn start_clickhouse(
    config_file: &Path,
    (http, tcp, inter): (u16, u16, u16),
    config: Option<&str>,
) -> ClickHouseServer {
    let found = Command::new("sh")
        .args(["-c", "command -v clickhouse-server"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "clickhouse-server is not installed: run the README's test command (.ci/test), \
         which installs Debian's clickhouse-server package"
    );
    // Not a TempDir: the watchdog deletes it after the server stopped.
    let dir =
        std::env::temp_dir().join(format!("telemetry-ch-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let config_file = dir.join(config_file);
    if let Some(config) = config {
        std::fs::write(&config_file, config).unwrap();
        std::fs::copy("/etc/clickhouse-server/users.xml", dir.join("users.xml")).unwrap();
    }
    let d = dir.display();
    let server = format!(
        "clickhouse-server --config-file={config} -- \
         --path={d}/data/ --tmp_path={d}/tmp/ --user_files_path={d}/user_files/ \
         --format_schema_path={d}/format_schemas/ --listen_host=127.0.0.1 \
         --http_port={http} --tcp_port={tcp} --interserver_http_port={inter} \
         --logger.log={d}/server.log --logger.errorlog={d}/error.log \
         --logger.level=information --logger.console=0",
        config = config_file.display()
    );
    let watchdog = format!(
        "{server} >{d}/stdout.log 2>&1 & ch=$!; \
         while kill -0 {pid} 2>/dev/null && kill -0 $ch 2>/dev/null; do sleep 0.3; done; \
         kill $ch 2>/dev/null; wait $ch; rm -rf {d}",
        pid = std::process::id()
    );
    let watchdog = Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start clickhouse-server");
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = format!("http://127.0.0.1:{http}/ping");
    loop {
        if let Ok(mut r) = agent().get(&url).call()
            && r.body_mut()
                .read_to_string()
                .unwrap_or_default()
                .starts_with("Ok")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "clickhouse-server did not answer within 60 s; its log:\n{}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ClickHouseServer {
        http_port: http,
        dir,
        _watchdog: watchdog,
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build(),
    )
}

/// POSTs `body` to `url`; the status.
pub fn post(url: &str, body: &[u8]) -> u16 {
    agent()
        .post(url)
        .send(body)
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Posts `body` to each of `urls` at the same moment (a thread each, released together):
/// the statuses, in order.
pub fn post_at_once(urls: &[String], body: &str) -> Vec<u16> {
    let body = Arc::new(body.to_owned());
    let barrier = Arc::new(std::sync::Barrier::new(urls.len()));
    let senders: Vec<_> = urls
        .iter()
        .map(|url| {
            let (body, barrier, url) = (Arc::clone(&body), Arc::clone(&barrier), url.clone());
            std::thread::spawn(move || {
                barrier.wait();
                post(&url, body.as_bytes())
            })
        })
        .collect();
    senders.into_iter().map(|s| s.join().unwrap()).collect()
}

/// POSTs `body` to `url`: the status and the answer's body.
pub fn post_for_answer(url: &str, body: &[u8]) -> (u16, String) {
    let mut r = agent().post(url).send(body).expect("POST");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

/// GETs `url`: status and body.
pub fn get(url: &str) -> (u16, String) {
    let mut r = agent().get(url).call().expect("GET");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

pub fn delete(url: &str) -> u16 {
    agent()
        .delete(url)
        .call()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// `GET /v1/report?QUERY` as JSON.
pub fn report_json(collector: &Collector, query: &str) -> Value {
    let (status, body) = get(&format!("{}/v1/report?{query}", collector.url()));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The `value`s of a breakdown of `report`.
pub fn values(report: &Report, breakdown: &str) -> Vec<String> {
    report.breakdowns[breakdown]
        .iter()
        .map(|r| r.value.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// The acme host

/// The workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The `acme` example's binary, built once per test binary.
pub fn acme_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        // <target>/<profile>/deps/<test binary> → <target>/<profile>/examples/acme
        let test_exe = std::env::current_exe().unwrap();
        let profile = test_exe.parent().and_then(Path::parent).unwrap().to_owned();
        let mut build = Command::new(env!("CARGO"));
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "telemetry",
                "--example",
                "acme",
                "--manifest-path",
            ])
            .arg(workspace().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(profile.parent().unwrap());
        if profile.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        assert!(
            build.status().unwrap().success(),
            "cargo build --example acme"
        );
        profile
            .join("examples")
            .join(format!("acme{}", std::env::consts::EXE_SUFFIX))
    })
}

/// One installation of `acme`: its own config dir, consent given, sending to `url`.
pub struct Acme {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl Acme {
    pub fn new(collector_url: &str) -> Acme {
        Acme::with_endpoint(&format!("{collector_url}/v1/batch"))
    }

    /// One installation sending to `endpoint` as it is.
    pub fn with_endpoint(endpoint: &str) -> Acme {
        let acme = Acme {
            dir: tempfile::tempdir().unwrap(),
            endpoint: endpoint.to_owned(),
        };
        std::fs::create_dir(acme.dir.path().join("work")).unwrap();
        let out = acme.run(&["telemetry", "enable"]);
        assert!(out.status.success(), "{out:?}");
        acme
    }

    /// `acme ARGS` with nothing inherited from the test's environment.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.run_with(args, &[])
    }

    /// `acme ARGS`, with `extra` variables too.
    pub fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
        let d = self.dir.path();
        Command::new(acme_exe())
            .args(args)
            .env_clear()
            .envs(extra.iter().copied())
            .env("ACME_TELEMETRY_CONFIG_DIR", d.join("conf"))
            .env("ACME_TELEMETRY_POLICY_FILE", d.join("policy.toml"))
            .env("ACME_EXAMPLE_SYSTEM_POLICY", d.join("system-policy.toml"))
            .env("ACME_TELEMETRY_ENDPOINT", &self.endpoint)
            .current_dir(d.join("work"))
            .output()
            .unwrap()
    }

    /// The installation id `enable` gave it.
    pub fn installation_id(&self) -> String {
        let state =
            std::fs::read_to_string(self.dir.path().join("conf/telemetry_state.toml")).unwrap();
        let start = state.find("installation_id").unwrap();
        let quote = state[start..].find('"').unwrap() + start + 1;
        state[quote..quote + 36].to_owned()
    }
}

/// One real batch from `acme run --pipeline x`, as the collector received it (once per
/// test binary): the template of the variants below.
pub fn real_batch() -> &'static str {
    static BATCH: OnceLock<String> = OnceLock::new();
    BATCH.get_or_init(|| {
        let place = Place::new(Kind::Sqlite);
        let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let mut options = place.options(&Logs::default());
        let tap = Arc::clone(&got);
        options.tap = Some(Arc::new(move |b: &[u8]| {
            tap.lock().unwrap().push(b.to_vec())
        }));
        let collector = Collector::start(options).unwrap();
        let acme = Acme::new(&collector.url());
        let out = acme.run(&["run", "--pipeline", "x"]);
        assert!(out.status.success(), "{out:?}");
        collector.shutdown();
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "acme sends one batch per run");
        String::from_utf8(got[0].clone()).unwrap()
    })
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            found.push(path);
        }
    }
    found
}

// ---------------------------------------------------------------------------------------
// The binary

/// Runs `telemetry-collector serve ARGS` on a free loopback port, its stderr going to
/// `stderr`; the child and the URL its first line names.
pub fn serve_binary(args: &[&str], stderr: Stdio) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_telemetry-collector"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .trim()
        .to_owned();
    (child, url)
}
