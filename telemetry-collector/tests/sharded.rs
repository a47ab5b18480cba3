//! A ClickHouse of two shards, looked at shard by shard: rows are spread over both, two
//! collectors entering by different shards store each batch once, and a deletion and the
//! retention reach the local tables of every shard. (The whole conformance suite also runs
//! sharded: `conformance.rs`, `answers.rs`, tests `sharded::…`.)

#[macro_use]
mod common;

use common::{Kind, Logs, Place, delete, post, post_at_once, real_batch, variant};
use telemetry_collector::{Collector, StoreSpec, Today};

/// The FNV-1a hash the ClickHouse store keys ids by (`model::hash`).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `SELECT count()` of `sql` (a `FROM … WHERE …`) on shard `i`'s own tables.
fn count_on_shard(i: usize, database: &str, sql: &str) -> u64 {
    let port = common::shards()[i].http_port;
    let query = format!("SELECT count() {}", sql.replace("{db}", database));
    let mut answer = common::agent()
        .post(format!("http://127.0.0.1:{port}/"))
        .send(query)
        .unwrap();
    let body = answer.body_mut().read_to_string().unwrap();
    body.trim().parse().unwrap_or_else(|_| panic!("{body}"))
}

fn database(place: &Place) -> String {
    match &place.spec {
        StoreSpec::ClickHouseCluster { database, .. } => database.clone(),
        other => panic!("not sharded: {other:?}"),
    }
}

/// Each batch posted to two collectors at the same moment, one entering the cluster by
/// each shard: every batch is stored once, the rows lie on both shards, and both
/// collectors report the same.
#[test]
fn two_collectors_entering_by_different_shards_sharded() {
    let place = Place::new(Kind::Sharded);
    let db = database(&place);
    let logs = Logs::default();
    let a = place.start(&logs);
    let mut second = place.options(&logs);
    second.wal_dir = Some(place.dir.path().join("wal-b"));
    if let StoreSpec::ClickHouseCluster { shards, .. } = &mut second.store {
        shards.reverse();
    }
    let b = Collector::start(second).unwrap();
    let urls = [a.url(), b.url()].map(|u| format!("{u}/v1/batch"));
    for _ in 0..20 {
        let body = variant(real_batch(), &common::new_id(), None, None);
        assert_eq!(post_at_once(&urls, &body), [200, 200]);
    }
    assert!(a.flush() && b.flush());
    for c in [&a, &b] {
        let report = c.report(30, None).unwrap();
        assert_eq!(
            (report.batches, report.events, report.installations),
            (20, 80, 20)
        );
    }
    // Spread by installation over both shards (20 installations: both get some), each
    // (batch, installation) on one shard only.
    let distinct = "FROM (SELECT DISTINCT batch, install FROM {db}.batches_local)";
    let per_shard = [0, 1].map(|i| count_on_shard(i, &db, distinct));
    assert!(per_shard.iter().all(|n| *n > 0), "{per_shard:?}");
    assert_eq!(per_shard[0] + per_shard[1], 20, "{per_shard:?}");
}

/// A deletion empties every shard of the installation; the retention every shard of the
/// days it deletes, keeping their totals once.
#[test]
fn deletion_and_retention_reach_every_shard_sharded() {
    let place = Place::new(Kind::Sharded);
    let db = database(&place);
    let logs = Logs::default();
    let mut options = place.options(&logs);
    options.retention_days = 90;
    // 2026-03-08: batches of the day before, from enough installations to fill both
    // shards.
    options.today = Today::Fixed(20_520);
    let collector = Collector::start(options.clone()).unwrap();
    let ids: Vec<String> = (0..12).map(|_| common::new_id()).collect();
    for id in &ids {
        let body = variant(real_batch(), id, None, Some("2026-03-07T10"));
        assert_eq!(
            post(&format!("{}/v1/batch", collector.url()), body.as_bytes()),
            200
        );
    }
    assert!(collector.flush());
    let shard_of = |id: &str| -> Vec<u64> {
        let sql = format!("FROM {{db}}.day_installs_local WHERE install = {}", fnv(id));
        [0, 1].map(|i| count_on_shard(i, &db, &sql)).to_vec()
    };
    // Each installation's rows on one shard, and both shards holding some.
    let homes: Vec<Vec<u64>> = ids.iter().map(|id| shard_of(id)).collect();
    assert!(
        homes.iter().all(|h| h.iter().sum::<u64>() == 1),
        "{homes:?}"
    );
    assert!(homes.iter().any(|h| h[0] == 1) && homes.iter().any(|h| h[1] == 1));
    // Delete one installation on each shard.
    let on = |s: usize| ids.iter().zip(&homes).find(|(_, h)| h[s] == 1).unwrap().0;
    for s in [0, 1] {
        let url = format!("{}/v1/installations/{}", collector.url(), on(s));
        assert_eq!(delete(&url), 204);
        assert_eq!(shard_of(on(s)), [0, 0]);
        for table in ["batches", "latest", "day_sessions"] {
            let sql = format!("FROM {{db}}.{table}_local WHERE install = {}", fnv(on(s)));
            assert_eq!(count_on_shard(s, &db, &sql), 0, "{table}");
        }
    }
    assert_eq!(collector.report(30, None).unwrap().installations, 10);
    collector.shutdown();

    // 100 days later: the March rows are gone from every shard, their day's totals kept
    // once.
    options.today = Today::Fixed(20_619);
    let collector = Collector::start(options).unwrap();
    let recent = variant(real_batch(), &common::new_id(), None, Some("2026-06-14T10"));
    assert_eq!(
        post(&format!("{}/v1/batch", collector.url()), recent.as_bytes()),
        200
    );
    let report = collector.report(365, None).unwrap();
    assert_eq!((report.installations, report.batches), (1, 11));
    let march = report
        .per_day
        .iter()
        .find(|d| d.date == "2026-03-07")
        .unwrap();
    assert_eq!((march.installations, march.events), (10, 40));
    for s in [0, 1] {
        for (table, column) in [
            ("batches", "day"),
            ("day_installs", "day"),
            ("latest", "last_day"),
        ] {
            let sql = format!("FROM {{db}}.{table}_local WHERE {column} < 20529");
            assert_eq!(count_on_shard(s, &db, &sql), 0, "{table} on shard {s}");
        }
    }
}
