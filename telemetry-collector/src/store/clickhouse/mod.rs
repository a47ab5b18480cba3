//! The store at scale: ClickHouse over its HTTP interface.
//!
//! Tables are `ReplacingMergeTree`s keyed by what makes a row unique (a `batch_id`, an
//! `event_id`, an event's fact), and every read says `FINAL`: when the same batch reaches
//! two collectors at once and both insert it, the copies collapse into one row, so nothing
//! is counted twice whichever instance answered. Each call of [`Store::write`] is one
//! `INSERT` block per table, however many batches it holds.
//!
//! Every value that goes into a statement is either a number or a string the wire types
//! checked (ids, names, versions); they are still quoted by [`quote`], and rows are sent
//! as `JSONEachRow`, which `serde_json` escapes.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::model::Prepared;
use crate::store::{Aggregates, DayCount, Dimension, Group, Source, Store, StoreError, Window};

/// Rows of the same partition are merged together; a month of days keeps partitions few.
const TABLES: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS {db}.batches (batch_id String, app String, day Int32) \
     ENGINE = ReplacingMergeTree() PARTITION BY intDiv(day, 32) ORDER BY batch_id",
    "CREATE TABLE IF NOT EXISTS {db}.events (event_id String, app String, day Int32, \
     install String, session String, event_type String, app_version String, \
     sdk_version String, rust_version String, os String, arch String) \
     ENGINE = ReplacingMergeTree() PARTITION BY intDiv(day, 32) \
     ORDER BY (event_type, day, event_id)",
    "CREATE TABLE IF NOT EXISTS {db}.facts (event_id String, app String, day Int32, \
     install String, kind String, key String, value UInt64) \
     ENGINE = ReplacingMergeTree() PARTITION BY intDiv(day, 32) \
     ORDER BY (kind, day, key, event_id)",
    "CREATE TABLE IF NOT EXISTS {db}.daily (app String, day Int32, installations UInt64, \
     sessions UInt64, events UInt64) \
     ENGINE = ReplacingMergeTree() ORDER BY (app, day)",
];

/// How long a deletion may take to be applied before the request fails.
const MUTATION_WAIT: Duration = Duration::from_secs(60);

pub(crate) struct ClickHouse {
    agent: ureq::Agent,
    url: String,
    db: String,
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

/// A count ClickHouse sent as a JSON number or, for 64-bit integers, a string.
fn number(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

impl ClickHouse {
    pub(crate) fn open(host: &str, port: u16, db: &str) -> Result<ClickHouse, StoreError> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build();
        let store = ClickHouse {
            agent: ureq::Agent::new_with_config(config),
            url: format!("http://{host}:{port}/"),
            db: db.to_owned(),
        };
        store
            .ping()
            .map_err(|e| StoreError(format!("cannot reach ClickHouse at {host}:{port}: {e}")))?;
        store.run(&format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
        for table in TABLES {
            store.run(&table.replace("{db}", db))?;
        }
        Ok(store)
    }

    /// Runs `sql` (with any data after it) and returns what ClickHouse answered.
    fn run(&self, sql: &str) -> Result<String, StoreError> {
        let mut response = self
            .agent
            .post(&self.url)
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
            // ClickHouse's message names the statement's problem, never a stored value:
            // statements only hold checked ids and names.
            let first = body.lines().next().unwrap_or_default();
            return Err(StoreError(format!(
                "ClickHouse refused a statement: {first}"
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

    fn insert(&self, table: &str, rows: &[Value]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut sql = format!("INSERT INTO {}.{table} FORMAT JSONEachRow\n", self.db);
        for row in rows {
            sql.push_str(&row.to_string());
            sql.push('\n');
        }
        self.run(&sql).map(drop)
    }

    fn window(&self, w: &Window) -> String {
        let mut sql = format!("day BETWEEN {} AND {}", w.from, w.to);
        if let Some(app) = &w.app {
            sql.push_str(&format!(" AND app = {}", quote(app)));
        }
        sql
    }

    /// Waits until every deletion of this database has been applied, so a `204` means the
    /// rows are gone.
    fn wait_for_mutations(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + MUTATION_WAIT;
        let sql = format!(
            "SELECT count() AS n FROM system.mutations WHERE database = {} AND is_done = 0",
            quote(&self.db)
        );
        loop {
            let pending = self.rows(&sql)?.first().map_or(0, |r| number(&r["n"]));
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
}

impl Store for ClickHouse {
    fn write(&self, batches: &[Prepared]) -> Result<(), StoreError> {
        if batches.is_empty() {
            return Ok(());
        }
        // Skip batches already stored (retries); two collectors racing on the same batch
        // are left to the tables' keys.
        let ids: Vec<String> = batches.iter().map(|b| quote(&b.batch_id)).collect();
        let known: HashSet<String> = self
            .rows(&format!(
                "SELECT batch_id FROM {}.batches WHERE batch_id IN ({})",
                self.db,
                ids.join(",")
            ))?
            .iter()
            .map(|r| text(&r["batch_id"]))
            .collect();
        let mut seen = HashSet::new();
        let fresh: Vec<&Prepared> = batches
            .iter()
            .filter(|b| !known.contains(&b.batch_id) && seen.insert(b.batch_id.as_str()))
            .collect();
        let mut events = Vec::new();
        let mut facts = Vec::new();
        for b in &fresh {
            events.extend(b.events.iter().map(|e| {
                json!({
                    "event_id": e.event_id, "app": b.app, "day": e.day, "install": e.install,
                    "session": e.session, "event_type": e.event_type,
                    "app_version": e.app_version, "sdk_version": e.sdk_version,
                    "rust_version": e.rust_version, "os": e.os, "arch": e.arch,
                })
            }));
            facts.extend(b.facts.iter().map(|f| {
                json!({
                    "event_id": f.event_id, "app": b.app, "day": f.day, "install": f.install,
                    "kind": f.kind, "key": f.key, "value": f.value,
                })
            }));
        }
        // Events and facts first: a batch is only marked stored once its rows are, so a
        // failure part-way is retried whole rather than lost.
        self.insert("events", &events)?;
        self.insert("facts", &facts)?;
        let rows: Vec<Value> = fresh
            .iter()
            .map(|b| json!({"batch_id": b.batch_id, "app": b.app, "day": b.day}))
            .collect();
        self.insert("batches", &rows)
    }

    fn aggregates(&self, w: &Window) -> Result<Aggregates, StoreError> {
        let db = &self.db;
        let win = self.window(w);
        let totals = self.rows(&format!(
            "SELECT uniqExact(install) AS i, uniqExact(session) AS s, count() AS e, \
             uniqExactIf(install, event_type = 'usage') AS u \
             FROM {db}.events FINAL WHERE {win}"
        ))?;
        let totals = totals.first().cloned().unwrap_or(Value::Null);
        let batches = self.rows(&format!(
            "SELECT count() AS b FROM {db}.batches FINAL WHERE {win}"
        ))?;
        let mut a = Aggregates {
            installations: number(&totals["i"]),
            sessions: number(&totals["s"]),
            events: number(&totals["e"]),
            usage_installations: number(&totals["u"]),
            batches: batches.first().map_or(0, |r| number(&r["b"])),
            ..Aggregates::default()
        };
        let day_count = |r: &Value| DayCount {
            day: r["day"].as_i64().unwrap_or_default(),
            installations: number(&r["i"]),
            sessions: number(&r["s"]),
            events: number(&r["e"]),
        };
        a.per_day = self
            .rows(&format!(
                "SELECT day, uniqExact(install) AS i, uniqExact(session) AS s, count() AS e \
                 FROM {db}.events FINAL WHERE {win} GROUP BY day"
            ))?
            .iter()
            .map(day_count)
            .collect();
        // Days whose raw events the retention deleted keep their totals.
        let live: HashSet<i64> = a.per_day.iter().map(|d| d.day).collect();
        let kept = self.rows(&format!(
            "SELECT day, sum(installations) AS i, sum(sessions) AS s, sum(events) AS e \
             FROM {db}.daily FINAL WHERE {win} GROUP BY day"
        ))?;
        a.per_day.extend(
            kept.iter()
                .map(day_count)
                .filter(|d| !live.contains(&d.day)),
        );
        a.per_day.sort_by_key(|d| d.day);
        for dimension in Dimension::ALL {
            let sql = match dimension.source() {
                Source::SessionColumn(column) => format!(
                    "SELECT {column} AS v, uniqExact(install) AS i, count() AS t \
                     FROM {db}.events FINAL WHERE event_type = 'session' AND {win} \
                     GROUP BY {column}"
                ),
                Source::Facts(kind) => format!(
                    "SELECT key AS v, uniqExact(install) AS i, sum(value) AS t \
                     FROM {db}.facts FINAL WHERE kind = '{kind}' AND {win} GROUP BY key"
                ),
            };
            let groups = self
                .rows(&sql)?
                .iter()
                .map(|r| Group {
                    value: text(&r["v"]),
                    installations: number(&r["i"]),
                    total: number(&r["t"]),
                })
                .collect();
            a.groups.push((dimension, groups));
        }
        Ok(a)
    }

    fn delete_installation(&self, id: &str) -> Result<(), StoreError> {
        for table in ["events", "facts"] {
            self.run(&format!(
                "ALTER TABLE {}.{table} DELETE WHERE install = {}",
                self.db,
                quote(id)
            ))?;
        }
        self.wait_for_mutations()
    }

    fn retain(&self, today: i64, days: u32) -> Result<(), StoreError> {
        let db = &self.db;
        let cutoff = today - i64::from(days);
        // Keep the totals of the days about to go, once (the table's key collapses two
        // collectors doing this at the same time).
        self.run(&format!(
            "INSERT INTO {db}.daily SELECT app, day, uniqExact(install), uniqExact(session), \
             count() FROM {db}.events FINAL WHERE day < {cutoff} \
             AND (app, day) NOT IN (SELECT app, day FROM {db}.daily) GROUP BY app, day"
        ))?;
        let old = self.rows(&format!(
            "SELECT (SELECT count() FROM {db}.events WHERE day < {cutoff}) + \
             (SELECT count() FROM {db}.batches WHERE day < {cutoff}) AS n"
        ))?;
        if old.first().map_or(0, |r| number(&r["n"])) == 0 {
            return Ok(());
        }
        for table in ["events", "facts", "batches"] {
            self.run(&format!(
                "ALTER TABLE {db}.{table} DELETE WHERE day < {cutoff}"
            ))?;
        }
        self.wait_for_mutations()
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut response = self
            .agent
            .get(format!("{}ping", self.url))
            .call()
            .map_err(|e| StoreError::new("ClickHouse does not answer", e))?;
        let body = response
            .body_mut()
            .with_config()
            .limit(1024)
            .read_to_string()
            .unwrap_or_default();
        if response.status().is_success() && body.starts_with("Ok") {
            Ok(())
        } else {
            Err(StoreError("ClickHouse's /ping did not answer `Ok.`".into()))
        }
    }
}
