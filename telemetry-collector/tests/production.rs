//! The collector in production, on both stores: `kill -9` under load loses no acknowledged
//! batch; a flood of distinct names stays within the caps and the totals stay right; a batch
//! dated in the future is refused; a deleted id is in no file; a poisoned row never breaks a
//! read; reads need a key; the command line takes every flag from the environment too.

#[macro_use]
mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Kind, Logs, Place, files_containing, get, post, real_batch, variant};
use serde_json::Value;
use telemetry_collector::{Collector, StartError, StoreSpec, Today};

const EXE: &str = env!("CARGO_BIN_EXE_telemetry-collector");

fn batch_url(c: &Collector) -> String {
    format!("{}/v1/batch", c.url())
}

/// FNV-1a, as the ClickHouse store keys ids.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How many of `ids` the store at `place` holds.
fn stored(place: &Place, ids: &[String]) -> usize {
    match &place.spec {
        StoreSpec::ClickHouseCluster { .. } => unreachable!("no production test is sharded"),
        StoreSpec::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            let mut stmt = conn
                .prepare("SELECT 1 FROM batches WHERE batch_id = ?1 LIMIT 1")
                .unwrap();
            ids.iter()
                .filter(|id| stmt.exists([id.as_str()]).unwrap())
                .count()
        }
        StoreSpec::ClickHouse { port, database, .. } => {
            let mut found = 0;
            for chunk in ids.chunks(500) {
                let list: Vec<String> = chunk.iter().map(|id| fnv(id).to_string()).collect();
                let sql = format!(
                    "SELECT count(DISTINCT batch) FROM {database}.seen WHERE batch IN ({})",
                    list.join(",")
                );
                let mut r = common::agent()
                    .post(format!("http://127.0.0.1:{port}/"))
                    .send(sql)
                    .unwrap();
                found += r
                    .body_mut()
                    .read_to_string()
                    .unwrap()
                    .trim()
                    .parse::<usize>()
                    .unwrap();
            }
            found
        }
    }
}

fn store_arg(place: &Place) -> String {
    place.spec.to_string()
}

/// Batches arrive from several clients while the collector is killed (`SIGKILL`): after a
/// restart on the same store (and write-ahead log), every batch answered `200` is there.
fn kill_9_loses_no_acknowledged_batch(kind: Kind) {
    let place = Place::new(kind);
    let store = store_arg(&place);
    let wal = place.dir.path().join("wal");
    let args = [
        "--store",
        store.as_str(),
        "--wal-dir",
        wal.to_str().unwrap(),
        "--log",
        "error",
    ];
    let (mut child, url) = common::serve_binary(&args, Stdio::null());
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (url, acked, stop) = (
                format!("{url}/v1/batch"),
                Arc::clone(&acked),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let body = variant(real_batch(), &common::new_id(), None, None);
                    let json: Value = serde_json::from_str(&body).unwrap();
                    if post(&url, body.as_bytes()) == 200 {
                        acked
                            .lock()
                            .unwrap()
                            .push(json["batch_id"].as_str().unwrap().to_owned());
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 100 {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Mid-stream: requests in flight, batches acknowledged and not yet in ClickHouse.
    child.kill().unwrap();
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // Restarted: what the log held is written at once; a report flushes it.
    let (mut child, url) = common::serve_binary(&args, Stdio::null());
    assert_eq!(common::get(&format!("{url}/v1/report")).0, 200);
    let found = stored(&place, &acked);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        found,
        acked.len(),
        "{kind:?}: acknowledged batches lost to kill -9"
    );
}

/// Batches of 12,000 distinct error type names: each batch adds at most 256 names, the
/// store keeps at most 2,000, and every count still adds up.
fn floods_of_names_stay_within_the_caps(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let (batches, per_event, events) = (12, 1000, 12);
    for b in 0..batches {
        let body = common::names_batch(&b.to_string(), events, per_event);
        let (status, answer) = common::post_for_answer(&batch_url(&collector), body.as_bytes());
        assert_eq!(status, 200, "{answer}");
    }
    // Restarted, the collector counts what the store holds against the caps.
    collector.shutdown();
    let collector = place.start(&Logs::default());
    let body = common::names_batch("after", events, per_event);
    assert_eq!(post(&batch_url(&collector), body.as_bytes()), 200);
    let r = collector.report(30, None).unwrap();
    let errors = &r.breakdowns["errors"];
    assert!(errors.len() <= 2_001, "{} rows", errors.len());
    let total: u64 = errors.iter().map(|row| row.total).sum();
    assert_eq!(
        total,
        ((batches + 1) * per_event * events) as u64,
        "every count is kept"
    );
    assert_eq!(errors.last().unwrap().value, "other");
}

/// A batch dated beyond tomorrow is refused, naming why; one dated today is taken.
fn a_future_dated_batch_is_refused(kind: Kind) {
    let place = Place::new(kind);
    let mut options = place.options(&Logs::default());
    // 2026-06-15.
    options.today = Today::Fixed(20_619);
    let collector = Collector::start(options).unwrap();
    let future = variant(real_batch(), &common::new_id(), None, Some("9999-12-31T23"));
    let (status, answer) = common::post_for_answer(&batch_url(&collector), future.as_bytes());
    assert_eq!(status, 400);
    assert!(
        answer.contains("ahead of the collector's clock"),
        "{answer}"
    );
    let soon = variant(real_batch(), &common::new_id(), None, Some("2026-06-16T23"));
    assert_eq!(post(&batch_url(&collector), soon.as_bytes()), 200);
    let later = variant(real_batch(), &common::new_id(), None, Some("2026-06-17T00"));
    assert_eq!(post(&batch_url(&collector), later.as_bytes()), 400);
    let r = collector.report(30, None).unwrap();
    assert_eq!((r.batches, r.installations), (1, 1));
}

/// After `DELETE`, the installation id is in no file of the store (nor of the collector's
/// write-ahead log), once the collector is stopped.
fn a_deleted_id_is_in_no_file(kind: Kind) {
    let place = Place::new(kind);
    let collector = place.start(&Logs::default());
    let (gone, kept) = (common::new_id(), common::new_id());
    for install in [&gone, &gone, &kept] {
        let body = variant(real_batch(), install, None, None);
        assert_eq!(post(&batch_url(&collector), body.as_bytes()), 200);
    }
    collector.flush();
    let dir = place.dir.path();
    if kind == Kind::Sqlite {
        assert!(
            !files_containing(dir, gone.as_bytes()).is_empty(),
            "the scan finds it"
        );
    }
    let url = format!("{}/v1/installations/{gone}", collector.url());
    assert_eq!(common::delete(&url), 204);
    collector.shutdown();
    let mut found = files_containing(dir, gone.as_bytes());
    if kind == Kind::ClickHouse {
        // ClickHouse's own files and logs (its tables hold ids hashed, never as text).
        found.extend(files_containing(&common::clickhouse().dir, gone.as_bytes()));
    }
    assert!(found.is_empty(), "{kind:?}: the deleted id is in {found:?}");
    if kind == Kind::Sqlite {
        assert!(!files_containing(dir, kept.as_bytes()).is_empty());
    }
}

/// Reads need the key when one is set; writes and deletions do not.
fn reads_need_the_key(kind: Kind) {
    let place = Place::new(kind);
    let mut options = place.options(&Logs::default());
    options.read_token = Some("k3y-0f-at-least-16-chars".into());
    let collector = Collector::start(options).unwrap();
    let body = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(post(&batch_url(&collector), body.as_bytes()), 200);
    let base = collector.url();
    for path in ["/", "/v1/report"] {
        let r = common::agent().get(format!("{base}{path}")).call().unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        assert!(
            r.headers()
                .get("www-authenticate")
                .is_some_and(|v| v.to_str().unwrap().starts_with("Basic")),
            "{path}"
        );
        let with = |auth: &str| {
            common::agent()
                .get(format!("{base}{path}"))
                .header("Authorization", auth)
                .call()
                .unwrap()
                .status()
                .as_u16()
        };
        assert_eq!(with("Bearer k3y-0f-at-least-16-chars"), 200, "{path}");
        // `anyone:k3y-0f-at-least-16-chars`, as a browser sends it.
        assert_eq!(
            with("Basic YW55b25lOmszeS0wZi1hdC1sZWFzdC0xNi1jaGFycw=="),
            200,
            "{path}"
        );
        assert_eq!(with("Bearer k3y-0f-at-least-16-charz"), 401, "{path}");
        assert_eq!(with("Bearer "), 401, "{path}");
    }
    assert_eq!(get(&format!("{base}/healthz")).0, 200);
    assert_eq!(get(&format!("{base}/v1/schema")).0, 200);
    assert_eq!(
        common::delete(&format!("{base}/v1/installations/{}", common::new_id())),
        204
    );
}

on_both_stores!(
    kill_9_loses_no_acknowledged_batch,
    floods_of_names_stay_within_the_caps,
    a_future_dated_batch_is_refused,
    a_deleted_id_is_in_no_file,
    reads_need_the_key,
);

/// A collector on a network address refuses to start without a read key or `--public`.
#[test]
fn an_open_collector_on_the_network_refuses_to_start() {
    let place = Place::new(Kind::Sqlite);
    let mut options = place.options(&Logs::default());
    options.listen = "0.0.0.0:0".parse().unwrap();
    match Collector::start(options) {
        Err(e @ StartError::Unprotected(_)) => {
            let text = e.to_string();
            assert!(
                text.contains("--read-token-file") && text.contains("--public"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    let out = Command::new(EXE)
        .args(["serve", "--listen", "0.0.0.0:0", "--store"])
        .arg(format!(
            "sqlite:{}",
            place.dir.path().join("t.db").display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--read-token-file"));
}

/// A sum an older collector let overflow into a `REAL`: the read skips that row and says
/// so, the rest of the report stands, and `/healthz` stays `200`.
#[test]
fn a_poisoned_row_never_breaks_a_read() {
    let place = Place::new(Kind::Sqlite);
    let logs = Logs::default();
    let collector = place.start(&logs);
    let body = variant(real_batch(), &common::new_id(), None, None);
    assert_eq!(post(&batch_url(&collector), body.as_bytes()), 200);
    collector.flush();
    let StoreSpec::Sqlite(path) = &place.spec else {
        unreachable!()
    };
    let conn = rusqlite::Connection::open(path).unwrap();
    let poisoned = conn
        .execute(
            "UPDATE sums SET total = 9.3e18 * 2 WHERE kind = 'metric' AND key = 'cache_hits'",
            [],
        )
        .unwrap();
    assert_eq!(poisoned, 1);
    drop(conn);
    let r = common::report_json(&collector, "");
    assert_eq!(r["batches"], 1);
    let metrics = r["breakdowns"]["metrics"].as_array().unwrap();
    // The poisoned sum is passed over: that value shows no total.
    let hits = metrics.iter().find(|m| m["value"] == "cache_hits").unwrap();
    assert_eq!(hits["total"], 0);
    assert!(metrics.iter().any(|m| m["value"] == "flow_runs.calls"));
    assert_eq!(get(&format!("{}/healthz", collector.url())).0, 200);
    assert!(
        logs.text().contains("skipped 1 stored row"),
        "{}",
        logs.text()
    );
}

/// Every flag of `serve` can come from its `TELEMETRY_COLLECTOR_*` variable, and `--help`
/// says so.
#[test]
fn flags_come_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "0123456789abcdef0123\n").unwrap();
    let mut child = Command::new(EXE)
        .arg("serve")
        .env("TELEMETRY_COLLECTOR_LISTEN", "127.0.0.1:0")
        .env(
            "TELEMETRY_COLLECTOR_STORE",
            format!("sqlite:{}", dir.path().join("t.db").display()),
        )
        .env("TELEMETRY_COLLECTOR_READ_TOKEN_FILE", &token)
        .env("TELEMETRY_COLLECTOR_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut first,
    )
    .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(dir.path().join("t.db").exists());
    assert_eq!(
        get(&format!("{url}/v1/report")).0,
        401,
        "the token file was read"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let help = Command::new(EXE)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--listen",
        "--store",
        "--min-installations",
        "--retention-days",
        "--tls-cert",
        "--tls-key",
        "--read-token-file",
        "--public",
        "--wal-dir",
        "--collection-config",
        "--log",
    ] {
        let var = format!(
            "TELEMETRY_COLLECTOR_{}",
            flag.trim_start_matches("--")
                .replace('-', "_")
                .to_uppercase()
        );
        assert!(
            help.contains(flag) && help.contains(&var),
            "{flag} {var}:\n{help}"
        );
    }
}
