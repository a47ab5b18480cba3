//! A long-running service on tokio, as a maintainer of one would embed telemetry:
//! `cargo run --example service`, then Ctrl-C.
//!
//! Async flows run on a timer; heartbeats say the service is alive (every 2 s here instead of
//! the default hour); Ctrl-C stops the loop, and dropping the guard flushes what is pending
//! within the flush timeout, so shutdown is bounded even with the collector gone.
//!
//! Like the quickstart it is self-contained: it starts the real collector in-process on
//! 127.0.0.1 (SQLite in a temporary directory), switches telemetry on for this run only, and
//! prints a line for each batch the collector receives. Pass `--endpoint URL` to send to a
//! collector of your own instead, and `--seconds N` to stop by itself after N seconds.

use std::sync::Arc;
use std::time::Duration;

use telemetry::config::Env;
use telemetry::{Config, flow, task};
use telemetry_collector::{Collector, Options, StoreSpec};

/// One unit of the service's work: async, with a retry for a flaky dependency.
#[task(retries = 2, retry_delay_ms = 20)]
async fn fetch_orders(round: u64) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(round * 3)
}

/// What the timer runs.
#[flow]
async fn sync_orders(round: u64) -> Result<u64, std::io::Error> {
    let orders = fetch_orders(round).await?;
    Ok(orders)
}

/// `serde_json` would do; a substring count is all this demo's output needs.
fn count(body: &[u8], needle: &str) -> usize {
    let text = String::from_utf8_lossy(body);
    text.matches(needle).count()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: Option<u64> = flag("--seconds").and_then(|s| s.parse().ok());

    // A scratch config dir: the demo writes nothing where real settings live.
    let scratch = std::env::temp_dir().join(format!("telemetry-service-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&scratch);

    let mut collector = None;
    let endpoint = match flag("--endpoint") {
        Some(url) => url,
        None => {
            let mut options = Options::new();
            options.listen = ([127, 0, 0, 1], 0).into();
            options.store = StoreSpec::Sqlite(scratch.join("telemetry.db"));
            options.tap = Some(Arc::new(|body: &[u8]| {
                println!(
                    "collector received a batch: {} event(s), {} heartbeat(s)",
                    count(body, "\"event_id\""),
                    count(body, "\"event_type\":\"heartbeat\"")
                );
            }));
            let started = Collector::start(options).expect("start the collector");
            let url = format!("{}/v1/batch", started.url());
            collector = Some(started);
            url
        }
    };
    println!("sending to {endpoint}; Ctrl-C to stop");

    // On for this run only, a batch every 2 s: a demo should not wait an hour.
    let env = Env::process()
        .with("ACME_TELEMETRY_ENABLED", "1")
        .with("ACME_TELEMETRY_ENDPOINT", endpoint)
        .with("ACME_TELEMETRY_BATCH_INTERVAL_SECONDS", "2");
    let config = Config::new("acme", env!("CARGO_PKG_VERSION"))
        .env(env)
        .config_dir(scratch.join("config"))
        .heartbeat_interval(Duration::from_secs(2));
    let guard = telemetry::init(config);

    let mut timer = tokio::time::interval(Duration::from_millis(500));
    let stop = async {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    let mut round = 0;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = timer.tick() => {
                round += 1;
                if let Err(e) = sync_orders(round).await {
                    eprintln!("round {round} failed: {e}");
                }
            }
        }
    }

    // The flush: bounded by the flush timeout, on a blocking thread so the runtime's
    // other tasks (here, the in-process collector) keep serving meanwhile.
    println!("stopping after {round} round(s): flushing");
    let _ = tokio::task::spawn_blocking(move || drop(guard)).await;
    if let Some(collector) = collector {
        let _ = tokio::task::spawn_blocking(move || collector.shutdown()).await;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!("stopped");
}
