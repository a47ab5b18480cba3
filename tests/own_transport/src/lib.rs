//! A scripted host transport, standing in for the host's own HTTP client: it answers each
//! request from a script (then 204 for the rest) and keeps what it was asked.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use telemetry::config::{Deliver, Delivery, DeliveryRequest, Env};

/// One request as the transport saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub url: String,
    pub body: Vec<u8>,
    pub timeout: Duration,
    pub at: Instant,
}

/// Answers from `script`, in order; `Hang` never returns on its own.
pub struct Scripted {
    script: Mutex<Vec<Answer>>,
    pub seen: Mutex<Vec<Seen>>,
}

#[derive(Clone, Copy, Debug)]
pub enum Answer {
    Give(Delivery),
    /// Blocks far longer than any timeout, as a client with no timeout of its own would.
    Hang,
}

impl Scripted {
    pub fn new(script: Vec<Answer>) -> Scripted {
        Scripted {
            script: Mutex::new(script.into_iter().rev().collect()),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl Deliver for &'static Scripted {
    fn deliver(&self, request: &DeliveryRequest<'_>) -> Delivery {
        self.seen.lock().unwrap().push(Seen {
            method: request.method.to_owned(),
            url: request.url.to_owned(),
            body: request.body.to_vec(),
            timeout: request.timeout,
            at: Instant::now(),
        });
        let next = self.script.lock().unwrap().pop();
        match next {
            Some(Answer::Give(delivery)) => delivery,
            Some(Answer::Hang) => {
                std::thread::sleep(Duration::from_secs(600));
                Delivery::NoAnswer
            }
            None => Delivery::Answered {
                status: 204,
                retry_after: None,
            },
        }
    }
}

/// A config that consents for this run and sends to a name that cannot resolve (the
/// transport never resolves it), with every file in `dir`.
pub fn config(dir: &std::path::Path, transport: &'static Scripted) -> telemetry::Config {
    telemetry::Config::new("acme", "1.0")
        .env(
            Env::empty()
                .with("ACME_TELEMETRY_ENABLED", "1")
                .with("ACME_TELEMETRY_ENDPOINT", "https://collector.invalid/v1/batch"),
        )
        .config_dir(dir.join("conf"))
        .policy_file(dir.join("policy.toml"))
        .current_dir(dir)
        .transport(transport)
}

/// Files waiting in the spool.
pub fn spooled(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("conf/telemetry_spool"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[telemetry::task]
pub fn work(n: u32) -> u32 {
    n + 1
}
