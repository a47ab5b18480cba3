//! The store at scale: ClickHouse over its HTTP interface.
//!
//! Ids (batch, installation, session) and values are stored as 64-bit hashes
//! ([`hash`]): the tables sort and group on numbers, and hold no id in the clear. The
//! values' text is in `keys`, once each.
//!
//! Each call of [`Store::write`] is one `INSERT` block per table (tab-separated rows),
//! however many batches it holds. Tables are `ReplacingMergeTree`s keyed by what makes a row
//! unique, so when the same batch reaches two collectors at once and both insert it, the
//! copies are the same row: distinct counts (`uniqExact`) never see them twice, and the
//! totals, summed from the `batches` rows, take out any copy not merged away yet. Every
//! number and string in a statement is one the wire check allowed, escaped all the same.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use telemetry_runtime::MAX_COUNT;

mod read;
mod schema;
mod write;

use crate::model::{Prepared, hash};
use crate::store::{Store, StoreError, Window, value_id as key_id};

/// How long a deletion may take to be applied before the request fails.
const MUTATION_WAIT: Duration = Duration::from_secs(60);
/// Ids per `IN (…)` list: statements stay far below ClickHouse's 256 KiB query limit.
const IDS_PER_QUERY: usize = 5_000;

pub(crate) struct ClickHouse {
    agent: ureq::Agent,
    /// Where statements go: the only server, or the first shard (with the settings that
    /// make an `INSERT` into a `Distributed` table return once every shard has its rows).
    url: String,
    /// With a cluster: every shard's URL, where tables are made, rows deleted and
    /// deletions waited for (ClickHouse applies neither through a `Distributed` table).
    shards: Vec<String>,
    db: String,
    /// Value ids already written to `keys` by this process.
    keys_written: Mutex<HashSet<u64>>,
}

/// `s` as a ClickHouse string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `s` as a field of a tab-separated row.
fn tsv(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

/// A count ClickHouse sent as a JSON number or, for 64-bit integers, a string; a sum
/// (summed as `Float64`, which cannot wrap) is a float. At most `MAX_COUNT`.
fn number(v: &Value) -> u64 {
    let n = match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0),
        Value::String(s) => s
            .parse::<u64>()
            .ok()
            .or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| *f >= 0.0)
                    .map(|f| f as u64)
            })
            .unwrap_or(0),
        _ => 0,
    };
    n.min(MAX_COUNT)
}

fn numbers(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().map(number).collect())
        .unwrap_or_default()
}

/// A 64-bit id (a hash) ClickHouse sent as a string or a number: all 64 bits of it.
fn id(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().map(id).collect())
        .unwrap_or_default()
}

fn array(values: impl Iterator<Item = u64>) -> String {
    let mut out = String::from("[");
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{v}");
    }
    out.push(']');
    out
}

impl ClickHouse {
    /// The tables deletions apply to, as `(server, table)`: the table on the one server,
    /// or each shard's local one.
    fn local(&self, table: &str) -> Vec<(&str, String)> {
        if self.shards.is_empty() {
            vec![(self.url.as_str(), format!("{}.{table}", self.db))]
        } else {
            self.shards
                .iter()
                .map(|url| (url.as_str(), format!("{}.{table}_local", self.db)))
                .collect()
        }
    }

    /// Runs `sql` (with any data after it) and returns what ClickHouse answered.
    fn run(&self, sql: &str) -> Result<String, StoreError> {
        self.run_at(&self.url, sql)
    }

    /// [`ClickHouse::run`] on server `url`.
    fn run_at(&self, url: &str, sql: &str) -> Result<String, StoreError> {
        let mut response = self
            .agent
            .post(url)
            .send(sql)
            .map_err(|e| StoreError::new("ClickHouse does not answer", e))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| StoreError::new("ClickHouse's answer was cut", e))?;
        if !status.is_success() {
            // Only ClickHouse's error code: its message can quote the statement, and so
            // hashes and values from batches, which no log line may hold.
            let code: String = body
                .strip_prefix("Code: ")
                .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
                .unwrap_or_default();
            return Err(StoreError(format!(
                "ClickHouse refused a statement (HTTP {}, error code {})",
                status.as_u16(),
                if code.is_empty() { "unknown" } else { &code }
            )));
        }
        Ok(body)
    }

    /// The rows of a `SELECT`, one JSON object each.
    fn rows(&self, sql: &str) -> Result<Vec<Value>, StoreError> {
        self.run(&format!("{sql} FORMAT JSONEachRow"))?
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| StoreError::new("ClickHouse's answer", e)))
            .collect()
    }

    /// Inserts tab-separated `rows` (each ending in a newline) into `table`.
    fn insert(&self, table: &str, rows: &str) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.run(&format!(
            "INSERT INTO {}.{table} FORMAT TabSeparated\n{rows}",
            self.db
        ))
        .map(drop)
    }

    /// `day BETWEEN … AND …` and the app filter.
    fn window(&self, w: &Window) -> String {
        let mut sql = format!("day BETWEEN {} AND {}", w.from, w.to);
        if let Some(app) = &w.app {
            let _ = write!(sql, " AND app = {}", quote(app));
        }
        sql
    }

    /// Waits until every deletion of this database has been applied (on every shard), so a
    /// `204` means the rows are gone.
    fn wait_for_mutations(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + MUTATION_WAIT;
        let sql = format!(
            "SELECT count() AS n FROM system.mutations WHERE database = {} AND is_done = 0 \
             FORMAT JSONEachRow",
            quote(&self.db)
        );
        let servers: Vec<&str> = match self.shards.is_empty() {
            true => vec![self.url.as_str()],
            false => self.shards.iter().map(String::as_str).collect(),
        };
        loop {
            let mut pending = 0;
            for url in &servers {
                let answer = self.run_at(url, &sql)?;
                let row: Option<Value> = answer
                    .lines()
                    .next()
                    .and_then(|l| serde_json::from_str(l).ok());
                pending += row.map_or(0, |r| number(&r["n"]));
            }
            if pending == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StoreError(
                    "ClickHouse has not applied a deletion yet".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Which of `batches` are already stored.
    fn known(&self, batches: &[u64]) -> Result<HashSet<u64>, StoreError> {
        let mut known = HashSet::new();
        for chunk in batches.chunks(IDS_PER_QUERY) {
            let list = array(chunk.iter().copied());
            let sql = format!(
                "SELECT batch FROM {}.seen WHERE batch IN ({})",
                self.db,
                &list[1..list.len() - 1]
            );
            known.extend(self.rows(&sql)?.iter().map(|r| id(&r["batch"])));
        }
        Ok(known)
    }

    /// The text of every value id.
    fn key_names(&self) -> Result<HashMap<u64, (String, String)>, StoreError> {
        Ok(self
            .rows(&format!("SELECT id, kind, key FROM {}.keys", self.db))?
            .iter()
            .map(|r| {
                let text = |f: &str| r[f].as_str().unwrap_or_default().to_owned();
                (id(&r["id"]), (text("kind"), text("key")))
            })
            .collect())
    }
}

impl Store for ClickHouse {
    fn write(&self, batches: &[Prepared]) -> Result<(), StoreError> {
        self.write_batches(batches)
    }

    fn aggregates(&self, w: &Window) -> Result<crate::store::Aggregates, StoreError> {
        read::aggregates(self, w)
    }

    fn delete_installation(&self, id: &str) -> Result<(), StoreError> {
        let install = hash(id);
        // Anyone may ask: an id never seen costs one read, not four mutations.
        let db = &self.db;
        let probe =
            format!("SELECT 1 AS n FROM {db}.day_installs WHERE install = {install} LIMIT 1");
        if self.rows(&probe)?.is_empty() {
            return Ok(());
        }
        for table in ["batches", "latest", "day_installs", "day_sessions"] {
            for (url, table) in self.local(table) {
                self.run_at(
                    url,
                    &format!("ALTER TABLE {table} DELETE WHERE install = {install}"),
                )?;
            }
        }
        self.wait_for_mutations()
    }

    fn retain(&self, today: i64, days: u32) -> Result<(), StoreError> {
        let db = &self.db;
        let cutoff = today - i64::from(days);
        let old = self.rows(&format!(
            "SELECT (SELECT count() FROM {db}.batches WHERE day < {cutoff}) + \
             (SELECT count() FROM {db}.day_installs WHERE day < {cutoff}) + \
             (SELECT count() FROM {db}.latest WHERE last_day < {cutoff}) AS n"
        ))?;
        if old.first().map_or(0, |r| number(&r["n"])) == 0 {
            return Ok(());
        }
        // What remains of the days about to lose their ids: who was seen, and the totals
        // (once; the tables' keys collapse two collectors doing this at the same time).
        self.run(&format!(
            "INSERT INTO {db}.daily SELECT i.app, i.day, i.n, s.n FROM \
             (SELECT app, day, uniqExact(install) AS n FROM {db}.day_installs \
              WHERE day < {cutoff} GROUP BY app, day) AS i \
             ANY LEFT JOIN (SELECT app, day, uniqExact(session) AS n FROM {db}.day_sessions \
              WHERE day < {cutoff} GROUP BY app, day) AS s USING (app, day) \
             WHERE (app, day) NOT IN (SELECT app, day FROM {db}.daily)"
        ))?;
        self.run(&format!(
            // Summed as `Float64` (a `UInt64` sum wraps), then capped at `MAX_COUNT`.
            "INSERT INTO {db}.kept SELECT app, day, sum(events), sum(first), \
             tupleElement(sumMap(keys, arrayMap(x -> toFloat64(x), totals)), 1), \
             arrayMap(x -> toUInt64(least(x, toFloat64({MAX_COUNT}))), \
             tupleElement(sumMap(keys, arrayMap(x -> toFloat64(x), totals)), 2)) \
             FROM {db}.batches FINAL WHERE day < {cutoff} \
             AND (app, day) GLOBAL NOT IN (SELECT app, day FROM {db}.kept) GROUP BY app, day"
        ))?;
        for (table, column) in [
            ("batches", "day"),
            ("seen", "day"),
            ("day_installs", "day"),
            ("day_sessions", "day"),
            ("latest", "last_day"),
        ] {
            for (url, table) in self.local(table) {
                self.run_at(
                    url,
                    &format!("ALTER TABLE {table} DELETE WHERE {column} < {cutoff}"),
                )?;
            }
        }
        self.wait_for_mutations()
    }

    fn known_values(&self, since: i64) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        let names = self.key_names()?;
        let last = self.rows(&format!(
            "SELECT app, key, max(last_day) AS day FROM {}.latest GROUP BY app, key \
             HAVING day >= {since}",
            self.db
        ))?;
        Ok(last
            .iter()
            .filter_map(|r| {
                let (kind, key) = names.get(&id(&r["key"]))?.clone();
                let app = r["app"].as_str()?.to_owned();
                Some((app, kind, key, i64::try_from(number(&r["day"])).ok()?))
            })
            .collect())
    }

    /// Every `INSERT` makes a part on disk that ClickHouse merges later: a few large blocks
    /// a second, not many small ones.
    fn linger(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.reachable(&self.url)?;
        // And a read of the table reports are made of.
        self.rows(&format!("SELECT day FROM {}.batches LIMIT 1", self.db))
            .map(drop)
    }
}

impl ClickHouse {
    /// Whether ClickHouse at `url` answers its `/ping`.
    fn reachable(&self, url: &str) -> Result<(), StoreError> {
        let base = url.split('?').next().unwrap_or(url);
        let mut response = self
            .agent
            .get(format!("{base}ping"))
            .call()
            .map_err(|e| StoreError::new("ClickHouse does not answer", e))?;
        let body = response
            .body_mut()
            .with_config()
            .limit(1024)
            .read_to_string()
            .unwrap_or_default();
        if !(response.status().is_success() && body.starts_with("Ok")) {
            return Err(StoreError("ClickHouse's /ping did not answer `Ok.`".into()));
        }
        Ok(())
    }
}
