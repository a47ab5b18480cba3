//! The tables: what each holds and, on a cluster, what spreads it over the shards; and
//! opening the store, which makes them.

use std::sync::Mutex;
use std::time::Duration;

use super::ClickHouse;
use crate::store::StoreError;

/// Rows of a partition are merged together; a month of days keeps partitions few.
pub(super) const TABLES: [&str; 8] = [
    "CREATE TABLE IF NOT EXISTS {db}.seen (batch UInt64, day Int32) \
     ENGINE = ReplacingMergeTree() PARTITION BY intDiv(day, 32) ORDER BY batch",
    "CREATE TABLE IF NOT EXISTS {db}.batches (batch UInt64, install UInt64, app String, \
     day Int32, first UInt8, events UInt64, keys Array(UInt64), totals Array(UInt64)) \
     ENGINE = ReplacingMergeTree() PARTITION BY intDiv(day, 32) ORDER BY (day, batch, install)",
    "CREATE TABLE IF NOT EXISTS {db}.keys (id UInt64, kind String, key String) \
     ENGINE = ReplacingMergeTree() ORDER BY id",
    "CREATE TABLE IF NOT EXISTS {db}.latest (key UInt64, app String, install UInt64, \
     last_day Int32) ENGINE = ReplacingMergeTree(last_day) ORDER BY (key, app, install)",
    "CREATE TABLE IF NOT EXISTS {db}.day_installs (app String, day Int32, install UInt64) \
     ENGINE = ReplacingMergeTree() PARTITION BY intDiv(day, 32) ORDER BY (app, day, install)",
    "CREATE TABLE IF NOT EXISTS {db}.day_sessions (app String, day Int32, session UInt64, \
     install UInt64) ENGINE = ReplacingMergeTree() PARTITION BY intDiv(day, 32) \
     ORDER BY (app, day, session)",
    "CREATE TABLE IF NOT EXISTS {db}.daily (app String, day Int32, installations UInt64, \
     sessions UInt64) ENGINE = ReplacingMergeTree() ORDER BY (app, day)",
    "CREATE TABLE IF NOT EXISTS {db}.kept (app String, day Int32, events UInt64, \
     batches UInt64, keys Array(UInt64), totals Array(UInt64)) \
     ENGINE = ReplacingMergeTree() ORDER BY (app, day)",
];

/// What each table is spread over shards by ([`ClickHouse::open`] with a cluster): rows
/// that `ReplacingMergeTree` or `FINAL` must see together are on one shard (a batch's rows
/// and copies, by installation; a day's kept totals, by day).
pub(super) const SHARDED_BY: [(&str, &str); 8] = [
    ("seen", "batch"),
    ("batches", "install"),
    ("keys", "id"),
    ("latest", "install"),
    ("day_installs", "install"),
    ("day_sessions", "install"),
    ("daily", "day"),
    ("kept", "day"),
];

impl ClickHouse {
    /// The store on `servers` (one, or with `cluster` every shard of it), in database
    /// `db`: created with its tables if missing. Sharded, each shard holds the tables as
    /// `NAME_local`, and `NAME` is a `Distributed` table over them.
    pub(crate) fn open(
        servers: &[(String, u16)],
        db: &str,
        cluster: Option<&str>,
    ) -> Result<ClickHouse, StoreError> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build();
        let urls: Vec<String> = servers
            .iter()
            .map(|(host, port)| format!("http://{host}:{port}/"))
            .collect();
        let first = urls
            .first()
            .ok_or_else(|| StoreError("no ClickHouse server given".into()))?;
        let store = ClickHouse {
            agent: ureq::Agent::new_with_config(config),
            url: match cluster {
                // Synchronous: rows are on their shards when the `INSERT` returns, so a
                // report after a flush reads them.
                Some(_) => format!("{first}?insert_distributed_sync=1"),
                None => first.clone(),
            },
            shards: if cluster.is_some() {
                urls.clone()
            } else {
                Vec::new()
            },
            db: db.to_owned(),
            keys_written: Mutex::default(),
        };
        for ((host, port), url) in servers.iter().zip(&urls) {
            store.reachable(url).map_err(|e| {
                StoreError(format!("cannot reach ClickHouse at {host}:{port}: {e}"))
            })?;
            store.run_at(url, &format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
        }
        let Some(cluster) = cluster else {
            for table in TABLES {
                store.run(&table.replace("{db}", db))?;
            }
            return Ok(store);
        };
        for (table, (name, by)) in TABLES.iter().zip(SHARDED_BY) {
            let table = table.replace("{db}", db);
            let local = table.replacen(&format!("{db}.{name} "), &format!("{db}.{name}_local "), 1);
            if local == table {
                return Err(StoreError(format!("the table {name} is not sharded")));
            }
            for url in &urls {
                store.run_at(url, &local)?;
                store.run_at(
                    url,
                    &format!(
                        "CREATE TABLE IF NOT EXISTS {db}.{name} AS {db}.{name}_local \
                         ENGINE = Distributed({cluster}, {db}, {name}_local, {by})"
                    ),
                )?;
            }
        }
        Ok(store)
    }
}
