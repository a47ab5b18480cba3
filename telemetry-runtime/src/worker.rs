//! The worker: one named thread that drains the counters and the event queue, builds
//! batches, and hands them to the transport (SPEC §7).
//!
//! Data flows one way: call sites → counters / queue → worker → transport. The worker sends
//! when `batch_size` events wait or `batch_interval` has passed, and once more when the
//! guard is dropped, within `flush_timeout`. Every batch is written to the spool before it
//! is sent and removed once delivered, so a batch a process could not deliver before exiting
//! is sent by the next one (if consent still holds then). It stops at once, sending nothing
//! more, when consent is switched off.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, after, bounded, select, unbounded};

use crate::calendar::Clock;
use crate::callsite::{CallsiteSnapshot, Features, Kind, callsites};
use crate::config::Config;
use crate::counters::{Counts, is_recording};
use crate::env::truthy;
use crate::paths::SPOOL_DIR;
use crate::queue::{self, Message};
use crate::schema::{
    Batch, Body, Calls, Durations, Environment, ErrorType, Errors, Event, FeatureUse, Hour, Id,
    Metrics, SCHEMA_VERSION, Version,
};
use crate::spool::Spool;
use crate::state::{How, StateStore};
use crate::transport::{Endpoint, SendOutcome, Transport, TransportOptions};

/// Everything the worker needs, resolved from the `Config` and the environment by `init`.
pub(crate) struct Settings {
    /// Where batches go; `None` when no valid endpoint is set (then nothing is sent).
    pub endpoint: Option<Endpoint>,
    /// `APP_TELEMETRY_DEBUG`: print each batch to stderr instead of sending it.
    pub debug: bool,
    pub batch_size: usize,
    pub batch_interval: Duration,
    pub heartbeat_interval: Duration,
    pub spool_dir: Option<PathBuf>,
    /// Where the state file is, to record the day of the last delivery.
    pub state_dir: Option<PathBuf>,
    pub today: Clock,
    pub app_version: Version,
    pub user_agent: String,
    pub installation_id: Option<Id>,
    pub session_id: Id,
    pub environment: Environment,
    pub transport: TransportOptions,
}

/// Defaults of SPEC §7.
pub(crate) const DEFAULT_BATCH_SIZE: usize = 100;
pub(crate) const DEFAULT_BATCH_INTERVAL: Duration = Duration::from_secs(300);

impl Settings {
    /// The settings in force for `config`: its own, then `APP_TELEMETRY_*` variables.
    pub(crate) fn from_config(config: &Config, session_id: Id) -> Settings {
        let var = |suffix: &str| config.environment().get(&config.var(suffix));
        let number = |suffix: &str| {
            var(suffix)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
        };
        let state_dir = config.resolved_config_dir();
        Settings {
            // An endpoint that is not allowed (plain http to a remote host, say) sends
            // nothing rather than something unsafe.
            endpoint: config
                .effective_endpoint()
                .and_then(|e| Endpoint::parse(&e).ok()),
            debug: truthy(var("TELEMETRY_DEBUG").as_deref()),
            batch_size: number("TELEMETRY_BATCH_SIZE").map_or(DEFAULT_BATCH_SIZE, |n| n as usize),
            batch_interval: number("TELEMETRY_BATCH_INTERVAL_SECONDS")
                .map_or(DEFAULT_BATCH_INTERVAL, Duration::from_secs),
            heartbeat_interval: config.heartbeat_interval,
            spool_dir: state_dir.as_ref().map(|d| d.join(SPOOL_DIR)),
            state_dir: state_dir.clone(),
            today: config.clock,
            app_version: Version::new(config.version()),
            user_agent: format!("telemetry-rs/{}", env!("CARGO_PKG_VERSION")),
            // Only a user who said yes (`enable` or the prompt) has an installation id.
            installation_id: state_dir
                .as_ref()
                .and_then(|d| StateStore::new(d).read().ok())
                .filter(|s| s.enabled == Some(true))
                .and_then(|s| s.installation_id)
                .map(Id::from),
            session_id,
            environment: Environment::from_setting(var("TELEMETRY_ENVIRONMENT").as_deref()),
            transport: TransportOptions::default(),
        }
    }
}

/// Sizes of the pipeline's buffers, for hosts that want to watch them (and for tests that
/// prove they stay bounded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Discrete events waiting for the worker now.
    pub queue_len: usize,
    /// The most that can wait; beyond it events are dropped and counted.
    pub queue_capacity: usize,
    /// Batches waiting in the spool.
    pub spool_files: usize,
    /// Their size in bytes.
    pub spool_bytes: u64,
}

/// The sizes now, for the config dir `state_dir`.
pub(crate) fn diagnostics(state_dir: Option<PathBuf>) -> Diagnostics {
    let (spool_files, spool_bytes) =
        state_dir.map_or((0, 0), |d| Spool::new(d.join(SPOOL_DIR)).size());
    Diagnostics {
        queue_len: queue::len(),
        queue_capacity: queue::CAPACITY,
        spool_files,
        spool_bytes,
    }
}

/// How long a periodic send (not the final flush) may take, retries included.
const PERIODIC_SEND_BUDGET: Duration = Duration::from_secs(30);

enum Control {
    /// Send what is pending by `deadline`, then stop.
    Flush { deadline: Instant, done: Sender<()> },
}

/// The handle `init`'s guard keeps.
pub(crate) struct Worker {
    control: Sender<Control>,
    _thread: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker thread; `None` if it could not be spawned (telemetry then just
    /// sends nothing).
    pub(crate) fn start(settings: Settings) -> Option<Worker> {
        let (control, commands) = unbounded();
        let events = queue::receiver();
        let thread = thread::Builder::new()
            .name("telemetry-worker".into())
            .spawn(move || {
                let mut state = State::new(settings);
                // A panic here must never reach the host; it only ends telemetry.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    state.run(&events, &commands)
                }));
            })
            .ok()?;
        Some(Worker {
            control,
            _thread: thread,
        })
    }

    /// Sends what is pending and stops, waiting at most `timeout`. Whatever is not
    /// delivered by then is already in the spool.
    pub(crate) fn flush(self, timeout: Duration) {
        let started = Instant::now();
        // Leave the worker a little time to finish writing before the caller moves on.
        let deadline = started + timeout.saturating_sub(Duration::from_millis(50));
        let (done, finished) = bounded(1);
        if self.control.send(Control::Flush { deadline, done }).is_ok() {
            let _ = finished.recv_timeout(timeout);
        }
    }
}

struct State {
    settings: Settings,
    transport: Option<Transport>,
    spool: Option<Spool>,
    session_start: Hour,
    session_sent: bool,
    usage_sent: bool,
    last_heartbeat: Instant,
    previous: Vec<Counts>,
    errors: BTreeMap<ErrorType, u64>,
    pending_events: usize,
    stopped: bool,
    last_recorded: Option<crate::calendar::Date>,
}

impl State {
    fn new(settings: Settings) -> State {
        let transport = settings
            .endpoint
            .clone()
            .map(|e| Transport::new(e, &settings.user_agent, settings.transport.clone()));
        let spool = settings.spool_dir.clone().map(Spool::new);
        State {
            settings,
            transport,
            spool,
            session_start: Hour::now(),
            session_sent: false,
            usage_sent: false,
            last_heartbeat: Instant::now(),
            previous: Vec::new(),
            errors: BTreeMap::new(),
            pending_events: 0,
            stopped: false,
            last_recorded: None,
        }
    }

    fn run(&mut self, events: &Receiver<Message>, commands: &Receiver<Control>) {
        // Batches left by earlier processes go first, consent permitting.
        if is_recording() {
            self.send_spooled(Instant::now() + PERIODIC_SEND_BUDGET);
        }
        let mut next = Instant::now() + self.settings.batch_interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            select! {
                recv(events) -> message => {
                    if let Ok(message) = message {
                        self.add(message);
                    }
                    if self.pending_events >= self.settings.batch_size {
                        if !self.send_pending(Instant::now() + PERIODIC_SEND_BUDGET) {
                            return;
                        }
                        next = Instant::now() + self.settings.batch_interval;
                    }
                }
                recv(commands) -> command => {
                    match command {
                        Ok(Control::Flush { deadline, done }) => {
                            while let Ok(message) = events.try_recv() {
                                self.add(message);
                            }
                            self.send_pending(deadline);
                            let _ = done.send(());
                        }
                        // The guard went away without flushing: stop quietly.
                        Err(_) => {}
                    }
                    return;
                }
                recv(after(wait)) -> _ => {
                    if !self.send_pending(Instant::now() + PERIODIC_SEND_BUDGET) {
                        return;
                    }
                    next = Instant::now() + self.settings.batch_interval;
                }
            }
        }
    }

    fn add(&mut self, message: Message) {
        match message {
            Message::Error(error) => *self.errors.entry(error).or_insert(0) += 1,
        }
        self.pending_events += 1;
    }

    /// Builds and sends a batch of what is pending. Returns false once the worker should
    /// stop (consent was switched off).
    fn send_pending(&mut self, deadline: Instant) -> bool {
        if !is_recording() {
            // Consent was withdrawn while running: nothing more leaves the process.
            self.errors.clear();
            return false;
        }
        if let Some(batch) = self.build() {
            self.deliver(&batch, deadline);
        }
        true
    }

    fn event(&self, body: Body) -> Option<Event> {
        Some(Event {
            event_id: Id::random()?,
            session_id: self.settings.session_id,
            installation_id: self.settings.installation_id,
            timestamp: Hour::now(),
            sdk_version: Version::new(env!("CARGO_PKG_VERSION")),
            app_version: self.settings.app_version.clone(),
            rust_version: Version::new(env!("TELEMETRY_RUSTC_VERSION")),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            body,
        })
    }

    fn build(&mut self) -> Option<Batch> {
        let mut events = Vec::new();
        if !self.session_sent {
            let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            events.extend(self.event(Body::Session {
                interactive,
                environment: self.settings.environment,
            }));
            self.session_sent = true;
        }
        let sites = callsites();
        let (features, metrics) = usage(&sites, &self.previous, queue::take_dropped());
        self.previous = sites.iter().map(|s| s.counts).collect();
        let moved = metrics.flow_runs != Calls::default()
            || metrics.task_runs != Calls::default()
            || metrics.retry_attempts + metrics.cache_hits + metrics.cache_misses > 0
            || metrics.dropped_events > 0;
        if moved || !self.usage_sent {
            events.extend(self.event(Body::Usage { features, metrics }));
            self.usage_sent = true;
        }
        if !self.errors.is_empty() {
            let errors = Errors {
                exception_types: std::mem::take(&mut self.errors),
            };
            events.extend(self.event(Body::Error { errors }));
        }
        if self.last_heartbeat.elapsed() >= self.settings.heartbeat_interval {
            events.extend(self.event(Body::Heartbeat {
                session_start: self.session_start,
            }));
            self.last_heartbeat = Instant::now();
        }
        self.pending_events = 0;
        if events.is_empty() {
            return None;
        }
        Some(Batch {
            schema_version: SCHEMA_VERSION,
            batch_id: Id::random()?,
            events,
        })
    }

    fn deliver(&mut self, batch: &Batch, deadline: Instant) {
        if self.settings.debug {
            // Asked for by the user (`APP_TELEMETRY_DEBUG`): show, never send.
            if let Ok(text) = serde_json::to_string_pretty(batch) {
                eprintln!("telemetry (debug, not sent):\n{text}");
            }
            return;
        }
        let Ok(body) = serde_json::to_vec(batch) else {
            return;
        };
        let spooled = self
            .spool
            .as_ref()
            .and_then(|s| s.write(batch.batch_id, &body));
        match self.send(&body, deadline) {
            Some(SendOutcome::Delivered) => {
                if let Some(path) = spooled {
                    Spool::remove(&path);
                }
                self.record_delivery();
                self.send_spooled(deadline);
            }
            Some(SendOutcome::Rejected | SendOutcome::Stopped) => {
                // The endpoint refuses this batch for good: keep nothing of it.
                if let Some(path) = spooled {
                    Spool::remove(&path);
                }
            }
            _ => {}
        }
    }

    fn send(&mut self, body: &[u8], deadline: Instant) -> Option<SendOutcome> {
        if self.stopped {
            return None;
        }
        let outcome = self.transport.as_mut()?.send(body, deadline);
        if matches!(outcome, SendOutcome::Rejected | SendOutcome::Stopped) {
            self.stopped = true;
        }
        Some(outcome)
    }

    /// Notes the day of the delivery in the state file (`status` shows it), once a day.
    fn record_delivery(&mut self) {
        let today = self.settings.today.today();
        if self.last_recorded == Some(today) {
            return;
        }
        self.last_recorded = Some(today);
        if let Some(dir) = &self.settings.state_dir {
            let store = StateStore::new(dir);
            if store.read().is_ok_and(|s| s.last_sent != Some(today)) {
                let _ = store.update(today, How::Api, |s| {
                    s.last_sent = Some(today);
                    Ok(())
                });
            }
        }
    }

    /// Sends spooled batches, oldest first, until one fails or the deadline passes.
    fn send_spooled(&mut self, deadline: Instant) {
        let Some(pending) = self.spool.as_ref().map(Spool::pending) else {
            return;
        };
        for path in pending {
            if Instant::now() >= deadline || !is_recording() {
                return;
            }
            let Some(body) = Spool::read(&path) else {
                continue;
            };
            match self.send(&body, deadline) {
                Some(SendOutcome::Delivered | SendOutcome::Rejected) => Spool::remove(&path),
                _ => return,
            }
        }
    }
}

/// The `usage` payload: which features the binary uses, and counts since `previous`.
fn usage(sites: &[CallsiteSnapshot], previous: &[Counts], dropped: u64) -> (FeatureUse, Metrics) {
    let has = |f: Features| sites.iter().any(|s| s.features.contains(f));
    let features = FeatureUse {
        flow_decorator: sites.iter().any(|s| s.kind == Kind::Flow),
        task_decorator: sites.iter().any(|s| s.kind == Kind::Task),
        async_tasks: has(Features::ASYNC),
        methods: has(Features::METHOD),
        generics: has(Features::GENERIC),
        retries: has(Features::RETRIES),
        retry_delay: has(Features::RETRY_DELAY),
        caching: has(Features::CACHE),
        cache_ttl: has(Features::CACHE_TTL),
    };
    let mut metrics = Metrics {
        flows_defined: sites.iter().filter(|s| s.kind == Kind::Flow).count() as u64,
        tasks_defined: sites.iter().filter(|s| s.kind == Kind::Task).count() as u64,
        dropped_events: dropped,
        ..Metrics::default()
    };
    let mut flow_buckets = [0u64; 6];
    let mut task_buckets = [0u64; 6];
    for (i, site) in sites.iter().enumerate() {
        let before = previous.get(i).copied().unwrap_or_default();
        let now = site.counts;
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let (runs, buckets) = match site.kind {
            Kind::Flow => (&mut metrics.flow_runs, &mut flow_buckets),
            Kind::Task => (&mut metrics.task_runs, &mut task_buckets),
        };
        runs.ok += d(now.ok, before.ok);
        runs.err += d(now.err, before.err);
        runs.panics += d(now.panics, before.panics);
        runs.calls += d(now.calls(), before.calls());
        for (b, (n, p)) in buckets
            .iter_mut()
            .zip(now.durations.iter().zip(before.durations))
        {
            *b += d(*n, p);
        }
        metrics.retry_attempts += d(now.retries, before.retries);
        metrics.cache_hits += d(now.cache_hits, before.cache_hits);
        metrics.cache_misses += d(now.cache_misses, before.cache_misses);
    }
    metrics.flow_durations = Durations::from_buckets(flow_buckets);
    metrics.task_durations = Durations::from_buckets(task_buckets);
    (features, metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::IoKind;

    fn settings(heartbeat: Duration) -> Settings {
        Settings {
            endpoint: None,
            debug: false,
            batch_size: DEFAULT_BATCH_SIZE,
            batch_interval: DEFAULT_BATCH_INTERVAL,
            heartbeat_interval: heartbeat,
            spool_dir: None,
            state_dir: None,
            today: Clock::System,
            app_version: Version::new("1.2.3"),
            user_agent: "test".into(),
            installation_id: None,
            session_id: Id::random().unwrap(),
            environment: Environment::Test,
            transport: TransportOptions::default(),
        }
    }

    fn types(batch: &Batch) -> Vec<&'static str> {
        batch
            .events
            .iter()
            .map(|e| match e.body {
                Body::Session { .. } => "session",
                Body::Usage { .. } => "usage",
                Body::Error { .. } => "error",
                Body::Heartbeat { .. } => "heartbeat",
            })
            .collect()
    }

    #[test]
    fn the_first_batch_has_the_session_and_later_ones_only_what_changed() {
        let mut state = State::new(settings(Duration::from_secs(3600)));
        let first = state.build().unwrap();
        assert_eq!(types(&first), ["session", "usage"]);
        // Nothing happened since: nothing to send.
        assert!(state.build().is_none());
        state.add(Message::Error(ErrorType::Io(IoKind::NotFound)));
        state.add(Message::Error(ErrorType::Io(IoKind::NotFound)));
        state.add(Message::Error(ErrorType::Panic));
        let batch = state.build().unwrap();
        assert_eq!(types(&batch), ["error"]);
        let Body::Error { errors } = &batch.events[0].body else {
            unreachable!()
        };
        assert_eq!(errors.exception_types[&ErrorType::Io(IoKind::NotFound)], 2);
        assert_eq!(errors.exception_types[&ErrorType::Panic], 1);
        assert!(state.build().is_none(), "errors are sent once");
    }

    #[test]
    fn a_long_running_process_sends_heartbeats() {
        let mut state = State::new(settings(Duration::ZERO));
        let first = state.build().unwrap();
        assert!(types(&first).contains(&"heartbeat"));
        let next = state.build().unwrap();
        assert_eq!(types(&next), ["heartbeat"]);
        let Body::Heartbeat { session_start } = next.events[0].body else {
            unreachable!()
        };
        assert_eq!(session_start, state.session_start);
    }

    #[test]
    fn usage_counts_are_differences_since_the_previous_batch() {
        let site = |ok, err| CallsiteSnapshot {
            kind: Kind::Task,
            name: "t",
            module_path: "m",
            features: Features::RETRIES,
            counts: Counts {
                ok,
                err,
                retries: ok,
                durations: [ok + err, 0, 0, 0, 0, 0],
                ..Counts::default()
            },
        };
        let (features, first) = usage(&[site(5, 1)], &[], 3);
        assert!(features.retries && features.task_decorator && !features.flow_decorator);
        assert_eq!(first.task_runs.calls, 6);
        assert_eq!(first.dropped_events, 3);
        let before = [site(5, 1).counts];
        let (_, second) = usage(&[site(9, 1)], &before, 0);
        assert_eq!(second.task_runs.calls, 4);
        assert_eq!(second.task_runs.err, 0);
        assert_eq!(second.retry_attempts, 4);
        assert_eq!(second.task_durations.under_1s, 4);
        assert_eq!(second.tasks_defined, 1);
    }
}
